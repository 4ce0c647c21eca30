"""Event history: the lookup indexes of ``audit_events`` cover management events only.

LookupEvents shows management events only and every one of its queries says so
(``management_event = true``), so ``ix_audit_events_time``, ``_username``, ``_access_key``,
``_event_source`` and ``_read_only`` become partial indexes with that predicate (same names; the
time index loses its ``management_event`` column, which the predicate makes constant and which,
left unbound before ``event_time`` in PostgreSQL's index condition, would turn the time range into
a filter): a data event no longer writes an entry in each. ``ix_audit_events_event_id`` (unique)
and ``ix_audit_events_event_name`` (delivery finds StopLogging's event by name) stay whole.

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

# name → (its columns before 0017, its columns after)
_PARTIAL = {
    "ix_audit_events_time": (["account_id", "aws_region", "management_event", "event_time"],
                             ["account_id", "aws_region", "event_time"]),
    "ix_audit_events_username": (["account_id", "aws_region", "username", "event_time"],) * 2,
    "ix_audit_events_access_key": (["account_id", "aws_region", "access_key_id", "event_time"],) * 2,
    "ix_audit_events_event_source": (["account_id", "aws_region", "event_source", "event_time"],) * 2,
    "ix_audit_events_read_only": (["account_id", "aws_region", "read_only", "event_time"],) * 2,
}
# the predicate as each dialect compiles ``management_event == true()`` (storage.schema)
_WHERE = {"sqlite_where": sa.text("management_event = 1"), "postgresql_where": sa.text("management_event")}


def _recreate(partial: bool) -> None:
    for name, (whole, partial_columns) in _PARTIAL.items():
        op.drop_index(name, table_name="audit_events")
        if partial:
            op.create_index(name, "audit_events", partial_columns, **_WHERE)
        else:
            op.create_index(name, "audit_events", whole)


def upgrade() -> None:
    _recreate(partial=True)


def downgrade() -> None:
    _recreate(partial=False)
