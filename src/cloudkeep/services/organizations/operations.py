"""Organizations operations on the organization itself (CreateOrganization, DescribeOrganization,
DeleteOrganization, ListRoots, EnablePolicyType, DisablePolicyType), the service's ``operation``
registry the other ``ops_*`` modules register into, and the helpers they share: finding the
caller's organization (the authorize stage ran the same gate, ``authz.gate``), a member account,
a parent (root or OU), and the default policies a new root, OU or account gets.

https://docs.aws.amazon.com/organizations/latest/APIReference/API_Operations.html

Must not: import the pipeline; hold SQL (``repository.py``, ``repo_*.py``) or rules (``domain*.py``).
"""

from __future__ import annotations

from typing import Any, Callable

from cloudkeep.services.framework import Call, Operations, Params, Result
from cloudkeep.services.iam import provisioning
from cloudkeep.storage.engine import is_unique_violation
from cloudkeep.wire.errors import ServiceError

from . import domain as D
from . import domain_policies as DP
from . import repo_policies as PR
from . import repository as repo
from .authz import DELEGATED, MANAGEMENT, MEMBER, caller_for
from .domain import Caller, Member, Organization
from .errors import (AlreadyInOrganizationException, OrganizationNotEmptyException, PolicyTypeAlreadyEnabledException,
                     PolicyTypeNotEnabledException, RootNotFoundException, account_not_found, parent_not_found)

operation = Operations()


# --- helpers -------------------------------------------------------------------------------------


def management_email(call: Call, org: Organization) -> str:
    return provisioning.account_email(call.uow, org.management_account_id) or ""


def member_of(call: Call, caller: Caller, account_id: str, error: Callable[[], ServiceError] = account_not_found
              ) -> Member:
    """A member account of the caller's organization, or ``error`` (AccountNotFoundException)."""
    member = repo.get_member(call.uow, account_id)
    if member is None or member.org_id != caller.org.org_id:
        raise error()
    return member


def parent_of(call: Call, caller: Caller, parent_id: str, error: Callable[[], ServiceError] = parent_not_found
              ) -> tuple[str, int]:
    """The path ("r-x/ou-y/") and depth (0 for the root) of a root or OU of the caller's
    organization, or ``error`` (ParentNotFoundException)."""
    if parent_id == caller.org.root_id:
        return f"{parent_id}/", 0
    if D.OU_ID.fullmatch(parent_id):
        found = repo.get_ou(call.uow, caller.org.org_id, parent_id)
        if found is not None:
            return found.path, found.depth
    raise error()


def attach_defaults(call: Call, org: Organization, target_ids: list[str]) -> None:
    """A new root, OU or account gets the AWS managed policy of every enabled type."""
    for policy_type in PR.enabled_types(call.uow, org.org_id):
        PR.attach_many(call.uow, org.org_id, target_ids, DP.DEFAULT_POLICY[policy_type], call.clock.now())


def unique(call: Call, write: Callable[[], None], error: Callable[[], ServiceError]) -> None:
    """Run ``write``; if a concurrent request wrote the same row first (a unique violation),
    answer ``error`` instead of failing."""
    try:
        with call.uow.savepoint():
            write()
    except Exception as exc:
        if is_unique_violation(exc):
            raise error() from None
        raise


def member_wire(call: Call, caller: Caller, member: Member) -> dict[str, Any]:
    return member.to_wire(call.partition, caller.org.management_account_id)


def _root(call: Call, caller: Caller) -> Result:
    return D.root_wire(call.partition, caller.org, PR.enabled_types(call.uow, caller.org.org_id))


# --- the organization ------------------------------------------------------------------------------


@operation("CreateOrganization")
def create_organization(call: Call, params: Params) -> Result:
    """The caller's account becomes the management account of a new organization with one root.
    No policy type is enabled (the console enables SCPs, the API does not).
    https://docs.aws.amazon.com/organizations/latest/APIReference/API_CreateOrganization.html"""
    def already() -> AlreadyInOrganizationException:
        return AlreadyInOrganizationException("The AWS account is already a member of an organization.")
    if repo.get_member(call.uow, call.account_id) is not None:
        raise already()
    now = call.clock.now()
    org = Organization(org_id=D.new_org_id(call.ids), management_account_id=call.account_id,
                       root_id=D.new_root_id(call.ids), feature_set=params.get("FeatureSet") or D.ALL,
                       created_at=now)
    email = provisioning.account_email(call.uow, call.account_id) or ""
    management = Member(account_id=call.account_id, org_id=org.org_id, parent_id=org.root_id, name=call.account_id,
                        email=email, status=D.ACTIVE, joined_method=D.INVITED, joined_at=now)

    def write() -> None:
        repo.add_org(call.uow, org)
        repo.add_member(call.uow, management)
    unique(call, write, already)
    return {"Organization": org.to_wire(call.partition, email)}


@operation("DescribeOrganization")
def describe_organization(call: Call, params: Params) -> Result:
    caller = caller_for(call, MEMBER)
    return {"Organization": caller.org.to_wire(call.partition, management_email(call, caller.org))}


@operation("DeleteOrganization")
def delete_organization(call: Call, params: Params) -> Result:
    caller = caller_for(call, MANAGEMENT)
    if repo.count_members(call.uow, caller.org.org_id) > 1:
        raise OrganizationNotEmptyException(
            "To delete an organization you must first remove all member accounts (except the master).")
    repo.delete_org(call.uow, caller.org.org_id)
    return {}


@operation("ListRoots")
def list_roots(call: Call, params: Params) -> Result:
    caller = caller_for(call, DELEGATED)
    return {"Roots": [_root(call, caller)]}


def _require_root(caller: Caller, root_id: str) -> None:
    if root_id != caller.org.root_id:
        raise RootNotFoundException("You specified a root that doesn't exist.")


@operation("EnablePolicyType")
def enable_policy_type(call: Call, params: Params) -> Result:
    """Enabling a type attaches its AWS managed policy to the root, every OU and every account.
    https://docs.aws.amazon.com/organizations/latest/userguide/enable-policy-type.html"""
    caller = caller_for(call, MANAGEMENT)
    _require_root(caller, params["RootId"])
    policy_type = params["PolicyType"]
    DP.require_available(caller.org, policy_type)
    org_id = caller.org.org_id
    def already() -> PolicyTypeAlreadyEnabledException:
        return PolicyTypeAlreadyEnabledException("The specified policy type is already enabled.")
    if policy_type in PR.enabled_types(call.uow, org_id):
        raise already()
    unique(call, lambda: PR.enable_type(call.uow, org_id, policy_type, call.clock.now()), already)
    targets = [caller.org.root_id] + [o.ou_id for o in repo.ous(call.uow, org_id)] + \
              [m.account_id for m in repo.members(call.uow, org_id)]
    PR.attach_many(call.uow, org_id, targets, DP.DEFAULT_POLICY[policy_type], call.clock.now())
    return {"Root": _root(call, caller)}


@operation("DisablePolicyType")
def disable_policy_type(call: Call, params: Params) -> Result:
    """Disabling a type detaches every policy of that type from every target ("When you disable
    a policy type, all policies of that type are automatically detached")."""
    caller = caller_for(call, MANAGEMENT)
    _require_root(caller, params["RootId"])
    policy_type = params["PolicyType"]
    if policy_type not in PR.enabled_types(call.uow, caller.org.org_id):
        raise PolicyTypeNotEnabledException("This operation can be performed only for enabled policy types.")
    PR.detach_type(call.uow, caller.org.org_id, policy_type)
    PR.disable_type(call.uow, caller.org.org_id, policy_type)
    return {"Root": _root(call, caller)}
