"""The audit recorder: writes CloudTrail records into ``audit_events``.

Owns: turning a record (``build_event``'s dict) into an ``audit_events`` row, and the ways it
reaches the table:

- ``write_in(uow, event)``: inside the caller's transaction — a successful mutating call's
  record commits or rolls back with its change, so no acknowledged change is missing from the log.
  It goes into ``audit_journal`` as its JSON text (``journal``: one row, no secondary index, where
  the history's row, seven index entries and resource rows made ~10 pages of the commit's WAL),
  and the writer moves the journal into the history in batches (``drain_journal``: chunks and
  rows as for the queued records, the journal rows deleted in the same transaction), at each
  wake-up after a ``write_in``, at start (what a killed process left) and at every ``flush``.
  CloudTrail's own calls' records (``DIRECT_SOURCES``) get their history row at once, holding
  the record compressed on its own (``encode_record``): a trail's delivery bounds its files by
  them. LookupEvents and the calls that start and stop trails drain the journal themselves.
- ``enqueue(event)`` and ``enqueue_deferred(build)``: read-only, denied and failed calls. O(1)
  on the caller's thread (a deque append, no I/O). A deferred record is built later from the
  call's exchange: by ``prepare``, which the server calls on its event loop once a response is
  sent and which builds the queued records ``_PREPARE_AT`` at a time (a batch keeps the building
  code and its data in the core's caches; one call at a time, interleaved with requests, cost
  twice as much), or else by the writer, once the oldest has waited a whole wake-up interval
  (``_left_unbuilt``: the loop is idle, or serves other work). A daemon thread writes the queue
  in batches of up to ``batch_size``, each in one write unit of work, at least every
  ``flush_interval`` seconds and sooner when a batch fills. ``flush()`` builds and writes
  everything queued so far before it returns; ``close()`` flushes and stops the thread, so a
  clean shutdown loses nothing.

Rows: a batch's records are compressed together, ``CHUNK_RECORDS`` to a chunk
(``audit_record_chunks``, ``insert_chunks``); their rows keep an empty ``record`` and point into
the chunk (``chunk_id``, ``chunk_index``). Records of a chunk that the event history tells apart
only by their id (``_group_key``: the same call by the same caller in the same second) share one
row, ``chunk_count`` of them side by side in the chunk, and take ids derived from the row's
(``_group_id``, ``member_id``; ``group_of`` goes back): a row, its seven index entries and its
resource rows cost more than the rest of a batched record, and a poller's reads come in runs.
``row_texts`` and ``record_texts`` read records back either way. The
JSON is zlib-compressed against a preset dictionary (``audit.record_codec``); only the event
history's lookup attributes are columns. A management event also gets one
``audit_event_resources`` row per resource it names (the ResourceType/ResourceName lookup
attributes, ``lookup_resources``). ``prune`` deletes what is older than the event history's 90
days, in small batches, and the chunks a day after their newest event; the background thread
runs it every ``prune_every`` wake-ups when it is given the domain clock.

Why the writer thread only writes: the event loop and the writer run on different cores. When
the writer built records from the exchanges, the two threads passed the GIL and the exchanges'
objects between the cores' caches, and recording cost twice what it does on one core. Built on
the loop, a batch goes to the writer as rows and texts: one compression and a few multi-row
INSERTs per chunk, so the writer lets go of the GIL a few times per batch, not per record.

A record without a 12-digit ``recipientAccountId`` belongs to no tenant: it is refused (the
pipeline logs such requests to the server log instead). A batch that fails to write is put back
and retried; a record that can never be written (its event id already stored) is dropped with an
error in the server log rather than blocking the rest.

Must not: block a request on the database for a read-only, denied or failed call; know services.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as _dt
import hashlib
import json
import logging
import threading
from typing import Any, Callable, Iterable, Iterator, Mapping, Protocol

import orjson

from sqlalchemy import bindparam, delete, exc, insert, select

from cloudkeep.audit.record_codec import (chunk_texts, decode_record, encode_chunk, encode_record,  # noqa: F401
                                          encode_text, record_json, record_text)                # (re-exported)
from cloudkeep.audit.redact import is_mapping
from cloudkeep.storage import settings
from cloudkeep.storage.schema import audit_event_resources, audit_events, audit_journal, audit_record_chunks

_log = logging.getLogger(__name__)
UTC = _dt.timezone.utc
_STATEMENT = insert(audit_events)
_RESOURCES = insert(audit_event_resources)
_CHUNK = (insert(audit_record_chunks)
          .values(newest_time=bindparam("newest_time"), data=bindparam("data"))
          .returning(audit_record_chunks.c.chunk_id))
_J = audit_journal.c
#: records ``drain_journal`` moves in one transaction
JOURNAL_BATCH = 200
#: the writer looks at the journal every this many wake-ups even when no ``write_in`` of its
#: process asked it to (records of another worker process that was killed)
_JOURNAL_CHECK_EVERY = 20
#: records the event history shows at once, not after the next batch: CloudTrail's own calls
#: (StartLogging, StopLogging, DeleteTrail), whose events bound what a trail's files hold
#: (``services.cloudtrail.delivery``: a stopped trail's last file ends with its StopLogging)
DIRECT_SOURCES = frozenset({"cloudtrail.amazonaws.com"})
#: a chunk goes this long after its newest event left the 90 days: its rows are deleted first
CHUNK_GRACE = _dt.timedelta(days=1)
#: records per chunk: a lookup whose page of 50 events lies in 50 chunks decompresses 50 of
#: them (~60 KB of JSON each), and a chunk of 64 compresses as well as one of 200 (IAM reads of
#: five users: 74 bytes a record against 75; 243 in a stream of its own)
CHUNK_RECORDS = 64
#: deferred records ``prepare`` builds at once on the event loop
_PREPARE_AT = 64
#: CloudTrail's event history keeps the last 90 days
#: (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/view-cloudtrail-events.html)
RETENTION = _dt.timedelta(days=90)
_PRUNE_BATCH = 500


# requestParameters fields that name a resource, as the event history shows them
# (ResourceType, and the value as ResourceName); e.g. CreateUser → AWS::IAM::User "bob".
_NAMED_BY_PARAMETER: dict[str, tuple[tuple[str, str], ...]] = {
    "iam.amazonaws.com": (("userName", "AWS::IAM::User"), ("roleName", "AWS::IAM::Role"),
                          ("groupName", "AWS::IAM::Group"), ("policyArn", "AWS::IAM::Policy"),
                          ("accessKeyId", "AWS::IAM::AccessKey"),
                          ("instanceProfileName", "AWS::IAM::InstanceProfile")),
    "s3.amazonaws.com": (("bucketName", "AWS::S3::Bucket"),),
}


def lookup_resources(event: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The (ResourceType, ResourceName) pairs the event history shows for a record: the
    record's ``resources`` (type and ARN; a KMS key is named by its ARN) and, for IAM and S3,
    the resources the request names (a user, role or group by name, a bucket by name)."""
    resources, params = event.get("resources"), event.get("requestParameters")
    if not resources and not params:
        return []                          # most reads: nothing to name
    pairs: list[tuple[str, str]] = []
    for resource in resources or ():
        if is_mapping(resource) and resource.get("type") and resource.get("ARN"):
            pair = (str(resource["type"]), str(resource["ARN"]))
            if pair not in pairs:
                pairs.append(pair)
    if is_mapping(params):
        for key, kind in _NAMED_BY_PARAMETER.get(str(event.get("eventSource")), ()):
            value = params.get(key)
            if isinstance(value, str) and value and (kind, value) not in pairs:
                pairs.append((kind, value))
    return pairs


class _UnitOfWork(Protocol):
    def execute(self, statement: Any, parameters: Any = None) -> Any: ...


class _Store(Protocol):
    def unit_of_work(self, *, write: bool = False) -> Any: ...


def _is_account_id(value: object) -> bool:
    return isinstance(value, str) and len(value) == 12 and value.isdigit()


def _event_time(text: object) -> _dt.datetime:
    if isinstance(text, str):
        try:
            value = _dt.datetime.fromisoformat(text)
            return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        except ValueError:
            pass
    raise ValueError(f"event has no valid eventTime: {text!r}")


def username_of(identity: Mapping[str, Any]) -> str | None:
    """CloudTrail's "User name" lookup attribute: the user, "root", or the role session name."""
    name = identity.get("userName")
    if name:
        return str(name)
    kind = identity.get("type")
    if kind == "Root":
        return "root"
    if kind in ("AssumedRole", "FederatedUser"):
        arn = identity.get("arn") or ""
        return str(arn).rsplit("/", 1)[-1] or None
    return None


def event_row(event: Mapping[str, Any]) -> dict[str, Any] | None:
    """The ``audit_events`` row of a record, or None if the record belongs to no tenant."""
    return _row(event, encode_record)


def chunk_row(event: Mapping[str, Any]) -> tuple[dict[str, Any], str] | None:
    """The row of a record that goes into a chunk (``insert_chunks``), with an empty ``record``
    and ``chunk_id``/``chunk_index`` to fill in, and the record's compact JSON text
    (``record_json``); None if the record belongs to no tenant."""
    row = _row(event, _no_record)
    if row is None:
        return None
    row["chunk_id"] = row["chunk_index"] = None
    return row, record_json(event)


def _no_record(event: Mapping[str, Any]) -> bytes:
    return b""


def _row(event: Mapping[str, Any], record: Callable[[Mapping[str, Any]], Any]) -> dict[str, Any] | None:
    account_id = event.get("recipientAccountId")
    if not _is_account_id(account_id):
        return None
    identity = event.get("userIdentity") or {}
    return {
        "event_id": event["eventID"],
        "account_id": account_id,
        "event_time": _event_time(event.get("eventTime")),
        "event_source": event["eventSource"],
        "event_name": event["eventName"],
        "aws_region": event["awsRegion"],
        "read_only": bool(event["readOnly"]),
        "management_event": bool(event["managementEvent"]),
        "access_key_id": identity.get("accessKeyId") or None,
        "username": username_of(identity),
        "error_code": event.get("errorCode"),
        "record": record(event),
    }


def resource_rows(event: Mapping[str, Any], row: Mapping[str, Any],
                  named: Iterable[tuple[str, str]] | None = None) -> list[dict[str, Any]]:
    """The ``audit_event_resources`` rows of a record (management events only). ``named``: the
    record's ``lookup_resources``, when the caller has them already."""
    if not row["management_event"]:
        return []
    return [{"event_id": row["event_id"], "position": position, "account_id": row["account_id"],
             "aws_region": row["aws_region"], "event_time": row["event_time"],
             "resource_type": kind[:128], "resource_name": name[:2048]}
            for position, (kind, name) in enumerate(lookup_resources(event) if named is None else named)]


def insert_rows(uow: _UnitOfWork, pairs: list[tuple[Mapping[str, Any], dict[str, Any]]],
                named: list[tuple[tuple[str, str], ...]] | None = None) -> None:
    """Insert records' rows (and their resource rows) in the caller's transaction, through the
    unit of work's direct driver path (``UnitOfWork.insert_many``) when it has one: the records
    are written for every call, and SQLAlchemy's per-statement work cost more than the inserts.
    ``named``: each record's ``lookup_resources``, when the caller has them (``_grouped``)."""
    names_of = named if named is not None else [None] * len(pairs)
    resources = [r for (event, row), names in zip(pairs, names_of) for r in resource_rows(event, row, names)]
    insert_many = getattr(uow, "insert_many", None)
    if insert_many is not None:
        insert_many(audit_events, [row for _, row in pairs])
        insert_many(audit_event_resources, resources)
        return
    uow.execute(_STATEMENT, [row for _, row in pairs] if len(pairs) > 1 else pairs[0][1])
    if resources:
        uow.execute(_RESOURCES, resources)


def journal(uow: _UnitOfWork, text: str) -> None:
    """Add a record's compact JSON text (``record_json``) to ``audit_journal`` in the caller's
    transaction: it commits or rolls back with the call's change."""
    insert_many = getattr(uow, "insert_many", None)
    if insert_many is not None:
        insert_many(audit_journal, [{"record": text}])
    else:
        uow.execute(insert(audit_journal), {"record": text})


def journal_waiting(uow: _UnitOfWork) -> bool:
    """Whether ``audit_journal`` holds records not yet in the event history."""
    return uow.execute(select(_J.seq).limit(1)).first() is not None


def drain_journal(uow: Any, limit: int | None = None, *, wait: bool = False) -> int:
    """Move the oldest ``limit`` records of ``audit_journal`` (all, with None) into the event
    history in this write transaction, as the writer's batches write records (``insert_chunks``),
    and delete them from the journal. The number moved. On PostgreSQL the rows are locked
    (``FOR UPDATE``), so two movers never move one record twice: the writer skips rows another
    transaction is moving (``SKIP LOCKED``); with ``wait`` (a request that must see every record
    once it returns: LookupEvents, StartLogging, StopLogging) it waits for that transaction, whose
    moved rows are then gone from the journal and in the history (READ COMMITTED: the caller's
    next statement sees them). A journal text that is no record (it was checked when written) is
    logged and dropped."""
    query = select(_J.seq, _J.record).order_by(_J.seq).with_for_update(skip_locked=not wait)
    if limit is not None:
        query = query.limit(limit)
    taken = uow.execute(query).all()
    if not taken:
        return 0
    items: list[Item] = []
    for seq, text in taken:
        try:
            try:
                event = orjson.loads(text)
            except orjson.JSONDecodeError:      # what only the standard library's encoder wrote
                event = json.loads(text)
            made = _row(event, _no_record)
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            _log.error("audit journal record %s dropped: not a record (%s)", seq, error)
            continue
        if made is None:
            _log.error("audit journal record %s dropped: no tenant", seq)
            continue
        made["chunk_id"] = made["chunk_index"] = None
        items.append((event, made, text))
    if items:
        insert_chunks(uow, items)
    seqs = [seq for seq, _ in taken]
    uow.execute(delete(audit_journal).where(_J.seq.in_(seqs)))
    return len(taken)


def drain_all(uow: Any, *, wait: bool = False) -> int:
    """``drain_journal`` until the journal is empty, ``JOURNAL_BATCH`` records at a time (a bounded
    statement and a bounded list of rows in memory, however long the writer was away)."""
    total = 0
    while True:
        moved = drain_journal(uow, JOURNAL_BATCH, wait=wait)
        total += moved
        if moved < JOURNAL_BATCH:
            return total


def member_id(group_id: str, position: int) -> str:
    """The event id of the record at ``position`` of a row that stands for several (its
    ``chunk_count``): the row's own id (``_group_id``, the record at 0) with its last byte
    replaced."""
    return f"{group_id[:-2]}{position:02x}"


def group_of(event_id: str) -> tuple[str, int] | None:
    """(the id of the row, the record's position in it) that a record's event id would have if
    it were one of several records in a row: its last byte is the position, the row's id ends
    in 00. None for an id that cannot be one (not a UUID's text, or a position no chunk has)."""
    if len(event_id) != 36 or event_id[8] != "-":
        return None
    try:
        position = int(event_id[-2:], 16)
    except ValueError:
        return None
    if not 0 < position < CHUNK_RECORDS:
        return None
    return f"{event_id[:-2]}00", position


def _group_key(event: Mapping[str, Any], row: Mapping[str, Any]) -> tuple:
    """What the event history can tell a record by, besides its id: records of a batch that share
    all of it are stored as one row (``insert_chunks``). Its last member is the resources the
    row's resource rows name (a management event's ``lookup_resources``)."""
    return (row["account_id"], row["aws_region"], row["event_time"], row["event_source"], row["event_name"],
            row["read_only"], row["management_event"], row["access_key_id"], row["username"], row["error_code"],
            tuple(lookup_resources(event)) if row["management_event"] else ())


Item = tuple[Mapping[str, Any], dict[str, Any], str]
#: (record, row, texts, the items it was made of, the resources its resource rows name)
Group = tuple[Mapping[str, Any], dict[str, Any], list[str], list[Item], tuple[tuple[str, str], ...]]


def _grouped(part: list[Item]) -> list[Group]:
    """A chunk's records as (record, row, texts, items), a row each or one for several: the records of
    ``part`` that share their ``_group_key`` get one row (``chunk_count`` how many; its
    ``chunk_index`` is set when the chunk is laid out), and their event ids become
    ``member_id(row id, position)`` (the row's id: ``_group_id``).
    The same ``part`` always gives the same rows and ids: a batch written again after a commit
    whose outcome was lost is refused as a duplicate (``AuditRecorder._write_one_by_one``)."""
    keys: dict[tuple, list[int]] = {}
    for index, (event, row, _) in enumerate(part):
        keys.setdefault(_group_key(event, row), []).append(index)
    out: list[Group] = []
    for key, members in keys.items():
        named = key[-1]
        event, first, _ = part[members[0]]
        if len(members) > 1:
            items = [part[index] for index in members]
            group_id = _group_id([row["event_id"] for _, row, _ in items])
            renamed = _renamed(items, group_id)
            if renamed is not None:
                out.append((event, {**first, "event_id": group_id, "chunk_count": len(members)}, renamed, items,
                            named))
                continue
        for index in members:                       # a row each: its own row dict, set again on a retry
            event, row, text = part[index]
            row["chunk_count"] = None
            out.append((event, row, [text], [part[index]], named))
    return out


def _group_id(ids: list[str]) -> str:
    """The id of a row of several records (its first record's, place 0): the first id's time,
    version and variant (a UUIDv7's first 64 bits), then 40 bits of the SHA-256 of all their ids,
    then the place, 00. The same records give the same id; two groups of one millisecond share
    an id only if 40 bits of their hashes do."""
    digest = hashlib.sha256("\n".join(ids).encode()).hexdigest()
    return f"{ids[0][:24]}{digest[:10]}00"


def _renamed(members: list[Item], group_id: str) -> list[str] | None:
    """The members' texts with their event ids made ``member_id(group_id, position)``; None when
    one of them does not hold its id in the compact form ``record_json`` writes."""
    out = []
    for position, (_, row, text) in enumerate(members):
        old_id = row["event_id"]
        marker = f'"eventID":"{old_id}"'
        if len(old_id) != 36 or text.count(marker) != 1:
            return None
        out.append(text.replace(marker, f'"eventID":"{member_id(group_id, position)}"'))
    return out


def insert_chunks(uow: _UnitOfWork, items: list[tuple[Mapping[str, Any], dict[str, Any], str]]) -> None:
    """Insert a batch of records, ``CHUNK_RECORDS`` to a chunk (``audit_record_chunks``):
    ``items`` are (record, row, text) as ``chunk_row`` gives them. Records the event history
    tells apart only by their id share one row (``_grouped``)."""
    for start in range(0, len(items), CHUNK_RECORDS):
        insert_groups(uow, _grouped(items[start:start + CHUNK_RECORDS]))


def insert_groups(uow: _UnitOfWork, groups: list[Group]) -> None:
    """Insert one chunk holding ``groups`` (``_grouped``) and their rows, pointed into it."""
    texts: list[str] = []
    pairs: list[tuple[Mapping[str, Any], dict[str, Any]]] = []
    named: list[tuple[tuple[str, str], ...]] = []
    for event, row, group_texts, _, names in groups:
        row["chunk_index"] = len(texts)
        pairs.append((event, row))
        named.append(names)
        texts.extend(group_texts)
    newest = max(row["event_time"] for _, row in pairs)
    run = getattr(uow, "run", None) or uow.execute        # the driver path, as ``insert_rows``
    chunk_id = run(_CHUNK, {"newest_time": newest, "data": encode_chunk(texts)}).scalar_one()
    for _, row in pairs:
        row["chunk_id"] = chunk_id
    insert_rows(uow, pairs, named)


def row_texts(execute: Callable[..., Any], rows: list[Any]) -> list[list[str | None]]:
    """The JSON texts of the records of stored ``audit_events`` rows (that carry ``record``,
    ``chunk_id``, ``chunk_index`` and ``chunk_count``), each row's in their order in its chunk:
    one for a row of one record, ``chunk_count`` for a row that stands for several. Each chunk
    is read and decompressed once. None for a record whose chunk is gone (pruned: a day after
    the 90 days of its newest event). Raises as ``record_text`` does for bytes it cannot read."""
    wanted = {row.chunk_id for row in rows if row.chunk_id is not None}
    chunks: dict[int, list[str]] = {}
    if wanted:
        found = execute(select(audit_record_chunks.c.chunk_id, audit_record_chunks.c.data)
                        .where(audit_record_chunks.c.chunk_id.in_(sorted(wanted)))).all()
        chunks = {chunk_id: chunk_texts(data) for chunk_id, data in found}
    out: list[list[str | None]] = []
    for row in rows:
        if row.chunk_id is None:
            out.append([record_text(row.record)])
            continue
        count = getattr(row, "chunk_count", None) or 1
        texts = chunks.get(row.chunk_id)
        start = row.chunk_index
        if texts is None or not 0 <= start or start + count > len(texts):
            out.append([None] * count)
        else:
            out.append(list(texts[start:start + count]))
    return out


def record_texts(execute: Callable[..., Any], rows: list[Any]) -> list[str | None]:
    """The texts of every record of ``rows`` (``row_texts``), one list, in row order."""
    return [text for texts in row_texts(execute, rows) for text in texts]


#: the setting that holds the highest ``seq`` prune has deleted: every seq below it is either
#: stored or gone for good (CloudTrail's delivery passes over those holes without waiting)
PRUNED_THROUGH = "audit_pruned_through_seq"


def pruned_through(uow: Any) -> int:
    """The highest ``seq`` pruning has deleted (0: none yet), as the transaction sees it."""
    value = settings.get(uow, PRUNED_THROUGH)
    return int(value) if value else 0


def prune(store: _Store, now: _dt.datetime, *, batch: int = _PRUNE_BATCH) -> int:
    """Delete the events (and their resource rows) older than the 90 days of the event
    history, ``batch`` at a time, each batch in its own write unit of work; returns how many.

    It walks ``audit_events`` from the lowest ``seq`` (the primary key: no index on time alone
    is kept for it) and stops at the first batch that holds an event still inside the 90 days.
    seq follows the events' time closely (records are written within about a second of their
    event), so an old event left behind a slightly newer one goes in a later round; lookups
    never return it meanwhile (they are bounded to the last 90 days themselves). The highest seq
    deleted is kept (``pruned_through``), with the deletion. Then the record chunks whose
    newest event is older than the 90 days and ``CHUNK_GRACE`` go (``_prune_chunks``)."""
    cutoff = now - RETENTION
    total = 0
    while True:
        with store.unit_of_work(write=True) as uow:
            found = uow.execute(select(audit_events.c.seq, audit_events.c.event_id, audit_events.c.event_time)
                                .order_by(audit_events.c.seq).limit(batch)).all()
            old = [row for row in found if row.event_time < cutoff]
            if old:
                uow.execute(delete(audit_event_resources)
                            .where(audit_event_resources.c.event_id.in_([r.event_id for r in old])))
                uow.execute(delete(audit_events).where(audit_events.c.seq.in_([r.seq for r in old])))
                deleted = max(r.seq for r in old)
                if deleted > pruned_through(uow):
                    settings.put(uow, PRUNED_THROUGH, str(deleted))
        total += len(old)
        if len(old) < batch:
            break
    _prune_chunks(store, cutoff - CHUNK_GRACE, batch)
    return total


def _prune_chunks(store: _Store, before: _dt.datetime, batch: int) -> None:
    """Delete the record chunks whose newest event is older than ``before``, ``batch`` at a
    time: every event in them left the history at least ``CHUNK_GRACE`` ago, so their rows are
    gone (or go in prune's next round; a lookup never reads them, being bounded to 90 days)."""
    chunks = audit_record_chunks.c
    while True:
        with store.unit_of_work(write=True) as uow:
            ids = uow.execute(select(chunks.chunk_id).where(chunks.newest_time < before)
                              .order_by(chunks.newest_time).limit(batch)).scalars().all()
            if ids:
                uow.execute(delete(audit_record_chunks).where(chunks.chunk_id.in_(ids)))
        if len(ids) < batch:
            return


class AuditRecorder:
    """Writes records in the caller's transaction, or queued in batches off the request path."""

    def __init__(self, store: _Store, *, flush_interval: float = 0.5, batch_size: int = 200,
                 clock: Any = None, prune_every: int = 600) -> None:
        if flush_interval <= 0 or batch_size < 1 or prune_every < 1:
            raise ValueError("flush_interval must be > 0, batch_size and prune_every >= 1")
        self._store = store
        self._clock = clock               # the domain clock; None: no periodic prune
        self._prune_every = prune_every
        self._wakeups = 0
        self._interval = flush_interval
        self._batch_size = batch_size
        # records, (record, row, text) as ``chunk_row`` makes them, and the builders the writer
        # builds itself, waiting for the writer; builders waiting for ``prepare``
        self._queue: collections.deque[Any] = collections.deque()
        self._builds: collections.deque[Callable[[], Any]] = collections.deque()
        self._oldest_build: Callable[[], Any] | None = None    # the writer's last look (_left_unbuilt)
        self._wake = threading.Event()
        self._write_lock = threading.Lock()   # one drain-and-write at a time (flush waits for it)
        self._closed = False
        # whether ``audit_journal`` may hold records to move: set by ``write_in`` (its transaction
        # may yet roll back) and at start (a previous run's, after a crash)
        self._journaled = True
        self._thread = threading.Thread(target=self._run, name="cloudkeep-audit", daemon=True)
        self._thread.start()

    # -- the request path -----------------------------------------------------------------

    def write_in(self, uow: _UnitOfWork, event: Mapping[str, Any]) -> bool:
        """Write the record in the caller's transaction. False if refused (no tenant).

        The record goes into ``audit_journal`` (``journal``), from which the writer's next batch
        moves it into the event history (``drain_journal``); CloudTrail's own records
        (``DIRECT_SOURCES``) go straight into it. A malformed record raises (a programming
        error): the caller's transaction then rolls back, so no change commits without its record.
        """
        if event.get("eventSource") in DIRECT_SOURCES:
            row = event_row(event)
            if row is not None:
                insert_rows(uow, [(event, row)])
        else:
            row = _row(event, _no_record)        # checks the record as event_row does
            if row is not None:
                journal(uow, record_json(event))
                self._journaled = True
        if row is None:
            _log.warning("audit record without a tenant refused: %s %s",
                         event.get("eventSource"), event.get("eventName"))
            return False
        return True

    def enqueue(self, event: Mapping[str, Any]) -> None:
        """Queue a record for the background writer (no I/O here). Records of no tenant are dropped.
        After ``close`` a record is written at once, in a unit of work of its own: on SQLite that
        waits for any write transaction the calling thread holds (the server's shutdown keeps
        the recorder open until the last component that records has stopped)."""
        if not _is_account_id(event.get("recipientAccountId")):
            return
        self._queue.append(event)
        if self._closed:
            self.flush()
        elif len(self._queue) >= self._batch_size:
            self._wake.set()

    def enqueue_deferred(self, build: Callable[[], Any], *, on_loop: bool = True,
                         gate: Callable[[], bool] | None = None) -> None:
        """Queue a record that is built later, off the request path: by ``prepare`` on the
        thread that serves requests once the response is sent, or else by the writer itself.
        ``build`` returns the record, a sequence of records, or None for nothing to write.
        ``on_loop=False``: the writer builds it, always (a data event's builder first reads the
        store to ask whether any trail wants data events, a read the loop should not make once
        per S3 object call; it mostly builds nothing). ``gate`` (with ``on_loop=False``): asked
        once per batch of the writer's, which builds the record only if the gate says so and
        otherwise drops it unbuilt (the data event gate: one call each of a batch of 200 S3
        PutObjects, builders that build nothing, held the interpreter long enough to stall the
        event loop for a millisecond)."""
        if on_loop:
            self._builds.append(build)
        else:
            self._queue.append(build if gate is None else _Gated(build, gate))
            if len(self._queue) >= self._batch_size:
                self._wake.set()
        if self._closed:
            self.flush()

    def prepare(self, force: bool = False) -> None:
        """Once ``_PREPARE_AT`` builders wait (or any, with ``force``): build their records and
        rows on the calling thread and queue them for the writer. The server calls it on its
        event loop after each response (see the module docstring for why there)."""
        builds, queue = self._builds, self._queue
        if len(builds) < _PREPARE_AT and not force:
            return
        while builds:
            try:
                build = builds.popleft()
            except IndexError:          # another thread took the last one
                break
            queue.extend(_items(_built(build)))
        if len(queue) >= self._batch_size:
            self._wake.set()

    # -- writing --------------------------------------------------------------------------

    def flush(self) -> None:
        """Write everything queued when called; returns once it is committed.

        Records the database refused stay queued for the next attempt. The journal is moved
        whoever wrote it: with several worker processes, the one asked to flush (a clean stop,
        the test hooks) may not be the one that served the mutating calls.
        """
        self._flush(build=True, journal=True)

    def _flush(self, *, build: bool, journal: bool = False) -> None:
        if build:
            self.prepare(force=True)
        with self._write_lock:
            if journal or self._journaled:
                self._drain()
            remaining = len(self._queue)
            while remaining > 0 and self._queue:
                written = self._write_batch()
                if written < 0:
                    break
                remaining -= written

    def close(self) -> None:
        """Flush everything and stop the background thread."""
        if not self._closed:
            self._closed = True
            self._wake.set()
            self._thread.join()
        self.flush()
        if self._queue:
            _log.error("audit recorder closed with %d records it could not write", len(self._queue))

    def prune(self) -> int:
        """Delete what the event history no longer keeps (older than 90 days by the domain
        clock). 0 without a clock."""
        if self._clock is None:
            return 0
        return prune(self._store, self._clock.now())

    def pending(self) -> int:
        """How many records are queued and not yet written (a builder counts as one)."""
        return len(self._queue) + len(self._builds)

    def _run(self) -> None:
        keep = getattr(self._store, "keep_connections", None)
        if keep is not None:
            keep()                 # a batch's transaction without a pool checkout and return
        with self._write_lock:
            self._drain()          # at once: what a killed process left in the journal
        while not self._closed:
            self._wake.wait(self._interval)
            self._wake.clear()
            if self._wakeups % _JOURNAL_CHECK_EVERY == 0:
                self._journaled = True    # another process's, which may have died since
            try:
                self._flush(build=self._left_unbuilt())
            except Exception:  # never let the writer die; the records stay queued
                _log.exception("audit batch write failed")
            self._wakeups += 1
            if self._clock is not None and self._wakeups % self._prune_every == 0:
                try:
                    self.prune()
                except Exception:  # the next round tries again
                    _log.exception("event history prune failed")

    def _left_unbuilt(self) -> bool:
        """Whether the writer should build the deferred records itself: only when the oldest
        has waited since its previous wake-up (the event loop has served fewer than
        ``_PREPARE_AT`` requests since, or none). Building them here runs beside the loop, on
        the other core: the loop's ``prepare`` does it for less."""
        try:
            oldest = self._builds[0]
        except IndexError:
            oldest = None
        waited = oldest is not None and oldest is self._oldest_build
        self._oldest_build = oldest
        return waited

    def _take(self) -> list[Any]:
        batch: list[Any] = []
        queue = self._queue
        while queue and len(batch) < self._batch_size:
            batch.append(queue.popleft())
        return batch

    def _write_batch(self) -> int:
        """Write one batch; the number of records taken, or -1 if they were put back for a retry."""
        items = self._take()
        pairs: list[tuple[Mapping[str, Any], dict[str, Any], str]] = []
        with _round():
            answers: dict[Callable[[], bool], bool] = {}      # each gate's answer for this batch
            for item in items:
                kind = type(item)
                if kind is tuple:
                    pairs.append(item)
                elif kind is _Gated:
                    gate = item.gate
                    allowed = answers.get(gate)
                    if allowed is None:
                        allowed = answers[gate] = _opens(gate)
                    if allowed:
                        pairs.extend(_items(_built(item.build)))
                else:
                    pairs.extend(_items(_built(item) if callable(item) else (item,)))
        if not pairs:
            return len(items)
        try:
            with self._store.unit_of_work(write=True) as uow:
                insert_chunks(uow, pairs)
        except exc.IntegrityError:
            return self._write_one_by_one(pairs, len(items))
        except Exception:
            _log.exception("audit batch of %d records not written; will retry", len(pairs))
            self._queue.extendleft(reversed(pairs))
            return -1
        return len(items)

    def _drain(self) -> None:
        """Move everything in ``audit_journal`` into the event history. A failure is logged and
        leaves the rest for the next round."""
        self._journaled = False
        try:
            self._move_journal()
        except Exception:
            self._journaled = True
            _log.exception("audit journal not moved into the event history; will retry")

    def _move_journal(self) -> None:
        """``JOURNAL_BATCH`` records to a transaction; one at a time after a duplicate."""
        with self._store.unit_of_work() as uow:
            if not journal_waiting(uow):        # (the flagged call's transaction rolled back)
                return
        try:
            while True:
                with self._store.unit_of_work(write=True) as uow:
                    moved = drain_journal(uow, JOURNAL_BATCH)
                if moved < JOURNAL_BATCH:
                    return
        except exc.IntegrityError:
            self._move_one_by_one()

    def _move_one_by_one(self) -> None:
        """After a move hit a duplicate (an event id the history holds already): move the
        journal's records one at a time, dropping only the duplicates, so one record can never
        hold up the journal (nor every LookupEvents, which moves it first)."""
        while True:
            with self._store.unit_of_work() as uow:
                first = uow.execute(select(_J.seq).order_by(_J.seq).limit(1)).scalar()
            if first is None:
                return
            try:
                with self._store.unit_of_work(write=True) as uow:
                    drain_journal(uow, 1)
            except exc.IntegrityError:
                with self._store.unit_of_work(write=True) as uow:
                    uow.execute(delete(audit_journal).where(_J.seq == first))
                _log.error("audit journal record %s already in the event history; duplicate dropped", first)

    def _write_one_by_one(self, pairs: list[tuple[Mapping[str, Any], dict[str, Any], str]],
                          taken: int) -> int:
        """After a batch hit a duplicate: write its rows singly (a row of several records with
        them, in a chunk of its own), dropping only duplicates. The rows and ids are those the
        batch would have written (``_grouped``), so a batch already stored is refused whole."""
        groups = [group for start in range(0, len(pairs), CHUNK_RECORDS)
                  for group in _grouped(pairs[start:start + CHUNK_RECORDS])]
        for index, group in enumerate(groups):
            try:
                with self._store.unit_of_work(write=True) as uow:
                    insert_groups(uow, [group])
            except exc.IntegrityError:
                _log.error("audit record %s already stored; duplicate dropped", group[1]["event_id"])
            except Exception:
                _log.exception("audit record not written; will retry")
                self._queue.extendleft(reversed([item for rest in groups[index:] for item in rest[3]]))
                return -1
        return taken


class _Gated:
    """A deferred builder that the writer runs only if its gate says so (``enqueue_deferred``)."""

    __slots__ = ("build", "gate")

    def __init__(self, build: Callable[[], Any], gate: Callable[[], bool]) -> None:
        self.build = build
        self.gate = gate


def _opens(gate: Callable[[], bool]) -> bool:
    """The gate's answer; one that fails counts as open (a record too many, never one lost)."""
    try:
        return bool(gate())
    except Exception:
        _log.exception("an audit gate failed; building the record")
        return True


#: the round of deferred builders the calling thread is running (``round_of_builds``)
_ROUND = threading.local()


def round_of_builds() -> object | None:
    """A token for the round of deferred builders the calling thread runs (one writer batch), or
    None outside one. A round's builders were all queued, so their calls had completed, before
    the round began: a builder may reuse what another of the same round read of the store's
    state (the data event gate: one read per round, not one per S3 object call), which is as
    new as its own read would be."""
    return getattr(_ROUND, "token", None)


@contextlib.contextmanager
def _round() -> Iterator[None]:
    """Run deferred builders as one round (``round_of_builds``)."""
    outer = getattr(_ROUND, "token", None)
    _ROUND.token = object()
    try:
        yield
    finally:
        _ROUND.token = outer


def _built(build: Callable[[], Any]) -> list[Mapping[str, Any]]:
    """The records a deferred builder gives: one, several (a cross-account call: one per
    account) or none. A builder that fails is logged and gives none."""
    try:
        made = build()
    except Exception:
        _log.exception("could not build a deferred audit record")
        return []
    # (events_for gives a list: no Mapping check through the ABC for it)
    return made if type(made) is list else [] if made is None else [made] if is_mapping(made) else list(made)


def _items(events: Iterable[Mapping[str, Any]]) -> list[tuple[Mapping[str, Any], dict[str, Any], str]]:
    """(record, row, text) of each record (``chunk_row``), leaving out records of no tenant and
    malformed ones (logged: they can never be written, and must not hold up the others)."""
    out = []
    for event in events:
        try:
            made = chunk_row(event)
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            _log.error("malformed audit record dropped (%s): %r", error, event)
            continue
        if made is not None:
            out.append((event, *made))
    return out
