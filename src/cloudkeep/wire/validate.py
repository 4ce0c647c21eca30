"""Server-side input validation against botocore's models, in the wording AWS's servers use.

``validate(shape, params, protocol=...)`` checks parsed input (botocore member names, typed values)
against the model's constraints — required members, string/blob/list/map length, numeric range,
``pattern`` and ``enum`` — and raises :class:`ValidationError` with AWS's server-side message:

    1 validation error detected: Value 'a:b' at 'roleSessionName' failed to satisfy constraint:
    Member must satisfy regular expression pattern: [\\w+=,.@-]*
    2 validation errors detected: <error>; <error>

What AWS prints, and where it was confirmed (real AWS responses quoted in public threads):

* ``Value null at 'x' … Member must not be null``; numbers are quoted (``Value '100' at
  'maxResults'``, https://github.com/rebuy-de/aws-nuke/issues/1074); lists print Java-style
  (``Value '[list, of, ten, items]' at 'names'``, https://github.com/remind101/ssm-env/issues/10);
  maps ``'{k=v}'`` (architect/dynalite ``test/batchWriteItem.js``, which mirrors DynamoDB).
* Member paths lower-case only the first letter (``advancedSecurityOptions.sAMLOptions.
  masterUserName``, https://github.com/ministryofjustice/cloud-platform-infrastructure/pull/4097);
  list elements are ``tags.6.member.value`` (IAM, https://github.com/SWO-GS/auto-tag/issues/90),
  map values ``requestItems.<key>.member`` (dynalite ``validations/index.js``).
* A sensitive member's value is never printed: ``Value at 'x' failed …`` (OpenSearch's sensitive
  ``Username``, PR above; Bedrock's sensitive ``GuardrailTopicDefinition``,
  https://github.com/privacera/paig/issues/272). Blobs are never printed either (cloudkeep's
  choice: they can carry key material).
* A list of scalars is reported once at the list: ``Value '[POST, OPTIONS, GET]' at
  'cors.allowMethods' failed to satisfy constraint: Member must satisfy constraint: [Member must
  have length less than or equal to 6, Member must have length greater than or equal to 0, Member
  must satisfy regular expression pattern: .*, Member must not be null]`` (Lambda); the trailing
  ``Member must not be null`` appears for some services only (absent from ACM's
  ``subjectAlternativeNames`` errors), so it is a per-service rule. Maps say ``Map keys must
  satisfy constraint: [...]`` / ``Map value must satisfy constraint: [...]`` (CodePipeline,
  https://github.com/hashicorp/terraform-provider-aws/issues/41023; DynamoDB via dynalite).
* Order: members in model order, a container's own constraint before its elements' (dynalite's
  CreateTable cases; the IAM ``tags`` case ``Value at 'tags' … 50; Value at 'tags.51.member.key'``).
  AWS does not promise an order. At most 10 errors are listed (dynalite stops at 10).
* Patterns are Java regular expressions matched against the whole value (``Matcher.matches``);
  they are translated to Python ``re`` once per shape (``\\p{L}``, surrogate pairs, ASCII ``\\w``,
  Java's ``-`` after a class escape, ``.`` and line terminators, ``\\z``) and cached.

Where a service's servers differ from its model, the difference is data in ``SERVICE_RULES``
(never an ``if`` here). The error's wire identity (``ValidationError`` / ``ValidationException``)
is defined in ``wire/errors.py``.

Must not: know any service's behaviour beyond ``SERVICE_RULES``; echo a sensitive value; raise
anything but ``ValidationError`` for bad input.
"""

from __future__ import annotations

import datetime
import decimal
import functools
import re
import unicodedata
from collections.abc import Mapping   # not typing.Mapping: isinstance against it is ~3x slower
from dataclasses import dataclass, field
from typing import Any, Final

from botocore.model import ListShape, MapShape, Shape, StructureShape

from cloudkeep.wire.errors import ValidationError, service_error
from cloudkeep.wire.model import load_service

#: AWS lists at most this many errors (architect/dynalite validations/index.js: ``errors.length >= 10``)
MAX_ERRORS: Final = 10


@dataclass(frozen=True, slots=True)
class ServiceRules:
    """How one service's servers differ from the generic Coral validation of its model."""

    #: print the offending value (``Value 'x' at``) — False: ``Value at`` for every member
    echo_values: bool = True
    #: list-of-scalar summaries end with ``Member must not be null``
    list_member_not_null: bool = False
    #: model pattern → standalone message the service answers instead of the generic pattern
    #: error (``{name}`` is the member's path name); raised only when nothing else failed
    pattern_messages: Mapping[str, str] = field(default_factory=dict)
    #: shape names whose model pattern the service's servers do not enforce
    skip_patterns: frozenset[str] = frozenset()
    #: the service's servers check enumerated values themselves, each with an error of its own
    skip_enums: bool = False
    #: (code, status) the service answers bad input with instead of the generic validation
    #: error, with a ``Reason`` member and message per kind of constraint (``_kind``)
    input_error: tuple[str, int] | None = None
    reasons: Mapping[str, tuple[str, str]] = field(default_factory=dict)


_IAM_NAME = ("The specified value for {name} is invalid. It must contain only alphanumeric "
             "characters and/or the following: +=,.@_-")

SERVICE_RULES: Final[Mapping[str, ServiceRules]] = {
    # IAM no longer echoes values: "ValidationError: Value at 'tags.4.member.value' failed to
    # satisfy constraint: …" (2026, https://github.com/juspay/hyperswitch-suite/pull/323; earlier
    # responses, e.g. 2024 ministryofjustice/cloud-platform-environments#22667, still echoed).
    # Names failing [\w+=,.@-]+ get IAM's own message (AttachUserPolicy,
    # https://github.com/app-sre/qontract-reconcile/pull/2640; PutRolePolicy,
    # https://github.com/aws-cloudformation/cfn-lint/issues/996) while length errors stay generic
    # (DeleteRolePolicy, https://github.com/boto/boto3/issues/3684).
    "iam": ServiceRules(
        echo_values=False,
        list_member_not_null=True,
        pattern_messages={
            r"[\w+=,.@-]+": _IAM_NAME,
            r"(\u002F)|(\u002F[\u0021-\u007E]+\u002F)": (
                "The specified value for {name} is invalid. It must begin and end with / and "
                "contain only alphanumeric characters and/or / characters."),
        },
    ),
    # Organizations answers bad input with InvalidInputException and a Reason
    # (https://docs.aws.amazon.com/organizations/latest/APIReference/API_InvalidInputException.html;
    # "You provided a value that does not match the required pattern.",
    # https://github.com/boto/boto3/issues/4565)
    "organizations": ServiceRules(
        input_error=("InvalidInputException", 400),
        reasons={
            "pattern": ("INVALID_PATTERN", "You provided a value that does not match the required pattern."),
            "enum": ("INVALID_ENUM", "You specified an invalid value."),
            "max_length": ("MAX_LENGTH_EXCEEDED", "You provided a string parameter that is longer than allowed."),
            "min_length": ("MIN_LENGTH_EXCEEDED", "You provided a string parameter that is shorter than allowed."),
            "max_value": ("MAX_VALUE_EXCEEDED", "You provided a numeric parameter that has a larger value than "
                                                "allowed."),
            "min_value": ("MIN_VALUE_EXCEEDED", "You provided a numeric parameter that has a smaller value than "
                                                "allowed."),
            "required": ("INPUT_REQUIRED", "You must include a value for all required parameters."),
        },
    ),
    # S3 has no ValidationError: an unknown enumerated value gets the error of its own header or
    # element (InvalidLocationConstraint, InvalidStorageClass, InvalidArgument, MalformedXML, …),
    # checked by the S3 operations
    # (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html#ErrorCodeList)
    "s3": ServiceRules(skip_enums=True),
}
_DEFAULT_RULES: Final = ServiceRules()


def _kind(constraint: str) -> str:
    """The kind of a failed constraint, for services that name it (``ServiceRules.reasons``)."""
    for prefix, kind in (("Member must not be null", "required"), ("Member must satisfy enum", "enum"),
                         ("Member must have length less", "max_length"),
                         ("Member must have length greater", "min_length"),
                         ("Member must have value less", "max_value"),
                         ("Member must have value greater", "min_value")):
        if constraint.startswith(prefix):
            return kind
    return "pattern"


# --- Java regex → Python re ------------------------------------------------------------------

class _Unsupported(ValueError):
    """A Java regex feature with no faithful translation (e.g. class intersection ``&&``)."""


_DOT: Final = "[^\\n\\r\\u0085\\u2028\\u2029]"          # Java '.' excludes every line terminator
_HSPACE: Final = "\\t \\xa0\\u1680\\u180e\\u2000-\\u200a\\u202f\\u205f\\u3000"
_POSIX: Final = {  # Java's POSIX classes are US-ASCII only (java.util.regex.Pattern)
    "Lower": "a-z", "Upper": "A-Z", "ASCII": "\\x00-\\x7f", "Alpha": "a-zA-Z", "Digit": "0-9",
    "Alnum": "a-zA-Z0-9", "Punct": "!-/:-@\\[-`{-~", "Graph": "!-~", "Print": " -~",
    "Blank": " \\t", "Cntrl": "\\x00-\\x1f\\x7f", "XDigit": "0-9a-fA-F", "Space": " \\t\\n\\x0b\\f\\r",
}


@functools.cache
def _category_table() -> Mapping[str, tuple[tuple[int, int], ...]]:
    """Unicode general category (``L``, ``Lu``, …) → its code-point ranges."""
    ranges: dict[str, list[list[int]]] = {}
    category = unicodedata.category
    for cp in range(0x110000):
        cat = category(chr(cp))
        for key in (cat, cat[0]):
            spans = ranges.setdefault(key, [])
            if spans and spans[-1][1] == cp - 1:
                spans[-1][1] = cp
            else:
                spans.append([cp, cp])
    table = {key: tuple((lo, hi) for lo, hi in spans) for key, spans in ranges.items()}
    table["all"] = ((0, 0x10FFFF),)
    table["LD"] = _union(table["L"], table["Nd"])                  # Character.isLetterOrDigit
    table["IsAlphabetic"] = _union(table["L"], table["Nl"])        # minus Other_Alphabetic marks
    table["IsWhitespace"] = ((0x9, 0xD), (0x20, 0x20), (0x85, 0x85), (0xA0, 0xA0), (0x1680, 0x1680),
                             (0x2000, 0x200A), (0x2028, 0x2029), (0x202F, 0x202F), (0x205F, 0x205F),
                             (0x3000, 0x3000))
    return table


def _union(*groups: tuple[tuple[int, int], ...]) -> tuple[tuple[int, int], ...]:
    out: list[list[int]] = []
    for lo, hi in sorted(span for group in groups for span in group):
        if out and lo <= out[-1][1] + 1:
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi])
    return tuple((lo, hi) for lo, hi in out)


def _complement(spans: tuple[tuple[int, int], ...]) -> tuple[tuple[int, int], ...]:
    out, start = [], 0
    for lo, hi in _union(spans):
        if lo > start:
            out.append((start, lo - 1))
        start = hi + 1
    if start <= 0x10FFFF:
        out.append((start, 0x10FFFF))
    return tuple(out)


def _property(name: str, negate: bool = False) -> str:
    """The class body for Java's ``\\p{name}`` (``\\P{name}`` when ``negate``)."""
    if name in _POSIX and not negate:
        return _POSIX[name]
    key = name[2:] if name.startswith("Is") and name[2:] in ("L", "M", "N", "P", "S", "Z", "C") else name
    table = _category_table()
    if key not in table:
        raise _Unsupported(f"\\p{{{name}}}")
    spans = _complement(table[key]) if negate else table[key]
    return "".join(f"\\U{lo:08x}" if lo == hi else f"\\U{lo:08x}-\\U{hi:08x}" for lo, hi in spans)


def java_to_python(pattern: str) -> str:
    """Translate a Java regular expression (as found in AWS models) into Python ``re`` syntax."""
    out: list[str] = []
    i, n, depth = 0, len(pattern), 0
    last = ""                 # in a class: "start" | "char" | "range" | "escape" | "dash"

    def atom(kind: str) -> None:
        nonlocal last
        last = "range" if kind == "char" and last == "dash" else kind

    while i < n:
        c = pattern[i]
        if c == "\\":
            if i + 1 >= n:
                raise _Unsupported("trailing backslash")
            d = pattern[i + 1]
            if d in "pP":
                if pattern.startswith("{", i + 2):
                    end = pattern.index("}", i + 3)
                    name, i = pattern[i + 3:end], end + 1
                else:
                    name, i = pattern[i + 2:i + 3], i + 3
                if depth:
                    out.append(_property(name, negate=d == "P"))
                else:
                    body = _property(name)
                    out.append(("[^" if d == "P" else "[") + body + "]")
                atom("escape")
                continue
            if d == "u":
                cp = int(pattern[i + 2:i + 6], 16)
                i += 6
                if 0xD800 <= cp <= 0xDBFF and pattern.startswith("\\u", i):
                    low = int(pattern[i + 2:i + 6], 16)
                    if 0xDC00 <= low <= 0xDFFF:      # a surrogate pair is one code point in Java
                        cp, i = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00), i + 6
                out.append(f"\\U{cp:08x}")
                atom("char")
                continue
            if d == "x" and pattern.startswith("{", i + 2):
                end = pattern.index("}", i + 3)
                out.append(f"\\U{int(pattern[i + 3:end], 16):08x}")
                i = end + 1
                atom("char")
                continue
            if d == "Q":
                end = pattern.find("\\E", i + 2)
                literal = pattern[i + 2:] if end < 0 else pattern[i + 2:end]
                out.append("".join("\\" + ch if not ch.isalnum() else ch for ch in literal)
                           if depth else re.escape(literal))
                i = n if end < 0 else end + 2
                atom("char")
                continue
            i += 2
            if d == "z" and not depth:
                out.append("\\Z")
            elif d == "Z" and not depth:
                out.append("(?=\\n?\\Z)")
            elif d == "h":
                out.append(_HSPACE if depth else f"[{_HSPACE}]")
            else:
                out.append(c + d)
            atom("escape" if d in "dDwWsSh" else "char")
            continue
        if depth:
            if c == "[":
                if pattern.startswith("[^", i):
                    raise _Unsupported("negated nested class")
                depth, i = depth + 1, i + 1       # Java nested class = union: drop the brackets
                continue
            if c == "]":
                depth, i = depth - 1, i + 1
                if depth == 0:
                    out.append("]")
                continue
            if c == "&" and pattern.startswith("&&", i):
                raise _Unsupported("class intersection")
            if c == "-":
                if last in ("start", "escape", "range", "dash") or pattern.startswith("]", i + 1):
                    out.append("\\-")
                    atom("char")
                else:
                    out.append("-")
                    last = "dash"
                i += 1
                continue
            out.append("\\" + c if c in "&~|[" else c)
            atom("char")
            i += 1
            continue
        if c == "[":
            depth, i = 1, i + 1
            out.append("[")
            if pattern.startswith("^", i):
                out.append("^")
                i += 1
            last = "start"
            continue
        if c == ".":
            out.append(_DOT)
        elif c == "(" and pattern.startswith("(?<", i) and not pattern.startswith(("(?<=", "(?<!"), i):
            out.append("(?P<")
            i += 3
            continue
        else:
            out.append(c)
        i += 1
    if depth:
        raise _Unsupported("unterminated class")
    return "".join(out)


@functools.cache
def compile_pattern(pattern: str) -> re.Pattern[str] | None:
    """The compiled full-match form of a model pattern; None when it cannot be translated
    (a test over every model cloudkeep serves keeps this from happening)."""
    try:
        return re.compile(java_to_python(pattern), re.ASCII)   # Java's \w \d \s are ASCII-only
    except (_Unsupported, re.error, ValueError):
        return None


# --- validation plans, one per shape, cached ------------------------------------------------

_STRING, _NUMBER, _BLOB, _BOOL, _TIME, _ANY = "string", "number", "blob", "boolean", "timestamp", "any"
_KINDS: Final = {"string": _STRING, "integer": _NUMBER, "long": _NUMBER, "float": _NUMBER,
                 "double": _NUMBER, "blob": _BLOB, "boolean": _BOOL, "timestamp": _TIME}


class _Scalar:
    __slots__ = ("kind", "type_name", "min", "max", "regex", "pattern", "custom", "enum",
                 "enum_text", "hidden", "summary")


class _List:
    __slots__ = ("min", "max", "member", "summary", "hidden")


class _Map:
    __slots__ = ("min", "max", "key", "value", "key_summary", "value_summary", "hidden")


class _Struct:
    #: members: (key, path name, required, plan) in model order. A wide structure (``_WIDE``) also
    #: has position (key → index in members), required (the required members' indexes) and
    #: visits (the members to visit for a given tuple of keys, see ``_Walk.struct``); else None.
    __slots__ = ("members", "hidden", "position", "required", "visits")


#: Structures with at least this many members are walked over the members given and the required
#: ones only: S3's PutObjectRequest has 46 members and a request sets a handful, so looking every
#: member up costs more than finding the few that can fail. Narrower ones look every member up.
_WIDE: Final = 16
#: At most this many key tuples are remembered per wide structure (clients send few distinct ones)
_MAX_VISITS: Final = 64


_Plan = _Scalar | _List | _Map | _Struct


def _lower_first(name: str) -> str:
    return name[:1].lower() + name[1:]


class _Builder:
    """Compiles shapes of one service into plans (memoized by shape name, so recursion works)."""

    def __init__(self, rules: ServiceRules) -> None:
        self.rules = rules
        self.plans: dict[str, _Plan] = {}
        self.building: set[str] = set()

    def plan(self, shape: Shape) -> _Plan:
        name = shape.name
        if name in self.plans:
            return self.plans[name]
        meta = shape.metadata
        node: _Plan
        if isinstance(shape, StructureShape):
            node = _Struct()
            self.plans[name] = node
            self.building.add(name)
            required = set(shape.required_members)
            members = []
            hidden = bool(meta.get("sensitive"))
            for member_name, member_shape in shape.members.items():
                cycle = member_shape.name in self.building   # unfinished: assume it hides
                child = self.plan(member_shape)
                hidden |= cycle or child.hidden
                members.append((member_name, _lower_first(member_name), member_name in required, child))
            node.members, node.hidden = tuple(members), hidden
            node.position = node.required = node.visits = None
            if len(members) >= _WIDE:
                node.position = {member[0]: index for index, member in enumerate(members)}
                node.required = frozenset(index for index, member in enumerate(members) if member[2])
                node.visits = {}
        elif isinstance(shape, ListShape):
            node = _List()
            self.plans[name] = node
            self.building.add(name)
            recursive = shape.member.name in self.building
            node.min, node.max = meta.get("min"), meta.get("max")
            node.member = self.plan(shape.member)
            node.hidden = bool(meta.get("sensitive")) or recursive or node.member.hidden
            node.summary = self._summary(node.member, self.rules.list_member_not_null)
        elif isinstance(shape, MapShape):
            node = _Map()
            self.plans[name] = node
            self.building.add(name)
            recursive = shape.value.name in self.building
            node.min, node.max = meta.get("min"), meta.get("max")
            node.key, node.value = self.plan(shape.key), self.plan(shape.value)
            node.hidden = bool(meta.get("sensitive")) or recursive or node.key.hidden or node.value.hidden
            node.key_summary = self._summary(node.key, False)
            node.value_summary = self._summary(node.value, False)
        else:
            node = self._scalar(shape)
            self.plans[name] = node
        self.building.discard(name)
        return node

    def _scalar(self, shape: Shape) -> _Scalar:
        meta = shape.metadata
        node = _Scalar()
        node.type_name = shape.type_name
        node.kind = _KINDS.get(shape.type_name, _ANY)   # e.g. Smithy documents: no constraints
        node.min, node.max = meta.get("min"), meta.get("max")
        pattern = meta.get("pattern") if node.kind == _STRING else None
        if pattern is not None and shape.name in self.rules.skip_patterns:
            pattern = None
        node.pattern = pattern
        node.regex = compile_pattern(pattern) if pattern is not None else None
        node.custom = self.rules.pattern_messages.get(pattern) if pattern is not None else None
        enum = meta.get("enum") if node.kind == _STRING and not self.rules.skip_enums else None
        node.enum = frozenset(enum) if enum else None
        node.enum_text = f"Member must satisfy enum value set: [{', '.join(enum)}]" if enum else ""
        node.hidden = bool(meta.get("sensitive")) or node.kind == _BLOB
        return node

    @staticmethod
    def _summary(node: _Plan, not_null: bool) -> str | None:
        """``[c1, c2, …]`` listing every constraint of a scalar element, as AWS prints it."""
        if not isinstance(node, _Scalar):
            return None
        word = "value" if node.kind == _NUMBER else "length"
        parts = []
        if node.max is not None:
            parts.append(f"Member must have {word} less than or equal to {node.max}")
        if node.min is not None:
            parts.append(f"Member must have {word} greater than or equal to {node.min}")
        if node.pattern is not None:
            parts.append(f"Member must satisfy regular expression pattern: {node.pattern}")
        if node.enum:
            parts.append(node.enum_text)
        if not_null:
            parts.append("Member must not be null")
        return "[" + ", ".join(parts) + "]"


_PLANS: dict[tuple[int, str], tuple[object, _Plan, ServiceRules]] = {}


@functools.cache
def _rules_by_resolver() -> Mapping[int, tuple[object, ServiceRules]]:
    """Resolver identity of each service with rules (models are cached by ``load_service``)."""
    out = {}
    for name, rules in SERVICE_RULES.items():
        resolver = load_service(name)._shape_resolver  # noqa: SLF001 - identity of the model
        out[id(resolver)] = (resolver, rules)
    return out


def _plan_for(shape: StructureShape, service: str | None) -> tuple[_Plan, ServiceRules]:
    resolver = getattr(shape, "_shape_resolver", None)
    key = (id(resolver), shape.name if service is None else f"{service}:{shape.name}")
    cached = _PLANS.get(key)
    if cached is not None and cached[0] is resolver:
        return cached[1], cached[2]
    if service is not None:
        rules = SERVICE_RULES.get(service, _DEFAULT_RULES)
    else:
        found = _rules_by_resolver().get(id(resolver))
        rules = found[1] if found is not None and found[0] is resolver else _DEFAULT_RULES
    plan = _Builder(rules).plan(shape)
    _PLANS[key] = (resolver, plan, rules)
    return plan, rules


# --- rendering and walking -------------------------------------------------------------------

def _render(value: Any) -> str:
    """A value as AWS's Java servers print it (toString of String, Number, List, Map)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_render(k)}={_render(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_render(v) for v in value) + "]"
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return str(value)


class _Walk:
    __slots__ = ("errors", "echo", "custom", "first_kind")

    def __init__(self, rules: ServiceRules) -> None:
        self.errors: list[str] = []
        self.echo = rules.echo_values
        self.custom: str | None = None
        self.first_kind: str | None = None

    def fail(self, plan: _Plan, value: Any, path: str, constraint: str) -> None:
        if len(self.errors) >= MAX_ERRORS:
            return
        if self.first_kind is None:
            self.first_kind = _kind(constraint)
        if not self.echo or (plan.hidden and value is not None):
            shown = "Value at"
        else:
            shown = "Value null at" if value is None else f"Value '{_render(value)}' at"
        self.errors.append(f"{shown} '{path}' failed to satisfy constraint: {constraint}")

    def struct(self, plan: _Struct, value: Any, path: str) -> None:
        if not isinstance(value, Mapping):
            self.fail(plan, value, path, "Member must be a structure")
            return
        prefix = f"{path}." if path else ""
        members = plan.members
        if plan.visits is not None:
            # only a member given or required can fail: visit those, in model order (the order
            # of the errors); the list depends on the keys alone, so it is remembered by them
            keys = tuple(value)
            members = plan.visits.get(keys)
            if members is None:
                members = _members_to_visit(plan, keys)
        for key, name, required, child in members:
            member = value.get(key)
            if member is None:
                if required:
                    self.fail(child, None, prefix + name, "Member must not be null")
                continue
            self.check(child, member, prefix + name)

    def check(self, plan: _Plan, value: Any, path: str) -> None:
        if type(plan) is _Scalar:
            self.scalar(plan, value, path)
        elif type(plan) is _Struct:
            self.struct(plan, value, path)
        elif type(plan) is _List:
            self.list(plan, value, path)
        else:
            self.map(plan, value, path)  # type: ignore[arg-type]

    def list(self, plan: _List, value: Any, path: str) -> None:
        if not isinstance(value, (list, tuple)):
            self.fail(plan, value, path, "Member must be a list")
            return
        self.length(plan, value, len(value), path)
        member = plan.member
        if plan.summary is not None:
            if any(v is None or _scalar_fault(member, v) for v in value):  # type: ignore[arg-type]
                self.fail(plan, value, path, f"Member must satisfy constraint: {plan.summary}")
            return
        for index, item in enumerate(value, 1):
            where = f"{path}.{index}.member"
            if item is None:
                self.fail(member, None, where, "Member must not be null")
            else:
                self.check(member, item, where)

    def map(self, plan: _Map, value: Any, path: str) -> None:
        if not isinstance(value, Mapping):
            self.fail(plan, value, path, "Member must be a map")
            return
        self.length(plan, value, len(value), path)
        key_plan, value_plan = plan.key, plan.value
        if any(_scalar_fault(key_plan, k) for k in value):  # type: ignore[arg-type]
            self.fail(plan, value, path, f"Map keys must satisfy constraint: {plan.key_summary}")
        if plan.value_summary is not None:
            if any(v is None or _scalar_fault(value_plan, v) for v in value.values()):  # type: ignore[arg-type]
                self.fail(plan, value, path, f"Map value must satisfy constraint: {plan.value_summary}")
            return
        for k, item in value.items():
            where = f"{path}.{k}.member"
            if item is None:
                self.fail(value_plan, None, where, "Member must not be null")
            else:
                self.check(value_plan, item, where)

    def length(self, plan: _Plan, value: Any, size: int, path: str) -> None:
        high, low = plan.max, plan.min  # type: ignore[union-attr]
        if high is not None and size > high:
            self.fail(plan, value, path, f"Member must have length less than or equal to {high}")
        if low is not None and size < low:
            self.fail(plan, value, path, f"Member must have length greater than or equal to {low}")

    def scalar(self, plan: _Scalar, value: Any, path: str) -> None:
        kind = plan.kind
        if not _type_ok(kind, value):
            self.fail(plan, value, path, f"Member must be of type {plan.type_name}")
            return
        if kind == _STRING:
            self.length(plan, value, len(value), path)     # code points, as Smithy counts
            if plan.regex is not None and plan.regex.fullmatch(value) is None:
                if plan.custom is not None:
                    if self.custom is None:
                        self.custom = plan.custom.format(name=path)
                else:
                    self.fail(plan, value, path,
                              f"Member must satisfy regular expression pattern: {plan.pattern}")
            if plan.enum is not None and value not in plan.enum:
                self.fail(plan, value, path, plan.enum_text)
        elif kind == _NUMBER:
            if plan.max is not None and value > plan.max:
                self.fail(plan, value, path, f"Member must have value less than or equal to {plan.max}")
            if plan.min is not None and value < plan.min:
                self.fail(plan, value, path, f"Member must have value greater than or equal to {plan.min}")
        elif kind == _BLOB and not hasattr(value, "read"):   # a streamed payload has no length here
            size = len(value.encode("utf-8")) if isinstance(value, str) else len(value)
            self.length(plan, value, size, path)


def _members_to_visit(plan: _Struct, keys: tuple[Any, ...]) -> tuple[Any, ...]:
    """The members of a wide structure that given ``keys`` can fail: the keys that are members
    and the required members, in model order. Remembered only when every key is a member, so
    what is kept is bounded by the model, not by the request."""
    position, members = plan.position, plan.members
    given = [position[key] for key in keys if key in position]
    chosen = tuple(members[index] for index in sorted(plan.required.union(given)))
    if len(given) == len(keys) and len(plan.visits) < _MAX_VISITS:
        plan.visits[keys] = chosen
    return chosen


def _type_ok(kind: str, value: Any) -> bool:
    if kind == _STRING:
        return isinstance(value, str)
    if kind == _NUMBER:
        return isinstance(value, (int, float, decimal.Decimal)) and not isinstance(value, bool) \
            and value == value  # NaN compares unequal and satisfies no range
    if kind == _BOOL:
        return isinstance(value, bool)
    if kind == _BLOB:  # bytes, or a file-like streamed payload (a spooled or aws-chunked body)
        return isinstance(value, (bytes, bytearray, memoryview, str)) or hasattr(value, "read")
    if kind == _TIME:
        return isinstance(value, (datetime.datetime, str, int, float)) and not isinstance(value, bool)
    return True


def _scalar_fault(plan: _Scalar, value: Any) -> bool:
    """True when a scalar element breaks any of its constraints (or has the wrong type)."""
    kind = plan.kind
    if not _type_ok(kind, value):
        return True
    if kind == _BLOB and hasattr(value, "read"):
        return False
    if kind == _STRING or kind == _BLOB:
        size = len(value) if kind == _STRING or not isinstance(value, str) else len(value.encode())
        if (plan.max is not None and size > plan.max) or (plan.min is not None and size < plan.min):
            return True
        if kind == _STRING:
            if plan.regex is not None and plan.regex.fullmatch(value) is None:
                return True
            return plan.enum is not None and value not in plan.enum
        return False
    if kind == _NUMBER:
        return (plan.max is not None and value > plan.max) or (plan.min is not None and value < plan.min)
    return False


def _message(errors: list[str]) -> str:
    count = len(errors)
    return f"{count} validation error{'' if count == 1 else 's'} detected: {'; '.join(errors)}"


def validate(shape: StructureShape | None, params: Mapping[str, Any], *, protocol: str,
             service: str | None = None) -> None:
    """Check ``params`` against ``shape``'s constraints; raise ``ValidationError`` on the first
    request that breaks any, with AWS's message listing (up to 10 of) them.

    ``protocol`` is the model's protocol (the wording is the same on all of them); ``service``
    names the botocore service whose ``SERVICE_RULES`` apply — by default it is recognised from the
    shape's model when that model came from ``load_service``.
    """
    if shape is None:
        return
    plan, rules = _plan_for(shape, service)
    walk = _Walk(rules)
    try:
        walk.struct(plan, params, "")  # type: ignore[arg-type]
    except RecursionError:  # absurdly deep input for a recursive shape
        raise ValidationError("1 validation error detected: the request nests members too deeply") from None
    if rules.input_error is not None and (walk.errors or walk.custom is not None):
        reason, message = rules.reasons.get(walk.first_kind or "pattern", rules.reasons["pattern"])
        error = service_error(*rules.input_error, message)
        error.extra["Reason"] = reason
        raise error
    if walk.errors:
        raise ValidationError(_message(walk.errors))
    if walk.custom is not None:
        raise ValidationError(walk.custom)
