"""Event selectors: checking what PutEventSelectors receives and deciding which events a trail
logs. Pure: no SQL, no I/O.

- Basic selectors (at most 5): ``ReadWriteType`` (ReadOnly, WriteOnly, All),
  ``IncludeManagementEvents``, ``ExcludeManagementEventSources``, and ``DataResources`` of type
  ``AWS::S3::Object`` whose values are ``arn:<partition>:s3`` (every object) or a bucket ARN
  with a trailing slash and an optional key prefix.
  https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_EventSelector.html
- Advanced selectors (at most 500 conditions over all of them): every field selector of a
  selector must hold; ``eventCategory`` with Equals is required; Equals/StartsWith/EndsWith
  hold when any value matches, NotEquals/NotStartsWith/NotEndsWith when none does.
  https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_AdvancedFieldSelector.html
- Without selectors a trail logs every management event and no data event.

Must not: hold SQL or know how events are stored.
"""

from __future__ import annotations

import re
from typing import Any, Mapping, Sequence

from .errors import InvalidEventSelectorsException, InvalidParameterCombinationException

MAX_SELECTORS = 5
MAX_DATA_VALUES = 250
MAX_ADVANCED_SELECTORS = 500
DATA_TYPES = frozenset({"AWS::S3::Object", "AWS::Lambda::Function", "AWS::DynamoDB::Table"})
FIELDS = frozenset({"eventCategory", "eventSource", "eventName", "eventType", "readOnly", "resources.type",
                    "resources.ARN", "userIdentity.arn", "errorCode", "sessionCredentialFromConsole",
                    "vpcEndpointId"})
MANAGEMENT_FIELDS = frozenset({"eventCategory", "readOnly", "eventSource"})
_S3_VALUE = re.compile(r"arn:aws[a-z-]*:s3(:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/.*)?")
OPERATORS = ("Equals", "StartsWith", "EndsWith", "NotEquals", "NotStartsWith", "NotEndsWith")


def _invalid(message: str) -> InvalidEventSelectorsException:
    return InvalidEventSelectorsException(message)


def checked(params: Mapping[str, Any]) -> dict[str, Any]:
    """The selectors to store from a PutEventSelectors request, or AWS's error."""
    basic, advanced = params.get("EventSelectors"), params.get("AdvancedEventSelectors")
    if basic is not None and advanced is not None:
        raise InvalidParameterCombinationException(
            "EventSelectors and AdvancedEventSelectors cannot both be specified.")
    if basic is None and advanced is None:
        raise InvalidParameterCombinationException("Either EventSelectors or AdvancedEventSelectors must be "
                                                   "specified.")
    if basic is not None:
        return {"EventSelectors": [_basic(s) for s in _bounded(basic, MAX_SELECTORS)]}
    return {"AdvancedEventSelectors": _advanced(advanced or [])}


def _bounded(items: Sequence[Any], limit: int) -> Sequence[Any]:
    if not items or len(items) > limit:
        raise _invalid(f"The number of event selectors must be between 1 and {limit}.")
    return items


def _basic(selector: Mapping[str, Any]) -> dict[str, Any]:
    resources = []
    total = 0
    for resource in selector.get("DataResources") or []:
        kind, values = resource.get("Type", ""), list(resource.get("Values") or [])
        if kind not in DATA_TYPES:
            raise _invalid(f"Value {kind} for DataResources.Type is invalid.")
        total += len(values)
        for value in values:
            if kind == "AWS::S3::Object" and not _S3_VALUE.fullmatch(value):
                raise _invalid(f"Value {value} for DataResources.Values is invalid.")
        resources.append({"Type": kind, "Values": values})
    if total > MAX_DATA_VALUES:
        raise _invalid(f"The number of DataResources values exceeds the limit of {MAX_DATA_VALUES}.")
    return {"ReadWriteType": selector.get("ReadWriteType") or "All",
            "IncludeManagementEvents": selector.get("IncludeManagementEvents", True) is not False,
            "DataResources": resources,
            "ExcludeManagementEventSources": list(selector.get("ExcludeManagementEventSources") or [])}


def _advanced(selectors: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    if not selectors:
        raise _invalid("At least one advanced event selector is required.")
    out, conditions = [], 0
    for selector in selectors:
        fields = list(selector.get("FieldSelectors") or [])
        by_name = {f.get("Field"): f for f in fields}
        for field in fields:
            name = field.get("Field")
            if name not in FIELDS:
                raise _invalid(f"Invalid field name: {name}.")
            ops = [op for op in OPERATORS if field.get(op)]
            if not ops:
                raise _invalid(f"Field {name} must have at least one operator with values.")
            conditions += sum(len(field[op]) for op in ops)
        category = by_name.get("eventCategory")
        if category is None or not category.get("Equals"):
            raise _invalid("The eventCategory field is required and must use the Equals operator.")
        categories = set(category["Equals"])
        if "Management" in categories:
            extra = set(by_name) - MANAGEMENT_FIELDS
            if extra:
                raise _invalid(f"Field {sorted(extra)[0]} is not valid for management events.")
        elif "Data" in categories:
            kind = by_name.get("resources.type")
            if kind is None or len(kind.get("Equals") or []) != 1:
                raise _invalid("For data events, the resources.type field is required and must use the Equals "
                               "operator with one value.")
        for name in ("readOnly",):
            values = (by_name.get(name) or {}).get("Equals") or []
            if any(v not in ("true", "false") for v in values):
                raise _invalid("The readOnly field accepts only true or false.")
        entry: dict[str, Any] = {"FieldSelectors": [{k: v for k, v in f.items() if k == "Field" or v}
                                                    for f in fields]}
        if selector.get("Name"):
            entry["Name"] = selector["Name"]
        out.append(entry)
    if conditions > MAX_ADVANCED_SELECTORS:
        raise _invalid(f"The number of conditions exceeds the limit of {MAX_ADVANCED_SELECTORS}.")
    return out


def get_wire(selectors: Mapping[str, Any] | None) -> dict[str, Any]:
    """GetEventSelectors's members: the default selector when none was ever put."""
    if selectors is None:
        return {"EventSelectors": [{"ReadWriteType": "All", "IncludeManagementEvents": True, "DataResources": [],
                                    "ExcludeManagementEventSources": []}]}
    return dict(selectors)


# --- matching -------------------------------------------------------------------------------------


def object_arns(event: Mapping[str, Any]) -> list[str]:
    """The S3 object ARNs a data event is about (its resources, else its request's bucket and key)."""
    arns = [r.get("ARN", "") for r in event.get("resources") or () if r.get("type") == "AWS::S3::Object"]
    if arns:
        return arns
    params = event.get("requestParameters") or {}
    bucket, key = params.get("bucketName") or params.get("Bucket"), params.get("key") or params.get("Key")
    return [f"arn:aws:s3:::{bucket}/{key}"] if bucket and key is not None else []


def _rw(kind: str, read_only: bool) -> bool:
    return kind == "All" or (kind == "ReadOnly") == read_only


def _basic_matches(selector: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    read_only = bool(event.get("readOnly"))
    if not _rw(selector.get("ReadWriteType", "All"), read_only):
        return False
    if event.get("managementEvent", True):
        return (selector.get("IncludeManagementEvents", True)
                and event.get("eventSource") not in (selector.get("ExcludeManagementEventSources") or ()))
    arns = object_arns(event)
    for resource in selector.get("DataResources") or ():
        if resource.get("Type") != "AWS::S3::Object":
            continue
        for value in resource.get("Values") or ():
            if value.count(":") < 5 and value.startswith("arn:") and value.rstrip(":").endswith(":s3"):
                return bool(arns)                 # "arn:aws:s3": every object
            if any(arn.startswith(value) for arn in arns):
                return True
    return False


def _values(field: str, event: Mapping[str, Any]) -> list[str]:
    management = bool(event.get("managementEvent", True))
    if field == "eventCategory":
        return ["Management" if management else "Data"]
    if field == "readOnly":
        return ["true" if event.get("readOnly") else "false"]
    if field == "resources.type":
        return [] if management else ["AWS::S3::Object"] if event.get("eventSource") == "s3.amazonaws.com" else []
    if field == "resources.ARN":
        return object_arns(event) if not management else []
    if field == "userIdentity.arn":
        return [str((event.get("userIdentity") or {}).get("arn", ""))]
    if field == "sessionCredentialFromConsole":
        return []
    value = event.get(field)
    return [] if value is None else [str(value)]


def _field_matches(field: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    values = _values(field["Field"], event)
    tests = {"Equals": lambda v, x: v == x, "StartsWith": lambda v, x: v.startswith(x),
             "EndsWith": lambda v, x: v.endswith(x)}
    for op, test in tests.items():
        wanted = field.get(op)
        if wanted and not any(test(v, x) for v in values for x in wanted):
            return False
        negated = field.get("Not" + op)
        if negated and any(test(v, x) for v in values for x in negated):
            return False
    return True


def matches(selectors: Mapping[str, Any] | None, event: Mapping[str, Any]) -> bool:
    """Whether a trail with these selectors logs this event record."""
    if selectors is None:
        return bool(event.get("managementEvent", True))
    if "AdvancedEventSelectors" in selectors:
        return any(all(_field_matches(f, event) for f in s.get("FieldSelectors") or ())
                   for s in selectors["AdvancedEventSelectors"])
    return any(_basic_matches(s, event) for s in selectors.get("EventSelectors") or ())


def selects_data_events(selectors: Mapping[str, Any] | None) -> bool:
    """Whether a trail with these selectors may log some data event: a basic selector with
    ``DataResources``, or an advanced selector whose ``eventCategory`` is not management only.
    (Without selectors a trail logs management events only.)"""
    if selectors is None:
        return False
    if "AdvancedEventSelectors" in selectors:
        for selector in selectors["AdvancedEventSelectors"]:
            category = next((f for f in selector.get("FieldSelectors") or () if f.get("Field") == "eventCategory"),
                            None)
            if category is None or set(category.get("Equals") or ()) != {"Management"}:
                return True
        return False
    return any(s.get("DataResources") for s in selectors.get("EventSelectors") or ())
