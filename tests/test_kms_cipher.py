"""Unit tests of KMS's pure cryptography (services/kms/cipher.py): the ciphertext blob and its
binding of key, material and encryption context; RSA-OAEP; every signing algorithm with RAW
and DIGEST messages, checked against an independent verifier; HMAC; data key pairs."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils

from cloudkeep.services.kms import cipher as C

ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
MAT = bytes(range(32))
MID = "a" * 64


# --- the blob --------------------------------------------------------------------------------


def test_blob_round_trip_names_its_key_and_material():
    blob = C.seal_blob(ARN, MID, MAT, b"secret", {"purpose": "test"})
    parsed = C.parse_blob(blob)
    assert (parsed.version, parsed.key, parsed.material_id) == (1, ARN, MID)
    assert C.open_blob(MAT, blob, {"purpose": "test"}) == b"secret"
    assert b"secret" not in blob


def test_blob_is_fresh_each_time():
    assert C.seal_blob(ARN, MID, MAT, b"x") != C.seal_blob(ARN, MID, MAT, b"x")


def test_context_order_does_not_matter_and_empty_equals_none():
    blob = C.seal_blob(ARN, MID, MAT, b"p", {"a": "1", "b": "2"})
    assert C.open_blob(MAT, blob, {"b": "2", "a": "1"}) == b"p"
    blob = C.seal_blob(ARN, MID, MAT, b"p", {})
    assert C.open_blob(MAT, blob, None) == b"p"


@pytest.mark.parametrize("other", [None, {}, {"a": "2"}, {"A": "1"}, {"a": "1", "b": ""}, {"a": "1 "}])
def test_wrong_context_does_not_open(other):
    blob = C.seal_blob(ARN, MID, MAT, b"p", {"a": "1"})
    with pytest.raises(ValueError):
        C.open_blob(MAT, blob, other)


def test_context_encoding_is_unambiguous():
    # naive concatenation would make these two equal
    assert C.canonical_context({"ab": "c"}) != C.canonical_context({"a": "bc"})
    blob = C.seal_blob(ARN, MID, MAT, b"p", {"ab": "c"})
    with pytest.raises(ValueError):
        C.open_blob(MAT, blob, {"a": "bc"})


def test_unicode_context_round_trips():
    ctx = {"clé": "värde ☃", "z": ""}
    assert C.open_blob(MAT, C.seal_blob(ARN, MID, MAT, b"p", ctx), dict(ctx)) == b"p"


def test_every_tampered_byte_is_refused():
    blob = C.seal_blob(ARN, MID, MAT, b"some plaintext", {"k": "v"})
    for i in range(len(blob)):
        bad = bytearray(blob)
        bad[i] ^= 0x01
        with pytest.raises(ValueError):
            C.open_blob(MAT, bytes(bad), {"k": "v"})


def test_every_truncation_is_refused():
    blob = C.seal_blob(ARN, MID, MAT, b"some plaintext")
    for n in range(len(blob)):
        with pytest.raises(ValueError):
            C.open_blob(MAT, blob[:n])
    with pytest.raises(ValueError):
        C.open_blob(MAT, blob + b"\x00")


def test_rewritten_header_is_refused():
    """Another key or material id in the header (same length) does not open: the header is AAD."""
    blob = C.seal_blob(ARN, MID, MAT, b"p")
    forged = blob.replace(MID.encode(), ("b" * 64).encode())
    assert C.parse_blob(forged).material_id == "b" * 64
    with pytest.raises(ValueError):
        C.open_blob(MAT, forged)
    forged = blob.replace(b"123456789012", b"999999999999")
    with pytest.raises(ValueError):
        C.open_blob(MAT, forged)


def test_other_material_does_not_open():
    blob = C.seal_blob(ARN, MID, MAT, b"p")
    with pytest.raises(ValueError):
        C.open_blob(bytes(32), blob)


@pytest.mark.parametrize("junk", [b"", b"\x00", b"\x02" + bytes(80), b"\x01", b"\x01\x05abc",
                                  b"\x01\x00\x00" + bytes(80), b"\x01\x01\xff\x01\xff" + bytes(40),
                                  b"not a blob at all, just some text of a reasonable length......"])
def test_malformed_blobs_raise_value_error(junk):
    with pytest.raises(ValueError):
        C.parse_blob(junk)
    with pytest.raises(ValueError):
        C.open_blob(MAT, junk)


def test_seal_refuses_bad_material_and_ids():
    with pytest.raises(ValueError):
        C.seal_blob(ARN, MID, b"short", b"p")
    with pytest.raises(ValueError):
        C.seal_blob("", MID, MAT, b"p")
    with pytest.raises(ValueError):
        C.seal_blob(ARN, "x" * 256, MAT, b"p")


def test_blob_uses_injected_randomness():
    zeros = lambda n: bytes(n)  # noqa: E731
    assert C.seal_blob(ARN, MID, MAT, b"p", urandom=zeros) == C.seal_blob(ARN, MID, MAT, b"p", urandom=zeros)


def test_largest_plaintext_fits_in_decrypts_limit():
    """Decrypt's CiphertextBlob is at most 6144 bytes (the model): a 4096-byte plaintext fits."""
    assert len(C.seal_blob(ARN, MID, MAT, bytes(4096), {"k": "v"})) <= 6144


# --- RSA-OAEP --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rsa2048():
    return C.generate_private_key("RSA_2048")


@pytest.mark.parametrize("algorithm,h", [("RSAES_OAEP_SHA_1", hashes.SHA1), ("RSAES_OAEP_SHA_256", hashes.SHA256)])
def test_rsa_oaep_round_trip_and_interop(rsa2048, algorithm, h):
    public = C.public_key_der(rsa2048)
    ct = C.rsa_encrypt(public, algorithm, b"hello")
    assert len(ct) == 256   # raw RSA output, as AWS returns it
    assert C.rsa_decrypt(rsa2048, algorithm, ct) == b"hello"
    # a ciphertext made locally with the public key decrypts
    local = serialization.load_der_public_key(public).encrypt(
        b"local", padding.OAEP(mgf=padding.MGF1(h()), algorithm=h(), label=None))
    assert C.rsa_decrypt(rsa2048, algorithm, local) == b"local"


def test_rsa_oaep_wrong_algorithm_or_tamper_raise(rsa2048):
    ct = C.rsa_encrypt(rsa2048, "RSAES_OAEP_SHA_256", b"hello")
    with pytest.raises(ValueError):
        C.rsa_decrypt(rsa2048, "RSAES_OAEP_SHA_1", ct)
    with pytest.raises(ValueError):
        C.rsa_decrypt(rsa2048, "RSAES_OAEP_SHA_256", ct[:-1] + bytes((ct[-1] ^ 1,)))


@pytest.mark.parametrize("bits,algorithm,limit", [
    (2048, "RSAES_OAEP_SHA_1", 214), (2048, "RSAES_OAEP_SHA_256", 190),
    (3072, "RSAES_OAEP_SHA_1", 342), (3072, "RSAES_OAEP_SHA_256", 318),
    (4096, "RSAES_OAEP_SHA_1", 470), (4096, "RSAES_OAEP_SHA_256", 446)])
def test_rsa_max_plaintext_matches_aws(bits, algorithm, limit):
    assert C.rsa_max_plaintext(bits, algorithm) == limit


def test_rsa_encrypt_refuses_too_large(rsa2048):
    assert C.rsa_decrypt(rsa2048, "RSAES_OAEP_SHA_256", C.rsa_encrypt(rsa2048, "RSAES_OAEP_SHA_256", bytes(190))) == bytes(190)
    with pytest.raises(ValueError):
        C.rsa_encrypt(rsa2048, "RSAES_OAEP_SHA_256", bytes(191))


def test_rsa_encrypt_refuses_ec_key():
    with pytest.raises(ValueError):
        C.rsa_encrypt(C.generate_private_key("ECC_NIST_P256"), "RSAES_OAEP_SHA_256", b"x")


# --- signatures ------------------------------------------------------------------------------

_H = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}
SIGNING = [("RSA_2048", a) for a in C.SIGNING_ALGORITHMS if a.startswith("RSASSA")] + [
    ("ECC_NIST_P256", "ECDSA_SHA_256"), ("ECC_NIST_P384", "ECDSA_SHA_384"),
    ("ECC_NIST_P521", "ECDSA_SHA_512"), ("ECC_SECG_P256K1", "ECDSA_SHA_256")]


@pytest.fixture(scope="module")
def keys():
    return {spec: C.generate_private_key(spec) for spec in
            ("RSA_2048", "ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521", "ECC_SECG_P256K1", "ECC_NIST_EDWARDS25519")}


def _independent_verify(public_der: bytes, algorithm: str, message: bytes, signature: bytes, prehashed: bool):
    """Verification written directly against cryptography (PSS salt = digest length, as AWS)."""
    h = _H[algorithm[-3:]]()
    alg = utils.Prehashed(h) if prehashed else h
    key = serialization.load_der_public_key(public_der)
    if algorithm.startswith("ECDSA"):
        key.verify(signature, message, ec.ECDSA(alg))
    elif "PSS" in algorithm:
        key.verify(signature, message, padding.PSS(mgf=padding.MGF1(h), salt_length=h.digest_size), alg)
    else:
        key.verify(signature, message, padding.PKCS1v15(), alg)


@pytest.mark.parametrize("spec,algorithm", SIGNING)
def test_sign_raw_and_digest_verify_independently(keys, spec, algorithm):
    private = keys[spec]
    public = C.public_key_der(private)
    message = b"message to sign"
    digest = hashlib.new("sha" + algorithm[-3:], message).digest()
    raw_sig = C.sign(private, algorithm, message, "RAW")
    digest_sig = C.sign(private, algorithm, digest, "DIGEST")
    for sig in (raw_sig, digest_sig):
        _independent_verify(public, algorithm, message, sig, prehashed=False)
        _independent_verify(public, algorithm, digest, sig, prehashed=True)
        # a RAW signature verifies as DIGEST and the other way round (AWS: the message type
        # need not be the one used for signing)
        assert C.verify(public, algorithm, message, sig, "RAW")
        assert C.verify(public, algorithm, digest, sig, "DIGEST")
        assert C.verify(private, algorithm, message, sig, "RAW")
        assert not C.verify(public, algorithm, b"another message", sig, "RAW")
        with pytest.raises(InvalidSignature):
            _independent_verify(public, algorithm, b"another message", sig, prehashed=False)


@pytest.mark.parametrize("spec,algorithm", SIGNING)
def test_digest_of_wrong_length_is_refused(keys, spec, algorithm):
    n = C.digest_length(algorithm)
    for bad in (bytes(n - 1), bytes(n + 1), bytes(20)):
        with pytest.raises(ValueError, match=f"Digest is invalid length for algorithm {algorithm}."):
            C.sign(keys[spec], algorithm, bad, "DIGEST")
        with pytest.raises(ValueError):
            C.verify(keys[spec], algorithm, bad, b"sig", "DIGEST")


def test_pkcs1_v1_5_is_deterministic(keys):
    a = C.sign(keys["RSA_2048"], "RSASSA_PKCS1_V1_5_SHA_256", b"m")
    assert a == C.sign(keys["RSA_2048"], "RSASSA_PKCS1_V1_5_SHA_256", b"m")


def test_algorithm_that_does_not_fit_the_key_raises(keys):
    with pytest.raises(ValueError):
        C.sign(keys["ECC_NIST_P256"], "RSASSA_PSS_SHA_256", b"m")
    with pytest.raises(ValueError):
        C.sign(keys["RSA_2048"], "ECDSA_SHA_256", b"m")
    with pytest.raises(ValueError):
        C.sign(keys["RSA_2048"], "NOT_AN_ALGORITHM", b"m")
    with pytest.raises(ValueError):
        C.sign(keys["RSA_2048"], "RSASSA_PSS_SHA_256", b"m", "EXTERNAL_MU")


def test_garbage_signature_is_invalid_not_an_error(keys):
    for spec, algorithm in SIGNING:
        assert not C.verify(keys[spec], algorithm, b"m", b"\x00" * 8, "RAW")


def test_ed25519_raw_only(keys):
    private = keys["ECC_NIST_EDWARDS25519"]
    sig = C.sign(private, "ED25519_SHA_512", b"m")
    serialization.load_der_public_key(C.public_key_der(private)).verify(sig, b"m")
    assert C.verify(private, "ED25519_SHA_512", b"m", sig)
    with pytest.raises(ValueError):
        C.sign(private, "ED25519_SHA_512", bytes(64), "DIGEST")


# --- HMAC ------------------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm,name", list(C.MAC_ALGORITHMS.items()))
def test_hmac_matches_the_standard_library(algorithm, name):
    key = bytes(range(64))
    mac = C.generate_mac(key, algorithm, b"message")
    assert mac == hmac.new(key, b"message", name).digest()
    assert C.verify_mac(key, algorithm, b"message", mac)
    assert not C.verify_mac(key, algorithm, b"message!", mac)
    assert not C.verify_mac(key, algorithm, b"message", mac[:-1])
    assert not C.verify_mac(bytes(64), algorithm, b"message", mac)


def test_hmac_unknown_algorithm_raises():
    with pytest.raises(ValueError):
        C.generate_mac(b"k", "HMAC_SHA_1", b"m")


# --- key pairs -------------------------------------------------------------------------------


@pytest.mark.parametrize("spec,kind,size", [
    ("RSA_2048", rsa.RSAPrivateKey, 2048), ("RSA_3072", rsa.RSAPrivateKey, 3072),
    ("RSA_4096", rsa.RSAPrivateKey, 4096),
    ("ECC_NIST_P256", ec.EllipticCurvePrivateKey, 256), ("ECC_NIST_P384", ec.EllipticCurvePrivateKey, 384),
    ("ECC_NIST_P521", ec.EllipticCurvePrivateKey, 521), ("ECC_SECG_P256K1", ec.EllipticCurvePrivateKey, 256),
    ("ECC_NIST_EDWARDS25519", ed25519.Ed25519PrivateKey, None)])
def test_data_key_pairs_are_pkcs8_and_spki_der(spec, kind, size):
    private, public = C.generate_key_pair(spec)
    key = serialization.load_der_private_key(private, password=None)
    assert isinstance(key, kind)
    if size is not None:
        assert key.key_size == size
    assert key.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo) == public
    if spec == "ECC_SECG_P256K1":
        assert isinstance(key.curve, ec.SECP256K1)


def test_unknown_key_pair_spec_and_bad_der_raise():
    with pytest.raises(ValueError):
        C.generate_key_pair("SM2")
    with pytest.raises(ValueError):
        C.load_private_key(b"\x30\x03junk")
    with pytest.raises(ValueError):
        C.public_key_der(b"")
