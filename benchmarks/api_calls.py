"""API-call benchmark: cloudkeep's server against moto's server, same workloads, same run.

    .venv/bin/python benchmarks/api_calls.py            # 2000 calls per read, 500 create/delete pairs
    .venv/bin/python benchmarks/api_calls.py --quick    # a smoke run in well under a minute

Each workload runs sequentially with one boto3 client per service (keep-alive, no retries) against
each server in turn: first a warm-up, then N timed iterations. For every workload it prints
calls/s, p50 and p99 client-side latency, and the main figure: the *server process's* CPU time per
call (utime+stime of the server and its descendants, from /proc/<pid>/stat, read before and after
the timed iterations, each read after a short settle so that work the server does off the request
path — cloudkeep's batched audit and key-use writes — is counted with the calls that caused it).

Must not: be collected or run by CI (it is not a test), install anything at run time, or send
traffic anywhere but the loopback address of the servers it starts itself (its loops are bounded).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

HOST = "127.0.0.1"
CLK_TCK = os.sysconf("SC_CLK_TCK")

#: the issue's targets: cloudkeep's server CPU per GetCallerIdentity, and its calls/s against moto's
TARGET_GCI_CPU_MS = 0.5
TARGET_SPEEDUP = 3.0


# --- server CPU from /proc ----------------------------------------------------------------------


def _stat(pid: int) -> tuple[int, int] | None:
    """(ppid, utime+stime+cutime+cstime in ticks) of one process, or None when it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (field 2) is in parentheses and may itself contain spaces or parentheses
    rest = raw[raw.rindex(")") + 2:].split()
    ppid = int(rest[1])
    utime, stime, cutime, cstime = (int(v) for v in rest[11:15])
    return ppid, utime + stime + cutime + cstime


def _processes() -> dict[int, tuple[int, int]]:
    """Every live process: pid → (ppid, utime+stime+cutime+cstime in ticks)."""
    out: dict[int, tuple[int, int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            st = _stat(int(entry.name))
            if st is not None:
                out[int(entry.name)] = st
    return out


def process_tree(pid: int, processes: dict[int, tuple[int, int]] | None = None) -> set[int]:
    """``pid`` and all its live descendants (empty when ``pid`` is gone)."""
    processes = _processes() if processes is None else processes
    if pid not in processes:
        return set()
    tree, frontier = {pid}, [pid]
    while frontier:
        p = frontier.pop()
        for child, (parent, _) in processes.items():
            if parent == p and child not in tree:
                tree.add(child)
                frontier.append(child)
    return tree


def server_cpu_seconds(pid: int) -> float:
    """CPU seconds used so far by ``pid`` and all its live descendants (and their reaped children)."""
    processes = _processes()
    tree = process_tree(pid, processes)
    if not tree:
        raise RuntimeError(f"server process {pid} is gone")
    return sum(processes[p][1] for p in tree) / CLK_TCK


# --- the servers ---------------------------------------------------------------------------------


def _client(endpoint: str, service: str, key: str, secret: str) -> Any:
    import boto3
    from botocore.config import Config

    cfg = Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=5, read_timeout=30,
                 max_pool_connections=1)
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=key,
                        aws_secret_access_key=secret, config=cfg)


@dataclass
class Target:
    """One running server and the clients that talk to it."""

    name: str
    pid: int
    endpoint: str
    key: str
    secret: str
    stop: Callable[[], None]
    clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        if service not in self.clients:
            self.clients[service] = _client(self.endpoint, service, self.key, self.secret)
        return self.clients[service]


def start_cloudkeep(store_url: str | None, *, env: dict[str, str] | None = None, name: str = "cloudkeep") -> Target:
    """A cloudkeep server (test hooks off) with its first root credentials, as a Target."""
    from cloudkeep.testing.server import CloudkeepServer

    server = CloudkeepServer(test_hooks=False, store_url=store_url, **({"env": env} if env is not None else {}))
    server.start()
    assert server.process is not None
    if server.root is None:
        server.stop()
        server.cleanup()
        raise RuntimeError("cloudkeep wrote no root-credentials.json")

    def stop() -> None:
        server.stop()
        server.cleanup()

    return Target(name, server.process.pid, server.endpoint, server.root.access_key_id,
                  server.root.secret_access_key, stop)


def wait_until_up(url: str, proc: subprocess.Popen, log: Any, timeout: float, name: str) -> None:
    """Until ``url`` answers (any HTTP status); RuntimeError with the server's output if the
    process exits first, or after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"{name} exited with {proc.returncode}:\n{log.read().decode(errors='replace')}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except urllib.error.HTTPError:
            return  # it answers: up
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{name} did not start in {timeout}s")


def start_moto(timeout: float = 60.0) -> Target:
    from cloudkeep.testing.server import free_port

    port = free_port(HOST)
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(port)],
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    endpoint = f"http://{HOST}:{port}"

    def stop() -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()

    try:
        wait_until_up(endpoint + "/moto-api/", proc, log, timeout, "moto's server")
    except RuntimeError:
        stop()
        raise
    # moto checks no signature: any key works
    return Target("moto", proc.pid, endpoint, "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", stop)


# --- workloads -----------------------------------------------------------------------------------

EXISTING_USER = "bench-existing"


@dataclass(frozen=True, slots=True)
class Workload:
    key: str
    title: str
    unit: str                                           # what one iteration is
    iterations: Callable[[argparse.Namespace], int]
    make: Callable[[Target], Callable[[str], None]]     # target → one iteration, given a unique tag


def _gci(t: Target) -> Callable[[str], None]:
    sts = t.client("sts")
    return lambda tag: sts.get_caller_identity() and None


def _get_user(t: Target) -> Callable[[str], None]:
    iam = t.client("iam")
    return lambda tag: iam.get_user(UserName=EXISTING_USER) and None


def _create_delete(t: Target) -> Callable[[str], None]:
    iam = t.client("iam")

    def run(tag: str) -> None:
        iam.create_user(UserName=f"bench-{tag}")
        iam.delete_user(UserName=f"bench-{tag}")
    return run


WORKLOADS: tuple[Workload, ...] = (
    Workload("gci", "sts:GetCallerIdentity", "call", lambda a: a.calls, _gci),
    Workload("getuser", "iam:GetUser", "call", lambda a: a.calls, _get_user),
    Workload("createdelete", "iam:CreateUser+DeleteUser", "pair", lambda a: a.pairs, _create_delete),
)


def prepare(t: Target) -> None:
    """Fixtures and a sanity check, so the timed loops measure answers, not errors."""
    ident = t.client("sts").get_caller_identity()
    if not ident.get("Account"):
        raise RuntimeError(f"{t.name}: GetCallerIdentity returned no account: {ident}")
    t.client("iam").create_user(UserName=EXISTING_USER)
    got = t.client("iam").get_user(UserName=EXISTING_USER)["User"]["UserName"]
    if got != EXISTING_USER:
        raise RuntimeError(f"{t.name}: GetUser returned {got!r}")


# --- measuring -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Result:
    target: str
    workload: str
    iterations: int
    wall_s: float
    per_s: float
    p50_ms: float
    p99_ms: float
    server_cpu_ms: float       # per iteration
    server_cpu_ticks: int      # what it was measured from: below ~100 ticks it is coarse
    client_cpu_ms: float       # per iteration: the benchmark process (boto3) itself


def measure(t: Target, w: Workload, n: int, warmup: int, settle: float, progress: Any) -> Result:
    run = w.make(t)
    task = progress.add_task(f"{t.name:9} {w.title}", total=warmup + n)
    for i in range(warmup):
        run(f"w{i}")
        progress.advance(task)
    time.sleep(settle)
    cpu0, client0 = server_cpu_seconds(t.pid), time.process_time()
    latencies: list[int] = []
    t0 = time.perf_counter()
    for i in range(n):
        s = time.perf_counter_ns()
        run(f"r{i}")
        latencies.append(time.perf_counter_ns() - s)
        if i % 50 == 49:
            progress.advance(task, 50)
    wall = time.perf_counter() - t0
    client_cpu = time.process_time() - client0
    time.sleep(settle)
    cpu = server_cpu_seconds(t.pid) - cpu0
    progress.update(task, completed=warmup + n)
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return Result(t.name, w.key, n, wall, n / wall, cuts[49] / 1e6, cuts[98] / 1e6,
                  cpu * 1000 / n, round(cpu * CLK_TCK), client_cpu * 1000 / n)


# --- report --------------------------------------------------------------------------------------


def _ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b == 0:
        return "—"
    return f"{a / b:.2f}×"


def _num(v: float | None, fmt: str) -> str:
    return "—" if v is None else format(v, fmt)


COARSE_TICKS = 100


def console() -> Any:
    """A rich console that does not fold the tables when the output is piped."""
    from rich.console import Console

    out = Console()
    return out if out.is_terminal else Console(width=max(out.width, 120))


def _cpu(r: Result | None) -> str:
    if r is None:
        return "—"
    return ("~" if r.server_cpu_ticks < COARSE_TICKS else "") + f"{r.server_cpu_ms:.3f}"


def report(results: dict[tuple[str, str], Result], workloads: list[Workload], args: argparse.Namespace) -> bool:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not console.is_terminal:  # piped into a file: do not fold the table to 80 columns
        console = Console(width=max(console.width, 120))
    tick_ms = 1000 / CLK_TCK
    table = Table(title="cloudkeep vs moto server — sequential boto3 calls",
                  caption=f"server CPU = utime+stime of the server process tree (/proc, {tick_ms:g} ms ticks) "
                          f"÷ iterations (~: from fewer than {COARSE_TICKS} ticks, coarse); "
                          f"↑ higher is better, ↓ lower is better",
                  show_lines=False)
    for col, justify in (("workload", "left"), ("metric", "left"), ("cloudkeep", "right"),
                         ("moto", "right"), ("cloudkeep/moto", "right"), ("target", "left")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    all_met = True
    for w in workloads:
        ck, mo = results.get(("cloudkeep", w.key)), results.get(("moto", w.key))
        n = (ck or mo).iterations if (ck or mo) else 0
        label = f"{w.title}\n[dim]{n} {w.unit}s[/dim]"

        def val(r: Result | None, attr: str) -> float | None:
            return None if r is None else getattr(r, attr)

        speed = _ratio(val(ck, "per_s"), val(mo, "per_s"))
        target = ""
        if ck is not None and mo is not None:
            met = ck.per_s >= TARGET_SPEEDUP * mo.per_s
            all_met &= met
            target = f"≥ {TARGET_SPEEDUP:g}× moto {'[green]✓[/green]' if met else '[red]✗[/red]'}"
        table.add_row(label, f"{w.unit}s/s ↑", _num(val(ck, "per_s"), ".0f"), _num(val(mo, "per_s"), ".0f"),
                      speed, target)
        table.add_row("", "p50 latency ms ↓", _num(val(ck, "p50_ms"), ".2f"), _num(val(mo, "p50_ms"), ".2f"),
                      _ratio(val(ck, "p50_ms"), val(mo, "p50_ms")), "")
        table.add_row("", "p99 latency ms ↓", _num(val(ck, "p99_ms"), ".2f"), _num(val(mo, "p99_ms"), ".2f"),
                      _ratio(val(ck, "p99_ms"), val(mo, "p99_ms")), "")
        cpu_target = ""
        if w.key == "gci" and ck is not None:
            met = ck.server_cpu_ms <= TARGET_GCI_CPU_MS
            all_met &= met
            cpu_target = f"≤ {TARGET_GCI_CPU_MS:g} ms {'[green]✓[/green]' if met else '[red]✗[/red]'}"
        table.add_row("", f"[bold]server CPU ms/{w.unit} ↓[/bold]", _cpu(ck), _cpu(mo),
                      _ratio(val(ck, "server_cpu_ms"), val(mo, "server_cpu_ms")), cpu_target)
        table.add_row("", f"[dim]client CPU ms/{w.unit}[/dim]", _num(val(ck, "client_cpu_ms"), ".3f"),
                      _num(val(mo, "client_cpu_ms"), ".3f"), "", "", end_section=True)
    console.print(table)
    return all_met


def environment() -> dict[str, str]:
    def version(dist: str) -> str:
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            return "—"
    return {"python": platform.python_version(), "machine": f"{platform.machine()}, {os.cpu_count()} cpus",
            "cloudkeep": version("cloudkeep"), "moto": version("moto"), "botocore": version("botocore"),
            "uvicorn": version("uvicorn"), "werkzeug": version("werkzeug")}


# --- main ----------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="cloudkeep vs moto's server: sequential boto3 calls/s, latency and "
                                            "server CPU per call. Needs `scripts/_venv bench` once.")
    p.add_argument("--calls", type=int, default=2000, help="timed calls per read workload (default 2000)")
    p.add_argument("--pairs", type=int, default=None,
                   help="timed CreateUser+DeleteUser pairs (default: a quarter of --calls, 500)")
    p.add_argument("--warmup", type=int, default=None, help="untimed iterations first (default 10%%, at least 20)")
    p.add_argument("--settle", type=float, default=1.5,
                   help="seconds to wait before and after each timed loop, for batched off-path work (default 1.5)")
    p.add_argument("--quick", action="store_true", help="a smoke run: 300 calls, 75 pairs, 30 warm-up")
    p.add_argument("--workload", action="append", choices=[w.key for w in WORKLOADS],
                   help="run only this workload (repeatable; default all)")
    p.add_argument("--no-moto", action="store_true", help="measure cloudkeep alone")
    p.add_argument("--store", default=None, help="cloudkeep storage URL (default: SQLite in a temp dir)")
    p.add_argument("--json", type=Path, default=None, help="also write the results to this file")
    p.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = p.parse_args(argv)
    if args.quick:
        args.calls = min(args.calls, 300)
        args.pairs = min(args.pairs or 75, 75)
        args.warmup = 30 if args.warmup is None else args.warmup
    if args.pairs is None:
        args.pairs = max(2, args.calls // 4)
    if args.warmup is None:
        args.warmup = max(20, args.calls // 10)
    if min(args.calls, args.pairs) < 2 or args.warmup < 0:
        p.error("--calls and --pairs need at least 2 iterations; --warmup cannot be negative")
    return args


def missing_packages(with_moto: bool) -> list[str]:
    needed = ["boto3", "cloudkeep", "rich"] + (["moto", "flask", "flask_cors"] if with_moto else [])
    return [m for m in needed if importlib.util.find_spec(m) is None]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    missing = missing_packages(not args.no_moto)
    if missing:
        hint = " (or pass --no-moto)" if set(missing) <= {"moto", "flask", "flask_cors"} else ""
        print(f"benchmark: {', '.join(missing)} not installed in {sys.executable}: run scripts/_venv bench, "
              f"then .venv/bin/python benchmarks/api_calls.py{hint}", file=sys.stderr)
        return 2
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    workloads = [w for w in WORKLOADS if not args.workload or w.key in args.workload]
    env = environment()
    Console().print(" · ".join(f"{k} {v}" for k, v in env.items()), style="dim")
    targets: list[Target] = []
    results: dict[tuple[str, str], Result] = {}
    try:
        targets.append(start_cloudkeep(args.store))
        if not args.no_moto:
            targets.append(start_moto())
        for t in targets:
            prepare(t)
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      refresh_per_second=4, transient=True) as progress:
            for w in workloads:
                n = w.iterations(args)
                warmup = args.warmup if w.unit == "call" else max(1, args.warmup // 4)
                for t in targets:  # interleaved per workload, so drift hits both alike
                    results[(t.name, w.key)] = measure(t, w, n, warmup, args.settle, progress)
    except KeyboardInterrupt:
        print("benchmark: interrupted", file=sys.stderr)
        return 130
    finally:
        for t in reversed(targets):
            t.stop()
    met = report(results, workloads, args)
    if args.json:
        args.json.write_text(json.dumps({"environment": env, "args": {k: (str(v) if isinstance(v, Path) else v)
                                                                      for k, v in vars(args).items()},
                                         "results": [asdict(r) for r in results.values()]}, indent=2))
    return 1 if (args.check and not met) else 0


if __name__ == "__main__":
    sys.exit(main())
