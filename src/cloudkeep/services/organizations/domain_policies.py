"""Organizations policies: the types cloudkeep serves (service control policies and resource
control policies), the AWS managed policies of each, the rules a policy document must meet, and
the quotas on policies and attachments. Pure: no SQL, no I/O.

- SCP syntax: https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_syntax.html
- RCP syntax ("The effect of Allow is only supported for the RCPFullAWSAccess policy"; every
  statement has ``"Principal": "*"``):
  https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps_syntax.html
- Quotas: 5,120 characters per SCP and RCP ("All characters in your RCP count against its
  maximum size"), at most 5 policies of a type attached to a root, OU or account, 10,000 SCPs
  and 1,000 RCPs per organization:
  https://docs.aws.amazon.com/organizations/latest/userguide/orgs_reference_limits.html

Other policy types of the model (TAG_POLICY, BACKUP_POLICY, …) are management policies that
cloudkeep does not serve: creating or enabling one is refused, so none is ever enabled.

Must not: touch storage or the wire beyond the response shapes built here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping

from cloudkeep.policy.model import PolicyError, PolicyKind
from cloudkeep.policy.parse import parse_policy

from .domain import ALL, Organization
from .errors import (ConstraintViolationException, InvalidInputException, MalformedPolicyDocumentException,
                     PolicyTypeNotAvailableForOrganizationException)

SCP, RCP = "SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"
SUPPORTED_TYPES = (SCP, RCP)
KINDS: Mapping[str, PolicyKind] = {SCP: PolicyKind.SCP, RCP: PolicyKind.RCP}

MAX_CONTENT = 5120
MAX_ATTACHED = 5
MAX_POLICIES: Mapping[str, int] = {SCP: 10_000, RCP: 1_000}


@dataclass(frozen=True, slots=True)
class OrgPolicy:
    """A customer managed policy of an organization, or an AWS managed one (``org_id`` None)."""

    policy_id: str
    policy_type: str
    name: str
    description: str
    content: str
    org_id: str | None = None

    @property
    def aws_managed(self) -> bool:
        return self.org_id is None

    def arn(self, partition: str, management: str, org_id: str) -> str:
        segment = self.policy_type.lower()
        if self.aws_managed:
            return f"arn:{partition}:organizations::aws:policy/{segment}/{self.policy_id}"
        return f"arn:{partition}:organizations::{management}:policy/{org_id}/{segment}/{self.policy_id}"

    def summary(self, partition: str, org: Organization) -> dict[str, Any]:
        return {"Id": self.policy_id, "Arn": self.arn(partition, org.management_account_id, org.org_id),
                "Name": self.name, "Description": self.description, "Type": self.policy_type,
                "AwsManaged": self.aws_managed}

    def to_wire(self, partition: str, org: Organization) -> dict[str, Any]:
        return {"PolicySummary": self.summary(partition, org), "Content": self.content}


_ALLOW_ALL = {"Effect": "Allow", "Action": "*", "Resource": "*"}

#: The AWS managed policies: attached to the root, every OU and every account when their type is
#: enabled. https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html
#: (FullAWSAccess, "Allows access to every operation") and
#: https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps_evaluation.html
#: (RCPFullAWSAccess: "You can't detach this policy").
FULL_AWS_ACCESS = OrgPolicy(
    policy_id="p-FullAWSAccess", policy_type=SCP, name="FullAWSAccess",
    description="Allows access to every operation",
    content=json.dumps({"Version": "2012-10-17", "Statement": [_ALLOW_ALL]}, separators=(",", ":")))
RCP_FULL_AWS_ACCESS = OrgPolicy(
    policy_id="p-RCPFullAWSAccess", policy_type=RCP, name="RCPFullAWSAccess",
    description="Allows access to every resource",
    content=json.dumps({"Version": "2012-10-17", "Statement": [{**_ALLOW_ALL, "Principal": "*"}]},
                       separators=(",", ":")))
AWS_MANAGED: Mapping[str, OrgPolicy] = {p.policy_id: p for p in (FULL_AWS_ACCESS, RCP_FULL_AWS_ACCESS)}
DEFAULT_POLICY: Mapping[str, OrgPolicy] = {SCP: FULL_AWS_ACCESS, RCP: RCP_FULL_AWS_ACCESS}
#: AWS managed policies that can never be detached (the SCP can, once another SCP is attached)
NON_DETACHABLE = frozenset({RCP_FULL_AWS_ACCESS.policy_id})


def require_available(org: Organization, policy_type: str) -> None:
    """SCPs and RCPs need an organization with all features
    (PolicyTypeNotAvailableForOrganizationException); cloudkeep serves no other type."""
    if policy_type not in SUPPORTED_TYPES:
        raise PolicyTypeNotAvailableForOrganizationException(
            f"You can't use the policy type {policy_type} in this organization: cloudkeep supports "
            f"{SCP} and {RCP}.")
    if org.feature_set != ALL:
        raise PolicyTypeNotAvailableForOrganizationException(
            "You can't use the specified policy type with the feature set currently enabled for this organization.")


def check_content(policy_type: str, content: str) -> None:
    """A policy document of ``policy_type``: within the size quota (every character counts),
    valid in the policy grammar of its kind, and for an RCP made of Deny statements only."""
    if len(content) > MAX_CONTENT:
        # real answer: "ConstraintViolationException: You have exceeded the maximum policy size."
        # (https://github.com/org-formation/org-formation-cli/issues/332)
        raise ConstraintViolationException("POLICY_CONTENT_LIMIT_EXCEEDED", "You have exceeded the maximum policy size.")
    try:
        parsed = parse_policy(content, KINDS[policy_type])
    except PolicyError as error:
        raise MalformedPolicyDocumentException(error.message) from None
    if policy_type == RCP and any(s.effect.value != "Deny" for s in parsed.statements):
        raise MalformedPolicyDocumentException(
            "The provided policy document does not meet the requirements of the specified policy type.")


def check_policy_count(policy_type: str, count: int) -> None:
    if count >= MAX_POLICIES[policy_type]:
        raise ConstraintViolationException("POLICY_NUMBER_LIMIT_EXCEEDED",
                                           "You attempted to exceed the number of policies that you can have in an "
                                           "organization.")


def check_attach_count(count: int) -> None:
    if count >= MAX_ATTACHED:
        # real answer (https://github.com/hashicorp/terraform-provider-aws/issues/41493)
        raise ConstraintViolationException("MAX_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED",
                                           "You have attached the maximum number of policies to the specified target.")


def require_detachable(policy: OrgPolicy) -> None:
    """RCPFullAWSAccess is never detached (InvalidInputException NON_DETACHABLE_POLICY)."""
    if policy.policy_id in NON_DETACHABLE:
        raise InvalidInputException("NON_DETACHABLE_POLICY", "You can't detach this AWS Managed Policy.")


def check_remaining(policy: OrgPolicy, remaining_of_type: int) -> None:
    """A root, OU or account keeps at least one SCP."""
    if policy.policy_type == SCP and remaining_of_type < 1:
        # real answer (https://github.com/hashicorp/terraform-provider-aws/issues/26797)
        raise ConstraintViolationException("MIN_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED",
                                           "You cannot remove the last policy attached to the specified target. "
                                           "You must have at least one attached at all times.")


def require_mutable(policy: OrgPolicy) -> None:
    """AWS managed policies cannot be updated or deleted (InvalidInputException IMMUTABLE_POLICY)."""
    if policy.aws_managed:
        raise InvalidInputException("IMMUTABLE_POLICY",
                                    "You specified a policy that is managed by AWS and can't be modified.")


def new_policy(*, policy_id: str, org_id: str, policy_type: str, name: str, description: str,
               content: str) -> OrgPolicy:
    return OrgPolicy(policy_id=policy_id, policy_type=policy_type, name=name, description=description,
                     content=content, org_id=org_id)

