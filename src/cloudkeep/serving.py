"""Running the server processes: uvicorn on the plain port and, with ``--tls``, on the HTTPS
port, both served by the same worker processes (one application, one lifespan per worker).

- The listening sockets are bound here, in the parent, before any worker starts. With one
  worker the parent serves them itself; with ``--workers N`` it starts N worker processes
  (``spawn``) that each serve both sockets, starts a new worker in place of one that dies, and
  stops them all on SIGINT/SIGTERM.
- A worker is one ``uvicorn.Server`` with one ASGI lifespan, listening on both sockets (uvicorn's
  own ``Server`` puts one TLS setting on all its sockets, so ``_DualServer`` starts the listeners
  itself). On SIGINT/SIGTERM uvicorn stops accepting, lets running requests finish, and runs the
  lifespan shutdown, which flushes the audit queue, in every worker.
- TLS details: uvicorn does not put the negotiated TLS version and cipher into the ASGI scope.
  ``TlsAwareProtocol`` (uvicorn's HTTP protocol, subclassed) reads them from the connection's
  ``ssl_object`` once the handshake is done and adds them to every request's scope as the
  ``cloudkeep.tls`` extension, ``{"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256"}``
  (OpenSSL's names, as CloudTrail writes them); ``pipeline/asgi.py`` turns it into
  ``HttpRequest.tls``.

Must not: hold request logic; read the environment (the config is handed over whole).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import multiprocessing
import signal
import socket
import ssl
import sys
import threading
from typing import Any, Awaitable, Callable, Final, Sequence

import uvicorn
from uvicorn.config import STARTUP_FAILURE

from cloudkeep import config as _config
from cloudkeep.crypto import ca

log = logging.getLogger("cloudkeep.serving")

#: the ASGI scope extension carrying the connection's TLS version and cipher suite
TLS_EXTENSION: Final = "cloudkeep.tls"
#: how long a stopping worker may take before it is killed
STOP_TIMEOUT: Final = 15.0
#: how long a closing TLS connection waits for the client's close_notify before it is dropped
#: (asyncio waits 30 s by default): an idle keep-alive HTTPS connection whose client is not
#: reading held a stopping server for its whole graceful-shutdown timeout, and tests for 15 s
TLS_CLOSE_TIMEOUT: Final = 1.0

try:  # the same choice as uvicorn's "auto"
    import httptools  # noqa: F401
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as _HttpProtocol
    _HTTPTOOLS = True
except ImportError:  # pragma: no cover - httptools is a dependency
    from uvicorn.protocols.http.h11_impl import H11Protocol as _HttpProtocol  # type: ignore[assignment]
    _HTTPTOOLS = False
from uvicorn.protocols.http.flow_control import HIGH_WATER_LIMIT

Asgi = Callable[[dict, Callable[[], Awaitable[dict]], Callable[[dict], Awaitable[None]]], Awaitable[None]]


class TlsAwareProtocol(_HttpProtocol):  # type: ignore[misc, valid-type]
    """uvicorn's HTTP protocol, adding the connection's TLS details to each request's scope."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        ssl_object = transport.get_extra_info("ssl_object")
        if ssl_object is not None:  # asyncio calls this only after the handshake completed
            cipher = ssl_object.cipher()
            details = {"tlsVersion": ssl_object.version() or "", "cipherSuite": cipher[0] if cipher else ""}
            self.app = _with_extension(self.app, details)

    if _HTTPTOOLS:
        def on_body(self, body: bytes) -> None:
            """A piece of the request body, handed to the application's next ``receive`` without
            being copied when none is waiting there already. uvicorn appends each piece to a
            bytearray and ``receive`` copies that into bytes: two copies of every body (of a 64 MiB
            upload, ~20 ms of a PutObject's 300 ms of CPU on a 2-core VM). A bytes piece kept as
            is comes out of ``receive``'s ``bytes(...)`` as the same object; a second piece
            arriving before ``receive`` is joined as uvicorn joins it. Flow control as uvicorn's."""
            cycle = self.cycle
            if (cycle.body or cycle.response_complete or type(body) is not bytes
                    or (self.parser.should_upgrade() and self._should_upgrade())):
                super().on_body(body)
                return
            cycle.body = body
            if len(body) > HIGH_WATER_LIMIT:
                self.flow.pause_reading()
            cycle.message_event.set()


def _with_extension(app: Asgi, details: dict[str, str]) -> Asgi:
    async def app_with_tls(scope: dict, receive: Any, send: Any) -> None:
        scope["extensions"] = {**(scope.get("extensions") or {}), TLS_EXTENSION: details}
        await app(scope, receive, send)
    return app_with_tls


class _DualServer(uvicorn.Server):
    """A uvicorn server whose listeners each have their own TLS setting (None: plain HTTP)."""

    def __init__(self, config: uvicorn.Config,
                 listeners: Sequence[tuple[socket.socket, ssl.SSLContext | None]]) -> None:
        super().__init__(config)
        self._listeners = tuple(listeners)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        # mirrors uvicorn.Server.startup (0.54) for explicitly passed sockets
        await self.lifespan.startup()
        if self.lifespan.should_exit:
            sys.exit(STARTUP_FAILURE)
        config = self.config

        def create_protocol(_loop: asyncio.AbstractEventLoop | None = None) -> asyncio.Protocol:
            return config.http_protocol_class(  # type: ignore[call-arg]
                config=config, server_state=self.server_state, app_state=self.lifespan.state, _loop=_loop)

        loop = asyncio.get_running_loop()
        self.servers = []
        try:
            for sock, context in self._listeners:
                tls = {} if context is None else {"ssl_shutdown_timeout": TLS_CLOSE_TIMEOUT}
                self.servers.append(await loop.create_server(create_protocol, sock=sock, ssl=context,
                                                             backlog=config.backlog, **tls))
        except OSError as exc:
            log.error("cannot serve: %s", exc)
            await self.lifespan.shutdown()
            sys.exit(STARTUP_FAILURE)
        self.started = True


def bind(host: str, port: int) -> socket.socket:
    """A bound TCP socket for ``host:port`` that worker processes can inherit."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host.strip("[]"), port))
        sock.set_inheritable(True)
    except OSError:
        sock.close()
        raise
    return sock


def run(cfg: _config.ServerConfig, tls: ca.TlsMaterial | None = None) -> int:
    """Serves until SIGINT/SIGTERM; the process's exit status (uvicorn re-raises the signal it
    caught after a graceful stop when it ran in this process)."""
    if cfg.tls and tls is None:
        raise ValueError("--tls needs the issued TLS material")
    try:
        plain = bind(cfg.host, cfg.port)
        secure = bind(cfg.host, cfg.https_port) if cfg.tls else None
    except OSError as exc:
        print(f"cloudkeep: cannot listen on {cfg.host}: {exc.strerror}; choose another --port/--https-port "
              f"or stop what uses it", file=sys.stderr)
        return 1
    if cfg.workers <= 1:
        return _serve_worker(cfg, plain, secure, tls)
    return _supervise(cfg, plain, secure, tls)


def _serve_worker(cfg: _config.ServerConfig, plain: socket.socket, secure: socket.socket | None,
                  tls: ca.TlsMaterial | None) -> int:
    from cloudkeep import server

    listeners: list[tuple[socket.socket, ssl.SSLContext | None]] = [(plain, None)]
    if secure is not None:
        assert tls is not None
        try:
            listeners.append((secure, ca.server_ssl_context(tls, server.sealer_for(cfg))))
        except Exception as exc:  # one line a person can act on
            print(f"cloudkeep: cannot serve HTTPS: {exc}", file=sys.stderr)
            return STARTUP_FAILURE
    # No proxy-header rewriting (cloudkeep is the endpoint; the client address is the peer's) and
    # no access log: both cost CPU on every request.
    config = uvicorn.Config(functools.partial(server.create_app, cfg), factory=True, http=TlsAwareProtocol,
                            host=cfg.host, port=cfg.port, log_level=cfg.log_level, access_log=False,
                            timeout_graceful_shutdown=5, lifespan="on", proxy_headers=False,
                            server_header=False)
    _DualServer(config, listeners).run()
    return 0


def _worker_main(cfg: _config.ServerConfig, plain: socket.socket, secure: socket.socket | None,
                 tls: ca.TlsMaterial | None) -> None:
    sys.exit(_serve_worker(cfg, plain, secure, tls))


def _supervise(cfg: _config.ServerConfig, plain: socket.socket, secure: socket.socket | None,
               tls: ca.TlsMaterial | None) -> int:
    context = multiprocessing.get_context("spawn")
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}

    def start() -> Any:
        process = context.Process(target=_worker_main, args=(cfg, plain, secure, tls), name="cloudkeep-worker")
        process.start()
        return process

    status = 0
    workers = [start() for _ in range(cfg.workers)]
    try:
        while not stop.wait(0.5):
            for index, process in enumerate(workers):
                if process.exitcode is None:
                    continue
                if process.exitcode == STARTUP_FAILURE:
                    print(f"cloudkeep: a worker could not start (exit {process.exitcode}); stopping",
                          file=sys.stderr)
                    status = 1
                    stop.set()
                    break
                log.warning("worker %s exited with %s; starting another", process.pid, process.exitcode)
                workers[index] = start()
    finally:
        for process in workers:
            if process.exitcode is None:
                process.terminate()  # SIGTERM: graceful, the lifespan shutdown flushes the audit queue
        for process in workers:
            process.join(STOP_TIMEOUT)
            if process.exitcode is None:
                log.error("worker %s did not stop in %ss; killing it", process.pid, STOP_TIMEOUT)
                process.kill()
                process.join()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        plain.close()
        if secure is not None:
            secure.close()
    return status
