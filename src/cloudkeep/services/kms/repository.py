"""The only SQL of KMS keys: keys, their sealed material versions, aliases, tags, and the lazy
maintenance that makes time-based rules happen (deletion when the waiting period has passed,
automatic rotation when due).

Lazy maintenance: whenever a key is resolved with ``now`` (the domain clock) or listed, a key
whose deletion date has passed is deleted (and treated as absent), and a key whose rotation is
due gets new material. Time on the domain clock passes across server restarts, so rotation
happens when due "also across restarts". Changes are written only in a write unit of work: a
read unit of work that finds a rotation due raises ``storage.uow.NeedsWrite`` and the pipeline
runs the request again in a write one; a due deletion in a read only hides the key (ListKeys,
which sweeps the whole account, always writes).

Every write here bumps the authorization generation of the key's account
(storage/generations.py) in the same transaction: the key's state, policy, grants, tags and
aliases decide who may use it, and the authorize stage caches them per generation.
Unsealed material is cached per (key ARN, material id): a material version never changes.

Key material is stored only sealed (``sealer.seal(material, context=kms:<key arn>:<material id>)``).

Must not: hold rules (``domain.py``) or build wire responses.
"""

from __future__ import annotations

import datetime as _dt
import json
import threading
from collections import OrderedDict
from dataclasses import replace
from typing import Any, Callable, Mapping

from sqlalchemy import and_, bindparam, delete, func, insert, select, update

from cloudkeep.audit.service_events import record_service_event
from cloudkeep.storage import generations
from cloudkeep.storage.ids import Ids
from cloudkeep.storage.schema import kms_aliases, kms_key_materials, kms_keys
from cloudkeep.storage.uow import NeedsWrite

from . import domain as D
from .domain import KmsKey

_K = kms_keys.c
_M = kms_key_materials.c
_A = kms_aliases.c

#: called with (uow, key) just before a key is deleted for good (grants register one to drop
#: the key's grants); registered at import time, like operations
_ON_DELETE: list[Callable[[Any, KmsKey], None]] = []


def on_key_deleted(fn: Callable[[Any, KmsKey], None]) -> Callable[[Any, KmsKey], None]:
    """Register ``fn(uow, key)`` to run in the transaction that deletes a key for good."""
    _ON_DELETE.append(fn)
    return fn


def material_context(key: KmsKey, material_id: str) -> bytes:
    return f"kms:{key.arn}:{material_id}".encode()


# --- rows ------------------------------------------------------------------------------------


def _key(row: Any) -> KmsKey:
    return KmsKey(account_id=row.account_id, region=row.region, key_id=row.key_id, arn=row.arn,
                  key_spec=row.key_spec, key_usage=row.key_usage, state=row.state,
                  description=row.description, origin=row.origin, created_at=row.created_at,
                  deletion_date=row.deletion_date, policy=row.policy,
                  current_material_id=row.current_material_id, rotation_enabled=bool(row.rotation_enabled),
                  rotation_period_days=row.rotation_period_days, next_rotation=row.next_rotation,
                  pending_window_days=row.pending_window_days)


def _key_columns(key: KmsKey) -> dict[str, Any]:
    return dict(state=key.state, description=key.description, deletion_date=key.deletion_date,
                pending_window_days=key.pending_window_days, policy=key.policy,
                current_material_id=key.current_material_id, rotation_enabled=key.rotation_enabled,
                rotation_period_days=key.rotation_period_days, next_rotation=key.next_rotation)


def changed(uow: Any, account_id: str) -> None:
    """Who may use the account's keys may have changed (the caller writes in ``uow``)."""
    generations.bump(uow, account_id)


def add_key(uow: Any, sealer: Any, key: KmsKey, material: bytes, tags: Mapping[str, str]) -> None:
    """A new key with its first material (sealed here) and tags."""
    changed(uow, key.account_id)
    uow.execute(insert(kms_keys).values(
        key_id=key.key_id, account_id=key.account_id, region=key.region, arn=key.arn, key_spec=key.key_spec,
        key_usage=key.key_usage, origin=key.origin, created_at=key.created_at,
        tags=json.dumps(dict(tags)) if tags else None, **_key_columns(key)))
    _add_material(uow, sealer, key, key.current_material_id, material, seq=0, at=key.created_at,
                  rotation_type=None)


def save_key(uow: Any, key: KmsKey) -> None:
    """Write a key's mutable fields (state, description, deletion, policy, rotation)."""
    changed(uow, key.account_id)
    uow.execute(update(kms_keys).where(_K.key_id == key.key_id).values(**_key_columns(key)))


def set_policy(uow: Any, key: KmsKey, policy: str) -> None:
    changed(uow, key.account_id)
    uow.execute(update(kms_keys).where(_K.key_id == key.key_id).values(policy=policy))


# Hot statements, built once (building a statement costs more than running it).
_GET_KEY = select(kms_keys).where(and_(_K.key_id == bindparam("key_id"), _K.account_id == bindparam("account_id"),
                                       _K.region == bindparam("region")))
_ALIAS_TARGET = select(_A.target_key_id).where(and_(
    _A.account_id == bindparam("account_id"), _A.region == bindparam("region"),
    _A.alias_name == bindparam("alias_name")))
_MATERIAL = select(_M.material_sealed).where(and_(_M.key_id == bindparam("key_id"),
                                                  _M.material_id == bindparam("material_id")))
_TAGS = select(_K.tags).where(_K.key_id == bindparam("key_id"))
_ALIASES_OF = select(_A.alias_name).where(_A.target_key_id == bindparam("key_id")).order_by(_A.alias_name)


def _get(uow: Any, account_id: str, region: str, key_id: str) -> KmsKey | None:
    memo = getattr(uow, "memo", None)
    ident = ("kms-key", account_id, region, key_id)
    if memo is not None and ident in memo:
        return memo[ident]        # resolved earlier in this transaction (authorize, then the operation)
    row = uow.execute(_GET_KEY, {"key_id": key_id, "account_id": account_id, "region": region}).first()
    key = None if row is None else _key(row)
    if memo is not None:
        memo[ident] = key
    return key


# --- resolving ---------------------------------------------------------------------------------


def alias_target(uow: Any, account_id: str, region: str, alias_name: str) -> str | None:
    return uow.execute(_ALIAS_TARGET, {"account_id": account_id, "region": region,
                                       "alias_name": alias_name}).scalar_one_or_none()


def resolve_key(uow: Any, account_id: str, region: str, key_ref: str, *,
                now: _dt.datetime | None = None, sealer: Any = None) -> KmsKey | None:
    """The key ``key_ref`` names: key id, key ARN, "alias/name" or alias ARN, in the caller's
    account and region, or another account's key or alias by its ARN (cross-account use: the
    key policy decides). None if there is none (or its deletion date has passed).

    With ``now``: lazy maintenance (a due deletion deletes it; with ``sealer`` too, a due
    rotation rotates it) — the authorization stage resolves every KeyId this way before the
    operation runs. A malformed ARN raises NotFoundException ("Invalid arn …")."""
    memo = getattr(uow, "memo", None)
    ident = ("kms-ref", account_id, region, key_ref)
    if now is not None and memo is not None and ident in memo:
        return memo[ident]        # resolved (and maintained) earlier in this transaction
    ref = D.parse_key_ref(account_id, region, key_ref)
    key_id = ref.key_id
    if ref.alias_name is not None:
        key_id = alias_target(uow, ref.account_id, ref.region, ref.alias_name)
        if key_id is None:
            return None
    key = _get(uow, ref.account_id, ref.region, key_id or "")
    if key is None or now is None:
        return key
    key = maintain(uow, key, now, sealer=sealer)
    remember(uow, account_id, region, key_ref, key)
    return key


def remember(uow: Any, account_id: str, region: str, key_ref: str, key: KmsKey | None) -> None:
    """What ``key_ref`` resolved to (after maintenance) in this transaction; a later
    ``resolve_key`` with ``now`` returns it (the authorize stage, then the operation)."""
    memo = getattr(uow, "memo", None)
    if memo is not None:
        memo[("kms-ref", account_id, region, key_ref)] = key


def maintain(uow: Any, key: KmsKey, now: _dt.datetime, *, sealer: Any = None,
             ids: Ids | None = None) -> KmsKey | None:
    """Apply what time has made due: deletion (→ None) and automatic rotation."""
    if D.deletion_due(key, now):
        if uow.write:      # a read only hides it (the request answers NotFound either way)
            delete_key(uow, key)
        return None
    if sealer is not None and D.rotation_due(key, now):
        if not uow.write:
            raise NeedsWrite(key.arn)   # new ciphertexts must use the new material
        key = _rotate_due(uow, sealer, key, now, ids or Ids())
    return key


def _rotate_due(uow: Any, sealer: Any, key: KmsKey, now: _dt.datetime, ids: Ids) -> KmsKey:
    """Every period that has passed adds one material (dated when it was due), each recorded
    as KMS's RotateKey service event in this transaction."""
    period = _dt.timedelta(days=key.rotation_period_days or D.DEFAULT_ROTATION_DAYS)
    due = key.next_rotation
    while due is not None and due <= now:
        previous = key.current_material_id
        key = rotate(uow, sealer, key, ids, at=due, rotation_type="AUTOMATIC")
        _service_event(uow, key, "RotateKey", due, ids, details={
            "rotationType": "AUTOMATIC", "keyOrigin": key.origin, "previousKeyMaterialId": previous,
            "currentKeyMaterialId": key.current_material_id, "keyId": key.key_id})
        due = due + period
    key = replace(key, next_rotation=due)
    save_key(uow, key)
    return key


def rotate(uow: Any, sealer: Any, key: KmsKey, ids: Ids, *, at: _dt.datetime, rotation_type: str) -> KmsKey:
    """New current material (all older material kept); returns the key with it current."""
    material_id = D.new_material_id(ids.token_bytes)
    seq = uow.execute(select(func.max(_M.seq)).where(_M.key_id == key.key_id)).scalar_one_or_none()
    _add_material(uow, sealer, key, material_id, D.generate_material(key.spec, ids.token_bytes),
                  seq=(seq or 0) + 1, at=at, rotation_type=rotation_type)
    key = replace(key, current_material_id=material_id)
    save_key(uow, key)
    return key


def _service_event(uow: Any, key: KmsKey, name: str, at: _dt.datetime, ids: Ids, *,
                   details: dict[str, Any] | None = None, response: dict[str, Any] | None = None) -> None:
    """KMS's own CloudTrail record of what time made it do to a key (AwsServiceEvent).
    https://docs.aws.amazon.com/kms/latest/developerguide/ct-rotatekey.html"""
    record_service_event(uow, event_id=ids.event_id(), event_time=at, event_source="kms.amazonaws.com",
                         event_name=name, aws_region=key.region, account_id=key.account_id,
                         resources=[{"accountId": key.account_id, "type": "AWS::KMS::Key", "ARN": key.arn}],
                         response_elements=response, service_event_details=details)


def delete_key(uow: Any, key: KmsKey) -> None:
    """Delete a key for good (its waiting period has ended): its aliases, material, and whatever
    registered hooks own; recorded as KMS's DeleteKey service event, dated when it was due, with
    the key ARN as ``responseElements.keyId`` (records since December 2022).
    https://docs.aws.amazon.com/kms/latest/developerguide/ct-delete-key.html"""
    assert key.deletion_date is not None, "only a key whose waiting period has ended is deleted"
    _service_event(uow, key, "DeleteKey", key.deletion_date, Ids(), response={"keyId": key.arn})
    changed(uow, key.account_id)
    for fn in _ON_DELETE:
        fn(uow, key)
    uow.execute(delete(kms_aliases).where(_A.target_key_id == key.key_id))
    uow.execute(delete(kms_key_materials).where(_M.key_id == key.key_id))
    uow.execute(delete(kms_keys).where(_K.key_id == key.key_id))


# --- material ----------------------------------------------------------------------------------

#: unsealed material versions, most recently used last: (sealer, key ARN, material id) → bytes.
#: In process memory only, like every key in use; a version never changes once written.
_MATERIALS: OrderedDict[tuple[Any, str, str], bytes] = OrderedDict()
_MATERIALS_SIZE = 2048
_MATERIALS_LOCK = threading.Lock()


def _add_material(uow: Any, sealer: Any, key: KmsKey, material_id: str, material: bytes, *, seq: int,
                  at: _dt.datetime, rotation_type: str | None) -> None:
    uow.execute(insert(kms_key_materials).values(
        key_id=key.key_id, material_id=material_id, seq=seq, created_at=at, rotation_type=rotation_type,
        material_sealed=sealer.seal(material, context=material_context(key, material_id))))


def key_material(uow: Any, sealer: Any, key: KmsKey, material_id: str | None = None) -> bytes:
    """The unsealed raw material (AES key, HMAC key, or PKCS#8 DER private key) of one material
    version: None → the current one. KeyError if the key has no such material."""
    wanted = material_id or key.current_material_id
    ident = (sealer, key.arn, wanted)
    with _MATERIALS_LOCK:
        found = _MATERIALS.get(ident)
        if found is not None:
            _MATERIALS.move_to_end(ident)
            return found
    sealed = uow.execute(_MATERIAL, {"key_id": key.key_id, "material_id": wanted}).scalar_one_or_none()
    if sealed is None:
        raise KeyError(wanted)
    material = sealer.open(bytes(sealed), context=material_context(key, wanted))
    with _MATERIALS_LOCK:
        _MATERIALS[ident] = material
        if len(_MATERIALS) > _MATERIALS_SIZE:
            _MATERIALS.popitem(last=False)
    return material


def material_ids(uow: Any, key: KmsKey) -> list[str]:
    """The key's material ids, oldest first."""
    return list(uow.execute(select(_M.material_id).where(_M.key_id == key.key_id).order_by(_M.seq)).scalars())


def materials(uow: Any, key: KmsKey) -> list[Any]:
    """(material_id, seq, created_at, rotation_type) rows, oldest first."""
    return list(uow.execute(select(_M.material_id, _M.seq, _M.created_at, _M.rotation_type)
                            .where(_M.key_id == key.key_id).order_by(_M.seq)))


def on_demand_rotations(uow: Any, key: KmsKey) -> int:
    return uow.execute(select(func.count()).select_from(kms_key_materials).where(and_(
        _M.key_id == key.key_id, _M.rotation_type == "ON_DEMAND"))).scalar_one()


def sealed_materials(uow: Any, key: KmsKey) -> list[bytes]:
    """The stored (sealed) bytes of every material version (for tests of storage at rest)."""
    return [bytes(b) for b in uow.execute(select(_M.material_sealed).where(_M.key_id == key.key_id)).scalars()]


# --- listing -----------------------------------------------------------------------------------


def list_keys(uow: Any, account_id: str, region: str, *, after: str | None, limit: int,
              now: _dt.datetime) -> tuple[list[KmsKey], bool]:
    """Keys of an account and region by key id, after ``after``; (page, more). Keys whose
    deletion date has passed are never listed (and, in a write unit of work, deleted)."""
    if uow.write:
        sweep(uow, account_id, region, now)
    live = ~and_(_K.state == D.PENDING_DELETION, _K.deletion_date <= now)
    query = select(kms_keys).where(and_(_K.account_id == account_id, _K.region == region, live))
    if after is not None:
        query = query.where(_K.key_id > after)
    rows = uow.execute(query.order_by(_K.key_id).limit(limit + 1)).all()
    return [_key(r) for r in rows[:limit]], len(rows) > limit


# --- tags --------------------------------------------------------------------------------------


def tags_of(uow: Any, key: KmsKey) -> dict[str, str]:
    text = uow.execute(_TAGS, {"key_id": key.key_id}).scalar_one_or_none()
    return json.loads(text) if text else {}


def set_tags(uow: Any, key: KmsKey, tags: Mapping[str, str]) -> None:
    changed(uow, key.account_id)
    uow.execute(update(kms_keys).where(_K.key_id == key.key_id)
                .values(tags=json.dumps(dict(tags)) if tags else None))


# --- aliases -----------------------------------------------------------------------------------


def get_alias(uow: Any, account_id: str, region: str, alias_name: str, *, now: _dt.datetime | None = None) -> Any:
    """An alias row; with ``now``, one whose key's deletion date has passed counts as gone
    (in a write unit of work the key and its aliases are deleted)."""
    row = uow.execute(select(kms_aliases).where(and_(
        _A.account_id == account_id, _A.region == region, _A.alias_name == alias_name))).first()
    if row is None or now is None:
        return row
    key = _get(uow, account_id, region, row.target_key_id)
    return row if key is not None and maintain(uow, key, now) is not None else None


def sweep(uow: Any, account_id: str, region: str, now: _dt.datetime) -> None:
    """Delete for good the keys of an account and region whose deletion date has passed."""
    rows = uow.execute(select(kms_keys).where(and_(_K.account_id == account_id, _K.region == region,
                                                   _K.state == D.PENDING_DELETION, _K.deletion_date <= now))).all()
    for row in rows:
        delete_key(uow, _key(row))


def add_alias(uow: Any, account_id: str, region: str, alias_name: str, key_id: str, now: _dt.datetime) -> None:
    changed(uow, account_id)
    uow.execute(insert(kms_aliases).values(account_id=account_id, region=region, alias_name=alias_name,
                                           target_key_id=key_id, created_at=now, updated_at=now))


def retarget_alias(uow: Any, account_id: str, region: str, alias_name: str, key_id: str,
                   now: _dt.datetime) -> None:
    changed(uow, account_id)
    uow.execute(update(kms_aliases).where(and_(
        _A.account_id == account_id, _A.region == region, _A.alias_name == alias_name))
        .values(target_key_id=key_id, updated_at=now))


def delete_alias(uow: Any, account_id: str, region: str, alias_name: str) -> None:
    changed(uow, account_id)
    uow.execute(delete(kms_aliases).where(and_(
        _A.account_id == account_id, _A.region == region, _A.alias_name == alias_name)))


def _live_target(now: _dt.datetime) -> Any:
    """Aliases whose key's deletion date has not passed (a deleted key's aliases go with it)."""
    due = select(_K.key_id).where(and_(_K.state == D.PENDING_DELETION, _K.deletion_date <= now))
    return _A.target_key_id.not_in(due)


def list_aliases(uow: Any, account_id: str, region: str, *, key_id: str | None, after: str | None,
                 limit: int, now: _dt.datetime) -> tuple[list[Any], bool]:
    query = select(kms_aliases).where(and_(_A.account_id == account_id, _A.region == region, _live_target(now)))
    if key_id is not None:
        query = query.where(_A.target_key_id == key_id)
    if after is not None:
        query = query.where(_A.alias_name > after)
    rows = list(uow.execute(query.order_by(_A.alias_name).limit(limit + 1)))
    return rows[:limit], len(rows) > limit


def aliases_of(uow: Any, key: KmsKey) -> list[str]:
    """The alias names that point at a key (kms:ResourceAliases)."""
    return list(uow.execute(_ALIASES_OF, {"key_id": key.key_id}).scalars())
