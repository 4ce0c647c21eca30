"""Initial schema: server settings, accounts, IAM users, access keys, audit events.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "server_settings",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_server_settings"),
    )
    op.create_table(
        "accounts",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("email", sa.String(256), nullable=False),
        sa.Column("root_password_hash", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("account_id", name="pk_accounts"),
    )
    op.create_table(
        "iam_users",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("user_name_key", sa.String(64), nullable=False),
        sa.Column("user_name", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("path", sa.String(512), nullable=False),
        sa.Column("arn", sa.String(2048), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("permissions_boundary_arn", sa.String(2048), nullable=True),
        sa.Column("password_last_used", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.account_id"],
                                name="fk_iam_users_account_id_accounts"),
        sa.PrimaryKeyConstraint("account_id", "user_name_key", name="pk_iam_users"),
        sa.UniqueConstraint("user_id", name="uq_iam_users_user_id"),
    )
    op.create_table(
        "iam_user_tags",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("user_name_key", sa.String(64), nullable=False),
        sa.Column("tag_key_lower", sa.String(128), nullable=False),
        sa.Column("tag_key", sa.String(128), nullable=False),
        sa.Column("tag_value", sa.String(256), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["account_id", "user_name_key"], ["iam_users.account_id", "iam_users.user_name_key"],
                                name="fk_iam_user_tags_owner_iam_users"),
        sa.PrimaryKeyConstraint("account_id", "user_name_key", "tag_key_lower", name="pk_iam_user_tags"),
    )
    op.create_table(
        "access_keys",
        sa.Column("access_key_id", sa.String(32), nullable=False),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("user_name_key", sa.String(64), nullable=True),
        sa.Column("secret_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_service", sa.String(64), nullable=True),
        sa.Column("last_used_region", sa.String(32), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.account_id"],
                                name="fk_access_keys_account_id_accounts"),
        sa.PrimaryKeyConstraint("access_key_id", name="pk_access_keys"),
    )
    op.create_index("ix_access_keys_owner", "access_keys", ["account_id", "user_name_key"])
    op.create_table(
        "audit_events",
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("event_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_source", sa.String(128), nullable=False),
        sa.Column("event_name", sa.String(128), nullable=False),
        sa.Column("aws_region", sa.String(32), nullable=False),
        sa.Column("read_only", sa.Boolean(), nullable=False),
        sa.Column("management_event", sa.Boolean(), nullable=False),
        sa.Column("access_key_id", sa.String(32), nullable=True),
        sa.Column("username", sa.String(256), nullable=True),
        sa.Column("error_code", sa.String(128), nullable=True),
        sa.Column("record", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_audit_events"),
    )
    op.create_index("ix_audit_events_account_time", "audit_events", ["account_id", "event_time"])


def downgrade() -> None:
    op.drop_index("ix_audit_events_account_time", table_name="audit_events")
    op.drop_table("audit_events")
    op.drop_index("ix_access_keys_owner", table_name="access_keys")
    op.drop_table("access_keys")
    op.drop_table("iam_user_tags")
    op.drop_table("iam_users")
    op.drop_table("accounts")
    op.drop_table("server_settings")
