"""S3's access-control rules without a server: what counts as a public policy or ACL
(services/s3/public.py, acl.py), canned ACLs, grant headers, and grants as policy statements.

https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html#access-control-block-public-access-policy-status,
https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html
"""

from __future__ import annotations

import json

import pytest

from cloudkeep.policy.model import PolicyKind
from cloudkeep.policy.parse import parse_policy
from cloudkeep.services.s3 import acl as A
from cloudkeep.services.s3 import public as P
from cloudkeep.wire.errors import ServiceError

OWNER, OTHER = "111111111111", "222222222222"


def _doc(**statement: object) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*", **statement}]})


@pytest.mark.parametrize(("statement", "public"), [
    ({"Principal": "*"}, True),
    ({"Principal": {"AWS": "*"}}, True),
    ({"Principal": {"AWS": "arn:aws:iam::*:root"}}, True),
    ({"Principal": {"AWS": f"arn:aws:iam::{OTHER}:root"}}, False),
    ({"Principal": {"Service": "logging.s3.amazonaws.com"}}, False),
    ({"NotPrincipal": {"AWS": f"arn:aws:iam::{OTHER}:root"}}, True),
    ({"Principal": "*", "Condition": {"StringEquals": {"aws:SourceArn": "arn:aws:sns:us-east-1:1:t"}}}, False),
    ({"Principal": "*", "Condition": {"StringEqualsIfExists": {"aws:SourceAccount": OTHER}}}, True),
    ({"Principal": "*", "Condition": {"StringEquals": {"aws:userid": "AROAEXAMPLE:*"}}}, True),
    ({"Principal": "*", "Condition": {"StringEquals": {"aws:PrincipalArn": "${aws:username}"}}}, True),
    ({"Principal": "*", "Condition": {"IpAddress": {"aws:SourceIp": "2001:db8::1/128"}}}, False),
    ({"Principal": "*", "Condition": {"IpAddress": {"aws:SourceIp": "2001:db8::/16"}}}, True),
    ({"Principal": "*", "Condition": {"IpAddress": {"aws:SourceIp": "192.168.1.0/24"}}}, True),
    ({"Principal": "*", "Condition": {"IpAddress": {"aws:SourceIp": "4.0.0.0/7"}}}, True),
])
def test_the_meaning_of_public_for_a_policy(statement, public):
    assert P.policy_is_public(_doc(**statement)) is public


def test_a_deny_never_makes_a_policy_public():
    text = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::b/*"}]})
    assert P.policy_is_public(text) is False


def test_effective_settings_are_bucket_or_account():
    assert P.effective({"BlockPublicAcls": True}, {"RestrictPublicBuckets": True}) == {
        "BlockPublicAcls": True, "IgnorePublicAcls": False, "BlockPublicPolicy": False,
        "RestrictPublicBuckets": True}
    assert P.effective(None, None) == {name: False for name in P.SETTINGS}


@pytest.mark.parametrize(("name", "bucket", "expected"), [
    ("private", True, {(A.ACCOUNT, OWNER, A.FULL_CONTROL)}),
    ("public-read-write", True, {(A.ACCOUNT, OWNER, A.FULL_CONTROL), (A.GROUP, A.ALL_USERS, A.READ),
                                 (A.GROUP, A.ALL_USERS, A.WRITE)}),
    ("log-delivery-write", True, {(A.ACCOUNT, OWNER, A.FULL_CONTROL), (A.GROUP, A.LOG_DELIVERY, A.WRITE),
                                  (A.GROUP, A.LOG_DELIVERY, A.READ_ACP)}),
    ("bucket-owner-read", False, {(A.ACCOUNT, OWNER, A.FULL_CONTROL), (A.ACCOUNT, OTHER, A.READ)}),
    ("bucket-owner-full-control", False, {(A.ACCOUNT, OWNER, A.FULL_CONTROL), (A.ACCOUNT, OTHER, A.FULL_CONTROL)}),
])
def test_canned_acls(name, bucket, expected):
    assert set(A.canned(name, OWNER, OTHER, bucket=bucket)) == expected


def test_an_unknown_canned_acl_is_invalid_argument():
    with pytest.raises(ServiceError) as exc:
        A.canned("everyone", OWNER, OWNER, bucket=True)
    assert exc.value.code == "InvalidArgument"


def test_grant_headers_name_canonical_ids_and_groups():
    accounts = {"c" * 64: OTHER}
    grants = A.from_headers({"GrantRead": f'id="{"c" * 64}", uri="{A.ALL_USERS}"', "GrantWriteACP": f"id={'c' * 64}"},
                            region="eu-central-1", account_of=accounts.get)
    assert grants == [(A.ACCOUNT, OTHER, A.READ), (A.GROUP, A.ALL_USERS, A.READ), (A.ACCOUNT, OTHER, A.WRITE_ACP)]
    assert A.is_public(grants)
    with pytest.raises(ServiceError) as exc:
        A.from_headers({"GrantRead": 'emailAddress="a@example.com"'}, region="eu-central-1", account_of=accounts.get)
    assert (exc.value.code, exc.value.status) == ("UnsupportedArgument", 400)


def test_grants_become_statements_the_policy_parser_accepts():
    grants = [(A.ACCOUNT, OTHER, A.FULL_CONTROL), (A.GROUP, A.AUTHENTICATED_USERS, A.READ),
              (A.GROUP, A.LOG_DELIVERY, A.WRITE)]
    statements = A.statements(grants, bucket=True, bucket_owner=OWNER, partition="aws", ignore_public=False)
    parse_policy(json.dumps({"Version": "2012-10-17", "Statement": statements}), PolicyKind.RESOURCE)
    assert statements[0]["Principal"] == {"AWS": f"arn:aws:iam::{OTHER}:root"}
    assert set(statements[0]["Action"]) == {"s3:ListBucket", "s3:ListBucketVersions", "s3:ListBucketMultipartUploads",
                                            "s3:PutObject", "s3:DeleteObject", "s3:GetBucketAcl", "s3:PutBucketAcl"}
    assert statements[1]["Principal"] == "*" and "Condition" in statements[1]
    assert statements[2]["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    ignored = A.statements(grants, bucket=True, bucket_owner=OWNER, partition="aws", ignore_public=True)
    assert len(ignored) == 2


def test_object_grants_map_to_object_actions():
    assert A.actions(A.READ, bucket=False) == ("s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectTorrent")
    assert A.actions(A.WRITE, bucket=False) == ()
    assert "s3:DeleteObjectVersion" in A.actions(A.WRITE, bucket=True, grantee_is_bucket_owner=True)
