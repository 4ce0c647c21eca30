"""The blob store: large bodies (S3 objects and parts) kept as files of AES-256-GCM chunks.

Owns: writing a body from any readable (a file object, bytes, an iterator of bytes) under a
32-byte data key the caller holds, a chunk at a time, to a temporary file renamed into place
only when the whole body was read and written; measuring the plaintext as it passes (size,
MD5, and the checksums the caller asks for: CRC32, CRC32C, CRC64NVME, SHA1, SHA256 through
``auth/checksums.py``); reading back any byte range, seeking straight to its first chunk; and
deleting. With a journal (``storage/blob_journal.py``, given by the composition root) every file
is announced before it is created and forgotten again when a failed write removes it, so a file
a killed process leaves behind can be found and swept.

File format (all integers big-endian)::

    magic "CKB1" (4) | chunk size (4) | nonce prefix (4) | chunk 0 | chunk 1 | … | chunk n-1

Every chunk holds ``chunk size`` plaintext bytes (the last one 0 … chunk size; an empty body is
one empty last chunk) encrypted with AES-256-GCM: ciphertext followed by its 16-byte tag. The
nonce is the blob's random 4-byte prefix and the 8-byte chunk index; the associated data binds
the header, the blob id, the chunk index and a last-chunk flag, so a chunk moved to another
place or another blob, chunks reordered, a body cut short at a chunk boundary (its new last
chunk is not flagged last), a chunk appended, or any changed byte fails to authenticate
(``BlobCorrupted``). The caller keeps the plaintext size (the object row does), and a reader
checks the file's length against it before it decrypts anything.

Plaintext never touches the disk and at most one chunk of it is in memory per reader or writer.

Must not: know services, keys' protection (the caller seals data keys), or anything but files
under its root (the journal is an object it is given, with ``begin`` and ``forget``).
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import secrets
import struct
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Callable, Final, Iterable, Iterator, Mapping, Protocol, Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from cloudkeep.auth import checksums as _checksums

_log = logging.getLogger(__name__)

MAGIC: Final = b"CKB1"
HEADER_SIZE: Final = 12
TAG_SIZE: Final = 16
DEFAULT_CHUNK: Final = 1024 * 1024
KEY_SIZE: Final = 32
_AAD_PREFIX: Final = b"cloudkeep/blob/v1\x00"
_ID_ALPHABET: Final = frozenset("0123456789abcdef")


def _check_id(blob_id: str) -> None:
    if len(blob_id) != 32 or not set(blob_id) <= _ID_ALPHABET:
        raise BlobError("not a blob id")


#: the thread that measures MD5 beside the writer's encryption (shared: hashlib releases the GIL)
_HASHER: Final = ThreadPoolExecutor(max_workers=2, thread_name_prefix="cloudkeep-blob-md5")


class Journal(Protocol):
    """Where the files being written are announced (``storage/blob_journal.BlobJournal``)."""

    def begin(self, blob_id: str) -> None: ...

    def forget(self, blob_ids: Sequence[str]) -> None: ...


class BlobError(Exception):
    """A blob could not be written or read (a programming error, a missing file)."""


class BlobCorrupted(BlobError):
    """A blob's bytes on disk did not authenticate: tampered with, truncated, reordered, or
    read with the wrong key or size."""


class BlobTooLarge(BlobError):
    """The body was longer than the writer's ``limit``."""


@dataclass(frozen=True, slots=True)
class BlobInfo:
    """What the writer measured of the plaintext it stored."""

    blob_id: str
    size: int
    md5: bytes                                   # raw digest (the S3 ETag is its hex form)
    #: algorithm ("CRC32" …) → raw digest, for each algorithm the caller asked for
    checksums: Mapping[str, bytes] = field(default_factory=dict)
    #: the whole encrypted blob (same format as a file), when the body was small enough to be
    #: kept by the caller (in its database row) rather than as a file: ``write(inline_max=…)``
    data: bytes | None = None


def new_data_key() -> bytes:
    """A fresh random 256-bit data key (the caller seals it before storing it anywhere)."""
    return AESGCM.generate_key(bit_length=256)


def _aad(header: bytes, blob_id: str, index: int, last: bool) -> bytes:
    return b"".join((_AAD_PREFIX, header, blob_id.encode("ascii"), b"\x00", struct.pack(">Q", index),
                     b"\x01" if last else b"\x00"))


def _nonce(prefix: bytes, index: int) -> bytes:
    return prefix + struct.pack(">Q", index)


def new_header(chunk_size: int) -> bytes:
    """A new blob's header: the magic, its chunk size and a random nonce prefix."""
    return MAGIC + struct.pack(">I", chunk_size) + secrets.token_bytes(4)


def _link_unnamed(fd: int, path: Path) -> None:
    """Give the unnamed (``O_TMPFILE``) file open as ``fd`` the name ``path``: ``linkat`` of
    ``/proc/self/fd/<fd>`` with ``AT_SYMLINK_FOLLOW`` (open(2)). Python calls plain ``link``,
    which does not follow the magic link, unless a directory descriptor is given."""
    directory = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.link(f"/proc/self/fd/{fd}", path.name, dst_dir_fd=directory, follow_symlinks=True)
    finally:
        os.close(directory)


class ChunkCipher:
    """The file format's encryption of one blob's chunks: ``header`` first, then ``seal(i, …)``
    of each chunk in order; ``open`` reads one back. Used by the store's writer and reader and
    by a writer outside the store (a request body spooled in this format as it arrives,
    ``storage/spool.py``, then adopted with ``BlobStore.adopt``). ``header``: an existing
    blob's (reading), else a new one."""

    def __init__(self, data_key: bytes, blob_id: str, chunk_size: int = DEFAULT_CHUNK,
                 header: bytes | None = None) -> None:
        if len(data_key) != KEY_SIZE:
            raise BlobError("the data key must be 32 bytes")
        self.blob_id = blob_id
        self.chunk_size = chunk_size
        self.header = header if header is not None else new_header(chunk_size)
        self._aead = AESGCM(data_key)

    def seal(self, index: int, plaintext: bytes, last: bool) -> bytes:
        return self._aead.encrypt(_nonce(self.header[8:], index), plaintext,
                                  _aad(self.header, self.blob_id, index, last))

    def seal_into(self, index: int, plaintext: Any, last: bool, out: bytearray) -> bytearray:
        """``seal`` written into ``out``, a buffer of exactly ``len(plaintext)`` + 16 bytes that
        the caller reuses once it has written the chunk out: the library zeroes every new object
        it seals into before writing it (~10% of a 1 MiB chunk's sealing on this kind of VM)."""
        self._aead.encrypt_into(_nonce(self.header[8:], index), plaintext,
                                _aad(self.header, self.blob_id, index, last), out)
        return out

    def open(self, index: int, sealed: bytes, last: bool) -> bytes:
        """The chunk's plaintext; ``BlobCorrupted`` when it does not authenticate."""
        try:
            return self._aead.decrypt(_nonce(self.header[8:], index), sealed,
                                      _aad(self.header, self.blob_id, index, last))
        except InvalidTag:
            raise BlobCorrupted(f"chunk {index} of blob {self.blob_id} did not authenticate") from None


def _chunks_of(source: Any, size: int) -> Iterator[bytes]:
    """The source's bytes in pieces of exactly ``size`` (the last one shorter, possibly empty
    pieces never yielded)."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        view = memoryview(source)
        for start in range(0, len(view), size):
            yield bytes(view[start:start + size])
        return
    read = getattr(source, "read", None)
    if read is not None:
        buffer = bytearray()
        while True:
            piece = read(size - len(buffer))
            if not piece:
                break
            if not buffer and len(piece) == size:   # the usual case (a file): no copy
                yield bytes(piece)
                continue
            buffer += piece
            if len(buffer) >= size:
                yield bytes(buffer)
                buffer.clear()
        if buffer:
            yield bytes(buffer)
        return
    buffer = bytearray()
    for piece in source:
        if not piece:
            continue
        buffer += piece
        while len(buffer) >= size:
            yield bytes(buffer[:size])
            del buffer[:size]
    if buffer:
        yield bytes(buffer)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


#: a large blob's pages leave the page cache as it is written, every this many bytes
#: (``_Sink``): see ``drop_behind``
DROP_BEHIND: Final = 8 * 1024 * 1024
_FADVISE: Final = getattr(os, "posix_fadvise", None)


def drop_behind(fd: int) -> None:
    """Start writing the file's dirty pages back and let its clean ones go (Linux's
    ``POSIX_FADV_DONTNEED``; nothing where the call does not exist).

    A blob is written once and read, if ever, later: keeping a large one in the page cache
    helps nobody, and growing the cache by hundreds of MiB of dirty pages made the writer
    itself slow (on the 2-core development VM, writing 64 MiB into new page-cache pages cost
    130–170 ms of the writer's CPU once ~300 MiB were dirty, against 15–25 ms with this call
    every 8 MiB). Object stores do the same for large objects (MinIO writes them with O_DIRECT)."""
    if _FADVISE is not None:
        try:
            _FADVISE(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        except OSError:
            pass                                   # advice only: a file system may not take it


class _Sink:
    """Where a blob being written goes: kept in memory (``held``) while it may stay inline, else
    a temporary file; ``spill`` moves what is held into the file once the body proves too large.
    A file's pages are dropped behind the writer every ``DROP_BEHIND`` bytes (``drop_behind``)."""

    def __init__(self, tmp: Path | None, held: list[bytes] | None) -> None:
        self.held = held
        self._out: BinaryIO | None = None
        self._written = 0
        if held is None:
            assert tmp is not None
            self._open(tmp)

    def _open(self, tmp: Path) -> None:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._out = os.fdopen(fd, "wb")

    def __enter__(self) -> "_Sink":
        return self

    def __exit__(self, *exc: object) -> None:
        if self._out is not None:
            self._out.close()

    def write(self, data: bytes) -> None:
        if self._out is not None:
            self._out.write(data)
            before, self._written = self._written, self._written + len(data)
            if before // DROP_BEHIND != self._written // DROP_BEHIND:
                self._out.flush()
                drop_behind(self._out.fileno())
        else:
            assert self.held is not None
            self.held.append(data)

    def spill(self, tmp: Path) -> None:
        held, self.held = self.held or [], None
        self._open(tmp)
        for piece in held:
            self.write(piece)

    def inline(self) -> bytes | None:
        """The whole blob, if it stayed in memory."""
        return b"".join(self.held) if self.held is not None else None

    def finish(self, sync: bool) -> None:
        assert self._out is not None
        self._out.flush()
        if sync:
            os.fsync(self._out.fileno())
        if self._written >= DROP_BEHIND:
            drop_behind(self._out.fileno())


class BlobStore:
    """Encrypted bodies under ``root`` (created on first use): ``root/<2 hex>/<blob id>``."""

    def __init__(self, root: Path, *, chunk_size: int = DEFAULT_CHUNK, sync: bool = True,
                 journal: Journal | None = None) -> None:
        if not 1 <= chunk_size <= 64 * 1024 * 1024:
            raise ValueError("chunk size must be between 1 byte and 64 MiB")
        self.root = Path(root)
        self.chunk_size = chunk_size
        #: fsync each blob and its directory before it is named (the store's "full" durability,
        #: against power loss); without it a written blob survives a killed server process, as
        #: SQLite's synchronous=NORMAL commits do
        self.sync = sync
        #: announces each file before it is created (None: no journal, e.g. a tool's own store)
        self.journal = journal
        #: called with the blob id once a file is in place, before ``write`` returns (the test
        #: hooks hold a write there, in the window before its row commits)
        self.written: Callable[[str], None] | None = None
        self._spool_directory: Path | None = None

    # --- names ---------------------------------------------------------------------------------

    @staticmethod
    def new_id() -> str:
        """A fresh random blob id (32 hex digits)."""
        return secrets.token_hex(16)

    def path(self, blob_id: str) -> Path:
        _check_id(blob_id)
        return self.root / blob_id[:2] / blob_id

    # --- writing -------------------------------------------------------------------------------

    def write(self, source: bytes | BinaryIO | Iterable[bytes], data_key: bytes, *,
              checksums: Iterable[str] = (), blob_id: str | None = None,
              limit: int | None = None, inline_max: int = 0, known_md5: bytes | None = None) -> BlobInfo:
        """Encrypt ``source`` into a new blob and return what was measured of its plaintext.

        The file appears under its id only once the whole source was read and written (a
        temporary file renamed into place); any error on the way (the source's own, e.g. a
        forged aws-chunked signature, or ``BlobTooLarge`` past ``limit`` bytes) leaves nothing
        behind. A body of at most ``inline_max`` bytes is not written at all: the encrypted blob
        comes back in ``BlobInfo.data`` for the caller to keep (creating a file costs more than
        everything else a small body needs), and is read back with ``open(..., data=…)``.
        ``known_md5``: the MD5 of exactly the bytes ``source`` gives, measured before (a spooled
        request body, ``storage/spool.py``): not computed again."""
        if len(data_key) != KEY_SIZE:
            raise BlobError("the data key must be 32 bytes")
        blob_id = blob_id or self.new_id()
        _check_id(blob_id)         # its path is made only if it becomes a file (pathlib is not cheap)
        tmp: Path | None = None
        cipher = ChunkCipher(data_key, blob_id, self.chunk_size)
        header = cipher.header
        md5 = hashlib.md5()  # noqa: S324 - S3's ETag, not a security digest
        sums = {name: _checksums.new(name) for name in dict.fromkeys(checksums)}
        size = 0
        held: list[bytes] | None = [header] if inline_max > 0 else None   # the blob, while it may stay inline
        journaled = False
        try:
            if held is None:
                journaled = self._announce(blob_id)
                tmp = self._temporary(blob_id)
            with _Sink(tmp, held) as out:
                if held is None:
                    out.write(header)
                index = 0
                pending: bytes | None = None       # a chunk is written once we know whether it is last
                hashing: Future[None] | None = None
                for chunk in _chunks_of(source, self.chunk_size):
                    size += len(chunk)
                    if limit is not None and size > limit:
                        raise BlobTooLarge(f"the body is larger than {limit} bytes")
                    if out.held is not None and size > inline_max:
                        journaled = self._announce(blob_id)
                        tmp = self._temporary(blob_id)
                        out.spill(tmp)              # too large to keep inline: a file after all
                    # MD5 (the slowest step; hashlib lets go of the GIL) runs on another thread
                    # while this one encrypts and writes: one chunk in flight, in order
                    if hashing is not None:
                        hashing.result()
                    if known_md5 is not None:
                        pass
                    elif pending is None and len(chunk) < self.chunk_size:
                        md5.update(chunk)           # a small body: no thread hop
                    else:
                        hashing = _HASHER.submit(md5.update, chunk)
                    for checksum in sums.values():
                        checksum.update(chunk)
                    if pending is not None:
                        out.write(cipher.seal(index, pending, False))
                        index += 1
                    pending = chunk
                out.write(cipher.seal(index, pending or b"", True))
                if hashing is not None:
                    hashing.result()
                inline = out.inline()
                if inline is None:
                    out.finish(self.sync)
            if inline is None:
                assert tmp is not None
                self._name(tmp, self.path(blob_id), blob_id)
        except BaseException:
            if tmp is not None:
                tmp.unlink(missing_ok=True)
            if journaled:
                self._forget([blob_id])
            raise
        return BlobInfo(blob_id, size, known_md5 if known_md5 is not None else md5.digest(),
                        {name: c.digest() for name, c in sums.items()}, inline)

    def spool_directory(self) -> Path:
        """Where a body that may become a blob is written while it arrives (``adopt`` names it)."""
        if self._spool_directory is None:
            tmp_dir = self.root / "tmp"
            tmp_dir.mkdir(parents=True, exist_ok=True)
            self._spool_directory = tmp_dir
        return self._spool_directory

    def adopt(self, fd: int, blob_id: str) -> None:
        """Name a finished blob written elsewhere: an unnamed file (``O_TMPFILE``) in
        ``spool_directory()``, in this file format under ``blob_id`` (``ChunkCipher``). As
        ``write`` does: it is announced in the journal, named under a temporary name, synced
        with the store's durability and renamed into place; any error leaves no file and no
        journal entry. The caller holds the data key and what was measured of the plaintext."""
        final = self.path(blob_id)
        journaled = self._announce(blob_id)
        tmp = self._temporary(blob_id)
        try:
            _link_unnamed(fd, tmp)
            if self.sync:
                os.fsync(fd)
            self._name(tmp, final, blob_id)
        except BaseException:
            tmp.unlink(missing_ok=True)
            if journaled:
                self._forget([blob_id])
            raise

    def _name(self, tmp: Path, final: Path, blob_id: str) -> None:
        """Rename a finished temporary file to its blob's name, sync the directory with the
        store's durability, and tell ``written``."""
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, final)
        if self.sync:
            _fsync_dir(final.parent)
        if self.written is not None:
            self.written(blob_id)

    def _announce(self, blob_id: str) -> bool:
        """Record the file about to be created in the journal (an error stops the write before
        any file exists); True when there is a journal."""
        if self.journal is None:
            return False
        self.journal.begin(blob_id)
        return True

    def _forget(self, blob_ids: Sequence[str]) -> None:
        if self.journal is None:
            return
        try:
            self.journal.forget(blob_ids)
        except Exception:  # noqa: BLE001 - the files are gone; a stale entry only costs a sweep
            _log.exception("could not remove %d blob journal entries", len(blob_ids))

    def _temporary(self, blob_id: str) -> Path:
        tmp_dir = self.root / "tmp"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        return tmp_dir / f"{blob_id}.{secrets.token_hex(4)}"

    # --- reading -------------------------------------------------------------------------------

    def open(self, blob_id: str, data_key: bytes, size: int, data: bytes | None = None) -> "BlobReader":
        """A reader of the blob whose plaintext is ``size`` bytes long. The file is opened now
        (a later delete does not disturb it) and its length and header are checked. ``data``:
        the blob itself, kept inline by the caller (``BlobInfo.data``), instead of its file."""
        return BlobReader(self, blob_id, data_key, size, data)

    def read(self, blob_id: str, data_key: bytes, size: int, start: int = 0,
             end: int | None = None) -> Iterator[bytes]:
        """Plaintext bytes ``start`` … ``end - 1`` (``end`` None: to the end), a chunk at a time."""
        reader = self.open(blob_id, data_key, size)
        return reader.range(start, size if end is None else end)

    def exists(self, blob_id: str) -> bool:
        return self.path(blob_id).exists()

    # --- deleting ------------------------------------------------------------------------------

    def delete(self, blob_id: str, *, temporaries: bool = False) -> None:
        """Remove the blob (nothing happens when it is already gone); ``temporaries``: also the
        temporary files of an unfinished write of it (a process killed while writing)."""
        self.path(blob_id).unlink(missing_ok=True)
        if temporaries:
            tmp_dir = self.root / "tmp"
            if tmp_dir.is_dir():
                for leftover in tmp_dir.glob(f"{blob_id}.*"):
                    leftover.unlink(missing_ok=True)

    def discard(self, blob_ids: Sequence[str]) -> None:
        """Remove blobs written for a change that was not kept, files first, then their journal
        entries (in a transaction of the journal's own: call it outside any write transaction)."""
        ids = [b for b in blob_ids if b]
        for blob_id in ids:
            self.delete(blob_id)
        if ids:
            self._forget(ids)


class BlobReader:
    """An open blob: decrypts the chunks a range needs, one at a time."""

    def __init__(self, store: BlobStore, blob_id: str, data_key: bytes, size: int,
                 data: bytes | None = None) -> None:
        if len(data_key) != KEY_SIZE or size < 0:
            raise BlobError("bad data key or size")
        self.blob_id = blob_id
        self.size = size
        self._file: BinaryIO | None
        if data is not None:
            self._file = io.BytesIO(data)
        else:
            try:
                self._file = open(store.path(blob_id), "rb")  # noqa: SIM115 - closed by close()
            except FileNotFoundError:
                raise BlobError(f"blob {blob_id} is missing") from None
        try:
            header = self._file.read(HEADER_SIZE)
            if len(header) != HEADER_SIZE or header[:4] != MAGIC:
                raise BlobCorrupted(f"blob {blob_id} has no valid header")
            chunk = struct.unpack(">I", header[4:8])[0]
            if chunk <= 0:
                raise BlobCorrupted(f"blob {blob_id} has no valid header")
            self._cipher = ChunkCipher(data_key, blob_id, chunk, header=header)
            self._chunk = chunk
            self._count = max(1, -(-size // chunk))
            expected = HEADER_SIZE + size + TAG_SIZE * self._count
            actual = len(data) if data is not None else os.fstat(self._file.fileno()).st_size
            if actual != expected:
                raise BlobCorrupted(f"blob {blob_id} is {actual} bytes long, not {expected}")
        except BaseException:
            self.close()
            raise

    def _chunk_plaintext(self, index: int) -> bytes:
        assert self._file is not None
        last = index == self._count - 1
        length = (self.size - index * self._chunk) if last else self._chunk
        self._file.seek(HEADER_SIZE + index * (self._chunk + TAG_SIZE))
        return self._cipher.open(index, self._file.read(length + TAG_SIZE), last)

    def range(self, start: int, end: int) -> Iterator[bytes]:
        """Plaintext ``start`` … ``end - 1`` as a generator that closes the file when it ends."""
        if not 0 <= start <= end <= self.size:
            self.close()
            raise BlobError(f"range {start}-{end} is outside a blob of {self.size} bytes")
        return self._range(start, end)

    def _range(self, start: int, end: int) -> Iterator[bytes]:
        try:
            if start == end:
                return
            first, last = start // self._chunk, (end - 1) // self._chunk
            for index in range(first, last + 1):
                plain = self._chunk_plaintext(index)
                base = index * self._chunk
                lo = max(start - base, 0)
                hi = min(end - base, len(plain))
                yield plain if (lo == 0 and hi == len(plain)) else plain[lo:hi]
        finally:
            self.close()

    def verify(self) -> None:
        """Authenticate every chunk (reads the whole blob, one chunk at a time)."""
        for index in range(self._count):
            self._chunk_plaintext(index)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
