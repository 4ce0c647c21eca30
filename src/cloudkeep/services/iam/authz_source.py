"""What the authorize stage needs from IAM about a principal: its identity-based policies
(inline and attached managed, its groups' too), its permissions boundary and its tags.

Must not: import the pipeline; decide anything (the policy engine does).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cloudkeep.auth.principal import Principal, PrincipalType

from .domain import name_key
from .domain_policies import SERVICE_LINKED_PATH


@dataclass(frozen=True, slots=True)
class PrincipalPolicies:
    identity: tuple[tuple[str, str], ...] = ()        # (name for explanations, document JSON)
    boundary: tuple[str, str] | None = None
    tags: dict[str, str] = field(default_factory=dict)


NONE = PrincipalPolicies()


def is_service_linked_role(role_arn: str | None) -> bool:
    """A role on the service-linked path (/aws-service-role/): exempt from SCPs and RCPs."""
    return role_arn is not None and f":role{SERVICE_LINKED_PATH}" in role_arn


def for_principal(uow: Any, principal: Principal) -> PrincipalPolicies:
    """Root and anonymous callers have no identity policies (root's are implied by the engine)."""
    if principal.type is PrincipalType.IAM_USER and principal.user_name:
        return _user(uow, principal.account_id, name_key(principal.user_name))
    if principal.type is PrincipalType.ASSUMED_ROLE and principal.parent_arn:
        return _role_session(uow, principal)
    if principal.type is PrincipalType.FEDERATED_USER and principal.parent_arn:
        return _federated_user(uow, principal)
    return NONE


def _last_segment(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def _with_session_tags(tags: dict[str, str], principal: Principal) -> dict[str, str]:
    """Session tags override the role's (or user's) tags with the same key, case-insensitively
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_session-tags.html#id_session-tags_know)."""
    lowered = {k.lower() for k, _ in principal.session_tags}
    out = {k: v for k, v in tags.items() if k.lower() not in lowered}
    out.update(principal.session_tags)
    return out


def _role_session(uow: Any, principal: Principal) -> PrincipalPolicies:
    """A role session: the role's inline and attached policies and boundary, the role's tags
    with the session tags over them (session policies travel on the Principal)."""
    from . import repo_groups_roles, repo_policies

    role_key = name_key(_last_segment(principal.parent_arn or ""))
    role = repo_groups_roles.role_row(uow, principal.account_id, role_key)
    if role is None:  # the role is gone: its sessions keep no permissions
        return PrincipalPolicies(tags=_with_session_tags({}, principal))
    identity = tuple(repo_policies.policies_for(uow, principal.account_id, "role", role_key))
    boundary = repo_policies.boundary_for(uow, principal.account_id, "role", role_key)
    return PrincipalPolicies(identity=identity, boundary=boundary,
                             tags=_with_session_tags(dict(role.tags), principal))


def _federated_user(uow: Any, principal: Principal) -> PrincipalPolicies:
    """A GetFederationToken session: "the intersection of the IAM user policies and the
    session policies" — the parent user's identity policies and boundary here, the session
    policies on the Principal (none passed: nothing is allowed, spec §7).
    https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_control-access_getfederationtoken.html"""
    parent = principal.parent_arn or ""
    if ":user/" not in parent:  # the root user federated: root has no policies to load
        return PrincipalPolicies(tags=_with_session_tags({}, principal))
    found = _user(uow, principal.account_id, name_key(_last_segment(parent)))
    return PrincipalPolicies(identity=found.identity, boundary=found.boundary,
                             tags=_with_session_tags({}, principal))


def _user(uow: Any, account_id: str, user_key: str) -> PrincipalPolicies:
    from . import repo_policies  # the policies module owns their storage
    from .repository import IamRepository

    identity = list(repo_policies.policies_for(uow, account_id, "user", user_key))
    for group_key in _groups_of(uow, account_id, user_key):
        identity += repo_policies.policies_for(uow, account_id, "group", group_key)
    boundary = repo_policies.boundary_for(uow, account_id, "user", user_key)
    tags = dict(IamRepository(uow).user_tags(account_id, user_key))
    return PrincipalPolicies(identity=tuple(identity), boundary=boundary, tags=tags)


def _groups_of(uow: Any, account_id: str, user_key: str) -> list[str]:
    from . import repo_groups_roles
    return [name_key(g.group_name) for g in repo_groups_roles.groups_for_user(uow, account_id, user_key)]
