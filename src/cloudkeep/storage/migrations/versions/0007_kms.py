"""KMS keys, their sealed key material versions, and aliases.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kms_keys",
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("arn", sa.String(2048), nullable=False),
        sa.Column("key_spec", sa.String(32), nullable=False),
        sa.Column("key_usage", sa.String(32), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("origin", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deletion_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("pending_window_days", sa.Integer(), nullable=True),
        sa.Column("policy", sa.Text(), nullable=False),
        sa.Column("current_material_id", sa.String(64), nullable=False),
        sa.Column("rotation_enabled", sa.Boolean(), nullable=False),
        sa.Column("rotation_period_days", sa.Integer(), nullable=True),
        sa.Column("next_rotation", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tags", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.account_id"],
                                name="fk_kms_keys_account_id_accounts"),
        sa.PrimaryKeyConstraint("key_id", name="pk_kms_keys"),
        sa.UniqueConstraint("arn", name="uq_kms_keys_arn"),
    )
    op.create_index("ix_kms_keys_account_region", "kms_keys", ["account_id", "region", "key_id"])
    op.create_table(
        "kms_key_materials",
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("material_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("material_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rotation_type", sa.String(16), nullable=True),
        sa.ForeignKeyConstraint(["key_id"], ["kms_keys.key_id"],
                                name="fk_kms_key_materials_key_id_kms_keys"),
        sa.PrimaryKeyConstraint("key_id", "material_id", name="pk_kms_key_materials"),
    )
    op.create_table(
        "kms_aliases",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("alias_name", sa.String(256), nullable=False),
        sa.Column("target_key_id", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.account_id"],
                                name="fk_kms_aliases_account_id_accounts"),
        sa.ForeignKeyConstraint(["target_key_id"], ["kms_keys.key_id"],
                                name="fk_kms_aliases_target_key_id_kms_keys"),
        sa.PrimaryKeyConstraint("account_id", "region", "alias_name", name="pk_kms_aliases"),
    )
    op.create_index("ix_kms_aliases_target_key_id", "kms_aliases", ["target_key_id"])


def downgrade() -> None:
    op.drop_index("ix_kms_aliases_target_key_id", table_name="kms_aliases")
    op.drop_table("kms_aliases")
    op.drop_table("kms_key_materials")
    op.drop_index("ix_kms_keys_account_region", table_name="kms_keys")
    op.drop_table("kms_keys")
