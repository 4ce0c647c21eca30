"""KMS grants (services/kms/grants.py).

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kms_grants",
        sa.Column("grant_id", sa.String(64), nullable=False),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("key_arn", sa.String(2048), nullable=False),
        sa.Column("name", sa.String(256), nullable=True),
        sa.Column("grantee_principal", sa.String(256), nullable=False),
        sa.Column("retiring_principal", sa.String(256), nullable=True),
        sa.Column("operations", sa.Text(), nullable=False),
        sa.Column("constraints", sa.Text(), nullable=True),
        sa.Column("issuing_account", sa.String(12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.account_id"],
                                name="fk_kms_grants_account_id_accounts"),
        sa.PrimaryKeyConstraint("grant_id", name="pk_kms_grants"),
    )
    op.create_index("ix_kms_grants_key", "kms_grants", ["account_id", "region", "key_id"])
    op.create_index("ix_kms_grants_retiring", "kms_grants", ["region", "retiring_principal"])


def downgrade() -> None:
    op.drop_index("ix_kms_grants_retiring", table_name="kms_grants")
    op.drop_index("ix_kms_grants_key", table_name="kms_grants")
    op.drop_table("kms_grants")
