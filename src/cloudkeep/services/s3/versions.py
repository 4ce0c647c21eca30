"""Versioning semantics, shared by every operation that writes or deletes an object version.

- Unversioned bucket (versioning never enabled) and Suspended: a write makes the "null" version,
  replacing the one there was; Enabled: a write adds a version with a new id.
- DELETE without a version id: unversioned, the null version goes away; Enabled, a delete
  marker with a new id becomes current; Suspended, the null version goes away and a delete
  marker with version id "null" becomes current.
- DELETE with a version id removes that version for good; when it was current, the newest
  remaining version becomes current.
https://docs.aws.amazon.com/AmazonS3/latest/userguide/Versioning.html,
https://docs.aws.amazon.com/AmazonS3/latest/userguide/DeletingObjectVersions.html

Every write first takes the bucket row (``repository.next_seq``), then reads the key's current
version, so conditional writes decide on what the write replaces.

Must not: know the wire (operations build responses).
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any, Callable

from cloudkeep.services.framework import Call

from . import domain as D
from . import errors as X
from . import repository as repo
from .bodies import delete_after_commit
from .common import now
from .entities import Bucket, ObjectVersion

_VERSION_ID = re.compile(r"[A-Za-z0-9._\-]{1,64}")


def check_version_id(version_id: str) -> None:
    """A version id this server could have issued ("null" or ours), else InvalidArgument."""
    if version_id == "":
        raise X.invalid_argument("Version id cannot be the empty string", "versionId", version_id)
    if version_id != D.NULL_VERSION and _VERSION_ID.fullmatch(version_id) is None:
        raise X.invalid_argument("Invalid version id specified", "versionId", version_id)


def version_header(bucket: Bucket, obj: ObjectVersion) -> str | None:
    """x-amz-version-id: the version's id once the bucket has (or had) versioning."""
    return obj.version_id if bucket.versioning is not None else None


def new_version_id(call: Call, bucket: Bucket) -> str:
    """The id a write to ``bucket`` gives its new version: a new one while versioning is
    Enabled, else "null"."""
    return D.new_version_id(call.ids.token_bytes(24)) if bucket.versioning == "Enabled" else D.NULL_VERSION


def write(call: Call, bucket: Bucket, obj: ObjectVersion,
          precheck: Callable[[ObjectVersion | None], None] | None = None, *, seq: int | None = None,
          version_id: str | None = None) -> ObjectVersion:
    """Store ``obj`` as the key's new current version; ``precheck`` sees the version it replaces
    (conditional writes) once the bucket is locked. ``seq``: the sequence number the caller took
    with the bucket's lock (``common.lock_bucket``); else this takes the lock and one.
    ``version_id``: the id the caller took with ``new_version_id`` (else this takes one); a
    version made with both already is stored as it is."""
    if seq is None:
        seq = repo.next_seq(call.uow, bucket.name)
    if precheck is not None:
        precheck(repo.latest(call.uow, bucket.name, obj.key))
    enabled = bucket.versioning == "Enabled"
    if version_id is None:
        version_id = new_version_id(call, bucket)
    stored = (obj if obj.version_id == version_id and obj.seq == seq and obj.is_latest
              else replace(obj, version_id=version_id, seq=seq, is_latest=True))
    delete_after_commit(call, repo.add_version(call.uow, stored, replaces_null=not enabled,
                                               only_null=bucket.versioning is None))
    return stored


def delete_current(call: Call, bucket: Bucket, key: str) -> ObjectVersion | None:
    """DELETE without a version id; returns the delete marker made (None: none)."""
    repo.next_seq(call.uow, bucket.name)            # the bucket's lock first, as every write
    if bucket.versioning is None:
        current = repo.version(call.uow, bucket.name, key, D.NULL_VERSION)
        if current is not None:
            delete_after_commit(call, repo.remove_version(call.uow, current))
        return None
    marker = ObjectVersion(bucket=bucket.name, key=key, version_id="", seq=0, is_latest=True,
                           is_delete_marker=True, size=0, etag=None, last_modified=now(call),
                           owner_account=bucket.account_id)
    return write(call, bucket, marker)


def delete_version(call: Call, bucket: Bucket, key: str, version_id: str) -> ObjectVersion | None:
    """DELETE of one version; returns what was deleted (None: there was no such version)."""
    check_version_id(version_id)
    repo.next_seq(call.uow, bucket.name)
    found = repo.version(call.uow, bucket.name, key, version_id)
    if found is None:
        return None
    delete_after_commit(call, repo.remove_version(call.uow, found))
    return found


def read_target(call: Call, bucket: Bucket, key: str, version_id: str | None) -> ObjectVersion:
    """The version a read names, or S3's error: NoSuchVersion (or InvalidArgument) for a version
    id, 405 MethodNotAllowed for a delete marker named by id, NoSuchKey (with the delete
    marker's headers when the current version is one) for the current version. The 403-or-404
    question for a missing key is the caller's (``missing``)."""
    if version_id is not None:
        check_version_id(version_id)
        found = repo.version(call.uow, bucket.name, key, version_id)
        if found is None:
            raise X.no_such_version(key, version_id)
        if found.is_delete_marker:
            raise X.MethodNotAllowed(X.MethodNotAllowed.MESSAGE, extra={
                "Method": "GET", "ResourceType": "DeleteMarker"}, headers={
                "x-amz-delete-marker": "true", "x-amz-version-id": found.version_id, "Allow": "DELETE",
                "Last-Modified": found.last_modified.strftime("%a, %d %b %Y %H:%M:%S GMT")})
        return found
    found = repo.latest(call.uow, bucket.name, key)
    if found is None or found.is_delete_marker:
        raise Missing(found)
    return found


class Missing(Exception):
    """The key has no current version (``marker``: the delete marker that is current, if any)."""

    def __init__(self, marker: ObjectVersion | None) -> None:
        super().__init__("missing")
        self.marker = marker


def missing_error(call: Call, bucket: Bucket, key: str, marker: ObjectVersion | None,
                  list_bucket: Any) -> Exception:
    """404 NoSuchKey for a caller allowed s3:ListBucket on the bucket, else 403 AccessDenied
    (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html, "Permissions")."""
    authorizer = call.authorizer
    denied = (authorizer.check(list_bucket, {"Bucket": bucket.name}) if authorizer is not None
              else X.access_denied())
    if denied is not None:
        return denied
    return X.no_such_key(key, delete_marker=marker.version_id if marker is not None and bucket.versioning
                         else None)
