"""The blob journal: which blob store files are being written for a row not committed yet.

A large body is written as a file (``storage/blobs.py``) before the row that references it is
committed. A failed commit deletes the file (the unit of work's ``on_rollback``), but a process
killed between the file and the commit would leave a file nothing references. So:

1. ``begin`` records the blob id, in its own short transaction, before the file is created;
2. ``settle`` removes the entry in the transaction that commits the row referencing the blob
   (the entry and the row commit together, never one without the other);
3. ``forget`` removes it, in its own transaction, once a failed request has deleted the file;
4. ``sweep`` (at server start) deletes the files, temporary files included, and the entries of
   blobs begun at least ``older_than`` ago and never settled.

Only old entries are swept, since other worker processes and other nodes on the same database
may be writing bodies right now. A body whose write takes longer than ``older_than`` is not
protected by the journal any more once a sweep has run meanwhile (its entry and any file so far
are gone); the sweep age is far beyond the time a 5 GiB body takes to arrive on a working network.

Must not: know services or what references a blob.
"""

from __future__ import annotations

import datetime as _dt
import logging
from typing import TYPE_CHECKING, Any, Callable, Final, Iterable, Sequence

from sqlalchemy import bindparam, delete, insert, select

from cloudkeep.storage.schema import blob_journal

if TYPE_CHECKING:   # pragma: no cover
    from cloudkeep.storage.blobs import BlobStore
    from cloudkeep.storage.engine import Store

_log = logging.getLogger(__name__)

#: how old an unsettled entry must be before a sweep may take it
SWEEP_AGE: Final = _dt.timedelta(hours=1)
#: entries deleted per statement by a sweep
_SWEEP_BATCH: Final = 500

_T = blob_journal.c
_SETTLE_ONE: Final = delete(blob_journal).where(_T.blob_id == bindparam("b_id"))


def settle(uow: Any, blob_ids: Iterable[str]) -> None:
    """Remove the entries of these blobs in ``uow``, the transaction committing the row that
    references them (one statement; nothing at all for no ids)."""
    ids = [b for b in blob_ids if b]
    if len(ids) == 1:
        uow.execute(_SETTLE_ONE, {"b_id": ids[0]})
    elif ids:
        uow.execute(delete(blob_journal).where(_T.blob_id.in_(ids)))


class BlobJournal:
    """The journal of one store: entries written and removed in short transactions of its own."""

    def __init__(self, store: "Store", now: Callable[[], _dt.datetime]) -> None:
        self._store = store
        self._now = now

    def begin(self, blob_id: str) -> None:
        """Record that a file for ``blob_id`` is about to be written (committed on return)."""
        with self._store.unit_of_work(write=True) as uow:
            uow.execute(insert(blob_journal).values(blob_id=blob_id, created_at=self._now()))

    def forget(self, blob_ids: Sequence[str]) -> None:
        """Remove entries whose files the caller has deleted."""
        ids = [b for b in blob_ids if b]
        if ids:
            with self._store.unit_of_work(write=True) as uow:
                settle(uow, ids)

    def pending(self) -> list[tuple[str, _dt.datetime]]:
        """Every entry (blob id, when it was begun), oldest first."""
        with self._store.unit_of_work() as uow:
            return [(r.blob_id, r.created_at) for r in uow.execute(
                select(_T.blob_id, _T.created_at).order_by(_T.created_at, _T.blob_id))]

    def sweep(self, blobs: "BlobStore", *, older_than: _dt.timedelta = SWEEP_AGE) -> list[str]:
        """Delete the files and entries of blobs begun before ``now - older_than`` and never
        settled; returns their ids. Safe to run in several processes at once (deleting a file
        or an entry twice does nothing)."""
        cutoff = self._now() - older_than
        swept: list[str] = []
        while True:
            with self._store.unit_of_work() as uow:
                ids = [r.blob_id for r in uow.execute(
                    select(_T.blob_id).where(_T.created_at <= cutoff).order_by(_T.blob_id)
                    .limit(_SWEEP_BATCH))]
            if not ids:
                return swept
            for blob_id in ids:
                blobs.delete(blob_id, temporaries=True)     # the file first, then its entry
            with self._store.unit_of_work(write=True) as uow:
                settle(uow, ids)
            swept += ids
            _log.warning("swept %d blob file(s) left by a write that never committed", len(ids))
