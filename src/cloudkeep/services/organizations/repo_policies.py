"""The SQL of Organizations policies: customer managed policies, their attachments to the root,
OUs and accounts, and the policy types enabled in the root. AWS managed policies are data
(``domain_policies.AWS_MANAGED``); attachments name them by id like any other.

Every write that authorization reads (a policy's document and name, attachments, enabled types)
bumps the ORGANIZATIONS authorization generation (``repository.changed``).

Must not: hold rules or build wire responses.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any, Iterable

from sqlalchemy import and_, delete, func, insert, select, update

from cloudkeep.storage.schema import org_policies, org_policy_attachments, org_policy_types, org_tags

from .domain_policies import AWS_MANAGED, OrgPolicy
from .repository import changed

_P = org_policies.c
_A = org_policy_attachments.c
_Y = org_policy_types.c


def _policy(row: Any) -> OrgPolicy:
    return OrgPolicy(policy_id=row.policy_id, policy_type=row.policy_type, name=row.name,
                     description=row.description, content=row.content, org_id=row.org_id)


def get_policy(uow: Any, org_id: str, policy_id: str) -> OrgPolicy | None:
    """A customer managed policy of the organization, or an AWS managed policy, by id."""
    if policy_id in AWS_MANAGED:
        return AWS_MANAGED[policy_id]
    row = uow.execute(select(org_policies).where(and_(_P.org_id == org_id, _P.policy_id == policy_id))).first()
    return None if row is None else _policy(row)


def customer_policies(uow: Any, org_id: str, policy_type: str) -> list[OrgPolicy]:
    return [_policy(r) for r in uow.execute(select(org_policies).where(and_(
        _P.org_id == org_id, _P.policy_type == policy_type)))]


def policies_by_id(uow: Any, org_id: str, policy_ids: Iterable[str]) -> dict[str, OrgPolicy]:
    wanted = set(policy_ids)
    out = {pid: AWS_MANAGED[pid] for pid in wanted if pid in AWS_MANAGED}
    rest = [pid for pid in wanted if pid not in AWS_MANAGED]
    if rest:
        out.update({r.policy_id: _policy(r) for r in uow.execute(select(org_policies).where(and_(
            _P.org_id == org_id, _P.policy_id.in_(rest))))})
    return out


def count_policies(uow: Any, org_id: str, policy_type: str) -> int:
    return uow.execute(select(func.count()).select_from(org_policies).where(and_(
        _P.org_id == org_id, _P.policy_type == policy_type))).scalar_one()


def name_taken(uow: Any, org_id: str, policy_type: str, name: str, *, other_than: str | None = None) -> bool:
    query = select(_P.policy_id).where(and_(_P.org_id == org_id, _P.policy_type == policy_type, _P.name == name))
    if other_than is not None:
        query = query.where(_P.policy_id != other_than)
    return uow.execute(query.limit(1)).first() is not None


def add_policy(uow: Any, policy: OrgPolicy, now: _dt.datetime) -> None:
    uow.execute(insert(org_policies).values(policy_id=policy.policy_id, org_id=policy.org_id,
                                            policy_type=policy.policy_type, name=policy.name,
                                            description=policy.description, content=policy.content, created_at=now))


def update_policy(uow: Any, policy: OrgPolicy) -> None:
    changed(uow)                     # the document, and the name authorization's explanations quote
    uow.execute(update(org_policies).where(_P.policy_id == policy.policy_id).values(
        name=policy.name, description=policy.description, content=policy.content))


def delete_policy(uow: Any, org_id: str, policy_id: str) -> None:
    changed(uow)
    uow.execute(delete(org_tags).where(and_(org_tags.c.org_id == org_id, org_tags.c.resource_id == policy_id)))
    uow.execute(delete(org_policies).where(_P.policy_id == policy_id))


# --- attachments ---------------------------------------------------------------------------------


def attached_to(uow: Any, org_id: str, target_id: str, policy_type: str | None = None) -> list[str]:
    """Ids of the policies attached to the target (of one type, or all)."""
    query = select(_A.policy_id).where(and_(_A.org_id == org_id, _A.target_id == target_id))
    if policy_type is not None:
        query = query.where(_A.policy_type == policy_type)
    return list(uow.execute(query).scalars())


def targets_of(uow: Any, org_id: str, policy_id: str) -> list[str]:
    return list(uow.execute(select(_A.target_id).where(and_(_A.org_id == org_id, _A.policy_id == policy_id)))
                .scalars())


def attachments_of_targets(uow: Any, org_id: str, target_ids: Iterable[str]) -> list[Any]:
    """(target_id, policy_id, policy_type) rows of every attachment to these targets."""
    wanted = list(target_ids)
    return list(uow.execute(select(_A.target_id, _A.policy_id, _A.policy_type).where(and_(
        _A.org_id == org_id, _A.target_id.in_(wanted)))))


def attach(uow: Any, org_id: str, target_id: str, policy: OrgPolicy, now: _dt.datetime) -> None:
    changed(uow)
    uow.execute(insert(org_policy_attachments).values(org_id=org_id, target_id=target_id,
                                                      policy_id=policy.policy_id, policy_type=policy.policy_type,
                                                      attached_at=now))


def attach_many(uow: Any, org_id: str, target_ids: Iterable[str], policy: OrgPolicy, now: _dt.datetime) -> None:
    rows = [{"org_id": org_id, "target_id": t, "policy_id": policy.policy_id, "policy_type": policy.policy_type,
             "attached_at": now} for t in target_ids]
    if rows:
        changed(uow)
        uow.execute(insert(org_policy_attachments), rows)


def detach(uow: Any, org_id: str, target_id: str, policy_id: str) -> int:
    changed(uow)
    return uow.execute(delete(org_policy_attachments).where(and_(
        _A.org_id == org_id, _A.target_id == target_id, _A.policy_id == policy_id))).rowcount


def detach_type(uow: Any, org_id: str, policy_type: str) -> None:
    changed(uow)
    uow.execute(delete(org_policy_attachments).where(and_(_A.org_id == org_id, _A.policy_type == policy_type)))


# --- policy types enabled in the root ------------------------------------------------------------


def enabled_types(uow: Any, org_id: str) -> list[str]:
    return list(uow.execute(select(_Y.policy_type).where(_Y.org_id == org_id)).scalars())


def enable_type(uow: Any, org_id: str, policy_type: str, now: _dt.datetime) -> None:
    changed(uow)
    uow.execute(insert(org_policy_types).values(org_id=org_id, policy_type=policy_type, enabled_at=now))


def disable_type(uow: Any, org_id: str, policy_type: str) -> None:
    changed(uow)
    uow.execute(delete(org_policy_types).where(and_(_Y.org_id == org_id, _Y.policy_type == policy_type)))
