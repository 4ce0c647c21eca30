"""The SQL of IAM groups (and membership), roles (and their tags), instance profiles, and user tags.

Every query is scoped to one account. Quota and emptiness checks first lock the parent row
(``FOR UPDATE``; SQLite's single writer already serializes), so concurrent requests cannot
overrun a quota or delete an entity while a member is being added.

Public hooks for other IAM modules (policies, STS): ``group_exists``, ``role_row``,
``groups_for_user``, ``record_role_use``.

Must not: hold rules (``domain_groups_roles``) or build wire responses.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import replace
from typing import Any

from sqlalchemy import Table, and_, delete, func, insert, select, update

from cloudkeep.storage.schema import (accounts, iam_group_members, iam_groups, iam_instance_profile_roles,
                                      iam_instance_profile_tags, iam_instance_profiles, iam_role_tags, iam_roles,
                                      iam_user_tags, iam_users)

from .domain import name_key
from .domain_groups_roles import Group, InstanceProfile, Role

Tags = tuple[tuple[str, str], ...]


def _group(row: Any) -> Group:
    return Group(account_id=row.account_id, group_name=row.group_name, group_id=row.group_id, path=row.path,
                 arn=row.arn, created_at=row.created_at)


def _role(row: Any) -> Role:
    return Role(account_id=row.account_id, role_name=row.role_name, role_id=row.role_id, path=row.path,
                arn=row.arn, created_at=row.created_at, assume_role_policy=row.assume_role_policy,
                max_session_duration=row.max_session_duration, description=row.description,
                permissions_boundary_arn=row.permissions_boundary_arn, last_used_at=row.last_used_at,
                last_used_region=row.last_used_region)


def _path_filter(q: Any, column: Any, path_prefix: str) -> Any:
    if path_prefix != "/":
        q = q.where(func.substr(column, 1, len(path_prefix)) == path_prefix)
    return q


class _TagTable:
    """One tag table (user, role or instance profile tags): ordered, keys unique in any case."""

    def __init__(self, table: Table, owner: str) -> None:
        self.table, self.owner = table, owner

    def _where(self, account_id: str, key: str) -> Any:
        return and_(self.table.c.account_id == account_id, self.table.c[self.owner] == key)

    def get(self, uow: Any, account_id: str, key: str) -> Tags:
        rows = uow.execute(select(self.table.c.tag_key, self.table.c.tag_value)
                           .where(self._where(account_id, key)).order_by(self.table.c.position)).all()
        return tuple((r.tag_key, r.tag_value) for r in rows)

    def replace(self, uow: Any, account_id: str, key: str, tags: Tags) -> None:
        uow.execute(delete(self.table).where(self._where(account_id, key)))
        if tags:
            uow.execute(insert(self.table), [
                {"account_id": account_id, self.owner: key, "tag_key_lower": k.lower(), "tag_key": k,
                 "tag_value": v, "position": i} for i, (k, v) in enumerate(tags)])


USER_TAGS = _TagTable(iam_user_tags, "user_name_key")
ROLE_TAGS = _TagTable(iam_role_tags, "role_name_key")
PROFILE_TAGS = _TagTable(iam_instance_profile_tags, "instance_profile_name_key")


class GroupsRolesRepository:
    def __init__(self, uow: Any) -> None:
        self.uow = uow

    def _lock(self, table: Table, **where: str) -> bool:
        """Lock one row until commit; False when it does not exist."""
        clause = and_(*(table.c[k] == v for k, v in where.items()))
        return self.uow.execute(select(table.c.account_id).where(clause).with_for_update()).first() is not None

    def _count(self, table: Table, **where: str) -> int:
        clause = and_(*(table.c[k] == v for k, v in where.items()))
        return self.uow.execute(select(func.count()).select_from(table).where(clause)).scalar_one()

    # --- users (existence and tags) --------------------------------------------------------
    def lock_user(self, account_id: str, user_name: str) -> bool:
        return self._lock(iam_users, account_id=account_id, user_name_key=name_key(user_name))

    def user_tags(self, account_id: str, user_name: str) -> Tags:
        return USER_TAGS.get(self.uow, account_id, name_key(user_name))

    def set_user_tags(self, account_id: str, user_name: str, tags: Tags) -> None:
        USER_TAGS.replace(self.uow, account_id, name_key(user_name), tags)

    # --- groups ------------------------------------------------------------------------
    def count_groups(self, account_id: str) -> int:
        self._lock(accounts, account_id=account_id)
        return self._count(iam_groups, account_id=account_id)

    def add_group(self, group: Group) -> None:
        self.uow.execute(insert(iam_groups).values(
            account_id=group.account_id, group_name_key=name_key(group.group_name), group_name=group.group_name,
            group_id=group.group_id, path=group.path, arn=group.arn, created_at=group.created_at))

    def get_group(self, account_id: str, name: str, *, lock: bool = False) -> Group | None:
        q = select(iam_groups).where(and_(iam_groups.c.account_id == account_id,
                                          iam_groups.c.group_name_key == name_key(name)))
        row = self.uow.execute(q.with_for_update() if lock else q).first()
        return None if row is None else _group(row)

    def list_groups(self, account_id: str, *, path_prefix: str, after_key: str | None, limit: int) -> list[Group]:
        q = _path_filter(select(iam_groups).where(iam_groups.c.account_id == account_id), iam_groups.c.path,
                         path_prefix)
        if after_key is not None:
            q = q.where(iam_groups.c.group_name_key > after_key)
        return [_group(r) for r in self.uow.execute(q.order_by(iam_groups.c.group_name_key).limit(limit)).all()]

    def delete_group(self, account_id: str, name: str) -> None:
        self.uow.execute(delete(iam_groups).where(and_(iam_groups.c.account_id == account_id,
                                                       iam_groups.c.group_name_key == name_key(name))))

    def count_members(self, account_id: str, group_name: str) -> int:
        return self._count(iam_group_members, account_id=account_id, group_name_key=name_key(group_name))

    def count_groups_of_user(self, account_id: str, user_name: str) -> int:
        return self._count(iam_group_members, account_id=account_id, user_name_key=name_key(user_name))

    def is_member(self, account_id: str, group_name: str, user_name: str) -> bool:
        return self._count(iam_group_members, account_id=account_id, group_name_key=name_key(group_name),
                           user_name_key=name_key(user_name)) > 0

    def add_member(self, account_id: str, group_name: str, user_name: str, now: _dt.datetime) -> None:
        self.uow.execute(insert(iam_group_members).values(
            account_id=account_id, group_name_key=name_key(group_name), user_name_key=name_key(user_name),
            added_at=now))

    def remove_member(self, account_id: str, group_name: str, user_name: str) -> int:
        return self.uow.execute(delete(iam_group_members).where(and_(
            iam_group_members.c.account_id == account_id,
            iam_group_members.c.group_name_key == name_key(group_name),
            iam_group_members.c.user_name_key == name_key(user_name)))).rowcount

    def members(self, account_id: str, group_name: str, *, after_key: str | None, limit: int) -> list[Any]:
        """The group's users (rows of ``iam_users``) ordered by name, after ``after_key``."""
        m = iam_group_members
        q = (select(iam_users).select_from(m.join(iam_users, and_(
            iam_users.c.account_id == m.c.account_id, iam_users.c.user_name_key == m.c.user_name_key)))
            .where(and_(m.c.account_id == account_id, m.c.group_name_key == name_key(group_name))))
        if after_key is not None:
            q = q.where(iam_users.c.user_name_key > after_key)
        return self.uow.execute(q.order_by(iam_users.c.user_name_key).limit(limit)).all()

    def groups_of_user(self, account_id: str, user_name: str, *, after_key: str | None = None,
                       limit: int | None = None) -> list[Group]:
        m = iam_group_members
        q = (select(iam_groups).select_from(m.join(iam_groups, and_(
            iam_groups.c.account_id == m.c.account_id, iam_groups.c.group_name_key == m.c.group_name_key)))
            .where(and_(m.c.account_id == account_id, m.c.user_name_key == name_key(user_name))))
        if after_key is not None:
            q = q.where(iam_groups.c.group_name_key > after_key)
        q = q.order_by(iam_groups.c.group_name_key)
        if limit is not None:
            q = q.limit(limit)
        return [_group(r) for r in self.uow.execute(q).all()]

    # --- roles ---------------------------------------------------------------------------
    def count_roles(self, account_id: str) -> int:
        self._lock(accounts, account_id=account_id)
        return self._count(iam_roles, account_id=account_id)

    def add_role(self, role: Role) -> None:
        key = name_key(role.role_name)
        self.uow.execute(insert(iam_roles).values(
            account_id=role.account_id, role_name_key=key, role_name=role.role_name, role_id=role.role_id,
            path=role.path, arn=role.arn, created_at=role.created_at, assume_role_policy=role.assume_role_policy,
            description=role.description, max_session_duration=role.max_session_duration,
            permissions_boundary_arn=role.permissions_boundary_arn))
        ROLE_TAGS.replace(self.uow, role.account_id, key, role.tags)

    def get_role(self, account_id: str, name: str, *, with_tags: bool = False, lock: bool = False) -> Role | None:
        q = select(iam_roles).where(and_(iam_roles.c.account_id == account_id,
                                         iam_roles.c.role_name_key == name_key(name)))
        row = self.uow.execute(q.with_for_update() if lock else q).first()
        if row is None:
            return None
        role = _role(row)
        if with_tags:
            role = replace(role, tags=ROLE_TAGS.get(self.uow, account_id, name_key(name)))
        return role

    def list_roles(self, account_id: str, *, path_prefix: str, after_key: str | None, limit: int) -> list[Role]:
        q = _path_filter(select(iam_roles).where(iam_roles.c.account_id == account_id), iam_roles.c.path,
                         path_prefix)
        if after_key is not None:
            q = q.where(iam_roles.c.role_name_key > after_key)
        return [_role(r) for r in self.uow.execute(q.order_by(iam_roles.c.role_name_key).limit(limit)).all()]

    def update_role(self, account_id: str, name: str, **values: Any) -> None:
        """Set columns of ``iam_roles`` (assume_role_policy, description, max_session_duration, …)."""
        self.uow.execute(update(iam_roles).where(and_(iam_roles.c.account_id == account_id,
                                                      iam_roles.c.role_name_key == name_key(name)))
                         .values(**values))

    def set_role_tags(self, account_id: str, name: str, tags: Tags) -> None:
        ROLE_TAGS.replace(self.uow, account_id, name_key(name), tags)

    def delete_role(self, account_id: str, name: str) -> None:
        key = name_key(name)
        ROLE_TAGS.replace(self.uow, account_id, key, ())
        self.uow.execute(delete(iam_roles).where(and_(iam_roles.c.account_id == account_id,
                                                      iam_roles.c.role_name_key == key)))

    def count_profiles_of_role(self, account_id: str, role_name: str) -> int:
        return self._count(iam_instance_profile_roles, account_id=account_id, role_name_key=name_key(role_name))

    # --- instance profiles ------------------------------------------------------------------
    def count_profiles(self, account_id: str) -> int:
        self._lock(accounts, account_id=account_id)
        return self._count(iam_instance_profiles, account_id=account_id)

    def add_profile(self, profile: InstanceProfile) -> None:
        key = name_key(profile.instance_profile_name)
        self.uow.execute(insert(iam_instance_profiles).values(
            account_id=profile.account_id, instance_profile_name_key=key,
            instance_profile_name=profile.instance_profile_name, instance_profile_id=profile.instance_profile_id,
            path=profile.path, arn=profile.arn, created_at=profile.created_at))
        PROFILE_TAGS.replace(self.uow, profile.account_id, key, profile.tags)

    def _profile(self, row: Any) -> InstanceProfile:
        r = iam_roles
        pr = iam_instance_profile_roles
        roles = self.uow.execute(select(r).select_from(pr.join(r, and_(
            r.c.account_id == pr.c.account_id, r.c.role_name_key == pr.c.role_name_key)))
            .where(and_(pr.c.account_id == row.account_id,
                        pr.c.instance_profile_name_key == row.instance_profile_name_key))
            .order_by(r.c.role_name_key)).all()
        return InstanceProfile(account_id=row.account_id, instance_profile_name=row.instance_profile_name,
                               instance_profile_id=row.instance_profile_id, path=row.path, arn=row.arn,
                               created_at=row.created_at, roles=tuple(_role(x) for x in roles),
                               tags=PROFILE_TAGS.get(self.uow, row.account_id, row.instance_profile_name_key))

    def get_profile(self, account_id: str, name: str, *, lock: bool = False) -> InstanceProfile | None:
        q = select(iam_instance_profiles).where(and_(
            iam_instance_profiles.c.account_id == account_id,
            iam_instance_profiles.c.instance_profile_name_key == name_key(name)))
        row = self.uow.execute(q.with_for_update() if lock else q).first()
        return None if row is None else self._profile(row)

    def list_profiles(self, account_id: str, *, path_prefix: str, after_key: str | None, limit: int,
                      role_name: str | None = None) -> list[InstanceProfile]:
        p = iam_instance_profiles
        q = select(p).where(p.c.account_id == account_id)
        if role_name is not None:
            pr = iam_instance_profile_roles
            q = q.where(p.c.instance_profile_name_key.in_(
                select(pr.c.instance_profile_name_key).where(and_(
                    pr.c.account_id == account_id, pr.c.role_name_key == name_key(role_name)))))
        q = _path_filter(q, p.c.path, path_prefix)
        if after_key is not None:
            q = q.where(p.c.instance_profile_name_key > after_key)
        rows = self.uow.execute(q.order_by(p.c.instance_profile_name_key).limit(limit)).all()
        return [self._profile(r) for r in rows]

    def delete_profile(self, account_id: str, name: str) -> None:
        key = name_key(name)
        PROFILE_TAGS.replace(self.uow, account_id, key, ())
        self.uow.execute(delete(iam_instance_profiles).where(and_(
            iam_instance_profiles.c.account_id == account_id,
            iam_instance_profiles.c.instance_profile_name_key == key)))

    def add_profile_role(self, account_id: str, profile_name: str, role_name: str) -> None:
        self.uow.execute(insert(iam_instance_profile_roles).values(
            account_id=account_id, instance_profile_name_key=name_key(profile_name),
            role_name_key=name_key(role_name)))

    def remove_profile_role(self, account_id: str, profile_name: str, role_name: str) -> int:
        pr = iam_instance_profile_roles
        return self.uow.execute(delete(pr).where(and_(
            pr.c.account_id == account_id, pr.c.instance_profile_name_key == name_key(profile_name),
            pr.c.role_name_key == name_key(role_name)))).rowcount


# --- hooks for other modules (policies engine, STS) -------------------------------------------


def group_exists(uow: Any, account_id: str, name: str) -> bool:
    """Whether the account has a group of that name (any case)."""
    return GroupsRolesRepository(uow).get_group(account_id, name) is not None


def role_row(uow: Any, account_id: str, name: str) -> Role | None:
    """The role (with its tags and trust policy as stored), or None."""
    return GroupsRolesRepository(uow).get_role(account_id, name, with_tags=True)


def groups_for_user(uow: Any, account_id: str, user_name: str) -> list[Group]:
    """Every group the user is in, ordered by name (for gathering group policies)."""
    return GroupsRolesRepository(uow).groups_of_user(account_id, user_name)


def record_role_use(uow: Any, account_id: str, name: str, at: _dt.datetime, region: str) -> None:
    """RoleLastUsed: when and in which region the role was last assumed/used."""
    GroupsRolesRepository(uow).update_role(account_id, name, last_used_at=at, last_used_region=region)


def entity_policy_conflict(uow: Any, account_id: str, entity_type: str, key: str) -> str | None:
    """The DeleteConflict message when the entity still has policies, else None.

    Asks ``repo_policies.entity_has_policies(uow, account_id, entity_type, name_key)`` when that
    module defines it (entity_type: "group", "role"; name_key: the lower-cased name). It may return
    a bool, or the exact message to answer ("Cannot delete entity, must detach all policies first."
    for attached managed policies, "… must delete policies first." for inline ones)."""
    try:
        from . import repo_policies  # type: ignore[attr-defined]
        check = repo_policies.entity_has_policies
    except (ImportError, AttributeError):
        return None
    found = check(uow, account_id, entity_type, key)
    if not found:
        return None
    return found if isinstance(found, str) else "Cannot delete entity, must delete policies first."
