"""Authorization entries of the event history operations (LookupEvents)."""

from __future__ import annotations

from typing import Any

AUTHZ: dict[str, Any] = {}
