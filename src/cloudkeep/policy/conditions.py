"""The Condition block (spec §5): every condition operator, ``IfExists``, ``ForAllValues:`` /
``ForAnyValue:``, missing keys, and policy variables in String and ARN values.

A block is the AND of its clauses. Each clause is compiled once (cached by clause and by the
``variables`` flag) into a function of the request; compiling parses the policy values (numbers,
dates, CIDRs, base64, globs), so a request only parses its own context values.

Semantics [doc, https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
and …/reference_policies_condition-single-vs-multi-valued-context-keys.html]:

* The values of one clause OR; for a negated operator (``StringNotEquals`` …) the per-value test
  is the NOR of the positive operator over the policy values.
* Key absent (or an empty list): positive operators false, negated operators true, ``IfExists``
  true, ``Null`` decides on absence, ``ForAllValues`` true, ``ForAnyValue`` false (true with
  ``IfExists``).
* ``ForAllValues``: every request value passes the per-value test; ``ForAnyValue``: at least one.
* A plain operator applied to a request with several values (undocumented [ambiguous]): the
  positive operator holds when some request value matches some policy value, a negated one when
  none does.
* Unparseable values (a policy or request value that is not a number, date, IP, base64, bool)
  make that comparison false; for a negated operator that value then counts as "not matched".
* Variables (only when ``variables`` is true: Version 2012-10-17) in String and ARN values only;
  a value whose variable cannot be resolved matches nothing.
* An unknown operator, or ``IfExists``/a set qualifier on ``Null``, raises ``ValueError``.

Must not: import anything outside the standard library; do I/O; parse policy values per request.
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import functools
import ipaddress
import operator
import re
from decimal import Decimal, InvalidOperation
from typing import Callable, Iterable

from cloudkeep.policy import variables as V
from cloudkeep.policy.model import AuthzRequest, ConditionClause

Test = Callable[[str, AuthzRequest], bool]          # request value → some policy value matches
ClauseFn = Callable[[AuthzRequest], bool]

FOR_ALL = "ForAllValues"
FOR_ANY = "ForAnyValue"

#: negated operator → the positive operator it negates (NOR over the policy values)
NEGATED: dict[str, str] = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "NumericNotEquals": "NumericEquals",
    "DateNotEquals": "DateEquals",
    "NotIpAddress": "IpAddress",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}

_ORDER = {
    "Equals": operator.eq,
    "LessThan": operator.lt,
    "LessThanEquals": operator.le,
    "GreaterThan": operator.gt,
    "GreaterThanEquals": operator.ge,
}


# ---------------------------------------------------------------- value parsers (cached)

_NUMBER_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)\Z")
_EPOCH_RE = re.compile(r"-?\d+(?:\.\d+)?\Z")
_YEAR_MONTH_RE = re.compile(r"(\d{4})-(\d{2})\Z")
_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)


@functools.lru_cache(maxsize=4096)
def parse_number(text: str) -> Decimal | None:
    """An integer or decimal (``12``, ``-3.5``); anything else ``None``."""
    text = text.strip()
    if not _NUMBER_RE.match(text):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the regex admits only valid decimals
        return None


@functools.lru_cache(maxsize=4096)
def parse_instant(text: str) -> Decimal | None:
    """A W3C ISO 8601 date/time (offset or ``Z``; no offset = UTC) or epoch seconds, as epoch
    seconds; anything else ``None``. A bare integer is epoch seconds (``aws:EpochTime``)."""
    text = text.strip()
    if _EPOCH_RE.match(text):
        return Decimal(text)
    m = _YEAR_MONTH_RE.match(text)
    if m:
        text = f"{m.group(1)}-{m.group(2)}-01"
    try:
        moment = _dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_dt.timezone.utc)
    delta = moment - _EPOCH
    return Decimal(delta.days * 86400 + delta.seconds) + Decimal(delta.microseconds) / Decimal(1_000_000)


def parse_bool(text: str) -> bool | None:
    low = text.strip().lower()
    if low == "true":
        return True
    if low == "false":
        return False
    return None


@functools.lru_cache(maxsize=1024)
def parse_base64(text: str) -> bytes | None:
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None


@functools.lru_cache(maxsize=4096)
def parse_network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """A CIDR block; an address without a prefix is /32 (IPv4) or /128 (IPv6)."""
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None


@functools.lru_cache(maxsize=4096)
def parse_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


# ---------------------------------------------------------------- positive tests per family

def _split_static(values: tuple[str, ...], variables: bool) -> tuple[list[str], list[V.Template]]:
    """Policy values without variables, and templates of those with variables."""
    static: list[str] = []
    dynamic: list[V.Template] = []
    for value in values:
        if variables and V.has_variable(value):
            template = V.parse_template(value)
            if any(p[0] != "t" for p in template):
                dynamic.append(template)
                continue
        static.append(value)
    return static, dynamic


def _literal(pieces: Iterable[V.Piece]) -> str:
    return "".join(text for _, text in pieces)


def _string_equals(values: tuple[str, ...], variables: bool, fold: bool) -> Test:
    static, dynamic = _split_static(values, variables)
    norm: Callable[[str], str] = str.casefold if fold else (lambda s: s)
    static_set = frozenset(norm(v) for v in static)

    def test(value: str, request: AuthzRequest) -> bool:
        value = norm(value)
        if value in static_set:
            return True
        for template in dynamic:
            pieces = V.resolve(template, request)
            if pieces is not None and norm(_literal(pieces)) == value:
                return True
        return False
    return test


def _string_like(values: tuple[str, ...], variables: bool) -> Test:
    static, dynamic = _split_static(values, variables)
    regex = V.glob_regex("|".join(f"(?:{V.glob_source([(False, v)])})" for v in static)) if static else None

    def test(value: str, request: AuthzRequest) -> bool:
        if regex is not None and regex.fullmatch(value):
            return True
        for template in dynamic:
            pieces = V.resolve(template, request)
            if pieces is not None and V.resolved_glob("", pieces).fullmatch(value):
                return True
        return False
    return test


def arn_source(chars: Iterable[tuple[bool, str]]) -> str | None:
    """Regex source for an ARN condition value given as (is_literal, char) pairs: six
    colon-separated parts compared one by one, so in the first five ``*``/``?`` never cross a
    colon; after the fifth colon ``:`` is ordinary. ``None`` when there are fewer than six parts."""
    out: list[str] = []
    colons = 0
    for literal, ch in chars:
        if ch == ":" and colons < 5:
            colons += 1
            out.append(":")
        elif literal:
            out.append(re.escape(ch))
        elif ch == "*":
            out.append(".*" if colons >= 5 else "[^:]*")
        elif ch == "?":
            out.append("." if colons >= 5 else "[^:]")
        else:
            out.append(re.escape(ch))
    return "".join(out) if colons == 5 else None


def _chars(pieces: Iterable[V.Piece]) -> Iterable[tuple[bool, str]]:
    for literal, text in pieces:
        for ch in text:
            yield literal, ch


@functools.lru_cache(maxsize=8192)
def _arn_regex(pieces: tuple[V.Piece, ...]) -> re.Pattern[str] | None:
    source = arn_source(_chars(pieces))
    return None if source is None else V.glob_regex(source)


def _arn_like(values: tuple[str, ...], variables: bool) -> Test:
    static, dynamic = _split_static(values, variables)
    sources = [s for s in (arn_source(_chars([(False, v)])) for v in static) if s is not None]
    regex = V.glob_regex("|".join(f"(?:{s})" for s in sources)) if sources else None

    def test(value: str, request: AuthzRequest) -> bool:
        if regex is not None and regex.fullmatch(value):
            return True
        for template in dynamic:
            pieces = V.resolve(template, request)
            if pieces is None:
                continue
            found = _arn_regex(pieces)
            if found is not None and found.fullmatch(value):
                return True
        return False
    return test


def _ordered(values: tuple[str, ...], parse: Callable[[str], Decimal | None],
             compare: Callable[[Decimal, Decimal], bool]) -> Test:
    parsed = [p for p in (parse(v) for v in values) if p is not None]

    def test(value: str, request: AuthzRequest) -> bool:
        got = parse(value)
        return got is not None and any(compare(got, p) for p in parsed)
    return test


def _bool(values: tuple[str, ...]) -> Test:
    wanted = {b for b in (parse_bool(v) for v in values) if b is not None}

    def test(value: str, request: AuthzRequest) -> bool:
        got = parse_bool(value)
        return got is not None and got in wanted
    return test


def _binary(values: tuple[str, ...]) -> Test:
    wanted = {b for b in (parse_base64(v) for v in values) if b is not None}

    def test(value: str, request: AuthzRequest) -> bool:
        got = parse_base64(value)
        return got is not None and got in wanted
    return test


def _ip(values: tuple[str, ...]) -> Test:
    nets = [n for n in (parse_network(v) for v in values) if n is not None]

    def test(value: str, request: AuthzRequest) -> bool:
        addr = parse_address(value)
        if addr is None:
            return False
        return any(addr.version == net.version and addr in net for net in nets)
    return test


def _positive_test(base: str, values: tuple[str, ...], variables: bool) -> Test:
    if base == "StringEquals":
        return _string_equals(values, variables, fold=False)
    if base == "StringEqualsIgnoreCase":
        return _string_equals(values, variables, fold=True)
    if base == "StringLike":
        return _string_like(values, variables)
    if base in ("ArnEquals", "ArnLike"):
        return _arn_like(values, variables)
    if base.startswith("Numeric") and base[7:] in _ORDER:
        return _ordered(values, parse_number, _ORDER[base[7:]])
    if base.startswith("Date") and base[4:] in _ORDER:
        return _ordered(values, parse_instant, _ORDER[base[4:]])
    if base == "Bool":
        return _bool(values)
    if base == "BinaryEquals":
        return _binary(values)
    if base == "IpAddress":
        return _ip(values)
    raise ValueError(f"unknown condition operator {base!r}")


# ---------------------------------------------------------------- clauses

def _null_clause(clause: ConditionClause) -> ClauseFn:
    if clause.if_exists or clause.qualifier is not None:
        raise ValueError(f"condition operator {clause.operator!r} is not allowed (Null takes no "
                         "IfExists and no set qualifier)")
    wanted = {b for b in (parse_bool(v) for v in clause.values) if b is not None}
    key = clause.key_lower

    def evaluate(request: AuthzRequest) -> bool:
        return (not request.context.get(key)) in wanted
    return evaluate


@functools.lru_cache(maxsize=16384)
def compile_clause(clause: ConditionClause, variables: bool) -> ClauseFn:
    """The clause as a function of the request (see module docstring for the semantics)."""
    base = clause.base
    if base == "Null":
        return _null_clause(clause)
    negated = base in NEGATED
    positive = _positive_test(NEGATED.get(base, base), clause.values, variables)
    qualifier = clause.qualifier
    if qualifier not in (None, FOR_ALL, FOR_ANY):
        raise ValueError(f"unknown condition qualifier {qualifier!r}")
    key = clause.key_lower
    if_exists = clause.if_exists

    if qualifier is None:
        absent_result = if_exists or negated

        def evaluate(request: AuthzRequest) -> bool:
            values = request.context.get(key)
            if not values:
                return absent_result
            if len(values) == 1:
                return positive(values[0], request) is not negated
            return any(positive(v, request) for v in values) is not negated
        return evaluate

    if qualifier == FOR_ALL:
        def evaluate(request: AuthzRequest) -> bool:
            values = request.context.get(key)
            if not values:
                return True
            return all(positive(v, request) is not negated for v in values)
        return evaluate

    def evaluate(request: AuthzRequest) -> bool:
        values = request.context.get(key)
        if not values:
            return if_exists
        return any(positive(v, request) is not negated for v in values)
    return evaluate


# ---------------------------------------------------------------- blocks

_MAX_BLOCKS = 16384
_BLOCKS: dict[tuple[int, bool], tuple[tuple[ConditionClause, ...], tuple[ClauseFn, ...]]] = {}


def _compiled_block(clauses: tuple[ConditionClause, ...], variables: bool) -> tuple[ClauseFn, ...]:
    # keyed by identity (parse.py builds each tuple once per policy): no hashing per call;
    # the entry keeps the tuple alive, so its id cannot be reused while it is cached
    entry = _BLOCKS.get((id(clauses), variables))
    if entry is not None and entry[0] is clauses:
        return entry[1]
    fns = tuple(compile_clause(c, variables) for c in clauses)
    if len(_BLOCKS) >= _MAX_BLOCKS:
        _BLOCKS.clear()
    _BLOCKS[(id(clauses), variables)] = (clauses, fns)
    return fns


def conditions_match(clauses: tuple[ConditionClause, ...], request: AuthzRequest, *,
                     variables: bool) -> bool:
    """True when every clause of the block holds for ``request`` (an empty block holds)."""
    if not clauses:
        return True
    for evaluate in _compiled_block(clauses, variables):
        if not evaluate(request):
            return False
    return True


_VARIABLE_FAMILIES = ("String", "Arn")


def missing_context_keys(clauses: Iterable[ConditionClause], request: AuthzRequest) -> set[str]:
    """Keys (as written in the policy) that the clauses test, or use as variables without a
    default in String/ARN values, and that ``request.context`` lacks (absent or empty)."""
    missing: set[str] = set()
    for clause in clauses:
        if not request.context.get(clause.key_lower):
            missing.add(clause.key)
        if clause.base.startswith(_VARIABLE_FAMILIES):
            for value in clause.values:
                if V.has_variable(value):
                    for key in V.variable_keys(value):
                        if V.lookup(key.lower(), request) is None:
                            missing.add(key)
    return missing
