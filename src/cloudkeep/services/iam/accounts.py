"""Accounts as tenants: creating one makes its root user (email, password) and one root
access key (or, for an account AWS Organizations creates, neither). Used by the first start of the server, ``cloudkeep account create`` and the test
fixture, so every account is made the same way.

Must not: write secrets anywhere but the store (sealed) and the returned value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cloudkeep.crypto.passwords import hash_password

from .credentials import secret_context
from .domain import ACTIVE, AccessKey
from .repository import IamRepository


@dataclass(frozen=True, slots=True)
class RootCredentials:
    account_id: str
    email: str
    password: str = field(repr=False)
    access_key_id: str = ""
    secret_access_key: str = field(default="", repr=False)

    def to_json(self) -> dict:
        return {"AccountId": self.account_id, "Email": self.email, "Password": self.password,
                "AccessKeyId": self.access_key_id, "SecretAccessKey": self.secret_access_key}


def create_account(uow: Any, *, sealer: Any, ids: Any, clock: Any, email: str | None = None,
                   root_credentials: bool = True) -> RootCredentials:
    """A new account. ``root_credentials=False``: its root user gets no password (the stored
    hash is empty, which no password verifies against) and no access key, so the account is
    reachable only through roles (AWS Organizations' CreateAccount)."""
    repo = IamRepository(uow)
    account_id = ids.account_id()
    while repo.account_created_at(account_id) is not None:  # pragma: no cover - 1 in 10^11
        account_id = ids.account_id()
    now = clock.now()
    email = email or f"root+{account_id}@cloudkeep.local"
    if not root_credentials:
        repo.add_account(account_id, email, "", now)
        return RootCredentials(account_id=account_id, email=email, password="")
    password = ids.password()
    repo.add_account(account_id, email, hash_password(password), now)
    key_id, secret = ids.access_key_id(), ids.secret_access_key()
    repo.add_access_key(AccessKey(access_key_id=key_id, account_id=account_id, user_name=None,
                                  status=ACTIVE, created_at=now),
                        sealer.seal(secret.encode(), context=secret_context(key_id)))
    return RootCredentials(account_id=account_id, email=email, password=password,
                           access_key_id=key_id, secret_access_key=secret)
