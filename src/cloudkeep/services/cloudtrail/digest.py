"""Digest files of log file integrity validation: at the end of each period (an hour), for each
chain of a validating trail (a source region and an account's logs), a digest listing the SHA-256
of every log file delivered in the period, signed SHA256withRSA with the region's key valid at
the period's end (``digest_keys``), chained to the previous digest by its signature and hash.
https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-validation-digest-file-structure.html

As that page says:
- Periods follow each other from the chain's start, one hour each: a digest is written for
  every period, also when no log file was delivered in it (``logFiles`` empty, the event times
  null), so the chain goes on. Periods missed while no worker ran are written in order (a log
  file goes in the first of them whose end is not before the minute its key names).
- A chain starts with a starting digest (the ``previousDigest*`` fields null): at StartLogging
  or when validation is turned on, in the home Region and, for a multi-Region trail, in every
  Region enabled by default (also when the trail becomes multi-Region), for each account of an
  organization trail's organization (also when the trail becomes one); in an opt-in Region, or
  for an account that joins the organization later, at its first log file.
- StopLogging ends the chain with a final digest, from the last period's end to the stop,
  listing the files delivered up to it (written once what came before the stop is delivered);
  turning validation off ends it after the period under way, as does making the trail
  single-Region for its other Regions' chains, or an ordinary trail (or an account's leaving
  the organization) for the other accounts' chains. A chain started again begins with a
  starting digest. A trail stopped and started again before its final digest was written gets
  it then (ending at the stop), and a new chain from the restart. A deleted trail whose bucket
  is gone gives up its final digests, and one whose bucket refuses them otherwise a day after
  its stop (``delivery.finish_retired``); a pass stops at its first digest that finds no bucket.

The signature covers AWS's signing string, exactly as the AWS CLI's validate-logs rebuilds it::

    <digestEndTime>\\n<digestS3Bucket>/<digestS3Object>\\n<hex SHA-256 of the digest JSON>\\n<previous signature or "null">

and travels in the object's ``signature`` and ``signature-algorithm`` metadata. Digest files
are written with SSE-S3 even when the trail's log files use a KMS key, as on AWS.

Must not: import the pipeline (``put`` is injected); hold SQL (``delivery_cursor``, ``digest_chains``).
"""

from __future__ import annotations

import datetime as _dt
import gzip
import hashlib
import json
import logging
import re
from dataclasses import replace
from typing import Any, Callable

from cloudkeep.wire.errors import ServiceError

from . import delivery_cursor as C
from . import digest_chains as Chains
from . import digest_keys as K
from . import trails_org
from . import trails_repo as repo
from .trails_domain import Trail

log = logging.getLogger("cloudkeep.cloudtrail.digest")
UTC = _dt.timezone.utc
#: digests of one chain written in one pass at most (a pass stays short: the worker's lease is
#: renewed between passes); periods missed over a long stop are caught up over several passes
PASS_LIMIT = 100
_LOG_TIME = re.compile(r"_(\d{8}T\d{4}Z)_[A-Za-z0-9]+\.json\.gz$")


def text(value: _dt.datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def digest_key(trail: Trail, root: str, account: str, region: str, end: _dt.datetime) -> str:
    prefix = f"{trail.s3_prefix}/" if trail.s3_prefix else ""
    end = end.astimezone(UTC)
    return (f"{prefix}AWSLogs/{root}{account}/CloudTrail-Digest/{region}/{end:%Y/%m/%d}/"
            f"{account}_CloudTrail-Digest_{region}_{trail.name}_{trail.home_region}_{end:%Y%m%dT%H%M%SZ}.json.gz")


def signing_string(end: str, bucket: str, key: str, body: bytes, previous_signature: str | None) -> bytes:
    return f"{end}\n{bucket}/{key}\n{hashlib.sha256(body).hexdigest()}\n{previous_signature or 'null'}".encode()


def build(trail: Trail, chain: C.Chain, logs: list[C.DeliveredLog], *, bucket: str, key: str,
          end: _dt.datetime, fingerprint: str) -> dict[str, Any]:
    """The digest document, in AWS's field order."""
    return {
        "awsAccountId": chain.log_account,
        "digestStartTime": text(chain.period_start),
        "digestEndTime": text(end),
        "digestS3Bucket": bucket,
        "digestS3Object": key,
        "digestPublicKeyFingerprint": fingerprint,
        "digestSignatureAlgorithm": K.ALGORITHM,
        "newestEventTime": text(max(l.newest_event_time for l in logs)) if logs else None,
        "oldestEventTime": text(min(l.oldest_event_time for l in logs)) if logs else None,
        "previousDigestS3Bucket": chain.last_bucket,
        "previousDigestS3Object": chain.last_key,
        "previousDigestHashValue": chain.last_hash,
        "previousDigestHashAlgorithm": "SHA-256" if chain.last_hash else None,
        "previousDigestSignature": chain.last_signature,
        "logFiles": [{"s3Bucket": l.s3_bucket, "s3Object": l.s3_key, "hashValue": l.hash_value,
                      "hashAlgorithm": "SHA-256", "newestEventTime": text(l.newest_event_time),
                      "oldestEventTime": text(l.oldest_event_time)} for l in logs],
    }


def close_due(store: Any, sealer: Any, put: Callable[..., None], trail: Trail, now: _dt.datetime, *,
              period: _dt.timedelta, force: bool = False) -> int:
    """Writes the digest of every period of the trail's chains that has ended (and, with
    ``force``, ends the period under way now); how many were written."""
    now = now.astimezone(UTC).replace(microsecond=0)
    step = max(_dt.timedelta(seconds=round(period.total_seconds())), _dt.timedelta(seconds=1))
    with store.unit_of_work() as uow:
        fresh = repo.by_arn(uow, trail.row_arn)     # the worker's list was read before this pass delivered
        if fresh is None:
            return 0
        trail = fresh
        chains = C.chains(uow, trail.row_arn)
        roots = trails_org.sources(uow, trail)[1]
        # an account no longer covered (the trail made an ordinary one, the account gone from the
        # organization) ends its chain where it was: under the organization's id
        org_id = (trails_org.organization_id(uow, trail)
                  if any(c.log_account not in roots for c in chains) else None)
    gone_root = f"{org_id}/" if org_id is not None else ""
    written = 0
    try:
        for chain in chains:
            covered = trail.visible_in(chain.region) and chain.log_account in roots
            root = roots.get(chain.log_account, gone_root)
            written += _advance(store, sealer, put, trail, chain, now, step, force, root, covered)
    except _BucketGone:
        pass                                        # finish_retired drops it, its other chains too
    return written


class _BucketGone(Exception):
    """A deleted trail's digest found no bucket: the pass does not sign and send the others."""


def _advance(store: Any, sealer: Any, put: Callable[..., None], trail: Trail, chain: C.Chain, now: _dt.datetime,
             step: _dt.timedelta, force: bool, root: str, covered: bool) -> int:
    """The digests of one chain up to now, by the trail's state; how many were written.
    ``covered``: the trail still logs the chain's Region and account."""
    started, stopped = _second(trail.start_logging_time), trail.stop_logging_time
    # a chain of before the last StartLogging: its period under way began before the stop (a
    # chain of this session begins at or after the start, itself after the stop)
    if trail.is_logging and started is not None and stopped is not None and (
            chain.period_start < started or (chain.last_key is not None and chain.period_start <= stopped)):
        # stopped and started again before the final digest of the chain before: write it now
        stop = _second(trail.stop_logging_time) or started
        stop = min(max(stop, chain.period_start), started)
        count, chain = _periods(store, sealer, put, trail, chain, stop, step, root, final=True)
        if chain is None:
            return count
        with store.unit_of_work(write=True) as uow:
            if not trail.log_validation:
                Chains.end(uow, chain)
                return count
            chain = Chains.restart(uow, chain, started)
        return count + _periods(store, sealer, put, trail, chain, now, step, root, final=force)[0]
    if not trail.is_logging:
        if trail.stop_seq is not None and trail.cursor_seq < trail.stop_seq:
            return 0                                # what came before the stop is still being delivered
        # the final digest lists what was delivered up to the stop and after it (the events before
        # it), and ends at the later of the two; it waits for a second after its start if need be
        stop = _second(trail.stop_logging_time) or now
        delivered = _second(trail.latest_delivery_time)
        if delivered is not None and delivered > stop:
            stop = delivered
        if stop <= chain.period_start:
            with store.unit_of_work() as uow:
                if C.logs_of(uow, chain):
                    stop = chain.period_start + _dt.timedelta(seconds=1)
        if stop > now:
            return 0
        return _periods(store, sealer, put, trail, chain, stop, step, root, final=True, end_chain=True)[0]
    if not trail.log_validation or not covered:
        # turned off, or a Region or account the trail no longer covers (made single-Region, no
        # longer an organization trail, the account gone from the organization): the period under
        # way is the chain's last
        last = min(chain.period_start + step, now) if force else chain.period_start + step
        if last > now:
            return 0
        return _periods(store, sealer, put, trail, chain, last, step, root, final=True, end_chain=True)[0]
    return _periods(store, sealer, put, trail, chain, now, step, root, final=force)[0]


def _periods(store: Any, sealer: Any, put: Callable[..., None], trail: Trail, chain: C.Chain, upto: _dt.datetime,
             step: _dt.timedelta, root: str, *, final: bool, end_chain: bool = False) -> tuple[int, C.Chain | None]:
    """Writes the digests of the chain's whole periods ending by ``upto`` and, if ``final``, one
    ending at ``upto`` for what is left; (how many, the chain after them or None when not all are
    written: a write failed, or the pass's ``PASS_LIMIT``, the rest being the next pass's).
    With ``end_chain``, the chain ends after its last digest."""
    if not final and chain.period_start + step > upto:
        return 0, chain                             # no period has ended (the usual pass)
    with store.unit_of_work() as uow:
        pending = C.logs_of(uow, chain)
    written = 0
    while True:
        if written >= PASS_LIMIT:
            return written, None
        end = chain.period_start + step
        last = end >= upto
        if last:
            if not final and end > upto:
                return written, chain
            end = upto
        if end <= chain.period_start:               # nothing left to cover
            break
        listed = pending if last else [l for l in pending if _delivered_by(l, end)]
        pending = [l for l in pending if l not in listed]
        closed = _close(store, sealer, put, trail, chain, end, root, listed)
        if closed is None:
            return written, None
        written += 1
        chain = closed
        if last:
            break
    if end_chain:
        with store.unit_of_work(write=True) as uow:
            Chains.end(uow, chain)
    return written, chain


def _delivered_by(log: C.DeliveredLog, end: _dt.datetime) -> bool:
    """Whether the log file was delivered by ``end``, by the minute its key names (AWS's key
    carries the delivery time); a key without one counts as delivered."""
    found = _LOG_TIME.search(log.s3_key)
    if found is None:
        return True
    return _dt.datetime.strptime(found.group(1), "%Y%m%dT%H%MZ").replace(tzinfo=UTC) <= end


def _second(value: _dt.datetime | None) -> _dt.datetime | None:
    return None if value is None else value.astimezone(UTC).replace(microsecond=0)


def _close(store: Any, sealer: Any, put: Callable[..., None], trail: Trail, chain: C.Chain, end: _dt.datetime,
           root: str, logs: list[C.DeliveredLog]) -> C.Chain | None:
    """Writes the digest of the chain's period ending at ``end``; the chain after it (None when
    the bucket refused it: the period stays open, its files queued)."""
    with store.unit_of_work(write=True) as uow:
        fingerprint, private_key = K.signing_key(uow, sealer, chain.region, end)
    bucket = trail.s3_bucket
    key = digest_key(trail, root, chain.log_account, chain.region, end)
    body = json.dumps(build(trail, chain, logs, bucket=bucket, key=key, end=end, fingerprint=fingerprint),
                      separators=(",", ":")).encode("utf-8")
    signature = K.sign(private_key, signing_string(text(end), bucket, key, body, chain.last_signature))
    try:
        put(bucket, key, gzip.compress(body, mtime=0), region=trail.home_region,
            source={"aws:SourceArn": trail.arn, "aws:SourceAccount": trail.account_id}, kms_key=None,
            context=None, metadata={"signature": signature, "signature-algorithm": K.ALGORITHM})
    except ServiceError as failure:
        log.info("trail %s: digest refused: %s", trail.arn, failure.code)
        with store.unit_of_work(write=True) as uow:
            repo.record_digest(uow, trail, when=end, error=failure.code)
        if failure.code == Chains.GONE and trail.retired is not None:
            raise _BucketGone
        return None
    digest_hash = hashlib.sha256(body).hexdigest()
    with store.unit_of_work(write=True) as uow:
        C.close_period(uow, chain, end=end, bucket=bucket, key=key, signature=signature,
                       digest_hash=digest_hash, listed=[l.s3_key for l in logs])
        repo.record_digest(uow, trail, when=end, error=None)
    return replace(chain, period_start=end, last_bucket=bucket, last_key=key, last_signature=signature,
                   last_hash=digest_hash)
