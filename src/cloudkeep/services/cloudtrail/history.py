"""The event history's rules (pure): what a LookupEvents request asks for, its NextToken, and
how a stored record reads as an ``Event`` of the response.

- One lookup attribute (the first of the list), among EventId, EventName, ReadOnly, Username,
  ResourceType, ResourceName, EventSource, AccessKeyId; ReadOnly takes "true" or "false".
- StartTime/EndTime bound the event time inclusively; a start after the end is
  InvalidTimeRangeException. The window is never older than the last 90 days.
- MaxResults 1 to 50, default 50.
- Newest first: events are ordered by (event time, seq, place in the row) descending (a row of
  the recorder's batches may stand for several records of one second: the later first); a
  NextToken names the last event of its page and the request's filter, so a token from another request, or one this
  server never handed out, is InvalidNextTokenException, and events written between calls
  neither repeat nor shift the following pages.
- EventCategory "insight" asks for Insights events, which this server never produces.

https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html
https://docs.aws.amazon.com/awscloudtrail/latest/userguide/view-cloudtrail-events.html

Must not: hold SQL (``history_repository``) or import the pipeline.
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Mapping

from cloudkeep.audit.recorder import RETENTION, lookup_resources, username_of

from .errors import (InvalidEventCategoryException, InvalidLookupAttributesException, InvalidMaxResultsException,
                     InvalidNextTokenException, InvalidTimeRangeException)

UTC = _dt.timezone.utc
DEFAULT_MAX_RESULTS = 50
MAX_RESULTS = 50
#: lookup attribute → the ``audit_events`` column it filters (Resource* use the side table)
COLUMN_OF = {"EventId": "event_id", "EventName": "event_name", "ReadOnly": "read_only",
             "Username": "username", "EventSource": "event_source", "AccessKeyId": "access_key_id",
             "ResourceType": "resource_type", "ResourceName": "resource_name"}
RESOURCE_KEYS = frozenset({"ResourceType", "ResourceName"})


@dataclass(frozen=True, slots=True)
class Cursor:
    """The last event of a page: the next page holds what sorts strictly after it."""

    event_time: _dt.datetime
    seq: int
    #: the place in its row of the last event, when the row stands for several records and the
    #: page ended inside it (the next page goes on with the row's earlier places); None: the page
    #: ended with the row's last event (its place 0)
    position: int | None = None


@dataclass(frozen=True, slots=True)
class LookupQuery:
    account_id: str
    region: str
    key: str | None                # a LookupAttributes key, or None for every event
    value: Any                     # its value (ReadOnly: a bool)
    start: _dt.datetime            # inclusive
    end: _dt.datetime              # inclusive
    limit: int
    after: Cursor | None = None


def _invalid_token() -> InvalidNextTokenException:
    return InvalidNextTokenException("Invalid NextToken. A token must come from the response to a "
                                     "previous call with the same parameters.")


def _scope(params: Mapping[str, Any]) -> str:
    """What a token is bound to: the request's filters as the caller gave them."""
    attrs = [[a.get("AttributeKey"), a.get("AttributeValue")] for a in params.get("LookupAttributes") or ()]
    times = [params[k].isoformat() if isinstance(params.get(k), _dt.datetime) else None
             for k in ("StartTime", "EndTime")]
    raw = json.dumps([attrs, times, params.get("EventCategory")], separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = _dt.timedelta(microseconds=1)


def encode_token(params: Mapping[str, Any], cursor: Cursor) -> str:
    micros = (cursor.event_time - _EPOCH) // _MICROSECOND          # exact: the cursor compares by equality
    fields: dict[str, Any] = {"q": _scope(params), "t": micros, "s": cursor.seq}
    if cursor.position is not None:
        fields["p"] = cursor.position
    raw = json.dumps(fields, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_token(params: Mapping[str, Any], token: str) -> Cursor:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if (not isinstance(data, dict) or data.get("q") != _scope(params)
                or type(data.get("t")) is not int or type(data.get("s")) is not int
                or ("p" in data and (type(data["p"]) is not int or data["p"] < 1))):
            raise _invalid_token()
        when = _EPOCH + data["t"] * _MICROSECOND
    except (binascii.Error, ValueError, UnicodeDecodeError, OverflowError, OSError):
        raise _invalid_token() from None
    return Cursor(event_time=when, seq=data["s"], position=data.get("p"))


def _attribute(params: Mapping[str, Any]) -> tuple[str | None, Any]:
    """The lookup attribute. "Currently the list can contain only one item" (the API
    reference); AWS's servers answer a longer list by filtering on its first attribute only,
    without an error (observed on live accounts: https://github.com/zb-ss/servonaut/pull/103,
    https://github.com/guessi/cloudtrail-cli/issues/2), and so does this server."""
    attributes = params.get("LookupAttributes") or []
    if not attributes:
        return None, None
    key, value = attributes[0].get("AttributeKey"), attributes[0].get("AttributeValue")
    if key not in COLUMN_OF:
        raise InvalidLookupAttributesException(f"Invalid lookup attribute key: {key}")
    if not isinstance(value, str) or not value:
        raise InvalidLookupAttributesException(f"Invalid value for lookup attribute {key}.")
    if key == "ReadOnly":
        if value not in ("true", "false"):
            raise InvalidLookupAttributesException(
                f"Invalid value for lookup attribute ReadOnly: {value}. Valid values are true and false.")
        return key, value == "true"
    return key, value


def parse_request(params: Mapping[str, Any], *, account_id: str, region: str,
                  now: _dt.datetime) -> LookupQuery | None:
    """The query a LookupEvents request asks for; None when it asks for Insights events
    (there are none). Raises the CloudTrail error AWS answers for a bad request."""
    category = params.get("EventCategory")
    if category is not None and category != "insight":
        raise InvalidEventCategoryException(f"Invalid EventCategory: {category}")
    key, value = _attribute(params)
    limit = params.get("MaxResults")
    if limit is None:
        limit = DEFAULT_MAX_RESULTS
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_RESULTS:
        raise InvalidMaxResultsException("MaxResults must be between 1 and 50.")
    start, end = params.get("StartTime"), params.get("EndTime")
    if start is not None and end is not None and start > end:
        raise InvalidTimeRangeException("Start time must be before end time.")
    token = params.get("NextToken")
    after = decode_token(params, token) if token is not None else None
    if category == "insight":
        return None
    oldest = now - RETENTION
    return LookupQuery(account_id=account_id, region=region, key=key, value=value,
                       start=max(start, oldest) if start is not None else oldest,
                       end=end if end is not None else now, limit=limit, after=after)


def event_wire(text: str) -> dict[str, Any]:
    """A stored record's JSON text (``audit.recorder.record_texts``) as an ``Event`` of
    LookupEvents' response: the stored compact JSON is its CloudTrailEvent as is."""
    record = json.loads(text)
    identity = record.get("userIdentity") or {}
    out: dict[str, Any] = {
        "EventId": record["eventID"],
        "EventName": record["eventName"],
        "ReadOnly": "true" if record.get("readOnly") else "false",
    }
    if identity.get("accessKeyId"):
        out["AccessKeyId"] = identity["accessKeyId"]
    out["EventTime"] = _event_time(record["eventTime"])
    out["EventSource"] = record["eventSource"]
    username = username_of(identity)
    if username:
        out["Username"] = username
    out["Resources"] = [{"ResourceType": kind, "ResourceName": name} for kind, name in lookup_resources(record)]
    out["CloudTrailEvent"] = text
    return out


def _event_time(text: str) -> _dt.datetime:
    value = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)

