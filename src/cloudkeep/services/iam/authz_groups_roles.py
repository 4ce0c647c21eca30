"""IAM's authorization entries for groups, roles, instance profiles and role/user tags (merged into
``authz.AUTHZ``).

Actions, resource types and condition keys from the Service Authorization Reference:
https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html

Resource ARNs are built from the request: the name, and the Path where the request gives one
(Create*); like ``authz.named_user_arn`` they do not look the stored path up. A missing name
(never the case once the model's required members are validated) builds ``*`` in its place.
"""

from __future__ import annotations

from cloudkeep.services.framework import AuthzContext, Check

from .authz import REQUEST_TAGS, TAG_KEYS, PERMISSIONS_BOUNDARY, named_user_arn


def _arn(kind: str, name_member: str):
    def build(ctx: AuthzContext) -> str:
        path = ctx.params.get("Path") or "/"
        name = ctx.params.get(name_member) or "*"
        return f"arn:{ctx.partition}:iam::{ctx.account_id}:{kind}{path}{name}"
    build.__name__ = f"{kind.replace('-', '_')}_arn"
    return build


group_arn = _arn("group", "GroupName")
role_arn = _arn("role", "RoleName")
instance_profile_arn = _arn("instance-profile", "InstanceProfileName")

GROUPS_AND_ROLES: dict = {
    # groups
    "CreateGroup": [Check("iam:CreateGroup", resource=group_arn)],
    "GetGroup": [Check("iam:GetGroup", resource=group_arn)],
    "ListGroups": [Check("iam:ListGroups")],
    "DeleteGroup": [Check("iam:DeleteGroup", resource=group_arn)],
    "AddUserToGroup": [Check("iam:AddUserToGroup", resource=group_arn)],
    "RemoveUserFromGroup": [Check("iam:RemoveUserFromGroup", resource=group_arn)],
    "ListGroupsForUser": [Check("iam:ListGroupsForUser", resource=named_user_arn)],
    # roles
    "CreateRole": [Check("iam:CreateRole", resource=role_arn, keys=(REQUEST_TAGS, TAG_KEYS, PERMISSIONS_BOUNDARY))],
    "GetRole": [Check("iam:GetRole", resource=role_arn)],
    "ListRoles": [Check("iam:ListRoles")],
    "DeleteRole": [Check("iam:DeleteRole", resource=role_arn)],
    "UpdateRole": [Check("iam:UpdateRole", resource=role_arn)],
    "UpdateRoleDescription": [Check("iam:UpdateRoleDescription", resource=role_arn)],
    "UpdateAssumeRolePolicy": [Check("iam:UpdateAssumeRolePolicy", resource=role_arn)],
    "TagRole": [Check("iam:TagRole", resource=role_arn, keys=(REQUEST_TAGS, TAG_KEYS))],
    "UntagRole": [Check("iam:UntagRole", resource=role_arn, keys=(TAG_KEYS,))],
    "ListRoleTags": [Check("iam:ListRoleTags", resource=role_arn)],
    # user tags
    "TagUser": [Check("iam:TagUser", resource=named_user_arn, keys=(REQUEST_TAGS, TAG_KEYS))],
    "UntagUser": [Check("iam:UntagUser", resource=named_user_arn, keys=(TAG_KEYS,))],
    "ListUserTags": [Check("iam:ListUserTags", resource=named_user_arn)],
    # instance profiles
    "CreateInstanceProfile": [Check("iam:CreateInstanceProfile", resource=instance_profile_arn,
                                    keys=(REQUEST_TAGS, TAG_KEYS))],
    "GetInstanceProfile": [Check("iam:GetInstanceProfile", resource=instance_profile_arn)],
    "ListInstanceProfiles": [Check("iam:ListInstanceProfiles")],
    "DeleteInstanceProfile": [Check("iam:DeleteInstanceProfile", resource=instance_profile_arn)],
    # The caller must also be allowed to pass the role
    # (https://docs.aws.amazon.com/IAM/latest/APIReference/API_AddRoleToInstanceProfile.html).
    "AddRoleToInstanceProfile": [Check("iam:AddRoleToInstanceProfile", resource=instance_profile_arn),
                                 Check("iam:PassRole", resource=role_arn)],
    "RemoveRoleFromInstanceProfile": [Check("iam:RemoveRoleFromInstanceProfile", resource=instance_profile_arn)],
    "ListInstanceProfilesForRole": [Check("iam:ListInstanceProfilesForRole", resource=role_arn)],
}
