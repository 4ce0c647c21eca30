"""What the authorize stage needs from IAM about a principal: its identity-based policies
(inline and attached managed, its groups' too), its permissions boundary and its tags.

Must not: import the pipeline; decide anything (the policy engine does).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cloudkeep.auth.principal import Principal, PrincipalType

from .domain import name_key


@dataclass(frozen=True, slots=True)
class PrincipalPolicies:
    identity: tuple[tuple[str, str], ...] = ()        # (name for explanations, document JSON)
    boundary: tuple[str, str] | None = None
    tags: dict[str, str] = field(default_factory=dict)


NONE = PrincipalPolicies()


def for_principal(uow: Any, principal: Principal) -> PrincipalPolicies:
    """Root and anonymous callers have no identity policies (root's are implied by the engine)."""
    if principal.type is PrincipalType.IAM_USER and principal.user_name:
        return _user(uow, principal.account_id, name_key(principal.user_name))
    return NONE


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
    return list(repo_groups_roles.groups_of_user(uow, account_id, user_key))
