"""The SQL of IAM policies: customer managed policies, their versions and tags, inline policies,
attachments of managed policies, and permissions boundaries of users and roles.

Every query is scoped to one account. Besides ``PolicyRepository`` (used by the policy
operations), three functions serve other parts of IAM:

- ``entity_has_policies``: DeleteUser/DeleteGroup/DeleteRole refuse (DeleteConflict) while any
  inline or attached managed policy remains;
- ``policies_for`` and ``boundary_for``: the documents the authorization stage evaluates.

Must not: hold rules (``domain_policies.py``) or build wire responses.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any, Iterable

from sqlalchemy import and_, bindparam, delete, func, insert, select, update

from cloudkeep.storage.schema import (iam_groups, iam_inline_policies, iam_policies, iam_policy_attachments,
                                      iam_policy_tags, iam_policy_versions, iam_roles, iam_users)

from . import aws_managed
from .domain import name_key
from .domain_policies import (AWS_ACCOUNT, GROUP, ROLE, USER, Attachment, InlinePolicy, ManagedPolicy,
                              PolicyVersion, split_policy_arn, version_id)

#: the table, its name-key column, name column, id column of each entity type
_ENTITY = {
    USER: (iam_users, iam_users.c.user_name_key, iam_users.c.user_name, iam_users.c.user_id),
    GROUP: (iam_groups, iam_groups.c.group_name_key, iam_groups.c.group_name, iam_groups.c.group_id),
    ROLE: (iam_roles, iam_roles.c.role_name_key, iam_roles.c.role_name, iam_roles.c.role_id),
}
_BOUNDARY_OWNERS = {USER: iam_users, ROLE: iam_roles}

#: an unreadable boundary denies everything (fail closed)
_EMPTY_POLICY = '{"Version":"2012-10-17","Statement":[]}'

_ACCOUNT = bindparam("account_id")
_TYPE = bindparam("entity_type")
_KEY = bindparam("name_key")
_INLINE_OF = (select(iam_inline_policies.c.policy_name, iam_inline_policies.c.document)
              .where(and_(iam_inline_policies.c.account_id == _ACCOUNT,
                          iam_inline_policies.c.entity_type == _TYPE,
                          iam_inline_policies.c.entity_name_key == _KEY))
              .order_by(iam_inline_policies.c.policy_name_key))
_ATTACHED_OF = (select(iam_policy_attachments.c.policy_arn)
                .where(and_(iam_policy_attachments.c.account_id == _ACCOUNT,
                            iam_policy_attachments.c.entity_type == _TYPE,
                            iam_policy_attachments.c.entity_name_key == _KEY))
                .order_by(iam_policy_attachments.c.policy_arn))


def _policy(row: Any, *, attachment_count: int = 0, boundary_usage_count: int = 0,
            tags: tuple[tuple[str, str], ...] = ()) -> ManagedPolicy:
    return ManagedPolicy(account=row.account_id, name=row.policy_name, policy_id=row.policy_id, path=row.path,
                         arn=row.arn, default_version_id=row.default_version_id, created_at=row.created_at,
                         updated_at=row.updated_at, description=row.description,
                         attachment_count=attachment_count, boundary_usage_count=boundary_usage_count, tags=tags)


def _policy_key(account_id: str, name: str) -> Any:
    return and_(iam_policies.c.account_id == account_id, iam_policies.c.policy_name_key == name_key(name))


class PolicyRepository:
    def __init__(self, uow: Any) -> None:
        self.uow = uow

    # --- entities ------------------------------------------------------------------------
    def entity(self, account_id: str, entity_type: str, name: str, *, lock: bool = False) -> Any:
        """The user/group/role row (None if absent); ``lock`` holds it until commit, so quota
        checks on one entity run one after another on PostgreSQL as on SQLite."""
        table, key_col, _, _ = _ENTITY[entity_type]
        q = select(table).where(and_(table.c.account_id == account_id, key_col == name_key(name)))
        return self.uow.execute(q.with_for_update() if lock else q).first()

    def set_boundary(self, account_id: str, entity_type: str, name: str, arn: str | None) -> None:
        table, key_col, _, _ = _ENTITY[entity_type]
        self.uow.execute(update(table).where(and_(table.c.account_id == account_id, key_col == name_key(name)))
                         .values(permissions_boundary_arn=arn))

    # --- managed policies --------------------------------------------------------------------
    def get_policy(self, account_id: str, name: str, *, with_tags: bool = False,
                   lock: bool = False) -> ManagedPolicy | None:
        q = select(iam_policies).where(_policy_key(account_id, name))
        row = self.uow.execute(q.with_for_update() if lock else q).first()
        if row is None:
            return None
        tags = self.get_tags(account_id, name) if with_tags else ()
        return _policy(row, attachment_count=self.attachment_count(account_id, row.arn),
                       boundary_usage_count=self.boundary_usage_count(account_id, row.arn), tags=tags)

    def list_policies(self, account_id: str) -> list[ManagedPolicy]:
        """The account's customer managed policies with their counts."""
        attached, bounded = self.attachment_counts(account_id), self.boundary_usage_counts(account_id)
        rows = self.uow.execute(select(iam_policies).where(iam_policies.c.account_id == account_id)).all()
        return [_policy(r, attachment_count=attached.get(r.arn, 0), boundary_usage_count=bounded.get(r.arn, 0))
                for r in rows]

    def add_policy(self, policy: ManagedPolicy, document: str) -> None:
        """Raises the storage layer's unique violation if the name (any case) is taken."""
        key = name_key(policy.name)
        self.uow.execute(insert(iam_policies).values(
            account_id=policy.account, policy_name_key=key, policy_name=policy.name, policy_id=policy.policy_id,
            path=policy.path, arn=policy.arn, description=policy.description,
            default_version_id=policy.default_version_id, next_version=2, created_at=policy.created_at,
            updated_at=policy.updated_at))
        self.add_version(policy.account, policy.name, 1, document, policy.created_at)
        self.add_tags(policy.account, policy.name, policy.tags)

    def delete_policy(self, account_id: str, name: str) -> None:
        key = name_key(name)
        for table in (iam_policy_tags, iam_policy_versions):
            self.uow.execute(delete(table).where(and_(table.c.account_id == account_id,
                                                      table.c.policy_name_key == key)))
        self.uow.execute(delete(iam_policies).where(_policy_key(account_id, name)))

    def next_version(self, account_id: str, name: str) -> int:
        return self.uow.execute(select(iam_policies.c.next_version)
                                .where(_policy_key(account_id, name))).scalar_one()

    def set_default(self, account_id: str, name: str, number: int) -> None:
        self.uow.execute(update(iam_policies).where(_policy_key(account_id, name))
                         .values(default_version_id=version_id(number)))

    # --- versions ------------------------------------------------------------------------
    def add_version(self, account_id: str, name: str, number: int, document: str, now: _dt.datetime) -> None:
        """Adds version ``number``; the policy's UpdateDate becomes its creation time (IAM: the
        date of the most recent version)."""
        self.uow.execute(insert(iam_policy_versions).values(
            account_id=account_id, policy_name_key=name_key(name), version_num=number, document=document,
            created_at=now))
        self.uow.execute(update(iam_policies).where(_policy_key(account_id, name))
                         .values(next_version=number + 1, updated_at=now))

    def _versions_where(self, account_id: str, name: str) -> Any:
        return and_(iam_policy_versions.c.account_id == account_id,
                    iam_policy_versions.c.policy_name_key == name_key(name))

    def list_versions(self, account_id: str, policy: ManagedPolicy) -> list[PolicyVersion]:
        """Newest first, as IAM lists them."""
        rows = self.uow.execute(select(iam_policy_versions).where(self._versions_where(account_id, policy.name))
                                .order_by(iam_policy_versions.c.version_num.desc())).all()
        return [PolicyVersion(number=r.version_num, document=r.document,
                              is_default=version_id(r.version_num) == policy.default_version_id,
                              created_at=r.created_at) for r in rows]

    def get_version(self, account_id: str, policy: ManagedPolicy, number: int) -> PolicyVersion | None:
        row = self.uow.execute(select(iam_policy_versions).where(and_(
            self._versions_where(account_id, policy.name), iam_policy_versions.c.version_num == number))).first()
        if row is None:
            return None
        return PolicyVersion(number=row.version_num, document=row.document,
                             is_default=version_id(number) == policy.default_version_id, created_at=row.created_at)

    def count_versions(self, account_id: str, name: str) -> int:
        return self.uow.execute(select(func.count()).select_from(iam_policy_versions)
                                .where(self._versions_where(account_id, name))).scalar_one()

    def delete_version(self, account_id: str, name: str, number: int) -> int:
        return self.uow.execute(delete(iam_policy_versions).where(and_(
            self._versions_where(account_id, name), iam_policy_versions.c.version_num == number))).rowcount

    def default_document(self, account_id: str, name: str) -> str | None:
        row = self.uow.execute(select(iam_policies.c.default_version_id).where(_policy_key(account_id, name))).first()
        if row is None:
            return None
        return self.uow.execute(select(iam_policy_versions.c.document).where(and_(
            self._versions_where(account_id, name),
            iam_policy_versions.c.version_num == int(row.default_version_id[1:])))).scalar_one_or_none()

    # --- tags ----------------------------------------------------------------------------
    def get_tags(self, account_id: str, name: str) -> tuple[tuple[str, str], ...]:
        rows = self.uow.execute(select(iam_policy_tags.c.tag_key, iam_policy_tags.c.tag_value).where(and_(
            iam_policy_tags.c.account_id == account_id, iam_policy_tags.c.policy_name_key == name_key(name)))
            .order_by(iam_policy_tags.c.position)).all()
        return tuple((r.tag_key, r.tag_value) for r in rows)

    def add_tags(self, account_id: str, name: str, tags: Iterable[tuple[str, str]], start: int = 0) -> None:
        rows = [{"account_id": account_id, "policy_name_key": name_key(name), "tag_key_lower": k.lower(),
                 "tag_key": k, "tag_value": v, "position": start + i} for i, (k, v) in enumerate(tags)]
        if rows:
            self.uow.execute(insert(iam_policy_tags), rows)

    def replace_tags(self, account_id: str, name: str, tags: Iterable[tuple[str, str]]) -> None:
        self.uow.execute(delete(iam_policy_tags).where(and_(
            iam_policy_tags.c.account_id == account_id, iam_policy_tags.c.policy_name_key == name_key(name))))
        self.add_tags(account_id, name, tags)

    def remove_tags(self, account_id: str, name: str, keys: Iterable[str]) -> None:
        lowered = [k.lower() for k in keys]
        if lowered:
            self.uow.execute(delete(iam_policy_tags).where(and_(
                iam_policy_tags.c.account_id == account_id, iam_policy_tags.c.policy_name_key == name_key(name),
                iam_policy_tags.c.tag_key_lower.in_(lowered))))

    # --- inline policies -------------------------------------------------------------------
    def _inline_where(self, account_id: str, entity_type: str, entity_name: str) -> Any:
        return and_(iam_inline_policies.c.account_id == account_id,
                    iam_inline_policies.c.entity_type == entity_type,
                    iam_inline_policies.c.entity_name_key == name_key(entity_name))

    def inline_sizes(self, account_id: str, entity_type: str, entity_name: str) -> dict[str, int]:
        """Size of each inline policy of the entity, by policy name key."""
        rows = self.uow.execute(select(iam_inline_policies.c.policy_name_key, iam_inline_policies.c.size)
                                .where(self._inline_where(account_id, entity_type, entity_name))).all()
        return {r.policy_name_key: r.size for r in rows}

    def put_inline(self, account_id: str, policy: InlinePolicy) -> None:
        where = and_(self._inline_where(account_id, policy.entity_type, policy.entity_name),
                     iam_inline_policies.c.policy_name_key == name_key(policy.name))
        self.uow.execute(delete(iam_inline_policies).where(where))
        self.uow.execute(insert(iam_inline_policies).values(
            account_id=account_id, entity_type=policy.entity_type, entity_name_key=name_key(policy.entity_name),
            policy_name_key=name_key(policy.name), policy_name=policy.name, document=policy.document,
            size=policy.size))

    def get_inline(self, account_id: str, entity_type: str, entity_name: str, name: str) -> Any:
        return self.uow.execute(select(iam_inline_policies).where(and_(
            self._inline_where(account_id, entity_type, entity_name),
            iam_inline_policies.c.policy_name_key == name_key(name)))).first()

    def delete_inline(self, account_id: str, entity_type: str, entity_name: str, name: str) -> int:
        return self.uow.execute(delete(iam_inline_policies).where(and_(
            self._inline_where(account_id, entity_type, entity_name),
            iam_inline_policies.c.policy_name_key == name_key(name)))).rowcount

    def list_inline_names(self, account_id: str, entity_type: str, entity_name: str) -> list[str]:
        return list(self.uow.execute(select(iam_inline_policies.c.policy_name)
                                     .where(self._inline_where(account_id, entity_type, entity_name))
                                     .order_by(iam_inline_policies.c.policy_name_key)).scalars())

    # --- attachments -------------------------------------------------------------------------
    def _attached_where(self, account_id: str, entity_type: str, entity_name: str) -> Any:
        return and_(iam_policy_attachments.c.account_id == account_id,
                    iam_policy_attachments.c.entity_type == entity_type,
                    iam_policy_attachments.c.entity_name_key == name_key(entity_name))

    def list_attached(self, account_id: str, entity_type: str, entity_name: str) -> list[Attachment]:
        rows = self.uow.execute(select(iam_policy_attachments)
                                .where(self._attached_where(account_id, entity_type, entity_name))
                                .order_by(iam_policy_attachments.c.policy_name,
                                          iam_policy_attachments.c.policy_arn)).all()
        return [Attachment(entity_type=r.entity_type, entity_name_key=r.entity_name_key, policy_arn=r.policy_arn,
                           policy_name=r.policy_name, policy_path=r.policy_path) for r in rows]

    def attach(self, account_id: str, entity_type: str, entity_name: str, policy: ManagedPolicy,
               now: _dt.datetime) -> None:
        self.uow.execute(insert(iam_policy_attachments).values(
            account_id=account_id, entity_type=entity_type, entity_name_key=name_key(entity_name),
            policy_arn=policy.arn, policy_name=policy.name, policy_path=policy.path, attached_at=now))

    def detach(self, account_id: str, entity_type: str, entity_name: str, arn: str) -> int:
        return self.uow.execute(delete(iam_policy_attachments).where(and_(
            self._attached_where(account_id, entity_type, entity_name),
            iam_policy_attachments.c.policy_arn == arn))).rowcount

    def attachment_count(self, account_id: str, arn: str) -> int:
        return self.uow.execute(select(func.count()).select_from(iam_policy_attachments).where(and_(
            iam_policy_attachments.c.account_id == account_id,
            iam_policy_attachments.c.policy_arn == arn))).scalar_one()

    def attachment_counts(self, account_id: str) -> dict[str, int]:
        rows = self.uow.execute(select(iam_policy_attachments.c.policy_arn, func.count())
                                .where(iam_policy_attachments.c.account_id == account_id)
                                .group_by(iam_policy_attachments.c.policy_arn)).all()
        return {arn: n for arn, n in rows}

    def boundary_usage_count(self, account_id: str, arn: str) -> int:
        return sum(self.uow.execute(select(func.count()).select_from(t).where(and_(
            t.c.account_id == account_id, t.c.permissions_boundary_arn == arn))).scalar_one()
            for t in _BOUNDARY_OWNERS.values())

    def boundary_usage_counts(self, account_id: str) -> dict[str, int]:
        counts: dict[str, int] = {}
        for t in _BOUNDARY_OWNERS.values():
            rows = self.uow.execute(select(t.c.permissions_boundary_arn, func.count()).where(and_(
                t.c.account_id == account_id, t.c.permissions_boundary_arn.is_not(None)))
                .group_by(t.c.permissions_boundary_arn)).all()
            for arn, n in rows:
                counts[arn] = counts.get(arn, 0) + n
        return counts

    def entities_for_policy(self, account_id: str, arn: str, entity_type: str, *, boundary: bool) -> list[Any]:
        """(name, id, path) rows of the entities of one type that have the policy attached
        (``boundary=False``) or as their permissions boundary (``boundary=True``), by name."""
        table, key_col, name_col, id_col = _ENTITY[entity_type]
        q = select(name_col.label("name"), id_col.label("id"), table.c.path.label("path"))
        if boundary:
            q = q.where(and_(table.c.account_id == account_id, table.c.permissions_boundary_arn == arn))
        else:
            q = q.select_from(table.join(iam_policy_attachments, and_(
                iam_policy_attachments.c.account_id == table.c.account_id,
                iam_policy_attachments.c.entity_type == entity_type,
                iam_policy_attachments.c.entity_name_key == key_col))).where(and_(
                    table.c.account_id == account_id, iam_policy_attachments.c.policy_arn == arn))
        return list(self.uow.execute(q.order_by(key_col)).all())


# --- for other parts of IAM and the authorization stage ---------------------------------------


def entity_has_policies(uow: Any, account_id: str, entity_type: str, name_key: str) -> bool:
    """True while the user/group/role has an inline policy or an attached managed policy."""
    params = {"account_id": account_id, "entity_type": entity_type, "name_key": name_key}
    return (uow.execute(_ATTACHED_OF.limit(1), params).first() is not None
            or uow.execute(_INLINE_OF.limit(1), params).first() is not None)


def _managed_document(uow: Any, account_id: str, arn: str, partition: str) -> str | None:
    parts = split_policy_arn(arn, partition)
    if parts is None:
        return None
    account, path, name = parts
    if account == AWS_ACCOUNT:
        found = aws_managed.find(path, name)
        return found.document if found is not None else None
    if account != account_id:
        return None
    return PolicyRepository(uow).default_document(account_id, name)


def _partition(arn: str) -> str:
    return arn.split(":", 2)[1] if arn.count(":") >= 2 else "aws"


def policies_for(uow: Any, account_id: str, entity_type: str, name_key: str) -> list[tuple[str, str]]:
    """The entity's identity policies as (name for explanations, document text): its inline
    policies (by policy name) then its attached managed policies' default versions (by ARN)."""
    params = {"account_id": account_id, "entity_type": entity_type, "name_key": name_key}
    out = [(row.policy_name, row.document) for row in uow.execute(_INLINE_OF, params)]
    for arn in uow.execute(_ATTACHED_OF, params).scalars().all():
        document = _managed_document(uow, account_id, arn, _partition(arn))
        if document is not None:
            out.append((arn, document))
    return out


def boundary_for(uow: Any, account_id: str, entity_type: str, name_key: str) -> tuple[str, str] | None:
    """The permissions boundary of a user or role as (policy ARN, document text), or None.
    A boundary whose document cannot be read yields a policy that allows nothing."""
    table = _BOUNDARY_OWNERS.get(entity_type)
    if table is None:
        return None
    _, key_col, _, _ = _ENTITY[entity_type]
    arn = uow.execute(select(table.c.permissions_boundary_arn).where(and_(
        table.c.account_id == account_id, key_col == name_key))).scalar_one_or_none()
    if not arn:
        return None
    return arn, _managed_document(uow, account_id, arn, _partition(arn)) or _EMPTY_POLICY
