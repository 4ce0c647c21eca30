"""The ASGI adapter's startup (pipeline/asgi.App): the dependencies are built once on the event
loop's thread, which then keeps its database connections, and what exists after startup is
moved out of the garbage collector's reach (``gc.freeze``), with young collections spaced out."""

from __future__ import annotations

import asyncio
import gc
import threading
from types import SimpleNamespace

from cloudkeep.pipeline.asgi import YOUNG_COLLECTION, App


class _Store:
    def __init__(self) -> None:
        self.kept_on: list[int] = []

    def keep_connections(self) -> None:
        self.kept_on.append(threading.get_ident())


def test_startup_builds_once_keeps_connections_on_the_loop_thread_and_freezes():
    store = _Store()
    built: list[int] = []

    def factory():
        built.append(threading.get_ident())
        return SimpleNamespace(store=store)

    app = App(factory)
    messages = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[dict] = []

    async def receive():
        return messages.pop(0)

    async def send(message):
        sent.append(message)

    gc.unfreeze()
    thresholds = gc.get_threshold()
    try:
        asyncio.run(app({"type": "lifespan"}, receive, send))
        frozen, young = gc.get_freeze_count(), gc.get_threshold()[0]
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert len(built) == 1 and store.kept_on == built          # the same thread, once
    assert frozen > 1000                                        # the process's objects at startup
    assert young == YOUNG_COLLECTION
