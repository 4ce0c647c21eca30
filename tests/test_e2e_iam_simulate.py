"""End to end: IAM's policy simulator on the real server driven by boto3 — SimulatePrincipalPolicy
over a user's attached managed, inline and group policies and boundary; SimulateCustomPolicy with
a resource policy and ContextEntries; GetContextKeysFor*Policy; errors; and the offline
``cloudkeep policy simulate`` command on local files.

AWS pages checked:
- https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html
- https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulateCustomPolicy.html
- https://docs.aws.amazon.com/IAM/latest/APIReference/API_EvaluationResult.html
- https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetContextKeysForPrincipalPolicy.html
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from botocore.exceptions import ClientError

from cloudkeep.policy.simulate import statement_offsets


def _doc(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, indent=2)


def _pos(text: str, n: int) -> tuple[dict, dict]:
    """(StartPosition, EndPosition) of statement n, computed independently of the server."""
    start, end = statement_offsets(text)[n]

    def at(offset: int) -> dict:
        before = text[:offset]
        return {"Line": before.count("\n") + 1, "Column": offset - (before.rfind("\n") + 1) + 1}
    return at(start), at(end)


READ = _doc({"Effect": "Allow", "Action": ["s3:GetObject", "s3:DeleteObject"], "Resource": "arn:aws:s3:::data/*"})
NO_DELETE = _doc({"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"},
                 {"Sid": "NoDelete", "Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"})
GROUP_EC2 = _doc({"Effect": "Allow", "Action": "ec2:DescribeInstances", "Resource": "*"})


@pytest.fixture
def iam(cloudkeep_account):
    return cloudkeep_account.client("iam")


@pytest.fixture
def alice(iam, cloudkeep_account):
    arn = iam.create_user(UserName="alice")["User"]["Arn"]
    managed = iam.create_policy(PolicyName="DataRead", PolicyDocument=READ)["Policy"]["Arn"]
    iam.attach_user_policy(UserName="alice", PolicyArn=managed)
    iam.put_user_policy(UserName="alice", PolicyName="NoDelete", PolicyDocument=NO_DELETE)
    iam.create_group(GroupName="devs")
    iam.put_group_policy(GroupName="devs", PolicyName="Ec2Describe", PolicyDocument=GROUP_EC2)
    iam.add_user_to_group(GroupName="devs", UserName="alice")
    return arn


def _error(exc: pytest.ExceptionInfo) -> tuple[str, str]:
    return exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]


def test_principal_simulation_explains_allowed_explicit_and_implicit_deny(iam, alice):
    out = iam.simulate_principal_policy(PolicySourceArn=alice, ResourceArns=["arn:aws:s3:::data/report.csv"],
                                        ActionNames=["s3:GetObject", "s3:DeleteObject", "s3:PutObject"])
    get, delete, put = out["EvaluationResults"]
    assert out["IsTruncated"] is False
    assert (get["EvalActionName"], get["EvalDecision"]) == ("s3:GetObject", "allowed")
    start, end = _pos(READ, 0)
    assert get["MatchedStatements"] == [{"SourcePolicyId": "DataRead", "SourcePolicyType": "user-managed",
                                         "StartPosition": start, "EndPosition": end}]
    assert get["EvalResourceName"] == "arn:aws:s3:::data/report.csv"
    assert get["ResourceSpecificResults"][0]["EvalResourceDecision"] == "allowed"
    assert get["EvalDecisionDetails"] == {}
    start, end = _pos(NO_DELETE, 1)
    assert delete["EvalDecision"] == "explicitDeny"
    assert delete["MatchedStatements"] == [{"SourcePolicyId": "NoDelete", "SourcePolicyType": "user",
                                            "StartPosition": start, "EndPosition": end}]
    assert (put["EvalDecision"], put["MatchedStatements"]) == ("implicitDeny", [])
    assert all("OrganizationsDecisionDetail" not in r and "PermissionsBoundaryDecisionDetail" not in r
               for r in out["EvaluationResults"])  # standalone account, no boundary


def test_group_policies_of_the_user_are_simulated_as_group(iam, alice):
    result, = iam.simulate_principal_policy(PolicySourceArn=alice, ActionNames=["ec2:DescribeInstances"])[
        "EvaluationResults"]
    assert result["EvalDecision"] == "allowed" and result["EvalResourceName"] == "*"
    assert [(m["SourcePolicyId"], m["SourcePolicyType"]) for m in result["MatchedStatements"]] == [
        ("Ec2Describe", "group")]
    group_arn = iam.get_group(GroupName="devs")["Group"]["Arn"]
    result, = iam.simulate_principal_policy(PolicySourceArn=group_arn, ActionNames=["s3:GetObject"],
                                            ResourceArns=["arn:aws:s3:::data/x"])["EvaluationResults"]
    assert result["EvalDecision"] == "implicitDeny"  # the group has none of alice's own policies


def test_boundary_detail_and_boundary_input_replacing_the_entity_boundary(iam):
    iam.create_user(UserName="bob")
    arn = iam.get_user(UserName="bob")["User"]["Arn"]
    boundary = iam.create_policy(PolicyName="OnlyS3", PolicyDocument=_doc(
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}))["Policy"]["Arn"]
    iam.put_user_permissions_boundary(UserName="bob", PermissionsBoundary=boundary)
    iam.put_user_policy(UserName="bob", PolicyName="Wide", PolicyDocument=_doc(
        {"Effect": "Allow", "Action": ["s3:ListAllMyBuckets", "iam:ListUsers"], "Resource": "*"}))
    s3, listing = iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=[
        "s3:ListAllMyBuckets", "iam:ListUsers"])["EvaluationResults"]
    assert (s3["EvalDecision"], s3["PermissionsBoundaryDecisionDetail"]) == (
        "allowed", {"AllowedByPermissionsBoundary": True})
    assert [m["SourcePolicyId"] for m in s3["MatchedStatements"]] == ["Wide", "OnlyS3"]
    assert (listing["EvalDecision"], listing["PermissionsBoundaryDecisionDetail"]) == (
        "implicitDeny", {"AllowedByPermissionsBoundary": False})
    wider = _doc({"Effect": "Allow", "Action": "iam:*", "Resource": "*"})
    listing, = iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=["iam:ListUsers"],
                                             PermissionsBoundaryPolicyInputList=[wider])["EvaluationResults"]
    assert listing["EvalDecision"] == "allowed"


def test_custom_policy_with_resource_policy_and_context_entries(iam, cloudkeep_account):
    caller = f"arn:aws:iam::{cloudkeep_account.account_id}:user/carol"
    identity = _doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
                     "Condition": {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}},
                    {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*",
                     "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}})
    bucket = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": caller}, "Action": "s3:DeleteObject",
         "Resource": "arn:aws:s3:::vault/*"}]})

    def run(ip: str, mfa: str) -> list[dict]:
        return iam.simulate_custom_policy(
            PolicyInputList=[identity], ResourcePolicy=bucket, CallerArn=caller,
            ActionNames=["s3:GetObject", "s3:DeleteObject"], ResourceArns=["arn:aws:s3:::vault/k"],
            ContextEntries=[{"ContextKeyName": "aws:SourceIp", "ContextKeyValues": [ip], "ContextKeyType": "ip"},
                            {"ContextKeyName": "aws:MultiFactorAuthPresent", "ContextKeyValues": [mfa],
                             "ContextKeyType": "boolean"}])["EvaluationResults"]

    get, delete = run("203.0.113.7", "true")
    assert get["EvalDecision"] == "allowed" and get["MatchedStatements"][0]["SourcePolicyId"] == "PolicyInputList.1"
    assert delete["EvalDecision"] == "allowed"
    assert [(m["SourcePolicyId"], m["SourcePolicyType"]) for m in delete["MatchedStatements"]] == [
        ("ResourcePolicy", "resource")]
    get, delete = run("198.51.100.1", "false")
    assert get["EvalDecision"] == "implicitDeny" and delete["EvalDecision"] == "explicitDeny"
    assert delete["MatchedStatements"][0]["StartPosition"] == _pos(identity, 1)[0]


def test_missing_context_values_and_pagination(iam):
    policy = _doc({"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:ListBucket"], "Resource": "*",
                   "Condition": {"StringEquals": {"aws:PrincipalTag/team": "blue"}}})
    first = iam.simulate_custom_policy(PolicyInputList=[policy], MaxItems=2,
                                       ActionNames=["s3:GetObject", "s3:PutObject", "s3:ListBucket"])
    assert first["IsTruncated"] is True and len(first["EvaluationResults"]) == 2
    assert first["EvaluationResults"][0]["MissingContextValues"] == ["aws:PrincipalTag/team"]
    rest = iam.simulate_custom_policy(PolicyInputList=[policy], MaxItems=2, Marker=first["Marker"],
                                      ActionNames=["s3:GetObject", "s3:PutObject", "s3:ListBucket"])
    assert rest["IsTruncated"] is False
    assert [r["EvalActionName"] for r in rest["EvaluationResults"]] == ["s3:ListBucket"]


def test_context_keys_for_principal_and_custom_policies(iam, alice):
    iam.put_user_policy(UserName="alice", PolicyName="Home", PolicyDocument=_doc(
        {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::home/${aws:username}/*",
         "Condition": {"Bool": {"aws:SecureTransport": "true"}}}))
    extra = _doc({"Effect": "Allow", "Action": "ec2:*", "Resource": "*",
                  "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}})
    keys = iam.get_context_keys_for_principal_policy(PolicySourceArn=alice, PolicyInputList=[extra])["ContextKeyNames"]
    assert keys == ["aws:username", "aws:SecureTransport", "aws:CurrentTime"]
    assert iam.get_context_keys_for_custom_policy(PolicyInputList=[extra])["ContextKeyNames"] == ["aws:CurrentTime"]


def test_invalid_inputs(iam, cloudkeep_account):
    acct = cloudkeep_account.account_id
    with pytest.raises(ClientError) as exc:
        iam.simulate_principal_policy(PolicySourceArn=f"arn:aws:iam::{acct}:user/nobody", ActionNames=["s3:GetObject"])
    assert _error(exc) == ("NoSuchEntity", "The user with name nobody cannot be found.")
    bad = f"arn:aws:sts::{acct}:assumed-role/r/s"
    with pytest.raises(ClientError) as exc:
        iam.simulate_principal_policy(PolicySourceArn=bad, ActionNames=["s3:GetObject"])
    assert _error(exc) == ("InvalidInput", f"Invalid Entity Arn: {bad}")
    policy = _doc({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
    with pytest.raises(ClientError) as exc:
        iam.simulate_custom_policy(PolicyInputList=[policy], ActionNames=["s3:GetObject"], ResourceArns=["bucket"])
    assert _error(exc) == ("InvalidInput", "ResourceNames are not in a valid ARN format: bucket.")
    with pytest.raises(ClientError) as exc:
        iam.simulate_custom_policy(PolicyInputList=['{"Statement": "nope"}'], ActionNames=["s3:GetObject"])
    assert _error(exc)[0] == "InvalidInput"
    with pytest.raises(ClientError) as exc:
        iam.simulate_custom_policy(PolicyInputList=[policy], ActionNames=["s3:GetObject"], ContextEntries=[
            {"ContextKeyName": "aws:SourceIp", "ContextKeyValues": ["not-an-ip"], "ContextKeyType": "ip"}])
    assert _error(exc)[0] == "InvalidInput"


def test_simulating_needs_permission(iam, cloudkeep_account, alice):
    key = iam.create_access_key(UserName="alice")["AccessKey"]
    from cloudkeep.testing.server import client_for
    as_alice = client_for(cloudkeep_account.endpoint, "iam", key["AccessKeyId"], key["SecretAccessKey"])
    with pytest.raises(ClientError) as exc:
        as_alice.simulate_principal_policy(PolicySourceArn=alice, ActionNames=["s3:GetObject"])
    code, message = _error(exc)
    assert code == "AccessDenied" and f"iam:SimulatePrincipalPolicy on resource: {alice}" in message


# --- the CLI, offline ----------------------------------------------------------------------------


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "250"}  # a wide table: no folded cells
    return subprocess.run([sys.executable, "-m", "cloudkeep.cli", "policy", "simulate", *args],
                          capture_output=True, text=True, timeout=60, env=env)


def test_cli_simulates_local_files_with_deciding_statements(tmp_path):
    (tmp_path / "identity.json").write_text(NO_DELETE)
    (tmp_path / "read.json").write_text(READ)
    (tmp_path / "bucket.json").write_text(json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:user/dave"}, "Action": "s3:PutObject",
         "Resource": "arn:aws:s3:::data/*"}]}))
    common = ["--policy", str(tmp_path / "identity.json"), "--policy", str(tmp_path / "read.json"),
              "--resource-policy", str(tmp_path / "bucket.json"), "--principal-arn",
              "arn:aws:iam::123456789012:user/dave", "--resource", "arn:aws:s3:::data/a",
              "--action", "s3:GetObject", "--action", "s3:DeleteObject", "--action", "s3:PutObject",
              "--action", "s3:CreateBucket", "--context", "aws:SourceIp=203.0.113.7"]
    done = _cli(*common, "--json")
    assert done.returncode == 0, done.stderr
    results = {r["EvalActionName"]: r for r in json.loads(done.stdout)["EvaluationResults"]}
    assert {a: r["EvalDecision"] for a, r in results.items()} == {
        "s3:GetObject": "allowed", "s3:DeleteObject": "explicitDeny", "s3:PutObject": "allowed",
        "s3:CreateBucket": "implicitDeny"}
    start, end = _pos(NO_DELETE, 1)
    assert results["s3:DeleteObject"]["MatchedStatements"] == [
        {"SourcePolicyId": "identity.json", "SourcePolicyType": "none", "StartPosition": start, "EndPosition": end}]
    assert results["s3:PutObject"]["MatchedStatements"][0]["SourcePolicyType"] == "resource"
    table = _cli(*common)
    assert table.returncode == 0, table.stderr
    assert "explicitDeny" in table.stdout and "implicitDeny" in table.stdout
    assert f"identity.json NoDelete {start['Line']}:{start['Column']}-{end['Line']}:{end['Column']}" in table.stdout


def test_cli_reports_bad_input_in_one_line(tmp_path):
    (tmp_path / "p.json").write_text('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow"}]}')
    done = _cli("--policy", str(tmp_path / "p.json"), "--action", "s3:GetObject")
    assert done.returncode == 2 and done.stderr.startswith("cloudkeep: p.json: ")
    assert len(done.stderr.strip().splitlines()) == 1
    done = _cli("--policy", str(tmp_path / "missing.json"), "--action", "s3:GetObject")
    assert done.returncode == 2 and "cannot read" in done.stderr
