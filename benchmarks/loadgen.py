"""A light load generator for JSON-protocol AWS calls: what a server sustains, without boto3's
client-side cost in the way.

A sequential boto3 client spends about 1 ms of CPU per call on this kind of machine, more than
a fast server does, so boto3 loops measure mostly boto3. Here each client process keeps one
HTTP/1.1 connection open and, for every call, signs the request afresh with botocore's own
SigV4 signer (``botocore.auth.SigV4Auth``: new X-Amz-Date, new signature), sends it with
``http.client``, reads the whole response and checks it (status 200 and the workload's own
check of the decoded JSON). Every server gets the same requests, from the same processes.

``run(...)`` starts ``concurrency`` client processes, lets each warm up, then starts them
together and measures: calls/s over the wall time until the last one finishes, p50/p99 latency
over all calls, and the server's CPU per call (utime+stime of its process tree, as
api_calls.py reads it, after a settle so batched off-path work counts).

``run_rest(...)`` does the same for S3's REST calls (``RestCall``: PUT or GET of one object, signed
with botocore's ``S3SigV4Auth``, large bodies streamed from a file and large responses read in
blocks), for ``s3.py``.

Must not: send traffic anywhere but the loopback endpoints it is given; be run by CI.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import random
import statistics
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable

import api_calls as base

#: a check of a decoded 200 response; raises on a wrong answer
Check = Callable[[dict], None]


@dataclass(frozen=True)
class JsonCall:
    """One JSON-protocol call: ``X-Amz-Target`` and the body, the same for every request."""

    service: str              # signing name: "kms"
    target: str               # "TrentService.Encrypt"
    body: bytes
    check: Check
    content_type: str = "application/x-amz-json-1.1"
    region: str = "us-east-1"


@dataclass
class LoadResult:
    target: str
    workload: str
    concurrency: int
    calls: int
    wall_s: float
    per_s: float
    p50_ms: float
    p99_ms: float
    server_cpu_ms: float
    server_cpu_ticks: int
    client_cpu_ms: float      # per call, all client processes together


def signed_poster(endpoint: str, key: str, secret: str, service: str, region: str
                  ) -> Callable[[bytes, dict[str, str]], tuple[int, bytes]]:
    """``send(body, headers) -> (status, body)``: a POST to ``/`` signed afresh with botocore's
    SigV4 signer, on one kept-alive connection (the JSON and query protocol clients' transport)."""
    import http.client
    from urllib.parse import urlsplit

    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    signer = SigV4Auth(Credentials(key, secret), service, region)
    parts = urlsplit(endpoint)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    url = endpoint.rstrip("/") + "/"

    def send(body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        request = AWSRequest(method="POST", url=url, data=body, headers=dict(headers))
        signer.add_auth(request)
        conn.request("POST", "/", body=body, headers=dict(request.headers.items()))
        response = conn.getresponse()
        return response.status, response.read()
    return send


def run_client(work: Callable[[], None], ready: Any, out: Any) -> None:
    """A client process's body: ``work`` (which ends in ``_timed``), its failure reported to the
    parent (which fails the run) instead of raised."""
    try:
        work()
    except BaseException as error:  # noqa: BLE001 - reported to the parent, which fails the run
        ready.put(None)
        out.put(([], 0.0, f"{type(error).__name__}: {error}"))


def _client(endpoint: str, key: str, secret: str, call: JsonCall, warmup: int, n: int,
            ready: Any, go: Any, out: Any) -> None:
    def work() -> None:
        send = signed_poster(endpoint, key, secret, call.service, call.region)
        headers = {"Content-Type": call.content_type, "X-Amz-Target": call.target}

        def one(_: int) -> None:
            status, data = send(call.body, headers)
            if status != 200:
                raise RuntimeError(f"{call.target}: HTTP {status}: {data[:300]!r}")
            call.check(json.loads(data))

        _timed(one, warmup, n, ready, go, out)
    run_client(work, ready, out)


def _timed(one: Callable[[int], None], warmup: int, n: int, ready: Any, go: Any, out: Any) -> None:
    """A client process's part: warm up (negative indexes), say ready, wait for the start, run
    ``n`` timed calls and report (latencies in ns, client CPU seconds, no error)."""
    for i in range(warmup):
        one(-1 - i)
    ready.put(None)
    go.wait()
    cpu0 = time.process_time()
    latencies: list[int] = []
    for i in range(n):
        started = time.perf_counter_ns()
        one(i)
        latencies.append(time.perf_counter_ns() - started)
    out.put((latencies, time.process_time() - cpu0, None))


def _drive(name: str, workload: str, pid: int, client: Callable[..., None], args: tuple, *, calls: int,
           warmup: int, concurrency: int, settle: float, timeout: float) -> LoadResult:
    """Start ``concurrency`` processes running ``client(*args, warmup, per, ready, go, out)``,
    start them together once all are warm, and measure (see the module docstring)."""
    ctx = mp.get_context("fork")
    ready, out, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    per = max(1, calls // concurrency)
    procs = [ctx.Process(target=client, args=(*args, warmup, per, ready, go, out), daemon=True)
             for _ in range(concurrency)]
    for p in procs:
        p.start()
    for _ in procs:
        ready.get(timeout=timeout)
    time.sleep(settle)
    cpu0 = base.server_cpu_seconds(pid)
    started = time.perf_counter()
    go.set()
    results = [out.get(timeout=timeout) for _ in procs]
    wall = time.perf_counter() - started
    for p in procs:
        p.join(30)
    errors = [e for _, _, e in results if e]
    if errors:
        raise RuntimeError(f"{name} {workload}: {errors[0]}")
    time.sleep(settle)
    cpu = base.server_cpu_seconds(pid) - cpu0
    latencies = [v for lat, _, _ in results for v in lat]
    total = len(latencies)
    if total >= 2:
        cuts = statistics.quantiles(latencies, n=100, method="inclusive")
        p50, p99 = cuts[49] / 1e6, cuts[98] / 1e6
    else:
        p50 = p99 = latencies[0] / 1e6
    return LoadResult(name, workload, concurrency, total, wall, total / wall, p50, p99,
                      cpu * 1000 / total, round(cpu * base.CLK_TCK),
                      sum(c for _, c, _ in results) * 1000 / total)


def run(name: str, workload: str, pid: int, endpoint: str, key: str, secret: str, call: JsonCall, *,
        calls: int, warmup: int, concurrency: int, settle: float) -> LoadResult:
    """``calls`` timed calls in all, split over ``concurrency`` client processes."""
    return _drive(name, workload, pid, _client, (endpoint, key, secret, call), calls=calls, warmup=warmup,
                  concurrency=concurrency, settle=settle, timeout=600)


# --- S3 (rest-xml) requests: objects PUT and GET, small or streamed ------------------------------
#
# The same client processes and measurement as above, for S3's REST calls: each request is signed
# afresh with botocore's S3 signer (``S3SigV4Auth``: path-style URL, ``x-amz-content-sha256`` either
# ``UNSIGNED-PAYLOAD`` or the body's SHA-256, given once beforehand so the signer does not hash a
# large body again on every request) and sent with ``http.client``. A large body is streamed from a
# file in 1 MiB blocks and a large response read in 1 MiB blocks and discarded, so a client holds
# at most a block of either, whatever the object's size.

UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
BLOCK = 1 << 20


@dataclass(frozen=True)
class RestCall:
    """One S3 object request, the same for every call but for ``{n}`` in the key."""

    method: str                       # "PUT" | "GET"
    bucket: str
    key: str                          # "{n}" becomes "<client pid>-<call number>": every PUT a new object
    body: bytes = b""                 # a small body, sent as is
    body_file: str | None = None      # or a large one, streamed from this file
    payload_sha256: str = UNSIGNED_PAYLOAD   # the signed x-amz-content-sha256 (the body's SHA-256, or UNSIGNED-PAYLOAD)
    expect_status: int = 200
    expect_length: int | None = None  # a GET's body length, read in blocks and counted
    expect_body: bytes | None = None  # or its exact (small) body
    service: str = "s3"
    region: str = "us-east-1"

    @property
    def length(self) -> int:
        return os.path.getsize(self.body_file) if self.body_file else len(self.body)


def rest_sender(endpoint: str, key: str, secret: str, call: RestCall, tag: str | None = None
                ) -> Callable[[int], None]:
    """``one(i)``: the request of ``call`` (``{n}`` in its key becoming ``<tag>-<i>``, the tag by
    default this process's id), signed afresh, on one kept-alive connection; its answer checked
    (status, and a GET's length or body), raising on any difference. ``one.presign(numbers)``
    signs those calls' requests beforehand, so that ``one`` only sends them."""
    import http.client
    from urllib.parse import quote, urlsplit

    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    class Signer(S3SigV4Auth):
        def payload(self, request: Any) -> str:  # the hash given once, not the body hashed again
            return call.payload_sha256

    signer = Signer(Credentials(key, secret), call.service, call.region)
    parts = urlsplit(endpoint)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120, blocksize=BLOCK)
    base = endpoint.rstrip("/")
    length = call.length if call.method == "PUT" else 0
    tag = tag or str(os.getpid())

    ahead: dict[int, tuple[str, dict[str, str]]] = {}

    def sign(i: int) -> tuple[str, dict[str, str]]:
        path = f"/{call.bucket}/" + quote(call.key.replace("{n}", f"{tag}-{i}"), safe="/~")
        headers = {"Content-Length": str(length)} if call.method == "PUT" else {}
        request = AWSRequest(method=call.method, url=base + path, headers=headers)
        signer.add_auth(request)
        return path, dict(request.headers.items())

    def presign(indexes: Iterable[int]) -> None:
        """Sign the requests of these call numbers now, for ``one`` to send as they are (SigV4
        signatures stay valid for minutes: a block signed just before it is timed)."""
        for i in indexes:
            ahead[i] = sign(i)

    def one(i: int) -> None:
        made = ahead.pop(i, None)
        path, signed = made if made is not None else sign(i)
        if call.body_file:
            with open(call.body_file, "rb") as f:
                conn.request(call.method, path, body=f, headers=signed)
        else:
            conn.request(call.method, path, body=call.body if call.method == "PUT" else None, headers=signed)
        response = conn.getresponse()
        if response.status != call.expect_status:
            raise RuntimeError(f"{call.method} {path}: HTTP {response.status}: {response.read()[:300]!r}")
        if call.expect_length is not None:
            got = 0
            while chunk := response.read(BLOCK):
                got += len(chunk)
            if got != call.expect_length:
                raise RuntimeError(f"GET {path}: {got} bytes, {call.expect_length} expected")
        else:
            data = response.read()
            if call.expect_body is not None and data != call.expect_body:
                raise RuntimeError(f"GET {path}: wrong body ({len(data)} bytes)")
    one.presign = presign  # type: ignore[attr-defined]
    return one


def _rest_client(endpoint: str, key: str, secret: str, call: RestCall, warmup: int, n: int,
                 ready: Any, go: Any, out: Any) -> None:
    try:
        _timed(rest_sender(endpoint, key, secret, call), warmup, n, ready, go, out)
    except BaseException as error:  # noqa: BLE001 - reported to the parent, which fails the run
        ready.put(None)
        out.put(([], 0.0, f"{type(error).__name__}: {error}"))


def ratio_interval(pairs: list[tuple[float, float]], *, draws: int = 4000, seed: int = 8) -> tuple[float, float, float]:
    """(Σ a ÷ Σ b over the pairs (a, b), and the 2.5th and 97.5th percentiles of that ratio over
    the pairs resampled with replacement: a bootstrap 95% interval, with a fixed seed)."""
    return grouped_ratio_interval([pairs], draws=draws, seed=seed)


def grouped_ratio_interval(groups: list[list[tuple[float, float]]], *, draws: int = 4000,
                           seed: int = 8) -> tuple[float, float, float]:
    """As ``ratio_interval`` for pairs measured in groups (the cycles of each start of a pair of
    servers): the bootstrap resamples the groups with replacement, then the pairs within each
    group drawn, so what differs from one start of the servers to the next is in the interval
    too. One group: ``ratio_interval``."""
    def ratio(sample: list[tuple[float, float]]) -> float:
        denominator = sum(b for _, b in sample)
        return sum(a for a, _ in sample) / denominator if denominator else float("inf")
    groups = [g for g in groups if g]
    rng = random.Random(seed)
    values = []
    for _ in range(draws):
        sample: list[tuple[float, float]] = []
        for _ in groups:
            group = groups[rng.randrange(len(groups))] if len(groups) > 1 else groups[0]
            sample.extend(group[rng.randrange(len(group))] for _ in range(len(group)))
        values.append(ratio(sample))
    values.sort()
    return ratio([p for g in groups for p in g]), values[int(0.025 * draws)], values[int(0.975 * draws) - 1]


def run_rest(name: str, workload: str, pid: int, endpoint: str, key: str, secret: str, call: RestCall, *,
             calls: int, warmup: int, concurrency: int, settle: float) -> LoadResult:
    """As ``run``, for S3 object requests: ``calls`` timed requests over ``concurrency`` processes."""
    return _drive(name, workload, pid, _rest_client, (endpoint, key, secret, call), calls=calls, warmup=warmup,
                  concurrency=concurrency, settle=settle, timeout=1800)


def print_load_table(title: str, results: dict[tuple[str, str, int], LoadResult], workloads: list[Any],
                     levels: list[int], target: Callable[[Any, LoadResult | None, LoadResult | None],
                                                         tuple[str, bool | None]]) -> bool:
    """One table of load-generator results, cloudkeep against moto: for each workload (``.key``,
    ``.title``) and client count, calls/s (with ``target(workload, ck, mo)`` → (cell, met or None
    when it could not be judged)), p50 latency and server CPU per call. True if every judged
    target is met."""
    from rich.table import Table

    table = Table(title=title, caption="calls/s over the wall time of all clients; server CPU = utime+stime of "
                                       "the server process tree ÷ calls (~: coarse)")
    for col, justify in (("workload", "left"), ("clients", "right"), ("metric", "left"), ("cloudkeep", "right"),
                         ("moto", "right"), ("cloudkeep/moto", "right"), ("target", "left")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]

    def val(r: LoadResult | None, attr: str) -> float | None:
        return None if r is None else getattr(r, attr)

    all_met = True
    for w in workloads:
        for i, c in enumerate(levels):
            ck, mo = results.get(("cloudkeep", w.key, c)), results.get(("moto", w.key, c))
            cell, met = target(w, ck, mo)
            if met is not None:
                all_met &= met
            n = (ck or mo).calls if (ck or mo) else 0
            table.add_row(f"{w.title}\n[dim]{n} calls[/dim]" if i == 0 else "", str(c), "calls/s ↑",
                          base._num(val(ck, "per_s"), ".0f"), base._num(val(mo, "per_s"), ".0f"),
                          base._ratio(val(ck, "per_s"), val(mo, "per_s")), cell)
            table.add_row("", "", "p50 latency ms ↓", base._num(val(ck, "p50_ms"), ".2f"),
                          base._num(val(mo, "p50_ms"), ".2f"), base._ratio(val(ck, "p50_ms"), val(mo, "p50_ms")), "")
            table.add_row("", "", "[bold]server CPU ms/call ↓[/bold]", base._cpu(ck), base._cpu(mo),  # type: ignore[arg-type]
                          base._ratio(val(ck, "server_cpu_ms"), val(mo, "server_cpu_ms")), "",
                          end_section=i == len(levels) - 1)
    base.console().print(table)
    return all_met

