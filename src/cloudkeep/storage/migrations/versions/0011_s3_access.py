"""S3 access control: bucket and object ACLs, bucket Block Public Access settings, and the
account-level Block Public Access settings (S3 Control).

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("s3_buckets", sa.Column("acl", sa.Text(), nullable=True))
    op.add_column("s3_buckets", sa.Column("public_access_block", sa.Text(), nullable=True))
    op.add_column("s3_objects", sa.Column("acl", sa.Text(), nullable=True))
    op.add_column("s3_uploads", sa.Column("acl", sa.Text(), nullable=True))
    op.create_table(
        "s3_account_public_access_blocks",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("config", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.account_id"],
                                name="fk_s3_account_public_access_blocks_account_id_accounts"),
        sa.PrimaryKeyConstraint("account_id", name="pk_s3_account_public_access_blocks"),
    )


def downgrade() -> None:
    op.drop_table("s3_account_public_access_blocks")
    for table, columns in (("s3_uploads", ("acl",)), ("s3_objects", ("acl",)),
                           ("s3_buckets", ("public_access_block", "acl"))):
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.drop_column(column)
