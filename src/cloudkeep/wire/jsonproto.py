"""The AWS ``json`` protocol (JSON 1.0 and 1.1: KMS, CloudTrail, Organizations, Config, ...).

Owns, for every service whose botocore model says ``"protocol": "json"`` (including
``awsQueryCompatible`` ones): reading the operation from ``X-Amz-Target``; turning a request body
into the params dict the botocore client started from (epoch-second or ``timestampFormat``
timestamps as aware UTC datetimes, base64 blobs as bytes, ``"NaN"``/``"Infinity"`` floats,
documents as plain JSON values); writing a result dict as the response body; writing a
``ServiceError`` as AWS's JSON error (``__type``, message, the error shape's extra members and,
for query-compatible services, the ``x-amzn-query-error`` header that botocore reads).

The wire layout comes only from botocore's model, through per-shape reader/writer plans built
lazily once per service model and cached (weakly) beside it; nothing here is written per operation.
Error messages for undecodable input follow AWS's Coral JSON front end (``SerializationException``
with messages such as ``Start of structure or map found where not expected``), as recorded against
the live DynamoDB endpoint by dynalite's test suite
(https://github.com/architect/dynalite/blob/main/test/helpers.js and test/connection.js).

Must not: check model constraints (required, length, pattern, enum, range: ``wire/validate.py``
does that); know any service; let any exception but ``ServiceError`` escape.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import math
import re
import weakref
import zlib
from datetime import datetime, timezone
from decimal import Decimal
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any, Callable, Final, Mapping

from botocore.loaders import Loader
from botocore.model import OperationModel, ServiceModel, Shape

from . import errors
from .http import HttpRequest, HttpResponse

#: Largest request body accepted (after any gzip decoding). AWS's Coral front end answers 413 to a
#: JSON-protocol body over 16 MiB (observed on DynamoDB: dynalite test/connection.js "should
#: return 413 if request too large", https://github.com/architect/dynalite); no JSON service
#: cloudkeep serves takes inputs near that size (KMS plaintexts are at most 4 KiB).
MAX_BODY_BYTES: Final = 16 * 1024 * 1024

_UTC: Final = timezone.utc
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=_UTC)
_INT32: Final = (-(2**31), 2**31 - 1)
_INT64: Final = (-(2**63), 2**63 - 1)
_FLOAT_WORDS: Final = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
#: a \uD800-\uDFFF escape in the raw body: only then can a lone surrogate reach a parsed string
_SURROGATE_ESCAPE: Final = re.compile(rb"\\u[dD][89a-fA-F]")
#: Coral's framework errors that spell their message member ``Message`` (dynalite test/helpers.js:
#: SerializationException and AccessDeniedException bodies carry ``Message``).
_CAPITALISED_MESSAGE: Final = frozenset({"SerializationException", "AccessDeniedException"})
#: The JSON 1.x protocol accepts ``application/json`` besides its own media type (DynamoDB answers
#: it normally: dynalite test/connection.js); another type, or the other JSON version, is an
#: unknown operation with status 404 (https://github.com/rusoto/rusoto/issues/215).
_ALWAYS_ACCEPTED_TYPE: Final = "application/json"

Reader = Callable[[Any], Any]
Writer = Callable[[Any], Any]


class UnknownOperation404(errors.ServiceError):
    """A request the JSON front end cannot attribute to an operation (wrong method or media type)."""
    code = "UnknownOperationException"; status = 404


class _Bad(Exception):
    """Internal: a member of the wrong JSON type; becomes a SerializationException."""


# --- routing ------------------------------------------------------------------------------------

def operation_name(service: ServiceModel, request: HttpRequest) -> str | None:
    """The operation named by ``X-Amz-Target: <targetPrefix>.<Operation>``, or None."""
    target = request.header("x-amz-target")
    if not target:
        return None
    prefix, dot, name = target.rpartition(".")
    if not dot or prefix != service.metadata.get("targetPrefix"):
        return None
    return name if name in _plans(service).operation_names else None


@functools.lru_cache(maxsize=1)
def target_prefix_services() -> dict[str, str]:
    """targetPrefix → botocore service name, for every json-protocol service botocore ships.

    Two services can share a prefix (timestream-query and timestream-write both use
    ``Timestream_20181101``); the first in botocore's alphabetical order is kept.
    """
    loader = Loader()  # a private loader: its model cache is dropped once this scan is done
    found: dict[str, str] = {}
    for name in sorted(loader.list_available_services("service-2")):
        try:
            meta = loader.load_service_model(name, "service-2").get("metadata", {})
        except Exception:  # noqa: BLE001 - a broken model must not break routing of the others
            continue
        prefix = meta.get("targetPrefix")
        if prefix and (meta.get("protocol") == "json" or "json" in meta.get("protocols", ())):
            found.setdefault(prefix, name)
    return found


# --- request ------------------------------------------------------------------------------------

def parse_request(operation: OperationModel, request: HttpRequest) -> dict:
    """The params dict of a JSON-protocol request, or a ``ServiceError``."""
    try:
        return _parse_request(operation, request)
    except errors.ServiceError:
        raise
    except _Bad as exc:
        raise errors.SerializationException(str(exc)) from None
    except (ValueError, TypeError, OverflowError, RecursionError, MemoryError, AttributeError,
            KeyError, IndexError, zlib.error):
        raise errors.SerializationException("") from None


def _parse_request(operation: OperationModel, request: HttpRequest) -> dict:
    if request.method != "POST":
        raise UnknownOperation404("")
    version = operation.metadata.get("jsonVersion", "1.0")
    media = (request.header("content-type") or "").split(";", 1)[0].strip().lower()
    if media != f"application/x-amz-json-{version}" and media != _ALWAYS_ACCEPTED_TYPE:
        raise UnknownOperation404("")
    body = request.body
    if len(body) > MAX_BODY_BYTES:
        raise errors.RequestEntityTooLarge("Request entity too large")
    if body and "gzip" in (request.header("content-encoding") or "").lower():
        body = _gunzip(operation, body)
    if not body:
        return {}
    text = body.decode("utf-8")  # strict: invalid UTF-8 is a SerializationException
    value = json.loads(text, parse_constant=_reject_constant)
    if value is None:
        return {}
    if _SURROGATE_ESCAPE.search(body):
        _reject_lone_surrogates(value)
    shape = operation.input_shape
    if shape is None:
        if type(value) is not dict:
            raise _Bad(_container_mismatch(value))
        return {}
    return _plans(operation.service_model).reader(shape)(value)


def _gunzip(operation: OperationModel, body: bytes) -> bytes:
    """Decompress a gzip body of an operation the model marks ``requestcompression`` gzip
    (https://smithy.io/2.0/spec/behavior-traits.html#requestcompression-trait)."""
    encodings = (operation._operation_model.get("requestcompression") or {}).get("encodings", ())  # noqa: SLF001
    if "gzip" not in encodings:
        return body  # not an operation that takes compressed input: the body is read as it is
    inflater = zlib.decompressobj(wbits=31)
    out = inflater.decompress(body, MAX_BODY_BYTES + 1)
    if len(out) > MAX_BODY_BYTES:
        raise errors.RequestEntityTooLarge("Request entity too large")
    if not inflater.eof:
        raise errors.SerializationException("")
    return out


def _reject_constant(word: str) -> Any:
    raise ValueError(word)  # bare NaN / Infinity are not JSON


def _reject_lone_surrogates(value: Any) -> None:
    stack = [value]
    while stack:
        item = stack.pop()
        if type(item) is str:
            item.encode("utf-8")  # UnicodeEncodeError (a ValueError) for a lone surrogate
        elif type(item) is dict:
            for key, sub in item.items():
                key.encode("utf-8")
                stack.append(sub)
        elif type(item) is list:
            stack.extend(item)


def _kind(value: Any) -> str:
    """Coral's name for the JSON token found."""
    if value is True:
        return "TRUE_VALUE"
    if value is False:
        return "FALSE_VALUE"
    if type(value) is int:
        return "NUMBER_VALUE"
    if type(value) is float:
        return "DECIMAL_VALUE"
    return "STRING_VALUE"


def _container_mismatch(value: Any, java: str | None = None) -> str:
    if type(value) is dict:
        return "Start of structure or map found where not expected"
    if type(value) is list:
        return f"Unrecognized collection type class {java}" if java else "Start of list found where not expected"
    return "Unexpected field type"


def _scalar_mismatch(value: Any, java: str, java_class: str | None = None) -> _Bad:
    if type(value) in (dict, list):
        return _Bad(_container_mismatch(value, java_class or f"java.lang.{java}"))
    return _Bad(f"{_kind(value)} cannot be converted to {java}")


def _read_string(value: Any) -> Any:
    if type(value) is str:
        return value
    raise _scalar_mismatch(value, "String")


def _read_boolean(value: Any) -> Any:
    if value is True or value is False:
        return value
    if type(value) is str:
        raise _Bad("Unexpected token received from parser")
    raise _scalar_mismatch(value, "Boolean")


def _integer_reader(java: str, bounds: tuple[int, int]) -> Reader:
    low, high = bounds

    def read(value: Any) -> Any:
        kind = type(value)
        if kind is float and math.isfinite(value):
            value, kind = int(value), int  # Coral truncates a decimal given for an integer member
        if kind is int and low <= value <= high:
            return value
        if kind is int:
            raise _Bad(f"NUMBER_VALUE cannot be converted to {java}")
        raise _scalar_mismatch(value, java)
    return read


def _float_reader(java: str) -> Reader:
    def read(value: Any) -> Any:
        kind = type(value)
        if kind is float:
            return value
        if kind is int:
            return float(value)
        if kind is str and value in _FLOAT_WORDS:
            return _FLOAT_WORDS[value]
        raise _scalar_mismatch(value, java)
    return read


def _read_blob(value: Any) -> Any:
    if type(value) is not str:
        if type(value) in (dict, list):
            raise _Bad(_container_mismatch(value, "java.nio.ByteBuffer"))
        raise _Bad("only base-64-encoded strings are convertible to bytes")
    if len(value) % 4:
        raise _Bad(f"Base64 encoded length is expected a multiple of 4 bytes but found: {len(value)}")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise _Bad("Invalid last non-pad Base64 character dectected") from None  # sic, Coral's text


def _timestamp_reader(fmt: str) -> Reader:
    def read(value: Any) -> Any:
        kind = type(value)
        if kind is int or kind is float:
            return datetime.fromtimestamp(value, _UTC)  # ValueError/OverflowError: out of range
        if kind is str and fmt == "iso8601":
            parsed = datetime.fromisoformat(value)
            return parsed.replace(tzinfo=_UTC) if parsed.tzinfo is None else parsed.astimezone(_UTC)
        if kind is str and fmt == "rfc822":
            parsed = parsedate_to_datetime(value)
            return parsed.replace(tzinfo=_UTC) if parsed.tzinfo is None else parsed.astimezone(_UTC)
        raise _scalar_mismatch(value, "Date", "java.util.Date")
    return read


def _read_document(value: Any) -> Any:
    return value


# --- response -----------------------------------------------------------------------------------

def serialize_response(operation: OperationModel, result: Mapping, request_id: str) -> HttpResponse:
    """A 200 response carrying ``result`` in the operation's output shape."""
    shape = operation.output_shape
    try:
        payload = {} if shape is None else _plans(operation.service_model).writer(shape)(result)
        body = json.dumps(payload, separators=(",", ":"), allow_nan=False).encode("utf-8")
    except errors.ServiceError:
        raise
    except Exception as exc:  # noqa: BLE001 - a result the model cannot carry is our bug: 500
        raise errors.InternalFailure("") from exc
    return HttpResponse(200, _headers(operation.metadata, request_id), body)


def serialize_error(service: ServiceModel, error: errors.ServiceError, request_id: str) -> HttpResponse:
    """AWS's JSON error: ``{"__type": code, "message": ...}`` plus the error shape's members."""
    code, status = error.wire_identity("json")
    plans = _plans(service)
    shape = plans.error_shapes.get(code)
    type_name, query_code = code, None
    if shape is None:
        shape = plans.error_by_query_code.get(code)
        if shape is not None:
            type_name, query_code = shape.name, code
    if shape is not None and "Message" in shape.members and "message" not in shape.members:
        message_key = "Message"
    elif shape is None and type_name in _CAPITALISED_MESSAGE:
        message_key = "Message"
    else:
        message_key = "message"
    payload: dict[str, Any] = {"__type": type_name}
    if error.message:
        payload[message_key] = error.message
    if error.extra:
        try:
            extra = plans.writer(shape)(error.extra) if shape is not None else _jsonable(error.extra)
        except Exception:  # noqa: BLE001 - extras the shape cannot carry are dropped, not a crash
            extra = {}
        for key, value in extra.items():
            if key not in ("__type", "message", "Message"):
                payload[key] = value
    try:
        body = json.dumps(payload, separators=(",", ":"), allow_nan=False).encode("utf-8")
    except ValueError:
        body = json.dumps({"__type": type_name}).encode("utf-8")
    headers = _headers(service.metadata, request_id)
    if service.metadata.get("awsQueryCompatible") is not None:
        if query_code is None:
            modeled = (shape.metadata.get("error") or {}).get("code") if shape is not None else None
            query_code = modeled or error.wire_identity("query")[0]
        fault = "Sender" if error.sender_fault else "Receiver"
        headers += (("x-amzn-query-error", f"{query_code};{fault}"),)
    if error.headers:
        headers += tuple((name.lower(), value) for name, value in error.headers.items())
    return HttpResponse(status, headers, body)


def _headers(metadata: Mapping[str, Any], request_id: str) -> tuple[tuple[str, str], ...]:
    return (("content-type", f"application/x-amz-json-{metadata.get('jsonVersion', '1.0')}"),
            ("x-amzn-requestid", request_id))


def _write_timestamp(fmt: str) -> Writer:
    def to_datetime(value: Any) -> datetime:
        if isinstance(value, datetime):
            return value if value.tzinfo is not None else value.replace(tzinfo=_UTC)
        return datetime.fromtimestamp(float(value), _UTC)

    if fmt == "iso8601":
        def write(value: Any) -> Any:
            moment = to_datetime(value).astimezone(_UTC)
            text = moment.strftime("%Y-%m-%dT%H:%M:%S")
            return f"{text}.{moment.microsecond // 1000:03d}Z" if moment.microsecond else f"{text}Z"
    elif fmt == "rfc822":
        def write(value: Any) -> Any:
            return format_datetime(to_datetime(value).astimezone(_UTC).replace(microsecond=0), usegmt=True)
    else:
        def write(value: Any) -> Any:
            if isinstance(value, datetime):
                if value.tzinfo is None:
                    value = value.replace(tzinfo=_UTC)
                seconds = round((value - _EPOCH).total_seconds(), 3)
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                seconds = round(float(value), 3)
            else:
                raise TypeError("timestamp expected")
            return int(seconds) if seconds.is_integer() else seconds
    return write


def _write_float(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise TypeError("number expected")
    number = float(value)
    if math.isfinite(number):
        return number
    return "NaN" if math.isnan(number) else ("Infinity" if number > 0 else "-Infinity")


def _write_blob(value: Any) -> Any:
    if isinstance(value, str):
        value = value.encode("utf-8")
    return base64.b64encode(bytes(value)).decode("ascii")


def _jsonable(value: Any) -> Any:
    """Extras of an error the model does not describe: plain JSON, times and bytes converted."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return _write_timestamp("unixTimestamp")(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return _write_blob(value)
    if isinstance(value, float) or isinstance(value, Decimal):
        return _write_float(value)
    return value


# --- per-shape plans ----------------------------------------------------------------------------

class _Plans:
    """Readers and writers of one service model's shapes, built on first use."""

    __slots__ = ("_service", "readers", "writers", "operation_names", "_errors")

    def __init__(self, service: ServiceModel) -> None:
        self._service = weakref.ref(service)  # weak: these plans are cached weakly by the model
        self.readers: dict[tuple, Reader] = {}
        self.writers: dict[tuple, Writer | None] = {}
        self.operation_names = frozenset(service.operation_names)
        self._errors: tuple[dict[str, Shape], dict[str, Shape]] | None = None

    # errors
    def _error_index(self) -> tuple[dict[str, Shape], dict[str, Shape]]:
        if self._errors is None:
            by_name: dict[str, Shape] = {}
            by_code: dict[str, Shape] = {}
            service = self._service()
            for shape in (service.error_shapes if service is not None else ()):
                by_name[shape.name] = shape
                code = (shape.metadata.get("error") or {}).get("code")
                if code:
                    by_code.setdefault(code, shape)
            self._errors = (by_name, by_code)
        return self._errors

    @property
    def error_shapes(self) -> dict[str, Shape]:
        return self._error_index()[0]

    @property
    def error_by_query_code(self) -> dict[str, Shape]:
        return self._error_index()[1]

    # readers
    def reader(self, shape: Shape) -> Reader:
        key = _shape_key(shape)
        found = self.readers.get(key)
        return found if found is not None else self._build_reader(shape, key)

    def _build_reader(self, shape: Shape, key: tuple) -> Reader:
        kind = shape.type_name
        if kind == "structure":
            if shape.is_document_type:
                return self.readers.setdefault(key, _read_document)
            return self._structure_reader(shape, key)
        if kind == "list":
            return self._list_reader(shape, key)
        if kind == "map":
            return self._map_reader(shape, key)
        reader = _SCALAR_READERS.get(kind)
        if kind == "timestamp":
            reader = _timestamp_reader(shape.serialization.get("timestampFormat", "unixTimestamp"))
        self.readers[key] = reader or _read_document
        return self.readers[key]

    def _structure_reader(self, shape: Shape, key: tuple) -> Reader:
        table: dict[str, tuple[str, Reader]] = {}

        def read(value: Any) -> Any:
            if type(value) is not dict:
                raise _Bad(_container_mismatch(value))
            out = {}
            for wire_name, item in value.items():
                member = table.get(wire_name)
                if member is not None and item is not None:
                    out[member[0]] = member[1](item)
            return out

        self.readers[key] = read  # registered before members: recursive shapes find it
        for name, member in shape.members.items():
            table[member.serialization.get("name", name)] = (name, self.reader(member))
        return read

    def _list_reader(self, shape: Shape, key: tuple) -> Reader:
        cell: list[Reader] = []

        def read(value: Any) -> Any:
            if type(value) is not list:
                raise _Bad(_container_mismatch(value))
            item_reader = cell[0]
            return [None if item is None else item_reader(item) for item in value]

        self.readers[key] = read
        cell.append(self.reader(shape.member))
        return read

    def _map_reader(self, shape: Shape, key: tuple) -> Reader:
        cell: list[Reader] = []

        def read(value: Any) -> Any:
            if type(value) is not dict:
                raise _Bad(_container_mismatch(value))
            value_reader = cell[0]
            return {k: value_reader(v) for k, v in value.items() if v is not None}

        self.readers[key] = read
        cell.append(self.reader(shape.value))
        return read

    # writers
    def writer(self, shape: Shape) -> Writer:
        found = self._writer(shape)
        return found if found is not None else _identity

    def _writer(self, shape: Shape) -> Writer | None:
        """A converter to JSON-ready values, or None when the value is written as it is."""
        key = _shape_key(shape)
        if key in self.writers:
            return self.writers[key]
        kind = shape.type_name
        if kind == "structure" and not shape.is_document_type:
            return self._structure_writer(shape, key)
        if kind == "list":
            return self._list_writer(shape, key)
        if kind == "map":
            return self._map_writer(shape, key)
        writer: Writer | None = None
        if kind == "timestamp":
            writer = _write_timestamp(shape.serialization.get("timestampFormat", "unixTimestamp"))
        elif kind == "blob":
            writer = _write_blob
        elif kind in ("float", "double"):
            writer = _write_float
        self.writers[key] = writer
        return writer

    def _structure_writer(self, shape: Shape, key: tuple) -> Writer:
        table: dict[str, tuple[str, Writer | None]] = {}

        def write(value: Any) -> Any:
            out = {}
            for name, item in value.items():
                member = table.get(name)
                if member is not None and item is not None:
                    convert = member[1]
                    out[member[0]] = item if convert is None else convert(item)
            return out

        self.writers[key] = write
        for name, member in shape.members.items():
            table[name] = (member.serialization.get("name", name), self._writer(member))
        return write

    def _list_writer(self, shape: Shape, key: tuple) -> Writer:
        cell: list[Writer | None] = []

        def write(value: Any) -> Any:
            convert = cell[0]
            if convert is None:
                return value if type(value) is list else list(value)
            return [None if item is None else convert(item) for item in value]

        self.writers[key] = write
        cell.append(self._writer(shape.member))
        return write

    def _map_writer(self, shape: Shape, key: tuple) -> Writer:
        cell: list[Writer | None] = []

        def write(value: Any) -> Any:
            convert = cell[0]
            if convert is None:
                return value if type(value) is dict else dict(value)
            return {k: convert(v) for k, v in value.items() if v is not None}

        self.writers[key] = write
        cell.append(self._writer(shape.value))
        return write


_SCALAR_READERS: Final[dict[str, Reader]] = {
    "string": _read_string,
    "boolean": _read_boolean,
    "integer": _integer_reader("Integer", _INT32),
    "long": _integer_reader("Long", _INT64),
    "short": _integer_reader("Short", (-(2**15), 2**15 - 1)),
    "byte": _integer_reader("Byte", (-(2**7), 2**7 - 1)),
    "float": _float_reader("Float"),
    "double": _float_reader("Double"),
    "blob": _read_blob,
}


def _identity(value: Any) -> Any:
    return value


def _shape_key(shape: Shape) -> tuple:
    """A shape's identity within its service: its name plus member-level wire traits."""
    serialization = shape.serialization
    if not serialization:
        return (shape.name,)
    return (shape.name, *sorted((k, str(v)) for k, v in serialization.items()))


_PLANS: Final["weakref.WeakKeyDictionary[ServiceModel, _Plans]"] = weakref.WeakKeyDictionary()


def _plans(service: ServiceModel) -> _Plans:
    plans = _PLANS.get(service)
    if plans is None:
        plans = _PLANS[service] = _Plans(service)
    return plans
