"""End to end: CloudTrail's event history (LookupEvents) against the real server, with boto3 and
the AWS CLI.

https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html
https://docs.aws.amazon.com/awscloudtrail/latest/userguide/view-cloudtrail-events.html
(the last 90 days of management events of an account and region; data events such as S3 object
reads and writes are not in the event history).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from sqlalchemy import select

from cloudkeep.storage.engine import Store, sqlite_url
from cloudkeep.storage.schema import audit_event_resources, audit_events
from cloudkeep.testing.server import Account, CloudkeepServer, client_for
from cloudtrail_delivery_support import record_data_events

AWS = shutil.which("aws", path=str(Path(sys.executable).parent)) or shutil.which("aws")
DAY = 86400


@pytest.fixture(scope="module")
def ck() -> Iterator[CloudkeepServer]:
    """A server of this module's own: the tests move its clock."""
    with CloudkeepServer() as server:
        yield server


def _lookup(account: Account, region: str = "us-east-1", **params: Any) -> list[dict[str, Any]]:
    """Every event of a lookup, following NextToken."""
    ct = account.client("cloudtrail", region=region)
    events: list[dict[str, Any]] = []
    while True:
        out = ct.lookup_events(**params)
        events += out["Events"]
        if "NextToken" not in out:
            return events
        params = {**params, "NextToken": out["NextToken"]}


def _by(key: str, value: str) -> dict[str, Any]:
    return {"LookupAttributes": [{"AttributeKey": key, "AttributeValue": value}]}


def _rid(response: dict[str, Any]) -> str:
    return response["ResponseMetadata"]["RequestId"]


def _requests(events: list[dict[str, Any]]) -> list[str]:
    return [json.loads(e["CloudTrailEvent"])["requestID"] for e in events]


def _error(call: Any, **params: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as caught:
        call(**params)
    return caught.value.response["Error"]["Code"], caught.value.response["Error"].get("Message", "")


def _user_with_policy(account: Account, name: str, actions: list[str]) -> Account:
    iam = account.client("iam")
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return Account(account_id=account.account_id, access_key_id=key["AccessKeyId"],
                   secret_access_key=key["SecretAccessKey"], endpoint=account.endpoint)


def test_every_lookup_attribute_finds_exactly_its_events(ck):
    acct = ck.create_account()
    iam, kms = acct.client("iam"), acct.client("kms")
    created = _rid(iam.create_user(UserName="hist-bob"))
    key = kms.create_key(Description="history")["KeyMetadata"]
    listed = _rid(iam.list_users())
    alice = _user_with_policy(acct, "alice", ["iam:ListUsers", "iam:GetUser"])
    by_alice = _rid(alice.client("iam").list_users())
    ck.flush()

    everything = _lookup(acct)
    assert created in _requests(everything) and listed in _requests(everything)
    create_bob = next(e for e in everything if _requests([e]) == [created])
    assert create_bob["EventName"] == "CreateUser" and create_bob["ReadOnly"] == "false"
    assert create_bob["EventSource"] == "iam.amazonaws.com" and create_bob["Username"] == "root"
    assert create_bob["AccessKeyId"] == acct.access_key_id
    assert {"ResourceType": "AWS::IAM::User", "ResourceName": "hist-bob"} in create_bob["Resources"]
    record = json.loads(create_bob["CloudTrailEvent"])
    assert record["eventID"] == create_bob["EventId"] and record["recipientAccountId"] == acct.account_id
    assert isinstance(create_bob["EventTime"], dt.datetime)

    assert [e["EventId"] for e in _lookup(acct, **_by("EventId", create_bob["EventId"]))] == [create_bob["EventId"]]
    assert {e["EventName"] for e in _lookup(acct, **_by("EventName", "CreateUser"))} == {"CreateUser"}
    assert set(_requests(_lookup(acct, **_by("EventName", "CreateUser")))) == {
        created, *(_requests([e for e in everything if e["EventName"] == "CreateUser"]))}
    read_only = _lookup(acct, **_by("ReadOnly", "true"))
    writes = _lookup(acct, **_by("ReadOnly", "false"))
    assert {e["ReadOnly"] for e in read_only} == {"true"} and {e["ReadOnly"] for e in writes} == {"false"}
    assert listed in _requests(read_only) and created in _requests(writes)
    # the lookups' own read-only events land as the test runs: leave them out of the count
    def others(events: list[dict[str, Any]]) -> list[str]:
        return sorted(e["EventId"] for e in events if e["EventName"] != "LookupEvents")
    assert sorted(others(read_only) + others(writes)) == others(everything)
    assert _requests(_lookup(acct, **_by("Username", "alice"))) == [by_alice]
    assert _requests(_lookup(acct, **_by("AccessKeyId", alice.access_key_id))) == [by_alice]
    kms_events = _lookup(acct, **_by("EventSource", "kms.amazonaws.com"))
    assert [e["EventName"] for e in kms_events] == ["CreateKey"]
    assert kms_events[0]["Resources"] == [{"ResourceType": "AWS::KMS::Key", "ResourceName": key["Arn"]}]
    assert [e["EventName"] for e in _lookup(acct, **_by("ResourceType", "AWS::KMS::Key"))] == ["CreateKey"]
    assert [e["EventName"] for e in _lookup(acct, **_by("ResourceName", key["Arn"]))] == ["CreateKey"]
    by_user = _lookup(acct, **_by("ResourceName", "hist-bob"))
    assert _requests(by_user) == [created]
    assert {e["EventName"] for e in _lookup(acct, **_by("ResourceType", "AWS::IAM::User"))} >= {"CreateUser"}
    assert _lookup(acct, **_by("Username", "nobody")) == []


def test_an_assumed_role_session_is_looked_up_by_its_session_name(ck):
    """The event history's "User name" of a role session is the session name
    (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/view-cloudtrail-events-console.html)."""
    acct = ck.create_account()
    caller = _user_with_policy(acct, "assumer", ["sts:AssumeRole"])
    acct.client("iam").create_role(RoleName="auditor", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"AWS": f"arn:aws:iam::{acct.account_id}:root"}}]}))
    acct.client("iam").put_role_policy(RoleName="auditor", PolicyName="p", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:CreateUser", "Resource": "*"}]}))
    creds = caller.client("sts").assume_role(RoleArn=f"arn:aws:iam::{acct.account_id}:role/auditor",
                                             RoleSessionName="night-shift")["Credentials"]
    session_iam = client_for(acct.endpoint, "iam", creds["AccessKeyId"], creds["SecretAccessKey"],
                             session_token=creds["SessionToken"])
    created = _rid(session_iam.create_user(UserName="made-by-role"))
    events = _lookup(acct, **_by("Username", "night-shift"))
    assert _requests(events) == [created]
    assert events[0]["AccessKeyId"] == creds["AccessKeyId"]
    assert json.loads(events[0]["CloudTrailEvent"])["userIdentity"]["type"] == "AssumedRole"
    assert _requests(_lookup(acct, **_by("AccessKeyId", creds["AccessKeyId"]))) == [created]


def test_newest_first_and_paging_is_stable_while_writes_happen(ck):
    acct = ck.create_account()
    iam = acct.client("iam")
    first = [_rid(iam.create_user(UserName=f"page-{n}")) for n in range(12)]
    ct = acct.client("cloudtrail")
    seen: list[dict[str, Any]] = []
    params: dict[str, Any] = {**_by("EventName", "CreateUser"), "MaxResults": 5}
    pages = 0
    while True:
        out = ct.lookup_events(**params)
        pages += 1
        assert len(out["Events"]) <= 5
        seen += out["Events"]
        iam.create_user(UserName=f"during-{pages}")          # a write between every two pages
        if "NextToken" not in out:
            break
        params["NextToken"] = out["NextToken"]
    assert pages == 3
    assert _requests(seen) == list(reversed(first))          # newest first, none twice, none missing
    times = [e["EventTime"] for e in seen]
    assert times == sorted(times, reverse=True)


def test_a_burst_of_the_same_read_pages_and_looks_up_event_by_event(ck):
    """The recorder keeps one row for reads it cannot tell apart but by their id (the same call
    by the same caller in one second, audit.recorder.insert_chunks): through the API each is
    still an event of its own, paged one by one, each found by its EventId."""
    acct = ck.create_account()
    iam = acct.client("iam")
    iam.create_user(UserName="burst-target")
    reads = [_rid(iam.get_user(UserName="burst-target")) for _ in range(40)]
    ck.flush()
    params: dict[str, Any] = {**_by("EventName", "GetUser"), "MaxResults": 3}
    seen = _lookup(acct, **params)
    assert sorted(_requests(seen)) == sorted(reads)                  # each once, none missing
    assert _requests(seen) == list(reversed(reads))                  # newest first, to the request
    ids = [e["EventId"] for e in seen]
    assert len(set(ids)) == 40
    for event in seen[::7]:
        assert _lookup(acct, **_by("EventId", event["EventId"])) == [event]
    store = Store.open(sqlite_url(ck.data_dir), migrate=False)
    try:
        with store.unit_of_work() as uow:
            rows = uow.execute(select(audit_events.c.chunk_count).where(
                audit_events.c.account_id == acct.account_id, audit_events.c.event_name == "GetUser")).all()
    finally:
        store.close()
    assert sum(r.chunk_count or 1 for r in rows) == 40 and len(rows) < 40   # fewer rows than records


def test_paging_while_another_client_keeps_writing_repeats_and_skips_nothing(ck):
    acct = ck.create_account()
    iam = acct.client("iam")
    before = [_rid(iam.create_user(UserName=f"pre-{n}")) for n in range(20)]
    stop = threading.Event()
    written: list[str] = []

    def writer() -> None:
        other = acct.client("iam")
        n = 0
        while not stop.is_set():
            written.append(_rid(other.create_user(UserName=f"live-{n}")))
            other.list_users()                                # and read-only events through the queue
            n += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        seen: list[dict[str, Any]] = []
        ct = acct.client("cloudtrail")
        params: dict[str, Any] = {**_by("EventName", "CreateUser"), "MaxResults": 3}
        while True:
            out = ct.lookup_events(**params)
            seen += out["Events"]
            if "NextToken" not in out:
                break
            params["NextToken"] = out["NextToken"]
    finally:
        stop.set()
        thread.join()
    ids = [e["EventId"] for e in seen]
    assert len(ids) == len(set(ids))                          # nothing twice
    requests = _requests(seen)
    assert [r for r in requests if r in before] == list(reversed(before))   # everything older, in order
    assert set(requests) <= set(before) | set(written)
    keys = [(e["EventTime"]) for e in seen]
    assert keys == sorted(keys, reverse=True)


def test_start_and_end_time_bound_the_events_inclusively(ck):
    acct = ck.create_account()
    iam = acct.client("iam")
    early = _rid(iam.create_user(UserName="t-early"))
    ck.advance(3600)
    middle = _rid(iam.create_user(UserName="t-middle"))
    ck.advance(3600)
    late = _rid(iam.create_user(UserName="t-late"))
    listed = _lookup(acct, **_by("EventName", "CreateUser"))
    events = dict(zip(_requests(listed), listed))
    at = events[middle]["EventTime"]
    assert _requests(_lookup(acct, **_by("EventName", "CreateUser"), StartTime=at, EndTime=at)) == [middle]
    assert _requests(_lookup(acct, **_by("EventName", "CreateUser"), StartTime=at)) == [late, middle]
    assert _requests(_lookup(acct, **_by("EventName", "CreateUser"), EndTime=at)) == [middle, early]
    code, _ = _error(acct.client("cloudtrail").lookup_events, StartTime=at, EndTime=at - dt.timedelta(seconds=1))
    assert code == "InvalidTimeRangeException"


def test_bad_requests_get_cloudtrails_errors(ck):
    acct = ck.create_account()
    acct.client("iam").create_user(UserName="err-user")
    ct = acct.client("cloudtrail")
    assert _error(ct.lookup_events, **_by("ReadOnly", "maybe"))[0] == "InvalidLookupAttributesException"
    assert _error(ct.lookup_events, NextToken="not-a-token")[0] == "InvalidNextTokenException"
    for _ in range(3):
        acct.client("iam").list_users()
    ck.flush()
    token = ct.lookup_events(MaxResults=1)["NextToken"]
    # a token must come back with the parameters of the call that gave it
    assert _error(ct.lookup_events, NextToken=token, **_by("EventName", "ListUsers"))[0] == "InvalidNextTokenException"
    assert len(ct.lookup_events(MaxResults=1, NextToken=token)["Events"]) == 1
    raw = acct.client("cloudtrail", config=Config(parameter_validation=False, retries={"max_attempts": 1}))
    for bad in (0, 51):
        assert _error(raw.lookup_events, MaxResults=bad)[0] == "InvalidMaxResultsException"
    assert len(ct.lookup_events(MaxResults=50)["Events"]) >= 5


def test_only_the_first_of_several_lookup_attributes_filters(ck):
    """AWS's servers filter on the first attribute and ignore the rest, without an error
    (https://github.com/zb-ss/servonaut/pull/103, https://github.com/guessi/cloudtrail-cli/issues/2)."""
    acct = ck.create_account()
    created = _rid(acct.client("iam").create_user(UserName="first-only"))
    two = [{"AttributeKey": "ResourceName", "AttributeValue": "first-only"},
           {"AttributeKey": "Username", "AttributeValue": "somebody-else"}]
    assert _requests(_lookup(acct, LookupAttributes=two)) == [created]
    assert _lookup(acct, LookupAttributes=list(reversed(two))) == []


def test_insight_events_are_none(ck):
    acct = ck.create_account()
    acct.client("iam").create_user(UserName="ins")
    assert acct.client("cloudtrail").lookup_events(EventCategory="insight")["Events"] == []


def test_each_region_and_each_account_sees_only_its_own_events(ck):
    a, b = ck.create_account(), ck.create_account()
    key = a.client("kms", region="eu-west-1").create_key()["KeyMetadata"]
    b.client("iam").create_user(UserName="only-b")
    in_eu = _lookup(a, "eu-west-1", **_by("EventSource", "kms.amazonaws.com"))
    assert [e["Resources"][0]["ResourceName"] for e in in_eu] == [key["Arn"]]
    assert _lookup(a, "us-east-1", **_by("EventSource", "kms.amazonaws.com")) == []
    assert _lookup(a, "us-east-1", **_by("ResourceName", "only-b")) == []
    assert [e["EventName"] for e in _lookup(b, **_by("ResourceName", "only-b"))] == ["CreateUser"]
    assert _lookup(b, "eu-west-1", **_by("EventSource", "kms.amazonaws.com")) == []


def test_data_events_are_not_in_the_event_history(ck):
    record_data_events(ck)           # recorded for the trail that selects them, not in the history
    acct = ck.create_account()
    s3 = acct.client("s3")
    s3.create_bucket(Bucket=f"hist-{acct.account_id}")
    s3.put_object(Bucket=f"hist-{acct.account_id}", Key="k", Body=b"data")
    s3.get_object(Bucket=f"hist-{acct.account_id}", Key="k")["Body"].read()
    ck.flush()
    names = {e["EventName"] for e in _lookup(acct, **_by("EventSource", "s3.amazonaws.com"))}
    assert "CreateBucket" in names
    assert not names & {"PutObject", "GetObject"}
    assert _lookup(acct, **_by("EventName", "PutObject")) == []
    store = Store.open(sqlite_url(ck.data_dir), migrate=False)
    try:
        with store.unit_of_work() as uow:
            stored = set(uow.execute(select(audit_events.c.event_name).where(
                audit_events.c.account_id == acct.account_id,
                audit_events.c.event_source == "s3.amazonaws.com")).scalars())
    finally:
        store.close()
    assert {"PutObject", "GetObject"} <= stored      # recorded for the trail, kept out of the history


def test_lookup_events_needs_cloudtrail_lookup_events_permission(ck):
    acct = ck.create_account()
    denied = _user_with_policy(acct, "no-trail", ["iam:ListUsers"])
    allowed = _user_with_policy(acct, "trail-reader", ["cloudtrail:LookupEvents"])
    code, message = _error(denied.client("cloudtrail").lookup_events)
    assert code == "AccessDeniedException"
    assert "cloudtrail:LookupEvents" in message
    names = {e["EventName"] for e in _lookup(allowed)}
    assert "CreateUser" in names


def test_events_older_than_90_days_are_gone():
    with CloudkeepServer() as server:
        acct = server.create_account()
        old = _rid(acct.client("iam").create_user(UserName="old-user"))
        server.advance(89 * DAY)
        assert _requests(_lookup(acct, **_by("ResourceName", "old-user"))) == [old]
        server.advance(2 * DAY)
        new = _rid(acct.client("iam").create_user(UserName="new-user"))
        assert _lookup(acct, **_by("ResourceName", "old-user")) == []
        assert _requests(_lookup(acct, **_by("ResourceName", "new-user"))) == [new]
        server.flush()                                       # the flush hook also prunes
        store = Store.open(sqlite_url(server.data_dir), migrate=False)
        try:
            with store.unit_of_work() as uow:
                names = [r.resource_name for r in uow.execute(select(audit_event_resources.c.resource_name)
                                                              .where(audit_event_resources.c.account_id
                                                                     == acct.account_id))]
                times = [r.event_time for r in uow.execute(select(audit_events.c.event_time))]
        finally:
            store.close()
        assert "old-user" not in names and "new-user" in names
        assert times and min(times) > max(times) - dt.timedelta(days=90)


def test_aws_cli_lookup_events(ck):
    assert AWS is not None, "the AWS CLI is missing: it comes with the test extra"
    acct = ck.create_account()
    acct.client("iam").create_user(UserName="cli-user")
    env = {**os.environ, **acct.env, "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
           "AWS_PAGER": "", "AWS_MAX_ATTEMPTS": "1"}
    env.pop("AWS_PROFILE", None)
    env.pop("AWS_SESSION_TOKEN", None)
    out = subprocess.run([AWS, "cloudtrail", "lookup-events", "--lookup-attributes",
                          "AttributeKey=ResourceName,AttributeValue=cli-user", "--output", "json"],
                         env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    events = json.loads(out.stdout)["Events"]
    assert [e["EventName"] for e in events] == ["CreateUser"]
    assert events[0]["Resources"] == [{"ResourceType": "AWS::IAM::User", "ResourceName": "cli-user"}]
    assert json.loads(events[0]["CloudTrailEvent"])["requestParameters"]["userName"] == "cli-user"

    # the CLI's own paging: --max-items, then --starting-token with the token it printed
    created = [_rid(acct.client("iam").create_user(UserName=f"cli-page-{n}")) for n in range(5)]

    def cli(*args: str) -> dict[str, Any]:
        done = subprocess.run([AWS, "cloudtrail", "lookup-events", "--lookup-attributes",
                               "AttributeKey=EventName,AttributeValue=CreateUser", "--output", "json", *args],
                              env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    first = cli("--max-items", "3", "--page-size", "2")
    rest = cli("--starting-token", first["NextToken"])
    assert len(first["Events"]) == 3
    assert _requests(first["Events"] + rest["Events"]) == list(reversed(created)) + _requests(events)


@pytest.mark.postgres
def test_history_on_postgresql_with_two_workers(request, tmp_path):
    """The same lookups, paging and prune with the store on PostgreSQL and two worker processes
    (any worker answers any page)."""
    from storage_backends import _PostgresDatabase

    url = _PostgresDatabase().ensure(request.config)          # a database of its own
    with CloudkeepServer(data_dir=tmp_path / "data", store_url=url, workers=2) as server:
        acct = server.create_account()
        iam = acct.client("iam")
        created = [_rid(iam.create_user(UserName=f"pg-{n}")) for n in range(9)]
        listed = [_rid(iam.list_users()) for _ in range(4)]
        server.flush()
        by_name = _lookup(acct, **_by("EventName", "CreateUser"), MaxResults=2)
        assert _requests(by_name) == list(reversed(created))
        # the flush hook reaches one worker; the other builds and writes its queued reads within
        # two flush intervals (about a second): wait for them, with a bound
        import time

        deadline = time.monotonic() + 10
        while not set(listed) <= set(_requests(_lookup(acct, **_by("ReadOnly", "true")))):
            assert time.monotonic() < deadline, "reads of the other worker never reached the history"
            time.sleep(0.2)
        assert _requests(_lookup(acct, **_by("ResourceName", "pg-4"))) == [created[4]]
        server.advance(91 * DAY)
        assert _lookup(acct, **_by("EventName", "CreateUser")) == []
        server.flush()                                       # prunes (each worker's flush hook)
        store = Store.open(url, migrate=False)
        try:
            with store.unit_of_work() as uow:
                left = uow.execute(select(audit_events.c.event_name)
                                   .where(audit_events.c.account_id == acct.account_id)).scalars().all()
                resources = uow.execute(select(audit_event_resources.c.resource_name)
                                        .where(audit_event_resources.c.account_id == acct.account_id)).all()
        finally:
            store.close()
        assert "CreateUser" not in left and resources == []

