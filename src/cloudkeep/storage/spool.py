"""A large request body held while the request is served: encrypted in a temporary file, and
measured as it arrives.

Owns: ``BodySpool``, what the ASGI adapter writes a body larger than its in-memory limit into,
piece by piece as the client sends it, and what the stages then read back from its start
(``seek(0)`` and sequential ``read``) as often as they need: to check a signed payload's SHA-256,
to decode aws-chunked framing, to store an S3 object.

- **Plaintext never touches the disk.** The file is written in the blob store's format
  (``storage/blobs.py``: a header, then 1 MiB chunks sealed with AES-256-GCM) under a data key
  made for this body and held only in memory, so the temporary file — unnamed from the start —
  holds ciphertext only, and a chunk changed on disk fails to authenticate when read back.
- **Digests while receiving.** The MD5 of the body (S3's ETag), the checksums the adapter asks
  for (S3's CRC64NVME and the one the request names) and, when the client declared one, its
  SHA-256 (``x-amz-content-sha256``) are computed on a helper thread while the event loop
  receives the next pieces, so a large upload does not wait for them once it has arrived.
  ``md5_digest``/``checksums``/``sha256_hex`` are those of the whole body as received; a reader
  that consumes the body unchanged from its start may use them instead of hashing it again.
- **Adoption.** Given the blob store's spool directory, the file is an unnamed ``O_TMPFILE`` file
  there, already a finished blob once the body has arrived: an S3 upload stored as it was sent
  takes the spool's data key and names the file as its blob (``adopt``) instead of reading the
  body back and encrypting it a second time. Each chunk is sealed as not last when it arrives;
  ``finish`` seals the last one as last (re-sealing it when the body ends on a chunk boundary).

Must not: know protocols or services; keep more than one block of plaintext in memory per spool.
"""

from __future__ import annotations

import collections
import hashlib
import io
import os
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Final, Iterable, Mapping

from cloudkeep.auth import checksums as _checksums
from cloudkeep.storage.blobs import (HEADER_SIZE, BlobCorrupted, BlobInfo, BlobStore, ChunkCipher, drop_behind,
                                     new_data_key)

BLOCK: Final = 1024 * 1024
TAG: Final = 16
#: blocks of one spool queued for hashing at most: past it, writing waits for the oldest (the
#: receive slows to the hash's pace, and memory stays bounded whatever the body's size)
IN_FLIGHT: Final = 4
#: the spool's pages leave the page cache every this many bytes, as a blob's do (``drop_behind``)
DROP_BEHIND: Final = 8 * 1024 * 1024

#: one thread hashes the blocks of every spool of this process, in the order they were queued
#: (hashlib lets go of the GIL, so the event loop goes on receiving meanwhile)
_HASHER: Final = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cloudkeep-spool-hash")
_O_TMPFILE: Final = getattr(os, "O_TMPFILE", 0)


class SpoolError(Exception):
    """The spooled body could not be read back (its temporary file was changed or cut short)."""


def _open(directory: Path | None) -> tuple[Any, bool]:
    """(the spool's file, whether it is an unnamed file in ``directory`` that can be adopted)."""
    if directory is not None and _O_TMPFILE:
        try:
            fd = os.open(directory, _O_TMPFILE | os.O_RDWR, 0o600)
        except OSError:                        # a file system without O_TMPFILE: no adoption
            pass
        else:
            return os.fdopen(fd, "w+b"), True
    return tempfile.TemporaryFile(prefix="cloudkeep-body-", dir=directory), False


class BodySpool(io.RawIOBase):
    """A request body being received (``write`` … ``finish``), then read back from its start."""

    def __init__(self, *, sha256: bool = False, directory: Path | None = None,
                 checksums: Iterable[str] = ()) -> None:
        super().__init__()
        self.blob_id = BlobStore.new_id()
        self._key = new_data_key()
        self._cipher = ChunkCipher(self._key, self.blob_id, BLOCK)
        self._file, self._adoptable = _open(directory)
        self._file.write(self._cipher.header)
        self._sealed = bytearray(BLOCK + TAG)  # a full block's ciphertext, before it is written
        self._parts: list[Any] = []           # the block being filled: pieces as they came
        self._filled = 0
        self._blocks = 0
        self.size = 0
        self._md5 = hashlib.md5()  # noqa: S324 - S3's ETag, not a security digest
        self._sha256 = hashlib.sha256() if sha256 else None
        self._sums = {name: _checksums.new(name) for name in dict.fromkeys(checksums)}
        self._hashing: collections.deque[Future[None]] = collections.deque()
        self._finished = False
        self._adopted = False
        self.md5_digest: bytes | None = None
        self.sha256_hex: str | None = None
        self.checksums: Mapping[str, bytes] = {}
        # reading
        self._index = 0
        self._plain = b""
        self._offset = 0
        self._position = 0

    # --- receiving ---------------------------------------------------------------------------

    def write(self, data: Any) -> int:
        if self._finished:
            raise ValueError("the spool is finished")
        # kept by reference until its block is full: a mutable buffer is copied first
        view = memoryview(data if isinstance(data, bytes) else bytes(data)).cast("B")
        size = len(view)
        self.size += size
        # the pieces of the block being filled are kept as they came; a full block is joined
        # once (one copy of the body in memory, not three)
        while len(view):
            take = min(len(view), BLOCK - self._filled)
            self._parts.append(view[:take] if take < len(view) else view)
            self._filled += take
            view = view[take:]
            if self._filled == BLOCK:
                self._seal(b"".join(self._parts), last=False)
                self._parts, self._filled = [], 0
        return size

    def _seal(self, block: bytes, *, last: bool) -> None:
        while len(self._hashing) >= IN_FLIGHT:
            self._hashing.popleft().result()
        self._hashing.append(_HASHER.submit(self._hash, block))
        if len(block) == BLOCK:     # sealed into one buffer, written (copied) out, reused
            self._file.write(self._cipher.seal_into(self._blocks, block, last, self._sealed))
        else:
            self._file.write(self._cipher.seal(self._blocks, block, last))
        self._blocks += 1
        if self._blocks % (DROP_BEHIND // BLOCK) == 0:
            self._file.flush()
            drop_behind(self._file.fileno())

    def _hash(self, block: bytes) -> None:
        self._md5.update(block)
        if self._sha256 is not None:
            self._sha256.update(block)
        for checksum in self._sums.values():
            checksum.update(block)

    def finish(self) -> None:
        """The whole body has arrived: seal what is left as the last chunk, wait for the
        digests, rewind."""
        if self._finished:
            return
        if self._filled or self._blocks == 0:
            self._seal(b"".join(self._parts), last=True)
            self._parts, self._filled = [], 0
        else:
            self._reseal_last()
        while self._hashing:
            self._hashing.popleft().result()
        self.md5_digest = self._md5.digest()
        if self._sha256 is not None:
            self.sha256_hex = self._sha256.hexdigest()
        self.checksums = {name: c.digest() for name, c in self._sums.items()}
        self._file.flush()
        self._finished = True
        self.seek(0)

    def _reseal_last(self) -> None:
        """The body ended on a chunk boundary: its last chunk, sealed as not last when it
        arrived, is sealed again as the last one."""
        index = self._blocks - 1
        position = HEADER_SIZE + index * (BLOCK + TAG)
        self._file.flush()
        self._file.seek(position)
        sealed = self._file.read(BLOCK + TAG)
        plain = self._open_chunk(index, sealed, last=False)
        self._file.seek(position)
        self._file.write(self._cipher.seal(index, plain, True))

    def _open_chunk(self, index: int, sealed: bytes, *, last: bool) -> bytes:
        try:
            return self._cipher.open(index, sealed, last)
        except BlobCorrupted:
            raise SpoolError("the spooled body did not authenticate") from None

    # --- adoption ----------------------------------------------------------------------------

    def can_adopt(self, checksums: Iterable[str], limit: int | None = None) -> bool:
        """Whether ``adopt`` can store this body as a blob with these checksums measured: it
        has arrived, its file can be named, the checksums are among those measured, and it is
        within ``limit`` bytes."""
        return (self._finished and self._adoptable and not self._adopted and not self.closed
                and all(name in self.checksums for name in checksums)
                and (limit is None or self.size <= limit))

    @property
    def data_key(self) -> bytes:
        """The key the spool's chunks are sealed under (for the caller that adopts it, to protect
        as the blob's data key)."""
        return self._key

    def adopt(self, store: BlobStore, checksums: Iterable[str]) -> BlobInfo:
        """Name the spool's file as a blob of ``store`` (``BlobStore.adopt``), with what was
        measured of the body; the spool cannot be read afterwards. Only when ``can_adopt``."""
        wanted = list(dict.fromkeys(checksums))
        if not self.can_adopt(wanted):
            raise ValueError("this spool cannot be adopted")
        assert self.md5_digest is not None
        self._file.flush()
        store.adopt(self._file.fileno(), self.blob_id)
        self._adopted = True
        self.close()
        return BlobInfo(self.blob_id, self.size, self.md5_digest, {n: self.checksums[n] for n in wanted})

    # --- reading -----------------------------------------------------------------------------

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Only back to the start (every reader reads the body from its start)."""
        if offset != 0 or whence != io.SEEK_SET:
            raise io.UnsupportedOperation("a spooled body is read from its start only")
        if self._adopted:
            raise ValueError("the spool was adopted as a blob")
        self._index, self._plain, self._offset, self._position = 0, b"", 0, 0
        self._file.seek(HEADER_SIZE)
        return 0

    def tell(self) -> int:
        return self._position

    def _next_block(self) -> bytes:
        if self._index >= self._blocks:
            return b""
        last = self._index == self._blocks - 1
        length = (self.size - self._index * BLOCK) if last else BLOCK
        sealed = self._file.read(length + TAG)
        if len(sealed) != length + TAG:
            raise SpoolError("the spooled body was cut short")
        plain = self._open_chunk(self._index, sealed, last=last)
        self._index += 1
        return plain

    def read(self, size: int | None = -1) -> bytes:
        if not self._finished:
            raise ValueError("the spool is still being written")
        want = None if size is None or size < 0 else size
        out: list[bytes] = []
        got = 0
        while want is None or got < want:
            if self._offset >= len(self._plain):
                self._plain, self._offset = self._next_block(), 0
                if not self._plain:
                    break
            take = len(self._plain) - self._offset if want is None else min(want - got, len(self._plain) - self._offset)
            if self._offset == 0 and take == len(self._plain):
                out.append(self._plain)             # a whole block: no copy
            else:
                out.append(self._plain[self._offset:self._offset + take])
            self._offset += take
            got += take
        self._position += got
        return out[0] if len(out) == 1 else b"".join(out)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._file.close()
            self._plain = b""
        super().close()
