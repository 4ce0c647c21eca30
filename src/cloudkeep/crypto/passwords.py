"""Password hashing: scrypt (memory-hard), self-describing encoding, constant-time verify.

Owns: turning a password into a stored string and checking a password against one. The encoding
is ``$scrypt$ln=15,r=8,p=1$<salt b64>$<hash b64>`` (unpadded standard base64), so parameters can
be raised later without breaking stored hashes. ``verify_password`` never raises on a malformed
stored value (it is simply not a match) and refuses parameters above sane limits, so a tampered
row cannot make a login spend gigabytes of memory.

Must not: log, store or return passwords; compare digests with ``==``.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
from typing import Final

from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

LOG2_N: Final = 15
R: Final = 8
P: Final = 1
_SALT: Final = 16
_LENGTH: Final = 32
_PREFIX: Final = "$scrypt$"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def _encode(password: str) -> bytes:
    return password.encode("utf-8", "surrogatepass")


def _derive(password: str, salt: bytes, log2_n: int, r: int, p: int, length: int) -> bytes:
    return Scrypt(salt=salt, length=length, n=2**log2_n, r=r, p=p).derive(_encode(password))


def hash_password(password: str) -> str:
    salt = os.urandom(_SALT)
    digest = _derive(password, salt, LOG2_N, R, P, _LENGTH)
    return f"{_PREFIX}ln={LOG2_N},r={R},p={P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, encoded: str) -> bool:
    try:
        log2_n, r, p, salt, expected = _parse(encoded)
    except (ValueError, binascii.Error):
        return False
    actual = _derive(password, salt, log2_n, r, p, len(expected))
    return hmac.compare_digest(actual, expected)


def _parse(encoded: str) -> tuple[int, int, int, bytes, bytes]:
    if not encoded.startswith(_PREFIX):
        raise ValueError("not a scrypt hash")
    params, salt_text, hash_text = encoded[len(_PREFIX):].split("$")
    values = dict(item.split("=", 1) for item in params.split(","))
    if set(values) != {"ln", "r", "p"}:
        raise ValueError("bad parameters")
    log2_n, r, p = int(values["ln"]), int(values["r"]), int(values["p"])
    if not (10 <= log2_n <= 20 and 1 <= r <= 32 and 1 <= p <= 16 and (2**log2_n) * r <= 2**21):
        raise ValueError("parameters out of range")
    salt, expected = _unb64(salt_text), _unb64(hash_text)
    if len(salt) < 8 or not 16 <= len(expected) <= 64:
        raise ValueError("bad salt or hash length")
    return log2_n, r, p, salt, expected
