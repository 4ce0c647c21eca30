"""Digest chains across periods with no log file, StopLogging and StartLogging, checked with the
real AWS CLI (``aws cloudtrail validate-logs``) and ``cloudkeep trail validate``.

AWS (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-validation-digest-file-structure.html):
- "CloudTrail will deliver a digest file even when there has been no API activity in your account
  during the one hour period that the digest file represents" (logFiles empty, event times null);
- a starting digest (logging or validation started, or started again) has its previousDigest*
  fields null;
- "If logging is stopped ..., CloudTrail will deliver a final digest file", which lists the log
  files of the events up to and including StopLogging.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json

import pytest

from cloudkeep.testing.server import CloudkeepServer
from cloudkeep.wire.regions import default_regions
from cloudtrail_delivery_support import (cloudtrail_bucket_policy, deliver, error_of, keys, logging_trail,
                                         trail_bucket)
from cloudtrail_digest_support import (DomainClock, cloudkeep_validate, digest, digest_keys, trails_end_with_the_test,
                                      validate_logs, when)
from storage_backends import _PostgresDatabase

HOUR = dt.timedelta(hours=1)
PREVIOUS = ("previousDigestS3Bucket", "previousDigestS3Object", "previousDigestHashValue",
            "previousDigestHashAlgorithm", "previousDigestSignature")


@pytest.fixture(scope="module", params=[pytest.param("sqlite", id="sqlite"),
                                        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres)])
def server(request):
    """A server of its own on each backend: these tests move its domain clock by hours."""
    url = _PostgresDatabase().ensure(request.config) if request.param == "postgresql" else None
    with CloudkeepServer(store_url=url) as ck:
        yield ck


@pytest.fixture(scope="module")
def clock(server):
    return DomainClock(server)


@pytest.fixture(autouse=True)
def _trails_end_with_the_test(server, monkeypatch):
    yield from trails_end_with_the_test(server, monkeypatch)


def _quiet_hours(server, clock, account, name: str) -> tuple[str, str, dt.datetime]:
    """A validating trail: a log file in its first hour, then three hours with no activity."""
    start = clock.now() - dt.timedelta(minutes=5)
    bucket, arn = logging_trail(account, name, EnableLogFileValidation=True)
    account.client("iam").create_user(UserName=f"{name}-user")
    deliver(server)
    clock.advance(HOUR)
    clock.advance(3 * HOUR)
    return bucket, arn, start


def _after_first_digest(server, clock, name: str) -> tuple:
    """(account, start, bucket, ARN): a new account's validating trail with a user made and
    delivered, an hour on (its first digest written)."""
    account = server.create_account()
    start = clock.now() - dt.timedelta(minutes=5)
    bucket, arn = logging_trail(account, name, EnableLogFileValidation=True)
    account.client("iam").create_user(UserName=f"{name}-1")
    deliver(server)
    clock.advance(HOUR)
    return account, start, bucket, arn


def test_a_digest_is_delivered_every_hour_even_with_no_log_file(server, clock, tmp_path):
    account = server.create_account()
    bucket, arn, start = _quiet_hours(server, clock, account, "quiet")
    s3 = account.client("s3")
    found = digest_keys(s3, bucket)
    assert len(found) == 4, found
    digests = [digest(s3, bucket, k) for k in found]
    first = digests[0]
    assert all(first[f] is None for f in PREVIOUS), first        # the starting digest
    assert first["logFiles"] and first["newestEventTime"] and first["oldestEventTime"]
    for before, after, key in zip(digests, digests[1:], found[1:]):
        assert after["logFiles"] == [] and after["newestEventTime"] is None and after["oldestEventTime"] is None
        assert after["previousDigestS3Object"] == before["digestS3Object"]
        assert after["previousDigestS3Bucket"] == bucket and after["previousDigestHashAlgorithm"] == "SHA-256"
        assert after["digestStartTime"] == before["digestEndTime"]
        assert when(after["digestEndTime"]) - when(after["digestStartTime"]) == HOUR
        assert s3.head_object(Bucket=bucket, Key=key)["Metadata"]["signature-algorithm"] == "SHA256withRSA"
    assert when(first["digestEndTime"]) - when(first["digestStartTime"]) == HOUR
    logs = [k for k in keys(s3, bucket) if "/CloudTrail/" in k]
    theirs = validate_logs(account, arn, start, clock.now(), tmp_path)
    assert theirs.returncode == 0, theirs.stdout + theirs.stderr
    assert "4/4 digest files valid" in theirs.stdout and f"{len(logs)}/{len(logs)} log files valid" in theirs.stdout
    assert "INVALID" not in theirs.stdout + theirs.stderr
    ours = cloudkeep_validate(account, arn, start, clock.now(), tmp_path)
    assert ours.returncode == 0 and "4/4 digest files valid" in ours.stdout, ours.stdout + ours.stderr


def test_a_deleted_empty_digest_in_the_middle_of_the_chain_is_reported(server, clock, tmp_path):
    account = server.create_account()
    bucket, arn, start = _quiet_hours(server, clock, account, "gap")
    s3 = account.client("s3")
    found = digest_keys(s3, bucket)
    assert digest(s3, bucket, found[2])["logFiles"] == []
    s3.delete_object(Bucket=bucket, Key=found[2])
    theirs = validate_logs(account, arn, start, clock.now(), tmp_path)
    assert theirs.returncode == 1, theirs.stdout + theirs.stderr
    assert f"Digest file\ts3://{bucket}/{found[2]}\tINVALID: not found" in theirs.stderr, theirs.stderr
    assert "3/4 digest files valid, 1/4 digest files INVALID" in theirs.stdout, theirs.stdout
    ours = cloudkeep_validate(account, arn, start, clock.now(), tmp_path)
    assert ours.returncode == 1
    assert f"Digest file\ts3://{bucket}/{found[2]}\tINVALID: not found" in ours.stderr, ours.stderr


def test_a_changed_empty_digest_is_reported(server, clock, tmp_path):
    account = server.create_account()
    bucket, arn, start = _quiet_hours(server, clock, account, "forged")
    s3 = account.client("s3")
    found = digest_keys(s3, bucket)
    head = s3.head_object(Bucket=bucket, Key=found[1])
    body = digest(s3, bucket, found[1])
    body["logFiles"] = digest(s3, bucket, found[0])["logFiles"]
    s3.put_object(Bucket=bucket, Key=found[1], Body=gzip.compress(json.dumps(body).encode()), Metadata=head["Metadata"])
    theirs = validate_logs(account, arn, start, clock.now(), tmp_path)
    assert theirs.returncode == 1
    assert f"Digest file\ts3://{bucket}/{found[1]}\tINVALID: signature verification failed" in theirs.stderr, \
        theirs.stderr
    ours = cloudkeep_validate(account, arn, start, clock.now(), tmp_path)
    assert ours.returncode == 1 and f"s3://{bucket}/{found[1]}\tINVALID: signature verification failed" in ours.stderr


def test_stop_logging_writes_a_final_digest_and_start_logging_a_starting_one(server, clock, tmp_path):
    account, start, bucket, arn = _after_first_digest(server, clock, "stopped")
    ct, iam, s3 = account.client("cloudtrail"), account.client("iam"), account.client("s3")
    iam.create_user(UserName="stopped-2")
    ct.stop_logging(Name="stopped")
    clock.advance(dt.timedelta(minutes=1))                  # the events before the stop, then the final digest
    found = digest_keys(s3, bucket)
    assert len(found) == 2, found
    final = digest(s3, bucket, found[1])
    assert final["previousDigestS3Object"] == found[0]
    listed = [l["s3Object"] for l in final["logFiles"]]
    names = {r["eventName"] for k in listed for r in _records(s3, bucket, k)}
    assert {"CreateUser", "StopLogging"} <= names, names
    clock.advance(2 * HOUR)                                 # stopped: no digest
    assert digest_keys(s3, bucket) == found
    restarted = clock.now()
    ct.start_logging(Name="stopped")
    iam.create_user(UserName="stopped-3")
    deliver(server)
    clock.advance(HOUR)
    found = digest_keys(s3, bucket)
    assert len(found) == 3, found
    starting = digest(s3, bucket, found[2])
    assert all(starting[f] is None for f in PREVIOUS), starting
    assert abs(when(starting["digestStartTime"]) - restarted) < dt.timedelta(minutes=1)
    assert starting["logFiles"]
    theirs = validate_logs(account, arn, start, clock.now(), tmp_path)
    assert theirs.returncode == 0, theirs.stdout + theirs.stderr
    assert "3/3 digest files valid" in theirs.stdout and "INVALID" not in theirs.stdout + theirs.stderr
    assert "No log files were delivered by CloudTrail between" in theirs.stdout + theirs.stderr
    ours = cloudkeep_validate(account, arn, start, clock.now(), tmp_path)
    assert ours.returncode == 0 and "3/3 digest files valid" in ours.stdout, ours.stdout + ours.stderr


def test_started_again_before_the_final_digest_the_old_chain_ends_at_the_stop(server, clock, tmp_path):
    account = server.create_account()
    ct, s3 = account.client("cloudtrail"), account.client("s3")
    start = clock.now() - dt.timedelta(minutes=5)
    bucket, arn = logging_trail(account, "bounced", EnableLogFileValidation=True)
    account.client("iam").create_user(UserName="bounced-1")
    deliver(server)
    clock.advance(HOUR)
    clock.advance(dt.timedelta(minutes=1))
    ct.stop_logging(Name="bounced")
    ct.start_logging(Name="bounced")
    account.client("iam").create_user(UserName="bounced-2")
    deliver(server)
    clock.advance(HOUR)
    found = digest_keys(s3, bucket)
    assert len(found) == 3, found
    first, final, starting = (digest(s3, bucket, k) for k in found)
    assert final["previousDigestS3Object"] == found[0] and final["digestStartTime"] == first["digestEndTime"]
    assert all(starting[f] is None for f in PREVIOUS) and when(starting["digestStartTime"]) >= when(
        final["digestEndTime"])
    theirs = validate_logs(account, arn, start, clock.now(), tmp_path)
    assert theirs.returncode == 0 and "3/3 digest files valid" in theirs.stdout, theirs.stdout + theirs.stderr


def test_validation_turned_off_ends_the_chain_after_the_period_under_way(server, clock, tmp_path):
    account, start, bucket, arn = _after_first_digest(server, clock, "switched")
    ct, s3 = account.client("cloudtrail"), account.client("s3")
    ct.update_trail(Name="switched", EnableLogFileValidation=False)
    clock.advance(3 * HOUR)
    found = digest_keys(s3, bucket)
    assert len(found) == 2, found                           # the period under way, then no more
    ct.update_trail(Name="switched", EnableLogFileValidation=True)
    clock.advance(HOUR)
    found = digest_keys(s3, bucket)
    assert len(found) == 3, found
    assert all(digest(s3, bucket, found[2])[f] is None for f in PREVIOUS)
    theirs = validate_logs(account, arn, start, clock.now(), tmp_path)
    assert theirs.returncode == 0 and "3/3 digest files valid" in theirs.stdout, theirs.stdout + theirs.stderr


def _regions(keys_: list[str]) -> dict[str, list[str]]:
    """Digest keys by the source Region their path names."""
    out: dict[str, list[str]] = {}
    for key in keys_:
        out.setdefault(key.split("/CloudTrail-Digest/")[1].split("/")[0], []).append(key)
    return out


def test_every_default_region_of_a_multi_region_trail_has_its_chain_from_the_start(server, clock, tmp_path):
    """A Region with no activity still gets a digest every hour, from StartLogging (the starting
    digest's digestStartTime); an opt-in Region, which an account must enable first
    (https://docs.aws.amazon.com/accounts/latest/reference/manage-acct-regions.html), starts its
    chain with its first log file."""
    account = server.create_account()
    s3 = account.client("s3")
    start = clock.now() - dt.timedelta(minutes=5)
    bucket, arn = logging_trail(account, "regions", EnableLogFileValidation=True, IsMultiRegionTrail=True)
    started = account.client("cloudtrail").get_trail_status(Name="regions")["StartLoggingTime"]
    deliver(server)
    clock.advance(2 * HOUR)
    by_region = _regions(digest_keys(s3, bucket))
    assert sorted(by_region) == sorted(default_regions()), sorted(by_region)
    assert all(len(found) == 2 for found in by_region.values()), by_region
    starting, empty = (digest(s3, bucket, k) for k in by_region["eu-west-1"])
    assert all(starting[f] is None for f in PREVIOUS) and starting["logFiles"] == []
    assert when(starting["digestStartTime"]) == started.astimezone(dt.timezone.utc).replace(microsecond=0)
    assert empty["logFiles"] == [] and empty["previousDigestS3Object"] == by_region["eu-west-1"][0]
    assert empty["newestEventTime"] is None and empty["oldestEventTime"] is None

    account.client("kms", region="eu-west-1").create_key(Description="an event in eu-west-1")
    first_file = clock.now()
    account.client("kms", region="af-south-1").create_key(Description="the first event in af-south-1")
    deliver(server)
    clock.advance(2 * HOUR)
    by_region = _regions(digest_keys(s3, bucket))
    assert all(len(by_region[r]) == 4 for r in default_regions()), by_region
    assert [bool(digest(s3, bucket, k)["logFiles"]) for k in by_region["eu-west-1"]] == [False, False, True, False]
    opt_in = by_region["af-south-1"]
    assert len(opt_in) == 2, opt_in
    opening = digest(s3, bucket, opt_in[0])
    assert all(opening[f] is None for f in PREVIOUS) and opening["logFiles"]
    assert abs(when(opening["digestStartTime"]) - first_file) < dt.timedelta(minutes=1)
    for region, count in (("eu-west-1", 4), ("af-south-1", 2)):     # (eu-west-1's empty digests too)
        theirs = validate_logs(account, arn, start, clock.now(), tmp_path, "--region", region)
        assert theirs.returncode == 0 and f"{count}/{count} digest files valid" in theirs.stdout, \
            theirs.stdout + theirs.stderr
    account.client("cloudtrail").stop_logging(Name="regions")     # the module's later hours write no more
    deliver(server)
    clock.advance(HOUR)
    counts = {region: len(found) for region, found in _regions(digest_keys(s3, bucket)).items()}
    assert counts == {**{region: 5 for region in default_regions()}, "af-south-1": 3}, counts    # final digests


def test_a_trail_made_multi_region_opens_the_other_chains_and_made_single_region_ends_them(server, clock, tmp_path):
    account, start, bucket, arn = _after_first_digest(server, clock, "widened")
    s3, ct = account.client("s3"), account.client("cloudtrail")
    assert sorted(_regions(digest_keys(s3, bucket))) == ["us-east-1"]
    widened = clock.now()
    ct.update_trail(Name="widened", IsMultiRegionTrail=True)
    clock.advance(HOUR)
    by_region = _regions(digest_keys(s3, bucket))
    assert sorted(by_region) == sorted(default_regions()) and len(by_region["us-east-1"]) == 2, by_region
    opening = digest(s3, bucket, by_region["sa-east-1"][0])
    assert all(opening[f] is None for f in PREVIOUS)
    assert abs(when(opening["digestStartTime"]) - widened) < dt.timedelta(minutes=1)
    theirs = validate_logs(account, arn, start, clock.now(), tmp_path, "--region", "sa-east-1")
    assert theirs.returncode == 0 and "1/1 digest files valid" in theirs.stdout, theirs.stdout + theirs.stderr

    ct.update_trail(Name="widened", IsMultiRegionTrail=False)
    clock.advance(HOUR)                         # the period under way is the other Regions' last
    clock.advance(2 * HOUR)
    by_region = _regions(digest_keys(s3, bucket))
    assert len(by_region["us-east-1"]) == 5, by_region["us-east-1"]
    assert all(len(found) == 2 for region, found in by_region.items() if region != "us-east-1"), by_region
    theirs = validate_logs(account, arn, start, clock.now(), tmp_path)
    assert theirs.returncode == 0 and "5/5 digest files valid" in theirs.stdout, theirs.stdout + theirs.stderr
    ct.stop_logging(Name="widened")


def _accounts(keys_: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for key in keys_:
        found.setdefault(key.split("/CloudTrail-Digest/")[0].rsplit("/", 1)[-1], []).append(key)
    return found


def test_every_account_of_an_organization_trail_has_its_chain_from_the_start(server, clock, tmp_path):
    """An organization trail "will be created in all Amazon Web Services accounts that belong to
    the organization" (https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_UpdateTrail.html):
    each account's chain starts at StartLogging, and an account with no activity gets its hourly
    digests too. Made an ordinary trail again, the members' chains end after the period under way."""
    management = server.create_account()
    api = management.client("organizations")
    org_id = api.create_organization(FeatureSet="ALL")["Organization"]["Id"]
    api.enable_aws_service_access(ServicePrincipal="cloudtrail.amazonaws.com")
    quiet, leaver = server.create_account(), server.create_account()
    for member in (quiet, leaver):
        invited = api.invite_account_to_organization(Target={"Type": "ACCOUNT", "Id": member.account_id})
        member.client("organizations").accept_handshake(HandshakeId=invited["Handshake"]["Id"])
    s3, ct = management.client("s3"), management.client("cloudtrail")
    start = clock.now() - dt.timedelta(minutes=5)
    bucket, arn = logging_trail(management, "org-chains", IsOrganizationTrail=True, EnableLogFileValidation=True,
                                org_id=org_id)
    started = ct.get_trail_status(Name="org-chains")["StartLoggingTime"]
    deliver(server)
    clock.advance(2 * HOUR)
    by_account = _accounts(digest_keys(s3, bucket))
    assert sorted(by_account) == sorted([management.account_id, quiet.account_id, leaver.account_id]), by_account
    assert all(len(found) == 2 for found in by_account.values()), by_account
    opening = by_account[quiet.account_id][0]
    assert opening.startswith(f"AWSLogs/{org_id}/{quiet.account_id}/CloudTrail-Digest/us-east-1/"), opening
    starting = digest(s3, bucket, opening)
    assert all(starting[f] is None for f in PREVIOUS) and starting["logFiles"] == []
    assert when(starting["digestStartTime"]) == started.astimezone(dt.timezone.utc).replace(microsecond=0)
    theirs = validate_logs(management, arn, start, clock.now(), tmp_path, "--account-id", quiet.account_id)
    assert theirs.returncode == 0 and "2/2 digest files valid" in theirs.stdout, theirs.stdout + theirs.stderr

    api.remove_account_from_organization(AccountId=leaver.account_id)
    clock.advance(HOUR)                         # the period under way is the leaver's last
    theirs = validate_logs(management, arn, start, clock.now(), tmp_path, "--account-id", leaver.account_id)
    assert theirs.returncode == 0 and "3/3 digest files valid" in theirs.stdout, theirs.stdout + theirs.stderr
    ct.update_trail(Name="org-chains", IsOrganizationTrail=False)
    clock.advance(HOUR)                         # and the other member's
    clock.advance(2 * HOUR)
    found = _accounts(digest_keys(s3, bucket))
    counts = {account: len(keys_) for account, keys_ in found.items()}
    assert counts == {management.account_id: 6, quiet.account_id: 4, leaver.account_id: 3}, counts
    assert found[leaver.account_id][-1].startswith(f"AWSLogs/{org_id}/{leaver.account_id}/"), found
    assert found[quiet.account_id][-1].startswith(f"AWSLogs/{org_id}/{quiet.account_id}/"), found
    ct.stop_logging(Name="org-chains")


def _records(s3, bucket: str, key: str) -> list[dict]:
    return json.loads(gzip.decompress(s3.get_object(Bucket=bucket, Key=key)["Body"].read()))["Records"]


def test_list_public_keys_refuses_a_range_that_ends_before_it_starts(server, clock):
    # https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_ListPublicKeys.html (InvalidTimeRangeException)
    account = server.create_account()
    now = clock.now()
    code, _message = error_of(account.client("cloudtrail").list_public_keys, StartTime=now,
                              EndTime=now - dt.timedelta(hours=1))
    assert code == "InvalidTimeRangeException"


def test_the_chain_follows_the_trail_to_a_new_bucket(server, clock, tmp_path):
    """The first digest in the new bucket names the last one of the old bucket
    (previousDigestS3Bucket); validate-logs follows it there."""
    account = server.create_account()
    s3, ct = account.client("s3"), account.client("cloudtrail")
    start = clock.now() - dt.timedelta(minutes=5)
    old, arn = logging_trail(account, "moved", EnableLogFileValidation=True)
    account.client("iam").create_user(UserName="moved-1")
    deliver(server)
    clock.advance(HOUR)
    new = trail_bucket(account, "moved")
    ct.update_trail(Name="moved", S3BucketName=new)
    account.client("iam").create_user(UserName="moved-2")
    deliver(server)
    clock.advance(HOUR)
    before, after = digest_keys(s3, old), digest_keys(s3, new)
    assert len(before) == 1 and len(after) == 1, (before, after)
    moved = digest(s3, new, after[0])
    assert moved["previousDigestS3Bucket"] == old and moved["previousDigestS3Object"] == before[0]
    theirs = validate_logs(account, arn, start, clock.now(), tmp_path)
    assert theirs.returncode == 0, theirs.stdout + theirs.stderr
    assert "2/2 digest files valid" in theirs.stdout and "INVALID" not in theirs.stdout + theirs.stderr
    ours = cloudkeep_validate(account, arn, start, clock.now(), tmp_path)
    assert ours.returncode == 0 and "2/2 digest files valid" in ours.stdout, ours.stdout + ours.stderr
    s3.delete_object(Bucket=old, Key=before[0])
    theirs = validate_logs(account, arn, start, clock.now(), tmp_path)
    assert theirs.returncode == 1 and f"Digest file\ts3://{old}/{before[0]}\tINVALID: not found" in theirs.stderr
    ours = cloudkeep_validate(account, arn, start, clock.now(), tmp_path)
    assert ours.returncode == 1 and f"Digest file\ts3://{old}/{before[0]}\tINVALID: not found" in ours.stderr, \
        ours.stdout + ours.stderr


def test_a_deleted_trail_delivers_what_came_before_and_ends_its_chain_with_a_final_digest(server, clock, tmp_path):
    """DeleteTrail is StopLogging and more: "the chain of digest files is broken after one hour
    ... The same applies whenever you stop CloudTrail logging or delete a trail"
    (https://docs.aws.amazon.com/cli/latest/reference/cloudtrail/validate-logs.html). The events
    before the deletion, DeleteTrail's own included, still reach the bucket, and a final digest
    lists them; a new trail may take the name at once, with a chain of its own."""
    account, start, bucket, arn = _after_first_digest(server, clock, "deleted")
    ct, iam, s3 = account.client("cloudtrail"), account.client("iam"), account.client("s3")
    iam.create_user(UserName="deleted-2")                   # not delivered yet
    ct.delete_trail(Name="deleted")
    assert [t["Name"] for t in ct.describe_trails()["trailList"]] == []
    assert error_of(ct.get_trail_status, Name="deleted")[0] == "TrailNotFoundException"
    again, same_arn = logging_trail(account, "deleted", EnableLogFileValidation=True)   # the name is free at once
    assert same_arn == arn and again != bucket
    iam.create_user(UserName="deleted-3")
    clock.advance(dt.timedelta(minutes=1))                  # the deleted trail's last files, then its final digest
    found = digest_keys(s3, bucket)
    assert len(found) == 2, found
    final = digest(s3, bucket, found[1])
    assert final["previousDigestS3Object"] == found[0]
    listed = [l["s3Object"] for l in final["logFiles"]]
    delivered = [r for k in listed for r in _records(s3, bucket, k)]
    names = [r["eventName"] for r in delivered]
    assert "DeleteTrail" in names and {"deleted-2"} <= {(r["requestParameters"] or {}).get("userName")
                                                         for r in delivered if r["eventName"] == "CreateUser"}
    assert not any((r["requestParameters"] or {}).get("userName") == "deleted-3" for r in delivered)
    clock.advance(2 * HOUR)                                 # deleted: no digest in its bucket any more
    assert digest_keys(s3, bucket) == found
    theirs = validate_logs(account, arn, start, clock.now(), tmp_path, "--s3-bucket", bucket)
    assert theirs.returncode == 0, theirs.stdout + theirs.stderr
    assert "2/2 digest files valid" in theirs.stdout and "INVALID" not in theirs.stdout + theirs.stderr
    ours = cloudkeep_validate(account, arn, start, clock.now(), tmp_path, "--s3-bucket", bucket)
    assert ours.returncode == 0 and "2/2 digest files valid" in ours.stdout, ours.stdout + ours.stderr
    # the new trail of the same name and ARN: its own chain, in its own bucket, from its start
    new = digest_keys(s3, again)
    assert len(new) == 2, new
    starting = digest(s3, again, new[0])
    assert all(starting[f] is None for f in PREVIOUS), starting
    created = {(r["requestParameters"] or {}).get("userName") for k in keys(s3, again) if "/CloudTrail/" in k
               for r in _records(s3, again, k) if r["eventName"] == "CreateUser"}
    assert created == {"deleted-3"}


def test_a_deleted_trail_whose_bucket_is_deleted_too_gives_up_its_last_files(server, clock):
    """Delete the trail, then empty and delete its bucket (a usual clean-up): what the trail had
    left to deliver finds no bucket, and it gives up. A bucket made again under the name later
    (bucket names are global: it may be anyone's) gets nothing of it."""
    account, _start, bucket, _arn = _after_first_digest(server, clock, "cleaned")
    ct, iam, s3 = account.client("cloudtrail"), account.client("iam"), account.client("s3")
    iam.create_user(UserName="cleaned-2")                   # not delivered yet
    ct.delete_trail(Name="cleaned")
    for key in keys(s3, bucket):
        s3.delete_object(Bucket=bucket, Key=key)
    s3.delete_bucket(Bucket=bucket)
    clock.advance(dt.timedelta(minutes=10))                 # refused: NoSuchBucket
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_policy(Bucket=bucket, Policy=cloudtrail_bucket_policy(bucket, account.account_id, "cleaned"))
    clock.advance(2 * HOUR)
    assert keys(s3, bucket) == []


def test_a_deleted_trail_whose_bucket_keeps_refusing_tries_for_a_day_after_its_stop(server, clock):
    """A deleted trail has no status to show a refusal in. One whose bucket refuses CloudTrail
    (its policy removed) keeps trying for a day after its stop, then gives up its last files and
    final digest (``delivery.finish_retired``): a policy put back within the day gets them, one
    put back after it gets nothing."""
    account = server.create_account()
    ct, iam, s3 = account.client("cloudtrail"), account.client("iam"), account.client("s3")
    trails = {}
    for name in ("in-time", "too-late"):
        bucket, _arn = logging_trail(account, name, EnableLogFileValidation=True)
        iam.create_user(UserName=f"{name}-1")
        policy = s3.get_bucket_policy(Bucket=bucket)["Policy"]
        s3.delete_bucket_policy(Bucket=bucket)
        trails[name] = (bucket, policy, keys(s3, bucket))   # the worker may have delivered before
    for name in trails:
        ct.delete_trail(Name=name)
    clock.advance(dt.timedelta(minutes=10))                 # refused: AccessDenied
    clock.advance(22 * HOUR)
    bucket, policy, before = trails["in-time"]
    s3.put_bucket_policy(Bucket=bucket, Policy=policy)
    clock.advance(HOUR)                                     # 23 h 10 min after the stop
    delivered = [k for k in keys(s3, bucket) if k not in before]
    assert any("/CloudTrail-Digest/" in k for k in delivered), delivered
    assert "in-time-1" in {(r["requestParameters"] or {}).get("userName")
                           for k in delivered if "/CloudTrail/" in k for r in _records(s3, bucket, k)}
    clock.advance(2 * HOUR)                                 # past the day
    bucket, policy, before = trails["too-late"]
    s3.put_bucket_policy(Bucket=bucket, Policy=policy)
    clock.advance(2 * HOUR)
    assert keys(s3, bucket) == before


def test_a_deleted_trail_without_validation_still_delivers_its_last_events(server, clock):
    account = server.create_account()
    ct, iam, s3 = account.client("cloudtrail"), account.client("iam"), account.client("s3")
    bucket, _arn = logging_trail(account, "deleted-plain")
    iam.create_user(UserName="plain-1")
    ct.delete_trail(Name="deleted-plain")
    iam.create_user(UserName="plain-2")                     # after the deletion: not the trail's
    deliver(server)
    delivered = [r for k in keys(s3, bucket) if "/CloudTrail/" in k for r in _records(s3, bucket, k)]
    users = {(r["requestParameters"] or {}).get("userName") for r in delivered if r["eventName"] == "CreateUser"}
    assert users == {"plain-1"} and "DeleteTrail" in {r["eventName"] for r in delivered}
    assert not digest_keys(s3, bucket)
    ct.create_trail(Name="deleted-plain", S3BucketName=bucket)     # the name is free again
    assert [t["Name"] for t in ct.describe_trails()["trailList"]] == ["deleted-plain"]
