"""Response side of the AWS ``query`` protocol (IAM, STS): result dict / ServiceError → XML.

Owns: the success envelope ``<OpResponse xmlns=…><OpResult>…</OpResult><ResponseMetadata>…``
and the error envelope ``<ErrorResponse><Error><Type/><Code/><Message/>…</Error><RequestId/>``,
with every member laid out as the operation's output shape says (``locationName``,
``flattened``, list ``member`` and map ``entry`` names, ``xmlNamespace``), timestamps in ISO 8601
UTC (``2024-01-02T03:04:05Z``), booleans ``true``/``false`` and base64 blobs.

XML is built by string joins from per-shape plans made lazily and cached; no DOM.

Must not: know any service; invent members the shape does not have (unknown keys are dropped).
"""

from __future__ import annotations

import base64
import math
import weakref
from typing import Any, Final, Mapping

from botocore.model import OperationModel, ServiceModel, Shape

from . import errors
from .http import HttpResponse
from .xmlutil import escape_attr, escape_text, child_shape, format_timestamp, ns_attr

_CONTENT_TYPE: Final = ("Content-Type", "text/xml")
_REQUEST_ID: Final = "x-amzn-RequestId"


def _namespace_attr(shape: Shape) -> str:
    """The xmlns attribute a member reference asks for. A namespace declared on the target
    shape itself only applies to a top-level document, so it is not repeated on members."""
    ns = shape.serialization.get("xmlNamespace")
    if not ns:
        return ""
    try:
        declared = shape._shape_resolver._shape_map[shape.name].get("xmlNamespace")  # noqa: SLF001
    except (AttributeError, KeyError, TypeError):
        declared = None
    return "" if declared == ns else ns_attr(ns)


class _Plan:
    """How one shape (as referenced from its parent) is written. Built once, lazily."""

    __slots__ = ("shape", "kind", "flattened", "attrs", "members", "item_tag", "key_tag",
                 "value_tag", "entry_attrs", "timestamp_format", "_children")

    def __init__(self, shape: Shape) -> None:
        ser = shape.serialization
        self.shape = shape
        self.kind = shape.type_name
        self.flattened = bool(ser.get("flattened"))
        self.attrs = _namespace_attr(shape)
        self.timestamp_format = ser.get("timestampFormat")
        self._children: dict[str, _Plan] = {}
        self.members: dict[str, str] = {}
        if self.kind == "structure":
            self.members = {name: member.serialization.get("name", name)
                            for name, member in shape.members.items()}
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


def _write_members(out: list[str], plan: _Plan, value: Mapping[str, Any]) -> None:
    """The members of a structure ``value`` (not its own element) appended to ``out``."""
    get = value.get
    for name, tag in plan.members.items():       # model order, as AWS writes them
        item = get(name)
        if item is not None:
            _write_element(out, plan.child(name), tag, item)


def _write_element(out: list[str], plan: _Plan, tag: str, value: Any) -> None:
    kind = plan.kind
    if kind == "list":
        member = plan.child("member")
        if plan.flattened:
            for item in value:
                if item is not None:
                    _write_element(out, member, tag, item)
            return
        if not value:
            out.append(f"<{tag}{plan.attrs}/>")
            return
        out.append(f"<{tag}{plan.attrs}>")
        item_tag = plan.item_tag
        for item in value:
            if item is not None:
                _write_element(out, member, item_tag, item)
        out.append(f"</{tag}>")
        return
    if kind == "map":
        key_plan, value_plan = plan.child("key"), plan.child("value")
        key_tag, value_tag = plan.key_tag, plan.value_tag
        if not plan.flattened:
            out.append(f"<{tag}{plan.attrs}>")
        for key, item in value.items():
            if item is None:
                continue
            out.append(f"<{tag}{plan.attrs}>" if plan.flattened else "<entry>")
            _write_element(out, key_plan, key_tag, key)
            _write_element(out, value_plan, value_tag, item)
            out.append(f"</{tag}>" if plan.flattened else "</entry>")
        if not plan.flattened:
            out.append(f"</{tag}>")
        return
    if kind == "structure":
        out.append(f"<{tag}{plan.attrs}>")
        _write_members(out, plan, value)
        out.append(f"</{tag}>")
        return
    out.append(f"<{tag}{plan.attrs}>{_scalar_text(plan, value)}</{tag}>")


def _scalar_text(plan: _Plan, value: Any) -> str:
    kind = plan.kind
    if kind == "string":
        return escape_text(value if isinstance(value, str) else str(value))
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
    return escape_text(str(value))


# --- envelopes -----------------------------------------------------------------------------

_OUTPUT_PLANS: "weakref.WeakKeyDictionary[OperationModel, _Plan]" = weakref.WeakKeyDictionary()
_ERROR_PLANS: "weakref.WeakKeyDictionary[ServiceModel, dict[str, _Plan | None]]" = (
    weakref.WeakKeyDictionary())


def _xmlns(service: ServiceModel) -> str:
    """The service's XML namespace (``https://iam.amazonaws.com/doc/2010-05-08/``)."""
    metadata = service.metadata
    ns = metadata.get("xmlNamespace")
    if not ns:
        ns = f"https://{metadata.get('endpointPrefix', 'aws')}.amazonaws.com/doc/{metadata.get('apiVersion', '')}/"
    return f' xmlns="{escape_attr(ns)}"'


def serialize_response(operation: OperationModel, result: Mapping[str, Any],
                       request_id: str) -> HttpResponse:
    """The 200 text/xml response for ``operation`` carrying ``result``."""
    name = operation.name
    out = [f"<{name}Response{_xmlns(operation.service_model)}>"]
    shape = operation.output_shape
    if shape is not None:
        plan = _OUTPUT_PLANS.get(operation)
        if plan is None:
            plan = _OUTPUT_PLANS[operation] = _Plan(shape)
        wrapper = shape.serialization.get("resultWrapper") or f"{name}Result"
        out.append(f"<{wrapper}>")
        _write_members(out, plan, result)
        out.append(f"</{wrapper}>")
    out.append(f"<ResponseMetadata><RequestId>{escape_text(request_id)}</RequestId>"
               f"</ResponseMetadata></{name}Response>")
    body = "".join(out).encode("utf-8")
    return HttpResponse(200, ((_REQUEST_ID, request_id), _CONTENT_TYPE), body)


def _error_plan(service: ServiceModel, code: str) -> _Plan | None:
    plans = _ERROR_PLANS.get(service)
    if plans is None:
        plans = _ERROR_PLANS[service] = {}
    if code not in plans:
        shape = service.shape_for_error_code(code)
        plans[code] = _Plan(shape) if shape is not None and shape.type_name == "structure" else None
    return plans[code]


def _write_extra(out: list[str], plan: _Plan | None, extra: Mapping[str, Any]) -> None:
    for name, value in extra.items():
        if value is None or name in ("Type", "Code", "Message") or not name.isidentifier():
            continue
        if plan is not None and name in plan.members:
            _write_element(out, plan.child(name), plan.members[name], value)
        else:
            _write_untyped(out, name, value)


def _write_untyped(out: list[str], tag: str, value: Any) -> None:
    """A member the model does not describe: nested mappings become elements, the rest text."""
    if isinstance(value, Mapping):
        out.append(f"<{tag}>")
        _write_extra(out, None, value)
        out.append(f"</{tag}>")
    elif isinstance(value, bool):
        out.append(f"<{tag}>{'true' if value else 'false'}</{tag}>")
    else:
        out.append(f"<{tag}>{escape_text(str(value))}</{tag}>")


def serialize_error(service: ServiceModel, error: errors.ServiceError,
                    request_id: str) -> HttpResponse:
    """The ``<ErrorResponse>`` for ``error`` with the status AWS gives it on query services."""
    code, status = error.wire_identity("query")
    fault = "Sender" if error.sender_fault else "Receiver"
    out = [f"<ErrorResponse{_xmlns(service)}><Error><Type>{fault}</Type>",
           f"<Code>{escape_text(code)}</Code>"]
    if error.message:  # an empty <Message/> would reach SDKs as None rather than absent
        out.append(f"<Message>{escape_text(error.message)}</Message>")
    if error.extra:
        _write_extra(out, _error_plan(service, code), error.extra)
    out.append(f"</Error><RequestId>{escape_text(request_id)}</RequestId></ErrorResponse>")
    headers = [(_REQUEST_ID, request_id), _CONTENT_TYPE]
    headers += [(name, value) for name, value in error.headers.items()
                if name.lower() not in ("content-type", "x-amzn-requestid")]
    return HttpResponse(status, tuple(headers), "".join(out).encode("utf-8"))
