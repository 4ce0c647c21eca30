"""Turning an operation's params or result into CloudTrail's requestParameters/responseElements.

Owns: walking a value along its botocore shape and producing a new JSON-ready object in
CloudTrail's form:

- members whose shape is marked ``sensitive`` are left out, as CloudTrail does for IAM and STS
  (CreateAccessKey's and AssumeRole's responseElements carry no secretAccessKey; CreateLoginProfile's
  requestParameters carry no password). Services that write a placeholder instead pass
  ``hidden=HIDDEN`` (CloudTrail's literal ``HIDDEN_DUE_TO_SECURITY_REASONS``).
  https://docs.aws.amazon.com/IAM/latest/UserGuide/cloudtrail-integration.html
- member names become lowerCamel by lower-casing their first character only (``UserName`` →
  ``userName``, ``SAMLAssertionID`` → ``sAMLAssertionID``, as in AWS's example records); map keys
  are kept as given (``encryptionContext`` keys keep their case).
- timestamps take CloudTrail's responseElements form, ``Oct 27, 2022, 6:29:06 AM`` (UTC).
- members that carry a credential though the model does not mark them ``sensitive`` are left
  out too (``_CREDENTIAL_MEMBERS``: an STS ``SessionToken``): secrets, passwords, plaintext
  keys and session tokens are never logged (issue 8's rule for cloudkeep's records, stricter
  than AWS's AssumeRole examples, which show an encoded token).
- blobs are left out (KMS records omit the ciphertext and plaintext:
  https://docs.aws.amazon.com/kms/latest/developerguide/ct-decrypt.html).
- a value the shape does not describe is left out (fail closed: what cannot be classified is
  not logged).
- an empty top-level result is ``None`` (CloudTrail writes ``null`` when there is nothing).

The input is never modified. Per-structure member plans are cached by shape, so each call is
one pass over the value.

Must not: know any service; read or write storage.
"""

from __future__ import annotations

import collections.abc
import datetime as _dt
import functools
from typing import Any, Final, Mapping

from botocore.model import Shape

HIDDEN: Final = "HIDDEN_DUE_TO_SECURITY_REASONS"
UTC = _dt.timezone.utc

_MONTHS: Final = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
                  "Dec")
_OMIT: Final = object()
# Structure members that are credentials without the model's ``sensitive`` mark (see above).
_CREDENTIAL_MEMBERS: Final = frozenset({"SessionToken"})
_SCALARS: Final = frozenset({"string", "integer", "long", "boolean", "float", "double",
                             "bigdecimal", "biginteger", "character", "byte", "short"})


def cloudtrail_date(value: _dt.datetime) -> str:
    """A timestamp as CloudTrail writes it inside responseElements: ``Nov 29, 2026, 11:42:18 PM``.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/cloudtrail-integration.html#stscloudtrailexample
    """
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    hour = value.hour % 12 or 12
    half = "AM" if value.hour < 12 else "PM"
    return (f"{_MONTHS[value.month - 1]} {value.day}, {value.year}, "
            f"{hour}:{value.minute:02d}:{value.second:02d} {half}")


def lower_camel(name: str) -> str:
    """CloudTrail's member name: the model's name with its first character lower-cased."""
    return name[:1].lower() + name[1:] if name else name


def _is_sensitive(shape: Shape) -> bool:
    return bool(shape.metadata.get("sensitive"))


@functools.lru_cache(maxsize=8192)
def _plan(shape: Shape) -> Mapping[str, tuple[str, Shape, bool]]:
    """member name → (CloudTrail name, member shape, sensitive), for a structure shape."""
    return {name: (lower_camel(name), member, _is_sensitive(member) or name in _CREDENTIAL_MEMBERS)
            for name, member in shape.members.items()}  # type: ignore[attr-defined]


def is_mapping(value: Any) -> bool:
    """``isinstance(value, Mapping)``, a dict first: the ABC check goes through its machinery on
    every call, and records are walked value by value."""
    return type(value) is dict or isinstance(value, collections.abc.Mapping)


def _walk(shape: Shape, value: Any, hidden: str | None) -> Any:
    if value is None:
        return None
    kind = shape.type_name
    if kind == "structure":
        if not is_mapping(value):
            return _OMIT
        plan = _plan(shape)
        out: dict[str, Any] = {}
        for name, item in value.items():
            entry = plan.get(name)
            if entry is None:
                continue
            out_name, member, sensitive = entry
            if sensitive:
                if hidden is not None:
                    out[out_name] = hidden
                continue
            converted = _walk(member, item, hidden)
            if converted is not _OMIT:
                out[out_name] = converted
        return out
    if kind == "list":
        if not isinstance(value, (list, tuple)):
            return _OMIT
        member = shape.member  # type: ignore[attr-defined]
        if _is_sensitive(member):
            return [hidden] * len(value) if hidden is not None else _OMIT
        items = (_walk(member, item, hidden) for item in value)
        return [item for item in items if item is not _OMIT]
    if kind == "map":
        if not is_mapping(value):
            return _OMIT
        key_shape, value_shape = shape.key, shape.value  # type: ignore[attr-defined]
        if _is_sensitive(key_shape) or _is_sensitive(value_shape):
            return {} if hidden is None else {str(k): hidden for k in value}
        out_map: dict[str, Any] = {}
        for key, item in value.items():
            converted = _walk(value_shape, item, hidden)
            if converted is not _OMIT:
                out_map[str(key)] = converted
        return out_map
    if kind == "timestamp":
        if isinstance(value, _dt.datetime):
            return cloudtrail_date(value)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return cloudtrail_date(_dt.datetime.fromtimestamp(value, UTC))
        return value if isinstance(value, str) else _OMIT
    if kind == "blob":
        return _OMIT
    if kind in _SCALARS:
        if isinstance(value, (str, int, float, bool)):
            return value
        if isinstance(value, (bytes, bytearray)):
            return _OMIT
        return str(value)  # e.g. Decimal for bigdecimal
    return _OMIT


def redact(shape: Shape | None, value: Any, *, hidden: str | None = None) -> Any:
    """CloudTrail's form of ``value`` (params or result) described by ``shape``; None if empty.

    ``hidden``: None leaves sensitive members out (IAM, STS, KMS); ``HIDDEN`` writes
    CloudTrail's placeholder in their place for services that log it that way.
    """
    if shape is None or value is None:
        return None
    if _is_sensitive(shape):
        return hidden
    out = _walk(shape, value, hidden)
    if out is _OMIT or out == {} or out == []:
        return None
    return out

