"""Envelope encryption of secrets under the master key.

Owns: sealing and opening small secrets (secret access keys, KMS key material, MFA seeds, S3
object keys). Each ``seal`` draws a fresh random 256-bit data key, encrypts the plaintext under
it with AES-256-GCM, and wraps the data key with AES-256-GCM under a key-encryption key derived
from the master key with HKDF-SHA256. The caller's ``context`` (what the secret is and whose,
e.g. ``b"iam/access-key/AKIA..."``) is bound into both as associated data, so a sealed value
copied to another row does not open there.

Format, version 1 (all lengths in bytes)::

    0x01 | wrap nonce (12) | wrapped data key (32 + 16 tag) | data nonce (12) | ciphertext + tag (16)

Must not: keep plaintext keys anywhere but in memory; tell the caller why opening failed beyond
"it did not authenticate" (no padding or format oracles).
"""

from __future__ import annotations

import os
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION_1: Final = 1
_NONCE: Final = 12
_KEY: Final = 32
_TAG: Final = 16
_WRAPPED: Final = _KEY + _TAG
_HEADER: Final = 1 + _NONCE + _WRAPPED + _NONCE
_KEK_INFO: Final = b"cloudkeep/envelope/v1/key-encryption-key"
_WRAP_AAD: Final = b"cloudkeep/envelope/v1/wrap\x00"
_DATA_AAD: Final = b"cloudkeep/envelope/v1/data\x00"


class SealError(Exception):
    """A sealed value could not be opened: tampered, wrong context, wrong key or not sealed."""


class Sealer:
    """Seals and opens secrets under one master key."""

    __slots__ = ("_kek",)

    def __init__(self, master_key: bytes) -> None:
        if not isinstance(master_key, bytes) or len(master_key) != _KEY:
            raise ValueError("the master key must be 32 bytes")
        kek = HKDF(algorithm=hashes.SHA256(), length=_KEY, salt=None, info=_KEK_INFO).derive(master_key)
        self._kek = AESGCM(kek)

    def seal(self, plaintext: bytes, *, context: bytes) -> bytes:
        data_key = AESGCM.generate_key(bit_length=256)
        wrap_nonce, data_nonce = os.urandom(_NONCE), os.urandom(_NONCE)
        wrapped = self._kek.encrypt(wrap_nonce, data_key, _WRAP_AAD + context)
        ciphertext = AESGCM(data_key).encrypt(data_nonce, plaintext, _DATA_AAD + context)
        return bytes((VERSION_1,)) + wrap_nonce + wrapped + data_nonce + ciphertext

    def open(self, sealed: bytes, *, context: bytes) -> bytes:
        if len(sealed) < _HEADER + _TAG or sealed[0] != VERSION_1:
            raise SealError("not a sealed value this server can open")
        wrap_nonce = sealed[1:1 + _NONCE]
        wrapped = sealed[1 + _NONCE:1 + _NONCE + _WRAPPED]
        data_nonce = sealed[1 + _NONCE + _WRAPPED:_HEADER]
        try:
            data_key = self._kek.decrypt(wrap_nonce, wrapped, _WRAP_AAD + context)
            return AESGCM(data_key).decrypt(data_nonce, sealed[_HEADER:], _DATA_AAD + context)
        except InvalidTag:
            raise SealError("sealed value did not authenticate (tampered, wrong context or "
                            "wrong master key)") from None
