"""End to end: no acknowledged mutating call is missing from the event history after a SIGKILL.

A real server (one process, so SIGKILL stops everything that serves) takes IAM writes
(CreateUser, TagUser) from several threads. Once enough of them have been acknowledged the server
is killed with SIGKILL mid-load, then started again on the same data directory (SQLite) or the
same database (PostgreSQL). Every call that got a 200 must then have exactly one event, by its
request id, with the right name, identity and account; and every successful write recorded must
have its change (the event and the change commit in one transaction, never one without the other),
and LookupEvents (the event history) must answer each acknowledged call once.
Calls cut off by the kill got no answer and prove nothing either way.

Issue: "No acknowledged mutating call is ever missing from the history (a test kills the server
with SIGKILL under write load and checks every acknowledged mutating call has its event after
restart)".
CloudTrail record contents:
https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html
"""

from __future__ import annotations

import json
import signal
import threading
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from cloudkeep.storage.engine import Store, sqlite_url
from cloudkeep.storage.schema import audit_events
from cloudkeep.testing.audit import stored_records
from cloudkeep.testing.server import Account, CloudkeepServer
from storage_backends import backend  # noqa: F401  (pytest fixture: data dir and store URL per backend)

THREADS = 4
KILL_AFTER = 120          # acknowledged writes before the SIGKILL (the load keeps running)
PER_THREAD_LIMIT = 400    # a bound so a thread can never loop forever


def _write_load(account: Account, acked: list[tuple[str, str, str]], enough: threading.Event,
                lock: threading.Lock) -> list[threading.Thread]:
    """Threads that create and tag users until the server stops answering; each 200 is noted
    as (request id, operation, user name)."""

    def writer(t: int) -> None:
        iam = account.client("iam")
        for i in range(PER_THREAD_LIMIT):
            name = f"d{t}-{i:03d}"
            try:
                made = iam.create_user(UserName=name)
                with lock:
                    acked.append((made["ResponseMetadata"]["RequestId"], "CreateUser", name))
                tagged = iam.tag_user(UserName=name, Tags=[{"Key": "n", "Value": str(i)}])
                with lock:
                    acked.append((tagged["ResponseMetadata"]["RequestId"], "TagUser", name))
                    if len(acked) >= KILL_AFTER:
                        enough.set()
            except (BotoCoreError, ClientError, OSError):
                return          # the server is gone: an unanswered call is not acknowledged
        enough.set()

    threads = [threading.Thread(target=writer, args=(t,), daemon=True) for t in range(THREADS)]
    for thread in threads:
        thread.start()
    return threads


def _events(url: str, account_id: str) -> dict[str, dict[str, Any]]:
    """Every stored event of the account, by request id (several per request would fail below)."""
    store = Store.open(url, migrate=False)
    try:
        records = stored_records(store, audit_events.c.account_id == account_id)
    finally:
        store.close()
    out: dict[str, dict[str, Any]] = {}
    for event in records:
        assert event["requestID"] not in out, f"two events for request {event['requestID']}"
        out[event["requestID"]] = event
    return out


def test_every_acknowledged_write_has_its_event_after_sigkill(backend):
    data_dir, store_url = backend
    first = CloudkeepServer(data_dir=data_dir, store_url=store_url).start()
    try:
        account = first.create_account()
        acked: list[tuple[str, str, str]] = []
        enough, lock = threading.Event(), threading.Lock()
        threads = _write_load(account, acked, enough, lock)
        assert enough.wait(120), "the write load never reached the kill point"
        assert first.stop(signal.SIGKILL) == -signal.SIGKILL     # mid-load: no shutdown, no flush
        for thread in threads:
            thread.join(60)
        assert not any(thread.is_alive() for thread in threads)
    finally:
        first.stop(signal.SIGKILL)
    with lock:
        acknowledged = list(acked)
    assert len(acknowledged) >= KILL_AFTER

    second = CloudkeepServer(data_dir=data_dir, store_url=store_url).start()
    try:
        # the writes' records committed with them, into the audit journal; the new server's
        # recorder moves what the killed one left there into the event history (flush: wait for it)
        second.flush()
        events = _events(store_url or sqlite_url(data_dir), account.account_id)
        missing = [(rid, op) for rid, op, _ in acknowledged if rid not in events]
        assert missing == [], f"{len(missing)} acknowledged writes have no event: {missing[:5]}"
        for rid, op, name in acknowledged:
            event = events[rid]
            assert event["eventName"] == op and event["eventSource"] == "iam.amazonaws.com"
            assert event["requestParameters"]["userName"] == name
            assert event["recipientAccountId"] == account.account_id
            assert event["userIdentity"]["accessKeyId"] == account.access_key_id
            assert "errorCode" not in event and event["readOnly"] is False

        # and the event history (LookupEvents) answers every one of them, newest first
        trail = Account(account.account_id, account.access_key_id, account.secret_access_key,
                        endpoint=second.endpoint).client("cloudtrail")
        for op in ("CreateUser", "TagUser"):
            pages = trail.get_paginator("lookup_events").paginate(
                LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": op}],
                PaginationConfig={"PageSize": 50})
            listed = [json.loads(e["CloudTrailEvent"])["requestID"] for page in pages for e in page["Events"]]
            assert len(listed) == len(set(listed))
            assert {rid for rid, name, _ in acknowledged if name == op} <= set(listed)

        # the other way round: every write recorded as successful has its change, acknowledged
        # or cut off by the kill (event and change commit together or not at all)
        iam = Account(account.account_id, account.access_key_id, account.secret_access_key,
                      endpoint=second.endpoint).client("iam")
        users = {u["UserName"] for page in iam.get_paginator("list_users").paginate()
                 for u in page["Users"]}
        created = {e["requestParameters"]["userName"] for e in events.values()
                   if e["eventName"] == "CreateUser" and "errorCode" not in e}
        assert created == users
        tagged = [e["requestParameters"]["userName"] for e in events.values()
                  if e["eventName"] == "TagUser" and "errorCode" not in e]
        for name in tagged:
            assert iam.list_user_tags(UserName=name)["Tags"] == [
                {"Key": "n", "Value": str(int(name.rsplit("-", 1)[1]))}]
    finally:
        second.stop()


def test_reads_written_by_a_batch_survive_a_sigkill_and_later_ones_may_not(backend):
    """Read-only calls are recorded in batches off the request path: what a batch wrote before
    the SIGKILL is there after the restart (each batch commits whole); what was still queued may
    be lost: at most the calls after the last batch."""
    data_dir, store_url = backend
    first = CloudkeepServer(data_dir=data_dir, store_url=store_url).start()
    try:
        account = first.create_account()
        sts = account.client("sts")
        before = [sts.get_caller_identity()["ResponseMetadata"]["RequestId"] for _ in range(30)]
        first.flush()        # the recorder writes its queue now, as its thread does every batch window
        after = [sts.get_caller_identity()["ResponseMetadata"]["RequestId"] for _ in range(30)]
        assert first.stop(signal.SIGKILL) == -signal.SIGKILL
    finally:
        first.stop(signal.SIGKILL)
    second = CloudkeepServer(data_dir=data_dir, store_url=store_url).start()
    try:
        # the writes' records committed with them, into the audit journal; the new server's
        # recorder moves what the killed one left there into the event history (flush: wait for it)
        second.flush()
        events = _events(store_url or sqlite_url(data_dir), account.account_id)
        assert set(before) <= set(events)
        assert set(events) <= set(before) | set(after)     # nothing recorded twice or invented
        for rid in before:
            assert events[rid]["eventName"] == "GetCallerIdentity" and events[rid]["readOnly"] is True
    finally:
        second.stop()
