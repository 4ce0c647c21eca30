"""Large single-part uploads (past the adapter's in-memory size, so spooled as they arrive), from
boto3 against the real server: the spool is written in the blob format and, when the object is
stored as sent, kept as its blob (``storage/spool.BodySpool.adopt``). These check what a client
sees: the body, ETag and checksums read back exactly, at sizes on and off the 1 MiB chunk
boundary, under each encryption scheme; and a refused upload (a checksum or Content-MD5 that
does not match) stores nothing and leaves no file behind."""

from __future__ import annotations

import base64
import hashlib
import os

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from cloudkeep.auth import checksums
from cloudkeep.pipeline.asgi import MEMORY_BODY

MIB = 1024 * 1024


def _bucket(client, account) -> str:
    name = f"large-{account.account_id}"
    client.create_bucket(Bucket=name)
    return name


def _b64(algorithm: str, data: bytes) -> str:
    c = checksums.new(algorithm)
    c.update(data)
    return base64.b64encode(c.digest()).decode()


def _blob_files(server) -> list[str]:
    root = server.data_dir / "blobs"
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


@pytest.mark.parametrize("size", [MEMORY_BODY + MIB, MEMORY_BODY + MIB + 5])
def test_large_put_reads_back_with_its_etag_and_checksum(cloudkeep_account, size):
    """boto3 over HTTP signs the payload and sends x-amz-checksum-crc32: the spool measures both
    while the body arrives, and the stored object answers with them."""
    client = cloudkeep_account.client("s3")
    bucket = _bucket(client, cloudkeep_account)
    data = os.urandom(size)
    put = client.put_object(Bucket=bucket, Key="big", Body=data)
    assert put["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
    assert put["ServerSideEncryption"] == "AES256"
    assert put["ChecksumCRC32"] == _b64("CRC32", data)
    head = client.head_object(Bucket=bucket, Key="big", ChecksumMode="ENABLED")
    assert head["ContentLength"] == size and head["ChecksumCRC32"] == _b64("CRC32", data)
    assert client.get_object(Bucket=bucket, Key="big")["Body"].read() == data
    tail = client.get_object(Bucket=bucket, Key="big", Range=f"bytes={size - MIB - 3}-")["Body"].read()
    assert tail == data[size - MIB - 3:]


def test_large_unsigned_put_gets_the_default_crc64nvme(cloudkeep_account):
    client = cloudkeep_account.client("s3", config=Config(
        s3={"payload_signing_enabled": False}, request_checksum_calculation="when_required"))
    bucket = _bucket(client, cloudkeep_account)
    data = os.urandom(MEMORY_BODY + 2 * MIB)
    client.put_object(Bucket=bucket, Key="big", Body=data)
    head = client.head_object(Bucket=bucket, Key="big", ChecksumMode="ENABLED")
    assert head["ChecksumCRC64NVME"] == _b64("CRC64NVME", data)
    assert client.get_object(Bucket=bucket, Key="big")["Body"].read() == data


@pytest.mark.parametrize("bucket_key", [False, True])
def test_large_put_with_sse_kms(cloudkeep_account, bucket_key):
    """SSE-KMS takes its data key from KMS (no Bucket Key: the body is encrypted again under it)
    or wraps its own under the Bucket Key (the spool's key): both read back."""
    client = cloudkeep_account.client("s3")
    bucket = _bucket(client, cloudkeep_account)
    data = os.urandom(MEMORY_BODY + MIB + 1)
    put = client.put_object(Bucket=bucket, Key="k", Body=data, ServerSideEncryption="aws:kms",
                            BucketKeyEnabled=bucket_key)
    assert put["ServerSideEncryption"] == "aws:kms" and put.get("BucketKeyEnabled", False) is bucket_key
    assert client.get_object(Bucket=bucket, Key="k")["Body"].read() == data


def test_refused_large_puts_store_nothing(cloudkeep_server, cloudkeep_account):
    client = cloudkeep_account.client("s3")
    bucket = _bucket(client, cloudkeep_account)
    data = os.urandom(MEMORY_BODY + MIB)
    before = _blob_files(cloudkeep_server)
    wrong = _b64("SHA256", b"something else")
    with pytest.raises(ClientError) as err:
        client.put_object(Bucket=bucket, Key="k", Body=data, ChecksumSHA256=wrong)
    assert err.value.response["Error"]["Code"] == "BadDigest"
    wrong_md5 = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    with pytest.raises(ClientError) as err:
        client.put_object(Bucket=bucket, Key="k", Body=data, ContentMD5=wrong_md5)
    assert err.value.response["Error"]["Code"] == "BadDigest"
    with pytest.raises(ClientError) as err:
        client.head_object(Bucket=bucket, Key="k")
    assert err.value.response["Error"]["Code"] == "404"
    assert _blob_files(cloudkeep_server) == before
