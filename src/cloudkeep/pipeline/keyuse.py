"""Access keys' last use (``GetAccessKeyLastUsed``), recorded off the request path.

AWS updates this information approximately; cloudkeep keeps the newest use per key in memory
and writes it in one small transaction at most every ``interval`` seconds and at shutdown.

Must not: block a request on storage.
"""

from __future__ import annotations

import datetime as _dt
import logging
import threading
from typing import Any, Callable

log = logging.getLogger("cloudkeep.keyuse")


class KeyUseTracker:
    def __init__(self, store: Any, write: Callable[[Any, list], None], *, interval: float = 1.0) -> None:
        self._store = store
        self._write = write
        self._interval = interval
        self._pending: dict[str, tuple[str, _dt.datetime, str, str]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cloudkeep-keyuse", daemon=True)
        self._thread.start()

    def touch(self, key_id: str, at: _dt.datetime, service: str, region: str) -> None:
        self._pending[key_id] = (key_id, at, service, region)   # a dict store is atomic

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
            if not pending:
                return
            try:
                with self._store.unit_of_work(write=True) as uow:
                    self._write(uow, list(pending.values()))
            except Exception:
                log.exception("could not record access keys' last use")

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.flush()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.flush()
