"""Server-wide settings: small named values in ``server_settings`` (the default account, the
test clock's offset, the test hooks' CloudTrail timings, how far the event history was pruned).

Must not: know what the values mean.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import exc, insert, select, update

from .schema import server_settings

_S = server_settings.c


def get(uow: Any, key: str) -> str | None:
    """The setting's value as the unit of work's transaction sees it, or None."""
    return uow.execute(select(_S.value).where(_S.key == key)).scalar()


def read(store: Any, key: str) -> str | None:
    """The setting's value as last committed (a read unit of work of its own), or None."""
    with store.unit_of_work() as uow:
        return get(uow, key)


def put(uow: Any, key: str, value: str) -> None:
    """Set the value (in the caller's write transaction). Two transactions setting a new key at
    once (PostgreSQL; SQLite serializes writers) both end with the key set: the second's
    INSERT, refused, becomes an UPDATE."""
    if uow.execute(update(server_settings).where(_S.key == key).values(value=value)).rowcount:
        return
    try:
        with uow.savepoint():
            uow.execute(insert(server_settings).values(key=key, value=value))
    except exc.IntegrityError:
        uow.execute(update(server_settings).where(_S.key == key).values(value=value))
