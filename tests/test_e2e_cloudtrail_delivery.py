"""Trails delivering log files to S3, end to end with boto3 reading the bucket: AWS's key layout,
gzipped {"Records": [...]} files, what selectors select (management read/write, S3 data events
by bucket and prefix, advanced selectors), the bucket policy deciding CloudTrail's writes
(LatestDeliveryError), SSE-KMS with the trail's key, and delivery across a restart.

AWS pages: https://docs.aws.amazon.com/awscloudtrail/latest/userguide/get-and-view-cloudtrail-log-files.html,
https://docs.aws.amazon.com/awscloudtrail/latest/userguide/logging-data-events-with-cloudtrail.html,
https://docs.aws.amazon.com/awscloudtrail/latest/userguide/create-s3-bucket-policy-for-cloudtrail.html
"""

from __future__ import annotations

import gzip
import json
import re
import time

import pytest

from cloudkeep.storage.engine import Store, sqlite_url
from cloudkeep.storage.schema import audit_events
from cloudkeep.testing.audit import stored_records
from cloudkeep.testing.server import CloudkeepServer
from cloudtrail_delivery_support import cloudtrail_bucket_policy, deliver, keys, logging_trail, records, unique


def test_events_are_delivered_as_gzipped_records_under_awss_key_layout(cloudkeep_server, cloudkeep_account):
    account = cloudkeep_account.account_id
    bucket, arn = logging_trail(cloudkeep_account, "layout")
    iam = cloudkeep_account.client("iam")
    iam.create_user(UserName="delivered-user")
    deliver(cloudkeep_server)
    s3 = cloudkeep_account.client("s3")
    found = keys(s3, bucket)
    pattern = re.compile(rf"AWSLogs/{account}/CloudTrail/us-east-1/\d{{4}}/\d{{2}}/\d{{2}}/"
                         rf"{account}_CloudTrail_us-east-1_\d{{8}}T\d{{4}}Z_[A-Za-z0-9]{{16}}\.json\.gz")
    assert found and all(pattern.fullmatch(k) for k in found), found
    raw = s3.get_object(Bucket=bucket, Key=found[0])["Body"].read()
    assert set(json.loads(gzip.decompress(raw))) == {"Records"}
    events = records(s3, bucket)
    names = [(e["eventSource"], e["eventName"]) for e in events]
    assert ("iam.amazonaws.com", "CreateUser") in names
    assert ("cloudtrail.amazonaws.com", "StartLogging") in names
    assert all(e["recipientAccountId"] == account for e in events)
    status = cloudkeep_account.client("cloudtrail").get_trail_status(Name="layout")
    assert "LatestDeliveryTime" in status and "LatestDeliveryError" not in status


def test_nothing_before_start_logging_and_nothing_twice(cloudkeep_server, cloudkeep_account):
    iam = cloudkeep_account.client("iam")
    iam.create_user(UserName="before-logging")
    bucket, _ = logging_trail(cloudkeep_account, "once")
    iam.create_user(UserName="after-logging")
    deliver(cloudkeep_server)
    deliver(cloudkeep_server)
    users = [e["requestParameters"]["userName"] for e in records(cloudkeep_account.client("s3"), bucket)
             if e["eventName"] == "CreateUser"]
    assert users == ["after-logging"]


def test_write_only_selector_leaves_read_events_out(cloudkeep_server, cloudkeep_account):
    bucket, _ = logging_trail(cloudkeep_account, "writes",
                              selectors={"EventSelectors": [{"ReadWriteType": "WriteOnly"}]})
    iam = cloudkeep_account.client("iam")
    iam.create_user(UserName="w1")
    iam.list_users()
    deliver(cloudkeep_server)
    events = records(cloudkeep_account.client("s3"), bucket)
    assert any(e["eventName"] == "CreateUser" for e in events)
    assert not any(e["readOnly"] for e in events if e["eventTime"] > "")
    assert not any(e["eventName"] == "ListUsers" for e in events)


def test_s3_data_events_only_for_selected_bucket_and_prefix(cloudkeep_server, cloudkeep_account):
    s3 = cloudkeep_account.client("s3")
    data = unique("data")
    s3.create_bucket(Bucket=data)
    bucket, _ = logging_trail(cloudkeep_account, "data", selectors={"EventSelectors": [{
        "ReadWriteType": "All", "IncludeManagementEvents": False,
        "DataResources": [{"Type": "AWS::S3::Object", "Values": [f"arn:aws:s3:::{data}/in/"]}]}]})
    s3.put_object(Bucket=data, Key="in/a.txt", Body=b"a")
    s3.put_object(Bucket=data, Key="out/b.txt", Body=b"b")
    s3.get_object(Bucket=data, Key="in/a.txt")["Body"].read()
    cloudkeep_account.client("iam").create_user(UserName="not-selected")
    deliver(cloudkeep_server)
    events = records(s3, bucket)
    got = sorted((e["eventName"], e["requestParameters"].get("key")) for e in events)
    assert got == [("GetObject", "in/a.txt"), ("PutObject", "in/a.txt")], got
    assert all(e["managementEvent"] is False and e["eventCategory"] == "Data" for e in events)


def test_advanced_selector_selects_by_event_name(cloudkeep_server, cloudkeep_account):
    bucket, _ = logging_trail(cloudkeep_account, "adv", selectors={"AdvancedEventSelectors": [{"FieldSelectors": [
        {"Field": "eventCategory", "Equals": ["Management"]}, {"Field": "readOnly", "Equals": ["false"]}]}]})
    iam = cloudkeep_account.client("iam")
    iam.create_user(UserName="adv1")
    iam.get_user(UserName="adv1")
    deliver(cloudkeep_server)
    names = {e["eventName"] for e in records(cloudkeep_account.client("s3"), bucket)}
    assert "CreateUser" in names and "GetUser" not in names


def test_bucket_policy_refusing_cloudtrail_is_a_delivery_error_and_nothing_is_lost(cloudkeep_server,
                                                                                   cloudkeep_account):
    ct = cloudkeep_account.client("cloudtrail")
    s3 = cloudkeep_account.client("s3")
    bucket, _ = logging_trail(cloudkeep_account, "refused")
    deliver(cloudkeep_server)
    before = keys(s3, bucket)
    policy = s3.get_bucket_policy(Bucket=bucket)["Policy"]
    s3.delete_bucket_policy(Bucket=bucket)
    cloudkeep_account.client("iam").create_user(UserName="while-refused")
    deliver(cloudkeep_server)
    status = ct.get_trail_status(Name="refused")
    assert status["LatestDeliveryError"] == "AccessDenied"
    assert keys(s3, bucket) == before
    # the refused write is an event of the bucket owner, with CloudTrail as the caller
    cloudkeep_server.flush()
    refused = [r for r in stored_records(Store.open(sqlite_url(cloudkeep_server.data_dir)),
                                         audit_events.c.account_id == cloudkeep_account.account_id,
                                         audit_events.c.event_name == "PutObject")
               if (r.get("requestParameters") or {}).get("bucketName") == bucket and r.get("errorCode")]
    assert refused and refused[0]["errorCode"] == "AccessDenied"
    assert refused[0]["userIdentity"] == {"type": "AWSService", "invokedBy": "cloudtrail.amazonaws.com"}
    s3.put_bucket_policy(Bucket=bucket, Policy=policy)
    deliver(cloudkeep_server)
    assert "while-refused" in [e["requestParameters"].get("userName") for e in records(s3, bucket)
                               if e["eventName"] == "CreateUser"]
    assert "LatestDeliveryError" not in ct.get_trail_status(Name="refused")


def test_kms_trail_files_are_sse_kms_with_the_trails_key(cloudkeep_server, cloudkeep_account):
    account = cloudkeep_account.account_id
    kms = cloudkeep_account.client("kms")
    key = kms.create_key(Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "kms:GenerateDataKey*",
         "Resource": "*", "Condition": {"StringLike": {
             "kms:EncryptionContext:aws:cloudtrail:arn": f"arn:aws:cloudtrail:*:{account}:trail/*"}}}]}))
    key_arn = key["KeyMetadata"]["Arn"]
    bucket, _ = logging_trail(cloudkeep_account, "encrypted", KmsKeyId=key_arn)
    cloudkeep_account.client("iam").create_user(UserName="enc-user")
    deliver(cloudkeep_server)
    s3 = cloudkeep_account.client("s3")
    found = keys(s3, bucket)
    assert found
    head = s3.head_object(Bucket=bucket, Key=found[0])
    assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == key_arn
    assert any(e["eventName"] == "CreateUser" for e in records(s3, bucket))


def test_multi_region_trail_delivers_every_regions_events_under_their_region(cloudkeep_server, cloudkeep_account):
    account = cloudkeep_account.account_id
    bucket, _ = logging_trail(cloudkeep_account, "all-regions", IsMultiRegionTrail=True)
    single, _ = logging_trail(cloudkeep_account, "home-only")
    cloudkeep_account.client("kms", region="eu-west-1").create_key(Description="in-ireland")
    deliver(cloudkeep_server)
    s3 = cloudkeep_account.client("s3")
    assert any(k.startswith(f"AWSLogs/{account}/CloudTrail/eu-west-1/") for k in keys(s3, bucket))
    created = [e for e in records(s3, bucket) if e["eventName"] == "CreateKey"]
    assert [e["awsRegion"] for e in created] == ["eu-west-1"]
    assert not any(e["eventName"] == "CreateKey" for e in records(s3, single))


def test_a_bucket_of_another_account_receives_the_trail_when_its_policy_allows(cloudkeep_server,
                                                                              cloudkeep_account):
    central = cloudkeep_server.create_account()
    s3 = central.client("s3")
    bucket = unique("central")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_policy(Bucket=bucket, Policy=cloudtrail_bucket_policy(bucket, cloudkeep_account.account_id,
                                                                         "to-central"))
    ct = cloudkeep_account.client("cloudtrail")
    ct.create_trail(Name="to-central", S3BucketName=bucket)
    ct.start_logging(Name="to-central")
    cloudkeep_account.client("iam").create_user(UserName="centrally-logged")
    deliver(cloudkeep_server)
    found = keys(s3, bucket)
    assert found and all(k.startswith(f"AWSLogs/{cloudkeep_account.account_id}/") for k in found)
    assert any(e["eventName"] == "CreateUser" for e in records(s3, bucket))
    assert s3.get_object_acl(Bucket=bucket, Key=found[0])["Owner"]["ID"] == s3.get_bucket_acl(Bucket=bucket)["Owner"]["ID"]


def test_the_background_worker_delivers_within_the_delivery_delay():
    with CloudkeepServer() as server:
        server._post("/_cloudkeep/test/cloudtrail/timing", {"delivery_seconds": 1})
        account = server.create_account()
        bucket, _ = logging_trail(account, "background")
        account.client("iam").create_user(UserName="by-the-worker")
        s3 = account.client("s3")
        deadline = time.monotonic() + 60          # a bound for a loaded machine, not a measurement
        while time.monotonic() < deadline:
            if any(e["eventName"] == "CreateUser" for e in records(s3, bucket)):
                break
            time.sleep(0.5)
        else:
            pytest.fail("the background worker delivered nothing")


def test_a_stopped_trail_delivers_what_came_before_the_stop_and_nothing_after(cloudkeep_server, cloudkeep_account):
    ct = cloudkeep_account.client("cloudtrail")
    bucket, _ = logging_trail(cloudkeep_account, "stopped")
    iam = cloudkeep_account.client("iam")
    iam.create_user(UserName="before-stop")
    ct.stop_logging(Name="stopped")
    iam.create_user(UserName="after-stop")
    deliver(cloudkeep_server)
    events = records(cloudkeep_account.client("s3"), bucket)
    users = {e["requestParameters"]["userName"] for e in events if e["eventName"] == "CreateUser"}
    assert users == {"before-stop"}
    assert any(e["eventName"] == "StopLogging" for e in events)
    ct.start_logging(Name="stopped")
    iam.create_user(UserName="restarted")
    deliver(cloudkeep_server)
    users = {e["requestParameters"]["userName"] for e in records(cloudkeep_account.client("s3"), bucket)
             if e["eventName"] == "CreateUser"}
    assert users == {"before-stop", "restarted"}


def test_cloudtrails_own_writes_are_data_events_of_the_bucket_owner(cloudkeep_server, cloudkeep_account):
    account = cloudkeep_account.account_id
    logs, _ = logging_trail(cloudkeep_account, "writer")
    watched, _ = logging_trail(cloudkeep_account, "watcher", selectors={"EventSelectors": [{
        "ReadWriteType": "WriteOnly", "IncludeManagementEvents": False,
        "DataResources": [{"Type": "AWS::S3::Object", "Values": [f"arn:aws:s3:::{logs}/"]}]}]})
    deliver(cloudkeep_server)          # "writer" writes a log file into its bucket
    deliver(cloudkeep_server)          # "watcher" delivers the data event of that write
    events = [e for e in records(cloudkeep_account.client("s3"), watched) if e["eventName"] == "PutObject"]
    assert events, "CloudTrail's write was not recorded"
    written = [e["requestParameters"]["key"] for e in events]
    assert len(written) == len(set(written)), "a write was recorded twice"
    event = events[0]
    assert event["userIdentity"]["type"] == "AWSService"
    assert event["userIdentity"]["invokedBy"] == "cloudtrail.amazonaws.com"
    assert event["sourceIPAddress"] == "cloudtrail.amazonaws.com"
    assert event["recipientAccountId"] == account and event["requestParameters"]["bucketName"] == logs


def test_data_events_are_recorded_only_while_a_logging_trail_selects_them():
    """CloudTrail logs data events only for trails configured for them: a server where no
    logging trail selects data events stores none; a trail that does makes them recorded from
    then on; stopping it stops them again. Management events are recorded throughout."""
    with CloudkeepServer() as server:
        store = Store.open(sqlite_url(server.data_dir), migrate=False)
        try:
            account = server.create_account()
            s3 = account.client("s3")
            bucket = unique("gate")
            s3.create_bucket(Bucket=bucket)

            def stored(key: str) -> list[str]:
                server.flush()
                return [e["eventName"] for e in stored_records(store, audit_events.c.account_id == account.account_id)
                        if e["eventSource"] == "s3.amazonaws.com" and
                        (e.get("requestParameters") or {}).get("key") == key]

            s3.put_object(Bucket=bucket, Key="before", Body=b"1")
            s3.get_object(Bucket=bucket, Key="before")["Body"].read()
            assert stored("before") == []
            assert "CreateBucket" in [e["eventName"] for e in stored_records(
                store, audit_events.c.account_id == account.account_id)]
            watcher = server.create_account()
            logging_trail(watcher, "selects-data", selectors={"EventSelectors": [{
                "ReadWriteType": "All", "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}]}]})
            s3.put_object(Bucket=bucket, Key="during", Body=b"2")
            s3.get_object(Bucket=bucket, Key="during")["Body"].read()
            assert sorted(stored("during")) == ["GetObject", "PutObject"]
            watcher.client("cloudtrail").put_event_selectors(
                TrailName="selects-data", EventSelectors=[{"ReadWriteType": "All"}])   # management only
            s3.put_object(Bucket=bucket, Key="after", Body=b"3")
            assert stored("after") == []
        finally:
            store.close()
