"""StartLogging's and StopLogging's times on both backends are the requests' arrival times, which
are also their events' eventTime. Delivery takes a trail's events from StartLoggingTime's second
on, so a start time read later than the arrival (the next second, when the request arrived at
.999) would leave StartLogging's own event out of the trail's first log file."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import insert, update

from cloudkeep.audit.recorder import encode_record
from cloudkeep.auth.principal import Principal, PrincipalType
from cloudkeep.crypto.envelope import Sealer
from cloudkeep.services.cloudtrail import SERVICE
from cloudkeep.services.cloudtrail import delivery_cursor as C
from cloudkeep.services.cloudtrail import digest, digest_chains
from cloudkeep.services.cloudtrail import trails_repo as repo
from cloudkeep.services.cloudtrail.delivery import Delivery, Timing, _second, finish_retired
from cloudkeep.services.cloudtrail.trails_domain import Trail
from cloudkeep.services.framework import Call
from cloudkeep.storage.clock import FixedClock
from cloudkeep.storage.ids import Ids
from cloudkeep.storage.schema import audit_events, cloudtrail_trails
from cloudkeep.wire.errors import ServiceError
from storage_backends import store, store_url  # noqa: F401  (pytest fixtures)

ACCOUNT = "111122223333"
ARRIVED = dt.datetime(2026, 11, 30, 5, 0, 0, 999_000, tzinfo=dt.timezone.utc)
#: how long a deleted trail keeps trying what its bucket refuses, by default: a day
PATIENCE = Timing().retired_patience
HANDLED = dt.datetime(2026, 11, 30, 5, 0, 1, 2_000, tzinfo=dt.timezone.utc)   # the clock, read in the handler


def _run(store, operation: str, **params):
    principal = Principal(type=PrincipalType.ROOT, account_id=ACCOUNT, arn=f"arn:aws:iam::{ACCOUNT}:root",
                          principal_id=ACCOUNT)
    with store.unit_of_work(write=True) as uow:
        call = Call(account_id=ACCOUNT, region="us-east-1", partition="aws", principal=principal,
                    request_id="test", clock=FixedClock(HANDLED), ids=Ids(), uow=uow, sealer=None,
                    received_at=ARRIVED)
        result = SERVICE.operations.handlers[operation](call, params)
        if operation in ("StartLogging", "StopLogging", "DeleteTrail"):   # its event, as the pipeline records it
            uow.execute(insert(audit_events).values(
                event_id=f"e-{operation}", account_id=ACCOUNT, event_time=ARRIVED.replace(microsecond=0),
                event_source="cloudtrail.amazonaws.com", event_name=operation, aws_region="us-east-1",
                read_only=False, management_event=True, access_key_id=None, username=None, error_code=None,
                record=encode_record({"eventID": f"e-{operation}", "eventSource": "cloudtrail.amazonaws.com",
                                      "eventName": operation, "awsRegion": "us-east-1",
                                      "recipientAccountId": ACCOUNT})))
        return result


def _trail(store) -> Trail:
    with store.unit_of_work() as uow:
        found = repo.get(uow, ACCOUNT, "us-east-1", "window")
    assert found is not None
    return found


def test_start_and_stop_times_are_the_requests_arrival_so_their_events_are_delivered(store):  # noqa: F811
    with store.unit_of_work(write=True) as uow:
        repo.add(uow, Trail(account_id=ACCOUNT, home_region="us-east-1", name="window",
                            arn=f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/window", s3_bucket="b",
                            s3_prefix=None, sns_topic=None, include_global=True, multi_region=False,
                            organization=False, log_validation=False, kms_key_id=None, cw_log_group=None,
                            cw_role=None, selectors=None, tags=(), created_at=ARRIVED))
    _run(store, "StartLogging", Name="window")
    trail = _trail(store)
    assert trail.start_logging_time == ARRIVED
    with store.unit_of_work() as uow:
        selected, _ = C.events(uow, after=trail.cursor_seq, upto=C.newest_seq(uow), accounts=[ACCOUNT],
                               region="us-east-1", since=_second(trail.start_logging_time), until=None,
                               limit=10)
    assert len(selected) == 1                 # StartLogging's own event
    _run(store, "StopLogging", Name="window")
    assert _trail(store).stop_logging_time == ARRIVED


def test_the_data_event_gate_follows_the_logging_trails_selectors(store):  # noqa: F811
    """services/cloudtrail/data_events on both backends: data events are wanted only while a
    logging trail may select them."""
    from cloudkeep.services.cloudtrail.data_events import DataEventGate

    gate = DataEventGate(store)
    assert gate.wanted() is False                                   # no trail at all
    base = Trail(account_id=ACCOUNT, home_region="us-east-1", name="window",
                 arn=f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/window", s3_bucket="b", s3_prefix=None,
                 sns_topic=None, include_global=True, multi_region=False, organization=False, log_validation=False,
                 kms_key_id=None, cw_log_group=None, cw_role=None, selectors=None, tags=(), created_at=ARRIVED)
    data = {"EventSelectors": [{"ReadWriteType": "All", "DataResources": [
        {"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}]}]}
    with store.unit_of_work(write=True) as uow:
        repo.add(uow, base.evolve(is_logging=True))                 # logging, management events only
    assert gate.wanted() is False
    with store.unit_of_work(write=True) as uow:
        repo.save(uow, base.evolve(is_logging=True, selectors=data))
    assert gate.wanted() is True
    with store.unit_of_work(write=True) as uow:
        repo.save(uow, base.evolve(is_logging=False, selectors=data))   # stopped
    assert gate.wanted() is False


def _base(name: str, *, log_validation: bool = True) -> Trail:
    return Trail(account_id=ACCOUNT, home_region="us-east-1", name=name,
                 arn=f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/{name}", s3_bucket="b", s3_prefix=None,
                 sns_topic=None, include_global=True, multi_region=False, organization=False,
                 log_validation=log_validation, kms_key_id=None, cw_log_group=None, cw_role=None, selectors=None,
                 tags=(), created_at=ARRIVED)


def test_a_deleted_trail_is_kept_retired_until_its_delivery_and_final_digest_are_done(store):  # noqa: F811
    """DeleteTrail of a logging trail stops it at the request's arrival and keeps its row and
    chains under a retired name and ARN: gone for the API, free for a new trail of the same name,
    still delivered; ``finish_retired`` removes it once nothing is left to do."""
    with store.unit_of_work(write=True) as uow:
        repo.add(uow, _base("gone"))
    _run(store, "StartLogging", Name="gone")
    _run(store, "DeleteTrail", Name="gone")
    arn = _base("gone").arn
    with store.unit_of_work(write=True) as uow:
        assert repo.get(uow, ACCOUNT, "us-east-1", "gone") is None and repo.of_account(uow, ACCOUNT) == []
        assert repo.by_arn(uow, arn) is None
        (retired,) = repo.retired_trails(uow)
        assert (retired.name, retired.arn, retired.is_logging) == ("gone", arn, False)
        assert retired.stop_logging_time == ARRIVED and retired.stop_seq is not None
        assert retired.row_name.startswith("~") and retired.row_arn.startswith(arn + "#")
        assert repo.by_arn(uow, retired.row_arn) == retired
        assert [c.trail_arn for c in C.chains(uow, retired.row_arn)] == [retired.row_arn]   # its chain went with it
        assert C.chains(uow, arn) == []
        assert retired in repo.delivering_trails(uow)
        repo.add(uow, _base("gone"))                                # the name is free at once
    assert finish_retired(store, now=ARRIVED, patience=PATIENCE) == 0     # not delivered yet
    with store.unit_of_work(write=True) as uow:
        repo.record_delivery(uow, retired, cursor=retired.stop_seq, when=ARRIVED, error=None, delivered=True)
    assert finish_retired(store, now=ARRIVED, patience=PATIENCE) == 0     # its chain waits for the final digest
    with store.unit_of_work(write=True) as uow:
        (chain,) = C.chains(uow, retired.row_arn)
        digest_chains.end(uow, chain)
    assert finish_retired(store, now=ARRIVED, patience=PATIENCE) == 1
    with store.unit_of_work() as uow:
        assert repo.retired_trails(uow) == [] and C.chains(uow, retired.row_arn) == []
        assert [t.name for t in repo.of_account(uow, ACCOUNT)] == ["gone"]   # the new one is untouched


def _final_digest_due(store, name: str) -> Trail:
    """A validating trail started and deleted: retired, its events delivered, its last file
    queued for the final digest, which is due."""
    with store.unit_of_work(write=True) as uow:
        repo.add(uow, _base(name))
    _run(store, "StartLogging", Name=name)
    _run(store, "DeleteTrail", Name=name)
    with store.unit_of_work(write=True) as uow:
        (retired,) = repo.retired_trails(uow)
        repo.record_delivery(uow, retired, cursor=retired.stop_seq, when=ARRIVED, error=None, delivered=True)
        retired = repo.by_arn(uow, retired.row_arn)
        C.add_log(uow, (retired.row_arn, "us-east-1", ACCOUNT), C.DeliveredLog(
            "b", "AWSLogs/x.json.gz", "00" * 32, ARRIVED, ARRIVED), ARRIVED)      # its last file, to list
    return retired


def test_a_deleted_trail_whose_bucket_is_gone_drops_its_final_digest_and_is_removed(store):  # noqa: F811
    """The final digest of a deleted trail refused with NoSuchBucket: the trail gives up (a bucket
    made again under the name may be anyone's); any other refusal is tried again."""
    retired = _final_digest_due(store, "orphan")
    refusals = [type("AccessDenied", (ServiceError,), {"code": "AccessDenied", "status": 403}),
                type("NoSuchBucket", (ServiceError,), {"code": "NoSuchBucket", "status": 404})]
    tried: list[str] = []

    def put(bucket, key, body, **kwargs):
        tried.append(key)
        raise refusals[len(tried) - 1]("refused")

    later = ARRIVED + dt.timedelta(hours=1)
    assert digest.close_due(store, Sealer(bytes(range(32))), put, retired, later, period=dt.timedelta(hours=1)) == 0
    assert finish_retired(store, now=later, patience=PATIENCE) == 0
    with store.unit_of_work() as uow:
        assert len(C.chains(uow, retired.row_arn)) == 1 and repo.retired_trails(uow) == [retired.evolve(
            latest_digest_error="AccessDenied")]
    assert digest.close_due(store, Sealer(bytes(range(32))), put, retired, later, period=dt.timedelta(hours=1)) == 0
    assert len(tried) == 2
    assert finish_retired(store, now=ARRIVED, patience=PATIENCE) == 1     # at once, within the patience
    with store.unit_of_work() as uow:
        assert repo.retired_trails(uow) == [] and C.chains(uow, retired.row_arn) == []


def test_a_deleted_trail_whose_bucket_is_gone_stops_at_its_first_refused_digest(store):  # noqa: F811
    """A retired multi-Region trail has a chain in each Region: once one digest finds no bucket,
    the trail is gone, and the pass does not sign and send the others' digests to nowhere."""
    with store.unit_of_work(write=True) as uow:
        repo.add(uow, _base("regions").evolve(multi_region=True))
    _run(store, "StartLogging", Name="regions")
    _run(store, "DeleteTrail", Name="regions")
    with store.unit_of_work(write=True) as uow:
        (retired,) = repo.retired_trails(uow)
        repo.record_delivery(uow, retired, cursor=retired.stop_seq, when=ARRIVED, error=None, delivered=True)
        # it logged for half an hour before the deletion: every chain has a final digest to write
        uow.execute(update(cloudtrail_trails).where(cloudtrail_trails.c.arn == retired.row_arn).values(
            stop_logging_time=ARRIVED + dt.timedelta(minutes=30)))
        retired = repo.by_arn(uow, retired.row_arn)
        chains = C.chains(uow, retired.row_arn)
    assert len(chains) == 17
    gone = type("NoSuchBucket", (ServiceError,), {"code": "NoSuchBucket", "status": 404})
    tried: list[str] = []

    def put(bucket, key, body, **kwargs):
        tried.append(key)
        raise gone("The specified bucket does not exist")

    later = ARRIVED + dt.timedelta(hours=1)
    assert digest.close_due(store, Sealer(bytes(range(32))), put, retired, later, period=dt.timedelta(hours=1)) == 0
    assert len(tried) == 1, tried
    assert finish_retired(store, now=ARRIVED, patience=PATIENCE) == 1
    with store.unit_of_work() as uow:
        assert repo.retired_trails(uow) == [] and C.chains(uow, retired.row_arn) == []


class _Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.value = now

    def now(self) -> dt.datetime:
        return self.value


class _RefusingBucket:
    """A deleted trail's delivery worker (a pass ten minutes after the deletion) whose bucket
    refuses CloudTrail with AccessDenied until ``accept`` is set."""

    def __init__(self, store, name: str) -> None:
        with store.unit_of_work(write=True) as uow:
            repo.add(uow, _base(name))
        _run(store, "StartLogging", Name=name)
        _run(store, "DeleteTrail", Name=name)
        self.tried: list[str] = []
        self.accept = False
        self.clock = _Clock(ARRIVED + dt.timedelta(minutes=10))
        self.delivery = Delivery(store, Sealer(bytes(range(32))), self.clock, Ids(), self.put)

    def put(self, bucket, key, body, **kwargs):
        self.tried.append(key)
        if not self.accept:
            raise type("AccessDenied", (ServiceError,), {"code": "AccessDenied", "status": 403})("Access Denied")

    def run(self, after: dt.timedelta) -> None:
        self.clock.value = ARRIVED + after
        self.delivery.run(Timing())                         # a day's patience


def test_a_deleted_trail_whose_bucket_keeps_refusing_gives_up_after_its_patience(store):  # noqa: F811
    """Any other refusal (a bucket policy without CloudTrail, a disabled KMS key) is tried again
    until ``Timing.retired_patience`` has passed since the trail's stop; then its last files and
    final digest are dropped and the trail removed."""
    bucket = _RefusingBucket(store, "refused")
    bucket.run(dt.timedelta(minutes=10))
    with store.unit_of_work() as uow:
        (retired,) = repo.retired_trails(uow)
    assert bucket.tried and retired.latest_delivery_error == "AccessDenied" and retired.cursor_seq < retired.stop_seq
    bucket.run(dt.timedelta(hours=23, minutes=59))
    with store.unit_of_work() as uow:
        assert [t.row_arn for t in repo.retired_trails(uow)] == [retired.row_arn]    # still trying
    bucket.run(dt.timedelta(hours=24, seconds=1))     # its last attempt, at 23:59, was refused
    with store.unit_of_work() as uow:
        assert repo.retired_trails(uow) == [] and C.chains(uow, retired.row_arn) == []


def test_a_deleted_trail_whose_final_digest_keeps_being_refused_gives_up_after_its_patience(store):  # noqa: F811
    retired = _final_digest_due(store, "digest")
    denied = type("AccessDenied", (ServiceError,), {"code": "AccessDenied", "status": 403})

    def put(bucket, key, body, **kwargs):
        raise denied("Access Denied")

    later = ARRIVED + dt.timedelta(hours=1)
    assert digest.close_due(store, Sealer(bytes(range(32))), put, retired, later, period=dt.timedelta(hours=1)) == 0
    assert finish_retired(store, now=ARRIVED, patience=PATIENCE) == 0
    assert finish_retired(store, now=ARRIVED + PATIENCE - dt.timedelta(hours=1), patience=PATIENCE) == 0
    with store.unit_of_work() as uow:
        assert [t.latest_digest_error for t in repo.retired_trails(uow)] == ["AccessDenied"]
    assert finish_retired(store, now=ARRIVED + PATIENCE, patience=PATIENCE) == 1
    with store.unit_of_work() as uow:
        assert repo.retired_trails(uow) == [] and C.chains(uow, retired.row_arn) == []


def test_a_deleted_trail_whose_bucket_lets_cloudtrail_in_again_in_time_delivers_everything(store):  # noqa: F811
    bucket = _RefusingBucket(store, "refused")
    bucket.run(dt.timedelta(minutes=10))
    with store.unit_of_work() as uow:
        assert [t.latest_delivery_error for t in repo.retired_trails(uow)] == ["AccessDenied"]
    bucket.accept = True
    bucket.run(dt.timedelta(hours=1, minutes=1))
    assert any("CloudTrail-Digest" in key for key in bucket.tried), bucket.tried
    with store.unit_of_work() as uow:
        assert repo.retired_trails(uow) == []       # its files and final digest were delivered


def test_a_deleted_trail_with_nothing_left_to_deliver_is_removed_at_once(store):  # noqa: F811
    with store.unit_of_work(write=True) as uow:
        repo.add(uow, _base("idle", log_validation=False))
    _run(store, "DeleteTrail", Name="idle")
    with store.unit_of_work() as uow:
        assert repo.retired_trails(uow) == [] and repo.of_account(uow, ACCOUNT) == []


def test_a_delivery_pass_that_read_a_trail_before_its_deletion_records_nothing_on_a_new_one(store):  # noqa: F811
    """The worker read the trail, then DeleteTrail retired it and a new trail took its name:
    what the pass records (its cursor, its files for the digest) belongs to neither."""
    with store.unit_of_work(write=True) as uow:
        repo.add(uow, _base("raced"))
    _run(store, "StartLogging", Name="raced")
    stale = _trail_named(store, "raced")
    _run(store, "DeleteTrail", Name="raced")
    later = ARRIVED + dt.timedelta(seconds=30)
    with store.unit_of_work(write=True) as uow:
        repo.add(uow, _base("raced").evolve(created_at=later, is_logging=True, cursor_seq=C.newest_seq(uow)))
        new_cursor = repo.get(uow, ACCOUNT, "us-east-1", "raced").cursor_seq
        assert repo.record_delivery(uow, stale, cursor=0, when=later, error=None, delivered=True) is False
        assert repo.get(uow, ACCOUNT, "us-east-1", "raced").cursor_seq == new_cursor
        (retired,) = repo.retired_trails(uow)
        assert retired.latest_delivery_time is None
        assert repo.record_delivery(uow, retired, cursor=retired.stop_seq, when=later, error=None,
                                    delivered=True) is True


def _trail_named(store, name: str) -> Trail:
    with store.unit_of_work() as uow:
        found = repo.get(uow, ACCOUNT, "us-east-1", name)
    assert found is not None
    return found
