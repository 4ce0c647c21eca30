"""S3 Block Public Access (bucket and account level), what counts as a public policy, policy
status, anonymous requests (plain HTTP, no signature) and the condition keys bucket policies
see, end to end.

AWS pages: https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html,
https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketPolicyStatus.html,
https://docs.aws.amazon.com/AmazonS3/latest/API/API_control_PutPublicAccessBlock.html,
https://docs.aws.amazon.com/AmazonS3/latest/userguide/amazon-s3-policy-keys.html
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from botocore.config import Config

from cloudkeep.testing.server import client_for
from tests.s3_support import bucket_name, fails, s3

ALL_ON = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
          "RestrictPublicBuckets": True}


def _policy(name: str, *statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _public_read(name: str, **extra: object) -> dict:
    return {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{name}/*", **extra}


def _anonymous_get(account, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(account.endpoint + path, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _s3control(account):
    """An S3 Control client that sends to the endpoint itself: botocore puts the account id in
    front of the host ({AccountId}.host), which does not resolve for 127.0.0.1; the request
    keeps its x-amz-account-id header, which is how cloudkeep tells S3 Control from S3."""
    client = client_for(account.endpoint, "s3control", account.access_key_id, account.secret_access_key,
                        config=Config(retries={"max_attempts": 1}))

    def to_endpoint(request, **_):
        scheme, _, rest = request.url.partition("://")
        host, slash, path = rest.partition("/")
        request.url = f"{scheme}://{host.split('.', 1)[1] if host.split('.', 1)[0].isdigit() else host}{slash}{path}"

    client.meta.events.register("before-sign.s3-control", to_endpoint)
    return client


def test_new_buckets_block_public_access_and_the_settings_can_be_changed(cloudkeep_account):
    client = s3(cloudkeep_account)
    name = bucket_name("pab")
    client.create_bucket(Bucket=name)
    assert client.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"] == ALL_ON
    client.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration={"BlockPublicPolicy": True})
    assert client.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"] == {
        **{k: False for k in ALL_ON}, "BlockPublicPolicy": True}
    client.delete_public_access_block(Bucket=name)
    code, _, status = fails(client.get_public_access_block, Bucket=name)
    assert (code, status) == ("NoSuchPublicAccessBlockConfiguration", 404)


def test_block_public_policy_refuses_a_public_policy_with_access_denied(cloudkeep_account):
    client = s3(cloudkeep_account)
    name = bucket_name("pab")
    client.create_bucket(Bucket=name)
    code, message, status = fails(client.put_bucket_policy, Bucket=name, Policy=_policy(name, _public_read(name)))
    assert (code, status) == ("AccessDenied", 403)
    assert "BlockPublicPolicy" in message
    # pinned to one account: not public, accepted while public policies are blocked
    pinned = _public_read(name, Condition={"StringEquals": {"aws:SourceAccount": "123456789012"}})
    client.put_bucket_policy(Bucket=name, Policy=_policy(name, pinned))
    assert client.get_bucket_policy_status(Bucket=name)["PolicyStatus"] == {"IsPublic": False}


@pytest.mark.parametrize(("condition", "public"), [
    (None, True),
    ({"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}, True),
    ({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, True),          # RFC 1918 does not pin
    ({"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, False),
    ({"StringEquals": {"aws:PrincipalOrgID": "o-abcdefghij"}}, False),
    ({"StringLike": {"aws:PrincipalOrgID": "o-*"}}, True),          # a wildcard does not pin
    ({"StringNotEquals": {"aws:SourceAccount": "123456789012"}}, True),
    ({"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}, False),
    ({"StringEquals": {"aws:UserAgent": "me"}}, True),              # not a pinning key
])
def test_policy_status_follows_the_meaning_of_public(cloudkeep_account, condition, public):
    client = s3(cloudkeep_account)
    name = bucket_name("pab")
    client.create_bucket(Bucket=name)
    client.delete_public_access_block(Bucket=name)
    statement = _public_read(name, **({"Condition": condition} if condition else {}))
    client.put_bucket_policy(Bucket=name, Policy=_policy(name, statement))
    assert client.get_bucket_policy_status(Bucket=name)["PolicyStatus"]["IsPublic"] is public


def test_policy_status_without_a_policy_is_no_such_bucket_policy(cloudkeep_account):
    client = s3(cloudkeep_account)
    name = bucket_name("pab")
    client.create_bucket(Bucket=name)
    assert fails(client.get_bucket_policy_status, Bucket=name)[::2] == ("NoSuchBucketPolicy", 404)


def test_anonymous_reads_need_a_public_policy_that_block_public_access_lets_through(cloudkeep_account):
    client = s3(cloudkeep_account)
    name = bucket_name("pab")
    client.create_bucket(Bucket=name)
    client.put_object(Bucket=name, Key="k", Body=b"hello")
    status, body = _anonymous_get(cloudkeep_account, f"/{name}/k")
    assert status == 403 and b"<Code>AccessDenied</Code>" in body
    client.delete_public_access_block(Bucket=name)
    client.put_bucket_policy(Bucket=name, Policy=_policy(name, _public_read(name)))
    assert _anonymous_get(cloudkeep_account, f"/{name}/k") == (200, b"hello")
    assert _anonymous_get(cloudkeep_account, f"/{name}?list-type=2")[0] == 403     # only GetObject is public
    # RestrictPublicBuckets: the public policy no longer admits anyone outside the owner account
    client.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration={"RestrictPublicBuckets": True})
    assert _anonymous_get(cloudkeep_account, f"/{name}/k")[0] == 403
    assert client.get_object(Bucket=name, Key="k")["Body"].read() == b"hello"


def test_restrict_public_buckets_also_stops_other_accounts_named_by_a_public_policy(
        cloudkeep_account, cloudkeep_server):
    owner = s3(cloudkeep_account)
    other = cloudkeep_server.create_account()
    name = bucket_name("pab")
    owner.create_bucket(Bucket=name)
    owner.put_object(Bucket=name, Key="k", Body=b"x")
    owner.delete_public_access_block(Bucket=name)
    owner.put_bucket_policy(Bucket=name, Policy=_policy(name, _public_read(name)))
    assert s3(other).get_object(Bucket=name, Key="k")["Body"].read() == b"x"
    owner.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration={"RestrictPublicBuckets": True})
    assert fails(s3(other).get_object, Bucket=name, Key="k")[::2] == ("AccessDenied", 403)


def test_public_acls_admit_anonymous_callers_until_ignored(cloudkeep_account):
    client = s3(cloudkeep_account)
    name = bucket_name("pab")
    client.create_bucket(Bucket=name, ObjectOwnership="BucketOwnerPreferred")
    client.delete_public_access_block(Bucket=name)
    client.put_object(Bucket=name, Key="k", Body=b"open", ACL="public-read")
    assert _anonymous_get(cloudkeep_account, f"/{name}/k") == (200, b"open")
    client.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration={"IgnorePublicAcls": True})
    assert _anonymous_get(cloudkeep_account, f"/{name}/k")[0] == 403


def test_authenticated_read_admits_signed_callers_of_any_account_not_anonymous_ones(
        cloudkeep_account, cloudkeep_server):
    client = s3(cloudkeep_account)
    name = bucket_name("pab")
    client.create_bucket(Bucket=name, ObjectOwnership="ObjectWriter")
    client.delete_public_access_block(Bucket=name)
    client.put_object(Bucket=name, Key="k", Body=b"signed", ACL="authenticated-read")
    assert s3(cloudkeep_server.create_account()).get_object(Bucket=name, Key="k")["Body"].read() == b"signed"
    assert _anonymous_get(cloudkeep_account, f"/{name}/k")[0] == 403


def test_account_level_block_public_access_applies_to_every_bucket(cloudkeep_account, cloudkeep_server):
    control = _s3control(cloudkeep_account)
    account = cloudkeep_account.account_id
    code, _, status = fails(control.get_public_access_block, AccountId=account)
    assert (code, status) == ("NoSuchPublicAccessBlockConfiguration", 404)
    control.put_public_access_block(AccountId=account, PublicAccessBlockConfiguration={"BlockPublicPolicy": True})
    assert control.get_public_access_block(AccountId=account)["PublicAccessBlockConfiguration"] == {
        **{k: False for k in ALL_ON}, "BlockPublicPolicy": True}
    client = s3(cloudkeep_account)
    name = bucket_name("pab")
    client.create_bucket(Bucket=name)
    client.delete_public_access_block(Bucket=name)      # the account's setting still applies
    assert fails(client.put_bucket_policy, Bucket=name, Policy=_policy(name, _public_read(name)))[::2] == (
        "AccessDenied", 403)
    control.delete_public_access_block(AccountId=account)
    client.put_bucket_policy(Bucket=name, Policy=_policy(name, _public_read(name)))
    other = cloudkeep_server.create_account()
    assert fails(control.get_public_access_block, AccountId=other.account_id)[::2] == ("AccessDenied", 403)


def test_bucket_policy_conditions_on_acl_referer_and_user_agent(cloudkeep_account, cloudkeep_server):
    owner = s3(cloudkeep_account)
    other = cloudkeep_server.create_account()
    writer = s3(other)
    name = bucket_name("pab")
    owner.create_bucket(Bucket=name, ObjectOwnership="BucketOwnerPreferred")
    owner.put_bucket_policy(Bucket=name, Policy=_policy(name, {
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{other.account_id}:root"},
        "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{name}/*",
        "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}}}))
    assert fails(writer.put_object, Bucket=name, Key="k", Body=b"x")[::2] == ("AccessDenied", 403)
    writer.put_object(Bucket=name, Key="k", Body=b"x", ACL="bucket-owner-full-control")
    assert owner.get_object_acl(Bucket=name, Key="k")["Owner"]["ID"] == owner.list_buckets()["Owner"]["ID"]
    # aws:Referer and aws:UserAgent, seen on an anonymous request
    owner.delete_public_access_block(Bucket=name)
    owner.put_bucket_policy(Bucket=name, Policy=_policy(name, _public_read(
        name, Condition={"StringLike": {"aws:Referer": "https://example.com/*", "aws:UserAgent": "agent/*"}})))
    assert _anonymous_get(cloudkeep_account, f"/{name}/k", {"Referer": "https://example.com/page",
                                                            "User-Agent": "agent/1"}) == (200, b"x")
    assert _anonymous_get(cloudkeep_account, f"/{name}/k", {"Referer": "https://evil.example/",
                                                            "User-Agent": "agent/1"})[0] == 403


def test_secure_transport_deny_refuses_plain_http(cloudkeep_account):
    client = s3(cloudkeep_account)
    name = bucket_name("pab")
    client.create_bucket(Bucket=name)
    client.put_object(Bucket=name, Key="k", Body=b"x")
    client.put_bucket_policy(Bucket=name, Policy=_policy(name, {
        "Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{name}/*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}}))
    assert fails(client.get_object, Bucket=name, Key="k")[::2] == ("AccessDenied", 403)


def test_principal_org_id_in_a_bucket_policy_admits_the_organization_and_refuses_others(
        cloudkeep_account, cloudkeep_server):
    management = cloudkeep_server.create_account()
    org = management.client("organizations")
    org_id = org.create_organization(FeatureSet="ALL")["Organization"]["Id"]
    members = []
    for _ in range(2):
        member = cloudkeep_server.create_account()
        handshake = org.invite_account_to_organization(Target={"Type": "ACCOUNT", "Id": member.account_id})
        member.client("organizations").accept_handshake(HandshakeId=handshake["Handshake"]["Id"])
        members.append(member)
    owner, inside = members
    client = s3(owner)
    name = bucket_name("org")
    client.create_bucket(Bucket=name)
    client.put_object(Bucket=name, Key="k", Body=b"org")
    # pinned by aws:PrincipalOrgID: not public, so Block Public Access lets it in
    client.put_bucket_policy(Bucket=name, Policy=_policy(name, _public_read(
        name, Condition={"StringEquals": {"aws:PrincipalOrgID": org_id}})))
    assert client.get_bucket_policy_status(Bucket=name)["PolicyStatus"]["IsPublic"] is False
    assert s3(inside).get_object(Bucket=name, Key="k")["Body"].read() == b"org"
    assert fails(s3(cloudkeep_account).get_object, Bucket=name, Key="k")[::2] == ("AccessDenied", 403)
    assert _anonymous_get(owner, f"/{name}/k")[0] == 403


def test_an_anonymous_write_through_a_public_read_write_bucket_acl_belongs_to_the_bucket_owner(
        cloudkeep_account):
    client = s3(cloudkeep_account)
    name = bucket_name("pab")
    client.create_bucket(Bucket=name, ObjectOwnership="ObjectWriter")
    client.delete_public_access_block(Bucket=name)
    request = urllib.request.Request(f"{cloudkeep_account.endpoint}/{name}/anon", data=b"a", method="PUT")
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(request, timeout=30)
    assert exc.value.code == 403
    client.put_bucket_acl(Bucket=name, ACL="public-read-write")
    request = urllib.request.Request(f"{cloudkeep_account.endpoint}/{name}/anon", data=b"a", method="PUT")
    with urllib.request.urlopen(request, timeout=30) as response:      # urllib sends a form content type
        assert response.status == 200
    assert client.get_object_acl(Bucket=name, Key="anon")["Owner"]["ID"] == client.list_buckets()["Owner"]["ID"]
    assert _anonymous_get(cloudkeep_account, f"/{name}?list-type=2")[0] == 200       # bucket READ: ListBucket
