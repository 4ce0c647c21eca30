"""IAM policies as values, pure: managed policies and their versions, inline policies, the
quotas and ARNs that govern them.

- Managed policies live at ``arn:<partition>:iam::<account>:policy<path><name>``; AWS managed ones
  use the account ``aws`` (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html).
- A managed policy keeps at most 5 versions; ids ``v1``, ``v2``, … are never reused
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_managed-versioning.html).
- Quotas (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html): 10 managed
  policies per user, group or role by default; inline policies' aggregate size per user 2,048,
  group 5,120, role 10,240 characters; whitespace is not counted.
- Documents go on the query wire URL-encoded, as IAM sends them (botocore decodes them).

Must not: do I/O.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Final
from urllib.parse import quote

from cloudkeep.policy.parse import policy_size

USER, GROUP, ROLE = "user", "group", "role"
ENTITY_TYPES: Final = (USER, GROUP, ROLE)

MAX_VERSIONS: Final = 5
#: managed policies attached per entity (AWS's default quota)
MANAGED_PER_ENTITY: Final = {USER: 10, GROUP: 10, ROLE: 10}
QUOTA_NAMES: Final = {USER: "PoliciesPerUser", GROUP: "PoliciesPerGroup", ROLE: "PoliciesPerRole"}
MANAGED_POLICY_SIZE: Final = 6144
INLINE_AGGREGATE: Final = {USER: 2048, GROUP: 5120, ROLE: 10240}
#: AWS managed policies for service-linked roles; IAM refuses to attach them to anything else.
SERVICE_LINKED_PATH: Final = "/aws-service-role/"
AWS_ACCOUNT: Final = "aws"


def policy_arn(partition: str, account: str, path: str, name: str) -> str:
    return f"arn:{partition}:iam::{account}:policy{path}{name}"


def split_policy_arn(arn: str, partition: str) -> tuple[str, str, str] | None:
    """(account, path, name) of a managed policy ARN, or None if it is not one."""
    head = f"arn:{partition}:iam::"
    if not arn.startswith(head):
        return None
    account, sep, rest = arn[len(head):].partition(":")
    if not sep or not rest.startswith("policy/"):
        return None
    if account != AWS_ACCOUNT and not (len(account) == 12 and account.isdigit()):
        return None
    body = rest[len("policy"):]
    path, _, name = body.rpartition("/")
    if not name:
        return None
    return account, path + "/", name


def version_id(number: int) -> str:
    return f"v{number}"


def version_number(vid: str) -> int | None:
    """The number of a version id ``v<n>``; None when it is not one."""
    if len(vid) < 2 or vid[0] != "v" or not vid[1:].isdigit() or vid[1] == "0":
        return None
    return int(vid[1:])


def wire_document(document: str) -> str:
    """The document as IAM puts it on the query wire: URL-encoded."""
    return quote(document, safe="")


def path_matches(path: str, prefix: str | None) -> bool:
    return not prefix or path.startswith(prefix)


@dataclass(frozen=True, slots=True)
class ManagedPolicy:
    account: str                 # 12 digits, or "aws" for an AWS managed policy
    name: str
    policy_id: str
    path: str
    arn: str
    default_version_id: str
    created_at: _dt.datetime
    updated_at: _dt.datetime
    description: str | None = None
    attachment_count: int = 0
    boundary_usage_count: int = 0
    tags: tuple[tuple[str, str], ...] = ()

    @property
    def aws_managed(self) -> bool:
        return self.account == AWS_ACCOUNT

    @property
    def attachable(self) -> bool:
        return not (self.aws_managed and self.path.startswith(SERVICE_LINKED_PATH))

    def to_wire(self, *, full: bool = True) -> dict:
        """The ``Policy`` shape; ListPolicies leaves out Description and Tags (``full=False``)."""
        out: dict = {"PolicyName": self.name, "PolicyId": self.policy_id, "Arn": self.arn, "Path": self.path,
                     "DefaultVersionId": self.default_version_id, "AttachmentCount": self.attachment_count,
                     "PermissionsBoundaryUsageCount": self.boundary_usage_count,
                     "IsAttachable": self.attachable, "CreateDate": self.created_at,
                     "UpdateDate": self.updated_at}
        if full and self.description:
            out["Description"] = self.description
        if full and self.tags:
            out["Tags"] = [{"Key": k, "Value": v} for k, v in self.tags]
        return out

    def attached_wire(self) -> dict:
        return {"PolicyName": self.name, "PolicyArn": self.arn}


@dataclass(frozen=True, slots=True)
class PolicyVersion:
    number: int
    document: str
    is_default: bool
    created_at: _dt.datetime

    @property
    def version_id(self) -> str:
        return version_id(self.number)

    def to_wire(self, *, with_document: bool = True) -> dict:
        out: dict = {"VersionId": self.version_id, "IsDefaultVersion": self.is_default,
                     "CreateDate": self.created_at}
        if with_document:
            out["Document"] = wire_document(self.document)
        return out


@dataclass(frozen=True, slots=True)
class InlinePolicy:
    entity_type: str
    entity_name: str
    name: str
    document: str

    @property
    def size(self) -> int:
        return policy_size(self.document)


@dataclass(frozen=True, slots=True)
class Attachment:
    """A managed policy attached to an entity."""

    entity_type: str
    entity_name_key: str
    policy_arn: str
    policy_name: str
    policy_path: str

    def to_wire(self) -> dict:
        return {"PolicyName": self.policy_name, "PolicyArn": self.policy_arn}
