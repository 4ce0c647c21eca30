"""S3 object operations: PutObject, GetObject, HeadObject, DeleteObject and object tagging.

Pages: https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html, API_GetObject.html,
API_HeadObject.html, API_DeleteObject.html, API_PutObjectTagging.html, API_GetObjectTagging.html,
API_DeleteObjectTagging.html; conditional writes
https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html.
"""

from __future__ import annotations

from typing import Any, Final, Mapping

from cloudkeep.auth.principal import PrincipalType
from cloudkeep.services.framework import Call, Params, Result
from cloudkeep.wire.http import STATUS_KEY, BodyStream

from . import bodies
from . import conditions as Q
from . import domain as D
from . import errors as X
from . import ops_access
from . import repository as repo
from . import sse
from . import versions as V
from .authz import LIST_BUCKET
from .common import bucket_of, end_read, lock_bucket, now, operation
from .entities import Bucket, ObjectVersion

RESPONSE_OVERRIDES = {"ResponseCacheControl": "CacheControl", "ResponseContentDisposition": "ContentDisposition",
                      "ResponseContentEncoding": "ContentEncoding", "ResponseContentLanguage": "ContentLanguage",
                      "ResponseContentType": "ContentType", "ResponseExpires": "Expires"}


# --- request checks shared by the writes -------------------------------------------------------------


def check_write_headers(params: Params) -> None:
    """What a write may ask for here: none of the features not implemented yet (encryption:
    ``sse.py``; ACLs: ``ops_access.object_acl_for_write``)."""
    if params.get("ObjectLockMode") or params.get("ObjectLockRetainUntilDate") or params.get("ObjectLockLegalHoldStatus"):
        raise X.InvalidRequest("Bucket is missing Object Lock Configuration")
    if params.get("WriteOffsetBytes") is not None:
        raise X.NotImplementedS3("Appending to objects is only supported for directory buckets.")


def checksum_fields(algorithm: str | None, value: str | None, kind: str | None = "FULL_OBJECT") -> dict[str, Any]:
    """ChecksumX and ChecksumType members of a response."""
    if not algorithm or not value:
        return {}
    out: dict[str, Any] = {f"Checksum{algorithm}": value}
    if kind:
        out["ChecksumType"] = kind
    return out


# --- PutObject ------------------------------------------------------------------------------------------


def _small(params: Params) -> bool:
    """A body small enough to be kept in its row arrived whole in memory (its Content-Length, the
    framing of aws-chunked included, is within ``D.INLINE_MAX``): encrypting it takes microseconds,
    so the write goes on in the transaction the authorize stage began (already a write one)
    instead of ending it and beginning another."""
    length = params.get("ContentLength")
    return isinstance(length, int) and length <= D.INLINE_MAX


@operation("PutObject")
def put_object(call: Call, params: Params) -> Result:
    name, key = params["Bucket"], params["Key"]
    D.check_key(key)
    check_write_headers(params)
    metadata = D.check_metadata(params.get("Metadata") or {})
    tags = D.tags_from_header(params.get("Tagging"))
    headers = D.standard_headers(params)
    algorithm, sent = bodies.requested_checksum(params)
    storage = D.storage_class(params.get("StorageClass"))
    if_match, if_none_match = params.get("IfMatch"), params.get("IfNoneMatch")
    body = params.get("Body")
    target = bucket_of(call, name)
    owner_account, grants = ops_access.object_acl_for_write(call, target, params)
    encryption = sse.requested(params, target, secure=call.secure)
    # a large body spooled as it arrived is kept as is, under its spool's data key
    data_key, protection = sse.protect(call, target, key, encryption,
                                       bodies.adoptable_key(body, algorithm, D.MAX_PUT_SIZE))
    if not _small(params):
        end_read(call)                             # the body streams outside any transaction
    info = bodies.write(call, body, data_key, algorithm=algorithm, limit=D.MAX_PUT_SIZE, inline=True)
    bodies.discard_on_rollback(call, info)
    try:
        bodies.check_md5(params, info)
        checksum_algorithm, checksum_value = bodies.stored_checksum(info, body, algorithm, sent)
        bucket, seq = lock_bucket(call, name)
        version_id = V.new_version_id(call, bucket)
        obj = ObjectVersion(
            bucket=name, key=key, version_id=version_id, seq=seq, is_latest=True, is_delete_marker=False,
            size=info.size,
            etag=sse.etag(protection, info.md5), last_modified=now(call), owner_account=owner_account, acl=grants,
            storage_class=storage, headers=headers, metadata=metadata, tags=tags,
            checksum_algorithm=checksum_algorithm, checksum_value=checksum_value, checksum_type="FULL_OBJECT",
            protection=protection, parts=(bodies.written_part(info),))

        def conditions(current: ObjectVersion | None) -> None:
            live = current if current is not None and not current.is_delete_marker else None
            Q.check_write_conditions(if_match, if_none_match, live.etag if live else None, key)

        stored = V.write(call, bucket, obj, conditions if (if_match or if_none_match) else None, seq=seq,
                         version_id=version_id)
    except BaseException:
        bodies.discard(call, [bodies.file_of(info)])
        raise
    out: Result = {"ETag": stored.etag, **sse.written(protection, encryption),
                   **checksum_fields(checksum_algorithm, checksum_value)}
    if bucket.versioning == "Enabled":
        out["VersionId"] = stored.version_id
    return out


# --- GetObject / HeadObject -------------------------------------------------------------------------

#: a GetObject body up to this size is read whole before the response starts (a body kept in
#: its version's row is at most ``domain.INLINE_MAX``); a larger one is streamed
WHOLE_BODY_MAX: Final = 64 * 1024


def _read(call: Call, params: Params, *, method: str) -> tuple[Bucket, ObjectVersion, Result, tuple[int, int] | None]:
    """The version a GET/HEAD reads, its response headers, and the byte range to send."""
    name, key = params["Bucket"], params["Key"]
    bucket = bucket_of(call, name)
    if params.get("ServerSideEncryption") is not None:      # a model patch lets the header through
        raise X.invalid_argument("x-amz-server-side-encryption header is not supported for this operation.",
                                 "x-amz-server-side-encryption", params["ServerSideEncryption"])
    customer = sse.customer_key(params, secure=call.secure, read=True)
    overrides = {m: params[m] for m in RESPONSE_OVERRIDES if params.get(m) is not None}
    if overrides and call.principal.type is PrincipalType.ANONYMOUS:
        raise X.InvalidRequest("Request specific response headers cannot be used for anonymous GET requests.")
    try:
        obj = V.read_target(call, bucket, key, params.get("VersionId"))
    except V.Missing as missing:
        raise V.missing_error(call, bucket, key, missing.marker, LIST_BUCKET) from None
    sse.check_readable(obj.protection, customer)
    Q.check_read_conditions(Q.Conditions.of(params), obj.etag or "", obj.last_modified)
    part_number = params.get("PartNumber")
    byte_range = None
    out: Result = {"ETag": obj.etag, "LastModified": obj.last_modified, "AcceptRanges": "bytes",
                   **sse.describe(obj.protection, customer[1] if customer else None),
                   "Metadata": dict(obj.metadata) or None,
                   **D.headers_for_wire(obj.headers)}
    if part_number is not None:
        if params.get("Range"):
            raise X.InvalidRequest("Cannot specify both Range header and partNumber query parameter")
        byte_range = _part_range(obj, part_number)
        # "only returned if you specify partNumber in your request and the object was uploaded
        # as a multipart upload" (API_GetObject.html, x-amz-mp-parts-count)
        out["PartsCount"] = len(obj.parts) if obj.multipart else None
    else:
        byte_range = Q.parse_range(params.get("Range"), obj.size)
    version = V.version_header(bucket, obj)
    if version is not None:
        out["VersionId"] = version
    if obj.tags:
        out["TagCount"] = len(obj.tags)
    if obj.storage_class != "STANDARD":
        out["StorageClass"] = obj.storage_class
    if params.get("ChecksumMode") == "ENABLED":
        if part_number is not None and obj.multipart:
            # a part read answers that part's checksum, with the object's checksum type
            part = obj.parts[part_number - 1]
            out.update(checksum_fields(obj.checksum_algorithm, part.checksum, obj.checksum_type))
        elif byte_range is None or part_number is not None:     # the whole object (part 1 of a single part)
            out.update(checksum_fields(obj.checksum_algorithm, obj.checksum_value, obj.checksum_type))
    for member, header in RESPONSE_OVERRIDES.items():
        if member in overrides:
            out[header] = overrides[member]
    if byte_range is not None:
        start, end = byte_range
        out["ContentRange"] = Q.content_range(start, end, obj.size)
        out["ContentLength"] = end - start
        out[STATUS_KEY] = 206                   # Partial Content
    else:
        out["ContentLength"] = obj.size
    return bucket, obj, out, byte_range


def _part_range(obj: ObjectVersion, number: int) -> tuple[int, int]:
    """partNumber: that part of a multipart object; part 1 of any other is all of it."""
    count = len(obj.parts) if obj.multipart else 1
    if not 1 <= number <= max(count, 1) or (not obj.multipart and number != 1):
        raise X.InvalidPartNumber("The requested partnumber is not satisfiable",
                                  extra={"PartNumberRequested": str(number), "ActualPartCount": str(count)})
    if not obj.multipart:
        return 0, obj.size
    start = sum(p.size for p in obj.parts[:number - 1])
    return start, start + obj.parts[number - 1].size


@operation("GetObject")
def get_object(call: Call, params: Params) -> Result:
    bucket, obj, out, byte_range = _read(call, params, method="GET")
    start, end = byte_range if byte_range is not None else (0, obj.size)
    assert obj.protection is not None
    data_key = sse.open_key(call, bucket.name, obj.protection, sse.customer_key(params, secure=call.secure, read=True))
    pieces = bodies.open_range(call, obj, start, end, data_key)
    # a small body goes out whole with its headers (no stream to drive); a larger one streams
    out["Body"] = b"".join(pieces) if end - start <= WHOLE_BODY_MAX else BodyStream(pieces, end - start)
    return out


@operation("HeadObject")
def head_object(call: Call, params: Params) -> Result:
    return _read(call, params, method="HEAD")[2]


# --- DeleteObject ----------------------------------------------------------------------------------------


def delete_one(call: Call, bucket: Bucket, key: str, version_id: str | None) -> Result:
    """DeleteObject's effect and result members (DeleteMarker, VersionId)."""
    if version_id is not None:
        gone = V.delete_version(call, bucket, key, version_id)
        out: Result = {"VersionId": version_id}
        if gone is not None and gone.is_delete_marker:
            out["DeleteMarker"] = True
        return out
    marker = V.delete_current(call, bucket, key)
    if marker is None:
        return {}
    return {"DeleteMarker": True, "VersionId": marker.version_id}


@operation("DeleteObject")
def delete_object(call: Call, params: Params) -> Result:
    bucket = bucket_of(call, params["Bucket"])
    key = params["Key"]
    if params.get("IfMatch") is not None and not params.get("VersionId"):
        current = repo.latest(call.uow, bucket.name, key)
        live = current if current is not None and not current.is_delete_marker else None
        Q.check_write_conditions(params["IfMatch"], None, live.etag if live else None, key)
    return delete_one(call, bucket, key, params.get("VersionId"))


# --- object tagging -----------------------------------------------------------------------------------


def _tag_target(call: Call, params: Params) -> tuple[Bucket, ObjectVersion]:
    bucket = bucket_of(call, params["Bucket"])
    try:
        obj = V.read_target(call, bucket, params["Key"], params.get("VersionId"))
    except V.Missing:
        raise X.no_such_key(params["Key"]) from None
    return bucket, obj


def _version_out(bucket: Bucket, obj: ObjectVersion) -> Mapping[str, Any]:
    version = V.version_header(bucket, obj)
    return {"VersionId": version} if version is not None else {}


@operation("PutObjectTagging")
def put_object_tagging(call: Call, params: Params) -> Result:
    bucket, obj = _tag_target(call, params)
    tags = D.check_tags(D.tag_set(params), limit=D.MAX_OBJECT_TAGS, bucket=False)
    repo.set_object_tags(call.uow, obj, tags)
    return dict(_version_out(bucket, obj))


@operation("GetObjectTagging")
def get_object_tagging(call: Call, params: Params) -> Result:
    bucket, obj = _tag_target(call, params)
    return {"TagSet": D.wire_tags(obj.tags), **_version_out(bucket, obj)}


@operation("DeleteObjectTagging")
def delete_object_tagging(call: Call, params: Params) -> Result:
    bucket, obj = _tag_target(call, params)
    repo.set_object_tags(call.uow, obj, {})
    return dict(_version_out(bucket, obj))
