"""S3: buckets, object versions (bodies in the blob store, data keys sealed), multipart uploads
and their parts, canonical user ids.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "s3_buckets",
        sa.Column("name", sa.String(63), nullable=False),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("location_constraint", sa.String(32), nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("versioning", sa.String(16), nullable=True),
        sa.Column("policy", sa.Text(), nullable=True),
        sa.Column("tags", sa.Text(), nullable=True),
        sa.Column("encryption", sa.Text(), nullable=False),
        sa.Column("object_ownership", sa.String(32), nullable=False),
        sa.Column("next_seq", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.account_id"], name="fk_s3_buckets_account_id_accounts"),
        sa.PrimaryKeyConstraint("name", name="pk_s3_buckets"),
    )
    op.create_index("ix_s3_buckets_account", "s3_buckets", ["account_id", "name"])
    op.create_table(
        "s3_objects",
        sa.Column("bucket", sa.String(63), nullable=False),
        sa.Column("key", sa.LargeBinary(), nullable=False),
        sa.Column("version_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("is_latest", sa.Boolean(), nullable=False),
        sa.Column("is_delete_marker", sa.Boolean(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("etag", sa.String(80), nullable=True),
        sa.Column("last_modified", _TIME, nullable=False),
        sa.Column("owner_account", sa.String(12), nullable=False),
        sa.Column("storage_class", sa.String(32), nullable=False),
        sa.Column("headers", sa.Text(), nullable=True),
        sa.Column("metadata", sa.Text(), nullable=True),
        sa.Column("tags", sa.Text(), nullable=True),
        sa.Column("checksum_algorithm", sa.String(16), nullable=True),
        sa.Column("checksum_value", sa.String(128), nullable=True),
        sa.Column("checksum_type", sa.String(16), nullable=True),
        sa.Column("sse_algorithm", sa.String(16), nullable=True),
        sa.Column("key_id", sa.String(32), nullable=True),
        sa.Column("sealed_key", sa.LargeBinary(), nullable=True),
        sa.Column("blobs", sa.Text(), nullable=True),
        sa.Column("parts", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["bucket"], ["s3_buckets.name"], name="fk_s3_objects_bucket_s3_buckets"),
        sa.PrimaryKeyConstraint("bucket", "key", "version_id", name="pk_s3_objects"),
    )
    op.create_index("ix_s3_objects_latest", "s3_objects", ["bucket", "is_latest", "key"])
    op.create_index("ix_s3_objects_seq", "s3_objects", ["bucket", "key", "seq"])
    op.create_table(
        "s3_uploads",
        sa.Column("upload_id", sa.String(128), nullable=False),
        sa.Column("bucket", sa.String(63), nullable=False),
        sa.Column("key", sa.LargeBinary(), nullable=False),
        sa.Column("initiated", _TIME, nullable=False),
        sa.Column("initiator_arn", sa.String(2048), nullable=False),
        sa.Column("initiator_id", sa.String(128), nullable=False),
        sa.Column("owner_account", sa.String(12), nullable=False),
        sa.Column("storage_class", sa.String(32), nullable=False),
        sa.Column("headers", sa.Text(), nullable=True),
        sa.Column("metadata", sa.Text(), nullable=True),
        sa.Column("tags", sa.Text(), nullable=True),
        sa.Column("checksum_algorithm", sa.String(16), nullable=True),
        sa.Column("checksum_type", sa.String(16), nullable=True),
        sa.Column("sse_algorithm", sa.String(16), nullable=False),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("sealed_key", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["bucket"], ["s3_buckets.name"], name="fk_s3_uploads_bucket_s3_buckets"),
        sa.PrimaryKeyConstraint("upload_id", name="pk_s3_uploads"),
    )
    op.create_index("ix_s3_uploads_bucket_key", "s3_uploads", ["bucket", "key", "initiated"])
    op.create_table(
        "s3_upload_parts",
        sa.Column("upload_id", sa.String(128), nullable=False),
        sa.Column("part_number", sa.Integer(), nullable=False),
        sa.Column("blob_id", sa.String(32), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("md5", sa.String(32), nullable=False),
        sa.Column("last_modified", _TIME, nullable=False),
        sa.Column("checksum_value", sa.String(128), nullable=True),
        sa.ForeignKeyConstraint(["upload_id"], ["s3_uploads.upload_id"],
                                name="fk_s3_upload_parts_upload_id_s3_uploads"),
        sa.PrimaryKeyConstraint("upload_id", "part_number", name="pk_s3_upload_parts"),
    )
    op.create_table(
        "s3_canonical_users",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("canonical_id", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.account_id"],
                                name="fk_s3_canonical_users_account_id_accounts"),
        sa.PrimaryKeyConstraint("account_id", name="pk_s3_canonical_users"),
        sa.UniqueConstraint("canonical_id", name="uq_s3_canonical_users_canonical_id"),
    )


def downgrade() -> None:
    op.drop_table("s3_canonical_users")
    op.drop_table("s3_upload_parts")
    op.drop_index("ix_s3_uploads_bucket_key", table_name="s3_uploads")
    op.drop_table("s3_uploads")
    op.drop_index("ix_s3_objects_seq", table_name="s3_objects")
    op.drop_index("ix_s3_objects_latest", table_name="s3_objects")
    op.drop_table("s3_objects")
    op.drop_index("ix_s3_buckets_account", table_name="s3_buckets")
    op.drop_table("s3_buckets")
