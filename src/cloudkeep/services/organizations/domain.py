"""AWS Organizations: the organization, its root, OUs and member accounts; their ids and ARNs,
their wire forms, and the rules of the tree. Pure: no SQL, no I/O.

Ids (https://docs.aws.amazon.com/organizations/latest/APIReference/API_Organization.html and the
other data types' patterns): organization ``o-`` + 10 lower-case letters or digits; root ``r-`` +
4; OU ``ou-<the root's 4>-<8>``; policy ``p-`` + 8; handshake ``h-`` + 10; CreateAccount request
``car-`` + 32. ARNs: "ARN Formats Supported by Organizations",
https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsorganizations.html

Must not: touch storage (``repository.py``) or the wire beyond the response shapes built here.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass
from typing import Any, Callable

from .errors import ConstraintViolationException, InvalidInputException

ALL, CONSOLIDATED_BILLING = "ALL", "CONSOLIDATED_BILLING"
ACTIVE, SUSPENDED, PENDING_CLOSURE = "ACTIVE", "SUSPENDED", "PENDING_CLOSURE"
INVITED, CREATED = "INVITED", "CREATED"
ROOT, ORGANIZATIONAL_UNIT, ACCOUNT, POLICY = "ROOT", "ORGANIZATIONAL_UNIT", "ACCOUNT", "POLICY"
ROOT_NAME = "Root"

#: "You can nest OUs up to five levels deep under the root" (Quotas for AWS Organizations:
#: "OU maximum nesting in a root: 5 levels of OUs deep under a root");
#: https://docs.aws.amazon.com/organizations/latest/userguide/orgs_reference_limits.html
MAX_OU_DEPTH = 5
MAX_OUS = 2000                    # "Number of OUs in an organization: 2,000" (same page)
MAX_TAGS = 50                     # "Number of tags per resource" (same page)

_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"

ACCOUNT_ID = re.compile(r"\d{12}")
ROOT_ID = re.compile(r"r-[0-9a-z]{4,32}")
OU_ID = re.compile(r"ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}")
POLICY_ID = re.compile(r"p-[0-9a-zA-Z_]{8,128}")
HANDSHAKE_ID = re.compile(r"h-[0-9a-z]{8,32}")


# --- ids ---------------------------------------------------------------------------------------


def _alnum(token_bytes: Callable[[int], bytes], n: int) -> str:
    return "".join(_ALNUM[b % len(_ALNUM)] for b in token_bytes(n))


def new_org_id(ids: Any) -> str:
    return "o-" + _alnum(ids.token_bytes, 10)


def new_root_id(ids: Any) -> str:
    return "r-" + _alnum(ids.token_bytes, 4)


def new_ou_id(ids: Any, root_id: str) -> str:
    return f"ou-{root_id[2:]}-{_alnum(ids.token_bytes, 8)}"


def new_policy_id(ids: Any) -> str:
    return "p-" + _alnum(ids.token_bytes, 8)


def new_handshake_id(ids: Any) -> str:
    return "h-" + _alnum(ids.token_bytes, 10)


def new_create_account_request_id(ids: Any) -> str:
    return "car-" + _alnum(ids.token_bytes, 32)


def target_kind(target_id: str) -> str | None:
    """ROOT, ORGANIZATIONAL_UNIT, ACCOUNT or POLICY by the form of the id; None if none."""
    for kind, pattern in ((ACCOUNT, ACCOUNT_ID), (ROOT, ROOT_ID), (ORGANIZATIONAL_UNIT, OU_ID), (POLICY, POLICY_ID)):
        if pattern.fullmatch(target_id):
            return kind
    return None


# --- ARNs --------------------------------------------------------------------------------------


def _base(partition: str, management: str) -> str:
    return f"arn:{partition}:organizations::{management}"


def organization_arn(partition: str, management: str, org_id: str) -> str:
    return f"{_base(partition, management)}:organization/{org_id}"


def root_arn(partition: str, management: str, org_id: str, root_id: str) -> str:
    return f"{_base(partition, management)}:root/{org_id}/{root_id}"


def ou_arn(partition: str, management: str, org_id: str, ou_id: str) -> str:
    return f"{_base(partition, management)}:ou/{org_id}/{ou_id}"


def account_arn(partition: str, management: str, org_id: str, account_id: str) -> str:
    return f"{_base(partition, management)}:account/{org_id}/{account_id}"


def handshake_arn(partition: str, management: str, org_id: str, action: str, handshake_id: str) -> str:
    return f"{_base(partition, management)}:handshake/{org_id}/{action.lower()}/{handshake_id}"


def target_arn(partition: str, management: str, org_id: str, target_id: str) -> str:
    """The ARN of a root, OU or account by its id."""
    kind = target_kind(target_id)
    if kind == ROOT:
        return root_arn(partition, management, org_id, target_id)
    if kind == ORGANIZATIONAL_UNIT:
        return ou_arn(partition, management, org_id, target_id)
    return account_arn(partition, management, org_id, target_id)


# --- entities ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Organization:
    org_id: str
    management_account_id: str
    root_id: str
    feature_set: str
    created_at: _dt.datetime

    def arn(self, partition: str) -> str:
        return organization_arn(partition, self.management_account_id, self.org_id)

    def to_wire(self, partition: str, management_email: str) -> dict[str, Any]:
        """DescribeOrganization's Organization. AvailablePolicyTypes is deprecated ("To
        determine the policies that are enabled and available for use in your organization, use
        the ListRoots operation instead"); AWS still answers it with SCPs ENABLED for an
        organization with all features (the API reference's DescribeOrganization example).
        https://docs.aws.amazon.com/organizations/latest/APIReference/API_DescribeOrganization.html"""
        available = ([{"Type": "SERVICE_CONTROL_POLICY", "Status": "ENABLED"}]
                     if self.feature_set == ALL else [])
        return {"Id": self.org_id, "Arn": self.arn(partition), "FeatureSet": self.feature_set,
                "MasterAccountArn": account_arn(partition, self.management_account_id, self.org_id,
                                                self.management_account_id),
                "MasterAccountId": self.management_account_id, "MasterAccountEmail": management_email,
                "AvailablePolicyTypes": available}


@dataclass(frozen=True, slots=True)
class Member:
    """An account in an organization (its root email comes from the account itself)."""

    account_id: str
    org_id: str
    parent_id: str
    name: str
    email: str
    status: str
    joined_method: str
    joined_at: _dt.datetime
    closed_at: _dt.datetime | None = None

    def to_wire(self, partition: str, management: str) -> dict[str, Any]:
        """The Account data type: Status (to be retired) and its successor State.
        https://docs.aws.amazon.com/organizations/latest/APIReference/API_Account.html"""
        return {"Id": self.account_id, "Arn": account_arn(partition, management, self.org_id, self.account_id),
                "Email": self.email, "Name": self.name, "Status": self.status, "State": self.status,
                "JoinedMethod": self.joined_method, "JoinedTimestamp": self.joined_at}


@dataclass(frozen=True, slots=True)
class OrgUnit:
    ou_id: str
    org_id: str
    parent_id: str
    name: str
    path: str                     # ids from the root down to this OU, each followed by "/"
    depth: int                    # 1: directly under the root

    def to_wire(self, partition: str, management: str) -> dict[str, Any]:
        return {"Id": self.ou_id, "Arn": ou_arn(partition, management, self.org_id, self.ou_id), "Name": self.name}


@dataclass(frozen=True, slots=True)
class Caller:
    """The caller's account as Organizations sees it: its organization, and whether it is the
    management account or a delegated administrator there."""

    account_id: str
    org: Organization
    member: Member
    delegated_admin: bool

    @property
    def is_management(self) -> bool:
        return self.account_id == self.org.management_account_id


def root_wire(partition: str, org: Organization, enabled_types: list[str]) -> dict[str, Any]:
    """The Root data type, PolicyTypes listing the enabled types (Status ENABLED).
    https://docs.aws.amazon.com/organizations/latest/APIReference/API_Root.html"""
    return {"Id": org.root_id, "Arn": root_arn(partition, org.management_account_id, org.org_id, org.root_id),
            "Name": ROOT_NAME, "PolicyTypes": [{"Type": t, "Status": "ENABLED"} for t in sorted(enabled_types)]}


# --- rules of the tree -------------------------------------------------------------------------


def child_path(parent_path: str, child_id: str) -> str:
    return f"{parent_path}{child_id}/"


def check_depth(parent_depth: int) -> None:
    """CreateOrganizationalUnit under a parent already MAX_OU_DEPTH levels below the root."""
    if parent_depth >= MAX_OU_DEPTH:
        raise ConstraintViolationException("OU_DEPTH_LIMIT_EXCEEDED",
                                           "You attempted to create an OU tree that is too many levels deep.")


def check_ou_count(count: int) -> None:
    if count >= MAX_OUS:
        raise ConstraintViolationException("OU_NUMBER_LIMIT_EXCEEDED",
                                           "You attempted to exceed the number of OUs that you can have in an "
                                           "organization.")


# --- tags --------------------------------------------------------------------------------------


def check_tags(tags: list[dict[str, str]]) -> list[tuple[str, str]]:
    """(key, value) pairs of a Tags parameter: no key twice, no system (``aws:``) keys."""
    pairs = [(t["Key"], t.get("Value", "")) for t in tags]
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise InvalidInputException("DUPLICATE_TAG_KEY",
                                    "Tag keys must be unique among the tags attached to the same entity.")
    if any(k.lower().startswith("aws:") for k in keys):
        raise InvalidInputException("INVALID_SYSTEM_TAGS_PARAMETER",
                                    "You specified a tag key that is a system tag. You can't add, edit, or delete "
                                    "system tag keys because they're reserved for AWS use.")
    return pairs


def merged_tags(current: dict[str, str], new: list[tuple[str, str]]) -> dict[str, str]:
    merged = {**current, **dict(new)}
    if len(merged) > MAX_TAGS:
        raise ConstraintViolationException("MAX_TAG_LIMIT_EXCEEDED",
                                           "You have exceeded the number of tags allowed on this resource.")
    return merged


def tags_wire(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]
