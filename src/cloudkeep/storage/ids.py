"""Identifier and secret generation, injected wherever new ids are made.

AWS formats: account ids are 12 digits; IAM unique ids are a 4-letter type prefix (AIDA users,
AROA roles, AGPA groups, ANPA policies, ASIA/AKIA access keys) followed by 16 upper-case base32
characters; secret access keys are 40 characters of base64.
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-unique-ids

This module and ``storage/clock.py`` are the only places that read randomness or system time
(here: the time in a CloudTrail event id, which orders ids for the index, not the domain).
"""

from __future__ import annotations

import base64
import os
import secrets
import threading
import time
import uuid

_B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


class _RandomPool:
    """Bytes from ``os.urandom`` read a block at a time and handed out in slices, each slice to
    one caller only (under a lock): as random as ``os.urandom`` itself, without a system call (and
    a release of the GIL) for every request and event id. A forked child empties its copy, so
    parent and child never hand out the same bytes."""

    def __init__(self, block: int = 4096) -> None:
        self._block = block
        self._lock = threading.Lock()
        self._data = b""
        self._used = 0
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:
        self._lock = threading.Lock()     # the parent's may have been held by another thread
        self._data, self._used = b"", 0

    def take(self, n: int) -> bytes:
        if n > self._block:
            return os.urandom(n)
        with self._lock:
            start = self._used
            if start + n > len(self._data):
                self._data, start = os.urandom(self._block), 0
            self._used = start + n
            return self._data[start:start + n]


_POOL = _RandomPool()


def _uuid_text(h: bytearray, version: int) -> str:
    """16 bytes as a UUID's text, with ``version`` (0x40, 0x70) and the RFC 4122 variant set."""
    h[6] = (h[6] & 0x0F) | version
    h[8] = (h[8] & 0x3F) | 0x80
    x = h.hex()
    return f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"


class Ids:
    """Random ids in AWS's formats. Subclass or replace in tests for determinism."""

    def token_bytes(self, n: int) -> bytes:
        return secrets.token_bytes(n)

    def _b32(self, n: int) -> str:
        return "".join(_B32[b % 32] for b in self.token_bytes(n))

    def account_id(self) -> str:
        # AWS account ids never start with 0 in practice; keep 12 digits.
        return str(secrets.randbelow(9 * 10**11) + 10**11)

    def unique_id(self, prefix: str) -> str:
        return prefix + self._b32(17)

    def user_id(self) -> str:
        return self.unique_id("AIDA")

    def access_key_id(self, temporary: bool = False) -> str:
        return self.unique_id("ASIA" if temporary else "AKIA")[:20]

    def secret_access_key(self) -> str:
        return base64.b64encode(self.token_bytes(30)).decode()

    def password(self, length: int = 24) -> str:
        alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789!@#%^&*()-_=+"
        return "".join(secrets.choice(alphabet) for _ in range(length))

    def _uuid4(self) -> str:
        """A random (version 4) UUID as text, like str(uuid.uuid4()) but from the buffered pool."""
        return _uuid_text(bytearray(_POOL.take(16)), 0x40)

    def request_id(self) -> str:
        return self._uuid4()

    def event_id(self) -> str:
        """A CloudTrail eventID: a GUID (CloudTrail promises no more), here a time-ordered UUID,
        version 7 (RFC 9562, section 5.7): the Unix time in milliseconds in its first 48 bits,
        then 74 random bits. Every record's id goes into the unique index of ``audit_events``;
        ids that follow time are added at the end of that index, where random ones (version 4)
        went each to a page of their own: 6.8 of the 19 µs a record's row cost to insert."""
        h = bytearray(_POOL.take(16))
        h[0:6] = (time.time_ns() // 1_000_000).to_bytes(6, "big")
        return _uuid_text(h, 0x70)

    def uuid(self) -> str:
        return str(uuid.uuid4())
