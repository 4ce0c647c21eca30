"""IAM groups, roles and instance profiles: entities and rules, pure.

Names are unique case-insensitively within an account; ARNs carry the path
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html). Quotas from
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html. A role's trust policy
is kept as the caller sent it; IAM returns policy documents URL-encoded in the query protocol
(botocore's ``json_decode_policies`` handler unquotes and parses them).

Must not: do I/O.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Final
from urllib.parse import quote

#: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
GROUPS_PER_USER: Final = 10
GROUPS_PER_ACCOUNT: Final = 300
ROLES_PER_ACCOUNT: Final = 1000
INSTANCE_PROFILES_PER_ACCOUNT: Final = 1000
ROLES_PER_INSTANCE_PROFILE: Final = 1          # "InstanceSessionsPerInstanceProfile"; cannot be raised
#: Role trust policy length (default quota; characters, white space not counted)
TRUST_POLICY_QUOTA: Final = 2048
#: https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html (MaxSessionDuration default)
DEFAULT_MAX_SESSION_DURATION: Final = 3600


def quota_message(name: str, value: int) -> str:
    """IAM's LimitExceeded wording, e.g. ``Cannot exceed quota for GroupsPerUser: 10``."""
    return f"Cannot exceed quota for {name}: {value}"


def group_arn(partition: str, account_id: str, path: str, name: str) -> str:
    return f"arn:{partition}:iam::{account_id}:group{path}{name}"


def role_arn(partition: str, account_id: str, path: str, name: str) -> str:
    return f"arn:{partition}:iam::{account_id}:role{path}{name}"


def instance_profile_arn(partition: str, account_id: str, path: str, name: str) -> str:
    return f"arn:{partition}:iam::{account_id}:instance-profile{path}{name}"


def policy_wire(document: str) -> str:
    """A policy document as IAM returns it: URL-encoded (RFC 3986 unreserved characters kept)."""
    return quote(document, safe="")


def tags_wire(tags: tuple[tuple[str, str], ...]) -> list[dict]:
    return [{"Key": k, "Value": v} for k, v in tags]


def merge_tags(current: tuple[tuple[str, str], ...], new: list[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """Tags after TagRole/TagUser: a key already present (any case) takes the new key and value in
    its place; other keys are appended in the order given."""
    out = list(current)
    index = {k.lower(): i for i, (k, _) in enumerate(out)}
    for k, v in new:
        i = index.get(k.lower())
        if i is None:
            index[k.lower()] = len(out)
            out.append((k, v))
        else:
            out[i] = (k, v)
    return tuple(out)


def remove_tags(current: tuple[tuple[str, str], ...], keys: list[str]) -> tuple[tuple[str, str], ...]:
    """Tags after UntagRole/UntagUser: keys match case-insensitively; absent keys are ignored."""
    gone = {k.lower() for k in keys}
    return tuple((k, v) for k, v in current if k.lower() not in gone)


@dataclass(frozen=True, slots=True)
class Group:
    account_id: str
    group_name: str
    group_id: str
    path: str
    arn: str
    created_at: _dt.datetime

    @classmethod
    def new(cls, *, account_id: str, partition: str, group_name: str, path: str | None, group_id: str,
            now: _dt.datetime) -> "Group":
        path = path or "/"
        return cls(account_id=account_id, group_name=group_name, group_id=group_id, path=path,
                   arn=group_arn(partition, account_id, path, group_name), created_at=now)

    def to_wire(self) -> dict:
        return {"Path": self.path, "GroupName": self.group_name, "GroupId": self.group_id,
                "Arn": self.arn, "CreateDate": self.created_at}


@dataclass(frozen=True, slots=True)
class Role:
    account_id: str
    role_name: str
    role_id: str
    path: str
    arn: str
    created_at: _dt.datetime
    assume_role_policy: str
    max_session_duration: int = DEFAULT_MAX_SESSION_DURATION
    description: str | None = None
    permissions_boundary_arn: str | None = None
    last_used_at: _dt.datetime | None = None
    last_used_region: str | None = None
    tags: tuple[tuple[str, str], ...] = ()

    @classmethod
    def new(cls, *, account_id: str, partition: str, role_name: str, path: str | None, role_id: str,
            now: _dt.datetime, assume_role_policy: str, max_session_duration: int | None = None,
            description: str | None = None, permissions_boundary_arn: str | None = None,
            tags: tuple[tuple[str, str], ...] = ()) -> "Role":
        path = path or "/"
        return cls(account_id=account_id, role_name=role_name, role_id=role_id, path=path,
                   arn=role_arn(partition, account_id, path, role_name), created_at=now,
                   assume_role_policy=assume_role_policy,
                   max_session_duration=max_session_duration or DEFAULT_MAX_SESSION_DURATION,
                   description=description, permissions_boundary_arn=permissions_boundary_arn, tags=tags)

    def to_wire(self, *, full: bool = True) -> dict:
        """GetRole's Role (``full``), or the summary ListRoles, CreateRole and instance profiles
        carry: without PermissionsBoundary, Tags and RoleLastUsed
        (https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListRoles.html)."""
        out: dict = {"Path": self.path, "RoleName": self.role_name, "RoleId": self.role_id, "Arn": self.arn,
                     "CreateDate": self.created_at,
                     "AssumeRolePolicyDocument": policy_wire(self.assume_role_policy),
                     "MaxSessionDuration": self.max_session_duration}
        if self.description is not None:
            out["Description"] = self.description
        if not full:
            return out
        if self.permissions_boundary_arn:
            out["PermissionsBoundary"] = {"PermissionsBoundaryType": "Policy",
                                          "PermissionsBoundaryArn": self.permissions_boundary_arn}
        if self.tags:
            out["Tags"] = tags_wire(self.tags)
        last: dict = {}
        if self.last_used_at is not None:
            last["LastUsedDate"] = self.last_used_at
            if self.last_used_region:
                last["Region"] = self.last_used_region
        out["RoleLastUsed"] = last
        return out


@dataclass(frozen=True, slots=True)
class InstanceProfile:
    account_id: str
    instance_profile_name: str
    instance_profile_id: str
    path: str
    arn: str
    created_at: _dt.datetime
    roles: tuple[Role, ...] = ()
    tags: tuple[tuple[str, str], ...] = ()

    @classmethod
    def new(cls, *, account_id: str, partition: str, name: str, path: str | None, instance_profile_id: str,
            now: _dt.datetime, tags: tuple[tuple[str, str], ...] = ()) -> "InstanceProfile":
        path = path or "/"
        return cls(account_id=account_id, instance_profile_name=name, instance_profile_id=instance_profile_id,
                   path=path, arn=instance_profile_arn(partition, account_id, path, name), created_at=now,
                   tags=tags)

    def to_wire(self) -> dict:
        out: dict = {"Path": self.path, "InstanceProfileName": self.instance_profile_name,
                     "InstanceProfileId": self.instance_profile_id, "Arn": self.arn,
                     "CreateDate": self.created_at, "Roles": [r.to_wire(full=False) for r in self.roles]}
        if self.tags:
            out["Tags"] = tags_wire(self.tags)
        return out
