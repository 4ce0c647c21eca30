"""Resolves long-term access keys (root and IAM users) for the authenticate stage.

Secrets are stored sealed under the root of trust; a small in-process cache keeps the opened
secret keyed by the sealed bytes, and the credential built from a row keyed by the whole row,
so a request does not pay for a decryption while the status (Active/Inactive) and ownership are
read fresh from the store on every request (a prepared read that sees every committed change,
so a deactivated key is refused at once on every worker).

Must not: cache anything that can change without the sealed bytes changing.
"""

from __future__ import annotations

import functools
from typing import Any

from cloudkeep.auth.credentials import ResolvedCredential
from cloudkeep.auth.principal import Principal, PrincipalType

from .domain import ACTIVE, root_arn
from .repository import credential_query


def secret_context(access_key_id: str) -> bytes:
    return b"iam:access-key:" + access_key_id.encode()


class IamCredentialResolver:
    def __init__(self, store: Any, sealer: Any, partition: str = "aws") -> None:
        self._query = store.prepare_read(credential_query())
        self._sealer = sealer
        self._partition = partition
        self._open = functools.lru_cache(maxsize=4096)(self._open_uncached)
        self._resolved = functools.lru_cache(maxsize=4096)(self._resolved_uncached)

    def _open_uncached(self, access_key_id: str, sealed: bytes) -> str:
        return self._sealer.open(sealed, context=secret_context(access_key_id)).decode()

    def resolve(self, access_key_id: str) -> ResolvedCredential | None:
        row = self._query.first(access_key_id=access_key_id)
        if row is None:
            return None
        return self._resolved(tuple(row))

    def _resolved_uncached(self, row: tuple) -> ResolvedCredential | None:
        """The credential a row of the key's read stands for; the same row (every column the
        read returns, status and sealed secret included) stands for the same credential, so it
        is built once (entities are frozen and shared)."""
        access_key_id, account_id, status, sealed, owner_key, user_name, user_id, arn = row
        if owner_key is None:
            principal = Principal(type=PrincipalType.ROOT, account_id=account_id,
                                  arn=root_arn(self._partition, account_id),
                                  principal_id=account_id, access_key_id=access_key_id)
        elif user_id is None:
            return None  # the owner is gone: the key is gone with it
        else:
            principal = Principal(type=PrincipalType.IAM_USER, account_id=account_id, arn=arn,
                                  principal_id=user_id, access_key_id=access_key_id, user_name=user_name)
        secret = self._open(access_key_id, bytes(sealed))
        return ResolvedCredential(principal=principal, secret=secret, active=status == ACTIVE)
