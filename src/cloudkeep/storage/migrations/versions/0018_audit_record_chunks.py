"""Event history: records written in batches are stored compressed together, a chunk per batch.

Adds ``audit_record_chunks`` (one zlib stream of a batch's records, a line each) and, on
``audit_events``, ``chunk_id`` and ``chunk_index``: where a row's record is when it is not in
the row's own ``record`` (which is then empty). Rows written before stay as they are.

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "audit_record_chunks",
        sa.Column("chunk_id", _SEQ, primary_key=True, autoincrement=True),
        sa.Column("newest_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_audit_record_chunks_newest_time", "audit_record_chunks", ["newest_time"])
    op.add_column("audit_events", sa.Column("chunk_id", _SEQ, nullable=True))
    op.add_column("audit_events", sa.Column("chunk_index", sa.Integer(), nullable=True))


def downgrade() -> None:
    # the chunked records go back into their rows before the chunks go
    from cloudkeep.audit.record_codec import chunk_texts, encode_text

    bind = op.get_bind()
    events = sa.table("audit_events", sa.column("seq"), sa.column("record", sa.LargeBinary()),
                      sa.column("chunk_id"), sa.column("chunk_index"))
    chunks = sa.table("audit_record_chunks", sa.column("chunk_id"), sa.column("data", sa.LargeBinary()))
    for chunk_id, data in bind.execute(sa.select(chunks.c.chunk_id, chunks.c.data)).all():
        texts = chunk_texts(data)
        for seq, index in bind.execute(sa.select(events.c.seq, events.c.chunk_index)
                                       .where(events.c.chunk_id == chunk_id)).all():
            bind.execute(events.update().where(events.c.seq == seq)
                         .values(record=encode_text(texts[index])))
    op.drop_column("audit_events", "chunk_index")
    op.drop_column("audit_events", "chunk_id")
    op.drop_index("ix_audit_record_chunks_newest_time", table_name="audit_record_chunks")
    op.drop_table("audit_record_chunks")
