"""Request side of the AWS ``rest-xml`` protocol (S3, Route 53, CloudFront): HTTP → params dict.

Owns: binding URI labels, query string, headers and prefix headers (through ``rest_common``)
and the body: a blob payload member gets the raw bytes (or, for a spooled large body, the file
object itself, for the caller to stream), a string payload the decoded text, a structure payload
the XML document read by the member's shape; without a payload member, the body document's
children are the body members. XML is read with expat into a small tree of (local name,
attributes, text, children): no DTDs or entities (refused), namespace prefixes ignored, depth
bounded. Lists and maps follow the model's ``flattened``, ``locationName`` and ``xmlAttribute``.

Errors are S3's: an unparsable or mistyped body is ``MalformedXML``; a mistyped header or query
parameter is ``InvalidArgument`` (with ``ArgumentName``/``ArgumentValue``); an XML body larger
than ``MAX_BODY_BYTES`` is ``MaxMessageLengthExceeded``.

Must not: check model constraints (``wire/validate.py``); know any service; let any exception
but ``ServiceError`` escape.
"""

from __future__ import annotations

import base64
import binascii
import re
import weakref
from typing import Any, Final, Mapping
from xml.parsers import expat

from botocore.model import OperationModel, Shape

from . import errors
from .http import HttpRequest
from .rest_common import bind_non_body, is_body_member
from .xmlutil import parse_timestamp

#: Largest XML request body read. S3 publishes no figure; its largest XML input is DeleteObjects
#: (up to 1,000 keys of up to 1,024 bytes each, https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html),
#: which escaping can swell to a few MiB, so 8 MiB bounds the work while accepting any valid one.
MAX_BODY_BYTES: Final = 8 * 1024 * 1024
#: Deepest element nesting read (only recursive shapes can go deeper).
MAX_DEPTH: Final = 64

_INT: Final = re.compile(r"[+-]?\d{1,30}")
_FLOAT: Final = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|NaN|[+-]?Infinity")


def _malformed() -> errors.ServiceError:
    return errors.MalformedXML(errors.MalformedXML.MESSAGE)


def _bad_argument(value: str, where: str, member: str) -> errors.ServiceError:
    # S3 names the parameter by its wire name: "Provided max-keys not an integer or within
    # integer range" (ArgumentName max-keys); see
    # https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html (InvalidArgument)
    name = where.split("'")[1] if "'" in where else member
    shown = value if len(value) <= 1024 else value[:1024]
    return errors.InvalidArgument(f"Invalid value for {where}.",
                                  extra={"ArgumentName": name, "ArgumentValue": shown})


# --- a small, safe XML tree ------------------------------------------------------------------

class _Node:
    __slots__ = ("tag", "attrs", "text", "children")

    def __init__(self, tag: str, attrs: dict[str, str]) -> None:
        self.tag = tag
        self.attrs = attrs
        self.text: list[str] = []
        self.children: list[_Node] = []


def _local(name: str) -> str:
    return name.rpartition(":")[2]


class _Builder:
    def __init__(self) -> None:
        self.stack: list[_Node] = []
        self.root: _Node | None = None

    def start(self, name: str, attrs: dict[str, str]) -> None:
        if len(self.stack) >= MAX_DEPTH:
            raise _Refused
        node = _Node(_local(name), attrs)
        if self.stack:
            self.stack[-1].children.append(node)
        else:
            self.root = node
        self.stack.append(node)

    def end(self, name: str) -> None:
        self.stack.pop()

    def data(self, text: str) -> None:
        if self.stack:
            self.stack[-1].text.append(text)


class _Refused(Exception):
    """Raised inside expat handlers: a DTD, an entity, or nesting too deep."""


def _refuse(*_: Any) -> None:
    raise _Refused


def parse_xml(body: bytes) -> _Node:
    """The document's root element; ``MalformedXML`` for anything but one well-formed element
    without DTD or entity declarations."""
    builder = _Builder()
    parser = expat.ParserCreate()
    parser.buffer_text = True
    parser.StartElementHandler = builder.start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    parser.ExternalEntityRefHandler = _refuse
    try:
        parser.Parse(body, True)
    except (expat.ExpatError, _Refused, ValueError, RecursionError):
        raise _malformed() from None
    if builder.root is None:
        raise _malformed()
    return builder.root


# --- reading shapes from the tree --------------------------------------------------------------

class _Plan:
    """How one shape reads from XML. Built once per shape reference, lazily."""

    __slots__ = ("shape", "kind", "flattened", "members", "attributes", "item_name", "key_name",
                 "value_name", "_children")

    def __init__(self, shape: Shape) -> None:
        self.shape = shape
        self.kind = shape.type_name
        self.flattened = bool(shape.serialization.get("flattened"))
        self._children: dict[str, _Plan] = {}
        #: element members: (member name, element name, other accepted name). botocore's
        #: client names a member by its target shape's locationName when the reference has none;
        #: Smithy (and the protocol cases) by the member's name: both are read.
        self.members: tuple[tuple[str, str, str], ...] = ()
        #: attribute members: (member name, attribute name)
        self.attributes: tuple[tuple[str, str], ...] = ()
        if self.kind == "structure":
            elements, attributes = [], []
            for name, member in shape.members.items():
                if not is_body_member(member):
                    continue
                wire = member.serialization.get("name", name)
                if member.serialization.get("xmlAttribute"):
                    attributes.append((name, wire))
                else:
                    elements.append((name, _local(wire), name))
            self.members, self.attributes = tuple(elements), tuple(attributes)
        elif self.kind == "list":
            self.item_name = shape.member.serialization.get("name", "member")
        elif self.kind == "map":
            self.key_name = shape.key.serialization.get("name", "key")
            self.value_name = shape.value.serialization.get("name", "value")

    def child(self, name: str) -> _Plan:
        plan = self._children.get(name)
        if plan is None:
            shape = self.shape
            if self.kind == "structure":
                target = shape.members[name]
            elif self.kind == "list":
                target = shape.member
            else:
                target = shape.key if name == "key" else shape.value
            plan = self._children[name] = _Plan(target)
        return plan


def _read(plan: _Plan, node: _Node) -> Any:
    kind = plan.kind
    if kind == "structure":
        return _read_structure(plan, node)
    if kind == "list":
        return _read_items(plan, [c for c in node.children if c.tag == plan.item_name])
    if kind == "map":
        return _read_entries(plan, [c for c in node.children if c.tag == "entry"])
    return _scalar(plan, "".join(node.text))


def _read_structure(plan: _Plan, node: _Node) -> dict[str, Any]:
    out: dict[str, Any] = {}
    by_tag: dict[str, list[_Node]] = {}
    for child in node.children:
        by_tag.setdefault(child.tag, []).append(child)
    for name, wire, alt in plan.members:
        found = by_tag.get(wire) or by_tag.get(alt)
        if not found:
            continue
        member = plan.child(name)
        if member.flattened and member.kind == "list":
            out[name] = _read_items(member, found)
        elif member.flattened and member.kind == "map":
            out[name] = _read_entries(member, found)
        else:
            out[name] = _read(member, found[0])
    if plan.attributes:
        local_attrs = {_local(k): v for k, v in node.attrs.items()}
        for name, wire in plan.attributes:
            raw = node.attrs.get(wire)
            if raw is None:
                raw = local_attrs.get(_local(wire))
            if raw is not None:
                out[name] = _scalar(plan.child(name), raw)
    return out


def _read_items(plan: _Plan, items: list[_Node]) -> list[Any]:
    member = plan.child("member")
    return [_read(member, item) for item in items]


def _read_entries(plan: _Plan, entries: list[_Node]) -> dict[str, Any]:
    key_plan, value_plan = plan.child("key"), plan.child("value")
    out: dict[str, Any] = {}
    for entry in entries:
        key_node = value_node = None
        for child in entry.children:
            if child.tag == plan.key_name:
                key_node = child
            elif child.tag == plan.value_name:
                value_node = child
        if key_node is None or value_node is None:
            raise _malformed()
        out[_scalar(key_plan, "".join(key_node.text))] = _read(value_plan, value_node)
    return out


def _scalar(plan: _Plan, raw: str) -> Any:
    kind = plan.kind
    if kind == "string":
        return raw
    text = raw.strip()
    if kind in ("integer", "long", "short", "byte"):
        if _INT.fullmatch(text) is None:
            raise _malformed()
        return int(text)
    if kind == "boolean":
        if text in ("true", "false"):
            return text == "true"
        raise _malformed()
    if kind in ("float", "double"):
        if _FLOAT.fullmatch(text) is None:
            raise _malformed()
        return float(text)
    if kind == "timestamp":
        moment = parse_timestamp(text)
        if moment is None:
            raise _malformed()
        return moment
    if kind == "blob":
        try:
            return base64.b64decode("".join(text.split()).encode("ascii"), validate=True)
        except (binascii.Error, ValueError, UnicodeError):
            raise _malformed() from None
    return raw


# --- the body ------------------------------------------------------------------------------

_PLANS: "weakref.WeakKeyDictionary[Shape, _Plan]" = weakref.WeakKeyDictionary()


def _plan_for(shape: Shape) -> _Plan:
    try:
        plan = _PLANS.get(shape)
    except TypeError:                            # unhashable/unweakrefable: no cache
        return _Plan(shape)
    if plan is None:
        plan = _Plan(shape)
        try:
            _PLANS[shape] = plan
        except TypeError:
            pass
    return plan


def _xml_bytes(request: HttpRequest) -> bytes:
    """The whole body for an XML document, bounded by ``MAX_BODY_BYTES``."""
    if request.body_file is None:
        body = request.body
    else:
        if request.body_size > MAX_BODY_BYTES:
            raise errors.MaxMessageLengthExceeded("Your request was too big.")
        request.body_file.seek(0)
        body = request.body_file.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        raise errors.MaxMessageLengthExceeded("Your request was too big.")
    return body


def _has_body(request: HttpRequest) -> bool:
    return bool(request.body) or (request.body_file is not None and request.body_size > 0)


def _read_body(operation: OperationModel, shape: Shape, request: HttpRequest) -> dict[str, Any]:
    payload = shape.serialization.get("payload")
    if payload is not None:
        member = shape.members[payload]
        kind = member.type_name
        if kind == "blob":
            if request.body_file is not None:
                return {payload: request.body_file}
            return {payload: request.body} if request.body else {}
        if kind == "string":
            if not _has_body(request):
                return {}
            try:
                return {payload: _xml_bytes(request).decode("utf-8")}
            except UnicodeDecodeError:
                raise _malformed() from None
        if not _has_body(request):
            return {}
        root = parse_xml(_xml_bytes(request))
        return {payload: _read(_plan_for(member), root)}
    plan = _plan_for(shape)
    if not (plan.members or plan.attributes) or not _has_body(request):
        return {}
    return _read_structure(plan, parse_xml(_xml_bytes(request)))


#: S3 operations whose body is an AccessControlPolicy: a malformed one is MalformedACLError
_ACL_BODIES: Final = frozenset({"PutBucketAcl", "PutObjectAcl"})


def parse_request(operation: OperationModel, request: HttpRequest, *,
                  labels: Mapping[str, str]) -> dict[str, Any]:
    """The params dict of a rest-xml request for ``operation``, as the botocore client had it.
    ``labels`` are the percent-decoded URI labels the router matched."""
    try:
        shape = operation.input_shape
        if shape is None:
            return {}
        params = _read_body(operation, shape, request)
        params.update(bind_non_body(operation, request, labels, _bad_argument))
        return params
    except errors.MalformedXML:
        if operation.name in _ACL_BODIES:
            raise errors.MalformedACLError(errors.MalformedACLError.MESSAGE) from None
        raise
    except errors.ServiceError:
        raise
    except (UnicodeError, ValueError, OverflowError, RecursionError):
        raise _malformed() from None
    except Exception:  # noqa: BLE001 - nothing else may escape; a bug shows as a 500
        raise errors.InternalFailure("We encountered an internal error. Please try again.") from None
