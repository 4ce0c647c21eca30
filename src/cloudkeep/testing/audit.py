"""Reading stored CloudTrail records in tests: ``audit_events`` keeps each record's JSON
compressed, in its row or in a chunk of many (``audit.recorder``), so tests read them through
these helpers rather than matching text in the column.

Must not: be used by the server (tests only).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from cloudkeep.audit.recorder import record_texts, row_texts
from cloudkeep.storage.schema import audit_events, audit_journal


def stored_records(store: Any, *where: Any) -> list[dict[str, Any]]:
    """The records of the rows matching ``where`` (column conditions), in insert order."""
    return [json.loads(text) for text in _texts(store, *where)]


def stored_rows(store: Any, *where: Any) -> list[tuple[Any, dict[str, Any]]]:
    """(row, decoded record) of the rows matching ``where``, in insert order."""
    with store.unit_of_work() as uow:
        rows = uow.execute(select(audit_events).where(*where).order_by(audit_events.c.seq)).all()
        texts = row_texts(uow.execute, rows)
    # a row that stands for several records (audit.recorder.insert_chunks) comes once for each
    return [(row, _loaded(text)) for row, group in zip(rows, texts) for text in group]


def _loaded(text: str | None) -> dict[str, Any]:
    if text is None:
        raise AssertionError("a stored record's chunk is missing")
    return json.loads(text)


def _texts(store: Any, *where: Any) -> list[str]:
    with store.unit_of_work() as uow:
        rows = uow.execute(select(audit_events.c.record, audit_events.c.chunk_id, audit_events.c.chunk_index,
                                  audit_events.c.chunk_count)
                           .where(*where).order_by(audit_events.c.seq)).all()
        texts = record_texts(uow.execute, rows)
    if any(text is None for text in texts):
        raise AssertionError("a stored record's chunk is missing")
    return texts  # type: ignore[return-value]


def records_mentioning(store: Any, text: str, *where: Any) -> list[dict[str, Any]]:
    """The records whose JSON contains ``text`` anywhere (e.g. a request id). The stored JSON
    is compact and not ASCII-escaped, so a plain string appears in it as written."""
    return [json.loads(t) for t in _texts(store, *where) if text in t]


def journaled_records(store: Any) -> list[dict[str, Any]]:
    """The records in ``audit_journal``: mutating calls' records not yet moved into the event
    history (``audit.recorder.drain_journal``), oldest first."""
    with store.unit_of_work() as uow:
        texts = list(uow.execute(select(audit_journal.c.record).order_by(audit_journal.c.seq)).scalars())
    return [json.loads(text) for text in texts]


def records_of_request(store: Any, request_id: str) -> list[dict[str, Any]]:
    """The records of one request (its ``requestID``)."""
    return [r for r in records_mentioning(store, request_id) if r.get("requestID") == request_id]
