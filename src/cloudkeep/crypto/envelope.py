"""Envelope encryption of secrets under the root of trust.

Owns: sealing and opening small secrets (secret access keys, KMS key material, MFA seeds, S3
object keys). Each ``seal`` draws a fresh random 256-bit data key, encrypts the plaintext under
it with AES-256-GCM, and has the root of trust (``crypto/root.py``: the master key by default,
``crypto/hsm.py``: a PKCS#11 HSM) wrap the data key. The caller's ``context`` (what the secret is
and whose, e.g. ``b"iam/access-key/AKIA..."``) is bound into both as associated data, so a
sealed value copied to another row does not open there.

Format (all lengths in bytes)::

    root version (1) | wrapped data key (root.wrapped_size) | data nonce (12) | ciphertext + tag (16)

Version 1 is the master key (wrapped data key = wrap nonce (12) | 32 + 16 tag), version 2 a
PKCS#11 HSM key (same layout, the GCM encryption done inside the HSM). A value sealed under one
root does not open under another: it fails with ``SealError`` like any other bad value.

Must not: keep plaintext keys anywhere but in memory; tell the caller why opening failed beyond
"it did not authenticate" (no padding or format oracles).
"""

from __future__ import annotations

import functools
import os
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .root import MasterKeyRoot, RootOfTrust, SealError

__all__ = ["VERSION_1", "SealError", "Sealer"]

VERSION_1: Final = 1
#: how many opened values ``Sealer.open_remembered`` keeps (32-byte keys, with their sealed form)
REMEMBERED: Final = 4096
_NONCE: Final = 12
_TAG: Final = 16
_WRAP_AAD: Final = b"cloudkeep/envelope/v1/wrap\x00"
_DATA_AAD: Final = b"cloudkeep/envelope/v1/data\x00"


class Sealer:
    """Seals and opens secrets under one root of trust.

    ``Sealer(master_key)`` (32 bytes) uses ``MasterKeyRoot``; ``Sealer(root=...)`` any
    ``RootOfTrust`` (e.g. ``hsm.Pkcs11Root``).
    """

    __slots__ = ("_root", "_version", "_header", "_remembered")

    def __init__(self, master_key: bytes | None = None, *, root: RootOfTrust | None = None) -> None:
        if (master_key is None) == (root is None):
            raise ValueError("give either a 32-byte master key or a root of trust")
        self._root: RootOfTrust = MasterKeyRoot(master_key) if master_key is not None else root  # type: ignore[assignment]
        self._version = self._root.version
        self._header = 1 + self._root.wrapped_size + _NONCE
        self._remembered = functools.lru_cache(maxsize=REMEMBERED)(self._open_to_remember)

    @property
    def root(self) -> RootOfTrust:
        return self._root

    def seal(self, plaintext: bytes, *, context: bytes) -> bytes:
        data_key = AESGCM.generate_key(bit_length=256)
        wrapped = self._root.wrap(data_key, _WRAP_AAD + context)
        data_nonce = os.urandom(_NONCE)
        ciphertext = AESGCM(data_key).encrypt(data_nonce, plaintext, _DATA_AAD + context)
        return bytes((self._version,)) + wrapped + data_nonce + ciphertext

    def open_remembered(self, sealed: bytes, *, context: bytes) -> bytes:
        """``open``, remembering the last ``REMEMBERED`` values opened this way, by their sealed
        bytes and context, in this process's memory only: for a value opened again on every
        request that uses it (an S3 object's data key, on every GetObject: the unwrap and the
        decryption cost ~100 µs of a 1 KiB GetObject's ~2.4 ms on a busy 2-core VM). A value
        that does not open is not remembered; the next call tries again."""
        return self._remembered(bytes(sealed), context)

    def _open_to_remember(self, sealed: bytes, context: bytes) -> bytes:
        return self.open(sealed, context=context)

    def open(self, sealed: bytes, *, context: bytes) -> bytes:
        if len(sealed) < self._header + _TAG or sealed[0] != self._version:
            raise SealError("not a sealed value this server can open (tampered, or sealed under "
                            "another root of trust)")
        wrapped = sealed[1:self._header - _NONCE]
        data_nonce = sealed[self._header - _NONCE:self._header]
        try:
            data_key = self._root.unwrap(wrapped, _WRAP_AAD + context)
            return AESGCM(data_key).decrypt(data_nonce, sealed[self._header:], _DATA_AAD + context)
        except (InvalidTag, SealError):
            raise SealError("sealed value did not authenticate (tampered, wrong context or "
                            "wrong root key)") from None
