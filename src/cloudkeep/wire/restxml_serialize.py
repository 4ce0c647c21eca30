"""Response side of the AWS ``rest-xml`` protocol (S3, Route 53, CloudFront): result / error →
HTTP response.

Owns: the status (a ``statusCode`` member, else the result's ``http.STATUS_KEY``), header and prefix-header members (through
``rest_common``), the body (a blob or string payload as bytes, or streamed — ``http.BodyStream``
— when the handler hands over an iterator or readable, as GetObject does; a structure payload, or the
output's body members, as one XML document named by the shape's ``locationName`` — S3's root
names such as ``ListBucketResult`` come from ``wire/patches/s3.json`` — in the shape's
``xmlNamespace`` or else the service's), lists and maps by ``flattened``/``locationName``,
``xmlAttribute`` members as attributes; the request id headers (S3: ``x-amz-request-id`` and
``x-amz-id-2``; others ``x-amzn-RequestId``); and the two error formats: S3's bare ``<Error>``
with ``RequestId`` and ``HostId``, and ``<ErrorResponse>`` for the other rest-xml services.
A response to HEAD carries no body.

XML is built by string joins from per-shape plans made lazily and cached; no DOM.

Must not: know any service beyond its model and ``serviceId``; invent members the shape does
not have (unknown keys are dropped).
"""

from __future__ import annotations

import base64
import hashlib
import math
import weakref
from typing import Any, Final, Mapping

from botocore.model import OperationModel, ServiceModel, Shape

from . import errors
from .http import STATUS_KEY, BodyStream, HttpResponse
from .rest_common import is_body_member, response_headers, response_status
from .xmlutil import escape_attr, escape_text, child_shape, format_timestamp, ns_attr

_DECLARATION: Final = '<?xml version="1.0" encoding="UTF-8"?>\n'
_XML_TYPE: Final = ("Content-Type", "application/xml")
_S3_SERVICES: Final = frozenset({"s3", "s3control"})
_NON_BODY: Final = frozenset({"header", "headers", "statusCode"})

#: Messages S3 gives to the authentication errors it names differently from the query services
#: (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html), by the error's own code.
_S3_MESSAGES: Final = {
    "InvalidClientTokenId": "The AWS Access Key Id you provided does not exist in our records.",
    "MissingAuthenticationToken": "Access Denied",
    "SignatureDoesNotMatch": ("The request signature we calculated does not match the signature "
                              "you provided. Check your key and signing method."),
    "InternalFailure": "We encountered an internal error. Please try again.",
    "ValidationError": errors.MalformedXML.MESSAGE,
    "UnsupportedSignatureVersion": ("The authorization mechanism you have provided is not supported. "
                                    "Please use AWS4-HMAC-SHA256."),
}


def is_s3(service: ServiceModel) -> bool:
    return service.service_name in _S3_SERVICES or service.metadata.get("serviceId") in (
        "S3", "S3 Control")


def host_id(request_id: str) -> str:
    """A stable base64 ``x-amz-id-2`` for a request id (S3's extended request id)."""
    digest = hashlib.sha384(b"cloudkeep-host-id/" + request_id.encode("utf-8")).digest()
    return base64.b64encode(digest).decode("ascii")


class _Plan:
    """How one shape (as referenced from its parent) is written. Built once, lazily."""

    __slots__ = ("shape", "kind", "flattened", "ns", "members", "attributes", "item_tag",
                 "key_tag", "value_tag", "timestamp_format", "_children")

    def __init__(self, shape: Shape) -> None:
        ser = shape.serialization
        self.shape = shape
        self.kind = shape.type_name
        self.flattened = bool(ser.get("flattened"))
        self.ns = ns_attr(ser.get("xmlNamespace"))
        self.timestamp_format = ser.get("timestampFormat")
        self._children: dict[str, _Plan] = {}
        self.members: tuple[tuple[str, str], ...] = ()
        self.attributes: tuple[tuple[str, str], ...] = ()
        if self.kind == "structure":
            elements, attributes = [], []
            for name, member in shape.members.items():
                # an output's httpQuery/httpLabel members have no meaning in a response:
                # Smithy writes them in the body like any unbound member
                if member.serialization.get("location") in _NON_BODY:
                    continue
                wire = member.serialization.get("name", name)
                (attributes if member.serialization.get("xmlAttribute") else elements).append(
                    (name, wire))
            self.members, self.attributes = tuple(elements), tuple(attributes)
        elif self.kind == "list":
            self.item_tag = shape.member.serialization.get("name", "member")
        elif self.kind == "map":
            self.key_tag = shape.key.serialization.get("name", "key")
            self.value_tag = shape.value.serialization.get("name", "value")

    def child(self, name: str) -> _Plan:
        plan = self._children.get(name)
        if plan is None:
            plan = self._children[name] = _Plan(child_shape(self.shape, self.kind, name))
        return plan


def _attrs_of(plan: _Plan, value: Mapping[str, Any]) -> str:
    parts = []
    for name, wire in plan.attributes:
        item = value.get(name)
        if item is not None:
            parts.append(f' {wire}="{escape_attr(_scalar_text(plan.child(name), item))}"')
    return "".join(parts)


def _write_structure(out: list[str], plan: _Plan, tag: str, value: Mapping[str, Any],
                     extra_attrs: str = "") -> None:
    out.append(f"<{tag}{plan.ns}{extra_attrs}{_attrs_of(plan, value)}>")
    get = value.get
    for name, wire in plan.members:
        item = get(name)
        if item is not None:
            _write_element(out, plan.child(name), wire, item)
    out.append(f"</{tag}>")


def _write_element(out: list[str], plan: _Plan, tag: str, value: Any) -> None:
    kind = plan.kind
    if kind == "structure":
        _write_structure(out, plan, tag, value)
    elif kind == "list":
        member = plan.child("member")
        if plan.flattened:
            for item in value:
                if item is not None:
                    _write_element(out, member, tag, item)
            return
        out.append(f"<{tag}{plan.ns}>")
        for item in value:
            if item is not None:
                _write_element(out, member, plan.item_tag, item)
        out.append(f"</{tag}>")
    elif kind == "map":
        key_plan, value_plan = plan.child("key"), plan.child("value")
        if not plan.flattened:
            out.append(f"<{tag}{plan.ns}>")
        for key, item in value.items():
            if item is None:
                continue
            out.append(f"<{tag}{plan.ns}>" if plan.flattened else "<entry>")
            _write_element(out, key_plan, plan.key_tag, key)
            _write_element(out, value_plan, plan.value_tag, item)
            out.append(f"</{tag}>" if plan.flattened else "</entry>")
        if not plan.flattened:
            out.append(f"</{tag}>")
    else:
        out.append(f"<{tag}{plan.ns}>{escape_text(_scalar_text(plan, value))}</{tag}>")


def _scalar_text(plan: _Plan, value: Any) -> str:
    kind = plan.kind
    if kind == "boolean":
        return "true" if value else "false"
    if kind in ("integer", "long", "short", "byte"):
        return str(int(value))
    if kind in ("float", "double"):
        number = float(value)
        if math.isnan(number):
            return "NaN"
        if math.isinf(number):
            return "Infinity" if number > 0 else "-Infinity"
        return repr(number)
    if kind == "timestamp":
        return format_timestamp(value, plan.timestamp_format)
    if kind == "blob":
        raw = value.encode("utf-8") if isinstance(value, str) else bytes(value)
        return base64.b64encode(raw).decode("ascii")
    return value if isinstance(value, str) else str(value)


# --- documents -----------------------------------------------------------------------------

_PLANS: "weakref.WeakKeyDictionary[Shape, _Plan]" = weakref.WeakKeyDictionary()


def _plan_for(shape: Shape) -> _Plan:
    plan = _PLANS.get(shape)
    if plan is None:
        plan = _PLANS[shape] = _Plan(shape)
    return plan


def _document(service: ServiceModel, shape: Shape, tag: str, value: Mapping[str, Any]) -> bytes:
    """One XML document: ``value`` written by ``shape`` as the root element ``tag``, in the
    shape's namespace or else the service's (``metadata.xmlNamespace``)."""
    plan = _plan_for(shape)
    out = [_DECLARATION]
    if plan.kind == "structure":
        default_ns = "" if plan.ns else ns_attr(service.metadata.get("xmlNamespace"))
        _write_structure(out, plan, tag, value, default_ns)
    else:
        _write_element(out, plan, tag, value)
    return "".join(out).encode("utf-8")


def _text_root(shape: Shape, tag: str) -> str | None:
    """The member written as the whole document when the output's root name is the name of its
    only body member and that member is a scalar (S3's GetBucketLocation:
    ``<LocationConstraint xmlns="…">eu-west-1</LocationConstraint>``; wire/patches/README.md)."""
    plan = _plan_for(shape)
    if len(plan.members) != 1 or plan.attributes:
        return None
    name, wire = plan.members[0]
    if wire != tag or plan.child(name).kind in ("structure", "list", "map"):
        return None
    return name


def _text_document(service: ServiceModel, shape: Shape, tag: str, member: str, value: Any) -> bytes:
    ns = _plan_for(shape).ns or ns_attr(service.metadata.get("xmlNamespace"))
    text = "" if value is None else escape_text(_scalar_text(_plan_for(shape).child(member), value))
    return f"{_DECLARATION}<{tag}{ns}>{text}</{tag}>".encode("utf-8")


def _root_tag(shape: Shape) -> str:
    """A payload document is named by its target shape (its own locationName, else its shape
    name), never by the member that refers to it."""
    try:
        declared = shape._shape_resolver._shape_map[shape.name].get("locationName")  # noqa: SLF001
    except (AttributeError, KeyError, TypeError):
        declared = None
    return declared or shape.name


_STREAM_PIECE: Final = 64 * 1024


def _read_pieces(readable: Any) -> Any:
    try:
        while piece := readable.read(_STREAM_PIECE):
            yield piece.encode("utf-8") if isinstance(piece, str) else bytes(piece)
    finally:
        close = getattr(readable, "close", None)
        if close is not None:
            close()


def _payload_body(value: Any, length: Any) -> tuple[bytes, BodyStream | None]:
    """A blob/string payload: bytes and text are written whole; a ``BodyStream``, a readable
    or any other iterable of bytes (an S3 object's body) is streamed, its length taken from the
    stream or else from the output's ``ContentLength`` member."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value), None
    if isinstance(value, str):
        return value.encode("utf-8"), None
    if isinstance(value, BodyStream):
        return b"", value
    known = int(length) if isinstance(length, int) and not isinstance(length, bool) else None
    if getattr(value, "read", None) is not None:
        return b"", BodyStream(_read_pieces(value), known)
    return b"", BodyStream(value, known)


def _id_headers(service: ServiceModel, request_id: str) -> list[tuple[str, str]]:
    if is_s3(service):
        return [("x-amz-request-id", request_id), ("x-amz-id-2", host_id(request_id))]
    return [("x-amzn-RequestId", request_id)]


def serialize_response(operation: OperationModel, result: Mapping[str, Any], request_id: str,
                       *, method: str | None = None) -> HttpResponse:
    """The response for ``operation`` carrying ``result``."""
    service = operation.service_model
    shape = operation.output_shape
    headers = _id_headers(service, request_id)
    status = result.get(STATUS_KEY) or response_status(shape, result, int(operation.http.get("responseCode", 200)))
    body = b""
    stream: BodyStream | None = None
    if shape is not None:
        headers += response_headers(shape, result)
        payload = shape.serialization.get("payload")
        if payload is not None:
            member = shape.members[payload]
            value = result.get(payload)
            if value is not None:
                if member.type_name in ("blob", "string"):
                    body, stream = _payload_body(value, result.get("ContentLength"))
                else:
                    body = _document(service, member, _root_tag(member), value)
                    headers.append(_XML_TYPE)
        elif _plan_for(shape).members or _plan_for(shape).attributes:
            tag = shape.serialization.get("name") or shape.name
            text_member = _text_root(shape, tag)
            if text_member is not None:
                body = _text_document(service, shape, tag, text_member, result.get(text_member))
            else:
                body = _document(service, shape, tag, result)
            headers.append(_XML_TYPE)
    if (method or "").upper() == "HEAD":
        body = b""
        if stream is not None:
            stream.close()
            stream = None
    return HttpResponse(status, tuple(headers), body, stream=stream)


# --- errors --------------------------------------------------------------------------------

def _write_extra(out: list[str], shape: Shape | None, extra: Mapping[str, Any]) -> None:
    plan = _plan_for(shape) if shape is not None and shape.type_name == "structure" else None
    typed = dict(plan.members) if plan is not None else {}
    skipped = set()
    if shape is not None and shape.type_name == "structure":
        skipped = {name for name, member in shape.members.items() if not is_body_member(member)}
    for name, value in extra.items():
        if (value is None or name in ("Type", "Code", "Message", "RequestId", "HostId")
                or name in skipped or not name.isidentifier()):
            continue
        if plan is not None and name in typed:
            _write_element(out, plan.child(name), typed[name], value)
        else:
            _write_untyped(out, name, value)


def _write_untyped(out: list[str], tag: str, value: Any) -> None:
    if isinstance(value, Mapping):
        out.append(f"<{tag}>")
        _write_extra(out, None, value)
        out.append(f"</{tag}>")
    elif isinstance(value, bool):
        out.append(f"<{tag}>{'true' if value else 'false'}</{tag}>")
    else:
        out.append(f"<{tag}>{escape_text(str(value))}</{tag}>")


def serialize_error(service: ServiceModel, error: errors.ServiceError, request_id: str,
                    *, method: str | None = None) -> HttpResponse:
    """The error response in S3's format (s3, s3control) or ``<ErrorResponse>`` (the other
    rest-xml services), with the status AWS gives the error on rest-xml."""
    code, status = error.wire_identity("rest-xml")
    s3 = is_s3(service)
    message = error.message
    if s3 and type(error).code in _S3_MESSAGES and (code != type(error).code
                                                    or type(error).code == "SignatureDoesNotMatch"):
        message = _S3_MESSAGES[type(error).code]
    shape = service.shape_for_error_code(code)
    headers = _id_headers(service, request_id)
    headers += response_headers(shape, error.extra)
    headers.append(_XML_TYPE)
    headers += [(name, value) for name, value in error.headers.items()
                if name.lower() not in ("content-type", "x-amzn-requestid", "x-amz-request-id",
                                        "x-amz-id-2")]
    if s3:
        out = [_DECLARATION, f"<Error><Code>{escape_text(code)}</Code>",
               f"<Message>{escape_text(message)}</Message>"]
        _write_extra(out, shape, error.extra)
        out.append(f"<RequestId>{escape_text(request_id)}</RequestId>"
                   f"<HostId>{host_id(request_id)}</HostId></Error>")
    else:
        fault = "Sender" if error.sender_fault else "Receiver"
        metadata = service.metadata
        ns = metadata.get("xmlNamespace") or (
            f"https://{metadata.get('endpointPrefix', 'aws')}.amazonaws.com/doc/"
            f"{metadata.get('apiVersion', '')}/")
        out = [_DECLARATION, f'<ErrorResponse xmlns="{escape_attr(ns)}"><Error><Type>{fault}</Type>',
               f"<Code>{escape_text(code)}</Code>"]
        if message:
            out.append(f"<Message>{escape_text(message)}</Message>")
        _write_extra(out, shape, error.extra)
        out.append(f"</Error><RequestId>{escape_text(request_id)}</RequestId></ErrorResponse>")
    # a HEAD response has no body, nor has 304 Not Modified (RFC 9110 §15.4.5)
    body = b"" if (method or "").upper() == "HEAD" or status == 304 else "".join(out).encode("utf-8")
    if status == 304:
        headers = [h for h in headers if h != _XML_TYPE]
    return HttpResponse(status, tuple(headers), body)
