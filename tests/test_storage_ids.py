"""Request and event ids (``storage.ids``): version 4 (request) and version 7 (event) UUIDs from a
buffered pool of ``os.urandom`` bytes that never hands the same bytes out twice, across threads
or a fork."""

from __future__ import annotations

import os
import re
import threading
import time
import uuid

import pytest

from cloudkeep.storage import ids as ids_module
from cloudkeep.storage.ids import Ids, _RandomPool

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
UUID7 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def test_request_ids_are_version_4_uuids() -> None:
    ids = Ids()
    for value in [ids.request_id() for _ in range(600)]:
        assert UUID4.match(value)
        parsed = uuid.UUID(value)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122 and str(parsed) == value


def test_event_ids_are_version_7_uuids_that_follow_time() -> None:
    """RFC 9562, section 5.7: 48 bits of Unix time in milliseconds, version 7, then random bits."""
    ids = Ids()
    before = time.time_ns() // 1_000_000
    values = []
    for _ in range(3):
        values += [ids.event_id() for _ in range(300)]
        time.sleep(0.002)
    after = time.time_ns() // 1_000_000
    stamps = []
    for value in values:
        assert UUID7.match(value)
        parsed = uuid.UUID(value)
        assert parsed.version == 7 and parsed.variant == uuid.RFC_4122 and str(parsed) == value
        stamps.append(parsed.int >> 80)
        assert before <= stamps[-1] <= after
    assert stamps == sorted(stamps) and stamps[0] < stamps[-1]
    assert len(set(values)) == len(values)


def test_ids_do_not_repeat_across_pool_refills_and_threads() -> None:
    ids = Ids()
    found: list[list[str]] = [[] for _ in range(4)]

    def make(into: list[str]) -> None:
        into.extend(ids.event_id() for _ in range(2000))   # 2000 x 16 bytes: several 4 KiB blocks

    threads = [threading.Thread(target=make, args=(out,)) for out in found]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [value for out in found for value in out]
    assert len(every) == 8000 == len(set(every))


def test_the_pool_hands_out_each_byte_once_and_refills_from_urandom(monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = iter([bytes(range(32)), bytes(range(100, 132)), bytes(range(200, 232))])
    monkeypatch.setattr(ids_module.os, "urandom", lambda n: next(blocks))
    pool = _RandomPool(block=32)
    assert pool.take(16) == bytes(range(16))
    assert pool.take(16) == bytes(range(16, 32))
    assert pool.take(16) == bytes(range(100, 116))      # the block is used up: a fresh one
    assert pool.take(10) == bytes(range(116, 126))
    assert pool.take(10) == bytes(range(200, 210))       # too few left: a fresh block, never a short slice


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_does_not_repeat_its_parents_ids() -> None:
    ids = Ids()
    ids.event_id()                                       # the parent has a block in its pool
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:                                         # the child: its next id, to the parent
        try:
            os.write(write, ids.event_id().encode())
        finally:
            os._exit(0)
    os.close(write)
    child = os.read(read, 64).decode()
    os.close(read)
    os.waitpid(pid, 0)
    parent = ids.event_id()
    assert UUID7.match(child) and child != parent
    assert child[15:] != parent[15:]                     # not merely another millisecond: other random bits
