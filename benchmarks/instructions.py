"""Instructions per call of cloudkeep's and moto's servers, counted by valgrind's callgrind.

    .venv/bin/python benchmarks/instructions.py                          # every workload, 300 calls each
    .venv/bin/python benchmarks/instructions.py --workload gci --workload s3-put1k --calls 200
    .venv/bin/python benchmarks/instructions.py --no-moto --recording    # cloudkeep with and without recording

The timed benchmarks (``api_calls.py``, ``s3.py``, ``cloudtrail_recording.py``) measure what the
issues' targets name, but on a shared VM their rounds spread by ±25%. This one counts what does not
move with the machine's load: the instructions a server process executes per call. Each
measurement starts its own server under ``valgrind --tool=callgrind --instr-atstart=no`` (cloudkeep
with ``python -m cloudkeep serve --workers 1``, SQLite in a temp dir, test hooks off; moto with
``python -m moto.server``), warms it up with boto3 from this process (not under valgrind), switches
counting on with ``callgrind_control -i on``, runs the calls, waits ``--settle`` seconds so that
work done off the request path (cloudkeep's batched CloudTrail and key-use writes) is counted with
the calls that caused it, switches counting off and stops the server; callgrind writes the total
at exit. Every thread of the server process is counted; the client's work is not.

Two runs of the same code give the same count to within about 1% (random ids, hash seeds and the
batch boundaries of background writes differ). Instructions are not time: C code that runs many
instructions per cycle (zlib, SQLite, OpenSSL) costs less time per instruction than the Python
interpreter does. Read the counts as a steady measure of a change, and confirm with the timed
benchmarks.

With ``--recording``, cloudkeep is measured a second time with ``CLOUDKEEP_BENCHMARK_NO_AUDIT=1``
(``audit.discard``: no CloudTrail event is built or written; see ``cloudtrail_recording.py``) and
the table shows what recording costs in instructions.

Must not: be collected or run by CI (a run takes minutes; valgrind is not a dependency of the
project); send traffic anywhere but the loopback servers it starts.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))

import api_calls as base  # noqa: E402  (the benchmarks' shared helpers)

HOST = base.HOST
SMALL = bytes(range(256)) * 4          # 1 KiB
BUCKET = "bench-instructions"


@dataclass(frozen=True, slots=True)
class Workload:
    key: str
    title: str
    prepare: Callable[[base.Target], None]
    make: Callable[[base.Target], Callable[[int], None]]


def _no_prep(t: base.Target) -> None:
    t.client("sts").get_caller_identity()


def _user_prep(t: base.Target) -> None:
    t.client("iam").create_user(UserName=base.EXISTING_USER)


def _bucket_prep(t: base.Target) -> None:
    s3 = t.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="existing", Body=SMALL)


def _gci(t: base.Target) -> Callable[[int], None]:
    sts = t.client("sts")
    return lambda i: sts.get_caller_identity() and None


def _get_user(t: base.Target) -> Callable[[int], None]:
    iam = t.client("iam")
    return lambda i: iam.get_user(UserName=base.EXISTING_USER) and None


def _create_delete(t: base.Target) -> Callable[[int], None]:
    iam = t.client("iam")

    def run(i: int) -> None:
        iam.create_user(UserName=f"bench-{i}")
        iam.delete_user(UserName=f"bench-{i}")
    return run


def _put(t: base.Target) -> Callable[[int], None]:
    s3 = t.client("s3")
    return lambda i: s3.put_object(Bucket=BUCKET, Key=f"object-{i}", Body=SMALL) and None


def _put_unsigned(t: base.Target) -> Callable[[int], None]:
    """As the load generator of ``s3.py`` sends a PUT: UNSIGNED-PAYLOAD, no checksum header."""
    import boto3
    from botocore.config import Config

    s3 = boto3.client("s3", endpoint_url=t.endpoint, region_name="us-east-1", aws_access_key_id=t.key,
                      aws_secret_access_key=t.secret,
                      config=Config(retries={"max_attempts": 1}, s3={"payload_signing_enabled": False},
                                    request_checksum_calculation="when_required"))
    return lambda i: s3.put_object(Bucket=BUCKET, Key=f"unsigned-{i}", Body=SMALL) and None


def _get(t: base.Target) -> Callable[[int], None]:
    s3 = t.client("s3")

    def run(i: int) -> None:
        if s3.get_object(Bucket=BUCKET, Key="existing")["Body"].read() != SMALL:
            raise RuntimeError("GetObject returned another body")
    return run


WORKLOADS: tuple[Workload, ...] = (
    Workload("gci", "sts:GetCallerIdentity", _no_prep, _gci),
    Workload("getuser", "iam:GetUser", _user_prep, _get_user),
    Workload("createdelete", "iam:CreateUser+DeleteUser (pair)", _no_prep, _create_delete),
    Workload("s3-put1k", "s3:PutObject 1 KiB", _bucket_prep, _put),
    Workload("s3-put1k-unsigned", "s3:PutObject 1 KiB, UNSIGNED-PAYLOAD", _bucket_prep, _put_unsigned),
    Workload("s3-get1k", "s3:GetObject 1 KiB", _bucket_prep, _get),
)


def _valgrind(out: Path) -> list[str]:
    return ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}"]


def start(server: str, out: Path, timeout: float) -> tuple[base.Target, subprocess.Popen, Any]:
    """``server`` ("cloudkeep", "cloudkeep-off" or "moto") under callgrind, counting off."""
    from cloudkeep.testing.server import free_port

    port = free_port(HOST)
    log = tempfile.TemporaryFile()
    env = dict(os.environ)
    env.pop("CLOUDKEEP_BENCHMARK_NO_AUDIT", None)
    if server == "moto":
        cmd = [sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(port)]
        probe = f"http://{HOST}:{port}/moto-api/"
        data_dir = None
    else:
        data_dir = Path(tempfile.mkdtemp(prefix="cloudkeep-instr-"))
        cmd = [sys.executable, "-m", "cloudkeep", "serve", "--host", HOST, "--port", str(port),
               "--data-dir", str(data_dir / "data"), "--workers", "1"]
        probe = f"http://{HOST}:{port}/_cloudkeep/health"
        if server == "cloudkeep-off":
            env["CLOUDKEEP_BENCHMARK_NO_AUDIT"] = "1"
    proc = subprocess.Popen(_valgrind(out) + cmd, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, env=env)
    try:
        base.wait_until_up(probe, proc, log, timeout, f"{server} under valgrind")
        if data_dir is None:
            key, secret = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"   # moto checks none
        else:
            import json
            creds = json.loads((data_dir / "data" / "root-credentials.json").read_text())
            key, secret = creds["AccessKeyId"], creds["SecretAccessKey"]
    except BaseException:
        proc.kill()
        proc.wait()
        raise

    def stop() -> None:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT if server == "moto" else signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()
        if data_dir is not None:
            shutil.rmtree(data_dir, ignore_errors=True)

    return base.Target(server, proc.pid, f"http://{HOST}:{port}", key, secret, stop), proc, log


def _control(pid: int, switch: str) -> None:
    done = subprocess.run(["callgrind_control", "-i", switch, str(pid)], capture_output=True, text=True)
    if done.returncode != 0 or "OK" not in done.stdout:
        raise RuntimeError(f"callgrind_control -i {switch} {pid} failed: {done.stdout}{done.stderr}")


def total_instructions(out: Path) -> int:
    """The ``totals:`` line of a callgrind output file (every thread's instructions)."""
    for line in out.read_text(errors="replace").splitlines():
        if line.startswith("totals:"):
            return int(line.split()[1])
    raise RuntimeError(f"{out} has no totals line")


def measure(server: str, workload: Workload, calls: int, warmup: int, settle: float, timeout: float,
            keep: Path | None = None) -> float:
    """Thousands of instructions per call (per pair for createdelete) of one server process.
    ``keep``: a directory to copy callgrind's output file into, as ``<workload>.<server>.callgrind``."""
    with tempfile.TemporaryDirectory(prefix="cloudkeep-callgrind-") as tmp:
        out = Path(tmp) / "callgrind.out"
        target, proc, _log = start(server, out, timeout)
        try:
            workload.prepare(target)
            one = workload.make(target)
            for i in range(warmup):
                one(-1 - i)
            time.sleep(settle)
            _control(proc.pid, "on")
            for i in range(calls):
                one(i)
            time.sleep(settle)
            _control(proc.pid, "off")
        finally:
            target.stop()
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(out, keep / f"{workload.key}.{server}.callgrind")
        return total_instructions(out) / calls / 1000


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="instructions per call of cloudkeep's and moto's servers (callgrind)")
    p.add_argument("--workload", action="append", choices=[w.key for w in WORKLOADS],
                   help="run only this workload (repeatable; default all)")
    p.add_argument("--calls", type=int, default=300, help="counted calls per workload (default 300)")
    p.add_argument("--warmup", type=int, default=50, help="uncounted calls first (default 50)")
    p.add_argument("--settle", type=float, default=3.0,
                   help="seconds waited before counting stops, for batched background writes (default 3)")
    p.add_argument("--timeout", type=float, default=600.0, help="seconds a server may take to start or stop")
    p.add_argument("--no-moto", action="store_true", help="measure cloudkeep only")
    p.add_argument("--recording", action="store_true",
                   help="also measure cloudkeep with CloudTrail recording off (CLOUDKEEP_BENCHMARK_NO_AUDIT=1)")
    p.add_argument("--keep", type=Path, default=None, metavar="DIR",
                   help="keep callgrind's output files in DIR (read them with callgrind_annotate)")
    args = p.parse_args(argv)
    if args.calls < 1 or args.warmup < 0 or args.settle < 0:
        p.error("--calls must be >= 1, --warmup and --settle >= 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        print("benchmark: valgrind is not installed (Debian: apt-get install valgrind)", file=sys.stderr)
        return 2
    missing = base.missing_packages(not args.no_moto)
    if missing:
        print(f"benchmark: {', '.join(missing)} not installed in {sys.executable}: run scripts/_venv bench",
              file=sys.stderr)
        return 2
    from rich.table import Table

    console = base.console()
    console.print(" · ".join(f"{k} {v}" for k, v in base.environment().items()), style="dim")
    workloads = [w for w in WORKLOADS if not args.workload or w.key in args.workload]
    servers = ["cloudkeep"] + (["cloudkeep-off"] if args.recording else []) + ([] if args.no_moto else ["moto"])
    counts: dict[tuple[str, str], float] = {}
    for w in workloads:
        for server in servers:
            if server == "cloudkeep-off" and w.key.startswith("s3-"):
                continue                    # S3 object calls record no event unless a trail selects them
            console.print(f"{w.key}: {server}, {args.calls} calls under callgrind…", style="dim")
            counts[(w.key, server)] = measure(server, w, args.calls, args.warmup, args.settle, args.timeout,
                                                args.keep)

    table = Table(title=f"Server instructions per call (callgrind, {args.calls} calls; thousands)")
    table.add_column("workload")
    table.add_column("cloudkeep", justify="right")
    if args.recording:
        table.add_column("recording off", justify="right")
        table.add_column("recording costs", justify="right")
    if not args.no_moto:
        table.add_column("moto", justify="right")
        table.add_column("moto ÷ cloudkeep", justify="right")
    for w in workloads:
        ck = counts.get((w.key, "cloudkeep"))
        row = [w.title, f"{ck:,.0f}" if ck is not None else "—"]
        if args.recording:
            off = counts.get((w.key, "cloudkeep-off"))
            row += [f"{off:,.0f}" if off is not None else "—",
                    f"+{(ck - off) / off * 100:.1f}%" if ck is not None and off else "—"]
        if not args.no_moto:
            moto = counts.get((w.key, "moto"))
            row += [f"{moto:,.0f}" if moto is not None else "—",
                    f"{moto / ck:.2f}×" if moto is not None and ck else "—"]
        table.add_row(*row)
    console.print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
