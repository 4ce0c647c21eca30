"""IAM's entities and rules, pure: users and their long-term access keys.

Names of IAM entities are unique case-insensitively within an account; ARNs carry the path.
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html

Must not: do I/O.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

#: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
ACCESS_KEYS_PER_USER = 2
ACTIVE, INACTIVE = "Active", "Inactive"
#: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_tags.html#id_tags_rules_creating
MAX_TAGS = 50


def check_tags(tags: list[dict]) -> list[tuple[str, str]]:
    """(key, value) pairs of a Tags list, refusing duplicate keys (case-insensitively) and too
    many tags with IAM's errors."""
    from .errors import InvalidInput, LimitExceeded

    pairs = [(t["Key"], t["Value"]) for t in tags]
    if len({k.lower() for k, _ in pairs}) != len(pairs):
        raise InvalidInput("Duplicate tag keys found. Please note that Tag keys are case insensitive.")
    if len(pairs) > MAX_TAGS:
        raise LimitExceeded(f"The number of tags has reached the maximum limit of {MAX_TAGS}.")
    return pairs


def name_key(name: str) -> str:
    """The case-insensitive identity of an IAM entity name."""
    return name.lower()


def user_arn(partition: str, account_id: str, path: str, user_name: str) -> str:
    return f"arn:{partition}:iam::{account_id}:user{path}{user_name}"


def is_policy_arn(arn: str, partition: str) -> bool:
    """A managed policy's ARN: AWS managed (account ``aws``) or customer managed."""
    head = f"arn:{partition}:iam::"
    if not arn.startswith(head):
        return False
    account, _, rest = arn[len(head):].partition(":")
    return (account == "aws" or (len(account) == 12 and account.isdigit())) and rest.startswith("policy/") \
        and len(rest) > len("policy/")


def root_arn(partition: str, account_id: str) -> str:
    return f"arn:{partition}:iam::{account_id}:root"


@dataclass(frozen=True, slots=True)
class User:
    account_id: str
    user_name: str
    user_id: str
    path: str
    arn: str
    created_at: _dt.datetime
    permissions_boundary_arn: str | None = None
    password_last_used: _dt.datetime | None = None
    tags: tuple[tuple[str, str], ...] = ()

    @classmethod
    def new(cls, *, account_id: str, partition: str, user_name: str, path: str | None,
            user_id: str, now: _dt.datetime, permissions_boundary_arn: str | None = None,
            tags: tuple[tuple[str, str], ...] = ()) -> "User":
        path = path or "/"
        return cls(account_id=account_id, user_name=user_name, user_id=user_id, path=path,
                   arn=user_arn(partition, account_id, path, user_name), created_at=now,
                   permissions_boundary_arn=permissions_boundary_arn, tags=tags)

    def to_wire(self, *, with_tags: bool = True) -> dict:
        out: dict = {"Path": self.path, "UserName": self.user_name, "UserId": self.user_id,
                     "Arn": self.arn, "CreateDate": self.created_at}
        if self.password_last_used:
            out["PasswordLastUsed"] = self.password_last_used
        if self.permissions_boundary_arn:
            out["PermissionsBoundary"] = {"PermissionsBoundaryType": "Policy",
                                          "PermissionsBoundaryArn": self.permissions_boundary_arn}
        if with_tags and self.tags:
            out["Tags"] = [{"Key": k, "Value": v} for k, v in self.tags]
        return out


@dataclass(frozen=True, slots=True)
class AccessKey:
    access_key_id: str
    account_id: str
    user_name: str | None        # None: the account's root user
    status: str
    created_at: _dt.datetime
    last_used_at: _dt.datetime | None = None
    last_used_service: str | None = None
    last_used_region: str | None = None

    def metadata_wire(self, owner_name: str) -> dict:
        return {"UserName": owner_name, "AccessKeyId": self.access_key_id, "Status": self.status,
                "CreateDate": self.created_at}

    def last_used_wire(self) -> dict:
        # A key never used: ServiceName and Region are "N/A" and LastUsedDate is absent.
        # https://docs.aws.amazon.com/IAM/latest/APIReference/API_AccessKeyLastUsed.html
        if self.last_used_at is None:
            return {"ServiceName": "N/A", "Region": "N/A"}
        return {"LastUsedDate": self.last_used_at, "ServiceName": self.last_used_service or "N/A",
                "Region": self.last_used_region or "N/A"}
