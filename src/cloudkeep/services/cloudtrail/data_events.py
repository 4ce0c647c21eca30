"""Whether data events are recorded at all: only while some trail that is logging selects them.

S3 object-level calls (and other data events) are not in the event history; CloudTrail logs them
only for trails (or event data stores) configured to select them, and data events are off by
default (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/logging-data-events-with-cloudtrail.html).
So a data event nothing could deliver is not built or stored: the pipeline asks ``wanted`` when
it builds one (on the recorder's thread for the calls it records off the request path).

The answer is exact, read from the store (one read of the trails that are logging, on a prepared
statement; the table is small: five trails per account and region at most) once per round of
the recorder's deferred builders, which all run after their calls completed, or known on the
request path (``known``) for a request whose transaction read the trails' generation the newest
read was made at (every change to a trail bumps it), and
deliberately broad: one logging trail anywhere in the
store that may select data events makes every data event recorded; delivery then applies each
trail's own selectors, accounts and regions, as it does for management events. A trail that
starts logging or gets data selectors records the data events of calls from then on (events from
before its StartLogging are never delivered anyway).

Must not: import the pipeline; decide what a trail delivers (``delivery``, ``trails_selectors``).
"""

from __future__ import annotations

import functools
import json
import logging
import threading
from typing import Any

from cloudkeep.audit.recorder import round_of_builds
from cloudkeep.storage import generations

from . import trails_repo as repo
from .trails_selectors import selects_data_events

log = logging.getLogger("cloudkeep.cloudtrail")


class DataEventGate:
    """``wanted()``: whether a logging trail of the store may select data events; ``known(uow)``:
    the same as of a request's own transaction, when that is known without reading the store."""

    def __init__(self, store: Any) -> None:
        self._query = store.prepare_read(repo.LOGGING_SELECTORS_AND_GENERATION)
        self._last = threading.local()       # (round of builds, answer) of the calling thread
        #: (trails' generation, answer) of the newest read: the answer for every transaction
        #: that read that generation (storage/generations.TRAILS: every change to a trail bumps it)
        self._by_generation: tuple[int, bool] | None = None

    def wanted(self) -> bool:
        """Read once per round of the recorder's deferred builders (``round_of_builds``): a
        round's builders all run after their calls completed, so one read made in the round
        is as new as each would have made (the writer builds up to a batch of S3 object calls
        at once, and a read per call held the interpreter long enough to stall the event loop)."""
        current = round_of_builds()
        if current is not None:
            last = getattr(self._last, "answer", None)
            if last is not None and last[0] is current:
                return last[1]
        try:
            rows = self._query.all(trails=generations.TRAILS)
        except Exception:  # noqa: BLE001 - in doubt, record: an event too many, never one missing
            log.exception("could not read the logging trails' selectors; recording the data event")
            return True
        answer = any(_selects_data(text) for _generation, text in rows if text is not None)
        if rows:
            self._by_generation = (int(rows[0][0]), answer)
        self._last.answer = (current, answer) if current is not None else None
        return answer

    def known(self, uow: Any) -> bool | None:
        """The answer as of the request's transaction, if it read the trails' generation (every
        authorized request does, with the organizations' one) and that generation is the one of
        the newest read (a single statement: the trails and their generation in one snapshot);
        else None, and the writer asks ``wanted`` later. Exact: every change to a trail bumps
        the generation in its own transaction, so equal generations mean the same trails. With
        False the pipeline drops a data event at once instead of keeping its call until the
        writer's next batch (a PutObject's request, parameters and unit of work, 200 at a time)."""
        seen = getattr(uow, "generations", None)
        generation = seen.get(generations.TRAILS) if seen else None
        last = self._by_generation
        if generation is None or last is None or last[0] != generation:
            return None
        return last[1]


@functools.lru_cache(maxsize=256)
def _selects_data(text: str | None) -> bool:
    """Whether a trail's stored selectors may select data events, by their text: asked for every
    data event, while a trail's selectors change rarely, so each text is parsed once. Unreadable
    selectors count as selecting (record rather than lose)."""
    try:
        return selects_data_events(json.loads(text) if text else None)
    except ValueError:
        return True
