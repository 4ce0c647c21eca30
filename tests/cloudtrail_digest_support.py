"""Helpers of the digest chain tests: the server's domain clock as the tests moved it, the
digests of a bucket in order, and the two validators (the real AWS CLI's validate-logs and
``cloudkeep trail validate``) run over an explicit time range (the domain clock is ahead of the
wall clock, and validate-logs' default end is the wall clock)."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

from cloudtrail_delivery_support import deliver, keys

AWS = str(Path(sys.executable).with_name("aws"))
UTC = dt.timezone.utc


class DomainClock:
    """The server's domain clock: the wall clock plus what the tests advanced it by."""

    def __init__(self, server: Any) -> None:
        self.server, self.offset = server, dt.timedelta(0)

    def now(self) -> dt.datetime:
        return dt.datetime.now(UTC) + self.offset

    def advance(self, delta: dt.timedelta) -> None:
        """Moves the domain clock, then lets the worker write what is due (log files, and the
        digests of the periods that ended: their ends are fixed by the chain's start, so the
        background worker and this pass write the same ones)."""
        self.server.advance(delta.total_seconds())
        self.offset += delta
        deliver(self.server)


def trails_end_with_the_test(server: Any, monkeypatch: Any) -> Iterator[None]:
    """For an autouse fixture of a module whose tests share a server and move its clock by
    hours: the trails of the accounts a test makes are deleted when it ends. A validating
    trail writes a digest every hour for each Region it covers, so trails left logging made
    every later test's hours cost more (the module's last tests took 4-5 times as long as
    alone). Best effort: a trail the test made undeletable is left as it is."""
    made: list[Any] = []
    create = server.create_account

    def tracked(*args: Any, **kwargs: Any) -> Any:
        account = create(*args, **kwargs)
        made.append(account)
        return account

    monkeypatch.setattr(server, "create_account", tracked)
    yield
    for account in made:
        try:
            trails = account.client("cloudtrail").list_trails()["Trails"]
        except Exception:  # noqa: BLE001 - the test may have closed the account or denied the call
            continue
        for trail in trails:
            try:
                account.client("cloudtrail", region=trail["HomeRegion"]).delete_trail(Name=trail["TrailARN"])
            except Exception:  # noqa: BLE001 - e.g. an organization trail of another account
                pass


def digest_keys(s3: Any, bucket: str) -> list[str]:
    return sorted(k for k in keys(s3, bucket) if "/CloudTrail-Digest/" in k)


def digest(s3: Any, bucket: str, key: str) -> dict:
    return json.loads(gzip.decompress(s3.get_object(Bucket=bucket, Key=key)["Body"].read()))


def when(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _env(account: Any, tmp_path: Path) -> dict[str, str]:
    return {**os.environ, **account.env, "HOME": str(tmp_path), "AWS_CONFIG_FILE": str(tmp_path / "none"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")}


def _range(start: dt.datetime, end: dt.datetime) -> list[str]:
    return ["--start-time", start.strftime("%Y-%m-%dT%H:%M:%SZ"), "--end-time", end.strftime("%Y-%m-%dT%H:%M:%SZ")]


def validate_logs(account: Any, arn: str, start: dt.datetime, end: dt.datetime, tmp_path: Path,
                  *extra: str) -> subprocess.CompletedProcess:
    """The real ``aws cloudtrail validate-logs`` (its S3 client follows AWS_ENDPOINT_URL)."""
    return subprocess.run([AWS, "cloudtrail", "validate-logs", "--trail-arn", arn, *_range(start, end), "--verbose",
                           *extra],
                          env=_env(account, tmp_path), capture_output=True, text=True, timeout=300)


def cloudkeep_validate(account: Any, arn: str, start: dt.datetime, end: dt.datetime, tmp_path: Path,
                       *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cloudkeep", "trail", "validate", "--trail-arn", arn,
                           *_range(start, end), *extra], env=_env(account, tmp_path), capture_output=True, text=True,
                          timeout=300)
