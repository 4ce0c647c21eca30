"""The SQL of delivery state: the newest recorded event (``audit_events.seq``), the events after
a trail's cursor, the digest chains and the log files each next digest lists, and the lease that
lets exactly one worker process deliver.

Must not: hold rules (``delivery.py``, ``digest.py``) or build files.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from sqlalchemy import and_, delete, func, insert, select, text, update

from cloudkeep.audit.recorder import row_texts
from cloudkeep.storage.schema import (audit_events, cloudtrail_digest_chains, cloudtrail_digest_logs,
                                      cloudtrail_leases)
from cloudkeep.wire.regions import default_regions

_E = audit_events.c
_C = cloudtrail_digest_chains.c
_L = cloudtrail_digest_logs.c


def newest_seq(uow: Any) -> int:
    return int(uow.execute(select(func.max(_E.seq))).scalar() or 0)


#: the calls that stop a trail, whose own event is the last its files hold
STOPPING_EVENTS = ("StopLogging", "DeleteTrail")


def stop_event_seq(uow: Any, *, account_id: str, region: str, stopped: _dt.datetime) -> int | None:
    """The seq of the newest StopLogging (or DeleteTrail) event of this account and region
    recorded by the time a trail was stopped (to the second after): the stopping call's own
    event, recorded in its transaction. On PostgreSQL it may have a larger seq than
    ``newest_seq`` gave the call, when other transactions took seq values meanwhile."""
    found = uow.execute(select(func.max(_E.seq)).where(and_(
        _E.account_id == account_id, _E.aws_region == region, _E.event_name.in_(STOPPING_EVENTS),
        _E.event_source == "cloudtrail.amazonaws.com",
        _E.event_time >= stopped - _dt.timedelta(seconds=5),
        _E.event_time <= stopped + _dt.timedelta(seconds=1)))).scalar()
    return int(found) if found is not None else None


def seqs_after(uow: Any, after: int, limit: int) -> list[int]:
    """The seq values stored after ``after``, in order (the worker looks for gaps in them)."""
    return [int(s) for s in uow.execute(select(_E.seq).where(_E.seq > after).order_by(_E.seq).limit(limit)).scalars()]


def oldest_running_transaction(uow: Any) -> int:
    """PostgreSQL only: the id of the oldest transaction still running anywhere in the cluster
    (the snapshot's xmin: every transaction with a lower id has ended), as a 64-bit id.
    https://www.postgresql.org/docs/current/functions-info.html#FUNCTIONS-PG-SNAPSHOT"""
    return int(uow.execute(text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")).scalar_one())


def newest_transaction_id(uow: Any) -> int:
    """PostgreSQL only: an id above that of every transaction that has one so far: this transaction's
    own, which ``pg_current_xact_id`` assigns (ids are handed out in increasing order)."""
    return int(uow.execute(text("SELECT pg_current_xact_id()::text::bigint")).scalar_one())


def events(uow: Any, *, after: int, upto: int, accounts: Sequence[str], region: str | None,
           since: _dt.datetime | None, until: _dt.datetime | None,
           limit: int) -> tuple[list[tuple[int, str | None]], bool]:
    """(seq, the record's JSON text) of the events of ``accounts`` (in ``region``, or every
    region) with after < seq <= upto, recorded within [since, until], oldest first, from at most
    ``limit`` rows (a row may stand for several records, which share its seq); and whether the
    rows reached ``limit`` (more may follow the last seq). The text is None for a record that
    cannot be read (its chunk gone, or bytes this code cannot decode)."""
    query = select(_E.seq, _E.record, _E.chunk_id, _E.chunk_index, _E.chunk_count).where(
        _E.seq > after, _E.seq <= upto, _E.account_id.in_(list(accounts)))
    if region is not None:
        query = query.where(_E.aws_region == region)
    if since is not None:
        query = query.where(_E.event_time >= since)
    if until is not None:
        query = query.where(_E.event_time <= until)
    rows = uow.execute(query.order_by(_E.seq).limit(limit)).all()
    try:
        texts = row_texts(uow.execute, rows)
    except Exception:  # noqa: BLE001 - one unreadable record must not stop the others: one by one
        texts = []
        for row in rows:
            try:
                texts.extend(row_texts(uow.execute, [row]))
            except Exception:  # noqa: BLE001
                texts.append([None] * (row.chunk_count or 1))
    # a row that stands for several records (audit.recorder.insert_chunks) gives them all, in order
    return [(int(row.seq), text) for row, group in zip(rows, texts) for text in group], len(rows) >= limit


# --- digest chains and the logs of the next digest ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class Chain:
    trail_arn: str
    region: str
    log_account: str
    period_start: _dt.datetime
    last_bucket: str | None
    last_key: str | None
    last_signature: str | None
    last_hash: str | None


@dataclass(frozen=True, slots=True)
class DeliveredLog:
    s3_bucket: str
    s3_key: str
    hash_value: str
    oldest_event_time: _dt.datetime
    newest_event_time: _dt.datetime


def chains(uow: Any, trail_arn: str) -> list[Chain]:
    rows = uow.execute(select(cloudtrail_digest_chains).where(_C.trail_arn == trail_arn)
                       .order_by(_C.region, _C.log_account)).all()
    return [Chain(r.trail_arn, r.region, r.log_account, r.period_start, r.last_bucket, r.last_key,
                  r.last_signature, r.last_hash) for r in rows]


def ensure_chain(uow: Any, trail_arn: str, region: str, log_account: str, start: _dt.datetime) -> None:
    found = uow.execute(select(_C.trail_arn).where(_C.trail_arn == trail_arn, _C.region == region,
                                                   _C.log_account == log_account)).first()
    if found is None:
        uow.execute(insert(cloudtrail_digest_chains).values(trail_arn=trail_arn, region=region,
                                                            log_account=log_account, period_start=start))


def open_chains(uow: Any, trail: Any, now: _dt.datetime, accounts: Iterable[str] = ()) -> None:
    """A trail that validates starts its chains when it starts logging (or starts validating, or
    becomes multi-Region or an organization trail): its home Region's and, for a multi-Region
    trail, every Region's that accounts have enabled by default, so a Region with no activity
    still gets its hourly digest with an empty ``logFiles``; for each of ``accounts`` (an
    organization trail's: the trail is created in every account of the organization) as for the
    trail's own. Opt-in Regions, and accounts that join the organization later, start their
    chains with their first log file (``add_log``)."""
    start = now.replace(microsecond=0)
    regions = {trail.home_region}
    if trail.multi_region:
        regions |= default_regions(trail.partition)
    for account in sorted({trail.account_id, *accounts}):
        for region in sorted(regions):
            ensure_chain(uow, trail.arn, region, account, start)


def add_log(uow: Any, chain: tuple[str, str, str], log: DeliveredLog, start: _dt.datetime) -> None:
    trail_arn, region, log_account = chain
    ensure_chain(uow, trail_arn, region, log_account, start)
    uow.execute(insert(cloudtrail_digest_logs).values(
        trail_arn=trail_arn, region=region, log_account=log_account, s3_key=log.s3_key, s3_bucket=log.s3_bucket,
        hash_value=log.hash_value, oldest_event_time=log.oldest_event_time, newest_event_time=log.newest_event_time))


def logs_of(uow: Any, chain: Chain) -> list[DeliveredLog]:
    rows = uow.execute(select(cloudtrail_digest_logs).where(
        _L.trail_arn == chain.trail_arn, _L.region == chain.region, _L.log_account == chain.log_account)
        .order_by(_L.oldest_event_time, _L.s3_key)).all()
    return [DeliveredLog(r.s3_bucket, r.s3_key, r.hash_value, r.oldest_event_time, r.newest_event_time) for r in rows]


def close_period(uow: Any, chain: Chain, *, end: _dt.datetime, bucket: str, key: str, signature: str,
                 digest_hash: str, listed: Iterable[str]) -> None:
    """After a digest is delivered: the chain moves on, the logs it listed leave the queue."""
    uow.execute(update(cloudtrail_digest_chains).where(
        _C.trail_arn == chain.trail_arn, _C.region == chain.region, _C.log_account == chain.log_account).values(
        period_start=end, last_bucket=bucket, last_key=key, last_signature=signature, last_hash=digest_hash))
    keys = list(listed)
    if keys:
        uow.execute(delete(cloudtrail_digest_logs).where(
            _L.trail_arn == chain.trail_arn, _L.region == chain.region, _L.log_account == chain.log_account,
            _L.s3_key.in_(keys)))


def move_chains(uow: Any, trail_arn: str, to_arn: str) -> None:
    """A trail's chains and queued digest entries, now kept under ``to_arn`` (a retired trail's
    ``row_arn``)."""
    for table in (cloudtrail_digest_chains, cloudtrail_digest_logs):
        uow.execute(update(table).where(table.c.trail_arn == trail_arn).values(trail_arn=to_arn))


def forget(uow: Any, trail_arn: str) -> None:
    """A deleted trail's chains and queued digest entries (a trail with none open, or whose
    retirement is over)."""
    uow.execute(delete(cloudtrail_digest_logs).where(_L.trail_arn == trail_arn))
    uow.execute(delete(cloudtrail_digest_chains).where(_C.trail_arn == trail_arn))


# --- the lease ----------------------------------------------------------------------------------------


def take_lease(uow: Any, name: str, holder: str, now: _dt.datetime, ttl: _dt.timedelta) -> bool:
    """Takes or renews the lease ``name`` for ``holder`` until now + ttl; False if another holds it."""
    lease = cloudtrail_leases.c
    updated = uow.execute(update(cloudtrail_leases).where(
        lease.name == name, (lease.holder == holder) | (lease.expires_at < now)).values(
        holder=holder, expires_at=now + ttl))
    if updated.rowcount == 1:
        return True
    if uow.execute(select(lease.name).where(lease.name == name)).first() is not None:
        return False
    uow.execute(insert(cloudtrail_leases).values(name=name, holder=holder, expires_at=now + ttl))
    return True


def lease_holder(uow: Any, name: str) -> str | None:
    lease = cloudtrail_leases.c
    return uow.execute(select(lease.holder).where(lease.name == name)).scalar()


def take_over_lease(uow: Any, name: str, old: str, holder: str, now: _dt.datetime, ttl: _dt.timedelta) -> bool:
    """Takes the lease from ``old`` (a holder known to be gone), if it still holds it."""
    lease = cloudtrail_leases.c
    updated = uow.execute(update(cloudtrail_leases).where(lease.name == name, lease.holder == old).values(
        holder=holder, expires_at=now + ttl))
    return updated.rowcount == 1


def release_lease(uow: Any, name: str, holder: str) -> None:
    lease = cloudtrail_leases.c
    uow.execute(delete(cloudtrail_leases).where(and_(lease.name == name, lease.holder == holder)))
