"""Resolves long-term access keys (root and IAM users) for the authenticate stage.

Secrets are stored sealed under the root of trust; a small in-process cache keeps the opened
secret keyed by the sealed bytes, so a request does not pay for a decryption while the status
(Active/Inactive) and ownership are read fresh from the store on every request.

Must not: cache anything that can change without the sealed bytes changing.
"""

from __future__ import annotations

import functools
from typing import Any

from cloudkeep.auth.credentials import ResolvedCredential
from cloudkeep.auth.principal import Principal, PrincipalType

from .domain import ACTIVE, root_arn
from .repository import IamRepository


def secret_context(access_key_id: str) -> bytes:
    return b"iam:access-key:" + access_key_id.encode()


class IamCredentialResolver:
    def __init__(self, sealer: Any, partition: str = "aws") -> None:
        self._sealer = sealer
        self._partition = partition
        self._open = functools.lru_cache(maxsize=4096)(self._open_uncached)

    def _open_uncached(self, access_key_id: str, sealed: bytes) -> str:
        return self._sealer.open(sealed, context=secret_context(access_key_id)).decode()

    def resolve(self, uow: Any, access_key_id: str) -> ResolvedCredential | None:
        row = IamRepository(uow).credential_row(access_key_id)
        if row is None:
            return None
        if row.user_name_key is None:
            principal = Principal(type=PrincipalType.ROOT, account_id=row.account_id,
                                  arn=root_arn(self._partition, row.account_id),
                                  principal_id=row.account_id, access_key_id=access_key_id)
        elif row.user_id is None:
            return None  # the owner is gone: the key is gone with it
        else:
            principal = Principal(type=PrincipalType.IAM_USER, account_id=row.account_id, arn=row.arn,
                                  principal_id=row.user_id, access_key_id=access_key_id,
                                  user_name=row.user_name)
        secret = self._open(access_key_id, bytes(row.secret_sealed))
        return ResolvedCredential(principal=principal, secret=secret, active=row.status == ACTIVE)
