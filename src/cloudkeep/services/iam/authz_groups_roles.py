"""IAM's authorization entries for groups, roles and instance profiles (merged into ``authz.AUTHZ``).

Actions, resource types and condition keys from the Service Authorization Reference:
https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html
"""

from __future__ import annotations

from cloudkeep.services.framework import AuthzContext, Check  # noqa: F401

GROUPS_AND_ROLES: dict = {}
