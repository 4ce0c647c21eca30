"""Rotation of the per-region keys that sign digest files, on the domain clock: a key signs for
30 days (the validity AWS's keys show: ValidityEndTime - ValidityStartTime = 2592000 s in the AWS
CLI's list-public-keys example, https://docs.aws.amazon.com/cli/latest/reference/cloudtrail/list-public-keys.html),
then the next one; ListPublicKeys returns every key valid in [StartTime, EndTime]
(https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_ListPublicKeys.html), so
``aws cloudtrail validate-logs`` finds digests of both sides of a rotation valid. The digest
period is lengthened (test hook) to 10 days so that a rotation is a few digests away; the
server is restarted between the keys (their private halves are stored sealed). Run on SQLite
and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import hashlib


from cloudkeep.testing.server import CloudkeepServer
from cloudtrail_delivery_support import deliver, keys, logging_trail
from cloudtrail_digest_support import DomainClock, cloudkeep_validate, digest, digest_keys, validate_logs, when
from storage_backends import backend  # noqa: F401  (pytest fixture: data dir and store URL per backend)

PERIOD = dt.timedelta(days=10)
VALIDITY = dt.timedelta(days=30)


def test_signing_keys_rotate_and_old_digests_still_validate(backend, tmp_path):
    data, url = backend
    server = CloudkeepServer(data_dir=data, store_url=url).start()
    try:
        server._post("/_cloudkeep/test/cloudtrail/timing", {"digest_seconds": PERIOD.total_seconds()})
        clock = DomainClock(server)
        account = server.create_account()
        start = clock.now() - dt.timedelta(minutes=5)
        bucket, arn = logging_trail(account, "rotated", EnableLogFileValidation=True)
        account.client("iam").create_user(UserName="before-rotation")
        deliver(server)
        clock.advance(PERIOD)                      # the first digest: the region's first key from its end
        clock.advance(2 * PERIOD)
    finally:
        server.stop()
    server = CloudkeepServer(data_dir=data, store_url=url, port=server.port).start()
    try:
        clock.server = server
        clock.advance(dt.timedelta(0))             # the restarted server's domain clock kept its offset
        account.client("iam").create_user(UserName="after-restart")
        deliver(server)
        clock.advance(2 * PERIOD)                  # past 30 days from the first key: the next key
        s3, ct = account.client("s3"), account.client("cloudtrail")
        found = digest_keys(s3, bucket)
        assert len(found) == 5, found
        digests = [digest(s3, bucket, k) for k in found]
        first_end = when(digests[0]["digestEndTime"])
        listed = ct.list_public_keys(StartTime=start, EndTime=clock.now())["PublicKeyList"]
        assert len(listed) == 2, listed
        old, new = sorted(listed, key=lambda k: k["ValidityStartTime"])
        assert old["ValidityStartTime"] == first_end and old["ValidityEndTime"] - old["ValidityStartTime"] == VALIDITY
        assert new["ValidityStartTime"] == old["ValidityEndTime"]
        assert new["ValidityEndTime"] - new["ValidityStartTime"] == VALIDITY
        assert all(hashlib.md5(k["Value"]).hexdigest() == k["Fingerprint"] for k in listed)
        by_end = {d["digestS3Object"]: d["digestPublicKeyFingerprint"] for d in digests}
        for d in digests:
            expected = old if when(d["digestEndTime"]) < old["ValidityEndTime"] else new
            assert by_end[d["digestS3Object"]] == expected["Fingerprint"], d
        assert {d["digestPublicKeyFingerprint"] for d in digests} == {old["Fingerprint"], new["Fingerprint"]}
        current = ct.list_public_keys()["PublicKeyList"]           # no range: the key valid now
        assert [k["Fingerprint"] for k in current] == [new["Fingerprint"]]
        before = ct.list_public_keys(StartTime=first_end, EndTime=first_end + PERIOD)["PublicKeyList"]
        assert [k["Fingerprint"] for k in before] == [old["Fingerprint"]]
        logs = [k for k in keys(s3, bucket) if "/CloudTrail/" in k]
        theirs = validate_logs(account, arn, start, clock.now(), tmp_path)
        assert theirs.returncode == 0, theirs.stdout + theirs.stderr
        assert "5/5 digest files valid" in theirs.stdout and f"{len(logs)}/{len(logs)} log files valid" in theirs.stdout
        assert "INVALID" not in theirs.stdout + theirs.stderr
        ours = cloudkeep_validate(account, arn, start, clock.now(), tmp_path)
        assert ours.returncode == 0 and "5/5 digest files valid" in ours.stdout, ours.stdout + ours.stderr
    finally:
        server.stop()
