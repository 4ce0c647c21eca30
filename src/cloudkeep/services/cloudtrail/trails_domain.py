"""Trails: the entity, its name and ARN rules, and its wire form. Pure: no SQL, no I/O.

- Trail names: 3 to 128 ASCII letters, digits, periods, underscores or dashes, starting and
  ending with a letter or digit, no two special characters in a row, not an IP address; a trail
  is named by its name or its ARN ``arn:<partition>:cloudtrail:<region>:<account>:trail/<name>``.
  https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_CreateTrail.html
- At most 5 trails per region (shadow trails of multi-region trails count).
  https://docs.aws.amazon.com/awscloudtrail/latest/userguide/WhatIsCloudTrail-Limits.html

Must not: hold SQL (``trails_repo``) or decide delivery (``delivery*``).
"""

from __future__ import annotations

import datetime as _dt
import ipaddress
import re
from dataclasses import dataclass, replace
from typing import Any, Mapping

from .errors import (InvalidTagParameterException, InvalidTrailNameException,
                     MaximumNumberOfTrailsExceededException, TagsLimitExceededException,
                     TrailAlreadyExistsException, TrailNotFoundException)

MAX_TRAILS_PER_REGION = 5
MAX_TAGS = 50
_NAME_CHARS = re.compile(r"[.\-_0-9a-zA-Z]+")
_SPECIAL_RUN = re.compile(r"[._-]{2}")
TRAIL_ARN = re.compile(r"arn:(aws[a-z-]*):cloudtrail:([a-z0-9-]+):(\d{12}):trail/(.+)")

#: services whose events are "global service events" (logged in us-east-1; a trail takes them
#: only with IncludeGlobalServiceEvents)
GLOBAL_SOURCES = frozenset({"iam.amazonaws.com", "organizations.amazonaws.com", "sts.amazonaws.com",
                            "cloudfront.amazonaws.com"})


def check_name(name: str) -> None:
    """InvalidTrailNameException with CloudTrail's text for the first rule a name breaks."""
    if len(name) < 3:
        raise InvalidTrailNameException(f"Trail name too short. Minimum allowed length: 3 characters. "
                                        f"Specified name length: {len(name)} characters.")
    if len(name) > 128:
        raise InvalidTrailNameException(f"Trail name too long. Maximum allowed length: 128 characters. "
                                        f"Specified name length: {len(name)} characters.")
    if not (name[0].isascii() and name[0].isalnum()):
        raise InvalidTrailNameException("Trail name must starts with a letter or number.")
    if not (name[-1].isascii() and name[-1].isalnum()):
        raise InvalidTrailNameException("Trail name must ends with a letter or number.")
    if not _NAME_CHARS.fullmatch(name):
        raise InvalidTrailNameException("Trail name or ARN can only contain uppercase letters, lowercase letters, "
                                        "numbers, periods (.), hyphens (-), and underscores (_).")
    if _SPECIAL_RUN.search(name):
        raise InvalidTrailNameException("Trail name cannot contain adjacent periods, underscores or dashes.")
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return
    raise InvalidTrailNameException("Trail name cannot be formatted as an IP address.")


@dataclass(frozen=True, slots=True)
class TrailRef:
    """What a request's Name/TrailName names: a name, or an ARN's region, account and name."""

    name: str
    region: str | None = None
    account_id: str | None = None
    text: str = ""


def parse_ref(value: str) -> TrailRef:
    if value.startswith("arn:"):
        found = TRAIL_ARN.fullmatch(value)
        if found is None:
            raise InvalidTrailNameException("Trail name or ARN can only contain uppercase letters, lowercase "
                                            "letters, numbers, periods (.), hyphens (-), and underscores (_).")
        check_name(found.group(4))
        return TrailRef(name=found.group(4), region=found.group(2), account_id=found.group(3), text=value)
    check_name(value)
    return TrailRef(name=value, text=value)


def trail_arn(partition: str, region: str, account_id: str, name: str) -> str:
    return f"arn:{partition}:cloudtrail:{region}:{account_id}:trail/{name}"


def not_found(ref: TrailRef | str, account_id: str, *, partition: str = "aws", region: str = "us-east-1"
              ) -> TrailNotFoundException:
    """CloudTrail names the trail by ARN and the caller's account."""
    if isinstance(ref, TrailRef):
        arn = ref.text if ref.text.startswith("arn:") else trail_arn(partition, region, account_id, ref.name)
    else:
        arn = ref
    return TrailNotFoundException(f"Unknown trail: {arn} for the user: {account_id}")


def already_exists(name: str, account_id: str) -> TrailAlreadyExistsException:
    return TrailAlreadyExistsException(f"Trail {name} already exists for customer: {account_id}")


def too_many(account_id: str, region: str) -> MaximumNumberOfTrailsExceededException:
    return MaximumNumberOfTrailsExceededException(
        f"User: {account_id} already has {MAX_TRAILS_PER_REGION} trails in {region}.")


#: the first character of a retired trail's stored name (``Trail.row_name``)
RETIRED_MARK = "~"


@dataclass(frozen=True, slots=True)
class Trail:
    account_id: str
    home_region: str
    name: str
    arn: str
    s3_bucket: str
    s3_prefix: str | None
    sns_topic: str | None
    include_global: bool
    multi_region: bool
    organization: bool
    log_validation: bool
    kms_key_id: str | None
    cw_log_group: str | None
    cw_role: str | None
    selectors: Any                 # None (default), {"EventSelectors": [...]} or {"AdvancedEventSelectors": [...]}
    tags: tuple[tuple[str, str], ...]
    created_at: _dt.datetime
    is_logging: bool = False
    start_logging_time: _dt.datetime | None = None
    stop_logging_time: _dt.datetime | None = None
    cursor_seq: int = 0
    stop_seq: int | None = None    # set by StopLogging: what was recorded before it is still delivered
    latest_delivery_time: _dt.datetime | None = None
    latest_delivery_attempt_time: _dt.datetime | None = None
    latest_delivery_error: str | None = None
    latest_digest_time: _dt.datetime | None = None
    latest_digest_error: str | None = None
    #: a deleted trail still delivering what was recorded before DeleteTrail (and writing its
    #: final digests): the token its row is kept under (``row_name``, ``row_arn``) until then,
    #: so that a new trail may take the name at once. None: a trail of the API.
    retired: str | None = None

    def evolve(self, **changes: Any) -> "Trail":
        return replace(self, **changes)

    @property
    def row_name(self) -> str:
        """The name the trail's row is stored under: a retired trail's is ``~<token>``, which no
        trail name can be (names start with a letter or a digit)."""
        return self.name if self.retired is None else f"{RETIRED_MARK}{self.retired}"

    @property
    def row_arn(self) -> str:
        """The ARN the trail's row and digest chains are stored under: a retired trail's ends in
        ``#<token>`` (its files still name the trail's own ARN, ``arn``)."""
        return self.arn if self.retired is None else f"{self.arn}#{self.retired}"

    @property
    def partition(self) -> str:
        """The partition its ARN names (``aws``, ``aws-cn``, ``aws-us-gov``)."""
        return self.arn.split(":", 2)[1]

    def visible_in(self, region: str) -> bool:
        return self.home_region == region or self.multi_region

    def to_wire(self, partition: str) -> dict[str, Any]:
        """The Trail shape (CreateTrail/UpdateTrail answer without HomeRegion and the Has* flags)."""
        out: dict[str, Any] = {"Name": self.name, "S3BucketName": self.s3_bucket}
        if self.s3_prefix:
            out["S3KeyPrefix"] = self.s3_prefix
        if self.sns_topic:
            out["SnsTopicName"] = self.sns_topic
            out["SnsTopicARN"] = f"arn:{partition}:sns:{self.home_region}:{self.account_id}:{self.sns_topic}"
        out.update({"IncludeGlobalServiceEvents": self.include_global, "IsMultiRegionTrail": self.multi_region,
                    "TrailARN": self.arn, "LogFileValidationEnabled": self.log_validation})
        if self.cw_log_group:
            out["CloudWatchLogsLogGroupArn"] = self.cw_log_group
        if self.cw_role:
            out["CloudWatchLogsRoleArn"] = self.cw_role
        if self.kms_key_id:
            out["KmsKeyId"] = self.kms_key_id
        out["IsOrganizationTrail"] = self.organization
        return out

    def describe(self, partition: str) -> dict[str, Any]:
        """The Trail shape of DescribeTrails/GetTrail."""
        out = self.to_wire(partition)
        out["HomeRegion"] = self.home_region
        out["HasCustomEventSelectors"] = self.selectors is not None
        out["HasInsightSelectors"] = False
        return out

    def status(self) -> dict[str, Any]:
        """GetTrailStatus's answer (its deprecated Time* members mirror the current ones)."""
        out: dict[str, Any] = {"IsLogging": self.is_logging}
        if self.latest_delivery_error:
            out["LatestDeliveryError"] = self.latest_delivery_error
        if self.latest_delivery_time:
            out["LatestDeliveryTime"] = self.latest_delivery_time
        if self.start_logging_time:
            out["StartLoggingTime"] = self.start_logging_time
            out["TimeLoggingStarted"] = _text(self.start_logging_time)
        if self.stop_logging_time:
            out["StopLoggingTime"] = self.stop_logging_time
            out["TimeLoggingStopped"] = _text(self.stop_logging_time)
        if self.latest_digest_time:
            out["LatestDigestDeliveryTime"] = self.latest_digest_time
        if self.latest_digest_error:
            out["LatestDigestDeliveryError"] = self.latest_digest_error
        if self.latest_delivery_attempt_time:
            out["LatestDeliveryAttemptTime"] = _text(self.latest_delivery_attempt_time)
            out["LatestDeliveryAttemptSucceeded"] = (_text(self.latest_delivery_time)
                                                     if self.latest_delivery_time else "")
        out["LatestNotificationAttemptTime"] = ""
        out["LatestNotificationAttemptSucceeded"] = ""
        return out


def _text(value: _dt.datetime) -> str:
    return value.astimezone(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- tags ---------------------------------------------------------------------------------------


def check_tags(tags: list[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """(key, value) pairs of a TagsList; keys are 1-128 characters, values at most 256.
    https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_Tag.html"""
    out: list[tuple[str, str]] = []
    for tag in tags:
        key, value = str(tag.get("Key", "")), str(tag.get("Value") or "")
        if not key or len(key) > 128 or len(value) > 256 or key.lower().startswith("aws:"):
            raise InvalidTagParameterException("Tag key or value is invalid.")
        out.append((key, value))
    return out


def merged_tags(current: tuple[tuple[str, str], ...], new: list[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    merged = dict(current)
    merged.update(new)
    if len(merged) > MAX_TAGS:
        raise TagsLimitExceededException("The number of tags on the trail exceeds the limit of 50.")
    return tuple(merged.items())


def without_tags(current: tuple[tuple[str, str], ...], remove: list[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """RemoveTags: a tag goes when its key matches and its value does too, if one was given."""
    drop = {k: v for k, v in remove}
    return tuple((k, v) for k, v in current if not (k in drop and (not drop[k] or drop[k] == v)))
