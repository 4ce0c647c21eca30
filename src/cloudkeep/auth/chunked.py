"""Decoding and verification of S3's aws-chunked bodies (streaming SigV4), one chunk at a time.

Owns: the framing of ``Content-Encoding: aws-chunked`` bodies in the three modes S3 accepts
(https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html and
https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming-trailers.html):

* ``STREAMING-AWS4-HMAC-SHA256-PAYLOAD``: ``<hex-size>;chunk-signature=<sig>\\r\\n<data>\\r\\n`` …
  ``0;chunk-signature=<sig>\\r\\n\\r\\n``; each signature chains from the previous one, starting
  at the seed (Authorization header) signature;
* ``STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER``: the same, then after the final chunk the trailer
  ``x-amz-checksum-<alg>:<b64>\\r\\n`` and ``x-amz-trailer-signature:<sig>\\r\\n\\r\\n``;
* ``STREAMING-UNSIGNED-PAYLOAD-TRAILER`` (botocore's default for S3 uploads): ``<hex-size>\\r\\n
  <data>\\r\\n`` … ``0\\r\\n`` then the trailer ``x-amz-checksum-<alg>:<b64>\\r\\n\\r\\n``.

Every chunk signature, the trailer checksum, the trailer signature and
``x-amz-decoded-content-length`` are verified; failures are S3's own errors (wording as real S3
answers, reproduced in versity/versitygw s3err/s3err.go): SignatureDoesNotMatch (403),
IncompleteBody, InvalidChunkSizeError, BadDigest, InvalidRequest, MalformedTrailerError (400).
In the signed modes a chunk's bytes are handed out only after its signature checked out, so at
most one chunk (``max_chunk`` bytes) is held; unsigned chunks stream through in small pieces.
A caller must still read to the end (``drain``) before acting on the body: the trailer checksum
and the final signature are only known there.

Must not: know the request, the pipeline or the key store (the caller passes the signing key),
read the clock, or do any I/O but reading the given file object.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import BinaryIO, Final

from cloudkeep.auth import checksums
from cloudkeep.wire.errors import (
    BadDigest,
    IncompleteBody,
    InvalidChunkSizeError,
    InvalidRequest,
    MalformedTrailerError,
    RequestEntityTooLarge,
    SignatureDoesNotMatch,
)

MIN_CHUNK: Final = 8192                      # every chunk but the last one (S3's rule)
DEFAULT_MAX_CHUNK: Final = 16 * 1024 * 1024  # memory bound for one signed chunk
_READ: Final = 64 * 1024
_MAX_LINE: Final = 4096
_EMPTY_SHA256: Final = hashlib.sha256(b"").hexdigest()
_SIGNED_HEADER_RE: Final = re.compile(rb"([0-9a-fA-F]{1,16});chunk-signature=([0-9a-f]{64})")
_UNSIGNED_HEADER_RE: Final = re.compile(rb"[0-9a-fA-F]{1,16}")
_TRAILER_SIGNATURE: Final = "x-amz-trailer-signature"

MSG_INCOMPLETE = "The request body terminated unexpectedly"
MSG_LENGTH = "You did not provide the number of bytes specified by the Content-Length HTTP header"
MSG_CHUNK_SIZE = "Only the last chunk is allowed to have a size less than 8192 bytes"
MSG_MALFORMED_TRAILER = ("The request contained trailing data that was not well-formed or did not conform "
                         "to our published schema.")
# S3's wording of SignatureDoesNotMatch (not IAM's): seen in every S3 403 of this kind, e.g.
# github.com/aws/aws-sdk-js/issues/86 and versity/versitygw s3err/s3err.go
MSG_S3_MISMATCH = ("The request signature we calculated does not match the signature you provided. "
                   "Check your key and signing method.")


def _hexbytes(text: str) -> str:
    return " ".join(f"{b:02x}" for b in text.encode("utf-8", "surrogateescape"))


class _Source:
    """Buffered reads over the raw body; every premature end is S3's IncompleteBody."""

    __slots__ = ("_raw", "_buf", "_eof")

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._buf = bytearray()
        self._eof = False

    def _fill(self) -> bool:
        if self._eof:
            return False
        data = self._raw.read(_READ)
        if not data:
            self._eof = True
            return False
        self._buf += data
        return True

    def line(self) -> bytes:
        """One CRLF-terminated line, without its CRLF."""
        start = 0
        while True:
            end = self._buf.find(b"\n", start)
            if end >= 0:
                break
            start = len(self._buf)
            if start > _MAX_LINE or not self._fill():
                raise IncompleteBody(MSG_INCOMPLETE)
        if end > _MAX_LINE or end == 0 or self._buf[end - 1] != 0x0D:
            raise IncompleteBody(MSG_INCOMPLETE)
        text = bytes(self._buf[:end - 1])
        del self._buf[:end + 1]
        return text

    def some(self, limit: int) -> bytes:
        """Between 1 and ``limit`` bytes."""
        if not self._buf and not self._fill():
            raise IncompleteBody(MSG_INCOMPLETE)
        data = bytes(self._buf[:limit])
        del self._buf[:len(data)]
        return data

    def exact(self, size: int) -> bytes:
        while len(self._buf) < size:
            if not self._fill():
                raise IncompleteBody(MSG_INCOMPLETE)
        data = bytes(self._buf[:size])
        del self._buf[:size]
        return data

    def crlf(self) -> None:
        if self.exact(2) != b"\r\n":
            raise IncompleteBody(MSG_INCOMPLETE)

    def at_end(self) -> bool:
        return not self._buf and not self._fill()


class ChunkedPayload:
    """A verifying reader over a raw aws-chunked body; ``read`` returns the decoded payload.

    ``signed``: chunk signatures are present and verified (the two STREAMING-AWS4-HMAC-SHA256
    modes); ``trailer``: the ``x-amz-trailer`` header (e.g. ``x-amz-checksum-crc32``) or None;
    ``trailer_signed``: an ``x-amz-trailer-signature`` follows the trailer (default: ``signed``
    and a trailer is announced); ``scope``: ``date/region/service/aws4_request``.
    """

    def __init__(self, raw: BinaryIO, *, signed: bool, seed_signature: str, signing_key: bytes,
                 amz_date: str, scope: str, decoded_length: int | None, trailer: str | None,
                 max_chunk: int = DEFAULT_MAX_CHUNK, trailer_signed: bool | None = None) -> None:
        self._src = _Source(raw)
        self._signed = signed
        self._previous = seed_signature
        self._key = signing_key
        self._prefix = f"AWS4-HMAC-SHA256-PAYLOAD\n{amz_date}\n{scope}\n"
        self._trailer_prefix = f"AWS4-HMAC-SHA256-TRAILER\n{amz_date}\n{scope}\n"
        self._decoded_length = decoded_length
        self._max_chunk = max_chunk
        self._trailer_signed = signed and trailer is not None if trailer_signed is None else trailer_signed
        self._trailer_name: str | None = None
        self._checksum: checksums.Checksum | None = None
        if trailer is not None:
            name = trailer.strip().lower()
            algorithm = checksums.algorithm_of_header(name)
            if algorithm is None:
                raise InvalidRequest("The value specified in the x-amz-trailer header is not supported")
            self._trailer_name = name
            self._checksum = checksums.new(algorithm)
        self._pending = b""        # a verified chunk (signed modes) not yet handed out
        self._chunk_left = 0       # bytes of the current unsigned chunk not yet read
        self._chunks = 0           # chunk headers read so far
        self._last_size = -1       # size of the previous chunk
        self._announced = 0        # decoded bytes announced by chunk headers
        self._delivered = 0
        self._done = False
        #: the verified trailing checksum header once the body is read, e.g. ("x-amz-checksum-crc32", "…")
        self.trailer_value: tuple[str, str] | None = None

    # --- public --------------------------------------------------------------------------------

    def read(self, n: int = -1) -> bytes:
        """Up to ``n`` decoded bytes (all that remain when ``n`` < 0); b"" once everything,
        including the final chunk and the trailer, has been read and verified."""
        out = bytearray()
        while (n < 0 or len(out) < n) and not self._done:
            want = -1 if n < 0 else n - len(out)
            out += self._take(want)
        return bytes(out)

    def drain(self) -> int:
        """Read (and verify) everything that is left; returns the decoded size of the whole body."""
        while not self._done:
            self._take(_READ)
        return self._delivered

    @property
    def done(self) -> bool:
        return self._done

    # --- decoding ------------------------------------------------------------------------------

    def _take(self, want: int) -> bytes:
        if self._pending:
            size = len(self._pending) if want < 0 else want
            data, self._pending = self._pending[:size], self._pending[size:]
        elif self._chunk_left:
            data = self._src.some(min(self._chunk_left, _READ if want < 0 else want))
            self._chunk_left -= len(data)
            if self._checksum is not None:
                self._checksum.update(data)
            if not self._chunk_left:
                self._src.crlf()
        else:
            self._next_chunk()
            return b""
        self._delivered += len(data)
        return data

    def _next_chunk(self) -> None:
        size, signature = self._chunk_header()
        self._chunks += 1
        if size and 0 <= self._last_size < MIN_CHUNK:
            # S3 reports the number of the chunk that follows the short one, and the short size
            # (github.com/versity/versitygw/issues/1683, a capture of S3's answer)
            raise InvalidChunkSizeError(MSG_CHUNK_SIZE, extra={
                "Chunk": str(self._chunks), "BadChunkSize": str(self._last_size)})
        self._last_size = size
        self._announced += size
        if self._decoded_length is not None and self._announced > self._decoded_length:
            raise IncompleteBody(MSG_LENGTH)
        if size == 0:
            if self._signed:
                self._verify_chunk(b"", signature)
            self._finish()
            return
        if not self._signed:
            self._chunk_left = size
            return
        if size > self._max_chunk:
            raise RequestEntityTooLarge(
                f"aws-chunked chunks of more than {self._max_chunk} bytes are not accepted.",
                extra={"MaxSizeAllowed": str(self._max_chunk), "ProposedSize": str(size)})
        data = self._src.exact(size)
        self._src.crlf()
        self._verify_chunk(data, signature)
        if self._checksum is not None:
            self._checksum.update(data)
        self._pending = data

    def _chunk_header(self) -> tuple[int, str]:
        line = self._src.line()
        if self._signed:
            match = _SIGNED_HEADER_RE.fullmatch(line)
            if match is None:
                raise IncompleteBody(MSG_INCOMPLETE)
            return int(match.group(1), 16), match.group(2).decode("ascii")
        if _UNSIGNED_HEADER_RE.fullmatch(line) is None:
            raise IncompleteBody(MSG_INCOMPLETE)
        return int(line, 16), ""

    def _verify_chunk(self, data: bytes, sent: str) -> None:
        to_sign = f"{self._prefix}{self._previous}\n{_EMPTY_SHA256}\n{hashlib.sha256(data).hexdigest()}"
        self._previous = self._check(to_sign, sent)

    def _check(self, to_sign: str, sent: str) -> str:
        expected = hmac.new(self._key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected.encode("ascii"), sent.encode("utf-8", "replace")):
            raise SignatureDoesNotMatch(MSG_S3_MISMATCH, extra={
                "StringToSign": to_sign, "SignatureProvided": sent, "StringToSignBytes": _hexbytes(to_sign)})
        return expected

    # --- the end: trailer, lengths -------------------------------------------------------------

    def _finish(self) -> None:
        if self._trailer_name is None and not self._trailer_signed:
            self._src.crlf()
        else:
            self._read_trailer()
        if not self._src.at_end():
            raise IncompleteBody(MSG_INCOMPLETE)
        if self._decoded_length is not None and self._announced != self._decoded_length:
            raise IncompleteBody(MSG_LENGTH)
        self._done = True

    def _read_trailer(self) -> None:
        lines: list[tuple[str, str]] = []
        first = True
        while True:
            raw = self._src.line()
            if not raw:
                if first and self._trailer_signed:
                    first = False           # tolerate a blank line between the final chunk and the trailer
                    continue
                break
            first = False
            name, colon, value = raw.decode("utf-8", "replace").partition(":")
            if not colon:
                raise MalformedTrailerError(MSG_MALFORMED_TRAILER)
            lines.append((name.strip().lower(), value.strip()))
            if len(lines) > 2:
                raise MalformedTrailerError(MSG_MALFORMED_TRAILER)
        sent_signature: str | None = None
        checksum_lines: list[tuple[str, str]] = []
        for name, value in lines:
            if name == _TRAILER_SIGNATURE and self._trailer_signed and sent_signature is None:
                sent_signature = value
            elif name == self._trailer_name and not checksum_lines:
                checksum_lines.append((name, value))
            else:
                raise MalformedTrailerError(MSG_MALFORMED_TRAILER)
        if self._trailer_name is not None and not checksum_lines:
            raise MalformedTrailerError(MSG_MALFORMED_TRAILER)
        if self._trailer_signed:
            if sent_signature is None:
                raise IncompleteBody(MSG_INCOMPLETE)
            canonical = "".join(f"{name}:{value}\n" for name, value in checksum_lines)
            self._check(f"{self._trailer_prefix}{self._previous}\n"
                        f"{hashlib.sha256(canonical.encode('utf-8')).hexdigest()}", sent_signature)
        if checksum_lines and self._checksum is not None:
            name, value = checksum_lines[0]
            algorithm = self._checksum.algorithm
            if not checksums.is_valid_value(algorithm, value):
                raise InvalidRequest(f"Value for {name} trailing header is invalid.")
            if not hmac.compare_digest(checksums.b64(self._checksum.digest()).encode(), value.encode()):
                raise BadDigest(f"The {algorithm} you specified did not match the calculated checksum.")
            self.trailer_value = (name, value)
