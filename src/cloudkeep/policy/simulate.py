"""The IAM policy simulator's pure part, shared by IAM's SimulatePrincipalPolicy /
SimulateCustomPolicy / GetContextKeysFor*Policy and by ``cloudkeep policy simulate``: build
requests from simulator inputs, run the SAME engine as enforcement (``evaluate.evaluate``), and
explain each decision the way IAM's ``EvaluationResult`` does — the deciding statements with
their line/column in the policy text, the context keys the policies needed but did not get,
and the permissions boundary / Organizations / cross-account details.

AWS documents the shapes here:
https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html,
…/API_SimulateCustomPolicy.html, …/API_EvaluationResult.html, …/API_ResourceSpecificResult.html.
One ``EvaluationResult`` per action; with several resources its decision is the most
restrictive one (explicitDeny > implicitDeny > allowed) and each resource has its own
``ResourceSpecificResult`` (current API_EvaluationResult page).

Must not: import anything outside the standard library and ``cloudkeep.policy``; do I/O; decide
anything itself (the engine does; the boundary/Organizations/resource-side details only restate
which statements match).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Mapping, Sequence

from cloudkeep.policy import conditions as C
from cloudkeep.policy import variables as V
from cloudkeep.policy.evaluate import allow_grant, deny_applies, evaluate
from cloudkeep.policy.match import action_matches, resource_matches, statement_matches
from cloudkeep.policy.model import (ApplicablePolicies, AuthzRequest, Effect, Outcome, Policy, PolicyError,
                                    PolicyKind, PolicyRef, PrincipalKind, RequestPrincipal, Statement)
from cloudkeep.policy.parse import parse_policy

INVALID_INPUT = "InvalidInput"

#: SourcePolicyType values (IAM's PolicySourceType enum)
USER, GROUP, ROLE, AWS_MANAGED, USER_MANAGED, RESOURCE, NONE = (
    "user", "group", "role", "aws-managed", "user-managed", "resource", "none")

#: EvalDecisionDetails keys of a cross-account simulation [ambiguous: AWS does not document them]
IAM_POLICY_DETAIL = "IAM Policy"
RESOURCE_POLICY_DETAIL = "Resource Policy"

_RESTRICTIVE = {Outcome.ALLOW: 0, Outcome.IMPLICIT_DENY: 1, Outcome.EXPLICIT_DENY: 2}
_ACCOUNT_RE = re.compile(r"\d{12}\Z")
_ROOT_RE = re.compile(r"arn:[^:]+:iam::(\d{12}):root\Z")
_IAM_ARN_RE = re.compile(r"arn:([^:]+):(iam|sts)::(\d{12}):(user|group|role|assumed-role|federated-user|root)(/.*)?\Z")
_LIST_TYPES = frozenset({"stringList", "numericList", "booleanList", "ipList", "binaryList", "dateList"})
_VALIDATORS = {
    "string": lambda v: True,
    "numeric": lambda v: C.parse_number(v) is not None,
    "boolean": lambda v: C.parse_bool(v) is not None,
    "date": lambda v: C.parse_instant(v) is not None,
    "ip": lambda v: C.parse_address(v) is not None or C.parse_network(v) is not None,
    "binary": lambda v: C.parse_base64(v) is not None,
}


class SimulationError(ValueError):
    """Invalid simulator input; ``code`` is IAM's error code (``InvalidInput``)."""

    def __init__(self, message: str, code: str = INVALID_INPUT) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


# --------------------------------------------------------------------------- positions


@dataclass(frozen=True, slots=True)
class Position:
    line: int                          # 1-based
    column: int                        # 1-based

    def to_wire(self) -> dict[str, int]:
        return {"Line": self.line, "Column": self.column}


def _skip_ws(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    return i


def statement_offsets(text: str) -> tuple[tuple[int, int], ...]:
    """(offset of ``{``, offset of the matching ``}``) of each statement object of the policy's
    ``Statement`` element, in order (one pair when it is a single object). Assumes ``text``
    parsed as a policy; returns () when no Statement element is found."""
    decoder = json.JSONDecoder()
    i = _skip_ws(text, 0)
    if i >= len(text) or text[i] != "{":
        return ()
    i = _skip_ws(text, i + 1)
    found: tuple[tuple[int, int], ...] = ()
    while i < len(text) and text[i] == '"':
        key, i = json.decoder.scanstring(text, i + 1)  # type: ignore[attr-defined]
        i = _skip_ws(text, i)
        i = _skip_ws(text, i + 1)                       # the colon
        start = i
        _, end = decoder.raw_decode(text, start)
        if key == "Statement":
            found = _element_offsets(text, start, decoder)
        i = _skip_ws(text, end)
        if i < len(text) and text[i] == ",":
            i = _skip_ws(text, i + 1)
    return found


def _element_offsets(text: str, start: int, decoder: json.JSONDecoder) -> tuple[tuple[int, int], ...]:
    if text[start] == "{":
        _, end = decoder.raw_decode(text, start)
        return ((start, end - 1),)
    if text[start] != "[":
        return ()
    out = []
    i = _skip_ws(text, start + 1)
    while i < len(text) and text[i] != "]":
        _, end = decoder.raw_decode(text, i)
        out.append((i, end - 1))
        i = _skip_ws(text, end)
        if i < len(text) and text[i] == ",":
            i = _skip_ws(text, i + 1)
    return tuple(out)


def position(text: str, offset: int) -> Position:
    line_start = text.rfind("\n", 0, offset) + 1
    return Position(text.count("\n", 0, offset) + 1, offset - line_start + 1)


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True, slots=True)
class PolicyInput:
    """One policy of a simulation, with the identity IAM reports for it: ``SourcePolicyId``
    (an inline policy's name, a managed policy's name, ``PolicyInputList.1``…) and
    ``SourcePolicyType`` (user, group, role, aws-managed, user-managed, resource, none)."""

    policy_id: str
    source_type: str
    text: str
    policy: Policy
    spans: tuple[tuple[Position, Position], ...]


def load_policy(text: str, kind: PolicyKind, policy_id: str, source_type: str) -> PolicyInput:
    """Parse ``text`` as a policy of ``kind``; a malformed document is ``InvalidInput``."""
    try:
        policy = parse_policy(text, kind)
    except PolicyError as exc:
        raise SimulationError(f"{policy_id}: {exc.message}") from None
    spans = tuple((position(text, a), position(text, b)) for a, b in statement_offsets(text))
    return PolicyInput(policy_id, source_type, text, policy, spans)


def context_from_entries(entries: Iterable[Mapping[str, Any]]) -> tuple[dict[str, tuple[str, ...]], frozenset[str]]:
    """IAM ``ContextEntries`` (ContextKeyName / ContextKeyValues / ContextKeyType) → the request
    context (lower-cased names) and its multivalued keys (the ``…List`` types). A value that is
    not of its declared type, or several values for a single-valued type, is ``InvalidInput``."""
    context: dict[str, tuple[str, ...]] = {}
    multivalued: set[str] = set()
    for entry in entries:
        name = entry.get("ContextKeyName")
        if not name:
            raise SimulationError("ContextKeyName is required in every context entry.")
        values = tuple(str(v) for v in entry.get("ContextKeyValues") or ())
        kind = entry.get("ContextKeyType") or ("stringList" if len(values) > 1 else "string")
        base = kind[:-4] if kind in _LIST_TYPES else kind
        check = _VALIDATORS.get(base)
        if check is None:
            raise SimulationError(f"Invalid ContextKeyType {kind} for context key {name}.")
        if kind not in _LIST_TYPES and len(values) > 1:
            raise SimulationError(f"Context key {name} of type {kind} takes a single value.")
        for value in values:
            if not check(value):
                raise SimulationError(f"Invalid value {value} for context key {name} of type {kind}.")
        key = name.lower()
        context[key] = values
        if kind in _LIST_TYPES:
            multivalued.add(key)
        else:
            multivalued.discard(key)
    return context, frozenset(multivalued)


def principal_from_arn(arn: str) -> RequestPrincipal:
    """The simulated caller for an IAM ARN: a user, the root user, a role (as a session of it),
    an assumed-role or federated-user session. Anything else is ``InvalidInput``."""
    m = _IAM_ARN_RE.match(arn)
    if m is None:
        raise SimulationError(f"Invalid ARN: {arn}")
    partition, _, account, kind, rest = m.groups()
    if kind == "root":
        return RequestPrincipal(PrincipalKind.ROOT, arn, account)
    if kind == "role":
        name = (rest or "/").rsplit("/", 1)[-1]
        session = f"arn:{partition}:sts::{account}:assumed-role/{name}/simulation"
        return RequestPrincipal(PrincipalKind.ASSUMED_ROLE, session, account, parent_arn=arn)
    if kind == "assumed-role":
        parts = (rest or "").strip("/").split("/")
        parent = f"arn:{partition}:iam::{account}:role/{parts[0]}" if parts and parts[0] else None
        return RequestPrincipal(PrincipalKind.ASSUMED_ROLE, arn, account, parent_arn=parent)
    if kind == "federated-user":
        return RequestPrincipal(PrincipalKind.FEDERATED_USER, arn, account)
    return RequestPrincipal(PrincipalKind.USER, arn, account)  # user (and a group stand-in)


def resource_owner(value: str) -> str:
    """``ResourceOwner``: an account id or its root ARN, as the account id."""
    if _ACCOUNT_RE.match(value):
        return value
    m = _ROOT_RE.match(value)
    if m is None:
        raise SimulationError(f"'{value}' is not a valid as a Resource Owner.")
    return m.group(1)


def check_actions(actions: Sequence[str]) -> None:
    """Action names are ``service:Name`` without wildcards (API_SimulateCustomPolicy)."""
    for action in actions:
        service, sep, name = action.partition(":")
        if not sep or not service or not name or "*" in action or "?" in action:
            raise SimulationError(f"Invalid action name: {action}. Use service:ActionName without wildcards.")


def check_resources(resources: Sequence[str]) -> None:
    for resource in resources:
        if resource != "*" and (not resource.startswith("arn:") or resource.count(":") < 5):
            raise SimulationError(f"ResourceNames are not in a valid ARN format: {resource}.")


@dataclass(frozen=True, slots=True)
class Simulation:
    """Everything one simulation evaluates. ``scps``: one tuple per level, root → account
    (empty: the account is in no organization)."""

    principal: RequestPrincipal
    identity: tuple[PolicyInput, ...] = ()
    boundary: PolicyInput | None = None
    resource_policy: PolicyInput | None = None
    scps: tuple[tuple[PolicyInput, ...], ...] = ()
    context: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    multivalued: frozenset[str] = frozenset()
    resource_owner: str | None = None          # owner of resources whose ARN names no account


# --------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class MatchedStatement:
    source_policy_id: str
    source_policy_type: str
    start: Position
    end: Position
    sid: str | None = None             # for people (the CLI); IAM's Statement shape has no Sid

    def to_wire(self) -> dict[str, Any]:
        return {"SourcePolicyId": self.source_policy_id, "SourcePolicyType": self.source_policy_type,
                "StartPosition": self.start.to_wire(), "EndPosition": self.end.to_wire()}


@dataclass(frozen=True, slots=True)
class ResourceResult:
    resource: str
    decision: Outcome
    matched: tuple[MatchedStatement, ...]
    missing: tuple[str, ...]
    details: dict[str, str] | None             # None: not returned ("*" in the same account)
    allowed_by_boundary: bool | None           # None: no boundary in the simulation
    allowed_by_organizations: bool | None      # None: no SCPs in the simulation

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {"EvalResourceName": self.resource, "EvalResourceDecision": self.decision.value,
                               "MatchedStatements": [m.to_wire() for m in self.matched],
                               "MissingContextValues": list(self.missing)}
        if self.details is not None:
            out["EvalDecisionDetails"] = dict(self.details)
        if self.allowed_by_boundary is not None:
            out["PermissionsBoundaryDecisionDetail"] = {"AllowedByPermissionsBoundary": self.allowed_by_boundary}
        return out


@dataclass(frozen=True, slots=True)
class ActionResult:
    action: str
    resource_name: str
    decision: Outcome
    matched: tuple[MatchedStatement, ...]
    missing: tuple[str, ...]
    details: dict[str, str] | None
    allowed_by_boundary: bool | None
    allowed_by_organizations: bool | None
    resources: tuple[ResourceResult, ...] | None   # None: ResourceArns was not given

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {"EvalActionName": self.action, "EvalResourceName": self.resource_name,
                               "EvalDecision": self.decision.value,
                               "MatchedStatements": [m.to_wire() for m in self.matched],
                               "MissingContextValues": list(self.missing)}
        if self.allowed_by_organizations is not None:
            out["OrganizationsDecisionDetail"] = {"AllowedByOrganizations": self.allowed_by_organizations}
        if self.allowed_by_boundary is not None:
            out["PermissionsBoundaryDecisionDetail"] = {"AllowedByPermissionsBoundary": self.allowed_by_boundary}
        if self.details is not None:
            out["EvalDecisionDetails"] = dict(self.details)
        if self.resources is not None:
            out["ResourceSpecificResults"] = [r.to_wire() for r in self.resources]
        return out


# --------------------------------------------------------------------------- simulation


class _Prepared:
    """A simulation's policies as the engine sees them, with the map back to the inputs."""

    __slots__ = ("sim", "by_name", "policies")

    def __init__(self, sim: Simulation) -> None:
        self.sim = sim
        self.by_name: dict[str, PolicyInput] = {}
        identity = tuple(self._ref(p) for p in sim.identity)
        self.policies = ApplicablePolicies(
            identity=identity,
            resource=self._ref(sim.resource_policy) if sim.resource_policy is not None else None,
            boundary=self._ref(sim.boundary) if sim.boundary is not None else None,
            scps=tuple(tuple(self._ref(p) for p in level) for level in sim.scps))

    def _ref(self, item: PolicyInput) -> PolicyRef:
        name = f"{len(self.by_name)}:{item.policy_id}"
        self.by_name[name] = item
        return PolicyRef(name, item.policy)


def _resource_account(sim: Simulation, resource: str) -> str | None:
    parts = resource.split(":", 5)
    if len(parts) == 6 and _ACCOUNT_RE.match(parts[4]):
        return parts[4]
    return sim.resource_owner or sim.principal.account


def _request(sim: Simulation, action: str, resource: str) -> AuthzRequest:
    return AuthzRequest(principal=sim.principal, action=action, resource=resource,
                        resource_account=_resource_account(sim, resource), context=sim.context,
                        multivalued=sim.multivalued)


def _verdict(item: PolicyInput, request: AuthzRequest, *, scoped: bool, has_boundary: bool) -> Outcome:
    """What one policy alone says: a matching Deny, else a matching Allow, else nothing."""
    variables = item.policy.variables_enabled
    allowed = False
    for st in item.policy.statements:
        if scoped:
            applies = (deny_applies(st, request.principal, has_boundary) if st.effect is Effect.DENY
                       else allow_grant(st, request.principal, item.policy.kind) is not None)
            if not applies:
                continue
        if not statement_matches(st, request, variables=variables):
            continue
        if st.effect is Effect.DENY:
            return Outcome.EXPLICIT_DENY
        allowed = True
    return Outcome.ALLOW if allowed else Outcome.IMPLICIT_DENY


def _combine(outcomes: Iterable[Outcome]) -> Outcome:
    """Policies of one layer together: any Deny wins, else any Allow allows."""
    seen = list(outcomes)
    if Outcome.EXPLICIT_DENY in seen:
        return Outcome.EXPLICIT_DENY
    return Outcome.ALLOW if Outcome.ALLOW in seen else Outcome.IMPLICIT_DENY


def _organizations_allow(sim: Simulation, request: AuthzRequest) -> bool | None:
    if not sim.scps:
        return None
    levels = [_combine(_verdict(p, request, scoped=False, has_boundary=False) for p in level) for level in sim.scps]
    return all(v is Outcome.ALLOW for v in levels)


def _missing(sim: Simulation, request: AuthzRequest) -> tuple[str, ...]:
    """Context keys that statements concerning this action and resource test (or use as
    variables) and the simulation did not supply, as written, first spelling kept."""
    seen: dict[str, str] = {}
    items = list(sim.identity) + [p for p in (sim.boundary, sim.resource_policy) if p is not None]
    items += [p for level in sim.scps for p in level]
    for item in items:
        variables = item.policy.variables_enabled
        for st in item.policy.statements:
            if not _concerns(st, request, variables):
                continue
            keys = list(_resource_variable_gaps(st, request)) if variables else []
            keys += sorted(C.missing_context_keys(st.conditions, request), key=_clause_order(st))
            for key in keys:
                seen.setdefault(key.lower(), key)
    return tuple(seen.values())


def _clause_order(st: Statement):
    order = {c.key: n for n, c in enumerate(st.conditions)}
    return lambda key: (order.get(key, len(order)), key)


def _resource_variable_gaps(st: Statement, request: AuthzRequest) -> Iterable[str]:
    for pattern in (st.resources or st.not_resources or ()):
        for key in V.variable_keys(pattern):
            if V.lookup(key.lower(), request) is None:
                yield key


def _concerns(st: Statement, request: AuthzRequest, variables: bool) -> bool:
    if st.actions is not None:
        if not action_matches(st.actions, request.action):
            return False
    elif st.not_actions is None or action_matches(st.not_actions, request.action):
        return False
    if variables and any(True for _ in _resource_variable_gaps(st, request)):
        return True
    if st.resources is not None:
        return resource_matches(st.resources, request.resource, request, variables=variables)
    if st.not_resources is not None:
        return not resource_matches(st.not_resources, request.resource, request, variables=variables)
    return True


def _details(prep: _Prepared, request: AuthzRequest) -> dict[str, str] | None:
    """EvalDecisionDetails: absent for ``*`` in the same account, empty for a resource ARN in
    the same account, a summary per side (trusted / trusting account) across accounts."""
    sim = prep.sim
    cross = (sim.principal.account is not None and request.resource_account is not None
             and sim.principal.account != request.resource_account)
    if not cross:
        return None if request.resource == "*" else {}
    identity_side = evaluate(replace(request, resource_account=sim.principal.account),
                             replace(prep.policies, resource=None)).outcome
    resource_side = (_verdict(sim.resource_policy, request, scoped=True, has_boundary=sim.boundary is not None)
                     if sim.resource_policy is not None else Outcome.IMPLICIT_DENY)
    return {IAM_POLICY_DETAIL: identity_side.value, RESOURCE_POLICY_DETAIL: resource_side.value}


def _one(prep: _Prepared, action: str, resource: str) -> ResourceResult:
    sim = prep.sim
    request = _request(sim, action, resource)
    decision = evaluate(request, prep.policies)
    matched = []
    for ref in decision.deciding:
        if ref.kind in (PolicyKind.SCP, PolicyKind.RCP):
            continue
        item = prep.by_name.get(ref.policy_name)
        if item is None or ref.index >= len(item.spans):
            continue
        start, end = item.spans[ref.index]
        matched.append(MatchedStatement(item.policy_id, item.source_type, start, end, ref.sid))
    boundary = None
    if sim.boundary is not None:
        boundary = _verdict(sim.boundary, request, scoped=False, has_boundary=True) is Outcome.ALLOW
    return ResourceResult(resource, decision.outcome, tuple(dict.fromkeys(matched)), _missing(sim, request),
                          _details(prep, request), boundary, _organizations_allow(sim, request))


def _merge_details(results: Sequence[ResourceResult]) -> dict[str, str] | None:
    present = [r.details for r in results if r.details is not None]
    if not present:
        return None
    merged: dict[str, Outcome] = {}
    for details in present:
        for key, value in details.items():
            outcome = Outcome(value)
            if key not in merged or _RESTRICTIVE[outcome] > _RESTRICTIVE[merged[key]]:
                merged[key] = outcome
    return {k: v.value for k, v in merged.items()}


def _all(values: Iterable[bool | None]) -> bool | None:
    known = [v for v in values if v is not None]
    return None if not known else all(known)


def simulate_action(prep: _Prepared, action: str, resources: Sequence[str] | None) -> ActionResult:
    per = [_one(prep, action, r) for r in (resources or ("*",))]
    decision = max((r.decision for r in per), key=_RESTRICTIVE.__getitem__)
    matched = tuple(dict.fromkeys(m for r in per if r.decision is decision for m in r.matched))
    missing = tuple(dict.fromkeys(k for r in per for k in r.missing))
    name = resources[0] if resources and len(resources) == 1 else "*"
    return ActionResult(action, name, decision, matched, missing, _merge_details(per),
                        _all(r.allowed_by_boundary for r in per), _all(r.allowed_by_organizations for r in per),
                        tuple(per) if resources else None)


def simulate(sim: Simulation, actions: Sequence[str], resources: Sequence[str] | None = None) -> list[ActionResult]:
    """One ``EvaluationResult`` per action, in the order given; ``resources`` None or empty
    means ``*`` without ResourceSpecificResults."""
    check_actions(actions)
    if resources:
        check_resources(resources)
    prep = _Prepared(sim)
    return [simulate_action(prep, action, list(resources) if resources else None) for action in actions]


# --------------------------------------------------------------------------- context keys


def context_keys(policies: Iterable[Policy]) -> list[str]:
    """Every context key the policies reference — condition keys and policy variables (in
    Resource/NotResource and String/ARN condition values, 2012-10-17 only) — in the order they
    appear, each once (case-insensitively, first spelling kept), as GetContextKeysFor*Policy
    lists them (https://docs.aws.amazon.com/IAM/latest/UserGuide/iam_example_iam_GetContextKeysForCustomPolicy_section.html)."""
    seen: dict[str, str] = {}
    for policy in policies:
        variables = policy.variables_enabled
        for st in policy.statements:
            if variables:
                for pattern in (st.resources or st.not_resources or ()):
                    _variables_of(pattern, seen)
            for clause in st.conditions:
                seen.setdefault(clause.key_lower, clause.key)
                if variables and clause.base.startswith(("String", "Arn")):
                    for value in clause.values:
                        _variables_of(value, seen)
    return list(seen.values())


def _variables_of(text: str, seen: dict[str, str]) -> None:
    if not V.has_variable(text):
        return
    for part in V.parse_template(text):
        if part[0] == "v":
            seen.setdefault(part[1], part[3])  # type: ignore[misc]


# --------------------------------------------------------------------------- custom simulations


def context_from_pairs(pairs: Iterable[str]) -> tuple[dict[str, tuple[str, ...]], frozenset[str]]:
    """``key=value`` arguments (the CLI's ``--context``) → a request context; a key given more
    than once becomes a multivalued (list) key with every value."""
    grouped: dict[str, list[str]] = {}
    names: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise SimulationError(f"Invalid context entry {pair!r}: use key=value, e.g. aws:SourceIp=203.0.113.7.")
        names.setdefault(key.strip().lower(), key.strip())
        grouped.setdefault(key.strip().lower(), []).append(value)
    return context_from_entries({"ContextKeyName": names[k], "ContextKeyValues": v,
                                 "ContextKeyType": "stringList" if len(v) > 1 else "string"}
                                for k, v in grouped.items())


def custom_simulation(identity: Sequence[str], *, boundary: Sequence[str] = (), resource_policy: str | None = None,
                      caller_arn: str | None = None, default_account: str = "123456789012",
                      context: Mapping[str, tuple[str, ...]] | None = None, multivalued: frozenset[str] = frozenset(),
                      owner: str | None = None, names: Sequence[str] | None = None) -> Simulation:
    """A SimulateCustomPolicy-style simulation: policy texts as ``PolicyInputList.N`` (type
    ``none``; ``names`` replaces those ids, e.g. by file names), at most one boundary
    (``PermissionsBoundaryPolicyInputList.1``), an optional resource policy (``ResourcePolicy``,
    type ``resource``; it needs ``caller_arn``)."""
    if len(boundary) > 1:
        raise SimulationError("You can specify only one permissions boundary policy in PermissionsBoundaryPolicyInputList.")
    if resource_policy is not None and not caller_arn:
        raise SimulationError("CallerArn is required when you include a ResourcePolicy.")
    principal = (principal_from_arn(caller_arn) if caller_arn
                 else RequestPrincipal(PrincipalKind.USER, f"arn:aws:iam::{default_account}:user/SimulatedUser",
                                       default_account))
    return Simulation(
        principal=principal,
        identity=tuple(load_policy(t, PolicyKind.IDENTITY, names[n - 1] if names else f"PolicyInputList.{n}", NONE)
                       for n, t in enumerate(identity, 1)),
        boundary=(load_policy(boundary[0], PolicyKind.BOUNDARY, "PermissionsBoundaryPolicyInputList.1", NONE)
                  if boundary else None),
        resource_policy=(load_policy(resource_policy, PolicyKind.RESOURCE, "ResourcePolicy", RESOURCE)
                         if resource_policy is not None else None),
        context=dict(context or {}), multivalued=multivalued,
        resource_owner=resource_owner(owner) if owner else None)
