"""The delivery worker's safe horizon on both backends: events are delivered only up to the
highest seq below which every value is present, since on PostgreSQL a lower seq may commit
after a higher one; a gap is waited for, then passed: on SQLite after GAP_WAIT seconds of the
worker's monotonic clock, on PostgreSQL once no transaction that could hold its seq still runs.
The delivery lease is held by one holder at a time and taken over when it expires."""

from __future__ import annotations

import datetime as dt
import time
import uuid

from sqlalchemy import insert, text

from cloudkeep.audit.recorder import encode_record
from cloudkeep.services.cloudtrail import delivery_cursor as C
from cloudkeep.services.cloudtrail.delivery import GAP_SETTLE, GAP_WAIT, GAP_WAIT_MAX, Delivery
from cloudkeep.storage.schema import audit_events
from storage_backends import store, store_url  # noqa: F401  (pytest fixtures)

NOW = dt.datetime(2026, 11, 30, 5, 0, tzinfo=dt.timezone.utc)


def _add(store, *seqs: int) -> None:
    with store.unit_of_work(write=True) as uow:
        for seq in seqs:
            uow.execute(insert(audit_events).values(
                seq=seq, event_id=f"e-{seq}", account_id="111122223333", event_time=NOW,
                event_source="iam.amazonaws.com", event_name="CreateUser", aws_region="us-east-1", read_only=False,
                management_event=True, access_key_id=None, username=None, error_code=None,
                record=encode_record({"eventID": f"e-{seq}"})))


class _Ticks:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _horizon(delivery: Delivery, store, base: int = 0) -> int:
    with store.unit_of_work() as uow:
        return delivery._horizon(uow, base)


def _once_the_cluster_moves_on(delivery: Delivery, store, *, below: int) -> int:
    """The horizon once it has passed the gap above ``below``: once no transaction that could
    hold the gap's seq runs. PostgreSQL's xmin is the whole cluster's: a transaction of another
    database running at that moment (another test run, autovacuum) keeps the gap, as
    ``delivery`` says; it is waited out, 30 s at most."""
    deadline = time.monotonic() + 30
    while True:
        found = _horizon(delivery, store)
        if found != below or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_horizon_stops_below_a_gap_until_it_is_filled(store):
    ticks = _Ticks()
    delivery = Delivery(store, None, None, None, put=None, monotonic=ticks)
    _add(store, 1, 2, 3, 5, 6)
    assert _horizon(delivery, store) == 3
    _add(store, 4)                              # the late commit of a lower seq
    assert _horizon(delivery, store) == 6


def test_a_gap_no_transaction_can_fill_is_passed(store):
    """SQLite: after GAP_WAIT. PostgreSQL: once no transaction that could hold it still runs
    (here none ran)."""
    ticks = _Ticks()
    delivery = Delivery(store, None, None, None, put=None, monotonic=ticks)
    _add(store, 1, 2, 4)
    assert _horizon(delivery, store) == 2
    if store.dialect == "postgresql":
        ticks.now += GAP_SETTLE / 2
        assert _horizon(delivery, store) == 2       # the seq's transaction may not have an id yet
        ticks.now += GAP_SETTLE
        assert _horizon(delivery, store) == 2       # notes an id above every possible holder's
        assert _once_the_cluster_moves_on(delivery, store, below=2) == 4       # none of them runs
        return
    ticks.now += GAP_WAIT / 2
    assert _horizon(delivery, store) == 2
    ticks.now += GAP_WAIT
    assert _horizon(delivery, store) == 4


def _insert(uow) -> int:
    """An event with the next seq of the table's own (a sequence on PostgreSQL); its seq."""
    found = uow.execute(insert(audit_events).values(
        event_id=str(uuid.uuid4()), account_id="111122223333", event_time=NOW,
        event_source="iam.amazonaws.com", event_name="CreateUser", aws_region="us-east-1", read_only=False,
        management_event=True, access_key_id=None, username=None, error_code=None,
        record=encode_record({"eventID": "auto"})).returning(audit_events.c.seq)).scalar_one()
    return int(found)


def _committed(store) -> int:
    with store.unit_of_work(write=True) as uow:
        return _insert(uow)


def test_a_transaction_still_open_is_waited_for_and_a_rolled_back_seq_passed(store, caplog):
    """PostgreSQL: a seq taken by a transaction still open is waited for (well past SQLite's
    GAP_WAIT) and delivered once it commits, also when that transaction got its id after a
    later seq's transaction had committed (above the snapshot's xmax); a rolled-back one is
    passed soon after GAP_SETTLE; a gap is given up on after GAP_WAIT_MAX, with an error.
    SQLite: writers are serialised and a rolled-back insert gives its seq back, so no gap forms."""
    ticks = _Ticks()
    delivery = Delivery(store, None, None, None, put=None, monotonic=ticks)
    if store.dialect != "postgresql":
        rolled = store.unit_of_work(write=True)
        taken = _insert(rolled)
        rolled.rollback()
        assert _committed(store) == taken
        assert _horizon(delivery, store) == taken
        return

    def open_for_long(slow) -> None:
        for step in (0, GAP_SETTLE, 0, GAP_WAIT, 10 * GAP_WAIT):
            ticks.now += step
            assert _horizon(delivery, store) == held - 1

    base = _committed(store)
    assert _horizon(delivery, store) == base
    slow = store.unit_of_work(write=True)
    held = _insert(slow)
    after = _committed(store)
    assert after > held
    open_for_long(slow)
    slow.commit()                                   # the late commit: delivered with the rest
    assert _horizon(delivery, store) == after

    # the seq taken first, the transaction id only after the next seq's transaction committed
    slow = store.unit_of_work(write=True)
    held = int(slow.execute(text("SELECT nextval(pg_get_serial_sequence('audit_events', 'seq'))")).scalar_one())
    after = _committed(store)
    slow.execute(insert(audit_events).values(
        seq=held, event_id=str(uuid.uuid4()), account_id="111122223333", event_time=NOW,
        event_source="iam.amazonaws.com", event_name="CreateUser", aws_region="us-east-1", read_only=False,
        management_event=True, access_key_id=None, username=None, error_code=None,
        record=encode_record({"eventID": "late-id"})))
    open_for_long(slow)
    slow.commit()
    assert _horizon(delivery, store) == after

    rolled = store.unit_of_work(write=True)
    lost = _insert(rolled)
    rolled.rollback()
    last = _committed(store)
    assert lost < last
    assert _horizon(delivery, store) == lost - 1
    ticks.now += GAP_SETTLE
    assert _horizon(delivery, store) == lost - 1
    assert _once_the_cluster_moves_on(delivery, store, below=lost - 1) == last

    stuck = store.unit_of_work(write=True)
    try:
        held = _insert(stuck)
        later = _committed(store)
        assert _horizon(delivery, store) == held - 1
        ticks.now += GAP_SETTLE
        assert _horizon(delivery, store) == held - 1
        assert _horizon(delivery, store) == held - 1
        ticks.now += GAP_WAIT_MAX - GAP_SETTLE
        with caplog.at_level("ERROR", logger="cloudkeep.cloudtrail.delivery"):
            assert _horizon(delivery, store) == later
        assert f"seq {held} has been missing" in caplog.text and "may hold it still runs" in caplog.text
    finally:
        stuck.rollback()


def test_horizon_starts_at_the_lowest_cursor(store):
    delivery = Delivery(store, None, None, None, put=None, monotonic=_Ticks())
    _add(store, 7, 8)
    assert _horizon(delivery, store, base=6) == 8


def test_the_lease_has_one_holder_until_it_expires(store):
    ttl = dt.timedelta(seconds=15)
    with store.unit_of_work(write=True) as uow:
        assert C.take_lease(uow, "l", "a", NOW, ttl)
    with store.unit_of_work(write=True) as uow:
        assert not C.take_lease(uow, "l", "b", NOW + dt.timedelta(seconds=5), ttl)
        assert C.take_lease(uow, "l", "a", NOW + dt.timedelta(seconds=5), ttl)        # renewed
    with store.unit_of_work(write=True) as uow:
        assert not C.take_lease(uow, "l", "b", NOW + dt.timedelta(seconds=19), ttl)
        assert C.take_lease(uow, "l", "b", NOW + dt.timedelta(seconds=21), ttl)       # expired: taken over
        assert C.lease_holder(uow, "l") == "b"
    with store.unit_of_work(write=True) as uow:
        assert C.take_over_lease(uow, "l", "b", "c", NOW, ttl) and not C.take_over_lease(uow, "l", "b", "d", NOW, ttl)


def test_a_stopped_trail_covers_its_own_stoplogging_event_whatever_seq_it_got(store):
    """StopLogging sets stop_seq to the newest seq it sees plus one; on PostgreSQL its own event can
    get a larger seq when other transactions took values meanwhile. The worker finds that event
    (by name, account, region and time) and moves the stop up to it, so the final files and digest
    include it; a StopLogging event of another account, or long before the stop, does not count."""
    from cloudkeep.services.cloudtrail import trails_repo as repo
    from cloudkeep.services.cloudtrail.trails_domain import Trail

    trail = Trail(account_id="111122223333", home_region="us-east-1", name="t",
                  arn="arn:aws:cloudtrail:us-east-1:111122223333:trail/t", s3_bucket="b", s3_prefix=None,
                  sns_topic=None, include_global=True, multi_region=False, organization=False, log_validation=True,
                  kms_key_id=None, cw_log_group=None, cw_role=None, selectors=None, tags=(), created_at=NOW,
                  is_logging=False, start_logging_time=NOW - dt.timedelta(hours=1), stop_logging_time=NOW,
                  cursor_seq=0, stop_seq=4)
    with store.unit_of_work(write=True) as uow:
        repo.add(uow, trail)

    def stop_event(seq: int, account: str = "111122223333", when: dt.datetime = NOW) -> None:
        with store.unit_of_work(write=True) as uow:
            uow.execute(insert(audit_events).values(
                seq=seq, event_id=f"s-{seq}", account_id=account, event_time=when,
                event_source="cloudtrail.amazonaws.com", event_name="StopLogging", aws_region="us-east-1",
                read_only=False, management_event=True, access_key_id=None, username=None, error_code=None,
                record=encode_record({"eventID": f"s-{seq}"})))

    _add(store, 1, 2, 3)
    stop_event(7, account="999988887777")                           # another account's
    stop_event(8, when=NOW - dt.timedelta(minutes=10))              # an earlier stop of this account
    delivery = Delivery(store, None, None, None, put=None, monotonic=_Ticks())
    assert delivery._settled_stop(trail).stop_seq == 4
    stop_event(9)                                                   # this stop's own event, after others' seqs
    settled = delivery._settled_stop(trail)
    assert settled.stop_seq == 9
    with store.unit_of_work() as uow:
        assert repo.by_arn(uow, trail.arn).stop_seq == 9
    assert delivery._settled_stop(settled).stop_seq == 9


def test_holes_the_history_pruning_left_are_not_waited_for(store):
    """Pruning the 90-day event history deletes the lowest seqs: a trail whose cursor is older
    (not delivered for that long) must not take them for uncommitted transactions' gaps."""
    from cloudkeep.audit.recorder import prune

    ticks = _Ticks()
    delivery = Delivery(store, None, None, None, put=None, monotonic=ticks)
    old = NOW - dt.timedelta(days=91)
    with store.unit_of_work(write=True) as uow:
        for seq, when in ((1, old), (2, old), (3, old), (4, NOW), (5, NOW)):
            uow.execute(insert(audit_events).values(
                seq=seq, event_id=f"e-{seq}", account_id="111122223333", event_time=when,
                event_source="iam.amazonaws.com", event_name="CreateUser", aws_region="us-east-1", read_only=False,
                management_event=True, access_key_id=None, username=None, error_code=None,
                record=encode_record({"eventID": f"e-{seq}"})))
    assert prune(store, NOW) == 3
    assert _horizon(delivery, store) == 5           # no wait: 1-3 were deleted, not in flight
    _add(store, 7)
    assert _horizon(delivery, store) == 5           # a real gap (6) is still waited for
    assert prune(store, NOW + dt.timedelta(days=91)) == 3      # 4, 5 and 7: the watermark moves up
    later = Delivery(store, None, None, None, put=None, monotonic=_Ticks())
    _add(store, 9)
    assert _horizon(later, store) == 7 and later._safe == 7     # 8 is waited for, not 6
