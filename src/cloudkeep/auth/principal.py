"""Who made a request: the ``Principal`` that authentication resolves a caller to.

Must not: hold policy logic or storage access.
"""

from __future__ import annotations

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

    @property
    def is_root(self) -> bool:
        return self.type is PrincipalType.ROOT


ANONYMOUS = Principal(type=PrincipalType.ANONYMOUS, account_id="", arn="*", principal_id="anonymous")
