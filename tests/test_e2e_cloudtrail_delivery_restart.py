"""Delivery survives stops: events recorded before a SIGKILL are delivered after the restart
(from the trail's committed cursor), and a clean stop (SIGTERM) delivers everything recorded
before it exits; with several worker processes exactly one delivers, each event once. Each test
runs servers of its own on a data directory (and store) that outlives them, on SQLite and on
PostgreSQL."""

from __future__ import annotations

import collections
import json
import signal

import pytest

from cloudkeep.storage.engine import Store, sqlite_url
from cloudkeep.storage.schema import audit_events
from cloudkeep.testing.audit import stored_records
from cloudkeep.testing.server import Account, CloudkeepServer
from cloudtrail_delivery_support import deliver, keys, logging_trail, records
from storage_backends import backend  # noqa: F401  (pytest fixture: data dir and store URL per backend)


def _created_users(account: Account, bucket: str) -> set[str]:
    return {e["requestParameters"]["userName"] for e in records(account.client("s3"), bucket)
            if e["eventName"] == "CreateUser"}


def _again(server: CloudkeepServer, account: Account) -> Account:
    return Account(account.account_id, account.access_key_id, account.secret_access_key, endpoint=server.endpoint)


def _killed_and_restarted(backend, trail: str, act) -> tuple[CloudkeepServer, Account, str]:
    """(the restarted server, the account on it, the trail's bucket): a server with a new account
    whose trail delivered once, then ``act(account)``, then SIGKILL, then a second server on the
    same data directory and store."""
    data, url = backend
    first = CloudkeepServer(data_dir=data, store_url=url).start()
    try:
        account = first.create_account()
        bucket, _ = logging_trail(account, trail)
        deliver(first)
        act(account)
    finally:
        first.stop(signal.SIGKILL)
    second = CloudkeepServer(data_dir=data, store_url=url, port=first.port).start()
    return second, _again(second, account), bucket


def test_events_recorded_before_a_sigkill_are_delivered_after_restart(backend):
    made = {f"killed-{i}" for i in range(5)}

    def act(account: Account) -> None:
        for name in sorted(made):
            account.client("iam").create_user(UserName=name)

    second, account, bucket = _killed_and_restarted(backend, "survivor", act)
    try:
        assert not made & _created_users(account, bucket)
        deliver(second)
        assert made <= _created_users(account, bucket)
    finally:
        second.stop()


def test_a_trail_deleted_before_a_sigkill_still_delivers_its_last_events_after_restart(backend):
    """DeleteTrail keeps what the trail recorded before it (and its own event) for delivery, in
    the store: a server killed right after it delivers them once restarted."""
    def act(account: Account) -> None:
        account.client("iam").create_user(UserName="before-delete")
        account.client("cloudtrail").delete_trail(Name="deleted-then-killed")
        account.client("iam").create_user(UserName="after-delete")

    second, account, bucket = _killed_and_restarted(backend, "deleted-then-killed", act)
    try:
        assert "before-delete" not in _created_users(account, bucket)
        deliver(second)
        assert _created_users(account, bucket) == {"before-delete"}
        assert any(e["eventName"] == "DeleteTrail" for e in records(account.client("s3"), bucket))
        assert account.client("cloudtrail").describe_trails()["trailList"] == []
    finally:
        second.stop()


def test_a_clean_stop_delivers_what_was_recorded(backend):
    data, url = backend
    first = CloudkeepServer(data_dir=data, store_url=url).start()
    try:
        account = first.create_account()
        bucket, _ = logging_trail(account, "flushed")
        deliver(first)
        before = set(keys(account.client("s3"), bucket))
        account.client("iam").create_user(UserName="at-shutdown")
        account.client("iam").list_users()          # a read: queued, written by the recorder at shutdown
    finally:
        assert first.stop(signal.SIGTERM) is not None
    second = CloudkeepServer(data_dir=data, store_url=url, port=first.port).start()
    try:
        account = _again(second, account)
        s3 = account.client("s3")
        assert set(keys(s3, bucket)) > before       # written by the first server as it stopped
        events = records(s3, bucket)
        assert "at-shutdown" in _created_users(account, bucket)
        assert any(e["eventName"] == "ListUsers" for e in events)
    finally:
        second.stop()


def test_with_two_worker_processes_each_event_is_delivered_once(backend):
    data, url = backend
    server = CloudkeepServer(data_dir=data, store_url=url, workers=2).start()
    try:
        account = server.create_account()
        bucket, _ = logging_trail(account, "two-workers")
        iam = account.client("iam")
        made = [f"w-{i}" for i in range(12)]
        for name in made:
            iam.create_user(UserName=name)
        # each hook request reaches one of the two processes; only the lease holder delivers
        for _ in range(200):
            if server._post("/_cloudkeep/test/cloudtrail/deliver", {})["delivered"]:
                break
        else:
            pytest.fail("no worker process delivered")
        ids = collections.Counter(e["eventID"] for e in records(account.client("s3"), bucket))
        assert ids and max(ids.values()) == 1
        users = [e["requestParameters"]["userName"] for e in records(account.client("s3"), bucket)
                 if e["eventName"] == "CreateUser"]
        assert sorted(users) == sorted(made)
    finally:
        server.stop()


def test_a_clean_stop_with_an_sse_kms_trail_records_cloudtrails_own_kms_calls(backend):
    """The final delivery at a clean stop encrypts its log file with the trail's KMS key: CloudTrail's
    GenerateDataKey is an event like any other, queued while the recorder still runs. (A recorder
    closed before that delivery wrote the event at once from inside the delivery's S3 transaction:
    on SQLite a second writer on the same thread, stuck for the busy timeout until the stop was
    given up and the process killed, the event lost.)"""
    data, url = backend
    first = CloudkeepServer(data_dir=data, store_url=url).start()
    try:
        account = first.create_account()
        key_arn = account.client("kms").create_key(Policy=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account.account_id}:root"}, "Action": "kms:*",
             "Resource": "*"},
            {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
             "Action": "kms:GenerateDataKey*", "Resource": "*"}]}))["KeyMetadata"]["Arn"]
        bucket, _ = logging_trail(account, "encrypted", KmsKeyId=key_arn)
        deliver(first)
        before = set(keys(account.client("s3"), bucket))
        account.client("iam").create_user(UserName="at-shutdown")
    finally:
        code = first.stop(signal.SIGTERM)
    log = first.read_output()
    # ended by its own SIGTERM once shut down, not killed by the harness after its 15 s
    assert code in (0, -signal.SIGTERM), f"the server did not stop cleanly ({code}):\n{log[-3000:]}"
    assert "not written" not in log and "could not write" not in log, log[-3000:]
    second = CloudkeepServer(data_dir=data, store_url=url, port=first.port).start()
    try:
        account = _again(second, account)
        s3 = account.client("s3")
        files = set(keys(s3, bucket))
        assert files > before, "the clean stop delivered no log file"
        assert "at-shutdown" in _created_users(account, bucket)
        second.flush()
        store = Store.open(url or sqlite_url(data), migrate=False)
        try:
            data_keys = [e for e in stored_records(store, audit_events.c.account_id == account.account_id)
                         if e["eventSource"] == "kms.amazonaws.com" and e["eventName"].startswith("GenerateDataKey")
                         and e["userIdentity"].get("invokedBy") == "cloudtrail.amazonaws.com"]
        finally:
            store.close()
        assert len(data_keys) >= len(files)         # a data key for each log file, the last one's too
    finally:
        second.stop()
