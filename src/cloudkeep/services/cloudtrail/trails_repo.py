"""The SQL of trails (``cloudtrail_trails``): the trail rows with their logging state, delivery
cursor and delivery status.

Must not: hold rules (``trails_domain``) or build wire responses.
"""

from __future__ import annotations

import json
from typing import Any, Iterable

from sqlalchemy import and_, bindparam, delete, func, insert, literal_column, select, update

from cloudkeep.storage import generations
from cloudkeep.storage.schema import cloudtrail_trails, policy_generations

from .trails_domain import RETIRED_MARK, Trail

_T = cloudtrail_trails.c
_LIVE = ~_T.name.startswith(RETIRED_MARK, autoescape=True)


def _trail(row: Any) -> Trail:
    name, arn, retired = row.name, row.arn, None
    if name.startswith(RETIRED_MARK):          # a deleted trail finishing its delivery (``retire``)
        retired = name[len(RETIRED_MARK):]
        arn = arn.rsplit("#", 1)[0]
        name = arn.rsplit("/", 1)[-1]
    return Trail(account_id=row.account_id, home_region=row.home_region, name=name, arn=arn, retired=retired,
                 s3_bucket=row.s3_bucket, s3_prefix=row.s3_prefix, sns_topic=row.sns_topic,
                 include_global=row.include_global, multi_region=row.multi_region, organization=row.organization,
                 log_validation=row.log_validation, kms_key_id=row.kms_key_id, cw_log_group=row.cw_log_group,
                 cw_role=row.cw_role, selectors=json.loads(row.selectors) if row.selectors else None,
                 tags=tuple((k, v) for k, v in json.loads(row.tags)), created_at=row.created_at,
                 is_logging=row.is_logging, start_logging_time=row.start_logging_time,
                 stop_logging_time=row.stop_logging_time, cursor_seq=row.cursor_seq,
                 stop_seq=row.stop_seq,
                 latest_delivery_time=row.latest_delivery_time,
                 latest_delivery_attempt_time=row.latest_delivery_attempt_time,
                 latest_delivery_error=row.latest_delivery_error, latest_digest_time=row.latest_digest_time,
                 latest_digest_error=row.latest_digest_error)


def _values(trail: Trail) -> dict[str, Any]:
    return {"account_id": trail.account_id, "home_region": trail.home_region, "name": trail.row_name,
            "arn": trail.row_arn, "s3_bucket": trail.s3_bucket, "s3_prefix": trail.s3_prefix,
            "sns_topic": trail.sns_topic, "include_global": trail.include_global,
            "multi_region": trail.multi_region, "organization": trail.organization,
            "log_validation": trail.log_validation, "kms_key_id": trail.kms_key_id,
            "cw_log_group": trail.cw_log_group, "cw_role": trail.cw_role,
            "selectors": None if trail.selectors is None else json.dumps(trail.selectors, separators=(",", ":")),
            "tags": json.dumps([list(t) for t in trail.tags], separators=(",", ":")),
            "created_at": trail.created_at, "is_logging": trail.is_logging,
            "start_logging_time": trail.start_logging_time, "stop_logging_time": trail.stop_logging_time,
            "cursor_seq": trail.cursor_seq, "stop_seq": trail.stop_seq, "latest_delivery_time": trail.latest_delivery_time,
            "latest_delivery_attempt_time": trail.latest_delivery_attempt_time,
            "latest_delivery_error": trail.latest_delivery_error, "latest_digest_time": trail.latest_digest_time,
            "latest_digest_error": trail.latest_digest_error}


def _key(trail: Trail) -> Any:
    return and_(_T.account_id == trail.account_id, _T.home_region == trail.home_region, _T.name == trail.row_name)


def of_account(uow: Any, account_id: str) -> list[Trail]:
    """Every trail of the account, in every home region, by name (not the retired ones: they
    are deleted as far as the API can tell)."""
    rows = uow.execute(select(cloudtrail_trails).where(_T.account_id == account_id, _LIVE)
                       .order_by(_T.name, _T.home_region)).all()
    return [_trail(r) for r in rows]


def get(uow: Any, account_id: str, region: str, name: str) -> Trail | None:
    row = uow.execute(select(cloudtrail_trails).where(
        _T.account_id == account_id, _T.home_region == region, _T.name == name)).first()
    return None if row is None else _trail(row)


def by_arn(uow: Any, arn: str) -> Trail | None:
    """The trail stored under ``arn`` (a retired trail's ``row_arn`` finds it)."""
    row = uow.execute(select(cloudtrail_trails).where(_T.arn == arn)).first()
    return None if row is None else _trail(row)


def add(uow: Any, trail: Trail) -> None:
    uow.execute(insert(cloudtrail_trails).values(**_values(trail)))
    generations.bump(uow, generations.TRAILS)


#: what the delivery worker writes (``record_delivery``, ``record_digest``); an API call's save
#: leaves them alone, so it never undoes a delivery made meanwhile
_DELIVERY_COLUMNS = ("cursor_seq", "latest_delivery_time", "latest_delivery_attempt_time", "latest_delivery_error",
                     "latest_digest_time", "latest_digest_error")


def save(uow: Any, trail: Trail, *, cursor: bool = False) -> None:
    """Writes the trail's settings and logging state (and, with ``cursor``, its delivery cursor
    and status: StartLogging)."""
    values = _values(trail)
    for key in ("account_id", "home_region", "name", *(() if cursor else _DELIVERY_COLUMNS)):
        values.pop(key)
    uow.execute(update(cloudtrail_trails).where(_key(trail)).values(**values))
    generations.bump(uow, generations.TRAILS)


def remove(uow: Any, trail: Trail) -> None:
    uow.execute(delete(cloudtrail_trails).where(_key(trail)))
    generations.bump(uow, generations.TRAILS)


def retire(uow: Any, trail: Trail, token: str) -> Trail:
    """DeleteTrail of a trail with something left to deliver: its row (stopped already) moves to
    the retired trail's name and ARN (``Trail.row_name``/``row_arn``), out of the API's sight and
    out of the way of a new trail of the same name, until the delivery worker has delivered what
    was recorded before the stop and written the final digests (its chains move with it:
    ``delivery_cursor.move_chains``)."""
    retired = trail.evolve(retired=token)
    uow.execute(update(cloudtrail_trails).where(_key(trail)).values(name=retired.row_name, arn=retired.row_arn))
    generations.bump(uow, generations.TRAILS)
    return retired


def retired_trails(uow: Any) -> list[Trail]:
    rows = uow.execute(select(cloudtrail_trails).where(~_LIVE).order_by(_T.arn)).all()
    return [_trail(r) for r in rows]


_TRAILS_GENERATION = select(func.coalesce(
    select(policy_generations.c.generation).where(policy_generations.c.account_id == bindparam("trails"))
    .scalar_subquery(), literal_column("0")).label("generation")).subquery("g")
#: what the data event gate reads (``data_events``: a prepared read, plain columns): the trails'
#: generation and the selectors of a logging trail, in one statement, so one snapshot: a row per
#: logging trail, or one with NULL selectors when none logs. Give ``trails=generations.TRAILS``.
LOGGING_SELECTORS_AND_GENERATION = select(_TRAILS_GENERATION.c.generation, _T.selectors).select_from(
    _TRAILS_GENERATION.outerjoin(cloudtrail_trails, _T.is_logging.is_(True)))


def delivering_trails(uow: Any) -> list[Trail]:
    """The delivery worker's list: trails that are logging, and stopped trails whose cursor has
    not reached what was recorded before StopLogging (``stop_seq``)."""
    query = select(cloudtrail_trails).where(
        _T.is_logging.is_(True) | (_T.stop_seq.is_not(None) & (_T.cursor_seq < _T.stop_seq)))
    return [_trail(r) for r in uow.execute(query.order_by(_T.arn)).all()]


def any_delivering(uow: Any) -> bool:
    """Whether any trail has something to deliver (the worker's cheap check before its lease)."""
    query = select(_T.arn).where(
        _T.is_logging.is_(True) | (_T.stop_seq.is_not(None) & (_T.cursor_seq < _T.stop_seq))).limit(1)
    return uow.execute(query).first() is not None


def validating_trails(uow: Any) -> list[Trail]:
    return [_trail(r) for r in uow.execute(select(cloudtrail_trails).where(_T.log_validation.is_(True))
                                           .order_by(_T.arn)).all()]


def _same(trail: Trail) -> Any:
    """The trail's row, if it is still the one the worker read: not deleted, retired or replaced
    by a new trail of the same name since (which has its own creation time)."""
    return and_(_key(trail), _T.created_at == trail.created_at)


def record_delivery(uow: Any, trail: Trail, *, cursor: int, when: Any, error: str | None,
                    delivered: bool) -> bool:
    """After a delivery attempt: the cursor moves only with a delivery (or when nothing matched).
    False when the trail's row is no longer the one the worker read (DeleteTrail during the
    pass): then nothing is recorded, and its files are not queued for a digest either."""
    values: dict[str, Any] = {"latest_delivery_attempt_time": when, "latest_delivery_error": error}
    if error is None:
        values["cursor_seq"] = cursor
        if delivered:
            values["latest_delivery_time"] = when
    return uow.execute(update(cloudtrail_trails).where(_same(trail)).values(**values)).rowcount == 1


def raise_stop_seq(uow: Any, trail: Trail, stop_seq: int) -> None:
    """Move a stopped trail's ``stop_seq`` up to ``stop_seq`` (still stopped, not moved since)."""
    uow.execute(update(cloudtrail_trails).where(and_(
        _T.arn == trail.row_arn, _T.is_logging.is_(False), _T.stop_seq == trail.stop_seq)).values(stop_seq=stop_seq))


def record_digest(uow: Any, trail: Trail, *, when: Any, error: str | None) -> None:
    values: dict[str, Any] = {"latest_digest_error": error}
    if error is None:
        values["latest_digest_time"] = when
    uow.execute(update(cloudtrail_trails).where(_same(trail)).values(**values))


def names(trails: Iterable[Trail]) -> set[str]:
    return {t.name for t in trails}
