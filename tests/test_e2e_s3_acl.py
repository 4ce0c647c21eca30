"""S3 Object Ownership and ACLs end to end (boto3): BucketOwnerEnforced disables ACLs,
BucketOwnerPreferred and ObjectWriter, canned ACLs, grant headers and AccessControlPolicy
bodies, and ACL grants taking part in cross-account authorization in the bucket-owner and
object-owner contexts.

AWS pages: https://docs.aws.amazon.com/AmazonS3/latest/userguide/about-object-ownership.html,
https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html,
https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-auth-workflow-object-operation.html
"""

from __future__ import annotations

import json

import pytest

from tests.s3_support import bucket_name, fails, s3

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"


def _canonical(client) -> str:
    return client.list_buckets()["Owner"]["ID"]


def _acl_bucket(client, ownership: str = "BucketOwnerPreferred", *, open_acls: bool = False) -> str:
    name = bucket_name("acl")
    client.create_bucket(Bucket=name, ObjectOwnership=ownership)
    if open_acls:
        client.delete_public_access_block(Bucket=name)
    return name


def test_new_bucket_is_bucket_owner_enforced_and_refuses_acls(cloudkeep_account):
    client = s3(cloudkeep_account)
    name = bucket_name("acl")
    client.create_bucket(Bucket=name)
    rules = client.get_bucket_ownership_controls(Bucket=name)["OwnershipControls"]["Rules"]
    assert rules == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    # Block Public Access (on for new buckets) answers first: AccessDenied
    assert fails(client.put_bucket_acl, Bucket=name, ACL="public-read")[::2] == ("AccessDenied", 403)
    assert fails(client.put_object, Bucket=name, Key="k", Body=b"x", ACL="public-read")[::2] == ("AccessDenied", 403)
    client.delete_public_access_block(Bucket=name)
    assert fails(client.put_bucket_acl, Bucket=name, ACL="public-read")[::2] == ("AccessControlListNotSupported", 400)
    assert fails(client.put_object, Bucket=name, Key="k", Body=b"x", ACL="public-read") == (
        "AccessControlListNotSupported", "The bucket does not allow ACLs", 400)
    assert fails(client.put_bucket_acl, Bucket=name, AccessControlPolicy={
        "Owner": {"ID": _canonical(client)}, "Grants": []})[0] == "AccessControlListNotSupported"
    assert fails(client.put_object, Bucket=name, Key="k", Body=b"x", GrantRead=f'uri="{ALL_USERS}"')[0] == \
        "AccessControlListNotSupported"
    client.put_object(Bucket=name, Key="k", Body=b"x", ACL="bucket-owner-full-control")
    client.put_bucket_acl(Bucket=name, ACL="private")          # the owner-only ACL is still accepted
    acl = client.get_bucket_acl(Bucket=name)
    assert acl["Owner"]["ID"] == _canonical(client)
    assert acl["Grants"] == [{"Grantee": {"Type": "CanonicalUser", "ID": _canonical(client)},
                              "Permission": "FULL_CONTROL"}]
    code, _, status = fails(s3(cloudkeep_account).create_bucket, Bucket=bucket_name("acl"), ACL="public-read")
    assert (code, status) == ("InvalidBucketAclWithObjectOwnership", 400)
    # re-creating one's own us-east-1 bucket is 200, but not with an ACL
    client.create_bucket(Bucket=name)
    assert fails(client.create_bucket, Bucket=name, ACL="private")[::2] == ("BucketAlreadyExists", 409)


def test_an_empty_acl_revokes_every_grant_on_a_bucket_with_acls(cloudkeep_account):
    client = s3(cloudkeep_account)
    name = _acl_bucket(client)
    client.put_bucket_acl(Bucket=name, AccessControlPolicy={"Owner": {"ID": _canonical(client)}, "Grants": []})
    assert client.get_bucket_acl(Bucket=name)["Grants"] == []


def test_ownership_controls_put_get_delete(cloudkeep_account):
    client = s3(cloudkeep_account)
    name = _acl_bucket(client, "ObjectWriter")
    assert client.get_bucket_ownership_controls(Bucket=name)["OwnershipControls"]["Rules"][0][
        "ObjectOwnership"] == "ObjectWriter"
    client.put_bucket_ownership_controls(Bucket=name, OwnershipControls={
        "Rules": [{"ObjectOwnership": "BucketOwnerPreferred"}]})
    client.delete_bucket_ownership_controls(Bucket=name)
    assert fails(client.get_bucket_ownership_controls, Bucket=name)[::2] == ("OwnershipControlsNotFoundError", 404)


def test_canned_and_header_acls_on_buckets_and_objects(cloudkeep_account, cloudkeep_server):
    client = s3(cloudkeep_account)
    other = cloudkeep_server.create_account()
    other_id = _canonical(s3(other))
    name = _acl_bucket(client, open_acls=True)
    client.put_bucket_acl(Bucket=name, ACL="public-read")
    grants = client.get_bucket_acl(Bucket=name)["Grants"]
    assert {"Grantee": {"Type": "Group", "URI": ALL_USERS}, "Permission": "READ"} in grants
    client.put_bucket_acl(Bucket=name, GrantRead=f'id="{other_id}"', GrantWriteACP=f'uri="{ALL_USERS}"')
    grants = client.get_bucket_acl(Bucket=name)["Grants"]
    assert {"Grantee": {"Type": "CanonicalUser", "ID": other_id}, "Permission": "READ"} in grants
    assert {"Grantee": {"Type": "Group", "URI": ALL_USERS}, "Permission": "WRITE_ACP"} in grants
    client.put_object(Bucket=name, Key="o", Body=b"x", ACL="authenticated-read")
    grants = client.get_object_acl(Bucket=name, Key="o")["Grants"]
    assert {"Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"},
            "Permission": "READ"} in grants


def test_access_control_policy_body_and_its_errors(cloudkeep_account, cloudkeep_server):
    client = s3(cloudkeep_account)
    me = _canonical(client)
    name = _acl_bucket(client)
    body = {"Owner": {"ID": me}, "Grants": [{"Grantee": {"Type": "CanonicalUser", "ID": me},
                                             "Permission": "FULL_CONTROL"}]}
    client.put_bucket_acl(Bucket=name, AccessControlPolicy=body)
    bad_id = {"Owner": {"ID": me}, "Grants": [{"Grantee": {"Type": "CanonicalUser", "ID": "0" * 64},
                                               "Permission": "READ"}]}
    assert fails(client.put_bucket_acl, Bucket=name, AccessControlPolicy=bad_id)[::2] == ("InvalidArgument", 400)
    no_owner = {"Grants": body["Grants"]}
    assert fails(client.put_bucket_acl, Bucket=name, AccessControlPolicy=no_owner)[::2] == ("MalformedACLError", 400)
    bad_permission = {"Owner": {"ID": me}, "Grants": [{"Grantee": {"Type": "CanonicalUser", "ID": me},
                                                       "Permission": "EVERYTHING"}]}
    assert fails(client.put_bucket_acl, Bucket=name, AccessControlPolicy=bad_permission)[0] == "MalformedACLError"
    email = {"Owner": {"ID": me}, "Grants": [{"Grantee": {"Type": "AmazonCustomerByEmail",
                                                          "EmailAddress": "a@example.com"}, "Permission": "READ"}]}
    assert fails(client.put_bucket_acl, Bucket=name, AccessControlPolicy=email)[::2] == ("MethodNotAllowed", 405)


def test_block_public_acls_refuses_public_acl_writes(cloudkeep_account):
    client = s3(cloudkeep_account)
    name = _acl_bucket(client)                 # Block Public Access on, as for every new bucket
    assert fails(client.put_bucket_acl, Bucket=name, ACL="public-read")[::2] == ("AccessDenied", 403)
    assert fails(client.put_object, Bucket=name, Key="k", Body=b"x", ACL="public-read")[::2] == ("AccessDenied", 403)
    client.put_object(Bucket=name, Key="k", Body=b"x", ACL="private")


def test_acl_grant_to_another_account_allows_its_principals_with_their_iam(cloudkeep_account, cloudkeep_server):
    owner = s3(cloudkeep_account)
    other = cloudkeep_server.create_account()
    reader = s3(other)
    name = _acl_bucket(owner)
    owner.put_object(Bucket=name, Key="k", Body=b"data")
    assert fails(reader.list_objects_v2, Bucket=name)[0] == "AccessDenied"
    assert fails(reader.get_object, Bucket=name, Key="k")[0] == "AccessDenied"
    owner.put_bucket_acl(Bucket=name, GrantRead=f'id="{_canonical(reader)}"')
    assert [o["Key"] for o in reader.list_objects_v2(Bucket=name)["Contents"]] == ["k"]
    assert fails(reader.get_object, Bucket=name, Key="k")[0] == "AccessDenied"   # bucket READ is not object READ
    owner.put_object_acl(Bucket=name, Key="k", GrantRead=f'id="{_canonical(reader)}"')
    assert reader.get_object(Bucket=name, Key="k")["Body"].read() == b"data"
    # the other account's IAM user still needs its own account's allow
    iam = other.client("iam")
    iam.create_user(UserName="u")
    key = iam.create_access_key(UserName="u")["AccessKey"]
    from cloudkeep.testing.server import client_for
    user = client_for(other.endpoint, "s3", key["AccessKeyId"], key["SecretAccessKey"], region="us-east-1")
    assert fails(user.get_object, Bucket=name, Key="k")[0] == "AccessDenied"
    iam.put_user_policy(UserName="u", PolicyName="p", PolicyDocument='{"Version":"2012-10-17","Statement":'
                        '[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}')
    assert user.get_object(Bucket=name, Key="k")["Body"].read() == b"data"


def test_object_writer_owns_its_object_and_the_bucket_owner_cannot_read_it_until_granted(
        cloudkeep_account, cloudkeep_server):
    owner = s3(cloudkeep_account)
    other = cloudkeep_server.create_account()
    writer = s3(other)
    name = _acl_bucket(owner, "ObjectWriter")
    owner.put_bucket_acl(Bucket=name, GrantWrite=f'id="{_canonical(writer)}"')
    writer.put_object(Bucket=name, Key="theirs", Body=b"secret")
    acl = writer.get_object_acl(Bucket=name, Key="theirs")
    assert acl["Owner"]["ID"] == _canonical(writer)
    listed = owner.list_objects_v2(Bucket=name, FetchOwner=True)["Contents"]
    assert listed[0]["Owner"]["ID"] == _canonical(writer)
    assert fails(owner.get_object, Bucket=name, Key="theirs")[::2] == ("AccessDenied", 403)
    writer.put_object_acl(Bucket=name, Key="theirs", GrantRead=f'id="{_canonical(owner)}"')
    assert owner.get_object(Bucket=name, Key="theirs")["Body"].read() == b"secret"
    # a bucket-owner-full-control upload under BucketOwnerPreferred belongs to the bucket owner
    owner.put_bucket_ownership_controls(Bucket=name, OwnershipControls={
        "Rules": [{"ObjectOwnership": "BucketOwnerPreferred"}]})
    writer.put_object(Bucket=name, Key="given", Body=b"g", ACL="bucket-owner-full-control")
    assert owner.get_object_acl(Bucket=name, Key="given")["Owner"]["ID"] == _canonical(owner)
    assert owner.get_object(Bucket=name, Key="given")["Body"].read() == b"g"
    # switching to BucketOwnerEnforced makes the bucket owner the owner of every object
    owner.put_bucket_acl(Bucket=name, ACL="private")
    owner.put_bucket_ownership_controls(Bucket=name, OwnershipControls={
        "Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]})
    assert owner.get_object(Bucket=name, Key="theirs")["Body"].read() == b"secret"
    assert owner.get_object_acl(Bucket=name, Key="theirs")["Owner"]["ID"] == _canonical(owner)
    listed = owner.list_objects_v2(Bucket=name, FetchOwner=True)["Contents"]
    assert {o["Owner"]["ID"] for o in listed} == {_canonical(owner)}
    versions = owner.list_object_versions(Bucket=name)["Versions"]
    assert {v["Owner"]["ID"] for v in versions} == {_canonical(owner)}


def test_enforced_refused_while_the_bucket_acl_grants_others(cloudkeep_account, cloudkeep_server):
    owner = s3(cloudkeep_account)
    other = cloudkeep_server.create_account()
    name = _acl_bucket(owner)
    owner.put_bucket_acl(Bucket=name, GrantRead=f'id="{_canonical(s3(other))}"')
    code, _, status = fails(owner.put_bucket_ownership_controls, Bucket=name, OwnershipControls={
        "Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]})
    assert (code, status) == ("InvalidBucketAclWithObjectOwnership", 400)


@pytest.mark.parametrize("header", ["GrantRead", "GrantFullControl"])
def test_malformed_grant_header_is_invalid_argument(cloudkeep_account, header):
    client = s3(cloudkeep_account)
    name = _acl_bucket(client)
    assert fails(client.put_bucket_acl, Bucket=name, **{header: "nonsense"})[::2] == ("InvalidArgument", 400)


def test_a_bucket_owner_deny_applies_to_objects_of_other_accounts(cloudkeep_account, cloudkeep_server):
    owner = s3(cloudkeep_account)
    other = cloudkeep_server.create_account()
    writer = s3(other)
    name = _acl_bucket(owner, "ObjectWriter")
    owner.put_bucket_acl(Bucket=name, GrantWrite=f'id="{_canonical(writer)}"')
    writer.put_object(Bucket=name, Key="theirs", Body=b"mine")
    assert writer.get_object(Bucket=name, Key="theirs")["Body"].read() == b"mine"   # its owner reads it
    owner.put_bucket_policy(Bucket=name, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{name}/*"}]}))
    assert fails(writer.get_object, Bucket=name, Key="theirs")[::2] == ("AccessDenied", 403)


def test_a_bucket_policy_cannot_grant_objects_the_bucket_owner_does_not_own(cloudkeep_account, cloudkeep_server):
    owner = s3(cloudkeep_account)
    writer_account, reader_account = cloudkeep_server.create_account(), cloudkeep_server.create_account()
    writer, reader = s3(writer_account), s3(reader_account)
    name = _acl_bucket(owner, "ObjectWriter")
    owner.put_bucket_acl(Bucket=name, GrantWrite=f'id="{_canonical(writer)}"')
    owner.put_object(Bucket=name, Key="ours", Body=b"o")
    writer.put_object(Bucket=name, Key="theirs", Body=b"t")
    owner.put_bucket_policy(Bucket=name, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{reader_account.account_id}:root"},
        "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{name}/*"}]}))
    assert reader.get_object(Bucket=name, Key="ours")["Body"].read() == b"o"
    assert fails(reader.get_object, Bucket=name, Key="theirs")[::2] == ("AccessDenied", 403)


def test_multipart_upload_under_object_writer_belongs_to_the_writer(cloudkeep_account, cloudkeep_server):
    owner = s3(cloudkeep_account)
    writer = s3(cloudkeep_server.create_account())
    name = _acl_bucket(owner, "ObjectWriter")
    owner.put_bucket_acl(Bucket=name, GrantWrite=f'id="{_canonical(writer)}"')
    upload = writer.create_multipart_upload(Bucket=name, Key="mp", GrantRead=f'id="{_canonical(owner)}"')
    part = writer.upload_part(Bucket=name, Key="mp", UploadId=upload["UploadId"], PartNumber=1, Body=b"p" * 10)
    writer.complete_multipart_upload(Bucket=name, Key="mp", UploadId=upload["UploadId"], MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    assert writer.get_object_acl(Bucket=name, Key="mp")["Owner"]["ID"] == _canonical(writer)
    assert owner.get_object(Bucket=name, Key="mp")["Body"].read() == b"p" * 10      # granted READ


def test_grant_header_condition_key(cloudkeep_account, cloudkeep_server):
    owner = s3(cloudkeep_account)
    other = cloudkeep_server.create_account()
    writer = s3(other)
    name = _acl_bucket(owner)
    me = _canonical(owner)
    owner.put_bucket_policy(Bucket=name, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{other.account_id}:root"},
        "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{name}/*",
        "Condition": {"StringEquals": {"s3:x-amz-grant-full-control": f"id={me}"}}}]}))
    assert fails(writer.put_object, Bucket=name, Key="k", Body=b"x")[0] == "AccessDenied"
    writer.put_object(Bucket=name, Key="k", Body=b"x", GrantFullControl=f'id="{me}"')
    assert owner.get_object(Bucket=name, Key="k")["Body"].read() == b"x"


def test_an_acl_body_that_is_not_xml_is_malformed(cloudkeep_account):
    from tests.s3_support import raw
    client = s3(cloudkeep_account)
    name = _acl_bucket(client)
    status, _, body = raw(cloudkeep_account, "PUT", f"/{name}", query="acl", body=b"<AccessControlPolicy><Owner>")
    assert status == 400 and b"<Code>MalformedACLError</Code>" in body, body
