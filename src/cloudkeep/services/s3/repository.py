"""The only SQL of S3: buckets, object versions, multipart uploads and parts, canonical ids.

Keys are stored as UTF-8 bytes so that every backend orders them as S3 does (binary order of
UTF-8). Every write to a bucket's objects first takes the bucket row (``_bump``: an UPDATE of its
version counter), so writers of one bucket are serialized on PostgreSQL as they are on SQLite,
and each version gets the next ``seq``. Blobs a write makes obsolete are returned to the caller,
who deletes them only after the transaction commits.

Reads of a bucket are memoized in the unit of work (``uow.memo``, emptied by any write).

Must not: hold rules (``domain.py``) or build wire responses.
"""

from __future__ import annotations

import collections
import json
from typing import Any, Iterator, Mapping

import orjson
from sqlalchemy import and_, bindparam, delete, func, insert, or_, select, update

from cloudkeep.storage import blob_journal
from cloudkeep.storage.schema import (s3_account_public_access_blocks, s3_buckets, s3_canonical_users,
                                      s3_completed_uploads, s3_objects, s3_upload_parts, s3_uploads)

from .entities import Bucket, ObjectVersion, Part, Protection, Upload, UploadedPart

_B = s3_buckets.c
_O = s3_objects.c
_U = s3_uploads.c
_P = s3_upload_parts.c


def key_bytes(key: str) -> bytes:
    return key.encode("utf-8", "surrogatepass")


def key_text(raw: bytes) -> str:
    return bytes(raw).decode("utf-8", "surrogatepass")


_STDLIB_COMPACT = json.JSONEncoder(separators=(",", ":")).encode


def _compact(value: Any) -> str:
    """Compact JSON of plain values (orjson: a version row's few JSON columns are encoded on
    every object write; the standard encoder cost several times as much). What orjson refuses
    (a lone surrogate in a string) the standard encoder writes, as it always did."""
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:
        return _STDLIB_COMPACT(value)


def _json(value: Any) -> str | None:
    return _compact(value) if value else None


def _load(text: str | None, default: Any) -> Any:
    return json.loads(text) if text else default


def _acl_text(grants: Any) -> str | None:
    return None if grants is None else _compact([list(g) for g in grants])


def _acl(text: str | None) -> tuple[tuple[str, str, str], ...] | None:
    return None if text is None else tuple((g[0], g[1], g[2]) for g in json.loads(text))


# --- buckets ----------------------------------------------------------------------------------------


#: buckets built from their rows, by the row's values: a bucket's settings rarely change while
#: every object request reads them (a PUT twice), and building one parses four JSON columns.
#: Entities are frozen and nothing changes their mappings in place, so one may be shared.
_BUCKETS: dict[tuple, Bucket] = {}
_BUCKETS_MAX = 1024


def _bucket(row: Any) -> Bucket:
    values = (row.name, row.account_id, row.region, row.location_constraint, row.created_at, row.versioning,
              row.policy, row.tags, row.encryption, row.object_ownership, row.acl, row.public_access_block)
    found = _BUCKETS.get(values)
    if found is not None:
        return found
    found = Bucket(name=row.name, account_id=row.account_id, region=row.region,
                   location_constraint=row.location_constraint, created_at=row.created_at,
                   versioning=row.versioning, policy=row.policy, tags=dict(_load(row.tags, [])),
                   encryption=json.loads(row.encryption), object_ownership=row.object_ownership,
                   acl=_acl(row.acl), public_access_block=_load(row.public_access_block, None))
    if len(_BUCKETS) >= _BUCKETS_MAX:
        _BUCKETS.clear()
    _BUCKETS[values] = found
    return found


_GET_BUCKET = select(s3_buckets).where(_B.name == bindparam("name"))


def get_bucket(uow: Any, name: str) -> Bucket | None:
    """The bucket, or None. In an exclusive unit of work (SQLite's write transactions, which hold
    the whole database) the read is ``lock_bucket``'s: every object write reads its bucket twice
    (authorization, then the write under the bucket's lock), and one statement does both; the
    sequence number it took waits for that write (``lock_bucket``), and a write that needs none
    leaves a gap in the bucket's sequence, which only orders. Elsewhere (PostgreSQL) a read
    locks nothing: a copy between two buckets must not lock its source."""
    memo_key = ("s3-bucket", name)
    if memo_key in uow.memo:
        return uow.memo[memo_key]
    if uow.exclusive:
        locked = lock_bucket(uow, name)
        if locked is None:
            return None
        uow.memo[("s3-seq", name)] = locked[1]
        return locked[0]
    row = uow.run(_GET_BUCKET, {"name": name}).first()
    found = _bucket(row) if row is not None else None
    uow.memo[memo_key] = found
    return found


def add_bucket(uow: Any, bucket: Bucket) -> None:
    uow.execute(insert(s3_buckets).values(
        name=bucket.name, account_id=bucket.account_id, region=bucket.region,
        location_constraint=bucket.location_constraint, created_at=bucket.created_at,
        versioning=bucket.versioning, policy=bucket.policy, tags=_json(list(bucket.tags.items())),
        encryption=json.dumps(bucket.encryption), object_ownership=bucket.object_ownership, next_seq=0,
        acl=_acl_text(bucket.acl),
        public_access_block=json.dumps(dict(bucket.public_access_block)) if bucket.public_access_block else None))


def update_bucket(uow: Any, name: str, **fields: Any) -> None:
    """Change some of a bucket's settings (versioning, policy, tags, encryption)."""
    values = dict(fields)
    if "tags" in values:
        values["tags"] = _json(list(values["tags"].items())) if values["tags"] else None
    if "encryption" in values:
        values["encryption"] = json.dumps(values["encryption"])
    if "acl" in values:
        values["acl"] = _acl_text(values["acl"])
    if "public_access_block" in values:
        values["public_access_block"] = (json.dumps(dict(values["public_access_block"]))
                                         if values["public_access_block"] is not None else None)
    uow.execute(update(s3_buckets).where(_B.name == name).values(**values))


def delete_bucket(uow: Any, name: str) -> list[str]:
    """Remove the bucket with its multipart uploads (and the record of completed ones); returns
    the part blobs to delete."""
    blobs = [row.blob_id for row in uow.execute(
        select(_P.blob_id).join(s3_uploads, _U.upload_id == _P.upload_id).where(_U.bucket == name))]
    uploads = select(_U.upload_id).where(_U.bucket == name).scalar_subquery()
    uow.execute(delete(s3_upload_parts).where(_P.upload_id.in_(uploads)))
    uow.execute(delete(s3_uploads).where(_U.bucket == name))
    uow.execute(delete(s3_completed_uploads).where(s3_completed_uploads.c.bucket == name))
    uow.execute(delete(s3_buckets).where(_B.name == name))
    return blobs


def has_objects(uow: Any, name: str) -> bool:
    return uow.execute(select(_O.key).where(_O.bucket == name).limit(1)).first() is not None


def list_buckets(uow: Any, account_id: str, *, prefix: str | None, after: str | None, region: str | None,
                 limit: int) -> tuple[list[Bucket], bool]:
    query = select(s3_buckets).where(_B.account_id == account_id)
    if prefix:
        query = query.where(_B.name.startswith(prefix, autoescape=True))
    if after:
        query = query.where(_B.name > after)
    if region:
        query = query.where(_B.region == region)
    rows = uow.execute(query.order_by(_B.name).limit(limit + 1)).all()
    return [_bucket(r) for r in rows[:limit]], len(rows) > limit


# statements of the write path built once (building and cache-keying a statement per request
# cost more than running it)
_BUMP = update(s3_buckets).where(_B.name == bindparam("b_name")).values(next_seq=_B.next_seq + 1)
_SEQ = select(_B.next_seq).where(_B.name == bindparam("b_name"))


def _bump(uow: Any, bucket: str) -> int:
    """The bucket's next version sequence number (locks the bucket row until commit)."""
    uow.execute(_BUMP, {"b_name": bucket})
    return int(uow.execute(_SEQ, {"b_name": bucket}).scalar_one())


_LOCK = _BUMP.returning(*s3_buckets.c)


def lock_bucket(uow: Any, name: str) -> tuple[Bucket, int] | None:
    """The bucket as it is now, and its next version sequence number, in one statement that also
    locks its row until commit (what ``get_bucket`` then ``next_seq`` do in three); None if there
    is no such bucket. Both PostgreSQL and SQLite (3.35+) answer UPDATE … RETURNING. A number
    ``get_bucket`` took in this unit of work, with no write since (the memo is emptied by every
    write), is given out once instead: the row has been locked since, so the bucket is as it is
    now."""
    seq = uow.memo.pop(("s3-seq", name), None)
    if seq is not None:
        bucket = uow.memo.get(("s3-bucket", name))
        if bucket is not None:
            return bucket, seq
    row = uow.run(_LOCK, {"b_name": name}).first()
    if row is None:
        uow.memo[("s3-bucket", name)] = None
        return None
    bucket = _bucket(row)
    uow.memo[("s3-bucket", name)] = bucket
    return bucket, int(row.next_seq)


# --- object versions ----------------------------------------------------------------------------------


def _parts(row: Any) -> tuple[Part, ...]:
    blobs = _load(row.blobs, [])
    extra = _load(row.parts, None)
    # listings leave the body column out (they read no body)
    body = getattr(row, "body", None)
    out = []
    for index, (blob_id, size) in enumerate(blobs):
        md5, checksum = (extra[index] if extra and index < len(extra) else (None, None))
        out.append(Part(blob_id, int(size), md5 or "", checksum, bytes(body) if body is not None else None))
    return tuple(out)


def _version(row: Any) -> ObjectVersion:
    protection = None
    if row.sse_algorithm and row.sealed_key is not None:
        protection = Protection(row.sse_algorithm, row.key_id, bytes(row.sealed_key))
    return ObjectVersion(
        bucket=row.bucket, key=key_text(row.key), version_id=row.version_id, seq=int(row.seq),
        is_latest=bool(row.is_latest), is_delete_marker=bool(row.is_delete_marker), size=int(row.size),
        etag=row.etag, last_modified=row.last_modified, owner_account=row.owner_account,
        storage_class=row.storage_class, headers=_load(row.headers, {}), metadata=_load(row.metadata, {}),
        tags=dict(_load(row.tags, [])), checksum_algorithm=row.checksum_algorithm,
        checksum_value=row.checksum_value, checksum_type=row.checksum_type, protection=protection,
        parts=_parts(row), multipart=row.parts is not None, acl=_acl(row.acl))


def _columns(obj: ObjectVersion) -> dict[str, Any]:
    protection = obj.protection
    return dict(
        bucket=obj.bucket, key=key_bytes(obj.key), version_id=obj.version_id, seq=obj.seq, is_latest=obj.is_latest,
        is_delete_marker=obj.is_delete_marker, size=obj.size, etag=obj.etag, last_modified=obj.last_modified,
        owner_account=obj.owner_account, storage_class=obj.storage_class, headers=_json(dict(obj.headers)),
        metadata=_json(dict(obj.metadata)), tags=_json(list(obj.tags.items())),
        checksum_algorithm=obj.checksum_algorithm, checksum_value=obj.checksum_value,
        checksum_type=obj.checksum_type,
        sse_algorithm=protection.sse_algorithm if protection else None,
        key_id=protection.key_id if protection else None,
        sealed_key=protection.sealed_key if protection else None,
        blobs=_compact([[p.blob_id, p.size] for p in obj.parts]) if obj.parts else None,
        body=obj.parts[0].data if len(obj.parts) == 1 else None,
        parts=json.dumps([[p.md5, p.checksum] for p in obj.parts]) if obj.multipart else None,
        acl=_acl_text(obj.acl))


#: every column but the body: what listings read
_LISTED = tuple(c for c in s3_objects.c if c.name != "body")
_LATEST = select(s3_objects).where(and_(_O.bucket == bindparam("bucket"), _O.key == bindparam("key"),
                                        _O.is_latest.is_(True)))
_VERSION = select(s3_objects).where(and_(_O.bucket == bindparam("bucket"), _O.key == bindparam("key"),
                                         _O.version_id == bindparam("version_id")))


#: the object columns of a joined bucket-and-object row (labelled ``o_<column>``, after the
#: bucket's columns), as a row under their own names
_ObjectRow = collections.namedtuple("_ObjectRow", [c.name for c in s3_objects.c])  # type: ignore[misc]
_OBJECT_COLUMNS_AT = len(s3_buckets.c)


_BUCKET_AND_LATEST = select(*s3_buckets.c, *(c.label(f"o_{c.name}") for c in s3_objects.c)).select_from(
    s3_buckets.outerjoin(s3_objects, and_(_O.bucket == _B.name, _O.key == bindparam("key"),
                                          _O.is_latest.is_(True)))).where(_B.name == bindparam("name"))


def prefetch_bucket_and_latest(uow: Any, bucket: str, key: str) -> None:
    """Read a bucket and the current version of one of its keys in one statement, into the unit
    of work's memo, where ``get_bucket`` and ``latest`` find them (a GET or HEAD reads both)."""
    if ("s3-bucket", bucket) in uow.memo or ("s3-latest", bucket, key) in uow.memo:
        return
    row = uow.run(_BUCKET_AND_LATEST, {"name": bucket, "key": key_bytes(key)}).first()
    if row is None:
        uow.memo[("s3-bucket", bucket)] = None
        return
    uow.memo[("s3-bucket", bucket)] = _bucket(row)
    found = _version(_ObjectRow._make(row[_OBJECT_COLUMNS_AT:])) if row.o_bucket is not None else None
    uow.memo[("s3-latest", bucket, key)] = found


def latest(uow: Any, bucket: str, key: str) -> ObjectVersion | None:
    """The current version of a key (possibly a delete marker), or None."""
    memo_key = ("s3-latest", bucket, key)
    if memo_key in uow.memo:
        return uow.memo[memo_key]
    row = uow.run(_LATEST, {"bucket": bucket, "key": key_bytes(key)}).first()
    found = _version(row) if row is not None else None
    uow.memo[memo_key] = found
    return found


def version(uow: Any, bucket: str, key: str, version_id: str) -> ObjectVersion | None:
    memo_key = ("s3-version", bucket, key, version_id)
    if memo_key in uow.memo:
        return uow.memo[memo_key]
    row = uow.run(_VERSION, {"bucket": bucket, "key": key_bytes(key), "version_id": version_id}).first()
    found = _version(row) if row is not None else None
    uow.memo[memo_key] = found
    return found


def next_seq(uow: Any, bucket: str) -> int:
    return _bump(uow, bucket)


def add_version(uow: Any, obj: ObjectVersion, *, replaces_null: bool, only_null: bool = False) -> list[str]:
    """Store a new current version of its key (``obj.seq`` from ``next_seq``). With
    ``replaces_null`` (unversioned or suspended bucket) an existing null version is removed
    first; ``only_null`` says the bucket never had versioning, so the null version was the only
    one and no other is current. Returns the blobs that are no longer referenced."""
    gone: list[str] = []
    raw = key_bytes(obj.key)
    if replaces_null:
        for row in uow.run(_DELETE_NULL, {"b_bucket": obj.bucket, "b_key": raw}):
            if row.inline_size is None:
                gone += [blob_id for blob_id, _ in _load(row.blobs, [])]
    if not only_null:
        uow.run(_UNSET_LATEST, {"b_bucket": obj.bucket, "b_key": raw})
    uow.insert_many(s3_objects, [_columns(obj)])
    # a single-part body written as a file (not kept in the row) for this version: its journal
    # entry ends with this commit (a completed upload's parts were settled by UploadPart)
    if len(obj.parts) == 1 and obj.parts[0].data is None:
        blob_journal.settle(uow, [obj.parts[0].blob_id])
    return gone


_DELETE_NULL = delete(s3_objects).where(and_(_O.bucket == bindparam("b_bucket"), _O.key == bindparam("b_key"),
                                             _O.version_id == "null")).returning(
    _O.blobs, func.length(_O.body).label("inline_size"))       # NULL: the body was a file
_UNSET_LATEST = update(s3_objects).where(and_(_O.bucket == bindparam("b_bucket"), _O.key == bindparam("b_key"),
                                              _O.is_latest.is_(True))).values(is_latest=False)


def remove_version(uow: Any, obj: ObjectVersion) -> list[str]:
    """Delete one version for good; when it was current, the newest remaining one becomes
    current. Returns its blobs."""
    raw = key_bytes(obj.key)
    uow.execute(delete(s3_objects).where(and_(_O.bucket == obj.bucket, _O.key == raw,
                                              _O.version_id == obj.version_id)))
    if obj.is_latest:
        newest = uow.execute(select(_O.version_id).where(and_(_O.bucket == obj.bucket, _O.key == raw))
                             .order_by(_O.seq.desc()).limit(1)).scalar()
        if newest is not None:
            uow.execute(update(s3_objects).where(and_(_O.bucket == obj.bucket, _O.key == raw,
                                                      _O.version_id == newest)).values(is_latest=True))
    return list(obj.blob_ids)


def set_object_tags(uow: Any, obj: ObjectVersion, tags: Mapping[str, str]) -> None:
    uow.execute(update(s3_objects).where(and_(_O.bucket == obj.bucket, _O.key == key_bytes(obj.key),
                                              _O.version_id == obj.version_id))
                .values(tags=_json(list(tags.items()))))


def scan_latest(uow: Any, bucket: str, *, prefix: str, after: bytes | None, batch: int) -> Iterator[ObjectVersion]:
    """Current versions (delete markers included) with keys after ``after``, in key order."""
    cursor = after
    while True:
        query = select(*_LISTED).where(and_(_O.bucket == bucket, _O.is_latest.is_(True)))
        query = _key_range(query, prefix, cursor, inclusive=False)
        rows = uow.execute(query.order_by(_O.key).limit(batch)).all()
        for row in rows:
            yield _version(row)
        if len(rows) < batch:
            return
        cursor = bytes(rows[-1].key)


def seek_latest(uow: Any, bucket: str, *, prefix: str, at_or_after: bytes, batch: int) -> Iterator[ObjectVersion]:
    """Like ``scan_latest`` from the first key >= ``at_or_after``."""
    query = select(*_LISTED).where(and_(_O.bucket == bucket, _O.is_latest.is_(True)))
    query = _key_range(query, prefix, at_or_after, inclusive=True)
    rows = uow.execute(query.order_by(_O.key).limit(batch)).all()
    for row in rows:
        yield _version(row)
    if len(rows) == batch:
        yield from scan_latest(uow, bucket, prefix=prefix, after=bytes(rows[-1].key), batch=batch)


def scan_versions(uow: Any, bucket: str, *, prefix: str, start: bytes | None, inclusive: bool,
                  batch: int) -> Iterator[ObjectVersion]:
    """Every version in (key asc, newest first) order, from the key ``start``."""
    cursor, include = start, inclusive
    while True:
        query = select(*_LISTED).where(_O.bucket == bucket)
        query = _key_range(query, prefix, cursor, inclusive=include)
        # whole keys at a time: the next batch starts after the last complete key
        keys = [bytes(r.key) for r in uow.execute(
            query.with_only_columns(_O.key).distinct().order_by(_O.key).limit(batch)).all()]
        if not keys:
            return
        rows = uow.execute(select(*_LISTED).where(and_(_O.bucket == bucket, _O.key.in_(keys)))
                           .order_by(_O.key, _O.seq.desc())).all()
        for row in rows:
            yield _version(row)
        if len(keys) < batch:
            return
        cursor, include = keys[-1], False


def _key_range(query: Any, prefix: str, cursor: bytes | None, *, inclusive: bool) -> Any:
    if prefix:
        low = key_bytes(prefix)
        query = query.where(_O.key >= low)
        high = successor(low)
        if high is not None:
            query = query.where(_O.key < high)
    if cursor is not None:
        query = query.where(_O.key >= cursor if inclusive else _O.key > cursor)
    return query


def successor(prefix: bytes) -> bytes | None:
    """The smallest byte string greater than every string starting with ``prefix`` (None: none)."""
    raw = bytearray(prefix)
    while raw:
        if raw[-1] < 0xFF:
            raw[-1] += 1
            return bytes(raw)
        raw.pop()
    return None


# --- multipart uploads -----------------------------------------------------------------------------


def _upload(row: Any) -> Upload:
    return Upload(upload_id=row.upload_id, bucket=row.bucket, key=key_text(row.key), initiated=row.initiated,
                  initiator_arn=row.initiator_arn, initiator_id=row.initiator_id,
                  owner_account=row.owner_account, storage_class=row.storage_class,
                  headers=_load(row.headers, {}), metadata=_load(row.metadata, {}),
                  tags=dict(_load(row.tags, [])), checksum_algorithm=row.checksum_algorithm,
                  checksum_type=row.checksum_type,
                  protection=Protection(row.sse_algorithm, row.key_id, bytes(row.sealed_key)), acl=_acl(row.acl))


def add_upload(uow: Any, upload: Upload) -> None:
    uow.execute(insert(s3_uploads).values(
        upload_id=upload.upload_id, bucket=upload.bucket, key=key_bytes(upload.key), initiated=upload.initiated,
        initiator_arn=upload.initiator_arn, initiator_id=upload.initiator_id, owner_account=upload.owner_account,
        storage_class=upload.storage_class, headers=_json(dict(upload.headers)),
        metadata=_json(dict(upload.metadata)), tags=_json(list(upload.tags.items())),
        checksum_algorithm=upload.checksum_algorithm, checksum_type=upload.checksum_type,
        sse_algorithm=upload.protection.sse_algorithm, key_id=upload.protection.key_id,
        sealed_key=upload.protection.sealed_key, acl=_acl_text(upload.acl)))


def get_upload(uow: Any, bucket: str, key: str, upload_id: str) -> Upload | None:
    row = uow.execute(select(s3_uploads).where(and_(_U.upload_id == upload_id, _U.bucket == bucket,
                                                    _U.key == key_bytes(key)))).first()
    return _upload(row) if row is not None else None


def lock_upload(uow: Any, upload_id: str) -> None:
    """Serialize writers of one upload (PostgreSQL row lock; SQLite writers are serial)."""
    uow.execute(update(s3_uploads).where(_U.upload_id == upload_id).values(initiated=_U.initiated))


def record_completion(uow: Any, upload_id: str, bucket: str, key: str, at: Any, result: Mapping[str, Any]) -> None:
    """What CompleteMultipartUpload answered, for a repeat of the same request."""
    uow.execute(insert(s3_completed_uploads).values(upload_id=upload_id, bucket=bucket, key=key_bytes(key),
                                                    completed_at=at, result=json.dumps(dict(result))))


def completion(uow: Any, bucket: str, key: str, upload_id: str) -> dict[str, Any] | None:
    """The answer of an upload already completed to this bucket and key, or None."""
    c = s3_completed_uploads.c
    row = uow.execute(select(c.result).where(and_(c.upload_id == upload_id, c.bucket == bucket,
                                                  c.key == key_bytes(key)))).first()
    return json.loads(row.result) if row is not None else None


def delete_upload(uow: Any, upload_id: str) -> list[str]:
    blobs = [r.blob_id for r in uow.execute(select(_P.blob_id).where(_P.upload_id == upload_id))]
    uow.execute(delete(s3_upload_parts).where(_P.upload_id == upload_id))
    uow.execute(delete(s3_uploads).where(_U.upload_id == upload_id))
    return blobs


def _part(row: Any) -> UploadedPart:
    return UploadedPart(upload_id=row.upload_id, part_number=int(row.part_number), blob_id=row.blob_id,
                        size=int(row.size), md5=row.md5, last_modified=row.last_modified,
                        checksum_value=row.checksum_value)


def put_part(uow: Any, part: UploadedPart) -> list[str]:
    """Store a part, replacing one of the same number; returns the replaced blob."""
    old = uow.execute(select(_P.blob_id).where(and_(_P.upload_id == part.upload_id,
                                                    _P.part_number == part.part_number))).scalar()
    if old is not None:
        uow.execute(delete(s3_upload_parts).where(and_(_P.upload_id == part.upload_id,
                                                       _P.part_number == part.part_number)))
    uow.execute(insert(s3_upload_parts).values(
        upload_id=part.upload_id, part_number=part.part_number, blob_id=part.blob_id, size=part.size,
        md5=part.md5, last_modified=part.last_modified, checksum_value=part.checksum_value))
    blob_journal.settle(uow, [part.blob_id])        # the part's file is referenced from this commit
    return [old] if old is not None else []


def parts_of(uow: Any, upload_id: str, *, after: int = 0, limit: int | None = None) -> list[UploadedPart]:
    query = select(s3_upload_parts).where(and_(_P.upload_id == upload_id, _P.part_number > after)) \
        .order_by(_P.part_number)
    if limit is not None:
        query = query.limit(limit)
    return [_part(r) for r in uow.execute(query)]


def scan_uploads(uow: Any, bucket: str, *, prefix: str, key_marker: str | None,
                 upload_marker: str | None, batch: int) -> Iterator[Upload]:
    """Uploads in (key, initiated, upload id) order after the markers."""
    query = select(s3_uploads).where(_U.bucket == bucket)
    if prefix:
        low = key_bytes(prefix)
        query = query.where(_U.key >= low)
        high = successor(low)
        if high is not None:
            query = query.where(_U.key < high)
    if key_marker is not None:
        raw = key_bytes(key_marker)
        if upload_marker:
            marker_row = uow.execute(select(_U.initiated).where(and_(_U.upload_id == upload_marker,
                                                                     _U.key == raw))).first()
            if marker_row is not None:
                query = query.where(or_(_U.key > raw, and_(_U.key == raw, or_(
                    _U.initiated > marker_row.initiated,
                    and_(_U.initiated == marker_row.initiated, _U.upload_id > upload_marker)))))
            else:
                query = query.where(_U.key > raw)
        else:
            query = query.where(_U.key > raw)
    for row in uow.execute(query.order_by(_U.key, _U.initiated, _U.upload_id).limit(batch)):
        yield _upload(row)


def count_uploads(uow: Any, bucket: str) -> int:
    return int(uow.execute(select(func.count()).select_from(s3_uploads).where(_U.bucket == bucket)).scalar_one())


# --- canonical user ids ---------------------------------------------------------------------------


def canonical_id(uow: Any, account_id: str) -> str | None:
    memo_key = ("s3-canonical", account_id)
    if memo_key in uow.memo:
        return uow.memo[memo_key]
    found = uow.execute(select(s3_canonical_users.c.canonical_id)
                        .where(s3_canonical_users.c.account_id == account_id)).scalar()
    uow.memo[memo_key] = found
    return found


def add_canonical_id(uow: Any, account_id: str, canonical: str) -> None:
    uow.execute(insert(s3_canonical_users).values(account_id=account_id, canonical_id=canonical))


def account_of_canonical(uow: Any, canonical: str) -> str | None:
    """The account whose canonical user id this is, or None."""
    return uow.execute(select(s3_canonical_users.c.account_id)
                       .where(s3_canonical_users.c.canonical_id == canonical)).scalar()


def set_object_acl(uow: Any, obj: ObjectVersion, grants: Any) -> None:
    uow.execute(update(s3_objects).where(and_(_O.bucket == obj.bucket, _O.key == key_bytes(obj.key),
                                              _O.version_id == obj.version_id)).values(acl=_acl_text(grants)))


# --- account-level Block Public Access (S3 Control) ------------------------------------------------

_APAB = s3_account_public_access_blocks.c


def account_public_access_block(uow: Any, account_id: str) -> dict[str, bool] | None:
    memo_key = ("s3-account-pab", account_id)
    if memo_key in uow.memo:
        return uow.memo[memo_key]
    text = uow.execute(select(_APAB.config).where(_APAB.account_id == account_id)).scalar()
    found = json.loads(text) if text else None
    uow.memo[memo_key] = found
    return found


def put_account_public_access_block(uow: Any, account_id: str, config: Mapping[str, bool] | None) -> None:
    uow.execute(delete(s3_account_public_access_blocks).where(_APAB.account_id == account_id))
    if config is not None:
        uow.execute(insert(s3_account_public_access_blocks).values(account_id=account_id,
                                                                   config=json.dumps(dict(config))))
