"""S3 multipart uploads end to end with boto3: the whole flow and its ETag, the part-list checks
at completion, listing parts and uploads, aborting, copying parts, checksums, boto3's managed
transfers, reading a part back; and (slow, deselected by default) a 1 GiB object streamed up
and down while the server's memory stays bounded.

AWS pages: https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html,
https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateMultipartUpload.html,
https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPart.html,
https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPartCopy.html,
https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html,
https://docs.aws.amazon.com/AmazonS3/latest/API/API_AbortMultipartUpload.html,
https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListParts.html,
https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListMultipartUploads.html,
https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

import pytest

from cloudkeep.auth import checksums
from s3_support import bucket_name, fails, s3

MIB = 1024 * 1024


@pytest.fixture
def bucket(cloudkeep_account):
    client = s3(cloudkeep_account)
    name = bucket_name()
    client.create_bucket(Bucket=name)
    return client, name


def _etag(parts: list[bytes]) -> str:
    digest = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest()
    return f'"{digest}-{len(parts)}"'


def _upload(client, name, key, parts, **create):
    upload = client.create_multipart_upload(Bucket=name, Key=key, **create)["UploadId"]
    done = []
    for number, data in enumerate(parts, 1):
        etag = client.upload_part(Bucket=name, Key=key, UploadId=upload, PartNumber=number, Body=data)["ETag"]
        done.append({"PartNumber": number, "ETag": etag})
    return upload, done


def test_multipart_upload_round_trip_and_etag(bucket):
    client, name = bucket
    parts = [os.urandom(5 * MIB), os.urandom(5 * MIB + 3), b"tail"]
    upload, done = _upload(client, name, "mp", parts, ContentType="text/x-parts", Metadata={"k": "v"})
    listed = client.list_parts(Bucket=name, Key="mp", UploadId=upload)
    assert [(p["PartNumber"], p["Size"]) for p in listed["Parts"]] == [(1, 5 * MIB), (2, 5 * MIB + 3), (3, 4)]
    assert listed["Parts"][0]["ETag"] == f'"{hashlib.md5(parts[0]).hexdigest()}"'
    out = client.complete_multipart_upload(Bucket=name, Key="mp", UploadId=upload, MultipartUpload={"Parts": done})
    assert out["ETag"] == _etag(parts) and out["Key"] == "mp" and out["Bucket"] == name
    got = client.get_object(Bucket=name, Key="mp")
    assert got["Body"].read() == b"".join(parts)
    assert got["ETag"] == _etag(parts) and got["ContentType"] == "text/x-parts" and got["Metadata"] == {"k": "v"}
    assert "PartsCount" not in got and got["ServerSideEncryption"] == "AES256"
    assert client.head_object(Bucket=name, Key="mp", PartNumber=1)["PartsCount"] == 3
    span = client.get_object(Bucket=name, Key="mp", Range=f"bytes={5 * MIB - 2}-{5 * MIB + 1}")
    assert span["Body"].read() == parts[0][-2:] + parts[1][:2]
    assert fails(client.list_parts, Bucket=name, Key="mp", UploadId=upload)[0] == "NoSuchUpload"


def test_get_object_part_number_reads_one_part(bucket):
    client, name = bucket
    parts = [os.urandom(5 * MIB), b"second part"]
    upload, done = _upload(client, name, "mp", parts)
    client.complete_multipart_upload(Bucket=name, Key="mp", UploadId=upload, MultipartUpload={"Parts": done})
    got = client.get_object(Bucket=name, Key="mp", PartNumber=2)
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 206 and got["Body"].read() == b"second part"
    assert got["PartsCount"] == 2 and got["ContentRange"] == f"bytes {5 * MIB}-{5 * MIB + 10}/{5 * MIB + 11}"
    code, _, status = fails(client.get_object, Bucket=name, Key="mp", PartNumber=3)
    assert (code, status) == ("InvalidPartNumber", 416)


def test_completion_checks_part_order_etags_and_sizes(bucket):
    client, name = bucket
    upload, done = _upload(client, name, "k", [b"a" * 100, b"b" * 100])
    code, message, status = fails(client.complete_multipart_upload, Bucket=name, Key="k", UploadId=upload,
                                  MultipartUpload={"Parts": list(reversed(done))})
    assert (code, status) == ("InvalidPartOrder", 400) and "ascending order" in message
    code, message, status = fails(client.complete_multipart_upload, Bucket=name, Key="k", UploadId=upload,
                                  MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": '"0000"'}]})
    assert (code, status) == ("InvalidPart", 400) and "could not be found" in message
    code, _, _ = fails(client.complete_multipart_upload, Bucket=name, Key="k", UploadId=upload,
                       MultipartUpload={"Parts": [{"PartNumber": 7, "ETag": done[0]["ETag"]}]})
    assert code == "InvalidPart"
    code, message, status = fails(client.complete_multipart_upload, Bucket=name, Key="k", UploadId=upload,
                                  MultipartUpload={"Parts": done})
    assert (code, status) == ("EntityTooSmall", 400)
    assert message == "Your proposed upload is smaller than the minimum allowed size"
    # a single small part is fine: only parts before the last must be 5 MiB
    out = client.complete_multipart_upload(Bucket=name, Key="k", UploadId=upload, MultipartUpload={"Parts": done[:1]})
    assert out["ETag"] == _etag([b"a" * 100])
    assert client.get_object(Bucket=name, Key="k")["Body"].read() == b"a" * 100


def test_part_numbers_must_be_1_to_10000(bucket):
    client, name = bucket
    upload = client.create_multipart_upload(Bucket=name, Key="k")["UploadId"]
    for number in (0, 10001):
        code, message, status = fails(client.upload_part, Bucket=name, Key="k", UploadId=upload, PartNumber=number,
                                      Body=b"x")
        assert (code, status) == ("InvalidArgument", 400)
        assert message == "Part number must be an integer between 1 and 10000, inclusive"


def test_reuploading_a_part_replaces_it(bucket):
    client, name = bucket
    upload = client.create_multipart_upload(Bucket=name, Key="k")["UploadId"]
    client.upload_part(Bucket=name, Key="k", UploadId=upload, PartNumber=1, Body=b"first")
    etag = client.upload_part(Bucket=name, Key="k", UploadId=upload, PartNumber=1, Body=b"second")["ETag"]
    assert [p["ETag"] for p in client.list_parts(Bucket=name, Key="k", UploadId=upload)["Parts"]] == [etag]
    client.complete_multipart_upload(Bucket=name, Key="k", UploadId=upload,
                                     MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    assert client.get_object(Bucket=name, Key="k")["Body"].read() == b"second"


def test_abort_and_no_such_upload(bucket):
    client, name = bucket
    upload, _ = _upload(client, name, "k", [b"x"])
    uploads = client.list_multipart_uploads(Bucket=name)["Uploads"]
    assert [(u["Key"], u["UploadId"]) for u in uploads] == [("k", upload)]
    assert client.abort_multipart_upload(Bucket=name, Key="k", UploadId=upload)["ResponseMetadata"][
        "HTTPStatusCode"] == 204
    assert "Uploads" not in client.list_multipart_uploads(Bucket=name)
    code, message, status = fails(client.abort_multipart_upload, Bucket=name, Key="k", UploadId=upload)
    assert (code, status) == ("NoSuchUpload", 404) and message.startswith("The specified upload does not exist.")
    assert fails(client.upload_part, Bucket=name, Key="k", UploadId=upload, PartNumber=1, Body=b"x")[0] \
        == "NoSuchUpload"
    assert fails(client.upload_part, Bucket=name, Key="other-key", UploadId="not-an-upload", PartNumber=1,
                 Body=b"x")[0] == "NoSuchUpload"


def test_list_multipart_uploads_with_prefix_delimiter_and_paging(bucket):
    client, name = bucket
    ids = {key: client.create_multipart_upload(Bucket=name, Key=key)["UploadId"]
           for key in ("a/1", "a/2", "b", "c")}
    out = client.list_multipart_uploads(Bucket=name, Delimiter="/")
    assert [u["Key"] for u in out["Uploads"]] == ["b", "c"]
    assert [p["Prefix"] for p in out["CommonPrefixes"]] == ["a/"]
    out = client.list_multipart_uploads(Bucket=name, Prefix="a/")
    assert [u["UploadId"] for u in out["Uploads"]] == [ids["a/1"], ids["a/2"]]
    page = client.list_multipart_uploads(Bucket=name, MaxUploads=2)
    assert page["IsTruncated"] is True and page["NextKeyMarker"] == "a/2"
    rest = client.list_multipart_uploads(Bucket=name, KeyMarker=page["NextKeyMarker"],
                                         UploadIdMarker=page["NextUploadIdMarker"])
    assert [u["Key"] for u in rest["Uploads"]] == ["b", "c"]


def test_upload_part_copy_with_a_source_range(bucket):
    client, name = bucket
    source = os.urandom(6 * MIB)
    client.put_object(Bucket=name, Key="src", Body=source)
    upload = client.create_multipart_upload(Bucket=name, Key="dst")["UploadId"]
    first = client.upload_part_copy(Bucket=name, Key="dst", UploadId=upload, PartNumber=1,
                                    CopySource={"Bucket": name, "Key": "src"},
                                    CopySourceRange=f"bytes=0-{5 * MIB - 1}")["CopyPartResult"]
    second = client.upload_part_copy(Bucket=name, Key="dst", UploadId=upload, PartNumber=2,
                                     CopySource=f"{name}/src", CopySourceRange=f"bytes={5 * MIB}-{6 * MIB - 1}")
    client.complete_multipart_upload(Bucket=name, Key="dst", UploadId=upload, MultipartUpload={"Parts": [
        {"PartNumber": 1, "ETag": first["ETag"]}, {"PartNumber": 2, "ETag": second["CopyPartResult"]["ETag"]}]})
    assert client.get_object(Bucket=name, Key="dst")["Body"].read() == source
    code, _, status = fails(client.upload_part_copy, Bucket=name, Key="dst", UploadId=upload, PartNumber=1,
                            CopySource=f"{name}/src", CopySourceRange="bytes=0-99999999")
    assert status in (404, 416)


def test_composite_checksum_of_parts(bucket):
    client, name = bucket
    parts = [os.urandom(5 * MIB), os.urandom(1000)]
    upload = client.create_multipart_upload(Bucket=name, Key="c", ChecksumAlgorithm="SHA256")["UploadId"]
    done = []
    for number, data in enumerate(parts, 1):
        out = client.upload_part(Bucket=name, Key="c", UploadId=upload, PartNumber=number, Body=data,
                                 ChecksumAlgorithm="SHA256")
        assert out["ChecksumSHA256"] == checksums.compute("SHA256", data)
        done.append({"PartNumber": number, "ETag": out["ETag"], "ChecksumSHA256": out["ChecksumSHA256"]})
    out = client.complete_multipart_upload(Bucket=name, Key="c", UploadId=upload, MultipartUpload={"Parts": done})
    composite = hashlib.sha256(b"".join(hashlib.sha256(p).digest() for p in parts)).digest()
    assert out["ChecksumSHA256"] == f"{base64.b64encode(composite).decode()}-2"
    assert out["ChecksumType"] == "COMPOSITE"
    head = client.head_object(Bucket=name, Key="c", ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"] == out["ChecksumSHA256"]
    assert client.get_object(Bucket=name, Key="c", ChecksumMode="ENABLED")["Body"].read() == b"".join(parts)


def test_full_object_crc_checksum_of_a_multipart_upload(bucket):
    client, name = bucket
    parts = [os.urandom(5 * MIB), os.urandom(77)]
    upload = client.create_multipart_upload(Bucket=name, Key="f", ChecksumAlgorithm="CRC32",
                                            ChecksumType="FULL_OBJECT")["UploadId"]
    done = []
    for number, data in enumerate(parts, 1):
        out = client.upload_part(Bucket=name, Key="f", UploadId=upload, PartNumber=number, Body=data,
                                 ChecksumAlgorithm="CRC32")
        done.append({"PartNumber": number, "ETag": out["ETag"], "ChecksumCRC32": out["ChecksumCRC32"]})
    out = client.complete_multipart_upload(Bucket=name, Key="f", UploadId=upload, MultipartUpload={"Parts": done})
    assert out["ChecksumCRC32"] == checksums.compute("CRC32", b"".join(parts)) and out["ChecksumType"] == "FULL_OBJECT"


def test_boto3_managed_transfers_upload_and_download_in_parts(bucket, tmp_path: Path):
    from boto3.s3.transfer import TransferConfig
    client, name = bucket
    source = tmp_path / "up.bin"
    data = os.urandom(20 * MIB + 5)
    source.write_bytes(data)
    config = TransferConfig(multipart_threshold=8 * MIB, multipart_chunksize=8 * MIB)
    client.upload_file(str(source), name, "big.bin", Config=config)
    head = client.head_object(Bucket=name, Key="big.bin")
    assert head["ContentLength"] == len(data) and head["ETag"].endswith('-3"')
    target = tmp_path / "down.bin"
    client.download_file(name, "big.bin", str(target), Config=config)
    assert target.read_bytes() == data


# --- memory stays bounded (slow) -----------------------------------------------------------------------------


def _rss_peak_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


@pytest.mark.slow
def test_a_1_gib_object_streams_up_and_down_with_bounded_server_memory(tmp_path: Path):
    """The server's peak resident memory grows by far less than the object: the body is spooled,
    encrypted a chunk at a time, and streamed back a chunk at a time."""
    from cloudkeep.testing.server import CloudkeepServer

    size = 1024 * MIB
    source = tmp_path / "big.bin"
    expected = hashlib.sha256()
    with source.open("wb") as out:
        for index in range(size // MIB):
            block = hashlib.sha256(str(index).encode()).digest() * (MIB // 32)
            expected.update(block)
            out.write(block)
    with CloudkeepServer() as server:
        account = server.create_account()
        client = s3(account)
        name = bucket_name()
        client.create_bucket(Bucket=name)
        assert server.process is not None
        before = _rss_peak_kib(server.process.pid)
        with source.open("rb") as body:
            client.put_object(Bucket=name, Key="big", Body=body)
        digest = hashlib.sha256()
        got = client.get_object(Bucket=name, Key="big")["Body"]
        total = 0
        for piece in got.iter_chunks(MIB):
            digest.update(piece)
            total += len(piece)
        after = _rss_peak_kib(server.process.pid)
    assert total == size
    assert digest.hexdigest() == expected.hexdigest()
    grew_mib = (after - before) / 1024
    assert grew_mib < 96, f"the server's peak memory grew by {grew_mib:.0f} MiB for a {size // MIB} MiB object"


def test_completing_an_upload_again_answers_the_same_result(cloudkeep_account):
    """S3's CompleteMultipartUpload is idempotent: a client that lost the first answer retries and
    gets the same result (Ceph's s3-tests test_multipart_upload_small; real S3 answers 200), while
    an upload that never existed or was aborted stays NoSuchUpload."""
    client = s3(cloudkeep_account)
    name = bucket_name()
    client.create_bucket(Bucket=name)
    client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    upload = client.create_multipart_upload(Bucket=name, Key="retried")["UploadId"]
    etag = client.upload_part(Bucket=name, Key="retried", UploadId=upload, PartNumber=1, Body=b"x")["ETag"]
    parts = {"Parts": [{"PartNumber": 1, "ETag": etag}]}
    first = client.complete_multipart_upload(Bucket=name, Key="retried", UploadId=upload, MultipartUpload=parts)
    again = client.complete_multipart_upload(Bucket=name, Key="retried", UploadId=upload, MultipartUpload=parts)
    assert (again["ETag"], again["VersionId"], again["Key"]) == (first["ETag"], first["VersionId"], "retried")
    assert len(client.list_object_versions(Bucket=name)["Versions"]) == 1        # nothing written twice
    code, _message, status = fails(client.complete_multipart_upload, Bucket=name, Key="other", UploadId=upload,
                                   MultipartUpload=parts)
    assert (code, status) == ("NoSuchUpload", 404)                               # another key: not that upload
    aborted = client.create_multipart_upload(Bucket=name, Key="aborted")["UploadId"]
    client.abort_multipart_upload(Bucket=name, Key="aborted", UploadId=aborted)
    assert fails(client.complete_multipart_upload, Bucket=name, Key="aborted", UploadId=aborted,
                 MultipartUpload=parts)[0] == "NoSuchUpload"
