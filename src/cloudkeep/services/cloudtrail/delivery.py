"""Delivery of trails' log files to S3: one pass of the delivery worker (``delivery_worker.py``).

For each trail that is logging (or stopped since its last attempt), the recorded events after its
cursor (``audit_events.seq``) — of its account, or of every account of its organization for an
organization trail; of its home region, or of every region for a multi-region trail; recorded
since StartLogging — that its event selectors select, grouped by account and region into gzipped
``{"Records": [...]}`` files at AWS's keys:

    [prefix/]AWSLogs/[<org-id>/]<account>/CloudTrail/<region>/YYYY/MM/DD/
        <account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<16 random alphanumerics>.json.gz

https://docs.aws.amazon.com/awscloudtrail/latest/userguide/get-and-view-cloudtrail-log-files.html

- Files are written through ``put`` (S3 PutObject as the ``cloudtrail.amazonaws.com`` service
  principal, through S3's authorization: the bucket policy decides; SSE-KMS with the trail's
  key and the ``aws:cloudtrail:arn`` encryption context). A refused write becomes the trail's
  LatestDeliveryError (the S3 error code, e.g. AccessDenied) and its cursor stays, so the events
  are delivered once the bucket lets CloudTrail in again.
- The cursor moves in the same transaction as the delivery status and the digest queue entries
  of the files, after the files are written: a crash in between delivers those events again
  (at least once, never lost).
- Safe horizon: a seq is assigned at insert, and on PostgreSQL a lower seq may commit after a
  higher one. A pass delivers only up to the highest seq below which every value is present. On
  PostgreSQL a gap is waited for until every transaction that could hold its seq has ended
  (committed: the gap fills; rolled back: it never will, and is passed). ``GAP_SETTLE``
  seconds after the gap was first seen (by then the transaction that took the seq has an id),
  the worker takes a transaction id of its own: higher than that of every transaction that
  could hold the seq. Once the oldest transaction still running (the snapshot's xmin) is above
  it, none of them runs. (The snapshot's xmax will not do: it is one past the newest *ended*
  transaction, and a running one may be above it.) xmin is the whole cluster's, so a long
  transaction of another database delays the passing of a rolled-back seq too: a gap is waited
  for ``GAP_WAIT_MAX`` seconds at most, then passed with an error in the log (its events are in
  the event history, not in the trails' files). On SQLite writers commit one at a time in seq
  order and a rolled-back insert gives its seq back, so a gap is only ever one of the tests' own
  making or a deleted row: it is passed after ``GAP_WAIT`` seconds.

Must not: import the pipeline (``put`` is injected); hold SQL (``delivery_cursor``, ``trails_repo``).
"""

from __future__ import annotations

import datetime as _dt
import gzip
import hashlib
import json
import logging
import string
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from cloudkeep.audit.recorder import pruned_through
from cloudkeep.wire.errors import ServiceError

from . import delivery_cursor as C
from . import digest, digest_chains
from . import trails_org
from . import trails_repo as repo
from .trails_domain import GLOBAL_SOURCES, Trail
from .trails_selectors import matches

log = logging.getLogger("cloudkeep.cloudtrail.delivery")

UTC = _dt.timezone.utc
BATCH = 2000                 # events read per query
SCAN = 5000                  # seq values looked at per horizon step
GAP_WAIT = 10.0              # SQLite: seconds a missing seq is waited for
GAP_SETTLE = 1.0             # PostgreSQL: seconds before the transactions that may hold a gap are noted
GAP_WAIT_MAX = 120.0         # PostgreSQL: seconds a missing seq is waited for at most
_ALNUM = string.ascii_letters + string.digits
#: put(bucket, key, body, region=, source=, kms_key=, context=, metadata=): S3 PutObject as CloudTrail
Put = Callable[..., None]


@dataclass(frozen=True, slots=True)
class Timing:
    delivery: _dt.timedelta = _dt.timedelta(minutes=5)      # the bounded delay of a log file
    digest: _dt.timedelta = _dt.timedelta(hours=1)          # the digest period

    @property
    def retired_patience(self) -> _dt.timedelta:
        """How long after its stop a deleted trail keeps trying what its bucket refuses
        (``finish_retired``): 24 digest periods, a day unless the test hooks shorten the period."""
        return 24 * self.digest


@dataclass(frozen=True, slots=True)
class Written:
    account: str
    region: str
    log: C.DeliveredLog


def log_key(trail: Trail, root: str, account: str, region: str, now: _dt.datetime, suffix: str) -> str:
    prefix = f"{trail.s3_prefix}/" if trail.s3_prefix else ""
    return (f"{prefix}AWSLogs/{root}{account}/CloudTrail/{region}/{now:%Y/%m/%d}/"
            f"{account}_CloudTrail_{region}_{now:%Y%m%dT%H%MZ}_{suffix}.json.gz")


class Delivery:
    def __init__(self, store: Any, sealer: Any, clock: Any, ids: Any, put: Put, *, monotonic: Callable[[], float]
                 = time.monotonic) -> None:
        self._store, self._sealer, self._clock, self._ids, self._put = store, sealer, clock, ids, put
        self._monotonic = monotonic
        self._safe = 0
        #: missing seq → [when first seen (monotonic), a transaction id above its holder's, or None]
        self._gaps: dict[int, list[Any]] = {}

    # -- the safe horizon -----------------------------------------------------------------------

    def _horizon(self, uow: Any, base: int) -> int:
        """The highest seq up to which every event is committed (or its gap is abandoned). The
        holes the event history's pruning left (``audit.recorder.pruned_through``) are no gaps:
        what was deleted is not waited for."""
        floor = max(base, pruned_through(uow))
        if self._safe < floor:
            self._safe = floor
        now = self._monotonic()
        while True:
            seqs = C.seqs_after(uow, self._safe, SCAN)
            if not seqs:
                return self._safe
            for seq in seqs:
                if seq != self._safe + 1:
                    if not self._gap_passed(uow, self._safe + 1, now):
                        return self._safe
                    self._gaps.pop(self._safe + 1, None)
                elif self._gaps:
                    self._gaps.pop(seq, None)       # filled: a late commit
                self._safe = seq
            if len(seqs) < SCAN:
                return self._safe

    def _gap_passed(self, uow: Any, missing: int, now: float) -> bool:
        """Whether the seq ``missing`` (with higher ones present) is no longer waited for."""
        gap = self._gaps.setdefault(missing, [now, None])
        waited = now - gap[0]
        if self._store.dialect != "postgresql":
            return waited >= GAP_WAIT
        if waited < GAP_SETTLE:
            return False
        if gap[1] is None:
            gap[1] = C.newest_transaction_id(uow)   # above every transaction that may hold the seq
            return False                            # (this pass's own transaction runs: not yet)
        if C.oldest_running_transaction(uow) > gap[1]:
            return True                             # none of them runs: the seq was rolled back
        if waited >= GAP_WAIT_MAX:
            log.error("cloudtrail delivery: seq %d has been missing for %.0f s while a transaction that may "
                      "hold it still runs; passed: if it commits, its event will not reach the trails' log files",
                      missing, waited)
            return True
        return False

    # -- one pass -------------------------------------------------------------------------------

    def run(self, timing: Timing, *, force: bool = False, close_digests: bool = False) -> dict[str, int]:
        """Delivers what is due (everything with ``force``), then the digests whose period has
        ended (all of them now with ``close_digests``). Counts of files written."""
        now = self._clock.now()
        with self._store.unit_of_work() as uow:
            trails = repo.delivering_trails(uow)
            validating = digest_chains.trails_with_digests(uow)     # stopped ones end their chain
            safe = self._horizon(uow, min((t.cursor_seq for t in trails), default=C.newest_seq(uow)))
        files = digests = 0
        for trail in trails:
            last = trail.latest_delivery_attempt_time
            if force or last is None or now - last >= timing.delivery:
                files += self._deliver(trail, safe, now)
        for trail in validating:
            digests += digest.close_due(self._store, self._sealer, self._put, trail, self._clock.now(),
                                        period=timing.digest, force=close_digests)
        if any(t.retired is not None for t in (*trails, *validating)):
            finish_retired(self._store, now=self._clock.now(), patience=timing.retired_patience)
        return {"files": files, "digests": digests}

    def _settled_stop(self, trail: Trail) -> Trail:
        """The stopped trail with its ``stop_seq`` covering StopLogging's own event: StopLogging
        sets it to the newest seq it sees plus one, which on PostgreSQL can be below the seq its
        event then gets (other transactions took seq values meanwhile); the event is found by name
        and time once committed, and the stop moved up to it, so the final files include it."""
        if trail.stop_logging_time is None or trail.stop_seq is None:
            return trail
        with self._store.unit_of_work() as uow:
            found = C.stop_event_seq(uow, account_id=trail.account_id, region=trail.home_region,
                                     stopped=trail.stop_logging_time)
        if found is None or found <= trail.stop_seq:
            return trail
        with self._store.unit_of_work(write=True) as uow:
            repo.raise_stop_seq(uow, trail, found)
        return trail.evolve(stop_seq=found)

    def _selected(self, trail: Trail, rows: list[tuple[int, str | None]]) -> dict[tuple[str, str], list[dict]]:
        groups: dict[tuple[str, str], list[dict]] = {}
        for _seq, text in rows:
            try:
                if text is None:
                    raise ValueError("record not readable")
                event = json.loads(text)
            except Exception:  # noqa: BLE001 - a record that cannot be read is skipped, never delivered broken
                log.error("trail %s: an unreadable audit record was skipped", trail.arn)
                continue
            if not trail.include_global and event.get("eventSource") in GLOBAL_SOURCES:
                continue
            if not matches(trail.selectors, event):
                continue
            key = (str(event.get("recipientAccountId")), str(event.get("awsRegion")))
            groups.setdefault(key, []).append(event)
        return groups

    def _deliver(self, trail: Trail, safe: int, now: _dt.datetime) -> int:
        cursor, written_total = trail.cursor_seq, 0
        if not trail.is_logging and trail.stop_seq is not None:
            trail = self._settled_stop(trail)
            safe = min(safe, trail.stop_seq)          # a stopped trail delivers what came before the stop
        while True:
            with self._store.unit_of_work() as uow:
                accounts, roots = trails_org.sources(uow, trail)
                rows, more = C.events(uow, after=cursor, upto=safe, accounts=accounts,
                                      region=None if trail.multi_region else trail.home_region,
                                      since=_second(trail.start_logging_time),
                                      until=None if trail.is_logging or trail.stop_seq is not None
                                      else _second(trail.stop_logging_time, up=True),
                                      limit=BATCH)
            written: list[Written] = []
            error = None
            for (account, region), events in sorted(self._selected(trail, rows).items()):
                try:
                    written.append(self._write(trail, roots.get(account, ""), account, region, events, now))
                except ServiceError as failure:
                    error = failure.code
                    log.info("trail %s: delivery refused: %s %s", trail.arn, failure.code, failure.message)
                    break
            new_cursor = rows[-1][0] if more else max(safe, cursor)
            with self._store.unit_of_work(write=True) as uow:
                current = repo.record_delivery(uow, trail, cursor=new_cursor, when=now, error=error,
                                               delivered=bool(written) or (error is None and written_total > 0))
                if not current:
                    # deleted (or retired, or replaced by a new trail of its name) since this pass
                    # read it: its state is the new row's; the retired one delivers again from its cursor
                    return written_total + len(written)
                if trail.log_validation:
                    # a chain not open yet (another region or account) starts with its first file
                    start = now.replace(microsecond=0)
                    for item in written:
                        C.add_log(uow, (trail.row_arn, item.region, item.account), item.log, start)
            written_total += len(written)
            if error is not None or not more:
                return written_total
            cursor = new_cursor

    def _write(self, trail: Trail, root: str, account: str, region: str, events: list[dict],
               now: _dt.datetime) -> Written:
        suffix = "".join(_ALNUM[b % len(_ALNUM)] for b in self._ids.token_bytes(16))
        key = log_key(trail, root, account, region, now.astimezone(UTC), suffix)
        body = json.dumps({"Records": events}, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        self._put(trail.s3_bucket, key, gzip.compress(body, mtime=0), region=trail.home_region,
                  source=source_of(trail), kms_key=trail.kms_key_id,
                  context={"aws:cloudtrail:arn": trail.arn} if trail.kms_key_id else None)
        times = [_time(e.get("eventTime")) or now for e in events]
        return Written(account, region, C.DeliveredLog(trail.s3_bucket, key, hashlib.sha256(body).hexdigest(),
                                                       min(times), max(times)))


def finish_retired(store: Any, *, now: _dt.datetime, patience: _dt.timedelta) -> int:
    """Delete the retired (deleted) trails with nothing left to do (what came before their stop
    is delivered and no digest chain of theirs is open) and those that give up what is left
    (``_gives_up``: ``now`` and ``patience``, ``Timing.retired_patience``, are required so that no
    caller skips the rule and leaves a refused trail trying for ever). How many."""
    done = 0
    with store.unit_of_work(write=True) as uow:
        for trail in repo.retired_trails(uow):
            pending = trail.stop_seq is not None and trail.cursor_seq < trail.stop_seq
            if (pending or C.chains(uow, trail.row_arn)) and not _gives_up(trail, now, patience):
                continue
            C.forget(uow, trail.row_arn)
            repo.remove(uow, trail)
            done += 1
    return done


def _gives_up(trail: Trail, now: _dt.datetime, patience: _dt.timedelta) -> bool:
    """Whether a retired trail drops its last log files and final digests. A deleted trail has no
    status to show a refusal in, so trying on would go on unseen for ever; AWS documents no rule
    for this, and the events stay in the event history. Its bucket is gone (``GONE``): at once,
    as a bucket made later under the name (bucket names are global) may be anyone's. Any other
    refusal of its last attempt (log file or digest): once ``patience`` has passed since its stop."""
    errors = (trail.latest_delivery_error, trail.latest_digest_error)
    if digest_chains.GONE in errors:
        reason = "its bucket is gone"
    elif any(errors) and (trail.stop_logging_time is None or now - trail.stop_logging_time >= patience):
        reason = f"its bucket still refuses them ({' '.join(e for e in errors if e)}) since its stop"
    else:
        return False
    log.warning("deleted trail %s: %s; its last files are dropped", trail.arn, reason)
    return True


def source_of(trail: Trail) -> Mapping[str, str]:
    """aws:SourceArn and aws:SourceAccount of CloudTrail's writes for this trail."""
    return {"aws:SourceArn": trail.arn, "aws:SourceAccount": trail.account_id}


def _second(value: _dt.datetime | None, *, up: bool = False) -> _dt.datetime | None:
    """Event times are recorded to the second: a bound in the same second includes its events."""
    if value is None:
        return None
    floor = value.replace(microsecond=0)
    return floor + _dt.timedelta(seconds=1) if up and floor != value else floor


def _time(text: Any) -> _dt.datetime | None:
    try:
        value = _dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)
