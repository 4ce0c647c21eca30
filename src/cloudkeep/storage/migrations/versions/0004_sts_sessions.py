"""STS sessions: temporary credentials (ASIA… keys).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sts_sessions",
        sa.Column("access_key_id", sa.String(32), nullable=False),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("principal_type", sa.String(32), nullable=False),
        sa.Column("arn", sa.String(2048), nullable=False),
        sa.Column("principal_id", sa.String(256), nullable=False),
        sa.Column("user_name", sa.String(64), nullable=True),
        sa.Column("parent_arn", sa.String(2048), nullable=True),
        sa.Column("parent_id", sa.String(128), nullable=True),
        sa.Column("session_name", sa.String(64), nullable=True),
        sa.Column("secret_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("token_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("session_policies", sa.Text(), nullable=True),
        sa.Column("session_tags", sa.Text(), nullable=True),
        sa.Column("transitive_tag_keys", sa.Text(), nullable=True),
        sa.Column("source_identity", sa.String(64), nullable=True),
        sa.Column("mfa_authenticated", sa.Boolean(), nullable=False),
        sa.Column("mfa_authenticated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.account_id"],
                                name="fk_sts_sessions_account_id_accounts"),
        sa.PrimaryKeyConstraint("access_key_id", name="pk_sts_sessions"),
    )
    op.create_index("ix_sts_sessions_expires_at", "sts_sessions", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_sts_sessions_expires_at", table_name="sts_sessions")
    op.drop_table("sts_sessions")
