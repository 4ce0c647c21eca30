"""The SQL of handshakes, CreateAccount requests, trusted service access and delegated
administrators. None of these is read by authorization, so nothing here bumps a generation.

Must not: hold rules or build wire responses.
"""

from __future__ import annotations

import datetime as _dt
import json
from typing import Any

from sqlalchemy import and_, delete, insert, select, update

from cloudkeep.storage.schema import org_create_account_requests, org_delegated_admins, org_handshakes, \
    org_service_access

from .domain_handshakes import OPEN, Handshake

_H = org_handshakes.c
_R = org_create_account_requests.c
_S = org_service_access.c
_D = org_delegated_admins.c


# --- handshakes ----------------------------------------------------------------------------------


def _handshake(row: Any) -> Handshake:
    return Handshake(handshake_id=row.handshake_id, org_id=row.org_id, management_account_id=row.management_account_id,
                     action=row.action, state=row.state, target_type=row.target_type, target_id=row.target_id,
                     target_account_id=row.target_account_id, resources=tuple(json.loads(row.resources)),
                     tags=tuple(tuple(t) for t in json.loads(row.tags or "[]")), requested_at=row.requested_at,
                     expires_at=row.expires_at, state_changed_at=row.state_changed_at)


def add_handshake(uow: Any, h: Handshake) -> None:
    uow.execute(insert(org_handshakes).values(
        handshake_id=h.handshake_id, org_id=h.org_id, management_account_id=h.management_account_id, action=h.action,
        state=h.state, target_type=h.target_type, target_id=h.target_id, target_account_id=h.target_account_id,
        resources=json.dumps(list(h.resources)), tags=json.dumps([list(t) for t in h.tags]) if h.tags else None,
        requested_at=h.requested_at, expires_at=h.expires_at, state_changed_at=h.state_changed_at))


def get_handshake(uow: Any, handshake_id: str) -> Handshake | None:
    row = uow.execute(select(org_handshakes).where(_H.handshake_id == handshake_id)).first()
    return None if row is None else _handshake(row)


def handshakes_of_org(uow: Any, org_id: str) -> list[Handshake]:
    return [_handshake(r) for r in uow.execute(select(org_handshakes).where(_H.org_id == org_id))]


def handshakes_for_account(uow: Any, account_id: str) -> list[Handshake]:
    return [_handshake(r) for r in uow.execute(select(org_handshakes).where(_H.target_account_id == account_id))]


def open_invitations(uow: Any, org_id: str, target_account_id: str) -> list[Handshake]:
    return [_handshake(r) for r in uow.execute(select(org_handshakes).where(and_(
        _H.org_id == org_id, _H.target_account_id == target_account_id, _H.state == OPEN)))]


def set_handshake_state(uow: Any, handshake_id: str, state: str, at: _dt.datetime) -> None:
    uow.execute(update(org_handshakes).where(_H.handshake_id == handshake_id).values(state=state,
                                                                                     state_changed_at=at))


# --- CreateAccount requests ------------------------------------------------------------------------


def add_request(uow: Any, *, request_id: str, org_id: str, account_name: str, state: str, account_id: str | None,
                failure_reason: str | None, requested_at: _dt.datetime, completed_at: _dt.datetime | None) -> None:
    uow.execute(insert(org_create_account_requests).values(
        request_id=request_id, org_id=org_id, account_name=account_name, state=state, account_id=account_id,
        failure_reason=failure_reason, requested_at=requested_at, completed_at=completed_at))


def get_request(uow: Any, org_id: str, request_id: str) -> Any:
    return uow.execute(select(org_create_account_requests).where(and_(_R.org_id == org_id,
                                                                      _R.request_id == request_id))).first()


def requests(uow: Any, org_id: str) -> list[Any]:
    return list(uow.execute(select(org_create_account_requests).where(_R.org_id == org_id)))


# --- trusted access and delegated administrators ---------------------------------------------------


def service_access(uow: Any, org_id: str) -> list[Any]:
    """(service_principal, enabled_at) rows."""
    return list(uow.execute(select(_S.service_principal, _S.enabled_at).where(_S.org_id == org_id)))


def service_enabled(uow: Any, org_id: str, principal: str) -> bool:
    return uow.execute(select(_S.service_principal).where(and_(_S.org_id == org_id,
                                                               _S.service_principal == principal))).first() is not None


def enable_service(uow: Any, org_id: str, principal: str, now: _dt.datetime) -> None:
    uow.execute(insert(org_service_access).values(org_id=org_id, service_principal=principal, enabled_at=now))


def disable_service(uow: Any, org_id: str, principal: str) -> None:
    uow.execute(delete(org_service_access).where(and_(_S.org_id == org_id, _S.service_principal == principal)))


def delegations(uow: Any, org_id: str, *, account_id: str | None = None,
                principal: str | None = None) -> list[Any]:
    """(account_id, service_principal, enabled_at) rows of the organization's delegated administrators."""
    query = select(_D.account_id, _D.service_principal, _D.enabled_at).where(_D.org_id == org_id)
    if account_id is not None:
        query = query.where(_D.account_id == account_id)
    if principal is not None:
        query = query.where(_D.service_principal == principal)
    return list(uow.execute(query))


def register(uow: Any, org_id: str, account_id: str, principal: str, now: _dt.datetime) -> None:
    uow.execute(insert(org_delegated_admins).values(org_id=org_id, account_id=account_id,
                                                    service_principal=principal, enabled_at=now))


def deregister(uow: Any, org_id: str, account_id: str, principal: str) -> int:
    return uow.execute(delete(org_delegated_admins).where(and_(
        _D.org_id == org_id, _D.account_id == account_id, _D.service_principal == principal))).rowcount
