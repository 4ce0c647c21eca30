"""Request bodies through ``serving.TlsAwareProtocol``: a body piece goes to the application's
``receive`` without uvicorn's two copies when nothing waits there, and is joined as uvicorn
joins it when the application is slower than the client. Either way the body arrives whole, in
order, as bytes."""

from __future__ import annotations

import asyncio
import hashlib
import http.client
import os
import threading
import time
from typing import Any, Iterator

import pytest
import uvicorn

from cloudkeep import serving
from cloudkeep.testing.server import free_port

BODY = os.urandom(3 * 1024 * 1024 + 12345)


class _Recorder:
    def __init__(self) -> None:
        self.pieces: list[Any] = []
        self.slow = False

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        self.pieces = []
        while True:
            message = await receive()
            self.pieces.append(message.get("body", b""))
            if self.slow:
                await asyncio.sleep(0.002)     # pieces pile up in the protocol meanwhile
            if not message.get("more_body"):
                break
        digest = hashlib.sha256(b"".join(self.pieces)).hexdigest().encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", str(len(digest)).encode())]})
        await send({"type": "http.response.body", "body": digest})


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[_Recorder, int]]:
    app = _Recorder()
    port = free_port("127.0.0.1")
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, http=serving.TlsAwareProtocol,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the test server did not start"
        time.sleep(0.02)
    yield app, port
    server.should_exit = True
    thread.join(10)


def _put(port: int, body: bytes) -> bytes:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30, blocksize=64 * 1024)
    try:
        connection.request("PUT", "/object", body=body)
        response = connection.getresponse()
        assert response.status == 200
        return response.read()
    finally:
        connection.close()


@pytest.mark.parametrize("slow", [False, True], ids=["app-keeps-up", "app-lags"])
def test_a_body_arrives_whole_and_in_order(served: tuple[_Recorder, int], slow: bool) -> None:
    app, port = served
    app.slow = slow
    assert _put(port, BODY) == hashlib.sha256(BODY).hexdigest().encode()
    assert len(app.pieces) > 1, "the body should have come in several pieces"
    assert all(type(piece) is bytes for piece in app.pieces)
    assert b"".join(app.pieces) == BODY


def test_the_protocol_keeps_a_lone_piece_as_it_came() -> None:
    """The fast path itself: with nothing waiting in the cycle, the piece becomes the cycle's
    body as the very object the parser handed over (uvicorn would have copied it twice)."""
    class Cycle:
        body: Any = bytearray()
        response_complete = False
        message_event = asyncio.Event()

    class Flow:
        paused = 0

        def pause_reading(self) -> None:
            self.paused += 1

    protocol = serving.TlsAwareProtocol.__new__(serving.TlsAwareProtocol)
    protocol.cycle, protocol.flow = Cycle(), Flow()   # type: ignore[attr-defined]
    protocol.parser = type("Parser", (), {"should_upgrade": staticmethod(lambda: False)})()  # type: ignore[attr-defined]
    piece = os.urandom(200 * 1024)
    protocol.on_body(piece)
    assert protocol.cycle.body is piece                     # type: ignore[attr-defined]
    assert protocol.flow.paused == 1                        # over uvicorn's high-water mark
    protocol.on_body(b"tail")                               # a second piece before receive: joined
    assert bytes(protocol.cycle.body) == piece + b"tail"    # type: ignore[attr-defined]
