"""CloudTrail event history: ``audit_events`` gets a monotonic ``seq`` (the primary key; the
event id stays unique), compressed record bodies and one index per lookup attribute;
``audit_event_resources`` holds the ResourceType/ResourceName of each management event.

SQLite can only make an ``INTEGER PRIMARY KEY`` auto-increment, so the table is rebuilt (on both
backends, the same way): the old rows are copied in event-time order, their JSON compressed.
The downgrade decompresses every stored form (``audit.record_codec``: rows written later are
compressed against a preset dictionary).

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import zlib

import sqlalchemy as sa
from alembic import op

from cloudkeep.audit.record_codec import record_text   # plain zlib, or zlib with a preset dictionary

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_BATCH = 1000
_COLUMNS = ("event_id", "account_id", "event_time", "event_source", "event_name", "aws_region",
            "read_only", "management_event", "access_key_id", "username", "error_code")


def _new_events_table(name: str) -> None:
    op.create_table(
        name,
        sa.Column("seq", _SEQ, nullable=False, autoincrement=True),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("event_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_source", sa.String(128), nullable=False),
        sa.Column("event_name", sa.String(128), nullable=False),
        sa.Column("aws_region", sa.String(32), nullable=False),
        sa.Column("read_only", sa.Boolean(), nullable=False),
        sa.Column("management_event", sa.Boolean(), nullable=False),
        sa.Column("access_key_id", sa.String(32), nullable=True),
        sa.Column("username", sa.String(256), nullable=True),
        sa.Column("error_code", sa.String(128), nullable=True),
        sa.Column("record", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=f"pk_{name}"),
        sqlite_autoincrement=True,
    )


def upgrade() -> None:
    bind = op.get_bind()
    _new_events_table("audit_events_new")
    old = sa.table("audit_events", *(sa.column(c) for c in _COLUMNS), sa.column("record"))
    new = sa.table("audit_events_new", *(sa.column(c) for c in _COLUMNS), sa.column("record"))
    rows = bind.execute(sa.select(old).order_by(old.c.event_time, old.c.event_id)).mappings().all()
    for start in range(0, len(rows), _BATCH):
        batch = [{**{c: row[c] for c in _COLUMNS},
                  "record": zlib.compress(str(row["record"]).encode("utf-8"))}
                 for row in rows[start:start + _BATCH]]
        bind.execute(sa.insert(new), batch)
    op.drop_index("ix_audit_events_account_time", table_name="audit_events")
    op.drop_table("audit_events")
    op.rename_table("audit_events_new", "audit_events")
    if bind.dialect.name == "postgresql":   # the renamed table keeps its old constraint names
        op.execute("ALTER TABLE audit_events RENAME CONSTRAINT pk_audit_events_new TO pk_audit_events")
    op.create_index("ix_audit_events_event_id", "audit_events", ["event_id"], unique=True)
    op.create_index("ix_audit_events_time", "audit_events",
                    ["account_id", "aws_region", "management_event", "event_time"])
    for suffix, column in (("event_name", "event_name"), ("username", "username"),
                           ("access_key", "access_key_id"), ("event_source", "event_source"),
                           ("read_only", "read_only")):
        op.create_index(f"ix_audit_events_{suffix}", "audit_events",
                        ["account_id", "aws_region", column, "event_time"])

    op.create_table(
        "audit_event_resources",
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("aws_region", sa.String(32), nullable=False),
        sa.Column("event_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resource_type", sa.String(128), nullable=False),
        sa.Column("resource_name", sa.String(2048), nullable=False),
        sa.PrimaryKeyConstraint("event_id", "position", name="pk_audit_event_resources"),
    )
    op.create_index("ix_audit_event_resources_type", "audit_event_resources",
                    ["account_id", "aws_region", "resource_type", "event_time"])
    op.create_index("ix_audit_event_resources_name", "audit_event_resources",
                    ["account_id", "aws_region", "resource_name", "event_time"])


def downgrade() -> None:
    op.drop_table("audit_event_resources")
    bind = op.get_bind()
    op.create_table(
        "audit_events_old",
        *(sa.Column(c, t, nullable=n) for c, t, n in (
            ("event_id", sa.String(36), False), ("account_id", sa.String(12), False),
            ("event_time", sa.DateTime(timezone=True), False), ("event_source", sa.String(128), False),
            ("event_name", sa.String(128), False), ("aws_region", sa.String(32), False),
            ("read_only", sa.Boolean(), False), ("management_event", sa.Boolean(), False),
            ("access_key_id", sa.String(32), True), ("username", sa.String(256), True),
            ("error_code", sa.String(128), True), ("record", sa.Text(), False))),
        sa.PrimaryKeyConstraint("event_id", name="pk_audit_events_old"),
    )
    cur = sa.table("audit_events", *(sa.column(c) for c in _COLUMNS), sa.column("record"))
    old = sa.table("audit_events_old", *(sa.column(c) for c in _COLUMNS), sa.column("record"))
    rows = bind.execute(sa.select(cur)).mappings().all()
    for start in range(0, len(rows), _BATCH):
        batch = [{**{c: row[c] for c in _COLUMNS},
                  "record": record_text(row["record"])}
                 for row in rows[start:start + _BATCH]]
        bind.execute(sa.insert(old), batch)
    op.drop_table("audit_events")
    op.rename_table("audit_events_old", "audit_events")
    if bind.dialect.name == "postgresql":
        op.execute("ALTER TABLE audit_events RENAME CONSTRAINT pk_audit_events_old TO pk_audit_events")
    op.create_index("ix_audit_events_account_time", "audit_events", ["account_id", "event_time"])
