"""Who made a request: the ``Principal`` that authentication resolves a caller to.

Must not: hold policy logic or storage access.
"""

from __future__ import annotations

import datetime as _dt
import enum
from dataclasses import dataclass


class PrincipalType(enum.Enum):
    ROOT = "Root"
    IAM_USER = "IAMUser"
    ASSUMED_ROLE = "AssumedRole"
    FEDERATED_USER = "FederatedUser"
    WEB_IDENTITY = "WebIdentityUser"
    AWS_SERVICE = "AWSService"
    ANONYMOUS = "Anonymous"


@dataclass(frozen=True, slots=True)
class Principal:
    type: PrincipalType
    account_id: str                 # the account the principal belongs to ("" for anonymous)
    arn: str                        # e.g. arn:aws:iam::123456789012:root, arn:aws:iam::1234:user/alice
    principal_id: str               # root: the account id; IAM user: its AIDA… id
    access_key_id: str | None = None
    user_name: str | None = None    # IAM users: their name; root: None
    session_token: str | None = None
    partition: str = "aws"
    # --- temporary credentials (STS sessions) ---------------------------------------------
    #: role sessions: the role's ARN (with its path) and its unique id (AROA…); federated users:
    #: the IAM user that called GetFederationToken
    parent_arn: str | None = None
    parent_id: str | None = None
    session_name: str | None = None
    #: session policies passed when the session was made: None when none were passed,
    #: else (name, JSON document) pairs (inline, then managed policies by ARN)
    session_policies: tuple[tuple[str, str], ...] | None = None
    session_tags: tuple[tuple[str, str], ...] = ()
    source_identity: str | None = None
    mfa_authenticated: bool | None = None      # None: long-term key (aws:MultiFactorAuthPresent absent)
    mfa_authenticated_at: _dt.datetime | None = None
    token_issued_at: _dt.datetime | None = None
    expires_at: _dt.datetime | None = None

    @property
    def is_root(self) -> bool:
        return self.type is PrincipalType.ROOT


ANONYMOUS = Principal(type=PrincipalType.ANONYMOUS, account_id="", arn="*", principal_id="anonymous")
