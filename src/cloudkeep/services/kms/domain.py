"""KMS keys: the entity, its key specs, key states, the default key policy, key material
generation, and the rules of aliases, tags and rotation. Pure: no SQL, no I/O.

Key specs, usages and algorithms: https://docs.aws.amazon.com/kms/latest/developerguide/symm-asymm-choose-key-spec.html
Key states and what each operation allows: https://docs.aws.amazon.com/kms/latest/developerguide/key-state.html
KeyMetadata: https://docs.aws.amazon.com/kms/latest/APIReference/API_KeyMetadata.html

Must not: touch storage (``repository.py``) or the wire (``operations.py``); store material
(material is only ever handed to the repository, which seals it).
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, replace
from typing import Any, Callable, Mapping

from cloudkeep.wire.errors import ValidationError

from .errors import (InvalidAliasNameException, KMSInvalidStateException, NotFoundException, TagException,
                     UnsupportedOperationException, disabled, pending_deletion)

ENABLED, DISABLED, PENDING_DELETION = "Enabled", "Disabled", "PendingDeletion"
SYMMETRIC_DEFAULT = "SYMMETRIC_DEFAULT"
ENCRYPT_DECRYPT, SIGN_VERIFY, GENERATE_VERIFY_MAC, KEY_AGREEMENT = (
    "ENCRYPT_DECRYPT", "SIGN_VERIFY", "GENERATE_VERIFY_MAC", "KEY_AGREEMENT")

_RSA_SIGNING = ("RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384", "RSASSA_PSS_SHA_512",
                "RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512")


@dataclass(frozen=True, slots=True)
class KeySpecInfo:
    """What a key spec allows: its key usages and, per usage, its algorithms (AWS's key spec
    reference: https://docs.aws.amazon.com/kms/latest/developerguide/symm-asymm-choose-key-spec.html)."""

    name: str
    kind: str                                   # "symmetric" | "hmac" | "rsa" | "ecc"
    usages: tuple[str, ...]
    encryption_algorithms: tuple[str, ...] = ()  # with ENCRYPT_DECRYPT
    signing_algorithms: tuple[str, ...] = ()     # with SIGN_VERIFY
    mac_algorithms: tuple[str, ...] = ()         # with GENERATE_VERIFY_MAC
    key_agreement_algorithms: tuple[str, ...] = ()  # with KEY_AGREEMENT
    bits: int = 0                               # RSA modulus / HMAC key / AES key length
    curve: str | None = None                    # cryptography's curve class name for ECC

    @property
    def symmetric(self) -> bool:
        return self.kind == "symmetric"

    def algorithms(self, usage: str) -> dict[str, list[str]]:
        """The KeyMetadata algorithm members for a key of this spec and usage."""
        if usage == ENCRYPT_DECRYPT and self.encryption_algorithms:
            return {"EncryptionAlgorithms": list(self.encryption_algorithms)}
        if usage == SIGN_VERIFY and self.signing_algorithms:
            return {"SigningAlgorithms": list(self.signing_algorithms)}
        if usage == GENERATE_VERIFY_MAC and self.mac_algorithms:
            return {"MacAlgorithms": list(self.mac_algorithms)}
        if usage == KEY_AGREEMENT and self.key_agreement_algorithms:
            return {"KeyAgreementAlgorithms": list(self.key_agreement_algorithms)}
        return {}


def _hmac(bits: int) -> KeySpecInfo:
    return KeySpecInfo(f"HMAC_{bits}", "hmac", (GENERATE_VERIFY_MAC,), mac_algorithms=(f"HMAC_SHA_{bits}",),
                       bits=bits)


def _rsa(bits: int) -> KeySpecInfo:
    return KeySpecInfo(f"RSA_{bits}", "rsa", (ENCRYPT_DECRYPT, SIGN_VERIFY),
                       encryption_algorithms=("RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"),
                       signing_algorithms=_RSA_SIGNING, bits=bits)


def _ecc(name: str, curve: str, signing: str, *, agreement: bool) -> KeySpecInfo:
    usages = (SIGN_VERIFY, KEY_AGREEMENT) if agreement else (SIGN_VERIFY,)
    return KeySpecInfo(name, "ecc", usages, signing_algorithms=(signing,),
                       key_agreement_algorithms=("ECDH",) if agreement else (), curve=curve)


KEY_SPECS: Mapping[str, KeySpecInfo] = {s.name: s for s in (
    KeySpecInfo(SYMMETRIC_DEFAULT, "symmetric", (ENCRYPT_DECRYPT,), encryption_algorithms=(SYMMETRIC_DEFAULT,),
                bits=256),
    _hmac(224), _hmac(256), _hmac(384), _hmac(512),
    _rsa(2048), _rsa(3072), _rsa(4096),
    _ecc("ECC_NIST_P256", "SECP256R1", "ECDSA_SHA_256", agreement=True),
    _ecc("ECC_NIST_P384", "SECP384R1", "ECDSA_SHA_384", agreement=True),
    _ecc("ECC_NIST_P521", "SECP521R1", "ECDSA_SHA_512", agreement=True),
    _ecc("ECC_SECG_P256K1", "SECP256K1", "ECDSA_SHA_256", agreement=False),
)}


@dataclass(frozen=True, slots=True)
class KmsKey:
    """One KMS key (its material lives sealed in the repository, versioned by material id)."""

    account_id: str
    region: str
    key_id: str
    arn: str
    key_spec: str
    key_usage: str
    state: str
    description: str
    origin: str
    created_at: _dt.datetime
    deletion_date: _dt.datetime | None
    policy: str
    current_material_id: str
    rotation_enabled: bool
    rotation_period_days: int | None
    next_rotation: _dt.datetime | None
    pending_window_days: int | None = None

    @property
    def spec(self) -> KeySpecInfo:
        return KEY_SPECS[self.key_spec]

    @property
    def enabled(self) -> bool:
        return self.state == ENABLED

    def to_metadata(self) -> dict[str, Any]:
        """KeyMetadata as DescribeKey/CreateKey return it."""
        out: dict[str, Any] = {
            "AWSAccountId": self.account_id, "KeyId": self.key_id, "Arn": self.arn,
            "CreationDate": self.created_at, "Enabled": self.enabled, "Description": self.description,
            "KeyUsage": self.key_usage, "KeyState": self.state,
        }
        if self.state == PENDING_DELETION and self.deletion_date is not None:
            out["DeletionDate"] = self.deletion_date
        from .managed import is_aws_managed
        out.update({"Origin": self.origin, "KeyManager": "AWS" if is_aws_managed(self) else "CUSTOMER",
                    "CustomerMasterKeySpec": self.key_spec, "KeySpec": self.key_spec})
        out.update(self.spec.algorithms(self.key_usage))
        out["MultiRegion"] = False
        if self.spec.symmetric:
            # "present for symmetric encryption keys with AWS_KMS origin" (API_KeyMetadata)
            out["CurrentKeyMaterialId"] = self.current_material_id
        return out


# --- creating ----------------------------------------------------------------------------------


def key_arn(partition: str, region: str, account_id: str, key_id: str) -> str:
    return f"arn:{partition}:kms:{region}:{account_id}:key/{key_id}"


def alias_arn(partition: str, region: str, account_id: str, alias_name: str) -> str:
    return f"arn:{partition}:kms:{region}:{account_id}:{alias_name}"


def default_key_policy(partition: str, account_id: str) -> str:
    """The default key policy KMS gives a key created through the API: one statement that lets
    the account's root (hence IAM policies) manage and use the key, formatted as KMS returns it.
    https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html#key-policy-default-allow-root-enable-iam"""
    return ('{\n  "Version" : "2012-10-17",\n  "Id" : "key-default-1",\n  "Statement" : [ {\n'
            '    "Sid" : "Enable IAM User Permissions",\n    "Effect" : "Allow",\n    "Principal" : {\n'
            f'      "AWS" : "arn:{partition}:iam::{account_id}:root"\n    }},\n'
            '    "Action" : "kms:*",\n    "Resource" : "*"\n  } ]\n}')


def check_spec_and_usage(key_spec: str | None, key_usage: str | None) -> tuple[str, str]:
    """CreateKey's KeySpec and KeyUsage, defaulted and validated as KMS does. The model's enum
    check ran already; specs the model knows but cloudkeep does not (SM2 is China-only; ML-DSA
    and Ed25519 are not implemented) are UnsupportedOperationException."""
    spec_name = key_spec or SYMMETRIC_DEFAULT
    spec = KEY_SPECS.get(spec_name)
    if spec is None:
        raise UnsupportedOperationException(f"KeySpec {spec_name} is not supported in this region.")
    if key_usage is None:
        if not spec.symmetric:
            # "This parameter is optional when you are creating a symmetric encryption KMS key;
            # otherwise, it is required." (API_CreateKey)
            raise ValidationError("You must specify a KeyUsage value for all KMS keys except for symmetric "
                                  "encryption keys.")
        key_usage = ENCRYPT_DECRYPT
    if key_usage not in spec.usages:
        raise ValidationError(f"KeyUsage {key_usage} is not compatible with KeySpec {spec_name}")
    return spec_name, key_usage


def generate_material(spec: KeySpecInfo, token_bytes: Callable[[int], bytes]) -> bytes:
    """New key material for a spec: the raw AES-256 key, the raw HMAC key, or the PKCS#8 DER
    private key of an RSA or ECC key pair (generated by ``cryptography``)."""
    if spec.kind in ("symmetric", "hmac"):
        return token_bytes(spec.bits // 8)
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    if spec.kind == "rsa":
        private: Any = rsa.generate_private_key(public_exponent=65537, key_size=spec.bits)
    else:
        private = ec.generate_private_key(getattr(ec, spec.curve or "")())
    return private.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())


def new_material_id(token_bytes: Callable[[int], bytes]) -> str:
    """A key material id: 64 hex characters, as KMS's ``KeyMaterialId``."""
    return token_bytes(32).hex()


# --- states ------------------------------------------------------------------------------------

#: the states an operation accepts (the rest raise, per the key state table); "any" = all
ANY_STATE = frozenset({ENABLED, DISABLED, PENDING_DELETION})
MANAGE = frozenset({ENABLED, DISABLED})          # EnableKey, DisableKey, tags, aliases, description
USE = frozenset({ENABLED})                       # cryptographic operations, rotation settings


def require_state(key: KmsKey, allowed: frozenset[str]) -> KmsKey:
    """Raise KMS's error when the key's state does not allow the operation:
    Disabled → DisabledException "<arn> is disabled."; PendingDeletion → KMSInvalidStateException
    "<arn> is pending deletion."; otherwise KMSInvalidStateException.
    https://docs.aws.amazon.com/kms/latest/developerguide/key-state.html"""
    if key.state in allowed:
        return key
    if key.state == DISABLED:
        raise disabled(key.arn)
    if key.state == PENDING_DELETION:
        raise pending_deletion(key.arn)
    if key.state == ENABLED and PENDING_DELETION in allowed:     # CancelKeyDeletion
        raise KMSInvalidStateException(f"{key.arn} is not pending deletion.")
    raise KMSInvalidStateException(f"{key.arn} is {key.state}.")


def schedule_deletion(key: KmsKey, now: _dt.datetime, window_days: int) -> KmsKey:
    if not 7 <= window_days <= 30:
        # https://docs.aws.amazon.com/kms/latest/APIReference/API_ScheduleKeyDeletion.html
        raise ValidationError(f"PendingWindowInDays should be between 7 and 30, but it is {window_days}")
    return replace(key, state=PENDING_DELETION, deletion_date=now + _dt.timedelta(days=window_days),
                   pending_window_days=window_days)


def deletion_due(key: KmsKey, now: _dt.datetime) -> bool:
    return key.state == PENDING_DELETION and key.deletion_date is not None and key.deletion_date <= now


# --- rotation ----------------------------------------------------------------------------------

DEFAULT_ROTATION_DAYS = 365
MAX_ON_DEMAND_ROTATIONS = 10       # https://docs.aws.amazon.com/kms/latest/developerguide/rotating-keys-on-demand.html


def supports_rotation(key: KmsKey) -> bool:
    """Automatic and on-demand rotation: symmetric encryption keys only.
    https://docs.aws.amazon.com/kms/latest/developerguide/rotating-keys.html"""
    return key.spec.symmetric and key.origin == "AWS_KMS"


def require_rotation_support(key: KmsKey) -> None:
    if not supports_rotation(key):
        raise UnsupportedOperationException(f"{key.arn} does not support key rotation; only symmetric "
                                            f"encryption KMS keys with AWS_KMS origin rotate.")


def rotation_period(value: int | None) -> int:
    """RotationPeriodInDays: 90–2560, default 365 (API_EnableKeyRotation)."""
    if value is None:
        return DEFAULT_ROTATION_DAYS
    if not 90 <= value <= 2560:
        raise ValidationError(f"1 validation error detected: Value '{value}' at 'rotationPeriodInDays' failed to "
                              f"satisfy constraint: Member must have value between 90 and 2560")
    return value


def enable_rotation(key: KmsKey, now: _dt.datetime, days: int) -> KmsKey:
    """The next rotation is one period after rotation was enabled (kept when only the period
    changes: then it is one new period after the old schedule's start)."""
    if key.rotation_enabled and key.next_rotation is not None and key.rotation_period_days:
        start = key.next_rotation - _dt.timedelta(days=key.rotation_period_days)
        nxt = max(start + _dt.timedelta(days=days), now)
    else:
        nxt = now + _dt.timedelta(days=days)
    return replace(key, rotation_enabled=True, rotation_period_days=days, next_rotation=nxt)


def disable_rotation(key: KmsKey) -> KmsKey:
    return replace(key, rotation_enabled=False, next_rotation=None)


def rotation_due(key: KmsKey, now: _dt.datetime) -> bool:
    """A disabled or pending-deletion key is not rotated; once enabled again, a past rotation
    date makes it rotate at once. https://docs.aws.amazon.com/kms/latest/developerguide/rotating-keys.html"""
    return (key.rotation_enabled and key.state == ENABLED and key.next_rotation is not None
            and key.next_rotation <= now and supports_rotation(key))


# --- aliases -----------------------------------------------------------------------------------

_ALIAS_RE = re.compile(r"^alias/[a-zA-Z0-9/_-]+$")


def check_alias_name(name: str) -> None:
    """alias/ prefix, not alias/aws/ (reserved for AWS managed keys), letters, digits, / _ -.
    https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateAlias.html ("The alias name
    cannot begin with alias/aws/. The alias/aws/ prefix is reserved for AWS managed keys.");
    AWS answers a colon with "ValidationException: alias/a:b contains invalid characters for an
    alias" (https://github.com/hashicorp/terraform-provider-aws/issues/12891)."""
    if not name.startswith("alias/"):
        raise ValidationError('Alias must start with the prefix "alias/". Please see '
                              "https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html")
    if not _ALIAS_RE.match(name):
        raise ValidationError(f"{name} contains invalid characters for an alias")
    if name.startswith("alias/aws/"):
        raise InvalidAliasNameException("Aliases that begin with alias/aws/ are reserved for AWS managed keys.")


# --- tags --------------------------------------------------------------------------------------

MAX_TAGS = 50


def check_tags(tags: list[Mapping[str, str]]) -> dict[str, str]:
    """Tags of CreateKey/TagResource: unique keys, not aws: prefixed, at most 50.
    https://docs.aws.amazon.com/kms/latest/developerguide/tagging-keys.html"""
    keys = [t["TagKey"] for t in tags]
    if len(set(keys)) != len(keys):
        raise TagException("Duplicate tag keys")
    for key in keys:
        if key.lower().startswith("aws:"):
            raise TagException("Tags beginning with aws: are reserved")
    return {t["TagKey"]: t["TagValue"] for t in tags}


def merged_tags(current: Mapping[str, str], new: Mapping[str, str]) -> dict[str, str]:
    out = {**current, **new}
    if len(out) > MAX_TAGS:
        raise TagException("Too many tags")
    return out


# --- key references ----------------------------------------------------------------------------

_UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_KMS_ARN_RE = re.compile(r"^arn:(?P<partition>[\w-]+):kms:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
                         r"(?P<kind>key|alias)/(?P<name>.+)$")


@dataclass(frozen=True, slots=True)
class KeyRef:
    """A parsed KeyId: a key (by id) or an alias (by name), in an account and region."""

    account_id: str
    region: str
    key_id: str | None = None
    alias_name: str | None = None       # "alias/…"


def parse_key_ref(account_id: str, region: str, ref: str) -> KeyRef:
    """Key id, key ARN, alias name or alias ARN → KeyRef; NotFoundException as KMS answers an
    unusable reference ("Invalid keyId '…'")."""
    m = _KMS_ARN_RE.match(ref)
    if m:
        if m["kind"] == "alias":
            return KeyRef(m["account"], m["region"], alias_name="alias/" + m["name"])
        return KeyRef(m["account"], m["region"], key_id=m["name"])
    if ref.startswith("arn:"):
        raise NotFoundException(f"Invalid arn {ref}")
    if ref.startswith("alias/"):
        return KeyRef(account_id, region, alias_name=ref)
    return KeyRef(account_id, region, key_id=ref)


def is_key_id(value: str) -> bool:
    return bool(_UUID_RE.match(value))
