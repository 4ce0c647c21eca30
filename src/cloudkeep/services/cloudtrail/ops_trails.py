"""CloudTrail's trails: CreateTrail, UpdateTrail, DeleteTrail, DescribeTrails, GetTrail,
ListTrails, GetTrailStatus, StartLogging, StopLogging, PutEventSelectors, GetEventSelectors,
AddTags, RemoveTags, ListTags. https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_Operations.html

- A trail lives in its home region; a multi-region trail is also seen (as a shadow trail) in
  every other region, where it can be read but not changed (InvalidHomeRegionException).
- CreateTrail and UpdateTrail check, as the ``cloudtrail.amazonaws.com`` service principal with
  the trail as aws:SourceArn, that the bucket policy lets CloudTrail read the bucket ACL and
  write log files (InsufficientS3BucketPolicyException), and, with a KMS key, that its key
  policy lets CloudTrail generate data keys (InsufficientEncryptionPolicyException).
  https://docs.aws.amazon.com/awscloudtrail/latest/userguide/create-s3-bucket-policy-for-cloudtrail.html
  https://docs.aws.amazon.com/awscloudtrail/latest/userguide/create-kms-key-policy-for-cloudtrail.html
- StartLogging places the trail's delivery cursor at the newest recorded event: a trail
  delivers what happens from then on (``delivery.py``).

Must not: import the pipeline; hold SQL (``trails_repo``).
"""

from __future__ import annotations

import re
from typing import Any

from cloudkeep.audit.recorder import drain_all
from cloudkeep.services.framework import Call, Params, Result

from . import delivery_cursor, digest_keys  # noqa: F401  (digest_keys registers ListPublicKeys)
from . import trails_org
from . import trails_repo as repo
from . import trails_domain as D
from . import trails_selectors as S
from .authz_trails import LIST_TAGS
from .errors import (CloudTrailARNInvalidException, InsufficientEncryptionPolicyException,
                     InsufficientS3BucketPolicyException, InvalidHomeRegionException, InvalidKmsKeyIdException,
                     InvalidParameterCombinationException, InvalidS3PrefixException, KmsKeyNotFoundException,
                     ResourceNotFoundException, S3BucketDoesNotExistException)
from .operations import operation

SERVICE_PRINCIPAL = "cloudtrail.amazonaws.com"
_KEY_ID = re.compile(r"(arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key/[0-9a-f-]{36}|alias/[A-Za-z0-9/_-]+)"
                     r"|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|alias/[A-Za-z0-9/_-]+)")


# --- finding trails ---------------------------------------------------------------------------------


def _visible(call: Call, ref: D.TrailRef, *, shadows_by_name: bool = True) -> D.Trail | None:
    """The trail a name or ARN names, as seen from the call's region (shadow trails too; a
    member account's organization trails by ARN)."""
    account = call.account_id
    if ref.account_id is not None and ref.account_id != account:
        for trail in trails_org.visible_to_member(call.uow, account):
            if trail.arn == ref.text and trail.visible_in(call.region):
                return trail
        return None
    if ref.region is not None:
        found = repo.get(call.uow, account, ref.region, ref.name)
        return found if found is not None and found.visible_in(call.region) else None
    found = repo.get(call.uow, account, call.region, ref.name)
    if found is not None or not shadows_by_name:
        return found
    for trail in repo.of_account(call.uow, account):
        if trail.name == ref.name and trail.multi_region:
            return trail
    return None


def _find(call: Call, value: str, *, shadows_by_name: bool = True) -> D.Trail:
    """The trail named; a name finds a shadow trail only where ``shadows_by_name`` (GetTrail,
    GetTrailStatus): elsewhere a name means the call region's trail, as CloudTrail answers
    TrailNotFoundException naming the ARN in the call's region."""
    ref = D.parse_ref(value)
    found = _visible(call, ref, shadows_by_name=shadows_by_name)
    if found is None:
        raise D.not_found(ref, call.account_id, partition=call.partition, region=call.region)
    return found


def _own(call: Call, value: str) -> D.Trail:
    """A trail the call may change: it must be called in the trail's home region."""
    trail = _find(call, value, shadows_by_name=False)
    if trail.account_id != call.account_id:      # a member account's view of its organization's trail
        raise D.not_found(trail.arn, call.account_id)
    if trail.home_region != call.region:
        raise InvalidHomeRegionException(
            f"The trail {trail.arn} can only be changed in its home region {trail.home_region}; "
            f"this request was sent to {call.region}.")
    return trail


# --- checks of the bucket and the key -----------------------------------------------------------------


def _check_prefix(prefix: str | None) -> None:
    if prefix is not None and (len(prefix) > 200 or prefix.startswith("/") or "//" in prefix):
        raise InvalidS3PrefixException("Invalid S3 key prefix specified.")


def _log_roots(call: Call, trail: D.Trail) -> list[str]:
    prefix = f"{trail.s3_prefix}/" if trail.s3_prefix else ""
    roots = [f"{prefix}AWSLogs/{trail.account_id}/"]
    org_id = trails_org.organization_id(call.uow, trail) if trail.organization else None
    if org_id is not None:
        roots.append(f"{prefix}AWSLogs/{org_id}/{trail.account_id}/")
    return roots


def _check_bucket(call: Call, trail: D.Trail) -> None:
    """InsufficientS3BucketPolicyException unless the bucket policy lets CloudTrail in (the
    standard AWSCloudTrailAclCheck and AWSCloudTrailWrite statements)."""
    assert call.port is not None
    source = {"aws:SourceArn": trail.arn, "aws:SourceAccount": trail.account_id}
    bucket = trail.s3_bucket
    found = call.port.check_as_service(SERVICE_PRINCIPAL, "s3", "GetBucketAcl", {"Bucket": bucket}, source=source)
    if found is not None and getattr(found, "code", "") == "NoSuchBucket":
        raise S3BucketDoesNotExistException(f"S3 bucket {bucket} does not exist!")
    refused = found is not None
    for root in _log_roots(call, trail) if not refused else ():
        key = f"{root}CloudTrail/{trail.home_region}/"
        if call.port.check_as_service(SERVICE_PRINCIPAL, "s3", "PutObject",
                                      {"Bucket": bucket, "Key": key, "ACL": "bucket-owner-full-control"},
                                      source=source) is not None:
            refused = True
    if refused:
        raise InsufficientS3BucketPolicyException(f"Incorrect S3 bucket policy is detected for bucket: {bucket}")


def _key_arn(call: Call, key_id: str) -> str:
    if not _KEY_ID.fullmatch(key_id):
        raise InvalidKmsKeyIdException(f"Invalid KmsKeyId {key_id}")
    if key_id.startswith("arn:"):
        return key_id
    if key_id.startswith("alias/"):
        return f"arn:{call.partition}:kms:{call.region}:{call.account_id}:{key_id}"
    return f"arn:{call.partition}:kms:{call.region}:{call.account_id}:key/{key_id}"


def _check_key(call: Call, trail: D.Trail) -> None:
    assert call.port is not None and trail.kms_key_id is not None
    source = {"aws:SourceArn": trail.arn, "aws:SourceAccount": trail.account_id}
    params = {"KeyId": trail.kms_key_id, "KeySpec": "AES_256",
              "EncryptionContext": {"aws:cloudtrail:arn": trail.arn}}
    found = call.port.check_as_service(SERVICE_PRINCIPAL, "kms", "GenerateDataKey", params, source=source,
                                       region=trail.kms_key_id.split(":")[3])
    code = getattr(found, "code", "")
    if code == "NotFoundException":
        raise KmsKeyNotFoundException(f"KMS key not found: {trail.kms_key_id}")
    if found is not None:
        raise InsufficientEncryptionPolicyException(
            f"Insufficient permissions to access S3 bucket {trail.s3_bucket} or KMS key {trail.kms_key_id}.")


def _checked(call: Call, trail: D.Trail) -> D.Trail:
    _check_prefix(trail.s3_prefix)
    if trail.organization:
        trails_org.check_management(call.uow, call.account_id)
    if trail.cw_log_group or trail.cw_role:
        if not (trail.cw_log_group and trail.cw_role):
            raise InvalidParameterCombinationException(
                "You must specify both a log group ARN and a role ARN for CloudWatch Logs.")
    if trail.kms_key_id:
        trail = trail.evolve(kms_key_id=_key_arn(call, trail.kms_key_id))
    _check_bucket(call, trail)
    if trail.kms_key_id:
        _check_key(call, trail)
    return trail


# --- operations -------------------------------------------------------------------------------------


@operation("CreateTrail")
def create_trail(call: Call, params: Params) -> Result:
    name = params["Name"]
    D.check_name(name)
    account, region = call.account_id, call.region
    tags = D.merged_tags((), D.check_tags(params.get("TagsList") or []))
    existing = repo.of_account(call.uow, account)
    multi = bool(params.get("IsMultiRegionTrail", False))
    if any(t.name == name and (t.visible_in(region) or multi) for t in existing):
        raise D.already_exists(name, account)
    if sum(1 for t in existing if t.visible_in(region)) >= D.MAX_TRAILS_PER_REGION:
        raise D.too_many(account, region)
    trail = D.Trail(
        account_id=account, home_region=region, name=name, arn=D.trail_arn(call.partition, region, account, name),
        s3_bucket=params["S3BucketName"], s3_prefix=params.get("S3KeyPrefix") or None,
        sns_topic=params.get("SnsTopicName") or None,
        include_global=params.get("IncludeGlobalServiceEvents", True) is not False, multi_region=multi,
        organization=bool(params.get("IsOrganizationTrail", False)),
        log_validation=bool(params.get("EnableLogFileValidation", False)), kms_key_id=params.get("KmsKeyId") or None,
        cw_log_group=params.get("CloudWatchLogsLogGroupArn") or None,
        cw_role=params.get("CloudWatchLogsRoleArn") or None, selectors=None, tags=tags,
        created_at=call.clock.now())
    if multi and not trail.include_global:
        raise InvalidParameterCombinationException(
            "Multi-Region trail must include global service events.")
    trail = _checked(call, trail)
    repo.add(call.uow, trail)
    return trail.to_wire(call.partition)


_UPDATABLE = {"S3BucketName": "s3_bucket", "S3KeyPrefix": "s3_prefix", "SnsTopicName": "sns_topic",
              "IncludeGlobalServiceEvents": "include_global", "IsMultiRegionTrail": "multi_region",
              "EnableLogFileValidation": "log_validation", "CloudWatchLogsLogGroupArn": "cw_log_group",
              "CloudWatchLogsRoleArn": "cw_role", "KmsKeyId": "kms_key_id", "IsOrganizationTrail": "organization"}


@operation("UpdateTrail")
def update_trail(call: Call, params: Params) -> Result:
    trail = _own(call, params["Name"])
    changes: dict[str, Any] = {}
    for member, attr in _UPDATABLE.items():
        if member in params:
            value = params[member]
            changes[attr] = (value or None) if isinstance(value, str) else bool(value)
    updated = trail.evolve(**changes)
    if updated.multi_region and not updated.include_global:
        raise InvalidParameterCombinationException("Multi-Region trail must include global service events.")
    if updated.multi_region and not trail.multi_region:
        others = [t for t in repo.of_account(call.uow, call.account_id) if t.arn != trail.arn]
        if any(t.name == trail.name for t in others):
            raise D.already_exists(trail.name, call.account_id)
    updated = _checked(call, updated)
    repo.save(call.uow, updated)
    if updated.is_logging and updated.log_validation and (
            not trail.log_validation or (updated.multi_region and not trail.multi_region)
            or (updated.organization and not trail.organization)):
        _open_chains(call, updated, call.clock.now())
    return updated.to_wire(call.partition)


@operation("DeleteTrail")
def delete_trail(call: Call, params: Params) -> Result:
    """The trail is gone for the API at once. What it recorded before the deletion (DeleteTrail's
    own event included, as StopLogging's is) is still delivered to its bucket, and a validating
    trail's chains end with a final digest within the hour, as after StopLogging: "the chain of
    digest files is broken after one hour ... The same applies whenever you stop CloudTrail
    logging or delete a trail" (https://docs.aws.amazon.com/cli/latest/reference/cloudtrail/validate-logs.html).
    Until then the row is kept as a retired trail (``trails_repo.retire``); a trail with nothing
    left to deliver is removed here."""
    trail = _stopped(call, _own(call, params["Name"]))
    pending = trail.stop_seq is not None and trail.cursor_seq < trail.stop_seq
    if pending or delivery_cursor.chains(call.uow, trail.arn):
        retired = repo.retire(call.uow, trail, call.ids.token_bytes(16).hex())
        delivery_cursor.move_chains(call.uow, trail.arn, retired.row_arn)
        return {}
    repo.remove(call.uow, trail)
    delivery_cursor.forget(call.uow, trail.arn)
    return {}


@operation("DescribeTrails")
def describe_trails(call: Call, params: Params) -> Result:
    shadows = params.get("includeShadowTrails", True) is not False
    mine = repo.of_account(call.uow, call.account_id) + trails_org.visible_to_member(call.uow, call.account_id)
    trails = [t for t in mine if t.home_region == call.region or (shadows and t.multi_region)]
    wanted = params.get("trailNameList")
    if wanted:
        refs = [D.parse_ref(v) for v in wanted]
        picked = []
        for ref in refs:
            for t in mine if ref.region else trails:
                if (t.name == ref.name and (ref.region is None or t.home_region == ref.region)
                        and (ref.account_id is None or t.account_id == ref.account_id) and t not in picked):
                    picked.append(t)
        trails = picked
    return {"trailList": [t.describe(call.partition) for t in trails]}


@operation("GetTrail")
def get_trail(call: Call, params: Params) -> Result:
    return {"Trail": _find(call, params["Name"]).describe(call.partition)}


@operation("ListTrails")
def list_trails(call: Call, params: Params) -> Result:
    mine = repo.of_account(call.uow, call.account_id) + trails_org.visible_to_member(call.uow, call.account_id)
    return {"Trails": [{"TrailARN": t.arn, "Name": t.name, "HomeRegion": t.home_region} for t in mine]}


@operation("GetTrailStatus")
def get_trail_status(call: Call, params: Params) -> Result:
    return _find(call, params["Name"]).status()


@operation("StartLogging")
def start_logging(call: Call, params: Params) -> Result:
    trail = _own(call, params["Name"])
    if not trail.is_logging:
        drain_all(call.uow, wait=True)     # the changes acknowledged before it get seqs below the cursor
        # the request's arrival, which is also its event's eventTime: delivery takes events from
        # this second on, so StartLogging's own event is never cut off by a later clock reading
        now = call.received_at or call.clock.now()
        repo.save(call.uow, trail.evolve(is_logging=True, start_logging_time=now,
                                         cursor_seq=delivery_cursor.newest_seq(call.uow), stop_seq=None,
                                         latest_delivery_attempt_time=None), cursor=True)
        if trail.log_validation:
            _open_chains(call, trail, now)
    return {}


def _open_chains(call: Call, trail: D.Trail, now: Any) -> None:
    """The trail's digest chains, of every account whose logs it delivers, start now."""
    delivery_cursor.open_chains(call.uow, trail, now, trails_org.sources(call.uow, trail)[0])


@operation("StopLogging")
def stop_logging(call: Call, params: Params) -> Result:
    _stopped(call, _own(call, params["Name"]))
    return {}


def _stopped(call: Call, trail: D.Trail) -> D.Trail:
    """The trail stopped at the request's arrival (StopLogging, and DeleteTrail of a logging
    trail): what was recorded before this call is still delivered, up to the seq of this moment
    (``delivery._settled_stop`` then takes in the call's own event)."""
    if not trail.is_logging:
        return trail
    drain_all(call.uow, wait=True)         # the changes acknowledged before it get seqs below the stop
    stopped = trail.evolve(is_logging=False, stop_logging_time=call.received_at or call.clock.now(),
                           stop_seq=delivery_cursor.newest_seq(call.uow) + 1)
    repo.save(call.uow, stopped)
    return stopped


@operation("PutEventSelectors")
def put_event_selectors(call: Call, params: Params) -> Result:
    trail = _own(call, params["TrailName"])
    selectors = S.checked(params)
    repo.save(call.uow, trail.evolve(selectors=selectors))
    return {"TrailARN": trail.arn, **selectors}


@operation("GetEventSelectors")
def get_event_selectors(call: Call, params: Params) -> Result:
    trail = _find(call, params["TrailName"], shadows_by_name=False)
    return {"TrailARN": trail.arn, **S.get_wire(trail.selectors)}


# --- tags ---------------------------------------------------------------------------------------------


def _tagged(call: Call, resource_id: str) -> D.Trail:
    found = D.TRAIL_ARN.fullmatch(resource_id)
    if found is None:
        raise CloudTrailARNInvalidException(
            f"ARN {resource_id} is invalid. A valid trail ARN looks like "
            f"arn:aws:cloudtrail:us-east-2:123456789012:trail/MyTrail")
    trail = repo.get(call.uow, found.group(3), found.group(2), found.group(4))
    if trail is None or trail.account_id != call.account_id:
        raise ResourceNotFoundException(f"Resource {resource_id} does not exist.")
    return trail


@operation("AddTags")
def add_tags(call: Call, params: Params) -> Result:
    trail = _tagged(call, params["ResourceId"])
    repo.save(call.uow, trail.evolve(tags=D.merged_tags(trail.tags, D.check_tags(params["TagsList"]))))
    return {}


@operation("RemoveTags")
def remove_tags(call: Call, params: Params) -> Result:
    trail = _tagged(call, params["ResourceId"])
    remove = [(str(t.get("Key", "")), str(t.get("Value") or "")) for t in params["TagsList"]]
    repo.save(call.uow, trail.evolve(tags=D.without_tags(trail.tags, remove)))
    return {}


@operation("ListTags")
def list_tags(call: Call, params: Params) -> Result:
    out = []
    for index, resource_id in enumerate(params["ResourceIdList"]):
        if index and call.authorizer is not None:          # the authorize stage checked the first
            denied = call.authorizer.check(LIST_TAGS, {"ResourceId": resource_id})
            if denied is not None:
                raise denied
        trail = _tagged(call, resource_id)
        out.append({"ResourceId": trail.arn, "TagsList": [{"Key": k, "Value": v} for k, v in trail.tags]})
    return {"ResourceTagList": out}
