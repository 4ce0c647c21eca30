"""The unit of work: one database transaction per request.

Owns: checking a pooled connection out lazily on first use, beginning the transaction,
committing on a clean exit and rolling back on an exception, running ``after_commit`` callbacks
once the commit is durable, and remembering whether anything was written.

A read unit of work refuses INSERT/UPDATE/DELETE: on SQLite a write inside a read transaction
would have to upgrade its lock and can fail under concurrency, so writers must say so up front
(``Store.unit_of_work(write=True)``, which begins with ``BEGIN IMMEDIATE`` on SQLite).

Must not: know services or tables; open a second transaction behind the caller's back.
"""

from __future__ import annotations

import collections
import logging
import operator
import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from types import TracebackType
from typing import Any, Callable, Iterator, Mapping, Sequence

from sqlalchemy import Connection, CursorResult, Engine, RootTransaction, bindparam, insert
from sqlalchemy import exc as sa_exc

_log = logging.getLogger(__name__)


class UnitOfWorkError(RuntimeError):
    """The unit of work was used wrongly (a programming error, not a client error)."""


class NeedsWrite(Exception):
    """Raised by a repository that, in a read unit of work, finds a change due that must be
    written before the request can be answered (a KMS key whose rotation or deletion date has
    passed). The pipeline rolls the read unit of work back and runs the request's authorization
    and operation again in a write one, so the common read stays a read."""


class UnitOfWork:
    """One transaction. Lazily begins on first use; commit on clean exit, rollback on error."""

    __slots__ = ("_engine", "_write", "_connection", "_transaction", "_after_commit", "_wrote",
                 "_closed", "memo", "_gate", "_gated", "_on_rollback", "_kept", "_committed", "_begin",
                 "generations")

    def __init__(self, engine: Engine, *, write: bool = False, gate: "WriterGate | None" = None,
                 kept: "KeptConnections | None" = None, committed: Callable[[], None] | None = None,
                 begin: str | None = None) -> None:
        self._engine = engine
        #: SQLite: the statement that begins the transaction on the driver (``DriverTransaction``);
        #: None: SQLAlchemy begins it
        self._begin = begin
        #: told of each transaction this unit of work commits (the store's WAL checkpointer)
        self._committed = committed
        #: the calling thread's kept connections (``KeptConnections``), or None: check one out
        #: of the pool for this transaction and give it back at its end
        self._kept = kept
        self._write = write
        #: taken before a write transaction begins and given back when it ends (SQLite's writers
        #: queue on it instead of polling the database lock, see ``WriterGate``)
        self._gate = gate if write else None
        self._gated = False
        self._connection: Connection | None = None
        self._transaction: RootTransaction | None = None
        self._after_commit: list[Callable[[], None]] = []
        self._on_rollback: list[Callable[[], None]] = []
        self._wrote = False
        self._closed = False
        #: reads a repository may reuse within this transaction (e.g. a key resolved by the
        #: authorize stage and again by the operation); emptied by every write statement
        self.memo: dict = {}
        #: the generations (storage/generations.py) the current or last transaction read, by
        #: account: each stays what that transaction saw until it bumps it itself (a write
        #: statement does not empty this); emptied when a transaction begins
        self.generations: dict[str, int] = {}

    # -- context manager -------------------------------------------------------------------

    def __enter__(self) -> "UnitOfWork":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            if exc_type is None:
                self.commit()
            else:
                self.rollback()
        finally:
            self._closed = True

    # -- use ------------------------------------------------------------------------------

    @property
    def write(self) -> bool:
        return self._write

    @property
    def exclusive(self) -> bool:
        """True for a write unit of work that holds the whole database while it runs (SQLite's
        ``BEGIN IMMEDIATE``): no other writer runs beside it, so locking a row costs nothing more."""
        return self._write and self._gate is not None

    @property
    def begun(self) -> bool:
        """True once a transaction is open (a read's snapshot may be older than now)."""
        return self._transaction is not None

    @property
    def wrote(self) -> bool:
        """True if any INSERT, UPDATE or DELETE ran in this unit of work."""
        return self._wrote

    @property
    def connection(self) -> Connection:
        """The connection of the current transaction, beginning it if needed."""
        connection = self._connection
        if connection is not None:
            return connection
        if self._closed:
            raise UnitOfWorkError("this unit of work has already ended")
        self.generations = {}
        gate = self._gate
        if gate is not None:
            gate.acquire()
            self._gated = True
        try:
            kept = self._kept
            connection = (kept.take(self._write) if kept is not None else None) or self._engine.connect()
            try:
                self._transaction = (connection.begin() if self._begin is None
                                     else DriverTransaction(connection, self._begin))
            except BaseException:
                connection.close()
                raise
        except BaseException:
            self._ungate()
            raise
        self._connection = connection
        return connection

    def _ungate(self) -> None:
        if self._gated:
            self._gated = False
            assert self._gate is not None
            self._gate.release()

    def execute(self, statement: Any, parameters: Any = None) -> CursorResult[Any]:
        if getattr(statement, "is_dml", False):
            if not self._write:
                raise UnitOfWorkError(
                    "a write statement ran in a read-only unit of work; open it with write=True")
            self._wrote = True
            self.memo.clear()
        return self.connection.execute(statement, parameters)

    def run(self, statement: Any, parameters: Mapping[str, Any] | None = None) -> "DriverResult":
        """Run a Core statement compiled once per dialect (``prepared``) straight through the
        driver, in this transaction: what ``execute`` does, without SQLAlchemy's per-execution
        work (which costs ten times a small indexed statement on SQLite). For the few statements
        every request of a hot path runs (S3's bucket and object rows, the policy generation).
        Parameters and result columns go through their types' processors as with ``execute``;
        errors are SQLAlchemy's (``IntegrityError``, ``OperationalError`` …)."""
        plan = prepared(statement, self._engine.dialect)
        if plan.dml:
            if not self._write:
                raise UnitOfWorkError(
                    "a write statement ran in a read-only unit of work; open it with write=True")
            self._wrote = True
            self.memo.clear()
        args = plan.arguments(parameters or {})
        cursor = self.connection.connection.driver_connection.cursor()
        try:
            try:
                cursor.execute(plan.sql, args)
                rows = cursor.fetchall() if cursor.description is not None else []
            except plan.dbapi_error as error:
                raise sa_exc.DBAPIError.instance(plan.sql, args, error, plan.dbapi_error) from error
            return DriverResult(plan.rows(rows), cursor.rowcount)
        finally:
            cursor.close()

    def insert_many(self, table: Any, rows: Sequence[Mapping[str, Any]]) -> None:
        """INSERT rows that all have the same columns, in this transaction, straight through the
        driver, as ``run`` runs a statement: the INSERT of these columns is made once per table and
        columns and compiled once per dialect, and each value goes through its column type's bind
        processor as SQLAlchemy would apply it. For rows written on every request (the audit
        records, S3 versions), where SQLAlchemy's per-execution work costs more than the insert
        itself. Errors are SQLAlchemy's (a constraint violation: ``IntegrityError``)."""
        if not rows:
            return
        if not self._write:
            raise UnitOfWorkError("a write statement ran in a read-only unit of work; open it with write=True")
        plan = prepared(_insert_of(table, tuple(rows[0])), self._engine.dialect)
        params = [plan.arguments(row) for row in rows]
        cursor = self.connection.connection.driver_connection.cursor()
        self._wrote = True
        self.memo.clear()
        try:
            if len(params) == 1:
                cursor.execute(plan.sql, params[0])
            elif plan.positional:
                # SQLite: one INSERT of many rows per statement, not executemany's statement per
                # row: the driver lets go of the GIL once per statement it steps, and a thread that
                # writes beside the event loop should hand the GIL over as seldom as it can
                width = len(params[0])
                per = max(1, _SQLITE_VARIABLES // max(width, 1))
                for start in range(0, len(params), per):
                    part = params[start:start + per]
                    cursor.execute(plan.values_sql(len(part)), [v for row in part for v in row])
            else:
                cursor.executemany(plan.sql, params)
        except plan.dbapi_error as error:
            raise sa_exc.DBAPIError.instance(plan.sql, params, error, plan.dbapi_error) from error
        finally:
            cursor.close()

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A nested transaction: an error inside rolls back only what ran inside.

        Use it around a statement whose failure the caller handles and then carries on (on
        PostgreSQL a failed statement otherwise aborts the whole transaction).
        """
        nested = self.connection.begin_nested()
        try:
            yield
        except BaseException:
            nested.rollback()
            raise
        else:
            nested.commit()

    def after_commit(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` after this unit of work commits (never if it rolls back)."""
        self._after_commit.append(fn)

    def on_rollback(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` if the unit of work's next end is a rollback (or a failed commit) rather than
        a commit: undo work done outside the database for a change that will not be kept (a blob
        written for a row that never commits)."""
        self._on_rollback.append(fn)

    # -- ending ---------------------------------------------------------------------------

    def commit(self) -> None:
        """Commit the transaction (if one began), then run the after-commit callbacks.

        The unit of work may be used again afterwards; its next use begins a new transaction.
        """
        transaction, connection = self._transaction, self._connection
        self._transaction = self._connection = None
        committed = False
        try:
            if transaction is not None:
                transaction.commit()
            committed = True
        except BaseException:
            self._after_commit.clear()
            raise
        else:
            self._on_rollback.clear()
        finally:
            try:
                # a connection whose commit went through may serve this thread's next unit of
                # work (``KeptConnections``); any other goes back to the pool, which resets it
                if connection is not None and not (committed and self._kept is not None
                                                   and self._kept.give(self._write, connection)):
                    connection.close()
            finally:
                self._ungate()
        if transaction is not None and self._committed is not None:
            try:
                self._committed()
            except Exception:  # the change is committed: telling the checkpointer must not undo that
                _log.exception("could not report a commit to the store")
        callbacks, self._after_commit = self._after_commit, []
        for fn in callbacks:
            try:
                fn()
            except Exception:  # the change is committed: a failed follow-up must not undo it
                _log.exception("after-commit callback failed")

    def rollback(self) -> None:
        """Roll back the transaction (if one began) and drop the after-commit callbacks."""
        transaction, connection = self._transaction, self._connection
        self._transaction = self._connection = None
        self._after_commit.clear()
        undo, self._on_rollback = self._on_rollback, []
        try:
            if transaction is not None and transaction.is_active:
                transaction.rollback()
        finally:
            try:
                if connection is not None:
                    if self._kept is not None:
                        self._kept.discard(connection)
                    connection.close()
            finally:
                self._ungate()
                for fn in undo:
                    try:
                        fn()
                    except Exception:  # nothing of the change was kept; a failed clean-up is logged
                        _log.exception("on-rollback callback failed")


class DriverTransaction:
    """A SQLite transaction begun and ended on the driver: what ``Connection.begin()`` and its
    commit do, without SQLAlchemy's transaction objects and its ``begin`` event (~7 µs a
    transaction, against ~6 µs for the driver's BEGIN and COMMIT themselves; the event loop runs
    one or two a request). A statement run through SQLAlchemy (``UnitOfWork.execute``, a
    savepoint) makes the connection begin its own transaction, which joins this one (the store's
    ``begin`` listener sees the driver in a transaction and begins nothing); the commit or
    rollback then goes through SQLAlchemy, which ends both. Errors are SQLAlchemy's."""

    __slots__ = ("_connection", "_driver")

    def __init__(self, connection: Connection, begin: str) -> None:
        self._connection = connection
        self._driver = connection.connection.driver_connection
        try:
            self._driver.execute(begin).close()
        except sqlite3.Error as error:
            raise sa_exc.DBAPIError.instance(begin, None, error, sqlite3.Error) from error

    @property
    def is_active(self) -> bool:
        return True

    def commit(self) -> None:
        if self._connection.in_transaction():
            self._connection.commit()
        else:
            self._on_driver("COMMIT", self._driver.commit)

    def rollback(self) -> None:
        if self._connection.in_transaction():
            self._connection.rollback()
        else:
            self._on_driver("ROLLBACK", self._driver.rollback)

    @staticmethod
    def _on_driver(sql: str, run: Callable[[], Any]) -> None:
        try:
            run()
        except sqlite3.Error as error:
            raise sa_exc.DBAPIError.instance(sql, None, error, sqlite3.Error) from error


_INSERT_STATEMENTS: dict[tuple[str, tuple[str, ...]], Any] = {}


#: the most values one SQLite statement may bind (SQLITE_MAX_VARIABLE_NUMBER's default: 32766
#: since SQLite 3.32, 999 before)
_SQLITE_VARIABLES = 32766 if sqlite3.sqlite_version_info >= (3, 32) else 999


def _insert_of(table: Any, columns: tuple[str, ...]) -> Any:
    """The INSERT of these columns of ``table`` (one statement object per table and columns, so
    that ``prepared`` compiles it once per dialect)."""
    key = (table.name, columns)
    found = _INSERT_STATEMENTS.get(key)
    if found is None:
        found = _INSERT_STATEMENTS.setdefault(key, insert(table).values({name: bindparam(name) for name in columns}))
    return found


class KeptConnections:
    """Connections a long-lived thread keeps checked out between its units of work (the event
    loop's, which serves every request of a worker): one for reads and one for writes (the
    write engine's connections begin with ``BEGIN IMMEDIATE`` on SQLite). Checking a connection
    out of SQLAlchemy's pool and back costs more than a small query (~20 µs per transaction on
    SQLite, with the pool's reset on return), and the event loop runs a transaction or two per
    request.

    Only a connection whose transaction committed is kept; after a rollback or an error it goes
    back to the pool (which resets or discards it). One is kept per kind at most (a unit of work
    opened while another is open on the same thread checks out its own), and none longer than
    ``max_age`` seconds, so the pool's recycling still applies. Used by one thread only; the
    store closes them all when it closes."""

    def __init__(self, max_age: float = 300.0) -> None:
        self._free: dict[bool, Connection] = {}
        self._since: dict[Connection, float] = {}       # when each kept connection was first kept
        self._max_age = max_age

    def take(self, write: bool) -> Connection | None:
        """The kept connection for a unit of work of this kind, or None (check one out)."""
        connection = self._free.pop(write, None)
        if connection is not None and (connection.closed or connection.invalidated
                                       or time.monotonic() - self._since[connection] > self._max_age):
            self._forget(connection)
            return None
        return connection

    def give(self, write: bool, connection: Connection) -> bool:
        """Keep ``connection`` for this thread's next unit of work of this kind; False when the
        caller should close it instead (one is kept already, or it is unusable)."""
        if write in self._free or connection.closed or connection.invalidated:
            if self._free.get(write) is not connection:
                self._since.pop(connection, None)
            return False
        self._since.setdefault(connection, time.monotonic())
        self._free[write] = connection
        return True

    def discard(self, connection: Connection) -> None:
        """``connection``, taken from here, is being closed by its unit of work (a rollback)."""
        self._since.pop(connection, None)

    def _forget(self, connection: Connection) -> None:
        self._since.pop(connection, None)
        try:
            connection.close()
        except Exception:  # noqa: BLE001 - closing a broken connection
            pass

    def close(self) -> None:
        free, self._free = self._free, {}
        for connection in free.values():
            self._forget(connection)
        self._since.clear()


class WriterGate:
    """One writer at a time across the threads and processes of one SQLite store, queued in the
    kernel: a lock file held with ``flock`` for the length of each write transaction (and an
    in-process lock, since ``flock`` does not exclude threads sharing its descriptor).

    SQLite lets one writer in and makes the others poll: its busy handler sleeps 1, 2, 5, 10 …
    milliseconds between tries, so two workers writing at once added several milliseconds to
    a 1 ms transaction. Waiting on the gate wakes the next writer as soon as the last one ends.
    ``BEGIN IMMEDIATE`` still guards the database itself (another program may write to it).
    Re-entrant in one thread: a thread that opens a second write unit of work while holding the
    gate goes on to SQLite's own lock, as it would without the gate. One gate per database file
    and process (``for_path``), shared by every ``Store`` opened on it, so that re-entrance is
    seen whichever store the second unit of work comes from.
    """

    _open: dict[str, tuple["WriterGate", int]] = {}
    _registry_lock = threading.Lock()

    @classmethod
    def for_path(cls, path: str) -> "WriterGate":
        """The process's gate of this lock file (made on first use; ``close`` when done)."""
        key = os.path.realpath(path)
        with cls._registry_lock:
            gate, users = cls._open.get(key, (None, 0))
            if gate is None:
                gate = cls(key)
            cls._open[key] = (gate, users + 1)
            gate._key = key
            return gate

    def __init__(self, path: str) -> None:
        import fcntl

        self._flock = fcntl.flock
        self._ex, self._un = fcntl.LOCK_EX, fcntl.LOCK_UN
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        self._lock = threading.RLock()
        self._depth = 0

    def acquire(self) -> None:
        self._lock.acquire()
        self._depth += 1
        if self._depth == 1:
            try:
                self._flock(self._fd, self._ex)
            except BaseException:
                self._depth -= 1
                self._lock.release()
                raise

    def release(self) -> None:
        self._depth -= 1
        try:
            if self._depth == 0:
                self._flock(self._fd, self._un)
        finally:
            self._lock.release()

    def close(self) -> None:
        """One user of the gate is done; the last one closes the lock file."""
        key = getattr(self, "_key", None)
        with self._registry_lock:
            if key is not None:
                gate, users = self._open.get(key, (None, 0))
                if gate is self and users > 1:
                    self._open[key] = (gate, users - 1)
                    return
                self._open.pop(key, None)
            fd, self._fd = self._fd, -1
            if fd >= 0:
                os.close(fd)


# --- statements run straight through the driver (``UnitOfWork.run``) -----------------------------------


class DriverResult:
    """The rows (tuples with the columns' keys as attributes, and ``_mapping``) and row count of a
    ``UnitOfWork.run``: the parts of SQLAlchemy's result the hot paths use."""

    __slots__ = ("_rows", "rowcount")

    def __init__(self, rows: list[Any], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount

    def __iter__(self) -> Iterator[Any]:
        return iter(self._rows)

    def all(self) -> list[Any]:
        return list(self._rows)

    def first(self) -> Any:
        return self._rows[0] if self._rows else None

    def scalar(self) -> Any:
        return self._rows[0][0] if self._rows else None

    def scalar_one(self) -> Any:
        if len(self._rows) != 1:
            raise sa_exc.NoResultFound("No row was found") if not self._rows else \
                sa_exc.MultipleResultsFound("Multiple rows were found")
        return self._rows[0][0]

    def scalar_one_or_none(self) -> Any:
        if len(self._rows) > 1:
            raise sa_exc.MultipleResultsFound("Multiple rows were found")
        return self._rows[0][0] if self._rows else None


class _Plan:
    """A statement compiled for one dialect: its SQL, how to order and convert its parameters
    (the statement's own literal values included), and how to convert and name its rows."""

    __slots__ = ("statement", "sql", "_values", "dml", "dbapi_error", "_positional", "_names", "_row",
                 "_converts", "_defaults", "_required", "_pick", "_processes")

    def __init__(self, statement: Any, dialect: Any) -> None:
        compiled = statement.compile(dialect=dialect)
        binds = compiled.binds
        if any(b.expanding or b.callable is not None for b in binds.values()) or "POSTCOMPILE" in compiled.string \
                or getattr(compiled, "escaped_bind_names", None):
            raise UnitOfWorkError("UnitOfWork.run takes statements with plain bound parameters only")
        self.statement = statement           # kept alive: the cache is keyed by its id
        self.sql = compiled.string
        self._values: dict[int, str] = {}       # values_sql by row count
        self.dml = bool(getattr(statement, "is_dml", False))
        self.dbapi_error = dialect.dbapi.Error
        self._positional = bool(compiled.positional)
        #: the parameters in the SQL's order (positional) or once each (named)
        self._names = tuple(compiled.positiontup or ()) if self._positional else tuple(binds)
        processors = {name: b.type.dialect_impl(dialect).bind_processor(dialect) for name, b in binds.items()}
        #: the values of the parameters that have one of their own (the statement's literals)
        self._defaults = {name: b.value for name, b in binds.items() if not b.required}
        #: the parameters a caller must give
        self._required = frozenset(self._names) - self._defaults.keys()
        #: picks the parameters' values in ``_names`` order, at C speed (always a tuple)
        self._pick = _picker(self._names)
        #: (position, bind processor) of the parameters whose values are converted
        self._processes = tuple((i, processors[name]) for i, name in enumerate(self._names)
                                if processors[name] is not None)
        columns = list(getattr(statement, "exported_columns", ()) or ())
        keys = tuple(c.key for c in columns)
        results = [c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns]
        #: (position, result processor) of the columns whose values are converted (S3's object
        #: row: 24 columns, 3 of them)
        self._converts = tuple((i, p) for i, p in enumerate(results) if p is not None)
        self._row = _row_class(keys) if keys else None

    def arguments(self, given: Mapping[str, Any]) -> Any:
        """The driver's parameters for ``given``: a tuple in the SQL's order (a positional
        dialect, SQLite), else a dict by name; each value through its type's bind processor."""
        if not self._required <= given.keys():
            missing = sorted(self._required - given.keys())
            raise UnitOfWorkError(f"a value is required for bind parameter {missing[0]!r}")
        values = self._pick({**self._defaults, **given} if self._defaults else given)
        if self._processes:
            values = list(values)
            for position, processor in self._processes:
                values[position] = processor(values[position])
        return tuple(values) if self._positional else dict(zip(self._names, values))

    @property
    def positional(self) -> bool:
        return self._positional

    def values_sql(self, rows: int) -> str:
        """A positional INSERT … VALUES (…) of one row, made to insert ``rows`` rows at once."""
        sql = self._values.get(rows)
        if sql is None:
            head, sep, group = self.sql.rpartition(" VALUES ")
            if not sep or not group.startswith("(") or not group.endswith(")"):
                raise UnitOfWorkError(f"not a one-row INSERT: {self.sql}")
            sql = f"{head} VALUES {', '.join([group] * rows)}"
            if len(self._values) < 64:
                self._values[rows] = sql
        return sql

    def rows(self, raw: list[tuple]) -> list[Any]:
        if not raw or self._row is None:
            return []
        make = self._row._make
        converts = self._converts
        if not converts:
            return [make(row) for row in raw]
        out = []
        for row in raw:
            values = list(row)
            for position, processor in converts:
                values[position] = processor(values[position])
            out.append(make(values))
        return out


def _picker(names: tuple[str, ...]) -> Callable[[Mapping[str, Any]], tuple]:
    """``mapping`` → the values of ``names`` in order, as a tuple (``itemgetter`` gives a bare
    value for one name and cannot take none)."""
    if not names:
        return lambda _mapping: ()
    if len(names) == 1:
        get = operator.itemgetter(names[0])
        return lambda mapping: (get(mapping),)
    return operator.itemgetter(*names)


def _row_class(keys: tuple[str, ...]) -> Any:
    base = collections.namedtuple("Row", keys)  # type: ignore[misc]

    class Row(base):  # type: ignore[misc, valid-type]
        __slots__ = ()

        @property
        def _mapping(self) -> Mapping[str, Any]:
            return self._asdict()

    return Row


_PLANS: dict[tuple[str, int], _Plan] = {}
_PLANS_LOCK = threading.Lock()
_PLANS_MAX = 512


def prepared(statement: Any, dialect: Any) -> _Plan:
    """The statement's plan for this dialect, compiled on first use. Statements given to
    ``UnitOfWork.run`` are module-level constants (the cache holds them for the process)."""
    key = (dialect.name, id(statement))
    plan = _PLANS.get(key)
    if plan is None or plan.statement is not statement:
        plan = _Plan(statement, dialect)
        with _PLANS_LOCK:
            if len(_PLANS) >= _PLANS_MAX:          # statements made per call: never kept for long
                _PLANS.clear()
            _PLANS[key] = plan
    return plan
