"""Parse IAM policy JSON into the AST of ``model.py``, once, validating the grammar of the policy's
kind (spec §10; Principal rules §3; SCP/RCP rules §8) and the size quota the caller applies.

Checks run in the order IAM reports them: JSON and structure ("Syntax errors in policy."), the
2012-10-17 requirement of managed policies, legacy parsing (Effect case, date values, resource
shape), Sid rules, missing actions, missing resources, resource format, action format; then the
per-kind Principal and trust-action rules. Organizations policies answer every grammar error with
Organizations' one text. Numbers and booleans in condition values are kept as their JSON text.

Must not: import anything outside the standard library; do I/O; evaluate anything.
"""

from __future__ import annotations

import json
import re
from typing import Any, NoReturn

from . import grammar as g
from .model import (
    VERSION_2008, VERSION_2012, ConditionClause, Effect, Policy, PolicyError, PolicyKind,
    PrincipalSpec, Statement,
)

__all__ = ["QUOTAS", "parse_policy", "policy_size", "quota_error", "inline_size_error"]

QUOTAS = g.QUOTAS

_ALLOWED_CHARS = re.compile(r"[\t\n\r\x20-\xff]*")
_WHITESPACE = str.maketrans("", "", " \t\n\r")
_SID = re.compile(r"[0-9A-Za-z]*")
_VENDOR = re.compile(r"[A-Za-z0-9.\-]+")
_PARTITION = re.compile(r"aws(-[a-z]+)*")
_ACCOUNT = re.compile(r"\d{12}")
_AWS_PRINCIPAL_ARN = re.compile(
    r"arn:aws(-[a-z]+)*:(iam::\d{12}:(root|user/.+|role/.+)"
    r"|sts::\d{12}:(assumed-role/[^/]+/.+|federated-user/.+))")
_DATE = re.compile(
    r"-?\d{1,9}(-\d{1,2}(-\d{1,2})?)?"
    r"([Tt](\d{1,2})(:\d{1,2}(:\d{1,2}(\.\d{1,9})?)?)?([Zz]|[+-]\d{2}(:?\d{2})?)?)?")
_EPOCH = re.compile(r"\d{1,19}")


class _Num(str):
    """A JSON number, kept as its text (distinct from a JSON string)."""

    __slots__ = ()


def policy_size(text: str) -> int:
    """Characters of ``text`` excluding whitespace (space, tab, LF, CR), as IAM counts them."""
    return len(text.translate(_WHITESPACE))


def quota_error(limit: int, name: str = "PolicySize") -> PolicyError:
    """IAM's LimitExceeded for one document (``PolicySize``, or ``ACLSizePerRole`` for trust)."""
    return PolicyError(g.QUOTA_EXCEEDED.format(name=name, limit=limit), g.LIMIT_EXCEEDED)


def inline_size_error(entity: str, name: str, limit: int) -> PolicyError:
    """IAM's LimitExceeded for the aggregate of an entity's inline policies
    (``entity`` is ``user``, ``group`` or ``role``)."""
    return PolicyError(g.INLINE_EXCEEDED.format(limit=limit, entity=entity, name=name),
                       g.LIMIT_EXCEEDED)


def parse_policy(text: str, kind: PolicyKind, *, quota: int | None = None,
                 quota_name: str | None = None, require_version_2012: bool = False) -> Policy:
    """Parse and validate ``text`` as a policy of ``kind``; raise ``PolicyError`` otherwise.

    ``quota``: the non-whitespace character limit for this document (LimitExceeded
    "Cannot exceed quota for <quota_name>: <quota>"; the name defaults to ``ACLSizePerRole``
    for trust policies, ``PolicySize`` otherwise). ``require_version_2012``: managed policies
    (CreatePolicy, CreatePolicyVersion) must say ``"Version": "2012-10-17"``.
    """
    return _Parser(kind).parse(text, quota, quota_name, require_version_2012)


# -- the parser --------------------------------------------------------------------------------


class _Parser:
    __slots__ = ("kind", "org")

    def __init__(self, kind: PolicyKind) -> None:
        self.kind = kind
        self.org = kind in g.ORG_KINDS

    def fail(self, message: str) -> NoReturn:
        if self.org:
            raise PolicyError(g.ORG_INVALID, g.ORG_MALFORMED)
        raise PolicyError(message, g.MALFORMED)

    def syntax(self) -> NoReturn:
        self.fail(g.SYNTAX)

    # document ------------------------------------------------------------------------------

    def parse(self, text: Any, quota: int | None, quota_name: str | None,
              require_2012: bool) -> Policy:
        if not isinstance(text, str) or not _ALLOWED_CHARS.fullmatch(text):
            self.syntax()
        if quota is not None and policy_size(text) > quota:
            default = "ACLSizePerRole" if self.kind is PolicyKind.TRUST else "PolicySize"
            raise quota_error(quota, quota_name or default)
        doc = self.load(text)
        if not isinstance(doc, dict) or not doc.keys() <= g.TOP_ELEMENTS:
            self.syntax()
        version = doc.get("Version", VERSION_2008)
        if type(version) is not str or version not in (VERSION_2008, VERSION_2012):
            self.syntax()
        pid = doc.get("Id")
        if "Id" in doc and (type(pid) is not str or self.org):
            self.syntax()
        raw = doc.get("Statement")
        raw_list = [raw] if isinstance(raw, dict) else raw
        if not isinstance(raw_list, list) or not raw_list:
            self.syntax()
        for item in raw_list:
            self.check_structure(item)
        if require_2012 and version != VERSION_2012:
            self.fail(g.VERSION_2012_REQUIRED)
        self.check_semantics(raw_list)
        statements = tuple(self.statement(i, s) for i, s in enumerate(raw_list))
        return Policy(kind=self.kind, version=version, statements=statements, id=pid)

    def load(self, text: str) -> Any:
        try:
            return json.loads(text, object_pairs_hook=_unique_object, parse_int=_Num,
                              parse_float=_Num, parse_constant=_reject_constant)
        except (ValueError, RecursionError):
            if self.kind is PolicyKind.TRUST:
                raise PolicyError(g.INVALID_JSON_TRUST, g.MALFORMED) from None
            self.syntax()

    # structure ("Syntax errors in policy.") --------------------------------------------------

    def check_structure(self, st: Any) -> None:
        if not isinstance(st, dict) or not st.keys() <= g.STATEMENT_ELEMENTS:
            self.syntax()
        for a, b in (("Action", "NotAction"), ("Resource", "NotResource"),
                     ("Principal", "NotPrincipal")):
            if a in st and b in st:
                self.syntax()
        effect = st.get("Effect")
        if type(effect) is not str or effect.lower() not in ("allow", "deny"):
            self.syntax()
        for name in ("Action", "NotAction", "Resource", "NotResource"):
            if name in st and not _is_strings(st[name]):
                self.syntax()
        if "Sid" in st and type(st["Sid"]) is not str:
            self.syntax()
        if "Condition" in st:
            self.conditions(st["Condition"])
        has_principal = "Principal" in st or "NotPrincipal" in st
        if has_principal and self.kind in g.NO_PRINCIPAL_KINDS:
            self.fail(g.PRINCIPAL_FORBIDDEN)

    # semantics, in IAM's reporting order ----------------------------------------------------

    def check_semantics(self, raw: list[dict[str, Any]]) -> None:
        for st in raw:                                      # legacy parsing
            if st["Effect"] not in ("Allow", "Deny"):
                self.fail(g.LEGACY)
            for clause in self.conditions(st.get("Condition", {})):
                if clause.base.startswith("Date") and not all(map(_is_date, clause.values)):
                    self.fail(g.LEGACY)
        resource_error = self.resource_error(raw)
        self.check_sids(raw)
        for st in raw:
            if not _strings(st.get("Action", st.get("NotAction", []))):
                self.fail(g.NEEDS_ACTIONS)
        for st in raw:
            self.check_resources_present(st)
        if resource_error:
            self.fail(resource_error)
        for st in raw:
            for action in _strings(st.get("Action", st.get("NotAction", []))):
                self.check_action(action)
        for st in raw:
            self.check_principal(st)
            if self.kind is PolicyKind.TRUST:
                for action in _strings(st.get("Action", st.get("NotAction", []))):
                    if not _is_trust_action(action):
                        self.fail(g.TRUST_ACTION)

    def resource_error(self, raw: list[dict[str, Any]]) -> str | None:
        """The first resource format error (reported after the action/resource presence
        checks); a resource IAM cannot split at all fails legacy parsing at once."""
        first: str | None = None
        if self.kind is PolicyKind.TRUST:
            return None
        for st in raw:
            for resource in _strings(st.get("Resource", st.get("NotResource", []))):
                error = _resource_format(resource)
                if error is _LEGACY_RESOURCE:
                    self.fail(g.LEGACY)
                first = first or error
        return first

    def check_sids(self, raw: list[dict[str, Any]]) -> None:
        seen: set[str] = set()
        for st in raw:
            sid = st.get("Sid")
            if sid is None:
                continue
            if self.kind in g.ALNUM_SID_KINDS and not _SID.fullmatch(sid):
                self.fail(g.SID_NOT_ALNUM)
            if sid and sid in seen:
                self.fail(g.SID_NOT_UNIQUE)
            seen.add(sid)

    def check_resources_present(self, st: dict[str, Any]) -> None:
        has = "Resource" in st or "NotResource" in st
        if self.kind is PolicyKind.TRUST and has:
            self.fail(g.TRUST_RESOURCE.format(field="Resource" if "Resource" in st else "NotResource"))
        if has and not _strings(st.get("Resource", st.get("NotResource"))):
            self.fail(g.NEEDS_RESOURCES)
        if not has and self.kind in g.RESOURCE_REQUIRED_KINDS:
            self.fail(g.NEEDS_RESOURCES)

    def check_action(self, action: str) -> None:
        if action == "*":
            return
        vendor, colon, _ = action.partition(":")
        if not colon:
            self.fail(g.NO_VENDOR)
        if action.count(":") > 1:
            self.fail(g.ONE_COLON)
        if not _VENDOR.fullmatch(vendor):
            self.fail(g.BAD_VENDOR.format(vendor=vendor))

    # principals (§3) ---------------------------------------------------------------------------

    def check_principal(self, st: dict[str, Any]) -> None:
        kind = self.kind
        if kind in g.NO_PRINCIPAL_KINDS:
            return
        if kind is PolicyKind.SCP:
            if "Principal" in st or "NotPrincipal" in st:
                self.fail(g.PRINCIPAL_FORBIDDEN)
            return
        if "NotPrincipal" in st:
            if kind is PolicyKind.TRUST:
                self.fail(g.TRUST_NOT_PRINCIPAL)
            if kind is PolicyKind.RCP or st["Effect"] != "Deny":
                self.fail(g.PRINCIPAL_INVALID)
            self.principal_spec(st["NotPrincipal"])
            return
        if "Principal" not in st:
            self.fail(g.TRUST_NO_PRINCIPAL if kind is PolicyKind.TRUST else g.PRINCIPAL_MISSING)
        spec = self.principal_spec(st["Principal"])
        if kind is PolicyKind.RCP and spec != PrincipalSpec(anyone=True):
            self.fail(g.PRINCIPAL_INVALID)

    def principal_spec(self, value: Any) -> PrincipalSpec:
        if value == "*" and type(value) is str:
            if self.kind is PolicyKind.TRUST:
                self.invalid_principal("AWS", "*")        # IAM wants {"AWS": "*"} here
            return PrincipalSpec(anyone=True)
        allowed = g.TRUST_PRINCIPAL_KEYS if self.kind is PolicyKind.TRUST else g.PRINCIPAL_KEYS
        if not isinstance(value, dict) or not value:
            self.fail(g.PRINCIPAL_INVALID)
        fields: dict[str, tuple[str, ...]] = {}
        for key, raw in value.items():
            if key not in allowed or not _is_strings(raw) or not _strings(raw):
                self.invalid_principal(key, raw if type(raw) is str else "")
            values = _strings(raw)
            for item in values:
                if not _principal_value_ok(key, item):
                    self.invalid_principal(key, item)
            fields[key] = values
        aws = fields.get("AWS", ())
        return PrincipalSpec(
            anyone="*" in aws, aws=tuple(a for a in aws if a != "*"),
            service=fields.get("Service", ()), federated=fields.get("Federated", ()),
            canonical_user=fields.get("CanonicalUser", ()))

    def invalid_principal(self, key: str, value: str) -> NoReturn:
        if self.kind is PolicyKind.TRUST:
            self.fail(g.PRINCIPAL_INVALID_DETAIL.format(key=key, value=value))
        self.fail(g.PRINCIPAL_INVALID)

    # conditions (§5) -----------------------------------------------------------------------------

    def conditions(self, block: Any) -> tuple[ConditionClause, ...]:
        if not isinstance(block, dict):
            self.syntax()
        clauses: list[ConditionClause] = []
        for operator, keys in block.items():
            qualifier, base, if_exists = self.operator(operator)
            if not isinstance(keys, dict):
                self.syntax()
            for key, raw in keys.items():
                values = self.condition_values(base, raw)
                if not key:
                    self.syntax()
                clauses.append(ConditionClause(operator=operator, base=base, qualifier=qualifier,
                                               if_exists=if_exists, key=key, values=values))
        return tuple(clauses)

    def operator(self, operator: str) -> tuple[str | None, str, bool]:
        qualifier: str | None = None
        name = operator
        prefix, colon, rest = operator.partition(":")
        if colon:
            if prefix not in g.SET_QUALIFIERS:
                self.syntax()
            qualifier, name = prefix, rest
        if_exists = name.endswith(g.IF_EXISTS) and name != g.IF_EXISTS
        base = name[: -len(g.IF_EXISTS)] if if_exists else name
        if base not in g.CONDITION_OPERATORS or (if_exists and base == "Null"):
            self.syntax()
        return qualifier, base, if_exists

    def condition_values(self, base: str, raw: Any) -> tuple[str, ...]:
        items = raw if isinstance(raw, list) else [raw]
        if not items:
            self.syntax()
        values = tuple(_condition_text(v) for v in items)
        if None in values:
            self.syntax()
        if base in ("Bool", "Null") and any(v.lower() not in ("true", "false") for v in values):
            self.syntax()
        return values  # type: ignore[return-value]

    # AST -------------------------------------------------------------------------------------------

    def statement(self, index: int, st: dict[str, Any]) -> Statement:
        def opt(name: str) -> tuple[str, ...] | None:
            return _strings(st[name]) if name in st else None

        principal = not_principal = None
        if "Principal" in st:
            principal = self.principal_spec(st["Principal"])
        if "NotPrincipal" in st:
            not_principal = self.principal_spec(st["NotPrincipal"])
        return Statement(
            index=index, effect=Effect(st["Effect"]), sid=st.get("Sid"),
            actions=opt("Action"), not_actions=opt("NotAction"),
            resources=opt("Resource"), not_resources=opt("NotResource"),
            principal=principal, not_principal=not_principal,
            conditions=self.conditions(st.get("Condition", {})))


# -- helpers -----------------------------------------------------------------------------------------


def _unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def _is_strings(value: Any) -> bool:
    """A JSON string, or an array of JSON strings (numbers are not strings here)."""
    if type(value) is str:
        return True
    return isinstance(value, list) and all(type(v) is str for v in value)


def _strings(value: Any) -> tuple[str, ...]:
    return (value,) if type(value) is str else tuple(value)


def _condition_text(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):              # str and _Num: numbers keep their JSON text
        return str.__str__(value)
    return None


def _is_date(value: str) -> bool:
    if _EPOCH.fullmatch(value):
        return True
    return bool(_DATE.fullmatch(value)) and ("-" in value or "T" in value.upper())


_LEGACY_RESOURCE = "legacy"


def _resource_format(resource: str) -> str | None:
    """None when ``resource`` is ``*`` or a well-formed ARN pattern, else the error to report
    (``_LEGACY_RESOURCE`` for a shape IAM's legacy parser rejects)."""
    if resource == "*":
        return None
    if ":" not in resource:
        return g.RESOURCE_NOT_ARN.format(resource=resource)
    parts = resource.split(":")
    partition = parts[1]
    if not _PARTITION.fullmatch(partition):
        rest = parts[2:] or [""]
        segments = [rest[0] if rest[0] or len(rest) > 1 else "*",
                    *(rest[i] if len(rest) > i else "*" for i in (1, 2)),
                    ":".join(rest[3:]) if len(rest) > 3 else "*"]
        arn = ":".join(["arn", partition, *segments])
        return g.RESOURCE_PARTITION.format(partition=partition, arn=arn)
    if len(parts) < 3 or not parts[2] or "*" in parts[2] or "?" in parts[2]:
        return g.RESOURCE_VENDOR
    if len(parts) < 6 and "::" in resource:
        return _LEGACY_RESOURCE
    return None


def _principal_value_ok(key: str, value: str) -> bool:
    """§3: "*" (AWS only), account ids and principal ARNs; no partial wildcards anywhere."""
    if key == "AWS":
        return value == "*" or bool(_ACCOUNT.fullmatch(value)) or (
            "*" not in value and "?" not in value and bool(_AWS_PRINCIPAL_ARN.fullmatch(value)))
    return bool(value) and "*" not in value and "?" not in value and not value.isspace()


def _is_trust_action(action: str) -> bool:
    """An STS action of the assume family, or a wildcard that reaches only such actions."""
    lowered = action.lower()
    if "*" not in lowered and "?" not in lowered:
        return lowered in g.TRUST_ACTIONS
    if not lowered.startswith("sts:"):
        return False
    pattern = re.compile(".*".join(map(re.escape, lowered.split("*"))).replace(r"\?", "."))
    reached = {a for a in g.STS_ACTIONS if pattern.fullmatch(a)}
    return bool(reached) and reached <= g.TRUST_ACTIONS
