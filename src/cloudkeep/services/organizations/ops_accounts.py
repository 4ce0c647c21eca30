"""Organizations operations on member accounts: CreateAccount (a real new tenant of this server,
reachable through the role the management account assumes), its request statuses, listing and
describing accounts, closing, moving and removing them, and LeaveOrganization.

- CreateAccount: "Organizations preconfigures the new member account with a role (named
  OrganizationAccountAccessRole by default) that grants users in the management account
  administrator permissions in the new member account."
  https://docs.aws.amazon.com/organizations/latest/APIReference/API_CreateAccount.html,
  https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_accounts_create-cross-account-role.html
  Here the request completes at once (SUCCEEDED with its AccountId, or FAILED with AWS's
  FailureReason EMAIL_ALREADY_EXISTS when an account of this server already has that email).
- CloseAccount: the account is SUSPENDED; "You can close only 10% of member accounts, between 10
  and 1000, within a rolling 30 day period."
  https://docs.aws.amazon.com/organizations/latest/APIReference/API_CloseAccount.html

Must not: import the pipeline; hold SQL or rules.
"""

from __future__ import annotations

import datetime as _dt
import json

from cloudkeep.services.framework import Call, Params, Result
from cloudkeep.services.iam import provisioning

from . import domain as D
from . import domain_delegation as DD
from . import paging
from . import repo_handshakes as HR
from . import repository as repo
from .authz import DELEGATED, MANAGEMENT, MEMBER, caller_for
from .domain import Member
from .errors import (AccountAlreadyClosedException, ConstraintViolationException, CreateAccountStatusNotFoundException,
                     DestinationParentNotFoundException, DuplicateAccountException, InvalidInputException,
                     MasterCannotLeaveOrganizationException, SourceParentNotFoundException, account_not_found)
from .operations import attach_defaults, member_of, member_wire, operation, parent_of

DEFAULT_ROLE = "OrganizationAccountAccessRole"
SUCCEEDED, FAILED = "SUCCEEDED", "FAILED"
_ADMINISTRATOR = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
CLOSE_WINDOW = _dt.timedelta(days=30)


def _trust(partition: str, management: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:{partition}:iam::{management}:root"},
        "Action": "sts:AssumeRole"}]})


def _status(row) -> Result:
    out: Result = {"Id": row.request_id, "AccountName": row.account_name, "State": row.state,
                   "RequestedTimestamp": row.requested_at}
    if row.completed_at is not None:
        out["CompletedTimestamp"] = row.completed_at
    if row.account_id:
        out["AccountId"] = row.account_id
    if row.failure_reason:
        out["FailureReason"] = row.failure_reason
    return out


@operation("CreateAccount")
def create_account(call: Call, params: Params) -> Result:
    caller = caller_for(call, MANAGEMENT)
    org = caller.org
    role_name = params.get("RoleName") or DEFAULT_ROLE
    if role_name.startswith("AWSServiceRoleFor"):
        raise InvalidInputException("INVALID_ROLE_NAME", "You provided a role name that isn't valid. A role name "
                                    "can't begin with the reserved prefix AWSServiceRoleFor.")
    tags = D.merged_tags({}, D.check_tags(params.get("Tags") or []))
    now = call.clock.now()
    request_id = D.new_create_account_request_id(call.ids)
    email, name = params["Email"], params["AccountName"]
    account_id, state, reason = None, SUCCEEDED, None
    if provisioning.account_by_email(call.uow, email) is not None:
        state, reason = FAILED, "EMAIL_ALREADY_EXISTS"
    else:
        account_id = provisioning.create_member_account(call.uow, sealer=call.sealer, ids=call.ids, clock=call.clock,
                                                        email=email)
        provisioning.create_role(call.uow, account_id=account_id, partition=call.partition, role_name=role_name,
                                 trust_policy=_trust(call.partition, org.management_account_id),
                                 inline_policies={"AdministratorAccess": _ADMINISTRATOR}, ids=call.ids,
                                 clock=call.clock)
        repo.add_member(call.uow, Member(account_id=account_id, org_id=org.org_id, parent_id=org.root_id, name=name,
                                         email=email, status=D.ACTIVE, joined_method=D.CREATED, joined_at=now))
        attach_defaults(call, org, [account_id])
        if tags:
            repo.set_tags(call.uow, org.org_id, account_id, tags)
    HR.add_request(call.uow, request_id=request_id, org_id=org.org_id, account_name=name, state=state,
                   account_id=account_id, failure_reason=reason, requested_at=now, completed_at=now)
    return {"CreateAccountStatus": _status(HR.get_request(call.uow, org.org_id, request_id))}


@operation("DescribeCreateAccountStatus")
def describe_create_account_status(call: Call, params: Params) -> Result:
    caller = caller_for(call, DELEGATED)
    row = HR.get_request(call.uow, caller.org.org_id, params["CreateAccountRequestId"])
    if row is None:
        raise CreateAccountStatusNotFoundException(
            "We can't find an create account request with the CreateAccountRequestId that you specified.")
    return {"CreateAccountStatus": _status(row)}


@operation("ListCreateAccountStatus")
def list_create_account_status(call: Call, params: Params) -> Result:
    caller = caller_for(call, DELEGATED)
    states = set(params.get("States") or ())
    rows = [r for r in HR.requests(call.uow, caller.org.org_id) if not states or r.state in states]
    scope = "ListCreateAccountStatus:" + ",".join(sorted(states))
    chunk, token = paging.page(rows, params, scope, lambda r: (r.requested_at.isoformat(), r.request_id))
    return paging.result("CreateAccountStatuses", [_status(r) for r in chunk], token)


# --- listing and describing -------------------------------------------------------------------------


def _by_joining(m: Member) -> tuple[str, str]:
    return (m.joined_at.isoformat(), m.account_id)


@operation("ListAccounts")
def list_accounts(call: Call, params: Params) -> Result:
    caller = caller_for(call, DELEGATED)
    chunk, token = paging.page(repo.members(call.uow, caller.org.org_id), params, "ListAccounts", _by_joining)
    return paging.result("Accounts", [member_wire(call, caller, m) for m in chunk], token)


@operation("ListAccountsForParent")
def list_accounts_for_parent(call: Call, params: Params) -> Result:
    caller = caller_for(call, DELEGATED)
    parent_id = params["ParentId"]
    parent_of(call, caller, parent_id)
    found = repo.members(call.uow, caller.org.org_id, parent_id=parent_id)
    chunk, token = paging.page(found, params, "ListAccountsForParent:" + parent_id, _by_joining)
    return paging.result("Accounts", [member_wire(call, caller, m) for m in chunk], token)


@operation("DescribeAccount")
def describe_account(call: Call, params: Params) -> Result:
    caller = caller_for(call, DELEGATED)
    return {"Account": member_wire(call, caller, member_of(call, caller, params["AccountId"]))}


# --- closing, moving, removing ------------------------------------------------------------------------


@operation("CloseAccount")
def close_account(call: Call, params: Params) -> Result:
    caller = caller_for(call, MANAGEMENT)
    member = member_of(call, caller, params["AccountId"])
    if member.account_id == caller.org.management_account_id:
        raise ConstraintViolationException("CANNOT_CLOSE_MANAGEMENT_ACCOUNT",
                                           "You attempted to close the management account. To close the management "
                                           "account for the organization, you must first either remove or close all "
                                           "member accounts in the organization.")
    DD.require_all_features(caller.org)
    if member.status != D.ACTIVE:
        raise AccountAlreadyClosedException("The provided account is already closed.")
    now = call.clock.now()
    quota = min(1000, max(10, repo.count_members(call.uow, caller.org.org_id) // 10))
    if repo.closed_since(call.uow, caller.org.org_id, now - CLOSE_WINDOW) >= quota:
        raise ConstraintViolationException("CLOSE_ACCOUNT_QUOTA_EXCEEDED",
                                           "You have exceeded close account quota for the past 30 days.")
    repo.close_member(call.uow, member.account_id, D.SUSPENDED, now)
    provisioning.set_account_status(call.uow, member.account_id, provisioning.SUSPENDED)
    return {}


@operation("MoveAccount")
def move_account(call: Call, params: Params) -> Result:
    caller = caller_for(call, MANAGEMENT)
    member = member_of(call, caller, params["AccountId"])
    source, destination = params["SourceParentId"], params["DestinationParentId"]
    parent_of(call, caller, source, lambda: SourceParentNotFoundException(
        "We can't find a source root or OU with the ParentId that you specified."))
    parent_of(call, caller, destination, lambda: DestinationParentNotFoundException(
        "We can't find the destination container (a root or OU) with the ParentId that you specified."))
    if member.parent_id == destination:
        raise DuplicateAccountException("That account is already present in the specified destination.")
    if member.parent_id != source:
        raise account_not_found()
    repo.move_member(call.uow, member.account_id, destination)
    return {}


def _leave(call: Call, org_id: str, account_id: str) -> None:
    if HR.delegations(call.uow, org_id, account_id=account_id):
        from .domain_delegation import cannot_remove_delegated_admin
        raise cannot_remove_delegated_admin()
    repo.remove_member(call.uow, org_id, account_id)


@operation("RemoveAccountFromOrganization")
def remove_account_from_organization(call: Call, params: Params) -> Result:
    """The account stays a tenant of the server, in no organization."""
    caller = caller_for(call, MANAGEMENT)
    member = member_of(call, caller, params["AccountId"])
    if member.account_id == caller.org.management_account_id:
        raise ConstraintViolationException("ACCOUNT_CANNOT_LEAVE_ORGANIZATION",
                                           "You attempted to remove the management account from the organization. "
                                           "You can't remove the management account. Instead, after you remove all "
                                           "member accounts, delete the organization itself.")
    _leave(call, caller.org.org_id, member.account_id)
    return {}


@operation("LeaveOrganization")
def leave_organization(call: Call, params: Params) -> Result:
    caller = caller_for(call, MEMBER)
    if caller.is_management:
        raise MasterCannotLeaveOrganizationException(
            "You can't remove a management account from an organization. If you want the management account to "
            "become a member account in another organization, you must first delete the current organization of "
            "the management account.")
    _leave(call, caller.org.org_id, call.account_id)
    return {}
