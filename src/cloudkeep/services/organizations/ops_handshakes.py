"""Organizations operations on invitations: InviteAccountToOrganization, AcceptHandshake,
DeclineHandshake, CancelHandshake, DescribeHandshake, ListHandshakesForAccount and
ListHandshakesForOrganization.

- The invited account must be an account of this server in no organization
  (HandshakeConstraintViolationException ALREADY_IN_AN_ORGANIZATION); an EMAIL target is the
  account whose root email it is (InvalidInputException INVALID_EMAIL_ADDRESS_TARGET when there
  is none); a second open invitation to the same account is DuplicateHandshakeException.
  https://docs.aws.amazon.com/organizations/latest/APIReference/API_InviteAccountToOrganization.html
- Only the invited account accepts or declines ("Only the account that receives a handshake can
  call this operation"); only the management account that sent it cancels ("Only the account
  that sent a handshake can call this operation"). Accepting puts the account under the root.
  https://docs.aws.amazon.com/organizations/latest/APIReference/API_AcceptHandshake.html
- A handshake is visible to the account it invites and to its organization's management account
  and delegated administrators, while it is open and for 30 days after it ended.

Must not: import the pipeline; hold SQL or rules.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from cloudkeep.services.framework import Call, Params, Result
from cloudkeep.services.iam import provisioning

from . import domain as D
from . import domain_handshakes as DH
from . import paging
from . import repo_handshakes as HR
from . import repository as repo
from .authz import ANYONE, DELEGATED, MANAGEMENT, caller_for
from .domain import Member
from .domain_handshakes import Handshake
from .errors import (DuplicateHandshakeException, HandshakeConstraintViolationException, InvalidInputException,
                     access_denied, invalid_pattern)
from .operations import attach_defaults, operation, unique


def visible_handshake(uow: Any, account_id: str, handshake_id: str, now: _dt.datetime | None = None) -> Handshake:
    """The handshake if ``account_id`` may see it (the invited account, or the management
    account or a delegated administrator of its organization), else HandshakeNotFoundException."""
    found = HR.get_handshake(uow, handshake_id) if D.HANDSHAKE_ID.fullmatch(handshake_id) else None
    if found is None or (now is not None and not found.visible_at(now)):
        raise DH.not_found()
    if found.target_account_id == account_id:
        return found
    caller = repo.caller(uow, account_id)
    if caller is not None and caller.org.org_id == found.org_id and (caller.is_management or caller.delegated_admin):
        return found
    raise DH.not_found()


def _already_in_organization() -> HandshakeConstraintViolationException:
    return HandshakeConstraintViolationException(
        "ALREADY_IN_AN_ORGANIZATION",
        "The handshake request is invalid because the invited account is already a member of an organization.")


def _invited_account(call: Call, party: dict[str, str]) -> str:
    party_type, party_id = party["Type"], party["Id"]
    if party_type == DH.ACCOUNT_PARTY:
        if not D.ACCOUNT_ID.fullmatch(party_id):
            raise invalid_pattern()
        if not provisioning.account_exists(call.uow, party_id):
            raise InvalidInputException("INVALID_PARTY_TYPE_TARGET", "The specified account doesn't exist.")
        return party_id
    if party_type == DH.EMAIL_PARTY:
        found = provisioning.account_by_email(call.uow, party_id)
        if found is None:
            raise InvalidInputException("INVALID_EMAIL_ADDRESS_TARGET",
                                        "You specified an invalid email address for the invited account owner.")
        return found
    raise InvalidInputException("INVALID_PARTY_TYPE_TARGET", "You specified the wrong type of entity (account, "
                                                             "organization, or email) as a party.")


@operation("InviteAccountToOrganization")
def invite_account_to_organization(call: Call, params: Params) -> Result:
    caller = caller_for(call, MANAGEMENT)
    org = caller.org
    party = params["Target"]
    account_id = _invited_account(call, party)
    if repo.get_member(call.uow, account_id) is not None:
        raise _already_in_organization()
    now = call.clock.now()
    if any(h.state_at(now) == DH.OPEN for h in HR.open_invitations(call.uow, org.org_id, account_id)):
        raise DuplicateHandshakeException("A handshake with the same action and target already exists.")
    tags = D.merged_tags({}, D.check_tags(params.get("Tags") or []))
    resources = DH.invite_resources(org, management_email=provisioning.account_email(call.uow, call.account_id) or "",
                                    management_name=caller.member.name, target_type=party["Type"],
                                    target_id=party["Id"], notes=params.get("Notes"))
    handshake = Handshake(handshake_id=D.new_handshake_id(call.ids), org_id=org.org_id,
                          management_account_id=org.management_account_id, action=DH.INVITE, state=DH.OPEN,
                          target_type=party["Type"], target_id=party["Id"], target_account_id=account_id,
                          resources=resources, tags=tuple(tags.items()), requested_at=now,
                          expires_at=now + DH.EXPIRY)
    HR.add_handshake(call.uow, handshake)
    return {"Handshake": handshake.to_wire(call.partition, now)}


def _respond(call: Call, params: Params, state: str) -> Handshake:
    """The invited account answers: the handshake it may see, in a state that allows it."""
    now = call.clock.now()
    handshake = visible_handshake(call.uow, call.account_id, params["HandshakeId"], now)
    if handshake.target_account_id != call.account_id:
        raise access_denied()
    DH.require_transition(handshake, now, state)
    return handshake


def _after(call: Call, handshake_id: str) -> Result:
    found = HR.get_handshake(call.uow, handshake_id)
    assert found is not None
    return {"Handshake": found.to_wire(call.partition, call.clock.now())}


@operation("AcceptHandshake")
def accept_handshake(call: Call, params: Params) -> Result:
    handshake = _respond(call, params, DH.ACCEPTED)
    org = repo.get_org(call.uow, handshake.org_id)
    if org is None:
        raise DH.not_found()
    if repo.get_member(call.uow, call.account_id) is not None:
        raise _already_in_organization()
    now = call.clock.now()
    joined = Member(account_id=call.account_id, org_id=org.org_id, parent_id=org.root_id, name=call.account_id,
                    email="", status=D.ACTIVE, joined_method=D.INVITED, joined_at=now)
    unique(call, lambda: repo.add_member(call.uow, joined), _already_in_organization)
    attach_defaults(call, org, [call.account_id])
    if handshake.tags:
        repo.set_tags(call.uow, org.org_id, call.account_id, dict(handshake.tags))
    HR.set_handshake_state(call.uow, handshake.handshake_id, DH.ACCEPTED, now)
    return _after(call, handshake.handshake_id)


@operation("DeclineHandshake")
def decline_handshake(call: Call, params: Params) -> Result:
    handshake = _respond(call, params, DH.DECLINED)
    HR.set_handshake_state(call.uow, handshake.handshake_id, DH.DECLINED, call.clock.now())
    return _after(call, handshake.handshake_id)


@operation("CancelHandshake")
def cancel_handshake(call: Call, params: Params) -> Result:
    now = call.clock.now()
    handshake = visible_handshake(call.uow, call.account_id, params["HandshakeId"], now)
    if handshake.management_account_id != call.account_id:
        raise access_denied()
    caller_for(call, MANAGEMENT)
    DH.require_transition(handshake, now, DH.CANCELED)
    HR.set_handshake_state(call.uow, handshake.handshake_id, DH.CANCELED, now)
    return _after(call, handshake.handshake_id)


@operation("DescribeHandshake")
def describe_handshake(call: Call, params: Params) -> Result:
    now = call.clock.now()
    handshake = visible_handshake(call.uow, call.account_id, params["HandshakeId"], now)
    return {"Handshake": handshake.to_wire(call.partition, now)}


def _listed(call: Call, params: Params, handshakes: list[Handshake], scope: str) -> Result:
    now = call.clock.now()
    wanted = params.get("Filter") or {}
    if wanted.get("ActionType") and wanted.get("ParentHandshakeId"):
        raise InvalidInputException("MAX_LIMIT_EXCEEDED_FILTER",
                                    "You can specify only one filter parameter for the operation.")
    found = [h for h in handshakes if h.visible_at(now)
             and (not wanted.get("ActionType") or h.action == wanted["ActionType"])
             and not wanted.get("ParentHandshakeId")]           # invitations have no parent handshake
    scope = f"{scope}:{wanted.get('ActionType') or ''}:{wanted.get('ParentHandshakeId') or ''}"
    chunk, token = paging.page(found, params, scope, lambda h: (h.requested_at.isoformat(), h.handshake_id))
    return paging.result("Handshakes", [h.to_wire(call.partition, now) for h in chunk], token)


@operation("ListHandshakesForAccount")
def list_handshakes_for_account(call: Call, params: Params) -> Result:
    caller_for(call, ANYONE)
    return _listed(call, params, HR.handshakes_for_account(call.uow, call.account_id), "ListHandshakesForAccount")


@operation("ListHandshakesForOrganization")
def list_handshakes_for_organization(call: Call, params: Params) -> Result:
    caller = caller_for(call, DELEGATED)
    return _listed(call, params, HR.handshakes_of_org(call.uow, caller.org.org_id), "ListHandshakesForOrganization")
