"""IAM login profiles, the account password policy, account aliases, virtual MFA devices and
credential reports.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "iam_login_profiles",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("user_name_key", sa.String(64), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("password_reset_required", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id", "user_name_key"], ["iam_users.account_id", "iam_users.user_name_key"],
                                name="fk_iam_login_profiles_owner_iam_users"),
        sa.PrimaryKeyConstraint("account_id", "user_name_key", name="pk_iam_login_profiles"),
    )
    op.create_table(
        "iam_password_policies",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("minimum_password_length", sa.Integer(), nullable=False),
        sa.Column("require_symbols", sa.Boolean(), nullable=False),
        sa.Column("require_numbers", sa.Boolean(), nullable=False),
        sa.Column("require_uppercase", sa.Boolean(), nullable=False),
        sa.Column("require_lowercase", sa.Boolean(), nullable=False),
        sa.Column("allow_users_to_change_password", sa.Boolean(), nullable=False),
        sa.Column("max_password_age", sa.Integer(), nullable=True),
        sa.Column("password_reuse_prevention", sa.Integer(), nullable=True),
        sa.Column("hard_expiry", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.account_id"],
                                name="fk_iam_password_policies_account_id_accounts"),
        sa.PrimaryKeyConstraint("account_id", name="pk_iam_password_policies"),
    )
    op.create_table(
        "iam_account_aliases",
        sa.Column("alias", sa.String(63), nullable=False),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.account_id"],
                                name="fk_iam_account_aliases_account_id_accounts"),
        sa.PrimaryKeyConstraint("alias", name="pk_iam_account_aliases"),
        sa.UniqueConstraint("account_id", name="uq_iam_account_aliases_account_id"),
    )
    op.create_table(
        "iam_mfa_devices",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("device_name_key", sa.String(256), nullable=False),
        sa.Column("serial_number", sa.String(2048), nullable=False),
        sa.Column("seed_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tags", sa.Text(), nullable=True),
        sa.Column("owner_type", sa.String(8), nullable=True),
        sa.Column("user_name_key", sa.String(64), nullable=True),
        sa.Column("enabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_step", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.account_id"],
                                name="fk_iam_mfa_devices_account_id_accounts"),
        sa.PrimaryKeyConstraint("account_id", "device_name_key", name="pk_iam_mfa_devices"),
        sa.UniqueConstraint("serial_number", name="uq_iam_mfa_devices_serial_number"),
    )
    op.create_index("ix_iam_mfa_devices_owner", "iam_mfa_devices", ["account_id", "user_name_key"])
    op.create_table(
        "iam_credential_reports",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("generated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.account_id"],
                                name="fk_iam_credential_reports_account_id_accounts"),
        sa.PrimaryKeyConstraint("account_id", name="pk_iam_credential_reports"),
    )


def downgrade() -> None:
    op.drop_table("iam_credential_reports")
    op.drop_index("ix_iam_mfa_devices_owner", table_name="iam_mfa_devices")
    op.drop_table("iam_mfa_devices")
    op.drop_table("iam_account_aliases")
    op.drop_table("iam_password_policies")
    op.drop_table("iam_login_profiles")
