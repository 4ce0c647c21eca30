"""The event history's store on SQLite and PostgreSQL: migration 0013 (``seq``, compressed
records, the resource side table), the recorder's rows, and the 90-day prune.

https://docs.aws.amazon.com/awscloudtrail/latest/userguide/view-cloudtrail-events.html
(event history: the last 90 days of management events).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
import zlib
from typing import Callable

import sqlalchemy as sa
from alembic import command
from sqlalchemy import func, select

from cloudkeep.audit.recorder import (AuditRecorder, decode_record, drain_journal, encode_record, journal,
                                      journal_waiting, lookup_resources, prune, record_json, record_text,
                                      record_texts)
from cloudkeep.storage.clock import FixedClock
from cloudkeep.storage.engine import Store, alembic_config
from cloudkeep.storage.schema import audit_event_resources, audit_events
from cloudkeep.testing.audit import stored_records
from storage_backends import store, store_url  # noqa: F401  (pytest fixtures)

UTC = dt.timezone.utc
ACCOUNT = "111122223333"
NOW = dt.datetime(2026, 11, 30, 12, 0, 0, tzinfo=UTC)


def event(n: int, *, when: dt.datetime = NOW, name: str = "CreateUser", management: bool = True,
          source: str = "iam.amazonaws.com", **extra: object) -> dict:
    record = {
        "eventVersion": "1.11",
        "userIdentity": {"type": "IAMUser", "principalId": "AIDAEXAMPLE", "arn": f"arn:aws:iam::{ACCOUNT}:user/Alice",
                         "accountId": ACCOUNT, "accessKeyId": "AKIAEXAMPLEALICE0001", "userName": "Alice"},
        "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"), "eventSource": source, "eventName": name,
        "awsRegion": "us-east-1", "sourceIPAddress": "192.0.2.1", "userAgent": "test",
        "requestParameters": {"userName": f"user-{n}"}, "responseElements": None,
        "requestID": f"req-{n}", "eventID": f"00000000-0000-4000-8000-{n:012d}", "readOnly": False,
        "eventType": "AwsApiCall", "managementEvent": management, "recipientAccountId": ACCOUNT,
        "eventCategory": "Management" if management else "Data",
    }
    record.update(extra)
    return record


def _count(store: Store, table: sa.Table) -> int:
    with store.unit_of_work() as uow:
        return uow.execute(select(func.count()).select_from(table)).scalar_one()


def test_migration_0013_keeps_existing_records_and_compresses_them(store_url: str) -> None:
    opened = Store.open(store_url, migrate=False)
    try:
        old = sa.table("audit_events", *(sa.column(c) for c in (
            "event_id", "account_id", "event_time", "event_source", "event_name", "aws_region",
            "read_only", "management_event", "access_key_id", "username", "error_code", "record")))
        records = [event(1, when=NOW - dt.timedelta(minutes=5)), event(2)]
        with opened.engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, "0012")
            for record in reversed(records):   # inserted out of time order: the copy orders them
                connection.execute(sa.insert(old).values(
                    event_id=record["eventID"], account_id=ACCOUNT,
                    event_time=dt.datetime.fromisoformat(record["eventTime"]).replace(tzinfo=None),
                    event_source=record["eventSource"], event_name=record["eventName"], aws_region="us-east-1",
                    read_only=False, management_event=True, access_key_id="AKIAEXAMPLEALICE0001",
                    username="Alice", error_code=None, record=json.dumps(record)))
        opened.migrate()
        assert stored_records(opened) == records          # seq follows event time
        with opened.unit_of_work() as uow:
            rows = uow.execute(select(audit_events.c.seq, audit_events.c.record)
                               .order_by(audit_events.c.seq)).all()
        assert rows[0].seq < rows[1].seq
        assert zlib.decompress(rows[0].record)                # stored compressed
    finally:
        opened.close()


def test_seq_increases_with_every_insert(store: Store) -> None:
    recorder = AuditRecorder(store, flush_interval=3600)
    try:
        with store.unit_of_work(write=True) as uow:
            recorder.write_in(uow, event(1))
        for n in range(2, 12):
            recorder.enqueue(event(n))
        recorder.flush()
        with store.unit_of_work(write=True) as uow:
            recorder.write_in(uow, event(12))
        recorder.flush()                                    # moves it from the journal
        with store.unit_of_work() as uow:
            rows = uow.execute(select(audit_events.c.seq, audit_events.c.event_id)
                               .order_by(audit_events.c.seq)).all()
        assert [r.event_id for r in rows] == [event(n)["eventID"] for n in range(1, 13)]
        assert len({r.seq for r in rows}) == 12
    finally:
        recorder.close()


def test_record_round_trips_through_its_compressed_form() -> None:
    record = event(1, requestParameters={"userName": "Zoë", "path": "/"})
    data = encode_record(record)
    assert isinstance(data, bytes) and decode_record(data) == record
    assert "Zoë" in record_text(data)


def test_resources_come_from_the_record_and_the_request() -> None:
    key = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    kms = event(1, source="kms.amazonaws.com", name="Encrypt", requestParameters={"keyId": "alias/x"},
                resources=[{"accountId": ACCOUNT, "type": "AWS::KMS::Key", "ARN": key}])
    assert lookup_resources(kms) == [("AWS::KMS::Key", key)]
    assert lookup_resources(event(2)) == [("AWS::IAM::User", "user-2")]
    bucket = event(3, source="s3.amazonaws.com", name="CreateBucket", requestParameters={"bucketName": "logs"})
    assert lookup_resources(bucket) == [("AWS::S3::Bucket", "logs")]
    assert lookup_resources(event(4, requestParameters=None)) == []


def test_only_management_events_get_resource_rows(store: Store) -> None:
    recorder = AuditRecorder(store, flush_interval=3600)
    try:
        recorder.enqueue(event(1))
        recorder.enqueue(event(2, management=False, source="s3.amazonaws.com", name="GetObject",
                               requestParameters={"bucketName": "b", "key": "k"}))
        recorder.flush()
        with store.unit_of_work() as uow:
            rows = uow.execute(select(audit_event_resources)).mappings().all()
        assert [(r["event_id"], r["resource_type"], r["resource_name"]) for r in rows] == [
            (event(1)["eventID"], "AWS::IAM::User", "user-1")]
        assert rows[0]["event_time"] == NOW
    finally:
        recorder.close()


def test_prune_deletes_only_what_is_older_than_90_days(store: Store) -> None:
    recorder = AuditRecorder(store, flush_interval=3600, clock=FixedClock(NOW))
    try:
        old = [event(n, when=NOW - dt.timedelta(days=90, seconds=n)) for n in range(1, 8)]
        kept = [event(100, when=NOW - dt.timedelta(days=89, hours=23)), event(101)]
        for record in old + kept:
            recorder.enqueue(record)
        recorder.flush()
        assert _count(store, audit_event_resources) == 9
        assert prune(store, NOW, batch=3) == 7              # in batches smaller than the backlog
        assert sorted(r["eventID"] for r in stored_records(store)) == sorted(r["eventID"] for r in kept)
        assert _count(store, audit_event_resources) == 2
        assert recorder.prune() == 0
    finally:
        recorder.close()


# -- the LookupEvents query (services/cloudtrail/history_repository.py) ----------------------

from cloudkeep.services.cloudtrail import history  # noqa: E402
from cloudkeep.services.cloudtrail.errors import (InvalidLookupAttributesException,  # noqa: E402
                                                  InvalidMaxResultsException, InvalidNextTokenException,
                                                  InvalidTimeRangeException)
from cloudkeep.services.cloudtrail.history_repository import entry_texts, lookup  # noqa: E402


def _write(store: Store, records: list[dict]) -> None:
    recorder = AuditRecorder(store, flush_interval=3600)
    try:
        for record in records:
            recorder.enqueue(record)
        recorder.flush()
    finally:
        recorder.close()


def _page(store: Store, params: dict, *, region: str = "us-east-1", now: dt.datetime = NOW,
          account: str = ACCOUNT) -> tuple[list[str], str | None]:
    query = history.parse_request(params, account_id=account, region=region, now=now)
    assert query is not None
    with store.unit_of_work() as uow:
        entries, cursor = lookup(uow.execute, query)
        texts = entry_texts(uow.execute, entries)
    ids = [history.event_wire(text)["EventId"] for text in texts]
    return ids, history.encode_token(params, cursor) if cursor else None


def _all(store: Store, params: dict, **kw: object) -> list[str]:
    ids, token = _page(store, params, **kw)
    while token:
        more, token = _page(store, {**params, "NextToken": token}, **kw)
        ids += more
    return ids


def _id(n: int) -> str:
    return event(n)["eventID"]


def test_lookup_pages_newest_first_through_events_of_one_second(store: Store) -> None:
    # 7 events in the same second, then 3 later ones: seq breaks the tie, pages split inside the second
    _write(store, [event(n, when=NOW - dt.timedelta(minutes=1)) for n in range(7)]
           + [event(n, when=NOW - dt.timedelta(seconds=10 - n)) for n in range(7, 10)])
    first, token = _page(store, {"MaxResults": 4})
    assert first == [_id(9), _id(8), _id(7), _id(6)] and token
    assert _all(store, {"MaxResults": 4}) == [_id(n) for n in reversed(range(10))]
    assert _all(store, {"MaxResults": 3}) == [_id(n) for n in reversed(range(10))]


def test_lookup_sees_only_the_account_region_management_events_and_90_days(store: Store) -> None:
    _write(store, [
        event(1), event(2, awsRegion="eu-west-1"), event(3, recipientAccountId="999988887777"),
        event(4, management=False, source="s3.amazonaws.com", name="GetObject"),
        event(5, when=NOW - dt.timedelta(days=90, seconds=1)), event(6, when=NOW - dt.timedelta(days=89))])
    assert _all(store, {}) == [_id(1), _id(6)]
    assert _all(store, {}, region="eu-west-1") == [_id(2)]
    assert _all(store, {}, account="999988887777") == [_id(3)]
    assert _all(store, {"StartTime": NOW - dt.timedelta(days=200)}) == [_id(1), _id(6)]   # never past 90 days
    later = NOW + dt.timedelta(days=2)
    assert _all(store, {}, now=later) == [_id(1)]


def test_lookup_by_each_attribute(store: Store) -> None:
    key = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/k1"
    other = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/k2"
    _write(store, [
        event(1),
        event(2, name="ListUsers", readOnly=True, requestParameters=None,
              userIdentity={"type": "Root", "arn": f"arn:aws:iam::{ACCOUNT}:root", "accountId": ACCOUNT,
                            "accessKeyId": "AKIAROOTEXAMPLE00001"}),
        event(3, source="kms.amazonaws.com", name="ReEncrypt", requestParameters=None,
              resources=[{"ARN": key, "type": "AWS::KMS::Key"}, {"ARN": other, "type": "AWS::KMS::Key"}]),
    ])

    def by(key_: str, value: str) -> list[str]:
        return _all(store, {"LookupAttributes": [{"AttributeKey": key_, "AttributeValue": value}], "MaxResults": 1})

    assert by("EventId", _id(2)) == [_id(2)]
    assert by("EventName", "CreateUser") == [_id(1)]
    assert by("ReadOnly", "true") == [_id(2)] and by("ReadOnly", "false") == [_id(3), _id(1)]
    assert by("Username", "root") == [_id(2)] and by("Username", "Alice") == [_id(3), _id(1)]
    assert by("AccessKeyId", "AKIAROOTEXAMPLE00001") == [_id(2)]
    assert by("EventSource", "kms.amazonaws.com") == [_id(3)]
    assert by("ResourceType", "AWS::KMS::Key") == [_id(3)]          # two keys, one event
    assert by("ResourceName", other) == [_id(3)]
    assert by("ResourceType", "AWS::IAM::User") == [_id(1)] and by("ResourceName", "user-1") == [_id(1)]
    assert by("EventName", "Nothing") == []
    assert by("Username", "Alice\x00") == [] and by("ResourceName", "\x00") == []   # not a 500 on PostgreSQL


def test_lookup_request_errors() -> None:
    def parse(params: dict) -> object:
        return history.parse_request(params, account_id=ACCOUNT, region="us-east-1", now=NOW)

    for bad in ({"MaxResults": 0}, {"MaxResults": 51}):
        try:
            parse(bad)
        except InvalidMaxResultsException:
            pass
        else:
            raise AssertionError(f"{bad} accepted")
    for params, error in (
            ({"StartTime": NOW, "EndTime": NOW - dt.timedelta(seconds=1)}, InvalidTimeRangeException),
            ({"LookupAttributes": [{"AttributeKey": "ReadOnly", "AttributeValue": "yes"}]},
             InvalidLookupAttributesException),
            ({"NextToken": "!!"}, InvalidNextTokenException),
            ({"NextToken": history.encode_token({"EventCategory": "insight"}, history.Cursor(NOW, 3))},
             InvalidNextTokenException),    # a token of another request's filters
            ({"NextToken": history.encode_token({"StartTime": NOW}, history.Cursor(NOW, 3))},
             InvalidNextTokenException)):
        try:
            parse(params)
        except error:
            pass
        else:
            raise AssertionError(f"{params} accepted")
    same = {"LookupAttributes": [{"AttributeKey": "Username", "AttributeValue": "Alice"}]}
    token = history.encode_token({**same, "MaxResults": 5}, history.Cursor(NOW, 3))
    query = parse({**same, "NextToken": token, "MaxResults": 7})   # the page size may change
    assert query is not None and query.after == history.Cursor(NOW, 3)
    assert parse({"EventCategory": "insight"}) is None


def test_token_cursor_round_trips_to_the_microsecond() -> None:
    params = {"MaxResults": 2}
    for when in (NOW.replace(microsecond=999_999), dt.datetime(2026, 1, 1, 0, 0, 0, 1, tzinfo=UTC)):
        cursor = history.Cursor(when, 2**40 + 7)
        assert history.decode_token(params, history.encode_token(params, cursor)) == cursor


def test_the_background_thread_prunes_on_its_own(store: Store) -> None:
    import time

    writer = AuditRecorder(store, flush_interval=3600)
    try:
        writer.enqueue(event(1, when=NOW - dt.timedelta(days=91)))
        writer.enqueue(event(2))
        writer.flush()
    finally:
        writer.close()
    pruner = AuditRecorder(store, flush_interval=0.01, clock=FixedClock(NOW), prune_every=1)
    try:
        deadline = time.monotonic() + 10                     # a bound on waiting, not a measurement
        while _count(store, audit_events) > 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert [r["eventID"] for r in stored_records(store)] == [event(2)["eventID"]]
    finally:
        pruner.close()


def test_an_old_event_written_after_a_newer_one_goes_in_a_later_round(store: Store) -> None:
    # seq order is write order: the prune stops at the first event inside the 90 days
    _write(store, [event(1, when=NOW - dt.timedelta(days=95)), event(2),
                   event(3, when=NOW - dt.timedelta(days=95))])
    assert prune(store, NOW, batch=1) == 1
    assert [r["eventID"] for r in stored_records(store)] == [_id(2), _id(3)]
    assert _all(store, {}) == [_id(2)]                        # never shown meanwhile
    assert prune(store, NOW + dt.timedelta(days=91), batch=1) == 2


# -- records written in batches are stored in chunks (migration 0018) --------------------------

from cloudkeep.audit import recorder as recorder_module  # noqa: E402
from cloudkeep.audit.record_codec import chunk_texts, record_json  # noqa: E402
from cloudkeep.storage.schema import audit_record_chunks  # noqa: E402


def _chunk_ids(store: Store) -> list[int]:
    with store.unit_of_work() as uow:
        return list(uow.execute(select(audit_record_chunks.c.chunk_id).order_by(audit_record_chunks.c.chunk_id))
                    .scalars())


def test_a_batch_is_stored_in_chunks_and_each_record_reads_back_as_written(store: Store) -> None:
    records = [event(n, when=NOW - dt.timedelta(seconds=200 - n)) for n in range(1, 151)]
    recorder = AuditRecorder(store, flush_interval=3600, batch_size=200)
    try:
        with store.unit_of_work(write=True) as uow:
            recorder.write_in(uow, event(999))     # in the caller's transaction: journaled, moved first
        for record in records:
            recorder.enqueue(record)
        recorder.flush()
    finally:
        recorder.close()
    with store.unit_of_work() as uow:
        rows = uow.execute(select(audit_events).order_by(audit_events.c.seq)).all()
        chunks = uow.execute(select(audit_record_chunks).order_by(audit_record_chunks.c.chunk_id)).all()
    own, batched = rows[0], rows[1:]
    assert (own.chunk_id, own.chunk_index) == (chunks[0].chunk_id, 0) and bytes(own.record) == b""
    # the journal's record in a chunk of its own, then 150 records: chunks of CHUNK_RECORDS (64),
    # 64 + 64 + 22, in order
    assert [len(chunk_texts(c.data)) for c in chunks] == [1, 64, 64, 22]
    chunks = chunks[1:]
    assert all(bytes(r.record) == b"" for r in batched)
    assert [(r.chunk_id, r.chunk_index) for r in batched] == [
        (chunks[i // 64].chunk_id, i % 64) for i in range(150)]
    assert [c.newest_time for c in chunks] == [
        dt.datetime.fromisoformat(records[i]["eventTime"].replace("Z", "+00:00")) for i in (63, 127, 149)]
    assert stored_records(store) == [event(999)] + records
    # compressed together, a chunk takes far fewer bytes than its records compressed one by one
    assert len(chunks[0].data) * 2 < sum(len(encode_record(r)) for r in records[:64])
    assert chunk_texts(chunks[2].data) == [record_json(r) for r in records[128:]]


def test_a_chunk_goes_a_day_after_its_newest_event_left_the_history(store: Store) -> None:
    old = NOW - dt.timedelta(days=90, hours=12)
    _write(store, [event(1, when=old - dt.timedelta(hours=1)), event(2, when=old)])
    _write(store, [event(3)])
    assert len(_chunk_ids(store)) == 2
    assert prune(store, NOW) == 2
    assert [r["eventID"] for r in stored_records(store)] == [_id(3)]
    assert len(_chunk_ids(store)) == 2                      # its newest event left less than a day ago
    assert prune(store, NOW + dt.timedelta(hours=13)) == 0
    assert len(_chunk_ids(store)) == 1                      # now a day and an hour ago
    assert [r["eventID"] for r in stored_records(store)] == [_id(3)]


def test_a_record_whose_chunk_is_gone_reads_as_none(store: Store) -> None:
    _write(store, [event(1)])
    _write(store, [event(2)])
    first = _chunk_ids(store)[0]
    with store.unit_of_work(write=True) as uow:
        uow.execute(sa.delete(audit_record_chunks).where(audit_record_chunks.c.chunk_id == first))
    with store.unit_of_work() as uow:
        rows = uow.execute(select(audit_events).order_by(audit_events.c.seq)).all()
        texts = record_texts(uow.execute, rows)
    assert texts[0] is None and json.loads(texts[1]) == event(2)
    from cloudkeep.services.cloudtrail import delivery_cursor

    with store.unit_of_work() as uow:
        delivered, more = delivery_cursor.events(uow, after=0, upto=10**9, accounts=[ACCOUNT], region=None,
                                                 since=None, until=None, limit=10)
    assert not more
    assert [text is None for _, text in delivered] == [True, False]


def test_records_queued_for_building_are_built_by_prepare_in_batches_or_by_flush(store: Store,
                                                                               caplog) -> None:
    recorder = AuditRecorder(store, flush_interval=3600, batch_size=500)
    try:
        def failing() -> None:
            raise RuntimeError("boom")

        at = recorder_module._PREPARE_AT
        recorder.enqueue_deferred(failing)
        for n in range(1, at - 1):
            recorder.enqueue_deferred(lambda n=n: event(n))
        recorder.prepare()                                  # fewer than _PREPARE_AT: left for later
        assert recorder.pending() == at - 1 and "could not build" not in caplog.text
        recorder.enqueue_deferred(lambda: [event(1000), event(1001)])   # several records from one builder
        recorder.prepare()                                  # now a batch: built here, queued as rows
        assert "could not build a deferred audit record" in caplog.text
        assert recorder.pending() == at
        assert _count(store, audit_events) == 0
        recorder.enqueue_deferred(lambda: event(2000))
        recorder.flush()                                    # builds what prepare left, writes all
        assert recorder.pending() == 0
    finally:
        recorder.close()
    ids = [r["eventID"] for r in stored_records(store)]
    assert ids == [_id(n) for n in range(1, recorder_module._PREPARE_AT - 1)] + [_id(1000), _id(1001), _id(2000)]


def _migrate(store: Store, step: Callable[..., None], revision: str) -> None:
    config = alembic_config()
    with store.engine.begin() as connection:
        config.attributes["connection"] = connection
        step(config, revision)


def test_migration_0018_downgrade_puts_chunked_records_back_into_their_rows(store: Store) -> None:
    with store.unit_of_work(write=True) as uow:
        AuditRecorder(store, flush_interval=3600).write_in(uow, event(1))
    _write(store, [event(2), event(3)])
    _migrate(store, command.downgrade, "0017")
    with store.engine.begin() as connection:
        rows = connection.execute(sa.text("SELECT record FROM audit_events ORDER BY seq")).all()
        assert [decode_record(r.record) for r in rows] == [event(1), event(2), event(3)]
        assert not sa.inspect(connection).has_table("audit_record_chunks")
    _migrate(store, command.upgrade, "head")
    assert stored_records(store) == [event(1), event(2), event(3)]


def test_the_writer_builds_a_deferred_record_only_once_it_has_waited_a_whole_interval(store: Store) -> None:
    import threading
    import time

    recorder = AuditRecorder(store, flush_interval=3600)
    try:
        first = lambda: event(1)  # noqa: E731
        recorder.enqueue_deferred(first)
        assert recorder._left_unbuilt() is False            # just queued: the event loop's prepare may take it
        assert recorder._left_unbuilt() is True             # still the oldest at the next look: the writer builds
        recorder.prepare(force=True)
        assert recorder._left_unbuilt() is False            # nothing left
    finally:
        recorder.close()
    built_on: list[str] = []
    writer = AuditRecorder(store, flush_interval=0.05)
    try:
        def build() -> dict:
            built_on.append(threading.current_thread().name)
            return event(2)

        writer.enqueue_deferred(build)                      # fewer than _PREPARE_AT and no prepare call
        deadline = time.monotonic() + 10                    # a bound on waiting, not a measurement
        while _count(store, audit_events) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert built_on == ["cloudkeep-audit"]
    finally:
        writer.close()
    assert [r["eventID"] for r in stored_records(store)] == [_id(1), _id(2)]


def test_a_builder_left_to_the_writer_is_not_built_by_prepare(store: Store) -> None:
    calls: list[int] = []
    recorder = AuditRecorder(store, flush_interval=3600)
    try:
        def build() -> dict:
            calls.append(1)
            return event(7)

        recorder.enqueue_deferred(build, on_loop=False)     # a data event's: asks the store first
        for n in range(recorder_module._PREPARE_AT):
            recorder.enqueue_deferred(lambda n=n: None)     # a batch for prepare: builds nothing
        recorder.prepare()
        assert calls == [] and recorder.pending() == 1
        recorder.flush()                                    # the writer's path builds and writes it
        assert calls == [1] and recorder.pending() == 0
    finally:
        recorder.close()
    assert [r["eventID"] for r in stored_records(store)] == [_id(7)]


# --- several records in one row (migration 0019) ----------------------------------------------------


def _read(n: int, *, when: dt.datetime = NOW, user: str = "Alice") -> dict:
    """A GetUser of one user by Alice: records of one second that only their ids tell apart."""
    return event(n, when=when, name="GetUser", readOnly=True, requestParameters={"userName": user},
                 eventID=f"0193f0a8-7c1e-7a2b-9c3d-{n:012x}")


def _rows_of(store: Store) -> list:
    with store.unit_of_work() as uow:
        return uow.execute(select(audit_events).order_by(audit_events.c.seq)).all()


def test_records_a_batch_cannot_tell_apart_but_by_id_share_one_row_and_read_back_in_order(store: Store) -> None:
    later = NOW + dt.timedelta(seconds=1)
    records = ([_read(n) for n in range(1, 6)] + [_read(6, user="Bob"), _read(7, when=later)]
               + [_read(n) for n in range(8, 10)])
    _write(store, records)
    rows = _rows_of(store)
    assert [(r.event_name, r.chunk_count) for r in rows] == [("GetUser", 7), ("GetUser", None), ("GetUser", None)]
    stored = stored_records(store)
    assert len(stored) == 9
    group = rows[0].event_id
    assert group.endswith("00") and group[:24] == records[0]["eventID"][:24]     # the first record's time
    # each record as written but for its id: its row's, with its place as the last byte
    assert [r["eventID"] for r in stored[:7]] == [recorder_module.member_id(group, p) for p in range(7)]
    assert [{**r, "eventID": None} for r in stored] == [
        {**r, "eventID": None} for r in records[:5] + records[7:9] + [records[5], records[6]]]
    assert _count(store, audit_event_resources) == 3                 # AWS::IAM::User per row


def test_lookup_pages_through_a_row_of_several_records_latest_first(store: Store) -> None:
    _write(store, [_read(n, when=NOW - dt.timedelta(seconds=5)) for n in range(1, 8)]
           + [event(100, when=NOW - dt.timedelta(seconds=1))])
    ids = [r["eventID"] for r in stored_records(store)]
    newest_first = [ids[7]] + list(reversed(ids[:7]))
    for size in (1, 2, 3, 7, 8, 50):
        assert _all(store, {"MaxResults": size}) == newest_first, size
    first, token = _page(store, {"MaxResults": 3})
    assert first == newest_first[:3] and token
    assert history.decode_token({"MaxResults": 3}, token).position == 5    # the page ended inside the row
    by_name = {"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "GetUser"}]}
    assert _all(store, {**by_name, "MaxResults": 4}) == newest_first[1:]
    by_user = {"LookupAttributes": [{"AttributeKey": "ResourceName", "AttributeValue": "Alice"}]}
    assert _all(store, {**by_user, "MaxResults": 2}) == newest_first[1:]


def test_lookup_by_event_id_finds_each_record_of_a_row(store: Store) -> None:
    _write(store, [_read(n) for n in range(1, 5)])
    ids = [r["eventID"] for r in stored_records(store)]

    def by_id(value: str) -> list[str]:
        return _all(store, {"LookupAttributes": [{"AttributeKey": "EventId", "AttributeValue": value}]})

    assert [by_id(i) for i in ids] == [[i] for i in ids]
    assert by_id(recorder_module.member_id(ids[0], 4)) == []          # a place past the row's records
    assert by_id(recorder_module.member_id(ids[0][:-4] + "ffff", 1)) == []
    assert by_id(_read(2)["eventID"]) == []                              # the id it was built with is gone


def test_delivery_reads_every_record_of_a_row(store: Store) -> None:
    from cloudkeep.services.cloudtrail import delivery_cursor

    _write(store, [_read(n) for n in range(1, 4)] + [_read(4, user="Bob")])
    with store.unit_of_work() as uow:
        delivered, more = delivery_cursor.events(uow, after=0, upto=10**9, accounts=[ACCOUNT], region=None,
                                                 since=None, until=None, limit=10)
    assert not more
    seqs = [seq for seq, _ in delivered]
    assert len(delivered) == 4 and seqs[0] == seqs[1] == seqs[2] < seqs[3]
    assert [json.loads(text)["eventID"] for _, text in delivered] == [r["eventID"] for r in stored_records(store)]
    # a pass reads at most ``limit`` rows: "more" follows the rows read, not the records given
    with store.unit_of_work() as uow:
        def read(after: int) -> tuple[list[int], bool]:
            got, more = delivery_cursor.events(uow, after=after, upto=10**9, accounts=[ACCOUNT], region=None,
                                               since=None, until=None, limit=1)
            return [seq for seq, _ in got], more
        assert read(0) == (seqs[:3], True)
        assert read(seqs[0]) == ([seqs[3]], True)
        assert read(seqs[3]) == ([], False)


def test_migration_0019_downgrade_gives_each_record_its_row_again(store: Store) -> None:
    _write(store, [_read(n) for n in range(1, 4)] + [_read(4, user="Bob")])
    before = stored_records(store)
    _migrate(store, command.downgrade, "0018")
    with store.engine.begin() as connection:
        rows = connection.execute(sa.text("SELECT event_id, chunk_index FROM audit_events ORDER BY seq")).all()
        # the row keeps its first record; the others get rows of their own, after it
        assert [r.event_id for r in rows] == [before[0]["eventID"], before[3]["eventID"],
                                              before[1]["eventID"], before[2]["eventID"]]
        assert [r.chunk_index for r in rows] == [0, 3, 1, 2]
        named = connection.execute(sa.text("SELECT event_id FROM audit_event_resources")).scalars().all()
        assert sorted(named) == sorted(r["eventID"] for r in before)
    _migrate(store, command.upgrade, "head")
    assert sorted(stored_records(store), key=lambda r: r["eventID"]) == sorted(before, key=lambda r: r["eventID"])


# --- the journal of mutating calls' records (migration 0020) -----------------------------------------

def test_two_movers_of_the_journal_never_move_one_record_twice(store: Store) -> None:
    """While one transaction moves the journal's records, another finds none to move (PostgreSQL:
    the first holds their rows, ``SKIP LOCKED``; SQLite: one writer at a time, so the second
    begins after the first committed); every record ends in the history exactly once."""
    with store.unit_of_work(write=True) as uow:
        for n in range(1, 6):
            journal(uow, record_json(event(n)))
    first = store.unit_of_work(write=True)
    with first as uow:
        assert drain_journal(uow, 3) == 3
        if store.engine.dialect.name == "postgresql":
            with store.unit_of_work(write=True) as other:
                assert drain_journal(other) == 2        # only the rows the first did not take
    with store.unit_of_work(write=True) as uow:
        assert drain_journal(uow) == (0 if store.engine.dialect.name == "postgresql" else 2)
        assert not journal_waiting(uow)
    assert sorted(r["eventID"] for r in stored_records(store)) == [event(n)["eventID"] for n in range(1, 6)]


def test_migration_0020_downgrade_refuses_a_journal_with_records_and_drops_an_empty_one(store: Store) -> None:
    with store.unit_of_work(write=True) as uow:
        journal(uow, record_json(event(1)))
    try:
        _migrate(store, command.downgrade, "0019")
    except RuntimeError as error:
        assert "audit_journal holds 1 records" in str(error)
    else:
        raise AssertionError("the downgrade dropped a journal holding a record")
    with store.unit_of_work(write=True) as uow:
        drain_journal(uow)
    _migrate(store, command.downgrade, "0019")
    assert "audit_journal" not in sa.inspect(store.engine).get_table_names()
    _migrate(store, command.upgrade, "head")


def test_a_request_that_waits_for_a_move_under_way_sees_its_records_once_it_returns(store: Store) -> None:
    """``drain_journal(wait=True)`` (LookupEvents, StartLogging, StopLogging): on PostgreSQL, rows
    the writer is moving are waited for rather than skipped, so the request's next statement
    sees them in the history (READ COMMITTED). On SQLite one writer at a time gives the same."""
    with store.unit_of_work(write=True) as uow:
        for n in range(1, 4):
            journal(uow, record_json(event(n)))
    if store.engine.dialect.name != "postgresql":
        with store.unit_of_work(write=True) as uow:
            assert drain_journal(uow) == 3
        with store.unit_of_work(write=True) as uow:
            assert drain_journal(uow, wait=True) == 0
            assert uow.execute(select(func.count()).select_from(audit_events)).scalar_one() == 3
        return
    started, seen = threading.Event(), []

    def request() -> None:
        with store.unit_of_work(write=True) as uow:
            started.set()
            seen.append(drain_journal(uow, wait=True))
            seen.append(uow.execute(select(func.count()).select_from(audit_events)).scalar_one())

    with store.unit_of_work(write=True) as writer:
        assert drain_journal(writer) == 3              # the writer's move, not committed yet
        thread = threading.Thread(target=request)
        thread.start()
        assert started.wait(10)
        time.sleep(0.3)                                # the request is at its drain by now
    thread.join(10)
    assert not thread.is_alive()
    assert seen == [0, 3]                              # nothing left to move; all three in the history
