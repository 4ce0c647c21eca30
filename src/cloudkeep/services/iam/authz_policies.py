"""IAM's authorization entries for managed and inline policies, attachments and permissions boundaries (merged into ``authz.AUTHZ``).

Actions, resource types and condition keys from the Service Authorization Reference:
https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html
"""

from __future__ import annotations

from cloudkeep.services.framework import AuthzContext, Check  # noqa: F401

POLICIES: dict = {}
