"""Periods missed while no digest was written (the domain clock jumped, as after a long stop of
the server) are caught up in order, at most ``PASS_LIMIT`` digests of a chain per pass of the
worker, each one period long, the log file in the period of its delivery, and the chain unbroken:
``aws cloudtrail validate-logs`` finds them all valid. The digest period is shortened to one
minute (test hook) so that 150 periods pass in 150 minutes of domain time."""

from __future__ import annotations

import datetime as dt

from cloudkeep.services.cloudtrail.digest import PASS_LIMIT
from cloudkeep.testing.server import CloudkeepServer
from cloudtrail_delivery_support import deliver, logging_trail
from cloudtrail_digest_support import DomainClock, digest, digest_keys, validate_logs, when

PERIOD = dt.timedelta(minutes=1)
MISSED = 150


def test_missed_periods_are_caught_up_over_passes_and_validate(tmp_path):
    assert PASS_LIMIT < MISSED
    with CloudkeepServer() as server:
        server._post("/_cloudkeep/test/cloudtrail/timing", {"digest_seconds": PERIOD.total_seconds()})
        clock = DomainClock(server)
        account = server.create_account()
        start = clock.now() - dt.timedelta(minutes=5)
        bucket, arn = logging_trail(account, "caught-up", EnableLogFileValidation=True)
        account.client("iam").create_user(UserName="before-the-jump")
        deliver(server)
        clock.advance(MISSED * PERIOD)             # one pass: at most PASS_LIMIT digests of the chain
        deliver(server)                            # the rest
        s3 = account.client("s3")
        found = digest_keys(s3, bucket)
        assert len(found) == MISSED, len(found)
        first, second, last = (digest(s3, bucket, k) for k in (found[0], found[1], found[-1]))
        assert first["logFiles"] and second["logFiles"] == [] and last["logFiles"] == []
        assert when(last["digestEndTime"]) - when(first["digestStartTime"]) == MISSED * PERIOD
        theirs = validate_logs(account, arn, start, clock.now(), tmp_path)
        assert theirs.returncode == 0, theirs.stdout[-2000:] + theirs.stderr[-2000:]
        assert f"{MISSED}/{MISSED} digest files valid" in theirs.stdout and "INVALID" not in theirs.stdout
