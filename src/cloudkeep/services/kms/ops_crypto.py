"""KMS's cryptographic operations: Encrypt, Decrypt, ReEncrypt, the data key operations,
GenerateRandom, Sign, Verify, GetPublicKey, GenerateMac and VerifyMac.

The authorize stage has already run each operation's checks (``authz_crypto.py``: the key
policy, IAM, grants, with the encryption context and algorithm as condition keys); these
functions apply KMS's own rules in AWS's order (the key exists, its state allows use, its
usage fits the operation, the algorithm fits its key spec, then the sizes) and do the
cryptography through ``cipher.py``. Messages are AWS's, as recorded against AWS:

- wrong usage: InvalidKeyUsageException "<key ARN> key usage is SIGN_VERIFY which is not valid
  for Encrypt." (https://github.com/jonathankeebler/jwt-kms/issues/4 quotes AWS;
  https://github.com/localstack/localstack/blob/master/tests/aws/services/kms/test_kms.snapshot.json)
- wrong algorithm: InvalidKeyUsageException "Algorithm SYMMETRIC_DEFAULT is incompatible with
  key spec RSA_4096." (https://github.com/getsops/sops/issues/684,
  https://github.com/zalando/spring-cloud-config-aws-kms/issues/82; HMAC likewise, snapshot above)
- a wrong context or a tampered blob: InvalidCiphertextException with an empty message; a
  KeyId that is not the blob's key: IncorrectKeyException "The key ID in the request does not
  identify a CMK that can perform this operation." (snapshot above;
  https://docs.aws.amazon.com/kms/latest/APIReference/API_Decrypt.html)
- a bad signature or MAC: KMSInvalidSignatureException / KMSInvalidMacException, empty message
  (https://docs.aws.amazon.com/kms/latest/APIReference/API_Verify.html: "If the signature is
  not verified, the Verify operation fails with a KMSInvalidSignatureException exception")
- a DIGEST of the wrong length: ValidationException "Digest is invalid length for algorithm
  ECDSA_SHA_256." (snapshot above)
- RSA-OAEP plaintext too large: ValidationException "Algorithm RSAES_OAEP_SHA_256 and key spec
  RSA_2048 cannot encrypt data larger than 190 bytes." (snapshot above)

Must not: import the pipeline; hold SQL (``repository.py``) or byte formats (``cipher.py``).
"""

from __future__ import annotations

from typing import Any, Mapping

from cloudkeep.services.framework import Call, Params, Result
from cloudkeep.wire.errors import ValidationError

from . import cipher as C
from . import domain as D
from . import repository as repo
from .authz import not_found
from .domain import KmsKey
from .errors import (DryRunOperationException, IncorrectKeyException, InvalidCiphertextException,
                     InvalidKeyUsageException, KMSInvalidMacException, KMSInvalidSignatureException,
                     NotFoundException, UnsupportedOperationException)
from .operations import find_key, operation

_DRY_RUN = "The request would have succeeded, but the DryRun option is set."
#: GenerateDataKey's KeySpec → bytes (https://docs.aws.amazon.com/kms/latest/APIReference/API_GenerateDataKey.html)
_DATA_KEY_BYTES = {"AES_256": 32, "AES_128": 16}


# --- the key and its rules ---------------------------------------------------------------------


def _find(call: Call, ref: str) -> KmsKey:
    """The key ``ref`` names, in this account or (by ARN) another: the cryptographic operations
    allow cross-account use (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-modifying-external-accounts.html)."""
    return find_key(call, ref, cross_account=True)


def _not_found(call: Call, ref: str) -> NotFoundException:
    """KMS's NotFoundException for ``ref`` (kept for ops_policy_grants.py, which imports it)."""
    return not_found(call.partition, call.account_id, call.region, ref)


def _usable(call: Call, ref: str, usage: str, operation_name: str) -> KmsKey:
    """The key named by ``ref``, enabled, with ``usage``."""
    key = D.require_state(_find(call, ref), D.USE)
    _require_usage(key, usage, operation_name)
    return key


def _require_usage(key: KmsKey, usage: str, operation_name: str) -> None:
    if key.key_usage != usage:
        raise InvalidKeyUsageException(f"{key.arn} key usage is {key.key_usage} which is not valid for "
                                       f"{operation_name}.")


def _require_algorithm(key: KmsKey, algorithm: str, allowed: tuple[str, ...]) -> None:
    if algorithm not in allowed:
        raise InvalidKeyUsageException(f"Algorithm {algorithm} is incompatible with key spec {key.key_spec}.")


def _dry_run(params: Params) -> None:
    """DryRun: every check passed, nothing is done (https://docs.aws.amazon.com/kms/latest/developerguide/programming-dryrun.html)."""
    if params.get("DryRun"):
        raise DryRunOperationException(_DRY_RUN)


def _no_recipient(params: Params) -> None:
    """Recipient (a Nitro Enclaves attestation document) cannot be verified here: refused rather
    than ignored, so no plaintext is returned to a caller that asked for it to be withheld."""
    if params.get("Recipient"):
        raise ValidationError("Recipient (AWS Nitro Enclaves attestation) is not supported by cloudkeep.")


def _context(params: Params, member: str = "EncryptionContext") -> dict[str, str]:
    return dict(params.get(member) or {})


def _material(call: Call, key: KmsKey, material_id: str | None = None) -> bytes:
    return repo.key_material(call.uow, call.sealer, key, material_id)


# --- encrypting and decrypting -----------------------------------------------------------------


def _encrypt(call: Call, key: KmsKey, algorithm: str, plaintext: bytes, context: Mapping[str, str]
             ) -> tuple[bytes, str | None]:
    """(ciphertext, material id for symmetric keys) under an ENCRYPT_DECRYPT key."""
    if key.spec.symmetric:
        material_id = key.current_material_id
        blob = C.seal_blob(key.arn, material_id, _material(call, key, material_id), plaintext, context,
                           urandom=call.ids.token_bytes)
        return blob, material_id
    _check_encryption(key, algorithm, context, len(plaintext))
    return C.rsa_encrypt(_material(call, key), algorithm, plaintext), None


def _check_encryption(key: KmsKey, algorithm: str, context: Mapping[str, str], size: int | None = None) -> None:
    _require_algorithm(key, algorithm, key.spec.encryption_algorithms)
    if key.spec.symmetric:
        return
    if context:
        # "An encryption context is supported only on operations with symmetric encryption KMS keys"
        # (API_Encrypt); refused rather than silently not bound
        raise ValidationError("EncryptionContext is not supported with asymmetric KMS keys.")
    limit = C.rsa_max_plaintext(key.spec.bits, algorithm)
    if size is not None and size > limit:
        raise ValidationError(f"Algorithm {algorithm} and key spec {key.key_spec} cannot encrypt data larger "
                              f"than {limit} bytes.")


@operation("Encrypt")
def encrypt(call: Call, params: Params) -> Result:
    """https://docs.aws.amazon.com/kms/latest/APIReference/API_Encrypt.html (Plaintext 1–4096
    bytes: the model's constraint, checked by the parse stage)."""
    key = _usable(call, params["KeyId"], D.ENCRYPT_DECRYPT, "Encrypt")
    algorithm = params.get("EncryptionAlgorithm") or D.SYMMETRIC_DEFAULT
    context = _context(params)
    _check_encryption(key, algorithm, context, len(params["Plaintext"]))
    _dry_run(params)
    blob, _ = _encrypt(call, key, algorithm, params["Plaintext"], context)
    return {"CiphertextBlob": blob, "KeyId": key.arn, "EncryptionAlgorithm": algorithm}


def _decrypt(call: Call, blob: bytes, key_ref: str | None, algorithm: str, context: Mapping[str, str],
             operation_name: str) -> tuple[KmsKey, bytes, str | None]:
    """(key, plaintext, material id) of a ciphertext: a symmetric blob names its key and
    material; an RSA ciphertext needs the KeyId."""
    named = _find(call, key_ref) if key_ref else None
    if algorithm == D.SYMMETRIC_DEFAULT:
        try:
            parsed = C.parse_blob(blob)
        except ValueError:
            if named is not None:
                D.require_state(named, D.USE)
                _require_usage(named, D.ENCRYPT_DECRYPT, operation_name)
                _require_algorithm(named, algorithm, named.spec.encryption_algorithms)
            raise InvalidCiphertextException("") from None
        if named is not None and named.arn != parsed.key:
            raise IncorrectKeyException("The key ID in the request does not identify a CMK that can perform "
                                        "this operation.")
        key = named or _find(call, parsed.key)
        D.require_state(key, D.USE)
        _require_usage(key, D.ENCRYPT_DECRYPT, operation_name)
        _require_algorithm(key, algorithm, key.spec.encryption_algorithms)
        try:
            material = _material(call, key, parsed.material_id)
        except KeyError:   # no such material: the blob is not one this key made
            raise InvalidCiphertextException("") from None
        try:
            return key, C.open_blob(material, parsed, context), parsed.material_id
        except ValueError:
            raise InvalidCiphertextException("") from None
    if named is None:
        # an RSA ciphertext names no key: "If you used a symmetric encryption KMS key, KMS can
        # get the KMS key from metadata … (asymmetric) you must specify the KMS key" (API_Decrypt)
        raise InvalidCiphertextException("")
    key = D.require_state(named, D.USE)
    _require_usage(key, D.ENCRYPT_DECRYPT, operation_name)
    _require_algorithm(key, algorithm, key.spec.encryption_algorithms)
    if context:
        raise ValidationError("EncryptionContext is not supported with asymmetric KMS keys.")
    try:
        return key, C.rsa_decrypt(_material(call, key), algorithm, blob), None
    except ValueError:
        raise InvalidCiphertextException("") from None


@operation("Decrypt")
def decrypt(call: Call, params: Params) -> Result:
    """https://docs.aws.amazon.com/kms/latest/APIReference/API_Decrypt.html"""
    _no_recipient(params)
    algorithm = params.get("EncryptionAlgorithm") or D.SYMMETRIC_DEFAULT
    key, plaintext, material_id = _decrypt(call, params["CiphertextBlob"], params.get("KeyId"), algorithm,
                                           _context(params), "Decrypt")
    _dry_run(params)
    out: dict[str, Any] = {"KeyId": key.arn, "Plaintext": plaintext, "EncryptionAlgorithm": algorithm}
    if material_id is not None:
        # "present only when the operation uses a symmetric encryption KMS key" (API_Decrypt)
        out["KeyMaterialId"] = material_id
    return out


@operation("ReEncrypt")
def re_encrypt(call: Call, params: Params) -> Result:
    """Decrypt under the source key, encrypt under the destination key, the plaintext never
    leaving KMS. https://docs.aws.amazon.com/kms/latest/APIReference/API_ReEncrypt.html"""
    source_algorithm = params.get("SourceEncryptionAlgorithm") or D.SYMMETRIC_DEFAULT
    source, plaintext, source_material = _decrypt(
        call, params["CiphertextBlob"], params.get("SourceKeyId"), source_algorithm,
        _context(params, "SourceEncryptionContext"), "ReEncrypt")
    destination = _usable(call, params["DestinationKeyId"], D.ENCRYPT_DECRYPT, "ReEncrypt")
    algorithm = params.get("DestinationEncryptionAlgorithm") or D.SYMMETRIC_DEFAULT
    context = _context(params, "DestinationEncryptionContext")
    _check_encryption(destination, algorithm, context)
    _dry_run(params)
    blob, material_id = _encrypt(call, destination, algorithm, plaintext, context)
    out: dict[str, Any] = {"CiphertextBlob": blob, "SourceKeyId": source.arn, "KeyId": destination.arn,
                           "SourceEncryptionAlgorithm": source_algorithm,
                           "DestinationEncryptionAlgorithm": algorithm}
    if source_material is not None:
        out["SourceKeyMaterialId"] = source_material
    if material_id is not None:
        out["DestinationKeyMaterialId"] = material_id
    return out


# --- data keys ---------------------------------------------------------------------------------


def _data_key_length(params: Params) -> int:
    """KeySpec (AES_256, AES_128) or NumberOfBytes (1–1024, the model's range), exactly one.
    "You must specify either the KeySpec or the NumberOfBytes parameter (but not both)"
    (API_GenerateDataKey); the message is the one KMS answers."""
    spec, count = params.get("KeySpec"), params.get("NumberOfBytes")
    if (spec is None) == (count is None):
        raise ValidationError("Please specify either number of bytes or key spec.")
    return _DATA_KEY_BYTES[spec] if spec is not None else int(count)


def _symmetric_key(call: Call, params: Params, operation_name: str) -> KmsKey:
    """The data key operations need a symmetric encryption key."""
    key = _usable(call, params["KeyId"], D.ENCRYPT_DECRYPT, operation_name)
    _require_algorithm(key, D.SYMMETRIC_DEFAULT, key.spec.encryption_algorithms)
    return key


def _data_key(call: Call, params: Params, operation_name: str) -> tuple[KmsKey, bytes, bytes, str]:
    length = _data_key_length(params)
    key = _symmetric_key(call, params, operation_name)
    _dry_run(params)
    plaintext = call.ids.token_bytes(length)
    blob, material_id = _encrypt(call, key, D.SYMMETRIC_DEFAULT, plaintext, _context(params))
    assert material_id is not None
    return key, plaintext, blob, material_id


@operation("GenerateDataKey")
def generate_data_key(call: Call, params: Params) -> Result:
    """https://docs.aws.amazon.com/kms/latest/APIReference/API_GenerateDataKey.html"""
    _no_recipient(params)
    key, plaintext, blob, material_id = _data_key(call, params, "GenerateDataKey")
    return {"CiphertextBlob": blob, "Plaintext": plaintext, "KeyId": key.arn, "KeyMaterialId": material_id}


@operation("GenerateDataKeyWithoutPlaintext")
def generate_data_key_without_plaintext(call: Call, params: Params) -> Result:
    """https://docs.aws.amazon.com/kms/latest/APIReference/API_GenerateDataKeyWithoutPlaintext.html"""
    key, _, blob, material_id = _data_key(call, params, "GenerateDataKeyWithoutPlaintext")
    return {"CiphertextBlob": blob, "KeyId": key.arn, "KeyMaterialId": material_id}


def _data_key_pair(call: Call, params: Params, operation_name: str) -> tuple[KmsKey, dict[str, Any], bytes]:
    spec = params["KeyPairSpec"]
    key = _symmetric_key(call, params, operation_name)
    if spec not in C.KEY_PAIR_SPECS:
        # SM2 is offered in the China Regions only (API_GenerateDataKeyPair)
        raise UnsupportedOperationException(f"KeyPairSpec {spec} is not supported in this region.")
    _dry_run(params)
    private, public = C.generate_key_pair(spec)
    blob, material_id = _encrypt(call, key, D.SYMMETRIC_DEFAULT, private, _context(params))
    out = {"PrivateKeyCiphertextBlob": blob, "PublicKey": public, "KeyId": key.arn, "KeyPairSpec": spec,
           "KeyMaterialId": material_id}
    return key, out, private


@operation("GenerateDataKeyPair")
def generate_data_key_pair(call: Call, params: Params) -> Result:
    """https://docs.aws.amazon.com/kms/latest/APIReference/API_GenerateDataKeyPair.html"""
    _no_recipient(params)
    _, out, private = _data_key_pair(call, params, "GenerateDataKeyPair")
    return {**out, "PrivateKeyPlaintext": private}


@operation("GenerateDataKeyPairWithoutPlaintext")
def generate_data_key_pair_without_plaintext(call: Call, params: Params) -> Result:
    """https://docs.aws.amazon.com/kms/latest/APIReference/API_GenerateDataKeyPairWithoutPlaintext.html"""
    _, out, _ = _data_key_pair(call, params, "GenerateDataKeyPairWithoutPlaintext")
    return out


@operation("GenerateRandom")
def generate_random(call: Call, params: Params) -> Result:
    """NumberOfBytes 1–1024 (the model's range); missing: "NumberOfBytes is required."
    (snapshot above). https://docs.aws.amazon.com/kms/latest/APIReference/API_GenerateRandom.html"""
    _no_recipient(params)
    count = params.get("NumberOfBytes")
    if count is None:
        raise ValidationError("NumberOfBytes is required.")
    if params.get("CustomKeyStoreId"):
        from .errors import CustomKeyStoreNotFoundException
        raise CustomKeyStoreNotFoundException("")   # cloudkeep has no custom key stores
    return {"Plaintext": call.ids.token_bytes(int(count))}


# --- signatures --------------------------------------------------------------------------------


def _signing(call: Call, params: Params, operation_name: str) -> tuple[KmsKey, str, str]:
    key = _usable(call, params["KeyId"], D.SIGN_VERIFY, operation_name)
    algorithm = params["SigningAlgorithm"]
    _require_algorithm(key, algorithm, key.spec.signing_algorithms)
    message_type = params.get("MessageType") or "RAW"
    if message_type not in ("RAW", "DIGEST"):
        # EXTERNAL_MU is for ML-DSA keys, which cloudkeep does not offer (KMS's wording for
        # the reverse case: "Message type DIGEST is incompatible with key spec ML_DSA_44.")
        raise ValidationError(f"Message type {message_type} is incompatible with key spec {key.key_spec}.")
    if message_type == "DIGEST" and len(params["Message"]) != C.digest_length(algorithm):
        raise ValidationError(f"Digest is invalid length for algorithm {algorithm}.")
    _dry_run(params)
    return key, algorithm, message_type


@operation("Sign")
def sign(call: Call, params: Params) -> Result:
    """https://docs.aws.amazon.com/kms/latest/APIReference/API_Sign.html"""
    key, algorithm, message_type = _signing(call, params, "Sign")
    signature = C.sign(_material(call, key), algorithm, params["Message"], message_type)
    return {"KeyId": key.arn, "Signature": signature, "SigningAlgorithm": algorithm}


@operation("Verify")
def verify(call: Call, params: Params) -> Result:
    """A signature that does not verify is KMSInvalidSignatureException, never SignatureValid
    false. https://docs.aws.amazon.com/kms/latest/APIReference/API_Verify.html"""
    key, algorithm, message_type = _signing(call, params, "Verify")
    if not C.verify(_material(call, key), algorithm, params["Message"], params["Signature"], message_type):
        raise KMSInvalidSignatureException("")
    return {"KeyId": key.arn, "SignatureValid": True, "SigningAlgorithm": algorithm}


@operation("GetPublicKey")
def get_public_key(call: Call, params: Params) -> Result:
    """The public key (X.509 SubjectPublicKeyInfo, DER) of an asymmetric key with its usage and
    algorithms. A symmetric or HMAC key has none: UnsupportedOperationException. AWS answers
    GetPublicKey for a disabled key too (observed against AWS, contrary to the key state table:
    https://github.com/localstack/localstack/blob/master/localstack-core/localstack/services/kms/provider.py);
    pending deletion is KMSInvalidStateException.
    https://docs.aws.amazon.com/kms/latest/APIReference/API_GetPublicKey.html"""
    key = D.require_state(_find(call, params["KeyId"]), frozenset({D.ENABLED, D.DISABLED}))
    if key.spec.kind not in ("rsa", "ecc"):
        raise UnsupportedOperationException(f"{key.arn} key spec is {key.key_spec} which is not valid for "
                                            "GetPublicKey.")
    out: dict[str, Any] = {"KeyId": key.arn, "PublicKey": C.public_key_der(_material(call, key)),
                           "CustomerMasterKeySpec": key.key_spec, "KeySpec": key.key_spec,
                           "KeyUsage": key.key_usage}
    out.update(key.spec.algorithms(key.key_usage))
    return out


# --- MACs --------------------------------------------------------------------------------------


def _mac_key(call: Call, params: Params, operation_name: str) -> tuple[KmsKey, str]:
    key = _usable(call, params["KeyId"], D.GENERATE_VERIFY_MAC, operation_name)
    algorithm = params["MacAlgorithm"]
    _require_algorithm(key, algorithm, key.spec.mac_algorithms)
    _dry_run(params)
    return key, algorithm


@operation("GenerateMac")
def generate_mac(call: Call, params: Params) -> Result:
    """https://docs.aws.amazon.com/kms/latest/APIReference/API_GenerateMac.html"""
    key, algorithm = _mac_key(call, params, "GenerateMac")
    return {"Mac": C.generate_mac(_material(call, key), algorithm, params["Message"]),
            "MacAlgorithm": algorithm, "KeyId": key.arn}


@operation("VerifyMac")
def verify_mac(call: Call, params: Params) -> Result:
    """A MAC that does not verify is KMSInvalidMacException.
    https://docs.aws.amazon.com/kms/latest/APIReference/API_VerifyMac.html"""
    key, algorithm = _mac_key(call, params, "VerifyMac")
    if not C.verify_mac(_material(call, key), algorithm, params["Message"], params["Mac"]):
        raise KMSInvalidMacException("")
    return {"KeyId": key.arn, "MacValid": True, "MacAlgorithm": algorithm}
