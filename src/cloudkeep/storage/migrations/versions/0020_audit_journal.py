"""Event history: the journal of mutating calls' records.

Adds ``audit_journal``: a successful mutating call's record is written there in the call's own
transaction, as its compact JSON text, and the recorder's batches move it into the event history
(``audit_events`` and its chunks, ``audit.recorder.drain_journal``).

Downgrade: refused while the journal holds records (a server stopped cleanly leaves it empty:
its recorder moves them at shutdown); an empty journal is dropped.

Revision ID: 0020
Revises: 0019
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_journal",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("record", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    waiting = op.get_bind().execute(sa.text("SELECT COUNT(*) FROM audit_journal")).scalar_one()
    if waiting:
        raise RuntimeError(f"audit_journal holds {waiting} records not yet in the event history: start and "
                           "stop the server of this version once (it moves them), then downgrade")
    op.drop_table("audit_journal")
