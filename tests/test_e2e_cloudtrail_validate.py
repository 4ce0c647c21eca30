"""Log file integrity validation with the real AWS CLI: ``aws cloudtrail validate-logs`` against
cloudkeep's digest files (signed SHA256withRSA, chained, public keys from ListPublicKeys) finds
every digest and log file valid, and reports a changed log file, a changed digest and a
deleted digest file. Its S3 and Organizations clients follow AWS_ENDPOINT_URL.

AWS pages: https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-validation-cli.html,
https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-validation-digest-file-structure.html
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cloudkeep.testing.server import CloudkeepServer
from cloudtrail_delivery_support import deliver, keys, logging_trail
from cloudtrail_digest_support import trails_end_with_the_test

AWS = str(Path(sys.executable).with_name("aws"))


@pytest.fixture(scope="module")
def server():
    """A server of its own: these tests move its domain clock between digest periods."""
    with CloudkeepServer() as ck:
        yield ck


@pytest.fixture(autouse=True)
def _trails_end_with_the_test(server, monkeypatch):
    yield from trails_end_with_the_test(server, monkeypatch)


def validate_logs(account, arn: str, start: dt.datetime, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, **account.env, "HOME": str(tmp_path), "AWS_CONFIG_FILE": str(tmp_path / "none"),
           "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")}
    return subprocess.run([AWS, "cloudtrail", "validate-logs", "--trail-arn", arn, "--start-time",
                           start.strftime("%Y-%m-%dT%H:%M:%SZ"), "--verbose"],
                          env=env, capture_output=True, text=True, timeout=120)


def _three_digests(server, account, name: str) -> tuple[str, str, dt.datetime]:
    """A validating trail with three digest periods closed, log files in the first two."""
    start = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)
    bucket, arn = logging_trail(account, name, EnableLogFileValidation=True)
    iam = account.client("iam")
    iam.create_user(UserName=f"{name}-1")
    deliver(server)
    server.advance(61)
    deliver(server, digests=True)
    iam.create_user(UserName=f"{name}-2")
    deliver(server)
    server.advance(61)
    deliver(server, digests=True)
    server.advance(61)
    deliver(server, digests=True)
    return bucket, arn, start


def test_validate_logs_finds_every_file_valid(server, tmp_path):
    account = server.create_account()
    bucket, arn, start = _three_digests(server, account, "valid")
    s3 = account.client("s3")
    digests = [k for k in keys(s3, bucket) if "/CloudTrail-Digest/" in k]
    assert len(digests) == 3
    head = s3.head_object(Bucket=bucket, Key=digests[-1])
    assert head["Metadata"]["signature-algorithm"] == "SHA256withRSA" and len(head["Metadata"]["signature"]) == 512
    last = json.loads(gzip.decompress(s3.get_object(Bucket=bucket, Key=digests[-1])["Body"].read()))
    assert last["previousDigestS3Object"] == digests[-2] and last["digestSignatureAlgorithm"] == "SHA256withRSA"
    status = account.client("cloudtrail").get_trail_status(Name="valid")
    assert "LatestDigestDeliveryTime" in status and "LatestDigestDeliveryError" not in status
    public = account.client("cloudtrail").list_public_keys()["PublicKeyList"]
    assert [k["Fingerprint"] for k in public] == [last["digestPublicKeyFingerprint"]]
    assert hashlib.md5(public[0]["Value"]).hexdigest() == public[0]["Fingerprint"]
    assert public[0]["ValidityStartTime"] < public[0]["ValidityEndTime"]
    result = validate_logs(account, arn, start, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    logs = [k for k in keys(s3, bucket) if "/CloudTrail/" in k]
    assert "3/3 digest files valid" in result.stdout, result.stdout
    assert f"{len(logs)}/{len(logs)} log files valid" in result.stdout, result.stdout
    assert "INVALID" not in result.stdout + result.stderr


def test_validate_logs_reports_a_changed_log_file(server, tmp_path):
    account = server.create_account()
    bucket, arn, start = _three_digests(server, account, "changed")
    s3 = account.client("s3")
    log_key = [k for k in keys(s3, bucket) if "/CloudTrail/" in k][0]
    s3.put_object(Bucket=bucket, Key=log_key, Body=gzip.compress(b'{"Records":[]}'))
    result = validate_logs(account, arn, start, tmp_path)
    assert result.returncode == 1
    assert f"Log file\ts3://{bucket}/{log_key}\tINVALID: hash value doesn't match" in result.stderr, result.stderr


def test_validate_logs_reports_a_changed_digest(server, tmp_path):
    account = server.create_account()
    bucket, arn, start = _three_digests(server, account, "changed-digest")
    s3 = account.client("s3")
    third = sorted(k for k in keys(s3, bucket) if "/CloudTrail-Digest/" in k)[-1]
    head = s3.head_object(Bucket=bucket, Key=third)
    body = json.loads(gzip.decompress(s3.get_object(Bucket=bucket, Key=third)["Body"].read()))
    body["logFiles"] = []
    s3.put_object(Bucket=bucket, Key=third, Body=gzip.compress(json.dumps(body).encode()), Metadata=head["Metadata"])
    result = validate_logs(account, arn, start, tmp_path)
    assert result.returncode == 1
    assert f"Digest file\ts3://{bucket}/{third}\tINVALID: signature verification failed" in result.stderr, \
        result.stderr


def test_validate_logs_reports_a_deleted_digest_and_a_deleted_log(server, tmp_path):
    account = server.create_account()
    bucket, arn, start = _three_digests(server, account, "deleted")
    s3 = account.client("s3")
    second = sorted(k for k in keys(s3, bucket) if "/CloudTrail-Digest/" in k)[1]
    log_key = sorted(k for k in keys(s3, bucket) if "/CloudTrail/" in k)[0]
    s3.delete_object(Bucket=bucket, Key=second)
    s3.delete_object(Bucket=bucket, Key=log_key)
    result = validate_logs(account, arn, start, tmp_path)
    assert result.returncode == 1
    assert f"Digest file\ts3://{bucket}/{second}\tINVALID: not found" in result.stderr, result.stderr
    assert f"Log file\ts3://{bucket}/{log_key}\tINVALID: not found" in result.stderr, result.stderr


def cloudkeep_validate(account, arn: str, start: dt.datetime, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, **account.env, "HOME": str(tmp_path), "AWS_CONFIG_FILE": str(tmp_path / "none"),
           "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")}
    return subprocess.run([sys.executable, "-m", "cloudkeep", "trail", "validate", "--trail-arn", arn,
                           "--start-time", start.strftime("%Y-%m-%dT%H:%M:%SZ")],
                          env=env, capture_output=True, text=True, timeout=120)


def test_cloudkeep_trail_validate_finds_valid_files_and_reports_tampering(server, tmp_path):
    account = server.create_account()
    bucket, arn, start = _three_digests(server, account, "ours")
    s3 = account.client("s3")
    logs = sorted(k for k in keys(s3, bucket) if "/CloudTrail/" in k)
    result = cloudkeep_validate(account, arn, start, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3/3 digest files valid" in result.stdout and f"{len(logs)}/{len(logs)} log files valid" in result.stdout
    s3.put_object(Bucket=bucket, Key=logs[0], Body=gzip.compress(b'{"Records":[]}'))
    second = sorted(k for k in keys(s3, bucket) if "/CloudTrail-Digest/" in k)[1]
    s3.delete_object(Bucket=bucket, Key=second)
    result = cloudkeep_validate(account, arn, start, tmp_path)
    assert result.returncode == 1
    assert f"Log file\ts3://{bucket}/{logs[0]}\tINVALID: hash value doesn't match" in result.stderr, result.stderr
    assert f"Digest file\ts3://{bucket}/{second}\tINVALID: not found" in result.stderr, result.stderr


def test_cloudkeep_trail_validate_refuses_a_range_without_digests(server, tmp_path):
    account = server.create_account()
    _bucket, arn = logging_trail(account, "empty", EnableLogFileValidation=True)
    result = cloudkeep_validate(account, arn, dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=1), tmp_path)
    assert result.returncode == 1 and "no digest files found" in result.stderr


def test_validate_logs_of_an_organization_trail_for_a_member_account(server, tmp_path):
    management = server.create_account()
    api = management.client("organizations")
    org_id = api.create_organization(FeatureSet="ALL")["Organization"]["Id"]
    api.enable_aws_service_access(ServicePrincipal="cloudtrail.amazonaws.com")
    member = server.create_account()
    handshake = api.invite_account_to_organization(Target={"Type": "ACCOUNT", "Id": member.account_id})["Handshake"]
    member.client("organizations").accept_handshake(HandshakeId=handshake["Id"])
    start = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)
    bucket, arn = logging_trail(management, "org-validated", IsOrganizationTrail=True, EnableLogFileValidation=True,
                                org_id=org_id)
    member.client("iam").create_user(UserName="member-validated")
    deliver(server)
    server.advance(61)
    deliver(server, digests=True)
    s3 = management.client("s3")
    digests = [k for k in keys(s3, bucket) if "/CloudTrail-Digest/" in k]
    assert any(k.startswith(f"AWSLogs/{org_id}/{member.account_id}/CloudTrail-Digest/us-east-1/") for k in digests)
    env_account = management
    result = subprocess.run([AWS, "cloudtrail", "validate-logs", "--trail-arn", arn, "--start-time",
                             start.strftime("%Y-%m-%dT%H:%M:%SZ"), "--account-id", member.account_id],
                            env={**os.environ, **env_account.env, "HOME": str(tmp_path),
                                 "AWS_CONFIG_FILE": str(tmp_path / "none"),
                                 "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1/1 digest files valid" in result.stdout and "INVALID" not in result.stdout + result.stderr, result.stdout


def test_validation_turned_on_while_logging_starts_a_digest_chain(server, tmp_path):
    account = server.create_account()
    start = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)
    bucket, arn = logging_trail(account, "later")
    deliver(server)
    account.client("cloudtrail").update_trail(Name="later", EnableLogFileValidation=True)
    account.client("iam").create_user(UserName="after-validation-on")
    deliver(server)
    server.advance(61)
    deliver(server, digests=True)
    s3 = account.client("s3")
    assert len([k for k in keys(s3, bucket) if "/CloudTrail-Digest/" in k]) == 1
    result = validate_logs(account, arn, start, tmp_path)
    assert result.returncode == 0 and "1/1 digest files valid" in result.stdout, result.stdout + result.stderr


def test_a_digest_the_bucket_refuses_is_the_trails_digest_delivery_error(server):
    account = server.create_account()
    bucket, _ = logging_trail(account, "refused-digest", EnableLogFileValidation=True)
    deliver(server)
    account.client("s3").delete_bucket_policy(Bucket=bucket)
    server.advance(61)
    deliver(server, digests=True)
    status = account.client("cloudtrail").get_trail_status(Name="refused-digest")
    assert status["LatestDigestDeliveryError"] == "AccessDenied" and "LatestDigestDeliveryTime" not in status


def test_cloudkeep_trail_validate_checks_another_region_of_a_multi_region_trail(server, tmp_path):
    account = server.create_account()
    start = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)
    bucket, arn = logging_trail(account, "regions", EnableLogFileValidation=True, IsMultiRegionTrail=True)
    account.client("kms", region="eu-west-1").create_key(Description="logged in eu-west-1")
    deliver(server)
    server.advance(61)
    deliver(server, digests=True)
    s3 = account.client("s3")
    assert any("/CloudTrail-Digest/eu-west-1/" in k for k in keys(s3, bucket))
    env = {**os.environ, **account.env, "HOME": str(tmp_path), "AWS_CONFIG_FILE": str(tmp_path / "none"),
           "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")}
    ours = subprocess.run([sys.executable, "-m", "cloudkeep", "trail", "validate", "--trail-arn", arn, "--start-time",
                           start.strftime("%Y-%m-%dT%H:%M:%SZ"), "--region", "eu-west-1"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert ours.returncode == 0 and "1/1 digest files valid" in ours.stdout, ours.stdout + ours.stderr
    theirs = subprocess.run([AWS, "cloudtrail", "validate-logs", "--trail-arn", arn, "--start-time",
                             start.strftime("%Y-%m-%dT%H:%M:%SZ"), "--region", "eu-west-1"],
                            env=env, capture_output=True, text=True, timeout=120)
    assert theirs.returncode == 0 and "1/1 digest files valid" in theirs.stdout, theirs.stdout + theirs.stderr


def test_validate_logs_with_a_key_prefix(server, tmp_path):
    account = server.create_account()
    start = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)
    bucket, arn = logging_trail(account, "prefixed", EnableLogFileValidation=True, S3KeyPrefix="team/audit")
    account.client("iam").create_user(UserName="prefixed-user")
    deliver(server)
    server.advance(61)
    deliver(server, digests=True)
    found = keys(account.client("s3"), bucket)
    assert found and all(k.startswith("team/audit/AWSLogs/") for k in found), found
    result = validate_logs(account, arn, start, tmp_path)
    assert result.returncode == 0 and "1/1 digest files valid" in result.stdout, result.stdout + result.stderr
    ours = cloudkeep_validate(account, arn, start, tmp_path)
    assert ours.returncode == 0 and "1/1 digest files valid" in ours.stdout, ours.stdout + ours.stderr
