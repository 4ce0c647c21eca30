"""Whether one statement applies to a request (spec §3, §4): Action/NotAction, Resource/
NotResource (wildcards, policy variables), the Condition block (through ``conditions``), and
Principal/NotPrincipal matching with the kind of grant (direct, role, parent user, account).

Rules [doc]:

* Action — case-insensitive, ``*`` and ``?`` anywhere, whole-string match
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html).
* Resource — case-sensitive; ``"*"`` matches everything; after the fifth colon ``*`` is any run
  (``/`` and ``:`` included) and ``?`` one character; within the first five colon-separated
  segments a wildcard stays in its segment, except a ``*`` that is the last character of a
  segment, which "can expand to match beyond the colon boundaries"
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html,
  "Using wildcards in resource ARNs"). Variables only after the fifth colon and only under
  Version 2012-10-17; an unresolvable variable makes its pattern match nothing.
* Principal — https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html;
  role ARNs are compared with their path (the role ARN is what a policy names).

Compiled matchers are cached per pattern tuple: first by identity (parse.py builds each tuple
once per policy, so the hot path does not even hash it), then by value (``lru_cache``).

Must not: decide the evaluation flow (evaluate.py); import anything outside the standard library;
do I/O; compile a regex per request for a pattern without variables.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Callable, TypeVar

from cloudkeep.policy import variables as V
from cloudkeep.policy.conditions import conditions_match
from cloudkeep.policy.model import (
    AuthzRequest,
    GrantKind,
    PrincipalKind,
    PrincipalSpec,
    RequestPrincipal,
    Statement,
)

T = TypeVar("T")
_MAX_IDS = 16384


def _by_identity(cache: dict[int, tuple[object, T]], key: tuple[str, ...],
                 build: Callable[[tuple[str, ...]], T]) -> T:
    entry = cache.get(id(key))
    if entry is not None and entry[0] is key:
        return entry[1]
    value = build(key)
    if len(cache) >= _MAX_IDS:
        cache.clear()
    cache[id(key)] = (key, value)
    return value


# ---------------------------------------------------------------- actions

@dataclass(frozen=True, slots=True)
class _ActionMatcher:
    everything: bool
    exact: frozenset[str]                  # lower-cased patterns without wildcards
    regex: re.Pattern[str] | None          # alternation of the lower-cased wildcard patterns

    def __call__(self, action: str) -> bool:
        if self.everything:
            return True
        low = action.lower()
        if low in self.exact:
            return True
        return self.regex is not None and self.regex.fullmatch(low) is not None


@functools.lru_cache(maxsize=8192)
def _compile_actions(patterns: tuple[str, ...]) -> _ActionMatcher:
    lowered = [p.lower() for p in patterns]
    wild = [p for p in lowered if "*" in p or "?" in p]
    source = "|".join(f"(?:{V.glob_source([(False, p)])})" for p in wild)
    return _ActionMatcher(
        everything="*" in lowered,
        exact=frozenset(p for p in lowered if p not in wild),
        regex=V.glob_regex(source) if wild else None,
    )


_ACTIONS: dict[int, tuple[object, _ActionMatcher]] = {}


def action_matches(patterns: tuple[str, ...], action: str) -> bool:
    """Whether ``action`` (``service:Name``) is covered by one of ``patterns`` (§4)."""
    return _by_identity(_ACTIONS, patterns, _compile_actions)(action)


# ---------------------------------------------------------------- resources

def _segment_source(segment: str) -> str:
    """One of the first five ARN segments: wildcards stay in the segment, except a ``*`` that
    ends the segment, which may run across colons (current Resource docs)."""
    out: list[str] = []
    last = len(segment) - 1
    for i, ch in enumerate(segment):
        if ch == "*":
            out.append(".*" if i == last else "[^:]*")
        elif ch == "?":
            out.append("[^:]")
        else:
            out.append(re.escape(ch))
    return "".join(out)


@dataclass(frozen=True, slots=True)
class _ResourceMatcher:
    everything: bool
    static: re.Pattern[str] | None                         # patterns without variables
    dynamic: tuple[tuple[str, V.Template], ...]             # (prefix regex source, resource part)

    def match(self, resource: str, request: AuthzRequest, variables: bool) -> bool:
        if self.everything:
            return True
        if self.static is not None and self.static.fullmatch(resource):
            return True
        if not variables:
            return False
        for prefix, template in self.dynamic:
            pieces = V.resolve(template, request)
            if pieces is not None and V.resolved_glob(prefix, pieces).fullmatch(resource):
                return True
        return False


@functools.lru_cache(maxsize=8192)
def _compile_resources(patterns: tuple[str, ...], variables: bool) -> _ResourceMatcher:
    static: list[str] = []
    dynamic: list[tuple[str, V.Template]] = []
    for pattern in patterns:
        parts = pattern.split(":", 5)
        if len(parts) < 6:
            static.append(":".join(_segment_source(s) for s in parts))
            continue
        prefix = "".join(_segment_source(s) + ":" for s in parts[:5])
        rest = parts[5]
        if variables and V.has_variable(rest):
            template = V.parse_template(rest)
            if any(p[0] != "t" for p in template):
                dynamic.append((prefix, template))
                continue
        static.append(prefix + V.glob_source([(False, rest)]))
    return _ResourceMatcher(
        everything="*" in patterns,
        static=V.glob_regex("|".join(f"(?:{s})" for s in static)) if static else None,
        dynamic=tuple(dynamic),
    )


_RESOURCES: dict[bool, dict[int, tuple[object, _ResourceMatcher]]] = {True: {}, False: {}}


def resource_matches(patterns: tuple[str, ...], resource: str, request: AuthzRequest, *,
                     variables: bool) -> bool:
    """Whether ``resource`` (an ARN, or ``*``) is covered by one of ``patterns`` (§4, §6)."""
    matcher = _by_identity(_RESOURCES[variables], patterns,
                           lambda p: _compile_resources(p, variables))
    return matcher.match(resource, request, variables)


# ---------------------------------------------------------------- statements

def statement_matches(statement: Statement, request: AuthzRequest, *, variables: bool) -> bool:
    """Action/NotAction, Resource/NotResource (neither: the resource policy's own resource) and
    the Condition block all match (a statement with neither Action nor NotAction matches
    nothing). The Principal is not checked here (evaluate.py does)."""
    if statement.actions is not None:
        if not action_matches(statement.actions, request.action):
            return False
    elif statement.not_actions is not None:
        if action_matches(statement.not_actions, request.action):
            return False
    else:
        return False
    if statement.resources is not None:
        if not resource_matches(statement.resources, request.resource, request, variables=variables):
            return False
    elif statement.not_resources is not None:
        if resource_matches(statement.not_resources, request.resource, request, variables=variables):
            return False
    return conditions_match(statement.conditions, request, variables=variables)


# ---------------------------------------------------------------- principals

_ROOT_RE = re.compile(r"arn:[^:]+:iam::(\d{12}):root\Z")
_ACCOUNT_RE = re.compile(r"\d{12}\Z")
_STRENGTH = {GrantKind.DIRECT: 3, GrantKind.ROLE: 2, GrantKind.PARENT_USER: 2, GrantKind.ACCOUNT: 1}


def account_of(value: str) -> str | None:
    """The account a Principal value names as a whole (``123456789012`` or ``…:root``)."""
    if _ACCOUNT_RE.match(value):
        return value
    m = _ROOT_RE.match(value)
    return m.group(1) if m else None


def _aws_grant(value: str, principal: RequestPrincipal) -> GrantKind | None:
    if value == "*":
        return GrantKind.DIRECT
    kind = principal.kind
    if kind in (PrincipalKind.ANONYMOUS, PrincipalKind.SERVICE):
        return None
    account = account_of(value)
    if account is not None:
        return GrantKind.ACCOUNT if account == principal.account else None
    if value == principal.arn:
        return GrantKind.DIRECT
    if principal.parent_arn is not None and value == principal.parent_arn:
        if kind is PrincipalKind.ASSUMED_ROLE:
            return GrantKind.ROLE
        if kind is PrincipalKind.FEDERATED_USER:
            return GrantKind.PARENT_USER
    return None


def principal_match(spec: PrincipalSpec, principal: RequestPrincipal) -> GrantKind | None:
    """How ``spec`` (a Principal element) matches ``principal``: the strongest grant kind among
    its values (an array is an OR), or ``None`` (§3 table)."""
    if spec.anyone:
        return GrantKind.DIRECT
    best: GrantKind | None = None
    for value in spec.aws:
        grant = _aws_grant(value, principal)
        if grant is GrantKind.DIRECT:
            return grant
        if grant is not None and (best is None or _STRENGTH[grant] > _STRENGTH[best]):
            best = grant
    if principal.kind is PrincipalKind.SERVICE and principal.arn in spec.service:
        return GrantKind.DIRECT
    if principal.kind is not PrincipalKind.ANONYMOUS and (
            principal.arn in spec.federated or principal.arn in spec.canonical_user):
        return GrantKind.DIRECT
    return best


def not_principal_excludes(spec: PrincipalSpec, principal: RequestPrincipal, *,
                           has_boundary: bool) -> bool:
    """True when ``principal`` is exempt from a NotPrincipal statement (it is listed), so the
    statement does not apply to it (§3; https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html):
    a principal with a permissions boundary is never exempt; a user needs its ARN and its
    account listed; a role session its session ARN, role ARN and account; a federated-user
    session its ARN and account [ambiguous: the account "might" otherwise be denied — we deny];
    the root user its account; a service or other principal its own entry."""
    if has_boundary:
        return False
    if spec.anyone or "*" in spec.aws:
        return True
    kind = principal.kind
    if kind is PrincipalKind.SERVICE:
        return principal.arn in spec.service
    if kind is PrincipalKind.ANONYMOUS:
        return False
    if principal.arn in spec.federated or principal.arn in spec.canonical_user:
        return True
    accounts = {a for a in (account_of(v) for v in spec.aws) if a is not None}
    account_listed = principal.account is not None and principal.account in accounts
    if not account_listed:
        return False
    if kind is PrincipalKind.ROOT:
        return True
    listed = set(spec.aws)
    if principal.arn not in listed:
        return False
    if kind is PrincipalKind.ASSUMED_ROLE:
        return principal.parent_arn is not None and principal.parent_arn in listed
    return True
