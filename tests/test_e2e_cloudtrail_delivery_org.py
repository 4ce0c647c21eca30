"""Trails in an organization: an organization trail of the management account delivers the
events of every member account under AWSLogs/<org-id>/<account>/, and an SCP that denies
cloudtrail:StopLogging stops a member account's administrator from turning its trail off.

AWS pages: https://docs.aws.amazon.com/awscloudtrail/latest/userguide/creating-trail-organization.html,
https://docs.aws.amazon.com/awscloudtrail/latest/userguide/create-s3-bucket-policy-for-cloudtrail.html#org-trail-bucket-policy,
https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_examples_general.html
"""

from __future__ import annotations

import json
import re
import uuid

import pytest

from cloudkeep.testing.server import client_for
from cloudtrail_delivery_support import deliver, error_of, keys, records, trail_bucket


def _doc(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


@pytest.fixture
def org(cloudkeep_server):
    management = cloudkeep_server.create_account()
    api = management.client("organizations")
    org_id = api.create_organization(FeatureSet="ALL")["Organization"]["Id"]
    root_id = api.list_roots()["Roots"][0]["Id"]
    return management, api, org_id, root_id


def _member_admin(management, api):
    """A created member account, reached as OrganizationAccountAccessRole by an admin user."""
    email = f"member-{uuid.uuid4().hex[:8]}@example.com"
    request = api.create_account(Email=email, AccountName="member")["CreateAccountStatus"]
    status = api.describe_create_account_status(CreateAccountRequestId=request["Id"])["CreateAccountStatus"]
    account_id = status["AccountId"]
    iam = management.client("iam")
    iam.create_user(UserName="org-admin")
    iam.put_user_policy(UserName="org-admin", PolicyName="admin",
                        PolicyDocument=_doc({"Effect": "Allow", "Action": "*", "Resource": "*"}))
    key = iam.create_access_key(UserName="org-admin")["AccessKey"]
    sts = client_for(management.endpoint, "sts", key["AccessKeyId"], key["SecretAccessKey"])
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/OrganizationAccountAccessRole",
                            RoleSessionName="admin")["Credentials"]

    def client(service: str):
        return client_for(management.endpoint, service, creds["AccessKeyId"], creds["SecretAccessKey"],
                          session_token=creds["SessionToken"])
    return account_id, client


def test_scp_denying_stop_logging_stops_a_member_administrator(org):
    management, api, _org_id, root_id = org
    account_id, admin = _member_admin(management, api)
    s3, ct = admin("s3"), admin("cloudtrail")
    bucket = f"member-trail-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    from cloudtrail_delivery_support import cloudtrail_bucket_policy
    s3.put_bucket_policy(Bucket=bucket, Policy=cloudtrail_bucket_policy(bucket, account_id))
    ct.create_trail(Name="member-trail", S3BucketName=bucket)
    ct.start_logging(Name="member-trail")
    api.enable_policy_type(RootId=root_id, PolicyType="SERVICE_CONTROL_POLICY")
    policy = api.create_policy(Name="keep-trails-on", Description="d", Type="SERVICE_CONTROL_POLICY", Content=_doc(
        {"Effect": "Deny", "Action": ["cloudtrail:StopLogging", "cloudtrail:DeleteTrail"], "Resource": "*"}))
    api.attach_policy(PolicyId=policy["Policy"]["PolicySummary"]["Id"], TargetId=root_id)
    code, message = error_of(ct.stop_logging, Name="member-trail")
    assert code == "AccessDeniedException"
    assert "cloudtrail:StopLogging" in message and "with an explicit deny in a service control policy" in message
    assert error_of(ct.delete_trail, Name="member-trail")[0] == "AccessDeniedException"
    assert ct.get_trail_status(Name="member-trail")["IsLogging"] is True


def test_organization_trail_delivers_member_events_under_the_organization_id(cloudkeep_server, org):
    management, api, org_id, _root_id = org
    ct = management.client("cloudtrail")
    bucket = trail_bucket(management, "org-trail", org_id=org_id)
    code, message = error_of(ct.create_trail, Name="org-trail", S3BucketName=bucket, IsOrganizationTrail=True)
    assert (code, message) == ("CloudTrailAccessNotEnabledException",
                               "The request could not be processed because your organization hasn\u2019t enabled "
                               "CloudTrail service access. Enable service access for CloudTrail, and then try again.")
    api.enable_aws_service_access(ServicePrincipal="cloudtrail.amazonaws.com")
    trail = ct.create_trail(Name="org-trail", S3BucketName=bucket, IsOrganizationTrail=True)
    assert trail["IsOrganizationTrail"] is True
    ct.start_logging(Name="org-trail")
    member_id, admin = _member_admin(management, api)
    admin("iam").create_user(UserName="member-user")
    management.client("iam").create_user(UserName="management-user")
    deliver(cloudkeep_server)
    s3 = management.client("s3")
    found = keys(s3, bucket)
    assert any(re.fullmatch(rf"AWSLogs/{org_id}/{member_id}/CloudTrail/us-east-1/.+\.json\.gz", k) for k in found), found
    assert all(k.startswith(f"AWSLogs/{org_id}/") for k in found), found
    users = {(e["recipientAccountId"], e["requestParameters"]["userName"]) for e in records(s3, bucket)
             if e["eventName"] == "CreateUser"}
    assert (member_id, "member-user") in users and (management.account_id, "management-user") in users
    # the member account sees the organization trail, and cannot change it
    member_ct = admin("cloudtrail")
    seen = member_ct.describe_trails()["trailList"]
    assert [(t["TrailARN"], t["IsOrganizationTrail"]) for t in seen] == [(trail["TrailARN"], True)]
    assert [t["TrailARN"] for t in member_ct.list_trails()["Trails"]] == [trail["TrailARN"]]
    assert member_ct.get_trail_status(Name=trail["TrailARN"])["IsLogging"] is True
    code, message = error_of(member_ct.stop_logging, Name=trail["TrailARN"])
    assert code == "AccessDeniedException" and "no resource-based policy allows the cloudtrail:StopLogging" in message
    assert ct.get_trail_status(Name="org-trail")["IsLogging"] is True


def test_organization_trail_needs_the_management_account(cloudkeep_account):
    ct = cloudkeep_account.client("cloudtrail")
    bucket = trail_bucket(cloudkeep_account)
    assert error_of(ct.create_trail, Name="not-org", S3BucketName=bucket, IsOrganizationTrail=True)[0] == \
        "OrganizationsNotInUseException"
