"""S3 objects end to end with boto3: bodies, metadata and standard headers, SSE-S3 on every
object, checksums, ranges, conditional requests, response header overrides, deletes, copies,
listings (v1, v2, versions) with prefixes, delimiters and pagination, versioning semantics, object
tagging, presigned URLs, and bodies that rest encrypted.

AWS pages: https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html,
https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html (ranges, conditions, overrides),
https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html,
https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html,
https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html,
https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html,
https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html,
https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html,
https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjects.html,
https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectVersions.html,
https://docs.aws.amazon.com/AmazonS3/latest/userguide/Versioning.html,
https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-tagging.html
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import urllib.request

import pytest

from cloudkeep.auth import checksums
from cloudkeep.wire.http import BodyStream
from s3_support import bucket_name, fails, raw, s3

UTC = dt.timezone.utc


@pytest.fixture
def bucket(cloudkeep_account):
    client = s3(cloudkeep_account)
    name = bucket_name()
    client.create_bucket(Bucket=name)
    return client, name


# --- PutObject / GetObject / HeadObject --------------------------------------------------------------


def test_put_and_get_round_trip_with_metadata_and_standard_headers(bucket):
    client, name = bucket
    expires = dt.datetime(2031, 1, 2, 3, 4, 5, tzinfo=UTC)
    put = client.put_object(Bucket=name, Key="dir/a b+ü.txt", Body=b"hello world", ContentType="text/plain",
                            Metadata={"Owner": "alice", "x": "1"}, CacheControl="max-age=60",
                            ContentDisposition="attachment", ContentLanguage="en", ContentEncoding="identity",
                            Expires=expires)
    assert put["ETag"] == f'"{hashlib.md5(b"hello world").hexdigest()}"'
    assert put["ServerSideEncryption"] == "AES256"
    got = client.get_object(Bucket=name, Key="dir/a b+ü.txt")
    assert got["Body"].read() == b"hello world"
    assert got["ETag"] == put["ETag"] and got["ContentLength"] == 11
    assert got["Metadata"] == {"owner": "alice", "x": "1"}
    assert (got["ContentType"], got["CacheControl"], got["ContentDisposition"], got["ContentLanguage"],
            got["ContentEncoding"]) == ("text/plain", "max-age=60", "attachment", "en", "identity")
    assert got["Expires"] == expires
    assert got["ServerSideEncryption"] == "AES256" and got["AcceptRanges"] == "bytes"
    head = client.head_object(Bucket=name, Key="dir/a b+ü.txt")
    assert head["ContentLength"] == 11 and head["ETag"] == put["ETag"] and head["ServerSideEncryption"] == "AES256"
    assert "VersionId" not in head                                  # never-versioned bucket


def test_default_content_type_and_empty_body(bucket):
    client, name = bucket
    client.put_object(Bucket=name, Key="empty")
    got = client.get_object(Bucket=name, Key="empty")
    assert got["Body"].read() == b"" and got["ContentLength"] == 0
    assert got["ContentType"] == "binary/octet-stream"
    assert got["ETag"] == f'"{hashlib.md5(b"").hexdigest()}"'


def test_missing_key_is_404_nosuchkey_and_head_404_without_body(cloudkeep_account, bucket):
    client, name = bucket
    code, message, status = fails(client.get_object, Bucket=name, Key="nope")
    assert (code, message, status) == ("NoSuchKey", "The specified key does not exist.", 404)
    assert fails(client.head_object, Bucket=name, Key="nope")[2] == 404
    status, _, body = raw(cloudkeep_account, "HEAD", f"/{name}/nope")
    assert (status, body) == (404, b"")
    status, _, body = raw(cloudkeep_account, "GET", f"/{name}/nope")
    assert status == 404 and b"<Key>nope</Key>" in body


def test_key_and_metadata_limits(bucket):
    client, name = bucket
    code, _, status = fails(client.put_object, Bucket=name, Key="k" * 1025, Body=b"x")
    assert (code, status) == ("KeyTooLongError", 400)
    client.put_object(Bucket=name, Key="k" * 1024, Body=b"x")
    code, _, status = fails(client.put_object, Bucket=name, Key="m", Body=b"x", Metadata={"big": "v" * 2100})
    assert (code, status) == ("MetadataTooLarge", 400)


def test_acls_are_refused_on_objects(bucket):
    client, name = bucket
    assert fails(client.put_object, Bucket=name, Key="k", Body=b"x", ACL="bucket-owner-read")[0] == \
        "AccessControlListNotSupported"
    client.put_object(Bucket=name, Key="k", Body=b"x", ACL="bucket-owner-full-control")
    client.put_object(Bucket=name, Key="k", Body=b"x", ServerSideEncryption="AES256")


# --- checksums ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"])
def test_checksums_are_verified_stored_and_returned(bucket, algorithm):
    client, name = bucket
    body = os.urandom(3000)
    expected = checksums.compute(algorithm, body)
    put = client.put_object(Bucket=name, Key="c", Body=body, ChecksumAlgorithm=algorithm)
    assert put[f"Checksum{algorithm}"] == expected and put["ChecksumType"] == "FULL_OBJECT"
    got = client.get_object(Bucket=name, Key="c", ChecksumMode="ENABLED")
    assert got[f"Checksum{algorithm}"] == expected and got["Body"].read() == body
    head = client.head_object(Bucket=name, Key="c", ChecksumMode="ENABLED")
    assert head[f"Checksum{algorithm}"] == expected
    listed = client.list_objects_v2(Bucket=name)["Contents"][0]
    assert listed["ChecksumAlgorithm"] == [algorithm]


def test_a_wrong_checksum_is_bad_digest_and_nothing_is_written(cloudkeep_account, bucket):
    client, name = bucket
    quiet = s3(cloudkeep_account, request_checksum_calculation="when_required")
    wrong = checksums.compute("SHA256", b"other")
    code, message, status = fails(quiet.put_object, Bucket=name, Key="bad", Body=b"payload", ChecksumSHA256=wrong)
    assert (code, status) == ("BadDigest", 400) and "SHA256" in message
    assert fails(client.head_object, Bucket=name, Key="bad")[2] == 404
    code, _, status = fails(quiet.put_object, Bucket=name, Key="bad", Body=b"payload", ChecksumSHA256="bm90IGEgc2hh")
    assert (code, status) == ("InvalidRequest", 400)


def test_content_md5_is_checked(cloudkeep_account, bucket):
    _, name = bucket
    quiet = s3(cloudkeep_account, request_checksum_calculation="when_required")
    good = base64.b64encode(hashlib.md5(b"payload").digest()).decode()
    quiet.put_object(Bucket=name, Key="m", Body=b"payload", ContentMD5=good)
    bad = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    code, message, status = fails(quiet.put_object, Bucket=name, Key="m", Body=b"payload", ContentMD5=bad)
    assert (code, message, status) == ("BadDigest", "The Content-MD5 you specified did not match what we received.",
                                       400)
    assert fails(quiet.put_object, Bucket=name, Key="m", Body=b"payload", ContentMD5="short")[0] == "InvalidDigest"


def test_an_upload_without_checksum_gets_a_crc64nvme_checksum(cloudkeep_account, bucket):
    _, name = bucket
    quiet = s3(cloudkeep_account, request_checksum_calculation="when_required")
    quiet.put_object(Bucket=name, Key="plain", Body=b"no checksum sent")
    got = quiet.head_object(Bucket=name, Key="plain", ChecksumMode="ENABLED")
    assert got["ChecksumCRC64NVME"] == checksums.compute("CRC64NVME", b"no checksum sent")


# --- ranges ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("header,start,end", [("bytes=0-4", 0, 5), ("bytes=5-", 5, 26), ("bytes=-3", 23, 26),
                                               ("bytes=20-100", 20, 26), ("bytes=25-25", 25, 26)])
def test_ranges_answer_206_with_content_range(bucket, header, start, end):
    client, name = bucket
    data = b"abcdefghijklmnopqrstuvwxyz"
    client.put_object(Bucket=name, Key="r", Body=data)
    got = client.get_object(Bucket=name, Key="r", Range=header)
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert got["Body"].read() == data[start:end]
    assert got["ContentRange"] == f"bytes {start}-{end - 1}/26" and got["ContentLength"] == end - start
    assert "ChecksumCRC32" not in got


def test_unsatisfiable_range_is_416_and_an_unparsable_one_is_ignored(bucket):
    client, name = bucket
    client.put_object(Bucket=name, Key="r", Body=b"0123456789")
    code, message, status = fails(client.get_object, Bucket=name, Key="r", Range="bytes=10-20")
    assert (code, message, status) == ("InvalidRange", "The requested range is not satisfiable", 416)
    for header in ("bytes=5-2", "chars=0-1", "bytes=0-1,3-4", "nonsense"):
        got = client.get_object(Bucket=name, Key="r", Range=header)
        assert got["ResponseMetadata"]["HTTPStatusCode"] == 200 and got["Body"].read() == b"0123456789", header


def test_large_object_ranges_across_chunk_boundaries(bucket):
    client, name = bucket
    data = os.urandom(3 * 1024 * 1024 + 17)
    client.put_object(Bucket=name, Key="big", Body=data)
    for start, end in ((0, 1), (1024 * 1024 - 3, 1024 * 1024 + 3), (2 * 1024 * 1024, 3 * 1024 * 1024 + 16)):
        got = client.get_object(Bucket=name, Key="big", Range=f"bytes={start}-{end}")
        assert got["Body"].read() == data[start:end + 1]
    assert client.get_object(Bucket=name, Key="big")["Body"].read() == data


# --- conditional requests ----------------------------------------------------------------------------------


def test_conditional_gets_answer_412_and_304_as_s3_orders_them(bucket):
    client, name = bucket
    etag = client.put_object(Bucket=name, Key="c", Body=b"v1")["ETag"]
    past, future = dt.datetime(2000, 1, 1, tzinfo=UTC), dt.datetime(2100, 1, 1, tzinfo=UTC)
    code, _, status = fails(client.get_object, Bucket=name, Key="c", IfMatch='"0000"')
    assert (code, status) == ("PreconditionFailed", 412)
    assert client.get_object(Bucket=name, Key="c", IfMatch=etag)["Body"].read() == b"v1"
    assert fails(client.get_object, Bucket=name, Key="c", IfUnmodifiedSince=past)[2] == 412
    # If-Match true wins over a false If-Unmodified-Since
    assert client.get_object(Bucket=name, Key="c", IfMatch=etag, IfUnmodifiedSince=past)["Body"].read() == b"v1"
    assert fails(client.get_object, Bucket=name, Key="c", IfNoneMatch=etag)[2] == 304
    assert fails(client.get_object, Bucket=name, Key="c", IfModifiedSince=future)[2] == 304
    # If-None-Match that does not match decides alone: 200 even if not modified since
    assert client.get_object(Bucket=name, Key="c", IfNoneMatch='"0000"', IfModifiedSince=future)["Body"].read() \
        == b"v1"
    assert client.get_object(Bucket=name, Key="c", IfModifiedSince=past)["Body"].read() == b"v1"
    assert fails(client.head_object, Bucket=name, Key="c", IfNoneMatch="*")[2] == 304
    assert fails(client.head_object, Bucket=name, Key="c", IfMatch='"0000"')[2] == 412


def test_conditional_writes(bucket):
    client, name = bucket
    client.put_object(Bucket=name, Key="once", Body=b"first", IfNoneMatch="*")
    code, _, status = fails(client.put_object, Bucket=name, Key="once", Body=b"second", IfNoneMatch="*")
    assert (code, status) == ("PreconditionFailed", 412)
    etag = client.head_object(Bucket=name, Key="once")["ETag"]
    assert fails(client.put_object, Bucket=name, Key="once", Body=b"x", IfMatch='"0000"')[2] == 412
    client.put_object(Bucket=name, Key="once", Body=b"third", IfMatch=etag)
    assert client.get_object(Bucket=name, Key="once")["Body"].read() == b"third"
    assert fails(client.put_object, Bucket=name, Key="absent", Body=b"x", IfMatch=etag)[0] == "NoSuchKey"


def test_response_header_overrides(bucket):
    client, name = bucket
    client.put_object(Bucket=name, Key="o", Body=b"x", ContentType="text/plain")
    got = client.get_object(Bucket=name, Key="o", ResponseContentType="application/json",
                            ResponseContentDisposition='attachment; filename="x.json"',
                            ResponseCacheControl="no-cache")
    assert got["ContentType"] == "application/json" and got["CacheControl"] == "no-cache"
    assert got["ContentDisposition"] == 'attachment; filename="x.json"'


# --- delete ----------------------------------------------------------------------------------------------------------


def test_delete_object_is_204_and_idempotent(bucket):
    client, name = bucket
    client.put_object(Bucket=name, Key="d", Body=b"x")
    assert client.delete_object(Bucket=name, Key="d")["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert client.delete_object(Bucket=name, Key="d")["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert fails(client.get_object, Bucket=name, Key="d")[0] == "NoSuchKey"


def test_delete_objects_reports_each_key_and_quiet_reports_only_errors(bucket):
    client, name = bucket
    for key in ("a", "b", "c"):
        client.put_object(Bucket=name, Key=key, Body=b"x")
    out = client.delete_objects(Bucket=name, Delete={"Objects": [{"Key": "a"}, {"Key": "b"}, {"Key": "zz"}]})
    assert sorted(d["Key"] for d in out["Deleted"]) == ["a", "b", "zz"] and "Errors" not in out
    out = client.delete_objects(Bucket=name, Delete={"Objects": [{"Key": "c"}], "Quiet": True})
    assert "Deleted" not in out and "Errors" not in out
    assert "Contents" not in client.list_objects_v2(Bucket=name)
    out = client.delete_objects(Bucket=name, Delete={"Objects": [{"Key": "c", "VersionId": "bad version!"}]})
    assert out["Errors"][0]["Code"] == "InvalidArgument" and out["Errors"][0]["Key"] == "c"


# --- copy --------------------------------------------------------------------------------------------------------------


def test_copy_within_and_across_buckets_with_metadata_directives(cloudkeep_account, bucket):
    client, name = bucket
    other = bucket_name()
    client.create_bucket(Bucket=other)
    client.put_object(Bucket=name, Key="src", Body=b"copy me", Metadata={"a": "1"}, ContentType="text/plain",
                      Tagging="t=1")
    copied = client.copy_object(Bucket=other, Key="dst", CopySource={"Bucket": name, "Key": "src"})
    assert copied["CopyObjectResult"]["ETag"] == f'"{hashlib.md5(b"copy me").hexdigest()}"'
    got = client.get_object(Bucket=other, Key="dst")
    assert got["Body"].read() == b"copy me" and got["Metadata"] == {"a": "1"}
    assert got["ContentType"] == "text/plain" and got["TagCount"] == 1
    client.copy_object(Bucket=name, Key="dst2", CopySource=f"{name}/src", MetadataDirective="REPLACE",
                       Metadata={"b": "2"}, ContentType="application/json", TaggingDirective="REPLACE")
    got = client.head_object(Bucket=name, Key="dst2")
    assert got["Metadata"] == {"b": "2"} and got["ContentType"] == "application/json" and "TagCount" not in got


def test_copy_onto_itself_needs_a_change(bucket):
    client, name = bucket
    client.put_object(Bucket=name, Key="self", Body=b"x", Metadata={"a": "1"})
    code, message, status = fails(client.copy_object, Bucket=name, Key="self", CopySource=f"{name}/self")
    assert (code, status) == ("InvalidRequest", 400) and "copy an object to itself" in message
    client.copy_object(Bucket=name, Key="self", CopySource=f"{name}/self", MetadataDirective="REPLACE",
                       Metadata={"a": "2"})
    assert client.head_object(Bucket=name, Key="self")["Metadata"] == {"a": "2"}


def test_copy_source_conditions_and_missing_source(bucket):
    client, name = bucket
    etag = client.put_object(Bucket=name, Key="s", Body=b"x")["ETag"]
    code, _, status = fails(client.copy_object, Bucket=name, Key="d", CopySource=f"{name}/s",
                            CopySourceIfMatch='"0000"')
    assert (code, status) == ("PreconditionFailed", 412)
    assert fails(client.copy_object, Bucket=name, Key="d", CopySource=f"{name}/s", CopySourceIfNoneMatch=etag)[2] \
        == 412
    client.copy_object(Bucket=name, Key="d", CopySource=f"{name}/s", CopySourceIfMatch=etag)
    assert fails(client.copy_object, Bucket=name, Key="d", CopySource=f"{name}/missing")[0] == "NoSuchKey"
    assert fails(client.copy_object, Bucket=name, Key="d", CopySource=f"{bucket_name()}/s")[0] == "NoSuchBucket"


# --- listings ---------------------------------------------------------------------------------------------------


def _fill(client, name, keys):
    for key in keys:
        client.put_object(Bucket=name, Key=key, Body=key.encode())


def test_list_objects_v2_prefix_delimiter_and_common_prefixes(bucket):
    client, name = bucket
    _fill(client, name, ["a/1", "a/2", "a/b/3", "b/1", "c", "d/x"])
    out = client.list_objects_v2(Bucket=name, Delimiter="/")
    assert [c["Key"] for c in out["Contents"]] == ["c"]
    assert [p["Prefix"] for p in out["CommonPrefixes"]] == ["a/", "b/", "d/"]
    assert out["KeyCount"] == 4 and out["IsTruncated"] is False
    out = client.list_objects_v2(Bucket=name, Prefix="a/", Delimiter="/")
    assert [c["Key"] for c in out["Contents"]] == ["a/1", "a/2"]
    assert [p["Prefix"] for p in out["CommonPrefixes"]] == ["a/b/"]
    out = client.list_objects_v2(Bucket=name, Prefix="a/")
    assert [c["Key"] for c in out["Contents"]] == ["a/1", "a/2", "a/b/3"]


def test_list_objects_v2_pages_with_continuation_tokens_and_start_after(bucket):
    client, name = bucket
    keys = [f"k{i:02d}" for i in range(7)]
    _fill(client, name, keys)
    seen, token = [], None
    while True:
        kwargs = {"ContinuationToken": token} if token else {}
        page = client.list_objects_v2(Bucket=name, MaxKeys=3, **kwargs)
        assert page["KeyCount"] == len(page.get("Contents", []))
        seen += [c["Key"] for c in page.get("Contents", [])]
        if not page["IsTruncated"]:
            break
        token = page["NextContinuationToken"]
    assert seen == keys
    out = client.list_objects_v2(Bucket=name, StartAfter="k04")
    assert [c["Key"] for c in out["Contents"]] == ["k05", "k06"]
    assert [c["Key"] for c in client.get_paginator("list_objects_v2").paginate(Bucket=name, PaginationConfig={
        "PageSize": 2}).search("Contents")] == keys


def test_list_pages_of_common_prefixes_do_not_repeat(bucket):
    client, name = bucket
    _fill(client, name, ["a/1", "a/2", "b/1", "c/1", "c/2", "e"])
    pages = list(client.get_paginator("list_objects").paginate(Bucket=name, Delimiter="/",
                                                               PaginationConfig={"PageSize": 1}))
    prefixes = [p["Prefix"] for page in pages for p in page.get("CommonPrefixes", [])]
    keys = [c["Key"] for page in pages for c in page.get("Contents", [])]
    assert prefixes == ["a/", "b/", "c/"] and keys == ["e"]
    pages = list(client.get_paginator("list_objects_v2").paginate(Bucket=name, Delimiter="/",
                                                                  PaginationConfig={"PageSize": 2}))
    assert [p["Prefix"] for page in pages for p in page.get("CommonPrefixes", [])] == ["a/", "b/", "c/"]


def test_list_objects_v1_marker_and_next_marker(bucket):
    client, name = bucket
    _fill(client, name, ["x1", "x2", "x3", "y/1"])
    out = client.list_objects(Bucket=name, MaxKeys=2)
    assert [c["Key"] for c in out["Contents"]] == ["x1", "x2"] and out["IsTruncated"] is True
    assert "NextMarker" not in out                                  # only with a delimiter
    assert out["Contents"][0]["Owner"]["ID"]
    out = client.list_objects(Bucket=name, Marker="x2")
    assert [c["Key"] for c in out["Contents"]] == ["x3", "y/1"]
    out = client.list_objects(Bucket=name, Delimiter="/", MaxKeys=3)
    assert out["IsTruncated"] is True and out["NextMarker"] == "x3"
    out = client.list_objects(Bucket=name, Delimiter="/", Marker=out["NextMarker"])
    assert [p["Prefix"] for p in out["CommonPrefixes"]] == ["y/"] and "Contents" not in out


def test_encoding_type_url_encodes_keys(cloudkeep_account, bucket):
    client, name = bucket
    client.put_object(Bucket=name, Key="sp ace/ü+%", Body=b"x")
    # botocore asks for encoding-type=url on its own and decodes what it gets back…
    assert [c["Key"] for c in client.list_objects_v2(Bucket=name)["Contents"]] == ["sp ace/ü+%"]
    # …but hands the encoded keys over when the caller asked for them
    out = client.list_objects_v2(Bucket=name, EncodingType="url")
    assert [c["Key"] for c in out["Contents"]] == ["sp%20ace/%C3%BC%2B%25"] and out["EncodingType"] == "url"
    status, _, body = raw(cloudkeep_account, "GET", f"/{name}", query="list-type=2&encoding-type=url")
    assert status == 200 and b"<Key>sp%20ace/%C3%BC%2B%25</Key>" in body


def test_keys_sort_in_utf8_binary_order(bucket):
    client, name = bucket
    keys = ["a", "B", "é", "z", "~", "Z", "ä"]
    _fill(client, name, keys)
    listed = [c["Key"] for c in client.list_objects_v2(Bucket=name)["Contents"]]
    assert listed == sorted(keys, key=lambda k: k.encode("utf-8"))


# --- versioning ---------------------------------------------------------------------------------------------------


def test_versioned_writes_reads_and_delete_markers(bucket):
    client, name = bucket
    client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    v1 = client.put_object(Bucket=name, Key="k", Body=b"one")["VersionId"]
    v2 = client.put_object(Bucket=name, Key="k", Body=b"two")["VersionId"]
    assert v1 != v2 and len(v1) == 32
    assert client.get_object(Bucket=name, Key="k")["Body"].read() == b"two"
    assert client.get_object(Bucket=name, Key="k", VersionId=v1)["Body"].read() == b"one"
    marker = client.delete_object(Bucket=name, Key="k")
    assert marker["DeleteMarker"] is True and marker["VersionId"] not in (v1, v2)
    with pytest.raises(Exception) as exc:
        client.get_object(Bucket=name, Key="k")
    response = exc.value.response
    assert response["Error"]["Code"] == "NoSuchKey"
    assert response["ResponseMetadata"]["HTTPHeaders"]["x-amz-delete-marker"] == "true"
    code, _, status = fails(client.get_object, Bucket=name, Key="k", VersionId=marker["VersionId"])
    assert (code, status) == ("MethodNotAllowed", 405)
    versions = client.list_object_versions(Bucket=name)
    assert [(v["VersionId"], v["IsLatest"]) for v in versions["Versions"]] == [(v2, False), (v1, False)]
    assert [(m["VersionId"], m["IsLatest"]) for m in versions["DeleteMarkers"]] == [(marker["VersionId"], True)]
    client.delete_object(Bucket=name, Key="k", VersionId=marker["VersionId"])      # undelete
    assert client.get_object(Bucket=name, Key="k")["Body"].read() == b"two"
    assert fails(client.get_object, Bucket=name, Key="k", VersionId="A" * 32)[0] == "NoSuchVersion"
    assert fails(client.get_object, Bucket=name, Key="k", VersionId="bad id!")[0] == "InvalidArgument"


def test_suspended_versioning_writes_the_null_version(bucket):
    client, name = bucket
    client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    kept = client.put_object(Bucket=name, Key="k", Body=b"kept")["VersionId"]
    client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Suspended"})
    client.put_object(Bucket=name, Key="k", Body=b"null 1")
    client.put_object(Bucket=name, Key="k", Body=b"null 2")             # replaces the null version
    ids = [v["VersionId"] for v in client.list_object_versions(Bucket=name)["Versions"]]
    assert ids == ["null", kept]
    assert client.get_object(Bucket=name, Key="k", VersionId="null")["Body"].read() == b"null 2"
    assert client.head_object(Bucket=name, Key="k")["VersionId"] == "null"
    out = client.delete_object(Bucket=name, Key="k")
    assert out["DeleteMarker"] is True and out["VersionId"] == "null"
    versions = client.list_object_versions(Bucket=name)
    assert [v["VersionId"] for v in versions["Versions"]] == [kept]
    assert [m["VersionId"] for m in versions["DeleteMarkers"]] == ["null"]


def test_list_object_versions_pages_by_key_and_version_markers(bucket):
    client, name = bucket
    client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    expected = []
    for key in ("a", "b"):
        ids = [client.put_object(Bucket=name, Key=key, Body=str(i).encode())["VersionId"] for i in range(3)]
        expected += [(key, i) for i in reversed(ids)]
    seen = []
    for page in client.get_paginator("list_object_versions").paginate(Bucket=name, PaginationConfig={"PageSize": 2}):
        seen += [(v["Key"], v["VersionId"]) for v in page.get("Versions", [])]
    assert seen == expected


# --- tagging -----------------------------------------------------------------------------------------------------


def test_object_tagging_from_put_header_and_the_tagging_api(bucket):
    client, name = bucket
    client.put_object(Bucket=name, Key="t", Body=b"x", Tagging="team=blue&env=")
    assert client.get_object_tagging(Bucket=name, Key="t")["TagSet"] == [{"Key": "team", "Value": "blue"},
                                                                         {"Key": "env", "Value": ""}]
    assert client.head_object(Bucket=name, Key="t")["TagCount"] == 2
    client.put_object_tagging(Bucket=name, Key="t", Tagging={"TagSet": [{"Key": "a", "Value": "1"}]})
    assert client.get_object_tagging(Bucket=name, Key="t")["TagSet"] == [{"Key": "a", "Value": "1"}]
    assert client.delete_object_tagging(Bucket=name, Key="t")["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert client.get_object_tagging(Bucket=name, Key="t")["TagSet"] == []
    code, message, status = fails(client.put_object_tagging, Bucket=name, Key="t", Tagging={"TagSet": [
        {"Key": f"k{i}", "Value": "v"} for i in range(11)]})
    assert (code, message, status) == ("BadRequest", "Object tags cannot be greater than 10", 400)
    assert fails(client.get_object_tagging, Bucket=name, Key="missing")[0] == "NoSuchKey"


# --- presigned URLs ------------------------------------------------------------------------------------------


def test_presigned_put_and_get_urls(cloudkeep_account, bucket):
    client, name = bucket
    signer = s3(cloudkeep_account, signature_version="s3v4")
    put_url = signer.generate_presigned_url("put_object", Params={"Bucket": name, "Key": "p"}, ExpiresIn=300)
    request = urllib.request.Request(put_url, data=b"via url", method="PUT")
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200 and response.headers["x-amz-server-side-encryption"] == "AES256"
    get_url = signer.generate_presigned_url("get_object", Params={"Bucket": name, "Key": "p"}, ExpiresIn=300)
    with urllib.request.urlopen(get_url, timeout=30) as response:
        assert response.read() == b"via url"


# --- at rest -------------------------------------------------------------------------------------------------------


def test_object_bytes_on_disk_never_contain_the_plaintext(cloudkeep_server, bucket):
    client, name = bucket
    marker = b"PLAINTEXT-MARKER-" + os.urandom(8).hex().encode()
    body = marker * 5000
    client.put_object(Bucket=name, Key="secret", Body=body)
    assert client.get_object(Bucket=name, Key="secret")["Body"].read() == body
    found = []
    for path in cloudkeep_server.data_dir.rglob("*"):
        if path.is_file() and marker in path.read_bytes():
            found.append(path)
    assert found == []
    assert any(p.is_file() for p in (cloudkeep_server.data_dir / "blobs").rglob("*"))


def test_streamed_body_serializes_as_a_stream_with_its_length():
    from cloudkeep.wire.model import load_service
    from cloudkeep.wire.restxml import serialize_response

    operation = load_service("s3").operation_model("GetObject")
    pieces = iter([b"ab", b"cd"])
    response = serialize_response(operation, {"Body": BodyStream(pieces, 4), "ContentLength": 4}, "r")
    assert response.body == b"" and response.stream is not None and response.stream.length == 4
    assert b"".join(response.stream) == b"abcd"
    head = serialize_response(operation, {"Body": BodyStream(iter([b"x"]), 1)}, "r", method="HEAD")
    assert head.stream is None and head.body == b""


def test_unknown_storage_class_and_checksum_algorithm_get_s3s_errors(cloudkeep_account, bucket):
    client, name = bucket
    code, message, status = fails(client.put_object, Bucket=name, Key="k", Body=b"x", StorageClass="FANCY")
    assert (code, message, status) == ("InvalidStorageClass", "The storage class you specified is not valid", 400)
    client.put_object(Bucket=name, Key="k", Body=b"x", StorageClass="STANDARD_IA")
    assert client.head_object(Bucket=name, Key="k")["StorageClass"] == "STANDARD_IA"
    status, _, body = raw(cloudkeep_account, "PUT", f"/{name}/k2", body=b"x",
                          headers={"x-amz-sdk-checksum-algorithm": "MD4"})
    assert status == 400 and b"<Code>InvalidRequest</Code>" in body


def test_an_empty_version_id_is_invalid(cloudkeep_account, bucket):
    client, name = bucket
    client.put_object(Bucket=name, Key="k", Body=b"x")
    for method in ("GET", "DELETE"):
        status, _, body = raw(cloudkeep_account, method, f"/{name}/k", query="versionId=")
        assert status == 400 and b"<Code>InvalidArgument</Code>" in body, method
        assert b"Version id cannot be the empty string" in body
    assert client.get_object(Bucket=name, Key="k")["Body"].read() == b"x"


def test_ranges_of_an_empty_object(bucket):
    client, name = bucket
    client.put_object(Bucket=name, Key="empty", Body=b"")
    with pytest.raises(Exception) as exc:
        client.get_object(Bucket=name, Key="empty", Range="bytes=0-0")
    response = exc.value.response
    assert response["Error"]["Code"] == "InvalidRange" and response["ResponseMetadata"]["HTTPStatusCode"] == 416
    assert response["ResponseMetadata"]["HTTPHeaders"]["content-range"] == "bytes */0"
    got = client.get_object(Bucket=name, Key="empty", Range="bytes=-10")
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 200 and got["Body"].read() == b""


def test_conditional_delete_and_expected_source_bucket_owner(cloudkeep_account, bucket):
    client, name = bucket
    etag = client.put_object(Bucket=name, Key="k", Body=b"x")["ETag"]
    code, _, status = fails(client.delete_object, Bucket=name, Key="k", IfMatch='"0000"')
    assert (code, status) == ("PreconditionFailed", 412)
    client.delete_object(Bucket=name, Key="k", IfMatch=etag)
    assert fails(client.head_object, Bucket=name, Key="k")[2] == 404
    client.put_object(Bucket=name, Key="src", Body=b"y")
    code, message, status = fails(client.copy_object, Bucket=name, Key="dst", CopySource=f"{name}/src",
                                  ExpectedSourceBucketOwner="111122223333")
    assert (code, message, status) == ("AccessDenied", "Access Denied", 403)
    client.copy_object(Bucket=name, Key="dst", CopySource=f"{name}/src",
                       ExpectedSourceBucketOwner=cloudkeep_account.account_id)
