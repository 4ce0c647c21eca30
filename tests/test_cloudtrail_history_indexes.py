"""The event history's lookup indexes on SQLite and PostgreSQL (migration 0017): partial, over
management events only, and still usable by every LookupEvents query the history runs.

https://docs.aws.amazon.com/awscloudtrail/latest/userguide/view-cloudtrail-events.html
(the event history holds management events only).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

from cloudkeep.services.cloudtrail import history_repository
from cloudkeep.services.cloudtrail.history import Cursor, LookupQuery
from cloudkeep.storage.engine import Store, alembic_config
from storage_backends import store, store_url  # noqa: F401  (pytest fixtures)

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 11, 30, 12, 0, 0, tzinfo=UTC)
PARTIAL = {"ix_audit_events_time": None, "ix_audit_events_username": ("Username", "Alice"),
           "ix_audit_events_access_key": ("AccessKeyId", "AKIAEXAMPLEALICE0001"),
           "ix_audit_events_event_source": ("EventSource", "iam.amazonaws.com"),
           "ix_audit_events_read_only": ("ReadOnly", True)}
WHOLE = ("ix_audit_events_event_id", "ix_audit_events_event_name")


def _definitions(connection: sa.Connection) -> dict[str, str]:
    """index name → its DDL as the database keeps it, for the indexes of audit_events."""
    if connection.dialect.name == "sqlite":
        rows = connection.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'audit_events' "
            "AND sql IS NOT NULL").all()
    else:
        rows = connection.exec_driver_sql(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'audit_events' "
            "AND indexname <> 'pk_audit_events'").all()
    return {name: ddl for name, ddl in rows}


def _predicate(ddl: str) -> str | None:
    head, _, where = ddl.partition(" WHERE ")
    return where.strip() or None


def _query(key: str | None = None, value: Any = None, after: Cursor | None = None) -> LookupQuery:
    return LookupQuery(account_id="111122223333", region="us-east-1", key=key, value=value,
                       start=NOW - dt.timedelta(days=90), end=NOW, limit=50, after=after)


def _plan(connection: sa.Connection, statement: Any) -> str:
    """The plan the database picks for ``statement`` (its driver-level SQL, explained)."""
    seen: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, sql: str, parameters: Any, context: Any, many: bool) -> None:
        seen.append((sql, parameters))

    sa.event.listen(connection, "before_cursor_execute", capture)
    try:
        connection.execute(statement).all()
    finally:
        sa.event.remove(connection, "before_cursor_execute", capture)
    sql, parameters = seen[-1]
    explain = "EXPLAIN QUERY PLAN " if connection.dialect.name == "sqlite" else "EXPLAIN "
    rows = connection.exec_driver_sql(explain + sql, parameters).all()
    return "\n".join(str(row[-1]) for row in rows)


def test_lookup_indexes_cover_management_events_only(store: Store) -> None:  # noqa: F811
    with store.engine.connect() as connection:
        found = _definitions(connection)
    for name in PARTIAL:
        predicate = _predicate(found[name])
        assert predicate in ("management_event = 1", "management_event"), (name, found[name])
    for name in WHOLE:
        assert _predicate(found[name]) is None, found[name]


def test_every_lookup_index_column_before_the_time_is_one_the_lookup_binds(store: Store) -> None:  # noqa: F811
    """The time range bounds each scan only when every column before event_time is bound by
    equality. PostgreSQL leaves a condition the predicate implies (management_event) out of
    the index condition, so the time index must not hold that column: EXPLAIN would still name
    the index, with the time range checked on every entry of the account and region."""
    with store.engine.connect() as connection:
        columns = {index["name"]: index["column_names"] for index in sa.inspect(connection).get_indexes("audit_events")}
    assert columns["ix_audit_events_time"] == ["account_id", "aws_region", "event_time"]
    for name, (key, _value) in ((n, a) for n, a in PARTIAL.items() if a):
        column = {"Username": "username", "AccessKeyId": "access_key_id", "EventSource": "event_source",
                  "ReadOnly": "read_only"}[key]
        assert columns[name] == ["account_id", "aws_region", column, "event_time"], name


def test_every_lookup_can_use_its_partial_index(store: Store) -> None:  # noqa: F811
    """Each partial index alone (the others dropped, sequential scans priced out on PostgreSQL):
    the planner uses it for its lookup, i.e. it sees that the lookup implies the predicate."""
    with store.engine.connect() as connection:
        definitions = _definitions(connection)
        for name in (*PARTIAL, "ix_audit_events_event_name"):
            connection.exec_driver_sql(f"DROP INDEX {name}")
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("SET enable_seqscan = off")
        for name, attribute in PARTIAL.items():
            connection.exec_driver_sql(definitions[name])
            key, value = attribute if attribute else (None, None)
            for after in (None, Cursor(NOW - dt.timedelta(hours=1), 7)):
                plan = _plan(connection, history_repository._events_statement(_query(key, value, after), 51))
                assert name in plan, (name, plan)
            connection.exec_driver_sql(f"DROP INDEX {name}")
        connection.rollback()


def test_migration_0017_downgrade_makes_the_indexes_whole_again(store: Store) -> None:  # noqa: F811
    with store.engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "0016")
        whole = _definitions(connection)
        command.upgrade(config, "0017")
        partial = _definitions(connection)
    assert set(whole) == set(partial) == {*PARTIAL, *WHOLE}
    assert all(_predicate(ddl) is None for ddl in whole.values())
    assert all(_predicate(partial[name]) for name in PARTIAL)


@pytest.mark.parametrize("management", [True, False])
def test_data_events_are_stored_but_not_looked_up(store: Store, management: bool) -> None:  # noqa: F811
    """A data event is written (delivery reads it by seq) and found by event id, never by a lookup."""
    from cloudkeep.audit.recorder import AuditRecorder
    from test_cloudtrail_history_store import event   # the history tests' record maker

    record = event(1, management=management, source="s3.amazonaws.com" if not management else "iam.amazonaws.com",
                   name="GetObject" if not management else "CreateUser", recipientAccountId="111122223333",
                   userIdentity={"type": "IAMUser", "principalId": "AIDAEXAMPLE", "accountId": "111122223333",
                                 "arn": "arn:aws:iam::111122223333:user/Alice", "userName": "Alice",
                                 "accessKeyId": "AKIAEXAMPLEALICE0001"},
                   eventTime=(NOW - dt.timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ"), readOnly=True)
    recorder = AuditRecorder(store, flush_interval=3600)
    try:
        with store.unit_of_work(write=True) as uow:
            assert recorder.write_in(uow, record)
    finally:
        recorder.close()
    with store.unit_of_work() as uow:
        stored = uow.execute(sa.text("SELECT count(*) FROM audit_events")).scalar_one()
        found = {key: [row.event_id for row, _ in history_repository.lookup(uow.execute, _query(key, value))[0]]
                 for key, value in ((None, None), ("Username", "Alice"), ("ReadOnly", True),
                                    ("AccessKeyId", "AKIAEXAMPLEALICE0001"), ("EventId", record["eventID"]))}
    assert stored == 1
    expected = [record["eventID"]] if management else []
    assert found == {None: expected, "Username": expected, "ReadOnly": expected, "AccessKeyId": expected,
                     "EventId": expected}
