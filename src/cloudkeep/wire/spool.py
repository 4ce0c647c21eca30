"""A large request body held while the request is served: encrypted in a temporary file, and
measured as it arrives.

Owns: ``BodySpool``, what the ASGI adapter writes a body larger than its in-memory limit into,
piece by piece as the client sends it, and what the stages then read back from its start
(``seek(0)`` and sequential ``read``) as often as they need: to check a signed payload's SHA-256,
to decode aws-chunked framing, to store an S3 object.

- **Plaintext never touches the disk.** Each 1 MiB block is sealed with AES-256-GCM under a key
  made for this body and held only in memory (the nonce is the block's index), so the temporary
  file — unlinked from the start — holds ciphertext only, and a block changed on disk fails to
  authenticate when read back.
- **Digests while receiving.** The MD5 of the body (S3's ETag) and, when the client declared one,
  its SHA-256 (``x-amz-content-sha256``) are computed on a helper thread while the event loop
  receives the next pieces, so a large upload does not wait for them once it has arrived.
  ``md5_digest``/``sha256_hex`` are those of the whole body as received; a reader that
  consumes the body unchanged from its start may use them instead of hashing it again.

Must not: know protocols or services; keep more than one block of plaintext in memory per spool.
"""

from __future__ import annotations

import collections
import hashlib
import io
import struct
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

BLOCK: Final = 1024 * 1024
TAG: Final = 16
#: blocks of one spool queued for hashing at most: past it, writing waits for the oldest (the
#: receive slows to the hash's pace, and memory stays bounded whatever the body's size)
IN_FLIGHT: Final = 4

#: one thread hashes the blocks of every spool of this process, in the order they were queued
#: (hashlib lets go of the GIL, so the event loop goes on receiving meanwhile)
_HASHER: Final = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cloudkeep-spool-hash")


class SpoolError(Exception):
    """The spooled body could not be read back (its temporary file was changed or cut short)."""


def _nonce(index: int) -> bytes:
    return struct.pack(">4xQ", index)


class BodySpool(io.RawIOBase):
    """A request body being received (``write`` … ``finish``), then read back from its start."""

    def __init__(self, *, sha256: bool = False) -> None:
        super().__init__()
        self._aead = AESGCM(AESGCM.generate_key(bit_length=256))
        self._file: Any = tempfile.TemporaryFile(prefix="cloudkeep-body-")
        self._pending = bytearray()
        self._blocks = 0
        self.size = 0
        self._md5 = hashlib.md5()  # noqa: S324 - S3's ETag, not a security digest
        self._sha256 = hashlib.sha256() if sha256 else None
        self._hashing: collections.deque[Future[None]] = collections.deque()
        self._finished = False
        self.md5_digest: bytes | None = None
        self.sha256_hex: str | None = None
        # reading
        self._index = 0
        self._plain = b""
        self._offset = 0
        self._position = 0

    # --- receiving ---------------------------------------------------------------------------

    def write(self, data: Any) -> int:
        if self._finished:
            raise ValueError("the spool is finished")
        self._pending += data
        self.size += len(data)
        while len(self._pending) >= BLOCK:
            self._seal(bytes(self._pending[:BLOCK]))
            del self._pending[:BLOCK]
        return len(data)

    def _seal(self, block: bytes) -> None:
        while len(self._hashing) >= IN_FLIGHT:
            self._hashing.popleft().result()
        self._hashing.append(_HASHER.submit(self._hash, block))
        self._file.write(self._aead.encrypt(_nonce(self._blocks), block, None))
        self._blocks += 1

    def _hash(self, block: bytes) -> None:
        self._md5.update(block)
        if self._sha256 is not None:
            self._sha256.update(block)

    def finish(self) -> None:
        """The whole body has arrived: seal what is left, wait for the digests, rewind."""
        if self._finished:
            return
        if self._pending or self._blocks == 0:
            self._seal(bytes(self._pending))
            self._pending = bytearray()
        while self._hashing:
            self._hashing.popleft().result()
        self.md5_digest = self._md5.digest()
        if self._sha256 is not None:
            self.sha256_hex = self._sha256.hexdigest()
        self._file.flush()
        self._finished = True
        self.seek(0)

    # --- reading -----------------------------------------------------------------------------

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Only back to the start (every reader reads the body from its start)."""
        if offset != 0 or whence != io.SEEK_SET:
            raise io.UnsupportedOperation("a spooled body is read from its start only")
        self._index, self._plain, self._offset, self._position = 0, b"", 0, 0
        self._file.seek(0)
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
        try:
            plain = self._aead.decrypt(_nonce(self._index), sealed, None)
        except InvalidTag:
            raise SpoolError("the spooled body did not authenticate") from None
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
