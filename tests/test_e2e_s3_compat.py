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
