"""KMS key operations: keys and their lifecycle, aliases, tags and rotation; and the service's
``operation`` registry, which the other KMS operation modules (ops_crypto.py, …) register into.

https://docs.aws.amazon.com/kms/latest/APIReference/API_Operations.html

The authorize stage has already resolved the key (NotFoundException when it does not exist),
run the lazy maintenance and decided the key policy and IAM (``authz.py``); these functions
apply the key state table (https://docs.aws.amazon.com/kms/latest/developerguide/key-state.html)
and KMS's own rules.

Must not: import the pipeline; hold SQL (``repository.py``) or rules (``domain.py``).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import replace
from typing import Any

from cloudkeep.policy.model import PolicyError, PolicyKind
from cloudkeep.policy.parse import parse_policy
from cloudkeep.services.framework import Call, Operations, Params, Result
from cloudkeep.wire.errors import ValidationError

from . import domain as D
from . import repository as repo
from .authz import not_found
from .domain import KmsKey
from .errors import (AlreadyExistsException, InvalidMarkerException, LimitExceededException,
                     MalformedPolicyDocumentException, NotFoundException, UnsupportedOperationException)

operation = Operations()


# --- helpers -----------------------------------------------------------------------------------


def find_key(call: Call, ref: str, *, cross_account: bool = False) -> KmsKey:
    """The key ``ref`` names (with lazy maintenance), or NotFoundException. Operations whose
    "Cross-account use" is No only find keys of the caller's account."""
    if not cross_account:
        parsed = D.parse_key_ref(call.account_id, call.region, ref)
        if parsed.account_id != call.account_id or parsed.region != call.region:
            raise not_found(call.partition, call.account_id, call.region, ref)
    key = repo.resolve_key(call.uow, call.account_id, call.region, ref, now=call.clock.now(), sealer=call.sealer)
    if key is None:
        raise not_found(call.partition, call.account_id, call.region, ref)
    return key


def _encode_marker(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode()


def _decode_marker(marker: str | None) -> str | None:
    if marker is None:
        return None
    try:
        return base64.b64decode(marker.encode(), altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidMarkerException("Invalid marker") from None


def _page(items: list[Any], more: bool, last: str | None, name: str) -> Result:
    out: Result = {name: items, "Truncated": more}
    if more and last is not None:
        out["NextMarker"] = _encode_marker(last)
    return out


def _check_policy(text: str) -> None:
    try:
        parse_policy(text, PolicyKind.RESOURCE)
    except PolicyError as error:
        raise MalformedPolicyDocumentException(error.message) from None


# --- keys --------------------------------------------------------------------------------------


@operation("CreateKey")
def create_key(call: Call, params: Params) -> Result:
    if params.get("KeySpec") and params.get("CustomerMasterKeySpec"):
        raise ValidationError("You cannot specify KeySpec and CustomerMasterKeySpec in the same request. "
                              "CustomerMasterKeySpec is deprecated.")
    origin = params.get("Origin") or "AWS_KMS"
    if origin != "AWS_KMS" or params.get("CustomKeyStoreId") or params.get("XksKeyId"):
        raise UnsupportedOperationException(f"Origin {origin} and custom key stores are not supported by cloudkeep.")
    if params.get("MultiRegion"):
        raise UnsupportedOperationException("Multi-Region keys are not supported by cloudkeep.")
    spec_name, usage = D.check_spec_and_usage(params.get("KeySpec") or params.get("CustomerMasterKeySpec"),
                                              params.get("KeyUsage"))
    tags = D.merged_tags({}, D.check_tags(params.get("Tags") or []))
    repo.sweep(call.uow, call.account_id, call.region, call.clock.now())   # keys whose deletion is due
    key_id = call.ids.uuid()
    arn = D.key_arn(call.partition, call.region, call.account_id, key_id)
    policy = params.get("Policy")
    if policy is None:
        policy = D.default_key_policy(call.partition, call.account_id)
    else:
        _check_policy(policy)
        if not params.get("BypassPolicyLockoutSafetyCheck"):
            from .grants import check_lockout
            check_lockout(call.principal, call.account_id, policy, key_arn=arn)
    spec = D.KEY_SPECS[spec_name]
    material_id = D.new_material_id(call.ids.token_bytes)
    key = KmsKey(account_id=call.account_id, region=call.region, key_id=key_id, arn=arn, key_spec=spec_name,
                 key_usage=usage, state=D.ENABLED, description=params.get("Description") or "", origin=origin,
                 created_at=call.clock.now(), deletion_date=None, policy=policy, current_material_id=material_id,
                 rotation_enabled=False, rotation_period_days=None, next_rotation=None)
    repo.add_key(call.uow, call.sealer, key, D.generate_material(spec, call.ids.token_bytes), tags)
    return {"KeyMetadata": key.to_metadata()}


@operation("DescribeKey")
def describe_key(call: Call, params: Params) -> Result:
    return {"KeyMetadata": find_key(call, params["KeyId"], cross_account=True).to_metadata()}


@operation("ListKeys")
def list_keys(call: Call, params: Params) -> Result:
    keys, more = repo.list_keys(call.uow, call.account_id, call.region, after=_decode_marker(params.get("Marker")),
                                limit=params.get("Limit") or 100, now=call.clock.now())
    return _page([{"KeyId": k.key_id, "KeyArn": k.arn} for k in keys], more,
                 keys[-1].key_id if keys else None, "Keys")


@operation("EnableKey")
def enable_key(call: Call, params: Params) -> Result:
    key = D.require_state(find_key(call, params["KeyId"]), D.MANAGE)
    repo.save_key(call.uow, replace(key, state=D.ENABLED))
    return {}


@operation("DisableKey")
def disable_key(call: Call, params: Params) -> Result:
    key = D.require_state(find_key(call, params["KeyId"]), D.MANAGE)
    repo.save_key(call.uow, replace(key, state=D.DISABLED))
    return {}


@operation("ScheduleKeyDeletion")
def schedule_key_deletion(call: Call, params: Params) -> Result:
    window = params.get("PendingWindowInDays")
    key = D.require_state(find_key(call, params["KeyId"]), D.MANAGE)
    key = D.schedule_deletion(key, call.clock.now(), 30 if window is None else window)
    repo.save_key(call.uow, key)
    return {"KeyId": key.arn, "DeletionDate": key.deletion_date, "KeyState": key.state,
            "PendingWindowInDays": key.pending_window_days}


@operation("CancelKeyDeletion")
def cancel_key_deletion(call: Call, params: Params) -> Result:
    key = D.require_state(find_key(call, params["KeyId"]), frozenset({D.PENDING_DELETION}))
    # "the key state is Disabled" after cancelling (API_CancelKeyDeletion)
    key = replace(key, state=D.DISABLED, deletion_date=None, pending_window_days=None)
    repo.save_key(call.uow, key)
    return {"KeyId": key.arn}


@operation("UpdateKeyDescription")
def update_key_description(call: Call, params: Params) -> Result:
    key = D.require_state(find_key(call, params["KeyId"]), D.MANAGE)
    repo.save_key(call.uow, replace(key, description=params["Description"]))
    return {}


# --- aliases -----------------------------------------------------------------------------------


def _alias_name(call: Call, name: str) -> str:
    """AliasName as CreateAlias/UpdateAlias/DeleteAlias take it (a name, or this account's ARN)."""
    if name.startswith("arn:"):
        parsed = D.parse_key_ref(call.account_id, call.region, name)
        if parsed.alias_name is None or parsed.account_id != call.account_id or parsed.region != call.region:
            raise ValidationError(f"{name} is not a valid alias ARN")
        return parsed.alias_name
    return name


def _alias_target(call: Call, ref: str) -> KmsKey:
    """TargetKeyId: a key id or key ARN of this account and region (never an alias)."""
    if ref.startswith("alias/") or (ref.startswith("arn:") and ":alias/" in ref):
        raise ValidationError("Aliases must refer to keys. Try again with a key ID or key ARN.")
    key = find_key(call, ref)
    return D.require_state(key, D.MANAGE)


@operation("CreateAlias")
def create_alias(call: Call, params: Params) -> Result:
    name = _alias_name(call, params["AliasName"])
    D.check_alias_name(name)
    if repo.get_alias(call.uow, call.account_id, call.region, name, now=call.clock.now()) is not None:
        raise AlreadyExistsException(f"An alias with the name "
                                     f"{D.alias_arn(call.partition, call.region, call.account_id, name)} already exists")
    key = _alias_target(call, params["TargetKeyId"])
    repo.add_alias(call.uow, call.account_id, call.region, name, key.key_id, call.clock.now())
    return {}


def _existing_alias(call: Call, name: str) -> Any:
    row = repo.get_alias(call.uow, call.account_id, call.region, name, now=call.clock.now())
    if row is None:
        raise NotFoundException(f"Alias {D.alias_arn(call.partition, call.region, call.account_id, name)} is not found.")
    return row


@operation("UpdateAlias")
def update_alias(call: Call, params: Params) -> Result:
    name = _alias_name(call, params["AliasName"])
    D.check_alias_name(name)
    _existing_alias(call, name)
    current = find_key(call, name)
    key = _alias_target(call, params["TargetKeyId"])
    # "The current and new KMS key must be the same type … and they must have the same key usage"
    # https://docs.aws.amazon.com/kms/latest/APIReference/API_UpdateAlias.html
    if current.spec.kind != key.spec.kind or current.key_usage != key.key_usage:
        raise ValidationError(f"{key.arn} is not compatible with the alias's current key {current.arn}: both keys "
                              f"must be of the same type and key usage.")
    repo.retarget_alias(call.uow, call.account_id, call.region, name, key.key_id, call.clock.now())
    return {}


@operation("DeleteAlias")
def delete_alias(call: Call, params: Params) -> Result:
    name = _alias_name(call, params["AliasName"])
    if not name.startswith("alias/"):
        D.check_alias_name(name)
    _existing_alias(call, name)
    repo.delete_alias(call.uow, call.account_id, call.region, name)
    return {}


@operation("ListAliases")
def list_aliases(call: Call, params: Params) -> Result:
    key_id = None
    if params.get("KeyId"):
        key_id = find_key(call, params["KeyId"]).key_id
    rows, more = repo.list_aliases(call.uow, call.account_id, call.region, key_id=key_id,
                                   after=_decode_marker(params.get("Marker")), limit=params.get("Limit") or 100,
                                   now=call.clock.now())
    aliases = [{"AliasName": r.alias_name,
                "AliasArn": D.alias_arn(call.partition, call.region, call.account_id, r.alias_name),
                "TargetKeyId": r.target_key_id, "CreationDate": r.created_at, "LastUpdatedDate": r.updated_at}
               for r in rows]
    return _page(aliases, more, rows[-1].alias_name if rows else None, "Aliases")


# --- tags --------------------------------------------------------------------------------------


@operation("TagResource")
def tag_resource(call: Call, params: Params) -> Result:
    key = D.require_state(find_key(call, params["KeyId"]), D.MANAGE)
    new = D.check_tags(params["Tags"])
    repo.set_tags(call.uow, key, D.merged_tags(repo.tags_of(call.uow, key), new))
    return {}


@operation("UntagResource")
def untag_resource(call: Call, params: Params) -> Result:
    key = D.require_state(find_key(call, params["KeyId"]), D.MANAGE)
    gone = set(params["TagKeys"])
    repo.set_tags(call.uow, key, {k: v for k, v in repo.tags_of(call.uow, key).items() if k not in gone})
    return {}


@operation("ListResourceTags")
def list_resource_tags(call: Call, params: Params) -> Result:
    key = find_key(call, params["KeyId"])
    tags = sorted(repo.tags_of(call.uow, key).items())
    after = _decode_marker(params.get("Marker"))
    if after is not None:
        tags = [t for t in tags if t[0] > after]
    limit = params.get("Limit") or 50
    page, more = tags[:limit], len(tags) > limit
    return _page([{"TagKey": k, "TagValue": v} for k, v in page], more, page[-1][0] if page else None, "Tags")


# --- rotation ----------------------------------------------------------------------------------


@operation("EnableKeyRotation")
def enable_key_rotation(call: Call, params: Params) -> Result:
    key = find_key(call, params["KeyId"])
    D.require_rotation_support(key)
    key = D.require_state(key, D.USE)
    days = D.rotation_period(params.get("RotationPeriodInDays"))
    repo.save_key(call.uow, D.enable_rotation(key, call.clock.now(), days))
    return {}


@operation("DisableKeyRotation")
def disable_key_rotation(call: Call, params: Params) -> Result:
    key = find_key(call, params["KeyId"])
    D.require_rotation_support(key)
    key = D.require_state(key, D.USE)
    repo.save_key(call.uow, D.disable_rotation(key))
    return {}


@operation("GetKeyRotationStatus")
def get_key_rotation_status(call: Call, params: Params) -> Result:
    key = find_key(call, params["KeyId"], cross_account=True)
    D.require_rotation_support(key)
    # "While a KMS key is pending deletion, its key rotation status is false and KMS does not
    # rotate the key material. If you cancel the deletion, the original key rotation status
    # returns" (API_GetKeyRotationStatus)
    enabled = key.rotation_enabled and key.state != D.PENDING_DELETION
    out: Result = {"KeyRotationEnabled": enabled, "KeyId": key.arn}
    if enabled:
        out["RotationPeriodInDays"] = key.rotation_period_days
        out["NextRotationDate"] = key.next_rotation
    return out


@operation("RotateKeyOnDemand")
def rotate_key_on_demand(call: Call, params: Params) -> Result:
    key = find_key(call, params["KeyId"])
    D.require_rotation_support(key)
    key = D.require_state(key, D.USE)
    if repo.on_demand_rotations(call.uow, key) >= D.MAX_ON_DEMAND_ROTATIONS:
        raise LimitExceededException(f"The on-demand rotations limit has been reached for the given keyId. "
                                     f"No more on-demand rotations can be performed for this key: {key.arn}")
    repo.rotate(call.uow, call.sealer, key, call.ids, at=call.clock.now(), rotation_type="ON_DEMAND")
    return {"KeyId": key.arn}


@operation("ListKeyRotations")
def list_key_rotations(call: Call, params: Params) -> Result:
    key = find_key(call, params["KeyId"])
    D.require_rotation_support(key)
    rows = repo.materials(call.uow, key)
    if (params.get("IncludeKeyMaterial") or "ROTATIONS_ONLY") == "ROTATIONS_ONLY":
        rows = [r for r in rows if r.rotation_type is not None]
    after = _decode_marker(params.get("Marker"))
    if after is not None:
        rows = [r for r in rows if r.seq > int(after)] if after.isdigit() else []
    limit = params.get("Limit") or 100
    page, more = rows[:limit], len(rows) > limit
    entries = []
    for r in page:
        entry: Result = {"KeyId": key.key_id, "KeyMaterialId": r.material_id,
                         "KeyMaterialState": "CURRENT" if r.material_id == key.current_material_id else "NON_CURRENT"}
        if r.rotation_type is not None:
            entry["RotationDate"] = r.created_at
            entry["RotationType"] = r.rotation_type
        entries.append(entry)
    return _page(entries, more, str(page[-1].seq) if page else None, "Rotations")
