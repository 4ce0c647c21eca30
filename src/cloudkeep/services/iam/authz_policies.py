"""IAM's authorization entries for managed and inline policies, attachments and permissions
boundaries (merged into ``authz.AUTHZ``).

Actions, resource types and condition keys from the Service Authorization Reference:
https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html

Operations on a managed policy act on the policy's ARN as given (``PolicyArn``; CreatePolicy
builds it from Path and PolicyName); inline-policy, attachment and boundary operations act on
the user, group or role (built from the request's name, like ``authz.named_user_arn``). The
condition keys are those AWS defines for each action: ``iam:PolicyARN`` for attach/detach,
``iam:PermissionsBoundary`` where the entity's boundary is in play.
"""

from __future__ import annotations

from cloudkeep.services.framework import AuthzContext, Check

from .authz import PERMISSIONS_BOUNDARY, REQUEST_TAGS, TAG_KEYS, named_user_arn

POLICY_ARN = "iam:PolicyARN"
ROLE_TEMPLATE_ARN = "iam:RoleTemplateARN"   # defined by AWS for role actions; never supplied here


def policy_arn(ctx: AuthzContext) -> str:
    """The managed policy named by PolicyArn, or (CreatePolicy) the one Path + PolicyName make."""
    arn = ctx.params.get("PolicyArn")
    if arn:
        return arn
    name = ctx.params.get("PolicyName") or "*"
    return f"arn:{ctx.partition}:iam::{ctx.account_id}:policy{ctx.params.get('Path') or '/'}{name}"


def _entity_arn(kind: str, member: str):
    def build(ctx: AuthzContext) -> str:
        return f"arn:{ctx.partition}:iam::{ctx.account_id}:{kind}/{ctx.params.get(member) or '*'}"
    build.__name__ = f"{kind}_arn"
    return build


group_arn = _entity_arn("group", "GroupName")
role_arn = _entity_arn("role", "RoleName")


def _c(action: str, resource=None, keys: tuple[str, ...] = ()) -> list[Check]:
    return [Check(f"iam:{action}", resource=resource, keys=keys)]


POLICIES: dict = {
    # managed policies and versions
    "CreatePolicy": _c("CreatePolicy", policy_arn, (REQUEST_TAGS, TAG_KEYS)),
    "GetPolicy": _c("GetPolicy", policy_arn),
    "ListPolicies": _c("ListPolicies"),
    "DeletePolicy": _c("DeletePolicy", policy_arn),
    "CreatePolicyVersion": _c("CreatePolicyVersion", policy_arn),
    "GetPolicyVersion": _c("GetPolicyVersion", policy_arn),
    "ListPolicyVersions": _c("ListPolicyVersions", policy_arn),
    "DeletePolicyVersion": _c("DeletePolicyVersion", policy_arn),
    "SetDefaultPolicyVersion": _c("SetDefaultPolicyVersion", policy_arn),
    "ListEntitiesForPolicy": _c("ListEntitiesForPolicy", policy_arn),
    # tags of managed policies
    "TagPolicy": _c("TagPolicy", policy_arn, (REQUEST_TAGS, TAG_KEYS)),
    "UntagPolicy": _c("UntagPolicy", policy_arn, (TAG_KEYS,)),
    "ListPolicyTags": _c("ListPolicyTags", policy_arn),
    # inline policies
    "PutUserPolicy": _c("PutUserPolicy", named_user_arn, (PERMISSIONS_BOUNDARY,)),
    "GetUserPolicy": _c("GetUserPolicy", named_user_arn),
    "DeleteUserPolicy": _c("DeleteUserPolicy", named_user_arn, (PERMISSIONS_BOUNDARY,)),
    "ListUserPolicies": _c("ListUserPolicies", named_user_arn),
    "PutGroupPolicy": _c("PutGroupPolicy", group_arn),
    "GetGroupPolicy": _c("GetGroupPolicy", group_arn),
    "DeleteGroupPolicy": _c("DeleteGroupPolicy", group_arn),
    "ListGroupPolicies": _c("ListGroupPolicies", group_arn),
    "PutRolePolicy": _c("PutRolePolicy", role_arn, (PERMISSIONS_BOUNDARY,)),
    "GetRolePolicy": _c("GetRolePolicy", role_arn),
    "DeleteRolePolicy": _c("DeleteRolePolicy", role_arn, (PERMISSIONS_BOUNDARY,)),
    "ListRolePolicies": _c("ListRolePolicies", role_arn),
    # attachments of managed policies
    "AttachUserPolicy": _c("AttachUserPolicy", named_user_arn, (PERMISSIONS_BOUNDARY, POLICY_ARN)),
    "DetachUserPolicy": _c("DetachUserPolicy", named_user_arn, (PERMISSIONS_BOUNDARY, POLICY_ARN)),
    "ListAttachedUserPolicies": _c("ListAttachedUserPolicies", named_user_arn),
    "AttachGroupPolicy": _c("AttachGroupPolicy", group_arn, (POLICY_ARN,)),
    "DetachGroupPolicy": _c("DetachGroupPolicy", group_arn, (POLICY_ARN,)),
    "ListAttachedGroupPolicies": _c("ListAttachedGroupPolicies", group_arn),
    "AttachRolePolicy": _c("AttachRolePolicy", role_arn, (PERMISSIONS_BOUNDARY, POLICY_ARN)),
    "DetachRolePolicy": _c("DetachRolePolicy", role_arn, (PERMISSIONS_BOUNDARY, POLICY_ARN)),
    "ListAttachedRolePolicies": _c("ListAttachedRolePolicies", role_arn),
    # permissions boundaries
    "PutUserPermissionsBoundary": _c("PutUserPermissionsBoundary", named_user_arn, (PERMISSIONS_BOUNDARY,)),
    "DeleteUserPermissionsBoundary": _c("DeleteUserPermissionsBoundary", named_user_arn, (PERMISSIONS_BOUNDARY,)),
    "PutRolePermissionsBoundary": _c("PutRolePermissionsBoundary", role_arn, (PERMISSIONS_BOUNDARY,)),
    "DeleteRolePermissionsBoundary": _c("DeleteRolePermissionsBoundary", role_arn, (PERMISSIONS_BOUNDARY,)),
}
