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

import logging
from contextlib import contextmanager
from types import TracebackType
from typing import Any, Callable, Iterator

from sqlalchemy import Connection, CursorResult, Engine, RootTransaction

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
                 "_closed", "memo")

    def __init__(self, engine: Engine, *, write: bool = False) -> None:
        self._engine = engine
        self._write = write
        self._connection: Connection | None = None
        self._transaction: RootTransaction | None = None
        self._after_commit: list[Callable[[], None]] = []
        self._wrote = False
        self._closed = False
        #: reads a repository may reuse within this transaction (e.g. a key resolved by the
        #: authorize stage and again by the operation); emptied by every write statement
        self.memo: dict = {}

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
        connection = self._engine.connect()
        try:
            self._transaction = connection.begin()
        except BaseException:
            connection.close()
            raise
        self._connection = connection
        return connection

    def execute(self, statement: Any, parameters: Any = None) -> CursorResult[Any]:
        if getattr(statement, "is_dml", False):
            if not self._write:
                raise UnitOfWorkError(
                    "a write statement ran in a read-only unit of work; open it with write=True")
            self._wrote = True
            self.memo.clear()
        return self.connection.execute(statement, parameters)

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

    # -- ending ---------------------------------------------------------------------------

    def commit(self) -> None:
        """Commit the transaction (if one began), then run the after-commit callbacks.

        The unit of work may be used again afterwards; its next use begins a new transaction.
        """
        transaction, connection = self._transaction, self._connection
        self._transaction = self._connection = None
        try:
            if transaction is not None:
                transaction.commit()
        except BaseException:
            self._after_commit.clear()
            raise
        finally:
            if connection is not None:
                connection.close()
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
        try:
            if transaction is not None and transaction.is_active:
                transaction.rollback()
        finally:
            if connection is not None:
                connection.close()
