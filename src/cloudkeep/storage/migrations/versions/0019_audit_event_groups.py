"""Event history: one row for the records of a batch that the event history tells apart by
nothing but their id.

Adds ``audit_events.chunk_count``: a row written by the recorder's batches may stand for
several records that share their account, region, second, source, name, read-only flag,
category, access key, user name, error code and resources; they lie next to each other in the
row's chunk from ``chunk_index`` on. NULL: the row is one record. Their event ids are the
row's with the last byte replaced by their place in the group (``audit.recorder.member_id``).

Downgrade: every such row becomes one row per record again (with its resource rows), as 0018's
layout holds them.

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("audit_events", sa.Column("chunk_count", sa.Integer(), nullable=True))


def downgrade() -> None:
    from cloudkeep.audit.record_codec import chunk_texts

    bind = op.get_bind()
    columns = ("seq", "event_id", "account_id", "event_time", "event_source", "event_name", "aws_region",
               "read_only", "management_event", "access_key_id", "username", "error_code", "record",
               "chunk_id", "chunk_index", "chunk_count")
    events = sa.table("audit_events", *(sa.column(c) for c in columns))
    resources = sa.table("audit_event_resources", *(sa.column(c) for c in (
        "event_id", "position", "account_id", "aws_region", "event_time", "resource_type", "resource_name")))
    chunks = sa.table("audit_record_chunks", sa.column("chunk_id"), sa.column("data", sa.LargeBinary()))
    groups = bind.execute(sa.select(*(events.c[c] for c in columns)).where(events.c.chunk_count > 1)
                          .order_by(events.c.seq)).mappings().all()
    texts: dict[int, list[str]] = {}
    for group in groups:
        chunk_id = group["chunk_id"]
        if chunk_id not in texts:
            data = bind.execute(sa.select(chunks.c.data).where(chunks.c.chunk_id == chunk_id)).scalar()
            texts[chunk_id] = chunk_texts(data) if data is not None else []
        named = bind.execute(sa.select(resources).where(resources.c.event_id == group["event_id"])).mappings().all()
        for offset in range(1, group["chunk_count"]):
            index = group["chunk_index"] + offset
            lines = texts[chunk_id]
            if index >= len(lines):
                continue                     # the chunk is gone: nothing left to name
            event_id = json.loads(lines[index])["eventID"]
            row = {c: group[c] for c in columns if c not in ("seq", "chunk_count")}
            row.update(event_id=event_id, chunk_index=index)
            bind.execute(events.insert().values(**row))
            for resource in named:
                bind.execute(resources.insert().values(**{**resource, "event_id": event_id}))
    op.drop_column("audit_events", "chunk_count")
