"""KMS's cryptography, pure: the symmetric ciphertext blob, RSA-OAEP, signatures, HMAC and
data key pairs, all with the ``cryptography`` package.

Owns:

- **The ciphertext blob** of symmetric encryption keys (``seal_blob``/``open_blob``/``parse_blob``).
  Like AWS's, it names its key and key material, so Decrypt needs no KeyId and ciphertext made
  under rotated-out material still opens with that material
  (https://docs.aws.amazon.com/kms/latest/APIReference/API_Decrypt.html: "KMS can get this
  information from metadata that it adds to the symmetric ciphertext blob"). Version 1 (lengths
  in bytes)::

      0x01 | len(key) (1) | key (the key ARN) | len(material id) (1) | material id
           | derivation nonce (32) | IV (12) | AES-256-GCM ciphertext + tag (16)

  Every blob uses its own AES-256 key, HKDF-SHA256(material, salt=derivation nonce), as AWS
  derives a per-call key from the key material and a fresh nonce
  (https://docs.aws.amazon.com/kms/latest/cryptographic-details/crypto-primitives.html), so no
  single GCM key ever meets the random-IV limits. The associated data is the whole header
  (version, key, material id) followed by the encryption context canonicalized: pairs sorted by
  key, each key and value UTF-8 and length-prefixed, so the context is bound exactly, and a
  blob whose header was rewritten does not open either.
- **RSAES_OAEP_SHA_1 / RSAES_OAEP_SHA_256** (MGF1 with the same hash, no label): the ciphertext
  is the raw RSA output, as AWS returns it, so a client can encrypt locally with GetPublicKey's
  key and decrypt through KMS
  (https://docs.aws.amazon.com/kms/latest/developerguide/asymmetric-key-specs.html#key-spec-rsa-encryption).
- **Signatures**: RSASSA_PSS_* (MGF1 with the same hash, salt length = digest length),
  RSASSA_PKCS1_V1_5_*, ECDSA_* (DER, as AWS returns them), ED25519_SHA_512 (RAW only); RAW
  messages are hashed here, DIGEST messages are signed as given and must be the digest's length
  (https://docs.aws.amazon.com/kms/latest/APIReference/API_Sign.html).
- **HMAC_SHA_224/256/384/512** (https://docs.aws.amazon.com/kms/latest/developerguide/hmac.html).
- **Data key pairs** and asymmetric key material: private keys PKCS #8 DER, public keys
  X.509 SubjectPublicKeyInfo DER (https://docs.aws.amazon.com/kms/latest/APIReference/API_GenerateDataKeyPair.html).

Every failure to open, decrypt or parse is a plain ``ValueError`` that says nothing about why
(no format, padding or tag oracles); the operations turn it into AWS's error.

Must not: know the service, storage or wire; keep any key anywhere but in memory.
"""

from __future__ import annotations

import hashlib
import hmac as _hmac
import os
import struct
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Final, Mapping

from cryptography.exceptions import InvalidSignature, InvalidTag, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

Random = Callable[[int], bytes]

# --- the symmetric ciphertext blob ------------------------------------------------------------

BLOB_VERSION_1: Final = 1
_DERIVE_NONCE: Final = 32
_IV: Final = 12
_TAG: Final = 16
_KEY_INFO: Final = b"cloudkeep/kms/blob/v1/data-key"
_AAD_PREFIX: Final = b"cloudkeep/kms/blob/v1\x00"
#: the most a blob can carry: Encrypt takes 4096 bytes, GenerateDataKeyPair's largest private key
#: (RSA_4096, PKCS #8 DER) about 2.4 KB; Decrypt accepts blobs up to 6144 bytes (the model)
MAX_PLAINTEXT: Final = 4096


@dataclass(frozen=True, slots=True)
class ParsedBlob:
    """A ciphertext blob's header and body, not yet authenticated."""

    version: int
    key: str              # as sealed: the key ARN
    material_id: str
    header: bytes         # authenticated as associated data
    derive_nonce: bytes
    iv: bytes
    ciphertext: bytes     # with the GCM tag


def canonical_context(context: Mapping[str, str] | None) -> bytes:
    """The encryption context as bytes: pairs sorted by key, each key and value UTF-8 with a
    4-byte length before it. An empty or absent context is the empty string (AWS treats ``{}``
    and no context alike)."""
    if not context:
        return b""
    out = bytearray(struct.pack(">I", len(context)))
    for key in sorted(context):
        value = context[key]
        if not isinstance(key, str) or not isinstance(value, str):
            raise ValueError("encryption context keys and values are strings")
        k, v = key.encode("utf-8"), value.encode("utf-8")
        out += struct.pack(">I", len(k)) + k + struct.pack(">I", len(v)) + v
    return bytes(out)


def _header(key: str, material_id: str) -> bytes:
    k, m = key.encode("utf-8"), material_id.encode("utf-8")
    if not 1 <= len(k) <= 255 or not 1 <= len(m) <= 255:
        raise ValueError("key and material id must be 1 to 255 bytes")
    return bytes((BLOB_VERSION_1, len(k))) + k + bytes((len(m),)) + m


def _data_key(material: bytes, nonce: bytes) -> AESGCM:
    if len(material) != 32:
        raise ValueError("symmetric key material must be 32 bytes")
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=nonce, info=_KEY_INFO).derive(material)
    return AESGCM(key)


def seal_blob(key: str, material_id: str, material: bytes, plaintext: bytes,
              context: Mapping[str, str] | None = None, *, urandom: Random = os.urandom) -> bytes:
    """Encrypt ``plaintext`` under ``material`` (32 bytes) into a version 1 blob naming ``key``
    (the key ARN) and ``material_id``, with ``context`` bound as associated data."""
    if len(plaintext) > MAX_PLAINTEXT * 2:   # data key pairs' private keys fit; guard only
        raise ValueError("plaintext too large")
    header = _header(key, material_id)
    nonce, iv = urandom(_DERIVE_NONCE), urandom(_IV)
    body = _data_key(material, nonce).encrypt(iv, plaintext, _AAD_PREFIX + header + canonical_context(context))
    return header + nonce + iv + body


def parse_blob(blob: bytes) -> ParsedBlob:
    """The blob's parts; ``ValueError`` for anything that is not a well-formed version 1 blob."""
    try:
        if not blob or blob[0] != BLOB_VERSION_1:
            raise ValueError
        klen = blob[1]
        key = blob[2:2 + klen]
        at = 2 + klen
        mlen = blob[at]
        material_id = blob[at + 1:at + 1 + mlen]
        at += 1 + mlen
        if klen == 0 or mlen == 0 or len(key) != klen or len(material_id) != mlen:
            raise ValueError
        header = blob[:at]
        nonce, iv, body = blob[at:at + _DERIVE_NONCE], blob[at + _DERIVE_NONCE:at + _DERIVE_NONCE + _IV], \
            blob[at + _DERIVE_NONCE + _IV:]
        if len(body) < _TAG:
            raise ValueError
        return ParsedBlob(BLOB_VERSION_1, key.decode("utf-8"), material_id.decode("utf-8"), bytes(header),
                          bytes(nonce), bytes(iv), bytes(body))
    except (ValueError, IndexError, UnicodeDecodeError):
        raise ValueError("not a ciphertext blob") from None


def open_blob(material: bytes, blob: bytes | ParsedBlob, context: Mapping[str, str] | None = None) -> bytes:
    """The plaintext of ``blob``; ``ValueError`` if it is malformed, tampered with, sealed under
    other material or with another encryption context."""
    parsed = blob if isinstance(blob, ParsedBlob) else parse_blob(blob)
    try:
        aad = _AAD_PREFIX + parsed.header + canonical_context(context)
        return _data_key(material, parsed.derive_nonce).decrypt(parsed.iv, parsed.ciphertext, aad)
    except InvalidTag:
        raise ValueError("the ciphertext did not authenticate") from None


# --- hashes of the algorithms -----------------------------------------------------------------

_HASHES: Final = {"SHA_1": hashes.SHA1, "SHA_224": hashes.SHA224, "SHA_256": hashes.SHA256,
                  "SHA_384": hashes.SHA384, "SHA_512": hashes.SHA512}


def _hash_of(algorithm: str) -> hashes.HashAlgorithm:
    for suffix, cls in _HASHES.items():
        if algorithm.endswith(suffix):
            return cls()
    raise ValueError(f"unknown algorithm {algorithm}")


# --- key material: loading and making ---------------------------------------------------------


@lru_cache(maxsize=256)
def load_private_key(der: bytes):  # noqa: ANN201 - one of cryptography's private key types
    """A PKCS #8 DER private key. Cached by its bytes: the material was sealed (authenticated)
    under the master key, so RSA's costly consistency checks are skipped."""
    try:
        return serialization.load_der_private_key(der, password=None, unsafe_skip_rsa_key_validation=True)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise ValueError("not a private key") from None


def load_public_key(der: bytes):  # noqa: ANN201
    try:
        return serialization.load_der_public_key(der)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise ValueError("not a public key") from None


def public_key_der(private_der: bytes) -> bytes:
    """The X.509 SubjectPublicKeyInfo DER of a PKCS #8 DER private key (GetPublicKey's PublicKey)."""
    return load_private_key(private_der).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


_CURVES: Final = {"ECC_NIST_P256": ec.SECP256R1, "ECC_NIST_P384": ec.SECP384R1,
                  "ECC_NIST_P521": ec.SECP521R1, "ECC_SECG_P256K1": ec.SECP256K1}
_RSA_BITS: Final = {"RSA_2048": 2048, "RSA_3072": 3072, "RSA_4096": 4096}
#: key pair specs GenerateDataKeyPair can make (SM2 is China Regions only: not offered)
KEY_PAIR_SPECS: Final = frozenset(_CURVES) | frozenset(_RSA_BITS) | {"ECC_NIST_EDWARDS25519"}


def generate_private_key(spec: str) -> bytes:
    """A new private key of ``spec`` (RSA_*, ECC_*), PKCS #8 DER."""
    if spec in _RSA_BITS:
        key = rsa.generate_private_key(public_exponent=65537, key_size=_RSA_BITS[spec])
    elif spec in _CURVES:
        key = ec.generate_private_key(_CURVES[spec]())
    elif spec == "ECC_NIST_EDWARDS25519":
        key = ed25519.Ed25519PrivateKey.generate()
    else:
        raise ValueError(f"unsupported key pair spec {spec}")
    return key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def generate_key_pair(spec: str) -> tuple[bytes, bytes]:
    """(private key PKCS #8 DER, public key SubjectPublicKeyInfo DER) of a new key pair."""
    private = generate_private_key(spec)
    return private, public_key_der(private)


# --- RSA-OAEP ---------------------------------------------------------------------------------

ENCRYPTION_ALGORITHMS: Final = ("RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256")


def _oaep(algorithm: str) -> padding.OAEP:
    if algorithm not in ENCRYPTION_ALGORITHMS:
        raise ValueError(f"unknown encryption algorithm {algorithm}")
    h = _hash_of(algorithm)
    return padding.OAEP(mgf=padding.MGF1(algorithm=h), algorithm=h, label=None)


def rsa_max_plaintext(key_bits: int, algorithm: str) -> int:
    """The most OAEP can encrypt: k - 2·hLen - 2 (RFC 8017 §7.1.1); RSA_2048 with SHA-256: 190."""
    return key_bits // 8 - 2 * _hash_of(algorithm).digest_size - 2


def rsa_encrypt(key_der: bytes, algorithm: str, plaintext: bytes) -> bytes:
    """OAEP-encrypt with a public (SubjectPublicKeyInfo) or private (PKCS #8) DER key."""
    try:
        key = load_public_key(key_der)
    except ValueError:
        key = load_private_key(key_der).public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("not an RSA key")
    if len(plaintext) > rsa_max_plaintext(key.key_size, algorithm):
        raise ValueError("plaintext too large for the key and algorithm")
    return key.encrypt(plaintext, _oaep(algorithm))


def rsa_decrypt(private_der: bytes, algorithm: str, ciphertext: bytes) -> bytes:
    key = load_private_key(private_der)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("not an RSA key")
    try:
        return key.decrypt(ciphertext, _oaep(algorithm))
    except ValueError:
        raise ValueError("the ciphertext did not decrypt") from None


# --- signatures -------------------------------------------------------------------------------

SIGNING_ALGORITHMS: Final = (
    "RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384", "RSASSA_PSS_SHA_512",
    "RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512",
    "ECDSA_SHA_256", "ECDSA_SHA_384", "ECDSA_SHA_512", "ED25519_SHA_512")


def digest_length(algorithm: str) -> int:
    """The length a DIGEST message must have for ``algorithm`` (32, 48 or 64)."""
    return _hash_of(algorithm).digest_size


def _prepare(algorithm: str, message: bytes, message_type: str):  # noqa: ANN202
    """(hash argument for cryptography, the data to pass) for RAW or DIGEST."""
    if algorithm not in SIGNING_ALGORITHMS:
        raise ValueError(f"unknown signing algorithm {algorithm}")
    h = _hash_of(algorithm)
    if message_type == "RAW":
        return h, message
    if message_type == "DIGEST":
        if algorithm == "ED25519_SHA_512":
            raise ValueError("ED25519_SHA_512 signs RAW messages only")
        if len(message) != h.digest_size:
            raise ValueError(f"Digest is invalid length for algorithm {algorithm}.")
        return utils.Prehashed(h), message
    raise ValueError(f"unknown message type {message_type}")


def _pss(h: hashes.HashAlgorithm) -> padding.PSS:
    return padding.PSS(mgf=padding.MGF1(h), salt_length=h.digest_size)


def sign(private_der: bytes, algorithm: str, message: bytes, message_type: str = "RAW") -> bytes:
    """The signature of ``message`` (RAW) or of the digest ``message`` (DIGEST)."""
    h, data = _prepare(algorithm, message, message_type)
    key = load_private_key(private_der)
    if algorithm.startswith("RSASSA_") and isinstance(key, rsa.RSAPrivateKey):
        pad = _pss(_hash_of(algorithm)) if algorithm.startswith("RSASSA_PSS_") else padding.PKCS1v15()
        return key.sign(data, pad, h)
    if algorithm.startswith("ECDSA_") and isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(h))
    if algorithm == "ED25519_SHA_512" and isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(data)
    raise ValueError(f"{algorithm} does not fit the key")


def verify(key_der: bytes, algorithm: str, message: bytes, signature: bytes, message_type: str = "RAW") -> bool:
    """Whether ``signature`` is valid; the key is public (SubjectPublicKeyInfo) or private
    (PKCS #8) DER. A malformed message type or digest length is a ``ValueError``."""
    h, data = _prepare(algorithm, message, message_type)
    try:
        key = load_public_key(key_der)
    except ValueError:
        key = load_private_key(key_der).public_key()
    try:
        if algorithm.startswith("RSASSA_") and isinstance(key, rsa.RSAPublicKey):
            pad = _pss(_hash_of(algorithm)) if algorithm.startswith("RSASSA_PSS_") else padding.PKCS1v15()
            key.verify(signature, data, pad, h)
        elif algorithm.startswith("ECDSA_") and isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(h))
        elif algorithm == "ED25519_SHA_512" and isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, data)
        else:
            raise ValueError(f"{algorithm} does not fit the key")
    except InvalidSignature:
        return False
    return True


# --- HMAC -------------------------------------------------------------------------------------

MAC_ALGORITHMS: Final = {"HMAC_SHA_224": "sha224", "HMAC_SHA_256": "sha256",
                         "HMAC_SHA_384": "sha384", "HMAC_SHA_512": "sha512"}


def generate_mac(key: bytes, algorithm: str, message: bytes) -> bytes:
    try:
        name = MAC_ALGORITHMS[algorithm]
    except KeyError:
        raise ValueError(f"unknown MAC algorithm {algorithm}") from None
    return _hmac.new(key, message, getattr(hashlib, name)).digest()


def verify_mac(key: bytes, algorithm: str, message: bytes, mac: bytes) -> bool:
    """Constant-time comparison of ``mac`` with the HMAC of ``message``."""
    return _hmac.compare_digest(generate_mac(key, algorithm, message), mac)
