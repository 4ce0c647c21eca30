"""Who may do what in S3, end to end: private by default, IAM policies for the owner account's
principals, bucket policies as resource policies (other accounts need both sides, anonymous
callers the bucket policy alone), 403 or 404 for a missing key by s3:ListBucket, the *Version
actions, CopyObject's two checks, per-key DeleteObjects decisions, S3's condition keys, S3's
AccessDenied wording, and the owner root's bucket-policy lock-out protection.

AWS pages: https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-with-s3-policy-actions.html,
https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-policy-language-overview.html,
https://docs.aws.amazon.com/AmazonS3/latest/userguide/troubleshoot-403-errors.html (message texts),
https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html ("Permissions": s3:ListBucket),
https://docs.aws.amazon.com/AmazonS3/latest/API/bucket-policy-s3-sigv4-conditions.html,
https://docs.aws.amazon.com/AmazonS3/latest/userguide/tagging-and-policies.html,
https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketPolicy.html (root lock-out protection),
https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from s3_support import bucket_name, fails, policy, s3, user


@pytest.fixture
def owned(cloudkeep_account):
    client = s3(cloudkeep_account)
    name = bucket_name()
    client.create_bucket(Bucket=name)
    client.put_object(Bucket=name, Key="doc.txt", Body=b"content")
    return cloudkeep_account, client, name


def _allow(action, resource, **extra):
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


# --- private by default, IAM for the owner account -------------------------------------------------------


def test_a_user_without_policies_is_denied_with_s3s_message(owned):
    account, _, name = owned
    arn, make = user(account, "nobody")
    code, message, status = fails(make().get_object, Bucket=name, Key="doc.txt")
    assert (code, status) == ("AccessDenied", 403)
    assert message == (f'User: {arn} is not authorized to perform: s3:GetObject on resource: '
                       f'"arn:aws:s3:::{name}/doc.txt" because no identity-based policy allows the s3:GetObject '
                       f'action')
    assert fails(make().put_object, Bucket=name, Key="x", Body=b"x")[0] == "AccessDenied"
    assert fails(make().list_objects_v2, Bucket=name)[0] == "AccessDenied"
    assert fails(make().list_buckets)[0] == "AccessDenied"


def test_iam_policies_grant_the_owner_accounts_users(owned):
    account, _, name = owned
    _, make = user(account, "reader", _allow("s3:GetObject", f"arn:aws:s3:::{name}/*"),
                   _allow("s3:ListAllMyBuckets", "*"))
    client = make()
    assert client.get_object(Bucket=name, Key="doc.txt")["Body"].read() == b"content"
    assert name in [b["Name"] for b in client.list_buckets()["Buckets"]]
    code, message, _ = fails(client.put_object, Bucket=name, Key="doc.txt", Body=b"x")
    assert code == "AccessDenied" and "s3:PutObject" in message


def test_missing_key_is_403_without_list_bucket_and_404_with_it(owned):
    account, _, name = owned
    _, getter = user(account, "getter", _allow("s3:GetObject", f"arn:aws:s3:::{name}/*"))
    code, message, status = fails(getter().get_object, Bucket=name, Key="missing")
    assert (code, status) == ("AccessDenied", 403) and "s3:ListBucket" in message
    assert fails(getter().head_object, Bucket=name, Key="missing")[2] == 403
    _, lister = user(account, "lister", _allow("s3:GetObject", f"arn:aws:s3:::{name}/*"),
                     _allow("s3:ListBucket", f"arn:aws:s3:::{name}"))
    assert fails(lister().get_object, Bucket=name, Key="missing")[:3:2] == ("NoSuchKey", 404)
    assert fails(lister().head_object, Bucket=name, Key="missing")[2] == 404


def test_missing_bucket_is_404_for_anyone(cloudkeep_account):
    _, nobody = user(cloudkeep_account, "nobody")
    code, _, status = fails(nobody().get_object, Bucket=bucket_name(), Key="k")
    assert (code, status) == ("NoSuchBucket", 404)


def test_version_reads_need_the_version_action(owned):
    account, client, name = owned
    client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    version = client.put_object(Bucket=name, Key="v", Body=b"v1")["VersionId"]
    _, plain = user(account, "plain", _allow("s3:GetObject", f"arn:aws:s3:::{name}/*"))
    assert plain().get_object(Bucket=name, Key="v")["Body"].read() == b"v1"
    code, message, _ = fails(plain().get_object, Bucket=name, Key="v", VersionId=version)
    assert code == "AccessDenied" and "s3:GetObjectVersion" in message
    _, versioned = user(account, "versioned", _allow("s3:GetObjectVersion", f"arn:aws:s3:::{name}/*"))
    assert versioned().get_object(Bucket=name, Key="v", VersionId=version)["Body"].read() == b"v1"
    assert fails(versioned().get_object, Bucket=name, Key="v")[0] == "AccessDenied"


def test_copy_object_needs_get_on_the_source_and_put_on_the_destination(owned):
    account, client, name = owned
    target = bucket_name()
    client.create_bucket(Bucket=target)
    _, put_only = user(account, "putonly", _allow("s3:PutObject", f"arn:aws:s3:::{target}/*"))
    code, message, _ = fails(put_only().copy_object, Bucket=target, Key="c", CopySource=f"{name}/doc.txt")
    assert code == "AccessDenied" and "s3:GetObject" in message and f"{name}/doc.txt" in message
    _, get_only = user(account, "getonly", _allow("s3:GetObject", f"arn:aws:s3:::{name}/*"))
    code, message, _ = fails(get_only().copy_object, Bucket=target, Key="c", CopySource=f"{name}/doc.txt")
    assert code == "AccessDenied" and "s3:PutObject" in message
    _, both = user(account, "both", _allow("s3:GetObject", f"arn:aws:s3:::{name}/*"),
                   _allow("s3:PutObject", f"arn:aws:s3:::{target}/*"))
    both().copy_object(Bucket=target, Key="c", CopySource=f"{name}/doc.txt")
    assert client.get_object(Bucket=target, Key="c")["Body"].read() == b"content"


def test_delete_objects_decides_each_key(owned):
    account, client, name = owned
    for key in ("tmp/a", "tmp/b", "keep/c"):
        client.put_object(Bucket=name, Key=key, Body=b"x")
    _, cleaner = user(account, "cleaner", _allow("s3:DeleteObject", f"arn:aws:s3:::{name}/tmp/*"))
    out = cleaner().delete_objects(Bucket=name, Delete={"Objects": [{"Key": "tmp/a"}, {"Key": "keep/c"},
                                                                    {"Key": "tmp/b"}]})
    assert sorted(d["Key"] for d in out["Deleted"]) == ["tmp/a", "tmp/b"]
    assert [(e["Key"], e["Code"]) for e in out["Errors"]] == [("keep/c", "AccessDenied")]
    assert client.get_object(Bucket=name, Key="keep/c")["Body"].read() == b"x"


# --- bucket policies -------------------------------------------------------------------------------------


def test_explicit_deny_in_the_bucket_policy_beats_an_iam_allow(owned):
    account, client, name = owned
    arn, make = user(account, "writer", _allow("s3:*", "*"))
    client.put_bucket_policy(Bucket=name, Policy=policy({
        "Effect": "Deny", "Principal": {"AWS": arn}, "Action": "s3:DeleteObject",
        "Resource": f"arn:aws:s3:::{name}/*"}))
    code, message, _ = fails(make().delete_object, Bucket=name, Key="doc.txt")
    assert code == "AccessDenied"
    assert message == (f'User: {arn} is not authorized to perform: s3:DeleteObject on resource: '
                       f'"arn:aws:s3:::{name}/doc.txt" with an explicit deny in a resource-based policy')
    make().put_object(Bucket=name, Key="other", Body=b"x")


def test_bucket_policy_naming_a_user_grants_it_without_an_iam_policy(owned):
    account, client, name = owned
    arn, make = user(account, "named")
    client.put_bucket_policy(Bucket=name, Policy=policy({
        "Effect": "Allow", "Principal": {"AWS": arn}, "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{name}/*"}))
    assert make().get_object(Bucket=name, Key="doc.txt")["Body"].read() == b"content"


def test_other_accounts_need_the_bucket_policy_and_their_own_iam_permission(cloudkeep_server, owned):
    _, client, name = owned
    other = cloudkeep_server.create_account()
    # nothing shared: another account's root sees only "Access Denied"
    code, message, status = fails(s3(other).get_object, Bucket=name, Key="doc.txt")
    assert (code, message, status) == ("AccessDenied", "Access Denied", 403)
    client.put_bucket_policy(Bucket=name, Policy=policy({
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{other.account_id}:root"},
        "Action": ["s3:GetObject", "s3:ListBucket"],
        "Resource": [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"]}))
    assert s3(other).get_object(Bucket=name, Key="doc.txt")["Body"].read() == b"content"
    assert [c["Key"] for c in s3(other).list_objects_v2(Bucket=name)["Contents"]] == ["doc.txt"]
    _, bare = user(other, "bare")                                   # no IAM permission in its own account
    assert fails(bare().get_object, Bucket=name, Key="doc.txt")[:2] == ("AccessDenied", "Access Denied")
    _, granted = user(other, "granted", _allow("s3:GetObject", "*"))
    assert granted().get_object(Bucket=name, Key="doc.txt")["Body"].read() == b"content"
    assert fails(granted().put_object, Bucket=name, Key="x", Body=b"x")[1] == "Access Denied"
    assert name not in [b["Name"] for b in s3(other).list_buckets()["Buckets"]]


def test_anonymous_callers_need_a_public_bucket_policy(owned):
    account, client, name = owned
    url = f"{account.endpoint}/{name}/doc.txt"
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(url, timeout=30)
    assert exc.value.code == 403 and b"<Message>Access Denied</Message>" in exc.value.read()
    client.delete_public_access_block(Bucket=name)      # new buckets block public policies
    client.put_bucket_policy(Bucket=name, Policy=policy({
        "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{name}/*"}))
    with urllib.request.urlopen(url, timeout=30) as response:
        assert response.read() == b"content"
    request = urllib.request.Request(url, data=b"x", method="PUT", headers={"Content-Type": "text/plain"})
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(request, timeout=30)
    assert exc.value.code == 403


def test_the_owner_root_can_always_manage_the_bucket_policy(owned):
    _, client, name = owned
    client.put_bucket_policy(Bucket=name, Policy=policy({
        "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"]}))
    assert fails(client.get_object, Bucket=name, Key="doc.txt")[0] == "AccessDenied"
    assert json.loads(client.get_bucket_policy(Bucket=name)["Policy"])["Statement"][0]["Effect"] == "Deny"
    client.delete_bucket_policy(Bucket=name)
    assert client.get_object(Bucket=name, Key="doc.txt")["Body"].read() == b"content"


# --- condition keys ----------------------------------------------------------------------------------------


def test_s3_prefix_and_max_keys_condition_keys(owned):
    account, client, name = owned
    client.put_object(Bucket=name, Key="home/alice/a", Body=b"x")
    _, alice = user(account, "alice", _allow("s3:ListBucket", f"arn:aws:s3:::{name}", Condition={
        "StringLike": {"s3:prefix": "home/alice/*"}, "NumericLessThanEquals": {"s3:max-keys": "10"}}))
    out = alice().list_objects_v2(Bucket=name, Prefix="home/alice/", MaxKeys=5)
    assert [c["Key"] for c in out["Contents"]] == ["home/alice/a"]
    assert fails(alice().list_objects_v2, Bucket=name, Prefix="home/bob/", MaxKeys=5)[0] == "AccessDenied"
    assert fails(alice().list_objects_v2, Bucket=name, Prefix="home/alice/", MaxKeys=50)[0] == "AccessDenied"


def test_bucket_policy_requiring_sse_header(owned):
    account, client, name = owned
    client.put_bucket_policy(Bucket=name, Policy=policy({
        "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{name}/*",
        "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption": "AES256"}}}))
    assert fails(client.put_object, Bucket=name, Key="plain", Body=b"x")[0] == "AccessDenied"
    client.put_object(Bucket=name, Key="enc", Body=b"x", ServerSideEncryption="AES256")


def test_existing_and_request_object_tags(owned):
    account, client, name = owned
    client.put_object(Bucket=name, Key="public", Body=b"p", Tagging="class=public")
    client.put_object(Bucket=name, Key="secret", Body=b"s", Tagging="class=secret")
    _, reader = user(account, "tagreader", _allow("s3:GetObject", f"arn:aws:s3:::{name}/*", Condition={
        "StringEquals": {"s3:ExistingObjectTag/class": "public"}}))
    assert reader().get_object(Bucket=name, Key="public")["Body"].read() == b"p"
    assert fails(reader().get_object, Bucket=name, Key="secret")[0] == "AccessDenied"
    _, writer = user(account, "tagwriter", _allow("s3:PutObject", f"arn:aws:s3:::{name}/*", Condition={
        "StringEquals": {"s3:RequestObjectTag/team": "blue"}}))
    writer().put_object(Bucket=name, Key="w", Body=b"x", Tagging="team=blue")
    assert fails(writer().put_object, Bucket=name, Key="w", Body=b"x", Tagging="team=red")[0] == "AccessDenied"
    assert fails(writer().put_object, Bucket=name, Key="w", Body=b"x")[0] == "AccessDenied"


def test_auth_type_and_signature_version_keys(owned):
    account, client, name = owned
    _, make = user(account, "headeronly", _allow("s3:GetObject", f"arn:aws:s3:::{name}/*", Condition={
        "StringEquals": {"s3:authType": "REST-HEADER", "s3:signatureversion": "AWS4-HMAC-SHA256"}}))
    assert make().get_object(Bucket=name, Key="doc.txt")["Body"].read() == b"content"
    url = make(signature_version="s3v4").generate_presigned_url("get_object",
                                                                Params={"Bucket": name, "Key": "doc.txt"})
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(url, timeout=30)
    assert exc.value.code == 403


def test_resource_account_condition_key(owned):
    account, _, name = owned
    _, own_only = user(account, "ownonly", _allow("s3:GetObject", "*", Condition={
        "StringEquals": {"s3:ResourceAccount": account.account_id}}))
    assert own_only().get_object(Bucket=name, Key="doc.txt")["Body"].read() == b"content"
    _, elsewhere = user(account, "elsewhere", _allow("s3:GetObject", "*", Condition={
        "StringEquals": {"aws:ResourceAccount": "111122223333"}}))
    assert fails(elsewhere().get_object, Bucket=name, Key="doc.txt")[0] == "AccessDenied"


# --- Organizations: an RCP on the bucket owner's account --------------------------------------------------


def test_an_rcp_of_the_bucket_owners_account_stops_outside_principals(cloudkeep_server):
    """The bucket's owner is the resource account (a bucket ARN has none): the RCPs of its
    account apply to every caller, here a data perimeter that keeps outsiders out although the
    bucket policy lets them in.
    https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps.html"""
    management, owner, outsider = (cloudkeep_server.create_account() for _ in range(3))
    org = management.client("organizations")
    org_id = org.create_organization(FeatureSet="ALL")["Organization"]["Id"]
    root_id = org.list_roots()["Roots"][0]["Id"]
    org.enable_policy_type(RootId=root_id, PolicyType="RESOURCE_CONTROL_POLICY")
    handshake = org.invite_account_to_organization(Target={"Type": "ACCOUNT", "Id": owner.account_id})["Handshake"]
    owner.client("organizations").accept_handshake(HandshakeId=handshake["Id"])
    client = s3(owner)
    name = bucket_name()
    client.create_bucket(Bucket=name)
    client.put_object(Bucket=name, Key="doc.txt", Body=b"content")
    client.put_bucket_policy(Bucket=name, Policy=policy({
        "Effect": "Allow", "Principal": {"AWS": outsider.account_id}, "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{name}/*"}))
    assert s3(outsider).get_object(Bucket=name, Key="doc.txt")["Body"].read() == b"content"
    rcp = org.create_policy(Name="perimeter", Description="perimeter", Type="RESOURCE_CONTROL_POLICY",
                            Content=policy({"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*",
                                            "Condition": {"StringNotEqualsIfExists": {
                                                "aws:PrincipalOrgID": org_id}}}))["Policy"]["PolicySummary"]["Id"]
    org.attach_policy(PolicyId=rcp, TargetId=owner.account_id)
    assert fails(s3(outsider).get_object, Bucket=name, Key="doc.txt")[:3:2] == ("AccessDenied", 403)
    assert client.get_object(Bucket=name, Key="doc.txt")["Body"].read() == b"content"
