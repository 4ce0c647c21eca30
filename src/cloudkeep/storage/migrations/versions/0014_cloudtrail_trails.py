"""CloudTrail: trails, their delivery cursors, digest chains, signing keys and worker leases.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def _time(name: str, nullable: bool) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "cloudtrail_trails",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("home_region", sa.String(32), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("arn", sa.String(2048), nullable=False),
        sa.Column("s3_bucket", sa.String(63), nullable=False),
        sa.Column("s3_prefix", sa.String(200), nullable=True),
        sa.Column("sns_topic", sa.String(256), nullable=True),
        sa.Column("include_global", sa.Boolean(), nullable=False),
        sa.Column("multi_region", sa.Boolean(), nullable=False),
        sa.Column("organization", sa.Boolean(), nullable=False),
        sa.Column("log_validation", sa.Boolean(), nullable=False),
        sa.Column("kms_key_id", sa.String(2048), nullable=True),
        sa.Column("cw_log_group", sa.String(2048), nullable=True),
        sa.Column("cw_role", sa.String(2048), nullable=True),
        sa.Column("selectors", sa.Text(), nullable=True),
        sa.Column("tags", sa.Text(), nullable=False),
        _time("created_at", False),
        sa.Column("is_logging", sa.Boolean(), nullable=False),
        _time("start_logging_time", True),
        _time("stop_logging_time", True),
        sa.Column("cursor_seq", sa.BigInteger(), nullable=False),
        sa.Column("stop_seq", sa.BigInteger(), nullable=True),
        _time("latest_delivery_time", True),
        _time("latest_delivery_attempt_time", True),
        sa.Column("latest_delivery_error", sa.String(256), nullable=True),
        _time("latest_digest_time", True),
        sa.Column("latest_digest_error", sa.String(256), nullable=True),
        sa.PrimaryKeyConstraint("account_id", "home_region", "name", name="pk_cloudtrail_trails"),
    )
    op.create_table(
        "cloudtrail_digest_chains",
        sa.Column("trail_arn", sa.String(2048), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("log_account", sa.String(12), nullable=False),
        _time("period_start", False),
        sa.Column("last_bucket", sa.String(63), nullable=True),
        sa.Column("last_key", sa.String(1024), nullable=True),
        sa.Column("last_signature", sa.Text(), nullable=True),
        sa.Column("last_hash", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("trail_arn", "region", "log_account", name="pk_cloudtrail_digest_chains"),
    )
    op.create_table(
        "cloudtrail_digest_logs",
        sa.Column("trail_arn", sa.String(2048), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("log_account", sa.String(12), nullable=False),
        sa.Column("s3_key", sa.String(1024), nullable=False),
        sa.Column("s3_bucket", sa.String(63), nullable=False),
        sa.Column("hash_value", sa.String(64), nullable=False),
        _time("oldest_event_time", False),
        _time("newest_event_time", False),
        sa.PrimaryKeyConstraint("trail_arn", "region", "log_account", "s3_key", name="pk_cloudtrail_digest_logs"),
    )
    op.create_table(
        "cloudtrail_signing_keys",
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("fingerprint", sa.String(32), nullable=False),
        sa.Column("sealed_private_key", sa.LargeBinary(), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        _time("valid_from", False),
        _time("valid_to", True),
        sa.PrimaryKeyConstraint("region", "fingerprint", name="pk_cloudtrail_signing_keys"),
    )
    op.create_table(
        "cloudtrail_leases",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("holder", sa.String(64), nullable=False),
        _time("expires_at", False),
        sa.PrimaryKeyConstraint("name", name="pk_cloudtrail_leases"),
    )


def downgrade() -> None:
    for table in ("cloudtrail_leases", "cloudtrail_signing_keys", "cloudtrail_digest_logs",
                  "cloudtrail_digest_chains", "cloudtrail_trails"):
        op.drop_table(table)
