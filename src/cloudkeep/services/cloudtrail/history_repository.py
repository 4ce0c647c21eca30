"""The event history's SQL: one page of LookupEvents over ``audit_events`` (and
``audit_event_resources`` for ResourceType/ResourceName), newest first.

Every query is bounded by an index: (account, region, time) without an attribute,
(account, region, <attribute>, time) with one (both partial: management events only, migration
0017), and the side table's (account, region, resource_type|resource_name, time) for resources.
Rows are ordered by (event_time, seq) descending and a page starts strictly after the cursor, so
its cost follows the page size, not the size of the history. LookupEvents and
benchmarks/cloudtrail_lookup.py both use ``lookup``.

Must not: hold request rules (``history``), or write.
"""

from __future__ import annotations

from typing import Any, Callable

from sqlalchemy import and_, or_, select, true

from cloudkeep.storage.schema import audit_event_resources as R
from cloudkeep.storage.schema import audit_events as E

from .history import COLUMN_OF, RESOURCE_KEYS, Cursor, LookupQuery

Execute = Callable[..., Any]
_COLUMNS = (E.c.seq, E.c.event_id, E.c.event_time, E.c.record, E.c.chunk_id, E.c.chunk_index)


def _after(time_column: Any, cursor: Cursor | None) -> list[Any]:
    if cursor is None:
        return []
    return [or_(time_column < cursor.event_time,
                and_(time_column == cursor.event_time, E.c.seq < cursor.seq))]


def _events_statement(query: LookupQuery, fetch: int) -> Any:
    where = [E.c.account_id == query.account_id, E.c.aws_region == query.region,
             E.c.management_event == true(), E.c.event_time >= query.start, E.c.event_time <= query.end]
    if query.key is not None:
        where.append(E.c[COLUMN_OF[query.key]] == query.value)
    return (select(*_COLUMNS).where(*where, *_after(E.c.event_time, query.after))
            .order_by(E.c.event_time.desc(), E.c.seq.desc()).limit(fetch))


def _resources_statement(query: LookupQuery, after: Cursor | None, fetch: int) -> Any:
    column = R.c[COLUMN_OF[query.key or ""]]
    return (select(*_COLUMNS).select_from(R.join(E, E.c.event_id == R.c.event_id))
            .where(R.c.account_id == query.account_id, R.c.aws_region == query.region, column == query.value,
                   R.c.event_time >= query.start, R.c.event_time <= query.end, E.c.management_event == true(),
                   *_after(R.c.event_time, after))
            .order_by(R.c.event_time.desc(), E.c.seq.desc()).limit(fetch))


def lookup(execute: Execute, query: LookupQuery) -> tuple[list[Any], Cursor | None]:
    """One page: at most ``query.limit`` rows (seq, event_id, event_time, and where the record
    is: ``audit.recorder.record_texts`` reads it), newest first,
    and the cursor of the next page (None when this page is the last)."""
    if isinstance(query.value, str) and "\x00" in query.value:
        return [], None          # no stored value holds NUL (and PostgreSQL's text cannot take one)
    fetch = query.limit + 1
    if query.key not in RESOURCE_KEYS:
        rows = list(execute(_events_statement(query, fetch)).all())
    else:
        # an event may name two resources of one type: one row per event, in order
        rows, seen, after = [], set(), query.after
        while len(rows) < fetch:
            batch = list(execute(_resources_statement(query, after, fetch)).all())
            for row in batch:
                if row.seq not in seen:
                    seen.add(row.seq)
                    rows.append(row)
            if len(batch) < fetch:
                break
            after = Cursor(batch[-1].event_time, batch[-1].seq)
        rows = rows[:fetch]
    if len(rows) <= query.limit:
        return rows, None
    last = rows[query.limit - 1]
    return rows[:query.limit], Cursor(last.event_time, last.seq)
