"""S3's authorization table: every implemented operation's IAM action, resource and condition
keys, with the bucket policy as the resource policy.

Actions, resource types and condition keys from the Service Authorization Reference
(https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html), checked
by tests/test_authz_table.py; which action each operation needs from
https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-with-s3-policy-actions.html.

- Buckets are private by default: the owner account's principals need an IAM allow (its root
  user needs none); other accounts' principals and anonymous callers need the bucket policy to
  allow them — and, for principals, their own account's IAM policies too (spec §2.3). Bucket
  policies are not mandatory resource policies (unlike KMS key policies).
- A bucket ARN has no account field: ``resource_owner`` gives the engine the bucket owner's
  account, so aws:ResourceAccount, cross-account evaluation, RCPs and audit copies are right.
- Resolving the bucket comes first: a bucket that does not exist is NoSuchBucket whoever asks;
  a request signed for another region than the bucket's is redirected (PermanentRedirect 301,
  or AuthorizationHeaderMalformed 400 through the us-east-1 endpoint, with x-amz-bucket-region);
  x-amz-expected-bucket-owner naming another account is 403 AccessDenied.
  https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadBucket.html,
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-owner-condition.html
- Reads of a version (versionId) need the *Version actions (s3:GetObjectVersion, …).
- GetObject/HeadObject of a missing key answer 404 only to callers with s3:ListBucket, else
  403: the operation asks ``LIST_BUCKET`` through ``Call.authorizer``; DeleteObjects asks
  s3:DeleteObject / s3:DeleteObjectVersion per key the same way.

Must not: hold rules beyond how a request names its resources.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable, Mapping
from urllib.parse import unquote

from cloudkeep.auth.principal import PrincipalType
from cloudkeep.services.framework import AuthzContext, Check

from . import access
from . import domain as D
from . import errors as X
from . import post_form
from . import repository as repo
from .entities import Bucket, ObjectVersion

Keys = Mapping[str, tuple[str, ...]]

COMMON = ("s3:ResourceAccount", "s3:TlsVersion", "s3:authType", "s3:signatureAge", "s3:signatureversion",
          "s3:x-amz-content-sha256")
LIST_KEYS = ("s3:prefix", "s3:delimiter", "s3:max-keys")
EXISTING_TAG = "s3:ExistingObjectTag/<key>"
REQUEST_TAGS = ("s3:RequestObjectTag/<key>", "s3:RequestObjectTagKeys")
VERSION_ID = "s3:versionid"


# --- what a request names --------------------------------------------------------------------------


def _bucket_param(ctx: AuthzContext) -> str:
    return ctx.params.get("Bucket") or "*"


def _key_param(ctx: AuthzContext) -> str:
    return ctx.params.get("Key") or "*"


def parse_copy_source(value: str) -> tuple[str, str, str | None]:
    """x-amz-copy-source: "bucket/key" or "/bucket/key", URL-encoded, optionally
    "?versionId=…" → (bucket, key, version id). InvalidArgument when it names no object.
    https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html"""
    raw = value.strip()
    version = None
    if "?versionId=" in raw:
        raw, _, version = raw.partition("?versionId=")
        version = unquote(version)
    try:
        text = unquote(raw, errors="strict")
    except UnicodeDecodeError:
        text = ""
    text = text[1:] if text.startswith("/") else text
    bucket, slash, key = text.partition("/")
    if not bucket or not slash or not key or (version is not None and not version):
        raise X.invalid_argument("Invalid copy source object key", "x-amz-copy-source", value)
    return bucket, key, version


def copy_source(ctx: AuthzContext) -> tuple[str, str, str | None]:
    source = ctx.params.get("CopySource")
    if not source:
        return "*", "*", None
    return parse_copy_source(source)


# --- resolving the bucket ---------------------------------------------------------------------------


def _redirect(ctx: AuthzContext, bucket: Bucket) -> Exception:
    """S3's answer to a request signed for another region than the bucket's."""
    headers = {"x-amz-bucket-region": bucket.region}
    signed = ctx.signed
    if signed is not None and getattr(signed, "form", None) == "query":
        return X.AuthorizationQueryParametersError(
            f"Error parsing the X-Amz-Credential parameter; the region '{ctx.region}' is wrong; expecting "
            f"'{bucket.region}'", extra={"Region": bucket.region}, headers=headers)
    if ctx.region == D.US_EAST_1:
        return X.AuthorizationHeaderMalformed(
            f"The authorization header is malformed; the region '{ctx.region}' is wrong; expecting "
            f"'{bucket.region}'", extra={"Region": bucket.region}, headers=headers)
    return X.PermanentRedirect(X.PermanentRedirect.MESSAGE, headers=headers, extra={
        "Bucket": bucket.name, "Endpoint": f"{bucket.name}.s3.{bucket.region}.amazonaws.com"})


def resolve(ctx: AuthzContext, name: str, *, check_region: bool = True,
            expected_owner: str | None = None) -> Bucket | None:
    """The bucket a request names (None where no unit of work runs), or S3's error: NoSuchBucket,
    a redirect to its region, AccessDenied for an unexpected owner."""
    if ctx.uow is None or name == "*":
        return None
    bucket = repo.get_bucket(ctx.uow, name)
    if bucket is None:
        raise X.no_such_bucket(name)
    signed = ctx.principal.type is not PrincipalType.ANONYMOUS
    if check_region and signed and ctx.region != bucket.region:
        raise _redirect(ctx, bucket)
    if expected_owner is not None and expected_owner != bucket.account_id:
        raise X.access_denied()
    return bucket


def _destination(ctx: AuthzContext, *, check_region: bool = True) -> Bucket | None:
    return resolve(ctx, _bucket_param(ctx), check_region=check_region,
                   expected_owner=ctx.params.get("ExpectedBucketOwner"))


def _source(ctx: AuthzContext) -> Bucket | None:
    bucket, _, _ = copy_source(ctx)
    # a copy may read from another region's bucket
    return resolve(ctx, bucket, check_region=False, expected_owner=ctx.params.get("ExpectedSourceBucketOwner"))


# --- context keys -----------------------------------------------------------------------------------


def _tls_version(ctx: AuthzContext) -> str | None:
    request = ctx.request
    if request is None or not getattr(request, "secure", False):
        return None
    version = dict(getattr(request, "tls", ()) or ()).get("tlsVersion", "")
    return version.removeprefix("TLSv") or None


def transport_keys(ctx: AuthzContext, owner: str | None) -> dict[str, tuple[str, ...]]:
    """s3:ResourceAccount, s3:authType, s3:signatureversion, s3:signatureAge, s3:TlsVersion,
    s3:x-amz-content-sha256 (https://docs.aws.amazon.com/AmazonS3/latest/API/bucket-policy-s3-sigv4-conditions.html)."""
    out: dict[str, tuple[str, ...]] = {}
    if owner:
        out["s3:ResourceAccount"] = (owner,)
    signed = ctx.signed
    if signed is not None:
        # "REST-HEADER", "REST-QUERY-STRING" or, for a browser form upload, "POST"
        out["s3:authType"] = ({"query": "REST-QUERY-STRING", "post": "POST"}.get(signed.form, "REST-HEADER"),)
        out["s3:signatureversion"] = ("AWS4-HMAC-SHA256",)
        moment = getattr(signed, "request_time", None)
        if moment is not None and ctx.now is not None:
            out["s3:signatureAge"] = (str(max(0, int((ctx.now - moment).total_seconds() * 1000))),)
    tls = _tls_version(ctx)
    if tls:
        out["s3:TlsVersion"] = (tls,)
    if ctx.request is not None:
        sha = ctx.request.header("x-amz-content-sha256")
        if sha:
            out["s3:x-amz-content-sha256"] = (sha,)
        referer = ctx.request.header("referer")
        if referer:
            out["aws:Referer"] = (referer,)       # a global key S3 fills from the Referer header
    return out


def _list_keys(ctx: AuthzContext) -> dict[str, tuple[str, ...]]:
    p = ctx.params
    out: dict[str, tuple[str, ...]] = {}
    if p.get("Prefix") is not None:
        out["s3:prefix"] = (p["Prefix"],)
    if p.get("Delimiter") is not None:
        out["s3:delimiter"] = (p["Delimiter"],)
    if p.get("MaxKeys") is not None:
        out["s3:max-keys"] = (str(p["MaxKeys"]),)
    return out


def _version_key(ctx: AuthzContext) -> dict[str, tuple[str, ...]]:
    version = ctx.params.get("VersionId")
    return {VERSION_ID: (version,)} if version else {}


def _request_tags(ctx: AuthzContext) -> dict[str, tuple[str, ...]]:
    """s3:RequestObjectTag/<key> and s3:RequestObjectTagKeys from x-amz-tagging or a Tagging body."""
    p = ctx.params
    tags: dict[str, str] = {}
    if isinstance(p.get("Tagging"), str):
        tags = D.tags_from_header(p["Tagging"])
    elif isinstance(p.get("Tagging"), Mapping):
        tags = dict(D.tag_set(p))
    out: dict[str, tuple[str, ...]] = {f"s3:RequestObjectTag/{k}": (v,) for k, v in tags.items()}
    if tags:
        out["s3:RequestObjectTagKeys"] = tuple(tags)
    return out


def target_object(ctx: AuthzContext) -> ObjectVersion | None:
    """The version a request names (its versionId, else the current one), without delete markers."""
    if ctx.uow is None or "Bucket" not in ctx.params or "Key" not in ctx.params:
        return None
    version = ctx.params.get("VersionId")
    found = (repo.version(ctx.uow, ctx.params["Bucket"], ctx.params["Key"], version) if version is not None
             else repo.latest(ctx.uow, ctx.params["Bucket"], ctx.params["Key"]))
    return None if found is None or found.is_delete_marker else found


def _existing_tags(ctx: AuthzContext, found: ObjectVersion | None) -> dict[str, tuple[str, ...]]:
    if found is None:
        return {}
    return {f"s3:ExistingObjectTag/{k}": (v,) for k, v in found.tags.items()}


# --- checks --------------------------------------------------------------------------------------------

Resolver = Callable[[AuthzContext], "Bucket | None"]
Extra = Callable[[AuthzContext], Keys]


def _check(action: str, resource: Callable[[AuthzContext], str], bucket: Resolver, *, keys: tuple[str, ...] = (),
           extra: Extra | None = None, applies: Callable[[AuthzContext], bool] | None = None,
           owner_root_exempt: bool = False, target: "Callable[[AuthzContext], ObjectVersion | None] | None" = None
           ) -> Check:
    """A check on a bucket or one of its objects: the bucket resolved first (its errors), the
    bucket policy as resource policy, the owner as resource account, S3's denial wording.
    ``owner_root_exempt``: the bucket policy does not bind the owner account's root user (S3's
    lock-out protection for Get/Put/DeleteBucketPolicy; SCPs still do)."""

    def owner(ctx: AuthzContext, uow: Any) -> str | None:
        found = bucket(ctx)
        if found is None:
            return None
        return access.resource_owner(found, target(ctx) if target is not None else None)

    def policy(ctx: AuthzContext, uow: Any) -> tuple[str, str] | None:
        found = bucket(ctx)
        if found is None:
            return None
        if (owner_root_exempt and ctx.principal.type is PrincipalType.ROOT
                and ctx.principal.account_id == found.account_id):
            return None
        return access.resource_policy(ctx, uow, found, target(ctx) if target is not None else None)

    def context(ctx: AuthzContext) -> Keys:
        found = bucket(ctx)
        out = transport_keys(ctx, found.account_id if found is not None else ctx.account_id)
        if extra is not None:
            out.update(extra(ctx))
        return out

    def arn(ctx: AuthzContext) -> str:
        if target is target_object and ctx.uow is not None and ctx.params.get("VersionId") is None:
            # the bucket and the key's current version in one statement (both are read next)
            name, key = ctx.params.get("Bucket"), ctx.params.get("Key")
            if isinstance(name, str) and isinstance(key, str):
                repo.prefetch_bucket_and_latest(ctx.uow, name, key)
        bucket(ctx)                   # NoSuchBucket, redirects and owner checks before any decision
        return resource(ctx)

    return Check(action, resource=arn, keys=(*COMMON, *keys), context=context, resource_policy=policy,
                 resource_owner=owner, applies=applies, denial_style="s3")


def bucket_arn(ctx: AuthzContext) -> str:
    return D.bucket_arn(ctx.partition, _bucket_param(ctx))


def object_arn(ctx: AuthzContext) -> str:
    return D.object_arn(ctx.partition, _bucket_param(ctx), _key_param(ctx))


def _source_arn(ctx: AuthzContext) -> str:
    bucket, key, _ = copy_source(ctx)
    return D.object_arn(ctx.partition, bucket, key)


def bucket_check(action: str, *, keys: tuple[str, ...] = (), extra: Extra | None = None,
                 check_region: bool = True, owner_root_exempt: bool = False) -> Check:
    return _check(action, bucket_arn, lambda ctx: _destination(ctx, check_region=check_region), keys=keys,
                  extra=extra, owner_root_exempt=owner_root_exempt)


def object_check(action: str, *, keys: tuple[str, ...] = (), extra: Extra | None = None,
                 applies: Callable[[AuthzContext], bool] | None = None, existing: bool = False) -> Check:
    """``existing``: the check acts on the object the request names (reads, ACLs, tags): its
    ACL takes part, and its owner's context decides when another account owns it."""
    return _check(action, object_arn, _destination, keys=keys, extra=extra, applies=applies,
                  target=target_object if existing else None)


def _unversioned(ctx: AuthzContext) -> bool:
    return ctx.params.get("VersionId") is None


def _versioned(ctx: AuthzContext) -> bool:
    return ctx.params.get("VersionId") is not None


def _resolve_only(ctx: AuthzContext) -> bool:
    _destination(ctx)
    return False


def _read_checks(plain: str, versioned: str) -> list[Check]:
    """s3:GetObject… without versionId, s3:GetObjectVersion… with one; s3:ExistingObjectTag/<key>."""
    def tags(ctx: AuthzContext) -> Keys:
        return _existing_tags(ctx, target_object(ctx))

    def tags_and_version(ctx: AuthzContext) -> Keys:
        return {**tags(ctx), **_version_key(ctx)}

    return [object_check(plain, keys=(EXISTING_TAG,), extra=tags, applies=_unversioned, existing=True),
            object_check(versioned, keys=(EXISTING_TAG, VERSION_ID), extra=tags_and_version, applies=_versioned,
                         existing=True)]


def _put_keys(ctx: AuthzContext) -> Keys:
    p = ctx.params
    out = dict(_request_tags(ctx))
    out.update(_acl_keys(ctx))
    for key, member in (("s3:x-amz-server-side-encryption", "ServerSideEncryption"),
                        ("s3:x-amz-server-side-encryption-aws-kms-key-id", "SSEKMSKeyId"),
                        ("s3:x-amz-server-side-encryption-customer-algorithm", "SSECustomerAlgorithm"),
                        ("s3:x-amz-storage-class", "StorageClass"), ("s3:x-amz-metadata-directive", "MetadataDirective"),
                        ("s3:x-amz-copy-source", "CopySource"), ("s3:if-match", "IfMatch"),
                        ("s3:if-none-match", "IfNoneMatch"),
                        ("s3:x-amz-website-redirect-location", "WebsiteRedirectLocation")):
        if p.get(member) is not None:
            out[key] = (str(p[member]),)
    return out


#: s3:x-amz-acl and s3:x-amz-grant-* (https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html#acl-condition-keys)
ACL_KEYS = ("s3:x-amz-acl", "s3:x-amz-grant-full-control", "s3:x-amz-grant-read", "s3:x-amz-grant-read-acp",
            "s3:x-amz-grant-write", "s3:x-amz-grant-write-acp")
_GRANT_MEMBERS = (("s3:x-amz-acl", "ACL"), ("s3:x-amz-grant-full-control", "GrantFullControl"),
                  ("s3:x-amz-grant-read", "GrantRead"), ("s3:x-amz-grant-read-acp", "GrantReadACP"),
                  ("s3:x-amz-grant-write", "GrantWrite"), ("s3:x-amz-grant-write-acp", "GrantWriteACP"))


def _acl_keys(ctx: AuthzContext) -> Keys:
    """s3:x-amz-acl and s3:x-amz-grant-* (each grant header's grantees as ``id=…``/``uri=…``,
    quotes removed: https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html#acl-condition-keys)."""
    out: dict[str, tuple[str, ...]] = {}
    for key, member in _GRANT_MEMBERS:
        value = ctx.params.get(member)
        if value is None:
            continue
        if member == "ACL":
            out[key] = (str(value),)
        else:
            out[key] = tuple(v.strip().replace('"', "") for v in str(value).split(",") if v.strip())
    return out


PUT_KEYS = (*REQUEST_TAGS, "s3:x-amz-server-side-encryption", "s3:x-amz-server-side-encryption-aws-kms-key-id",
            "s3:x-amz-server-side-encryption-customer-algorithm", *ACL_KEYS, "s3:x-amz-storage-class",
            "s3:x-amz-metadata-directive", "s3:x-amz-copy-source", "s3:if-match", "s3:if-none-match",
            "s3:x-amz-website-redirect-location")


def _post_members(ctx: AuthzContext) -> Mapping[str, Any]:
    """A POST Object form's fields as PutObject's members (the form's own errors come first).
    Without a request (the policy simulator, table checks) there is no form: any key."""
    if ctx.request is None:
        return {**ctx.params, "Key": ctx.params.get("Key") or "*"}
    form, _ = post_form.read(ctx.params)
    return {**ctx.params, **post_form.put_members(form)}


def _post_arn(ctx: AuthzContext) -> str:
    return D.object_arn(ctx.partition, _bucket_param(ctx), _post_members(ctx)["Key"])


def _source_check(plain: str, versioned: str) -> list[Check]:
    """Reading the copy source: s3:GetObject, or s3:GetObjectVersion for a versionId."""
    def has_version(ctx: AuthzContext) -> bool:
        return copy_source(ctx)[2] is not None

    def existing(ctx: AuthzContext) -> Keys:
        bucket, key, version = copy_source(ctx)
        if ctx.uow is None or bucket == "*":
            return {}
        found = repo.version(ctx.uow, bucket, key, version) if version else repo.latest(ctx.uow, bucket, key)
        out = _existing_tags(ctx, found if found is not None and not found.is_delete_marker else None)
        if version:
            out[VERSION_ID] = (version,)
        return out

    def source_object(ctx: AuthzContext) -> ObjectVersion | None:
        bucket, key, version = copy_source(ctx)
        if ctx.uow is None or bucket == "*":
            return None
        found = repo.version(ctx.uow, bucket, key, version) if version else repo.latest(ctx.uow, bucket, key)
        return found if found is not None and not found.is_delete_marker else None

    return [_check(plain, _source_arn, _source, keys=(EXISTING_TAG,), extra=existing,
                   applies=lambda ctx: not has_version(ctx), target=source_object),
            _check(versioned, _source_arn, _source, keys=(EXISTING_TAG, VERSION_ID), extra=existing,
                   applies=has_version, target=source_object)]


def _location_constraint(ctx: AuthzContext) -> Keys:
    config = ctx.params.get("CreateBucketConfiguration") or {}
    out: dict[str, tuple[str, ...]] = {}
    if config.get("LocationConstraint"):
        out["s3:locationconstraint"] = (config["LocationConstraint"],)
    if ctx.params.get("ObjectOwnership"):
        out["s3:x-amz-object-ownership"] = (ctx.params["ObjectOwnership"],)
    out.update(_acl_keys(ctx))
    return out


def _create_bucket_keys(ctx: AuthzContext) -> Keys:
    return {**transport_keys(ctx, ctx.account_id), **_location_constraint(ctx)}


def _list_all_keys(ctx: AuthzContext) -> Keys:
    return transport_keys(ctx, ctx.account_id)


#: the check a GetObject/HeadObject of a missing key asks: 404 with s3:ListBucket, else 403
LIST_BUCKET = bucket_check("s3:ListBucket", keys=LIST_KEYS, extra=_list_keys)
DELETE_OBJECT = object_check("s3:DeleteObject")
DELETE_OBJECT_VERSION = object_check("s3:DeleteObjectVersion", keys=(VERSION_ID,), extra=_version_key)

AUTHZ: dict[str, Any] = {
    # buckets
    "CreateBucket": [Check("s3:CreateBucket", resource=bucket_arn,
                           keys=(*COMMON, "s3:locationconstraint", "s3:x-amz-object-ownership", *ACL_KEYS),
                           context=_create_bucket_keys, denial_style="s3")],
    "HeadBucket": [bucket_check("s3:ListBucket")],
    "ListBuckets": [Check("s3:ListAllMyBuckets", keys=COMMON, context=_list_all_keys, denial_style="s3")],
    "DeleteBucket": [bucket_check("s3:DeleteBucket")],
    "GetBucketLocation": [bucket_check("s3:GetBucketLocation", check_region=False)],
    "PutBucketTagging": [bucket_check("s3:PutBucketTagging")],
    "GetBucketTagging": [bucket_check("s3:GetBucketTagging")],
    "DeleteBucketTagging": [bucket_check("s3:PutBucketTagging")],
    "PutBucketVersioning": [bucket_check("s3:PutBucketVersioning")],
    "GetBucketVersioning": [bucket_check("s3:GetBucketVersioning")],
    "PutBucketEncryption": [bucket_check("s3:PutEncryptionConfiguration")],
    "GetBucketEncryption": [bucket_check("s3:GetEncryptionConfiguration")],
    "DeleteBucketEncryption": [bucket_check("s3:PutEncryptionConfiguration")],
    # "the root principal in a bucket owner's AWS account can perform the GetBucketPolicy,
    # PutBucketPolicy, and DeleteBucketPolicy API actions, even if their bucket policy explicitly
    # denies the root principal's access" (API_PutBucketPolicy.html)
    "PutBucketPolicy": [bucket_check("s3:PutBucketPolicy", owner_root_exempt=True)],
    "GetBucketPolicy": [bucket_check("s3:GetBucketPolicy", owner_root_exempt=True)],
    "DeleteBucketPolicy": [bucket_check("s3:DeleteBucketPolicy", owner_root_exempt=True)],
    # listing
    "ListObjects": [LIST_BUCKET],
    "ListObjectsV2": [LIST_BUCKET],
    "ListObjectVersions": [bucket_check("s3:ListBucketVersions", keys=LIST_KEYS, extra=_list_keys)],
    "ListMultipartUploads": [bucket_check("s3:ListBucketMultipartUploads")],
    # access control (ops_access.py)
    "PutBucketAcl": [bucket_check("s3:PutBucketAcl", keys=ACL_KEYS, extra=_acl_keys)],
    "GetBucketAcl": [bucket_check("s3:GetBucketAcl")],
    "PutObjectAcl": [object_check("s3:PutObjectAcl", keys=(*ACL_KEYS, EXISTING_TAG),
                                  extra=lambda ctx: {**_acl_keys(ctx), **_existing_tags(ctx, target_object(ctx))},
                                  applies=_unversioned, existing=True),
                     object_check("s3:PutObjectVersionAcl", keys=(*ACL_KEYS, EXISTING_TAG, VERSION_ID),
                                  extra=lambda ctx: {**_acl_keys(ctx), **_existing_tags(ctx, target_object(ctx)),
                                                     **_version_key(ctx)},
                                  applies=_versioned, existing=True)],
    "GetObjectAcl": _read_checks("s3:GetObjectAcl", "s3:GetObjectVersionAcl"),
    "PutBucketOwnershipControls": [bucket_check("s3:PutBucketOwnershipControls")],
    "GetBucketOwnershipControls": [bucket_check("s3:GetBucketOwnershipControls")],
    "DeleteBucketOwnershipControls": [bucket_check("s3:PutBucketOwnershipControls")],
    "PutPublicAccessBlock": [bucket_check("s3:PutBucketPublicAccessBlock")],
    "GetPublicAccessBlock": [bucket_check("s3:GetBucketPublicAccessBlock")],
    "DeletePublicAccessBlock": [bucket_check("s3:PutBucketPublicAccessBlock")],
    "GetBucketPolicyStatus": [bucket_check("s3:GetBucketPolicyStatus")],
    # objects
    "PutObject": [object_check("s3:PutObject", keys=PUT_KEYS, extra=_put_keys)],
    # POST Object: PutObject with the form's fields as its members (the key among them)
    "PostObject": [_check("s3:PutObject", _post_arn, _destination, keys=PUT_KEYS,
                          extra=lambda ctx: _put_keys(replace(ctx, params=_post_members(ctx))))],
    "GetObject": _read_checks("s3:GetObject", "s3:GetObjectVersion"),
    "HeadObject": _read_checks("s3:GetObject", "s3:GetObjectVersion"),
    "GetObjectAttributes": _read_checks("s3:GetObjectAttributes", "s3:GetObjectVersionAttributes"),
    "DeleteObject": [object_check("s3:DeleteObject", applies=_unversioned),
                     object_check("s3:DeleteObjectVersion", keys=(VERSION_ID,), extra=_version_key,
                                  applies=_versioned)],
    # AWS decides DeleteObjects per key (s3:DeleteObject / s3:DeleteObjectVersion, per-key
    # AccessDenied in the result): the operation asks DELETE_OBJECT(_VERSION) for each key, and
    # refuses every key when it cannot ask. This entry only resolves the bucket (NoSuchBucket,
    # redirects, expected owner) before the operation runs.
    "DeleteObjects": [object_check("s3:DeleteObject", applies=_resolve_only)],
    "CopyObject": [*_source_check("s3:GetObject", "s3:GetObjectVersion"),
                   object_check("s3:PutObject", keys=PUT_KEYS, extra=_put_keys)],
    "PutObjectTagging": [object_check("s3:PutObjectTagging", keys=(EXISTING_TAG, *REQUEST_TAGS),
                                      extra=lambda ctx: {**_existing_tags(ctx, target_object(ctx)),
                                                         **_request_tags(ctx)}, applies=_unversioned),
                         object_check("s3:PutObjectVersionTagging", keys=(EXISTING_TAG, *REQUEST_TAGS, VERSION_ID),
                                      extra=lambda ctx: {**_existing_tags(ctx, target_object(ctx)),
                                                         **_request_tags(ctx), **_version_key(ctx)},
                                      applies=_versioned)],
    "GetObjectTagging": _read_checks("s3:GetObjectTagging", "s3:GetObjectVersionTagging"),
    "DeleteObjectTagging": _read_checks("s3:DeleteObjectTagging", "s3:DeleteObjectVersionTagging"),
    # multipart uploads
    "CreateMultipartUpload": [object_check("s3:PutObject", keys=PUT_KEYS, extra=_put_keys)],
    "UploadPart": [object_check("s3:PutObject")],
    "UploadPartCopy": [*_source_check("s3:GetObject", "s3:GetObjectVersion"), object_check("s3:PutObject")],
    "CompleteMultipartUpload": [object_check("s3:PutObject", keys=("s3:if-match", "s3:if-none-match"),
                                             extra=_put_keys)],
    "AbortMultipartUpload": [object_check("s3:AbortMultipartUpload")],
    "ListParts": [object_check("s3:ListMultipartUploadParts")],
}
