"""Profiles cloudkeep's server on one workload, with the server in this process under cProfile.

    .venv/bin/python benchmarks/profile_server.py                     # GetCallerIdentity, 2000 calls
    .venv/bin/python benchmarks/profile_server.py --workload getuser --calls 1000 --top 40
    .venv/bin/python benchmarks/profile_server.py --workload s3-put1k --calls 1000   # also s3-get1k, s3-put1k-unsigned, s3-put64m

The server runs here (``uvicorn.Server`` around ``cloudkeep.server.create_app``, bootstrapped and
configured as ``cloudkeep serve`` does); a boto3 client runs in a child process so that the profile holds the
server's work only. The client warms up, then runs the calls twice: once unprofiled, to measure
the CPU per call of each of the server's threads (the pipeline runs on the event loop, in the
main thread; audit and key-use batches are written by background threads), and once under
cProfile, whose statistics (main thread only; by default its CPU time, not wall time) are
printed and saved to a .prof file.

Must not: be run by CI; change anything outside its temporary data directory and --out.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

HOST = "127.0.0.1"
CLK_TCK = os.sysconf("SC_CLK_TCK")

# The client: warms up, then runs the timed calls each time it reads "run" on stdin.
CLIENT = r"""
import sys, time, boto3
from botocore.config import Config
endpoint, key, secret, workload, calls, warmup = sys.argv[1:7]
calls, warmup = int(calls), int(warmup)
cfg = Config(retries={"max_attempts": 1, "mode": "standard"}, max_pool_connections=1)
mk = lambda s: boto3.client(s, endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=key,
                            aws_secret_access_key=secret, config=cfg)
sts, iam, kms, s3 = mk("sts"), mk("iam"), mk("kms"), mk("s3")
small = bytes(range(256)) * 4
if workload.startswith("s3"):
    s3.create_bucket(Bucket="bench-profile")
    s3.put_object(Bucket="bench-profile", Key="existing", Body=small)
iam.create_user(UserName="bench-existing")
ctx = {"purpose": "benchmark", "tenant": "acme"}
key_id = kms.create_key()["KeyMetadata"]["Arn"] if workload.startswith("kms") else None
blob = kms.encrypt(KeyId=key_id, Plaintext=b"x" * 1024, EncryptionContext=ctx)["CiphertextBlob"] if key_id else None
if workload in ("s3-put64m", "s3-put1k-unsigned"):
    # UNSIGNED-PAYLOAD and no checksum, as the s3.py benchmark's load generator sends it
    s3u = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=key,
                       aws_secret_access_key=secret, config=cfg.merge(Config(
                           s3={"payload_signing_enabled": False}, request_checksum_calculation="when_required")))
if workload == "s3-put64m":
    import tempfile
    large = tempfile.TemporaryFile()
    for i in range(64):
        large.write(bytes([i]) * (1024 * 1024))
count = [0]
def one():
    count[0] += 1
    if workload == "gci":
        sts.get_caller_identity()
    elif workload == "kms-encrypt":
        kms.encrypt(KeyId=key_id, Plaintext=b"x" * 1024, EncryptionContext=ctx)
    elif workload == "kms-decrypt":
        kms.decrypt(CiphertextBlob=blob, EncryptionContext=ctx)
    elif workload == "kms-gdk":
        kms.generate_data_key(KeyId=key_id, KeySpec="AES_256", EncryptionContext=ctx)
    elif workload == "s3-put1k":
        s3.put_object(Bucket="bench-profile", Key=f"k{count[0]}", Body=small)
    elif workload == "s3-put1k-unsigned":
        s3u.put_object(Bucket="bench-profile", Key=f"k{count[0]}", Body=small)
    elif workload == "s3-put64m":
        large.seek(0)
        s3u.put_object(Bucket="bench-profile", Key=f"large{count[0]}", Body=large)
    elif workload == "s3-get1k":
        assert s3.get_object(Bucket="bench-profile", Key="existing")["Body"].read() == small
    elif workload == "getuser":
        iam.get_user(UserName="bench-existing")
    else:
        iam.create_user(UserName=f"p{count[0]}"); iam.delete_user(UserName=f"p{count[0]}")
for _ in range(warmup):
    one()
print("ready", flush=True)
for line in sys.stdin:
    if line.strip() != "run":
        break
    t0 = time.perf_counter()
    for _ in range(calls):
        one()
    print(f"done {time.perf_counter() - t0:.6f}", flush=True)
"""


def thread_ticks() -> dict[str, int]:
    """utime+stime ticks of each thread of this process, by 'name:tid'."""
    out: dict[str, int] = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            raw = Path(f"/proc/self/task/{tid}/stat").read_text()
            name = Path(f"/proc/self/task/{tid}/comm").read_text().strip()
        except OSError:
            continue
        rest = raw[raw.rindex(")") + 2:].split()
        out[f"{name}:{tid}"] = int(rest[11]) + int(rest[12])
    return out


def bootstrap(data_dir: Path, port: int) -> tuple[object, str, str]:
    from cloudkeep import server
    from cloudkeep.config import ServerConfig

    cfg = ServerConfig(host=HOST, port=port, data_dir=data_dir, test_hooks=False)
    store = server.open_store(cfg, migrate=True)
    boot = server.bootstrap(cfg, store, server.sealer_for(cfg))
    store.close()
    assert boot.created is not None
    return cfg, boot.created.access_key_id, boot.created.secret_access_key


async def drive(srv: object, endpoint: str, key: str, secret: str, args: argparse.Namespace,
                profiler: cProfile.Profile) -> None:
    while not srv.started:  # type: ignore[attr-defined]
        await asyncio.sleep(0.02)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CLIENT, endpoint, key, secret, args.workload, str(args.calls), str(args.warmup),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    assert proc.stdin is not None and proc.stdout is not None
    try:
        if (await proc.stdout.readline()).strip() != b"ready":
            raise RuntimeError("the client failed during warm-up")
        await asyncio.sleep(args.settle)
        # 1. unprofiled: CPU per call of each server thread
        before, wall0 = thread_ticks(), time.process_time()
        proc.stdin.write(b"run\n")
        done = (await proc.stdout.readline()).split()
        await asyncio.sleep(args.settle)      # let the batched audit / key-use writes happen
        after, wall1 = thread_ticks(), time.process_time()
        wall = float(done[1])
        print(f"\nunprofiled: {args.calls} {args.workload} calls in {wall:.2f}s = {args.calls / wall:.0f}/s; "
              f"server process CPU {(wall1 - wall0) * 1000 / args.calls:.3f} ms/call")
        for name in sorted(after, key=lambda n: -(after[n] - before.get(n, 0))):
            d = after[name] - before.get(name, 0)
            if d:
                print(f"  thread {name:28} {d * 1000 / CLK_TCK / args.calls:.3f} ms/call")
        # 2. profiled (main thread: the event loop, where the pipeline runs)
        profiler.enable()
        proc.stdin.write(b"run\n")
        done = (await proc.stdout.readline()).split()
        profiler.disable()
        print(f"profiled:   {args.calls} calls in {float(done[1]):.2f}s (cProfile slows the server)")
        proc.stdin.write(b"quit\n")
        await proc.wait()
    finally:
        if proc.returncode is None:
            proc.kill()
        srv.should_exit = True  # type: ignore[attr-defined]


#: the request path's landmarks: (label, module file suffix, function name)
LANDMARKS = (
    ("ASGI adapter (cloudkeep asgi._http, all)", "pipeline/asgi.py", "_http"),
    ("  runner.handle (the pipeline)", "pipeline/runner.py", "handle"),
    ("    route", "pipeline/stages.py", "route"),
    ("      sigv4.parse_authorization", "auth/sigv4.py", "parse_authorization"),
    ("    authenticate", "pipeline/stages.py", "authenticate"),
    ("      IamRepository.credential_row", "iam/repository.py", "credential_row"),

    ("      sigv4.verify", "auth/sigv4.py", "verify"),
    ("    parse", "pipeline/stages.py", "parse"),
    ("    authorize", "pipeline/stages.py", "authorize"),
    ("    dispatch", "pipeline/stages.py", "dispatch"),
    ("    serialize_response", "wire/query_serialize.py", "serialize_response"),
    ("    audit event (off-path enqueue)", "pipeline/runner.py", "_audit_off_path"),
    ("  (any) UnitOfWork.execute (SQLAlchemy+sqlite)", "storage/uow.py", "execute"),
    ("  (any) UnitOfWork.commit", "storage/uow.py", "commit"),
    ("  (any) datetime.strptime", "~", "<built-in method strptime>"),
    ("  (any) dataclasses.replace", "dataclasses.py", "replace"),
)


def breakdown(stats: pstats.Stats, calls: int, unit: str) -> None:
    """Each landmark's cumulative share of the main thread's profiled time."""
    raw = stats.stats  # type: ignore[attr-defined]
    total = sum(tt for _cc, _nc, tt, _ct, _callers in raw.values())
    print(f"\n=== where the main thread's time goes: {total * 1000 / calls:.3f} ms/{unit} under cProfile ===")
    for label, file_suffix, func in LANDMARKS:
        ct = sum(v[3] for (f, _line, fn), v in raw.items()
                 if fn == func and f.replace("\\", "/").endswith(file_suffix))
        print(f"  {label:48} {ct * 1000 / calls:7.3f} ms/{unit}  {100 * ct / total:5.1f}%")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="cProfile of cloudkeep's server on one workload")
    p.add_argument("--workload", choices=("gci", "getuser", "createdelete", "kms-encrypt", "kms-decrypt", "kms-gdk",
                                              "s3-put1k", "s3-put1k-unsigned", "s3-get1k", "s3-put64m"), default="gci")
    p.add_argument("--calls", type=int, default=2000)
    p.add_argument("--warmup", type=int, default=200)
    p.add_argument("--settle", type=float, default=1.5)
    p.add_argument("--top", type=int, default=30, help="rows of each pstats listing")
    p.add_argument("--timer", choices=("cpu", "wall"), default="cpu",
                   help="cpu: the main thread's CPU time (default; waiting in epoll costs nothing); wall: elapsed")
    p.add_argument("--out", type=Path, default=None, help="where to save the .prof (default: a temp file)")
    args = p.parse_args(argv)

    import uvicorn

    from cloudkeep import server
    from cloudkeep.testing.server import free_port

    port = free_port(HOST)
    with tempfile.TemporaryDirectory(prefix="cloudkeep-prof-") as tmp:
        cfg, key, secret = bootstrap(Path(tmp) / "data", port)
        # the settings `cloudkeep serve` gives uvicorn (serving.py): its HTTP protocol class, no
        # proxy-header rewriting, no Server header, no access log
        from cloudkeep.serving import TlsAwareProtocol

        config = uvicorn.Config(server.create_app(cfg), host=HOST, port=port,  # type: ignore[arg-type]
                                log_level="warning", access_log=False, lifespan="on", http=TlsAwareProtocol,
                                proxy_headers=False, server_header=False)
        srv = uvicorn.Server(config)
        profiler = cProfile.Profile(time.thread_time) if args.timer == "cpu" else cProfile.Profile()

        async def both() -> None:
            driver = asyncio.create_task(drive(srv, f"http://{HOST}:{port}", key, secret, args, profiler))
            await srv.serve()
            await driver

        # the event loop `cloudkeep serve` gets (uvloop when installed), as uvicorn.Server.run does
        with asyncio.Runner(loop_factory=config.get_loop_factory()) as runner:
            runner.run(both())
    out = args.out or Path(tempfile.mkstemp(prefix=f"cloudkeep-{args.workload}-", suffix=".prof")[1])
    profiler.dump_stats(str(out))
    breakdown(pstats.Stats(profiler), args.calls, "pair" if args.workload == "createdelete" else "call")
    for order in ("tottime", "cumulative"):
        buf = io.StringIO()
        stats = pstats.Stats(profiler, stream=buf).strip_dirs().sort_stats(order)
        stats.print_stats(args.top)
        print(f"\n=== top {args.top} by {order} ===")
        print("\n".join(line for line in buf.getvalue().splitlines()[4:] if line.strip()))
    print(f"\nprofile saved to {out} (open with: python -m pstats {out}, or snakeviz)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
