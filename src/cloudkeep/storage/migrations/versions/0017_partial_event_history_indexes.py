"""Event history: the lookup indexes of ``audit_events`` cover management events only.

LookupEvents shows management events only and every one of its queries says so
(``management_event = true``), so ``ix_audit_events_time``, ``_username``, ``_access_key``,
``_event_source`` and ``_read_only`` become partial indexes with that predicate (same names and
columns): a data event no longer writes an entry in each. ``ix_audit_events_event_id`` (unique)
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

_PARTIAL = (("ix_audit_events_time", "management_event"), ("ix_audit_events_username", "username"),
            ("ix_audit_events_access_key", "access_key_id"), ("ix_audit_events_event_source", "event_source"),
            ("ix_audit_events_read_only", "read_only"))
# the predicate as each dialect compiles ``management_event == true()`` (storage.schema)
_WHERE = {"sqlite_where": sa.text("management_event = 1"), "postgresql_where": sa.text("management_event")}


def _recreate(partial: bool) -> None:
    for name, column in _PARTIAL:
        op.drop_index(name, table_name="audit_events")
        op.create_index(name, "audit_events", ["account_id", "aws_region", column, "event_time"],
                        **(_WHERE if partial else {}))


def upgrade() -> None:
    _recreate(partial=True)


def downgrade() -> None:
    _recreate(partial=False)
