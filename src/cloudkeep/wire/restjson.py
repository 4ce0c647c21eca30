"""The AWS ``rest-json`` protocol (Access Analyzer, Artifact, Lambda, ...), server side.

Owns, for every service whose botocore model says ``"protocol": "rest-json"``: turning a request
(URI labels the router matched, query string, headers, body) into the params dict the botocore
client started from; writing a result as the response (``statusCode`` member, header members,
the payload member or a JSON body of the other members); writing a ``ServiceError`` as AWS's
rest-json error (``x-amzn-ErrorType`` header, which botocore reads first, plus a JSON body with
the message and the error shape's members, header-bound ones as headers).

The wire layout comes only from botocore's model: label, query and header binding through
``wire/rest_common.py`` (shared with rest-xml), JSON values through ``wire/jsonproto.py``'s
per-shape readers and writers (same JSON coercion rules and Coral messages), plus a per-operation
plan cached weakly beside the operation model. Undecodable input is answered as Smithy's
restJson1 malformed-request tests say AWS's servers do: 400 ``SerializationException``
(https://github.com/smithy-lang/smithy/tree/main/smithy-aws-protocol-tests/model/restJson1/
malformedRequests), and 415 ``UnsupportedMediaTypeException`` for a JSON body sent under another
media type (malformed-content-type.smithy in the same folder).

Local differences from ``rest_common`` (kept here, not there): the query-string map member takes
*every* parameter (but the requestUri's literal ones), also those bound to named members, as
restJson1 servers populate ``@httpQueryParams`` (botocore case RestJsonQueryStringEscaping); a
header list of ``rfc822`` timestamps is split at the commas between dates, not inside them;
integers out of their type's range are malformed.

Must not: check model constraints (``wire/validate.py``); know any service; let any exception but
``ServiceError`` escape.
"""

from __future__ import annotations

import json
import re
import weakref
import zlib
from dataclasses import dataclass
from typing import Any, Final, Mapping
from urllib.parse import parse_qsl

from botocore.model import OperationModel, ServiceModel, Shape

from . import errors, jsonproto, rest_common
from .http import HttpRequest, HttpResponse

#: Largest non-streaming request body accepted: the same Coral front-end limit as the json
#: protocol (see ``jsonproto.MAX_BODY_BYTES``); a streaming blob payload is not capped here.
MAX_BODY_BYTES: Final = jsonproto.MAX_BODY_BYTES

_JSON_TYPES: Final = frozenset({"application/json", "application/x-amz-json-1.0",
                                "application/x-amz-json-1.1"})
_INT_BOUNDS: Final = {"byte": (-(2**7), 2**7 - 1), "short": (-(2**15), 2**15 - 1),
                      "integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
#: Coral framework errors carry their namespace URI in x-amzn-ErrorType (botocore protocol cases
#: RestJsonFooErrorUsingXAmznErrorTypeWithUri*; botocore keeps what precedes the ':').
_CORAL_SERVICE: Final = "http://internal.amazon.com/coral/com.amazon.coral.service/"
_CORAL_URI: Final = {"ValidationException": "http://internal.amazon.com/coral/com.amazon.coral.validate/",
                     "SerializationException": _CORAL_SERVICE,
                     "UnsupportedMediaTypeException": _CORAL_SERVICE,
                     "UnrecognizedClientException": _CORAL_SERVICE,
                     "InvalidSignatureException": _CORAL_SERVICE,
                     "IncompleteSignatureException": _CORAL_SERVICE,
                     "MissingAuthenticationTokenException": _CORAL_SERVICE,
                     "InternalFailure": _CORAL_SERVICE}
_DAY_NAME: Final = re.compile(r"[A-Za-z]{3}")
_NO_BODY_STATUS: Final = frozenset({204, 304})


class UnsupportedMediaTypeException(errors.ServiceError):
    """A JSON body under a media type other than application/json (Smithy restJson1
    malformed-content-type tests: 415 with ``x-amzn-errortype: UnsupportedMediaTypeException``)."""
    code = "UnsupportedMediaTypeException"; status = 415


def _bad_value(value: str, where: str, member: str) -> errors.ServiceError:
    shown = value if len(value) <= 100 else value[:100] + "..."
    return errors.SerializationException(f"Value '{shown}' of {where} cannot be converted to its member '{member}'")


# --- per-operation plan -------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Plan:
    labels: tuple[tuple[str, str, Shape], ...]        # (member, label name, shape)
    query: tuple[tuple[str, str, Shape], ...]         # (member, parameter name, shape), no maps
    query_maps: tuple[tuple[str, Shape], ...]
    headers: tuple[tuple[str, str, Shape], ...]       # (member, header name, shape)
    prefix_headers: tuple[tuple[str, str], ...]       # (member, lower-case prefix)
    payload: tuple[str, Shape] | None                 # the payload member
    body: dict[str, tuple[str, Shape]]                # wire name → (member, shape)
    literal_query: frozenset[str]


_PLANS: Final["weakref.WeakKeyDictionary[OperationModel, _Plan]"] = weakref.WeakKeyDictionary()


def _plan(operation: OperationModel) -> _Plan:
    plan = _PLANS.get(operation)
    if plan is None:
        plan = _PLANS[operation] = _build_plan(operation)
    return plan


def _build_plan(operation: OperationModel) -> _Plan:
    shape = operation.input_shape
    labels, query, maps, headers, prefixes = [], [], [], [], []
    body: dict[str, tuple[str, Shape]] = {}
    payload = None
    payload_name = shape.serialization.get("payload") if shape is not None else None
    for name, member in (shape.members.items() if shape is not None else ()):
        location = member.serialization.get("location")
        wire = member.serialization.get("name", name)
        if location == "uri":
            labels.append((name, wire, member))
        elif location == "querystring" and member.type_name == "map":
            maps.append((name, member))
        elif location == "querystring":
            query.append((name, wire, member))
        elif location == "header":
            headers.append((name, wire, member))
        elif location == "headers":
            prefixes.append((name, member.serialization.get("name", "").lower()))
        elif name == payload_name:
            payload = (name, member)
        elif location is None:
            body[wire] = (name, member)
    literal = frozenset(k for k, _ in rest_common.compile_uri(operation.http.get("requestUri", "/")).literal_query)
    return _Plan(tuple(labels), tuple(query), tuple(maps), tuple(headers), tuple(prefixes), payload,
                 body, literal)


# --- request ------------------------------------------------------------------------------------

def parse_request(operation: OperationModel, request: HttpRequest, *, labels: Mapping[str, str]) -> dict:
    """The params dict of a rest-json request, or a ``ServiceError``."""
    try:
        return _parse_request(operation, request, labels)
    except errors.ServiceError:
        raise
    except jsonproto._Bad as exc:  # noqa: SLF001 - jsonproto's reader signal, same Coral messages
        raise errors.SerializationException(str(exc)) from None
    except (ValueError, TypeError, OverflowError, RecursionError, MemoryError, AttributeError,
            KeyError, IndexError, zlib.error, OSError):
        raise errors.SerializationException("") from None


def _parse_request(operation: OperationModel, request: HttpRequest, labels: Mapping[str, str]) -> dict:
    if operation.input_shape is None:
        return {}
    plan = _plan(operation)
    params: dict[str, Any] = {}
    _bind_query(plan, request, params)
    _bind_headers(plan, request, params)
    _bind_labels(operation, plan, request, labels, params)
    if plan.payload is not None:
        _bind_payload(operation, plan.payload, request, params)
    elif plan.body:
        _bind_body(operation, plan, request, params)
    return params


def _read(shape: Shape, raw: str, location: str, where: str, member: str) -> Any:
    value = rest_common.read_scalar(shape, raw, location, where, member, _bad_value)
    bounds = _INT_BOUNDS.get(shape.type_name)
    if bounds is not None and not bounds[0] <= value <= bounds[1]:
        raise _bad_value(raw, where, member)
    return value


def _bind_labels(operation: OperationModel, plan: _Plan, request: HttpRequest,
                 labels: Mapping[str, str], params: dict) -> None:
    matched: Mapping[str, str] | None = None
    for name, wire, member in plan.labels:
        raw = labels.get(wire)
        if raw is None:
            raw = labels.get(wire + "+")
        if raw is None:
            if matched is None:
                matched = rest_common.match_request_uri(operation.http.get("requestUri", "/"),
                                                        request.path, request.query) or {}
            raw = matched.get(wire)
        if raw is not None:
            params[name] = _read(member, raw, "uri", f"URI label '{wire}'", name)


def _bind_query(plan: _Plan, request: HttpRequest, params: dict) -> None:
    if not plan.query and not plan.query_maps:
        return
    try:
        pairs = parse_qsl(request.query, keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise _bad_value(request.query, "the query string", "query") from None
    grouped: dict[str, list[str]] = {}
    for key, value in pairs:
        grouped.setdefault(key, []).append(value)
    for name, wire, member in plan.query:
        values = grouped.get(wire)
        if values is None:
            continue
        where = f"query parameter '{wire}'"
        if member.type_name == "list":
            params[name] = [_read(member.member, v, "querystring", where, name) for v in values]
        else:
            params[name] = _read(member, values[0], "querystring", where, name)
    for name, member in plan.query_maps:
        value_shape = member.value
        collected: dict[str, Any] = {}
        for key, values in grouped.items():
            if key in plan.literal_query:
                continue
            where = f"query parameter '{key}'"
            if value_shape.type_name == "list":
                collected[key] = [_read(value_shape.member, v, "querystring", where, name) for v in values]
            else:
                collected[key] = _read(value_shape, values[0], "querystring", where, name)
        if collected:
            params[name] = collected


def _bind_headers(plan: _Plan, request: HttpRequest, params: dict) -> None:
    for name, wire, member in plan.headers:
        raw = request.header(wire)
        if raw is None:
            continue
        where = f"header '{wire}'"
        if member.type_name == "list":
            items = _split_timestamps(raw) if member.member.type_name == "timestamp" else (
                rest_common.split_header_list(raw) if raw.strip() else [])
            params[name] = [_read(member.member, item, "header", where, name) for item in items]
        else:
            params[name] = _read(member, raw.strip(" \t"), "header", where, name)
    for name, prefix in plan.prefix_headers:
        collected: dict[str, str] = {}
        for header, _ in request.headers:
            if header.startswith(prefix) and header not in collected:
                collected[header[len(prefix):]] = request.header(header) or ""
        params[name] = collected


def _split_timestamps(raw: str) -> list[str]:
    """A header list of timestamps: HTTP dates contain a comma after the day name."""
    pieces = [p.strip() for p in raw.split(",")] if raw.strip() else []
    items: list[str] = []
    index = 0
    while index < len(pieces):
        piece = pieces[index]
        if _DAY_NAME.fullmatch(piece) and index + 1 < len(pieces):
            piece = f"{piece}, {pieces[index + 1]}"
            index += 1
        items.append(piece)
        index += 1
    return items


def _media_type(request: HttpRequest) -> str:
    return (request.header("content-type") or "").split(";", 1)[0].strip().lower()


def _body_bytes(operation: OperationModel, request: HttpRequest) -> bytes:
    size = request.body_size if request.body_file is not None else len(request.body)
    if size > MAX_BODY_BYTES:
        raise errors.RequestEntityTooLarge("Request entity too large")
    body = b"".join(request.iter_body()) if request.body_file is not None else request.body
    if len(body) > MAX_BODY_BYTES:
        raise errors.RequestEntityTooLarge("Request entity too large")
    if body and "gzip" in (request.header("content-encoding") or "").lower():
        body = jsonproto._gunzip(operation, body)  # noqa: SLF001 - the same requestcompression rule
    return body


def _json_value(request: HttpRequest, body: bytes) -> Any:
    """The decoded JSON of a body that must be JSON (415 under another media type)."""
    if _media_type(request) not in _JSON_TYPES:
        raise UnsupportedMediaTypeException("")
    value = json.loads(body.decode("utf-8"), parse_constant=jsonproto._reject_constant)  # noqa: SLF001
    if jsonproto._SURROGATE_ESCAPE.search(body):  # noqa: SLF001
        jsonproto._reject_lone_surrogates(value)  # noqa: SLF001
    return value


def _bind_body(operation: OperationModel, plan: _Plan, request: HttpRequest, params: dict) -> None:
    body = _body_bytes(operation, request)
    if not body:
        return
    value = _json_value(request, body)
    if value is None:
        return
    if type(value) is not dict:
        raise jsonproto._Bad(jsonproto._container_mismatch(value))  # noqa: SLF001
    readers = jsonproto._plans(operation.service_model)  # noqa: SLF001 - shared JSON coercion
    for wire, item in value.items():
        member = plan.body.get(wire)
        if member is not None and item is not None:
            params[member[0]] = readers.reader(member[1])(item)


def _bind_payload(operation: OperationModel, payload: tuple[str, Shape], request: HttpRequest,
                  params: dict) -> None:
    name, member = payload
    kind = member.type_name
    if kind == "blob" and member.serialization.get("streaming"):
        if request.body_file is not None:
            if request.body_size:
                request.body_file.seek(0)
                params[name] = request.body_file
            return
        if request.body:
            params[name] = request.body
        return
    body = _body_bytes(operation, request)
    if not body:
        return
    if kind == "blob":
        params[name] = body
    elif kind == "string":
        params[name] = body.decode("utf-8")
    else:
        value = _json_value(request, body)
        if value is not None:
            params[name] = jsonproto._plans(operation.service_model).reader(member)(value)  # noqa: SLF001


# --- response -----------------------------------------------------------------------------------

def serialize_response(operation: OperationModel, result: Mapping, request_id: str) -> HttpResponse:
    """The response for ``result``: status, header members, payload or JSON body."""
    shape = operation.output_shape
    try:
        status = rest_common.response_status(shape, result, int(operation.http.get("responseCode", 200)))
        headers = [("x-amzn-requestid", request_id)]
        headers += [(k.lower(), v) for k, v in rest_common.response_headers(shape, result)]
        body, content_type = _response_body(operation, shape, result)
    except errors.ServiceError:
        raise
    except Exception as exc:  # noqa: BLE001 - a result the model cannot carry is our bug: 500
        raise errors.InternalFailure("") from exc
    if status in _NO_BODY_STATUS:
        body, content_type = b"", None
    if content_type is not None and not any(k == "content-type" for k, _ in headers):
        headers.append(("content-type", content_type))
    return HttpResponse(status, tuple(headers), body)


def _response_body(operation: OperationModel, shape: Shape | None, result: Mapping) -> tuple[bytes, str | None]:
    if shape is None:
        return b"", None
    writers = jsonproto._plans(operation.service_model)  # noqa: SLF001 - shared JSON coercion
    payload_name = shape.serialization.get("payload")
    if payload_name is not None:
        member = shape.members[payload_name]
        value = result.get(payload_name)
        if value is None:
            return b"", None
        if member.type_name == "blob":
            if hasattr(value, "read"):
                value = value.read()
            return (value.encode("utf-8") if isinstance(value, str) else bytes(value)), "application/octet-stream"
        if member.type_name == "string":
            return str(value).encode("utf-8"), "text/plain"
        return _dumps(writers.writer(member)(value)), "application/json"
    out: dict[str, Any] = {}
    for name, member in shape.members.items():
        value = result.get(name)
        if value is None or not rest_common.is_body_member(member):
            continue
        out[member.serialization.get("name", name)] = writers.writer(member)(value)
    return _dumps(out), "application/json"


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), allow_nan=False).encode("utf-8")


def serialize_error(service: ServiceModel, error: errors.ServiceError, request_id: str) -> HttpResponse:
    """AWS's rest-json error: ``x-amzn-ErrorType`` plus ``{"message": ...}`` and the shape's members."""
    code, status = error.wire_identity("rest-json")
    shape = jsonproto._plans(service).error_shapes.get(code)  # noqa: SLF001
    if shape is not None and "Message" in shape.members and "message" not in shape.members:
        message_key = "Message"
    elif shape is None and code in jsonproto._CAPITALISED_MESSAGE:  # noqa: SLF001
        message_key = "Message"
    else:
        message_key = "message"
    payload: dict[str, Any] = {}
    if error.message:
        payload[message_key] = error.message
    extra_headers: list[tuple[str, str]] = []
    if error.extra:
        try:
            if shape is not None:
                extra_headers = [(k.lower(), v) for k, v in rest_common.response_headers(shape, error.extra)]
                writers = jsonproto._plans(service)  # noqa: SLF001
                for name, member in shape.members.items():
                    value = error.extra.get(name)
                    if value is not None and rest_common.is_body_member(member):
                        payload[member.serialization.get("name", name)] = writers.writer(member)(value)
            else:
                payload.update(jsonproto._jsonable(error.extra))  # noqa: SLF001
        except Exception:  # noqa: BLE001 - extras the shape cannot carry are dropped, not a crash
            extra_headers = []
            payload = {message_key: error.message} if error.message else {}
        for key in ("message", "Message"):
            if key != message_key:
                payload.pop(key, None)
        if error.message:
            payload[message_key] = error.message
    try:
        body = _dumps(payload)
    except ValueError:
        body = _dumps({message_key: error.message} if error.message else {})
    type_header = code if shape is not None or code not in _CORAL_URI else f"{code}:{_CORAL_URI[code]}"
    headers = [("x-amzn-requestid", request_id), ("x-amzn-errortype", type_header),
               ("content-type", "application/json")]
    headers += extra_headers
    if error.headers:
        headers += [(name.lower(), value) for name, value in error.headers.items()]
    return HttpResponse(status, tuple(headers), body)
