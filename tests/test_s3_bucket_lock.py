"""S3's bucket row on the object-write path (services/s3/repository): a write reads its bucket
for authorization and then locks it for a version sequence number. In SQLite's write units of
work, which hold the whole database, the first read already takes the lock and the number, and
the lock hands that number out once; on PostgreSQL the read locks nothing (a copy must not lock
its source bucket). Either way one write takes one number. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import insert, select, update

from cloudkeep.services.s3 import repository as repo
from cloudkeep.storage.schema import accounts, s3_buckets

from storage_backends import store, store_url  # noqa: F401  (pytest fixtures)

T0 = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.timezone.utc)


def _bucket_row(store) -> None:  # type: ignore[no-untyped-def]
    with store.unit_of_work(write=True) as uow:
        uow.execute(insert(accounts).values(account_id="111122223333", email="a@example.com",
                                            root_password_hash="x", created_at=T0))
        uow.execute(insert(s3_buckets).values(name="locked", account_id="111122223333", region="us-east-1",
                                              created_at=T0, encryption="{}", object_ownership="BucketOwnerEnforced",
                                              next_seq=0))


def _next_seq(store) -> int:  # type: ignore[no-untyped-def]
    with store.unit_of_work() as uow:
        return int(uow.execute(select(s3_buckets.c.next_seq).where(s3_buckets.c.name == "locked")).scalar_one())


def test_one_object_write_takes_one_sequence_number(store) -> None:  # type: ignore[no-untyped-def]
    _bucket_row(store)
    sqlite = store.dialect == "sqlite"
    with store.unit_of_work(write=True) as uow:
        bucket = repo.get_bucket(uow, "locked")
        assert bucket is not None and bucket.name == "locked"
        assert uow.exclusive is sqlite and uow.wrote is sqlite        # SQLite: read and locked at once
        locked = repo.lock_bucket(uow, "locked")
        assert locked is not None and locked[0] == bucket and locked[1] == 1
        # a second lock in the same unit of work takes the next number
        assert repo.lock_bucket(uow, "locked")[1] == 2                # type: ignore[index]
    assert _next_seq(store) == 2


def test_a_write_in_between_makes_the_lock_take_a_new_number(store) -> None:  # type: ignore[no-untyped-def]
    _bucket_row(store)
    with store.unit_of_work(write=True) as uow:
        repo.get_bucket(uow, "locked")
        uow.execute(update(s3_buckets).where(s3_buckets.c.name == "locked").values(versioning=None))  # empties the memo
        assert repo.lock_bucket(uow, "locked")[1] == (2 if store.dialect == "sqlite" else 1)  # type: ignore[index]


def test_a_read_unit_of_work_only_reads_and_a_missing_bucket_is_none(store) -> None:  # type: ignore[no-untyped-def]
    _bucket_row(store)
    with store.unit_of_work() as uow:
        assert repo.get_bucket(uow, "locked") is not None and not uow.wrote
    with store.unit_of_work(write=True) as uow:
        assert repo.get_bucket(uow, "absent") is None and repo.lock_bucket(uow, "absent") is None
    assert _next_seq(store) == 0
