"""S3's five additional checksum algorithms behind one small interface.

Owns: the incremental CRC32, CRC32C, CRC64NVME, SHA-1 and SHA-256 checksums S3 accepts in
``x-amz-checksum-<algorithm>`` headers and aws-chunked trailers, their base64 wire form, and the
syntax check of a value a client sent (valid base64 of the algorithm's digest length).
CRC32 comes from ``zlib``, the SHAs from ``hashlib``, CRC32C and CRC64NVME from ``awscrt`` (the AWS
Common Runtime botocore itself uses for them); no CRC is hand-written here.

Must not: decide what a mismatch means on the wire (callers raise S3's ``BadDigest`` /
``InvalidRequest``), read the request, or do I/O.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import zlib
from typing import Callable, Final, Protocol

#: header / trailer name → algorithm, as S3 names them (x-amz-checksum-crc32 → CRC32)
ALGORITHMS: Final = ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256")
_DIGEST_SIZE: Final = {"CRC32": 4, "CRC32C": 4, "CRC64NVME": 8, "SHA1": 20, "SHA256": 32}
HEADER_PREFIX: Final = "x-amz-checksum-"


class Checksum(Protocol):
    algorithm: str

    def update(self, data: bytes) -> None: ...

    def digest(self) -> bytes: ...


class _Crc:
    __slots__ = ("algorithm", "_fn", "_value", "_size")

    def __init__(self, algorithm: str, fn: Callable[[bytes, int], int], size: int) -> None:
        self.algorithm = algorithm
        self._fn = fn
        self._value = 0
        self._size = size

    def update(self, data: bytes) -> None:
        if data:
            self._value = self._fn(data, self._value)

    def digest(self) -> bytes:
        return self._value.to_bytes(self._size, "big")


class _Hash:
    __slots__ = ("algorithm", "_hash")

    def __init__(self, algorithm: str, name: str) -> None:
        self.algorithm = algorithm
        self._hash = hashlib.new(name)

    def update(self, data: bytes) -> None:
        self._hash.update(data)

    def digest(self) -> bytes:
        return self._hash.digest()


def _crt() -> object:
    """``awscrt.checksums``, imported on first use; None when the runtime is not installed."""
    try:
        from awscrt import checksums  # type: ignore[import-not-found]
    except ImportError:  # pragma: no cover - awscrt is a declared dependency
        return None
    return checksums


def available(algorithm: str) -> bool:
    """Whether ``algorithm`` (upper case, as in ``ALGORITHMS``) can be computed here."""
    if algorithm in ("CRC32C", "CRC64NVME"):
        return _crt() is not None
    return algorithm in _DIGEST_SIZE


def new(algorithm: str) -> Checksum:
    """A fresh incremental checksum; ``algorithm`` is one of ``ALGORITHMS`` (KeyError otherwise,
    RuntimeError when awscrt is missing for CRC32C / CRC64NVME)."""
    if algorithm == "CRC32":
        return _Crc("CRC32", zlib.crc32, 4)
    if algorithm == "SHA1":
        return _Hash("SHA1", "sha1")
    if algorithm == "SHA256":
        return _Hash("SHA256", "sha256")
    if algorithm in ("CRC32C", "CRC64NVME"):
        crt = _crt()
        if crt is None:  # pragma: no cover - awscrt is a declared dependency
            raise RuntimeError(f"{algorithm} needs the awscrt package")
        fn = crt.crc32c if algorithm == "CRC32C" else crt.crc64nvme  # type: ignore[attr-defined]
        return _Crc(algorithm, fn, _DIGEST_SIZE[algorithm])
    raise KeyError(algorithm)


def algorithm_of_header(name: str) -> str | None:
    """``x-amz-checksum-crc32c`` (any case) → ``CRC32C``; None for anything else."""
    lower = name.strip().lower()
    if not lower.startswith(HEADER_PREFIX):
        return None
    algorithm = lower[len(HEADER_PREFIX):].upper()
    return algorithm if algorithm in _DIGEST_SIZE else None


def header_name(algorithm: str) -> str:
    return HEADER_PREFIX + algorithm.lower()


def b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


def is_valid_value(algorithm: str, value: str) -> bool:
    """A sent value is well-formed: strict base64 of exactly the algorithm's digest size."""
    try:
        raw = base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return False
    return len(raw) == _DIGEST_SIZE.get(algorithm, -1) and b64(raw) == value


def compute(algorithm: str, data: bytes) -> str:
    """The base64 checksum of ``data`` (for tests and small bodies)."""
    checksum = new(algorithm)
    checksum.update(data)
    return b64(checksum.digest())
