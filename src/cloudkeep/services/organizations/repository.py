"""The SQL of AWS Organizations' tree: organizations, their member accounts and OUs, and tags.
Policies and attachments are in ``repo_policies.py``; handshakes, CreateAccount requests,
trusted service access and delegated administrators in ``repo_handshakes.py``.

Every write here that can change who may do what (an organization made or deleted, an account
joining, leaving, moving or closing, an OU made or deleted) bumps the ORGANIZATIONS
authorization generation (storage/generations.py) in the same transaction (``changed``).

Must not: hold rules (``domain*.py``) or build wire responses.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any, Mapping

from sqlalchemy import and_, bindparam, delete, func, insert, select, update

from cloudkeep.storage import generations
from cloudkeep.storage.schema import (accounts, org_accounts, org_create_account_requests, org_delegated_admins,
                                      org_handshakes, org_organizations, org_policies, org_policy_attachments,
                                      org_policy_types, org_service_access, org_tags, org_units)

from .domain import Caller, Member, Organization, OrgUnit

_O = org_organizations.c
_M = org_accounts.c
_U = org_units.c
_T = org_tags.c


def changed(uow: Any) -> None:
    """Organizations state that authorization reads has changed (in this transaction)."""
    generations.bump(uow, generations.ORGANIZATIONS)


# --- organizations -------------------------------------------------------------------------------


def _org(row: Any) -> Organization:
    return Organization(org_id=row.org_id, management_account_id=row.management_account_id, root_id=row.root_id,
                        feature_set=row.feature_set, created_at=row.created_at)


_GET_ORG = select(org_organizations).where(_O.org_id == bindparam("org_id"))


def get_org(uow: Any, org_id: str) -> Organization | None:
    row = uow.execute(_GET_ORG, {"org_id": org_id}).first()
    return None if row is None else _org(row)


def add_org(uow: Any, org: Organization) -> None:
    changed(uow)
    uow.execute(insert(org_organizations).values(org_id=org.org_id, management_account_id=org.management_account_id,
                                                 root_id=org.root_id, feature_set=org.feature_set,
                                                 created_at=org.created_at))


def delete_org(uow: Any, org_id: str) -> None:
    """The organization and everything that belongs to it (its only member left is the
    management account)."""
    changed(uow)
    for table in (org_policy_attachments, org_policy_types, org_tags, org_policies, org_handshakes,
                  org_create_account_requests, org_delegated_admins, org_service_access, org_units, org_accounts):
        uow.execute(delete(table).where(table.c.org_id == org_id))
    uow.execute(delete(org_organizations).where(_O.org_id == org_id))


# --- members -------------------------------------------------------------------------------------

_MEMBER_COLUMNS = (org_accounts, accounts.c.email)
_MEMBERS = select(*_MEMBER_COLUMNS).join(accounts, accounts.c.account_id == _M.account_id)
_GET_MEMBER = _MEMBERS.where(_M.account_id == bindparam("account_id"))
_CALLER = (select(org_accounts, accounts.c.email, org_organizations.c.management_account_id,
                  org_organizations.c.root_id, org_organizations.c.feature_set,
                  org_organizations.c.created_at.label("org_created_at"))
           .join(accounts, accounts.c.account_id == _M.account_id)
           .join(org_organizations, _O.org_id == _M.org_id)
           .where(_M.account_id == bindparam("account_id")))
_IS_ADMIN = select(org_delegated_admins.c.account_id).where(and_(
    org_delegated_admins.c.org_id == bindparam("org_id"),
    org_delegated_admins.c.account_id == bindparam("account_id"))).limit(1)


def _member(row: Any) -> Member:
    return Member(account_id=row.account_id, org_id=row.org_id, parent_id=row.parent_id, name=row.name,
                  email=row.email, status=row.status, joined_method=row.joined_method, joined_at=row.joined_at,
                  closed_at=row.closed_at)


def get_member(uow: Any, account_id: str) -> Member | None:
    """The membership of ``account_id`` in whatever organization it belongs to."""
    row = uow.execute(_GET_MEMBER, {"account_id": account_id}).first()
    return None if row is None else _member(row)


def caller(uow: Any, account_id: str) -> Caller | None:
    """The caller's account in its organization (remembered for the transaction until it writes)."""
    memo = getattr(uow, "memo", None)
    ident = ("org-caller", account_id)
    if memo is not None and ident in memo:
        return memo[ident]
    row = uow.execute(_CALLER, {"account_id": account_id}).first()
    found = None
    if row is not None:
        org = Organization(org_id=row.org_id, management_account_id=row.management_account_id,
                           root_id=row.root_id, feature_set=row.feature_set, created_at=row.org_created_at)
        admin = uow.execute(_IS_ADMIN, {"org_id": row.org_id, "account_id": account_id}).first() is not None
        found = Caller(account_id=account_id, org=org, member=_member(row), delegated_admin=admin)
    if memo is not None:
        memo[ident] = found
    return found


def members(uow: Any, org_id: str, *, parent_id: str | None = None) -> list[Member]:
    query = _MEMBERS.where(_M.org_id == org_id)
    if parent_id is not None:
        query = query.where(_M.parent_id == parent_id)
    return [_member(r) for r in uow.execute(query)]


def count_members(uow: Any, org_id: str, *, parent_id: str | None = None) -> int:
    query = select(func.count()).select_from(org_accounts).where(_M.org_id == org_id)
    if parent_id is not None:
        query = query.where(_M.parent_id == parent_id)
    return uow.execute(query).scalar_one()


def add_member(uow: Any, member: Member) -> None:
    changed(uow)
    uow.execute(insert(org_accounts).values(account_id=member.account_id, org_id=member.org_id,
                                            parent_id=member.parent_id, name=member.name, status=member.status,
                                            joined_method=member.joined_method, joined_at=member.joined_at,
                                            closed_at=member.closed_at))


def move_member(uow: Any, account_id: str, parent_id: str) -> None:
    changed(uow)
    uow.execute(update(org_accounts).where(_M.account_id == account_id).values(parent_id=parent_id))


def close_member(uow: Any, account_id: str, status: str, at: _dt.datetime) -> None:
    changed(uow)
    uow.execute(update(org_accounts).where(_M.account_id == account_id).values(status=status, closed_at=at))


def closed_since(uow: Any, org_id: str, since: _dt.datetime) -> int:
    """Member accounts of the organization closed at or after ``since``."""
    return uow.execute(select(func.count()).select_from(org_accounts).where(and_(
        _M.org_id == org_id, _M.closed_at.is_not(None), _M.closed_at >= since))).scalar_one()


def remove_member(uow: Any, org_id: str, account_id: str) -> None:
    """The account leaves the organization: its attachments, tags and membership go; the
    account itself stays (a tenant of the server)."""
    changed(uow)
    uow.execute(delete(org_policy_attachments).where(and_(org_policy_attachments.c.org_id == org_id,
                                                          org_policy_attachments.c.target_id == account_id)))
    uow.execute(delete(org_tags).where(and_(_T.org_id == org_id, _T.resource_id == account_id)))
    uow.execute(delete(org_accounts).where(_M.account_id == account_id))


# --- OUs -----------------------------------------------------------------------------------------


def _ou(row: Any) -> OrgUnit:
    return OrgUnit(ou_id=row.ou_id, org_id=row.org_id, parent_id=row.parent_id, name=row.name, path=row.path,
                   depth=row.depth)


def get_ou(uow: Any, org_id: str, ou_id: str) -> OrgUnit | None:
    row = uow.execute(select(org_units).where(and_(_U.org_id == org_id, _U.ou_id == ou_id))).first()
    return None if row is None else _ou(row)


def ous(uow: Any, org_id: str, *, parent_id: str | None = None) -> list[OrgUnit]:
    query = select(org_units).where(_U.org_id == org_id)
    if parent_id is not None:
        query = query.where(_U.parent_id == parent_id)
    return [_ou(r) for r in uow.execute(query)]


def count_ous(uow: Any, org_id: str, *, parent_id: str | None = None) -> int:
    query = select(func.count()).select_from(org_units).where(_U.org_id == org_id)
    if parent_id is not None:
        query = query.where(_U.parent_id == parent_id)
    return uow.execute(query).scalar_one()


def ou_name_taken(uow: Any, org_id: str, parent_id: str, name: str) -> bool:
    return uow.execute(select(_U.ou_id).where(and_(_U.org_id == org_id, _U.parent_id == parent_id,
                                                   _U.name == name)).limit(1)).first() is not None


def add_ou(uow: Any, ou: OrgUnit, now: _dt.datetime) -> None:
    changed(uow)
    uow.execute(insert(org_units).values(ou_id=ou.ou_id, org_id=ou.org_id, parent_id=ou.parent_id, name=ou.name,
                                         path=ou.path, depth=ou.depth, created_at=now))


def rename_ou(uow: Any, ou_id: str, name: str) -> None:
    uow.execute(update(org_units).where(_U.ou_id == ou_id).values(name=name))


def delete_ou(uow: Any, org_id: str, ou_id: str) -> None:
    changed(uow)
    uow.execute(delete(org_policy_attachments).where(and_(org_policy_attachments.c.org_id == org_id,
                                                          org_policy_attachments.c.target_id == ou_id)))
    uow.execute(delete(org_tags).where(and_(_T.org_id == org_id, _T.resource_id == ou_id)))
    uow.execute(delete(org_units).where(_U.ou_id == ou_id))


# --- tags ----------------------------------------------------------------------------------------


def tags_of(uow: Any, org_id: str, resource_id: str) -> dict[str, str]:
    rows = uow.execute(select(_T.tag_key, _T.tag_value).where(and_(_T.org_id == org_id,
                                                                   _T.resource_id == resource_id)))
    return {r.tag_key: r.tag_value for r in rows}


def set_tags(uow: Any, org_id: str, resource_id: str, tags: Mapping[str, str]) -> None:
    uow.execute(delete(org_tags).where(and_(_T.org_id == org_id, _T.resource_id == resource_id)))
    if tags:
        uow.execute(insert(org_tags), [{"org_id": org_id, "resource_id": resource_id, "tag_key": k, "tag_value": v}
                                       for k, v in tags.items()])

