"""The database engine: SQLite in the data directory by default, PostgreSQL by URL.

Owns: turning a store URL into a tuned, pooled SQLAlchemy ``Engine``; per-connection settings
(applied once when the pool opens a connection, never per request); running the Alembic
migrations; handing out units of work; recognising unique-constraint violations.

SQLite runs in WAL mode with ``synchronous=NORMAL`` (a committed change survives a killed
server process) or ``FULL`` (fsync at every commit), a ``busy_timeout`` so several worker
processes can share the file, and foreign keys on. The write-ahead log is checkpointed by a
thread of the store's (``WalCheckpointer``), not by the commit that fills it. The sqlite3
driver's own transaction handling is switched off and the transaction begins with an explicit
``BEGIN`` (a unit of work's on the driver, ``uow.DriverTransaction``; SQLAlchemy's through the
``begin`` listener): ``BEGIN IMMEDIATE`` for write units of work, so concurrent writers queue on
the busy timeout instead of failing on a lock upgrade. PostgreSQL URLs use psycopg 3 and the
server's default READ COMMITTED isolation.

Must not: know services or their tables' meaning; emit dialect-specific SQL outside this module.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
import weakref
from pathlib import Path
from typing import Any, Final, Literal

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, exc, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import QueuePool

from cloudkeep.storage.uow import KeptConnections, UnitOfWork, WriterGate

Durability = Literal["normal", "full"]

_log = logging.getLogger(__name__)

_MIGRATIONS_DIR: Final = Path(__file__).resolve().parent / "migrations"
_BUSY_TIMEOUT_MS: Final = 30_000
_BEGIN_OPTION: Final = "cloudkeep_sqlite_begin"
#: write transactions of the process between two checkpoints by its ``WalCheckpointer``
CHECKPOINT_EVERY: Final = 100
#: SQLite's own checkpoint at commit once the log holds this many pages (its default is 1000):
#: kept as a backstop for a checkpointer that falls behind, e.g. in a burst of large transactions
_AUTOCHECKPOINT_PAGES: Final = 4000
# An arbitrary constant key for the PostgreSQL advisory lock held while migrating, so that
# several nodes starting at once migrate one after another.
_MIGRATION_LOCK_KEY: Final = 0x636B6D67  # "ckmg"


class StoreError(Exception):
    """The store cannot be opened (bad URL, unsupported database)."""


def sqlite_url(data_dir: Path) -> str:
    """The URL of the embedded SQLite database: ``<data_dir>/cloudkeep.db``."""
    return "sqlite:///" + str(Path(data_dir).resolve() / "cloudkeep.db")


def is_unique_violation(error: BaseException) -> bool:
    """True if ``error`` is a unique or primary-key constraint violation, on any backend."""
    if not isinstance(error, exc.IntegrityError):
        return False
    orig = error.orig
    if isinstance(orig, sqlite3.IntegrityError):
        name = getattr(orig, "sqlite_errorname", "")
        if name:
            return name in ("SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY")
        return str(orig).startswith("UNIQUE constraint failed")
    return getattr(orig, "sqlstate", None) == "23505"  # psycopg: unique_violation


def _normalise_url(url: str) -> Any:
    try:
        parsed = make_url(url)
    except exc.ArgumentError as error:
        raise StoreError(f"invalid store URL {url!r}: {error}") from None
    backend = parsed.get_backend_name()
    if backend == "postgres":
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif backend == "postgresql":
        if parsed.get_driver_name() != "psycopg":
            parsed = parsed.set(drivername="postgresql+psycopg")
    elif backend != "sqlite":
        raise StoreError(f"unsupported store URL {url!r}: use sqlite:///<path> or postgresql://…")
    return parsed


def _journal_mode_wal(cursor: Any) -> None:
    """``PRAGMA journal_mode = WAL``, retried while the database is locked, up to the busy
    timeout. SQLite does not call its busy handler for a change of journal mode: while a new
    database is still in rollback mode and another process holds a lock on it (two servers
    opening one empty store, one of them turning it to WAL), the pragma fails at once with
    "database is locked" however long the busy timeout."""
    deadline = time.monotonic() + _BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() >= deadline:
                raise
            time.sleep(0.01)


def _sqlite_engine(url: Any, durability: Durability) -> Engine:
    if url.database in (None, "", ":memory:") or url.query.get("mode") == "memory":
        raise StoreError("an in-memory SQLite store is not supported: give a file path")
    _create_private_file(Path(url.database))
    engine = create_engine(
        url,
        poolclass=QueuePool,
        pool_size=8,
        max_overflow=56,
        pool_timeout=60,
        query_cache_size=2000,
        connect_args={"check_same_thread": False, "timeout": _BUSY_TIMEOUT_MS / 1000},
    )
    synchronous = _synchronous(durability)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 driver; "begin" below emits BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            _journal_mode_wal(cursor)
            cursor.execute(f"PRAGMA synchronous = {synchronous}")
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute(f"PRAGMA wal_autocheckpoint = {_AUTOCHECKPOINT_PAGES}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Straight to the driver: BEGIN needs no compilation, result or cursor bookkeeping. A
        # unit of work's transaction begun on the driver (uow.DriverTransaction) is joined.
        driver = connection.connection.driver_connection
        if driver.in_transaction:
            return
        begin = connection.get_execution_options().get(_BEGIN_OPTION, "BEGIN")
        driver.execute(begin).close()

    return engine


def _synchronous(durability: Durability) -> str:
    return "FULL" if durability == "full" else "NORMAL"


def _create_private_file(path: Path) -> None:
    """Create the database file readable by its owner only (SQLite gives the -wal and -shm
    files the same mode); an existing file is left as it is."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    except OSError as error:
        raise StoreError(f"cannot create the database file {path}: {error.strerror}") from None


def _postgresql_engine(url: Any) -> Engine:
    return create_engine(
        url,
        pool_size=8,
        max_overflow=24,
        pool_timeout=60,
        pool_recycle=1800,
        query_cache_size=2000,
    )


class WalCheckpointer:
    """Checkpoints a SQLite store's write-ahead log on a thread of its own.

    SQLite checkpoints when a commit leaves the log past ``wal_autocheckpoint`` pages, in that
    commit: the writer copies the log's pages into the database file and syncs both before its
    call returns. Served on the event loop, every ~150th S3 PutObject took 4–5 ms instead of
    ~0.3 (a thousand pages copied and two fsyncs), and the request after it waited too. Here
    the process's write units of work count their commits (``wrote``), and every
    ``CHECKPOINT_EVERY`` of them, or a second after the last one, this thread runs a PASSIVE
    checkpoint on a connection of its own: it waits for no reader or writer and lets go of the
    interpreter while SQLite works, so requests go on beside it. Its connection syncs as the
    store's do (``synchronous``), so a checkpoint is as durable as one made by a commit.
    ``_AUTOCHECKPOINT_PAGES`` stays set on the store's connections as a backstop.
    https://www.sqlite.org/wal.html#automatic_checkpoint"""

    def __init__(self, path: str, synchronous: str, *, every: int = CHECKPOINT_EVERY,
                 idle: float = 1.0) -> None:
        _CHECKPOINTERS.add(self)
        self._path = path
        self._synchronous = synchronous
        self._every = every
        self._idle = idle
        self._writes = 0               # commits since the last checkpoint (a lost count is harmless)
        self._wake = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.checkpoints = 0           # checkpoints run (tests read it)

    def wrote(self) -> None:
        """A write transaction of the store committed."""
        self._writes += 1
        if self._thread is None:
            self._start()
        if self._writes >= self._every:
            self._wake.set()

    def _start(self) -> None:
        with self._lock:
            if self._thread is None and not self._closed:
                thread = threading.Thread(target=self._run, name="cloudkeep-wal-checkpoint", daemon=True)
                thread.start()
                self._thread = thread

    def _run(self) -> None:
        connection: sqlite3.Connection | None = None
        try:
            while not self._closed:
                self._wake.wait(self._idle)
                self._wake.clear()
                if self._closed or not self._writes:
                    continue
                self._writes = 0
                try:
                    if connection is None:
                        connection = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
                        connection.execute(f"PRAGMA synchronous = {self._synchronous}")
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    self.checkpoints += 1
                except sqlite3.Error:
                    # the commits' own checkpoint (the backstop) covers for this one; try again later
                    _log.warning("WAL checkpoint of %s failed", self._path, exc_info=True)
                    if connection is not None:
                        connection.close()
                        connection = None
        finally:
            if connection is not None:
                connection.close()

    def _forked(self) -> None:
        """In a child process: the parent's thread is not here; the first commit starts one."""
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread = None
        self._writes = 0

    def close(self) -> None:
        """Stop the thread (after the checkpoint it is running, if any)."""
        with self._lock:
            self._closed = True
            thread, self._thread = self._thread, None
        self._wake.set()
        if thread is not None:
            thread.join()


_CHECKPOINTERS: "weakref.WeakSet[WalCheckpointer]" = weakref.WeakSet()


def _checkpointers_after_fork() -> None:
    for checkpointer in list(_CHECKPOINTERS):
        checkpointer._forked()


os.register_at_fork(after_in_child=_checkpointers_after_fork)


class Store:
    """One database: its engine, its migrations and its units of work."""

    engine: Engine
    dialect: str

    def __init__(self, engine: Engine, *, durability: Durability = "normal") -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self._readers = threading.local()
        self._reader_lock = threading.Lock()
        self._all_readers: list[Any] = []
        self._kept = threading.local()
        self._all_kept: list[KeptConnections] = []
        self._gate: WriterGate | None = None
        self._checkpointer: WalCheckpointer | None = None
        if self.dialect == "sqlite":
            self._write_engine: Engine = engine.execution_options(**{_BEGIN_OPTION: "BEGIN IMMEDIATE"})
            self._gate = WriterGate.for_path(f"{engine.url.database}-writer.lock")
            self._checkpointer = WalCheckpointer(engine.url.database, _synchronous(durability))
        else:
            self._write_engine = engine

    @classmethod
    def open(cls, url: str, *, durability: Durability = "normal", migrate: bool = True) -> "Store":
        if durability not in ("normal", "full"):
            raise StoreError(f"unknown durability {durability!r}: use 'normal' or 'full'")
        parsed = _normalise_url(url)
        if parsed.get_backend_name() == "sqlite":
            engine = _sqlite_engine(parsed, durability)
        else:
            engine = _postgresql_engine(parsed)
        store = cls(engine, durability=durability)
        if migrate:
            try:
                store.migrate()
            except exc.OperationalError as error:
                store.close()
                reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
                raise StoreError(f"cannot open the store at "
                                 f"{parsed.render_as_string(hide_password=True)}: {reason}") from error
            except BaseException:
                store.close()
                raise
        return store

    def unit_of_work(self, *, write: bool = False) -> UnitOfWork:
        """A new unit of work (one transaction); use it as a context manager."""
        checkpointer = self._checkpointer
        return UnitOfWork(self._write_engine if write else self.engine, write=write, gate=self._gate,
                          kept=getattr(self._kept, "connections", None),
                          committed=checkpointer.wrote if write and checkpointer is not None else None,
                          begin=("BEGIN IMMEDIATE" if write else "BEGIN") if self.dialect == "sqlite" else None)

    def keep_connections(self) -> None:
        """Let the calling thread keep its connections checked out between its units of work
        (``uow.KeptConnections``): for the thread that serves the requests (the event loop),
        whose every request runs a transaction or two. Other threads check out and give back."""
        if getattr(self._kept, "connections", None) is None:
            connections = KeptConnections()
            self._kept.connections = connections
            with self._reader_lock:
                self._all_kept.append(connections)

    def migrate(self) -> None:
        """Bring the schema to the newest migration (Alembic ``upgrade head``); idempotent.

        Runs in one write transaction: on SQLite ``BEGIN IMMEDIATE`` serialises concurrent
        starters; on PostgreSQL an advisory transaction lock does.
        """
        with self._write_engine.begin() as connection:
            if self.dialect == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                                   {"key": _MIGRATION_LOCK_KEY})
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def prepare_read(self, statement: Any) -> PreparedRead:
        return PreparedRead(self, statement)

    def _reader(self) -> Any:
        connection = getattr(self._readers, "connection", None)
        if connection is None:
            proxy = self.engine.raw_connection()
            connection = proxy.driver_connection
            proxy.detach()                     # this thread's own, never back in the pool
            if self.dialect == "postgresql":
                connection.autocommit = True
            self._readers.connection = connection
            with self._reader_lock:
                self._all_readers.append(connection)
        return connection

    def _drop_reader(self) -> None:
        connection = getattr(self._readers, "connection", None)
        self._readers.connection = None
        if connection is not None:
            try:
                connection.close()
            except Exception:  # pragma: no cover - already broken
                pass

    def drop_all(self) -> None:
        """Drop every cloudkeep table and the migration history (``serve --reset`` on a URL store)."""
        from .schema import metadata

        with self._write_engine.begin() as connection:
            metadata.drop_all(connection)
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))

    def close(self) -> None:
        with self._reader_lock:
            readers, self._all_readers = self._all_readers, []
            kept, self._all_kept = self._all_kept, []
        for connections in kept:
            connections.close()
        for connection in readers:
            try:
                connection.close()
            except Exception:  # pragma: no cover - closing a broken connection
                pass
        checkpointer, self._checkpointer = self._checkpointer, None
        if checkpointer is not None:
            checkpointer.close()
        self.engine.dispose()
        gate, self._gate = self._gate, None
        if gate is not None:
            gate.close()


class PreparedRead:
    """A read-only Core SELECT compiled once for the store's dialect and run on a dedicated
    driver connection of the calling thread, in autocommit mode: every run sees what was
    committed before it. For the hottest lookups (resolving an access key on every request),
    where a pooled connection, a transaction and SQLAlchemy's per-execute work cost ten times
    the query. Rows come back as the driver returns them: select plain columns (strings,
    numbers, bytes), not ones whose type converts values.
    """

    def __init__(self, store: "Store", statement: Any) -> None:
        compiled = statement.compile(dialect=store.engine.dialect)
        self._store = store
        self._sql = str(compiled)
        self._order = tuple(compiled.positiontup or ()) if compiled.positional else None

    def all(self, **params: Any) -> list[tuple]:
        args: Any = tuple(params[name] for name in self._order) if self._order is not None else params
        for attempt in (0, 1):
            connection = self._store._reader()
            try:
                cursor = connection.cursor()
                try:
                    cursor.execute(self._sql, args)
                    return cursor.fetchall()
                finally:
                    cursor.close()
            except Exception:
                self._store._drop_reader()
                if attempt:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def first(self, **params: Any) -> tuple | None:
        rows = self.all(**params)
        return rows[0] if rows else None


def alembic_config() -> Config:
    """An Alembic configuration built in code, pointing at the packaged migrations."""
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    return config
