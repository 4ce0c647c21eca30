"""IAM managed policies and versions, inline policies, attachments.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "iam_policies",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("policy_name_key", sa.String(128), nullable=False),
        sa.Column("policy_name", sa.String(128), nullable=False),
        sa.Column("policy_id", sa.String(32), nullable=False),
        sa.Column("path", sa.String(512), nullable=False),
        sa.Column("arn", sa.String(2048), nullable=False),
        sa.Column("description", sa.String(1000), nullable=True),
        sa.Column("default_version_id", sa.String(16), nullable=False),
        sa.Column("next_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.account_id"],
                                name="fk_iam_policies_account_id_accounts"),
        sa.PrimaryKeyConstraint("account_id", "policy_name_key", name="pk_iam_policies"),
        sa.UniqueConstraint("policy_id", name="uq_iam_policies_policy_id"),
    )
    op.create_table(
        "iam_policy_versions",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("policy_name_key", sa.String(128), nullable=False),
        sa.Column("version_num", sa.Integer(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id", "policy_name_key"],
                                ["iam_policies.account_id", "iam_policies.policy_name_key"],
                                name="fk_iam_policy_versions_owner_iam_policies"),
        sa.PrimaryKeyConstraint("account_id", "policy_name_key", "version_num", name="pk_iam_policy_versions"),
    )
    op.create_table(
        "iam_policy_tags",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("policy_name_key", sa.String(128), nullable=False),
        sa.Column("tag_key_lower", sa.String(128), nullable=False),
        sa.Column("tag_key", sa.String(128), nullable=False),
        sa.Column("tag_value", sa.String(256), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["account_id", "policy_name_key"],
                                ["iam_policies.account_id", "iam_policies.policy_name_key"],
                                name="fk_iam_policy_tags_owner_iam_policies"),
        sa.PrimaryKeyConstraint("account_id", "policy_name_key", "tag_key_lower", name="pk_iam_policy_tags"),
    )
    op.create_table(
        "iam_inline_policies",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("entity_type", sa.String(8), nullable=False),
        sa.Column("entity_name_key", sa.String(128), nullable=False),
        sa.Column("policy_name_key", sa.String(128), nullable=False),
        sa.Column("policy_name", sa.String(128), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.account_id"],
                                name="fk_iam_inline_policies_account_id_accounts"),
        sa.PrimaryKeyConstraint("account_id", "entity_type", "entity_name_key", "policy_name_key",
                                name="pk_iam_inline_policies"),
    )
    op.create_table(
        "iam_policy_attachments",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("entity_type", sa.String(8), nullable=False),
        sa.Column("entity_name_key", sa.String(128), nullable=False),
        sa.Column("policy_arn", sa.String(2048), nullable=False),
        sa.Column("policy_name", sa.String(128), nullable=False),
        sa.Column("policy_path", sa.String(512), nullable=False),
        sa.Column("attached_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.account_id"],
                                name="fk_iam_policy_attachments_account_id_accounts"),
        sa.PrimaryKeyConstraint("account_id", "entity_type", "entity_name_key", "policy_arn",
                                name="pk_iam_policy_attachments"),
    )
    op.create_index("ix_iam_policy_attachments_policy", "iam_policy_attachments", ["account_id", "policy_arn"])


def downgrade() -> None:
    op.drop_index("ix_iam_policy_attachments_policy", table_name="iam_policy_attachments")
    op.drop_table("iam_policy_attachments")
    op.drop_table("iam_inline_policies")
    op.drop_table("iam_policy_tags")
    op.drop_table("iam_policy_versions")
    op.drop_table("iam_policies")
