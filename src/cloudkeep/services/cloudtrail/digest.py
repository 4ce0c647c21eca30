"""Digest files of log file integrity validation: at the end of each period (an hour), for each
chain of a validating trail (a source region and an account's logs), a digest listing the SHA-256
of every log file delivered in the period, signed SHA256withRSA with the region's key, chained
to the previous digest by its signature and hash.
https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-validation-digest-file-structure.html

The signature covers AWS's signing string, exactly as the AWS CLI's validate-logs rebuilds it::

    <digestEndTime>\\n<digestS3Bucket>/<digestS3Object>\\n<hex SHA-256 of the digest JSON>\\n<previous signature or "null">

and travels in the object's ``signature`` and ``signature-algorithm`` metadata. Digest files
are written with SSE-S3 even when the trail's log files use a KMS key, as on AWS.

Must not: import the pipeline (``put`` is injected); hold SQL (``delivery_cursor``).
"""

from __future__ import annotations

import datetime as _dt
import gzip
import hashlib
import json
import logging
from typing import Any, Callable

from cloudkeep.wire.errors import ServiceError

from . import delivery_cursor as C
from . import digest_keys as K
from . import trails_org
from . import trails_repo as repo
from .trails_domain import Trail

log = logging.getLogger("cloudkeep.cloudtrail.digest")
UTC = _dt.timezone.utc


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
    """Writes the digest of every chain of the trail whose period has ended; how many."""
    end = now.astimezone(UTC).replace(microsecond=0)
    written = 0
    with store.unit_of_work() as uow:
        chains = C.chains(uow, trail.arn)
        org_id = trails_org.organization_id(uow, trail) if trail.organization else None
    root = f"{org_id}/" if org_id is not None else ""
    for chain in chains:
        if end <= chain.period_start or (not force and end - chain.period_start < period):
            continue
        if _close(store, sealer, put, trail, chain, end, root):
            written += 1
    return written


def _close(store: Any, sealer: Any, put: Callable[..., None], trail: Trail, chain: C.Chain, end: _dt.datetime,
           root: str) -> bool:
    with store.unit_of_work(write=True) as uow:
        logs = C.logs_of(uow, chain)
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
        return False
    with store.unit_of_work(write=True) as uow:
        C.close_period(uow, chain, end=end, bucket=bucket, key=key, signature=signature,
                       digest_hash=hashlib.sha256(body).hexdigest(), listed=[l.s3_key for l in logs])
        repo.record_digest(uow, trail, when=end, error=None)
    return True
