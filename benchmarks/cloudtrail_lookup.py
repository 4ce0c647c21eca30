"""Event history benchmark: LookupEvents' query cost as the history grows, on SQLite and
PostgreSQL.

    .venv/bin/python benchmarks/cloudtrail_lookup.py                          # 10k, 100k, 1M; both backends
    .venv/bin/python benchmarks/cloudtrail_lookup.py --sizes 10000,100000     # smaller run
    .venv/bin/python benchmarks/cloudtrail_lookup.py --backend sqlite

For each backend it makes a store of its own (SQLite: a file in a temporary directory;
PostgreSQL: a database ``cloudkeep_bench_<random>`` created on the server at
``--postgres-admin-url`` and dropped at the end), migrates it, and grows the history directly
in a store of each size (one store per size, all loaded first): management events of one account over the
last 90 days, spread over two regions, 20 user names, 50 event names and one resource each,
written through the recorder's own row functions (compressed bodies, the same indexes and
resource rows as the server). At each size it times ``--queries`` lookups of each kind through
the code LookupEvents runs (``history.parse_request``, ``history_repository.lookup`` in a read
unit of work, ``history.event_wire`` for each event of the page), in rounds that visit every
size in turn so that the machine's changing load touches every size alike:

- ``username``: LookupAttributes Username=<one of the 20 users>, first page of 50;
- ``event_name``: LookupAttributes EventName=<one of the 50 names>, first page of 50;
- ``time_window``: no attribute, StartTime/EndTime one random day of the 90 days, first page;
- ``next_page``: the second page of a Username lookup (through its NextToken);
- ``resource_type``: LookupAttributes ResourceType=AWS::IAM::User (every event names one user),
  EndTime a random hour of the first 80 days: the side table's index, joined to the events.

It prints p50 and p99 per kind and size, and the ratio of each p50 to the p50 at the smallest
size. Targets (issue 8): p50 at 1 million ≤ 2× p50 at 10 thousand, and under 50 ms.

Must not: be collected or run by CI, install anything, or touch any database but its own.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import random
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from sqlalchemy import text

from cloudkeep.audit.recorder import chunk_row, insert_chunks
from cloudkeep.services.cloudtrail import history
from cloudkeep.services.cloudtrail.history_repository import entry_texts, lookup
from cloudkeep.storage.engine import Store, sqlite_url

UTC = _dt.timezone.utc
ACCOUNT = "111122223333"
REGIONS = ("us-east-1", "eu-west-1")
#: few enough that every lookup fills its page of 50 at 10 thousand events too (pages of equal size
#: at every history size: the comparison is of the query, not of how many events a page holds)
USERS = [f"user-{n:03d}" for n in range(20)]
NAMES = [f"Action{n:03d}" for n in range(50)]
SOURCES = ("iam.amazonaws.com", "kms.amazonaws.com", "s3.amazonaws.com", "sts.amazonaws.com")
NOW = _dt.datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
SPAN = _dt.timedelta(days=89, hours=23)
BATCH = 5000


def _record(n: int, when: _dt.datetime, rng: random.Random) -> dict[str, Any]:
    user = USERS[rng.randrange(len(USERS))]
    name = NAMES[rng.randrange(len(NAMES))]
    return {
        "eventVersion": "1.11",
        "userIdentity": {"type": "IAMUser", "principalId": f"AIDA{n % 100:016d}",
                         "arn": f"arn:aws:iam::{ACCOUNT}:user/{user}", "accountId": ACCOUNT,
                         "accessKeyId": f"AKIA{USERS.index(user):016d}", "userName": user},
        "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": SOURCES[n % len(SOURCES)], "eventName": name,
        "awsRegion": REGIONS[n % len(REGIONS)], "sourceIPAddress": "192.0.2.10",
        "userAgent": "aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64",
        "requestParameters": {"userName": f"target-{n % 5000}"},
        "responseElements": None, "requestID": f"{n:08d}-0000-4000-8000-000000000000",
        "eventID": f"{n:08d}-1111-4000-8000-{n:012d}", "readOnly": n % 3 == 0,
        "eventType": "AwsApiCall", "managementEvent": True, "recipientAccountId": ACCOUNT,
        "eventCategory": "Management",
    }


def grow(store: Store, start: int, stop: int, total: int, rng: random.Random) -> None:
    """Events start..stop-1 of a history of ``total`` events spread evenly over SPAN, in time order."""
    step = SPAN / total
    base = NOW - SPAN
    for first in range(start, stop, BATCH):
        pairs = []
        for n in range(first, min(first + BATCH, stop)):
            record = _record(n, base + step * n, rng)
            made = chunk_row(record)
            assert made is not None
            pairs.append((record, *made))
        with store.unit_of_work(write=True) as uow:
            insert_chunks(uow, pairs)      # as the recorder stores the records it writes in batches
        done = min(first + BATCH, stop)
        if done % 100_000 == 0 or done == stop:
            print(f"    {done:>9,} events", file=sys.stderr, flush=True)


def _params(kind: str, rng: random.Random) -> dict[str, Any]:
    if kind in ("username", "next_page"):
        return {"LookupAttributes": [{"AttributeKey": "Username", "AttributeValue": rng.choice(USERS)}]}
    if kind == "event_name":
        return {"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": rng.choice(NAMES)}]}
    if kind == "resource_type":
        return {"LookupAttributes": [{"AttributeKey": "ResourceType", "AttributeValue": "AWS::IAM::User"}],
                "EndTime": NOW - _dt.timedelta(hours=rng.randrange(24 * 80))}
    start = NOW - SPAN + _dt.timedelta(hours=rng.randrange(int(SPAN.total_seconds() // 3600) - 24))
    return {"StartTime": start, "EndTime": start + _dt.timedelta(days=1)}


def _one_lookup(store: Store, params: dict[str, Any]) -> tuple[list[dict[str, Any]], str | None]:
    """What the LookupEvents operation does after authorization."""
    query = history.parse_request(params, account_id=ACCOUNT, region=REGIONS[0], now=NOW)
    assert query is not None
    with store.unit_of_work() as uow:
        rows, cursor = lookup(uow.execute, query)
        texts = entry_texts(uow.execute, rows)
    events = [history.event_wire(text) for text in texts if text is not None]
    return events, history.encode_token(params, cursor) if cursor else None


def _timed(store: Store, kind: str, rng: random.Random) -> float:
    params = _params(kind, rng)
    if kind == "next_page":
        _, token = _one_lookup(store, params)
        assert token is not None, "every user has more than one page"
        params = {**params, "NextToken": token}
    began = time.perf_counter()
    events, _ = _one_lookup(store, params)
    elapsed = time.perf_counter() - began
    assert len(events) == 50, f"{kind}: a page of {len(events)} events (the history should fill every page)"
    return elapsed * 1000


def _p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


KINDS = ("username", "event_name", "time_window", "next_page", "resource_type")
ROUNDS = 10


def run_backend(name: str, open_store: Callable[[], tuple[Store, Callable[[], None]]], sizes: list[int],
                queries: int, seed: int) -> dict[tuple[int, str], tuple[float, float]]:
    """One store per size, loaded first; then the lookups in rounds that visit every size and
    kind in turn, so a change in the machine's load touches every size alike."""
    stores: dict[int, tuple[Store, Callable[[], None]]] = {}
    try:
        for size in sizes:
            store, cleanup = open_store()
            stores[size] = (store, cleanup)
            began = time.perf_counter()
            print(f"  {name}: loading {size:,} events", file=sys.stderr, flush=True)
            grow(store, 0, size, size, random.Random(seed))
            if store.dialect == "postgresql":
                with store.engine.begin() as connection:   # what autovacuum's analyze does after a load
                    connection.execute(text("ANALYZE audit_events"))
                    connection.execute(text("ANALYZE audit_event_resources"))
            print(f"  {name}: loaded in {time.perf_counter() - began:.0f} s", file=sys.stderr, flush=True)
        timings: dict[tuple[int, str], list[float]] = {(size, kind): [] for size in sizes for kind in KINDS}
        rngs = {size: random.Random(seed + size) for size in sizes}
        for size in sizes:                                  # warm-up: a tenth, not counted
            for kind in KINDS:
                for _ in range(max(1, queries // 10)):
                    _timed(stores[size][0], kind, rngs[size])
        per_round = max(1, queries // ROUNDS)
        for round_ in range(ROUNDS):
            for size in sizes:
                for kind in KINDS:
                    timings[(size, kind)] += [_timed(stores[size][0], kind, rngs[size]) for _ in range(per_round)]
            print(f"  {name}: round {round_ + 1}/{ROUNDS}", file=sys.stderr, flush=True)
    finally:
        for store, cleanup in stores.values():
            store.close()
            cleanup()
    return {key: (_p(values, 50), _p(values, 99)) for key, values in timings.items()}


def sqlite_store() -> tuple[Store, Callable[[], None]]:
    directory = tempfile.TemporaryDirectory(prefix="cloudkeep-bench-")
    return Store.open(sqlite_url(Path(directory.name))), directory.cleanup


def postgres_store(admin_url: str) -> Callable[[], tuple[Store, Callable[[], None]]]:
    def open_() -> tuple[Store, Callable[[], None]]:
        import psycopg

        name = "cloudkeep_bench_" + secrets.token_hex(6)
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')

        def drop() -> None:
            with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

        try:
            return Store.open(admin_url.rsplit("/", 1)[0] + "/" + name), drop
        except Exception:
            drop()
            raise
    return open_


def report(all_results: dict[str, dict[tuple[int, str], tuple[float, float]]], sizes: list[int]) -> bool:
    from rich.console import Console
    from rich.table import Table

    ok = True
    table = Table(title="LookupEvents query cost (ms per page of 50, through the operation's code)")
    for column in ("backend", "events", "lookup", "p50", "p99", "p50 / p50 at smallest", "target"):
        table.add_column(column, justify="right" if column not in ("backend", "lookup") else "left")
    for backend, results in all_results.items():
        for size in sizes:
            for kind in KINDS:
                p50, p99 = results[(size, kind)]
                ratio = p50 / results[(sizes[0], kind)][0]
                good = p50 < 50 and (size == sizes[0] or ratio <= 2)
                ok &= good
                table.add_row(backend, f"{size:,}", kind, f"{p50:.2f}", f"{p99:.2f}", f"{ratio:.2f}×",
                              "[green]ok[/]" if good else "[red]missed[/]")
    Console(highlight=False).print(table)
    print("targets: p50 < 50 ms at every size, and p50 ≤ 2× the smallest size's p50")
    return ok


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="the event history's lookup cost as it grows, on SQLite and PostgreSQL")
    p.add_argument("--sizes", default="10000,100000,1000000", help="history sizes, comma-separated")
    p.add_argument("--backend", action="append", choices=("sqlite", "postgresql"),
                   help="repeatable; default both")
    p.add_argument("--queries", type=int, default=200, help="timed lookups per kind and size (default 200)")
    p.add_argument("--postgres-admin-url", default="postgresql://postgres@127.0.0.1:5432/test",
                   help="a database on the server where the benchmark may create and drop its own")
    p.add_argument("--seed", type=int, default=8)
    p.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = p.parse_args(argv)
    sizes = sorted(int(s) for s in args.sizes.split(","))
    backends = args.backend or ["sqlite", "postgresql"]
    results = {}
    for backend in backends:
        opener = sqlite_store if backend == "sqlite" else postgres_store(args.postgres_admin_url)
        results[backend] = run_backend(backend, opener, sizes, args.queries, args.seed)
    ok = report(results, sizes)
    return 0 if ok or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
