"""S3 behaviours found by Ceph's s3-tests (docs/compatibility.md) and fixed: each test names the
AWS page that says what S3 does.
"""

from __future__ import annotations

import base64
import hashlib

import pytest

from s3_support import bucket_name, fails, s3


@pytest.fixture
def bucket(cloudkeep_account):
    client = s3(cloudkeep_account)
    name = bucket_name("compat")
    client.create_bucket(Bucket=name)
    return client, name


def _composite_upload(client, name: str, key: str, data: bytes) -> tuple[str, list[dict], str]:
    upload = client.create_multipart_upload(Bucket=name, Key=key, ChecksumAlgorithm="SHA256")["UploadId"]
    out = client.upload_part(Bucket=name, Key=key, UploadId=upload, PartNumber=1, Body=data,
                             ChecksumAlgorithm="SHA256")
    parts = [{"PartNumber": 1, "ETag": out["ETag"], "ChecksumSHA256": out["ChecksumSHA256"]}]
    composite = base64.b64encode(hashlib.sha256(hashlib.sha256(data).digest()).digest()).decode()
    return upload, parts, composite


def test_complete_multipart_upload_checks_the_composite_checksum_sent(bucket):
    """x-amz-checksum-sha256 on CompleteMultipartUpload is a data integrity check of the object
    (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html): a value that
    is not the object's composite checksum is 400 BadDigest and completes nothing."""
    client, name = bucket
    upload, parts, composite = _composite_upload(client, name, "k", b"A" * 1024)
    code, _, status = fails(client.complete_multipart_upload, Bucket=name, Key="k", UploadId=upload,
                            ChecksumSHA256="bad", MultipartUpload={"Parts": parts})
    assert (code, status) == ("BadDigest", 400)
    other = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    assert fails(client.complete_multipart_upload, Bucket=name, Key="k", UploadId=upload,
                 ChecksumSHA256=f"{other}-1", MultipartUpload={"Parts": parts})[0] == "BadDigest"
    assert fails(client.head_object, Bucket=name, Key="k")[2] == 404
    out = client.complete_multipart_upload(Bucket=name, Key="k", UploadId=upload, ChecksumSHA256=f"{composite}-1",
                                           MultipartUpload={"Parts": parts})
    assert out["ChecksumSHA256"] == f"{composite}-1"
    assert client.head_object(Bucket=name, Key="k", ChecksumMode="ENABLED")["ChecksumSHA256"] == f"{composite}-1"


def test_create_bucket_with_a_public_acl_is_refused_with_s3s_block_public_access_error(cloudkeep_account):
    """A new bucket blocks public ACLs from its creation: with ACLs enabled (ObjectWriter), a
    public canned ACL or a grant to AllUsers answers 400 InvalidBucketAclWithBlockPublicAccessError
    and makes no bucket; a private one is accepted
    (https://aws.amazon.com/blogs/aws/heads-up-amazon-s3-security-changes-are-coming-in-april-of-2023/)."""
    client = s3(cloudkeep_account)
    name = bucket_name("pubacl")
    code, message, status = fails(client.create_bucket, Bucket=name, ObjectOwnership="ObjectWriter",
                                  ACL="public-read")
    assert (code, status) == ("InvalidBucketAclWithBlockPublicAccessError", 400)
    assert message == "Bucket cannot have public ACLs set with BlockPublicAccess enabled"
    assert fails(client.create_bucket, Bucket=name, ObjectOwnership="ObjectWriter",
                 GrantRead='uri="http://acs.amazonaws.com/groups/global/AllUsers"')[0] == \
        "InvalidBucketAclWithBlockPublicAccessError"
    assert fails(client.head_bucket, Bucket=name)[2] == 404
    client.create_bucket(Bucket=name, ObjectOwnership="ObjectWriter", ACL="private")
    # under BucketOwnerEnforced (the default) any ACL but private is refused by Object Ownership first
    assert fails(client.create_bucket, Bucket=bucket_name("enf"), ACL="public-read")[0] == \
        "InvalidBucketAclWithObjectOwnership"
