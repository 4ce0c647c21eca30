"""The only SQL of the IAM service: users, access keys and accounts' root users.

Every query is scoped to one account: an account never sees another's rows.

Must not: hold rules (they live in ``domain.py``) or build wire responses.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import replace
from typing import Any, Sequence

from sqlalchemy import and_, bindparam, delete, func, insert, select, update

from cloudkeep.storage.schema import access_keys, accounts, iam_user_tags, iam_users

from .domain import AccessKey, User, name_key


def _user(row: Any) -> User:
    return User(account_id=row.account_id, user_name=row.user_name, user_id=row.user_id,
                path=row.path, arn=row.arn, created_at=row.created_at,
                permissions_boundary_arn=row.permissions_boundary_arn,
                password_last_used=row.password_last_used)


def _key(row: Any, user_name: str | None) -> AccessKey:
    return AccessKey(access_key_id=row.access_key_id, account_id=row.account_id, user_name=user_name,
                     status=row.status, created_at=row.created_at, last_used_at=row.last_used_at,
                     last_used_service=row.last_used_service, last_used_region=row.last_used_region)


# Statements built once (building a statement costs more than running it); values bind by name.
_ACCOUNT = bindparam("account_id")
_USER_KEY = bindparam("user_name_key")
_GET_USER = select(iam_users).where(and_(iam_users.c.account_id == _ACCOUNT,
                                         iam_users.c.user_name_key == _USER_KEY))
_GET_USER_TAGS = (select(iam_user_tags.c.tag_key, iam_user_tags.c.tag_value)
                  .where(and_(iam_user_tags.c.account_id == _ACCOUNT, iam_user_tags.c.user_name_key == _USER_KEY))
                  .order_by(iam_user_tags.c.position))
_ACCOUNT_CREATED = select(accounts.c.created_at).where(accounts.c.account_id == _ACCOUNT)


class IamRepository:
    def __init__(self, uow: Any) -> None:
        self.uow = uow

    # --- accounts -----------------------------------------------------------------------
    def add_account(self, account_id: str, email: str, password_hash: str, now: _dt.datetime) -> None:
        self.uow.execute(insert(accounts).values(account_id=account_id, email=email,
                                                 root_password_hash=password_hash, created_at=now,
                                                 status="ACTIVE"))

    def account_created_at(self, account_id: str) -> _dt.datetime | None:
        return self.uow.execute(_ACCOUNT_CREATED, {"account_id": account_id}).scalar_one_or_none()

    # --- users --------------------------------------------------------------------------
    def add_user(self, user: User) -> None:
        """Raises the storage layer's unique violation if the name (any case) is taken."""
        self.uow.execute(insert(iam_users).values(
            account_id=user.account_id, user_name_key=name_key(user.user_name), user_name=user.user_name,
            user_id=user.user_id, path=user.path, arn=user.arn, created_at=user.created_at,
            permissions_boundary_arn=user.permissions_boundary_arn))
        if user.tags:
            self.uow.execute(insert(iam_user_tags), [
                {"account_id": user.account_id, "user_name_key": name_key(user.user_name),
                 "tag_key_lower": k.lower(), "tag_key": k, "tag_value": v, "position": i}
                for i, (k, v) in enumerate(user.tags)])

    def get_user(self, account_id: str, user_name: str, *, with_tags: bool = False) -> User | None:
        key = {"account_id": account_id, "user_name_key": name_key(user_name)}
        row = self.uow.execute(_GET_USER, key).first()
        if row is None:
            return None
        user = _user(row)
        if with_tags:
            tags = self.uow.execute(_GET_USER_TAGS, key).all()
            user = replace(user, tags=tuple((t.tag_key, t.tag_value) for t in tags))
        return user

    def user_tags(self, account_id: str, user_key: str) -> list[tuple[str, str]]:
        return [(t.tag_key, t.tag_value) for t in self.uow.execute(
            _GET_USER_TAGS, {"account_id": account_id, "user_name_key": user_key}).all()]

    def list_users(self, account_id: str, *, path_prefix: str, after_key: str | None,
                   limit: int) -> list[User]:
        """Users ordered by name, whose path starts with ``path_prefix``, after ``after_key``."""
        q = select(iam_users).where(iam_users.c.account_id == account_id)
        if path_prefix != "/":
            q = q.where(func.substr(iam_users.c.path, 1, len(path_prefix)) == path_prefix)
        if after_key is not None:
            q = q.where(iam_users.c.user_name_key > after_key)
        rows = self.uow.execute(q.order_by(iam_users.c.user_name_key).limit(limit)).all()
        return [_user(r) for r in rows]

    def delete_user(self, account_id: str, user_name: str) -> int:
        self.uow.execute(delete(iam_user_tags).where(and_(
            iam_user_tags.c.account_id == account_id,
            iam_user_tags.c.user_name_key == name_key(user_name))))
        return self.uow.execute(delete(iam_users).where(and_(
            iam_users.c.account_id == account_id,
            iam_users.c.user_name_key == name_key(user_name)))).rowcount

    # --- access keys ---------------------------------------------------------------------
    def add_access_key(self, key: AccessKey, secret_sealed: bytes) -> None:
        self.uow.execute(insert(access_keys).values(
            access_key_id=key.access_key_id, account_id=key.account_id,
            user_name_key=name_key(key.user_name) if key.user_name else None,
            secret_sealed=secret_sealed, status=key.status, created_at=key.created_at))

    def _owner_clause(self, account_id: str, user_name: str | None):
        owner = (access_keys.c.user_name_key == name_key(user_name) if user_name
                 else access_keys.c.user_name_key.is_(None))
        return and_(access_keys.c.account_id == account_id, owner)

    def list_access_keys(self, account_id: str, user_name: str | None) -> list[AccessKey]:
        rows = self.uow.execute(select(access_keys)
                                .where(self._owner_clause(account_id, user_name))
                                .order_by(access_keys.c.created_at, access_keys.c.access_key_id)).all()
        return [_key(r, user_name) for r in rows]

    def count_access_keys(self, account_id: str, user_name: str | None) -> int:
        """The owner's keys, counted while holding the owner's row (user, or account for root)
        ``FOR UPDATE`` until commit: concurrent quota checks (CreateAccessKey) and emptiness checks
        (DeleteUser) on one owner then run one after another on PostgreSQL's READ COMMITTED, as
        SQLite's single writer already does, so the quota of two cannot be overrun."""
        owner_row = (select(iam_users.c.user_name_key).where(and_(
            iam_users.c.account_id == account_id, iam_users.c.user_name_key == name_key(user_name)))
            if user_name else select(accounts.c.account_id).where(accounts.c.account_id == account_id))
        self.uow.execute(owner_row.with_for_update())
        return self.uow.execute(select(func.count()).select_from(access_keys)
                                .where(self._owner_clause(account_id, user_name))).scalar_one()

    def get_access_key(self, account_id: str, access_key_id: str) -> tuple[AccessKey, str | None] | None:
        """The key and its owner's user name (None for root), within one account."""
        row = self.uow.execute(
            select(access_keys, iam_users.c.user_name)
            .select_from(access_keys.outerjoin(iam_users, and_(
                iam_users.c.account_id == access_keys.c.account_id,
                iam_users.c.user_name_key == access_keys.c.user_name_key)))
            .where(and_(access_keys.c.account_id == account_id,
                        access_keys.c.access_key_id == access_key_id))).first()
        if row is None:
            return None
        return _key(row, row.user_name), row.user_name

    def set_access_key_status(self, account_id: str, user_name: str | None, access_key_id: str,
                              status: str) -> int:
        return self.uow.execute(update(access_keys)
                                .where(and_(self._owner_clause(account_id, user_name),
                                            access_keys.c.access_key_id == access_key_id))
                                .values(status=status)).rowcount

    def delete_access_key(self, account_id: str, user_name: str | None, access_key_id: str) -> int:
        return self.uow.execute(delete(access_keys)
                                .where(and_(self._owner_clause(account_id, user_name),
                                            access_keys.c.access_key_id == access_key_id))).rowcount

    def record_key_use(self, uses: Sequence[tuple[str, _dt.datetime, str, str]]) -> None:
        """Last-used information: (access key id, time, service, region) per key."""
        for key_id, at, service, region in uses:
            self.uow.execute(update(access_keys).where(access_keys.c.access_key_id == key_id)
                             .values(last_used_at=at, last_used_service=service, last_used_region=region))



def credential_query() -> Any:
    """The key with its owner, in any account, by ``:access_key_id``: for authentication only.
    Plain columns, so it can run as a ``Store.prepare_read`` statement."""
    return (select(access_keys.c.access_key_id, access_keys.c.account_id, access_keys.c.status,
                   access_keys.c.secret_sealed, access_keys.c.user_name_key,
                   iam_users.c.user_name, iam_users.c.user_id, iam_users.c.arn)
            .select_from(access_keys.outerjoin(iam_users, and_(
                iam_users.c.account_id == access_keys.c.account_id,
                iam_users.c.user_name_key == access_keys.c.user_name_key)))
            .where(access_keys.c.access_key_id == bindparam("access_key_id")))
