"""The ASGI adapter: the only code that touches the HTTP framework.

Receive turns the ASGI scope and body into an ``HttpRequest``; serialize writes the
``HttpResponse`` back. Between them the runner calls the stages. The pipeline runs inline on
the event loop: its work is short and CPU-bound, and skipping a thread hop per request keeps
the server's CPU per call low; ``--workers N`` gives parallelism across processes.

Paths under ``/_cloudkeep/`` are the server's own (health; test hooks only with
``--test-hooks``), served by a small Starlette router off the hot path.

Must not: contain service logic or protocol decoding.
"""

from __future__ import annotations

import gc
import logging
from pathlib import Path
from typing import Any, Awaitable, BinaryIO, Callable

from cloudkeep.auth import checksums
from cloudkeep.wire import errors as E
from cloudkeep.wire.http import HttpRequest, HttpResponse
from cloudkeep.wire.model import load_service
from cloudkeep.storage.spool import BodySpool

from .deps import Deps
from .runner import handle

log = logging.getLogger("cloudkeep.asgi")

#: a body up to this size is held in memory; a larger one (S3 uploads) is spooled, encrypted, to a
#: temporary file (``storage/spool.py``), so memory stays bounded whatever the body size (the
#: non-streaming protocols' own limits are checked by their parsers)
MEMORY_BODY = 16 * 1024 * 1024
#: the largest body accepted at all: S3's largest single upload (5 GiB) plus aws-chunked framing
#: https://docs.aws.amazon.com/AmazonS3/latest/userguide/upload-objects.html
MAX_BODY = 5 * 1024 ** 3 + 64 * 1024 * 1024
#: the largest request header section (names, values and separators) served; an Application Load
#: Balancer refuses more than 64 KB of request headers with a 400
#: (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-limits.html)
MAX_HEADER_BYTES = 64 * 1024
ADMIN_PREFIX = "/_cloudkeep/"
#: new container objects between two young garbage collections once the server has started
#: (CPython's default is 700; see ``App._built``)
YOUNG_COLLECTION = 10_000


class App:
    def __init__(self, deps_factory: Callable[[], Deps], admin: Any = None,
                 on_shutdown: Callable[[Deps], None] | None = None) -> None:
        self._deps_factory = deps_factory
        self._admin = admin
        self._on_shutdown = on_shutdown
        self.deps: Deps | None = None

    async def __call__(self, scope: dict, receive: Callable[[], Awaitable[dict]],
                       send: Callable[[dict], Awaitable[None]]) -> None:
        kind = scope["type"]
        if kind == "http":
            if self._admin is not None and scope["path"].startswith(ADMIN_PREFIX):
                await self._admin(scope, receive, send)
                return
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    def _built(self) -> Deps:
        """The dependencies, built on the event loop's thread, which serves every request: it
        keeps its database connections between requests (``Store.keep_connections``).

        What exists once they are built (service models, the policy engine's tables, the
        dependencies themselves: ~125,000 objects) lives as long as the process, so it is moved
        out of the garbage collector's reach (``gc.freeze`` after a collection): a full
        collection scanned all of it, 36–50 ms of CPU each, and now scans only what came later.
        A young collection then waits for 10,000 new objects instead of 700: requests whose
        records the recorder builds later keep their exchanges alive until its next batch, and
        with 700 the collector ran every few requests to find nothing to free (7 µs per
        GetCallerIdentity, 0.2 µs with 10,000, measured with ``gc.callbacks`` under load)."""
        deps = self._deps_factory()
        keep = getattr(deps.store, "keep_connections", None)
        if keep is not None:
            keep()
        gc.collect()
        gc.freeze()
        gc.set_threshold(YOUNG_COLLECTION, 20, 20)
        return deps

    async def _lifespan(self, receive: Callable, send: Callable) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    self.deps = self._built()
                except Exception as exc:
                    log.exception("startup failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.deps is not None and self._on_shutdown is not None:
                    self._on_shutdown(self.deps)
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: dict, receive: Callable, send: Callable) -> None:
        deps = self.deps
        if deps is None:  # lifespan off: build on first use
            deps = self.deps = self._built()
        headers = tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"])
        header_too_large = sum(len(k) + len(v) + 4 for k, v in scope["headers"]) > MAX_HEADER_BYTES
        body, body_file, body_size, too_large = ((b"", None, 0, False) if header_too_large
                                                 else await _read_body(scope, receive, deps))
        raw_path = scope.get("raw_path") or scope["path"].encode()
        client = scope.get("client") or ("127.0.0.1", 0)
        # UTF-8 with surrogateescape keeps any raw byte a client sent, so signatures still match
        request = HttpRequest(method=scope["method"], path=raw_path.decode("utf-8", "surrogateescape"),
                              query=scope.get("query_string", b"").decode("utf-8", "surrogateescape"),
                              headers=headers,
                              body=body, client_ip=client[0], secure=scope.get("scheme") == "https",
                              tls=_tls_details(scope, headers),
                              body_file=body_file, body_size=body_size)
        if header_too_large:
            response = _refuse(request, deps, E.RequestHeaderSectionTooLarge(
                "Your request header section exceeds the maximum allowed size."))
        elif too_large:
            response = _refuse(request, deps, E.RequestEntityTooLarge(
                f"Request body is larger than {MAX_BODY} bytes."))
        else:
            try:
                response = handle(request, deps)
            finally:
                if body_file is not None:
                    body_file.close()     # a temporary file: gone with it
        raw_headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]
        stream = response.stream
        if not any(k.lower() == b"content-length" for k, _ in raw_headers):
            length = len(response.body) if stream is None else stream.length
            if length is not None:
                raw_headers.append((b"content-length", str(length).encode()))
        if stream is None:
            await send({"type": "http.response.start", "status": response.status, "headers": raw_headers})
            # a HEAD response has headers only (content-length says what a GET would send)
            await send({"type": "http.response.body", "body": b"" if request.method == "HEAD" else response.body})
            _after_response(deps)
            return
        try:
            await send({"type": "http.response.start", "status": response.status, "headers": raw_headers})
            if request.method != "HEAD":
                await _stream(stream, send)
            await send({"type": "http.response.body", "body": b""})
        finally:
            stream.close()
            _after_response(deps)


def _after_response(deps: Deps) -> None:
    """Once the response is sent: build the CloudTrail records the call left to be built off
    its path (``AuditRecorder.prepare``), here on the event loop rather than on the writer's
    thread. Never raises into the request's task."""
    try:
        deps.recorder.prepare()
    except Exception:  # noqa: BLE001 - the records stay queued; the writer builds them
        log.exception("could not prepare audit records")


async def _stream(stream: Any, send: Callable) -> None:
    """Write a streamed body piece by piece. A piece that cannot be produced (a stored body
    that no longer authenticates) ends the exchange without its final empty message, so the
    server drops the connection and the client sees a short body, never bad bytes."""
    sent = 0
    try:
        for piece in stream:
            if piece:
                sent += len(piece)
                await send({"type": "http.response.body", "body": piece, "more_body": True})
    except Exception:
        log.exception("a streamed response body failed after %d bytes", sent)
        raise
    if stream.length is not None and sent != stream.length:
        log.error("a streamed response body ended after %d of %d bytes", sent, stream.length)
        raise RuntimeError("streamed body shorter than its Content-Length")


def _spool_directory(deps: Deps) -> Path | None:
    """Where large bodies are spooled: the blob store's spool directory, so that an S3 upload
    can name the spool's file as its blob (``BodySpool.adopt``); None without a blob store."""
    blobs = deps.blobs
    return blobs.spool_directory() if blobs is not None else None


async def _read_body(scope: dict, receive: Callable,
                     deps: Deps | None = None) -> tuple[bytes, BinaryIO | None, int, bool]:
    """(body in memory, or b"" with the spooled file; its size; too large)."""
    declared = next((v for k, v in scope["headers"] if k == b"content-length"), None)
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY:
        return b"", None, 0, True
    chunks: list[bytes] = []
    spool: BodySpool | None = None
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            if spool is not None:
                spool.close()
            return b"", None, 0, True
        if spool is not None:
            spool.write(chunk)
        elif size > MEMORY_BODY:
            spool = BodySpool(sha256=_declares_sha256(scope),
                              directory=_spool_directory(deps) if deps is not None else None,
                              checksums=_spool_checksums(scope))
            for piece in chunks:
                spool.write(piece)
            spool.write(chunk)
            chunks = []
        else:
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    if spool is not None:
        spool.finish()
        return b"", spool, size, False
    body = b"".join(chunks)
    return body, None, len(body), False


#: the checksum a stored S3 object always has (its default, since December 2024)
_DEFAULT_CHECKSUM = "CRC64NVME"
_CHECKSUM_HEADER = b"x-amz-checksum-"


def _spool_checksums(scope: dict) -> list[str]:
    """The checksums a spool measures while receiving: S3's default one and any other the
    request names (``x-amz-checksum-<algorithm>``, ``x-amz-sdk-checksum-algorithm``) that can
    be computed here, so that an upload stored as sent needs no second pass over its body."""
    wanted = [_DEFAULT_CHECKSUM]
    for name, value in scope["headers"]:
        if name.startswith(_CHECKSUM_HEADER) and name != b"x-amz-checksum-type":
            candidate = name[len(_CHECKSUM_HEADER):].decode("latin-1").upper()
        elif name == b"x-amz-sdk-checksum-algorithm":
            candidate = value.decode("latin-1").upper()
        else:
            continue
        if candidate in checksums.ALGORITHMS and candidate not in wanted:
            wanted.append(candidate)
    return wanted


def _declares_sha256(scope: dict) -> bool:
    """The client signed its payload's SHA-256 (``x-amz-content-sha256``: 64 hex digits), which
    authentication checks: the spool measures it while receiving."""
    value = next((v for k, v in scope["headers"] if k == b"x-amz-content-sha256"), b"")
    return len(value) == 64 and all(c in b"0123456789abcdefABCDEF" for c in value)


def _refuse(request: HttpRequest, deps: Deps, error: E.ServiceError) -> HttpResponse:
    """A request refused before the pipeline (too large to read), in the protocol's error format."""
    from cloudkeep.wire.routing import PROTOCOLS

    protocol = "json" if request.header("x-amz-target") else "query"
    service = load_service("kms" if protocol == "json" else "sts")
    return PROTOCOLS[protocol].serialize_error(service, error, deps.ids.request_id())


def _tls_details(scope: dict, headers: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """CloudTrail's tlsDetails for a request received over TLS, else (): the version and cipher
    come from ``serving.TlsAwareProtocol`` (the ``cloudkeep.tls`` scope extension), the host from
    the client's Host header.
    https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html
    """
    info = (scope.get("extensions") or {}).get("cloudkeep.tls") if scope.get("scheme") == "https" else None
    if not info:
        return ()
    return (*info.items(), ("clientProvidedHostHeader", next((v for k, v in headers if k == "host"), "")))
