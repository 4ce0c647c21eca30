"""A deliberately naive reference model of the evaluation flow (spec §2, §3, §7, §8), the oracle
the real engine (``cloudkeep.policy.evaluate``) is compared with on generated inputs.

It scans every statement of every policy, with no index and no caching, using the same matching
functions (``match.statement_matches`` for Action/Resource/Condition, ``principal_match`` and
``not_principal_excludes`` for the principal), and writes the flow down as plainly as possible:
first collect every fact, then apply the spec's rules one by one. Tie-breaks for ``deciding``
follow the engine's documented convention (first matching Allow of each required layer; first
DIRECT resource grant, else first ROLE/PARENT_USER one; every Deny in the order SCP, RCP,
resource, identity, boundary, session).
"""

from __future__ import annotations

from cloudkeep.policy.match import not_principal_excludes, principal_match, statement_matches
from cloudkeep.policy.model import (
    ApplicablePolicies,
    AuthzRequest,
    Decision,
    Effect,
    GrantKind,
    Outcome,
    PolicyKind,
    PolicyRef,
    PrincipalKind,
    StatementRef,
)

RESOURCE_SCOPED = (PolicyKind.RESOURCE, PolicyKind.TRUST, PolicyKind.RCP)


def _applies(statement, policy: PolicyRef, request: AuthzRequest, has_boundary: bool):
    """None when the statement does not apply to this request; else its grant kind for an Allow
    (DIRECT for policies without a Principal element) or True for a Deny."""
    if not statement_matches(statement, request, variables=policy.policy.variables_enabled):
        return None
    if policy.policy.kind not in RESOURCE_SCOPED:
        return GrantKind.DIRECT if statement.effect is Effect.ALLOW else True
    if statement.effect is Effect.DENY:
        if statement.principal is not None:
            return True if principal_match(statement.principal, request.principal) is not None else None
        if statement.not_principal is not None:
            excluded = not_principal_excludes(statement.not_principal, request.principal,
                                              has_boundary=has_boundary)
            return None if excluded else True
        return True
    if statement.principal is not None:
        return principal_match(statement.principal, request.principal)
    if statement.not_principal is None and policy.policy.kind is PolicyKind.RCP:
        return GrantKind.DIRECT
    return None


def _scan(policies: list[PolicyRef], request: AuthzRequest, has_boundary: bool):
    """All matching Deny refs and all matching (Allow ref, grant kind) pairs, in order."""
    denies, allows = [], []
    for policy in policies:
        for statement in policy.policy.statements:
            hit = _applies(statement, policy, request, has_boundary)
            if hit is None:
                continue
            ref = StatementRef(policy.policy.kind, policy.name, statement.index, statement.sid)
            if statement.effect is Effect.DENY:
                denies.append(ref)
            else:
                allows.append((ref, hit))
    return denies, allows


def reference_evaluate(request: AuthzRequest, policies: ApplicablePolicies) -> Decision:
    principal = request.principal
    has_boundary = policies.boundary is not None
    only_resource_side = principal.kind in (PrincipalKind.ANONYMOUS, PrincipalKind.SERVICE)
    resource = [policies.resource] if policies.resource is not None else []
    boundary = [policies.boundary] if policies.boundary is not None else []
    session = list(policies.session) if policies.session is not None else []

    scp_levels = [] if only_resource_side else [_scan(list(level), request, has_boundary) for level in policies.scps]
    rcp_levels = [_scan(list(level), request, has_boundary) for level in policies.rcps]
    resource_denies, resource_allows = _scan(resource, request, has_boundary)
    identity_denies, identity_allows = _scan(list(policies.identity), request, has_boundary)
    boundary_denies, boundary_allows = _scan(boundary, request, has_boundary)
    session_denies, session_allows = _scan(session, request, has_boundary)
    if only_resource_side:
        identity_denies = boundary_denies = session_denies = []

    # 1. explicit deny anywhere
    all_denies = ([d for level in scp_levels for d in level[0]] + [d for level in rcp_levels for d in level[0]]
                  + resource_denies + identity_denies + boundary_denies + session_denies)
    if all_denies:
        return Decision(Outcome.EXPLICIT_DENY, tuple(all_denies), all_denies[0].kind)

    # 2. every RCP level must allow
    deciding = []
    for _, allows in rcp_levels:
        if not allows:
            return Decision(Outcome.IMPLICIT_DENY, (), PolicyKind.RCP)
        deciding.append(allows[0][0])

    # anonymous / service principals: only the resource side
    if only_resource_side:
        if not resource_allows:
            return Decision(Outcome.IMPLICIT_DENY, (), PolicyKind.RESOURCE)
        return Decision(Outcome.ALLOW, tuple(deciding + [resource_allows[0][0]]), None)

    # 3. every SCP level must allow
    for _, allows in scp_levels:
        if not allows:
            return Decision(Outcome.IMPLICIT_DENY, (), PolicyKind.SCP)
        deciding.append(allows[0][0])

    def caps():
        """boundary and session policies: (missing layer or None, their allow refs)"""
        refs = []
        if policies.boundary is not None:
            if not boundary_allows:
                return PolicyKind.BOUNDARY, []
            refs.append(boundary_allows[0][0])
        if policies.session is None and principal.kind is PrincipalKind.FEDERATED_USER:
            return PolicyKind.SESSION, []
        if policies.session is not None:
            if not session_allows:
                return PolicyKind.SESSION, []
            refs.append(session_allows[0][0])
        return None, refs

    def identity_path():
        if principal.kind is PrincipalKind.ROOT:
            return None, []
        if not identity_allows:
            return PolicyKind.IDENTITY, []
        missing, refs = caps()
        return missing, ([identity_allows[0][0]] + refs if missing is None else [])

    cross_account = (principal.account is not None and request.resource_account is not None
                     and principal.account != request.resource_account)
    if cross_account:
        missing, refs = identity_path()
        if missing is not None:
            return Decision(Outcome.IMPLICIT_DENY, (), missing)
        if not resource_allows:
            return Decision(Outcome.IMPLICIT_DENY, (), PolicyKind.RESOURCE)
        return Decision(Outcome.ALLOW, tuple(deciding + refs + [resource_allows[0][0]]), None)

    direct = [ref for ref, kind in resource_allows if kind is GrantKind.DIRECT]
    if direct:
        return Decision(Outcome.ALLOW, tuple(deciding + [direct[0]]), None)
    limited = [ref for ref, kind in resource_allows if kind in (GrantKind.ROLE, GrantKind.PARENT_USER)]
    grant_missing = None
    if limited:
        grant_missing, refs = caps()
        if grant_missing is None:
            return Decision(Outcome.ALLOW, tuple(deciding + [limited[0]] + refs), None)
    if policies.resource_policy_required and not resource_allows:
        return Decision(Outcome.IMPLICIT_DENY, (), PolicyKind.RESOURCE)
    missing, refs = identity_path()
    if missing is None:
        extra = [resource_allows[0][0]] if policies.resource_policy_required else []
        return Decision(Outcome.ALLOW, tuple(deciding + refs + extra), None)
    if missing is PolicyKind.IDENTITY and grant_missing is not None:
        missing = grant_missing
    return Decision(Outcome.IMPLICIT_DENY, (), missing)
