"""Small S3 bodies are kept encrypted in their version's row rather than as files of the blob
store (services/s3/domain.INLINE_MAX): nothing a client can see changes — bodies, ranges,
copies, overwrites in both directions, versions and deletes behave the same — and the files on
disk are exactly those of the larger bodies. On SQLite and on PostgreSQL (each a server of its
own: the write path's UPDATE/DELETE … RETURNING statements run on both)."""

from __future__ import annotations

import os
from typing import Iterator

import pytest

from cloudkeep.services.s3.domain import INLINE_MAX
from cloudkeep.testing.server import CloudkeepServer
from s3_support import bucket_name, s3
from storage_backends import _PostgresDatabase


@pytest.fixture(scope="module", params=[pytest.param("sqlite", id="sqlite"),
                                        pytest.param("postgresql", id="postgresql",
                                                     marks=pytest.mark.postgres)])
def cloudkeep_server(request: pytest.FixtureRequest) -> Iterator[CloudkeepServer]:
    store_url = None
    if request.param == "postgresql":
        store_url = _PostgresDatabase().ensure(request.config)   # a database of its own
    with CloudkeepServer(store_url=store_url) as ck:
        yield ck


@pytest.fixture
def bucket(cloudkeep_server):
    client = s3(cloudkeep_server.create_account())
    name = bucket_name()
    client.create_bucket(Bucket=name)
    return client, name


def _files(server):
    return {p.name for p in (server.data_dir / "blobs").rglob("*") if p.is_file()}


def test_small_bodies_make_no_file_and_large_ones_do(cloudkeep_server, bucket):
    client, name = bucket
    small, edge, large = os.urandom(1024), os.urandom(INLINE_MAX), os.urandom(INLINE_MAX + 1)
    before = _files(cloudkeep_server)
    client.put_object(Bucket=name, Key="small", Body=small)
    client.put_object(Bucket=name, Key="edge", Body=edge)
    client.put_object(Bucket=name, Key="empty", Body=b"")
    assert _files(cloudkeep_server) == before
    client.put_object(Bucket=name, Key="large", Body=large)
    assert len(_files(cloudkeep_server) - before) == 1
    for key, body in (("small", small), ("edge", edge), ("large", large), ("empty", b"")):
        assert client.get_object(Bucket=name, Key=key)["Body"].read() == body
    assert client.get_object(Bucket=name, Key="small", Range="bytes=10-19")["Body"].read() == small[10:20]
    assert client.get_object(Bucket=name, Key="edge", Range="bytes=-5")["Body"].read() == edge[-5:]


def test_overwrites_between_inline_and_file_bodies_free_the_file(cloudkeep_server, bucket):
    client, name = bucket
    before = _files(cloudkeep_server)
    large, small = os.urandom(INLINE_MAX + 100), os.urandom(10)
    client.put_object(Bucket=name, Key="k", Body=large)
    assert len(_files(cloudkeep_server) - before) == 1
    client.put_object(Bucket=name, Key="k", Body=small)          # the file is deleted after commit
    assert _files(cloudkeep_server) == before
    assert client.get_object(Bucket=name, Key="k")["Body"].read() == small
    client.put_object(Bucket=name, Key="k", Body=large)
    assert client.get_object(Bucket=name, Key="k")["Body"].read() == large
    client.delete_object(Bucket=name, Key="k")
    assert _files(cloudkeep_server) == before


def test_copies_versions_and_part_copies_of_inline_bodies(cloudkeep_server, bucket):
    client, name = bucket
    client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    first, second = b"first version", b"second version, longer"
    v1 = client.put_object(Bucket=name, Key="k", Body=first)["VersionId"]
    v2 = client.put_object(Bucket=name, Key="k", Body=second)["VersionId"]
    assert client.get_object(Bucket=name, Key="k", VersionId=v1)["Body"].read() == first
    assert client.get_object(Bucket=name, Key="k", VersionId=v2)["Body"].read() == second
    client.copy_object(Bucket=name, Key="copy", CopySource={"Bucket": name, "Key": "k", "VersionId": v1})
    assert client.get_object(Bucket=name, Key="copy")["Body"].read() == first
    listed = client.list_object_versions(Bucket=name)["Versions"]
    assert {(v["Key"], v["Size"]) for v in listed} == {("k", len(first)), ("k", len(second)), ("copy", len(first))}
    # a multipart upload whose part is copied from an inline body
    upload = client.create_multipart_upload(Bucket=name, Key="mp")["UploadId"]
    part = client.upload_part_copy(Bucket=name, Key="mp", UploadId=upload, PartNumber=1,
                                   CopySource={"Bucket": name, "Key": "k"}, CopySourceRange="bytes=0-5")
    client.complete_multipart_upload(Bucket=name, Key="mp", UploadId=upload, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": part["CopyPartResult"]["ETag"]}]})
    assert client.get_object(Bucket=name, Key="mp")["Body"].read() == second[:6]
    client.delete_object(Bucket=name, Key="k", VersionId=v1)
    assert client.get_object(Bucket=name, Key="copy")["Body"].read() == first


def test_a_refused_write_leaves_no_file_behind(cloudkeep_server, bucket):
    client, name = bucket
    large = os.urandom(INLINE_MAX + 1)
    client.put_object(Bucket=name, Key="k", Body=large)
    before = _files(cloudkeep_server)
    with pytest.raises(Exception) as refused:                # the body was stored, then the write refused
        client.put_object(Bucket=name, Key="k", Body=os.urandom(INLINE_MAX + 1), IfNoneMatch="*")
    assert refused.value.response["Error"]["Code"] == "PreconditionFailed"
    assert _files(cloudkeep_server) == before
    assert client.get_object(Bucket=name, Key="k")["Body"].read() == large


def test_bodies_either_side_of_the_whole_body_limit_read_back_exactly(bucket):
    """GetObject sends a body up to ops_objects.WHOLE_BODY_MAX whole with its headers and
    streams a larger one: both read back byte for byte, whole and by range."""
    from cloudkeep.services.s3.ops_objects import WHOLE_BODY_MAX
    client, name = bucket
    for size in (WHOLE_BODY_MAX, WHOLE_BODY_MAX + 1):
        body = os.urandom(size)
        client.put_object(Bucket=name, Key=f"k{size}", Body=body)
        got = client.get_object(Bucket=name, Key=f"k{size}")
        assert got["ContentLength"] == size and got["Body"].read() == body
        part = client.get_object(Bucket=name, Key=f"k{size}", Range=f"bytes=1000-{size - 1}")
        assert part["ContentLength"] == size - 1000 and part["Body"].read() == body[1000:]
