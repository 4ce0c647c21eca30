"""The only SQL of the STS service: temporary-credential sessions.

Must not: hold rules (``domain.py``) or build wire responses; open secrets (callers seal and
open them).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import bindparam, insert, select

from cloudkeep.storage.schema import access_keys, sts_sessions

from .domain import Session


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"))


def add_session(uow: Any, session: Session, *, secret_sealed: bytes, token_sealed: bytes) -> None:
    uow.execute(insert(sts_sessions).values(
        access_key_id=session.access_key_id, account_id=session.account_id,
        principal_type=session.principal_type.value, arn=session.arn, principal_id=session.principal_id,
        user_name=session.user_name, parent_arn=session.parent_arn, parent_id=session.parent_id,
        session_name=session.session_name, secret_sealed=secret_sealed, token_sealed=token_sealed,
        session_policies=_json([list(p) for p in session.session_policies])
        if session.session_policies is not None else None,
        session_tags=_json([list(t) for t in session.session_tags]) if session.session_tags else None,
        transitive_tag_keys=_json(list(session.transitive_tag_keys)) if session.transitive_tag_keys else None,
        source_identity=session.source_identity, mfa_authenticated=session.mfa_authenticated,
        mfa_authenticated_at=session.mfa_authenticated_at, issued_at=session.issued_at,
        expires_at=session.expires_at))


#: the columns the credential resolver reads, in this order (plain columns: a prepared read)
CREDENTIAL_COLUMNS = ("access_key_id", "account_id", "principal_type", "arn", "principal_id", "user_name",
                      "parent_arn", "parent_id", "session_name", "secret_sealed", "token_sealed",
                      "session_policies", "session_tags", "transitive_tag_keys", "source_identity",
                      "mfa_authenticated", "mfa_authenticated_at", "issued_at", "expires_at")


def credential_query() -> Any:
    """The session of ``:access_key_id``, in any account: for authentication only. Plain
    columns (times come back as the driver returns them), so it can run as a
    ``Store.prepare_read`` statement."""
    return (select(*(sts_sessions.c[name] for name in CREDENTIAL_COLUMNS))
            .where(sts_sessions.c.access_key_id == bindparam("access_key_id")))


def transitive_of(uow: Any, access_key_id: str) -> tuple[str, ...]:
    """The transitive tag keys of a session (for role chaining)."""
    text = uow.execute(select(sts_sessions.c.transitive_tag_keys)
                       .where(sts_sessions.c.access_key_id == access_key_id)).scalar_one_or_none()
    return tuple(json.loads(text)) if text else ()


def key_account(uow: Any, access_key_id: str) -> str | None:
    """The account of a long-term or temporary access key id, in any account (GetAccessKeyInfo)."""
    table = sts_sessions if access_key_id.startswith("ASIA") else access_keys
    return uow.execute(select(table.c.account_id)
                       .where(table.c.access_key_id == access_key_id)).scalar_one_or_none()
