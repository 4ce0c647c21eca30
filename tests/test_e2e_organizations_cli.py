"""AWS CLI smoke test of cloudkeep's AWS Organizations, run as a person would: the real ``aws``
command with the account's credentials and endpoint in its environment, a policy from a file
(``file://``), and the CLI's paginated listing.

AWS pages: https://docs.aws.amazon.com/cli/latest/reference/organizations/create-organization.html,
https://docs.aws.amazon.com/cli/latest/reference/organizations/create-policy.html,
https://docs.aws.amazon.com/cli/latest/reference/organizations/attach-policy.html
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from test_e2e_kms_cli import AWS, Cli


@pytest.fixture
def aws(cloudkeep_account: Any) -> Cli:
    assert AWS is not None, "the AWS CLI is missing: it comes with the test extra (scripts/_venv test)"
    return Cli(cloudkeep_account)


def test_cli_builds_an_organization_with_an_ou_an_scp_and_a_new_account(aws, cloudkeep_account, tmp_path):
    assert "AWSOrganizationsNotInUseException" in aws.fails("organizations", "describe-organization")
    org = aws("organizations", "create-organization", "--feature-set", "ALL")["Organization"]
    assert org["MasterAccountId"] == cloudkeep_account.account_id
    root = aws("organizations", "list-roots")["Roots"][0]["Id"]
    ou = aws("organizations", "create-organizational-unit", "--parent-id", root, "--name", "Workloads",
             "--tags", "Key=team,Value=blue")["OrganizationalUnit"]
    assert ou["Name"] == "Workloads"
    aws("organizations", "enable-policy-type", "--root-id", root, "--policy-type", "SERVICE_CONTROL_POLICY")
    policy_file = tmp_path / "deny-s3.json"
    policy_file.write_text(json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*"}]}, indent=2))
    policy = aws("organizations", "create-policy", "--name", "NoBucketDeletes", "--description", "guardrail",
                 "--type", "SERVICE_CONTROL_POLICY", "--content", f"file://{policy_file}")["Policy"]["PolicySummary"]
    aws("organizations", "attach-policy", "--policy-id", policy["Id"], "--target-id", ou["Id"])
    attached = aws("organizations", "list-policies-for-target", "--target-id", ou["Id"],
                   "--filter", "SERVICE_CONTROL_POLICY")["Policies"]
    assert {p["Name"] for p in attached} == {"FullAWSAccess", "NoBucketDeletes"}
    status = aws("organizations", "create-account", "--email", f"cli-{uuid.uuid4().hex[:10]}@example.com",
                 "--account-name", "CLI made")["CreateAccountStatus"]
    assert status["State"] == "SUCCEEDED"
    aws("organizations", "move-account", "--account-id", status["AccountId"], "--source-parent-id", root,
        "--destination-parent-id", ou["Id"])
    names = aws("organizations", "list-accounts", "--page-size", "1", "--query", "Accounts[].Name")
    assert sorted(names) == sorted(["CLI made", cloudkeep_account.account_id])
    err = aws.fails("organizations", "detach-policy", "--policy-id", "p-FullAWSAccess", "--target-id", root)
    assert "ConstraintViolationException" in err and "at least one attached" in err
