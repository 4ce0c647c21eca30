"""Spooled request bodies (storage/spool.py): read back whole and in pieces as often as asked,
measured while received (MD5, the checksums asked for, and SHA-256 when declared), encrypted in
their temporary file in the blob store's format, refused when that file is changed or cut short,
and adopted as a blob of the store without a second pass over the body."""

from __future__ import annotations

import hashlib
import io
import os

import pytest

from cloudkeep.auth import checksums
from cloudkeep.storage.blobs import HEADER_SIZE, BlobCorrupted, BlobStore, new_data_key
from cloudkeep.storage.spool import BLOCK, TAG, BodySpool, SpoolError


def _spool(data: bytes, *, sha256: bool = False, piece: int = 65536, **options) -> BodySpool:
    spool = BodySpool(sha256=sha256, **options)
    for start in range(0, len(data), piece):
        spool.write(data[start:start + piece])
    spool.finish()
    return spool


@pytest.mark.parametrize("size", [0, 1, BLOCK - 1, BLOCK, BLOCK + 1, 3 * BLOCK + 17])
def test_round_trip_and_digests(size):
    data = os.urandom(size)
    spool = _spool(data, sha256=True, piece=77777)
    assert spool.size == size
    assert spool.md5_digest == hashlib.md5(data).digest()
    assert spool.sha256_hex == hashlib.sha256(data).hexdigest()
    assert spool.read() == data
    assert spool.read() == b""
    spool.seek(0)
    pieces = []
    while piece := spool.read(100_000):
        pieces.append(piece)
    assert b"".join(pieces) == data and spool.tell() == size
    spool.close()


def test_sha256_only_when_asked():
    spool = _spool(b"abc")
    assert spool.sha256_hex is None and spool.md5_digest == hashlib.md5(b"abc").digest()


def test_plaintext_is_not_in_the_temporary_file():
    marker = b"PLAINTEXT-MARKER-" * 1000
    spool = _spool(marker * 200)
    spool._file.seek(0)
    raw = spool._file.read()
    assert marker[:32] not in raw
    assert len(raw) == HEADER_SIZE + len(marker) * 200 + TAG * -(-len(marker) * 200 // BLOCK)


def test_a_changed_or_cut_file_is_refused():
    data = os.urandom(2 * BLOCK + 5)
    spool = _spool(data)
    spool._file.seek(HEADER_SIZE + BLOCK + TAG + 10)
    spool._file.write(b"\x00")
    spool.seek(0)
    assert len(spool.read(BLOCK)) == BLOCK                 # block 0 is intact
    with pytest.raises(SpoolError):
        spool.read(BLOCK)
    spool._file.truncate(BLOCK)
    spool.seek(0)
    with pytest.raises(SpoolError):
        spool.read()


def test_only_rewinding_is_allowed_and_reads_wait_for_the_end():
    spool = BodySpool()
    spool.write(b"abc")
    with pytest.raises(ValueError):
        spool.read()
    spool.finish()
    with pytest.raises(io.UnsupportedOperation):
        spool.seek(1)
    with pytest.raises(ValueError):
        spool.write(b"more")
    assert spool.read() == b"abc"


def test_blocks_waiting_for_the_hash_are_bounded(monkeypatch):
    """A receive faster than the hash waits for it: at most IN_FLIGHT blocks are queued, so the
    memory a large upload holds stays bounded."""
    import threading
    import time

    from cloudkeep.storage import spool as module

    gate = threading.Event()
    original = module.BodySpool._hash

    def slow(self, block):
        gate.wait(5)
        original(self, block)

    monkeypatch.setattr(module.BodySpool, "_hash", slow)
    spool = BodySpool()
    seen = []
    done = threading.Event()

    def writer():
        for _ in range(3 * module.IN_FLIGHT):
            spool.write(b"x" * BLOCK)
            seen.append(len(spool._hashing))
        done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    time.sleep(0.3)
    assert not done.is_set() and max(seen) <= module.IN_FLIGHT      # the writer waits for the hash
    gate.set()
    thread.join(10)
    spool.finish()
    assert spool.md5_digest == hashlib.md5(b"x" * BLOCK * 3 * module.IN_FLIGHT).digest()


# --- adoption as a blob ---------------------------------------------------------------------------


class _Journal:
    def __init__(self):
        self.begun, self.forgotten = [], []

    def begin(self, blob_id):
        self.begun.append(blob_id)

    def forget(self, blob_ids):
        self.forgotten.extend(blob_ids)


@pytest.mark.parametrize("size", [0, 1, BLOCK - 1, BLOCK, 2 * BLOCK, 3 * BLOCK + 17])
def test_an_adopted_spool_is_a_blob_of_the_store(tmp_path, size):
    """Sizes on a block boundary exercise the last chunk sealed again as the last one."""
    journal = _Journal()
    store = BlobStore(tmp_path / "blobs", journal=journal)
    data = os.urandom(size)
    spool = _spool(data, piece=99_999, directory=store.spool_directory(), checksums=["CRC64NVME", "SHA1"])
    assert os.listdir(store.spool_directory()) == []          # an unnamed file while it is a spool
    assert spool.can_adopt(["CRC64NVME"]) and spool.can_adopt(["SHA1", "CRC64NVME"], limit=size)
    key = spool.data_key
    info = spool.adopt(store, ["CRC64NVME"])
    assert (info.blob_id, info.size, info.md5) == (spool.blob_id, size, hashlib.md5(data).digest())
    crc = checksums.new("CRC64NVME")
    crc.update(data)
    assert info.checksums == {"CRC64NVME": crc.digest()} and info.data is None
    assert journal.begun == [info.blob_id] and journal.forgotten == []
    assert store.exists(info.blob_id) and os.listdir(store.spool_directory()) == []
    reader = store.open(info.blob_id, key, size)
    reader.verify()                                             # every chunk, the last flagged last
    assert b"".join(store.read(info.blob_id, key, size)) == data
    assert b"".join(store.read(info.blob_id, key, size, start=size // 3, end=size)) == data[size // 3:]
    with pytest.raises(BlobCorrupted):
        store.open(info.blob_id, new_data_key(), size).verify()
    with pytest.raises(ValueError):
        spool.seek(0)                                           # the spool is the blob now


def test_a_spool_is_adopted_only_when_it_can_be(tmp_path):
    store = BlobStore(tmp_path / "blobs")
    spool = BodySpool(directory=store.spool_directory(), checksums=["CRC64NVME"])
    spool.write(b"x" * 10)
    assert not spool.can_adopt(["CRC64NVME"])                  # not finished
    spool.finish()
    assert not spool.can_adopt(["SHA256"])                     # a checksum it did not measure
    assert not spool.can_adopt(["CRC64NVME"], limit=9)          # larger than the limit
    with pytest.raises(ValueError):
        spool.adopt(store, ["SHA256"])
    assert spool.read() == b"x" * 10                            # still a readable spool
    elsewhere = _spool(b"y" * 10, checksums=["CRC64NVME"])      # no directory: a plain temporary file
    assert not elsewhere.can_adopt(["CRC64NVME"])
    assert spool.can_adopt(["CRC64NVME"])
    spool.close()
    assert not spool.can_adopt(["CRC64NVME"])


def test_a_failed_adoption_leaves_no_file_and_no_journal_entry(tmp_path, monkeypatch):
    journal = _Journal()
    store = BlobStore(tmp_path / "blobs", journal=journal)
    spool = _spool(os.urandom(BLOCK + 3), directory=store.spool_directory(), checksums=["CRC64NVME"])

    def refuse(*args, **kwargs):
        raise OSError("link refused")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError):
        spool.adopt(store, ["CRC64NVME"])
    assert journal.begun == journal.forgotten == [spool.blob_id]
    assert not store.exists(spool.blob_id) and os.listdir(store.spool_directory()) == []
