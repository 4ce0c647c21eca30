"""Request side of the AWS ``query`` protocol (IAM, STS): form parameters → params dict.

Owns: reading the ``Action``; decoding the form body (POST ``application/x-www-form-urlencoded``)
or the query string (GET); turning flattened keys (``Tags.member.1.Key``,
``Attributes.entry.1.value``, flattened lists and maps, ``locationName``) back into the nested
params dict the botocore client started from, typed by the operation's input shape (ints,
floats, booleans, base64 blobs, timestamps as aware UTC datetimes). A value of the wrong type is
a ``ValidationError``; undecodable input is ``MalformedQueryString``; a POST body declared as
anything but a form is ``UnsupportedMediaType`` (one without a Content-Type is read as a form).
Parameters the model does not know are ignored, as AWS does.

The wire layout is read from botocore's model through per-shape plans built lazily and cached;
nothing here is written per operation.

Must not: check model constraints (required, length, pattern, enum, range: ``wire/validate.py``
does); know any service; let any exception but ``ServiceError`` escape.
"""

from __future__ import annotations

import base64
import binascii
import re
import weakref
from typing import Any, Final
from urllib.parse import unquote

from botocore.model import OperationModel, Shape

from . import errors
from .http import HttpRequest
from .xmlutil import parse_timestamp

#: Largest request body accepted. AWS publishes no figure for query requests; the biggest IAM
#: input is a policy document of up to 131,072 characters (the model's ``policyDocumentType``
#: max length; https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html),
#: which percent-encoding can triple, so 1 MiB leaves ample room while bounding work per request.
MAX_BODY_BYTES: Final = 1024 * 1024
#: Deepest nesting of structures/lists/maps followed (only recursive shapes can go deeper).
MAX_DEPTH: Final = 64

_FORM_TYPE: Final = "application/x-www-form-urlencoded"
_BAD_PERCENT: Final = re.compile(r"%(?![0-9A-Fa-f]{2})")
_INT: Final = re.compile(r"[+-]?\d{1,30}")
_FLOAT: Final = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|NaN|[+-]?Infinity")
_VALUE: Final = object()  # key of a trie node's own value
_MALFORMED_MESSAGE: Final = "The query string contains a syntax error."


# --- decoding the form ---------------------------------------------------------------------

def _decode_component(raw: str) -> str:
    if "+" in raw:
        raw = raw.replace("+", " ")
    if "%" not in raw:
        return raw
    if _BAD_PERCENT.search(raw):
        raise errors.MalformedQueryString(_MALFORMED_MESSAGE)
    return unquote(raw, encoding="utf-8", errors="strict")


def _decode_form(data: str) -> dict[str, str]:
    """``a=1&b=2`` → {"a": "1", "b": "2"}; percent-escapes must be valid UTF-8."""
    pairs: dict[str, str] = {}
    if not data:
        return pairs
    for piece in data.split("&"):
        if not piece:
            continue
        name, _, value = piece.partition("=")
        pairs[_decode_component(name)] = _decode_component(value)
    return pairs


def _to_text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise errors.MalformedQueryString(_MALFORMED_MESSAGE) from None


def _form_params(request: HttpRequest) -> dict[str, str]:
    """All parameters of the request: query string, then (for POST) the form body over it."""
    method = request.method
    if method not in ("GET", "POST"):
        raise errors.MethodNotAllowed(f"The HTTP method {method[:16]} is not allowed for this resource.")
    try:
        params = _decode_form(request.query)
        if method == "POST":
            body = request.body
            if len(body) > MAX_BODY_BYTES:
                raise errors.RequestEntityTooLarge(
                    f"Request body must be no larger than {MAX_BODY_BYTES} bytes.")
            content_type = request.header("content-type")
            if content_type is not None:
                media = content_type.split(";", 1)[0].strip().lower()
                if media != _FORM_TYPE:
                    raise errors.UnsupportedMediaType(
                        f"Content-Type {content_type[:100]} is not supported; "
                        f"send {_FORM_TYPE}.")
            params.update(_decode_form(_to_text(body)))
        return params
    except UnicodeDecodeError:
        raise errors.MalformedQueryString(_MALFORMED_MESSAGE) from None


def operation_name(request: HttpRequest) -> str | None:
    """The ``Action`` of a query request, or None when it names none."""
    try:
        action = _form_params(request).get("Action")
    except errors.ServiceError:
        raise
    except Exception:  # noqa: BLE001 - nothing else may escape; a bug shows as a 500
        raise errors.InternalFailure("We encountered an internal error. Please try again.") from None
    return action or None


# --- params trie → nested dict, driven by shape plans ------------------------------------------

Node = dict[Any, Any]


def _trie(params: dict[str, str]) -> Node:
    root: Node = {}
    for key, value in params.items():
        node = root
        for part in key.split("."):
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            node = child
        node[_VALUE] = value
    return root


def _indexed(node: Node) -> list[Node]:
    """Children named 1, 2, 3 … in numeric order (other names are ignored, as unknown params)."""
    items = [(int(k), child) for k, child in node.items()
             if k is not _VALUE and k.isdigit() and k[0] != "0" and len(k) < 10]
    items.sort(key=lambda item: item[0])
    return [child for _, child in items]


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _type_error(value: str, path: str, constraint: str) -> errors.ValidationError:
    shown = value if len(value) <= 100 else value[:100] + "..."
    return errors.ValidationError(
        f"1 validation error detected: Value '{shown}' at '{path}' failed to satisfy "
        f"constraint: {constraint}")


def _alt_name(member: Shape) -> str:
    """For a flattened list whose member has a locationName: the name botocore's serializer
    keys the items by (the Smithy spec keys them by the structure member's own name)."""
    if member.type_name == "list" and member.serialization.get("flattened"):
        return member.member.serialization.get("name", "")
    return ""


class _Plan:
    """How one shape (as referenced from its parent) reads from the trie. Built once, lazily."""

    __slots__ = ("shape", "kind", "members", "item_name", "key_name", "value_name",
                 "flattened", "_children")
    #: builds the error for a value of the wrong type (a subclass may phrase it its own way)
    type_error = staticmethod(_type_error)

    def __init__(self, shape: Shape) -> None:
        self.shape = shape
        self.kind = shape.type_name
        ser = shape.serialization
        self.flattened = bool(ser.get("flattened"))
        self._children: dict[str, _Plan] = {}
        self.members: tuple[tuple[str, str, str, str], ...] = ()
        self.item_name = "member"
        if self.kind == "structure":
            self.members = tuple(
                (member.serialization.get("name", name), name, _camel(name), _alt_name(member))
                for name, member in shape.members.items())
        elif self.kind == "list" and not self.flattened:
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
            plan = self._children[name] = type(self)(target)
        return plan


def _read(plan: _Plan, node: Node, path: str, depth: int) -> Any:
    kind = plan.kind
    if kind == "structure":
        return _read_structure(plan, node, path, depth)
    if kind == "list":
        return _read_list(plan, node, path, depth)
    if kind == "map":
        return _read_map(plan, node, path, depth)
    return _scalar(plan, node[_VALUE], path)


def _check_depth(depth: int) -> None:
    if depth > MAX_DEPTH:
        raise errors.ValidationError(
            f"1 validation error detected: request parameters nest deeper than {MAX_DEPTH} levels")


def _read_structure(plan: _Plan, node: Node, path: str, depth: int) -> dict[str, Any]:
    _check_depth(depth)
    out: dict[str, Any] = {}
    for wire_name, name, camel, alt_name in plan.members:
        child = node.get(wire_name)
        value = _ABSENT
        if child is not None:
            value = _read_present(plan.child(name), child, f"{path}.{camel}" if path else camel,
                                  depth + 1)
        if value is _ABSENT and alt_name:
            alt = node.get(alt_name)
            if alt is not None:
                value = _read_present(plan.child(name), alt,
                                      f"{path}.{camel}" if path else camel, depth + 1)
        if value is not _ABSENT:
            out[name] = value
    return out


_ABSENT: Final = object()


def _read_present(plan: _Plan, node: Node, path: str, depth: int) -> Any:
    """The value at ``node``, or _ABSENT when the node carries nothing this shape can read."""
    kind = plan.kind
    if kind in ("structure", "map"):
        if len(node) == (1 if _VALUE in node else 0):
            return _ABSENT
    elif kind == "list":
        if len(node) == 1 and node.get(_VALUE) == "":
            return []                            # "ListArg=" is how an empty list is sent
        if len(node) == (1 if _VALUE in node else 0):
            return _ABSENT
    elif _VALUE not in node:
        return _ABSENT
    return _read(plan, node, path, depth)


def _read_list(plan: _Plan, node: Node, path: str, depth: int) -> list[Any]:
    _check_depth(depth)
    if plan.flattened:
        items_node = node
    else:
        items_node = node.get(plan.item_name)
        if items_node is None:
            return []
    member = plan.child("member")
    out = []
    for index, item in enumerate(_indexed(items_node), 1):
        value = _read_present(member, item, f"{path}.{index}.member", depth + 1)
        if value is not _ABSENT:
            out.append(value)
    return out


def _read_map(plan: _Plan, node: Node, path: str, depth: int) -> dict[str, Any]:
    _check_depth(depth)
    entries = node if plan.flattened else node.get("entry")
    if entries is None:
        return {}
    key_plan, value_plan = plan.child("key"), plan.child("value")
    out: dict[str, Any] = {}
    for index, entry in enumerate(_indexed(entries), 1):
        key_node = entry.get(plan.key_name)
        value_node = entry.get(plan.value_name)
        if key_node is None or _VALUE not in key_node or value_node is None:
            continue
        entry_path = f"{path}.{index}"
        key = _scalar(key_plan, key_node[_VALUE], f"{entry_path}.key")
        value = _read_present(value_plan, value_node, f"{entry_path}.value", depth + 1)
        if value is not _ABSENT:
            out[key] = value
    return out


def _scalar(plan: _Plan, raw: str, path: str) -> Any:
    kind = plan.kind
    if kind == "string":
        return raw
    if kind in ("integer", "long", "short", "byte"):
        if _INT.fullmatch(raw) is None:
            raise plan.type_error(raw, path, "Member must be a number")
        return int(raw)
    if kind == "boolean":
        lowered = raw.lower()
        if lowered == "true":
            return True
        if lowered == "false":
            return False
        raise plan.type_error(raw, path, "Member must be a boolean (true or false)")
    if kind in ("float", "double"):
        if _FLOAT.fullmatch(raw) is None:
            raise plan.type_error(raw, path, "Member must be a number")
        return float(raw)
    if kind == "timestamp":
        moment = parse_timestamp(raw)
        if moment is None:
            raise plan.type_error(raw, path, "Member must be a timestamp")
        return moment
    if kind == "blob":
        try:
            return base64.b64decode(raw.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError, ValueError):
            raise plan.type_error(raw, path, "Member must be base64-encoded binary data") from None
    return raw  # document/unknown scalar kinds: keep the text


# --- entry point ---------------------------------------------------------------------------

_PLANS: "weakref.WeakKeyDictionary[OperationModel, _Plan]" = weakref.WeakKeyDictionary()


def _input_plan(operation: OperationModel) -> _Plan | None:
    shape = operation.input_shape
    if shape is None:
        return None
    plan = _PLANS.get(operation)
    if plan is None:
        plan = _PLANS[operation] = _Plan(shape)
    return plan


def parse_request(operation: OperationModel, request: HttpRequest) -> dict[str, Any]:
    """The params dict of a query request for ``operation``, as the botocore client had it."""
    try:
        params = _form_params(request)
        plan = _input_plan(operation)
        if plan is None:
            return {}
        return _read_structure(plan, _trie(params), "", 0)
    except errors.ServiceError:
        raise
    except (UnicodeError, ValueError, OverflowError, RecursionError):
        raise errors.MalformedQueryString(_MALFORMED_MESSAGE) from None
    except Exception:  # noqa: BLE001 - nothing else may escape; a bug shows as a 500
        raise errors.InternalFailure("We encountered an internal error. Please try again.") from None
