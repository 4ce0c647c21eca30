"""IAM's authorization entries for the policy simulator (merged into ``authz.AUTHZ``).

From the Service Authorization Reference
(https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html):
``iam:SimulatePrincipalPolicy`` and ``iam:GetContextKeysForPrincipalPolicy`` act on the user,
group or role named by ``PolicySourceArn``; the custom-policy actions take no resource type
(``*``). None of them defines condition keys.
"""

from __future__ import annotations

from cloudkeep.services.framework import AuthzContext, Check


def policy_source_arn(ctx: AuthzContext) -> str:
    """The user, group or role whose policies are simulated (PolicySourceArn as given)."""
    return ctx.params.get("PolicySourceArn") or f"arn:{ctx.partition}:iam::{ctx.account_id}:user/*"


SIMULATE: dict = {
    "SimulatePrincipalPolicy": [Check("iam:SimulatePrincipalPolicy", resource=policy_source_arn)],
    "SimulateCustomPolicy": [Check("iam:SimulateCustomPolicy")],
    "GetContextKeysForPrincipalPolicy": [Check("iam:GetContextKeysForPrincipalPolicy", resource=policy_source_arn)],
    "GetContextKeysForCustomPolicy": [Check("iam:GetContextKeysForCustomPolicy")],
}
