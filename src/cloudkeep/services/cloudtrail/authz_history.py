"""Authorization entries of the event history operations (LookupEvents).

cloudtrail:LookupEvents has no resource type (Resource "*") and no condition keys of its own:
https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscloudtrail.html
"""

from __future__ import annotations

from typing import Any

from cloudkeep.services.framework import Check

AUTHZ: dict[str, Any] = {
    "LookupEvents": [Check("cloudtrail:LookupEvents")],
}
