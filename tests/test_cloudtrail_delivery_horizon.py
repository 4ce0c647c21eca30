"""The delivery worker's safe horizon on both backends: events are delivered only up to the
highest seq below which every value is present, since on PostgreSQL a lower seq may commit
after a higher one; a gap is waited for (GAP_WAIT seconds of the worker's monotonic clock) and
then passed, as a rolled-back insert leaves one for ever. The delivery lease is held by one
holder at a time and taken over when it expires."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import insert

from cloudkeep.audit.recorder import encode_record
from cloudkeep.services.cloudtrail import delivery_cursor as C
from cloudkeep.services.cloudtrail.delivery import GAP_WAIT, Delivery
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


def test_horizon_stops_below_a_gap_until_it_is_filled(store):
    ticks = _Ticks()
    delivery = Delivery(store, None, None, None, put=None, monotonic=ticks)
    _add(store, 1, 2, 3, 5, 6)
    assert _horizon(delivery, store) == 3
    _add(store, 4)                              # the late commit of a lower seq
    assert _horizon(delivery, store) == 6


def test_a_gap_that_stays_is_passed_after_the_wait(store):
    ticks = _Ticks()
    delivery = Delivery(store, None, None, None, put=None, monotonic=ticks)
    _add(store, 1, 2, 4)
    assert _horizon(delivery, store) == 2
    ticks.now += GAP_WAIT / 2
    assert _horizon(delivery, store) == 2
    ticks.now += GAP_WAIT
    assert _horizon(delivery, store) == 4


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
