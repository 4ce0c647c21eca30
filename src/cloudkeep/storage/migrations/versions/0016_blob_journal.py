"""Blob journal: the blob store files written for rows not committed yet, swept after a crash.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "blob_journal",
        sa.Column("blob_id", sa.String(32), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_blob_journal_created_at", "blob_journal", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_blob_journal_created_at", table_name="blob_journal")
    op.drop_table("blob_journal")
