"""Multipart uploads: CreateMultipartUpload, UploadPart, UploadPartCopy, ListParts,
CompleteMultipartUpload, AbortMultipartUpload, ListMultipartUploads.

Each upload has one data key (sealed in its row); every part is its own blob under that key, and
the completed object keeps the chosen parts' blobs in order, so completing moves no bytes.
Completion checks the part list as S3 does: ascending part numbers (InvalidPartOrder), each part
uploaded with that ETag (InvalidPart), every part but the last at least 5 MiB (EntityTooSmall);
the object's ETag is the MD5 of the parts' MD5s followed by "-<number of parts>".
https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html,
https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html,
https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html (composite
checksums: the checksum of the parts' checksums, "-N").
"""

from __future__ import annotations

import base64
from typing import Any

from cloudkeep.auth import checksums as C
from cloudkeep.services.framework import Call, Params, Result

from . import bodies
from . import conditions as Q
from . import domain as D
from . import errors as X
from . import ops_access
from . import repository as repo
from . import sse
from . import versions as V
from .common import bucket_of, end_read, now, operation, owner
from .entities import ObjectVersion, Part, Upload, UploadedPart
from .ops_copy import copy_range, read_source, source_key
from .ops_listing import check_encoding, encoder
from .ops_objects import check_write_headers, checksum_fields


def _upload(call: Call, params: Params) -> Upload:
    found = repo.get_upload(call.uow, params["Bucket"], params["Key"], params["UploadId"])
    if found is None:
        raise X.no_such_upload(params["UploadId"])
    return found


def _part_number(params: Params) -> int:
    number = params["PartNumber"]
    if not 1 <= number <= D.MAX_PARTS:
        raise X.invalid_argument("Part number must be an integer between 1 and 10000, inclusive", "partNumber",
                                 number)
    return number


@operation("CreateMultipartUpload")
def create_multipart_upload(call: Call, params: Params) -> Result:
    name, key = params["Bucket"], params["Key"]
    D.check_key(key)
    check_write_headers(params)
    bucket = bucket_of(call, name)
    algorithm = D.checksum_algorithm(params.get("ChecksumAlgorithm"))
    kind = params.get("ChecksumType")
    if kind not in (None, "COMPOSITE", "FULL_OBJECT"):
        raise X.InvalidRequest("Value for x-amz-checksum-type header is invalid.")
    if kind is not None and algorithm is None:
        raise X.InvalidRequest("The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm "
                               "header.")
    if kind == "FULL_OBJECT" and algorithm in ("SHA1", "SHA256"):
        raise X.InvalidRequest(f"The FULL_OBJECT checksum type cannot be used with the {algorithm.lower()} "
                               f"checksum algorithm.")
    if kind == "COMPOSITE" and algorithm == "CRC64NVME":
        raise X.InvalidRequest("The COMPOSITE checksum type cannot be used with the crc64nvme checksum algorithm.")
    if algorithm is not None and kind is None:
        kind = "FULL_OBJECT" if algorithm == "CRC64NVME" else "COMPOSITE"
    owner_account, grants = ops_access.object_acl_for_write(call, bucket, params)
    encryption = sse.requested(params, bucket, secure=call.secure)
    _, protection = sse.protect(call, bucket, key, encryption)
    upload = Upload(upload_id=base64.urlsafe_b64encode(call.ids.token_bytes(48)).decode().rstrip("="),
                    bucket=name, key=key, initiated=now(call), initiator_arn=call.principal.arn,
                    initiator_id=call.principal.principal_id, owner_account=owner_account, acl=grants,
                    storage_class=D.storage_class(params.get("StorageClass")), headers=D.standard_headers(params),
                    metadata=D.check_metadata(params.get("Metadata") or {}),
                    tags=D.tags_from_header(params.get("Tagging")), checksum_algorithm=algorithm,
                    checksum_type=kind, protection=protection)
    repo.add_upload(call.uow, upload)
    out: Result = {"Bucket": name, "Key": key, "UploadId": upload.upload_id, **sse.written(protection, encryption)}
    if algorithm:
        out["ChecksumAlgorithm"] = algorithm
        out["ChecksumType"] = kind
    return out


def _store_part(call: Call, params: Params, upload: Upload, info: Any, checksum: str | None) -> UploadedPart:
    part = UploadedPart(upload_id=upload.upload_id, part_number=params["PartNumber"], blob_id=info.blob_id,
                        size=info.size, md5=info.md5.hex(), last_modified=now(call), checksum_value=checksum)
    # the upload may have been completed or aborted while the part streamed in
    if repo.get_upload(call.uow, upload.bucket, upload.key, upload.upload_id) is None:
        raise X.no_such_upload(upload.upload_id)
    repo.lock_upload(call.uow, upload.upload_id)
    bodies.delete_after_commit(call, repo.put_part(call.uow, part))
    return part


@operation("UploadPart")
def upload_part(call: Call, params: Params) -> Result:
    _part_number(params)
    upload = _upload(call, params)
    algorithm, sent = bodies.requested_checksum(params)
    if algorithm is not None and upload.checksum_algorithm is not None and algorithm != upload.checksum_algorithm:
        raise X.InvalidRequest(f"Checksum Type mismatch occurred, expected checksum Type: "
                               f"{upload.checksum_algorithm.lower()}, actual checksum Type: {algorithm.lower()}")
    algorithm = algorithm or upload.checksum_algorithm
    body = params.get("Body")
    customer = sse.customer_key(params, secure=call.secure)
    key = sse.open_key(call, upload.bucket, upload.protection, customer)
    end_read(call)
    info = bodies.write(call, body, key, algorithm=algorithm, limit=D.MAX_PART_SIZE)
    bodies.discard_on_rollback(call, info)
    try:
        bodies.check_md5(params, info)
        checksum_algorithm, checksum = bodies.stored_checksum(info, body, algorithm, sent)
        part = _store_part(call, params, upload, info, checksum if upload.checksum_algorithm else None)
    except BaseException:
        bodies.discard(call, [info.blob_id])
        raise
    out: Result = {"ETag": part.etag, **sse.describe(upload.protection, customer[1] if customer else None)}
    if algorithm:                                   # the upload's, or the one the part was sent with
        out[f"Checksum{checksum_algorithm}"] = checksum
    return out


@operation("UploadPartCopy")
def upload_part_copy(call: Call, params: Params) -> Result:
    _part_number(params)
    upload = _upload(call, params)
    source, source_bucket, source_version = read_source(call, params)
    start, end = 0, source.size
    if params.get("CopySourceRange"):
        start, end = _copy_range(params["CopySourceRange"], source.size)
    if end - start > D.MAX_PART_SIZE:
        raise X.InvalidRequest("The specified copy source is larger than the maximum allowable size for a copy "
                               "source: 5368709120")
    customer = sse.customer_key(params, secure=call.secure)
    key = sse.open_key(call, upload.bucket, upload.protection, customer)
    read_key = source_key(call, params, source)
    algorithm = upload.checksum_algorithm
    end_read(call)
    info = copy_range(call, source, start, end, key, algorithm=algorithm, source_key=read_key)
    bodies.discard_on_rollback(call, info)
    try:
        part = _store_part(call, params, upload, info,
                           C.b64(info.checksums[algorithm]) if algorithm else None)
    except BaseException:
        bodies.discard(call, [info.blob_id])
        raise
    result: dict[str, Any] = {"ETag": part.etag, "LastModified": part.last_modified}
    if algorithm:
        result[f"Checksum{algorithm}"] = part.checksum_value
    out: Result = {"CopyPartResult": result, **sse.describe(upload.protection, customer[1] if customer else None)}
    if source_version is not None:
        out["CopySourceVersionId"] = source_version
    return out


def _copy_range(value: str, size: int) -> tuple[int, int]:
    """x-amz-copy-source-range: "bytes=first-last", inside the source (InvalidArgument /
    InvalidRange otherwise)."""
    text = value.strip()
    first, dash, last = text.removeprefix("bytes=").partition("-")
    if not text.startswith("bytes=") or not dash or not first.isdigit() or not last.isdigit() \
            or int(last) < int(first):
        raise X.invalid_argument("The x-amz-copy-source-range value must be of the form bytes=first-last where "
                                 "first and last are the zero-based offsets of the first and last bytes to copy",
                                 "x-amz-copy-source-range", value)
    if int(last) >= size:
        raise X.InvalidRange(X.InvalidRange.MESSAGE, extra={"RangeRequested": text, "ActualObjectSize": str(size)})
    return int(first), int(last) + 1


@operation("ListParts")
def list_parts(call: Call, params: Params) -> Result:
    upload = _upload(call, params)
    limit = params.get("MaxParts")
    limit = 1000 if limit is None else limit
    if limit < 0:
        raise X.invalid_argument("Argument max-parts must be an integer between 0 and 2147483647", "max-parts",
                                 limit)
    limit = min(limit, 1000)
    marker = params.get("PartNumberMarker") or 0
    rows = repo.parts_of(call.uow, upload.upload_id, after=marker, limit=limit + 1)
    page, more = rows[:limit], len(rows) > limit
    parts = []
    for p in page:
        entry: dict[str, Any] = {"PartNumber": p.part_number, "LastModified": p.last_modified, "ETag": p.etag,
                                 "Size": p.size}
        if upload.checksum_algorithm and p.checksum_value:
            entry[f"Checksum{upload.checksum_algorithm}"] = p.checksum_value
        parts.append(entry)
    out: Result = {"Bucket": upload.bucket, "Key": upload.key, "UploadId": upload.upload_id,
                   "PartNumberMarker": marker, "MaxParts": limit, "IsTruncated": more, "Parts": parts or None,
                   "Initiator": {"ID": upload.initiator_arn}, "Owner": owner(call, upload.owner_account),
                   "StorageClass": upload.storage_class}
    if more and page:
        out["NextPartNumberMarker"] = page[-1].part_number
    if upload.checksum_algorithm:
        out["ChecksumAlgorithm"] = upload.checksum_algorithm
        out["ChecksumType"] = upload.checksum_type
    return out


def _checked_parts(params: Params, upload: Upload, uploaded: dict[int, UploadedPart]) -> list[UploadedPart]:
    requested = ((params.get("MultipartUpload") or {}).get("Parts")) or []
    if not requested:
        raise X.MalformedXML(X.MalformedXML.MESSAGE)
    # The list as a whole is checked before any part is looked up: strictly ascending part numbers,
    # so a part number listed twice is InvalidPartOrder whatever its ETags say
    # (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html, "Parts must
    # be ordered by part number"; Ceph accepts a repeat, see docs/compatibility.md).
    previous = 0
    for entry in requested:
        number = entry.get("PartNumber")
        if number is None or entry.get("ETag") is None:
            raise X.MalformedXML(X.MalformedXML.MESSAGE)
        if number <= previous:
            raise X.InvalidPartOrder(X.InvalidPartOrder.MESSAGE, extra={"UploadId": upload.upload_id})
        previous = number
    chosen: list[UploadedPart] = []
    for entry in requested:
        number = entry["PartNumber"]
        part = uploaded.get(number)
        sent = entry["ETag"].strip().strip('"')
        if part is None or sent != part.md5:
            raise X.InvalidPart(X.InvalidPart.MESSAGE, extra={"UploadId": upload.upload_id, "PartNumber": str(number),
                                                              "ETag": entry["ETag"]})
        if upload.checksum_algorithm:
            sent_checksum = entry.get(f"Checksum{upload.checksum_algorithm}")
            if sent_checksum is not None and sent_checksum != part.checksum_value:
                raise X.InvalidPart(X.InvalidPart.MESSAGE, extra={
                    "UploadId": upload.upload_id, "PartNumber": str(number), "ETag": entry["ETag"]})
        chosen.append(part)
    for part in chosen[:-1]:
        if part.size < D.MIN_PART_SIZE:
            raise X.EntityTooSmall(X.EntityTooSmall.MESSAGE, extra={
                "UploadId": upload.upload_id, "PartNumber": str(part.part_number), "ETag": part.etag,
                "ProposedSize": str(part.size), "MinSizeAllowed": str(D.MIN_PART_SIZE)})
    return chosen


def _object_checksum(upload: Upload, parts: list[UploadedPart], params: Params) -> tuple[str | None, str | None]:
    """The completed object's checksum: COMPOSITE, the checksum of the parts' checksums "-N";
    FULL_OBJECT (CRC algorithms), the CRC of the whole body, combined from the parts' CRCs."""
    algorithm = upload.checksum_algorithm
    if algorithm is None:
        return None, None
    sent = params.get(f"Checksum{algorithm}")
    if upload.checksum_type == "COMPOSITE":
        digest = C.new(algorithm)
        for part in parts:
            digest.update(base64.b64decode(part.checksum_value or ""))
        composite = C.b64(digest.digest())
        # the object's checksum the client sent (with or without the "-N" part count) is a data
        # integrity check of the completed object, as for a full-object checksum
        # (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html)
        if sent is not None and sent.rsplit("-", 1)[0] != composite:
            raise X.BadDigest(f"The {algorithm} you specified did not match the calculated checksum.")
        return algorithm, f"{composite}-{len(parts)}"
    value = _combined_crc(algorithm, parts)
    if sent is not None and sent != value:
        raise X.BadDigest(f"The {algorithm} you specified did not match the calculated checksum.")
    return algorithm, value


#: (awscrt combine function, digest size) of each CRC: a whole body's CRC follows from its parts'
_COMBINE = {"CRC32": ("combine_crc32", 4), "CRC32C": ("combine_crc32c", 4), "CRC64NVME": ("combine_crc64nvme", 8)}


def _combined_crc(algorithm: str, parts: list[UploadedPart]) -> str:
    """The CRC of the whole body from the parts' CRCs and sizes (awscrt's combine), without
    reading the body again."""
    from awscrt import checksums as crt  # the runtime auth/checksums.py computes these CRCs with

    name, size = _COMBINE[algorithm]
    combine = getattr(crt, name)
    total = None
    for part in parts:
        value = int.from_bytes(base64.b64decode(part.checksum_value or ""), "big")
        total = value if total is None else combine(total, value, part.size)
    return base64.b64encode((total or 0).to_bytes(size, "big")).decode()


@operation("CompleteMultipartUpload")
def complete_multipart_upload(call: Call, params: Params) -> Result:
    bucket = bucket_of(call, params["Bucket"])
    if repo.get_upload(call.uow, bucket.name, params["Key"], params["UploadId"]) is None:
        # a repeated request for an upload already completed answers its result: S3's
        # CompleteMultipartUpload is idempotent (a client retrying after a lost response)
        done = repo.completion(call.uow, bucket.name, params["Key"], params["UploadId"])
        if done is not None:
            return done
    upload = _upload(call, params)
    repo.lock_upload(call.uow, upload.upload_id)
    uploaded = {p.part_number: p for p in repo.parts_of(call.uow, upload.upload_id)}
    chosen = _checked_parts(params, upload, uploaded)
    size = sum(p.size for p in chosen)
    if params.get("MpuObjectSize") is not None and params["MpuObjectSize"] != size:
        raise X.InvalidRequest("The provided 'x-amz-mp-object-size' header value does not match what was "
                               "computed.")
    algorithm, checksum = _object_checksum(upload, chosen, params)
    etag = D.multipart_etag(bytes.fromhex(p.md5) for p in chosen)
    obj = ObjectVersion(
        bucket=bucket.name, key=upload.key, version_id="", seq=0, is_latest=True, is_delete_marker=False, size=size,
        etag=etag, last_modified=now(call), owner_account=upload.owner_account, acl=upload.acl,
        storage_class=upload.storage_class,
        headers=upload.headers, metadata=upload.metadata, tags=upload.tags, checksum_algorithm=algorithm,
        checksum_value=checksum, checksum_type=upload.checksum_type if algorithm else None,
        protection=upload.protection,
        parts=tuple(Part(p.blob_id, p.size, p.md5, p.checksum_value) for p in chosen), multipart=True)
    if_match, if_none_match = params.get("IfMatch"), params.get("IfNoneMatch")

    def conditions(current: ObjectVersion | None) -> None:
        live = current if current is not None and not current.is_delete_marker else None
        Q.check_write_conditions(if_match, if_none_match, live.etag if live else None, upload.key)

    stored = V.write(call, bucket, obj, conditions if (if_match or if_none_match) else None)
    kept = {p.blob_id for p in chosen}
    unused = [b for b in repo.delete_upload(call.uow, upload.upload_id) if b not in kept]
    bodies.delete_after_commit(call, unused)
    out: Result = {"Location": f"http://{bucket.name}.s3.amazonaws.com/{upload.key}", "Bucket": bucket.name,
                   "Key": upload.key, "ETag": etag, **sse.describe(upload.protection),
                   **checksum_fields(algorithm, checksum, upload.checksum_type)}
    if bucket.versioning == "Enabled":
        out["VersionId"] = stored.version_id
    repo.record_completion(call.uow, upload.upload_id, bucket.name, upload.key, now(call),
                           {k: v for k, v in out.items() if v is not None})
    return out


@operation("AbortMultipartUpload")
def abort_multipart_upload(call: Call, params: Params) -> Result:
    upload = _upload(call, params)
    if params.get("IfMatchInitiatedTime") is not None and params["IfMatchInitiatedTime"] != upload.initiated:
        raise X.precondition_failed("x-amz-if-match-initiated-time")
    bodies.delete_after_commit(call, repo.delete_upload(call.uow, upload.upload_id))
    return {}


@operation("ListMultipartUploads")
def list_multipart_uploads(call: Call, params: Params) -> Result:
    enc = encoder(check_encoding(params))
    bucket = bucket_of(call, params["Bucket"])
    prefix = params.get("Prefix") or ""
    delimiter = params.get("Delimiter") or None
    limit = params.get("MaxUploads")
    limit = 1000 if limit is None else min(max(limit, 0), 1000)
    key_marker = params.get("KeyMarker") or None
    upload_marker = params.get("UploadIdMarker") or None
    uploads, prefixes, truncated = [], [], False
    last_key, last_upload = None, None
    for upload in repo.scan_uploads(call.uow, bucket.name, prefix=prefix, key_marker=key_marker,
                                    upload_marker=upload_marker, batch=10_000):
        common = None
        if delimiter:
            at = upload.key.find(delimiter, len(prefix))
            common = upload.key[:at + len(delimiter)] if at >= 0 else None
        if common is not None and (common in prefixes or (key_marker is not None and common <= key_marker)):
            continue
        if len(uploads) + len(prefixes) >= limit:
            truncated = True
            break
        if common is not None:
            prefixes.append(common)
            last_key, last_upload = common, None
            continue
        uploads.append({"UploadId": upload.upload_id, "Key": enc(upload.key), "Initiated": upload.initiated,
                        "StorageClass": upload.storage_class, "Owner": owner(call, upload.owner_account),
                        "Initiator": {"ID": upload.initiator_arn},
                        **({"ChecksumAlgorithm": upload.checksum_algorithm,
                            "ChecksumType": upload.checksum_type} if upload.checksum_algorithm else {})})
        last_key, last_upload = upload.key, upload.upload_id
    out: Result = {"Bucket": bucket.name, "KeyMarker": enc(key_marker or ""), "UploadIdMarker": upload_marker or "",
                   "Prefix": enc(prefix), "MaxUploads": limit, "IsTruncated": truncated,
                   "Uploads": uploads or None, "CommonPrefixes": [{"Prefix": enc(p)} for p in prefixes] or None}
    if delimiter:
        out["Delimiter"] = enc(delimiter)
    if truncated:
        out["NextKeyMarker"] = enc(last_key or "")
        out["NextUploadIdMarker"] = last_upload or ""
    if params.get("EncodingType"):
        out["EncodingType"] = params["EncodingType"]
    return out
