"""IAM operations for groups, roles and instance profiles.

Registered on the service's one registry (``operations.operation``).

Must not: import the pipeline; hold SQL (repositories) or rules (domain modules).
"""

from __future__ import annotations

from .operations import operation  # noqa: F401
