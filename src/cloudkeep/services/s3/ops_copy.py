"""CopyObject (within and across buckets; metadata and tagging directives, the
x-amz-copy-source-if-* conditions, copying an object onto itself) and DeleteObjects (quiet mode,
per-key results and per-key authorization).

Pages: https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html,
https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html.
"""

from __future__ import annotations

from typing import Any

from cloudkeep.auth import checksums as C
from cloudkeep.services.framework import Call, Params, Result
from cloudkeep.storage.blobs import BlobInfo

from . import bodies
from . import conditions as Q
from . import domain as D
from . import errors as X
from . import ops_access
from . import repository as repo
from . import sse
from . import versions as V
from .authz import DELETE_OBJECT, DELETE_OBJECT_VERSION, parse_copy_source
from .common import bucket_of, end_read, now, operation
from .entities import Bucket, ObjectVersion
from .ops_objects import check_write_headers, checksum_fields, delete_one

MAX_COPY = 5 * 1024 ** 3
MAX_DELETE_KEYS = 1000


def read_source(call: Call, params: Params) -> tuple[ObjectVersion, Bucket, str | None]:
    """The copy source's version, its bucket, and the version id to report (when its bucket has
    versioning), after the x-amz-copy-source-if-* conditions."""
    name, key, version_id = parse_copy_source(params["CopySource"])
    bucket = bucket_of(call, name)
    if version_id:
        V.check_version_id(version_id)
        found = repo.version(call.uow, name, key, version_id)
        if found is None:
            raise X.no_such_version(key, version_id)
        if found.is_delete_marker:
            raise X.InvalidRequest("The source of a copy request may not specifically refer to a delete marker by "
                                   "version id.")
    else:
        found = repo.latest(call.uow, name, key)
        if found is None or found.is_delete_marker:
            raise X.no_such_key(key)
    Q.check_copy_conditions(Q.Conditions.of(params, "CopySource"), found.etag or "", found.last_modified)
    return found, bucket, V.version_header(bucket, found)


def source_key(call: Call, params: Params, source: ObjectVersion) -> bytes:
    """The copy source's data key (SSE-KMS through KMS's Decrypt, SSE-C with the
    x-amz-copy-source-server-side-encryption-customer-* headers)."""
    assert source.protection is not None
    customer = sse.customer_key(params, secure=call.secure, prefix="CopySourceSSECustomer",
                                header="x-amz-copy-source-server-side-encryption-customer", read=True)
    return sse.open_key(call, source.bucket, source.protection, customer)


def copy_range(call: Call, source: ObjectVersion, start: int, end: int, key: bytes, *,
               algorithm: str | None, extra: tuple[str, ...] = (), source_key: bytes | None = None,
               inline: bool = False) -> BlobInfo:
    """Re-encrypt bytes [start, end) of ``source`` under ``key`` into a new blob (``inline``: kept
    in memory for the version's row when small, see ``bodies.write``)."""
    pieces = bodies.open_range(call, source, start, end, source_key)
    wanted = tuple(a for a in ((algorithm,) if algorithm else ()) + extra if a)
    return call.blobs.write(pieces, key, checksums=wanted or (bodies.DEFAULT_ALGORITHM,),
                            inline_max=D.INLINE_MAX if inline else 0)


def _is_noop_self_copy(params: Params, source: ObjectVersion, dest_bucket: str, dest_key: str) -> bool:
    """Copying an object onto itself must change something: its metadata (REPLACE), storage
    class, website redirect location or encryption."""
    if source.bucket != dest_bucket or source.key != dest_key:
        return False
    if (params.get("MetadataDirective") or "COPY") == "REPLACE":
        return False
    if params.get("StorageClass") and params["StorageClass"] != source.storage_class:
        return False
    if params.get("WebsiteRedirectLocation"):
        return False
    if params.get("ServerSideEncryption") or params.get("SSECustomerAlgorithm") or params.get("SSEKMSKeyId"):
        return False
    if (params.get("TaggingDirective") or "COPY") == "REPLACE":
        return False
    if params.get("ChecksumAlgorithm"):
        return False
    return True


@operation("CopyObject")
def copy_object(call: Call, params: Params) -> Result:
    name, key = params["Bucket"], params["Key"]
    D.check_key(key)
    check_write_headers(params)
    for directive in ("MetadataDirective", "TaggingDirective"):
        if params.get(directive) not in (None, "COPY", "REPLACE"):
            raise X.invalid_argument(f"Unknown {directive.replace('Directive', '').lower()} directive.",
                                     f"x-amz-{directive.replace('Directive', '').lower()}-directive",
                                     params[directive])
    source, _, source_version = read_source(call, params)
    if _is_noop_self_copy(params, source, name, key):
        raise X.InvalidRequest("This copy request is illegal because it is trying to copy an object to itself "
                               "without changing the object's metadata, storage class, website redirect location "
                               "or encryption attributes.")
    if source.size > MAX_COPY:
        raise X.InvalidRequest("The specified copy source is larger than the maximum allowable size for a copy "
                               "source: 5368709120")
    if (params.get("MetadataDirective") or "COPY") == "REPLACE":
        metadata = D.check_metadata(params.get("Metadata") or {})
        headers = D.standard_headers(params)
    else:
        metadata, headers = dict(source.metadata), dict(source.headers)
    if (params.get("TaggingDirective") or "COPY") == "REPLACE":
        tags = D.tags_from_header(params.get("Tagging"))
    else:
        tags = dict(source.tags)
    algorithm = D.checksum_algorithm(params.get("ChecksumAlgorithm"), "x-amz-checksum-algorithm")
    if params.get("StorageClass") is not None:
        D.storage_class(params["StorageClass"])
    if algorithm is None and source.checksum_algorithm and source.checksum_type == "FULL_OBJECT":
        algorithm = source.checksum_algorithm
    algorithm = algorithm or bodies.DEFAULT_ALGORITHM
    read_key = source_key(call, params, source)
    target = bucket_of(call, name)
    owner_account, grants = ops_access.object_acl_for_write(call, target, params)
    encryption = sse.requested(params, target, secure=call.secure)
    data_key, protection = sse.protect(call, target, key, encryption)
    if_match, if_none_match = params.get("IfMatch"), params.get("IfNoneMatch")
    end_read(call)
    info = copy_range(call, source, 0, source.size, data_key, algorithm=algorithm, source_key=read_key,
                      inline=True)
    bodies.discard_on_rollback(call, info)
    try:
        bucket = bucket_of(call, name)
        obj = ObjectVersion(
            bucket=name, key=key, version_id="", seq=0, is_latest=True, is_delete_marker=False, size=info.size,
            etag=sse.etag(protection, info.md5), last_modified=now(call), owner_account=owner_account, acl=grants,
            storage_class=params.get("StorageClass") or source.storage_class, headers=headers, metadata=metadata,
            tags=tags, checksum_algorithm=algorithm, checksum_value=C.b64(info.checksums[algorithm]),
            checksum_type="FULL_OBJECT", protection=protection,
            parts=(bodies.written_part(info),))

        def conditions(current: ObjectVersion | None) -> None:
            live = current if current is not None and not current.is_delete_marker else None
            Q.check_write_conditions(if_match, if_none_match, live.etag if live else None, key)

        stored = V.write(call, bucket, obj, conditions if (if_match or if_none_match) else None)
    except BaseException:
        bodies.discard(call, [bodies.file_of(info)])
        raise
    out: Result = {"CopyObjectResult": {"ETag": stored.etag, "LastModified": stored.last_modified,
                                        **checksum_fields(algorithm, stored.checksum_value)},
                   **sse.written(protection, encryption)}
    if source_version is not None:
        out["CopySourceVersionId"] = source_version
    if bucket.versioning == "Enabled":
        out["VersionId"] = stored.version_id
    return out


# --- DeleteObjects --------------------------------------------------------------------------------------


def _key_error(key: str, version_id: str | None, error: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"Key": key, "Code": getattr(error, "code", "InternalError"),
                             "Message": getattr(error, "message", "We encountered an internal error. Please try again.")}
    if version_id:
        entry["VersionId"] = version_id
    return entry


@operation("DeleteObjects")
def delete_objects(call: Call, params: Params) -> Result:
    bucket = bucket_of(call, params["Bucket"])
    request = params.get("Delete") or {}
    objects = request.get("Objects") or []
    if not objects or len(objects) > MAX_DELETE_KEYS:
        raise X.MalformedXML(X.MalformedXML.MESSAGE)
    quiet = bool(request.get("Quiet"))
    deleted: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    for entry in objects:
        key = entry.get("Key")
        if key is None:
            raise X.MalformedXML(X.MalformedXML.MESSAGE)
        version_id = entry.get("VersionId") or None
        check = DELETE_OBJECT_VERSION if version_id else DELETE_OBJECT
        ask = {"Bucket": bucket.name, "Key": key, **({"VersionId": version_id} if version_id else {})}
        denied = call.authorizer.check(check, ask) if call.authorizer is not None else X.access_denied()
        if denied is not None:
            errors.append(_key_error(key, version_id, denied))
            continue
        try:
            D.check_key(key)
            with call.uow.savepoint():
                result = delete_one(call, bucket, key, version_id)
        except X.ServiceError as error:
            errors.append(_key_error(key, version_id, error))
            continue
        if quiet:
            continue
        done: dict[str, Any] = {"Key": key}
        if version_id:
            done["VersionId"] = version_id
            if result.get("DeleteMarker"):
                done["DeleteMarker"] = True
                done["DeleteMarkerVersionId"] = version_id
        elif result.get("DeleteMarker"):
            done["DeleteMarker"] = True
            done["DeleteMarkerVersionId"] = result["VersionId"]
        deleted.append(done)
    return {"Deleted": deleted or None, "Errors": errors or None}
