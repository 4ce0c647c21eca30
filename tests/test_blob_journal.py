"""The blob journal (storage/blob_journal.py) with the blob store, on SQLite and PostgreSQL: a file
is announced before it exists, settled by the transaction that commits its row, forgotten with
the file when a write fails, and swept (file, temporary files and entry) once old and unsettled.
"""

from __future__ import annotations

import datetime as dt
import os

import pytest
from sqlalchemy import insert, select

from cloudkeep.storage.blob_journal import SWEEP_AGE, BlobJournal, settle
from cloudkeep.storage.blobs import BlobStore, BlobTooLarge, new_data_key
from cloudkeep.storage.schema import blob_journal
from storage_backends import store, store_url  # noqa: F401 - fixtures

T0 = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.timezone.utc)


class Clock:
    def __init__(self) -> None:
        self.at = T0

    def __call__(self) -> dt.datetime:
        return self.at


@pytest.fixture
def parts(store, tmp_path):  # noqa: F811
    clock = Clock()
    journal = BlobJournal(store, clock)
    return journal, BlobStore(tmp_path / "blobs", chunk_size=4096, sync=False, journal=journal), clock


def _ids(journal: BlobJournal) -> list[str]:
    return [blob_id for blob_id, _ in journal.pending()]


def test_a_file_is_announced_before_it_exists_and_settled_with_its_row(parts, store):  # noqa: F811
    journal, blobs, _ = parts
    seen_before_file: list[bool] = []

    class Watching:
        def begin(self, blob_id: str) -> None:
            journal.begin(blob_id)
            seen_before_file.append(blobs.exists(blob_id) or any((blobs.root / "tmp").glob(f"{blob_id}.*"))
                                    if (blobs.root / "tmp").exists() else False)

        def forget(self, blob_ids):
            journal.forget(blob_ids)

    blobs.journal = Watching()
    info = blobs.write(os.urandom(10_000), new_data_key())
    assert seen_before_file == [False]
    assert _ids(journal) == [info.blob_id] and blobs.exists(info.blob_id)
    with store.unit_of_work(write=True) as uow:        # the row's transaction
        settle(uow, [info.blob_id])
    assert _ids(journal) == [] and blobs.exists(info.blob_id)


def test_a_settle_that_rolls_back_keeps_the_entry(parts, store):  # noqa: F811
    journal, blobs, _ = parts
    info = blobs.write(b"x" * 5000, new_data_key())
    with pytest.raises(RuntimeError):
        with store.unit_of_work(write=True) as uow:
            settle(uow, [info.blob_id])
            raise RuntimeError("the row's commit fails")
    assert _ids(journal) == [info.blob_id]


def test_inline_bodies_are_never_journaled_and_a_spilled_one_is(parts):
    journal, blobs, _ = parts
    small = blobs.write(b"s" * 100, new_data_key(), inline_max=1000)
    assert small.data is not None and _ids(journal) == []
    big = blobs.write(b"b" * 5000, new_data_key(), inline_max=1000)
    assert big.data is None and _ids(journal) == [big.blob_id]


def test_a_failed_write_leaves_neither_file_nor_entry(parts):
    journal, blobs, _ = parts
    with pytest.raises(BlobTooLarge):
        blobs.write(b"z" * 20_000, new_data_key(), limit=10_000, blob_id="ab" * 16)
    assert _ids(journal) == [] and not blobs.exists("ab" * 16)
    assert list((blobs.root / "tmp").iterdir()) == []


def test_discard_removes_the_file_then_the_entry(parts):
    journal, blobs, _ = parts
    info = blobs.write(b"d" * 5000, new_data_key())
    blobs.discard([info.blob_id])
    assert _ids(journal) == [] and not blobs.exists(info.blob_id)


def test_sweep_takes_only_old_unsettled_entries_with_their_files(parts, store):  # noqa: F811
    journal, blobs, clock = parts
    old = blobs.write(b"o" * 5000, new_data_key())                 # a write killed before its commit
    committed = blobs.write(b"c" * 5000, new_data_key())
    with store.unit_of_work(write=True) as uow:
        settle(uow, [committed.blob_id])
    half_written = "cd" * 16                                       # killed while the file was temporary
    journal.begin(half_written)
    (blobs.root / "tmp").mkdir(exist_ok=True)
    leftover = blobs.root / "tmp" / f"{half_written}.0a0b0c0d"
    leftover.write_bytes(b"partial ciphertext")
    clock.at = T0 + SWEEP_AGE - dt.timedelta(minutes=1)
    young = blobs.write(b"y" * 5000, new_data_key())               # another node's write in progress
    assert journal.sweep(blobs) == []                              # nothing is an hour old yet
    clock.at = T0 + SWEEP_AGE
    assert sorted(journal.sweep(blobs)) == sorted([old.blob_id, half_written])
    assert not blobs.exists(old.blob_id) and not leftover.exists()
    assert blobs.exists(committed.blob_id) and blobs.exists(young.blob_id)
    assert _ids(journal) == [young.blob_id]
    assert journal.sweep(blobs) == []                              # a second sweep finds nothing


def test_sweep_of_many_entries_goes_in_batches(parts, store):  # noqa: F811
    journal, blobs, clock = parts
    ids = [f"{i:032x}" for i in range(1, 1203)]
    with store.unit_of_work(write=True) as uow:
        uow.execute(insert(blob_journal), [{"blob_id": b, "created_at": T0} for b in ids])
    clock.at = T0 + dt.timedelta(days=1)
    assert sorted(journal.sweep(blobs)) == ids
    with store.unit_of_work() as uow:
        assert uow.execute(select(blob_journal.c.blob_id)).first() is None


def test_a_store_without_journal_writes_no_entry(store, tmp_path):  # noqa: F811
    blobs = BlobStore(tmp_path / "plain", sync=False)
    info = blobs.write(b"p" * 5000, new_data_key())
    assert blobs.exists(info.blob_id)
    assert BlobJournal(store, Clock()).pending() == []
