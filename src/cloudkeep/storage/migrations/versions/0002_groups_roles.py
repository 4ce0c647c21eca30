"""IAM groups, group membership, roles and instance profiles.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _tags_table(name: str, owner_col: str, owner_len: int, owner_table: str, fk_name: str) -> None:
    op.create_table(
        name,
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column(owner_col, sa.String(owner_len), nullable=False),
        sa.Column("tag_key_lower", sa.String(128), nullable=False),
        sa.Column("tag_key", sa.String(128), nullable=False),
        sa.Column("tag_value", sa.String(256), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["account_id", owner_col], [f"{owner_table}.account_id", f"{owner_table}.{owner_col}"],
                                name=fk_name),
        sa.PrimaryKeyConstraint("account_id", owner_col, "tag_key_lower", name=f"pk_{name}"),
    )


def upgrade() -> None:
    op.create_table(
        "iam_groups",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("group_name_key", sa.String(128), nullable=False),
        sa.Column("group_name", sa.String(128), nullable=False),
        sa.Column("group_id", sa.String(32), nullable=False),
        sa.Column("path", sa.String(512), nullable=False),
        sa.Column("arn", sa.String(2048), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.account_id"], name="fk_iam_groups_account_id_accounts"),
        sa.PrimaryKeyConstraint("account_id", "group_name_key", name="pk_iam_groups"),
        sa.UniqueConstraint("group_id", name="uq_iam_groups_group_id"),
    )
    op.create_table(
        "iam_group_members",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("group_name_key", sa.String(128), nullable=False),
        sa.Column("user_name_key", sa.String(64), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id", "group_name_key"], ["iam_groups.account_id", "iam_groups.group_name_key"],
                                name="fk_iam_group_members_group_iam_groups"),
        sa.ForeignKeyConstraint(["account_id", "user_name_key"], ["iam_users.account_id", "iam_users.user_name_key"],
                                name="fk_iam_group_members_user_iam_users"),
        sa.PrimaryKeyConstraint("account_id", "group_name_key", "user_name_key", name="pk_iam_group_members"),
    )
    op.create_index("ix_iam_group_members_user", "iam_group_members", ["account_id", "user_name_key"])
    op.create_table(
        "iam_roles",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("role_name_key", sa.String(64), nullable=False),
        sa.Column("role_name", sa.String(64), nullable=False),
        sa.Column("role_id", sa.String(32), nullable=False),
        sa.Column("path", sa.String(512), nullable=False),
        sa.Column("arn", sa.String(2048), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("assume_role_policy", sa.Text(), nullable=False),
        sa.Column("description", sa.String(1000), nullable=True),
        sa.Column("max_session_duration", sa.Integer(), nullable=False),
        sa.Column("permissions_boundary_arn", sa.String(2048), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_region", sa.String(32), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.account_id"], name="fk_iam_roles_account_id_accounts"),
        sa.PrimaryKeyConstraint("account_id", "role_name_key", name="pk_iam_roles"),
        sa.UniqueConstraint("role_id", name="uq_iam_roles_role_id"),
    )
    _tags_table("iam_role_tags", "role_name_key", 64, "iam_roles", "fk_iam_role_tags_owner_iam_roles")
    op.create_table(
        "iam_instance_profiles",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("instance_profile_name_key", sa.String(128), nullable=False),
        sa.Column("instance_profile_name", sa.String(128), nullable=False),
        sa.Column("instance_profile_id", sa.String(32), nullable=False),
        sa.Column("path", sa.String(512), nullable=False),
        sa.Column("arn", sa.String(2048), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.account_id"],
                                name="fk_iam_instance_profiles_account_id_accounts"),
        sa.PrimaryKeyConstraint("account_id", "instance_profile_name_key", name="pk_iam_instance_profiles"),
        sa.UniqueConstraint("instance_profile_id", name="uq_iam_instance_profiles_instance_profile_id"),
    )
    _tags_table("iam_instance_profile_tags", "instance_profile_name_key", 128, "iam_instance_profiles",
                "fk_iam_instance_profile_tags_owner_iam_instance_profiles")
    op.create_table(
        "iam_instance_profile_roles",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("instance_profile_name_key", sa.String(128), nullable=False),
        sa.Column("role_name_key", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(["account_id", "instance_profile_name_key"],
                                ["iam_instance_profiles.account_id", "iam_instance_profiles.instance_profile_name_key"],
                                name="fk_iam_instance_profile_roles_profile_iam_instance_profiles"),
        sa.ForeignKeyConstraint(["account_id", "role_name_key"], ["iam_roles.account_id", "iam_roles.role_name_key"],
                                name="fk_iam_instance_profile_roles_role_iam_roles"),
        sa.PrimaryKeyConstraint("account_id", "instance_profile_name_key", "role_name_key",
                                name="pk_iam_instance_profile_roles"),
    )
    op.create_index("ix_iam_instance_profile_roles_role", "iam_instance_profile_roles", ["account_id", "role_name_key"])


def downgrade() -> None:
    op.drop_index("ix_iam_instance_profile_roles_role", table_name="iam_instance_profile_roles")
    op.drop_table("iam_instance_profile_roles")
    op.drop_table("iam_instance_profile_tags")
    op.drop_table("iam_instance_profiles")
    op.drop_table("iam_role_tags")
    op.drop_table("iam_roles")
    op.drop_index("ix_iam_group_members_user", table_name="iam_group_members")
    op.drop_table("iam_group_members")
    op.drop_table("iam_groups")
