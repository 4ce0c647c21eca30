"""Per-account authorization generations (storage/generations.py).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "policy_generations",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", name="pk_policy_generations"),
    )


def downgrade() -> None:
    op.drop_table("policy_generations")
