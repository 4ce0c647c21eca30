"""The injectable clock that serves the domain (expiry, rotation, retention, digests).

``SystemClock`` is wall time. ``OffsetClock`` is wall time plus an offset that test hooks can move
forward (``advance``); the offset is shared between workers through a callable that reads it.
SigV4's skew check never uses these: it always reads the wall clock (``wall_now``).

This module and ``storage/ids.py`` are the only places that read the system time or randomness.
"""

from __future__ import annotations

import datetime as _dt
import time
from typing import Callable, Protocol

UTC = _dt.timezone.utc


def wall_now() -> _dt.datetime:
    """The real current time (aware, UTC). For SigV4 skew checks only."""
    return _dt.datetime.now(UTC)


def wall_time() -> float:
    return time.time()


class Clock(Protocol):
    def now(self) -> _dt.datetime: ...


class SystemClock:
    def now(self) -> _dt.datetime:
        return _dt.datetime.now(UTC)


class OffsetClock:
    """Wall time plus an offset in seconds that only moves forward (test hooks)."""

    def __init__(self, read_offset: Callable[[], float]) -> None:
        self._read_offset = read_offset

    def now(self) -> _dt.datetime:
        return _dt.datetime.now(UTC) + _dt.timedelta(seconds=self._read_offset())


class FixedClock:
    """A clock that stands still until told to move (unit tests)."""

    def __init__(self, at: _dt.datetime) -> None:
        self._at = at

    def now(self) -> _dt.datetime:
        return self._at

    def advance(self, seconds: float) -> None:
        self._at += _dt.timedelta(seconds=seconds)
