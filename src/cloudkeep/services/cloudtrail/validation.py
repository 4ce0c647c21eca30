"""Log file integrity validation, as ``aws cloudtrail validate-logs`` does it: every digest file of
a trail in a time range is checked against its SHA256withRSA signature (the public key by the
fingerprint the digest names), its link to the previous digest (object, signature and SHA-256
of the previous digest's content), and every log file it lists against its SHA-256.
https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-custom-validation.html

Pure: the bucket is read through the functions handed in (``cloudkeep trail validate`` gives
S3 API calls); nothing here does I/O itself.

Must not: trust anything read from the bucket before it is verified.
"""

from __future__ import annotations

import datetime as _dt
import gzip
import hashlib
import json
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .digest import signing_string

UTC = _dt.timezone.utc
#: (bytes, user metadata) of an object, or None when it does not exist
Getter = Callable[[str, str], "tuple[bytes, Mapping[str, str]] | None"]


@dataclass
class Report:
    valid_digests: int = 0
    invalid_digests: int = 0
    valid_logs: int = 0
    invalid_logs: int = 0
    lines: list[str] = field(default_factory=list)      # one per file, in AWS CLI's wording
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.invalid_digests and not self.invalid_logs

    def bad(self, line: str) -> None:
        self.problems.append(line)
        self.lines.append(line)


def digest_prefix(*, prefix: str | None, org_id: str | None, account: str, region: str) -> str:
    root = f"{prefix}/" if prefix else ""
    return f"{root}AWSLogs/{org_id + '/' if org_id else ''}{account}/CloudTrail-Digest/{region}/"


def _end_of(key: str) -> str:
    return key[-24:-8]              # YYYYMMDDTHHMMSSZ before ".json.gz"


def _verify(body: bytes, metadata: Mapping[str, str], bucket: str, key: str,
            public_keys: Mapping[str, bytes]) -> tuple[dict[str, Any], bytes, str]:
    """(digest, its JSON bytes, its signature) or ValueError with AWS CLI's wording."""
    where = f"Digest file\ts3://{bucket}/{key}\tINVALID:"
    try:
        raw = zlib.decompress(body, zlib.MAX_WBITS | 16)
        digest = json.loads(raw.decode())
    except (ValueError, zlib.error):
        raise ValueError(f"{where} invalid format") from None
    signature, algorithm = metadata.get("signature"), metadata.get("signature-algorithm")
    if not signature or algorithm != "SHA256withRSA":
        raise ValueError(f"{where} signature verification failed")
    if digest.get("digestS3Bucket") != bucket or digest.get("digestS3Object") != key:
        raise ValueError(f"{where} has been moved from its original location")
    der = public_keys.get(str(digest.get("digestPublicKeyFingerprint")))
    if der is None:
        raise ValueError(f"{where} public key not found for fingerprint {digest.get('digestPublicKeyFingerprint')}")
    key_obj = serialization.load_der_public_key(der)
    assert isinstance(key_obj, rsa.RSAPublicKey)
    to_sign = signing_string(str(digest.get("digestEndTime")), bucket, key, raw, digest.get("previousDigestSignature"))
    try:
        key_obj.verify(bytes.fromhex(signature), to_sign, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        raise ValueError(f"{where} signature verification failed") from None
    return digest, raw, signature


def validate(*, list_keys: Callable[[str, str], list[str]], get: Getter, public_keys: Mapping[str, bytes],
             bucket: str, prefix: str | None, org_id: str | None, account: str, region: str, trail_name: str,
             home_region: str, start: _dt.datetime, end: _dt.datetime) -> Report:
    report = Report()
    first, last = start.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ"), \
        (end + _dt.timedelta(hours=1)).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    ending = f"_CloudTrail-Digest_{region}_{trail_name}_{home_region}_"
    where = digest_prefix(prefix=prefix, org_id=org_id, account=account, region=region)

    def in_range(source: str, before: str | None = None) -> list[tuple[str, str]]:
        return sorted(((source, k) for k in list_keys(source, where)
                       if ending in k and k.endswith(".json.gz") and first <= _end_of(k) <= last
                       and (before is None or _end_of(k) < before)), key=lambda e: _end_of(e[1]))

    entries = _follow_buckets(in_range(bucket), in_range, get, public_keys)
    previous: tuple[str, str, str, str, str] | None = None   # (bucket, key, signature, sha256, end) before
    for bucket, key in entries:
        found = get(bucket, key)
        if found is None:
            report.invalid_digests += 1
            report.bad(f"Digest file\ts3://{bucket}/{key}\tINVALID: not found")
            previous = None
            continue
        try:
            digest, raw, signature = _verify(found[0], found[1], bucket, key, public_keys)
        except ValueError as problem:
            report.invalid_digests += 1
            report.bad(str(problem))
            previous = None
            continue
        named = digest.get("previousDigestS3Object")
        named_bucket = str(digest.get("previousDigestS3Bucket") or bucket)
        this = (bucket, key, signature, hashlib.sha256(raw).hexdigest(), str(digest.get("digestEndTime")))
        if not named and previous is not None:
            # a starting digest (logging or validation started again): a gap, not tampering
            report.lines.append(f"No log files were delivered by CloudTrail between {previous[4]} and "
                                f"{digest.get('digestStartTime')}")
        elif named and (previous is None or previous[:2] != (named_bucket, named)):
            if get(named_bucket, named) is None:
                report.invalid_digests += 1
                report.bad(f"Digest file\ts3://{named_bucket}/{named}\tINVALID: not found")
        elif previous is not None and (digest.get("previousDigestSignature") != previous[2]
                                       or digest.get("previousDigestHashValue") != previous[3]):
            report.invalid_digests += 1
            report.bad(f"Digest file\ts3://{bucket}/{key}\tINVALID: does not chain to {previous[1]}")
            previous = this
            continue
        report.valid_digests += 1
        report.lines.append(f"Digest file\ts3://{bucket}/{key}\tvalid")
        previous = this
        for log in digest.get("logFiles") or []:
            _check_log(report, get, log)
    return report


def _follow_buckets(entries: list[tuple[str, str]], in_range: Callable[..., list[tuple[str, str]]], get: Getter,
                    public_keys: Mapping[str, bytes]) -> list[tuple[str, str]]:
    """The digests of the range in order, across the buckets the trail wrote to: while the oldest
    one (verified) names a previous digest in another bucket, that bucket's older digests come
    first (the trail's bucket was changed), as the AWS CLI follows ``previousDigestS3Bucket``."""
    seen = {b for b, _ in entries}
    while entries:
        source, oldest = entries[0]
        found = get(source, oldest)
        if found is None:
            break
        try:
            digest, _raw, _signature = _verify(found[0], found[1], source, oldest, public_keys)
        except ValueError:
            break
        other = digest.get("previousDigestS3Bucket")
        if not other or other in seen:
            break
        seen.add(str(other))
        older = in_range(str(other), _end_of(oldest))
        if not older:
            break
        entries = older + entries
    return entries


def _check_log(report: Report, get: Getter, log: Mapping[str, Any]) -> None:
    bucket, key = str(log.get("s3Bucket")), str(log.get("s3Object"))
    found = get(bucket, key)
    if found is None:
        report.invalid_logs += 1
        report.bad(f"Log file\ts3://{bucket}/{key}\tINVALID: not found")
        return
    try:
        content = gzip.decompress(found[0])
    except (OSError, EOFError, zlib.error):
        report.invalid_logs += 1
        report.bad(f"Log file\ts3://{bucket}/{key}\tINVALID: invalid format")
        return
    if hashlib.sha256(content).hexdigest() != log.get("hashValue"):
        report.invalid_logs += 1
        report.bad(f"Log file\ts3://{bucket}/{key}\tINVALID: hash value doesn't match")
        return
    report.valid_logs += 1
    report.lines.append(f"Log file\ts3://{bucket}/{key}\tvalid")
