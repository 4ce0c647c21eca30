"""The authenticate stage's access-key resolver (services/iam/credentials.py): the key's row is
read on every request, and the credential a row stands for is built once; a change to the row
(the key made Inactive) gives a new credential at once. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import update

from cloudkeep.crypto.envelope import Sealer
from cloudkeep.services.iam.accounts import create_account
from cloudkeep.services.iam.credentials import IamCredentialResolver
from cloudkeep.storage.clock import SystemClock
from cloudkeep.storage.ids import Ids
from cloudkeep.storage.schema import access_keys

from storage_backends import store, store_url  # noqa: F401  (pytest fixtures)


def test_a_row_is_resolved_once_and_a_changed_row_again(store) -> None:  # type: ignore[no-untyped-def]
    sealer = Sealer(b"k" * 32)
    with store.unit_of_work(write=True) as uow:
        root = create_account(uow, sealer=sealer, ids=Ids(), clock=SystemClock())
    resolver = IamCredentialResolver(store, sealer)
    first = resolver.resolve(root.access_key_id)
    assert first is not None and first.active and first.secret == root.secret_access_key
    assert first.principal.account_id == root.account_id and first.principal.access_key_id == root.access_key_id
    assert resolver.resolve(root.access_key_id) is first          # the same row: built once
    with store.unit_of_work(write=True) as uow:
        uow.execute(update(access_keys).where(access_keys.c.access_key_id == root.access_key_id)
                    .values(status="Inactive"))
    inactive = resolver.resolve(root.access_key_id)
    assert inactive is not None and not inactive.active and inactive.principal == first.principal
    assert resolver.resolve("AKIAEXAMPLENOTAKEY00") is None
