"""Writing the events a service makes by itself (``AwsServiceEvent``) in the transaction of the
change they record: a key rotated or deleted on the domain clock is in the event history exactly
when its change is committed, never one without the other.

Services call these (they may import ``audit``, never the pipeline); the record's format is
``audit.record.build_service_event``'s, the row's ``audit.recorder``'s.

Must not: open a transaction of its own; know a service's rules beyond the record it is given.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any, Mapping

from cloudkeep.audit.record import build_service_event
from cloudkeep.audit.recorder import event_row, insert_rows


def record_service_event(uow: Any, *, event_id: str, event_time: _dt.datetime, event_source: str,
                         event_name: str, aws_region: str, account_id: str,
                         resources: list[Mapping[str, str]] | None = None,
                         response_elements: Mapping[str, Any] | None = None,
                         service_event_details: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Build the service event and insert it in ``uow`` (the caller's write transaction)."""
    event = build_service_event(event_id=event_id, event_time=event_time, event_source=event_source,
                                event_name=event_name, aws_region=aws_region, account_id=account_id,
                                resources=resources, response_elements=response_elements,
                                service_event_details=service_event_details)
    row = event_row(event)
    if row is None:
        raise ValueError(f"service event for no account: {account_id!r}")
    insert_rows(uow, [(event, row)])
    return event
