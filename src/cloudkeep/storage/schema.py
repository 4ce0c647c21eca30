"""The relational schema, in SQLAlchemy Core, shared by SQLite and PostgreSQL.

Every table is written portable (no dialect-specific types or SQL). Times are stored as UTC
and always come back as aware datetimes (``UtcDateTime``). Secrets are stored sealed (bytes
from ``crypto.envelope``), never in plain text. Alembic migrations in ``storage/migrations``
create and change these tables; a test checks that the migrated schema equals this metadata.

Must not: hold service logic (repositories in each service own the queries).
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from sqlalchemy import (BigInteger, Boolean, Column, DateTime, ForeignKey, ForeignKeyConstraint, Index, Integer,
                        LargeBinary, MetaData, String, Table, Text, TypeDecorator, text)

UTC = _dt.timezone.utc

metadata = MetaData(naming_convention={
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})


def _in_utc(value: _dt.datetime) -> _dt.datetime:
    """An aware datetime in UTC; a naive one is refused (its zone would be a guess)."""
    if value.tzinfo is None:
        raise ValueError("naive datetime given to UtcDateTime")
    return value if value.tzinfo is UTC else value.astimezone(UTC)


class UtcDateTime(TypeDecorator):
    """An aware UTC datetime in, an aware UTC datetime out, on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):  # type: ignore[override]
        if value is None:
            return None
        value = _in_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):  # type: ignore[override]
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    # On SQLite a datetime is text. SQLAlchemy's SQLite DATETIME formats it through a dict and
    # ``%`` (about 4 µs, on every row written with a time: each S3 object version, each audit
    # record) and reads it through two wrappers. These write and read exactly the same text
    # ("2026-11-30 13:00:00.000000", its storage format) with one ``%`` of a tuple and
    # ``fromisoformat`` directly; other dialects keep the generic path.

    def bind_processor(self, dialect):  # type: ignore[override]
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def process(value):  # type: ignore[no-untyped-def]
            if value is None:
                return None
            value = _in_utc(value)
            return "%04d-%02d-%02d %02d:%02d:%02d.%06d" % (
                value.year, value.month, value.day, value.hour, value.minute, value.second, value.microsecond)
        return process

    def result_processor(self, dialect, coltype):  # type: ignore[override]
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)
        parse, to_aware = _dt.datetime.fromisoformat, self.process_result_value

        def process(value):  # type: ignore[no-untyped-def]
            return to_aware(parse(value) if isinstance(value, str) else value, dialect)
        return process


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

# --- CloudTrail event history (migration 0013) -------------------------------------------------

#: SQLite makes only an INTEGER PRIMARY KEY an auto-increment row id; PostgreSQL gets a BIGINT.
_SEQ = BigInteger().with_variant(Integer, "sqlite")
#: a column that holds such a key
_SEQ_REF = BigInteger().with_variant(Integer, "sqlite")

# CloudTrail-format event records, one per request (management and data events).
# ``seq`` is a monotonic sequence assigned at insert: unique and increasing in insert order.
# On SQLite writers are serialized, so seq order is also commit order (a reader that has seen
# seq N will never later see a new row with seq < N). On PostgreSQL it is NOT: two transactions
# may commit out of seq order, so a reader using seq as a cursor must allow for late commits of
# lower values. ``record`` is the whole event as zlib-compressed UTF-8 JSON
# (audit.record_codec.encode_record/decode_record); only the looked-up attributes are columns.
# The event history shows management events only (its queries all say ``management_event =
# true``), so the lookup indexes are partial (migration 0017): a data event (S3 GetObject,
# PutObject… that a trail selects) updates the primary key, the event id's and the event
# name's indexes only. The predicate is written the way each dialect compiles
# ``management_event == true()``, so the planners see that a lookup implies it. The time index
# holds no management_event column: PostgreSQL drops a condition the predicate implies from the
# index condition, and a column left unbound before event_time would make the time range a
# filter over the account's whole history instead of the scan's bounds.
MANAGEMENT_EVENTS_ONLY: dict[str, Any] = {"sqlite_where": text("management_event = 1"),
                                          "postgresql_where": text("management_event")}
audit_events = Table(
    "audit_events", metadata,
    Column("seq", _SEQ, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False),
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
    # zlib(JSON of the whole event), audit.record_codec; empty when the record is in a chunk
    Column("record", LargeBinary, nullable=False),
    # the chunk that holds the record (migration 0018), and its place in it; NULL: in ``record``
    Column("chunk_id", _SEQ_REF, nullable=True),
    Column("chunk_index", Integer, nullable=True),
    # how many records the row stands for (migration 0019): the recorder's batches write one row
    # for records the event history tells apart only by their id, next to each other in the
    # chunk from ``chunk_index`` on (audit.recorder.insert_chunks); NULL: one
    Column("chunk_count", Integer, nullable=True),
    Index("ix_audit_events_event_id", "event_id", unique=True),
    Index("ix_audit_events_time", "account_id", "aws_region", "event_time", **MANAGEMENT_EVENTS_ONLY),
    # not partial: delivery finds StopLogging's event by name without saying it is a management event
    Index("ix_audit_events_event_name", "account_id", "aws_region", "event_name", "event_time"),
    Index("ix_audit_events_username", "account_id", "aws_region", "username", "event_time",
          **MANAGEMENT_EVENTS_ONLY),
    Index("ix_audit_events_access_key", "account_id", "aws_region", "access_key_id", "event_time",
          **MANAGEMENT_EVENTS_ONLY),
    Index("ix_audit_events_event_source", "account_id", "aws_region", "event_source", "event_time",
          **MANAGEMENT_EVENTS_ONLY),
    Index("ix_audit_events_read_only", "account_id", "aws_region", "read_only", "event_time",
          **MANAGEMENT_EVENTS_ONLY),
    sqlite_autoincrement=True,
)

# Records written in batches (reads, denials and failures, queued off the request path) are
# compressed together, one chunk per batch: one zlib stream of their compact JSON texts, one per
# line, in ``chunk_index`` order (audit.record_codec.encode_chunk). A batch compresses to a
# quarter of the bytes its records take compressed one by one, for a fraction of the CPU.
# ``newest_time`` is the latest event_time in the chunk: the 90-day prune deletes a chunk a day
# after its newest event left the history (migration 0018).
audit_record_chunks = Table(
    "audit_record_chunks", metadata,
    Column("chunk_id", _SEQ, primary_key=True, autoincrement=True),
    Column("newest_time", UtcDateTime, nullable=False),
    Column("data", LargeBinary, nullable=False),
    Index("ix_audit_record_chunks_newest_time", "newest_time"),
    sqlite_autoincrement=True,
)

# Records of successful mutating calls, written in the call's own transaction as their compact
# JSON (audit.record_codec.record_json) and moved into the event history (chunks, rows and index
# entries) by the recorder's batches, which delete them here in the same transaction (migration
# 0020). One row in a table without secondary indexes is what a mutating call's commit carries,
# instead of a row, its seven index entries and its resource rows (~10 pages of the WAL). ``seq``
# orders them; a moved row's number may be used again (no AUTOINCREMENT: no sqlite_sequence write).
audit_journal = Table(
    "audit_journal", metadata,
    Column("seq", _SEQ, primary_key=True, autoincrement=True),
    Column("record", Text, nullable=False),
)

# The multi-valued lookup attributes ResourceType/ResourceName: one row per resource of a
# management event (data events are not in the event history). Carries the event's time so a
# lookup pages through this index alone; deleted with its event by the 90-day prune (which walks
# audit_events in seq order: no index on time alone is needed).
audit_event_resources = Table(
    "audit_event_resources", metadata,
    Column("event_id", String(36), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("account_id", String(12), nullable=False),
    Column("aws_region", String(32), nullable=False),
    Column("event_time", UtcDateTime, nullable=False),
    Column("resource_type", String(128), nullable=False),
    Column("resource_name", String(2048), nullable=False),
    Index("ix_audit_event_resources_type", "account_id", "aws_region", "resource_type", "event_time"),
    Index("ix_audit_event_resources_name", "account_id", "aws_region", "resource_name", "event_time"),
)


# --- IAM groups, roles and instance profiles (migration 0002) ---------------------------------

# IAM groups (no nesting); names unique case-insensitively per account, like users.
iam_groups = Table(
    "iam_groups", metadata,
    Column("account_id", String(12), ForeignKey("accounts.account_id"), primary_key=True),
    Column("group_name_key", String(128), primary_key=True),
    Column("group_name", String(128), nullable=False),
    Column("group_id", String(32), nullable=False, unique=True),
    Column("path", String(512), nullable=False),
    Column("arn", String(2048), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

# Which users are in which groups (a user is in at most 10 groups).
iam_group_members = Table(
    "iam_group_members", metadata,
    Column("account_id", String(12), primary_key=True),
    Column("group_name_key", String(128), primary_key=True),
    Column("user_name_key", String(64), primary_key=True),
    Column("added_at", UtcDateTime, nullable=False),
    ForeignKeyConstraint(["account_id", "group_name_key"], ["iam_groups.account_id", "iam_groups.group_name_key"],
                         name="fk_iam_group_members_group_iam_groups"),
    ForeignKeyConstraint(["account_id", "user_name_key"], ["iam_users.account_id", "iam_users.user_name_key"],
                         name="fk_iam_group_members_user_iam_users"),
    Index("ix_iam_group_members_user", "account_id", "user_name_key"),
)

# IAM roles: the trust policy is kept as the caller sent it (validated when written).
iam_roles = Table(
    "iam_roles", metadata,
    Column("account_id", String(12), ForeignKey("accounts.account_id"), primary_key=True),
    Column("role_name_key", String(64), primary_key=True),
    Column("role_name", String(64), nullable=False),
    Column("role_id", String(32), nullable=False, unique=True),
    Column("path", String(512), nullable=False),
    Column("arn", String(2048), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("assume_role_policy", Text, nullable=False),
    Column("description", String(1000), nullable=True),
    Column("max_session_duration", Integer, nullable=False),
    Column("permissions_boundary_arn", String(2048), nullable=True),
    Column("last_used_at", UtcDateTime, nullable=True),
    Column("last_used_region", String(32), nullable=True),
)

# Tags of IAM roles; keys unique case-insensitively (tag_key_lower), order kept by position.
iam_role_tags = Table(
    "iam_role_tags", metadata,
    Column("account_id", String(12), primary_key=True),
    Column("role_name_key", String(64), primary_key=True),
    Column("tag_key_lower", String(128), primary_key=True),
    Column("tag_key", String(128), nullable=False),
    Column("tag_value", String(256), nullable=False),
    Column("position", Integer, nullable=False),
    ForeignKeyConstraint(["account_id", "role_name_key"], ["iam_roles.account_id", "iam_roles.role_name_key"],
                         name="fk_iam_role_tags_owner_iam_roles"),
)

iam_instance_profiles = Table(
    "iam_instance_profiles", metadata,
    Column("account_id", String(12), ForeignKey("accounts.account_id"), primary_key=True),
    Column("instance_profile_name_key", String(128), primary_key=True),
    Column("instance_profile_name", String(128), nullable=False),
    Column("instance_profile_id", String(32), nullable=False, unique=True),
    Column("path", String(512), nullable=False),
    Column("arn", String(2048), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

# Tags given to CreateInstanceProfile; same shape as the other tag tables.
iam_instance_profile_tags = Table(
    "iam_instance_profile_tags", metadata,
    Column("account_id", String(12), primary_key=True),
    Column("instance_profile_name_key", String(128), primary_key=True),
    Column("tag_key_lower", String(128), primary_key=True),
    Column("tag_key", String(128), nullable=False),
    Column("tag_value", String(256), nullable=False),
    Column("position", Integer, nullable=False),
    ForeignKeyConstraint(["account_id", "instance_profile_name_key"],
                         ["iam_instance_profiles.account_id", "iam_instance_profiles.instance_profile_name_key"],
                         name="fk_iam_instance_profile_tags_owner_iam_instance_profiles"),
)

# The role of an instance profile (AWS allows one: InstanceSessionsPerInstanceProfile).
iam_instance_profile_roles = Table(
    "iam_instance_profile_roles", metadata,
    Column("account_id", String(12), primary_key=True),
    Column("instance_profile_name_key", String(128), primary_key=True),
    Column("role_name_key", String(64), primary_key=True),
    ForeignKeyConstraint(["account_id", "instance_profile_name_key"],
                         ["iam_instance_profiles.account_id", "iam_instance_profiles.instance_profile_name_key"],
                         name="fk_iam_instance_profile_roles_profile_iam_instance_profiles"),
    ForeignKeyConstraint(["account_id", "role_name_key"], ["iam_roles.account_id", "iam_roles.role_name_key"],
                         name="fk_iam_instance_profile_roles_role_iam_roles"),
    Index("ix_iam_instance_profile_roles_role", "account_id", "role_name_key"),
)



# --- IAM managed and inline policies, attachments (migration 0003) ----------------------------

# Customer managed policies; names unique case-insensitively per account (the path is not part of
# the identity). AWS managed policies are data (services/iam/aws_managed.py), never rows.
iam_policies = Table(
    "iam_policies", metadata,
    Column("account_id", String(12), ForeignKey("accounts.account_id"), primary_key=True),
    Column("policy_name_key", String(128), primary_key=True),
    Column("policy_name", String(128), nullable=False),
    Column("policy_id", String(32), nullable=False, unique=True),
    Column("path", String(512), nullable=False),
    Column("arn", String(2048), nullable=False),
    Column("description", String(1000), nullable=True),
    Column("default_version_id", String(16), nullable=False),
    Column("next_version", Integer, nullable=False),      # version numbers are never reused
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

# The versions of a customer managed policy (at most 5); the document is kept as written.
iam_policy_versions = Table(
    "iam_policy_versions", metadata,
    Column("account_id", String(12), primary_key=True),
    Column("policy_name_key", String(128), primary_key=True),
    Column("version_num", Integer, primary_key=True),
    Column("document", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    ForeignKeyConstraint(["account_id", "policy_name_key"], ["iam_policies.account_id", "iam_policies.policy_name_key"],
                         name="fk_iam_policy_versions_owner_iam_policies"),
)

# Tags of customer managed policies; same shape as the other tag tables.
iam_policy_tags = Table(
    "iam_policy_tags", metadata,
    Column("account_id", String(12), primary_key=True),
    Column("policy_name_key", String(128), primary_key=True),
    Column("tag_key_lower", String(128), primary_key=True),
    Column("tag_key", String(128), nullable=False),
    Column("tag_value", String(256), nullable=False),
    Column("position", Integer, nullable=False),
    ForeignKeyConstraint(["account_id", "policy_name_key"], ["iam_policies.account_id", "iam_policies.policy_name_key"],
                         name="fk_iam_policy_tags_owner_iam_policies"),
)

# Inline policies of users, groups and roles (entity_type "user" | "group" | "role"); size is the
# document's non-whitespace length, summed for the per-entity aggregate quota.
iam_inline_policies = Table(
    "iam_inline_policies", metadata,
    Column("account_id", String(12), ForeignKey("accounts.account_id"), primary_key=True),
    Column("entity_type", String(8), primary_key=True),
    Column("entity_name_key", String(128), primary_key=True),
    Column("policy_name_key", String(128), primary_key=True),
    Column("policy_name", String(128), nullable=False),
    Column("document", Text, nullable=False),
    Column("size", Integer, nullable=False),
)

# Managed policies (customer or AWS managed, by ARN) attached to users, groups and roles.
iam_policy_attachments = Table(
    "iam_policy_attachments", metadata,
    Column("account_id", String(12), ForeignKey("accounts.account_id"), primary_key=True),
    Column("entity_type", String(8), primary_key=True),
    Column("entity_name_key", String(128), primary_key=True),
    Column("policy_arn", String(2048), primary_key=True),
    Column("policy_name", String(128), nullable=False),
    Column("policy_path", String(512), nullable=False),
    Column("attached_at", UtcDateTime, nullable=False),
    Index("ix_iam_policy_attachments_policy", "account_id", "policy_arn"),
)


# --- STS sessions (migration 0004) -----------------------------------------------------------

# Temporary credentials (ASIA… keys) from AssumeRole, GetSessionToken and GetFederationToken.
# The secret and the session token are sealed under the master key (bound to the key id); the
# row says whom the credentials stand for. Session policies and tags are JSON text.
sts_sessions = Table(
    "sts_sessions", metadata,
    Column("access_key_id", String(32), primary_key=True),
    Column("account_id", String(12), ForeignKey("accounts.account_id"), nullable=False),
    Column("principal_type", String(32), nullable=False),
    Column("arn", String(2048), nullable=False),
    Column("principal_id", String(256), nullable=False),
    Column("user_name", String(64), nullable=True),
    Column("parent_arn", String(2048), nullable=True),
    Column("parent_id", String(128), nullable=True),
    Column("session_name", String(64), nullable=True),
    Column("secret_sealed", LargeBinary, nullable=False),
    Column("token_sealed", LargeBinary, nullable=False),
    Column("session_policies", Text, nullable=True),      # JSON [[name, document], …]; NULL: none passed
    Column("session_tags", Text, nullable=True),          # JSON [[key, value], …]
    Column("transitive_tag_keys", Text, nullable=True),   # JSON [key, …]
    Column("source_identity", String(64), nullable=True),
    Column("mfa_authenticated", Boolean, nullable=False),
    Column("mfa_authenticated_at", UtcDateTime, nullable=True),
    Column("issued_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Index("ix_sts_sessions_expires_at", "expires_at"),
)


# --- authorization generations (migration 0006) ---------------------------------------------

# Bumped in the same transaction as any change to an account's policies (storage/generations.py).
policy_generations = Table(
    "policy_generations", metadata,
    Column("account_id", String(12), primary_key=True),
    Column("generation", Integer, nullable=False),
)


# --- IAM login profiles, password policy, aliases, MFA (migration 0005) -----------------------

# Console passwords of IAM users: scrypt hashes (crypto/passwords.py), never the password.
iam_login_profiles = Table(
    "iam_login_profiles", metadata,
    Column("account_id", String(12), primary_key=True),
    Column("user_name_key", String(64), primary_key=True),
    Column("password_hash", Text, nullable=False),
    Column("password_reset_required", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("password_changed_at", UtcDateTime, nullable=False),
    ForeignKeyConstraint(["account_id", "user_name_key"], ["iam_users.account_id", "iam_users.user_name_key"],
                         name="fk_iam_login_profiles_owner_iam_users"),
)

# The account password policy (at most one per account; absent: AWS's default rules apply).
iam_password_policies = Table(
    "iam_password_policies", metadata,
    Column("account_id", String(12), ForeignKey("accounts.account_id"), primary_key=True),
    Column("minimum_password_length", Integer, nullable=False),
    Column("require_symbols", Boolean, nullable=False),
    Column("require_numbers", Boolean, nullable=False),
    Column("require_uppercase", Boolean, nullable=False),
    Column("require_lowercase", Boolean, nullable=False),
    Column("allow_users_to_change_password", Boolean, nullable=False),
    Column("max_password_age", Integer, nullable=True),
    Column("password_reuse_prevention", Integer, nullable=True),
    Column("hard_expiry", Boolean, nullable=True),
)

# Account aliases: one per account, unique across all accounts.
iam_account_aliases = Table(
    "iam_account_aliases", metadata,
    Column("alias", String(63), primary_key=True),
    Column("account_id", String(12), ForeignKey("accounts.account_id"), nullable=False, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
)

# Virtual MFA devices; the TOTP seed is sealed under the master key (the serial bound as context).
# owner_type: NULL (unassigned), "user" (user_name_key says which) or "root".
iam_mfa_devices = Table(
    "iam_mfa_devices", metadata,
    Column("account_id", String(12), ForeignKey("accounts.account_id"), primary_key=True),
    Column("device_name_key", String(256), primary_key=True),
    Column("serial_number", String(2048), nullable=False, unique=True),
    Column("seed_sealed", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("tags", Text, nullable=True),                  # JSON [[key, value], …]
    Column("owner_type", String(8), nullable=True),
    Column("user_name_key", String(64), nullable=True),
    Column("enabled_at", UtcDateTime, nullable=True),
    Column("last_step", Integer, nullable=True),          # last TOTP time step accepted (no replay)
    Index("ix_iam_mfa_devices_owner", "account_id", "user_name_key"),
)

# The latest credential report of each account (CSV text: it holds no secrets).
iam_credential_reports = Table(
    "iam_credential_reports", metadata,
    Column("account_id", String(12), ForeignKey("accounts.account_id"), primary_key=True),
    Column("generated_at", UtcDateTime, nullable=False),
    Column("content", Text, nullable=False),
)

# --- KMS (migration 0007) --------------------------------------------------------------------

# KMS keys. The key policy is a mandatory resource policy; tags are JSON {key: value}. The key
# material is in kms_key_materials, sealed.
kms_keys = Table(
    "kms_keys", metadata,
    Column("key_id", String(64), primary_key=True),
    Column("account_id", String(12), ForeignKey("accounts.account_id"), nullable=False),
    Column("region", String(32), nullable=False),
    Column("arn", String(2048), nullable=False, unique=True),
    Column("key_spec", String(32), nullable=False),
    Column("key_usage", String(32), nullable=False),
    Column("state", String(32), nullable=False),
    Column("description", Text, nullable=False),
    Column("origin", String(32), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("deletion_date", UtcDateTime, nullable=True),
    Column("pending_window_days", Integer, nullable=True),
    Column("policy", Text, nullable=False),
    Column("current_material_id", String(64), nullable=False),
    Column("rotation_enabled", Boolean, nullable=False),
    Column("rotation_period_days", Integer, nullable=True),
    Column("next_rotation", UtcDateTime, nullable=True),
    Column("tags", Text, nullable=True),
    Index("ix_kms_keys_account_region", "account_id", "region", "key_id"),
)

# Key material versions of each key, sealed under the master key (context binds the key ARN and
# the material id). seq orders them; rotation_type is NULL for the first material.
kms_key_materials = Table(
    "kms_key_materials", metadata,
    Column("key_id", String(64), ForeignKey("kms_keys.key_id"), primary_key=True),
    Column("material_id", String(64), primary_key=True),
    Column("seq", Integer, nullable=False),
    Column("material_sealed", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("rotation_type", String(16), nullable=True),
)

# Aliases: unique per account and region; each names one key of the same account and region.
kms_aliases = Table(
    "kms_aliases", metadata,
    Column("account_id", String(12), ForeignKey("accounts.account_id"), primary_key=True),
    Column("region", String(32), primary_key=True),
    Column("alias_name", String(256), primary_key=True),
    Column("target_key_id", String(64), ForeignKey("kms_keys.key_id"), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_kms_aliases_target_key_id", "target_key_id"),
)


# --- KMS grants (migration 0008)
# A grant lets its grantee principal use one KMS key for the listed operations, optionally only
# within an encryption-context constraint (services/kms/grants.py). Keyed by the key's account,
# region and id; the grant id is globally unique (64 hex digits). ``name`` makes CreateGrant
# idempotent; ``operations`` is JSON ["Encrypt", …]; ``constraints`` JSON
# {"EncryptionContextEquals"|"EncryptionContextSubset": {…}} or NULL.
kms_grants = Table(
    "kms_grants", metadata,
    Column("grant_id", String(64), primary_key=True),
    Column("account_id", String(12), ForeignKey("accounts.account_id"), nullable=False),
    Column("region", String(32), nullable=False),
    Column("key_id", String(64), nullable=False),
    Column("key_arn", String(2048), nullable=False),
    Column("name", String(256), nullable=True),
    Column("grantee_principal", String(256), nullable=False),
    Column("retiring_principal", String(256), nullable=True),
    Column("operations", Text, nullable=False),
    Column("constraints", Text, nullable=True),
    Column("issuing_account", String(12), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_kms_grants_key", "account_id", "region", "key_id"),
    Index("ix_kms_grants_retiring", "region", "retiring_principal"),
)


# --- AWS Organizations (migration 0009) ------------------------------------------------------
# One organization per management account; its single root is ``root_id``. Member accounts are
# real tenants (rows of ``accounts``); ``org_accounts`` says which organization each belongs to
# and where in the tree (``parent_id``: the root or an OU). OUs never move, so each keeps its
# ``path`` of ids from the root down to itself ("r-ab12/ou-ab12-11111111/"), and ``depth``
# (1 directly under the root). AWS managed policies (p-FullAWSAccess, p-RCPFullAWSAccess) are
# data (services/organizations/domain.py), never rows, so attachments name policies by id.
org_organizations = Table(
    "org_organizations", metadata,
    Column("org_id", String(34), primary_key=True),
    Column("management_account_id", String(12), ForeignKey("accounts.account_id"), nullable=False, unique=True),
    Column("root_id", String(34), nullable=False, unique=True),
    Column("feature_set", String(32), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

org_accounts = Table(
    "org_accounts", metadata,
    Column("account_id", String(12), ForeignKey("accounts.account_id"), primary_key=True),
    Column("org_id", String(34), ForeignKey("org_organizations.org_id"), nullable=False),
    Column("parent_id", String(68), nullable=False),
    Column("name", String(128), nullable=False),
    Column("status", String(16), nullable=False),          # ACTIVE | PENDING_CLOSURE | SUSPENDED
    Column("joined_method", String(16), nullable=False),   # INVITED | CREATED
    Column("joined_at", UtcDateTime, nullable=False),
    Column("closed_at", UtcDateTime, nullable=True),
    Index("ix_org_accounts_parent", "org_id", "parent_id"),
)

org_units = Table(
    "org_units", metadata,
    Column("ou_id", String(68), primary_key=True),
    Column("org_id", String(34), ForeignKey("org_organizations.org_id"), nullable=False),
    Column("parent_id", String(68), nullable=False),
    Column("name", String(128), nullable=False),
    Column("path", String(512), nullable=False),
    Column("depth", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_org_units_parent_name", "org_id", "parent_id", "name", unique=True),
)

# Customer managed policies (SCPs, RCPs) of an organization.
org_policies = Table(
    "org_policies", metadata,
    Column("policy_id", String(130), primary_key=True),
    Column("org_id", String(34), ForeignKey("org_organizations.org_id"), nullable=False),
    Column("policy_type", String(64), nullable=False),
    Column("name", String(128), nullable=False),
    Column("description", String(512), nullable=False),
    Column("content", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_org_policies_name", "org_id", "policy_type", "name", unique=True),
)

# Policies attached to the root, OUs and accounts (target_id), customer or AWS managed.
org_policy_attachments = Table(
    "org_policy_attachments", metadata,
    Column("org_id", String(34), ForeignKey("org_organizations.org_id"), primary_key=True),
    Column("target_id", String(68), primary_key=True),
    Column("policy_id", String(130), primary_key=True),
    Column("policy_type", String(64), nullable=False),
    Column("attached_at", UtcDateTime, nullable=False),
    Index("ix_org_policy_attachments_policy", "org_id", "policy_id"),
)

# The policy types enabled in the organization's root.
org_policy_types = Table(
    "org_policy_types", metadata,
    Column("org_id", String(34), ForeignKey("org_organizations.org_id"), primary_key=True),
    Column("policy_type", String(64), primary_key=True),
    Column("enabled_at", UtcDateTime, nullable=False),
)

# Tags of the root, OUs, member accounts and customer policies (resource_id: their id).
org_tags = Table(
    "org_tags", metadata,
    Column("org_id", String(34), ForeignKey("org_organizations.org_id"), primary_key=True),
    Column("resource_id", String(130), primary_key=True),
    Column("tag_key", String(128), primary_key=True),
    Column("tag_value", String(256), nullable=False),
)

# Handshakes (invitations). ``target_account_id`` is the invited account (resolved from an EMAIL
# target too); ``resources`` the Handshake's Resources as JSON when it was made; ``tags`` JSON
# [[key, value], …] the account gets when it joins. State EXPIRED is derived from expires_at.
org_handshakes = Table(
    "org_handshakes", metadata,
    Column("handshake_id", String(34), primary_key=True),
    Column("org_id", String(34), ForeignKey("org_organizations.org_id"), nullable=False),
    Column("management_account_id", String(12), ForeignKey("accounts.account_id"), nullable=False),
    Column("action", String(32), nullable=False),
    Column("state", String(16), nullable=False),
    Column("target_type", String(16), nullable=False),
    Column("target_id", String(256), nullable=False),
    Column("target_account_id", String(12), ForeignKey("accounts.account_id"), nullable=True),
    Column("resources", Text, nullable=False),
    Column("tags", Text, nullable=True),
    Column("requested_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("state_changed_at", UtcDateTime, nullable=True),
    Index("ix_org_handshakes_org", "org_id"),
    Index("ix_org_handshakes_target", "target_account_id"),
)

# CreateAccount requests and their outcome.
org_create_account_requests = Table(
    "org_create_account_requests", metadata,
    Column("request_id", String(36), primary_key=True),
    Column("org_id", String(34), ForeignKey("org_organizations.org_id"), nullable=False),
    Column("account_name", String(50), nullable=False),
    Column("state", String(16), nullable=False),
    Column("account_id", String(12), ForeignKey("accounts.account_id"), nullable=True),
    Column("failure_reason", String(64), nullable=True),
    Column("requested_at", UtcDateTime, nullable=False),
    Column("completed_at", UtcDateTime, nullable=True),
    Index("ix_org_create_account_requests_org", "org_id"),
)

# Services with trusted access, and the member accounts registered as their delegated administrators.
org_service_access = Table(
    "org_service_access", metadata,
    Column("org_id", String(34), ForeignKey("org_organizations.org_id"), primary_key=True),
    Column("service_principal", String(128), primary_key=True),
    Column("enabled_at", UtcDateTime, nullable=False),
)

org_delegated_admins = Table(
    "org_delegated_admins", metadata,
    Column("org_id", String(34), ForeignKey("org_organizations.org_id"), primary_key=True),
    Column("account_id", String(12), ForeignKey("accounts.account_id"), primary_key=True),
    Column("service_principal", String(128), primary_key=True),
    Column("enabled_at", UtcDateTime, nullable=False),
    Index("ix_org_delegated_admins_account", "account_id"),
)


# --- S3 (migration 0010) -----------------------------------------------------------------------
# Bucket names are global across every account of the server. ``next_seq`` orders the versions
# written to the bucket (each write takes the bucket row's lock and the next number); ``tags`` is
# JSON [[key, value], …]; ``encryption`` the default-encryption configuration as JSON (SSE-S3 on
# by default); ``versioning`` NULL (never enabled), "Enabled" or "Suspended".
s3_buckets = Table(
    "s3_buckets", metadata,
    Column("name", String(63), primary_key=True),
    Column("account_id", String(12), ForeignKey("accounts.account_id"), nullable=False),
    Column("region", String(32), nullable=False),
    Column("location_constraint", String(32), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("versioning", String(16), nullable=True),
    Column("policy", Text, nullable=True),
    Column("tags", Text, nullable=True),
    Column("encryption", Text, nullable=False),
    Column("object_ownership", String(32), nullable=False),
    Column("next_seq", BigInteger, nullable=False),
    Column("acl", Text, nullable=True),                    # JSON grants (services/s3/acl.py)
    Column("public_access_block", Text, nullable=True),    # JSON of the four settings
    Index("ix_s3_buckets_account", "account_id", "name"),
)

# One row per object version (delete markers too). Keys are UTF-8 bytes, so every backend sorts
# them as S3 does (binary). ``version_id`` is "null" for the null version; ``is_latest`` marks
# the current version of a key. The body is a list of blobs (storage/blobs.py) — one for a
# simple upload, one per part for a multipart upload — as JSON [[blob id, size], …], all
# encrypted under one data key: ``sealed_key`` is that key as the protection scheme
# ``sse_algorithm`` keeps it ("AES256": sealed under the root of trust, bound to the bucket and
# ``key_id``). ``headers``/``metadata``/``tags`` are JSON.
s3_objects = Table(
    "s3_objects", metadata,
    Column("bucket", String(63), ForeignKey("s3_buckets.name"), primary_key=True),
    Column("key", LargeBinary, primary_key=True),
    Column("version_id", String(64), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("is_latest", Boolean, nullable=False),
    Column("is_delete_marker", Boolean, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("etag", String(80), nullable=True),
    Column("last_modified", UtcDateTime, nullable=False),
    Column("owner_account", String(12), nullable=False),
    Column("storage_class", String(32), nullable=False),
    Column("headers", Text, nullable=True),
    Column("metadata", Text, nullable=True),
    Column("tags", Text, nullable=True),
    Column("checksum_algorithm", String(16), nullable=True),
    Column("checksum_value", String(128), nullable=True),
    Column("checksum_type", String(16), nullable=True),
    Column("sse_algorithm", String(16), nullable=True),
    Column("key_id", String(32), nullable=True),
    Column("sealed_key", LargeBinary, nullable=True),
    Column("blobs", Text, nullable=True),
    Column("parts", Text, nullable=True),
    Column("acl", Text, nullable=True),                    # JSON grants; NULL: the owner's FULL_CONTROL
    # a small single-part body's encrypted blob, kept here instead of as a file (migration 0015)
    Column("body", LargeBinary, nullable=True),
    Index("ix_s3_objects_latest", "bucket", "is_latest", "key"),
    Index("ix_s3_objects_seq", "bucket", "key", "seq"),
)

# Multipart uploads completed: a repeated CompleteMultipartUpload answers the same result
# (no foreign key: a bucket's deletion removes them with its uploads).
s3_completed_uploads = Table(
    "s3_completed_uploads", metadata,
    Column("upload_id", String(128), primary_key=True),
    Column("bucket", String(63), nullable=False),
    Column("key", LargeBinary, nullable=False),
    Column("completed_at", UtcDateTime, nullable=False),
    Column("result", Text, nullable=False),
)

# Multipart uploads in progress and their parts (each part one blob under the upload's data key).
s3_uploads = Table(
    "s3_uploads", metadata,
    Column("upload_id", String(128), primary_key=True),
    Column("bucket", String(63), ForeignKey("s3_buckets.name"), nullable=False),
    Column("key", LargeBinary, nullable=False),
    Column("initiated", UtcDateTime, nullable=False),
    Column("initiator_arn", String(2048), nullable=False),
    Column("initiator_id", String(128), nullable=False),
    Column("owner_account", String(12), nullable=False),
    Column("storage_class", String(32), nullable=False),
    Column("headers", Text, nullable=True),
    Column("metadata", Text, nullable=True),
    Column("tags", Text, nullable=True),
    Column("checksum_algorithm", String(16), nullable=True),
    Column("checksum_type", String(16), nullable=True),
    Column("sse_algorithm", String(16), nullable=False),
    Column("key_id", String(32), nullable=False),
    Column("sealed_key", LargeBinary, nullable=False),
    Column("acl", Text, nullable=True),
    Index("ix_s3_uploads_bucket_key", "bucket", "key", "initiated"),
)

s3_upload_parts = Table(
    "s3_upload_parts", metadata,
    Column("upload_id", String(128), ForeignKey("s3_uploads.upload_id"), primary_key=True),
    Column("part_number", Integer, primary_key=True),
    Column("blob_id", String(32), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("md5", String(32), nullable=False),
    Column("last_modified", UtcDateTime, nullable=False),
    Column("checksum_value", String(128), nullable=True),
)

# An account's Block Public Access settings (S3 Control PutPublicAccessBlock), JSON.
s3_account_public_access_blocks = Table(
    "s3_account_public_access_blocks", metadata,
    Column("account_id", String(12), ForeignKey("accounts.account_id"), primary_key=True),
    Column("config", Text, nullable=False),
)

# Each account's S3 canonical user id (64 hex digits, random, stable): the Owner ID S3 shows.
s3_canonical_users = Table(
    "s3_canonical_users", metadata,
    Column("account_id", String(12), ForeignKey("accounts.account_id"), primary_key=True),
    Column("canonical_id", String(64), nullable=False, unique=True),
)


# --- CloudTrail trails, delivery and digests (migration 0014) ----------------------------------

# A trail, kept in its home region (a multi-region trail's shadow trails in the other regions are
# derived, never stored). ``selectors`` is the JSON of its event selectors or advanced event
# selectors (NULL: the default, all management events); ``cursor_seq`` is the audit_events.seq
# up to which its events have been delivered (committed with each delivery).
cloudtrail_trails = Table(
    "cloudtrail_trails", metadata,
    Column("account_id", String(12), primary_key=True),
    Column("home_region", String(32), primary_key=True),
    Column("name", String(128), primary_key=True),
    Column("arn", String(2048), nullable=False),
    Column("s3_bucket", String(63), nullable=False),
    Column("s3_prefix", String(200), nullable=True),
    Column("sns_topic", String(256), nullable=True),
    Column("include_global", Boolean, nullable=False),
    Column("multi_region", Boolean, nullable=False),
    Column("organization", Boolean, nullable=False),
    Column("log_validation", Boolean, nullable=False),
    Column("kms_key_id", String(2048), nullable=True),
    Column("cw_log_group", String(2048), nullable=True),
    Column("cw_role", String(2048), nullable=True),
    Column("selectors", Text, nullable=True),
    Column("tags", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("is_logging", Boolean, nullable=False),
    Column("start_logging_time", UtcDateTime, nullable=True),
    Column("stop_logging_time", UtcDateTime, nullable=True),
    Column("cursor_seq", BigInteger, nullable=False),
    Column("stop_seq", BigInteger, nullable=True),       # StopLogging: deliver what came before this seq
    Column("latest_delivery_time", UtcDateTime, nullable=True),
    Column("latest_delivery_attempt_time", UtcDateTime, nullable=True),
    Column("latest_delivery_error", String(256), nullable=True),
    Column("latest_digest_time", UtcDateTime, nullable=True),
    Column("latest_digest_error", String(256), nullable=True),
)

# The digest chain of a trail for one source region and one account's logs (an organization
# trail has one per member account): the current period's start and the last digest delivered.
cloudtrail_digest_chains = Table(
    "cloudtrail_digest_chains", metadata,
    Column("trail_arn", String(2048), primary_key=True),
    Column("region", String(32), primary_key=True),
    Column("log_account", String(12), primary_key=True),
    Column("period_start", UtcDateTime, nullable=False),
    Column("last_bucket", String(63), nullable=True),
    Column("last_key", String(1024), nullable=True),
    Column("last_signature", Text, nullable=True),
    Column("last_hash", String(64), nullable=True),
)

# Log files delivered since their chain's last digest (the next digest lists and removes them).
cloudtrail_digest_logs = Table(
    "cloudtrail_digest_logs", metadata,
    Column("trail_arn", String(2048), primary_key=True),
    Column("region", String(32), primary_key=True),
    Column("log_account", String(12), primary_key=True),
    Column("s3_key", String(1024), primary_key=True),
    Column("s3_bucket", String(63), nullable=False),
    Column("hash_value", String(64), nullable=False),
    Column("oldest_event_time", UtcDateTime, nullable=False),
    Column("newest_event_time", UtcDateTime, nullable=False),
)

# The per-region RSA key pairs that sign digests: the private key sealed under the root of trust,
# the public key as DER (PKCS#1), valid from its creation until the next key replaces it.
cloudtrail_signing_keys = Table(
    "cloudtrail_signing_keys", metadata,
    Column("region", String(32), primary_key=True),
    Column("fingerprint", String(32), primary_key=True),
    Column("sealed_private_key", LargeBinary, nullable=False),
    Column("public_key", LargeBinary, nullable=False),
    Column("valid_from", UtcDateTime, nullable=False),
    Column("valid_to", UtcDateTime, nullable=True),
)

# Leases of background work that exactly one worker process (of all nodes) may do at a time.
cloudtrail_leases = Table(
    "cloudtrail_leases", metadata,
    Column("name", String(64), primary_key=True),
    Column("holder", String(64), nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
)

# --- blob journal (migration 0016) -------------------------------------------------------------
# Blob store files being written for a row not committed yet (storage/blob_journal.py): an entry is
# made in its own transaction before the file, and removed by the transaction that commits the row
# referencing the blob (or with the file when the request fails). Entries left by a killed process
# are swept, file and entry, at server start once they are old enough.
blob_journal = Table(
    "blob_journal", metadata,
    Column("blob_id", String(32), primary_key=True),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_blob_journal_created_at", "created_at"),
)
