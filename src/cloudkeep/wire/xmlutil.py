"""XML text helpers and timestamp formats shared by the XML protocols (query now, rest-xml later).

Owns: escaping text and attribute values for XML 1.0 output built by string joins, and the
conversion of timestamps between Python values and the wire formats botocore models name
(``iso8601``, ``unixTimestamp``, ``rfc822``).

Must not: build DOM trees for output, know any service or protocol envelope.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from email.utils import format_datetime, parsedate_to_datetime
from typing import Final

_UTC: Final = _dt.timezone.utc
_EPOCH: Final = _dt.datetime(1970, 1, 1, tzinfo=_UTC)

# Characters XML 1.0 forbids outright (not even as character references) are replaced by U+FFFD
# so that a response always parses; \r is kept as a reference because XML parsers would
# otherwise normalise it to \n.
_TEXT_SPECIAL: Final = re.compile(r"[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_ATTR_SPECIAL: Final = re.compile(r"[&<>\"\r\n\t\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_REPLACEMENTS: Final = {
    "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;",
    "\r": "&#xD;", "\n": "&#xA;", "\t": "&#x9;",
}


def _replace(match: re.Match[str]) -> str:
    return _REPLACEMENTS.get(match.group(), "\ufffd")


def escape_text(value: str) -> str:
    """``value`` escaped for use as XML element content."""
    if _TEXT_SPECIAL.search(value) is None:
        return value
    return _TEXT_SPECIAL.sub(_replace, value)


def escape_attr(value: str) -> str:
    """``value`` escaped for use inside a double-quoted XML attribute."""
    if _ATTR_SPECIAL.search(value) is None:
        return value
    return _ATTR_SPECIAL.sub(_replace, value)


# --- timestamps ----------------------------------------------------------------------------

def to_datetime(value: object) -> _dt.datetime:
    """An aware UTC datetime from a datetime (naive means UTC), epoch seconds, or a wire string."""
    if isinstance(value, _dt.datetime):
        return value.replace(tzinfo=_UTC) if value.tzinfo is None else value.astimezone(_UTC)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _EPOCH + _dt.timedelta(seconds=value)
    if isinstance(value, str):
        parsed = parse_timestamp(value)
        if parsed is not None:
            return parsed
    raise TypeError(f"not a timestamp: {value!r}")


def format_timestamp(value: object, fmt: str | None) -> str:
    """A timestamp in the model's format; ``iso8601`` (the XML default) as AWS sends it:
    ``2024-01-02T03:04:05Z``, with milliseconds only when the value has a fraction."""
    moment = to_datetime(value)
    if fmt == "unixTimestamp":
        seconds = (moment - _EPOCH).total_seconds()
        return str(int(seconds)) if seconds == int(seconds) else repr(round(seconds, 3))
    if fmt == "rfc822":
        return format_datetime(moment, usegmt=True)
    if moment.microsecond:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


_ISO: Final = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?"
    r"\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?")
_EPOCH_NUMBER: Final = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")


def parse_timestamp(text: str) -> _dt.datetime | None:
    """An aware UTC datetime from ISO 8601, epoch seconds or RFC 822 text; None if none fits."""
    text = text.strip()
    if len(text) > 64:
        return None
    try:
        match = _ISO.fullmatch(text)
        if match:
            return _from_iso(match)
        if _EPOCH_NUMBER.fullmatch(text):
            seconds = float(text)
            if not math.isfinite(seconds):
                return None
            return _EPOCH + _dt.timedelta(seconds=seconds)
        if text[:1].isalpha():
            parsed = parsedate_to_datetime(text)
            return to_datetime(parsed)
    except (ValueError, OverflowError, TypeError, IndexError):
        return None
    return None


def _from_iso(match: re.Match[str]) -> _dt.datetime:
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    moment = _dt.datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0),
                          int(second or 0), micro, tzinfo=_UTC)
    if zone and zone not in ("Z", "z"):
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        offset = _dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
        moment -= sign * offset
    return moment


def ns_attr(ns: object) -> str:
    """The ``xmlns`` attribute text for a model's xmlNamespace (a URI, or {"uri", "prefix"})."""
    if not ns:
        return ""
    if isinstance(ns, dict):
        uri = escape_attr(str(ns.get("uri", "")))
        prefix = ns.get("prefix")
        return f' xmlns:{prefix}="{uri}"' if prefix else f' xmlns="{uri}"'
    return f' xmlns="{escape_attr(str(ns))}"'


def child_shape(shape: object, kind: str, name: str) -> object:
    """The shape a serializer plan descends into: a structure's member ``name``, a list's
    member, or a map's key (``name == "key"``) or value."""
    if kind == "structure":
        return shape.members[name]  # type: ignore[attr-defined]
    if kind == "list":
        return shape.member  # type: ignore[attr-defined]
    return shape.key if name == "key" else shape.value  # type: ignore[attr-defined]
