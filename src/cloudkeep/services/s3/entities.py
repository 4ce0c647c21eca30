"""S3's entities: buckets, object versions (delete markers included), multipart uploads and
their parts, as frozen values. Rows become entities in ``repository.py`` only.

Must not: do I/O; hold rules (``domain.py``).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any, Mapping


@dataclass(frozen=True, slots=True)
class Bucket:
    name: str
    account_id: str
    region: str
    location_constraint: str | None
    created_at: _dt.datetime
    versioning: str | None                      # None (never enabled), "Enabled", "Suspended"
    policy: str | None
    tags: Mapping[str, str]
    encryption: Mapping[str, Any]
    object_ownership: str
    #: the bucket ACL's grants (services/s3/acl.py); None: the owner's FULL_CONTROL only
    acl: "tuple[tuple[str, str, str], ...] | None" = None
    #: the bucket's Block Public Access settings; None: none configured
    public_access_block: "Mapping[str, bool] | None" = None


@dataclass(frozen=True, slots=True)
class Protection:
    """How an object's (or upload's) data key is kept: ``sse_algorithm`` names the scheme
    ("AES256": SSE-S3, the key sealed under the root of trust); ``key_id`` binds the sealed key
    to its row; ``sealed_key`` is the protected key."""

    sse_algorithm: str
    key_id: str
    sealed_key: bytes


@dataclass(frozen=True, slots=True)
class Part:
    """A completed object's part: its blob, plaintext size, MD5 (hex) and checksum (base64)."""

    blob_id: str
    size: int
    md5: str
    checksum: str | None = None
    #: the encrypted blob itself when it is kept in the version's row (a small single-part body,
    #: ``domain.INLINE_MAX``), not as a file of the blob store
    data: bytes | None = None


@dataclass(frozen=True, slots=True)
class ObjectVersion:
    bucket: str
    key: str
    version_id: str                             # "null" for the null version
    seq: int
    is_latest: bool
    is_delete_marker: bool
    size: int
    etag: str | None
    last_modified: _dt.datetime
    owner_account: str
    storage_class: str = "STANDARD"
    headers: Mapping[str, Any] = field(default_factory=dict)
    metadata: Mapping[str, str] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    checksum_algorithm: str | None = None
    checksum_value: str | None = None
    checksum_type: str | None = None
    protection: Protection | None = None
    #: the body's blobs in order; one per part for a multipart upload
    parts: tuple[Part, ...] = ()
    multipart: bool = False
    #: the object ACL's grants (services/s3/acl.py); None: the owner's FULL_CONTROL only
    acl: "tuple[tuple[str, str, str], ...] | None" = None

    @property
    def blob_ids(self) -> tuple[str, ...]:
        """The blob store's files of the body (none for a body kept in the row)."""
        return tuple(p.blob_id for p in self.parts if p.data is None)


@dataclass(frozen=True, slots=True)
class Upload:
    upload_id: str
    bucket: str
    key: str
    initiated: _dt.datetime
    initiator_arn: str
    initiator_id: str
    owner_account: str
    storage_class: str
    headers: Mapping[str, Any]
    metadata: Mapping[str, str]
    tags: Mapping[str, str]
    checksum_algorithm: str | None
    checksum_type: str | None
    protection: Protection
    acl: "tuple[tuple[str, str, str], ...] | None" = None


@dataclass(frozen=True, slots=True)
class UploadedPart:
    upload_id: str
    part_number: int
    blob_id: str
    size: int
    md5: str                                    # hex
    last_modified: _dt.datetime
    checksum_value: str | None = None

    @property
    def etag(self) -> str:
        return f'"{self.md5}"'
