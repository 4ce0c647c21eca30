"""End to end: concurrent writers lose nothing, on SQLite and on PostgreSQL, with two worker processes.

Each backend gets its own real server started with ``--workers 2`` (module-scoped). PostgreSQL:
a fresh database ``cloudkeep_test_<hex>`` per run, created by ``tests/storage_backends.py``'s
machinery (its own instance, so the storage tests' schema resets never touch it) and dropped
``WITH (FORCE)`` at the end of the session; unreachable → fail when ``CI=true``, skip otherwise.
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Iterator

import pytest
from botocore.exceptions import ClientError

from cloudkeep.testing.server import Account, CloudkeepServer
from storage_backends import _PostgresDatabase

THREADS = 8
PER_THREAD = 25


@pytest.fixture(scope="module", params=[pytest.param("sqlite", id="sqlite"),
                                        pytest.param("postgresql", id="postgresql",
                                                     marks=pytest.mark.postgres)])
def server(request: pytest.FixtureRequest) -> Iterator[CloudkeepServer]:
    store_url = None
    if request.param == "postgresql":
        store_url = _PostgresDatabase().ensure(request.config)   # a database of its own
    with CloudkeepServer(store_url=store_url, workers=2) as ck:
        yield ck


@pytest.fixture
def account(server: CloudkeepServer) -> Account:
    return server.create_account()


def _error_code(error: ClientError) -> tuple[str, int]:
    return error.response["Error"]["Code"], error.response["ResponseMetadata"]["HTTPStatusCode"]


def test_parallel_create_user_loses_nothing(server, account):
    barrier = threading.Barrier(THREADS)

    def writer(t: int) -> list[str]:
        iam = account.client("iam")          # one client per thread
        barrier.wait()
        made = []
        for i in range(PER_THREAD):
            name = f"w{t}-u{i:02d}"
            iam.create_user(UserName=name, Path=f"/t{t}/")
            made.append(name)
        return made

    with ThreadPoolExecutor(THREADS) as pool:
        created = [name for names in pool.map(writer, range(THREADS)) for name in names]
    assert len(created) == THREADS * PER_THREAD

    iam = account.client("iam")
    pages = list(iam.get_paginator("list_users").paginate(PaginationConfig={"PageSize": 17}))
    listed = [u["UserName"] for page in pages for u in page["Users"]]
    assert len(pages) == -(-THREADS * PER_THREAD // 17)
    assert Counter(listed) == Counter(created)      # all 200, none twice
    assert len(set(u["UserId"] for page in pages for u in page["Users"])) == THREADS * PER_THREAD
    for t in range(THREADS):
        assert len(iam.list_users(PathPrefix=f"/t{t}/")["Users"]) == PER_THREAD


@pytest.mark.parametrize("round_", range(3))
def test_parallel_create_of_the_same_name_has_exactly_one_winner(server, account, round_):
    racers = 12
    name = f"contested-{round_}"
    barrier = threading.Barrier(racers)
    clients = [account.client("iam") for _ in range(racers)]

    def race(i: int) -> object:
        barrier.wait()
        try:
            return clients[i].create_user(UserName=name)["User"]
        except ClientError as error:
            return _error_code(error)

    with ThreadPoolExecutor(racers) as pool:
        outcomes = list(pool.map(race, range(racers)))

    winners = [o for o in outcomes if isinstance(o, dict)]
    losers = [o for o in outcomes if not isinstance(o, dict)]
    assert len(winners) == 1, outcomes
    assert losers == [("EntityAlreadyExists", 409)] * (racers - 1), outcomes
    listed = [u for u in account.client("iam").list_users()["Users"] if u["UserName"] == name]
    assert [u["UserId"] for u in listed] == [winners[0]["UserId"]]


def test_parallel_access_keys_respect_the_quota_of_two(server, account):
    account.client("iam").create_user(UserName="keyed")
    racers = 8
    barrier = threading.Barrier(racers)
    clients = [account.client("iam") for _ in range(racers)]

    def race(i: int) -> object:
        barrier.wait()
        try:
            return clients[i].create_access_key(UserName="keyed")["AccessKey"]["AccessKeyId"]
        except ClientError as error:
            return _error_code(error)

    with ThreadPoolExecutor(racers) as pool:
        outcomes = list(pool.map(race, range(racers)))
    keys = [o for o in outcomes if isinstance(o, str)]
    refused = [o for o in outcomes if not isinstance(o, str)]
    assert len(keys) == 2 and refused == [("LimitExceeded", 409)] * (racers - 2), outcomes
    listed = account.client("iam").list_access_keys(UserName="keyed")["AccessKeyMetadata"]
    assert sorted(k["AccessKeyId"] for k in listed) == sorted(keys)
