"""Object bodies: data keys and their protection, writing a request body to the blob store while
measuring its checksums, reading a byte range back as a stream, and deleting blobs once the
transaction that let go of them has committed.

Every body is encrypted under its own random data key (``storage/blobs.py``); the key is kept in
the object's row protected by the scheme its ``sse_algorithm`` names. SSE-S3 ("AES256", the only
scheme so far) seals it under the root of trust with ``call.sealer``, bound to the bucket and the
row's ``key_id``. (SSE-KMS and SSE-C add schemes beside it.)

Checksums: the x-amz-checksum-* header (one at most) or the aws-chunked trailer the client sent
is verified against the body (``BadDigest``); without any, S3 stores a CRC64NVME checksum of the
whole object, as it does for every upload since December 2024
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html).

Must not: know buckets' rules or build responses.
"""

from __future__ import annotations

import base64
import hmac
import secrets
from typing import Any, Iterator, Mapping, Sequence

from cloudkeep.auth import checksums as C
from cloudkeep.storage.blobs import BlobError, BlobInfo, BlobTooLarge, new_data_key

from . import domain as D
from . import errors as X
from .entities import ObjectVersion, Part, Protection

#: ChecksumX member → algorithm, for the algorithms cloudkeep computes
CHECKSUM_MEMBERS = {f"Checksum{a}": a for a in C.ALGORITHMS}
#: checksums S3 accepts that cloudkeep cannot compute yet
UNSUPPORTED_MEMBERS = ("ChecksumSHA512", "ChecksumMD5", "ChecksumXXHASH64", "ChecksumXXHASH3", "ChecksumXXHASH128")
DEFAULT_ALGORITHM = "CRC64NVME"
#: plaintext bytes read or decrypted per piece
PIECE = 1024 * 1024


# --- data keys ---------------------------------------------------------------------------------------


def _context(bucket: str, key_id: str) -> bytes:
    return f"s3:{bucket}:{key_id}".encode()


def new_protection(call: Any, bucket: str, data_key: bytes | None = None) -> tuple[bytes, Protection]:
    """A data key (fresh, or ``data_key``) and its SSE-S3 protection for a body stored in ``bucket``."""
    data_key = data_key or new_data_key()
    key_id = secrets.token_hex(16)
    sealed = call.sealer.seal(data_key, context=_context(bucket, key_id))
    return data_key, Protection(D.AES256, key_id, sealed)


def data_key(call: Any, bucket: str, protection: Protection) -> bytes:
    if protection.sse_algorithm != D.AES256:   # SSE-KMS and SSE-C keys are opened by sse.open_key
        raise RuntimeError(f"not an SSE-S3 protection: {protection.sse_algorithm}")
    # opened on every read of the object: remembered by its sealed bytes (``Sealer.open_remembered``)
    return call.sealer.open_remembered(protection.sealed_key, context=_context(bucket, protection.key_id))


# --- writing -----------------------------------------------------------------------------------------


def requested_checksum(params: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(algorithm, sent value) of the request's x-amz-checksum-* header, or its
    x-amz-sdk-checksum-algorithm with no value (a trailer brings it); InvalidRequest for more than
    one, NotImplemented for one cloudkeep cannot compute."""
    sent = [(a, params[m]) for m, a in CHECKSUM_MEMBERS.items() if params.get(m) is not None]
    if any(params.get(m) is not None for m in UNSUPPORTED_MEMBERS):
        raise X.NotImplementedS3("The checksum algorithm you specified is not implemented by cloudkeep.")
    if len(sent) > 1:
        raise X.InvalidRequest("Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")
    declared = D.checksum_algorithm(params.get("ChecksumAlgorithm"))
    if sent:
        algorithm, value = sent[0]
        if not C.is_valid_value(algorithm, value):
            raise X.InvalidRequest(f"Value for x-amz-checksum-{algorithm.lower()} header is invalid.")
        if declared and declared != algorithm:
            raise X.InvalidRequest("Value for x-amz-sdk-checksum-algorithm header is invalid.")
        return algorithm, value
    return declared, None


def _rewound(body: Any) -> Any:
    if body is None:
        return b""
    seek = getattr(body, "seek", None)
    if seek is not None:
        seek(0)
    return body


def adoptable_key(body: Any, algorithm: str | None, limit: int) -> bytes | None:
    """The data key of a request body spooled in the blob format that ``write`` can store as it
    arrived (``storage.spool.BodySpool.can_adopt``: measured with the checksum it needs, within
    ``limit``), or None. The caller protects this key as the object's data key; ``write`` then
    adopts the spool when it is given that key."""
    can_adopt = getattr(body, "can_adopt", None)
    if can_adopt is None or not can_adopt([algorithm or DEFAULT_ALGORITHM], limit):
        return None
    return body.data_key


def write(call: Any, body: Any, key: bytes, *, algorithm: str | None, limit: int,
          extra_algorithms: Sequence[str] = (), inline: bool = False) -> BlobInfo:
    """Encrypt a request body into a new blob, measuring MD5 and the checksums asked for.
    ``inline``: a body of at most ``D.INLINE_MAX`` bytes comes back in ``BlobInfo.data`` for the
    version's row instead of as a file (single-part objects only). A spooled body whose data key
    is ``key`` (``adoptable_key``) is named as the blob as it is: no second pass over it."""
    wanted = [algorithm or DEFAULT_ALGORITHM, *extra_algorithms]
    if not extra_algorithms and adoptable_key(body, algorithm, limit) == key:
        return body.adopt(call.blobs, wanted)
    try:
        # a spooled request body read unchanged from its start: its MD5 was measured on arrival
        return call.blobs.write(_rewound(body), key, checksums=wanted, limit=limit,
                                inline_max=D.INLINE_MAX if inline else 0,
                                known_md5=getattr(body, "md5_digest", None))
    except BlobTooLarge:
        raise X.EntityTooLarge(X.EntityTooLarge.MESSAGE, extra={"MaxSizeAllowed": str(limit)}) from None


def stored_checksum(info: BlobInfo, body: Any, algorithm: str | None, sent: str | None,
                    on_mismatch: Any = None) -> tuple[str, str]:
    """(algorithm, base64 value) to store with the body, after checking what the client sent: a
    header value must match (BadDigest), a trailer was verified by the aws-chunked reader."""
    trailer = getattr(body, "trailer_value", None)
    if trailer is not None:
        name, value = trailer
        found = C.algorithm_of_header(name)
        if found is not None:
            computed = info.checksums.get(found)
            if computed is not None and not hmac.compare_digest(C.b64(computed), value):
                raise X.BadDigest(f"The {found} you specified did not match the calculated checksum.")
            return found, value
    chosen = algorithm or DEFAULT_ALGORITHM
    value = C.b64(info.checksums[chosen])
    if sent is not None and not hmac.compare_digest(value, sent):
        raise X.BadDigest(f"The {chosen} you specified did not match the calculated checksum.")
    return chosen, value


def check_md5(params: Mapping[str, Any], info: BlobInfo) -> None:
    D.check_content_md5(params.get("ContentMD5"), info.md5)


# --- reading -----------------------------------------------------------------------------------------


def open_range(call: Any, obj: ObjectVersion, start: int, end: int, key: bytes | None = None) -> Iterator[bytes]:
    """The plaintext bytes [start, end) of a version, a chunk at a time (``key``: its data key,
    when the caller opened it already: SSE-KMS, SSE-C). The first blob is opened and
    authenticated now (an error is a clean 500 before any byte is sent); later ones as the
    stream reaches them."""
    assert obj.protection is not None
    if key is None:
        key = data_key(call, obj.bucket, obj.protection)
    pieces: list[tuple[Part, int, int]] = []
    offset = 0
    for part in obj.parts:
        lo, hi = max(start - offset, 0), min(end - offset, part.size)
        if lo < hi:
            pieces.append((part, lo, hi))
        offset += part.size
    if not pieces:
        return iter(())
    first_part, lo, hi = pieces[0]
    try:
        first = call.blobs.open(first_part.blob_id, key, first_part.size, first_part.data).range(lo, hi)
        head = next(first, b"")
    except BlobError as error:
        raise RuntimeError(f"object body unreadable: {error}") from None
    return _chain(call, key, head, first, pieces[1:])


def _chain(call: Any, key: bytes, head: bytes, first: Iterator[bytes],
           rest: list[tuple[Part, int, int]]) -> Iterator[bytes]:
    try:
        if head:
            yield head
        yield from first
        for part, lo, hi in rest:
            yield from call.blobs.open(part.blob_id, key, part.size, part.data).range(lo, hi)
    finally:
        close = getattr(first, "close", None)
        if close is not None:
            close()


def read_all(call: Any, obj: ObjectVersion, start: int = 0, end: int | None = None,
             key: bytes | None = None) -> Iterator[bytes]:
    return open_range(call, obj, start, obj.size if end is None else end, key)


# --- deleting ----------------------------------------------------------------------------------------


def delete_after_commit(call: Any, blob_ids: Sequence[str]) -> None:
    """Remove blobs once the transaction that stopped referencing them has committed (never if
    it rolls back)."""
    ids = [b for b in blob_ids if b]
    if not ids:
        return
    store = call.blobs

    def remove() -> None:
        for blob_id in ids:
            store.delete(blob_id)
    call.uow.after_commit(remove)


def discard(call: Any, blob_ids: Sequence[str]) -> None:
    """Remove blobs written by a request that then failed (nothing references them): the files
    only, at once (a write transaction may still be open); their journal entries go with the
    rollback (``discard_on_rollback``)."""
    for blob_id in blob_ids:
        if not blob_id:
            continue
        try:
            call.blobs.delete(blob_id)
        except Exception:  # noqa: BLE001 - best effort; an orphan blob holds only ciphertext
            pass


def written_part(info: BlobInfo) -> Part:
    """The single part of a body just written (its blob kept inline when ``write`` kept it)."""
    return Part(info.blob_id, info.size, info.md5.hex(), data=info.data)


def discard_on_rollback(call: Any, info: BlobInfo) -> None:
    """Delete the blob just written if the request's transaction then rolls back or fails to
    commit (the commit runs after the operation returns): no orphan file is left."""
    blob_id = file_of(info)
    if blob_id:
        # after the rollback no transaction is open: the file goes, then its journal entry
        call.uow.on_rollback(lambda: call.blobs.discard([blob_id]))


def file_of(info: BlobInfo) -> str:
    """The blob store file a failed request must discard ("" when the body stayed inline)."""
    return "" if info.data is not None else info.blob_id


def md5_b64(md5_hex: str) -> str:
    return base64.b64encode(bytes.fromhex(md5_hex)).decode()
