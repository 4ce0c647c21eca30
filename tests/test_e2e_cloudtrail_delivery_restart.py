"""Delivery survives stops: events recorded before a SIGKILL are delivered after the restart
(from the trail's committed cursor), and a clean stop (SIGTERM) delivers everything recorded
before it exits. Each test runs a server of its own on a data directory that outlives it."""

from __future__ import annotations

import signal

from cloudkeep.testing.server import Account, CloudkeepServer
from cloudtrail_delivery_support import deliver, keys, logging_trail, records


def _created_users(account: Account, bucket: str) -> set[str]:
    return {e["requestParameters"]["userName"] for e in records(account.client("s3"), bucket)
            if e["eventName"] == "CreateUser"}


def _again(server: CloudkeepServer, account: Account) -> Account:
    return Account(account.account_id, account.access_key_id, account.secret_access_key, endpoint=server.endpoint)


def test_events_recorded_before_a_sigkill_are_delivered_after_restart(tmp_path):
    data = tmp_path / "data"
    first = CloudkeepServer(data_dir=data).start()
    try:
        account = first.create_account()
        bucket, _ = logging_trail(account, "survivor")
        deliver(first)
        iam = account.client("iam")
        made = {f"killed-{i}" for i in range(5)}
        for name in sorted(made):
            iam.create_user(UserName=name)
    finally:
        first.stop(signal.SIGKILL)
    second = CloudkeepServer(data_dir=data, port=first.port).start()
    try:
        account = _again(second, account)
        assert not made & _created_users(account, bucket)
        deliver(second)
        assert made <= _created_users(account, bucket)
    finally:
        second.stop()


def test_a_clean_stop_delivers_what_was_recorded(tmp_path):
    data = tmp_path / "data"
    first = CloudkeepServer(data_dir=data).start()
    try:
        account = first.create_account()
        bucket, _ = logging_trail(account, "flushed")
        deliver(first)
        before = set(keys(account.client("s3"), bucket))
        account.client("iam").create_user(UserName="at-shutdown")
        account.client("iam").list_users()          # a read: queued, written by the recorder at shutdown
    finally:
        assert first.stop(signal.SIGTERM) is not None
    second = CloudkeepServer(data_dir=data, port=first.port).start()
    try:
        account = _again(second, account)
        s3 = account.client("s3")
        assert set(keys(s3, bucket)) > before       # written by the first server as it stopped
        events = records(s3, bucket)
        assert "at-shutdown" in _created_users(account, bucket)
        assert any(e["eventName"] == "ListUsers" for e in events)
    finally:
        second.stop()
