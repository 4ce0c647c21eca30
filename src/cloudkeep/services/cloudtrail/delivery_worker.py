"""The background worker that delivers trails' log files and digests.

Every worker process (``--workers N``, and every node sharing one PostgreSQL) runs one; only the
holder of the ``cloudtrail-delivery`` lease (a row in ``cloudtrail_leases``, renewed each tick,
taken over when it has expired) delivers, so each event is delivered by one process. A tick
runs every second (while a trail delivers or a digest chain is open: digests are written also
for periods with no log file); what it delivers is due after the trail's delivery delay (``Timing``).
A process that finds the lease held by a process of the same host that no longer exists (killed)
takes it over at once. ``close()`` (at shutdown, after the audit recorder has written its queue) delivers everything
recorded so far, so a clean stop loses nothing; events recorded before a crash are delivered
after the restart from the trail's committed cursor.

Must not: import the pipeline; deliver without holding the lease.
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
import secrets
import socket
import threading
from typing import Any, Callable

from sqlalchemy import exc

from cloudkeep.storage import clock

from . import delivery_cursor as C
from . import digest_chains
from . import trails_repo as repo
from .delivery import Delivery, Timing

log = logging.getLogger("cloudkeep.cloudtrail.worker")
LEASE = "cloudtrail-delivery"


def _gone(holder: str) -> bool:
    """A holder on this host whose process no longer exists (killed): its lease need not expire."""
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname()[:30] or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


class DeliveryWorker:
    def __init__(self, store: Any, delivery: Delivery, timing: Callable[[], Timing], *, tick: float = 1.0,
                 lease_ttl: _dt.timedelta = _dt.timedelta(seconds=15),
                 wall_now: Callable[[], _dt.datetime] = clock.wall_now) -> None:
        self._store, self._delivery, self._timing = store, delivery, timing
        self._tick, self._ttl, self._wall_now = tick, lease_ttl, wall_now
        self._holder = f"{socket.gethostname()[:30]}:{os.getpid()}:{secrets.token_hex(4)}"
        self._stop = threading.Event()
        self._lock = threading.Lock()          # one pass at a time (the thread, a test hook, close)
        self._thread = threading.Thread(target=self._run, name="cloudkeep-cloudtrail", daemon=True)

    def start(self) -> "DeliveryWorker":
        self._thread.start()
        return self

    def _lease(self) -> bool:
        try:
            with self._store.unit_of_work(write=True) as uow:
                now = self._wall_now()
                if C.take_lease(uow, LEASE, self._holder, now, self._ttl):
                    return True
                old = C.lease_holder(uow, LEASE)
                return old is not None and _gone(old) and C.take_over_lease(uow, LEASE, old, self._holder, now,
                                                                            self._ttl)
        except exc.IntegrityError:            # another process inserted the lease row first
            return False

    def run_once(self, *, force: bool = False, close_digests: bool = False) -> dict[str, int] | None:
        """One pass if this process holds (or takes) the lease; None when another one holds it."""
        with self._lock:
            if not force and not close_digests:
                with self._store.unit_of_work() as uow:
                    if not repo.any_delivering(uow) and not digest_chains.any_chain(uow):  # nothing to do
                        return {"files": 0, "digests": 0}
            if not self._lease():
                return None
            return self._delivery.run(self._timing(), force=force, close_digests=close_digests)

    def _run(self) -> None:
        while not self._stop.wait(self._tick):
            try:
                self.run_once()
            except Exception:  # never let the worker die; the next tick tries again
                log.exception("cloudtrail delivery pass failed")

    def close(self) -> None:
        """Stop the thread, deliver everything recorded so far, give the lease up."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        try:
            self.run_once(force=True)
            with self._store.unit_of_work(write=True) as uow:
                C.release_lease(uow, LEASE, self._holder)
        except Exception:
            log.exception("cloudtrail delivery at shutdown failed; the next start delivers it")
