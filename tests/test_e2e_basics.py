"""End to end: the real server process, driven by boto3, on the issue's first operations."""

from __future__ import annotations

import re

import pytest
from botocore.exceptions import ClientError


def _code(exc: ClientError) -> str:
    return exc.response["Error"]["Code"]


def test_get_caller_identity_as_root_returns_the_account_root_arn(cloudkeep_account):
    ident = cloudkeep_account.client("sts").get_caller_identity()
    assert ident["Account"] == cloudkeep_account.account_id
    assert ident["Arn"] == f"arn:aws:iam::{cloudkeep_account.account_id}:root"
    assert ident["UserId"] == cloudkeep_account.account_id


def test_first_start_root_credentials_work(cloudkeep_server):
    root = cloudkeep_server.root
    assert root is not None and re.fullmatch(r"\d{12}", root.account_id)
    assert root.client("sts").get_caller_identity()["Account"] == root.account_id


def test_iam_user_with_access_key_is_identified_as_that_user(cloudkeep_account, cloudkeep_server):
    iam = cloudkeep_account.client("iam")
    user = iam.create_user(UserName="alice")["User"]
    assert user["Arn"] == f"arn:aws:iam::{cloudkeep_account.account_id}:user/alice"
    assert re.fullmatch(r"AIDA[A-Z2-7]{17}", user["UserId"])
    key = iam.create_access_key(UserName="alice")["AccessKey"]
    assert re.fullmatch(r"AKIA[A-Z2-7]{16}", key["AccessKeyId"])
    assert len(key["SecretAccessKey"]) == 40 and key["Status"] == "Active"
    from cloudkeep.testing.server import client_for
    sts = client_for(cloudkeep_server.endpoint, "sts", key["AccessKeyId"], key["SecretAccessKey"])
    ident = sts.get_caller_identity()
    assert ident["Arn"] == user["Arn"] and ident["UserId"] == user["UserId"]


def test_accounts_are_isolated(cloudkeep_server):
    a, b = cloudkeep_server.create_account(), cloudkeep_server.create_account()
    assert a.account_id != b.account_id
    a.client("iam").create_user(UserName="shared-name")
    assert [u["UserName"] for u in b.client("iam").list_users()["Users"]] == []
    b.client("iam").create_user(UserName="shared-name")  # no clash across accounts
    with pytest.raises(ClientError) as exc:
        b.client("iam").get_user(UserName="only-in-a")
    assert _code(exc.value) == "NoSuchEntity"


def test_create_user_twice_any_case_is_entity_already_exists(cloudkeep_account):
    iam = cloudkeep_account.client("iam")
    iam.create_user(UserName="Bob")
    with pytest.raises(ClientError) as exc:
        iam.create_user(UserName="bob")
    assert _code(exc.value) == "EntityAlreadyExists"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    assert exc.value.response["Error"]["Message"] == "User with name bob already exists."


def test_get_user_unknown_is_no_such_entity_404(cloudkeep_account):
    with pytest.raises(ClientError) as exc:
        cloudkeep_account.client("iam").get_user(UserName="nobody")
    assert _code(exc.value) == "NoSuchEntity"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert exc.value.response["Error"]["Message"] == "The user with name nobody cannot be found."


def test_get_user_without_name_as_root_describes_the_root_user(cloudkeep_account):
    user = cloudkeep_account.client("iam").get_user()["User"]
    assert user["Arn"] == f"arn:aws:iam::{cloudkeep_account.account_id}:root"
    assert user["UserId"] == cloudkeep_account.account_id


def test_list_users_paginates_and_filters_by_path_prefix(cloudkeep_account):
    iam = cloudkeep_account.client("iam")
    for i in range(5):
        iam.create_user(UserName=f"u{i}", Path="/team/a/" if i % 2 else "/")
    page = iam.list_users(MaxItems=2)
    assert [u["UserName"] for u in page["Users"]] == ["u0", "u1"] and page["IsTruncated"]
    names = [u["UserName"] for p in iam.get_paginator("list_users").paginate(PaginationConfig={"PageSize": 2})
             for u in p["Users"]]
    assert names == [f"u{i}" for i in range(5)]
    team = iam.list_users(PathPrefix="/team/")["Users"]
    assert [u["UserName"] for u in team] == ["u1", "u3"]
    assert team[0]["Arn"].endswith(":user/team/a/u1")


def test_delete_user_with_keys_is_delete_conflict_until_keys_are_gone(cloudkeep_account):
    iam = cloudkeep_account.client("iam")
    iam.create_user(UserName="carol")
    key = iam.create_access_key(UserName="carol")["AccessKey"]["AccessKeyId"]
    with pytest.raises(ClientError) as exc:
        iam.delete_user(UserName="carol")
    assert _code(exc.value) == "DeleteConflict"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    iam.delete_access_key(UserName="carol", AccessKeyId=key)
    iam.delete_user(UserName="carol")
    with pytest.raises(ClientError):
        iam.get_user(UserName="carol")


def test_access_key_quota_is_two_per_user(cloudkeep_account):
    iam = cloudkeep_account.client("iam")
    iam.create_user(UserName="dave")
    iam.create_access_key(UserName="dave")
    iam.create_access_key(UserName="dave")
    with pytest.raises(ClientError) as exc:
        iam.create_access_key(UserName="dave")
    assert _code(exc.value) == "LimitExceeded"
    assert len(iam.list_access_keys(UserName="dave")["AccessKeyMetadata"]) == 2


def test_inactive_key_is_refused_at_authentication_and_works_again_when_active(cloudkeep_account, cloudkeep_server):
    from cloudkeep.testing.server import client_for
    iam = cloudkeep_account.client("iam")
    iam.create_user(UserName="erin")
    key = iam.create_access_key(UserName="erin")["AccessKey"]
    sts = client_for(cloudkeep_server.endpoint, "sts", key["AccessKeyId"], key["SecretAccessKey"])
    sts.get_caller_identity()
    iam.update_access_key(UserName="erin", AccessKeyId=key["AccessKeyId"], Status="Inactive")
    assert iam.list_access_keys(UserName="erin")["AccessKeyMetadata"][0]["Status"] == "Inactive"
    with pytest.raises(ClientError) as exc:
        sts.get_caller_identity()
    assert _code(exc.value) == "InvalidClientTokenId"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    iam.update_access_key(UserName="erin", AccessKeyId=key["AccessKeyId"], Status="Active")
    assert sts.get_caller_identity()["Arn"].endswith(":user/erin")


def test_deleted_key_is_refused(cloudkeep_account, cloudkeep_server):
    from cloudkeep.testing.server import client_for
    iam = cloudkeep_account.client("iam")
    iam.create_user(UserName="frank")
    key = iam.create_access_key(UserName="frank")["AccessKey"]
    iam.delete_access_key(UserName="frank", AccessKeyId=key["AccessKeyId"])
    sts = client_for(cloudkeep_server.endpoint, "sts", key["AccessKeyId"], key["SecretAccessKey"])
    with pytest.raises(ClientError) as exc:
        sts.get_caller_identity()
    assert _code(exc.value) == "InvalidClientTokenId"


def test_wrong_secret_is_signature_does_not_match(cloudkeep_account, cloudkeep_server):
    from cloudkeep.testing.server import client_for
    sts = client_for(cloudkeep_server.endpoint, "sts", cloudkeep_account.access_key_id, "x" * 40)
    with pytest.raises(ClientError) as exc:
        sts.get_caller_identity()
    assert _code(exc.value) == "SignatureDoesNotMatch"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_unknown_access_key_is_invalid_client_token_id(cloudkeep_server):
    from cloudkeep.testing.server import client_for
    sts = client_for(cloudkeep_server.endpoint, "sts", "AKIAAAAAAAAAAAAAAAAA", "x" * 40)
    with pytest.raises(ClientError) as exc:
        sts.get_caller_identity()
    assert _code(exc.value) == "InvalidClientTokenId"
    assert exc.value.response["Error"]["Message"] == "The security token included in the request is invalid."


def test_get_access_key_last_used_reports_use(cloudkeep_account, cloudkeep_server):
    from cloudkeep.testing.server import client_for
    iam = cloudkeep_account.client("iam")
    iam.create_user(UserName="gina")
    key = iam.create_access_key(UserName="gina")["AccessKey"]
    never = iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])
    assert never["UserName"] == "gina"
    assert never["AccessKeyLastUsed"] == {"ServiceName": "N/A", "Region": "N/A"}
    client_for(cloudkeep_server.endpoint, "sts", key["AccessKeyId"], key["SecretAccessKey"],
               region="eu-west-1").get_caller_identity()
    cloudkeep_server.flush()
    used = iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])["AccessKeyLastUsed"]
    assert used["ServiceName"] == "sts" and used["Region"] == "eu-west-1" and "LastUsedDate" in used


def test_iam_user_without_policies_is_denied_with_access_denied(cloudkeep_account, cloudkeep_server):
    from cloudkeep.testing.server import client_for
    iam = cloudkeep_account.client("iam")
    iam.create_user(UserName="henry")
    key = iam.create_access_key(UserName="henry")["AccessKey"]
    henry = client_for(cloudkeep_server.endpoint, "iam", key["AccessKeyId"], key["SecretAccessKey"])
    with pytest.raises(ClientError) as exc:
        henry.create_user(UserName="mallory")
    assert _code(exc.value) == "AccessDenied"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    acct = cloudkeep_account.account_id
    assert exc.value.response["Error"]["Message"] == (
        f"User: arn:aws:iam::{acct}:user/henry is not authorized to perform: iam:CreateUser on resource: "
        f"arn:aws:iam::{acct}:user/mallory because no identity-based policy allows the iam:CreateUser action")
    with pytest.raises(ClientError):
        iam.get_user(UserName="mallory")  # nothing was written


def test_validation_errors_have_iams_messages(cloudkeep_account):
    # IAM answers its own message for names outside [\w+=,.@-]+ and the generic Coral format
    # (without echoing the value) for length errors; see wire/validate.py for the sources.
    from botocore.config import Config
    from cloudkeep.testing.server import client_for
    raw = client_for(cloudkeep_account.endpoint, "iam", cloudkeep_account.access_key_id,
                     cloudkeep_account.secret_access_key, config=Config(parameter_validation=False,
                                                                        retries={"max_attempts": 1}))
    with pytest.raises(ClientError) as exc:
        raw.create_user(UserName="a b")
    assert _code(exc.value) == "ValidationError"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert exc.value.response["Error"]["Message"] == (
        "The specified value for userName is invalid. It must contain only alphanumeric characters "
        "and/or the following: +=,.@_-")
    with pytest.raises(ClientError) as exc:
        raw.create_user(UserName="x" * 65)
    assert exc.value.response["Error"]["Message"] == (
        "1 validation error detected: Value at 'userName' failed to satisfy constraint: "
        "Member must have length less than or equal to 64")
    with pytest.raises(ClientError) as exc:
        raw.update_access_key(AccessKeyId="AKIAAAAAAAAAAAAAAAAA", Status="Paused")
    assert _code(exc.value) == "ValidationError"
    assert "Member must satisfy enum value set: [Active, Inactive" in exc.value.response["Error"]["Message"]
    assert cloudkeep_account.client("iam").list_users()["Users"] == []


def test_operation_in_model_but_not_implemented_is_501_after_authentication(cloudkeep_account, cloudkeep_server):
    from cloudkeep.testing.server import client_for
    with pytest.raises(ClientError) as exc:
        cloudkeep_account.client("iam").list_saml_providers()
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501
    assert _code(exc.value) == "NotImplemented"
    assert "ListSAMLProviders" in exc.value.response["Error"]["Message"]
    bad = client_for(cloudkeep_server.endpoint, "iam", cloudkeep_account.access_key_id, "y" * 40)
    with pytest.raises(ClientError) as exc:
        bad.list_saml_providers()
    assert _code(exc.value) == "SignatureDoesNotMatch"


def test_json_service_not_implemented_is_501_in_json_format(cloudkeep_account):
    with pytest.raises(ClientError) as exc:
        cloudkeep_account.client("kms").describe_custom_key_stores()
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501
    assert _code(exc.value) == "NotImplemented"


def test_request_id_header_on_success_and_error(cloudkeep_account):
    sts = cloudkeep_account.client("sts")
    ok = sts.get_caller_identity()
    assert re.fullmatch(r"[0-9a-f-]{36}", ok["ResponseMetadata"]["RequestId"])
    with pytest.raises(ClientError) as exc:
        cloudkeep_account.client("iam").get_user(UserName="nobody")
    assert re.fullmatch(r"[0-9a-f-]{36}", exc.value.response["ResponseMetadata"]["RequestId"])


def test_create_user_with_tags_and_boundary_returns_them_and_get_user_shows_them(cloudkeep_account):
    iam = cloudkeep_account.client("iam")
    boundary = "arn:aws:iam::aws:policy/PowerUserAccess"
    created = iam.create_user(UserName="tagged", Tags=[{"Key": "team", "Value": "a"}, {"Key": "env", "Value": ""}],
                              PermissionsBoundary=boundary)["User"]
    assert created["Tags"] == [{"Key": "team", "Value": "a"}, {"Key": "env", "Value": ""}]
    got = iam.get_user(UserName="tagged")["User"]
    assert got["Tags"] == created["Tags"]
    assert got["PermissionsBoundary"] == {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": boundary}
    assert "Tags" not in iam.list_users()["Users"][0]
    iam.delete_user(UserName="tagged")


def test_duplicate_tag_keys_any_case_are_invalid_input_and_write_nothing(cloudkeep_account):
    iam = cloudkeep_account.client("iam")
    with pytest.raises(ClientError) as exc:
        iam.create_user(UserName="dup", Tags=[{"Key": "Team", "Value": "a"}, {"Key": "team", "Value": "b"}])
    assert _code(exc.value) == "InvalidInput"
    assert iam.list_users()["Users"] == []


def test_permissions_boundary_that_is_not_a_policy_arn_is_invalid_input(cloudkeep_account):
    iam = cloudkeep_account.client("iam")
    with pytest.raises(ClientError) as exc:
        iam.create_user(UserName="pb", PermissionsBoundary="arn:aws:iam::123456789012:user/notapolicy")
    assert _code(exc.value) == "InvalidInput"


def test_a_session_token_with_a_long_term_key_is_refused(cloudkeep_account, cloudkeep_server):
    from cloudkeep.testing.server import client_for
    sts = client_for(cloudkeep_server.endpoint, "sts", cloudkeep_account.access_key_id,
                     cloudkeep_account.secret_access_key, session_token="not-a-real-session-token")
    with pytest.raises(ClientError) as exc:
        sts.get_caller_identity()
    assert _code(exc.value) == "InvalidClientTokenId"


def test_ec2_operation_not_implemented_is_501_in_ec2_format_and_bad_key_is_auth_failure(cloudkeep_account, cloudkeep_server):
    from cloudkeep.testing.server import client_for
    with pytest.raises(ClientError) as exc:
        cloudkeep_account.client("ec2").describe_instances()
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501
    assert _code(exc.value) == "NotImplemented"
    bad = client_for(cloudkeep_server.endpoint, "ec2", cloudkeep_account.access_key_id, "z" * 40)
    with pytest.raises(ClientError) as exc:
        bad.describe_instances()
    assert _code(exc.value) == "AuthFailure"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 401
