"""The pytest plugin shipped with cloudkeep (entry point ``pytest11``).

Fixtures:
- ``cloudkeep_server`` (session): one real server on a free port with a throw-away data dir.
- ``cloudkeep_account`` (function): a fresh account (tenant) per test, with client factories.
- ``cloudkeep_root``: the server's first account (created at its first start).

    def test_alice_cannot_create_users(cloudkeep_account):
        iam = cloudkeep_account.client("iam")
        ...
"""

from __future__ import annotations

from typing import Iterator

import pytest

from .server import Account, CloudkeepServer


@pytest.fixture(scope="session")
def cloudkeep_server() -> Iterator[CloudkeepServer]:
    with CloudkeepServer() as server:
        yield server


@pytest.fixture
def cloudkeep_account(cloudkeep_server: CloudkeepServer) -> Account:
    return cloudkeep_server.create_account()


@pytest.fixture
def cloudkeep_root(cloudkeep_server: CloudkeepServer) -> Account:
    assert cloudkeep_server.root is not None
    return cloudkeep_server.root
