"""AWS CLI smoke test of S3's access control, run as a person would: `aws s3api` with the
account's credentials and endpoint in the environment — create a bucket with ObjectWriter
ownership, read its Block Public Access settings, lift them, set and read a bucket ACL, check the
policy status of a public policy.

AWS pages: https://docs.aws.amazon.com/cli/latest/reference/s3api/put-public-access-block.html,
https://docs.aws.amazon.com/cli/latest/reference/s3api/put-bucket-acl.html,
https://docs.aws.amazon.com/cli/latest/reference/s3api/get-bucket-policy-status.html
"""

from __future__ import annotations

import json
import uuid

from tests.test_e2e_s3_cli import AWS, _cli


def test_aws_s3api_ownership_public_access_block_acl_and_policy_status(cloudkeep_account):
    assert AWS is not None, "the AWS CLI is missing: it comes with the test extra"
    aws = _cli(cloudkeep_account)
    name = f"cli-acl-{uuid.uuid4().hex[:12]}"
    aws("s3api", "create-bucket", "--bucket", name, "--object-ownership", "ObjectWriter")
    settings = json.loads(aws("s3api", "get-public-access-block", "--bucket", name))
    assert settings["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}
    aws("s3api", "put-public-access-block", "--bucket", name, "--public-access-block-configuration",
        "BlockPublicAcls=false,IgnorePublicAcls=false,BlockPublicPolicy=false,RestrictPublicBuckets=false")
    aws("s3api", "put-bucket-acl", "--bucket", name, "--acl", "public-read")
    grants = json.loads(aws("s3api", "get-bucket-acl", "--bucket", name))["Grants"]
    assert {"Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"},
            "Permission": "READ"} in grants
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{name}/*"}]})
    aws("s3api", "put-bucket-policy", "--bucket", name, "--policy", policy)
    status = json.loads(aws("s3api", "get-bucket-policy-status", "--bucket", name))
    assert status == {"PolicyStatus": {"IsPublic": True}}
