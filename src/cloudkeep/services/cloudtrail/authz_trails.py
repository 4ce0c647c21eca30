"""Authorization entries of the trail operations."""

from __future__ import annotations

from typing import Any

AUTHZ: dict[str, Any] = {}
