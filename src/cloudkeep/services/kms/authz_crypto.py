"""KMS's authorization entries for the cryptographic operations (merged into ``authz.AUTHZ``).

Each check is ``authz.key_check`` on the key the request uses (the key policy is a mandatory
resource policy) with the operation's condition keys
(https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html):

- ``kms:EncryptionContext:<key>`` per pair of the encryption context and
  ``kms:EncryptionContextKeys`` (the context's keys), absent without a context;
- ``kms:EncryptionAlgorithm`` (SYMMETRIC_DEFAULT when the request names none, as KMS uses it),
  ``kms:SigningAlgorithm`` and ``kms:MessageType`` (RAW by default), ``kms:MacAlgorithm``,
  ``kms:DataKeyPairSpec``; ``kms:CallerAccount`` comes with every ``key_check``.

Which key: KeyId where the request has one; Decrypt without a KeyId uses the key the
ciphertext blob names (symmetric ciphertext carries it), and a blob that names none is KMS's
InvalidCiphertextException before any policy is read. ReEncrypt is authorized twice, "once as
ReEncryptFrom on the source key and once as ReEncryptTo on the destination key"
(https://docs.aws.amazon.com/kms/latest/APIReference/API_ReEncrypt.html), each with its own
encryption context and algorithm, and ``kms:ReEncryptOnSameKey``. GenerateRandom acts on no
key: its resource is "*" (https://docs.aws.amazon.com/kms/latest/APIReference/API_GenerateRandom.html).

``authz.py`` imports this module while it is itself being imported, so the checks reach
``authz.key_check`` lazily: each ``_check`` builds the real check on first use and delegates
to it (the declared keys are known up front).

Must not: decide anything (the engine does); read key material.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from cloudkeep.services.framework import AuthzContext, Check

from . import cipher as C
from .errors import InvalidCiphertextException

Values = Mapping[str, tuple[str, ...]]
RefFn = Callable[[AuthzContext], "str | None"]

CALLER_ACCOUNT = "kms:CallerAccount"
CONTEXT_KEYS = ("kms:EncryptionContext:${EncryptionContextKey}", "kms:EncryptionContextKeys")
ENCRYPTION_ALGORITHM = "kms:EncryptionAlgorithm"
# what authz.key_check declares for every key check (authz.KEY_KEYS, kms:RequestAlias)
_KEY_CHECK_KEYS = (CALLER_ACCOUNT, "kms:KeySpec", "kms:KeyUsage", "kms:KeyOrigin", "kms:ResourceAliases",
                   "aws:ResourceTag/${TagKey}", "kms:RequestAlias")


def _check(action: str, *, keys: tuple[str, ...] = (), context: Callable[[AuthzContext], Values] | None = None,
           ref: RefFn | None = None) -> Check:
    """``authz.key_check(action, keys=…, context=…, ref=…)``, built on first use."""
    real: list[Check] = []

    def get() -> Check:
        if not real:
            from .authz import key_check
            real.append(key_check(action, keys=keys, context=context,
                                  **({"ref": ref} if ref is not None else {})))
        return real[0]

    def resource(ctx: AuthzContext) -> str:
        return get().resource_arn(ctx)

    def build(ctx: AuthzContext) -> Values:
        built = get().context
        return built(ctx) if built is not None else {}

    def policy(ctx: AuthzContext, uow: Any) -> "tuple[str, str] | None":
        loader = get().resource_policy
        return loader(ctx, uow) if loader is not None else None

    def tags(ctx: AuthzContext, uow: Any) -> Mapping[str, str]:
        loader = get().resource_tags
        return loader(ctx, uow) if loader is not None else {}

    return Check(action, resource=resource, keys=(*_KEY_CHECK_KEYS, *keys), context=build,
                 resource_policy=policy, resource_policy_required=True, resource_tags=tags)


# --- condition key values -----------------------------------------------------------------------


def encryption_context(context: Mapping[str, str] | None) -> dict[str, tuple[str, ...]]:
    """kms:EncryptionContext:<key> for each pair, kms:EncryptionContextKeys for the keys."""
    if not context:
        return {}
    out: dict[str, tuple[str, ...]] = {f"kms:EncryptionContext:{k}": (v,) for k, v in context.items()}
    out["kms:EncryptionContextKeys"] = tuple(context)
    return out


def _encryption(context_member: str, algorithm_member: str) -> Callable[[AuthzContext], Values]:
    def build(ctx: AuthzContext) -> Values:
        out = encryption_context(ctx.params.get(context_member))
        out[ENCRYPTION_ALGORITHM] = (ctx.params.get(algorithm_member) or "SYMMETRIC_DEFAULT",)
        return out
    return build


def _data_key_pair(ctx: AuthzContext) -> Values:
    out = dict(_encryption("EncryptionContext", "EncryptionAlgorithm")(ctx))
    if ctx.params.get("KeyPairSpec"):
        out["kms:DataKeyPairSpec"] = (ctx.params["KeyPairSpec"],)
    return out


def _signing(ctx: AuthzContext) -> Values:
    out: dict[str, tuple[str, ...]] = {"kms:MessageType": (ctx.params.get("MessageType") or "RAW",)}
    if ctx.params.get("SigningAlgorithm"):
        out["kms:SigningAlgorithm"] = (ctx.params["SigningAlgorithm"],)
    return out


def _mac(ctx: AuthzContext) -> Values:
    return {"kms:MacAlgorithm": (ctx.params["MacAlgorithm"],)} if ctx.params.get("MacAlgorithm") else {}


def _caller_account(ctx: AuthzContext) -> Values:
    return {CALLER_ACCOUNT: (ctx.principal.account_id,)} if ctx.principal.account_id else {}


# --- which key ----------------------------------------------------------------------------------


def _blob_key(ctx: AuthzContext, blob_member: str, key_member: str, algorithm_member: str) -> str | None:
    """The KeyId the request names, else the key its symmetric ciphertext blob names.
    Outside a request (the table test, the simulator) a blob that names no key yields None
    ("key/*"); in a request it is KMS's InvalidCiphertextException."""
    named = ctx.params.get(key_member)
    if named:
        return named
    blob = ctx.params.get(blob_member)
    algorithm = ctx.params.get(algorithm_member) or "SYMMETRIC_DEFAULT"
    if isinstance(blob, (bytes, bytearray)) and algorithm == "SYMMETRIC_DEFAULT":
        try:
            return C.parse_blob(bytes(blob)).key
        except ValueError:
            pass
    if ctx.uow is None:
        return None
    # a symmetric blob that names no key, or an RSA ciphertext without the KeyId it needs
    raise InvalidCiphertextException("")


def _decrypt_key(ctx: AuthzContext) -> str | None:
    return _blob_key(ctx, "CiphertextBlob", "KeyId", "EncryptionAlgorithm")


def _source_key(ctx: AuthzContext) -> str | None:
    return _blob_key(ctx, "CiphertextBlob", "SourceKeyId", "SourceEncryptionAlgorithm")


def _destination_key(ctx: AuthzContext) -> str | None:
    return ctx.params.get("DestinationKeyId")


def _same_key(ctx: AuthzContext) -> str:
    """kms:ReEncryptOnSameKey: source and destination resolve to one key."""
    from cloudkeep.wire.errors import ServiceError

    from .authz import key_arn_for
    try:
        same = key_arn_for(ctx, _source_key) == key_arn_for(ctx, _destination_key)
    except ServiceError:   # an unresolvable side fails its own check (NotFound, InvalidCiphertext)
        same = False
    return "true" if same else "false"


def _re_encrypt_from(ctx: AuthzContext) -> Values:
    out = dict(_encryption("SourceEncryptionContext", "SourceEncryptionAlgorithm")(ctx))
    out["kms:ReEncryptOnSameKey"] = (_same_key(ctx),)
    return out


def _re_encrypt_to(ctx: AuthzContext) -> Values:
    out = dict(_encryption("DestinationEncryptionContext", "DestinationEncryptionAlgorithm")(ctx))
    out["kms:ReEncryptOnSameKey"] = (_same_key(ctx),)
    return out


ENCRYPTION_KEYS = (*CONTEXT_KEYS, ENCRYPTION_ALGORITHM)
_ENC = _encryption("EncryptionContext", "EncryptionAlgorithm")

CRYPTO: dict[str, Any] = {
    "Encrypt": [_check("kms:Encrypt", keys=ENCRYPTION_KEYS, context=_ENC)],
    "Decrypt": [_check("kms:Decrypt", keys=ENCRYPTION_KEYS, context=_ENC, ref=_decrypt_key)],
    "ReEncrypt": [_check("kms:ReEncryptFrom", keys=(*ENCRYPTION_KEYS, "kms:ReEncryptOnSameKey"),
                         context=_re_encrypt_from, ref=_source_key),
                  _check("kms:ReEncryptTo", keys=(*ENCRYPTION_KEYS, "kms:ReEncryptOnSameKey"),
                         context=_re_encrypt_to, ref=_destination_key)],
    "GenerateDataKey": [_check("kms:GenerateDataKey", keys=ENCRYPTION_KEYS, context=_ENC)],
    "GenerateDataKeyWithoutPlaintext": [_check("kms:GenerateDataKeyWithoutPlaintext", keys=ENCRYPTION_KEYS,
                                               context=_ENC)],
    "GenerateDataKeyPair": [_check("kms:GenerateDataKeyPair", keys=(*ENCRYPTION_KEYS, "kms:DataKeyPairSpec"),
                                   context=_data_key_pair)],
    "GenerateDataKeyPairWithoutPlaintext": [_check("kms:GenerateDataKeyPairWithoutPlaintext",
                                                   keys=(*ENCRYPTION_KEYS, "kms:DataKeyPairSpec"),
                                                   context=_data_key_pair)],
    "GenerateRandom": [Check("kms:GenerateRandom", keys=(CALLER_ACCOUNT,), context=_caller_account)],
    "Sign": [_check("kms:Sign", keys=("kms:SigningAlgorithm", "kms:MessageType"), context=_signing)],
    "Verify": [_check("kms:Verify", keys=("kms:SigningAlgorithm", "kms:MessageType"), context=_signing)],
    "GetPublicKey": [_check("kms:GetPublicKey")],
    "GenerateMac": [_check("kms:GenerateMac", keys=("kms:MacAlgorithm",), context=_mac)],
    "VerifyMac": [_check("kms:VerifyMac", keys=("kms:MacAlgorithm",), context=_mac)],
}
