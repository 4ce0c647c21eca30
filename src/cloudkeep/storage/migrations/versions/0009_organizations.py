"""AWS Organizations: organizations, membership, OUs, policies and attachments, enabled policy
types, tags, handshakes, CreateAccount requests, trusted service access, delegated administrators.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_TIME = sa.DateTime(timezone=True)


def _org_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["org_id"], ["org_organizations.org_id"],
                                   name=f"fk_{table}_org_id_org_organizations")


def _account_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["account_id"], ["accounts.account_id"], name=f"fk_{table}_account_id_accounts")


def upgrade() -> None:
    op.create_table(
        "org_organizations",
        sa.Column("org_id", sa.String(34), nullable=False),
        sa.Column("management_account_id", sa.String(12), nullable=False),
        sa.Column("root_id", sa.String(34), nullable=False),
        sa.Column("feature_set", sa.String(32), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(["management_account_id"], ["accounts.account_id"],
                                name="fk_org_organizations_management_account_id_accounts"),
        sa.PrimaryKeyConstraint("org_id", name="pk_org_organizations"),
        sa.UniqueConstraint("management_account_id", name="uq_org_organizations_management_account_id"),
        sa.UniqueConstraint("root_id", name="uq_org_organizations_root_id"),
    )
    op.create_table(
        "org_accounts",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("org_id", sa.String(34), nullable=False),
        sa.Column("parent_id", sa.String(68), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("joined_method", sa.String(16), nullable=False),
        sa.Column("joined_at", _TIME, nullable=False),
        sa.Column("closed_at", _TIME, nullable=True),
        _account_fk("org_accounts"),
        _org_fk("org_accounts"),
        sa.PrimaryKeyConstraint("account_id", name="pk_org_accounts"),
    )
    op.create_index("ix_org_accounts_parent", "org_accounts", ["org_id", "parent_id"])
    op.create_table(
        "org_units",
        sa.Column("ou_id", sa.String(68), nullable=False),
        sa.Column("org_id", sa.String(34), nullable=False),
        sa.Column("parent_id", sa.String(68), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("path", sa.String(512), nullable=False),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        _org_fk("org_units"),
        sa.PrimaryKeyConstraint("ou_id", name="pk_org_units"),
    )
    op.create_index("ix_org_units_parent_name", "org_units", ["org_id", "parent_id", "name"], unique=True)
    op.create_table(
        "org_policies",
        sa.Column("policy_id", sa.String(130), nullable=False),
        sa.Column("org_id", sa.String(34), nullable=False),
        sa.Column("policy_type", sa.String(64), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("description", sa.String(512), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        _org_fk("org_policies"),
        sa.PrimaryKeyConstraint("policy_id", name="pk_org_policies"),
    )
    op.create_index("ix_org_policies_name", "org_policies", ["org_id", "policy_type", "name"], unique=True)
    op.create_table(
        "org_policy_attachments",
        sa.Column("org_id", sa.String(34), nullable=False),
        sa.Column("target_id", sa.String(68), nullable=False),
        sa.Column("policy_id", sa.String(130), nullable=False),
        sa.Column("policy_type", sa.String(64), nullable=False),
        sa.Column("attached_at", _TIME, nullable=False),
        _org_fk("org_policy_attachments"),
        sa.PrimaryKeyConstraint("org_id", "target_id", "policy_id", name="pk_org_policy_attachments"),
    )
    op.create_index("ix_org_policy_attachments_policy", "org_policy_attachments", ["org_id", "policy_id"])
    op.create_table(
        "org_policy_types",
        sa.Column("org_id", sa.String(34), nullable=False),
        sa.Column("policy_type", sa.String(64), nullable=False),
        sa.Column("enabled_at", _TIME, nullable=False),
        _org_fk("org_policy_types"),
        sa.PrimaryKeyConstraint("org_id", "policy_type", name="pk_org_policy_types"),
    )
    op.create_table(
        "org_tags",
        sa.Column("org_id", sa.String(34), nullable=False),
        sa.Column("resource_id", sa.String(130), nullable=False),
        sa.Column("tag_key", sa.String(128), nullable=False),
        sa.Column("tag_value", sa.String(256), nullable=False),
        _org_fk("org_tags"),
        sa.PrimaryKeyConstraint("org_id", "resource_id", "tag_key", name="pk_org_tags"),
    )
    op.create_table(
        "org_handshakes",
        sa.Column("handshake_id", sa.String(34), nullable=False),
        sa.Column("org_id", sa.String(34), nullable=False),
        sa.Column("management_account_id", sa.String(12), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("target_type", sa.String(16), nullable=False),
        sa.Column("target_id", sa.String(256), nullable=False),
        sa.Column("target_account_id", sa.String(12), nullable=True),
        sa.Column("resources", sa.Text(), nullable=False),
        sa.Column("tags", sa.Text(), nullable=True),
        sa.Column("requested_at", _TIME, nullable=False),
        sa.Column("expires_at", _TIME, nullable=False),
        sa.Column("state_changed_at", _TIME, nullable=True),
        _org_fk("org_handshakes"),
        sa.ForeignKeyConstraint(["management_account_id"], ["accounts.account_id"],
                                name="fk_org_handshakes_management_account_id_accounts"),
        sa.ForeignKeyConstraint(["target_account_id"], ["accounts.account_id"],
                                name="fk_org_handshakes_target_account_id_accounts"),
        sa.PrimaryKeyConstraint("handshake_id", name="pk_org_handshakes"),
    )
    op.create_index("ix_org_handshakes_org", "org_handshakes", ["org_id"])
    op.create_index("ix_org_handshakes_target", "org_handshakes", ["target_account_id"])
    op.create_table(
        "org_create_account_requests",
        sa.Column("request_id", sa.String(36), nullable=False),
        sa.Column("org_id", sa.String(34), nullable=False),
        sa.Column("account_name", sa.String(50), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("account_id", sa.String(12), nullable=True),
        sa.Column("failure_reason", sa.String(64), nullable=True),
        sa.Column("requested_at", _TIME, nullable=False),
        sa.Column("completed_at", _TIME, nullable=True),
        _org_fk("org_create_account_requests"),
        _account_fk("org_create_account_requests"),
        sa.PrimaryKeyConstraint("request_id", name="pk_org_create_account_requests"),
    )
    op.create_index("ix_org_create_account_requests_org", "org_create_account_requests", ["org_id"])
    op.create_table(
        "org_service_access",
        sa.Column("org_id", sa.String(34), nullable=False),
        sa.Column("service_principal", sa.String(128), nullable=False),
        sa.Column("enabled_at", _TIME, nullable=False),
        _org_fk("org_service_access"),
        sa.PrimaryKeyConstraint("org_id", "service_principal", name="pk_org_service_access"),
    )
    op.create_table(
        "org_delegated_admins",
        sa.Column("org_id", sa.String(34), nullable=False),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("service_principal", sa.String(128), nullable=False),
        sa.Column("enabled_at", _TIME, nullable=False),
        _org_fk("org_delegated_admins"),
        _account_fk("org_delegated_admins"),
        sa.PrimaryKeyConstraint("org_id", "account_id", "service_principal", name="pk_org_delegated_admins"),
    )
    op.create_index("ix_org_delegated_admins_account", "org_delegated_admins", ["account_id"])


def downgrade() -> None:
    op.drop_index("ix_org_delegated_admins_account", table_name="org_delegated_admins")
    op.drop_table("org_delegated_admins")
    op.drop_table("org_service_access")
    op.drop_index("ix_org_create_account_requests_org", table_name="org_create_account_requests")
    op.drop_table("org_create_account_requests")
    op.drop_index("ix_org_handshakes_target", table_name="org_handshakes")
    op.drop_index("ix_org_handshakes_org", table_name="org_handshakes")
    op.drop_table("org_handshakes")
    op.drop_table("org_tags")
    op.drop_table("org_policy_types")
    op.drop_index("ix_org_policy_attachments_policy", table_name="org_policy_attachments")
    op.drop_table("org_policy_attachments")
    op.drop_index("ix_org_policies_name", table_name="org_policies")
    op.drop_table("org_policies")
    op.drop_index("ix_org_units_parent_name", table_name="org_units")
    op.drop_table("org_units")
    op.drop_index("ix_org_accounts_parent", table_name="org_accounts")
    op.drop_table("org_accounts")
    op.drop_table("org_organizations")
