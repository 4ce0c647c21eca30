"""The relational schema, in SQLAlchemy Core, shared by SQLite and PostgreSQL.

Every table is written portable (no dialect-specific types or SQL). Times are stored as UTC
and always come back as aware datetimes (``UtcDateTime``). Secrets are stored sealed (bytes
from ``crypto.envelope``), never in plain text. Alembic migrations in ``storage/migrations``
create and change these tables; a test checks that the migrated schema equals this metadata.

Must not: hold service logic (repositories in each service own the queries).
"""

from __future__ import annotations

import datetime as _dt

from sqlalchemy import (Boolean, Column, DateTime, ForeignKey, ForeignKeyConstraint, Index, Integer,
                        LargeBinary, MetaData, String, Table, Text, TypeDecorator)

UTC = _dt.timezone.utc

metadata = MetaData(naming_convention={
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})


class UtcDateTime(TypeDecorator):
    """An aware UTC datetime in, an aware UTC datetime out, on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):  # type: ignore[override]
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to UtcDateTime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):  # type: ignore[override]
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# Server-wide settings (e.g. the default account, the test clock offset).
server_settings = Table(
    "server_settings", metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

# Accounts are tenants: nothing of one is visible to another unless a policy grants it.
accounts = Table(
    "accounts", metadata,
    Column("account_id", String(12), primary_key=True),
    Column("email", String(256), nullable=False),
    Column("root_password_hash", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("status", String(16), nullable=False, default="ACTIVE"),
)

iam_users = Table(
    "iam_users", metadata,
    Column("account_id", String(12), ForeignKey("accounts.account_id"), primary_key=True),
    # IAM names are unique case-insensitively; the key is the lower-cased name.
    Column("user_name_key", String(64), primary_key=True),
    Column("user_name", String(64), nullable=False),
    Column("user_id", String(32), nullable=False, unique=True),
    Column("path", String(512), nullable=False),
    Column("arn", String(2048), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("permissions_boundary_arn", String(2048), nullable=True),
    Column("password_last_used", UtcDateTime, nullable=True),
)

# Tags of IAM users; keys are unique case-insensitively (tag_key_lower), order kept by position.
iam_user_tags = Table(
    "iam_user_tags", metadata,
    Column("account_id", String(12), primary_key=True),
    Column("user_name_key", String(64), primary_key=True),
    Column("tag_key_lower", String(128), primary_key=True),
    Column("tag_key", String(128), nullable=False),
    Column("tag_value", String(256), nullable=False),
    Column("position", Integer, nullable=False),
    ForeignKeyConstraint(["account_id", "user_name_key"], ["iam_users.account_id", "iam_users.user_name_key"],
                         name="fk_iam_user_tags_owner_iam_users"),
)

# Long-term access keys of root users (user_name NULL) and IAM users.
access_keys = Table(
    "access_keys", metadata,
    Column("access_key_id", String(32), primary_key=True),
    Column("account_id", String(12), ForeignKey("accounts.account_id"), nullable=False),
    Column("user_name_key", String(64), nullable=True),
    Column("secret_sealed", LargeBinary, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_used_at", UtcDateTime, nullable=True),
    Column("last_used_service", String(64), nullable=True),
    Column("last_used_region", String(32), nullable=True),
    Index("ix_access_keys_owner", "account_id", "user_name_key"),
)

# CloudTrail-format event records, one per request (management and, later, data events).
audit_events = Table(
    "audit_events", metadata,
    Column("event_id", String(36), primary_key=True),
    Column("account_id", String(12), nullable=False),
    Column("event_time", UtcDateTime, nullable=False),
    Column("event_source", String(128), nullable=False),
    Column("event_name", String(128), nullable=False),
    Column("aws_region", String(32), nullable=False),
    Column("read_only", Boolean, nullable=False),
    Column("management_event", Boolean, nullable=False),
    Column("access_key_id", String(32), nullable=True),
    Column("username", String(256), nullable=True),
    Column("error_code", String(128), nullable=True),
    Column("record", Text, nullable=False),           # the whole event as JSON
    Index("ix_audit_events_account_time", "account_id", "event_time"),
)


# --- IAM groups, roles and instance profiles (migration 0002) ---------------------------------


# --- IAM managed and inline policies, attachments (migration 0003) ----------------------------
