"""KMS benchmark: cloudkeep's KMS against moto's, same workloads, same run.

    .venv/bin/python benchmarks/kms.py                   # 2000 calls per workload
    .venv/bin/python benchmarks/kms.py --quick           # 300 calls: a smoke run
    .venv/bin/python benchmarks/kms.py --principal user  # as an IAM user: key policy *and* IAM policy
    .venv/bin/python benchmarks/kms.py --load 1,2,4      # load generator at these concurrencies

Workloads (one symmetric key per server, made beforehand; every call carries the same small
encryption context, as the AWS Encryption SDK's calls do):

- ``encrypt``: ``Encrypt`` of 1 KiB of plaintext;
- ``decrypt``: ``Decrypt`` of a 1 KiB ciphertext made beforehand (no KeyId: the blob names it);
- ``generatedatakey``: ``GenerateDataKey`` with ``KeySpec=AES_256``.

Two measurements, in the same run against both servers:

1. **boto3, sequential** (what one boto3 user sees). boto3 itself spends about 1 ms of CPU per
   call here, which bounds what any server can show this way.
2. **load generator** (``loadgen.py``): client processes that sign every request with
   botocore's SigV4 signer and send it over a kept-alive connection, at each concurrency of
   ``--load``; what the server sustains. cloudkeep runs with ``--workers`` processes (default
   2, one per core; its state is in the database), moto's server as it ships (threads in one
   process; its state is in that process's memory).

For each it prints, like ``api_calls.py`` (whose servers, measurement and CPU accounting it
reuses): calls/s, p50/p99 client-side latency, server CPU per call (utime+stime of the server's
process tree from /proc, read after a settle so batched audit writes are charged to the calls that
caused them) and client CPU per call, each with cloudkeep/moto. The target is the issue's: ≥ 3×
moto's calls/s *while enforcing key policies and recording CloudTrail events* (moto does
neither). To show the second half is not skipped, the run ends by counting cloudkeep's CloudTrail
records of each operation (every timed and warm-up call must have one).

Must not: be collected or run by CI (it is not a test), install anything at run time, or send
traffic anywhere but the loopback address of the servers it starts itself (its loops are bounded).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))

import api_calls as base  # noqa: E402  (the servers, /proc CPU accounting and the timed loop)
import loadgen  # noqa: E402  (the signed-HTTP load generator)
from api_calls import Result, Target, Workload  # noqa: E402

TARGET_SPEEDUP = base.TARGET_SPEEDUP  # ≥ 3× moto's calls/s
PLAINTEXT = bytes(range(256)) * 4     # 1 KiB
CONTEXT = {"purpose": "benchmark", "tenant": "acme"}
BENCH_USER = "kms-bench"


# --- the servers, with what each workload needs ------------------------------------------------


@dataclass
class Prepared:
    """A server with its KMS key and a ciphertext to decrypt; for cloudkeep, where to count events."""

    target: Target
    key_arn: str
    ciphertext: bytes
    store_url: str | None = None
    account_id: str = ""


def start_cloudkeep(store_url: str | None, workers: int = 1) -> tuple[Target, str]:
    """cloudkeep as ``api_calls.start_cloudkeep`` starts it, plus the URL of its store."""
    from cloudkeep.storage.engine import sqlite_url
    from cloudkeep.testing.server import CloudkeepServer

    server = CloudkeepServer(test_hooks=False, store_url=store_url, workers=workers)
    server.start()
    assert server.process is not None
    if server.root is None:
        server.stop()
        server.cleanup()
        raise RuntimeError("cloudkeep wrote no root-credentials.json")

    def stop() -> None:
        server.stop()
        server.cleanup()

    target = Target("cloudkeep", server.process.pid, server.endpoint, server.root.access_key_id,
                    server.root.secret_access_key, stop)
    return target, store_url or sqlite_url(server.data_dir)


def prepare(t: Target, principal: str) -> tuple[str, bytes, str]:
    """Creates the key (default key policy: it delegates to the account, so IAM policies apply),
    optionally switches the target's clients to an IAM user allowed by an inline policy, and makes
    the ciphertext that ``decrypt`` opens. Returns (key ARN, ciphertext, account id)."""
    account = t.client("sts").get_caller_identity()["Account"]
    key_arn = t.client("kms").create_key(Description="benchmark")["KeyMetadata"]["Arn"]
    if principal == "user" and t.name == "cloudkeep":
        iam = t.client("iam")
        iam.create_user(UserName=BENCH_USER)
        iam.put_user_policy(UserName=BENCH_USER, PolicyName="kms-use", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"],
                           "Resource": key_arn,
                           "Condition": {"StringEquals": {"kms:EncryptionContext:tenant": "acme"}}}]}))
        key = iam.create_access_key(UserName=BENCH_USER)["AccessKey"]
        t.key, t.secret = key["AccessKeyId"], key["SecretAccessKey"]
        t.clients.clear()
        # a new access key is usable at once on cloudkeep; wait for nothing
    kms = t.client("kms")
    ciphertext = kms.encrypt(KeyId=key_arn, Plaintext=PLAINTEXT, EncryptionContext=CONTEXT)["CiphertextBlob"]
    got = kms.decrypt(CiphertextBlob=ciphertext, EncryptionContext=CONTEXT)
    if got["Plaintext"] != PLAINTEXT or got["KeyId"] != key_arn:
        raise RuntimeError(f"{t.name}: Decrypt did not return the plaintext under {key_arn}")
    dk = kms.generate_data_key(KeyId=key_arn, KeySpec="AES_256", EncryptionContext=CONTEXT)
    if len(dk["Plaintext"]) != 32:
        raise RuntimeError(f"{t.name}: GenerateDataKey returned {len(dk['Plaintext'])} bytes")
    return key_arn, ciphertext, account


# --- workloads -----------------------------------------------------------------------------------


def _encrypt(p: Prepared) -> Callable[[str], None]:
    kms = p.target.client("kms")
    return lambda tag: kms.encrypt(KeyId=p.key_arn, Plaintext=PLAINTEXT, EncryptionContext=CONTEXT) and None


def _decrypt(p: Prepared) -> Callable[[str], None]:
    kms = p.target.client("kms")

    def run(tag: str) -> None:
        if kms.decrypt(CiphertextBlob=p.ciphertext, EncryptionContext=CONTEXT)["Plaintext"] != PLAINTEXT:
            raise RuntimeError(f"{p.target.name}: Decrypt returned the wrong plaintext")
    return run


def _generate_data_key(p: Prepared) -> Callable[[str], None]:
    kms = p.target.client("kms")
    return lambda tag: kms.generate_data_key(KeyId=p.key_arn, KeySpec="AES_256", EncryptionContext=CONTEXT) and None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _json_encrypt(p: Prepared) -> loadgen.JsonCall:
    def check(r: dict) -> None:
        if r.get("KeyId") != p.key_arn or len(base64.b64decode(r["CiphertextBlob"])) <= len(PLAINTEXT):
            raise RuntimeError(f"{p.target.name}: Encrypt answered {str(r)[:200]}")
    body = {"KeyId": p.key_arn, "Plaintext": _b64(PLAINTEXT), "EncryptionContext": CONTEXT}
    return loadgen.JsonCall("kms", "TrentService.Encrypt", json.dumps(body).encode(), check)


def _json_decrypt(p: Prepared) -> loadgen.JsonCall:
    def check(r: dict) -> None:
        if base64.b64decode(r["Plaintext"]) != PLAINTEXT:
            raise RuntimeError(f"{p.target.name}: Decrypt returned the wrong plaintext")
    body = {"CiphertextBlob": _b64(p.ciphertext), "EncryptionContext": CONTEXT}
    return loadgen.JsonCall("kms", "TrentService.Decrypt", json.dumps(body).encode(), check)


def _json_generate_data_key(p: Prepared) -> loadgen.JsonCall:
    def check(r: dict) -> None:
        if len(base64.b64decode(r["Plaintext"])) != 32 or not r.get("CiphertextBlob"):
            raise RuntimeError(f"{p.target.name}: GenerateDataKey answered {str(r)[:200]}")
    body = {"KeyId": p.key_arn, "KeySpec": "AES_256", "EncryptionContext": CONTEXT}
    return loadgen.JsonCall("kms", "TrentService.GenerateDataKey", json.dumps(body).encode(), check)


@dataclass(frozen=True, slots=True)
class KmsWorkload:
    key: str
    title: str
    operation: str                                   # the CloudTrail eventName
    make: Callable[[Prepared], Callable[[str], None]]
    json_call: Callable[[Prepared], loadgen.JsonCall]


WORKLOADS: tuple[KmsWorkload, ...] = (
    KmsWorkload("encrypt", "kms:Encrypt 1 KiB", "Encrypt", _encrypt, _json_encrypt),
    KmsWorkload("decrypt", "kms:Decrypt 1 KiB", "Decrypt", _decrypt, _json_decrypt),
    KmsWorkload("generatedatakey", "kms:GenerateDataKey AES_256", "GenerateDataKey", _generate_data_key,
                _json_generate_data_key),
)


def measure(p: Prepared, w: KmsWorkload, n: int, warmup: int, settle: float, progress: Any) -> Result:
    # api_calls.measure takes a Workload whose make() gets the Target; bind ours to the prepared server
    shim = Workload(w.key, w.title, "call", lambda a: n, lambda t: w.make(p))
    return base.measure(p.target, shim, n, warmup, settle, progress)


def count_events(p: Prepared, operations: list[str]) -> dict[str, tuple[int, int]]:
    """cloudkeep's CloudTrail records per operation for the benchmark's account: (all, errors)."""
    from sqlalchemy import func, select

    from cloudkeep.storage.engine import Store
    from cloudkeep.storage.schema import audit_events

    assert p.store_url is not None
    store = Store.open(p.store_url, migrate=False)
    try:
        with store.unit_of_work() as uow:
            rows = uow.execute(
                select(audit_events.c.event_name, func.count(), func.count(audit_events.c.error_code))
                .where(audit_events.c.account_id == p.account_id, audit_events.c.event_name.in_(operations),
                       audit_events.c.event_source == "kms.amazonaws.com")
                .group_by(audit_events.c.event_name)).all()
    finally:
        store.close()
    return {name: (total, errors) for name, total, errors in rows}


# --- report --------------------------------------------------------------------------------------


_console = base.console


def report(results: dict[tuple[str, str], Result], workloads: list[KmsWorkload], principal: str) -> bool:
    from rich.table import Table

    console = _console()
    tick_ms = 1000 / base.CLK_TCK
    who = "root user" if principal == "root" else "an IAM user (inline policy with an encryption-context condition)"
    table = Table(title=f"cloudkeep KMS vs moto KMS — sequential boto3 calls as {who}",
                  caption=f"server CPU = utime+stime of the server process tree (/proc, {tick_ms:g} ms ticks) "
                          f"÷ calls (~: from fewer than {base.COARSE_TICKS} ticks, coarse); "
                          "cloudkeep evaluates the key policy and records a CloudTrail event per call, moto does neither")
    for col, justify in (("workload", "left"), ("metric", "left"), ("cloudkeep", "right"),
                         ("moto", "right"), ("cloudkeep/moto", "right"), ("target", "left")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    all_met = True
    for w in workloads:
        ck, mo = results.get(("cloudkeep", w.key)), results.get(("moto", w.key))
        n = (ck or mo).iterations if (ck or mo) else 0

        def val(r: Result | None, attr: str) -> float | None:
            return None if r is None else getattr(r, attr)

        target = ""
        if ck is not None and mo is not None:
            met = ck.per_s >= TARGET_SPEEDUP * mo.per_s
            all_met &= met
            target = f"≥ {TARGET_SPEEDUP:g}× moto {'[green]✓[/green]' if met else '[red]✗[/red]'}"
        table.add_row(f"{w.title}\n[dim]{n} calls[/dim]", "calls/s ↑", base._num(val(ck, "per_s"), ".0f"),
                      base._num(val(mo, "per_s"), ".0f"), base._ratio(val(ck, "per_s"), val(mo, "per_s")), target)
        for attr, label in (("p50_ms", "p50 latency ms ↓"), ("p99_ms", "p99 latency ms ↓")):
            table.add_row("", label, base._num(val(ck, attr), ".2f"), base._num(val(mo, attr), ".2f"),
                          base._ratio(val(ck, attr), val(mo, attr)), "")
        table.add_row("", "[bold]server CPU ms/call ↓[/bold]", base._cpu(ck), base._cpu(mo),
                      base._ratio(val(ck, "server_cpu_ms"), val(mo, "server_cpu_ms")), "")
        table.add_row("", "[dim]client CPU ms/call[/dim]", base._num(val(ck, "client_cpu_ms"), ".3f"),
                      base._num(val(mo, "client_cpu_ms"), ".3f"), "", "", end_section=True)
    console.print(table)
    return all_met


def measure_load(p: Prepared, w: KmsWorkload, calls: int, warmup: int, concurrency: int,
                 settle: float) -> loadgen.LoadResult:
    t = p.target
    return loadgen.run(t.name, w.key, t.pid, t.endpoint, t.key, t.secret, w.json_call(p), calls=calls,
                       warmup=warmup, concurrency=concurrency, settle=settle)


def report_load(results: dict[tuple[str, str, int], loadgen.LoadResult], workloads: list[KmsWorkload],
                levels: list[int], workers: int) -> bool:
    def target(w: KmsWorkload, ck: Any, mo: Any) -> tuple[str, bool | None]:
        if ck is None or mo is None:
            return "", None
        met = ck.per_s >= TARGET_SPEEDUP * mo.per_s
        return f"≥ {TARGET_SPEEDUP:g}× moto {'[green]✓[/green]' if met else '[red]✗[/red]'}", met
    return loadgen.print_load_table(
        f"cloudkeep KMS vs moto KMS — load generator (SigV4-signed HTTP, one kept-alive connection per client "
        f"process); cloudkeep --workers {workers}, moto's threaded server", results, workloads, levels, target)


# --- main ----------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="cloudkeep's KMS vs moto's: sequential boto3 calls/s, latency and "
                                            "server CPU per call. Needs `scripts/_venv bench` once.")
    p.add_argument("--calls", type=int, default=2000, help="timed calls per workload (default 2000)")
    p.add_argument("--warmup", type=int, default=None, help="untimed calls first (default 10%%, at least 20)")
    p.add_argument("--settle", type=float, default=1.5,
                   help="seconds to wait before and after each timed loop, for batched off-path work (default 1.5)")
    p.add_argument("--quick", action="store_true", help="a smoke run: 300 calls, 30 warm-up")
    p.add_argument("--workload", action="append", choices=[w.key for w in WORKLOADS],
                   help="run only this workload (repeatable; default all)")
    p.add_argument("--principal", choices=("root", "user"), default="root",
                   help="cloudkeep's caller: the account's root user (key policy only) or an IAM user whose "
                        "inline policy allows the calls under an encryption-context condition (default root)")
    p.add_argument("--load", default="1,4",
                   help="load-generator client processes, comma-separated levels (default 1,4; 0: skip)")
    p.add_argument("--workers", type=int, default=2, help="cloudkeep worker processes (default 2)")
    p.add_argument("--no-boto3", action="store_true", help="skip the sequential boto3 measurement")
    p.add_argument("--no-moto", action="store_true", help="measure cloudkeep alone")
    p.add_argument("--store", default=None, help="cloudkeep storage URL (default: SQLite in a temp dir)")
    p.add_argument("--json", type=Path, default=None, help="also write the results to this file")
    p.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = p.parse_args(argv)
    if args.quick:
        args.calls = min(args.calls, 300)
        args.warmup = 30 if args.warmup is None else args.warmup
    if args.warmup is None:
        args.warmup = max(20, args.calls // 10)
    if args.calls < 2 or args.warmup < 0:
        p.error("--calls needs at least 2 iterations; --warmup cannot be negative")
    try:
        args.load = [int(v) for v in str(args.load).split(",") if int(v) > 0]
    except ValueError:
        p.error("--load takes comma-separated client counts, e.g. 1,4")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    missing = base.missing_packages(not args.no_moto)
    if missing:
        hint = " (or pass --no-moto)" if set(missing) <= {"moto", "flask", "flask_cors"} else ""
        print(f"benchmark: {', '.join(missing)} not installed in {sys.executable}: run scripts/_venv bench, "
              f"then .venv/bin/python benchmarks/kms.py{hint}", file=sys.stderr)
        return 2
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = _console()
    workloads = [w for w in WORKLOADS if not args.workload or w.key in args.workload]
    env = base.environment()
    console.print(" · ".join(f"{k} {v}" for k, v in env.items()), style="dim")
    targets: list[Target] = []
    prepared: list[Prepared] = []
    results: dict[tuple[str, str], Result] = {}
    load: dict[tuple[str, str, int], loadgen.LoadResult] = {}
    events: dict[str, tuple[int, int]] = {}
    try:
        ck, store_url = start_cloudkeep(args.store, args.workers)
        targets.append(ck)
        if not args.no_moto:
            targets.append(base.start_moto())
        for t in targets:
            key_arn, ciphertext, account = prepare(t, args.principal)
            prepared.append(Prepared(t, key_arn, ciphertext, store_url if t is ck else None, account))
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      refresh_per_second=4, transient=True) as progress:
            for w in workloads if not args.no_boto3 else []:
                for p in prepared:  # interleaved per workload, so drift hits both alike
                    results[(p.target.name, w.key)] = measure(p, w, args.calls, args.warmup, args.settle, progress)
        for w in workloads:
            for c in args.load:
                for p in prepared:
                    console.print(f"[dim]load: {p.target.name} {w.title}, {c} client(s)…[/dim]")
                    load[(p.target.name, w.key, c)] = measure_load(p, w, args.calls, args.warmup, c, args.settle)
        time.sleep(args.settle)  # the last batch of audit records
        events = count_events(prepared[0], [w.operation for w in workloads])
    except KeyboardInterrupt:
        print("benchmark: interrupted", file=sys.stderr)
        return 130
    finally:
        for t in reversed(targets):
            t.stop()
    met = report(results, workloads, args.principal) if results else True
    if load:
        met = report_load(load, workloads, args.load, args.workers) and met
    expected = (0 if args.no_boto3 else args.calls + args.warmup) + sum(
        (args.calls // c) * c + args.warmup * c for c in args.load)
    audit_ok = True
    for w in workloads:
        total, errors = events.get(w.operation, (0, 0))
        ok = total >= expected and errors == 0
        audit_ok &= ok
        console.print(f"cloudkeep CloudTrail records of {w.operation}: {total} ({errors} with an error; "
                      f"≥ {expected} expected) {'[green]✓[/green]' if ok else '[red]✗[/red]'}")
    if args.json:
        args.json.write_text(json.dumps({
            "environment": env, "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "results": [asdict(r) for r in results.values()],
            "load": [asdict(r) for r in load.values()],
            "cloudtrail_records": {k: {"total": v[0], "errors": v[1]} for k, v in events.items()}}, indent=2))
    return 1 if (args.check and not (met and audit_ok)) or not audit_ok else 0


if __name__ == "__main__":
    sys.exit(main())
