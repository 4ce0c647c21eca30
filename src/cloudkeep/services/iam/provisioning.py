"""IAM's provisioning facade: what another service may ask IAM to set up in an account that is
not the caller's, inside the caller's transaction. AWS Organizations uses it for CreateAccount
(a new tenant whose root user has no password and no access key, and the role the management
account assumes into it), InviteAccountToOrganization (finding the invited account by its id
or email) and CloseAccount (the account's status).

Every write goes through IAM's own account, role and policy repositories, validates documents
with the policy grammar as IAM's operations do, and bumps the changed account's authorization
generation in the same transaction. The two small reads of ``accounts`` by email are here
because no IAM operation needs them.

Must not: be reachable from the wire (there is no operation here); create credentials.
"""

from __future__ import annotations

from typing import Any, Mapping

from sqlalchemy import bindparam, func, select, update

from cloudkeep.policy.model import PolicyKind
from cloudkeep.policy.parse import parse_policy
from cloudkeep.storage import generations
from cloudkeep.storage.schema import accounts

from .accounts import create_account
from .domain_groups_roles import Role
from .domain_policies import ROLE, InlinePolicy
from .repo_account import account_row
from .repo_groups_roles import GroupsRolesRepository
from .repo_policies import PolicyRepository

_BY_EMAIL = select(accounts.c.account_id).where(func.lower(accounts.c.email) == bindparam("email"))
_SET_STATUS = update(accounts).where(accounts.c.account_id == bindparam("a")).values(status=bindparam("status"))

SUSPENDED = "SUSPENDED"


def create_member_account(uow: Any, *, sealer: Any, ids: Any, clock: Any, email: str) -> str:
    """A new account with this root email, whose root user has no password and no access key
    (reachable only by assuming a role in it); returns its id."""
    return create_account(uow, sealer=sealer, ids=ids, clock=clock, email=email, root_credentials=False).account_id


def account_exists(uow: Any, account_id: str) -> bool:
    return account_row(uow, account_id) is not None


def account_email(uow: Any, account_id: str) -> str | None:
    """The root user's email of the account, or None if there is no such account."""
    row = account_row(uow, account_id)
    return None if row is None else row.email


def account_by_email(uow: Any, email: str) -> str | None:
    """The account whose root email is ``email`` (compared case-insensitively), or None."""
    return uow.execute(_BY_EMAIL, {"email": email.lower()}).scalars().first()


def set_account_status(uow: Any, account_id: str, status: str) -> None:
    """The account's status (``SUSPENDED`` once AWS Organizations has closed it)."""
    uow.execute(_SET_STATUS, {"a": account_id, "status": status})
    generations.bump(uow, account_id)


def create_role(uow: Any, *, account_id: str, partition: str, role_name: str, trust_policy: str,
                inline_policies: Mapping[str, str], ids: Any, clock: Any, description: str | None = None) -> str:
    """A role in ``account_id`` with this trust policy and inline policies (name → document);
    returns its ARN. The documents are validated like CreateRole's and PutRolePolicy's."""
    parse_policy(trust_policy, PolicyKind.TRUST)
    for document in inline_policies.values():
        parse_policy(document, PolicyKind.IDENTITY)
    role = Role.new(account_id=account_id, partition=partition, role_name=role_name, path="/",
                    role_id=ids.unique_id("AROA"), now=clock.now(), assume_role_policy=trust_policy,
                    description=description)
    GroupsRolesRepository(uow).add_role(role)
    policies = PolicyRepository(uow)
    for name, document in inline_policies.items():
        policies.put_inline(account_id, InlinePolicy(entity_type=ROLE, entity_name=role_name, name=name,
                                                     document=document))
    generations.bump(uow, account_id)
    return role.arn
