"""End to end, SQLite and PostgreSQL: no orphan blob file survives a server killed between writing
a body's file and committing its row.

A real server takes large S3 writes (PutObject, UploadPart, CopyObject, a PutObject refused with
BadDigest): each committed one leaves its file and no journal entry, the refused one neither. The
crash window is then made by hand through the store API, as a killed write leaves it: a journal
entry begun two hours ago with its finished file, another whose file was still temporary, and one
begun just now (a write another node may still be doing). The server is killed with SIGKILL and
started again on the same data: the two old files and their entries are gone, the recent one is
kept, and every committed object reads back.

Then the real window: the test hook (``server.HOLD_BLOB_WRITES_KEY``) holds a PutObject after its
body's file is in place and before its row commits, the server is killed there with SIGKILL, and
the next start (its clock an hour on) sweeps that file and its entry; the object never existed.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import signal
import threading
from pathlib import Path
from typing import Iterator

import pytest

from cloudkeep.server import CLOCK_OFFSET_KEY, HOLD_BLOB_WRITES_KEY
from cloudkeep.storage import settings
from cloudkeep.storage.blob_journal import BlobJournal
from cloudkeep.storage.blobs import BlobStore, new_data_key
from cloudkeep.storage.clock import wall_now
from cloudkeep.storage.engine import Store, sqlite_url
from cloudkeep.testing.server import CloudkeepServer, client_for
from s3_support import bucket_name, fails, s3
from storage_backends import _PostgresDatabase

BIG = 200_000          # well over the inline size (services/s3/domain.INLINE_MAX): a file


@pytest.fixture(params=[pytest.param(("sqlite", 1), id="sqlite"),
                        pytest.param(("postgresql", 1), id="postgresql", marks=pytest.mark.postgres),
                        # every worker sweeps at its start: two at once take each entry once
                        pytest.param(("postgresql", 2), id="postgresql-2-workers", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Path, str | None, int]]:
    kind, workers = request.param
    store_url = None
    if kind == "postgresql":
        store_url = _PostgresDatabase().ensure(request.config)
    yield tmp_path / "data", store_url, workers


def _files(blobs_dir: Path) -> set[str]:
    return {p.name for p in blobs_dir.glob("??/*")}


def test_files_of_writes_killed_before_their_commit_are_swept_at_restart(backend):
    data_dir, store_url, workers = backend
    blobs_dir = data_dir / "blobs"
    first = CloudkeepServer(data_dir=data_dir, store_url=store_url).start()
    try:
        account = first.create_account()
        client = s3(account)
        name = bucket_name()
        client.create_bucket(Bucket=name)
        body, part = os.urandom(BIG), os.urandom(BIG)
        client.put_object(Bucket=name, Key="big", Body=body)
        upload = client.create_multipart_upload(Bucket=name, Key="mp")["UploadId"]
        etag = client.upload_part(Bucket=name, Key="mp", UploadId=upload, PartNumber=1, Body=part)["ETag"]
        client.copy_object(Bucket=name, Key="copy", CopySource={"Bucket": name, "Key": "big"})
        wrong_md5 = base64.b64encode(hashlib.md5(b"something else").digest()).decode()
        code, _, status = fails(client.put_object, Bucket=name, Key="refused", Body=os.urandom(BIG),
                                ContentMD5=wrong_md5)
        assert (code, status) == ("BadDigest", 400)

        store = Store.open(store_url or sqlite_url(data_dir), migrate=False)
        try:
            now = BlobJournal(store, wall_now)
            assert now.pending() == []                   # settled by their commits, or forgotten
            committed = _files(blobs_dir)
            assert len(committed) == 3                   # big, part 1, copy: not the refused body
            # the window, as a write killed in it leaves it
            then = BlobJournal(store, lambda: wall_now() - dt.timedelta(hours=2))
            orphan = BlobStore(blobs_dir, sync=False, journal=then).write(os.urandom(BIG), new_data_key())
            half = "ef" * 16
            then.begin(half)
            (blobs_dir / "tmp").mkdir(exist_ok=True)
            leftover = blobs_dir / "tmp" / f"{half}.01020304"
            leftover.write_bytes(b"ciphertext of a body never finished")
            recent = BlobStore(blobs_dir, sync=False, journal=now).write(os.urandom(BIG), new_data_key())
            assert _files(blobs_dir) == committed | {orphan.blob_id, recent.blob_id}
        finally:
            store.close()
        assert first.stop(signal.SIGKILL) == -signal.SIGKILL
    finally:
        first.stop(signal.SIGKILL)

    second = CloudkeepServer(data_dir=data_dir, store_url=store_url, workers=workers).start()
    try:
        assert _files(blobs_dir) == committed | {recent.blob_id}     # swept before serving
        assert not leftover.exists()
        store = Store.open(store_url or sqlite_url(data_dir), migrate=False)
        try:
            assert [blob_id for blob_id, _ in BlobJournal(store, wall_now).pending()] == [recent.blob_id]
        finally:
            store.close()
        client = client_for(second.endpoint, "s3", account.access_key_id, account.secret_access_key)
        client.complete_multipart_upload(Bucket=name, Key="mp", UploadId=upload,
                                         MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
        assert client.get_object(Bucket=name, Key="big")["Body"].read() == body
        assert client.get_object(Bucket=name, Key="copy")["Body"].read() == body
        assert client.get_object(Bucket=name, Key="mp")["Body"].read() == part
    finally:
        second.stop()


def test_a_server_killed_between_a_body_file_and_its_commit_leaves_no_orphan(backend):
    # the real window: the test hook holds a PutObject just after its body's file is in place,
    # before its row commits; the server is killed there with SIGKILL
    data_dir, store_url, workers = backend
    blobs_dir = data_dir / "blobs"
    url = store_url or sqlite_url(data_dir)
    first = CloudkeepServer(data_dir=data_dir, store_url=store_url).start()
    try:
        account = first.create_account()
        client = s3(account)
        name = bucket_name()
        client.create_bucket(Bucket=name)
        client.put_object(Bucket=name, Key="kept", Body=b"k" * BIG)
        store = Store.open(url, migrate=False)
        try:
            with store.unit_of_work(write=True) as uow:
                settings.put(uow, HOLD_BLOB_WRITES_KEY, "1")
            before = _files(blobs_dir)
            failed: list[BaseException] = []

            def put() -> None:
                try:
                    client.put_object(Bucket=name, Key="held", Body=os.urandom(BIG))
                except BaseException as error:  # noqa: BLE001 - the server dies under it
                    failed.append(error)
            writer = threading.Thread(target=put, daemon=True)
            writer.start()
            journal = BlobJournal(store, wall_now)
            held = _wait_for(lambda: [b for b, _ in journal.pending() if (blobs_dir / b[:2] / b).exists()])
            assert len(held) == 1 and _files(blobs_dir) == before | {held[0]}
            assert first.stop(signal.SIGKILL) == -signal.SIGKILL
            writer.join(timeout=60)
            assert failed, "the held PutObject was answered"
            # the next start: hook off, and its clock an hour and a minute on (the entry is old)
            with store.unit_of_work(write=True) as uow:
                settings.put(uow, HOLD_BLOB_WRITES_KEY, "0")
                settings.put(uow, CLOCK_OFFSET_KEY, repr(3660.0))
        finally:
            store.close()
    finally:
        first.stop(signal.SIGKILL)

    second = CloudkeepServer(data_dir=data_dir, store_url=store_url, workers=workers).start()
    try:
        assert _files(blobs_dir) == before                  # the held body's file is gone
        assert not any((blobs_dir / "tmp").glob("*")) if (blobs_dir / "tmp").exists() else True
        store = Store.open(url, migrate=False)
        try:
            assert BlobJournal(store, wall_now).pending() == []
        finally:
            store.close()
        again = client_for(second.endpoint, "s3", account.access_key_id, account.secret_access_key)
        assert [o["Key"] for o in again.list_objects_v2(Bucket=name)["Contents"]] == ["kept"]
        assert again.get_object(Bucket=name, Key="kept")["Body"].read() == b"k" * BIG
    finally:
        second.stop()


def _wait_for(probe):
    """The probe's first non-empty answer (a bounded wait for the server to reach a state)."""
    for _ in range(1200):
        found = probe()
        if found:
            return found
        threading.Event().wait(0.05)
    raise AssertionError("the server never reached the state waited for")
