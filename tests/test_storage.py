"""Storage: migrations, units of work, types, constraint errors, concurrency and durability.

Every test runs on SQLite and PostgreSQL (``store_url`` / ``store`` from storage_backends).
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import signal
import threading
from pathlib import Path

import pytest
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.autogenerate import compare_metadata
from sqlalchemy import exc, func, insert, inspect, select, text, update

from cloudkeep.storage.engine import alembic_config, Store, StoreError, is_unique_violation, sqlite_url
from cloudkeep.storage.schema import accounts, iam_users, metadata
from cloudkeep.storage.uow import UnitOfWorkError
from storage_backends import store, store_url  # noqa: F401  (pytest fixtures)

UTC = dt.timezone.utc
T0 = dt.datetime(2024, 5, 17, 12, 30, 45, 123456, tzinfo=UTC)


def account_row(account_id: str, **overrides: object) -> dict[str, object]:
    row: dict[str, object] = {"account_id": account_id, "email": f"{account_id}@example.com",
                              "root_password_hash": "hash", "created_at": T0}
    row.update(overrides)
    return row


def account_ids(s: Store) -> set[str]:
    with s.unit_of_work() as uow:
        return set(uow.execute(select(accounts.c.account_id)).scalars())


def insert_accounts_in_process(url: str, prefix: str, count: int) -> None:
    """A separate process: open the store (migrating concurrently) and insert ``count`` rows."""
    s = Store.open(url)
    try:
        for i in range(count):
            with s.unit_of_work(write=True) as uow:
                uow.execute(insert(accounts).values(account_row(f"{prefix}{i:010d}")))
    finally:
        s.close()


def commit_then_get_killed(url: str, account_id: str) -> None:
    """A separate process that commits one row and is then killed without any cleanup."""
    s = Store.open(url)
    with s.unit_of_work(write=True) as uow:
        uow.execute(insert(accounts).values(account_row(account_id)))
    os.kill(os.getpid(), signal.SIGKILL)


# -- migrations ------------------------------------------------------------------------------

def test_migrations_create_exactly_the_schema(store_url: str) -> None:
    s = Store.open(store_url)
    try:
        with s.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, metadata) == []
            head = ScriptDirectory.from_config(alembic_config()).get_current_head()
            assert context.get_current_revision() == head
            tables = set(inspect(connection).get_table_names())
        assert tables == set(metadata.tables) | {"alembic_version"}
    finally:
        s.close()


def test_open_without_migrate_leaves_the_database_empty(store_url: str) -> None:
    s = Store.open(store_url, migrate=False)
    try:
        with s.engine.connect() as connection:
            assert inspect(connection).get_table_names() == []
        s.migrate()
        with s.engine.connect() as connection:
            assert set(metadata.tables) <= set(inspect(connection).get_table_names())
    finally:
        s.close()


def test_migrate_is_idempotent_and_keeps_data(store: Store) -> None:
    with store.unit_of_work(write=True) as uow:
        uow.execute(insert(accounts).values(account_row("111111111111")))
    store.migrate()
    store.migrate()
    again = Store.open(store.engine.url.render_as_string(hide_password=False))
    try:
        assert account_ids(again) == {"111111111111"}
        with again.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, metadata) == []
    finally:
        again.close()


# -- units of work ---------------------------------------------------------------------------

def test_unit_of_work_commits_on_clean_exit(store: Store) -> None:
    with store.unit_of_work(write=True) as uow:
        uow.execute(insert(accounts).values(account_row("111111111111")))
        uow.execute(insert(accounts).values(account_row("222222222222")))
        assert uow.wrote
    assert account_ids(store) == {"111111111111", "222222222222"}


def test_unit_of_work_rolls_back_everything_on_exception(store: Store) -> None:
    with pytest.raises(RuntimeError, match="boom"):
        with store.unit_of_work(write=True) as uow:
            uow.execute(insert(accounts).values(account_row("111111111111")))
            uow.execute(insert(accounts).values(account_row("222222222222")))
            raise RuntimeError("boom")
    assert account_ids(store) == set()


def test_after_commit_runs_only_after_a_commit(store: Store) -> None:
    calls: list[str] = []
    with store.unit_of_work(write=True) as uow:
        uow.execute(insert(accounts).values(account_row("111111111111")))
        uow.after_commit(lambda: calls.append("committed"))
        assert calls == []
    assert calls == ["committed"]
    with pytest.raises(ValueError):
        with store.unit_of_work(write=True) as uow:
            uow.execute(insert(accounts).values(account_row("222222222222")))
            uow.after_commit(lambda: calls.append("rolled back"))
            raise ValueError
    assert calls == ["committed"]


def test_failing_after_commit_callback_does_not_undo_the_commit(store: Store) -> None:
    def fail() -> None:
        raise RuntimeError("callback failed")

    with store.unit_of_work(write=True) as uow:
        uow.execute(insert(accounts).values(account_row("111111111111")))
        uow.after_commit(fail)
    assert account_ids(store) == {"111111111111"}


def test_read_unit_of_work_refuses_writes_and_reports_nothing_written(store: Store) -> None:
    with store.unit_of_work() as uow:
        assert uow.execute(select(accounts)).all() == []
        with pytest.raises(UnitOfWorkError, match="write=True"):
            uow.execute(insert(accounts).values(account_row("111111111111")))
        assert not uow.wrote
    assert account_ids(store) == set()


def test_explicit_commit_and_rollback(store: Store) -> None:
    uow = store.unit_of_work(write=True)
    uow.execute(insert(accounts).values(account_row("111111111111")))
    uow.commit()
    uow.execute(insert(accounts).values(account_row("222222222222")))
    uow.rollback()
    assert account_ids(store) == {"111111111111"}


def test_ended_unit_of_work_cannot_be_reused(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.execute(select(accounts))
    with pytest.raises(UnitOfWorkError):
        uow.execute(select(accounts))


def test_unused_unit_of_work_touches_no_connection(store: Store) -> None:
    checked_out = store.engine.pool.checkedout()
    with store.unit_of_work(write=True) as uow:
        assert store.engine.pool.checkedout() == checked_out
    assert not uow.wrote


def test_unit_of_work_returns_its_connection_to_the_pool(store: Store) -> None:
    before = store.engine.pool.checkedout()
    with store.unit_of_work() as uow:
        uow.execute(select(accounts))
        assert store.engine.pool.checkedout() == before + 1
    assert store.engine.pool.checkedout() == before


# -- types and constraints -------------------------------------------------------------------

def test_utc_datetime_round_trips_aware_datetimes(store: Store) -> None:
    ist = dt.timezone(dt.timedelta(hours=5, minutes=30))
    written = dt.datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=ist)
    with store.unit_of_work(write=True) as uow:
        uow.execute(insert(accounts).values(account_row("111111111111", created_at=written)))
    with store.unit_of_work() as uow:
        read = uow.execute(select(accounts.c.created_at)).scalar_one()
    assert read == written
    assert read.utcoffset() == dt.timedelta(0)
    assert read.replace(tzinfo=None) == dt.datetime(2024, 1, 1, 21, 34, 5, 678901)


def test_utc_datetime_orders_by_instant(store: Store) -> None:
    later = dt.datetime(2024, 1, 1, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5)))  # 15:00Z
    earlier = dt.datetime(2024, 1, 1, 14, 0, tzinfo=UTC)
    with store.unit_of_work(write=True) as uow:
        uow.execute(insert(accounts).values(account_row("111111111111", created_at=later)))
        uow.execute(insert(accounts).values(account_row("222222222222", created_at=earlier)))
    with store.unit_of_work() as uow:
        ordered = uow.execute(select(accounts.c.account_id).order_by(accounts.c.created_at)).scalars()
        assert list(ordered) == ["222222222222", "111111111111"]


def test_utc_datetime_on_sqlite_stores_sqlalchemys_text_and_reads_older_forms(tmp_path: Path) -> None:
    """UtcDateTime's own SQLite processors write exactly the text SQLAlchemy's DATETIME writes
    (rows written before them compare and sort the same) and read every form SQLite may hold."""
    from sqlalchemy.dialects.sqlite import DATETIME
    from sqlalchemy.dialects import sqlite as sqlite_dialect
    s = Store.open(sqlite_url(tmp_path), migrate=True)
    try:
        values = [dt.datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
                  dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=-7))),
                  dt.datetime(1, 1, 1, tzinfo=UTC)]
        reference = DATETIME().bind_processor(sqlite_dialect.dialect())
        for index, value in enumerate(values):
            account = f"{index + 1:012d}"
            with s.unit_of_work(write=True) as uow:
                uow.execute(insert(accounts).values(account_row(account, created_at=value)))
            with s.unit_of_work() as uow:
                raw = uow.execute(text("SELECT created_at FROM accounts WHERE account_id = :a"), {"a": account}).scalar_one()
                read = uow.execute(select(accounts.c.created_at).where(accounts.c.account_id == account)).scalar_one()
            assert raw == reference(value.astimezone(UTC).replace(tzinfo=None))
            assert read == value and read.tzinfo is UTC
        for stored, expected in (("2024-05-06 07:08:09", dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)),
                                 ("2024-05-06", dt.datetime(2024, 5, 6, tzinfo=UTC))):
            with s.unit_of_work(write=True) as uow:
                uow.execute(update(accounts).where(accounts.c.account_id == "000000000001")
                            .values(created_at=text(f"'{stored}'")))
            with s.unit_of_work() as uow:
                assert uow.execute(select(accounts.c.created_at).where(
                    accounts.c.account_id == "000000000001")).scalar_one() == expected
    finally:
        s.close()


def test_utc_datetime_rejects_naive_datetimes(store: Store) -> None:
    with pytest.raises(exc.StatementError, match="naive datetime"):
        with store.unit_of_work(write=True) as uow:
            uow.execute(insert(accounts).values(
                account_row("111111111111", created_at=dt.datetime(2024, 1, 1))))
    assert account_ids(store) == set()


def test_column_default_applies(store: Store) -> None:
    with store.unit_of_work(write=True) as uow:
        uow.execute(insert(accounts).values(account_row("111111111111")))
    with store.unit_of_work() as uow:
        assert uow.execute(select(accounts.c.status)).scalar_one() == "ACTIVE"


def test_duplicate_primary_key_is_a_unique_violation(store: Store) -> None:
    with store.unit_of_work(write=True) as uow:
        uow.execute(insert(accounts).values(account_row("111111111111")))
    with pytest.raises(exc.IntegrityError) as raised:
        with store.unit_of_work(write=True) as uow:
            uow.execute(insert(accounts).values(account_row("111111111111", email="other")))
    assert is_unique_violation(raised.value)
    with store.unit_of_work() as uow:
        assert uow.execute(select(accounts.c.email)).scalar_one() == "111111111111@example.com"


def iam_user_row(account_id: str, name: str, user_id: str) -> dict[str, object]:
    return {"account_id": account_id, "user_name_key": name.lower(), "user_name": name,
            "user_id": user_id, "path": "/", "arn": f"arn:aws:iam::{account_id}:user/{name}",
            "created_at": T0}


def test_duplicate_unique_column_is_a_unique_violation(store: Store) -> None:
    with pytest.raises(exc.IntegrityError) as raised:
        with store.unit_of_work(write=True) as uow:
            uow.execute(insert(accounts).values(account_row("111111111111")))
            uow.execute(insert(iam_users).values(iam_user_row("111111111111", "Alice", "AIDA1")))
            uow.execute(insert(iam_users).values(iam_user_row("111111111111", "Bob", "AIDA1")))
    assert is_unique_violation(raised.value)


def test_foreign_key_violation_is_enforced_and_not_a_unique_violation(store: Store) -> None:
    with pytest.raises(exc.IntegrityError) as raised:
        with store.unit_of_work(write=True) as uow:
            uow.execute(insert(iam_users).values(iam_user_row("999999999999", "Alice", "AIDA1")))
    assert not is_unique_violation(raised.value)
    assert not is_unique_violation(ValueError("UNIQUE constraint failed"))


def test_savepoint_lets_the_transaction_continue_after_a_violation(store: Store) -> None:
    with store.unit_of_work(write=True) as uow:
        uow.execute(insert(accounts).values(account_row("111111111111")))
        with pytest.raises(exc.IntegrityError) as raised:
            with uow.savepoint():
                uow.execute(insert(accounts).values(account_row("222222222222")))
                uow.execute(insert(accounts).values(account_row("111111111111")))
        assert is_unique_violation(raised.value)
        uow.execute(insert(accounts).values(account_row("333333333333")))
    assert account_ids(store) == {"111111111111", "333333333333"}


# -- concurrency and durability --------------------------------------------------------------

def test_concurrent_writer_threads_lose_nothing(store: Store) -> None:
    threads, per_thread = 8, 25
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def writer(t: int) -> None:
        try:
            start.wait()
            for i in range(per_thread):
                with store.unit_of_work(write=True) as uow:
                    # read first, then write: the lock-upgrade path repositories take
                    n = uow.execute(select(func.count()).select_from(accounts)).scalar_one()
                    uow.execute(insert(accounts).values(account_row(f"{t:02d}{i:010d}")))
                    uow.execute(update(accounts)
                                .where(accounts.c.account_id == f"{t:02d}{i:010d}")
                                .values(email=f"seen-{n}"))
        except BaseException as error:  # noqa: BLE001 — reported below
            errors.append(error)

    workers = [threading.Thread(target=writer, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert errors == []
    expected = {f"{t:02d}{i:010d}" for t in range(threads) for i in range(per_thread)}
    assert account_ids(store) == expected


def test_concurrent_writer_processes_lose_nothing(store_url: str) -> None:
    # Both processes start on an empty database, so they also migrate concurrently.
    ctx = multiprocessing.get_context("spawn")
    count = 40
    procs = [ctx.Process(target=insert_accounts_in_process, args=(store_url, p, count))
             for p in ("11", "22")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0, 0]
    s = Store.open(store_url)
    try:
        assert account_ids(s) == {f"{p}{i:010d}" for p in ("11", "22") for i in range(count)}
    finally:
        s.close()


def test_committed_row_is_visible_from_a_new_store(store: Store) -> None:
    url = store.engine.url.render_as_string(hide_password=False)
    with store.unit_of_work(write=True) as uow:
        uow.execute(insert(accounts).values(account_row("111111111111")))
    other = Store.open(url)
    try:
        assert account_ids(other) == {"111111111111"}
    finally:
        other.close()
    store.close()
    reopened = Store.open(url, durability="full")
    try:
        assert account_ids(reopened) == {"111111111111"}
    finally:
        reopened.close()


def test_committed_row_survives_a_killed_process(store_url: str) -> None:
    Store.open(store_url).close()
    ctx = multiprocessing.get_context("spawn")
    proc = ctx.Process(target=commit_then_get_killed, args=(store_url, "111111111111"))
    proc.start()
    proc.join(timeout=120)
    assert proc.exitcode == -signal.SIGKILL
    s = Store.open(store_url)
    try:
        assert account_ids(s) == {"111111111111"}
    finally:
        s.close()


# -- engine settings -------------------------------------------------------------------------

def test_store_reports_its_dialect_and_uses_psycopg_for_postgresql(store: Store) -> None:
    assert store.dialect == store.engine.dialect.name
    assert store.dialect in ("sqlite", "postgresql")
    if store.dialect == "postgresql":
        assert store.engine.dialect.driver == "psycopg"


@pytest.mark.parametrize(("durability", "synchronous"), [("normal", 1), ("full", 2)])
def test_sqlite_connection_settings(tmp_path: Path, durability: str, synchronous: int) -> None:
    s = Store.open(sqlite_url(tmp_path), durability=durability)  # type: ignore[arg-type]
    try:
        with s.unit_of_work() as uow:
            pragma = lambda name: uow.execute(text(f"PRAGMA {name}")).scalar_one()  # noqa: E731
            assert pragma("journal_mode") == "wal"
            assert pragma("synchronous") == synchronous
            assert pragma("foreign_keys") == 1
            assert pragma("busy_timeout") >= 5000
            # the commits' own checkpoint is only a backstop for the store's checkpointer thread
            assert pragma("wal_autocheckpoint") == 4000
        assert (tmp_path / "cloudkeep.db").is_file()
    finally:
        s.close()


def test_sqlite_wal_is_checkpointed_by_the_stores_thread_not_by_the_commits(tmp_path: Path) -> None:
    """Every CHECKPOINT_EVERY write commits the store's checkpointer thread copies the log into
    the database file (a PASSIVE checkpoint): the rows are in the file alone, though far fewer
    pages were written than the commits' own checkpoint waits for; closing the store stops it."""
    import shutil
    import sqlite3
    import time

    from cloudkeep.storage.engine import CHECKPOINT_EVERY

    s = Store.open(sqlite_url(tmp_path))
    try:
        for i in range(CHECKPOINT_EVERY + 1):
            with s.unit_of_work(write=True) as uow:
                uow.execute(insert(accounts).values(account_row(f"{i:012d}")))
        checkpointer = s._checkpointer
        assert checkpointer is not None
        deadline = time.monotonic() + 30
        while checkpointer.checkpoints == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert checkpointer.checkpoints >= 1
        thread = checkpointer._thread
        assert thread is not None and thread.is_alive() and thread is not threading.current_thread()
        # the database file without its log: what the checkpoint copied
        shutil.copyfile(tmp_path / "cloudkeep.db", tmp_path / "file-only.db")
        alone = sqlite3.connect(str(tmp_path / "file-only.db"))
        try:
            assert alone.execute("SELECT count(*) FROM accounts").fetchone()[0] >= CHECKPOINT_EVERY
        finally:
            alone.close()
    finally:
        s.close()
    assert not thread.is_alive()


def test_a_commit_report_that_fails_leaves_the_commit_as_it_is(tmp_path: Path) -> None:
    """The store hears of each write commit (its WAL checkpointer, which may start a thread): a
    report that fails is logged, the commit still stands and its after-commit callbacks run."""
    s = Store.open(sqlite_url(tmp_path))
    try:
        def refuse() -> None:
            raise RuntimeError("can't start new thread")

        assert s._checkpointer is not None
        s._checkpointer.wrote = refuse  # type: ignore[method-assign]
        ran: list[str] = []
        with s.unit_of_work(write=True) as uow:
            uow.execute(insert(accounts).values(account_row("000000000009")))
            uow.after_commit(lambda: ran.append("after"))
        assert ran == ["after"] and account_ids(s) == {"000000000009"}
    finally:
        s.close()


def test_a_forked_child_starts_its_own_checkpointer(tmp_path: Path) -> None:
    """A store whose checkpointer runs in the parent: the child has no such thread, so the
    store there forgets it and starts one of its own at its first commit."""
    s = Store.open(sqlite_url(tmp_path))
    try:
        with s.unit_of_work(write=True) as uow:
            uow.execute(insert(accounts).values(account_row("000000000001")))
        assert s._checkpointer is not None and s._checkpointer._thread is not None
        pid = os.fork()
        if pid == 0:  # the child: report through the exit status only
            ok = s._checkpointer._thread is None
            s.engine.dispose(close=False)        # the parent's connections stay the parent's
            with s.unit_of_work(write=True) as uow:
                uow.execute(insert(accounts).values(account_row("000000000002")))
            thread = s._checkpointer._thread
            ok = ok and thread is not None and thread.is_alive()
            os._exit(0 if ok else 1)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        s.close()


def test_a_store_that_never_writes_starts_no_checkpointer(tmp_path: Path) -> None:
    s = Store.open(sqlite_url(tmp_path), migrate=False)
    try:
        with s.unit_of_work() as uow:
            uow.execute(text("SELECT 1"))
        assert s._checkpointer is not None and s._checkpointer._thread is None
    finally:
        s.close()


def test_sqlite_write_unit_of_work_takes_the_write_lock_up_front(tmp_path: Path) -> None:
    import sqlite3

    s = Store.open(sqlite_url(tmp_path))
    try:
        with s.unit_of_work(write=True) as uow:
            uow.connection  # begins: BEGIN IMMEDIATE
            other = sqlite3.connect(str(tmp_path / "cloudkeep.db"), timeout=0.05,
                                    isolation_level=None)
            try:
                with pytest.raises(sqlite3.OperationalError, match="locked"):
                    other.execute("BEGIN IMMEDIATE")
            finally:
                other.close()
        with s.unit_of_work() as uow:  # a read unit of work does not block writers
            uow.execute(select(accounts))
            other = sqlite3.connect(str(tmp_path / "cloudkeep.db"), timeout=0.05,
                                    isolation_level=None)
            try:
                other.execute("BEGIN IMMEDIATE")
                other.execute("ROLLBACK")
            finally:
                other.close()
    finally:
        s.close()


def test_postgres_scheme_aliases_and_bad_urls(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="unsupported"):
        Store.open("mysql://localhost/db", migrate=False)
    with pytest.raises(StoreError, match="in-memory"):
        Store.open("sqlite://", migrate=False)
    with pytest.raises(StoreError, match="durability"):
        Store.open(sqlite_url(tmp_path), durability="sometimes", migrate=False)  # type: ignore[arg-type]
    s = Store.open("postgres://nobody@127.0.0.1:1/none", migrate=False)  # lazily connects
    try:
        assert s.engine.dialect.driver == "psycopg" and s.dialect == "postgresql"
    finally:
        s.close()


def test_sqlite_url_points_into_the_data_dir(tmp_path: Path) -> None:
    assert sqlite_url(tmp_path) == f"sqlite:///{tmp_path.resolve()}/cloudkeep.db"


def test_sqlite_database_files_are_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "new-data-dir"
    s = Store.open(sqlite_url(data_dir))
    try:
        with s.unit_of_work(write=True) as uow:
            uow.execute(insert(accounts).values(account_row("111111111111")))
        files = {p.name: p.stat().st_mode & 0o777 for p in data_dir.iterdir()}
    finally:
        s.close()
    assert files["cloudkeep.db"] == 0o600
    assert all(mode == 0o600 for mode in files.values())


def test_unreachable_postgresql_is_a_one_line_store_error() -> None:
    with pytest.raises(StoreError, match="cannot open the store at postgresql") as raised:
        Store.open("postgresql://nobody:s3cret@127.0.0.1:1/none")
    assert "s3cret" not in str(raised.value)
    assert "\n" not in str(raised.value)


def test_drop_all_removes_every_table_and_a_new_open_migrates_again(store_url):
    from sqlalchemy import inspect

    store = Store.open(store_url)
    store.drop_all()
    assert inspect(store.engine).get_table_names() == []
    store.close()
    again = Store.open(store_url)
    assert "accounts" in inspect(again.engine).get_table_names()
    again.close()


# --- the SQLite writer gate -----------------------------------------------------------------------


def test_sqlite_writers_queue_on_the_gate_across_stores_and_threads(tmp_path):
    """Write units of work on one SQLite file take turns on the writer gate (storage/uow.py
    WriterGate), whichever Store they come from: the second waits for the first to end instead of
    polling SQLite's lock, and each sees the other's committed row."""
    import threading
    import time

    from sqlalchemy import insert as _insert, select as _select

    from cloudkeep.storage.schema import server_settings
    from cloudkeep.storage.uow import WriterGate

    url = sqlite_url(tmp_path)
    first, second = Store.open(url), Store.open(url, migrate=False)
    assert first._gate is second._gate                     # one gate per file and process
    order: list[str] = []

    def writer() -> None:
        with second.unit_of_work(write=True) as uow:   # lazy: the gate is taken at the first statement
            uow.execute(_insert(server_settings).values(key="b", value="2"))
            order.append("second wrote")

    with first.unit_of_work(write=True) as uow:
        uow.execute(_insert(server_settings).values(key="a", value="1"))
        thread = threading.Thread(target=writer)
        thread.start()
        time.sleep(0.2)                                    # the other thread is waiting at the gate
        order.append("first commits")
    thread.join(10)
    assert order == ["first commits", "second wrote"]
    with first.unit_of_work() as uow:
        assert {r.key for r in uow.execute(_select(server_settings.c.key))} >= {"a", "b"}
    second.close()
    with first.unit_of_work(write=True) as uow:            # the gate outlives one of its stores
        uow.execute(_insert(server_settings).values(key="c", value="3"))
    first.close()
    assert WriterGate._open.get(os.path.realpath(f"{tmp_path}/cloudkeep.db-writer.lock")) is None


def test_a_failed_begin_gives_the_gate_back(tmp_path):
    store = Store.open(sqlite_url(tmp_path))
    gate = store._gate
    uow = store.unit_of_work(write=True)
    uow._engine = None                                     # connect() fails
    with pytest.raises(AttributeError):
        uow.connection
    assert gate._depth == 0
    with store.unit_of_work(write=True) as other:          # the next writer gets in at once
        other.execute(text("SELECT 1"))
    store.close()


def test_on_rollback_runs_on_rollback_and_on_a_failed_commit_never_after_a_commit(tmp_path):
    from cloudkeep.storage.schema import server_settings

    store = Store.open(sqlite_url(tmp_path))
    ran: list[str] = []
    with store.unit_of_work(write=True) as uow:
        uow.on_rollback(lambda: ran.append("committed"))
        uow.execute(insert(server_settings).values(key="k1", value="v"))
    assert ran == []
    with pytest.raises(RuntimeError):
        with store.unit_of_work(write=True) as uow:
            uow.on_rollback(lambda: ran.append("rolled back"))
            raise RuntimeError("boom")
    assert ran == ["rolled back"]
    # a commit that fails (a deferred foreign key: a bucket of no account), then the runner's rollback
    uow = store.unit_of_work(write=True)
    uow.on_rollback(lambda: ran.append("commit failed"))
    uow.execute(text("PRAGMA defer_foreign_keys = ON"))
    uow.execute(text("INSERT INTO s3_buckets (name, account_id, region, created_at, encryption, object_ownership, "
                     "next_seq) VALUES ('b', '999999999999', 'us-east-1', '2026-01-01', '{}', 'x', 0)"))
    with pytest.raises(exc.IntegrityError):
        uow.commit()
    uow.rollback()
    assert ran == ["rolled back", "commit failed"]
    store.close()


def test_sqlite_driver_transaction_joins_sqlalchemy_and_reports_sqlalchemys_errors(tmp_path):
    """On SQLite a unit of work begins and commits on the driver (uow.DriverTransaction): rows
    written through the driver and through SQLAlchemy in one unit of work commit or roll back
    together, and a COMMIT the database refuses is SQLAlchemy's IntegrityError, as before."""
    from cloudkeep.storage.schema import s3_buckets

    store = Store.open(sqlite_url(tmp_path))
    try:
        with store.unit_of_work(write=True) as uow:
            uow.insert_many(accounts, [account_row("000000000001", status="ACTIVE")])   # the driver's
            uow.execute(insert(accounts).values(account_row("000000000002")))  # SQLAlchemy's, joined
        with pytest.raises(RuntimeError):
            with store.unit_of_work(write=True) as uow:
                uow.execute(insert(accounts).values(account_row("000000000003")))
                uow.insert_many(accounts, [account_row("000000000004", status="ACTIVE")])
                raise RuntimeError("boom")
        assert account_ids(store) == {"000000000001", "000000000002"}
        uow = store.unit_of_work(write=True)
        uow.connection.connection.driver_connection.execute("PRAGMA defer_foreign_keys = ON")
        uow.insert_many(s3_buckets, [{"name": "b", "account_id": "999999999999", "region": "us-east-1",
                                      "created_at": T0, "encryption": "{}", "object_ownership": "x", "next_seq": 0}])
        with pytest.raises(exc.IntegrityError):
            uow.commit()
        uow.rollback()
        assert account_ids(store) == {"000000000001", "000000000002"}
    finally:
        store.close()


def test_insert_many_stores_what_sqlalchemy_would(store):
    """UnitOfWork.insert_many (the driver path the audit recorder writes through) stores every
    type as SQLAlchemy's own INSERT does: the same raw values on each backend, the same values
    read back; a duplicate key is SQLAlchemy's IntegrityError."""
    from cloudkeep.storage.schema import audit_events

    when = dt.datetime(2026, 11, 30, 6, 7, 8, 123456, tzinfo=dt.timezone.utc)
    row = {"event_id": "e1", "account_id": "111111111111", "event_time": when, "event_source": "iam.amazonaws.com",
           "event_name": "GetUser", "aws_region": "us-east-1", "read_only": True, "management_event": False,
           "access_key_id": None, "username": "alice", "error_code": None, "record": b"\x00\x01zlib"}
    with store.unit_of_work(write=True) as uow:
        uow.insert_many(audit_events, [row, {**row, "event_id": "e2"}])
        uow.execute(insert(audit_events).values(**{**row, "event_id": "e3"}))
    with store.unit_of_work() as uow:
        read = {r.event_id: r for r in uow.execute(select(audit_events))}
        raw = dict(uow.execute(text("SELECT event_id, CAST(event_time AS TEXT) FROM audit_events")).all())
    assert set(read) == {"e1", "e2", "e3"}
    for name in ("e1", "e2"):
        got, expected = read[name], read["e3"]
        assert [getattr(got, c) for c in row if c not in ("event_id",)] == \
               [getattr(expected, c) for c in row if c not in ("event_id",)]
        assert raw[name] == raw["e3"]
    assert read["e1"].event_time == when and read["e1"].read_only is True and bytes(read["e1"].record) == row["record"]
    with pytest.raises(exc.IntegrityError):
        with store.unit_of_work(write=True) as uow:
            uow.insert_many(audit_events, [row])


def test_insert_many_splits_rows_across_statements_by_the_bound_value_limit(store, monkeypatch):
    """On SQLite insert_many binds many rows in one INSERT, as many per statement as the driver's
    limit on bound values lets it (here made 40: 3 rows of 12 columns a statement); every row
    lands, in order, whatever the split. On PostgreSQL the same call takes the executemany path."""
    from cloudkeep.storage import uow as uow_module
    from cloudkeep.storage.schema import audit_events

    monkeypatch.setattr(uow_module, "_SQLITE_VARIABLES", 40)
    when = dt.datetime(2026, 11, 30, 6, 7, 8, tzinfo=dt.timezone.utc)
    rows = [{"event_id": f"e{n:02d}", "account_id": "111111111111", "event_time": when + dt.timedelta(seconds=n),
             "event_source": "iam.amazonaws.com", "event_name": "GetUser", "aws_region": "us-east-1",
             "read_only": n % 2 == 0, "management_event": True, "access_key_id": None, "username": f"u{n}",
             "error_code": None, "record": bytes([n])} for n in range(10)]
    with store.unit_of_work(write=True) as uow:
        uow.insert_many(audit_events, rows)
    with store.unit_of_work() as uow:
        read = uow.execute(select(audit_events).order_by(audit_events.c.seq)).all()
    assert [(r.event_id, r.event_time, r.read_only, r.username, bytes(r.record)) for r in read] == [
        (r["event_id"], r["event_time"], r["read_only"], r["username"], r["record"]) for r in rows]
    with pytest.raises(exc.IntegrityError):                  # a duplicate in a later statement
        with store.unit_of_work(write=True) as uow:
            uow.insert_many(audit_events, [{**rows[0], "event_id": f"x{n}"} for n in range(5)] + [rows[9]])
    with store.unit_of_work() as uow:
        assert uow.execute(select(func.count()).select_from(audit_events)).scalar_one() == 10


def test_run_gives_what_execute_gives(store):
    """UnitOfWork.run (the driver path of the hot statements) binds and reads every type as
    SQLAlchemy's execute does, with the statement's own literal values; DML needs a write unit of
    work, counts its rows, empties the memo and marks the unit of work written; errors are
    SQLAlchemy's."""
    from sqlalchemy import and_, bindparam, delete
    from cloudkeep.storage.schema import audit_events

    E = audit_events.c
    when = dt.datetime(2026, 11, 30, 6, 7, 8, 123456, tzinfo=dt.timezone.utc)
    row = {"event_id": "e1", "account_id": "111111111111", "event_time": when, "event_source": "iam.amazonaws.com",
           "event_name": "GetUser", "aws_region": "us-east-1", "read_only": True, "management_event": False,
           "access_key_id": None, "username": "alice", "error_code": None, "record": b"\x00\x01zlib"}
    by_account = select(audit_events).where(and_(E.account_id == bindparam("account"), E.read_only.is_(True),
                                                 E.aws_region == "us-east-1")).order_by(E.event_id)
    renamed = select(E.event_id, func.length(E.record).label("size")).where(E.event_time >= bindparam("since"))
    gone = delete(audit_events).where(E.event_id == bindparam("id")).returning(E.event_id, E.event_time)
    with store.unit_of_work(write=True) as uow:
        uow.insert_many(audit_events, [row, {**row, "event_id": "e2", "read_only": False}])
    with store.unit_of_work() as uow:
        expected = uow.execute(by_account, {"account": "111111111111"}).all()
        got = uow.run(by_account, {"account": "111111111111"}).all()
        assert [tuple(r) for r in got] == [tuple(r) for r in expected] and len(got) == 1
        assert got[0].event_time == when and got[0].read_only is True and bytes(got[0].record) == row["record"]
        assert got[0]._mapping["username"] == "alice"
        assert [(r.event_id, r.size) for r in uow.run(renamed, {"since": when})] == [("e1", 6), ("e2", 6)]
        assert uow.run(renamed, {"since": when + dt.timedelta(seconds=1)}).first() is None
        with pytest.raises(UnitOfWorkError):
            uow.run(gone, {"id": "e1"})
    with store.unit_of_work(write=True) as uow:
        uow.memo["x"] = 1
        result = uow.run(gone, {"id": "e2"})
        assert [(r.event_id, r.event_time) for r in result] == [("e2", when)]
        assert uow.wrote and uow.memo == {}
        assert uow.run(update(audit_events).where(E.event_id == bindparam("id")).values(username="bob"),
                       {"id": "e1"}).rowcount == 1
        with pytest.raises(UnitOfWorkError, match="'account'"):
            uow.run(by_account)                         # a parameter without a value
        with pytest.raises(UnitOfWorkError, match="'account'"):
            uow.run(by_account, {"acount": "111111111111"})   # misspelt: still missing
    with store.unit_of_work() as uow:
        assert uow.run(select(E.username).where(E.event_id == "e1")).scalar_one() == "bob"
        assert uow.run(select(E.username).where(E.event_id == "e2")).scalar_one_or_none() is None
    with pytest.raises(exc.IntegrityError):
        with store.unit_of_work(write=True) as uow:
            uow.run(insert(audit_events).values(**row))


def test_settings_put_sets_a_new_key_from_two_transactions_at_once(store):
    """storage/settings.put: two write transactions setting the same new key at once both
    succeed (on PostgreSQL the second's INSERT is refused once the first commits, and becomes an
    UPDATE; SQLite serializes them), and the last commit's value stays."""
    from cloudkeep.storage import settings

    first_wrote, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with store.unit_of_work(write=True) as uow:
                settings.put(uow, "race", "1")
                first_wrote.set()
                release.wait(10)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    thread = threading.Thread(target=first)
    thread.start()
    assert first_wrote.wait(10)
    timer = threading.Timer(0.3, release.set)        # the first commits while the second waits
    timer.start()
    with store.unit_of_work(write=True) as uow:
        settings.put(uow, "race", "2")
    thread.join(10)
    timer.cancel()
    assert errors == []
    with store.unit_of_work() as uow:
        assert settings.get(uow, "race") == "2"
        settings_rows = uow.execute(text("SELECT COUNT(*) FROM server_settings WHERE key = 'race'")).scalar()
    assert settings_rows == 1


# -- kept connections (the event loop's thread) ----------------------------------------------------

def _dbapi(uow) -> object:
    return uow.connection.connection.driver_connection


def test_a_thread_that_keeps_connections_reuses_them_and_sees_other_commits(store: Store) -> None:
    """The thread serving requests keeps one read and one write connection between its units of
    work; each unit of work is still its own transaction (it sees what others committed since)."""
    store.keep_connections()
    before = store.engine.pool.checkedout()
    with store.unit_of_work() as uow:
        first_read = _dbapi(uow)
        assert uow.execute(select(func.count()).select_from(accounts)).scalar() == 0
    with store.unit_of_work(write=True) as uow:
        first_write = _dbapi(uow)
        uow.execute(insert(accounts).values(account_row("111111111111")))
    assert store.engine.pool.checkedout() == before + 2         # both kept, not given back

    def other_thread() -> None:                                   # checks out and gives back
        with store.unit_of_work(write=True) as uow:
            uow.execute(insert(accounts).values(account_row("222222222222")))

    thread = threading.Thread(target=other_thread)
    thread.start()
    thread.join()
    assert store.engine.pool.checkedout() == before + 2
    with store.unit_of_work() as uow:
        assert _dbapi(uow) is first_read
        assert set(uow.execute(select(accounts.c.account_id)).scalars()) == {"111111111111", "222222222222"}
    with store.unit_of_work(write=True) as uow:
        assert _dbapi(uow) is first_write
        uow.execute(update(accounts).where(accounts.c.account_id == "111111111111").values(email="x@example.com"))
    assert account_ids(store) == {"111111111111", "222222222222"}


def test_a_kept_connection_is_given_back_after_a_rollback_and_nested_units_get_their_own(store: Store) -> None:
    store.keep_connections()
    before = store.engine.pool.checkedout()
    with store.unit_of_work(write=True) as uow:
        kept = _dbapi(uow)
    assert store.engine.pool.checkedout() == before + 1
    with pytest.raises(RuntimeError):
        with store.unit_of_work(write=True) as uow:
            assert _dbapi(uow) is kept
            uow.execute(insert(accounts).values(account_row("333333333333")))
            raise RuntimeError("boom")
    assert store.engine.pool.checkedout() == before               # given back to the pool, not kept
    assert account_ids(store) == set()                            # rolled back
    with store.unit_of_work(write=True) as outer:
        fresh = _dbapi(outer)
        with store.unit_of_work(write=False) as inner:
            assert _dbapi(inner) is not fresh
            inner.execute(select(accounts)).all()
        outer.execute(insert(accounts).values(account_row("444444444444")))
    assert account_ids(store) == {"444444444444"}


def test_kept_connections_are_closed_with_the_store(store_url: str) -> None:
    s = Store.open(store_url)
    s.keep_connections()
    with s.unit_of_work() as uow:
        uow.execute(select(accounts)).all()
    assert s.engine.pool.checkedout() == 1
    s.close()
    assert s.engine.pool.checkedout() == 0


def test_an_old_kept_connection_goes_back_to_the_pool() -> None:
    from cloudkeep.storage.uow import KeptConnections

    class FakeConnection:
        closed = invalidated = False

        def close(self) -> None:
            self.closed = True

    kept = KeptConnections(max_age=0.0)
    connection = FakeConnection()
    assert kept.give(True, connection)  # type: ignore[arg-type]
    assert not kept.give(True, FakeConnection())  # type: ignore[arg-type]   # one per kind
    assert kept.take(True) is None and connection.closed          # too old: closed, not reused
    fresh = KeptConnections(max_age=60.0)
    other = FakeConnection()
    assert fresh.give(False, other) and fresh.take(False) is other and fresh.take(False) is None


def test_a_new_sqlite_store_opens_while_another_process_holds_it_in_rollback_mode(tmp_path):
    """Two servers opening one empty store: while the file is still in rollback-journal mode and
    another connection holds a lock on it, ``PRAGMA journal_mode = WAL`` fails at once (SQLite
    calls no busy handler for it); the store retries it up to its busy timeout."""
    import sqlite3
    import threading
    import time

    path = tmp_path / "cloudkeep.db"
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("CREATE TABLE elsewhere (x)")          # a database file, in rollback mode
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO elsewhere VALUES (1)")
    released = threading.Timer(0.3, lambda: other.execute("COMMIT"))
    released.start()
    began = time.monotonic()
    try:
        store = Store.open(sqlite_url(tmp_path))
    finally:
        released.join()
        other.close()
    try:
        assert time.monotonic() - began >= 0.25              # it waited for the lock, then opened
        with store.unit_of_work() as uow:
            assert uow.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
    finally:
        store.close()
