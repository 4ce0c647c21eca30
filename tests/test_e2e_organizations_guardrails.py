"""Organizations guardrails, end to end with boto3 against the real server: SCPs on every level
from the root down to a member account (deny lists, region restriction, allow lists), their
reach (member administrators and root users; never the management account), RCPs on the
resources of member accounts, the aws:PrincipalOrgID / aws:PrincipalOrgPaths / aws:ResourceOrgID
keys, changes seen on the very next request, the simulator's OrganizationsDecisionDetail, and
cross-account calls recorded in both accounts' CloudTrail.

AWS pages: https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps.html,
https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html,
https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_examples_general.html,
https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps.html,
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalorgid
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import pytest
from botocore.exceptions import ClientError

from cloudkeep.storage.engine import Store, sqlite_url
from cloudkeep.testing.audit import records_of_request
from cloudkeep.testing.server import client_for

SCP = "SERVICE_CONTROL_POLICY"
RCP = "RESOURCE_CONTROL_POLICY"
FULL_ACCESS = "p-FullAWSAccess"


def _doc(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _error(fn: Callable[..., Any], **kwargs: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as exc:
        fn(**kwargs)
    return exc.value.response["Error"]["Code"], exc.value.response["Error"].get("Message", "")


@dataclass
class Org:
    server: Any
    management: Any                 # testing.server.Account of the management account
    org_id: str
    root_id: str

    @property
    def api(self) -> Any:
        return self.management.client("organizations")

    def invite(self) -> Any:
        """An existing account of the server (with its root keys) that joins the organization."""
        member = self.server.create_account()
        handshake = self.api.invite_account_to_organization(
            Target={"Type": "ACCOUNT", "Id": member.account_id})["Handshake"]
        member.client("organizations").accept_handshake(HandshakeId=handshake["Id"])
        return member

    def create(self, name: str) -> tuple[str, Callable[..., Any]]:
        """A new member account, reached as OrganizationAccountAccessRole from the management account."""
        email = f"{name}-{uuid.uuid4().hex[:8]}@example.com"         # emails are unique server-wide
        status = self.api.create_account(Email=email, AccountName=name)["CreateAccountStatus"]
        status = self.api.describe_create_account_status(CreateAccountRequestId=status["Id"])["CreateAccountStatus"]
        assert status["State"] == "SUCCEEDED", status
        account_id = status["AccountId"]
        return account_id, self.assume(account_id)

    def admin_sts(self) -> Any:
        """STS for an administrator user of the management account (root users cannot assume roles)."""
        iam = self.management.client("iam")
        if not getattr(self, "_admin_key", None):
            iam.create_user(UserName="org-admin")
            iam.put_user_policy(UserName="org-admin", PolicyName="admin", PolicyDocument=_doc(
                {"Effect": "Allow", "Action": "*", "Resource": "*"}))
            self._admin_key = iam.create_access_key(UserName="org-admin")["AccessKey"]
        key = self._admin_key
        return client_for(self.management.endpoint, "sts", key["AccessKeyId"], key["SecretAccessKey"])

    def assume(self, account_id: str, role: str = "OrganizationAccountAccessRole") -> Callable[..., Any]:
        creds = self.admin_sts().assume_role(
            RoleArn=f"arn:aws:iam::{account_id}:role/{role}", RoleSessionName="admin")["Credentials"]

        def client(service: str, region: str = "us-east-1") -> Any:
            return client_for(self.management.endpoint, service, creds["AccessKeyId"], creds["SecretAccessKey"],
                              session_token=creds["SessionToken"], region=region)
        return client

    def scp(self, name: str, *statements: dict, kind: str = SCP) -> str:
        return self.api.create_policy(Name=name, Description=name, Type=kind,
                                      Content=_doc(*statements))["Policy"]["PolicySummary"]["Id"]


@pytest.fixture
def org(cloudkeep_server: Any) -> Org:
    management = cloudkeep_server.create_account()
    api = management.client("organizations")
    org_id = api.create_organization(FeatureSet="ALL")["Organization"]["Id"]
    root_id = api.list_roots()["Roots"][0]["Id"]
    api.enable_policy_type(RootId=root_id, PolicyType=SCP)
    return Org(cloudkeep_server, management, org_id, root_id)


DENY_TRAIL_AND_KEY_DELETION = {
    "Sid": "ProtectAuditAndKeys", "Effect": "Deny",
    "Action": ["cloudtrail:StopLogging", "cloudtrail:DeleteTrail", "kms:ScheduleKeyDeletion"],
    "Resource": "*"}


def test_a_deny_scp_stops_member_administrators_and_root_users_but_not_the_management_account(org):
    invited = org.invite()
    created_id, admin = org.create("guarded")
    policy = org.scp("protect-audit", DENY_TRAIL_AND_KEY_DELETION)
    org.api.attach_policy(PolicyId=policy, TargetId=org.root_id)
    for kms in (invited.client("kms"), admin("kms")):
        key = kms.create_key()["KeyMetadata"]["KeyId"]          # FullAWSAccess still allows the rest
        code, message = _error(kms.schedule_key_deletion, KeyId=key, PendingWindowInDays=7)
        assert code == "AccessDeniedException"
        assert "with an explicit deny in a service control policy" in message, message
    own = org.management.client("kms")
    own.schedule_key_deletion(KeyId=own.create_key()["KeyMetadata"]["KeyId"], PendingWindowInDays=7)
    # the simulator reports the organization's part of the decision
    iam = admin("iam")
    role_arn = f"arn:aws:iam::{created_id}:role/OrganizationAccountAccessRole"
    results = iam.simulate_principal_policy(PolicySourceArn=role_arn,
                                            ActionNames=["cloudtrail:StopLogging", "kms:ListKeys"])
    by_action = {r["EvalActionName"]: r for r in results["EvaluationResults"]}
    assert by_action["cloudtrail:StopLogging"]["EvalDecision"] == "explicitDeny"
    assert by_action["cloudtrail:StopLogging"]["OrganizationsDecisionDetail"] == {"AllowedByOrganizations": False}
    assert by_action["kms:ListKeys"]["EvalDecision"] == "allowed"
    assert by_action["kms:ListKeys"]["OrganizationsDecisionDetail"] == {"AllowedByOrganizations": True}


def test_a_region_restriction_scp_blocks_other_regions(org):
    _, admin = org.create("regional")
    policy = org.scp("us-east-1-only", {
        "Sid": "DenyOutsideUsEast1", "Effect": "Deny",
        "NotAction": ["iam:*", "sts:*", "organizations:*"], "Resource": "*",
        "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["us-east-1"]}}})
    org.api.attach_policy(PolicyId=policy, TargetId=org.root_id)
    admin("kms").create_key()
    code, message = _error(admin("kms", region="eu-west-1").create_key)
    assert code == "AccessDeniedException" and "service control policy" in message
    admin("iam").list_users()                                     # global services are exempted


def test_an_allow_list_grants_only_what_every_level_allows(org):
    account_id, admin = org.create("allow-listed")
    ou = org.api.create_organizational_unit(ParentId=org.root_id, Name="workloads")["OrganizationalUnit"]["Id"]
    org.api.move_account(AccountId=account_id, SourceParentId=org.root_id, DestinationParentId=ou)
    kms_only = org.scp("kms-only", {"Effect": "Allow", "Action": ["kms:*", "sts:*"], "Resource": "*"})
    org.api.attach_policy(PolicyId=kms_only, TargetId=ou)
    org.api.detach_policy(PolicyId=FULL_ACCESS, TargetId=ou)
    admin("kms").list_keys()
    code, message = _error(admin("iam").list_users)
    assert code == "AccessDenied" and "because no service control policy allows" in message, message
    # a lower level cannot add back what a higher one left out, and narrows further
    iam_only = org.scp("iam-only", {"Effect": "Allow", "Action": "iam:*", "Resource": "*"})
    org.api.attach_policy(PolicyId=iam_only, TargetId=account_id)
    org.api.detach_policy(PolicyId=FULL_ACCESS, TargetId=account_id)
    assert _error(admin("iam").list_users)[0] == "AccessDenied"
    assert _error(admin("kms").list_keys)[0] == "AccessDeniedException"


def test_detaching_the_last_scp_of_a_target_is_refused(org):
    account_id, _ = org.create("last-scp")
    code, _message = _error(org.api.detach_policy, PolicyId=FULL_ACCESS, TargetId=account_id)
    assert code == "ConstraintViolationException"


def test_an_scp_change_applies_to_the_next_request(org):
    _, admin = org.create("fresh")
    kms = admin("kms")
    kms.list_keys()
    policy = org.scp("deny-kms-list", {"Effect": "Deny", "Action": "kms:ListKeys", "Resource": "*"})
    org.api.attach_policy(PolicyId=policy, TargetId=org.root_id)
    assert _error(kms.list_keys)[0] == "AccessDeniedException"
    org.api.update_policy(PolicyId=policy, Content=_doc({"Effect": "Deny", "Action": "kms:Decrypt",
                                                         "Resource": "*"}))
    kms.list_keys()
    org.api.update_policy(PolicyId=policy, Content=_doc({"Effect": "Deny", "Action": "kms:ListKeys",
                                                         "Resource": "*"}))
    assert _error(kms.list_keys)[0] == "AccessDeniedException"
    org.api.detach_policy(PolicyId=policy, TargetId=org.root_id)
    kms.list_keys()


def test_an_account_that_leaves_the_organization_is_no_longer_restricted(org):
    member = org.invite()
    policy = org.scp("deny-kms", {"Effect": "Deny", "Action": "kms:*", "Resource": "*"})
    org.api.attach_policy(PolicyId=policy, TargetId=member.account_id)
    assert _error(member.client("kms").list_keys)[0] == "AccessDeniedException"
    org.api.remove_account_from_organization(AccountId=member.account_id)
    member.client("kms").list_keys()


def _user(account_client: Callable[..., Any], endpoint: str, name: str, statement: dict) -> Callable[..., Any]:
    iam = account_client("iam")
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=_doc(statement))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return lambda service: client_for(endpoint, service, key["AccessKeyId"], key["SecretAccessKey"])


def test_principal_org_id_in_a_key_policy_admits_the_organization_and_refuses_others(org, cloudkeep_server):
    owner = org.invite()
    other_member = org.invite()
    outsider = cloudkeep_server.create_account()
    key = owner.client("kms").create_key(Policy=_doc(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{owner.account_id}:root"}, "Action": "kms:*",
         "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:Encrypt", "Resource": "*",
         "Condition": {"StringEquals": {"aws:PrincipalOrgID": org.org_id}}}))["KeyMetadata"]["Arn"]
    allow = {"Effect": "Allow", "Action": "kms:Encrypt", "Resource": key}
    inside = _user(other_member.client, org.management.endpoint, "inside", allow)
    outside = _user(outsider.client, org.management.endpoint, "outside", allow)
    inside("kms").encrypt(KeyId=key, Plaintext=b"x")
    assert _error(outside("kms").encrypt, KeyId=key, Plaintext=b"x")[0] == "AccessDeniedException"


def test_principal_org_paths_and_resource_org_id_are_populated(org):
    account_id, admin = org.create("pathed")
    ou = org.api.create_organizational_unit(ParentId=org.root_id, Name="team")["OrganizationalUnit"]["Id"]
    org.api.move_account(AccountId=account_id, SourceParentId=org.root_id, DestinationParentId=ou)
    iam = admin("iam")
    trust = _doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
                  "Action": "sts:AssumeRole"})
    iam.create_role(RoleName="by-path", AssumeRolePolicyDocument=trust)
    iam.put_role_policy(RoleName="by-path", PolicyName="p", PolicyDocument=_doc(
        {"Effect": "Allow", "Action": "kms:ListKeys", "Resource": "*",
         "Condition": {"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": [f"{org.org_id}/{org.root_id}/{ou}/*"]},
                       "StringEquals": {"aws:ResourceOrgID": org.org_id}}}))
    iam.put_role_policy(RoleName="by-path", PolicyName="q", PolicyDocument=_doc(
        {"Effect": "Allow", "Action": "kms:CreateKey", "Resource": "*",
         "Condition": {"ForAnyValue:StringEquals": {"aws:PrincipalOrgPaths": ["o-nothere00/r-none/"]}}}))
    creds = admin("sts").assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/by-path",
                                     RoleSessionName="by-path")["Credentials"]
    kms = client_for(org.management.endpoint, "kms", creds["AccessKeyId"], creds["SecretAccessKey"],
                     session_token=creds["SessionToken"])
    kms.list_keys()                                              # its path and its resource's org match
    assert _error(kms.create_key)[0] == "AccessDeniedException"  # another path does not


def test_an_rcp_denies_principals_outside_the_organization(org, cloudkeep_server):
    org.api.enable_policy_type(RootId=org.root_id, PolicyType=RCP)
    owner = org.invite()
    outsider = cloudkeep_server.create_account()
    key = owner.client("kms").create_key(Policy=_doc(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{owner.account_id}:root"}, "Action": "kms:*",
         "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{outsider.account_id}:root"},
         "Action": "kms:Encrypt", "Resource": "*"}))["KeyMetadata"]["Arn"]
    outsider.client("kms").encrypt(KeyId=key, Plaintext=b"x")        # the key policy lets it in
    rcp = org.scp("data-perimeter", {
        "Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*",
        "Condition": {"StringNotEqualsIfExists": {"aws:PrincipalOrgID": org.org_id},
                      "BoolIfExists": {"aws:PrincipalIsAWSService": "false"}}}, kind=RCP)
    org.api.attach_policy(PolicyId=rcp, TargetId=owner.account_id)
    code, message = _error(outsider.client("kms").encrypt, KeyId=key, Plaintext=b"x")
    assert code == "AccessDeniedException" and "resource control policy" in message, message
    owner.client("kms").encrypt(KeyId=key, Plaintext=b"x")             # inside the organization: fine


@pytest.fixture(scope="module")
def store(cloudkeep_server: Any) -> Iterator[Store]:
    opened = Store.open(sqlite_url(cloudkeep_server.data_dir), migrate=False)
    try:
        yield opened
    finally:
        opened.close()


def test_a_cross_account_call_is_recorded_in_both_accounts(cloudkeep_server, store):
    a, b = cloudkeep_server.create_account(), cloudkeep_server.create_account()
    key = a.client("kms").create_key(Policy=_doc(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{a.account_id}:root"}, "Action": "kms:*",
         "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{b.account_id}:root"}, "Action": "kms:Encrypt",
         "Resource": "*"}))["KeyMetadata"]["Arn"]
    request_id = b.client("kms").encrypt(KeyId=key, Plaintext=b"x")["ResponseMetadata"]["RequestId"]
    cloudkeep_server.flush()
    events = {record["recipientAccountId"]: record for record in records_of_request(store, request_id)}
    assert set(events) == {a.account_id, b.account_id}
    mine, theirs = events[b.account_id], events[a.account_id]
    assert mine["recipientAccountId"] == b.account_id and theirs["recipientAccountId"] == a.account_id
    assert mine["sharedEventID"] == theirs["sharedEventID"] and mine["eventID"] != theirs["eventID"]
    assert theirs["userIdentity"]["accountId"] == b.account_id
    assert theirs["resources"] == [{"accountId": a.account_id, "type": "AWS::KMS::Key", "ARN": key}]


def test_the_aws_cli_of_a_member_root_user_meets_the_guardrails(org):
    """The AWS CLI, as a member account's root user: a region-restriction SCP refuses another
    region and a deny SCP refuses key deletion; the same calls pass in the allowed region."""
    from test_e2e_kms_cli import AWS, Cli

    assert AWS is not None, "the AWS CLI is missing: it comes with the test extra (scripts/_venv test)"
    member = org.invite()
    guard = org.scp("guardrails", DENY_TRAIL_AND_KEY_DELETION, {
        "Sid": "DenyOutsideUsEast1", "Effect": "Deny", "NotAction": ["iam:*", "sts:*", "organizations:*"],
        "Resource": "*", "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["us-east-1"]}}})
    org.api.attach_policy(PolicyId=guard, TargetId=member.account_id)
    aws = Cli(member)
    key = aws("kms", "create-key")["KeyMetadata"]["KeyId"]
    assert "service control policy" in aws.fails("kms", "schedule-key-deletion", "--key-id", key,
                                                 "--pending-window-in-days", "7")
    assert "AccessDeniedException" in aws.fails("kms", "list-keys", "--region", "eu-west-1")
    assert aws("kms", "list-keys")["Keys"]
