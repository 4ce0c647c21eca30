"""Handshakes (invitations to join an organization): their states on the domain clock, their wire
form, and which transitions are allowed. Pure: no SQL, no I/O.

- An invitation is OPEN until the invited account accepts or declines it, the management
  account cancels it, or it expires 15 days after it was sent (EXPIRED); "Handshakes that are
  ACCEPTED, DECLINED, CANCELED, or EXPIRED appear in the results of this API for only 30 days
  after changing to that state. After that, they're deleted and no longer accessible."
  https://docs.aws.amazon.com/organizations/latest/APIReference/API_ListHandshakesForAccount.html
  https://docs.aws.amazon.com/organizations/latest/APIReference/API_InviteAccountToOrganization.html
- The Handshake data type, its parties and resources as AWS returns them (the API reference's
  InviteAccountToOrganization, DescribeHandshake and DeclineHandshake examples):
  https://docs.aws.amazon.com/organizations/latest/APIReference/API_Handshake.html

Must not: touch storage or decide who may act on a handshake (the operations do).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Any

from .domain import Organization, handshake_arn
from .errors import HandshakeAlreadyInStateException, HandshakeNotFoundException, InvalidHandshakeTransitionException

INVITE = "INVITE"
OPEN, ACCEPTED, DECLINED, CANCELED, EXPIRED = "OPEN", "ACCEPTED", "DECLINED", "CANCELED", "EXPIRED"
ACCOUNT_PARTY, EMAIL_PARTY, ORGANIZATION_PARTY = "ACCOUNT", "EMAIL", "ORGANIZATION"

EXPIRY = _dt.timedelta(days=15)
RETENTION = _dt.timedelta(days=30)


@dataclass(frozen=True, slots=True)
class Handshake:
    handshake_id: str
    org_id: str
    management_account_id: str
    action: str
    state: str                                    # as stored: OPEN, ACCEPTED, DECLINED, CANCELED
    target_type: str                              # ACCOUNT | EMAIL
    target_id: str
    target_account_id: str | None
    resources: tuple[dict[str, Any], ...]
    tags: tuple[tuple[str, str], ...]
    requested_at: _dt.datetime
    expires_at: _dt.datetime
    state_changed_at: _dt.datetime | None = None

    def state_at(self, now: _dt.datetime) -> str:
        """The state on the domain clock: an OPEN handshake past its expiration is EXPIRED."""
        if self.state == OPEN and now >= self.expires_at:
            return EXPIRED
        return self.state

    def visible_at(self, now: _dt.datetime) -> bool:
        """False once it has been ACCEPTED, DECLINED, CANCELED or EXPIRED for 30 days."""
        state = self.state_at(now)
        if state == OPEN:
            return True
        changed = self.expires_at if state == EXPIRED else (self.state_changed_at or self.requested_at)
        return now < changed + RETENTION

    def arn(self, partition: str) -> str:
        return handshake_arn(partition, self.management_account_id, self.org_id, self.action, self.handshake_id)

    def to_wire(self, partition: str, now: _dt.datetime) -> dict[str, Any]:
        return {"Id": self.handshake_id, "Arn": self.arn(partition),
                "Parties": [{"Id": self.org_id, "Type": ORGANIZATION_PARTY},
                            {"Id": self.target_id, "Type": self.target_type}],
                "State": self.state_at(now), "RequestedTimestamp": self.requested_at,
                "ExpirationTimestamp": self.expires_at, "Action": self.action,
                "Resources": [dict(r) for r in self.resources]}


def invite_resources(org: Organization, *, management_email: str, management_name: str, target_type: str,
                     target_id: str, notes: str | None) -> tuple[dict[str, Any], ...]:
    """The Resources of an invitation: the organization (with its management account's email
    and name and its feature set), the invited account or email, and the notes if any."""
    organization = {"Type": "ORGANIZATION", "Value": org.org_id, "Resources": [
        {"Type": "MASTER_EMAIL", "Value": management_email},
        {"Type": "MASTER_NAME", "Value": management_name},
        {"Type": "ORGANIZATION_FEATURE_SET", "Value": org.feature_set}]}
    out: list[dict[str, Any]] = [organization, {"Type": target_type, "Value": target_id}]
    if notes:
        out.append({"Type": "NOTES", "Value": notes})
    return tuple(out)


def require_transition(handshake: Handshake, now: _dt.datetime, wanted: str) -> None:
    """Only an OPEN handshake can be accepted, declined or canceled; asking for the state it is
    already in is HandshakeAlreadyInStateException."""
    state = handshake.state_at(now)
    if state == wanted:
        raise HandshakeAlreadyInStateException("The specified handshake is already in the requested state.")
    if state != OPEN:
        raise InvalidHandshakeTransitionException(
            "You can't perform the operation on the handshake in its current state.")


def not_found() -> HandshakeNotFoundException:
    return HandshakeNotFoundException("We can't find a handshake with the HandshakeId that you specified.")
