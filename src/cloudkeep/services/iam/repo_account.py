"""The SQL of IAM's account-level state: login profiles, the password policy, account aliases,
virtual MFA devices and credential reports; and the read-only gathering GetAccountSummary,
the credential report and GetAccountAuthorizationDetails need (a few bulk queries per account,
never one query per entity).

Every query is scoped to one account, except the global uniqueness of account aliases.
Public hook for other IAM modules: ``user_delete_conflict`` (DeleteUser must refuse while a
login profile or an MFA device remains).

Must not: hold rules (``domain_account``) or build wire responses.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections import defaultdict
from typing import Any

from sqlalchemy import and_, delete, func, insert, select, update

from cloudkeep.storage.schema import (access_keys, accounts, iam_account_aliases, iam_credential_reports,
                                      iam_group_members, iam_groups, iam_inline_policies,
                                      iam_instance_profile_roles, iam_instance_profiles, iam_login_profiles,
                                      iam_mfa_devices, iam_password_policies, iam_policies,
                                      iam_policy_attachments, iam_policy_versions, iam_role_tags, iam_roles,
                                      iam_user_tags, iam_users)

from .domain import name_key
from .domain_account import OWNER_ROOT, OWNER_USER, LoginProfile, MfaDevice, PasswordPolicy

# --- login profiles ------------------------------------------------------------------------------


def _profile_where(account_id: str, user_name: str) -> Any:
    return and_(iam_login_profiles.c.account_id == account_id,
                iam_login_profiles.c.user_name_key == name_key(user_name))


def get_login_profile(uow: Any, account_id: str, user_name: str) -> tuple[LoginProfile, str] | None:
    """The profile (named as the user is) and its password hash."""
    row = uow.execute(select(iam_login_profiles, iam_users.c.user_name)
                      .select_from(iam_login_profiles.join(iam_users, and_(
                          iam_users.c.account_id == iam_login_profiles.c.account_id,
                          iam_users.c.user_name_key == iam_login_profiles.c.user_name_key)))
                      .where(_profile_where(account_id, user_name))).first()
    if row is None:
        return None
    return LoginProfile(user_name=row.user_name, created_at=row.created_at,
                        password_reset_required=row.password_reset_required,
                        password_changed_at=row.password_changed_at), row.password_hash


def add_login_profile(uow: Any, account_id: str, user_name: str, password_hash: str, reset: bool,
                      now: _dt.datetime) -> None:
    """Raises the storage layer's unique violation if the user already has one."""
    uow.execute(insert(iam_login_profiles).values(
        account_id=account_id, user_name_key=name_key(user_name), password_hash=password_hash,
        password_reset_required=reset, created_at=now, password_changed_at=now))


def update_login_profile(uow: Any, account_id: str, user_name: str, **values: Any) -> int:
    return uow.execute(update(iam_login_profiles).where(_profile_where(account_id, user_name))
                       .values(**values)).rowcount


def delete_login_profile(uow: Any, account_id: str, user_name: str) -> int:
    return uow.execute(delete(iam_login_profiles).where(_profile_where(account_id, user_name))).rowcount


def user_delete_conflict(uow: Any, account_id: str, user_name: str) -> str | None:
    """DeleteUser's DeleteConflict message while the user has a login profile or an MFA device
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_users_remove.html), else None."""
    key = name_key(user_name)
    if uow.execute(select(iam_login_profiles.c.account_id).where(_profile_where(account_id, user_name))).first():
        return "Cannot delete entity, must delete login profile first."
    if uow.execute(select(iam_mfa_devices.c.account_id).where(and_(
            iam_mfa_devices.c.account_id == account_id, iam_mfa_devices.c.owner_type == OWNER_USER,
            iam_mfa_devices.c.user_name_key == key))).first():
        return "Cannot delete entity, must delete MFA device first."
    return None


# --- password policy -----------------------------------------------------------------------------


def get_password_policy(uow: Any, account_id: str) -> PasswordPolicy | None:
    row = uow.execute(select(iam_password_policies)
                      .where(iam_password_policies.c.account_id == account_id)).first()
    if row is None:
        return None
    return PasswordPolicy(minimum_password_length=row.minimum_password_length,
                          require_symbols=row.require_symbols, require_numbers=row.require_numbers,
                          require_uppercase=row.require_uppercase, require_lowercase=row.require_lowercase,
                          allow_users_to_change_password=row.allow_users_to_change_password,
                          max_password_age=row.max_password_age,
                          password_reuse_prevention=row.password_reuse_prevention, hard_expiry=row.hard_expiry)


def put_password_policy(uow: Any, account_id: str, policy: PasswordPolicy) -> None:
    values = dict(minimum_password_length=policy.minimum_password_length, require_symbols=policy.require_symbols,
                  require_numbers=policy.require_numbers, require_uppercase=policy.require_uppercase,
                  require_lowercase=policy.require_lowercase,
                  allow_users_to_change_password=policy.allow_users_to_change_password,
                  max_password_age=policy.max_password_age,
                  password_reuse_prevention=policy.password_reuse_prevention, hard_expiry=policy.hard_expiry)
    # lock the account row: concurrent updates run one after another (PostgreSQL READ COMMITTED)
    uow.execute(select(accounts.c.account_id).where(accounts.c.account_id == account_id).with_for_update())
    done = uow.execute(update(iam_password_policies).where(iam_password_policies.c.account_id == account_id)
                       .values(**values)).rowcount
    if not done:
        uow.execute(insert(iam_password_policies).values(account_id=account_id, **values))


def delete_password_policy(uow: Any, account_id: str) -> int:
    return uow.execute(delete(iam_password_policies)
                       .where(iam_password_policies.c.account_id == account_id)).rowcount


# --- account aliases -----------------------------------------------------------------------------


def account_alias(uow: Any, account_id: str) -> str | None:
    return uow.execute(select(iam_account_aliases.c.alias)
                       .where(iam_account_aliases.c.account_id == account_id)).scalar_one_or_none()


def alias_taken(uow: Any, alias: str) -> bool:
    return uow.execute(select(iam_account_aliases.c.account_id)
                       .where(iam_account_aliases.c.alias == alias)).first() is not None


def lock_account(uow: Any, account_id: str) -> None:
    uow.execute(select(accounts.c.account_id).where(accounts.c.account_id == account_id).with_for_update())


def add_alias(uow: Any, account_id: str, alias: str, now: _dt.datetime) -> None:
    """Raises the storage layer's unique violation if the alias (or this account's one) exists."""
    uow.execute(insert(iam_account_aliases).values(alias=alias, account_id=account_id, created_at=now))


def delete_alias(uow: Any, account_id: str, alias: str) -> int:
    return uow.execute(delete(iam_account_aliases).where(and_(
        iam_account_aliases.c.account_id == account_id, iam_account_aliases.c.alias == alias))).rowcount


# --- MFA devices ---------------------------------------------------------------------------------


def _device(row: Any, user_name: str | None) -> MfaDevice:
    tags = tuple((k, v) for k, v in json.loads(row.tags)) if row.tags else ()
    return MfaDevice(account_id=row.account_id, serial_number=row.serial_number, created_at=row.created_at,
                     owner_type=row.owner_type, user_name=user_name, enabled_at=row.enabled_at,
                     last_step=row.last_step, tags=tags)


def _devices_query() -> Any:
    return (select(iam_mfa_devices, iam_users.c.user_name.label("owner_name"))
            .select_from(iam_mfa_devices.outerjoin(iam_users, and_(
                iam_users.c.account_id == iam_mfa_devices.c.account_id,
                iam_users.c.user_name_key == iam_mfa_devices.c.user_name_key))))


def add_device(uow: Any, account_id: str, name: str, serial: str, seed_sealed: bytes, now: _dt.datetime,
               tags: tuple[tuple[str, str], ...]) -> None:
    """Raises the storage layer's unique violation if the name (any case) or serial exists."""
    uow.execute(insert(iam_mfa_devices).values(
        account_id=account_id, device_name_key=name.lower(), serial_number=serial, seed_sealed=seed_sealed,
        created_at=now, tags=json.dumps([list(t) for t in tags]) if tags else None))


def device_exists(uow: Any, account_id: str, name: str) -> bool:
    return uow.execute(select(iam_mfa_devices.c.serial_number).where(and_(
        iam_mfa_devices.c.account_id == account_id,
        iam_mfa_devices.c.device_name_key == name.lower()))).first() is not None


def get_device(uow: Any, account_id: str, serial: str, *, lock: bool = False) -> tuple[MfaDevice, bytes] | None:
    """The device of that serial number in this account and its sealed seed (``lock``: held
    until commit, so two requests cannot both accept one code)."""
    q = _devices_query().where(and_(iam_mfa_devices.c.account_id == account_id,
                                    iam_mfa_devices.c.serial_number == serial))
    row = uow.execute(q.with_for_update(of=iam_mfa_devices) if lock else q).first()
    if row is None:
        return None
    return _device(row, row.owner_name), row.seed_sealed


def list_devices(uow: Any, account_id: str) -> list[MfaDevice]:
    rows = uow.execute(_devices_query().where(iam_mfa_devices.c.account_id == account_id)
                       .order_by(iam_mfa_devices.c.serial_number)).all()
    return [_device(r, r.owner_name) for r in rows]


def devices_of(uow: Any, account_id: str, user_name: str | None) -> list[MfaDevice]:
    """The devices assigned to a user (``None``: the root user), by serial number."""
    owner = (and_(iam_mfa_devices.c.owner_type == OWNER_USER, iam_mfa_devices.c.user_name_key == name_key(user_name))
             if user_name is not None else iam_mfa_devices.c.owner_type == OWNER_ROOT)
    rows = uow.execute(_devices_query().where(and_(iam_mfa_devices.c.account_id == account_id, owner))
                       .order_by(iam_mfa_devices.c.serial_number)).all()
    return [_device(r, r.owner_name) for r in rows]


def assign_device(uow: Any, account_id: str, serial: str, user_name: str | None, now: _dt.datetime,
                  step: int) -> None:
    uow.execute(update(iam_mfa_devices).where(and_(iam_mfa_devices.c.account_id == account_id,
                                                   iam_mfa_devices.c.serial_number == serial))
                .values(owner_type=OWNER_USER if user_name is not None else OWNER_ROOT,
                        user_name_key=name_key(user_name) if user_name is not None else None,
                        enabled_at=now, last_step=step))


def unassign_device(uow: Any, account_id: str, serial: str) -> None:
    uow.execute(update(iam_mfa_devices).where(and_(iam_mfa_devices.c.account_id == account_id,
                                                   iam_mfa_devices.c.serial_number == serial))
                .values(owner_type=None, user_name_key=None, enabled_at=None, last_step=None))


def set_last_step(uow: Any, account_id: str, serial: str, step: int) -> None:
    uow.execute(update(iam_mfa_devices).where(and_(iam_mfa_devices.c.account_id == account_id,
                                                   iam_mfa_devices.c.serial_number == serial))
                .values(last_step=step))


def delete_device(uow: Any, account_id: str, serial: str) -> int:
    return uow.execute(delete(iam_mfa_devices).where(and_(iam_mfa_devices.c.account_id == account_id,
                                                          iam_mfa_devices.c.serial_number == serial))).rowcount


# --- credential reports --------------------------------------------------------------------------


def get_report(uow: Any, account_id: str) -> tuple[_dt.datetime, str] | None:
    row = uow.execute(select(iam_credential_reports)
                      .where(iam_credential_reports.c.account_id == account_id)).first()
    return None if row is None else (row.generated_at, row.content)


def put_report(uow: Any, account_id: str, at: _dt.datetime, content: str) -> None:
    lock_account(uow, account_id)
    uow.execute(delete(iam_credential_reports).where(iam_credential_reports.c.account_id == account_id))
    uow.execute(insert(iam_credential_reports).values(account_id=account_id, generated_at=at, content=content))


# --- reading the whole account -------------------------------------------------------------------


def _count(uow: Any, table: Any, *where: Any) -> int:
    return uow.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


def summary_counts(uow: Any, account_id: str) -> dict[str, int]:
    def n(table: Any, *where: Any) -> int:
        return _count(uow, table, table.c.account_id == account_id, *where)

    return {
        "Users": n(iam_users), "Groups": n(iam_groups), "Roles": n(iam_roles), "Policies": n(iam_policies),
        "InstanceProfiles": n(iam_instance_profiles), "MFADevices": n(iam_mfa_devices),
        "MFADevicesInUse": n(iam_mfa_devices, iam_mfa_devices.c.owner_type.is_not(None)),
        "PolicyVersionsInUse": n(iam_policy_attachments),
        "AccountMFAEnabled": min(1, n(iam_mfa_devices, iam_mfa_devices.c.owner_type == OWNER_ROOT)),
        "AccountAccessKeysPresent": min(1, n(access_keys, access_keys.c.user_name_key.is_(None))),
    }


def all_users(uow: Any, account_id: str) -> list[Any]:
    return list(uow.execute(select(iam_users).where(iam_users.c.account_id == account_id)
                            .order_by(iam_users.c.user_name_key)).all())


def all_keys(uow: Any, account_id: str) -> dict[str | None, list[Any]]:
    """Access keys by owner name key (None: root), oldest first."""
    out: dict[str | None, list[Any]] = defaultdict(list)
    for row in uow.execute(select(access_keys).where(access_keys.c.account_id == account_id)
                           .order_by(access_keys.c.created_at, access_keys.c.access_key_id)):
        out[row.user_name_key].append(row)
    return out


def all_login_profiles(uow: Any, account_id: str) -> dict[str, Any]:
    return {r.user_name_key: r for r in uow.execute(
        select(iam_login_profiles).where(iam_login_profiles.c.account_id == account_id))}


def mfa_owners(uow: Any, account_id: str) -> set[str | None]:
    """Name keys of users with an MFA device (None for the root user)."""
    rows = uow.execute(select(iam_mfa_devices.c.owner_type, iam_mfa_devices.c.user_name_key).where(and_(
        iam_mfa_devices.c.account_id == account_id, iam_mfa_devices.c.owner_type.is_not(None))))
    return {None if r.owner_type == OWNER_ROOT else r.user_name_key for r in rows}


def account_row(uow: Any, account_id: str) -> Any:
    return uow.execute(select(accounts).where(accounts.c.account_id == account_id)).first()


def all_groups(uow: Any, account_id: str) -> list[Any]:
    return list(uow.execute(select(iam_groups).where(iam_groups.c.account_id == account_id)
                            .order_by(iam_groups.c.group_name_key)).all())


def all_roles(uow: Any, account_id: str) -> list[Any]:
    return list(uow.execute(select(iam_roles).where(iam_roles.c.account_id == account_id)
                            .order_by(iam_roles.c.role_name_key)).all())


def all_tags(uow: Any, account_id: str, table: Any, owner: str) -> dict[str, list[tuple[str, str]]]:
    out: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for r in uow.execute(select(table).where(table.c.account_id == account_id).order_by(table.c.position)):
        out[r._mapping[owner]].append((r.tag_key, r.tag_value))
    return out


def user_tags_by_key(uow: Any, account_id: str) -> dict[str, list[tuple[str, str]]]:
    return all_tags(uow, account_id, iam_user_tags, "user_name_key")


def role_tags_by_key(uow: Any, account_id: str) -> dict[str, list[tuple[str, str]]]:
    return all_tags(uow, account_id, iam_role_tags, "role_name_key")


def memberships(uow: Any, account_id: str) -> dict[str, list[str]]:
    """User name key → names of its groups."""
    out: dict[str, list[str]] = defaultdict(list)
    rows = uow.execute(select(iam_group_members.c.user_name_key, iam_groups.c.group_name)
                       .select_from(iam_group_members.join(iam_groups, and_(
                           iam_groups.c.account_id == iam_group_members.c.account_id,
                           iam_groups.c.group_name_key == iam_group_members.c.group_name_key)))
                       .where(iam_group_members.c.account_id == account_id).order_by(iam_groups.c.group_name_key))
    for r in rows:
        out[r.user_name_key].append(r.group_name)
    return out


def inline_policies(uow: Any, account_id: str) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """(entity type, name key) → [(policy name, document)]."""
    out: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for r in uow.execute(select(iam_inline_policies).where(iam_inline_policies.c.account_id == account_id)
                         .order_by(iam_inline_policies.c.policy_name_key)):
        out[(r.entity_type, r.entity_name_key)].append((r.policy_name, r.document))
    return out


def attachments(uow: Any, account_id: str) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """(entity type, name key) → [(policy name, policy ARN)]."""
    out: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for r in uow.execute(select(iam_policy_attachments).where(iam_policy_attachments.c.account_id == account_id)
                         .order_by(iam_policy_attachments.c.policy_arn)):
        out[(r.entity_type, r.entity_name_key)].append((r.policy_name, r.policy_arn))
    return out


def profiles_of_roles(uow: Any, account_id: str) -> dict[str, list[Any]]:
    """Role name key → its instance profile rows."""
    out: dict[str, list[Any]] = defaultdict(list)
    rows = uow.execute(select(iam_instance_profiles, iam_instance_profile_roles.c.role_name_key)
                       .select_from(iam_instance_profiles.join(iam_instance_profile_roles, and_(
                           iam_instance_profile_roles.c.account_id == iam_instance_profiles.c.account_id,
                           iam_instance_profile_roles.c.instance_profile_name_key
                           == iam_instance_profiles.c.instance_profile_name_key)))
                       .where(iam_instance_profiles.c.account_id == account_id))
    for r in rows:
        out[r.role_name_key].append(r)
    return out


def policy_versions(uow: Any, account_id: str) -> dict[str, list[Any]]:
    """Customer managed policy name key → its version rows, by number."""
    out: dict[str, list[Any]] = defaultdict(list)
    for r in uow.execute(select(iam_policy_versions).where(iam_policy_versions.c.account_id == account_id)
                         .order_by(iam_policy_versions.c.version_num)):
        out[r.policy_name_key].append(r)
    return out
