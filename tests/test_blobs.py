"""The encrypted blob store (storage/blobs.py): round trips of every size around chunk
boundaries, byte ranges, the measured digests, and tampering, truncation, reordering, appending
and a wrong key or blob id all refused."""

from __future__ import annotations

import hashlib
import io
import os
import zlib

import pytest

from cloudkeep.auth import checksums
from cloudkeep.storage.blobs import (HEADER_SIZE, TAG_SIZE, BlobCorrupted, BlobError, BlobStore, BlobTooLarge,
                                     ChunkCipher, new_data_key)

CHUNK = 64


@pytest.fixture
def store(tmp_path):
    return BlobStore(tmp_path / "blobs", chunk_size=CHUNK)


def _read_all(store, info, key, start=0, end=None):
    return b"".join(store.read(info.blob_id, key, info.size, start, end))


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK - 1, 2 * CHUNK, 2 * CHUNK + 1,
                                  5 * CHUNK + 7])
def test_round_trip_sizes_around_chunk_boundaries(store, size):
    key = new_data_key()
    data = os.urandom(size)
    info = store.write(data, key)
    assert info.size == size and info.md5 == hashlib.md5(data).digest()
    assert _read_all(store, info, key) == data
    chunks = max(1, -(-size // CHUNK))
    assert store.path(info.blob_id).stat().st_size == HEADER_SIZE + size + TAG_SIZE * chunks


@pytest.mark.parametrize("source_kind", ["bytes", "file", "iterator", "odd-reader"])
def test_every_kind_of_source_gives_the_same_blob_content(store, source_kind):
    key = new_data_key()
    data = os.urandom(3 * CHUNK + 5)

    class OddReader:               # returns fewer bytes than asked, like a socket or aws-chunked reader
        def __init__(self):
            self.pos = 0

        def read(self, n=-1):
            piece = data[self.pos:self.pos + min(n, 7)]
            self.pos += len(piece)
            return piece

    source = {"bytes": data, "file": io.BytesIO(data),
              "iterator": iter([data[:10], b"", data[10:100], data[100:]]), "odd-reader": OddReader()}[source_kind]
    info = store.write(source, key)
    assert _read_all(store, info, key) == data


def test_ranges_return_exactly_the_bytes_asked_for(store):
    key = new_data_key()
    data = os.urandom(4 * CHUNK + 3)
    info = store.write(data, key)
    for start, end in [(0, 1), (0, CHUNK), (CHUNK - 1, CHUNK + 1), (CHUNK, 2 * CHUNK), (5, 4 * CHUNK + 3),
                       (4 * CHUNK, 4 * CHUNK + 3), (len(data) - 1, len(data)), (17, 17)]:
        assert _read_all(store, info, key, start, end) == data[start:end], (start, end)
    with pytest.raises(BlobError):
        _read_all(store, info, key, 0, len(data) + 1)


def test_requested_checksums_are_those_of_the_plaintext(store):
    data = os.urandom(3 * CHUNK + 1)
    info = store.write(data, new_data_key(), checksums=("CRC32", "SHA256", "CRC32C", "CRC64NVME", "SHA1"))
    assert info.checksums["CRC32"] == zlib.crc32(data).to_bytes(4, "big")
    assert info.checksums["SHA256"] == hashlib.sha256(data).digest()
    assert info.checksums["SHA1"] == hashlib.sha1(data).digest()
    for name in ("CRC32C", "CRC64NVME"):
        assert checksums.b64(info.checksums[name]) == checksums.compute(name, data)


def test_plaintext_is_not_on_disk(store):
    data = b"the secret plaintext " * 50
    info = store.write(data, new_data_key())
    raw = store.path(info.blob_id).read_bytes()
    assert b"secret plaintext" not in raw
    assert list((store.root / "tmp").iterdir()) == []


def _blob(store, size=3 * CHUNK + 10):
    key = new_data_key()
    data = os.urandom(size)
    return key, data, store.write(data, key)


def test_a_flipped_bit_is_refused(store):
    key, data, info = _blob(store)
    path = store.path(info.blob_id)
    raw = bytearray(path.read_bytes())
    raw[HEADER_SIZE + CHUNK + TAG_SIZE + 3] ^= 1          # inside chunk 1
    path.write_bytes(bytes(raw))
    with pytest.raises(BlobCorrupted):
        _read_all(store, info, key)
    assert _read_all(store, info, key, 0, CHUNK) == data[:CHUNK]   # chunk 0 still authenticates alone


def test_reordered_chunks_are_refused(store):
    key, _, info = _blob(store)
    path = store.path(info.blob_id)
    raw = path.read_bytes()
    size = CHUNK + TAG_SIZE
    c0, c1 = raw[HEADER_SIZE:HEADER_SIZE + size], raw[HEADER_SIZE + size:HEADER_SIZE + 2 * size]
    path.write_bytes(raw[:HEADER_SIZE] + c1 + c0 + raw[HEADER_SIZE + 2 * size:])
    with pytest.raises(BlobCorrupted):
        _read_all(store, info, key)


def test_truncation_at_a_chunk_boundary_is_refused_even_with_the_shorter_size(store):
    key, data, info = _blob(store, size=3 * CHUNK)
    path = store.path(info.blob_id)
    raw = path.read_bytes()
    path.write_bytes(raw[:HEADER_SIZE + 2 * (CHUNK + TAG_SIZE)])
    with pytest.raises(BlobCorrupted):                      # the stored size says 3 chunks
        _read_all(store, info, key)
    with pytest.raises(BlobCorrupted):                      # claimed 2 chunks: chunk 1 is not flagged last
        b"".join(store.read(info.blob_id, key, 2 * CHUNK))


def test_an_appended_chunk_is_refused(store):
    key, data, info = _blob(store, size=2 * CHUNK)
    path = store.path(info.blob_id)
    raw = path.read_bytes()
    path.write_bytes(raw + raw[HEADER_SIZE:HEADER_SIZE + CHUNK + TAG_SIZE])
    with pytest.raises(BlobCorrupted):
        b"".join(store.read(info.blob_id, key, 3 * CHUNK))


def test_a_chunk_from_another_blob_or_a_wrong_key_is_refused(store):
    key = new_data_key()
    a = store.write(b"a" * (2 * CHUNK), key)
    b = store.write(b"b" * (2 * CHUNK), key)
    pa, pb = store.path(a.blob_id), store.path(b.blob_id)
    raw_a, raw_b = pa.read_bytes(), pb.read_bytes()
    pa.write_bytes(raw_a[:HEADER_SIZE] + raw_b[HEADER_SIZE:HEADER_SIZE + CHUNK + TAG_SIZE]
                   + raw_a[HEADER_SIZE + CHUNK + TAG_SIZE:])
    with pytest.raises(BlobCorrupted):
        _read_all(store, a, key)
    with pytest.raises(BlobCorrupted):
        _read_all(store, b, new_data_key())


def test_a_failing_source_leaves_nothing_behind(store):
    def source():
        yield b"x" * (3 * CHUNK)
        raise RuntimeError("forged chunk")

    with pytest.raises(RuntimeError):
        store.write(source(), new_data_key())
    with pytest.raises(BlobTooLarge):
        store.write(b"y" * 100, new_data_key(), limit=99)
    leftovers = [p for p in store.root.rglob("*") if p.is_file()]
    assert leftovers == []


def test_delete_and_missing_blobs(store):
    key, _, info = _blob(store)
    store.delete(info.blob_id)
    store.delete(info.blob_id)
    with pytest.raises(BlobError):
        store.open(info.blob_id, key, info.size)
    with pytest.raises(BlobError):
        store.path("../../etc/passwd")


def test_an_open_reader_survives_a_delete(store):
    key, data, info = _blob(store)
    reader = store.open(info.blob_id, key, info.size)
    store.delete(info.blob_id)
    assert b"".join(reader.range(0, info.size)) == data


def test_memory_is_bounded_by_one_chunk(tmp_path):
    import tracemalloc
    store = BlobStore(tmp_path / "big", chunk_size=1024 * 1024)
    key = new_data_key()

    def source():
        for _ in range(32):
            yield b"z" * (1024 * 1024)

    tracemalloc.start()
    info = store.write(source(), key)
    total = sum(len(piece) for piece in store.read(info.blob_id, key, info.size))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert total == 32 * 1024 * 1024
    assert peak < 8 * 1024 * 1024, peak


@pytest.mark.parametrize("sync", [True, False])
def test_blobs_are_fsynced_only_with_full_durability(tmp_path, monkeypatch, sync):
    """--durability full: each blob and its directory reach the disk before the blob is named;
    normal (SQLite synchronous=NORMAL's promise: survive a killed process): no fsync per blob."""
    calls = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append(fd), real(fd))[1])
    store = BlobStore(tmp_path / "b", chunk_size=CHUNK, sync=sync)
    key = new_data_key()
    data = os.urandom(CHUNK * 3 + 5)
    info = store.write(data, key)
    assert b"".join(store.read(info.blob_id, key, info.size)) == data
    assert info.md5 == hashlib.md5(data).digest()
    assert len(calls) == (2 if sync else 0)


def test_a_large_blob_drops_its_pages_behind_the_writer(tmp_path, monkeypatch):
    """Every DROP_BEHIND bytes written and at the end, the file's pages are let go
    (POSIX_FADV_DONTNEED over the whole file); a small blob is left alone."""
    from cloudkeep.storage import blobs

    calls = []
    monkeypatch.setattr(blobs, "_FADVISE", lambda fd, offset, length, advice: calls.append((offset, length, advice)))
    monkeypatch.setattr(blobs, "DROP_BEHIND", 4 * CHUNK)
    store = BlobStore(tmp_path / "b", chunk_size=CHUNK)
    key = new_data_key()
    store.write(os.urandom(2 * CHUNK), key)
    assert calls == []
    data = os.urandom(10 * CHUNK)
    info = store.write(data, key)
    size = store.path(info.blob_id).stat().st_size         # header, 10 chunks and their tags
    assert len(calls) == size // (4 * CHUNK) + 1            # one per 4 chunks' worth crossed, one at the end
    assert all(c == (0, 0, os.POSIX_FADV_DONTNEED) for c in calls)
    assert b"".join(store.read(info.blob_id, key, info.size)) == data


# --- bodies kept inline (BlobInfo.data) ---------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, CHUNK, 2 * CHUNK + 5, 4 * CHUNK])
def test_a_body_within_inline_max_comes_back_as_data_and_no_file(store, size):
    key = new_data_key()
    data = os.urandom(size)
    info = store.write(data, key, inline_max=4 * CHUNK, checksums=("CRC32",))
    assert info.data is not None and not store.exists(info.blob_id)
    assert not (store.root / "tmp").exists() or list((store.root / "tmp").iterdir()) == []
    assert info.md5 == hashlib.md5(data).digest()
    assert info.checksums["CRC32"] == zlib.crc32(data).to_bytes(4, "big")
    chunks = max(1, -(-size // CHUNK))
    assert len(info.data) == HEADER_SIZE + size + TAG_SIZE * chunks      # the same format as a file
    assert b"".join(store.open(info.blob_id, key, size, info.data).range(0, size)) == data
    assert b"".join(store.open(info.blob_id, key, size, info.data).range(3 % (size + 1), size)) == data[3 % (size + 1):]


@pytest.mark.parametrize("source_kind", ["bytes", "file", "iterator"])
def test_a_body_one_byte_over_inline_max_becomes_a_file(store, source_kind):
    key = new_data_key()
    data = os.urandom(4 * CHUNK + 1)
    source = {"bytes": data, "file": io.BytesIO(data), "iterator": iter([data[:7], data[7:100], data[100:]])}[source_kind]
    info = store.write(source, key, inline_max=4 * CHUNK)
    assert info.data is None and store.exists(info.blob_id)
    assert _read_all(store, info, key) == data
    assert list((store.root / "tmp").iterdir()) == []


def test_inline_data_is_ciphertext_and_tampering_is_refused(store):
    key = new_data_key()
    data = b"the secret plaintext " * 6
    info = store.write(data, key, inline_max=1024)
    assert b"secret plaintext" not in info.data
    raw = bytearray(info.data)
    raw[HEADER_SIZE + 5] ^= 1
    with pytest.raises(BlobCorrupted):
        b"".join(store.open(info.blob_id, key, len(data), bytes(raw)).range(0, len(data)))
    with pytest.raises(BlobCorrupted):        # cut short: the length check refuses it before decrypting
        store.open(info.blob_id, key, len(data), info.data[:-1])
    other = store.write(data, key, inline_max=1024)
    with pytest.raises(BlobCorrupted):        # bound to its blob id
        b"".join(store.open(other.blob_id, key, len(data), info.data).range(0, len(data)))


def test_the_limit_applies_to_inline_bodies_too(store):
    with pytest.raises(BlobTooLarge):
        store.write(b"x" * 50, new_data_key(), limit=10, inline_max=1024)
    assert not (store.root / "tmp").exists() or list((store.root / "tmp").iterdir()) == []


def test_sealing_into_a_reused_buffer_gives_the_chunk_seal_gives() -> None:
    """``ChunkCipher.seal_into`` (the spool's full blocks) writes exactly what ``seal`` returns, and
    the buffer can be reused for the next chunk without disturbing what was written from it."""
    cipher = ChunkCipher(new_data_key(), BlobStore.new_id(), 4096)
    buffer = bytearray(4096 + TAG_SIZE)
    chunks = [os.urandom(4096) for _ in range(3)]
    written = [bytes(cipher.seal_into(i, chunk, i == 2, buffer)) for i, chunk in enumerate(chunks)]
    assert written == [cipher.seal(i, chunk, i == 2) for i, chunk in enumerate(chunks)]
    assert [cipher.open(i, sealed, i == 2) for i, sealed in enumerate(written)] == chunks
