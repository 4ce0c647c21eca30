"""Spooled request bodies (wire/spool.py): read back whole and in pieces as often as asked,
measured while received (MD5, and SHA-256 when declared), encrypted in their temporary file,
and refused when that file is changed or cut short."""

from __future__ import annotations

import hashlib
import io
import os

import pytest

from cloudkeep.wire.spool import BLOCK, TAG, BodySpool, SpoolError


def _spool(data: bytes, *, sha256: bool = False, piece: int = 65536) -> BodySpool:
    spool = BodySpool(sha256=sha256)
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
    assert len(raw) == len(marker) * 200 + TAG * -(-len(marker) * 200 // BLOCK)


def test_a_changed_or_cut_file_is_refused():
    data = os.urandom(2 * BLOCK + 5)
    spool = _spool(data)
    spool._file.seek(BLOCK + TAG + 10)
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

    from cloudkeep.wire import spool as module

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
