"""KMS's cryptographic operations end to end with boto3 against the real server: real
cryptography, checked locally with ``cryptography`` where the result is public (signatures,
public keys, RSA-OAEP), and AWS's exact errors.

AWS pages: https://docs.aws.amazon.com/kms/latest/APIReference/API_Encrypt.html, API_Decrypt.html,
API_ReEncrypt.html, API_GenerateDataKey.html, API_GenerateDataKeyPair.html, API_GenerateRandom.html,
API_Sign.html, API_Verify.html, API_GetPublicKey.html, API_GenerateMac.html, API_VerifyMac.html.
Messages as recorded against AWS:
https://github.com/localstack/localstack/blob/master/tests/aws/services/kms/test_kms.snapshot.json
"""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

from cloudkeep.testing.server import client_for

INCORRECT_KEY = "The key ID in the request does not identify a CMK that can perform this operation."


def _err(exc) -> tuple[str, str, int]:
    r = exc.value.response
    return r["Error"]["Code"], r["Error"].get("Message", ""), r["ResponseMetadata"]["HTTPStatusCode"]


@pytest.fixture
def kms(cloudkeep_account):
    return cloudkeep_account.client("kms")


@pytest.fixture
def unvalidated(cloudkeep_account):
    """A client that sends what botocore would refuse, so the server's own validation answers."""
    return cloudkeep_account.client("kms", config=Config(parameter_validation=False))


def _key(kms, spec="SYMMETRIC_DEFAULT", usage=None):
    kwargs = {"KeySpec": spec}
    if usage:
        kwargs["KeyUsage"] = usage
    return kms.create_key(**kwargs)["KeyMetadata"]


# --- Encrypt / Decrypt -----------------------------------------------------------------------


def test_encrypt_decrypt_round_trip_without_key_id_and_with_alias(kms):
    meta = _key(kms)
    kms.create_alias(AliasName="alias/app", TargetKeyId=meta["KeyId"])
    out = kms.encrypt(KeyId="alias/app", Plaintext=b"top secret", EncryptionContext={"purpose": "test"})
    assert out["KeyId"] == meta["Arn"] and out["EncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    assert b"top secret" not in out["CiphertextBlob"]
    plain = kms.decrypt(CiphertextBlob=out["CiphertextBlob"], EncryptionContext={"purpose": "test"})
    assert plain["Plaintext"] == b"top secret" and plain["KeyId"] == meta["Arn"]
    assert plain["EncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    assert plain["KeyMaterialId"] == meta["CurrentKeyMaterialId"]
    for ref in (meta["KeyId"], meta["Arn"], "alias/app"):
        assert kms.decrypt(CiphertextBlob=out["CiphertextBlob"], KeyId=ref,
                           EncryptionContext={"purpose": "test"})["Plaintext"] == b"top secret"


@pytest.mark.parametrize("context", [None, {}, {"purpose": "other"}, {"purpose": "test", "extra": "x"}])
def test_decrypt_with_a_wrong_context_is_invalid_ciphertext_with_empty_message(kms, context):
    key_id = _key(kms)["KeyId"]
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"p", EncryptionContext={"purpose": "test"})["CiphertextBlob"]
    kwargs = {} if context is None else {"EncryptionContext": context}
    with pytest.raises(ClientError) as exc:
        kms.decrypt(CiphertextBlob=blob, **kwargs)
    assert _err(exc) == ("InvalidCiphertextException", "", 400)


def test_decrypt_of_tampered_or_foreign_blob_is_invalid_ciphertext(kms):
    key_id = _key(kms)["KeyId"]
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"some plaintext")["CiphertextBlob"]
    for bad in (blob[:-1] + bytes((blob[-1] ^ 1,)), blob[:-5], b"garbage that is not a blob at all"):
        with pytest.raises(ClientError) as exc:
            kms.decrypt(CiphertextBlob=bad)
        assert _err(exc) == ("InvalidCiphertextException", "", 400)


def test_decrypt_naming_another_key_is_incorrect_key(kms):
    a, b = _key(kms)["KeyId"], _key(kms)["KeyId"]
    hmac_key = _key(kms, "HMAC_224", "GENERATE_VERIFY_MAC")["KeyId"]
    blob = kms.encrypt(KeyId=a, Plaintext=b"p")["CiphertextBlob"]
    for other in (b, hmac_key):     # AWS answers IncorrectKeyException for an HMAC key too
        with pytest.raises(ClientError) as exc:
            kms.decrypt(CiphertextBlob=blob, KeyId=other)
        assert _err(exc) == ("IncorrectKeyException", INCORRECT_KEY, 400)


def test_encrypt_plaintext_length_limits(kms):
    key_id = _key(kms)["KeyId"]
    blob = kms.encrypt(KeyId=key_id, Plaintext=bytes(4096))["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == bytes(4096)
    with pytest.raises(ClientError) as exc:
        kms.encrypt(KeyId=key_id, Plaintext=bytes(4097))
    assert _err(exc) == ("ValidationException", "1 validation error detected: Value at 'plaintext' failed to "
                         "satisfy constraint: Member must have length less than or equal to 4096", 400)


def test_encrypt_with_a_key_of_another_usage_is_invalid_key_usage(kms):
    for spec, usage in (("RSA_2048", "SIGN_VERIFY"), ("HMAC_256", "GENERATE_VERIFY_MAC")):
        meta = _key(kms, spec, usage)
        with pytest.raises(ClientError) as exc:
            kms.encrypt(KeyId=meta["KeyId"], Plaintext=b"p")
        assert _err(exc) == ("InvalidKeyUsageException",
                             f"{meta['Arn']} key usage is {usage} which is not valid for Encrypt.", 400)


def test_wrong_encryption_algorithm_for_the_key_is_invalid_key_usage(kms):
    rsa_key = _key(kms, "RSA_2048", "ENCRYPT_DECRYPT")["KeyId"]
    with pytest.raises(ClientError) as exc:
        kms.encrypt(KeyId=rsa_key, Plaintext=b"p")      # SYMMETRIC_DEFAULT by default
    assert _err(exc) == ("InvalidKeyUsageException",
                         "Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_2048.", 400)
    sym = _key(kms)["KeyId"]
    with pytest.raises(ClientError) as exc:
        kms.encrypt(KeyId=sym, Plaintext=b"p", EncryptionAlgorithm="RSAES_OAEP_SHA_256")
    assert _err(exc) == ("InvalidKeyUsageException",
                         "Algorithm RSAES_OAEP_SHA_256 is incompatible with key spec SYMMETRIC_DEFAULT.", 400)
    with pytest.raises(ClientError) as exc:
        kms.encrypt(KeyId=sym, Plaintext=b"p", EncryptionAlgorithm="NOPE")
    assert _err(exc)[0] == "ValidationException"


def test_disabled_key_is_disabled_exception_and_pending_deletion_is_invalid_state(kms):
    meta = _key(kms)
    blob = kms.encrypt(KeyId=meta["KeyId"], Plaintext=b"p")["CiphertextBlob"]
    kms.disable_key(KeyId=meta["KeyId"])
    for call in (lambda: kms.encrypt(KeyId=meta["KeyId"], Plaintext=b"p"),
                 lambda: kms.decrypt(CiphertextBlob=blob),
                 lambda: kms.generate_data_key(KeyId=meta["KeyId"], KeySpec="AES_256")):
        with pytest.raises(ClientError) as exc:
            call()
        assert _err(exc) == ("DisabledException", f"{meta['Arn']} is disabled.", 400)
    kms.enable_key(KeyId=meta["KeyId"])
    kms.schedule_key_deletion(KeyId=meta["KeyId"], PendingWindowInDays=7)
    for call in (lambda: kms.encrypt(KeyId=meta["KeyId"], Plaintext=b"p"),
                 lambda: kms.decrypt(CiphertextBlob=blob)):
        with pytest.raises(ClientError) as exc:
            call()
        assert _err(exc) == ("KMSInvalidStateException", f"{meta['Arn']} is pending deletion.", 400)
    kms.cancel_key_deletion(KeyId=meta["KeyId"])


def test_unknown_key_is_not_found(kms, cloudkeep_account):
    missing = "11111111-2222-3333-4444-555555555555"
    with pytest.raises(ClientError) as exc:
        kms.encrypt(KeyId=missing, Plaintext=b"p")
    assert _err(exc) == ("NotFoundException",
                         f"Key 'arn:aws:kms:us-east-1:{cloudkeep_account.account_id}:key/{missing}' does not exist",
                         400)


def test_ciphertext_under_rotated_out_material_still_decrypts(kms):
    meta = _key(kms)
    old = kms.encrypt(KeyId=meta["KeyId"], Plaintext=b"before rotation", EncryptionContext={"k": "v"})
    kms.rotate_key_on_demand(KeyId=meta["KeyId"])
    current = kms.describe_key(KeyId=meta["KeyId"])["KeyMetadata"]["CurrentKeyMaterialId"]
    assert current != meta["CurrentKeyMaterialId"]
    new = kms.encrypt(KeyId=meta["KeyId"], Plaintext=b"after rotation")
    got_old = kms.decrypt(CiphertextBlob=old["CiphertextBlob"], EncryptionContext={"k": "v"})
    assert got_old["Plaintext"] == b"before rotation" and got_old["KeyMaterialId"] == meta["CurrentKeyMaterialId"]
    got_new = kms.decrypt(CiphertextBlob=new["CiphertextBlob"])
    assert got_new["Plaintext"] == b"after rotation" and got_new["KeyMaterialId"] == current


# --- asymmetric encryption -------------------------------------------------------------------


@pytest.mark.parametrize("algorithm,h", [("RSAES_OAEP_SHA_1", hashes.SHA1), ("RSAES_OAEP_SHA_256", hashes.SHA256)])
def test_rsa_encrypt_is_raw_oaep_and_local_ciphertext_decrypts_through_kms(kms, algorithm, h):
    meta = _key(kms, "RSA_2048", "ENCRYPT_DECRYPT")
    pub = kms.get_public_key(KeyId=meta["KeyId"])
    assert pub["KeyUsage"] == "ENCRYPT_DECRYPT" and pub["KeySpec"] == "RSA_2048"
    assert pub["EncryptionAlgorithms"] == ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]
    public = serialization.load_der_public_key(pub["PublicKey"])
    assert isinstance(public, rsa.RSAPublicKey) and public.key_size == 2048
    out = kms.encrypt(KeyId=meta["KeyId"], Plaintext=b"hello", EncryptionAlgorithm=algorithm)
    assert len(out["CiphertextBlob"]) == 256 and out["EncryptionAlgorithm"] == algorithm
    got = kms.decrypt(KeyId=meta["KeyId"], CiphertextBlob=out["CiphertextBlob"], EncryptionAlgorithm=algorithm)
    assert got["Plaintext"] == b"hello" and "KeyMaterialId" not in got
    local = public.encrypt(b"made locally", padding.OAEP(mgf=padding.MGF1(h()), algorithm=h(), label=None))
    assert kms.decrypt(KeyId=meta["KeyId"], CiphertextBlob=local,
                       EncryptionAlgorithm=algorithm)["Plaintext"] == b"made locally"


def test_rsa_plaintext_limit_and_wrong_algorithm_on_decrypt(kms):
    meta = _key(kms, "RSA_2048", "ENCRYPT_DECRYPT")
    with pytest.raises(ClientError) as exc:
        kms.encrypt(KeyId=meta["KeyId"], Plaintext=bytes(191), EncryptionAlgorithm="RSAES_OAEP_SHA_256")
    assert _err(exc) == ("ValidationException", "Algorithm RSAES_OAEP_SHA_256 and key spec RSA_2048 cannot "
                         "encrypt data larger than 190 bytes.", 400)
    blob = kms.encrypt(KeyId=meta["KeyId"], Plaintext=b"x", EncryptionAlgorithm="RSAES_OAEP_SHA_256")["CiphertextBlob"]
    with pytest.raises(ClientError) as exc:
        kms.decrypt(KeyId=meta["KeyId"], CiphertextBlob=blob, EncryptionAlgorithm="RSAES_OAEP_SHA_1")
    assert _err(exc) == ("InvalidCiphertextException", "", 400)
    with pytest.raises(ClientError) as exc:
        kms.decrypt(KeyId=meta["KeyId"], CiphertextBlob=blob)
    assert _err(exc) == ("InvalidKeyUsageException",
                         "Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_2048.", 400)


# --- ReEncrypt -------------------------------------------------------------------------------


def test_re_encrypt_moves_ciphertext_to_another_key_and_context(kms):
    src, dst = _key(kms), _key(kms)
    blob = kms.encrypt(KeyId=src["KeyId"], Plaintext=b"moving", EncryptionContext={"a": "1"})["CiphertextBlob"]
    out = kms.re_encrypt(CiphertextBlob=blob, SourceEncryptionContext={"a": "1"}, DestinationKeyId=dst["KeyId"],
                         DestinationEncryptionContext={"b": "2"})
    assert out["SourceKeyId"] == src["Arn"] and out["KeyId"] == dst["Arn"]
    assert out["SourceEncryptionAlgorithm"] == out["DestinationEncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    assert out["SourceKeyMaterialId"] == src["CurrentKeyMaterialId"]
    assert out["DestinationKeyMaterialId"] == dst["CurrentKeyMaterialId"]
    got = kms.decrypt(CiphertextBlob=out["CiphertextBlob"], EncryptionContext={"b": "2"})
    assert got["Plaintext"] == b"moving" and got["KeyId"] == dst["Arn"]
    with pytest.raises(ClientError) as exc:
        kms.re_encrypt(CiphertextBlob=blob, DestinationKeyId=dst["KeyId"])     # source context missing
    assert _err(exc) == ("InvalidCiphertextException", "", 400)


def test_re_encrypt_errors(kms):
    src = _key(kms)
    blob = kms.encrypt(KeyId=src["KeyId"], Plaintext=b"p")["CiphertextBlob"]
    hmac_key = _key(kms, "HMAC_224", "GENERATE_VERIFY_MAC")["KeyId"]
    with pytest.raises(ClientError) as exc:
        kms.re_encrypt(CiphertextBlob=blob, SourceKeyId=hmac_key, DestinationKeyId=hmac_key)
    assert _err(exc) == ("IncorrectKeyException", INCORRECT_KEY, 400)
    signer = _key(kms, "ECC_NIST_P256", "SIGN_VERIFY")
    with pytest.raises(ClientError) as exc:
        kms.re_encrypt(CiphertextBlob=blob, DestinationKeyId=signer["KeyId"])
    assert _err(exc) == ("InvalidKeyUsageException",
                         f"{signer['Arn']} key usage is SIGN_VERIFY which is not valid for ReEncrypt.", 400)


def test_re_encrypt_to_rsa_and_back(kms):
    src = _key(kms)
    rsa_key = _key(kms, "RSA_3072", "ENCRYPT_DECRYPT")
    blob = kms.encrypt(KeyId=src["KeyId"], Plaintext=b"to rsa")["CiphertextBlob"]
    out = kms.re_encrypt(CiphertextBlob=blob, DestinationKeyId=rsa_key["KeyId"],
                         DestinationEncryptionAlgorithm="RSAES_OAEP_SHA_256")
    assert len(out["CiphertextBlob"]) == 384 and "DestinationKeyMaterialId" not in out
    back = kms.re_encrypt(CiphertextBlob=out["CiphertextBlob"], SourceKeyId=rsa_key["KeyId"],
                          SourceEncryptionAlgorithm="RSAES_OAEP_SHA_256", DestinationKeyId=src["KeyId"])
    assert kms.decrypt(CiphertextBlob=back["CiphertextBlob"])["Plaintext"] == b"to rsa"


# --- data keys and random --------------------------------------------------------------------


@pytest.mark.parametrize("kwargs,length", [({"KeySpec": "AES_256"}, 32), ({"KeySpec": "AES_128"}, 16),
                                           ({"NumberOfBytes": 1}, 1), ({"NumberOfBytes": 1024}, 1024)])
def test_generate_data_key_lengths_and_its_blob_decrypts(kms, kwargs, length):
    meta = _key(kms)
    out = kms.generate_data_key(KeyId=meta["KeyId"], EncryptionContext={"f": "x"}, **kwargs)
    assert len(out["Plaintext"]) == length and out["KeyId"] == meta["Arn"]
    assert out["KeyMaterialId"] == meta["CurrentKeyMaterialId"]
    assert kms.decrypt(CiphertextBlob=out["CiphertextBlob"], EncryptionContext={"f": "x"})["Plaintext"] == out["Plaintext"]
    wp = kms.generate_data_key_without_plaintext(KeyId=meta["KeyId"], **kwargs)
    assert "Plaintext" not in wp and wp["KeyId"] == meta["Arn"]
    assert len(kms.decrypt(CiphertextBlob=wp["CiphertextBlob"])["Plaintext"]) == length


def test_generate_data_key_needs_exactly_one_length_and_a_symmetric_key(kms, unvalidated):
    key_id = _key(kms)["KeyId"]
    for kwargs in ({}, {"KeySpec": "AES_256", "NumberOfBytes": 32}):
        with pytest.raises(ClientError) as exc:
            kms.generate_data_key(KeyId=key_id, **kwargs)
        assert _err(exc) == ("ValidationException", "Please specify either number of bytes or key spec.", 400)
    for n, rule in ((0, "greater than or equal to 1"), (1025, "less than or equal to 1024")):
        with pytest.raises(ClientError) as exc:
            unvalidated.generate_data_key(KeyId=key_id, NumberOfBytes=n)
        assert _err(exc) == ("ValidationException", f"1 validation error detected: Value '{n}' at 'numberOfBytes' "
                             f"failed to satisfy constraint: Member must have value {rule}", 400)
    rsa_key = _key(kms, "RSA_2048", "ENCRYPT_DECRYPT")["KeyId"]
    with pytest.raises(ClientError) as exc:
        kms.generate_data_key(KeyId=rsa_key, KeySpec="AES_256")
    assert _err(exc) == ("InvalidKeyUsageException",
                         "Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_2048.", 400)


@pytest.mark.parametrize("spec", ["RSA_2048", "ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521", "ECC_SECG_P256K1"])
def test_generate_data_key_pair(kms, spec):
    meta = _key(kms)
    out = kms.generate_data_key_pair(KeyId=meta["KeyId"], KeyPairSpec=spec, EncryptionContext={"p": "q"})
    assert out["KeyPairSpec"] == spec and out["KeyId"] == meta["Arn"]
    private = serialization.load_der_private_key(out["PrivateKeyPlaintext"], password=None)
    assert private.public_key().public_bytes(serialization.Encoding.DER,
                                             serialization.PublicFormat.SubjectPublicKeyInfo) == out["PublicKey"]
    assert kms.decrypt(CiphertextBlob=out["PrivateKeyCiphertextBlob"],
                       EncryptionContext={"p": "q"})["Plaintext"] == out["PrivateKeyPlaintext"]
    wp = kms.generate_data_key_pair_without_plaintext(KeyId=meta["KeyId"], KeyPairSpec=spec)
    assert "PrivateKeyPlaintext" not in wp
    private = serialization.load_der_private_key(kms.decrypt(CiphertextBlob=wp["PrivateKeyCiphertextBlob"])["Plaintext"],
                                                 password=None)
    assert private.public_key().public_bytes(serialization.Encoding.DER,
                                             serialization.PublicFormat.SubjectPublicKeyInfo) == wp["PublicKey"]


def test_dry_run_does_nothing_and_says_so(kms):
    key_id = _key(kms)["KeyId"]
    with pytest.raises(ClientError) as exc:
        kms.generate_data_key_pair(KeyId=key_id, KeyPairSpec="RSA_2048", DryRun=True)
    assert _err(exc) == ("DryRunOperationException",
                         "The request would have succeeded, but the DryRun option is set.", 400)


def test_generate_random(kms, unvalidated):
    a, b = kms.generate_random(NumberOfBytes=1024)["Plaintext"], kms.generate_random(NumberOfBytes=1024)["Plaintext"]
    assert len(a) == len(b) == 1024 and a != b
    assert len(kms.generate_random(NumberOfBytes=1)["Plaintext"]) == 1
    with pytest.raises(ClientError) as exc:
        kms.generate_random()
    assert _err(exc) == ("ValidationException", "NumberOfBytes is required.", 400)
    with pytest.raises(ClientError) as exc:
        unvalidated.generate_random(NumberOfBytes=1025)
    assert _err(exc) == ("ValidationException", "1 validation error detected: Value '1025' at 'numberOfBytes' "
                         "failed to satisfy constraint: Member must have value less than or equal to 1024", 400)


# --- Sign / Verify / GetPublicKey ------------------------------------------------------------

_HASH = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}
SIGNING = [("RSA_2048", a) for a in ("RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384", "RSASSA_PSS_SHA_512",
                                     "RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384",
                                     "RSASSA_PKCS1_V1_5_SHA_512")] + [
    ("ECC_NIST_P256", "ECDSA_SHA_256"), ("ECC_NIST_P384", "ECDSA_SHA_384"), ("ECC_NIST_P521", "ECDSA_SHA_512"),
    ("ECC_SECG_P256K1", "ECDSA_SHA_256")]


def _local_verify(public, algorithm: str, message: bytes, signature: bytes, prehashed: bool) -> None:
    h = _HASH[algorithm[-3:]]()
    alg = utils.Prehashed(h) if prehashed else h
    if algorithm.startswith("ECDSA"):
        public.verify(signature, message, ec.ECDSA(alg))
    elif "PSS" in algorithm:
        public.verify(signature, message, padding.PSS(mgf=padding.MGF1(h), salt_length=h.digest_size), alg)
    else:
        public.verify(signature, message, padding.PKCS1v15(), alg)


@pytest.fixture(scope="module")
def signing_keys(cloudkeep_server):
    account = cloudkeep_server.create_account()
    kms = account.client("kms")
    return kms, {spec: _key(kms, spec, "SIGN_VERIFY") for spec in {s for s, _ in SIGNING}}


@pytest.mark.parametrize("spec,algorithm", SIGNING)
def test_sign_raw_and_digest_verify_locally_and_through_kms(signing_keys, spec, algorithm):
    kms, keys = signing_keys
    meta = keys[spec]
    pub = kms.get_public_key(KeyId=meta["KeyId"])
    assert pub["KeyUsage"] == "SIGN_VERIFY" and algorithm in pub["SigningAlgorithms"] and pub["KeyId"] == meta["Arn"]
    public = serialization.load_der_public_key(pub["PublicKey"])
    message = b"message signed by KMS"
    digest = hashlib.new("sha" + algorithm[-3:], message).digest()
    for message_type, data in (("RAW", message), ("DIGEST", digest)):
        out = kms.sign(KeyId=meta["KeyId"], Message=data, MessageType=message_type, SigningAlgorithm=algorithm)
        assert out["KeyId"] == meta["Arn"] and out["SigningAlgorithm"] == algorithm
        _local_verify(public, algorithm, message, out["Signature"], prehashed=False)
        # both message types verify either way (API_Verify)
        for vt, vdata in (("RAW", message), ("DIGEST", digest)):
            ok = kms.verify(KeyId=meta["KeyId"], Message=vdata, MessageType=vt, Signature=out["Signature"],
                            SigningAlgorithm=algorithm)
            assert ok["SignatureValid"] is True and ok["KeyId"] == meta["Arn"] and ok["SigningAlgorithm"] == algorithm
        with pytest.raises(ClientError) as exc:
            kms.verify(KeyId=meta["KeyId"], Message=b"another message", Signature=out["Signature"],
                       SigningAlgorithm=algorithm)
        assert _err(exc) == ("KMSInvalidSignatureException", "", 400)
    with pytest.raises(ClientError) as exc:
        kms.sign(KeyId=meta["KeyId"], Message=message, MessageType="DIGEST", SigningAlgorithm=algorithm)
    assert _err(exc) == ("ValidationException", f"Digest is invalid length for algorithm {algorithm}.", 400)
    with pytest.raises(ClientError) as exc:
        kms.verify(KeyId=meta["KeyId"], Message=message, MessageType="DIGEST", Signature=b"x" * 64,
                   SigningAlgorithm=algorithm)
    assert _err(exc) == ("ValidationException", f"Digest is invalid length for algorithm {algorithm}.", 400)


def test_signature_made_locally_with_another_key_is_refused(signing_keys):
    kms, keys = signing_keys
    other = ec.generate_private_key(ec.SECP256R1())
    sig = other.sign(b"m", ec.ECDSA(hashes.SHA256()))
    with pytest.raises(ClientError) as exc:
        kms.verify(KeyId=keys["ECC_NIST_P256"]["KeyId"], Message=b"m", Signature=sig, SigningAlgorithm="ECDSA_SHA_256")
    assert _err(exc) == ("KMSInvalidSignatureException", "", 400)


def test_sign_limits_and_wrong_algorithm_or_usage(signing_keys, kms):
    skms, keys = signing_keys
    p256 = keys["ECC_NIST_P256"]
    skms.sign(KeyId=p256["KeyId"], Message=bytes(4096), SigningAlgorithm="ECDSA_SHA_256")
    with pytest.raises(ClientError) as exc:
        skms.sign(KeyId=p256["KeyId"], Message=bytes(4097), SigningAlgorithm="ECDSA_SHA_256")
    assert _err(exc)[0] == "ValidationException"
    with pytest.raises(ClientError) as exc:
        skms.sign(KeyId=p256["KeyId"], Message=b"m", SigningAlgorithm="ECDSA_SHA_384")
    assert _err(exc) == ("InvalidKeyUsageException", "Algorithm ECDSA_SHA_384 is incompatible with key spec "
                         "ECC_NIST_P256.", 400)
    with pytest.raises(ClientError) as exc:
        skms.sign(KeyId=keys["RSA_2048"]["KeyId"], Message=b"m", SigningAlgorithm="ECDSA_SHA_256")
    assert _err(exc)[0] == "InvalidKeyUsageException"
    sym = _key(kms)
    with pytest.raises(ClientError) as exc:
        kms.sign(KeyId=sym["KeyId"], Message=b"m", SigningAlgorithm="ECDSA_SHA_256")
    assert _err(exc) == ("InvalidKeyUsageException",
                         f"{sym['Arn']} key usage is ENCRYPT_DECRYPT which is not valid for Sign.", 400)


def test_get_public_key_of_symmetric_key_is_unsupported_and_of_ecc_is_spki(kms):
    sym = _key(kms)
    with pytest.raises(ClientError) as exc:
        kms.get_public_key(KeyId=sym["KeyId"])
    assert _err(exc)[0] == "UnsupportedOperationException"
    meta = _key(kms, "ECC_SECG_P256K1", "SIGN_VERIFY")
    pub = kms.get_public_key(KeyId=meta["KeyId"])
    key = serialization.load_der_public_key(pub["PublicKey"])
    assert isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256K1)
    assert pub["SigningAlgorithms"] == ["ECDSA_SHA_256"] and pub["KeySpec"] == "ECC_SECG_P256K1"
    assert "EncryptionAlgorithms" not in pub


# --- MACs ------------------------------------------------------------------------------------


@pytest.mark.parametrize("bits", [224, 256, 384, 512])
def test_generate_and_verify_mac(kms, bits):
    meta = _key(kms, f"HMAC_{bits}", "GENERATE_VERIFY_MAC")
    algorithm = f"HMAC_SHA_{bits}"
    out = kms.generate_mac(KeyId=meta["KeyId"], Message=b"message", MacAlgorithm=algorithm)
    assert len(out["Mac"]) == bits // 8 and out["MacAlgorithm"] == algorithm and out["KeyId"] == meta["Arn"]
    assert out["Mac"] == kms.generate_mac(KeyId=meta["KeyId"], Message=b"message", MacAlgorithm=algorithm)["Mac"]
    ok = kms.verify_mac(KeyId=meta["KeyId"], Message=b"message", MacAlgorithm=algorithm, Mac=out["Mac"])
    assert ok["MacValid"] is True and ok["KeyId"] == meta["Arn"] and ok["MacAlgorithm"] == algorithm
    with pytest.raises(ClientError) as exc:
        kms.verify_mac(KeyId=meta["KeyId"], Message=b"other message", MacAlgorithm=algorithm, Mac=out["Mac"])
    assert _err(exc) == ("KMSInvalidMacException", "", 400)
    # a MAC computed locally under any key we know is refused: the key never leaves KMS
    local = hmac.new(b"\x00" * (bits // 8), b"message", "sha%d" % bits).digest()
    with pytest.raises(ClientError) as exc:
        kms.verify_mac(KeyId=meta["KeyId"], Message=b"message", MacAlgorithm=algorithm, Mac=local)
    assert _err(exc) == ("KMSInvalidMacException", "", 400)


def test_mac_errors(kms):
    meta = _key(kms, "HMAC_224", "GENERATE_VERIFY_MAC")
    with pytest.raises(ClientError) as exc:
        kms.generate_mac(KeyId=meta["KeyId"], Message=b"m", MacAlgorithm="HMAC_SHA_256")
    assert _err(exc) == ("InvalidKeyUsageException", "Algorithm HMAC_SHA_256 is incompatible with key spec HMAC_224.", 400)
    sym = _key(kms)
    with pytest.raises(ClientError) as exc:
        kms.generate_mac(KeyId=sym["KeyId"], Message=b"m", MacAlgorithm="HMAC_SHA_224")
    assert _err(exc) == ("InvalidKeyUsageException",
                         f"{sym['Arn']} key usage is ENCRYPT_DECRYPT which is not valid for GenerateMac.", 400)
    other = _key(kms, "HMAC_224", "GENERATE_VERIFY_MAC")
    mac = kms.generate_mac(KeyId=other["KeyId"], Message=b"m", MacAlgorithm="HMAC_SHA_224")["Mac"]
    with pytest.raises(ClientError) as exc:       # a MAC of another KMS key does not verify
        kms.verify_mac(KeyId=meta["KeyId"], Message=b"m", MacAlgorithm="HMAC_SHA_224", Mac=mac)
    assert _err(exc) == ("KMSInvalidMacException", "", 400)


# --- authorization: encryption context and algorithm condition keys, ReEncrypt's two checks --


def _user(cloudkeep_account, name: str, policy: dict):
    iam = cloudkeep_account.client("iam")
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return client_for(cloudkeep_account.endpoint, "kms", key["AccessKeyId"], key["SecretAccessKey"])


def test_encryption_context_condition_keys_decide(kms, cloudkeep_account):
    meta = _key(kms)
    user = _user(cloudkeep_account, "ctx-user", {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": meta["Arn"],
        "Condition": {"StringEquals": {"kms:EncryptionContext:app": "billing"},
                      "ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["app"]}}}]})
    blob = user.encrypt(KeyId=meta["Arn"], Plaintext=b"p", EncryptionContext={"app": "billing"})["CiphertextBlob"]
    assert user.decrypt(CiphertextBlob=blob, EncryptionContext={"app": "billing"})["Plaintext"] == b"p"
    for context in ({"app": "payroll"}, {"app": "billing", "extra": "x"}, {}):
        with pytest.raises(ClientError) as exc:
            user.encrypt(KeyId=meta["Arn"], Plaintext=b"p", EncryptionContext=context)
        assert _err(exc)[0] == "AccessDeniedException"


def test_signing_algorithm_condition_key_decides(kms, cloudkeep_account):
    meta = _key(kms, "RSA_2048", "SIGN_VERIFY")
    user = _user(cloudkeep_account, "sig-user", {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "kms:Sign", "Resource": meta["Arn"],
        "Condition": {"StringLike": {"kms:SigningAlgorithm": "RSASSA_PSS_*"}}}]})
    user.sign(KeyId=meta["Arn"], Message=b"m", SigningAlgorithm="RSASSA_PSS_SHA_256")
    with pytest.raises(ClientError) as exc:
        user.sign(KeyId=meta["Arn"], Message=b"m", SigningAlgorithm="RSASSA_PKCS1_V1_5_SHA_256")
    assert _err(exc)[0] == "AccessDeniedException"


def test_re_encrypt_needs_from_on_source_and_to_on_destination(kms, cloudkeep_account):
    src, dst = _key(kms), _key(kms)
    blob = kms.encrypt(KeyId=src["KeyId"], Plaintext=b"p")["CiphertextBlob"]
    only_from = _user(cloudkeep_account, "from-only", {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "kms:ReEncryptFrom", "Resource": src["Arn"]}]})
    with pytest.raises(ClientError) as exc:
        only_from.re_encrypt(CiphertextBlob=blob, DestinationKeyId=dst["Arn"])
    assert _err(exc)[0] == "AccessDeniedException"
    assert "kms:ReEncryptTo" in _err(exc)[1]
    both = _user(cloudkeep_account, "both", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "kms:ReEncryptFrom", "Resource": src["Arn"]},
        {"Effect": "Allow", "Action": "kms:ReEncryptTo", "Resource": dst["Arn"]}]})
    out = both.re_encrypt(CiphertextBlob=blob, DestinationKeyId=dst["Arn"])
    assert kms.decrypt(CiphertextBlob=out["CiphertextBlob"])["Plaintext"] == b"p"


def test_decrypt_without_key_id_is_authorized_on_the_blobs_key(kms, cloudkeep_account):
    a, b = _key(kms), _key(kms)
    blob = kms.encrypt(KeyId=a["KeyId"], Plaintext=b"p")["CiphertextBlob"]
    on_b = _user(cloudkeep_account, "decrypt-b", {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "kms:Decrypt", "Resource": b["Arn"]}]})
    with pytest.raises(ClientError) as exc:
        on_b.decrypt(CiphertextBlob=blob)
    assert _err(exc)[0] == "AccessDeniedException" and a["Arn"] in _err(exc)[1]
    on_a = _user(cloudkeep_account, "decrypt-a", {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "kms:Decrypt", "Resource": a["Arn"]}]})
    assert on_a.decrypt(CiphertextBlob=blob)["Plaintext"] == b"p"


def test_generate_random_is_authorized_on_star(cloudkeep_account):
    denied = _user(cloudkeep_account, "no-random", {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "kms:Encrypt", "Resource": "*"}]})
    with pytest.raises(ClientError) as exc:
        denied.generate_random(NumberOfBytes=8)
    assert _err(exc)[0] == "AccessDeniedException"
    allowed = _user(cloudkeep_account, "random", {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "kms:GenerateRandom", "Resource": "*"}]})
    assert len(allowed.generate_random(NumberOfBytes=8)["Plaintext"]) == 8


def test_cross_account_use_needs_the_key_policy_and_the_other_accounts_iam(cloudkeep_server):
    owner, other = cloudkeep_server.create_account(), cloudkeep_server.create_account()
    okms = owner.client("kms")
    meta = _key(okms)
    blob = okms.encrypt(KeyId=meta["KeyId"], Plaintext=b"shared", EncryptionContext={"k": "v"})["CiphertextBlob"]
    user = _user(other, "partner", {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": meta["Arn"]}]})
    with pytest.raises(ClientError) as exc:      # the key policy does not name the other account yet
        user.decrypt(CiphertextBlob=blob, EncryptionContext={"k": "v"})
    assert _err(exc)[0] == "AccessDeniedException"
    policy = json.loads(okms.get_key_policy(KeyId=meta["KeyId"], PolicyName="default")["Policy"])
    policy["Statement"].append({"Sid": "partner", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{other.account_id}:root"},
                                "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": "*"})
    okms.put_key_policy(KeyId=meta["KeyId"], PolicyName="default", Policy=json.dumps(policy))
    got = user.decrypt(CiphertextBlob=blob, EncryptionContext={"k": "v"})     # no KeyId: the blob names the key
    assert got["Plaintext"] == b"shared" and got["KeyId"] == meta["Arn"]
    mine = user.encrypt(KeyId=meta["Arn"], Plaintext=b"from partner")["CiphertextBlob"]
    assert okms.decrypt(CiphertextBlob=mine)["Plaintext"] == b"from partner"
