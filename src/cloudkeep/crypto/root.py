"""The root of trust: the key that wraps every data key of the envelope (``envelope.Sealer``).

Owns: the ``RootOfTrust`` protocol and its default implementation ``MasterKeyRoot`` (a
key-encryption key derived from the 32-byte master key with HKDF-SHA256; AES-256-GCM wrapping).
The optional PKCS#11 root is ``crypto/hsm.py``. Each root names the format byte that sealed
values carry (``version``) and the size of what ``wrap`` returns, so a value sealed under one
root is recognised, and cleanly refused, by another.

Rules: ``wrap(data_key, context)`` binds ``context`` as authenticated data; ``unwrap`` raises
``SealError`` for anything that does not authenticate (tampered, wrong context, wrong root) and
says nothing more. A root never hands out its own key.

Must not: keep the master key or a plaintext data key anywhere but in memory; read files or the
environment (``rootkey.py`` and ``config.py`` do that).
"""

from __future__ import annotations

import os
from typing import Final, Protocol, runtime_checkable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_BYTES: Final = 32
NONCE_BYTES: Final = 12
TAG_BYTES: Final = 16
# what a GCM wrap of a 32-byte data key takes: nonce | encrypted key | tag
GCM_WRAPPED_BYTES: Final = NONCE_BYTES + KEY_BYTES + TAG_BYTES

MASTER_KEY_VERSION: Final = 1   # format byte of values sealed under the master key (envelope v1)
PKCS11_VERSION: Final = 2       # format byte of values sealed under a PKCS#11 HSM key

_KEK_INFO: Final = b"cloudkeep/envelope/v1/key-encryption-key"


class SealError(Exception):
    """A sealed value could not be opened: tampered, wrong context, wrong key or not sealed."""


@runtime_checkable
class RootOfTrust(Protocol):
    """Wraps and unwraps 32-byte data keys; the key doing it never leaves the root."""

    @property
    def version(self) -> int:
        """The format byte of values sealed under this root (1–255)."""
        ...

    @property
    def wrapped_size(self) -> int:
        """The length of every value ``wrap`` returns for a 32-byte data key."""
        ...

    def wrap(self, data_key: bytes, context: bytes) -> bytes:
        """``data_key`` encrypted under the root key with ``context`` as associated data."""
        ...

    def unwrap(self, wrapped: bytes, context: bytes) -> bytes:
        """The data key back; ``SealError`` if ``wrapped`` or ``context`` does not authenticate."""
        ...


class MasterKeyRoot:
    """The default root: a key-encryption key derived from the server's master key.

    ``wrap`` is ``nonce (12) | AES-256-GCM(kek, nonce, data_key, aad=context)``, exactly the
    wrapping step of envelope format 1, so every value sealed before this class existed opens.
    """

    __slots__ = ("_kek",)

    version: Final = MASTER_KEY_VERSION  # type: ignore[misc]
    wrapped_size: Final = GCM_WRAPPED_BYTES  # type: ignore[misc]

    def __init__(self, master_key: bytes) -> None:
        if not isinstance(master_key, bytes) or len(master_key) != KEY_BYTES:
            raise ValueError("the master key must be 32 bytes")
        kek = HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=_KEK_INFO).derive(master_key)
        self._kek = AESGCM(kek)

    def wrap(self, data_key: bytes, context: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._kek.encrypt(nonce, data_key, context)

    def unwrap(self, wrapped: bytes, context: bytes) -> bytes:
        if len(wrapped) != GCM_WRAPPED_BYTES:
            raise SealError("sealed value did not authenticate")
        try:
            return self._kek.decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], context)
        except InvalidTag:
            raise SealError("sealed value did not authenticate") from None

    def __repr__(self) -> str:
        return "MasterKeyRoot(<master key>)"
