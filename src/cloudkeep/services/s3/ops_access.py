"""S3 access-control operations: Object Ownership, bucket and object ACLs, Block Public Access
(bucket level), policy status; and the ACL rules the writes share (``object_acl_for_write``,
``bucket_acl_for_create``, ``refuse_public_policy``).

Pages: https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketOwnershipControls.html,
API_PutBucketAcl.html, API_GetBucketAcl.html, API_PutObjectAcl.html, API_GetObjectAcl.html,
API_PutPublicAccessBlock.html, API_GetPublicAccessBlock.html, API_GetBucketPolicyStatus.html;
https://docs.aws.amazon.com/AmazonS3/latest/userguide/about-object-ownership.html.
"""

from __future__ import annotations

from typing import Any

from cloudkeep.auth.principal import PrincipalType
from cloudkeep.services.framework import Call, Params, Result
from cloudkeep.wire.http import STATUS_KEY

from . import access
from . import acl as A
from . import domain as D
from . import errors as X
from . import public as P
from . import repository as repo
from .common import bucket_of, canonical_id, operation, owner
from .entities import Bucket, ObjectVersion

OWNERSHIPS = ("BucketOwnerPreferred", "ObjectWriter", D.BUCKET_OWNER_ENFORCED)
#: no ownership controls configured (DeleteBucketOwnershipControls): objects belong to their writer
NO_CONTROLS = ""

_DISABLED = "The bucket does not allow ACLs"


def _account_of(call: Call) -> Any:
    return lambda canonical: repo.account_of_canonical(call.uow, canonical)


def _blocked(call: Call, action: str, resource: str, setting: str) -> X.AccessDenied:
    """Block Public Access refusing a write: 403 AccessDenied."""
    what = "public ACLs" if setting == "BlockPublicAcls" else "public policies"
    who = call.principal.arn if call.principal.type is not PrincipalType.ANONYMOUS else "anonymous"
    return X.AccessDenied(f'User: {who} is not authorized to perform: {action} on resource: "{resource}" because '
                          f"{what} are blocked by the {setting} block public access setting.")


def _requested_grants(call: Call, params: Params, owner_account: str, bucket: Bucket, *,
                      bucket_level: bool) -> A.Grants | None:
    """The grants a request sets (canned ACL, grant headers, or an AccessControlPolicy body);
    None when it sets none."""
    body = params.get("AccessControlPolicy")
    headers = A.requested(params)
    if body is not None and headers:
        raise X.UnexpectedContent(X.UnexpectedContent.MESSAGE)
    if body is not None:
        return tuple(A.from_body(body, region=call.region, account_of=_account_of(call)))
    if params.get("ACL") is not None:
        if any(params.get(m) is not None for m in A.GRANT_HEADERS):
            raise X.InvalidRequest("Specifying both Canned ACLs and Header Grants is not allowed")
        return A.canned(params["ACL"], owner_account, bucket.account_id, bucket=bucket_level)
    if headers:
        return tuple(A.from_headers(params, region=call.region, account_of=_account_of(call)))
    return None


def _only_owner(grants: A.Grants, owner_account: str) -> bool:
    """The ACL is the owner's FULL_CONTROL alone (what a bucket with ACLs disabled accepts)."""
    return bool(grants) and all(kind == A.ACCOUNT and grantee == owner_account and permission == A.FULL_CONTROL
                                for kind, grantee, permission in grants)


def _refuse_public(call: Call, bucket: Bucket, grants: A.Grants | None, action: str, resource: str) -> None:
    if A.is_public(grants) and access.block_settings(call.uow, bucket)["BlockPublicAcls"]:
        raise _blocked(call, action, resource, "BlockPublicAcls")


# --- the writes' ACL rules --------------------------------------------------------------------------


def object_acl_for_write(call: Call, bucket: Bucket, params: Params) -> tuple[str, A.Grants | None]:
    """(owner account, grants) of an object a PutObject/CopyObject/CreateMultipartUpload writes:
    BucketOwnerEnforced refuses every ACL but private and bucket-owner-full-control and gives
    the object to the bucket owner; ObjectWriter gives it to the writer's account;
    BucketOwnerPreferred to the bucket owner when written with bucket-owner-full-control."""
    writer = call.principal.account_id or bucket.account_id       # anonymous writes: the bucket owner's
    preferred = bucket.object_ownership == "BucketOwnerPreferred" and params.get("ACL") == "bucket-owner-full-control"
    owner_account = bucket.account_id if preferred or not access.acls_enabled(bucket) else writer
    grants = _requested_grants(call, params, owner_account, bucket, bucket_level=False)
    # Block Public Access answers before Object Ownership: a public ACL is AccessDenied even
    # where ACLs are disabled (as s3-tests' test_block_public_object_canned_acls expects of AWS)
    _refuse_public(call, bucket, grants, "s3:PutObject",
                   D.object_arn(call.partition, bucket.name, params.get("Key", "")))
    if not access.acls_enabled(bucket):
        if A.non_default(params, allowed=("private", "bucket-owner-full-control")):
            raise X.AccessControlListNotSupported(_DISABLED)
        return bucket.account_id, None
    if grants is None or _only_owner(grants, owner_account):
        return owner_account, None
    return owner_account, grants


def bucket_acl_for_create(call: Call, params: Params, ownership: str) -> A.Grants | None:
    """The ACL of a new bucket; under BucketOwnerEnforced only private is accepted (S3 answers
    InvalidBucketAclWithObjectOwnership). New buckets block public ACLs (Block Public Access on)."""
    if ownership == D.BUCKET_OWNER_ENFORCED:
        if A.non_default(params, allowed=("private", "bucket-owner-full-control")):
            raise X.InvalidBucketAclWithObjectOwnership(
                "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting")
        return None
    stub = Bucket(name=params["Bucket"], account_id=call.account_id, region=call.region, location_constraint=None,
                  created_at=None, versioning=None, policy=None, tags={}, encryption={},  # type: ignore[arg-type]
                  object_ownership=ownership, public_access_block=P.ALL_ON)
    grants = _requested_grants(call, params, call.account_id, stub, bucket_level=True)
    if A.is_public(grants):
        # a new bucket blocks public ACLs from its creation: S3 answers 400 with its own code
        # (https://aws.amazon.com/blogs/aws/heads-up-amazon-s3-security-changes-are-coming-in-april-of-2023/;
        # the message as S3 sends it, quoted in aws-samples code and S3 re-implementations' AWS runs)
        raise X.InvalidBucketAclWithBlockPublicAccessError(
            "Bucket cannot have public ACLs set with BlockPublicAccess enabled")
    return None if grants is None or _only_owner(grants, call.account_id) else grants


def check_ownership(value: str | None) -> str:
    if value is None:
        return D.BUCKET_OWNER_ENFORCED
    if value not in OWNERSHIPS:
        raise X.invalid_argument("Invalid x-amz-object-ownership header", "x-amz-object-ownership", value)
    return value


def refuse_public_policy(call: Call, bucket: Bucket, policy: str) -> None:
    """BlockPublicPolicy: a public bucket policy is refused with 403 AccessDenied."""
    if P.policy_is_public(policy) and access.block_settings(call.uow, bucket)["BlockPublicPolicy"]:
        raise _blocked(call, "s3:PutBucketPolicy", D.bucket_arn(call.partition, bucket.name), "BlockPublicPolicy")


# --- Object Ownership ---------------------------------------------------------------------------------


@operation("PutBucketOwnershipControls")
def put_bucket_ownership_controls(call: Call, params: Params) -> Result:
    bucket = bucket_of(call, params["Bucket"])
    rules = (params.get("OwnershipControls") or {}).get("Rules") or []
    if len(rules) != 1 or rules[0].get("ObjectOwnership") not in OWNERSHIPS:
        raise X.MalformedXML(X.MalformedXML.MESSAGE)
    ownership = rules[0]["ObjectOwnership"]
    if ownership == D.BUCKET_OWNER_ENFORCED and not _only_owner(A.grants_of(bucket.acl, bucket.account_id),
                                                                bucket.account_id):
        raise X.InvalidBucketAclWithObjectOwnership(
            "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting")
    repo.update_bucket(call.uow, bucket.name, object_ownership=ownership)
    return {}


@operation("GetBucketOwnershipControls")
def get_bucket_ownership_controls(call: Call, params: Params) -> Result:
    bucket = bucket_of(call, params["Bucket"])
    if bucket.object_ownership == NO_CONTROLS:
        raise X.OwnershipControlsNotFoundError(X.OwnershipControlsNotFoundError.MESSAGE,
                                               extra={"BucketName": bucket.name})
    return {"OwnershipControls": {"Rules": [{"ObjectOwnership": bucket.object_ownership}]}}


@operation("DeleteBucketOwnershipControls")
def delete_bucket_ownership_controls(call: Call, params: Params) -> Result:
    bucket = bucket_of(call, params["Bucket"])
    repo.update_bucket(call.uow, bucket.name, object_ownership=NO_CONTROLS)
    return {STATUS_KEY: 204}


# --- ACLs ---------------------------------------------------------------------------------------------


def _wire(call: Call, owner_account: str, grants: A.Grants | None) -> Result:
    return {"Owner": owner(call, owner_account),
            "Grants": A.to_wire(A.grants_of(grants, owner_account), lambda a: canonical_id(call, a))}


def _set_acl(call: Call, params: Params, bucket: Bucket, owner_account: str, *, bucket_level: bool,
             action: str, resource: str) -> A.Grants | None:
    grants = _requested_grants(call, params, owner_account, bucket, bucket_level=bucket_level)
    if grants is None:
        raise X.MissingSecurityHeader(X.MissingSecurityHeader.MESSAGE,
                                      extra={"MissingHeaderName": "x-amz-acl"})
    _refuse_public(call, bucket, grants, action, resource)      # before Object Ownership, as for PutObject
    if not access.acls_enabled(bucket):
        if not _only_owner(grants, owner_account):
            raise X.AccessControlListNotSupported(_DISABLED)
        return None
    return None if _only_owner(grants, owner_account) else grants


@operation("PutBucketAcl")
def put_bucket_acl(call: Call, params: Params) -> Result:
    bucket = bucket_of(call, params["Bucket"])
    grants = _set_acl(call, params, bucket, bucket.account_id, bucket_level=True, action="s3:PutBucketAcl",
                      resource=D.bucket_arn(call.partition, bucket.name))
    repo.update_bucket(call.uow, bucket.name, acl=grants)
    return {}


@operation("GetBucketAcl")
def get_bucket_acl(call: Call, params: Params) -> Result:
    bucket = bucket_of(call, params["Bucket"])
    return _wire(call, bucket.account_id, bucket.acl if access.acls_enabled(bucket) else None)


def _object(call: Call, params: Params) -> ObjectVersion:
    version = params.get("VersionId")
    found = (repo.version(call.uow, params["Bucket"], params["Key"], version) if version is not None
             else repo.latest(call.uow, params["Bucket"], params["Key"]))
    if found is None or (found.is_delete_marker and version is None):
        if version is not None:
            raise X.no_such_version(params["Key"], version)
        raise X.no_such_key(params["Key"])
    if found.is_delete_marker:
        raise X.MethodNotAllowed(X.MethodNotAllowed.MESSAGE)
    return found


@operation("PutObjectAcl")
def put_object_acl(call: Call, params: Params) -> Result:
    bucket = bucket_of(call, params["Bucket"])
    obj = _object(call, params)
    owner_account = access.object_owner(bucket, obj)
    grants = _set_acl(call, params, bucket, owner_account, bucket_level=False, action="s3:PutObjectAcl",
                      resource=D.object_arn(call.partition, bucket.name, obj.key))
    repo.set_object_acl(call.uow, obj, grants)
    out: Result = {}
    if obj.version_id != "null" and bucket.versioning is not None:
        out["VersionId"] = obj.version_id
    return out


@operation("GetObjectAcl")
def get_object_acl(call: Call, params: Params) -> Result:
    bucket = bucket_of(call, params["Bucket"])
    obj = _object(call, params)
    out = _wire(call, access.object_owner(bucket, obj), obj.acl if access.acls_enabled(bucket) else None)
    if params.get("VersionId") is not None or bucket.versioning is not None:
        out["VersionId"] = obj.version_id
    return out


# --- Block Public Access (bucket) --------------------------------------------------------------------


@operation("PutPublicAccessBlock")
def put_public_access_block(call: Call, params: Params) -> Result:
    bucket = bucket_of(call, params["Bucket"])
    config = params.get("PublicAccessBlockConfiguration")
    if not isinstance(config, dict):
        raise X.MalformedXML(X.MalformedXML.MESSAGE)
    repo.update_bucket(call.uow, bucket.name, public_access_block=P.config(config))
    return {}


@operation("GetPublicAccessBlock")
def get_public_access_block(call: Call, params: Params) -> Result:
    bucket = bucket_of(call, params["Bucket"])
    if bucket.public_access_block is None:
        raise X.NoSuchPublicAccessBlockConfiguration(X.NoSuchPublicAccessBlockConfiguration.MESSAGE,
                                                     extra={"BucketName": bucket.name})
    return {"PublicAccessBlockConfiguration": P.config(bucket.public_access_block)}


@operation("DeletePublicAccessBlock")
def delete_public_access_block(call: Call, params: Params) -> Result:
    bucket = bucket_of(call, params["Bucket"])
    repo.update_bucket(call.uow, bucket.name, public_access_block=None)
    return {STATUS_KEY: 204}


@operation("GetBucketPolicyStatus")
def get_bucket_policy_status(call: Call, params: Params) -> Result:
    bucket = bucket_of(call, params["Bucket"])
    if not bucket.policy:
        raise X.NoSuchBucketPolicy(X.NoSuchBucketPolicy.MESSAGE, extra={"BucketName": bucket.name})
    return {"PolicyStatus": {"IsPublic": P.policy_is_public(bucket.policy)}}
