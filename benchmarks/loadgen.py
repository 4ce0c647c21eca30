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

Must not: send traffic anywhere but the loopback endpoints it is given; be run by CI.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import statistics
import time
from dataclasses import dataclass
from typing import Any, Callable

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


def _client(endpoint: str, key: str, secret: str, call: JsonCall, warmup: int, n: int,
            ready: Any, go: Any, out: Any) -> None:
    import http.client
    from urllib.parse import urlsplit

    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    try:
        signer = SigV4Auth(Credentials(key, secret), call.service, call.region)
        parts = urlsplit(endpoint)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        url = endpoint.rstrip("/") + "/"
        base_headers = {"Content-Type": call.content_type, "X-Amz-Target": call.target}

        def one() -> None:
            request = AWSRequest(method="POST", url=url, data=call.body, headers=dict(base_headers))
            signer.add_auth(request)
            conn.request("POST", "/", body=call.body, headers=dict(request.headers.items()))
            response = conn.getresponse()
            data = response.read()
            if response.status != 200:
                raise RuntimeError(f"{call.target}: HTTP {response.status}: {data[:300]!r}")
            call.check(json.loads(data))

        for _ in range(warmup):
            one()
        ready.put(None)
        go.wait()
        cpu0 = time.process_time()
        latencies: list[int] = []
        for _ in range(n):
            started = time.perf_counter_ns()
            one()
            latencies.append(time.perf_counter_ns() - started)
        out.put((latencies, time.process_time() - cpu0, None))
    except BaseException as error:  # noqa: BLE001 - reported to the parent, which fails the run
        ready.put(None)
        out.put(([], 0.0, f"{type(error).__name__}: {error}"))


def run(name: str, workload: str, pid: int, endpoint: str, key: str, secret: str, call: JsonCall, *,
        calls: int, warmup: int, concurrency: int, settle: float) -> LoadResult:
    """``calls`` timed calls in all, split over ``concurrency`` client processes."""
    ctx = mp.get_context("fork")
    ready, out, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    per = max(1, calls // concurrency)
    procs = [ctx.Process(target=_client, args=(endpoint, key, secret, call, warmup, per, ready, go, out),
                         daemon=True) for _ in range(concurrency)]
    for p in procs:
        p.start()
    for _ in procs:
        ready.get(timeout=300)
    time.sleep(settle)
    cpu0 = base.server_cpu_seconds(pid)
    started = time.perf_counter()
    go.set()
    results = [out.get(timeout=600) for _ in procs]
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
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return LoadResult(name, workload, concurrency, total, wall, total / wall, cuts[49] / 1e6, cuts[98] / 1e6,
                      cpu * 1000 / total, round(cpu * base.CLK_TCK),
                      sum(c for _, c, _ in results) * 1000 / total)
