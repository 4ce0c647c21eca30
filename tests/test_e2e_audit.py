"""End to end: every request to the real server becomes a CloudTrail-format event in ``audit_events``.

The test reads the server's SQLite store directly (read-only, never migrating or writing) after
``flush()`` has written the server's queued events. A successful mutating call's event is in the
same transaction as its change (in ``audit_journal``, which the recorder's batches move into the
event history), so it is on disk without a flush; read-only, denied and failed calls are queued
and written in batches, and at a clean shutdown.

CloudTrail record contents:
https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html
userIdentity: https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-user-identity.html
IAM examples (CreateUser, CreateAccessKey without the secret):
https://docs.aws.amazon.com/IAM/latest/UserGuide/cloudtrail-integration.html
"""

from __future__ import annotations

import json
import re
import signal
from typing import Any, Iterator

import pytest
from botocore.exceptions import ClientError
from sqlalchemy import select

from cloudkeep.storage.engine import Store, sqlite_url
from cloudkeep.storage.schema import audit_events
from cloudkeep.testing.audit import (journaled_records, records_mentioning, records_of_request, stored_records,
                                     stored_rows)
from cloudkeep.testing.server import Account, CloudkeepServer, client_for


def _open(server: CloudkeepServer) -> Store:
    return Store.open(sqlite_url(server.data_dir), migrate=False)


@pytest.fixture(scope="module")
def store(cloudkeep_server: CloudkeepServer) -> Iterator[Store]:
    opened = _open(cloudkeep_server)
    try:
        yield opened
    finally:
        opened.close()


def _rows(store: Store, *where: Any) -> list[Any]:
    with store.unit_of_work() as uow:
        return list(uow.execute(select(audit_events).where(*where)).all())


def _records(store: Store, *where: Any) -> list[dict[str, Any]]:
    return stored_records(store, *where)


def _by_request_id(store: Store, request_id: str) -> list[dict[str, Any]]:
    return records_of_request(store, request_id)


def _one(store: Store, request_id: str) -> dict[str, Any]:
    events = _by_request_id(store, request_id)
    assert len(events) == 1, events
    return events[0]


def _rid(response_or_error: Any) -> str:
    meta = (response_or_error.response if isinstance(response_or_error, ClientError)
            else response_or_error)["ResponseMetadata"]
    return meta["RequestId"]


def _iam_user_with_key(account: Account, name: str) -> tuple[dict, dict]:
    iam = account.client("iam")
    user = iam.create_user(UserName=name)["User"]
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return user, key


def _root_identity(account: Account) -> dict[str, Any]:
    return {"type": "Root", "principalId": account.account_id,
            "arn": f"arn:aws:iam::{account.account_id}:root", "accountId": account.account_id,
            "accessKeyId": account.access_key_id}


def test_successful_create_user_is_recorded_in_cloudtrail_format(cloudkeep_server, cloudkeep_account, store):
    acct = cloudkeep_account
    response = acct.client("iam").create_user(UserName="alice")
    user = response["User"]
    cloudkeep_server.flush()              # moves it from the journal into the event history
    event = _one(store, _rid(response))

    assert event["eventVersion"] == "1.11"
    assert event["eventSource"] == "iam.amazonaws.com" and event["eventName"] == "CreateUser"
    assert event["awsRegion"] == "us-east-1"
    assert event["userIdentity"] == _root_identity(acct)
    assert event["requestParameters"] == {"userName": "alice"}
    created = event["responseElements"]["user"]
    assert created["userName"] == "alice" and created["userId"] == user["UserId"]
    assert created["arn"] == user["Arn"] and created["path"] == "/"
    assert event["readOnly"] is False and event["managementEvent"] is True
    assert event["eventType"] == "AwsApiCall" and event["eventCategory"] == "Management"
    assert event["recipientAccountId"] == acct.account_id
    assert event["requestID"] == _rid(response)
    assert re.fullmatch(r"[0-9a-f-]{36}", event["eventID"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", event["eventTime"])
    assert event["sourceIPAddress"] == "127.0.0.1" and "Boto3" in event["userAgent"]
    assert "errorCode" not in event and "errorMessage" not in event

    row = _rows(store, audit_events.c.event_id == event["eventID"])[0]
    assert (row.account_id, row.event_name, row.event_source, row.read_only, row.error_code) == (
        acct.account_id, "CreateUser", "iam.amazonaws.com", False, None)
    assert row.access_key_id == acct.access_key_id and row.username == "root"


def test_successful_mutating_call_is_on_disk_before_any_flush(cloudkeep_server, cloudkeep_account, store):
    iam = cloudkeep_account.client("iam")
    rids = [_rid(iam.create_user(UserName=f"now{i}")) for i in range(5)]
    # read at once, with a fresh connection each time: the event committed with the user (in the
    # journal, or already moved into the event history by the recorder)
    for rid in rids:
        fresh = _open(cloudkeep_server)
        try:
            # the journal first: a record only ever moves from there into the history
            found = [r for r in journaled_records(fresh) if r["requestID"] == rid] or _by_request_id(fresh, rid)
            assert len(found) == 1
        finally:
            fresh.close()


def test_create_access_key_event_never_contains_the_secret(cloudkeep_server, cloudkeep_account, store):
    iam = cloudkeep_account.client("iam")
    iam.create_user(UserName="bob")
    response = iam.create_access_key(UserName="bob")
    key = response["AccessKey"]
    secret = key["SecretAccessKey"]
    cloudkeep_server.flush()

    event = _one(store, _rid(response))
    assert event["eventName"] == "CreateAccessKey"
    issued = event["responseElements"]["accessKey"]
    assert issued["accessKeyId"] == key["AccessKeyId"] and issued["userName"] == "bob"
    assert issued["status"] == "Active"
    assert not any(k.lower() == "secretaccesskey" for k in issued)
    # nowhere: not in this record, not in any column of any row of the account
    for row in _rows(store, audit_events.c.account_id == cloudkeep_account.account_id):
        assert all(secret not in str(value) for value in row), row.event_name


def test_denied_call_is_recorded_with_access_denied_and_the_users_identity(cloudkeep_server, cloudkeep_account,
                                                                           store):
    acct = cloudkeep_account
    user, key = _iam_user_with_key(acct, "henry")
    henry = client_for(cloudkeep_server.endpoint, "iam", key["AccessKeyId"], key["SecretAccessKey"])
    with pytest.raises(ClientError) as caught:
        henry.create_user(UserName="mallory")
    assert caught.value.response["Error"]["Code"] == "AccessDenied"
    cloudkeep_server.flush()

    event = _one(store, _rid(caught.value))
    assert event["eventName"] == "CreateUser" and event["errorCode"] == "AccessDenied"
    assert event["errorMessage"] == caught.value.response["Error"]["Message"]
    assert event["userIdentity"] == {"type": "IAMUser", "principalId": user["UserId"], "arn": user["Arn"],
                                     "accountId": acct.account_id, "accessKeyId": key["AccessKeyId"],
                                     "userName": "henry"}
    assert event["recipientAccountId"] == acct.account_id
    assert event["requestParameters"] == {"userName": "mallory"}
    assert event["responseElements"] is None
    assert event["readOnly"] is False
    row = _rows(store, audit_events.c.event_id == event["eventID"])[0]
    assert row.error_code == "AccessDenied" and row.username == "henry"


def test_failed_read_is_recorded_with_its_error_and_read_only(cloudkeep_server, cloudkeep_account, store):
    with pytest.raises(ClientError) as caught:
        cloudkeep_account.client("iam").get_user(UserName="nobody")
    cloudkeep_server.flush()
    event = _one(store, _rid(caught.value))
    assert event["eventName"] == "GetUser" and event["errorCode"] == "NoSuchEntity"
    assert event["errorMessage"] == "The user with name nobody cannot be found."
    assert event["readOnly"] is True and event["responseElements"] is None
    assert event["requestParameters"] == {"userName": "nobody"}
    assert event["userIdentity"] == _root_identity(cloudkeep_account)


def test_get_caller_identity_is_recorded_read_only(cloudkeep_server, cloudkeep_account, store):
    response = cloudkeep_account.client("sts").get_caller_identity()
    cloudkeep_server.flush()
    event = _one(store, _rid(response))
    assert event["eventSource"] == "sts.amazonaws.com" and event["eventName"] == "GetCallerIdentity"
    assert event["readOnly"] is True and event["managementEvent"] is True
    assert event["responseElements"] is None and "errorCode" not in event
    assert event["recipientAccountId"] == cloudkeep_account.account_id
    assert event["userIdentity"] == _root_identity(cloudkeep_account)


def test_request_with_unknown_access_key_is_recorded_in_no_account(cloudkeep_server, store):
    unknown = "AKIAZZZZZZZZZZZZZZZZ"
    sts = client_for(cloudkeep_server.endpoint, "sts", unknown, "x" * 40)
    with pytest.raises(ClientError) as caught:
        sts.get_caller_identity()
    assert caught.value.response["Error"]["Code"] == "InvalidClientTokenId"
    cloudkeep_server.flush()
    assert _by_request_id(store, _rid(caught.value)) == []
    assert _rows(store, audit_events.c.access_key_id == unknown) == []
    assert records_mentioning(store, unknown) == []


def test_events_of_one_account_are_not_in_another(cloudkeep_server, store):
    a, b = cloudkeep_server.create_account(), cloudkeep_server.create_account()
    rid_a = _rid(a.client("iam").create_user(UserName="only-a"))
    rid_b = _rid(b.client("iam").create_user(UserName="only-b"))
    ident_b = _rid(b.client("sts").get_caller_identity())
    cloudkeep_server.flush()

    mine = stored_rows(store, audit_events.c.account_id == a.account_id)
    theirs = stored_rows(store, audit_events.c.account_id == b.account_id)
    assert [record["requestID"] for _, record in mine] == [rid_a]
    assert sorted(record["requestID"] for _, record in theirs) == sorted([rid_b, ident_b])
    for _, record in mine:
        assert record["recipientAccountId"] == a.account_id
        text = json.dumps(record)
        assert b.account_id not in text and "only-b" not in text
    assert {r.access_key_id for r, _ in mine} == {a.access_key_id}


def test_clean_shutdown_writes_every_queued_event(tmp_path):
    with CloudkeepServer(data_dir=tmp_path / "data") as ck:
        acct = ck.create_account()
        sts, iam = acct.client("sts"), acct.client("iam")
        rids = []
        for _ in range(40):
            rids.append(_rid(sts.get_caller_identity()))
            rids.append(_rid(iam.list_users()))
        with pytest.raises(ClientError) as caught:
            iam.get_user(UserName="ghost")
        rids.append(_rid(caught.value))
        # SIGTERM right away, no flush asked for; uvicorn shuts down gracefully, then re-raises
        # the signal it caught, so the exit status is -SIGTERM rather than 0
        assert ck.stop(signal.SIGTERM) in (0, -signal.SIGTERM)
        stopped = _open(ck)
        try:
            rows = stored_rows(stopped, audit_events.c.account_id == acct.account_id)
        finally:
            stopped.close()
    recorded = sorted(record["requestID"] for _, record in rows)
    assert recorded == sorted(rids)
    assert all(r.read_only for r, _ in rows)
