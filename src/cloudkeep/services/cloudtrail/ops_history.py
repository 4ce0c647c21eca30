"""CloudTrail's event history: LookupEvents."""

from __future__ import annotations

from .operations import operation  # noqa: F401
