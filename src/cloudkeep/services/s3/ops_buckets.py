"""S3 bucket operations: create, head, list, delete, location, tagging, versioning, default
encryption and bucket policies.

Pages: https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateBucket.html, API_HeadBucket.html,
API_ListBuckets.html, API_DeleteBucket.html, API_GetBucketLocation.html, API_PutBucketTagging.html,
API_PutBucketVersioning.html, API_PutBucketEncryption.html, API_DeleteBucketEncryption.html,
API_PutBucketPolicy.html, API_GetBucketPolicy.html.
"""

from __future__ import annotations

import copy
from typing import Any

from cloudkeep.services.framework import Call, Params, Result
from cloudkeep.wire.http import STATUS_KEY
from cloudkeep.wire.regions import partition_regions

from . import domain as D
from . import acl as acl_mod
from . import ops_access
from . import public as P
from . import errors as X
from . import repository as repo
from .bodies import delete_after_commit
from .common import bucket_of, canonical_id, decode_token, encode_token, now, operation, owner
from .entities import Bucket


def _arn(call: Call, name: str) -> str:
    return D.bucket_arn(call.partition, name)


def _check_create(params: Params) -> None:
    """Object Lock is not implemented yet."""
    if params.get("ObjectLockEnabledForBucket"):
        raise X.NotImplementedS3("S3 Object Lock is not implemented by cloudkeep yet.")


@operation("CreateBucket")
def create_bucket(call: Call, params: Params) -> Result:
    name = params["Bucket"]
    D.check_bucket_name(name)
    config = params.get("CreateBucketConfiguration") or {}
    constraint = config.get("LocationConstraint")
    region = D.create_location(call.region, constraint, partition_regions(call.partition))
    existing = repo.get_bucket(call.uow, name)
    if existing is not None:
        if existing.account_id != call.account_id:
            raise X.BucketAlreadyExists(X.BucketAlreadyExists.MESSAGE, extra={"BucketName": name})
        if existing.region == D.US_EAST_1 and region == D.US_EAST_1:
            if acl_mod.requested(params):
                # re-creating it with an ACL: BucketAlreadyExists (s3-tests test_bucket_recreate_new_acl)
                raise X.BucketAlreadyExists(X.BucketAlreadyExists.MESSAGE, extra={"BucketName": name})
            # "For legacy compatibility, if you re-create an existing bucket that you already own
            # in the North Virginia Region, Amazon S3 returns 200 OK" (API_CreateBucket.html)
            return {"Location": f"/{name}", "BucketArn": _arn(call, name)}
        raise X.BucketAlreadyOwnedByYou(X.BucketAlreadyOwnedByYou.MESSAGE, extra={"BucketName": name})
    _check_create(params)
    # Object Ownership (BucketOwnerEnforced unless x-amz-object-ownership says otherwise), the
    # bucket ACL, and Block Public Access on: S3's defaults for new buckets since April 2023
    ownership = ops_access.check_ownership(params.get("ObjectOwnership"))
    acl = ops_access.bucket_acl_for_create(call, params, ownership)
    tags = D.check_tags([(t.get("Key", ""), t.get("Value", "")) for t in config.get("Tags") or []],
                        limit=D.MAX_BUCKET_TAGS, bucket=True)
    canonical_id(call, call.account_id)
    repo.add_bucket(call.uow, Bucket(
        name=name, account_id=call.account_id, region=region,
        location_constraint=constraint if constraint else None, created_at=now(call), versioning=None,
        policy=None, tags=tags, encryption=D.DEFAULT_ENCRYPTION, object_ownership=ownership, acl=acl,
        public_access_block=P.ALL_ON))
    location = f"/{name}" if region == D.US_EAST_1 else f"http://{name}.s3.amazonaws.com/"
    return {"Location": location, "BucketArn": _arn(call, name)}


@operation("HeadBucket")
def head_bucket(call: Call, params: Params) -> Result:
    bucket = bucket_of(call, params["Bucket"])
    return {"BucketRegion": bucket.region, "AccessPointAlias": False, "BucketArn": _arn(call, bucket.name)}


@operation("ListBuckets")
def list_buckets(call: Call, params: Params) -> Result:
    limit = params.get("MaxBuckets")
    if limit is not None and not 1 <= limit <= 10_000:
        raise X.invalid_argument("Argument max-buckets must be an integer between 1 and 10000",
                                 "max-buckets", limit)
    token = params.get("ContinuationToken")
    after = decode_token(token) if token else None
    buckets, more = repo.list_buckets(call.uow, call.account_id, prefix=params.get("Prefix"), after=after,
                                      region=params.get("BucketRegion"), limit=limit or 10_000)
    out: Result = {"Buckets": [{"Name": b.name, "CreationDate": b.created_at, "BucketRegion": b.region,
                                "BucketArn": _arn(call, b.name)} for b in buckets],
                   "Owner": owner(call, call.account_id)}
    if params.get("Prefix") is not None:
        out["Prefix"] = params["Prefix"]
    if more and buckets:
        out["ContinuationToken"] = encode_token(buckets[-1].name)
    return out


@operation("DeleteBucket")
def delete_bucket(call: Call, params: Params) -> Result:
    bucket = bucket_of(call, params["Bucket"])
    if repo.has_objects(call.uow, bucket.name):
        message = X.BucketNotEmpty.VERSIONED if bucket.versioning else X.BucketNotEmpty.MESSAGE
        raise X.BucketNotEmpty(message, extra={"BucketName": bucket.name})
    delete_after_commit(call, repo.delete_bucket(call.uow, bucket.name))
    return {}


@operation("GetBucketLocation")
def get_bucket_location(call: Call, params: Params) -> Result:
    bucket = bucket_of(call, params["Bucket"])
    if bucket.account_id != call.account_id:
        # "To use this implementation of the operation, you must be the bucket owner."
        # (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketLocation.html)
        raise X.access_denied()
    # us-east-1 buckets have a null location constraint
    return {"LocationConstraint": None if bucket.region == D.US_EAST_1 else (bucket.location_constraint
                                                                              or bucket.region)}


# --- tagging -----------------------------------------------------------------------------------------


@operation("PutBucketTagging")
def put_bucket_tagging(call: Call, params: Params) -> Result:
    bucket = bucket_of(call, params["Bucket"])
    tags = D.check_tags(D.tag_set(params), limit=D.MAX_BUCKET_TAGS, bucket=True)
    repo.update_bucket(call.uow, bucket.name, tags=tags)
    return {STATUS_KEY: 204}      # "HTTP/1.1 204 No Content" (API_PutBucketTagging.html, example)


@operation("GetBucketTagging")
def get_bucket_tagging(call: Call, params: Params) -> Result:
    bucket = bucket_of(call, params["Bucket"])
    if not bucket.tags:
        raise X.NoSuchTagSet(X.NoSuchTagSet.MESSAGE, extra={"BucketName": bucket.name})
    return {"TagSet": D.wire_tags(bucket.tags)}


@operation("DeleteBucketTagging")
def delete_bucket_tagging(call: Call, params: Params) -> Result:
    bucket = bucket_of(call, params["Bucket"])
    repo.update_bucket(call.uow, bucket.name, tags={})
    return {}


# --- versioning ---------------------------------------------------------------------------------------


@operation("PutBucketVersioning")
def put_bucket_versioning(call: Call, params: Params) -> Result:
    bucket = bucket_of(call, params["Bucket"])
    config = params.get("VersioningConfiguration") or {}
    status = config.get("Status")
    if config.get("MFADelete") == "Enabled" or params.get("MFA"):
        raise X.NotImplementedS3("MFA Delete is not implemented by cloudkeep yet.")
    if status not in ("Enabled", "Suspended"):
        # S3 refuses a configuration without a valid Status
        raise X.MalformedXML(X.MalformedXML.MESSAGE)
    repo.update_bucket(call.uow, bucket.name, versioning=status)
    return {}


@operation("GetBucketVersioning")
def get_bucket_versioning(call: Call, params: Params) -> Result:
    bucket = bucket_of(call, params["Bucket"])
    out: Result = {}
    if bucket.versioning is not None:
        out["Status"] = bucket.versioning
        out["MFADelete"] = "Disabled"
    return out


# --- default encryption ----------------------------------------------------------------------------


@operation("PutBucketEncryption")
def put_bucket_encryption(call: Call, params: Params) -> Result:
    """SSE-S3, SSE-KMS (with KMSMasterKeyID, else the aws/s3 key) or DSSE-KMS by default, S3 Bucket
    Keys, and the encryption types blocked for new objects (SSE-C; a request without
    BlockedEncryptionTypes keeps the bucket's). https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketEncryption.html,
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/blocking-unblocking-s3-c-encryption-gpb.html"""
    bucket = bucket_of(call, params["Bucket"])
    config = params.get("ServerSideEncryptionConfiguration") or {}
    rules = config.get("Rules") or []
    if len(rules) != 1:
        raise X.MalformedXML(X.MalformedXML.MESSAGE)
    default = rules[0].get("ApplyServerSideEncryptionByDefault") or {}
    algorithm = default.get("SSEAlgorithm")
    if algorithm not in (D.AES256, "aws:kms", "aws:kms:dsse"):
        raise X.MalformedXML(X.MalformedXML.MESSAGE)
    applied: dict[str, Any] = {"SSEAlgorithm": algorithm}
    if default.get("KMSMasterKeyID"):
        if algorithm == D.AES256:
            raise X.InvalidArgument("a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms "
                                    "or aws:kms:dsse",
                                    extra={"ArgumentName": "ApplyServerSideEncryptionByDefault"})
        applied["KMSMasterKeyID"] = default["KMSMasterKeyID"]
    rule: dict[str, Any] = {"ApplyServerSideEncryptionByDefault": applied,
                            "BucketKeyEnabled": bool(rules[0].get("BucketKeyEnabled", False))}
    blocked = rules[0].get("BlockedEncryptionTypes")
    if blocked is None:
        blocked = ((bucket.encryption or {}).get("Rules") or [{}])[0].get("BlockedEncryptionTypes")
    if blocked is not None:
        types = list(blocked.get("EncryptionType") or [])
        if "NONE" in types and len(types) > 1:
            raise X.MalformedXML(X.MalformedXML.MESSAGE)
        rule["BlockedEncryptionTypes"] = {"EncryptionType": types}
    repo.update_bucket(call.uow, bucket.name, encryption={"Rules": [rule]})
    return {}


@operation("GetBucketEncryption")
def get_bucket_encryption(call: Call, params: Params) -> Result:
    bucket = bucket_of(call, params["Bucket"])
    # a copy: the bucket entity may be shared by other requests (repository._bucket)
    return {"ServerSideEncryptionConfiguration": copy.deepcopy(bucket.encryption)}


@operation("DeleteBucketEncryption")
def delete_bucket_encryption(call: Call, params: Params) -> Result:
    """Resets the default encryption to SSE-S3: "Amazon S3 buckets have bucket encryption enabled
    by default … using server-side encryption with Amazon S3 managed keys (SSE-S3)"."""
    bucket = bucket_of(call, params["Bucket"])
    repo.update_bucket(call.uow, bucket.name, encryption=D.DEFAULT_ENCRYPTION)
    return {}


# --- bucket policies ------------------------------------------------------------------------------


@operation("PutBucketPolicy")
def put_bucket_policy(call: Call, params: Params) -> Result:
    bucket = bucket_of(call, params["Bucket"])
    policy = params["Policy"]
    D.check_bucket_policy(policy, bucket.name, call.partition)
    ops_access.refuse_public_policy(call, bucket, policy)
    repo.update_bucket(call.uow, bucket.name, policy=policy)
    return {STATUS_KEY: 204}      # "HTTP/1.1 204 No Content" (API_PutBucketPolicy.html, example)


@operation("GetBucketPolicy")
def get_bucket_policy(call: Call, params: Params) -> Result:
    bucket = bucket_of(call, params["Bucket"])
    if not bucket.policy:
        raise X.NoSuchBucketPolicy(X.NoSuchBucketPolicy.MESSAGE, extra={"BucketName": bucket.name})
    return {"Policy": bucket.policy}


@operation("DeleteBucketPolicy")
def delete_bucket_policy(call: Call, params: Params) -> Result:
    bucket = bucket_of(call, params["Bucket"])
    repo.update_bucket(call.uow, bucket.name, policy=None)
    return {}
