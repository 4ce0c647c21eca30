"""The classic IAM scenarios of the issue, end to end with boto3 (and one AWS CLI check): every
call is decided by the policy engine.

AWS pages: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html,
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html,
https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html,
https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_control-access_assumerole.html
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from cloudkeep.testing.server import client_for


def _code(exc) -> str:
    return exc.value.response["Error"]["Code"]


def _user_with_key(iam, name: str, endpoint: str):
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return key, lambda service: client_for(endpoint, service, key["AccessKeyId"], key["SecretAccessKey"])


def _policy(*statements) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def test_group_with_administrator_access_lets_its_member_administer_iam(cloudkeep_account):
    iam = cloudkeep_account.client("iam")
    iam.create_group(GroupName="Admins")
    iam.attach_group_policy(GroupName="Admins", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    _, admin = _user_with_key(iam, "admin", cloudkeep_account.endpoint)
    with pytest.raises(ClientError) as exc:
        admin("iam").create_user(UserName="before-membership")
    assert _code(exc) == "AccessDenied"
    iam.add_user_to_group(GroupName="Admins", UserName="admin")
    admin("iam").create_user(UserName="made-by-admin")          # allowed through the group
    assert "made-by-admin" in [u["UserName"] for u in admin("iam").list_users()["Users"]]
    iam.remove_user_from_group(GroupName="Admins", UserName="admin")
    with pytest.raises(ClientError) as exc:
        admin("iam").create_user(UserName="after-removal")       # the change is seen at once
    assert _code(exc) == "AccessDenied"


def test_self_service_policy_with_a_variable_reads_only_itself(cloudkeep_account):
    iam = cloudkeep_account.client("iam")
    acct = cloudkeep_account.account_id
    _, bob = _user_with_key(iam, "bob", cloudkeep_account.endpoint)
    iam.create_user(UserName="carol")
    iam.put_user_policy(UserName="bob", PolicyName="self", PolicyDocument=_policy(
        {"Effect": "Allow", "Action": ["iam:Get*", "iam:List*"],
         "Resource": "arn:aws:iam::*:user/${aws:username}"}))
    assert bob("iam").get_user(UserName="bob")["User"]["UserName"] == "bob"
    assert bob("iam").list_access_keys(UserName="bob")["AccessKeyMetadata"]
    with pytest.raises(ClientError) as exc:
        bob("iam").get_user(UserName="carol")
    assert _code(exc) == "AccessDenied"
    assert exc.value.response["Error"]["Message"] == (
        f"User: arn:aws:iam::{acct}:user/bob is not authorized to perform: iam:GetUser on resource: "
        f"arn:aws:iam::{acct}:user/carol because no identity-based policy allows the iam:GetUser action")
    with pytest.raises(ClientError) as exc:
        bob("iam").list_users()                                  # resource "*": not covered
    assert _code(exc) == "AccessDenied"
    with pytest.raises(ClientError) as exc:
        bob("iam").create_access_key(UserName="bob")             # not Get*/List*
    assert _code(exc) == "AccessDenied"


def test_explicit_deny_wins_and_is_explained(cloudkeep_account):
    iam = cloudkeep_account.client("iam")
    acct = cloudkeep_account.account_id
    _, dave = _user_with_key(iam, "dave", cloudkeep_account.endpoint)
    iam.attach_user_policy(UserName="dave", PolicyArn="arn:aws:iam::aws:policy/IAMFullAccess")
    iam.put_user_policy(UserName="dave", PolicyName="no-delete", PolicyDocument=_policy(
        {"Effect": "Deny", "Action": "iam:DeleteUser", "Resource": "*"}))
    dave("iam").create_user(UserName="temp")
    with pytest.raises(ClientError) as exc:
        dave("iam").delete_user(UserName="temp")
    assert exc.value.response["Error"]["Message"].startswith(
        f"User: arn:aws:iam::{acct}:user/dave is not authorized to perform: iam:DeleteUser on resource: "
        f"arn:aws:iam::{acct}:user/temp with an explicit deny in an identity-based policy")


def test_permissions_boundary_caps_what_identity_policies_allow(cloudkeep_account):
    iam = cloudkeep_account.client("iam")
    _, erin = _user_with_key(iam, "erin", cloudkeep_account.endpoint)
    iam.attach_user_policy(UserName="erin", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    iam.put_user_permissions_boundary(UserName="erin", PermissionsBoundary="arn:aws:iam::aws:policy/ReadOnlyAccess")
    assert erin("iam").list_users()["Users"]                    # read: allowed by both
    with pytest.raises(ClientError) as exc:
        erin("iam").create_user(UserName="blocked")             # write: the boundary lacks it
    assert _code(exc) == "AccessDenied"
    assert "because no permissions boundary allows the iam:CreateUser action" in \
        exc.value.response["Error"]["Message"]


def test_role_with_external_id_grants_its_policies_capped_by_session_policy_and_boundary(cloudkeep_account):
    iam = cloudkeep_account.client("iam")
    acct = cloudkeep_account.account_id
    _, frank = _user_with_key(iam, "frank", cloudkeep_account.endpoint)
    iam.put_user_policy(UserName="frank", PolicyName="assume", PolicyDocument=_policy(
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": f"arn:aws:iam::{acct}:role/auditor"}))
    trust = _policy({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{acct}:user/frank"},
                     "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"sts:ExternalId": "x-123"}}})
    role_arn = iam.create_role(RoleName="auditor", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    iam.attach_role_policy(RoleName="auditor", PolicyArn="arn:aws:iam::aws:policy/IAMFullAccess")
    iam.put_role_permissions_boundary(RoleName="auditor",
                                      PermissionsBoundary="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    sts = frank("sts")
    with pytest.raises(ClientError) as exc:
        sts.assume_role(RoleArn=role_arn, RoleSessionName="no-external-id")
    assert _code(exc) == "AccessDenied"
    with pytest.raises(ClientError):
        sts.assume_role(RoleArn=role_arn, RoleSessionName="wrong", ExternalId="nope")
    session_policy = _policy({"Effect": "Allow", "Action": ["iam:ListUsers", "iam:CreateUser"], "Resource": "*"})
    creds = sts.assume_role(RoleArn=role_arn, RoleSessionName="audit", ExternalId="x-123",
                            Policy=session_policy)["Credentials"]
    role_iam = client_for(cloudkeep_account.endpoint, "iam", creds["AccessKeyId"], creds["SecretAccessKey"],
                          session_token=creds["SessionToken"])
    role_sts = client_for(cloudkeep_account.endpoint, "sts", creds["AccessKeyId"], creds["SecretAccessKey"],
                          session_token=creds["SessionToken"])
    assert role_sts.get_caller_identity()["Arn"] == f"arn:aws:sts::{acct}:assumed-role/auditor/audit"
    assert isinstance(role_iam.list_users()["Users"], list)     # role ∩ boundary ∩ session: allowed
    with pytest.raises(ClientError) as exc:
        role_iam.create_user(UserName="x")                      # the boundary is read-only
    assert _code(exc) == "AccessDenied"
    with pytest.raises(ClientError) as exc:
        role_iam.list_roles()                                   # the session policy lacks it
    assert _code(exc) == "AccessDenied"
    assert "because no session policy allows the iam:ListRoles action" in exc.value.response["Error"]["Message"]


# --- privilege escalation: only through permissions the caller really has -----------------------


@pytest.fixture
def mallory(cloudkeep_account):
    """A user who may only manage their own access keys, and try everything else."""
    iam = cloudkeep_account.client("iam")
    acct = cloudkeep_account.account_id
    _, client = _user_with_key(iam, "mallory", cloudkeep_account.endpoint)
    iam.put_user_policy(UserName="mallory", PolicyName="own-keys", PolicyDocument=_policy(
        {"Effect": "Allow", "Action": ["iam:ListAccessKeys", "iam:GetUser"],
         "Resource": f"arn:aws:iam::{acct}:user/mallory"},
        # may manage instance profiles, but not pass roles: only iam:PassRole stands in the way
        {"Effect": "Allow", "Action": "iam:AddRoleToInstanceProfile",
         "Resource": f"arn:aws:iam::{acct}:instance-profile/*"}))
    iam.create_instance_profile(InstanceProfileName="ip")
    iam.create_user(UserName="victim")
    policy_arn = iam.create_policy(PolicyName="small", PolicyDocument=_policy(
        {"Effect": "Allow", "Action": "iam:GetUser", "Resource": "*"}))["Policy"]["Arn"]
    iam.attach_user_policy(UserName="mallory", PolicyArn=policy_arn)
    iam.create_role(RoleName="powerful", AssumeRolePolicyDocument=_policy(
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}))
    return client("iam"), policy_arn, acct


ADMIN = _policy({"Effect": "Allow", "Action": "*", "Resource": "*"})


@pytest.mark.parametrize("attempt", [
    "CreatePolicyVersion", "SetDefaultPolicyVersion", "AttachUserPolicy", "PutUserPolicy",
    "UpdateAssumeRolePolicy", "CreateAccessKey-other", "CreateLoginProfile-other", "PassRole",
])
def test_known_escalation_paths_are_denied_without_the_permission(mallory, attempt):
    iam, policy_arn, acct = mallory
    calls = {
        "CreatePolicyVersion": lambda: iam.create_policy_version(PolicyArn=policy_arn, PolicyDocument=ADMIN,
                                                                 SetAsDefault=True),
        "SetDefaultPolicyVersion": lambda: iam.set_default_policy_version(PolicyArn=policy_arn, VersionId="v1"),
        "AttachUserPolicy": lambda: iam.attach_user_policy(
            UserName="mallory", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess"),
        "PutUserPolicy": lambda: iam.put_user_policy(UserName="mallory", PolicyName="esc", PolicyDocument=ADMIN),
        "UpdateAssumeRolePolicy": lambda: iam.update_assume_role_policy(RoleName="powerful", PolicyDocument=_policy(
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{acct}:user/mallory"},
             "Action": "sts:AssumeRole"})),
        "CreateAccessKey-other": lambda: iam.create_access_key(UserName="victim"),
        "CreateLoginProfile-other": lambda: iam.create_login_profile(UserName="victim", Password="S3cure!Passw0rd"),
        "PassRole": lambda: iam.add_role_to_instance_profile(InstanceProfileName="ip", RoleName="powerful"),
    }
    with pytest.raises(ClientError) as exc:
        calls[attempt]()
    assert _code(exc) == "AccessDenied"
    if attempt == "PassRole":
        assert "is not authorized to perform: iam:PassRole" in exc.value.response["Error"]["Message"]
    # nothing changed: the caller still has only its small policy
    with pytest.raises(ClientError):
        iam.list_users()


AWS = shutil.which("aws", path=str(Path(sys.executable).parent)) or shutil.which("aws")


@pytest.mark.skipif(AWS is None, reason="the AWS CLI is installed with the test extras")
def test_aws_cli_shows_the_access_denied_message(cloudkeep_account):
    iam = cloudkeep_account.client("iam")
    key, _ = _user_with_key(iam, "cli-user", cloudkeep_account.endpoint)
    env = {**os.environ, **cloudkeep_account.env, "AWS_CONFIG_FILE": "/dev/null",
           "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_ACCESS_KEY_ID": key["AccessKeyId"],
           "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}
    out = subprocess.run([AWS, "iam", "list-users"], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode != 0
    assert "AccessDenied" in out.stderr and "is not authorized to perform: iam:ListUsers" in out.stderr


def test_deleting_a_user_with_a_login_profile_is_a_delete_conflict(cloudkeep_account):
    iam = cloudkeep_account.client("iam")
    iam.create_user(UserName="console-user")
    iam.create_login_profile(UserName="console-user", Password="Str0ng!Passw0rd#1")
    with pytest.raises(ClientError) as exc:
        iam.delete_user(UserName="console-user")
    assert _code(exc) == "DeleteConflict"
    iam.delete_login_profile(UserName="console-user")
    iam.delete_user(UserName="console-user")


def test_attribute_based_access_with_request_and_resource_tags(cloudkeep_account):
    """ABAC: https://docs.aws.amazon.com/IAM/latest/UserGuide/access_iam-tags.html"""
    iam = cloudkeep_account.client("iam")
    _, gina = _user_with_key(iam, "gina", cloudkeep_account.endpoint)
    iam.tag_user(UserName="gina", Tags=[{"Key": "team", "Value": "blue"}])
    iam.put_user_policy(UserName="gina", PolicyName="abac", PolicyDocument=_policy(
        {"Effect": "Allow", "Action": "iam:CreateUser", "Resource": "*",
         "Condition": {"StringEquals": {"aws:RequestTag/team": "${aws:PrincipalTag/team}"},
                       "ForAllValues:StringEquals": {"aws:TagKeys": ["team"]}}},
        {"Effect": "Allow", "Action": "iam:GetUser", "Resource": "*",
         "Condition": {"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}}}))
    gina("iam").create_user(UserName="blue-1", Tags=[{"Key": "team", "Value": "blue"}])
    with pytest.raises(ClientError) as exc:
        gina("iam").create_user(UserName="red-1", Tags=[{"Key": "team", "Value": "red"}])
    assert _code(exc) == "AccessDenied"
    with pytest.raises(ClientError) as exc:
        gina("iam").create_user(UserName="blue-2", Tags=[{"Key": "team", "Value": "blue"},
                                                         {"Key": "cost", "Value": "x"}])
    assert _code(exc) == "AccessDenied"
    iam.create_user(UserName="red-2", Tags=[{"Key": "team", "Value": "red"}])
    assert gina("iam").get_user(UserName="blue-1")["User"]["UserName"] == "blue-1"
    with pytest.raises(ClientError) as exc:
        gina("iam").get_user(UserName="red-2")
    assert _code(exc) == "AccessDenied"


def test_iam_resource_tag_key_names_the_same_tags(cloudkeep_account):
    """IAM defines iam:ResourceTag/<key> beside aws:ResourceTag/<key> for users and roles:
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_iam-condition-keys.html"""
    iam = cloudkeep_account.client("iam")
    _, hank = _user_with_key(iam, "hank", cloudkeep_account.endpoint)
    iam.put_user_policy(UserName="hank", PolicyName="p", PolicyDocument=_policy(
        {"Effect": "Allow", "Action": "iam:GetUser", "Resource": "*",
         "Condition": {"StringEquals": {"iam:ResourceTag/stage": "dev"}}}))
    iam.create_user(UserName="dev-user", Tags=[{"Key": "stage", "Value": "dev"}])
    iam.create_user(UserName="prod-user", Tags=[{"Key": "stage", "Value": "prod"}])
    assert hank("iam").get_user(UserName="dev-user")["User"]["UserName"] == "dev-user"
    with pytest.raises(ClientError) as exc:
        hank("iam").get_user(UserName="prod-user")
    assert _code(exc) == "AccessDenied"
