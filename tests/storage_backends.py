"""Run storage tests on both backends: SQLite (a fresh file per test) and PostgreSQL.

Use it from a test module with::

    from storage_backends import store, store_url  # noqa: F401  (pytest fixtures)

``store_url`` is parametrized over ``["sqlite", "postgresql"]`` and yields the URL of an empty
database (no tables); ``store`` yields a migrated ``Store`` on it and closes it afterwards.

PostgreSQL: the server at 127.0.0.1:5432 (trust auth, user ``postgres`` or ``root``, maintenance
database ``test``; override with env ``CLOUDKEEP_TEST_POSTGRES_ADMIN_URL``). Each test session
creates its own database ``cloudkeep_test_<random>`` and drops it (``WITH (FORCE)``) at the end;
between tests its ``public`` schema is dropped and recreated. The shared ``test`` database is
never migrated. If the server is unreachable, PostgreSQL cases fail when ``CI=true`` and are
skipped otherwise.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from cloudkeep.storage.engine import Store, sqlite_url

BACKENDS = [pytest.param("sqlite", id="sqlite"),
            pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres)]

_ADMIN_URLS = ("postgresql://postgres@127.0.0.1:5432/test", "postgresql://root@127.0.0.1:5432/test")


class _PostgresDatabase:
    """The session's own PostgreSQL database, created on first use."""

    def __init__(self) -> None:
        self.url: str | None = None          # postgresql://…/cloudkeep_test_xxx
        self.error: str | None = None        # why the server is unusable
        self._admin_url: str | None = None
        self._name: str | None = None

    def ensure(self, config: pytest.Config) -> str:
        if self.url is not None:
            return self.url
        if self.error is None:
            self._create(config)
        if self.url is None:
            message = f"PostgreSQL is not available: {self.error}"
            if os.environ.get("CI", "").lower() == "true":
                pytest.fail(message)
            pytest.skip(message)
        return self.url

    def _create(self, config: pytest.Config) -> None:
        import psycopg

        override = os.environ.get("CLOUDKEEP_TEST_POSTGRES_ADMIN_URL")
        errors = []
        for admin_url in ((override,) if override else _ADMIN_URLS):
            try:
                with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
                    name = "cloudkeep_test_" + secrets.token_hex(6)
                    conn.execute(f'CREATE DATABASE "{name}"')
            except psycopg.Error as error:
                errors.append(f"{admin_url}: {str(error).strip().splitlines()[0]}")
                continue
            self._admin_url, self._name = admin_url, name
            self.url = admin_url.rsplit("/", 1)[0] + "/" + name
            config.add_cleanup(self._drop)
            return
        self.error = "; ".join(errors)

    def reset(self) -> None:
        """Empty the database: drop and recreate the public schema."""
        import psycopg

        assert self.url is not None
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute("SET lock_timeout = '20s'")
            conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
            conn.execute("CREATE SCHEMA public")

    def _drop(self) -> None:
        import psycopg

        with psycopg.connect(self._admin_url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self._name}" WITH (FORCE)')


_POSTGRES = _PostgresDatabase()


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database on each backend."""
    if request.param == "sqlite":
        data_dir = tmp_path / "data"
        data_dir.mkdir()
        yield sqlite_url(data_dir)
        return
    url = _POSTGRES.ensure(request.config)
    _POSTGRES.reset()
    yield url


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """A migrated store on each backend, closed after the test."""
    opened = Store.open(store_url)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Path, str | None]]:
    """For tests that start their own servers (and start them again on the same store): (data
    dir, store URL), the URL None for the data dir's SQLite, else this session's own PostgreSQL
    database (``_PostgresDatabase``; unreachable → fail when ``CI=true``, skip otherwise)."""
    store_url = None
    if request.param == "postgresql":
        store_url = _PostgresDatabase().ensure(request.config)
    yield tmp_path / "data", store_url
