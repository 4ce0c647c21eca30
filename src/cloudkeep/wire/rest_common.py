"""HTTP bindings shared by the REST protocols (``rest-xml`` and ``rest-json``), both directions.

Owns: matching a request path and query against an operation's ``requestUri`` template
(``/{Bucket}/{Key+}?uploads``); binding URI labels, query-string parameters (scalars, lists,
the catch-all query map), headers (scalars, comma lists, ``jsonvalue`` base64 JSON, base64
blobs) and prefix headers (``x-amz-meta-*``) to input members, typed by the model; and, for
responses, writing header, prefix-header and ``statusCode`` members. Timestamps follow the
location's default format as botocore does (header: ``rfc822``, query string and URI:
``iso8601``; a member's ``timestampFormat`` wins) when written, and are read leniently.

Body handling is each protocol's own. A value of the wrong type raises the ``bad_value`` error
the caller passes (each protocol names it differently), by default a ``ValidationError``.

Must not: read or write a body; know any service; let any exception but ``ServiceError`` escape
from the request side.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import math
import re
from dataclasses import dataclass
from typing import Any, Callable, Final, Iterable, Mapping
from urllib.parse import parse_qsl, unquote

from botocore.model import OperationModel, Shape

from . import errors
from .http import HttpRequest
from .xmlutil import format_timestamp, parse_timestamp

#: makes the error for a bad value: (value as received, where: "header 'x-amz-foo'" …, member name)
BadValue = Callable[[str, str, str], errors.ServiceError]

_INT: Final = re.compile(r"[+-]?\d{1,30}")
_FLOAT: Final = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|NaN|[+-]?Infinity")
_LABEL: Final = re.compile(r"\{([^{}]+)\}")
_BAD_PERCENT: Final = re.compile(r"%(?![0-9A-Fa-f]{2})")
_DEFAULT_TIMESTAMP: Final = {"header": "rfc822", "querystring": "iso8601", "uri": "iso8601"}


def default_bad_value(value: str, where: str, member: str) -> errors.ServiceError:
    shown = value if len(value) <= 100 else value[:100] + "..."
    return errors.ValidationError(
        f"1 validation error detected: Value '{shown}' at '{member[:1].lower() + member[1:]}' "
        f"failed to satisfy constraint: Member must be of the type its {where} requires")


# --- the request URI template ----------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class UriTemplate:
    """A compiled ``requestUri``: the path pattern, its label names (``+`` stripped) and the
    literal query the template requires (``?uploads`` → (("uploads", None),);
    ``?list-type=2`` → (("list-type", "2"),))."""
    pattern: re.Pattern[str]
    labels: tuple[str, ...]
    greedy: frozenset[str]
    literal_query: tuple[tuple[str, str | None], ...]


@functools.lru_cache(maxsize=4096)
def compile_uri(template: str) -> UriTemplate:
    path, _, query = template.partition("?")
    parts: list[str] = []
    labels: list[str] = []
    greedy: set[str] = set()
    position = 0
    for match in _LABEL.finditer(path):
        parts.append(re.escape(path[position:match.start()]))
        name = match.group(1)
        if name.endswith("+"):
            name = name[:-1]
            greedy.add(name)
            parts.append(f"(?P<g{len(labels)}>.+)")
        else:
            parts.append(f"(?P<g{len(labels)}>[^/]+)")
        labels.append(name)
        position = match.end()
    literal = path[position:]
    tail = re.escape(literal)
    if path != "/" and not literal.endswith("/"):
        tail += "/?"                     # "/{Bucket}" is also reached as "/{Bucket}/"
    parts.append(tail)
    literal_query: list[tuple[str, str | None]] = []
    for piece in query.split("&") if query else ():
        name, eq, value = piece.partition("=")
        literal_query.append((name, value if eq else None))
    return UriTemplate(re.compile("".join(parts), re.DOTALL), tuple(labels), frozenset(greedy),
                       tuple(literal_query))


def _unquote_strict(raw: str) -> str | None:
    if "%" not in raw:
        return raw
    if _BAD_PERCENT.search(raw):
        return None
    try:
        return unquote(raw, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        return None


def match_request_uri(request_uri_template: str, path: str, query: str) -> dict[str, str] | None:
    """The percent-decoded URI labels when ``path`` (raw, still encoded) and ``query`` fit the
    template, else None. Label names come without the greedy ``+``; a non-greedy label never
    spans a ``/``; labels are never empty; every literal query parameter of the template must
    be present (with its value, when the template gives one)."""
    compiled = compile_uri(request_uri_template)
    match = compiled.pattern.fullmatch(path)
    if match is None:
        return None
    if compiled.literal_query:
        present: dict[str, list[str]] = {}
        for name, value in parse_qsl(query, keep_blank_values=True):
            present.setdefault(name, []).append(value)
        for name, value in compiled.literal_query:
            if name not in present or (value is not None and value not in present[name]):
                return None
    out: dict[str, str] = {}
    for index, name in enumerate(compiled.labels):
        decoded = _unquote_strict(match.group(f"g{index}"))
        if not decoded:
            return None
        out[name] = decoded
    return out


# --- where a shape's members live on the wire -------------------------------------------------

@dataclass(frozen=True, slots=True)
class Bindings:
    """A shape's members by HTTP location, in model order, each with its wire name.

    ``uri`` and ``query`` hold (member name, member shape, wire name): the URI label, the query
    parameter (a scalar or a list); ``query_names`` are those parameters' names, and
    ``query_maps`` the query-string maps without a name (member name, shape), which take the
    parameters nothing else claims. ``header_writers`` holds the ``header`` and ``headers``
    (prefix) members together, since a response writes them in model order: (member name, header
    name or prefix as the model writes it, ``_SCALAR``, ``_LIST`` or ``_PREFIX``, the function that
    writes the value (``scalar_writer``; a list's: its items'), whether a list item holding a quote
    or a comma is quoted); for requests, ``by_header`` maps a lower-case header name to its member
    (member name, shape, header name; the first member wins) and ``prefixes`` are the prefix
    members (member name, lower-case prefix).
    ``status`` names the ``statusCode`` members.
    """
    uri: tuple[tuple[str, Shape, str], ...]
    query: tuple[tuple[str, Shape, str], ...]
    query_names: frozenset[str]
    query_maps: tuple[tuple[str, Shape], ...]
    header_writers: tuple[tuple[str, str, str, Callable[[Any], str], bool], ...]
    by_header: Mapping[str, tuple[str, Shape, str]]
    prefixes: tuple[tuple[str, str], ...]
    status: tuple[str, ...]


# Built once per shape rather than per request: a request would otherwise read every member's
# ``location`` (about 50 for S3's PutObjectRequest and PutObjectOutput) to find the few it
# binds. botocore's Shape objects are long-lived (cached by their ServiceModel's operations and
# members) and hash by identity, so the shape itself is the key.
@functools.lru_cache(maxsize=4096)
def bindings(shape: Shape) -> Bindings:
    """Where ``shape``'s members live on the wire (see ``Bindings``)."""
    uri: list[tuple[str, Shape, str]] = []
    query: list[tuple[str, Shape, str]] = []
    query_maps: list[tuple[str, Shape]] = []
    header_writers: list[tuple[str, str, str, Callable[[Any], str], bool]] = []
    by_header: dict[str, tuple[str, Shape, str]] = {}
    prefixes: list[tuple[str, str]] = []
    status: list[str] = []
    for name, member in shape.members.items():
        location = member.serialization.get("location")
        if location == "uri":
            uri.append((name, member, member.serialization.get("name", name)))
        elif location == "querystring":
            if member.type_name == "map":
                query_maps.append((name, member))
            else:
                query.append((name, member, member.serialization.get("name", name)))
        elif location == "header":
            wire = member.serialization.get("name", name)
            if member.type_name == "list":
                header_writers.append((name, wire, _LIST, scalar_writer(member.member, "header"),
                                       member.member.type_name == "string"))
            else:
                header_writers.append((name, wire, _SCALAR, scalar_writer(member, "header"), False))
            by_header.setdefault(wire.lower(), (name, member, wire))
        elif location == "headers":
            prefix = member.serialization.get("name", "")
            header_writers.append((name, prefix, _PREFIX, _string_text, False))
            prefixes.append((name, prefix.lower()))
        elif location == "statusCode":
            status.append(name)
    return Bindings(tuple(uri), tuple(query), frozenset(wire for _, _, wire in query),
                    tuple(query_maps), tuple(header_writers), by_header, tuple(prefixes),
                    tuple(status))


_SCALAR, _LIST, _PREFIX = "scalar", "list", "prefix"


# --- reading values ------------------------------------------------------------------------

def read_scalar(shape: Shape, raw: str, location: str, where: str, member: str,
                bad_value: BadValue = default_bad_value) -> Any:
    """A typed value from the text of a label, query parameter or header."""
    kind = shape.type_name
    if kind == "string":
        if location == "header" and shape.serialization.get("jsonvalue"):
            try:
                return json.loads(base64.b64decode(raw.encode("ascii"), validate=True).decode("utf-8"))
            except (binascii.Error, ValueError, UnicodeError):
                raise bad_value(raw, where, member) from None
        return raw
    if kind in ("integer", "long", "short", "byte"):
        if _INT.fullmatch(raw.strip()) is None:
            raise bad_value(raw, where, member)
        return int(raw)
    if kind == "boolean":
        lowered = raw.strip().lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        raise bad_value(raw, where, member)
    if kind in ("float", "double"):
        if _FLOAT.fullmatch(raw.strip()) is None:
            raise bad_value(raw, where, member)
        return float(raw)
    if kind == "timestamp":
        moment = parse_timestamp(raw)
        if moment is None:
            raise bad_value(raw, where, member)
        return moment
    if kind == "blob":
        if location == "uri" or location == "querystring":
            return raw.encode("utf-8")
        try:
            return base64.b64decode(raw.encode("ascii"), validate=True)
        except (binascii.Error, ValueError, UnicodeError):
            raise bad_value(raw, where, member) from None
    return raw


def split_header_list(raw: str) -> list[str]:
    """A comma-separated header value (RFC 7230), double-quoted items unescaped."""
    items: list[str] = []
    i, n = 0, len(raw)
    while i <= n:
        while i < n and raw[i] in " \t":
            i += 1
        if i < n and raw[i] == '"':
            i += 1
            buf: list[str] = []
            while i < n and raw[i] != '"':
                if raw[i] == "\\" and i + 1 < n:
                    i += 1
                buf.append(raw[i])
                i += 1
            i += 1
            while i < n and raw[i] != ",":
                i += 1
            items.append("".join(buf))
        else:
            end = raw.find(",", i)
            end = n if end < 0 else end
            items.append(raw[i:end].strip())
            i = end
        i += 1
    return items


_WEEKDAY: Final = re.compile(r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)", re.IGNORECASE)


def _rejoin_http_dates(items: list[str]) -> list[str]:
    """An HTTP date has a comma of its own (``Mon, 16 Dec 2019 23:48:18 GMT``): a list of them
    split at every comma is put back together."""
    out: list[str] = []
    i = 0
    while i < len(items):
        if _WEEKDAY.fullmatch(items[i]) and i + 1 < len(items):
            out.append(f"{items[i]}, {items[i + 1]}")
            i += 2
        else:
            out.append(items[i])
            i += 1
    return out


def label_values(operation: OperationModel, request: HttpRequest, labels: Mapping[str, str],
                 bad_value: BadValue = default_bad_value) -> dict[str, Any]:
    """The input members bound to URI labels, typed. ``labels`` are the decoded values the
    router matched; when it lacks a label the operation needs, the request path is matched
    against the operation's ``requestUri`` here."""
    shape = operation.input_shape
    if shape is None:
        return {}
    out: dict[str, Any] = {}
    matched: Mapping[str, str] | None = None
    for name, member, wire in bindings(shape).uri:
        raw = labels.get(wire)
        if raw is None:
            if matched is None:
                matched = match_request_uri(operation.http.get("requestUri", "/"),
                                            request.path, request.query) or {}
            raw = matched.get(wire)
        if raw is not None:
            out[name] = read_scalar(member, raw, "uri", f"URI label '{wire}'", name, bad_value)
    return out


def query_values(operation: OperationModel, request: HttpRequest,
                 bad_value: BadValue = default_bad_value) -> dict[str, Any]:
    """The input members bound to the query string: scalars, lists (repeated parameters) and a
    map without a name, which takes every parameter no other member or the template claims."""
    shape = operation.input_shape
    if shape is None or not request.query:
        return {}
    try:
        pairs = [(name, value) for name, value in
                 parse_qsl(request.query, keep_blank_values=True, errors="strict")]
    except (UnicodeDecodeError, ValueError):
        raise bad_value(request.query[:100], "query string", "queryString") from None
    grouped: dict[str, list[str]] = {}
    for name, value in pairs:
        grouped.setdefault(name, []).append(value)
    out: dict[str, Any] = {}
    plan = bindings(shape)
    for name, member, wire in plan.query:
        values = grouped.get(wire)
        if values is None:
            continue
        where = f"query parameter '{wire}'"
        if member.type_name == "list":
            out[name] = [read_scalar(member.member, v, "querystring", where, name, bad_value)
                         for v in values]
        else:
            out[name] = read_scalar(member, values[0], "querystring", where, name, bad_value)
    if not plan.query_maps:
        return out
    claimed = plan.query_names.union(
        name for name, _ in compile_uri(operation.http.get("requestUri", "/")).literal_query)
    for name, member in plan.query_maps:
        value_shape = member.value
        collected: dict[str, Any] = {}
        for key, values in grouped.items():
            if key in claimed:
                continue
            where = f"query parameter '{key}'"
            if value_shape.type_name == "list":
                collected[key] = [read_scalar(value_shape.member, v, "querystring", where, name,
                                              bad_value) for v in values]
            else:
                collected[key] = read_scalar(value_shape, values[0], "querystring", where, name,
                                             bad_value)
        if collected:
            out[name] = collected
    return out


def header_values(operation: OperationModel, request: HttpRequest,
                  bad_value: BadValue = default_bad_value) -> dict[str, Any]:
    """The input members bound to headers (``location: header``) and header prefixes
    (``location: headers``; the map's keys are the header names without the prefix, in the
    lower case HTTP/1.1 servers see them)."""
    shape = operation.input_shape
    if shape is None:
        return {}
    plan = bindings(shape)
    by_header, prefixes = plan.by_header, plan.prefixes
    out: dict[str, Any] = {}
    collected: dict[str, dict[str, str]] = {}
    for header, raw in request.header_items():
        bound = by_header.get(header)
        if bound is not None:
            name, member, wire = bound
            where = f"header '{wire}'"
            if member.type_name == "list":
                items = split_header_list(raw) if raw.strip(" \t") else []
                if member.member.type_name == "timestamp":
                    items = _rejoin_http_dates(items)
                out[name] = [read_scalar(member.member, item, "header", where, name, bad_value)
                             for item in items]
            else:
                out[name] = read_scalar(member, raw.strip(" \t"), "header", where, name, bad_value)
        for name, prefix in prefixes:
            if header.startswith(prefix):
                collected.setdefault(name, {})[header[len(prefix):]] = raw
    out.update(collected)
    return out


def bind_non_body(operation: OperationModel, request: HttpRequest, labels: Mapping[str, str],
                  bad_value: BadValue = default_bad_value) -> dict[str, Any]:
    """Labels, query string and headers together: every input member not in the body."""
    params = query_values(operation, request, bad_value)
    params.update(header_values(operation, request, bad_value))
    params.update(label_values(operation, request, labels, bad_value))
    return params


def is_body_member(member: Shape) -> bool:
    return member.serialization.get("location") not in ("uri", "querystring", "header", "headers",
                                                         "statusCode")


# --- writing values (responses) ------------------------------------------------------------

def _float_text(value: Any) -> str:
    number = float(value)
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    return repr(number)


def scalar_writer(shape: Shape, location: str) -> Callable[[Any], str]:
    """The function that writes a value of ``shape`` for a header (or query string / label), as
    botocore writes it: chosen once per member (``bindings``), since a response's headers are
    written on every call."""
    kind = shape.type_name
    if kind == "timestamp":
        fmt = shape.serialization.get("timestampFormat") or _DEFAULT_TIMESTAMP.get(location, "iso8601")
        return functools.partial(_timestamp_text, fmt)
    if kind == "boolean":
        return _boolean_text
    if kind in ("float", "double"):
        return _float_text
    if kind in ("integer", "long", "short", "byte"):
        return _integer_text
    if kind == "blob" and location == "header":
        return _blob_text
    if kind == "string" and location == "header" and shape.serialization.get("jsonvalue"):
        return _json_value_text
    return _string_text


def _timestamp_text(fmt: str, value: Any) -> str:
    return format_timestamp(value, fmt)


def _boolean_text(value: Any) -> str:
    return "true" if value else "false"


def _integer_text(value: Any) -> str:
    return str(int(value))


def _blob_text(value: Any) -> str:
    raw = value.encode("utf-8") if isinstance(value, str) else bytes(value)
    return base64.b64encode(raw).decode("ascii")


def _json_value_text(value: Any) -> str:
    text = json.dumps(value, separators=(",", ":"))
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def _string_text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def _header_safe(text: str) -> str:
    """Header values cannot carry CR, LF or NUL; anything else passes (HTTP allows obs-text)."""
    if "\r" in text or "\n" in text or "\x00" in text:
        return text.replace("\r", " ").replace("\n", " ").replace("\x00", " ")
    return text


def response_headers(shape: Shape | None, result: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Header and prefix-header members of an output (or error) shape, as (name, value)."""
    out: list[tuple[str, str]] = []
    if shape is None:
        return out
    for name, wire, kind, write, quote in bindings(shape).header_writers:
        value = result.get(name)
        if value is None:
            continue
        if kind is _SCALAR:
            out.append((wire, _header_safe(write(value))))
        elif kind is _LIST:
            if not value:
                continue
            items = []
            for item in value:
                text = write(item)
                if quote and ('"' in text or "," in text):
                    text = '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
                items.append(text)
            out.append((wire, _header_safe(", ".join(items))))
        else:
            for key, item in value.items():
                if item is not None:
                    out.append((wire + str(key), _header_safe(str(item))))
    return out


def response_status(shape: Shape | None, result: Mapping[str, Any], default: int = 200) -> int:
    """The HTTP status: a ``statusCode`` member's value when the result has one."""
    if shape is not None:
        for name in bindings(shape).status:
            value = result.get(name)
            if isinstance(value, int) and not isinstance(value, bool) and 100 <= value <= 599:
                return value
    return default
