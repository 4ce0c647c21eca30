"""S3: completed multipart uploads, so a repeated CompleteMultipartUpload answers its result.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "s3_completed_uploads",
        sa.Column("upload_id", sa.String(128), nullable=False),
        sa.Column("bucket", sa.String(63), nullable=False),
        sa.Column("key", sa.LargeBinary(), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("upload_id", name="pk_s3_completed_uploads"),
    )


def downgrade() -> None:
    op.drop_table("s3_completed_uploads")
