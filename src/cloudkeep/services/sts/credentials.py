"""Resolves temporary access keys (ASIA…) for the authenticate stage.

The secret and the session token are sealed under the root of trust, bound to the key id; a
small in-process cache keeps the opened values keyed by the sealed bytes, so a request does not
pay for decryption. The row is read on every request with a prepared read that sees every
committed change. Expiry is the authenticate stage's check (the domain clock), from
``ResolvedCredential.expires_at``.

Must not: log or cache anything that can change without the sealed bytes changing; hand the
secret or the token to anything but the authenticate stage.
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
from typing import Any

from cloudkeep.auth.credentials import ResolvedCredential
from cloudkeep.auth.principal import PrincipalType

from .domain import Session
from .repository import credential_query

UTC = _dt.timezone.utc


def secret_context(access_key_id: str) -> bytes:
    return b"sts:secret-access-key:" + access_key_id.encode()


def token_context(access_key_id: str) -> bytes:
    return b"sts:session-token:" + access_key_id.encode()


def _time(value: Any) -> _dt.datetime | None:
    """A time column as the driver returns it (SQLite: text, naive UTC; PostgreSQL: aware)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = _dt.datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@functools.lru_cache(maxsize=4096)
def _pairs(text: str | None) -> tuple[tuple[str, str], ...] | None:
    return None if text is None else tuple((a, b) for a, b in json.loads(text))


@functools.lru_cache(maxsize=4096)
def _keys(text: str | None) -> tuple[str, ...]:
    return () if not text else tuple(json.loads(text))


def session_from_row(row: Any) -> Session:
    (key, account_id, ptype, arn, principal_id, user_name, parent_arn, parent_id, session_name, _secret,
     _token, policies, tags, transitive, source_identity, mfa, mfa_at, issued_at, expires_at) = row
    return Session(access_key_id=key, account_id=account_id, principal_type=PrincipalType(ptype), arn=arn,
                   principal_id=principal_id, user_name=user_name, parent_arn=parent_arn, parent_id=parent_id,
                   session_name=session_name, session_policies=_pairs(policies),
                   session_tags=_pairs(tags) or (), transitive_tag_keys=_keys(transitive),
                   source_identity=source_identity, mfa_authenticated=bool(mfa),
                   mfa_authenticated_at=_time(mfa_at), issued_at=_time(issued_at),  # type: ignore[arg-type]
                   expires_at=_time(expires_at))  # type: ignore[arg-type]


class StsCredentialResolver:
    """``resolve(access_key_id)`` for ASIA keys; any other key id is not its business (None)."""

    def __init__(self, store: Any, sealer: Any, partition: str = "aws") -> None:
        self._query = store.prepare_read(credential_query())
        self._sealer = sealer
        self._partition = partition
        self._open = functools.lru_cache(maxsize=4096)(self._open_uncached)

    def _open_uncached(self, context: bytes, sealed: bytes) -> str:
        return self._sealer.open(sealed, context=context).decode()

    def resolve(self, access_key_id: str) -> ResolvedCredential | None:
        if not access_key_id.startswith("ASIA"):
            return None
        row = self._query.first(access_key_id=access_key_id)
        if row is None:
            return None
        session = session_from_row(row)
        secret = self._open(secret_context(access_key_id), bytes(row[9]))
        token = self._open(token_context(access_key_id), bytes(row[10]))
        return ResolvedCredential(principal=session.principal(token, self._partition), secret=secret,
                                  expires_at=session.expires_at, session_token=token)
