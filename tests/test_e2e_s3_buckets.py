"""S3 buckets end to end with boto3: creation and its location rules, the global bucket
namespace, HeadBucket, ListBuckets with the canonical owner id, DeleteBucket, tagging,
versioning, SSE-S3 default encryption, bucket policies, region redirects and the expected
bucket owner.

AWS pages: https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateBucket.html,
https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html,
https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadBucket.html,
https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListBuckets.html,
https://docs.aws.amazon.com/AmazonS3/latest/API/API_Owner.html (no DisplayName since November 2025),
https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteBucket.html,
https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketLocation.html,
https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketTagging.html,
https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketVersioning.html,
https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteBucketEncryption.html,
https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketPolicy.html,
https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-owner-condition.html
"""

from __future__ import annotations

import json
import re

import pytest

from s3_support import bucket_name, fails, policy, raw, s3


# --- CreateBucket and locations -------------------------------------------------------------------


def test_create_bucket_in_us_east_1_then_head_and_list_it(cloudkeep_account):
    client = s3(cloudkeep_account)
    name = bucket_name()
    created = client.create_bucket(Bucket=name)
    assert created["Location"] == f"/{name}"
    head = client.head_bucket(Bucket=name)
    assert head["BucketRegion"] == "us-east-1"
    assert head["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"] == "us-east-1"
    listed = client.list_buckets()
    assert [b["Name"] for b in listed["Buckets"]] == [name]
    assert listed["Buckets"][0]["BucketRegion"] == "us-east-1"
    assert client.get_bucket_location(Bucket=name)["LocationConstraint"] is None


def test_list_buckets_owner_is_a_stable_64_hex_canonical_id_without_display_name(cloudkeep_server):
    first, second = cloudkeep_server.create_account(), cloudkeep_server.create_account()
    a, b = s3(first).list_buckets()["Owner"], s3(second).list_buckets()["Owner"]
    assert re.fullmatch(r"[0-9a-f]{64}", a["ID"]) and re.fullmatch(r"[0-9a-f]{64}", b["ID"])
    assert a["ID"] != b["ID"]
    assert "DisplayName" not in a
    assert s3(first).list_buckets()["Owner"] == a


def test_create_bucket_in_another_region_through_its_endpoint(cloudkeep_account):
    client = s3(cloudkeep_account, region="eu-west-1")
    name = bucket_name()
    client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert client.get_bucket_location(Bucket=name)["LocationConstraint"] == "eu-west-1"
    assert client.head_bucket(Bucket=name)["BucketRegion"] == "eu-west-1"
    listed = s3(cloudkeep_account).list_buckets(BucketRegion="eu-west-1")["Buckets"]
    assert [b["Name"] for b in listed] == [name]


def test_regional_endpoint_needs_its_own_location_constraint(cloudkeep_account):
    client = s3(cloudkeep_account, region="eu-west-1")
    code, message, status = fails(client.create_bucket, Bucket=bucket_name())
    assert (code, status) == ("IllegalLocationConstraintException", 400)
    assert message == ("The unspecified location constraint is incompatible for the region specific endpoint "
                       "this request was sent to.")
    code, message, _ = fails(client.create_bucket, Bucket=bucket_name(),
                             CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
    assert code == "IllegalLocationConstraintException"
    assert message.startswith("The eu-central-1 location constraint is incompatible")


def test_us_east_1_is_never_a_location_constraint(cloudkeep_account):
    code, message, status = fails(s3(cloudkeep_account).create_bucket, Bucket=bucket_name(),
                                  CreateBucketConfiguration={"LocationConstraint": "us-east-1"})
    assert (code, message, status) == ("InvalidLocationConstraint", "The specified location-constraint is not valid",
                                       400)


def test_global_endpoint_creates_in_the_region_the_constraint_names(cloudkeep_account):
    name = bucket_name()
    s3(cloudkeep_account).create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "ap-south-1"})
    assert s3(cloudkeep_account, region="ap-south-1").get_bucket_location(Bucket=name)["LocationConstraint"] \
        == "ap-south-1"


@pytest.mark.parametrize("name", ["ab", "a" * 64, "Upper-case", "two..dots", "192.168.5.4", "xn--bucket",
                                  "-leading-dash", "trailing-dash-", "sthree-name", "name-s3alias", "under_score"])
def test_invalid_bucket_names_are_refused(cloudkeep_account, name):
    code, message, status = fails(s3(cloudkeep_account).create_bucket, Bucket=name)
    assert (code, message, status) == ("InvalidBucketName", "The specified bucket is not valid.", 400)


def test_bucket_names_are_global_across_accounts(cloudkeep_server):
    owner, other = cloudkeep_server.create_account(), cloudkeep_server.create_account()
    name = bucket_name()
    s3(owner).create_bucket(Bucket=name)
    code, message, status = fails(s3(other).create_bucket, Bucket=name)
    assert (code, status) == ("BucketAlreadyExists", 409)
    assert "bucket namespace is shared by all users" in message
    assert s3(other).list_buckets()["Buckets"] == []


def test_recreating_your_own_bucket_is_200_in_us_east_1_and_409_elsewhere(cloudkeep_account):
    name = bucket_name()
    client = s3(cloudkeep_account)
    client.create_bucket(Bucket=name)
    assert client.create_bucket(Bucket=name)["ResponseMetadata"]["HTTPStatusCode"] == 200
    eu = s3(cloudkeep_account, region="eu-west-1")
    other = bucket_name()
    eu.create_bucket(Bucket=other, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    code, _, status = fails(eu.create_bucket, Bucket=other,
                            CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert (code, status) == ("BucketAlreadyOwnedByYou", 409)


def test_bucket_acls_are_disabled_by_object_ownership(cloudkeep_account):
    code, _, status = fails(s3(cloudkeep_account).create_bucket, Bucket=bucket_name(), ACL="public-read")
    assert (code, status) == ("InvalidBucketAclWithObjectOwnership", 400)


# --- HeadBucket, DeleteBucket -------------------------------------------------------------------------


def test_head_of_a_missing_bucket_is_404_and_of_another_accounts_is_403(cloudkeep_server):
    owner, other = cloudkeep_server.create_account(), cloudkeep_server.create_account()
    name = bucket_name()
    s3(owner).create_bucket(Bucket=name)
    assert fails(s3(other).head_bucket, Bucket=bucket_name())[2] == 404
    assert fails(s3(other).head_bucket, Bucket=name)[2] == 403


def test_delete_bucket_refuses_objects_then_succeeds(cloudkeep_account):
    client = s3(cloudkeep_account)
    name = bucket_name()
    client.create_bucket(Bucket=name)
    client.put_object(Bucket=name, Key="k", Body=b"x")
    code, message, status = fails(client.delete_bucket, Bucket=name)
    assert (code, message, status) == ("BucketNotEmpty", "The bucket you tried to delete is not empty", 409)
    client.delete_object(Bucket=name, Key="k")
    assert client.delete_bucket(Bucket=name)["ResponseMetadata"]["HTTPStatusCode"] == 204
    code, _, status = fails(client.head_bucket, Bucket=name)
    assert status == 404
    code, message, status = fails(client.get_bucket_versioning, Bucket=name)
    assert (code, message, status) == ("NoSuchBucket", "The specified bucket does not exist", 404)


def test_delete_bucket_refuses_while_only_versions_or_delete_markers_remain(cloudkeep_account):
    client = s3(cloudkeep_account)
    name = bucket_name()
    client.create_bucket(Bucket=name)
    client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    client.put_object(Bucket=name, Key="k", Body=b"x")
    client.delete_object(Bucket=name, Key="k")                       # a delete marker on top
    assert "Contents" not in client.list_objects_v2(Bucket=name)
    code, message, _ = fails(client.delete_bucket, Bucket=name)
    assert code == "BucketNotEmpty" and "delete all versions" in message
    versions = client.list_object_versions(Bucket=name)
    for entry in versions.get("Versions", []) + versions.get("DeleteMarkers", []):
        client.delete_object(Bucket=name, Key=entry["Key"], VersionId=entry["VersionId"])
    client.delete_bucket(Bucket=name)


# --- tagging -----------------------------------------------------------------------------------------------


def test_bucket_tagging_put_get_delete(cloudkeep_account):
    client = s3(cloudkeep_account)
    name = bucket_name()
    client.create_bucket(Bucket=name)
    code, message, status = fails(client.get_bucket_tagging, Bucket=name)
    assert (code, message, status) == ("NoSuchTagSet", "The TagSet does not exist", 404)
    client.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": "team", "Value": "blue"},
                                                               {"Key": "env", "Value": ""}]})
    assert client.get_bucket_tagging(Bucket=name)["TagSet"] == [{"Key": "team", "Value": "blue"},
                                                                 {"Key": "env", "Value": ""}]
    client.delete_bucket_tagging(Bucket=name)
    assert fails(client.get_bucket_tagging, Bucket=name)[0] == "NoSuchTagSet"


def test_bucket_tagging_rules(cloudkeep_account):
    client = s3(cloudkeep_account)
    name = bucket_name()
    client.create_bucket(Bucket=name)
    code, message, _ = fails(client.put_bucket_tagging, Bucket=name, Tagging={"TagSet": [
        {"Key": "a", "Value": "1"}, {"Key": "a", "Value": "2"}]})
    assert (code, message) == ("InvalidTag", "Cannot provide multiple Tags with the same key")
    code, _, _ = fails(client.put_bucket_tagging, Bucket=name, Tagging={"TagSet": [
        {"Key": "aws:reserved", "Value": "1"}]})
    assert code == "InvalidTag"
    code, _, _ = fails(client.put_bucket_tagging, Bucket=name, Tagging={"TagSet": [
        {"Key": f"k{i}", "Value": "v"} for i in range(51)]})
    assert code == "BadRequest"
    client.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": f"k{i}", "Value": "v"} for i in range(50)]})


# --- versioning --------------------------------------------------------------------------------------------


def test_versioning_status_unset_enabled_suspended(cloudkeep_account):
    client = s3(cloudkeep_account)
    name = bucket_name()
    client.create_bucket(Bucket=name)
    assert "Status" not in client.get_bucket_versioning(Bucket=name)
    client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    assert client.get_bucket_versioning(Bucket=name)["Status"] == "Enabled"
    client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Suspended"})
    assert client.get_bucket_versioning(Bucket=name)["Status"] == "Suspended"


def test_versioning_configuration_without_status_is_malformed(cloudkeep_account):
    client = s3(cloudkeep_account)
    name = bucket_name()
    client.create_bucket(Bucket=name)
    code, _, status = fails(client.put_bucket_versioning, Bucket=name, VersioningConfiguration={})
    assert (code, status) == ("MalformedXML", 400)


# --- default encryption --------------------------------------------------------------------------------------


def test_new_buckets_encrypt_with_sse_s3_and_delete_resets_to_it(cloudkeep_account):
    client = s3(cloudkeep_account)
    name = bucket_name()
    client.create_bucket(Bucket=name)
    rules = client.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    client.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": True}]})
    assert client.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"][0][
        "BucketKeyEnabled"] is True
    client.delete_bucket_encryption(Bucket=name)
    rules = client.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}


# --- bucket policies ------------------------------------------------------------------------------------------


def test_bucket_policy_put_get_delete(cloudkeep_account):
    client = s3(cloudkeep_account)
    name = bucket_name()
    client.create_bucket(Bucket=name)
    code, message, status = fails(client.get_bucket_policy, Bucket=name)
    assert (code, message, status) == ("NoSuchBucketPolicy", "The bucket policy does not exist", 404)
    text = policy({"Sid": "read", "Effect": "Allow", "Principal": {"AWS": cloudkeep_account.account_id},
                   "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{name}/*"})
    assert client.put_bucket_policy(Bucket=name, Policy=text)["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert json.loads(client.get_bucket_policy(Bucket=name)["Policy"]) == json.loads(text)
    client.delete_bucket_policy(Bucket=name)
    assert fails(client.get_bucket_policy, Bucket=name)[0] == "NoSuchBucketPolicy"


@pytest.mark.parametrize("document,message", [
    ("not json", "Policies must be valid JSON and the first byte must be '{'"),
    ('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",'
     ' "Resource": "arn:aws:s3:::some-other-bucket/*"}]}', "Policy has invalid resource"),
    ('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "iam:GetUser",'
     ' "Resource": "arn:aws:s3:::BUCKET/*"}]}', "Policy has invalid action"),
])
def test_malformed_bucket_policies_are_refused(cloudkeep_account, document, message):
    client = s3(cloudkeep_account)
    name = bucket_name()
    client.create_bucket(Bucket=name)
    code, got, status = fails(client.put_bucket_policy, Bucket=name, Policy=document.replace("BUCKET", name))
    assert (code, got, status) == ("MalformedPolicy", message, 400)
    assert fails(client.get_bucket_policy, Bucket=name)[0] == "NoSuchBucketPolicy"


def test_a_bucket_policy_statement_needs_a_principal(cloudkeep_account):
    client = s3(cloudkeep_account)
    name = bucket_name()
    client.create_bucket(Bucket=name)
    code, _, status = fails(client.put_bucket_policy, Bucket=name, Policy=policy(
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{name}/*"}))
    assert (code, status) == ("MalformedPolicy", 400)


# --- regions ------------------------------------------------------------------------------------------------------


def _eu_bucket(account):
    name = bucket_name()
    s3(account, region="eu-west-1").create_bucket(Bucket=name,
                                                  CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    return name


def test_request_signed_for_us_east_1_to_another_regions_bucket_is_authorization_header_malformed(cloudkeep_account):
    name = _eu_bucket(cloudkeep_account)
    status, headers, body = raw(cloudkeep_account, "GET", f"/{name}", query="list-type=2", region="us-east-1")
    assert status == 400 and headers["x-amz-bucket-region"] == "eu-west-1"
    assert b"<Code>AuthorizationHeaderMalformed</Code>" in body
    assert b"the region 'us-east-1' is wrong; expecting 'eu-west-1'" in body
    assert b"<Region>eu-west-1</Region>" in body


def test_request_signed_for_a_third_region_is_a_permanent_redirect(cloudkeep_account):
    name = _eu_bucket(cloudkeep_account)
    status, headers, body = raw(cloudkeep_account, "GET", f"/{name}", query="list-type=2", region="us-west-2")
    assert status == 301 and headers["x-amz-bucket-region"] == "eu-west-1"
    assert b"<Code>PermanentRedirect</Code>" in body and f"<Bucket>{name}</Bucket>".encode() in body
    status, headers, body = raw(cloudkeep_account, "HEAD", f"/{name}", region="us-west-2")
    assert status == 301 and headers["x-amz-bucket-region"] == "eu-west-1" and body == b""


def test_boto3_follows_the_region_redirect(cloudkeep_account):
    name = _eu_bucket(cloudkeep_account)
    s3(cloudkeep_account, region="eu-west-1").put_object(Bucket=name, Key="k", Body=b"far away")
    assert s3(cloudkeep_account, region="us-west-2").get_object(Bucket=name, Key="k")["Body"].read() == b"far away"


def test_get_bucket_location_answers_from_any_region(cloudkeep_account):
    name = _eu_bucket(cloudkeep_account)
    status, _, body = raw(cloudkeep_account, "GET", f"/{name}", query="location", region="us-east-1")
    assert status == 200 and b">eu-west-1</LocationConstraint>" in body


# --- expected bucket owner -------------------------------------------------------------------------------------


def test_expected_bucket_owner_mismatch_is_access_denied(cloudkeep_account):
    client = s3(cloudkeep_account)
    name = bucket_name()
    client.create_bucket(Bucket=name)
    client.put_object(Bucket=name, Key="k", Body=b"x", ExpectedBucketOwner=cloudkeep_account.account_id)
    for call, kwargs in ((client.head_bucket, {}), (client.get_object, {"Key": "k"}),
                         (client.put_object, {"Key": "k", "Body": b"y"}), (client.list_objects_v2, {}),
                         (client.get_bucket_tagging, {})):
        code, message, status = fails(call, Bucket=name, ExpectedBucketOwner="111122223333", **kwargs)
        assert status == 403, call
        if call != client.head_bucket:
            assert (code, message) == ("AccessDenied", "Access Denied")
    assert client.get_object(Bucket=name, Key="k")["Body"].read() == b"x"


def test_a_configuration_body_left_out_is_malformed_xml(cloudkeep_account):
    client = s3(cloudkeep_account)
    name = bucket_name()
    client.create_bucket(Bucket=name)
    for query in ("tagging", "versioning", "encryption"):
        status, _, body = raw(cloudkeep_account, "PUT", f"/{name}", query=query)
        assert status == 400 and b"<Code>MalformedXML</Code>" in body, query
        assert b"The XML you provided was not well-formed" in body


def test_presigned_url_for_another_region_names_the_buckets_region(cloudkeep_account):
    import urllib.error
    import urllib.request

    name = _eu_bucket(cloudkeep_account)
    s3(cloudkeep_account, region="eu-west-1").put_object(Bucket=name, Key="k", Body=b"x")
    url = s3(cloudkeep_account, region="us-west-2", signature_version="s3v4").generate_presigned_url(
        "get_object", Params={"Bucket": name, "Key": "k"}, ExpiresIn=60)
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(url, timeout=30)
    body = exc.value.read()
    assert exc.value.code == 400 and exc.value.headers["x-amz-bucket-region"] == "eu-west-1"
    assert b"<Code>AuthorizationQueryParametersError</Code>" in body
    assert b"the region 'us-west-2' is wrong; expecting 'eu-west-1'" in body
