"""Listing a bucket: ListObjects (v1), ListObjectsV2 and ListObjectVersions — prefix, delimiter
with CommonPrefixes, markers and continuation tokens, max-keys, encoding-type=url.

Keys are walked in UTF-8 binary order straight from the index; a common prefix is emitted once and
the walk jumps past every key under it, so a page costs about as many rows as it returns. A
common prefix counts as one key against max-keys, and one at or before the marker (the client's
NextMarker was that prefix) is not repeated.
https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html,
https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjects.html,
https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectVersions.html
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator
from urllib.parse import quote

from cloudkeep.services.framework import Call, Params, Result

from . import access
from . import errors as X
from . import repository as repo
from .versions import check_version_id
from .common import bucket_of, decode_token, encode_token, operation, owner
from .entities import Bucket, ObjectVersion

MAX_KEYS = 1000
_BATCH = 1000


def max_keys(params: Params) -> int:
    value = params.get("MaxKeys")
    if value is None:
        return MAX_KEYS
    if value < 0:
        raise X.invalid_argument("Argument maxKeys must be an integer between 0 and 2147483647", "maxKeys", value)
    return min(value, MAX_KEYS)


def check_encoding(params: Params) -> str | None:
    encoding = params.get("EncodingType")
    if encoding is not None and encoding != "url":
        raise X.invalid_argument("Invalid Encoding Method specified in Request", "encoding-type", encoding)
    return encoding


def encoder(encoding: str | None):
    if encoding == "url":
        return lambda text: None if text is None else quote(text, safe="/")
    return lambda text: text


@dataclass
class Page:
    items: list[ObjectVersion] = field(default_factory=list)
    prefixes: list[str] = field(default_factory=list)
    truncated: bool = False
    #: the last key or common prefix returned (v1 NextMarker, v2's continuation point)
    last: str | None = None
    #: the last version returned (ListObjectVersions' NextVersionIdMarker)
    last_version: ObjectVersion | None = None


def _rollup(key: str, prefix: str, delimiter: str | None) -> str | None:
    if not delimiter:
        return None
    at = key.find(delimiter, len(prefix))
    return key[:at + len(delimiter)] if at >= 0 else None


def walk(rows: Any, restart: Any, *, prefix: str, delimiter: str | None, marker: str | None,
         limit: int, per_key: bool = False) -> Page:
    """One page of entries from ``rows`` (an iterator in key order); ``restart(at)`` gives a new
    iterator from the first key >= ``at`` (bytes), to jump past a common prefix. ``per_key``:
    every row is an entry (versions), else only current, non-delete-marker rows are."""
    page = Page()
    count = 0
    it: Iterator[ObjectVersion] = iter(rows)
    while True:
        obj = next(it, None)
        if obj is None:
            return page
        if not per_key and obj.is_delete_marker:
            continue
        common = _rollup(obj.key, prefix, delimiter)
        if common is not None:
            if marker is not None and common <= marker:
                nxt = repo.successor(repo.key_bytes(common))
                if nxt is None:
                    return page
                it = iter(restart(nxt))
                continue
            if count >= limit:
                page.truncated = True
                return page
            page.prefixes.append(common)
            page.last, page.last_version = common, None
            count += 1
            nxt = repo.successor(repo.key_bytes(common))
            if nxt is None:
                return page
            it = iter(restart(nxt))
            continue
        if count >= limit:
            page.truncated = True
            return page
        page.items.append(obj)
        page.last, page.last_version = obj.key, obj
        count += 1


def _object_entry(call: Call, bucket: Bucket, obj: ObjectVersion, enc: Any, with_owner: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {"Key": enc(obj.key), "LastModified": obj.last_modified, "ETag": obj.etag,
                             "Size": obj.size, "StorageClass": obj.storage_class}
    if obj.checksum_algorithm:
        entry["ChecksumAlgorithm"] = [obj.checksum_algorithm]
        entry["ChecksumType"] = obj.checksum_type
    if with_owner:
        entry["Owner"] = owner(call, access.object_owner(bucket, obj))
    return entry


def _list_current(call: Call, params: Params, after: str | None) -> tuple[Page, Any, str, int]:
    bucket = bucket_of(call, params["Bucket"])
    prefix = params.get("Prefix") or ""
    limit = max_keys(params)
    start = repo.key_bytes(after) if after is not None else None
    rows = repo.scan_latest(call.uow, bucket.name, prefix=prefix, after=start, batch=_BATCH)

    def restart(at: bytes) -> Iterator[ObjectVersion]:
        return repo.seek_latest(call.uow, bucket.name, prefix=prefix, at_or_after=at, batch=_BATCH)

    page = walk(rows, restart, prefix=prefix, delimiter=params.get("Delimiter") or None, marker=after,
                limit=limit) if limit else Page()
    return page, bucket, prefix, limit


@operation("ListObjects")
def list_objects(call: Call, params: Params) -> Result:
    enc = encoder(check_encoding(params))
    marker = params.get("Marker") or None
    page, bucket, prefix, limit = _list_current(call, params, marker)
    # ListObjects (v1) returns Prefix as sent, even with encoding-type=url: only Delimiter, Marker,
    # NextMarker, Contents.Key and CommonPrefixes.Prefix are encoded (botocore decodes exactly
    # those: handlers.decode_list_object; Ceph's s3-tests test_bucket_list_prefix_unreadable)
    out: Result = {"Name": bucket.name, "Prefix": prefix, "Marker": enc(marker or ""), "MaxKeys": limit,
                   "IsTruncated": page.truncated,
                   "Contents": [_object_entry(call, bucket, o, enc, True) for o in page.items] or None,
                   "CommonPrefixes": [{"Prefix": enc(p)} for p in page.prefixes] or None}
    if params.get("Delimiter"):
        out["Delimiter"] = enc(params["Delimiter"])
        if page.truncated:
            out["NextMarker"] = enc(page.last)
    if params.get("EncodingType"):
        out["EncodingType"] = params["EncodingType"]
    return out


@operation("ListObjectsV2")
def list_objects_v2(call: Call, params: Params) -> Result:
    enc = encoder(check_encoding(params))
    token = params.get("ContinuationToken")
    if token is not None:
        after: str | None = decode_token(token)
    else:
        after = params.get("StartAfter") or None
    page, bucket, prefix, limit = _list_current(call, params, after)
    out: Result = {"Name": bucket.name, "Prefix": enc(prefix), "MaxKeys": limit, "IsTruncated": page.truncated,
                   "KeyCount": len(page.items) + len(page.prefixes),
                   "Contents": [_object_entry(call, bucket, o, enc, bool(params.get("FetchOwner"))) for o in page.items]
                   or None,
                   "CommonPrefixes": [{"Prefix": enc(p)} for p in page.prefixes] or None}
    if params.get("Delimiter"):
        out["Delimiter"] = enc(params["Delimiter"])
    if token is not None:
        out["ContinuationToken"] = token
    if params.get("StartAfter"):
        out["StartAfter"] = enc(params["StartAfter"])
    if page.truncated and page.last is not None:
        out["NextContinuationToken"] = encode_token(page.last)
    if params.get("EncodingType"):
        out["EncodingType"] = params["EncodingType"]
    return out


# --- ListObjectVersions -------------------------------------------------------------------------------


def _versions_after(call: Call, bucket: str, prefix: str, key_marker: str | None,
                    version_marker: str | None) -> Iterator[ObjectVersion]:
    """Every version after (key marker, version marker), in key order and newest first."""
    if key_marker is None:
        yield from repo.scan_versions(call.uow, bucket, prefix=prefix, start=None, inclusive=True, batch=_BATCH)
        return
    start = repo.key_bytes(key_marker)
    if version_marker:
        check_version_id(version_marker)
        marker = repo.version(call.uow, bucket, key_marker, version_marker)
        if marker is None:
            # the marker version is gone (deleted between two pages, as a cleanup loop does):
            # the listing goes on after the key marker
            yield from repo.scan_versions(call.uow, bucket, prefix=prefix, start=start, inclusive=False,
                                          batch=_BATCH)
            return
        for obj in repo.scan_versions(call.uow, bucket, prefix=prefix, start=start, inclusive=True, batch=_BATCH):
            if obj.key == key_marker and obj.seq >= marker.seq:
                continue
            yield obj
        return
    yield from repo.scan_versions(call.uow, bucket, prefix=prefix, start=start, inclusive=False, batch=_BATCH)


@operation("ListObjectVersions")
def list_object_versions(call: Call, params: Params) -> Result:
    enc = encoder(check_encoding(params))
    bucket = bucket_of(call, params["Bucket"])
    prefix = params.get("Prefix") or ""
    limit = max_keys(params)
    key_marker = params.get("KeyMarker") or None
    version_marker = params.get("VersionIdMarker") or None
    if version_marker and key_marker is None:
        raise X.invalid_argument("A version-id marker cannot be specified without a key marker.",
                                 "version-id-marker", version_marker)
    rows = _versions_after(call, bucket.name, prefix, key_marker, version_marker)

    def restart(at: bytes) -> Iterator[ObjectVersion]:
        return repo.scan_versions(call.uow, bucket.name, prefix=prefix, start=at, inclusive=True, batch=_BATCH)

    page = walk(rows, restart, prefix=prefix, delimiter=params.get("Delimiter") or None,
                marker=key_marker if not version_marker else None, limit=limit, per_key=True) if limit else Page()
    versions, markers = [], []
    for obj in page.items:
        base = {"Key": enc(obj.key), "VersionId": obj.version_id, "IsLatest": obj.is_latest,
                "LastModified": obj.last_modified, "Owner": owner(call, access.object_owner(bucket, obj))}
        if obj.is_delete_marker:
            markers.append(base)
        else:
            entry = {**base, "ETag": obj.etag, "Size": obj.size, "StorageClass": obj.storage_class}
            if obj.checksum_algorithm:
                entry["ChecksumAlgorithm"] = [obj.checksum_algorithm]
                entry["ChecksumType"] = obj.checksum_type
            versions.append(entry)
    out: Result = {"Name": bucket.name, "Prefix": enc(prefix), "KeyMarker": enc(key_marker or ""),
                   "VersionIdMarker": version_marker or "", "MaxKeys": limit, "IsTruncated": page.truncated,
                   "Versions": versions or None, "DeleteMarkers": markers or None,
                   "CommonPrefixes": [{"Prefix": enc(p)} for p in page.prefixes] or None}
    if params.get("Delimiter"):
        out["Delimiter"] = enc(params["Delimiter"])
    if page.truncated and page.last is not None:
        out["NextKeyMarker"] = enc(page.last)
        if page.last_version is not None:
            out["NextVersionIdMarker"] = page.last_version.version_id
    if params.get("EncodingType"):
        out["EncodingType"] = params["EncodingType"]
    return out
