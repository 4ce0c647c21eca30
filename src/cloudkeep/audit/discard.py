"""A recorder that records nothing: a benchmark knob, never a setting for real use.

``benchmarks/cloudtrail_recording.py`` starts one server with it and one with the real
``AuditRecorder`` and compares their server CPU per call, to measure what recording costs. The
server takes it only when ``CLOUDKEEP_BENCHMARK_NO_AUDIT=1`` is set (``config.benchmark_without_audit``),
and says so in its log at start. ``records = False`` tells the pipeline not to build events at
all (``pipeline.auditing.events_for``), so the comparison includes building them.

Must not: be chosen by any flag of ``cloudkeep serve``; write anything.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping


class DiscardingRecorder:
    """The ``AuditRecorder`` interface, doing nothing."""

    records = False

    def write_in(self, uow: Any, event: Mapping[str, Any]) -> bool:
        return False

    def enqueue(self, event: Mapping[str, Any]) -> None:
        return None

    def enqueue_deferred(self, build: Callable[[], Any], *, on_loop: bool = True,
                         gate: Callable[[], bool] | None = None) -> None:
        return None

    def prepare(self) -> None:
        return None

    def flush(self) -> None:
        return None

    def prune(self, *args: Any, **kwargs: Any) -> int:
        return 0

    def close(self) -> None:
        return None

    def pending(self) -> int:
        return 0
