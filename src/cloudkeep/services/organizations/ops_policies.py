"""Organizations operations on policies: CreatePolicy, UpdatePolicy, DeletePolicy, DescribePolicy,
ListPolicies, AttachPolicy, DetachPolicy, ListPoliciesForTarget, ListTargetsForPolicy and
DescribeEffectivePolicy.

- Documents are validated when written (``domain_policies.check_content``: the 5,120-character
  quota, then the SCP or RCP grammar).
  https://docs.aws.amazon.com/organizations/latest/APIReference/API_CreatePolicy.html
- Attaching needs the type enabled in the root (PolicyTypeNotEnabledException) and leaves at most
  5 policies of a type on a target; detaching leaves at least one SCP, and RCPFullAWSAccess is
  never detached. https://docs.aws.amazon.com/organizations/latest/APIReference/API_AttachPolicy.html,
  https://docs.aws.amazon.com/organizations/latest/APIReference/API_DetachPolicy.html
- DescribeEffectivePolicy serves the management policy types (tag, backup, AI opt-out, …), none
  of which cloudkeep lets an organization enable, so every target has no effective policy
  (EffectivePolicyNotFoundException); SCPs and RCPs are not among its types.
  https://docs.aws.amazon.com/organizations/latest/APIReference/API_DescribeEffectivePolicy.html

Must not: import the pipeline; hold SQL or rules.
"""

from __future__ import annotations

from cloudkeep.services.framework import Call, Params, Result

from . import domain as D
from . import domain_policies as DP
from . import paging
from . import repo_policies as PR
from . import repository as repo
from .authz import DELEGATED, MANAGEMENT, MEMBER, caller_for
from .domain import Caller
from .domain_policies import OrgPolicy
from .errors import (DuplicatePolicyAttachmentException, DuplicatePolicyException, EffectivePolicyNotFoundException,
                     InvalidInputException, PolicyInUseException, PolicyNotAttachedException,
                     PolicyTypeNotEnabledException, access_denied, policy_not_found, target_not_found)
from .operations import operation, unique


def _duplicate() -> DuplicatePolicyException:
    return DuplicatePolicyException("A policy with the same name already exists.")


def _policy(call: Call, caller: Caller, policy_id: str) -> OrgPolicy:
    found = PR.get_policy(call.uow, caller.org.org_id, policy_id)
    if found is None:
        raise policy_not_found()
    return found


def _target(call: Call, caller: Caller, target_id: str) -> tuple[str, str]:
    """(kind, name) of a root, OU or member account of the caller's organization, or
    TargetNotFoundException."""
    org_id = caller.org.org_id
    kind = D.target_kind(target_id)
    if kind == D.ROOT and target_id == caller.org.root_id:
        return kind, D.ROOT_NAME
    if kind == D.ORGANIZATIONAL_UNIT:
        ou = repo.get_ou(call.uow, org_id, target_id)
        if ou is not None:
            return kind, ou.name
    if kind == D.ACCOUNT:
        member = repo.get_member(call.uow, target_id)
        if member is not None and member.org_id == org_id:
            return kind, member.name
    raise target_not_found()


@operation("CreatePolicy")
def create_policy(call: Call, params: Params) -> Result:
    caller = caller_for(call, MANAGEMENT)
    org = caller.org
    policy_type, content, name = params["Type"], params["Content"], params["Name"]
    DP.require_available(org, policy_type)
    DP.check_content(policy_type, content)
    tags = D.merged_tags({}, D.check_tags(params.get("Tags") or []))
    if PR.name_taken(call.uow, org.org_id, policy_type, name):
        raise _duplicate()
    DP.check_policy_count(policy_type, PR.count_policies(call.uow, org.org_id, policy_type))
    policy = DP.new_policy(policy_id=D.new_policy_id(call.ids), org_id=org.org_id, policy_type=policy_type,
                           name=name, description=params.get("Description") or "", content=content)
    unique(call, lambda: PR.add_policy(call.uow, policy, call.clock.now()), _duplicate)
    if tags:
        repo.set_tags(call.uow, org.org_id, policy.policy_id, tags)
    return {"Policy": policy.to_wire(call.partition, org)}


@operation("UpdatePolicy")
def update_policy(call: Call, params: Params) -> Result:
    caller = caller_for(call, MANAGEMENT)
    policy = _policy(call, caller, params["PolicyId"])
    DP.require_mutable(policy)
    name = params.get("Name", policy.name)
    content = params.get("Content", policy.content)
    if content != policy.content:
        DP.check_content(policy.policy_type, content)
    if name != policy.name and PR.name_taken(call.uow, caller.org.org_id, policy.policy_type, name,
                                             other_than=policy.policy_id):
        raise _duplicate()
    updated = DP.new_policy(policy_id=policy.policy_id, org_id=caller.org.org_id, policy_type=policy.policy_type,
                            name=name, description=params.get("Description", policy.description), content=content)
    PR.update_policy(call.uow, updated)
    return {"Policy": updated.to_wire(call.partition, caller.org)}


@operation("DeletePolicy")
def delete_policy(call: Call, params: Params) -> Result:
    caller = caller_for(call, MANAGEMENT)
    policy = _policy(call, caller, params["PolicyId"])
    DP.require_mutable(policy)
    if PR.targets_of(call.uow, caller.org.org_id, policy.policy_id):
        raise PolicyInUseException("The policy is attached to one or more entities. You must detach it from all "
                                   "roots, OUs, and accounts before performing this operation.")
    PR.delete_policy(call.uow, caller.org.org_id, policy.policy_id)
    return {}


@operation("DescribePolicy")
def describe_policy(call: Call, params: Params) -> Result:
    caller = caller_for(call, DELEGATED)
    return {"Policy": _policy(call, caller, params["PolicyId"]).to_wire(call.partition, caller.org)}


def _summaries(call: Call, caller: Caller, policies: list[OrgPolicy], params: Params, scope: str) -> Result:
    chunk, token = paging.page(policies, params, scope,
                               lambda p: (0 if p.aws_managed else 1, p.name, p.policy_id))
    return paging.result("Policies", [p.summary(call.partition, caller.org) for p in chunk], token)


@operation("ListPolicies")
def list_policies(call: Call, params: Params) -> Result:
    """The AWS managed policy of the type and the organization's own."""
    caller = caller_for(call, DELEGATED)
    policy_type = params["Filter"]
    policies = [p for p in DP.AWS_MANAGED.values() if p.policy_type == policy_type]
    policies += PR.customer_policies(call.uow, caller.org.org_id, policy_type)
    return _summaries(call, caller, policies, params, "ListPolicies:" + policy_type)


@operation("ListPoliciesForTarget")
def list_policies_for_target(call: Call, params: Params) -> Result:
    caller = caller_for(call, DELEGATED)
    target_id, policy_type = params["TargetId"], params["Filter"]
    _target(call, caller, target_id)
    ids = PR.attached_to(call.uow, caller.org.org_id, target_id, policy_type)
    policies = list(PR.policies_by_id(call.uow, caller.org.org_id, ids).values())
    return _summaries(call, caller, policies, params, f"ListPoliciesForTarget:{target_id}:{policy_type}")


@operation("ListTargetsForPolicy")
def list_targets_for_policy(call: Call, params: Params) -> Result:
    caller = caller_for(call, DELEGATED)
    policy = _policy(call, caller, params["PolicyId"])
    org = caller.org
    targets = []
    for target_id in PR.targets_of(call.uow, org.org_id, policy.policy_id):
        kind, name = _target(call, caller, target_id)
        targets.append({"TargetId": target_id, "Name": name, "Type": kind,
                        "Arn": D.target_arn(call.partition, org.management_account_id, org.org_id, target_id)})
    chunk, token = paging.page(targets, params, "ListTargetsForPolicy:" + policy.policy_id,
                               lambda t: (t["Type"], t["TargetId"]))
    return paging.result("Targets", chunk, token)


@operation("AttachPolicy")
def attach_policy(call: Call, params: Params) -> Result:
    caller = caller_for(call, MANAGEMENT)
    org_id = caller.org.org_id
    policy = _policy(call, caller, params["PolicyId"])
    target_id = params["TargetId"]
    _target(call, caller, target_id)
    if policy.policy_type not in PR.enabled_types(call.uow, org_id):
        raise PolicyTypeNotEnabledException("This operation can be performed only for enabled policy types.")
    attached = PR.attached_to(call.uow, org_id, target_id, policy.policy_type)
    def duplicate() -> DuplicatePolicyAttachmentException:
        return DuplicatePolicyAttachmentException("The selected policy is already attached to the specified target.")
    if policy.policy_id in attached:
        raise duplicate()
    DP.check_attach_count(len(attached))
    unique(call, lambda: PR.attach(call.uow, org_id, target_id, policy, call.clock.now()), duplicate)
    return {}


@operation("DetachPolicy")
def detach_policy(call: Call, params: Params) -> Result:
    caller = caller_for(call, MANAGEMENT)
    org_id = caller.org.org_id
    policy = _policy(call, caller, params["PolicyId"])
    target_id = params["TargetId"]
    _target(call, caller, target_id)
    DP.require_detachable(policy)
    attached = PR.attached_to(call.uow, org_id, target_id, policy.policy_type)
    if policy.policy_id not in attached:
        raise PolicyNotAttachedException("The policy isn't attached to the specified target in the specified root.")
    DP.check_remaining(policy, len(attached) - 1)
    PR.detach(call.uow, org_id, target_id, policy.policy_id)
    return {}


@operation("DescribeEffectivePolicy")
def describe_effective_policy(call: Call, params: Params) -> Result:
    caller = caller_for(call, MEMBER)
    target_id = params.get("TargetId") or call.account_id
    if target_id != call.account_id and not (caller.is_management or caller.delegated_admin):
        raise access_denied()
    kind, _ = _target(call, caller, target_id)
    if kind != D.ACCOUNT:
        raise InvalidInputException("TARGET_NOT_SUPPORTED", "You can't perform the specified operation on that "
                                                            "target entity.")
    raise EffectivePolicyNotFoundException(
        f"No effective policy of type {params['PolicyType']} exists for the target: the policy type is not enabled.")
