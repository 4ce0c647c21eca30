"""The resource policy S3 hands the policy engine for a bucket or object check: the bucket
policy and the ACLs' grants as synthetic Allow statements (``acl.statements``), with Block
Public Access applied at request time, in the bucket-owner or the object-owner context.

- ACLs count only when Object Ownership is not BucketOwnerEnforced ("ACLs are disabled and no
  longer affect permissions": https://docs.aws.amazon.com/AmazonS3/latest/userguide/about-object-ownership.html).
- IgnorePublicAcls drops the grants to AllUsers and AuthenticatedUsers; RestrictPublicBuckets,
  when the bucket policy is public, keeps only its Deny statements for callers that are neither
  AWS services nor principals of the bucket owner's account.
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html
- An object owned by another account than the bucket's is authorized in its owner's context:
  the object's ACL grants, the bucket policy only denies (a bucket owner's explicit deny always
  applies; its allows cannot grant what it does not own).
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-auth-workflow-object-operation.html

Grants to the resource owner's own account are left out: they allow nothing its IAM does not.

Must not: decide (the engine does), write storage.
"""

from __future__ import annotations

import json
from typing import Any

from cloudkeep.auth.principal import PrincipalType
from cloudkeep.services.framework import AuthzContext

from . import acl as A
from . import domain as D
from . import public as P
from . import repository as repo
from .entities import Bucket, ObjectVersion


def acls_enabled(bucket: Bucket) -> bool:
    return bucket.object_ownership != D.BUCKET_OWNER_ENFORCED


def object_owner(bucket: Bucket, obj: ObjectVersion) -> str:
    """Who owns an object: under BucketOwnerEnforced the bucket owner owns every object."""
    return obj.owner_account if acls_enabled(bucket) else bucket.account_id


def block_settings(uow: Any, bucket: Bucket) -> dict[str, bool]:
    """The effective Block Public Access settings of a bucket (bucket OR account)."""
    return P.effective(bucket.public_access_block, repo.account_public_access_block(uow, bucket.account_id))


def _statements(text: str | None) -> tuple[str, list[dict[str, Any]]]:
    if not text:
        return "2012-10-17", []
    document = json.loads(text)
    found = document.get("Statement", [])
    return document.get("Version", "2012-10-17"), list(found if isinstance(found, list) else [found])


def _acl_statements(grants: A.Grants | None, *, resource_owner: str, bucket: Bucket, bucket_level: bool,
                    ctx: AuthzContext, settings: Any) -> list[dict[str, Any]]:
    others = [g for g in grants or () if not (g[0] == A.ACCOUNT and g[1] == resource_owner)]
    if not others:
        return []
    ignore = any(g[0] == A.GROUP and g[1] in A.PUBLIC_GROUPS for g in others) and settings()["IgnorePublicAcls"]
    return A.statements(others, bucket=bucket_level, bucket_owner=bucket.account_id, partition=ctx.partition,
                        ignore_public=ignore)


def resource_policy(ctx: AuthzContext, uow: Any, bucket: Bucket, obj: ObjectVersion | None) -> tuple[str, str] | None:
    """(name, JSON) of the policy the engine evaluates as the resource policy, or None. The
    bucket policy is handed over as stored unless ACLs, Block Public Access or the object-owner
    context change it (the common case costs no parsing and no extra read)."""
    cache: dict[str, dict[str, bool]] = {}

    def settings() -> dict[str, bool]:
        if "s" not in cache:
            cache["s"] = block_settings(uow, bucket)
        return cache["s"]

    principal = ctx.principal
    restrict = bool(bucket.policy and principal.account_id != bucket.account_id
                    and principal.type is not PrincipalType.AWS_SERVICE
                    and P.policy_is_public(bucket.policy) and settings()["RestrictPublicBuckets"])
    other_owner = (obj is not None and acls_enabled(bucket) and object_owner(bucket, obj) != bucket.account_id)
    extra: list[dict[str, Any]] = []
    if acls_enabled(bucket):
        if obj is not None and other_owner:
            owner = object_owner(bucket, obj)
            extra = _acl_statements(A.grants_of(obj.acl, owner), resource_owner=owner, bucket=bucket,
                                    bucket_level=False, ctx=ctx, settings=settings)
        else:
            extra = _acl_statements(bucket.acl, resource_owner=bucket.account_id, bucket=bucket,
                                    bucket_level=True, ctx=ctx, settings=settings)
            if obj is not None:
                extra += _acl_statements(obj.acl, resource_owner=bucket.account_id, bucket=bucket,
                                         bucket_level=False, ctx=ctx, settings=settings)
    if not extra and not restrict and not other_owner:
        return (f"bucket policy of {bucket.name}", bucket.policy) if bucket.policy else None
    version, statements = _statements(bucket.policy)
    if restrict or other_owner:         # only the bucket policy's denials still apply
        statements = [s for s in statements if s.get("Effect") == "Deny"]
    if not statements and not extra:
        return None
    name = f"bucket policy and ACLs of {bucket.name}" if extra else f"bucket policy of {bucket.name}"
    return (name, json.dumps({"Version": version, "Statement": statements + extra}, sort_keys=True,
                             separators=(",", ":")))


def resource_owner(bucket: Bucket, obj: ObjectVersion | None) -> str:
    """The account whose context decides: the object's owner for an object of another account."""
    return object_owner(bucket, obj) if obj is not None else bucket.account_id
