"""The decision procedure of ../shared/spec/iam-evaluation.md §2 (with §3 grant kinds, §7
boundaries and session policies, §8 SCP and RCP levels): ``evaluate(request, policies)`` returns
a ``Decision`` carrying the statements that decided it and, for a denial, the layer to blame.

Flow (section numbers of the spec):

1. explicit deny (§2.1.1) — every applicable policy; resource and RCP statements only when their
   Principal matches the caller or their NotPrincipal does not exclude it. ``deciding`` lists
   every matching Deny in the order SCP levels, RCP levels, resource, identity, boundary,
   session; ``denied_by`` is the kind of the first.
2. RCP levels (§2.1.2, §8) — every level needs a matching Allow.
3. anonymous callers and service principals (§2.3) stop here: a resource-policy Allow decides.
4. SCP levels (§2.1.3, §8) — every level needs a matching Allow (the root user included).
5. cross-account (§2.3): the identity path (root: satisfied; else identity Allow, boundary,
   session) and a resource-policy Allow of any grant kind; both required.
6. same account (§2.1.4–7): a DIRECT resource grant allows; a ROLE / PARENT_USER grant allows
   if the boundary and session policies do; §2.2 (``resource_policy_required``): without a
   resource-policy Allow nothing else counts; then the identity path.

Tie-breaks (deterministic, mirrored by tests/policy_reference.py): for an Allow, ``deciding``
holds the first matching Allow (policy order, then statement order) of each layer that was
required; among resource grants the first DIRECT one wins, else the first ROLE / PARENT_USER one.

Must not: parse JSON or match patterns itself (``match`` does); import anything outside the
standard library and ``cloudkeep.policy``; do I/O.
"""

from __future__ import annotations

from typing import Iterable

from cloudkeep.policy.index import EMPTY, Candidates, Table, lookup, table
from cloudkeep.policy.match import not_principal_excludes, principal_match, statement_matches
from cloudkeep.policy.model import (
    ApplicablePolicies,
    AuthzRequest,
    Decision,
    GrantKind,
    Outcome,
    PolicyKind,
    PolicyRef,
    PrincipalKind,
    RequestPrincipal,
    Statement,
    StatementRef,
)

_PRINCIPAL_SCOPED = frozenset({PolicyKind.RESOURCE, PolicyKind.TRUST, PolicyKind.RCP})
_LIMITED_GRANTS = (GrantKind.ROLE, GrantKind.PARENT_USER)


def _ref(policy: PolicyRef, statement: Statement) -> StatementRef:
    return StatementRef(policy.policy.kind, policy.name, statement.index, statement.sid)


def _implicit(layer: PolicyKind) -> Decision:
    return Decision(Outcome.IMPLICIT_DENY, (), layer)


def _allow(refs: list[StatementRef]) -> Decision:
    return Decision(Outcome.ALLOW, tuple(refs), None)


# --- principal applicability (resource policies, trust policies, RCPs) ----------------------


def deny_applies(statement: Statement, principal: RequestPrincipal, has_boundary: bool) -> bool:
    """Whether a Deny statement of a principal-scoped policy concerns the caller (§3)."""
    if statement.principal is not None:
        return principal_match(statement.principal, principal) is not None
    if statement.not_principal is not None:
        return not not_principal_excludes(statement.not_principal, principal, has_boundary=has_boundary)
    return True


def allow_grant(statement: Statement, principal: RequestPrincipal, kind: PolicyKind) -> GrantKind | None:
    """How an Allow statement of a principal-scoped policy grants to the caller (§3), or None.
    Allow with NotPrincipal is not supported by AWS and grants nothing; a statement without any
    principal element grants nothing in a resource/trust policy and applies to all in an RCP."""
    if statement.principal is not None:
        return principal_match(statement.principal, principal)
    if statement.not_principal is None and kind is PolicyKind.RCP:
        return GrantKind.DIRECT
    return None


# --- scanning policies through the action index --------------------------------------------

#: a policy as one decision sees it: its ref and its candidate (denies, allows) for the action
Resolved = list[tuple[PolicyRef, Candidates]]


def _resolve(refs: Iterable[PolicyRef], tab: Table, action: str) -> Resolved:
    """The policies that have any statement covering the action, with those statements."""
    out: Resolved = []
    get = tab.get
    for ref in refs:
        p = ref.policy
        entry = get(id(p))
        found = entry[1] if entry is not None and entry[0] is p else lookup(tab, p, action)
        if found is not EMPTY:
            out.append((ref, found))
    return out


def _collect_denies(resolved: Resolved, request: AuthzRequest, has_boundary: bool,
                    out: list[StatementRef]) -> None:
    for policy, (denies, _) in resolved:
        if not denies:
            continue
        p = policy.policy
        variables = p.variables_enabled
        scoped = p.kind in _PRINCIPAL_SCOPED
        for statement, always in denies:
            if scoped and not deny_applies(statement, request.principal, has_boundary):
                continue
            if always or statement_matches(statement, request, variables=variables):
                out.append(_ref(policy, statement))


def _first_allow(resolved: Resolved, request: AuthzRequest) -> StatementRef | None:
    """The first matching Allow of policies that have no Principal element (identity,
    boundary, session, SCP) — or, for an RCP level, whose Principal matches."""
    for policy, (_, allows) in resolved:
        if not allows:
            continue
        p = policy.policy
        variables = p.variables_enabled
        scoped = p.kind in _PRINCIPAL_SCOPED
        for statement, always in allows:
            if scoped and allow_grant(statement, request.principal, p.kind) is None:
                continue
            if always or statement_matches(statement, request, variables=variables):
                return _ref(policy, statement)
    return None


def _resource_grants(resolved: Resolved, request: AuthzRequest) -> list[tuple[StatementRef, GrantKind]]:
    grants = []
    for policy, (_, allows) in resolved:
        p = policy.policy
        for statement, always in allows:
            grant = allow_grant(statement, request.principal, p.kind)
            if grant is not None and (always or statement_matches(statement, request,
                                                                   variables=p.variables_enabled)):
                grants.append((_ref(policy, statement), grant))
    return grants


# --- the layers ------------------------------------------------------------------------------


class _Layers:
    """Every policy set of the request, resolved once against the action index."""

    __slots__ = ("scps", "rcps", "resource", "identity", "boundary", "session")

    def __init__(self, policies: ApplicablePolicies, action: str) -> None:
        tab = table(action)
        self.rcps = [_resolve(level, tab, action) for level in policies.rcps]
        self.resource = _resolve((policies.resource,), tab, action) if policies.resource is not None else []
        self.scps = [_resolve(level, tab, action) for level in policies.scps]
        self.identity = _resolve(policies.identity, tab, action)
        self.boundary = _resolve((policies.boundary,), tab, action) if policies.boundary is not None else None
        self.session = _resolve(policies.session, tab, action) if policies.session is not None else None


#: resolved layers of recently seen ApplicablePolicies objects, by (id, lower-cased action);
#: each entry keeps its object alive so the id cannot be reused while the entry exists
_LAYERS: dict[tuple[int, str], tuple[ApplicablePolicies, _Layers]] = {}
MAX_LAYERS = 16384


def _layers(policies: ApplicablePolicies, action: str) -> _Layers:
    key = (id(policies), action.lower())
    entry = _LAYERS.get(key)
    if entry is not None and entry[0] is policies:
        return entry[1]
    if len(_LAYERS) >= MAX_LAYERS:
        _LAYERS.clear()
    layers = _Layers(policies, action)
    _LAYERS[key] = (policies, layers)
    return layers


def _explicit_denies(request: AuthzRequest, layers: _Layers, has_boundary: bool,
                     resource_side_only: bool) -> list[StatementRef]:
    out: list[StatementRef] = []
    if not resource_side_only:
        for level in layers.scps:
            _collect_denies(level, request, has_boundary, out)
    for level in layers.rcps:
        _collect_denies(level, request, has_boundary, out)
    _collect_denies(layers.resource, request, has_boundary, out)
    if resource_side_only:
        return out
    _collect_denies(layers.identity, request, has_boundary, out)
    if layers.boundary is not None:
        _collect_denies(layers.boundary, request, has_boundary, out)
    if layers.session is not None:
        _collect_denies(layers.session, request, has_boundary, out)
    return out


def _levels(levels: list[Resolved], request: AuthzRequest, out: list[StatementRef]) -> bool:
    """Every level needs a matching Allow (§8); appends the first Allow of each level."""
    for level in levels:
        found = _first_allow(level, request)
        if found is None:
            return False
        out.append(found)
    return True


def _caps(request: AuthzRequest, layers: _Layers, out: list[StatementRef]) -> PolicyKind | None:
    """Boundary and session policies (§7); None when both allow, else the layer lacking one."""
    if layers.boundary is not None:
        found = _first_allow(layers.boundary, request)
        if found is None:
            return PolicyKind.BOUNDARY
        out.append(found)
    if layers.session is None:
        if request.principal.kind is PrincipalKind.FEDERATED_USER:
            return PolicyKind.SESSION
    else:
        found = _first_allow(layers.session, request)
        if found is None:
            return PolicyKind.SESSION
        out.append(found)
    return None


def _identity_path(request: AuthzRequest, layers: _Layers, out: list[StatementRef]) -> PolicyKind | None:
    """Steps 5–6 of §2.1: None when satisfied, else the layer lacking an Allow."""
    if request.principal.kind is PrincipalKind.ROOT:
        return None
    found = _first_allow(layers.identity, request)
    if found is None:
        return PolicyKind.IDENTITY
    out.append(found)
    return _caps(request, layers, out)


def evaluate(request: AuthzRequest, policies: ApplicablePolicies) -> Decision:
    principal = request.principal
    resource_side_only = principal.kind is PrincipalKind.ANONYMOUS or principal.kind is PrincipalKind.SERVICE

    layers = _layers(policies, request.action)
    denies = _explicit_denies(request, layers, policies.boundary is not None, resource_side_only)
    if denies:
        return Decision(Outcome.EXPLICIT_DENY, tuple(denies), denies[0].kind)

    allows: list[StatementRef] = []
    if not _levels(layers.rcps, request, allows):
        return _implicit(PolicyKind.RCP)
    grants = _resource_grants(layers.resource, request)
    if resource_side_only:
        if not grants:
            return _implicit(PolicyKind.RESOURCE)
        return _allow(allows + [grants[0][0]])
    if not _levels(layers.scps, request, allows):
        return _implicit(PolicyKind.SCP)

    cross = (principal.account is not None and request.resource_account is not None
             and principal.account != request.resource_account)
    if cross:
        missing = _identity_path(request, layers, allows)
        if missing is not None:
            return _implicit(missing)
        if not grants:
            return _implicit(PolicyKind.RESOURCE)
        return _allow(allows + [grants[0][0]])

    for ref, grant in grants:
        if grant is GrantKind.DIRECT:
            return _allow(allows + [ref])
    grant_missing: PolicyKind | None = None
    for ref, grant in grants:
        if grant in _LIMITED_GRANTS:
            capped = [ref]
            grant_missing = _caps(request, layers, capped)
            if grant_missing is None:
                return _allow(allows + capped)
            break
    if policies.resource_policy_required and not grants:
        return _implicit(PolicyKind.RESOURCE)
    path: list[StatementRef] = []
    missing = _identity_path(request, layers, path)
    if missing is None:
        if policies.resource_policy_required:
            path.append(grants[0][0])
        return _allow(allows + path)
    if missing is PolicyKind.IDENTITY and grant_missing is not None:
        missing = grant_missing
    return _implicit(missing)
