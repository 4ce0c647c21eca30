"""The event history's SQL: one page of LookupEvents over ``audit_events`` (and
``audit_event_resources`` for ResourceType/ResourceName), newest first.

Every query is bounded by an index: (account, region, time) without an attribute,
(account, region, <attribute>, time) with one (both partial: management events only, migration
0017), and the side table's (account, region, resource_type|resource_name, time) for resources.
Rows are ordered by (event_time, seq) descending and a page starts strictly after the cursor, so
its cost follows the page size, not the size of the history. A row the recorder wrote for
several records of one second (``chunk_count``, audit.recorder.insert_chunks) gives them latest
first; a page that ends inside such a row names the place (``Cursor.position``) and the next one
goes on from it. An EventId is the id of a row or of a place in one (``recorder.group_of``).
LookupEvents and benchmarks/cloudtrail_lookup.py both use ``lookup`` and ``entry_texts``.

Must not: hold request rules (``history``), or write.
"""

from __future__ import annotations

from typing import Any, Callable

from sqlalchemy import and_, or_, select, true

from cloudkeep.audit.recorder import group_of, row_texts
from cloudkeep.storage.schema import audit_event_resources as R
from cloudkeep.storage.schema import audit_events as E

from .history import COLUMN_OF, RESOURCE_KEYS, Cursor, LookupQuery

Execute = Callable[..., Any]
_COLUMNS = (E.c.seq, E.c.event_id, E.c.event_time, E.c.record, E.c.chunk_id, E.c.chunk_index, E.c.chunk_count)
#: one event of a page: its row, and its place in the row (0 for a row of one record)
Entry = tuple[Any, int]


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


def _latest_first(row: Any, below: int | None = None) -> list[Entry]:
    """A row's events, latest (highest place) first; with ``below``, only the places under it."""
    return [(row, place) for place in reversed(range(row.chunk_count or 1 if below is None else below))]


def _continued(execute: Execute, query: LookupQuery) -> list[Entry]:
    """The events left of the row the previous page ended inside: its places before the cursor's."""
    after = query.after
    if after is None or after.position is None:
        return []
    row = execute(select(*_COLUMNS).where(E.c.seq == after.seq, E.c.account_id == query.account_id,
                                          E.c.aws_region == query.region)).first()
    if row is None or (row.chunk_count or 1) <= after.position:
        return []
    return _latest_first(row, after.position)


def _by_event_id(execute: Execute, query: LookupQuery) -> list[Entry]:
    """The event with this id: a row's own, or a place in a row of several (``group_of``)."""
    where = [E.c.account_id == query.account_id, E.c.aws_region == query.region,
             E.c.management_event == true(), E.c.event_time >= query.start, E.c.event_time <= query.end]
    row = execute(select(*_COLUMNS).where(*where, E.c.event_id == query.value)).first()
    if row is not None:
        return [(row, 0)]
    group = group_of(query.value)
    if group is None:
        return []
    row = execute(select(*_COLUMNS).where(*where, E.c.event_id == group[0])).first()
    return [(row, group[1])] if row is not None and (row.chunk_count or 1) > group[1] else []


def lookup(execute: Execute, query: LookupQuery) -> tuple[list[Entry], Cursor | None]:
    """One page: at most ``query.limit`` events, as (row, place) (``entry_texts`` reads their
    records), newest first, and the cursor of the next page (None when this page is the last)."""
    if isinstance(query.value, str) and "\x00" in query.value:
        return [], None          # no stored value holds NUL (and PostgreSQL's text cannot take one)
    if query.key == "EventId":
        return _by_event_id(execute, query), None
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
    entries = _continued(execute, query) + [entry for row in rows for entry in _latest_first(row)]
    if len(entries) <= query.limit:
        return entries, None
    page = entries[:query.limit]
    row, place = page[-1]
    return page, Cursor(row.event_time, row.seq, place or None)


def entry_texts(execute: Execute, entries: list[Entry]) -> list[str | None]:
    """The JSON text of each event of a page (None: its chunk is gone), each row read once."""
    rows: dict[int, Any] = {}
    for row, _ in entries:
        rows.setdefault(row.seq, row)
    texts = dict(zip(rows, row_texts(execute, list(rows.values()))))
    return [texts[row.seq][place] for row, place in entries]
