"""Runs Ceph's S3 compatibility suite (s3-tests) against cloudkeep and counts what passes.

    scripts/s3tests/run                          # start a cloudkeep server, seed it, run the default areas
    scripts/s3tests/run --endpoint URL           # a running server (cloudkeep with --test-hooks, or moto's)
    scripts/s3tests/run --moto                   # moto's server instead: a check of the harness itself
    scripts/s3tests/run -k "multipart" --out DIR # another selection, results in DIR
    scripts/s3tests/run -- -x --maxfail 5        # anything after -- goes to pytest

Steps: the suite's source comes from a bare git mirror (``git archive`` of ``--ref`` into the cache,
never into this repository); its own virtualenv (its requirements.txt, cached by that file's hash)
runs it; ``seed.py`` creates the accounts, users, access keys and KMS keys its S3TEST_CONF names;
pytest runs ``s3tests/functional/test_s3.py`` with ``-m "not fails_on_aws and …"`` and ``-k "not
tenant and (<areas>)"``, writing JUnit XML; the runner counts passed/failed/error/skipped per area
(bucket policy, public access block, ACL, SSE, presigned URL, multipart, listing), groups the
failures by reason, prints both and writes ``summary.json``.

Must not: copy the suite into this repository; send traffic anywhere but the loopback server (or
the ``--endpoint`` given) and the package index pip is configured with; print secrets. It is a
tool, not a test: CI does not run it.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import fcntl
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

import results  # noqa: E402  (outcomes, areas, the printed table)
import seed as seeding  # noqa: E402  (accounts, users, keys and the S3TEST_CONF file)

DEFAULT_MIRROR = Path(os.environ.get("S3TESTS_MIRROR", "/work/.mirror/ceph+s3-tests/repo"))
DEFAULT_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "cloudkeep" / "s3-tests"
TEST_FILES = ("s3tests/functional/test_s3.py",)
ALL_FILES = ("s3tests/functional/test_s3.py", "s3tests/functional/test_headers.py")

#: markers left out: fails_on_aws (AWS itself fails them), and features outside the S3 work's scope
EXCLUDED_MARKERS = ("fails_on_aws", "lifecycle", "lifecycle_expiration", "lifecycle_transition", "object_lock",
                    "bucket_logging", "cloud_transition", "cloud_restore", "s3website", "s3select", "sns")
#: the areas' -k words (POST object, browser form uploads with a POST policy, is its own area)
DEFAULT_K = " or ".join(w for _, words, _ in results.AREAS for w in words)
#: the plugin that gives every bucket the suite creates S3's defaults from before April 2023
LEGACY_PLUGIN = "cloudkeep_s3tests_legacy_defaults"


# --- the suite: source and virtualenv ----------------------------------------------------------


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield


def suite_source(mirror: Path, ref: str, cache: Path) -> tuple[Path, str]:
    """The suite's tree at ``ref`` in the cache (extracted once per commit) and that commit."""
    if not (mirror / "HEAD").exists():
        raise SystemExit(f"s3tests: no git mirror of ceph/s3-tests at {mirror}: pass --mirror PATH (a bare "
                         "clone) or set S3TESTS_MIRROR")
    commit = subprocess.run(["git", "--git-dir", str(mirror), "rev-parse", "--verify", f"{ref}^{{commit}}"],
                            capture_output=True, text=True)
    if commit.returncode != 0:
        raise SystemExit(f"s3tests: {ref!r} is not a commit of {mirror}: {commit.stderr.strip()}")
    sha = commit.stdout.strip()
    dest = cache / f"src-{sha}"
    with locked(cache / ".lock-src"):
        if not (dest / "s3tests" / "functional" / "__init__.py").exists():
            tmp = Path(tempfile.mkdtemp(prefix="src-", dir=cache))
            archive = subprocess.Popen(["git", "--git-dir", str(mirror), "archive", sha], stdout=subprocess.PIPE)
            subprocess.run(["tar", "-x", "-C", str(tmp)], stdin=archive.stdout, check=True)
            if archive.wait() != 0:
                raise SystemExit(f"s3tests: git archive {sha} failed")
            shutil.rmtree(dest, ignore_errors=True)
            tmp.rename(dest)
    return dest, sha


def suite_venv(src: Path, cache: Path, console: Any) -> Path:
    """A virtualenv with the suite's requirements.txt, made once per content of that file."""
    req = (src / "requirements.txt").read_bytes()
    base = getattr(sys, "_base_executable", sys.executable)
    key = hashlib.sha256(req + sys.version.encode()).hexdigest()[:12]
    venv = cache / f"venv-{key}"
    python = venv / "bin" / "python"
    stamp = venv / ".s3tests-installed"
    with locked(cache / ".lock-venv"):
        if not stamp.exists():
            console.print(f"[dim]s3tests: creating the suite's virtualenv {venv} (pip install -r requirements.txt)…[/dim]")
            shutil.rmtree(venv, ignore_errors=True)
            subprocess.run([base, "-m", "venv", str(venv)], check=True)
            pip = subprocess.run([str(python), "-m", "pip", "install", "-q", "-r", str(src / "requirements.txt")],
                                 capture_output=True, text=True)
            if pip.returncode != 0:
                raise SystemExit(f"s3tests: pip could not install the suite's requirements into {venv}:\n"
                                 f"{pip.stderr[-2000:]}")
            stamp.write_text(src.name + "\n")
    return python


def versions(python: Path) -> dict[str, str]:
    code = ("import importlib.metadata as m, json, sys; print(json.dumps({d: m.version(d) for d in "
            "('boto3', 'botocore', 'pytest')} | {'python': sys.version.split()[0]}))")
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True)
    return json.loads(out.stdout) if out.returncode == 0 else {}


# --- the server ----------------------------------------------------------------------------------


@dataclass
class Server:
    kind: str
    endpoint: str
    stop: Any = None
    version: str = ""


def start_server(args: argparse.Namespace, console: Any) -> Server:
    if args.endpoint:
        return Server(seeding.detect(args.endpoint), args.endpoint.rstrip("/"), version="(running)")
    if args.moto:
        sys.path.insert(0, str(ROOT / "benchmarks"))
        import api_calls  # the benchmarks' moto starter: python -m moto.server on a free loopback port

        target = api_calls.start_moto()
        return Server("moto", target.endpoint, target.stop, _dist_version("moto") + " (started here)")
    from cloudkeep.testing.server import CloudkeepServer

    server = CloudkeepServer(test_hooks=True, workers=args.workers)
    server.start()

    def stop() -> None:
        server.stop()
        if args.keep_server_log:
            (args.out / "server.log").write_text(server.read_output())
        server.cleanup()

    return Server("cloudkeep", server.endpoint, stop, _source_version() + " (started here)")


def _source_version() -> str:
    """cloudkeep's version and the commit of this checkout (``+dirty`` when src/ has changes)."""
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True)
    if head.returncode != 0:
        return _dist_version("cloudkeep")
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "src"],
                           capture_output=True, text=True).stdout.strip()
    return f"{_dist_version('cloudkeep')} git {head.stdout.strip()}{'+dirty' if dirty else ''}"


def _dist_version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "—"


# --- running pytest ------------------------------------------------------------------------------

_SELECTED = re.compile(r"collected (\d+) items?(?: / (\d+) deselected)?(?: / (\d+) selected)?")


def run_pytest(python: Path, src: Path, conf: Path, args: argparse.Namespace, console: Any) -> tuple[int, float]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["CLOUDKEEP_S3TESTS_DEFAULTS"] = ",".join(args.diagnostic_defaults)
    env.update(S3TEST_CONF=str(conf), AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE=os.devnull,
               AWS_SHARED_CREDENTIALS_FILE=os.devnull, PYTHONDONTWRITEBYTECODE="1",
               PYTHONPATH=os.pathsep.join(filter(None, [str(HERE / "plugins"), env.get("PYTHONPATH")])))
    # xunit1: the JUnit file keeps each test's properties (its markers, from our plugin)
    cmd = [str(python), "-m", "pytest", *args.files, "-v", "-rA", "-p", "no:cacheprovider",
           "-p", "cloudkeep_s3tests_markers", *(("-p", LEGACY_PLUGIN) if args.diagnostic_defaults else ()),
           "--junitxml", str(args.out / "junit.xml"), "-o", "junit_family=xunit1",
           "-m", args.markexpr, "-k", args.kexpr, *args.pytest_args]
    (args.out / "command.txt").write_text(" ".join(cmd) + "\n")
    started = time.monotonic()
    seen: set[str] = set()
    with open(args.out / "pytest.log", "w") as log, \
            Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                     console=console, transient=True) as progress:
        task = progress.add_task("s3-tests: collecting", total=None)
        proc = subprocess.Popen(cmd, cwd=src, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, errors="replace", start_new_session=True)
        assert proc.stdout is not None
        timed_out = threading.Event()

        def stop_pytest() -> None:  # SIGINT first: pytest then still writes its JUnit file of what ran
            timed_out.set()
            os.killpg(proc.pid, signal.SIGINT)
            hard = threading.Timer(30, lambda: proc.poll() is None and os.killpg(proc.pid, signal.SIGKILL))
            hard.daemon = True
            hard.start()

        watchdog = threading.Timer(args.timeout * 60, stop_pytest)
        watchdog.start()
        try:
            for line in proc.stdout:
                log.write(line)
                if m := _SELECTED.search(line):
                    total = int(m.group(3) or (int(m.group(1)) - int(m.group(2) or 0)))
                    progress.update(task, total=total, description="s3-tests")
                elif (m := results.TEST_LINE.match(line)) and m.group("id") not in seen:
                    seen.add(m.group("id"))
                    progress.update(task, completed=len(seen))
        except KeyboardInterrupt:
            os.killpg(proc.pid, signal.SIGTERM)
            raise
        finally:
            watchdog.cancel()
        rc = proc.wait()
        if timed_out.is_set():
            log.write(f"\n[s3tests runner: pytest stopped after --timeout {args.timeout:g} minutes]\n")
            console.print(f"[red]s3tests: pytest stopped after {args.timeout:g} minutes (--timeout); "
                          "the counts cover the tests that ran[/red]")
    return rc, time.monotonic() - started


# --- main ----------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    p = argparse.ArgumentParser(prog="scripts/s3tests/run",
                                description="Run Ceph's S3 compatibility suite against cloudkeep (or moto's server) "
                                            "and count what passes. Arguments after -- go to pytest.")
    p.add_argument("--endpoint", help="a running server instead of starting one: cloudkeep (with --test-hooks) or "
                                      "moto's, e.g. http://127.0.0.1:4566")
    p.add_argument("--moto", action="store_true", help="start moto's server instead of cloudkeep (a harness check)")
    p.add_argument("-k", dest="k", default=None,
                   help="pytest -k expression replacing the default areas (\"not tenant\" is always added)")
    p.add_argument("--all", action="store_true",
                   help="every test of test_s3.py and test_headers.py but the tenant and fails_on_aws ones")
    p.add_argument("--out", type=Path, default=None,
                   help="results directory (default: <cache>/results/<UTC time>-<server>)")
    p.add_argument("--workers", type=int, default=1, help="cloudkeep worker processes (default 1)")
    p.add_argument("--mirror", type=Path, default=DEFAULT_MIRROR,
                   help=f"bare git mirror of ceph/s3-tests (default {DEFAULT_MIRROR}, or S3TESTS_MIRROR)")
    p.add_argument("--ref", default="HEAD", help="commit or branch of the suite (default HEAD of the mirror)")
    p.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help=f"where the suite and its venv live "
                                                                     f"(default {DEFAULT_CACHE})")
    p.add_argument("--timeout", type=float, default=60, help="stop pytest after this many minutes (default 60)")
    p.add_argument("--top", type=int, default=25, help="failure reasons to print (default 25)")
    p.add_argument("--list-failures", action="store_true",
                   help="also print every failing test (always in failures.txt and summary.json)")
    p.add_argument("--keep-server-log", action="store_true", help="save the started cloudkeep server's log")
    p.add_argument("--check", action="store_true", help="exit 1 unless every selected test passed or skipped")
    p.add_argument("--legacy-defaults", action="store_true",
                   help="diagnostic, not a result: every bucket the suite creates gets S3's defaults from before "
                        "April 2023 (ObjectOwnership ObjectWriter, no Block Public Access)")
    p.add_argument("--unblock-sse-c", action="store_true",
                   help="diagnostic, not a result: every bucket the suite creates allows SSE-C "
                        "(BlockedEncryptionTypes NONE), as before S3 blocked it on new buckets in 2026")
    args = p.parse_args(argv)
    if args.endpoint and args.moto:
        p.error("--endpoint and --moto exclude each other")
    args.pytest_args = extra
    args.diagnostic_defaults = [w for w, on in (("acl", args.legacy_defaults), ("sse-c", args.unblock_sse_c)) if on]
    args.files = list(ALL_FILES if args.all else TEST_FILES)
    markers = EXCLUDED_MARKERS if not args.all else ("fails_on_aws",)
    args.markexpr = " and ".join(f"not {m}" for m in markers)
    chosen = args.k if args.k is not None else (None if args.all else DEFAULT_K)
    args.kexpr = "not tenant" + (f" and ({chosen})" if chosen else "")
    return args


def main(argv: list[str] | None = None) -> int:
    from rich.console import Console
    from rich.markup import escape

    args = parse_args(argv)
    console = Console()
    if not console.is_terminal:
        console = Console(width=max(console.width, 120))
    missing = [m for m in ("boto3", "rich") if importlib.util.find_spec(m) is None]
    if missing:
        console.print(f"s3tests: {', '.join(missing)} missing from {sys.executable}: run scripts/_venv test once")
        return 2
    args.cache.mkdir(parents=True, exist_ok=True)
    src, commit = suite_source(args.mirror, args.ref, args.cache)
    python = suite_venv(src, args.cache, console)
    suite_versions = versions(python)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    kind_hint = "endpoint" if args.endpoint else ("moto" if args.moto else "cloudkeep")
    args.out = (args.out or args.cache / "results" / f"{stamp}-{kind_hint}").resolve()
    args.out.mkdir(parents=True, exist_ok=True)
    console.print(f"[dim]suite ceph/s3-tests {commit[:12]} · {src} · boto3 {suite_versions.get('boto3', '?')} · "
                  f"results in {args.out}[/dim]")
    server: Server | None = None
    try:
        try:
            server = start_server(args, console)
            console.print(f"[dim]server: {server.kind} {server.version} at {server.endpoint}; seeding…[/dim]")
            seeded = seeding.seed(server.endpoint, server.kind)
        except RuntimeError as e:  # SeedError, or a server that did not start: the message says which
            console.print(f"[red]s3tests: {escape(str(e))}[/red]")
            return 2
        conf = args.out / "s3tests.conf"
        seeding.write_private(conf, seeding.render_conf(seeded))
        (args.out / "seed.json").write_text(json.dumps(seeded.public(), indent=2))
        for todo in seeded.todos:
            console.print(f"[yellow]TODO[/yellow] {escape(todo)}", highlight=False)
        console.print(f"[dim]pytest {' '.join(args.files)} -m {args.markexpr!r} -k {args.kexpr!r}[/dim]",
                      highlight=False)
        rc, duration = run_pytest(python, src, conf, args, console)
    except KeyboardInterrupt:
        console.print("s3tests: interrupted")
        return 130
    finally:
        if server is not None and server.stop is not None:
            server.stop()
    junit = args.out / "junit.xml"
    if junit.exists():
        summary = results.parse_junit(junit)
    else:
        console.print(f"[yellow]s3tests: pytest wrote no JUnit XML (exit {rc}): counting from its log "
                      f"{args.out / 'pytest.log'}[/yellow]")
        summary = results.parse_log(args.out / "pytest.log")
        if not summary.outcomes:
            return 2
    results.report(summary, f"Ceph s3-tests against {server.kind} ({server.endpoint})", console, args.top,
                   args.list_failures)
    record = {
        "target": {"kind": server.kind, "endpoint": server.endpoint, "version": server.version},
        "suite": {"repository": "ceph/s3-tests", "commit": commit, "mirror": str(args.mirror), **suite_versions},
        "selection": {"files": args.files, "markexpr": args.markexpr, "kexpr": args.kexpr,
                      "pytest_args": args.pytest_args, "diagnostic_defaults": args.diagnostic_defaults},
        "started_utc": stamp, "duration_s": round(duration, 1), "pytest_exit": rc,
        "seed_todos": seeded.todos,
        "counts": summary.counts(),
        "by_area": {a: summary.counts(a) for a in [x for x, _, _ in results.AREAS] + ["other"]
                    if summary.counts(a)["total"]},
        "failure_reasons": [{"reason": r, "count": n, "example": t} for r, n, t in summary.reasons()],
        "failures": [{"test": o.test, "area": o.area, "outcome": o.status, "phase": o.phase,
                      "message": o.message.strip().splitlines()[0][:300] if o.message.strip() else ""}
                     for o in summary.failures()],
    }
    (args.out / "summary.json").write_text(json.dumps(record, indent=2))
    (args.out / "failures.txt").write_text("".join(f"{o.status}\t{o.test}\t{results.reason(o)}\n"
                                                   for o in sorted(summary.failures(), key=lambda o: o.test)))
    c = summary.counts()
    console.print(f"{c['total']} tests in {duration:.0f} s: {c['passed']} passed, {c['failed']} failed, "
                  f"{c['error']} errors, {c['skipped']} skipped · {args.out / 'summary.json'}")
    if rc not in (0, 1):  # 1: some tests failed (the normal case); anything else: pytest itself went wrong
        console.print(f"[yellow]pytest exited {rc}: see {args.out / 'pytest.log'}[/yellow]")
    if args.check and (c["failed"] or c["error"]):
        return 1
    return 0 if rc in (0, 1) else 2


if __name__ == "__main__":
    sys.exit(main())
