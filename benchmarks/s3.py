"""S3 benchmark: cloudkeep's S3 against moto's, same workloads, same run.

    .venv/bin/python benchmarks/s3.py                  # 2000 calls per 1 KiB workload, 10 objects of 64 MiB
    .venv/bin/python benchmarks/s3.py --quick          # 300 calls, 3 large objects, one load level: a smoke run
    .venv/bin/python benchmarks/s3.py --load 1,2,4     # load generator at these concurrencies

Workloads (one bucket per server, made beforehand as the account's root user; cloudkeep's buckets
encrypt with SSE-S3 by default, and the run reports the ``x-amz-server-side-encryption`` each
server answers a PUT with):

- ``put1k``: ``PutObject`` of 1 KiB, a new key every call;
- ``get1k``: ``GetObject`` of a 1 KiB object made beforehand (body checked);
- ``put64m``: ``PutObject`` of 64 MiB, one request (no multipart), the body streamed from a file;
- ``get64m``: ``GetObject`` of a 64 MiB object made beforehand, read in 1 MiB blocks.

Measurements, against both servers in the same run:

1. **boto3, sequential** (1 KiB): what one boto3 user sees, as ``kms.py`` measures it;
2. **load generator** (1 KiB): ``loadgen.run_rest`` client processes signing every request with
   botocore's ``S3SigV4Auth`` (``x-amz-content-sha256: UNSIGNED-PAYLOAD``, or with ``--payload
   signed`` the body's SHA-256) over kept-alive connections, at each concurrency of ``--load``;
3. **large objects** (64 MiB): one such client, sequential: MB/s (MiB of object per second),
   seconds per object, server CPU per MiB. Neither side holds more than a block of the body: the
   client streams it from a temporary file and reads responses in 1 MiB blocks.

cloudkeep runs with ``--workers`` processes (default 2, one per core), moto's server as it ships.
Targets (the issue's): ≥ 3× moto's ops/s on 1 KiB objects; ≥ 2× moto's MB/s on 64 MiB PUT and
≥ 1× on GET, with SSE-S3 on. Until cloudkeep's S3 answers, the cloudkeep side reports why (e.g.
"cloudkeep: S3 not implemented (501 NotImplemented from CreateBucket)") and moto is still measured.

Must not: be collected or run by CI (it is not a test), install anything at run time, or send
traffic anywhere but the loopback address of the servers it starts itself (its loops are bounded).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import secrets
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))

import api_calls as base  # noqa: E402  (the servers, /proc CPU accounting and the timed loop)
import loadgen  # noqa: E402  (the signed-HTTP load generator)
from api_calls import Result, Target, Workload  # noqa: E402
from kms import start_cloudkeep  # noqa: E402  (cloudkeep with --workers N and its store URL)

SMALL = bytes(range(256)) * 4            # 1 KiB
LARGE_MIB = 64
LARGE = LARGE_MIB << 20
TARGET_SMALL = 3.0                       # ≥ 3× moto's ops/s, 1 KiB
TARGET_LARGE = {"put64m": 2.0, "get64m": 1.0}   # × moto's MB/s, 64 MiB


class Unavailable(Exception):
    """The server cannot run this workload (e.g. its S3 answers 501): reported, not measured."""


# --- the servers, with what each workload needs ------------------------------------------------


@dataclass
class Prepared:
    target: Target
    bucket: str
    large_file: str
    large_sha256: str
    sse: str = "none"                    # x-amz-server-side-encryption of a PUT's answer
    unavailable: dict[str, str] = field(default_factory=dict)   # workload → why not


def _why(error: Exception) -> str:
    from botocore.exceptions import ClientError

    if isinstance(error, ClientError):
        meta, err = error.response.get("ResponseMetadata", {}), error.response.get("Error", {})
        status = meta.get("HTTPStatusCode")
        op = getattr(error, "operation_name", "?")
        what = "S3 not implemented" if status == 501 else "S3 refused"
        return f"{what} ({status} {err.get('Code', '')} from {op})"
    return f"{type(error).__name__}: {str(error)[:200]}"


def prepare(t: Target, large_file: str, large_sha256: str) -> Prepared:
    """The bucket, the objects GET reads, and a check of each answer. A server whose S3 does not
    answer gets every workload marked unavailable with the reason."""
    bucket = f"bench-{secrets.token_hex(4)}"
    p = Prepared(t, bucket, large_file, large_sha256)
    s3 = t.client("s3")
    try:
        s3.create_bucket(Bucket=bucket)
        put = s3.put_object(Bucket=bucket, Key="small/get", Body=SMALL)
        p.sse = put.get("ServerSideEncryption", "none")
        if s3.get_object(Bucket=bucket, Key="small/get")["Body"].read() != SMALL:
            raise RuntimeError("GetObject returned another body than was put")
    except Exception as error:  # noqa: BLE001 - any failure to set up is reported per workload
        reason = _why(error)
        p.unavailable = {w.key: reason for w in WORKLOADS}
        return p
    try:  # the large object GET reads, through the load generator's client (streamed)
        loadgen.run_rest(t.name, "setup", t.pid, t.endpoint, t.key, t.secret,
                         _large_put(p, key="large/get"), calls=1, warmup=0, concurrency=1, settle=0)
        head = s3.head_object(Bucket=bucket, Key="large/get")
        if head["ContentLength"] != LARGE:
            raise RuntimeError(f"HeadObject says {head['ContentLength']} bytes, {LARGE} were put")
        digest = hashlib.sha256()
        for chunk in s3.get_object(Bucket=bucket, Key="large/get")["Body"].iter_chunks(loadgen.BLOCK):
            digest.update(chunk)
        if digest.hexdigest() != large_sha256:
            raise RuntimeError("the 64 MiB object came back with other bytes")
    except Exception as error:  # noqa: BLE001
        reason = _why(error)
        p.unavailable.update({"put64m": reason, "get64m": reason})
    return p


# --- workloads -----------------------------------------------------------------------------------


def _boto_put(p: Prepared) -> Callable[[str], None]:
    s3 = p.target.client("s3")
    return lambda tag: s3.put_object(Bucket=p.bucket, Key=f"boto/{tag}", Body=SMALL) and None


def _boto_get(p: Prepared) -> Callable[[str], None]:
    s3 = p.target.client("s3")

    def run(tag: str) -> None:
        if s3.get_object(Bucket=p.bucket, Key="small/get")["Body"].read() != SMALL:
            raise RuntimeError(f"{p.target.name}: GetObject returned another body")
    return run


def _sha(payload: str, body: bytes) -> str:
    return hashlib.sha256(body).hexdigest() if payload == "signed" else loadgen.UNSIGNED_PAYLOAD


EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def _rest_put_small(p: Prepared, payload: str) -> loadgen.RestCall:
    return loadgen.RestCall("PUT", p.bucket, "load/{n}", body=SMALL, payload_sha256=_sha(payload, SMALL))


def _rest_get_small(p: Prepared, payload: str) -> loadgen.RestCall:
    return loadgen.RestCall("GET", p.bucket, "small/get", expect_body=SMALL,
                            payload_sha256=EMPTY_SHA256 if payload == "signed" else loadgen.UNSIGNED_PAYLOAD)


def _large_put(p: Prepared, payload: str = "unsigned", key: str = "large/put") -> loadgen.RestCall:
    sha = p.large_sha256 if payload == "signed" else loadgen.UNSIGNED_PAYLOAD
    return loadgen.RestCall("PUT", p.bucket, key, body_file=p.large_file, payload_sha256=sha)


def _large_get(p: Prepared, payload: str = "unsigned") -> loadgen.RestCall:
    return loadgen.RestCall("GET", p.bucket, "large/get", expect_length=LARGE,
                            payload_sha256=EMPTY_SHA256 if payload == "signed" else loadgen.UNSIGNED_PAYLOAD)


@dataclass(frozen=True, slots=True)
class S3Workload:
    key: str
    title: str
    boto: Callable[[Prepared], Callable[[str], None]] | None
    rest: Callable[[Prepared, str], loadgen.RestCall]
    large: bool = False


WORKLOADS: tuple[S3Workload, ...] = (
    S3Workload("put1k", "s3:PutObject 1 KiB", _boto_put, _rest_put_small),
    S3Workload("get1k", "s3:GetObject 1 KiB", _boto_get, _rest_get_small),
    S3Workload("put64m", f"s3:PutObject {LARGE_MIB} MiB", None, _large_put, large=True),
    S3Workload("get64m", f"s3:GetObject {LARGE_MIB} MiB", None, _large_get, large=True),
)


def measure(p: Prepared, w: S3Workload, n: int, warmup: int, settle: float, progress: Any) -> Result:
    assert w.boto is not None
    shim = Workload(w.key, w.title, "call", lambda a: n, lambda t: w.boto(p))  # type: ignore[misc]
    return base.measure(p.target, shim, n, warmup, settle, progress)


def measure_rest(p: Prepared, w: S3Workload, payload: str, calls: int, warmup: int, concurrency: int,
                 settle: float) -> loadgen.LoadResult:
    t = p.target
    return loadgen.run_rest(t.name, w.key, t.pid, t.endpoint, t.key, t.secret, w.rest(p, payload), calls=calls,
                            warmup=warmup, concurrency=concurrency, settle=settle)


#: the key suffix of a workload's interleaved blocks signed ahead (``--sign-ahead``)
AHEAD = "+signed-ahead"


@dataclass(frozen=True)
class Interleaved:
    """One client's blocks to cloudkeep and to moto in turn: the wall seconds of each cycle's two
    blocks, (cloudkeep, moto), and the calls in a block."""

    pairs: list[tuple[float, float]]
    block: int


def measure_interleaved(ck: Prepared, mo: Prepared, w: S3Workload, payload: str, cycles: int, block: int,
                        warmup: int, *, sign_ahead: bool = False) -> Interleaved:
    """``cycles`` cycles of ``block`` calls to each server from this process, one kept-alive
    connection each, the order alternating; each block's wall time. The two servers are never
    busy at once, and a change of the machine's speed touches both sides of a cycle. With
    ``sign_ahead`` each block's requests are signed before its timer starts (``presign``): the
    block's time is then the servers' and the connection's, less the client's SigV4 signing."""
    sends = {p.target.name: loadgen.rest_sender(p.target.endpoint, p.target.key, p.target.secret,
                                                w.rest(p, payload), tag=f"i{os.getpid()}")
             for p in (ck, mo)}
    counter = 0
    for name in sends:
        for _ in range(warmup):
            sends[name](counter)
            counter += 1
    pairs: list[tuple[float, float]] = []
    for cycle in range(cycles):
        walls: dict[str, float] = {}
        for name in (("cloudkeep", "moto") if cycle % 2 == 0 else ("moto", "cloudkeep")):
            send = sends[name]
            if sign_ahead:
                send.presign(range(counter, counter + block))  # type: ignore[attr-defined]
            started = time.perf_counter()
            for _ in range(block):
                send(counter)
                counter += 1
            walls[name] = time.perf_counter() - started
        pairs.append((walls["cloudkeep"], walls["moto"]))
    return Interleaved(pairs, block)


def report_interleaved(results: dict[str, Interleaved], workloads: list[S3Workload], factors: dict[str, float]
                       ) -> bool:
    """cloudkeep's throughput ÷ moto's (Σ moto wall ÷ Σ cloudkeep wall, the same calls on both)
    with its bootstrap 95% interval; "met" when the whole interval is at or over the target."""
    from rich.table import Table

    table = Table(title="One client, interleaved blocks: cloudkeep against moto over alternating blocks",
                  caption="ratio = Σ moto wall ÷ Σ cloudkeep wall over the cycles (the same calls on both); "
                          "95% interval by resampling the cycles")
    for col in ("workload", "cycles × block", "cloudkeep", "moto", "ratio", "95% interval", "target"):
        table.add_column(col, justify="left" if col == "workload" else "right")
    met = True
    rows = [(w, key, title) for w in workloads
            for key, title in ((w.key, w.title), (w.key + AHEAD, f"{w.title}, signed ahead"))]
    for w, key, title in rows:
        r = results.get(key)
        if r is None:
            continue
        ratio, low, high = loadgen.ratio_interval([(m, c) for c, m in r.pairs])
        calls = len(r.pairs) * r.block
        ck_rate = calls / sum(c for c, _ in r.pairs)
        mo_rate = calls / sum(m for _, m in r.pairs)
        unit, scale = ("MB/s", LARGE_MIB) if w.large else ("calls/s", 1)
        factor = factors[w.key]
        verdict = "met" if low >= factor else "missed" if high < factor else "noise"
        if key == w.key:          # the rows signed ahead inform; the verdict is the client's own
            met &= verdict == "met"
        table.add_row(title, f"{len(r.pairs)} × {r.block}", f"{ck_rate * scale:.0f} {unit}",
                      f"{mo_rate * scale:.0f} {unit}", f"{ratio:.2f}×", f"{low:.2f}× … {high:.2f}×",
                      {"met": f"[green]≥ {factor:g}× met[/green]", "missed": f"[red]≥ {factor:g}× missed[/red]"}.get(
                          verdict, f"[yellow]≥ {factor:g}×: the interval straddles it[/yellow]"))
    _console().print(table)
    return met


# --- report --------------------------------------------------------------------------------------


_console = base.console


def _mark(met: bool) -> str:
    return "[green]✓[/green]" if met else "[red]✗[/red]"


def _target_cell(ck: Any, mo: Any, factor: float, attr: str, why_not: str | None) -> tuple[str, bool | None]:
    if ck is not None and mo is not None:
        met = getattr(ck, attr) >= factor * getattr(mo, attr)
        return f"≥ {factor:g}× moto {_mark(met)}", met
    if why_not:
        return f"≥ {factor:g}× moto [yellow]— cloudkeep: {why_not}[/yellow]", None
    return f"≥ {factor:g}× moto", None


def report_boto(results: dict[tuple[str, str], Result], workloads: list[S3Workload], why_not: dict[str, str],
                sse: dict[str, str]) -> bool:
    from rich.table import Table

    console = _console()
    table = Table(title="cloudkeep S3 vs moto S3 — sequential boto3 calls, 1 KiB objects",
                  caption=f"SSE on PUT: {', '.join(f'{k} {v}' for k, v in sse.items())}; server CPU = utime+stime of "
                          f"the server process tree (/proc) ÷ calls (~: from fewer than {base.COARSE_TICKS} ticks)")
    for col, justify in (("workload", "left"), ("metric", "left"), ("cloudkeep", "right"), ("moto", "right"),
                         ("cloudkeep/moto", "right"), ("target", "left")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    all_met = True
    for w in workloads:
        ck, mo = results.get(("cloudkeep", w.key)), results.get(("moto", w.key))

        def val(r: Result | None, attr: str) -> float | None:
            return None if r is None else getattr(r, attr)

        target, met = _target_cell(ck, mo, TARGET_SMALL, "per_s", why_not.get(w.key))
        all_met &= bool(met)
        n = (ck or mo).iterations if (ck or mo) else 0
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


def _cpu_load(r: loadgen.LoadResult | None, per: float = 1.0) -> str:
    if r is None:
        return "—"
    return ("~" if r.server_cpu_ticks < base.COARSE_TICKS else "") + f"{r.server_cpu_ms / per:.3f}"


def report_load(results: dict[tuple[str, str, int], loadgen.LoadResult], workloads: list[S3Workload],
                levels: list[int], workers: int, payload: str, why_not: dict[str, str]) -> bool:
    return loadgen.print_load_table(
        f"cloudkeep S3 vs moto S3 — load generator, 1 KiB objects (S3SigV4-signed HTTP, x-amz-content-sha256 "
        f"{'SHA-256 of the body' if payload == 'signed' else 'UNSIGNED-PAYLOAD'}); cloudkeep --workers {workers}, "
        f"moto's threaded server", results, workloads, levels,
        lambda w, ck, mo: _judged(_target_cell(ck, mo, TARGET_SMALL, "per_s", why_not.get(w.key))))


def _judged(cell: tuple[str, bool | None]) -> tuple[str, bool]:
    """A target that could not be measured (cloudkeep's side failed) counts as missed."""
    return cell[0], bool(cell[1])


def report_large(results: dict[tuple[str, str], loadgen.LoadResult], workloads: list[S3Workload], payload: str,
                 why_not: dict[str, str], sse: dict[str, str]) -> bool:
    from rich.table import Table

    console = _console()
    table = Table(title=f"cloudkeep S3 vs moto S3 — {LARGE_MIB} MiB objects, one client, sequential (single PUT, "
                        f"body streamed; x-amz-content-sha256 "
                        f"{'SHA-256 of the body' if payload == 'signed' else 'UNSIGNED-PAYLOAD'})",
                  caption=f"MB/s = MiB of object ÷ seconds; SSE on PUT: {', '.join(f'{k} {v}' for k, v in sse.items())}")
    for col, justify in (("workload", "left"), ("metric", "left"), ("cloudkeep", "right"), ("moto", "right"),
                         ("cloudkeep/moto", "right"), ("target", "left")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    all_met = True
    for w in workloads:
        ck, mo = results.get(("cloudkeep", w.key)), results.get(("moto", w.key))
        mbs = {k: (None if r is None else r.per_s * LARGE_MIB) for k, r in (("ck", ck), ("mo", mo))}
        if ck is not None and mo is not None:
            met = mbs["ck"] >= TARGET_LARGE[w.key] * mbs["mo"]  # type: ignore[operator]
            all_met &= met
            target = f"≥ {TARGET_LARGE[w.key]:g}× moto {_mark(met)}"
        else:
            all_met = False
            why = why_not.get(w.key)
            target = f"≥ {TARGET_LARGE[w.key]:g}× moto" + (f" [yellow]— cloudkeep: {why}[/yellow]" if why else "")
        n = (ck or mo).calls if (ck or mo) else 0
        table.add_row(f"{w.title}\n[dim]{n} objects[/dim]", "MB/s ↑", base._num(mbs["ck"], ".0f"),
                      base._num(mbs["mo"], ".0f"), base._ratio(mbs["ck"], mbs["mo"]), target)
        sec = {k: (None if r is None else r.p50_ms / 1000) for k, r in (("ck", ck), ("mo", mo))}
        table.add_row("", "p50 s/object ↓", base._num(sec["ck"], ".2f"), base._num(sec["mo"], ".2f"),
                      base._ratio(sec["ck"], sec["mo"]), "")
        table.add_row("", "[bold]server CPU ms/MiB ↓[/bold]", _cpu_load(ck, LARGE_MIB), _cpu_load(mo, LARGE_MIB),
                      base._ratio(None if ck is None else ck.server_cpu_ms, None if mo is None else mo.server_cpu_ms),
                      "", end_section=True)
    console.print(table)
    return all_met


# --- main ----------------------------------------------------------------------------------------


def _order(prepared: list[Any], round_index: int) -> list[Any]:
    """The servers in the order of this round: alternated, so that a drift of the machine
    (memory reclaim, a neighbour's load) falls on both alike."""
    return list(prepared) if round_index % 2 == 0 else list(reversed(prepared))


def _round_text(round_index: int, rounds: int) -> str:
    return f", round {round_index + 1}/{rounds}" if rounds > 1 else ""


_ROUND_RATES: dict[int, list[float]] = {}


def _median_round(results: list[loadgen.LoadResult]) -> loadgen.LoadResult:
    """The round whose rate is the median of the rounds (the lower middle one of an even
    count), so that every figure reported comes from one real round."""
    ordered = sorted(results, key=lambda r: r.per_s)
    chosen = ordered[(len(ordered) - 1) // 2]
    _ROUND_RATES[id(chosen)] = [r.per_s for r in results]
    return chosen


def _print_rounds(console: Any, load: dict, big: dict, rounds: int) -> None:
    """Each round's rate, per server and measurement (the tables give the median round's)."""
    console.print(f"[dim]rates of the {rounds} rounds (calls/s; 64 MiB: objects/s × {LARGE_MIB} = MB/s):[/dim]")
    for key, r in sorted({**load, **big}.items(), key=lambda kv: tuple(str(x) for x in kv[0])):
        rates = _ROUND_RATES.get(id(r), [r.per_s])
        scale = LARGE_MIB if len(key) == 2 else 1
        console.print(f"[dim]  {' '.join(str(x) for x in key)}: "
                      f"{' '.join(f'{v * scale:.0f}' for v in rates)}[/dim]")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="cloudkeep's S3 vs moto's: 1 KiB ops/s, latency and server CPU per "
                                            "call; 64 MiB MB/s. Needs `scripts/_venv bench` once.")
    p.add_argument("--calls", type=int, default=2000, help="timed calls per 1 KiB workload (default 2000)")
    p.add_argument("--warmup", type=int, default=None, help="untimed calls first (default 10%%, at least 20)")
    p.add_argument("--large", type=int, default=10, help=f"timed {LARGE_MIB} MiB objects per direction (default 10)")
    p.add_argument("--settle", type=float, default=1.5,
                   help="seconds to wait before and after each timed loop, for batched off-path work (default 1.5)")
    p.add_argument("--quick", action="store_true", help="a smoke run: 300 calls, 30 warm-up, 3 large objects, "
                                                        "load level 1")
    p.add_argument("--workload", action="append", choices=[w.key for w in WORKLOADS],
                   help="run only this workload (repeatable; default all)")
    p.add_argument("--load", default=None, help="load-generator client processes for 1 KiB, comma-separated levels "
                                                "(default 1,4; --quick 1; 0: skip)")
    p.add_argument("--payload", choices=("unsigned", "signed"), default="unsigned",
                   help="the load generator's x-amz-content-sha256: UNSIGNED-PAYLOAD or the body's SHA-256 "
                        "(default unsigned)")
    p.add_argument("--workers", type=int, default=2, help="cloudkeep worker processes (default 2)")
    p.add_argument("--rounds", type=int, default=1,
                   help="repeat each load-generator and 64 MiB measurement, the servers' order alternating "
                        "from round to round; the tables give each server's median round (default 1)")
    p.add_argument("--interleave", type=int, default=0, metavar="CYCLES",
                   help="also measure one client against both servers in alternating blocks, CYCLES cycles per "
                        "workload (block: --block calls of 1 KiB, one 64 MiB object); the verdict is then its "
                        "interval's (default 0: off)")
    p.add_argument("--block", type=int, default=100, help="1 KiB calls per interleaved block (default 100)")
    p.add_argument("--sign-ahead", action="store_true",
                   help="with --interleave: measure the 1 KiB workloads a second time with each block's requests "
                        "signed before its timer starts (the client's signing out of the time; informative rows, "
                        "not part of the verdict)")
    p.add_argument("--only-interleaved", action="store_true",
                   help="with --interleave: skip the boto3, load-generator and 64 MiB rounds")
    p.add_argument("--no-boto3", action="store_true", help="skip the sequential boto3 measurement")
    p.add_argument("--no-moto", action="store_true", help="measure cloudkeep alone")
    p.add_argument("--store", default=None, help="cloudkeep storage URL (default: SQLite in a temp dir)")
    p.add_argument("--json", type=Path, default=None, help="also write the results to this file")
    p.add_argument("--check", action="store_true", help="exit 1 when a target is missed (or cannot be measured)")
    args = p.parse_args(argv)
    if args.quick:
        args.calls = min(args.calls, 300)
        args.warmup = 30 if args.warmup is None else args.warmup
        args.large = min(args.large, 3)
        args.load = "1" if args.load is None else args.load
    if args.warmup is None:
        args.warmup = max(20, args.calls // 10)
    if args.sign_ahead and args.interleave < 2:
        p.error("--sign-ahead needs --interleave CYCLES (at least 2)")
    if args.only_interleaved:
        if args.interleave < 2:
            p.error("--only-interleaved needs --interleave CYCLES (at least 2)")
        args.no_boto3, args.load = True, "0"
    if args.calls < 2 or args.warmup < 0 or args.large < 1 or args.rounds < 1:
        p.error("--calls needs at least 2 iterations, --large and --rounds at least 1; --warmup cannot be negative")
    try:
        args.load = [int(v) for v in str(args.load or "1,4").split(",") if int(v) > 0]
    except ValueError:
        p.error("--load takes comma-separated client counts, e.g. 1,4")
    return args


def _large_file(directory: str) -> tuple[str, str]:
    """A 64 MiB file of random bytes (incompressible), written in 1 MiB blocks, and its SHA-256."""
    path = os.path.join(directory, "large.bin")
    digest = hashlib.sha256()
    with open(path, "wb") as f:
        for _ in range(LARGE_MIB):
            block = os.urandom(loadgen.BLOCK)
            digest.update(block)
            f.write(block)
    return path, digest.hexdigest()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    missing = base.missing_packages(not args.no_moto)
    if missing:
        hint = " (or pass --no-moto)" if set(missing) <= {"moto", "flask", "flask_cors"} else ""
        print(f"benchmark: {', '.join(missing)} not installed in {sys.executable}: run scripts/_venv bench, "
              f"then .venv/bin/python benchmarks/s3.py{hint}", file=sys.stderr)
        return 2
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = _console()
    workloads = [w for w in WORKLOADS if not args.workload or w.key in args.workload]
    small = [w for w in workloads if not w.large]
    large = [w for w in workloads if w.large]
    env = base.environment()
    console.print(" · ".join(f"{k} {v}" for k, v in env.items()), style="dim")
    targets: list[Target] = []
    prepared: list[Prepared] = []
    results: dict[tuple[str, str], Result] = {}
    load: dict[tuple[str, str, int], loadgen.LoadResult] = {}
    big: dict[tuple[str, str], loadgen.LoadResult] = {}
    why_not: dict[str, str] = {}          # workload → why cloudkeep has no figure
    interleaved: dict[str, Interleaved] = {}
    scratch = tempfile.TemporaryDirectory(prefix="s3bench-")
    try:
        large_file, large_sha = _large_file(scratch.name)
        ck, _ = start_cloudkeep(args.store, args.workers)
        targets.append(ck)
        if not args.no_moto:
            targets.append(base.start_moto())
        for t in targets:
            p = prepare(t, large_file, large_sha)
            prepared.append(p)
            reasons = sorted(set(p.unavailable.values()))
            for r in reasons:
                console.print(f"[yellow]{t.name}: {r}[/yellow] — its figures are left out")
            if t.name == "cloudkeep":
                why_not.update(p.unavailable)

        def runnable(p: Prepared, w: S3Workload) -> bool:
            return w.key not in p.unavailable

        def attempt(p: Prepared, w: S3Workload, fn: Callable[[], Any]) -> Any:
            try:
                return fn()
            except Exception as error:  # noqa: BLE001 - one workload failing does not stop the others
                p.unavailable[w.key] = _why(error)
                if p.target.name == "cloudkeep":
                    why_not[w.key] = p.unavailable[w.key]
                console.print(f"[yellow]{p.target.name} {w.title}: {p.unavailable[w.key]}[/yellow]")
                return None

        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      refresh_per_second=4, transient=True) as progress:
            for w in small if not args.no_boto3 else []:
                for p in prepared:  # interleaved per workload, so drift hits both alike
                    if runnable(p, w):
                        r = attempt(p, w, lambda: measure(p, w, args.calls, args.warmup, args.settle, progress))
                        if r is not None:
                            results[(p.target.name, w.key)] = r
        rounds: dict[tuple, list[loadgen.LoadResult]] = {}
        for w in small:
            for c in args.load:
                for n in range(args.rounds):
                    for p in _order(prepared, n):
                        if runnable(p, w):
                            console.print(f"[dim]load: {p.target.name} {w.title}, {c} client(s)"
                                          f"{_round_text(n, args.rounds)}…[/dim]")
                            r = attempt(p, w, lambda: measure_rest(p, w, args.payload, args.calls, args.warmup, c,
                                                                   args.settle))
                            if r is not None:
                                rounds.setdefault((p.target.name, w.key, c), []).append(r)
        load.update({k: _median_round(v) for k, v in rounds.items()})
        rounds = {}
        for w in large if not args.only_interleaved else []:
            for n in range(args.rounds):
                for p in _order(prepared, n):
                    if runnable(p, w):
                        console.print(f"[dim]large: {p.target.name} {w.title} × {args.large}"
                                      f"{_round_text(n, args.rounds)}…[/dim]")
                        r = attempt(p, w, lambda: measure_rest(p, w, args.payload, args.large, 1, 1, args.settle))
                        if r is not None:
                            rounds.setdefault((p.target.name, w.key), []).append(r)
        big.update({k: _median_round(v) for k, v in rounds.items()})
        if args.rounds > 1 and not args.only_interleaved:
            _print_rounds(console, load, big, args.rounds)
        if args.interleave and len(prepared) == 2:
            ck_p, mo_p = prepared
            for w in workloads:
                if runnable(ck_p, w) and runnable(mo_p, w):
                    console.print(f"[dim]interleaved: {w.title}, {args.interleave} cycles…[/dim]")
                    r = attempt(ck_p, w, lambda: measure_interleaved(
                        ck_p, mo_p, w, args.payload, args.interleave, 1 if w.large else args.block,
                        1 if w.large else args.warmup))
                    if r is not None:
                        interleaved[w.key] = r
                    if args.sign_ahead and not w.large:
                        console.print(f"[dim]interleaved: {w.title}, signed ahead, {args.interleave} cycles…[/dim]")
                        r = attempt(ck_p, w, lambda: measure_interleaved(
                            ck_p, mo_p, w, args.payload, args.interleave, args.block, args.warmup, sign_ahead=True))
                        if r is not None:
                            interleaved[w.key + AHEAD] = r
    except KeyboardInterrupt:
        print("benchmark: interrupted", file=sys.stderr)
        return 130
    finally:
        for t in reversed(targets):
            t.stop()
        scratch.cleanup()
    sse = {p.target.name: p.sse for p in prepared}
    met = True
    if small and not args.no_boto3:
        met = report_boto(results, small, why_not, sse) and met
    if small and args.load:
        met = report_load(load, small, args.load, args.workers, args.payload, why_not) and met
    if large and not args.only_interleaved:
        met = report_large(big, large, args.payload, why_not, sse) and met
    if interleaved:
        factors = {w.key: TARGET_LARGE[w.key] if w.large else TARGET_SMALL for w in workloads}
        met = report_interleaved(interleaved, workloads, factors)     # the verdict, when measured
    if "cloudkeep" in sse and sse["cloudkeep"] != "AES256" and not why_not:
        console.print(f"[red]cloudkeep answered PutObject with SSE {sse['cloudkeep']!r}, not AES256 "
                      "(SSE-S3 by default)[/red]")
        met = False
    for p in prepared:
        if p.unavailable:
            for w, why in p.unavailable.items():
                console.print(f"{p.target.name} {w}: {why}", highlight=False)
    if args.json:
        args.json.write_text(json.dumps({
            "environment": env, "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "sse": sse, "unavailable": {p.target.name: p.unavailable for p in prepared},
            "boto3": [asdict(r) for r in results.values()],
            "load": [asdict(r) for r in load.values()],
            "large": [asdict(r) | {"mb_per_s": r.per_s * LARGE_MIB} for r in big.values()],
            "interleaved": {key: asdict(r) for key, r in interleaved.items()}}, indent=2))
    return 1 if args.check and not met else 0


if __name__ == "__main__":
    sys.exit(main())
