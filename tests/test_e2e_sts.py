"""End to end: STS temporary credentials on the real server, driven by boto3.

AWS pages checked:
- AssumeRole: https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html
- GetSessionToken: https://docs.aws.amazon.com/STS/latest/APIReference/API_GetSessionToken.html and
  https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_control-access_getsessiontoken.html
- GetFederationToken: https://docs.aws.amazon.com/STS/latest/APIReference/API_GetFederationToken.html
- GetAccessKeyInfo: https://docs.aws.amazon.com/STS/latest/APIReference/API_GetAccessKeyInfo.html
- Role chaining: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles.html#iam-term-role-chaining
- Session policies: https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies.html#policies_session

Time: the server's domain clock only moves forward and is shared by the whole test session, so
expirations are compared with each other (two calls with different durations), never with the
local clock.
"""

from __future__ import annotations

import json
import re
import secrets

import pytest
from botocore.exceptions import ClientError

from cloudkeep.testing.server import client_for


ASIA = re.compile(r"ASIA[A-Z2-7]{16}")


def _code(exc: ClientError) -> str:
    return exc.value.response["Error"]["Code"]  # type: ignore[attr-defined]


def _err(exc) -> tuple[str, int, str]:
    r = exc.value.response
    return r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"], r["Error"]["Message"]


def _client(server, service: str, creds: dict):
    return client_for(server.endpoint, service, creds["AccessKeyId"], creds["SecretAccessKey"],
                      session_token=creds.get("SessionToken"))


def _doc(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _user(account, server, name: str, *actions: str) -> tuple[str, dict]:
    """An IAM user with an access key and an inline policy allowing ``actions`` on "*"."""
    iam = account.client("iam")
    arn = iam.create_user(UserName=name)["User"]["Arn"]
    if actions:
        iam.put_user_policy(UserName=name, PolicyName="p",
                            PolicyDocument=_doc({"Effect": "Allow", "Action": list(actions), "Resource": "*"}))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return arn, {"AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"]}


def _role(account, name: str, trusted: str, *, condition: dict | None = None, max_session: int = 3600,
          actions: tuple[str, ...] = ()) -> dict:
    stmt: dict = {"Effect": "Allow", "Principal": {"AWS": trusted}, "Action": "sts:AssumeRole"}
    if condition:
        stmt["Condition"] = condition
    iam = account.client("iam")
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=_doc(stmt),
                           MaxSessionDuration=max_session)["Role"]
    if actions:
        iam.put_role_policy(RoleName=name, PolicyName="p",
                            PolicyDocument=_doc({"Effect": "Allow", "Action": list(actions), "Resource": "*"}))
    return role


def _seconds(a, b) -> float:
    return (a - b).total_seconds()


# --- GetSessionToken ----------------------------------------------------------------------------


def test_get_session_token_gives_an_iam_user_temporary_credentials_of_that_user(cloudkeep_account,
                                                                                   cloudkeep_server):
    arn, creds = _user(cloudkeep_account, cloudkeep_server, "alice")
    sts = _client(cloudkeep_server, "sts", creds)
    default = sts.get_session_token()["Credentials"]
    short = sts.get_session_token(DurationSeconds=900)["Credentials"]
    assert ASIA.fullmatch(default["AccessKeyId"]) and default["AccessKeyId"] != short["AccessKeyId"]
    assert len(default["SecretAccessKey"]) == 40 and default["SessionToken"]
    # default 12 hours; the two calls are a moment apart
    assert abs(_seconds(default["Expiration"], short["Expiration"]) - (43200 - 900)) < 60
    ident = _client(cloudkeep_server, "sts", default).get_caller_identity()
    user = cloudkeep_account.client("iam").get_user(UserName="alice")["User"]
    assert ident == {**ident, "Arn": arn, "UserId": user["UserId"], "Account": cloudkeep_account.account_id}


def test_get_session_token_of_the_root_user_lasts_one_hour_at_most(cloudkeep_account, cloudkeep_server):
    sts = cloudkeep_account.client("sts")
    long = sts.get_session_token(DurationSeconds=7200)["Credentials"]
    short = sts.get_session_token(DurationSeconds=900)["Credentials"]
    assert abs(_seconds(long["Expiration"], short["Expiration"]) - (3600 - 900)) < 60
    ident = _client(cloudkeep_server, "sts", long).get_caller_identity()
    assert ident["Arn"] == f"arn:aws:iam::{cloudkeep_account.account_id}:root"
    assert ident["UserId"] == cloudkeep_account.account_id


def test_get_session_token_needs_no_permission(cloudkeep_account, cloudkeep_server):
    _arn, creds = _user(cloudkeep_account, cloudkeep_server, "nopolicy")
    assert ASIA.fullmatch(_client(cloudkeep_server, "sts", creds).get_session_token()["Credentials"]["AccessKeyId"])


def test_get_session_token_with_session_credentials_is_access_denied(cloudkeep_account, cloudkeep_server):
    _arn, creds = _user(cloudkeep_account, cloudkeep_server, "bob")
    temp = _client(cloudkeep_server, "sts", creds).get_session_token()["Credentials"]
    with pytest.raises(ClientError) as exc:
        _client(cloudkeep_server, "sts", temp).get_session_token()
    assert _err(exc) == ("AccessDenied", 403, "Cannot call GetSessionToken with session credentials")


def test_get_session_token_with_an_mfa_serial_number_is_refused(cloudkeep_account, cloudkeep_server):
    _arn, creds = _user(cloudkeep_account, cloudkeep_server, "carol")
    with pytest.raises(ClientError) as exc:
        _client(cloudkeep_server, "sts", creds).get_session_token(
            SerialNumber=f"arn:aws:iam::{cloudkeep_account.account_id}:mfa/carol", TokenCode="123456")
    code, status, message = _err(exc)
    assert (code, status) == ("AccessDenied", 403) and message.startswith("MultiFactorAuthentication failed")


# --- authentication of temporary credentials -------------------------------------------------------


def test_temporary_credentials_expire_on_the_domain_clock(cloudkeep_account, cloudkeep_server):
    _arn, creds = _user(cloudkeep_account, cloudkeep_server, "dave")
    temp = _client(cloudkeep_server, "sts", creds).get_session_token(DurationSeconds=900)["Credentials"]
    sts = _client(cloudkeep_server, "sts", temp)
    assert sts.get_caller_identity()["Account"] == cloudkeep_account.account_id
    cloudkeep_server.advance(901)
    with pytest.raises(ClientError) as exc:
        sts.get_caller_identity()
    assert _err(exc) == ("ExpiredToken", 400, "The security token included in the request is expired")


def test_temporary_key_with_a_wrong_or_missing_session_token_is_refused(cloudkeep_account, cloudkeep_server):
    temp = cloudkeep_account.client("sts").get_session_token()["Credentials"]
    for token in (temp["SessionToken"][:-4] + "AAAA", None):
        with pytest.raises(ClientError) as exc:
            _client(cloudkeep_server, "sts", {**temp, "SessionToken": token}).get_caller_identity()
        assert _err(exc) == ("InvalidClientTokenId", 403, "The security token included in the request is invalid.")
    with pytest.raises(ClientError) as exc:   # the right token with the wrong secret
        _client(cloudkeep_server, "sts", {**temp, "SecretAccessKey": "x" * 40}).get_caller_identity()
    assert _err(exc)[0] == "SignatureDoesNotMatch"


def test_long_term_key_with_a_session_token_is_refused(cloudkeep_account, cloudkeep_server):
    temp = cloudkeep_account.client("sts").get_session_token()["Credentials"]
    long_term = {"AccessKeyId": cloudkeep_account.access_key_id,
                 "SecretAccessKey": cloudkeep_account.secret_access_key, "SessionToken": temp["SessionToken"]}
    with pytest.raises(ClientError) as exc:
        _client(cloudkeep_server, "sts", long_term).get_caller_identity()
    assert _err(exc)[0] == "InvalidClientTokenId"


# --- GetFederationToken --------------------------------------------------------------------------


def test_get_federation_token_returns_a_federated_user_session(cloudkeep_account, cloudkeep_server):
    acct = cloudkeep_account.account_id
    sts = cloudkeep_account.client("sts")
    policy = _doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})
    out = sts.get_federation_token(Name="bob", Policy=policy, DurationSeconds=7200)
    short = sts.get_federation_token(Name="bob", DurationSeconds=900)
    assert out["FederatedUser"] == {"FederatedUserId": f"{acct}:bob",
                                    "Arn": f"arn:aws:sts::{acct}:federated-user/bob"}
    assert ASIA.fullmatch(out["Credentials"]["AccessKeyId"])
    assert 0 < out["PackedPolicySize"] <= 100 and "PackedPolicySize" not in short
    # the root user's federation sessions last one hour at most
    assert abs(_seconds(out["Credentials"]["Expiration"], short["Credentials"]["Expiration"]) - 2700) < 60
    ident = _client(cloudkeep_server, "sts", out["Credentials"]).get_caller_identity()
    assert ident["Arn"] == f"arn:aws:sts::{acct}:federated-user/bob" and ident["UserId"] == f"{acct}:bob"


def test_get_federation_token_with_a_malformed_policy_is_malformed_policy_document(cloudkeep_account):
    sts = cloudkeep_account.client("sts")
    for bad in ("{not json", _doc({"Effect": "Allow", "Action": "s3:GetObject"})):   # no Resource
        with pytest.raises(ClientError) as exc:
            sts.get_federation_token(Name="bob", Policy=bad)
        assert _err(exc)[:2] == ("MalformedPolicyDocument", 400)


def test_get_federation_token_with_too_many_packed_tags_is_packed_policy_too_large(cloudkeep_account):
    tags = [{"Key": f"k{i}" + secrets.token_hex(60), "Value": secrets.token_hex(120)} for i in range(50)]
    with pytest.raises(ClientError) as exc:
        cloudkeep_account.client("sts").get_federation_token(Name="bob", Tags=tags)
    code, status, message = _err(exc)
    assert (code, status) == ("PackedPolicyTooLarge", 400) and "of allotted space" in message


def test_get_federation_token_with_session_credentials_is_access_denied(cloudkeep_account, cloudkeep_server):
    temp = cloudkeep_account.client("sts").get_session_token()["Credentials"]
    with pytest.raises(ClientError) as exc:
        _client(cloudkeep_server, "sts", temp).get_federation_token(Name="bob")
    assert _err(exc) == ("AccessDenied", 403, "Cannot call GetFederationToken with session credentials")


def test_get_federation_token_by_an_iam_user_names_the_user_as_parent(cloudkeep_account, cloudkeep_server):
    _arn, creds = _user(cloudkeep_account, cloudkeep_server, "fed", "sts:GetFederationToken")
    out = _client(cloudkeep_server, "sts", creds).get_federation_token(Name="partner", DurationSeconds=7200)
    short = _client(cloudkeep_server, "sts", creds).get_federation_token(Name="partner", DurationSeconds=900)
    assert abs(_seconds(out["Credentials"]["Expiration"], short["Credentials"]["Expiration"]) - 6300) < 60
    assert out["FederatedUser"]["Arn"] == f"arn:aws:sts::{cloudkeep_account.account_id}:federated-user/partner"


# --- AssumeRole: what works without the engine ------------------------------------------------------


def test_root_user_cannot_assume_a_role(cloudkeep_account):
    acct = cloudkeep_account.account_id
    role = _role(cloudkeep_account, "r-root", f"arn:aws:iam::{acct}:root")
    with pytest.raises(ClientError) as exc:
        cloudkeep_account.client("sts").assume_role(RoleArn=role["Arn"], RoleSessionName="s1")
    assert _err(exc) == ("AccessDenied", 403, "Roles may not be assumed by root accounts.")


def test_assume_role_input_constraints_are_validation_errors(cloudkeep_account):
    from botocore.config import Config

    acct = cloudkeep_account.account_id
    sts = cloudkeep_account.client("sts", config=Config(parameter_validation=False,
                                                        retries={"max_attempts": 1, "mode": "standard"}))
    arn = f"arn:aws:iam::{acct}:role/x"
    for kwargs in ({"DurationSeconds": 899}, {"RoleSessionName": "bad name!"}, {"RoleSessionName": "a"}):
        with pytest.raises(ClientError) as exc:
            sts.assume_role(**{"RoleArn": arn, "RoleSessionName": "ok", **kwargs})
        assert _err(exc)[:2] == ("ValidationError", 400), kwargs


# --- AssumeRole: trust policies and session rules (the engine decides) ----------------------------------


def test_assume_role_returns_a_role_session_identified_by_its_session_arn(cloudkeep_account, cloudkeep_server):
    acct = cloudkeep_account.account_id
    alice, creds = _user(cloudkeep_account, cloudkeep_server, "alice", "sts:AssumeRole")
    role = _role(cloudkeep_account, "Deployer", alice)
    sts = _client(cloudkeep_server, "sts", creds)
    out = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="build-42")
    short = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="build-43", DurationSeconds=900)
    assert out["AssumedRoleUser"] == {"AssumedRoleId": f"{role['RoleId']}:build-42",
                                      "Arn": f"arn:aws:sts::{acct}:assumed-role/Deployer/build-42"}
    c = out["Credentials"]
    assert ASIA.fullmatch(c["AccessKeyId"]) and len(c["SecretAccessKey"]) == 40 and c["SessionToken"]
    assert abs(_seconds(c["Expiration"], short["Credentials"]["Expiration"]) - 2700) < 60   # default 1 h
    ident = _client(cloudkeep_server, "sts", c).get_caller_identity()
    assert ident["Arn"] == out["AssumedRoleUser"]["Arn"] and ident["UserId"] == f"{role['RoleId']}:build-42"


def test_trust_policy_external_id_condition_decides(cloudkeep_account, cloudkeep_server):
    alice, creds = _user(cloudkeep_account, cloudkeep_server, "alice", "sts:AssumeRole")
    role = _role(cloudkeep_account, "Vendor", alice, condition={"StringEquals": {"sts:ExternalId": "xyz-123"}})
    sts = _client(cloudkeep_server, "sts", creds)
    for extra in ({}, {"ExternalId": "wrong-id"}):
        with pytest.raises(ClientError) as exc:
            sts.assume_role(RoleArn=role["Arn"], RoleSessionName="sess", **extra)
        code, status, message = _err(exc)
        assert (code, status) == ("AccessDenied", 403)
        assert message.startswith(f"User: {alice} is not authorized to perform: sts:AssumeRole on resource: "
                                  f"{role['Arn']}")
    assert sts.assume_role(RoleArn=role["Arn"], RoleSessionName="sess", ExternalId="xyz-123")["Credentials"]


def test_trust_policy_that_does_not_name_the_caller_denies_even_with_identity_permission(cloudkeep_account,
                                                                                         cloudkeep_server):
    other, _ = _user(cloudkeep_account, cloudkeep_server, "other")
    _alice, creds = _user(cloudkeep_account, cloudkeep_server, "alice", "sts:AssumeRole")
    role = _role(cloudkeep_account, "OnlyOther", other)
    with pytest.raises(ClientError) as exc:
        _client(cloudkeep_server, "sts", creds).assume_role(RoleArn=role["Arn"], RoleSessionName="sess")
    assert _err(exc)[:2] == ("AccessDenied", 403)


def test_assume_role_of_an_unknown_role_is_access_denied(cloudkeep_account, cloudkeep_server):
    _alice, creds = _user(cloudkeep_account, cloudkeep_server, "alice", "sts:AssumeRole")
    arn = f"arn:aws:iam::{cloudkeep_account.account_id}:role/nope"
    with pytest.raises(ClientError) as exc:
        _client(cloudkeep_server, "sts", creds).assume_role(RoleArn=arn, RoleSessionName="sess")
    assert _err(exc)[:2] == ("AccessDenied", 403)


def test_duration_above_the_role_maximum_is_a_validation_error(cloudkeep_account, cloudkeep_server):
    alice, creds = _user(cloudkeep_account, cloudkeep_server, "alice", "sts:AssumeRole")
    role = _role(cloudkeep_account, "Short", alice, max_session=3600)
    with pytest.raises(ClientError) as exc:
        _client(cloudkeep_server, "sts", creds).assume_role(RoleArn=role["Arn"], RoleSessionName="sess",
                                                            DurationSeconds=7200)
    assert _err(exc) == ("ValidationError", 400,
                         "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")


def test_role_chaining_is_capped_at_one_hour(cloudkeep_account, cloudkeep_server):
    alice, creds = _user(cloudkeep_account, cloudkeep_server, "alice", "sts:AssumeRole")
    first = _role(cloudkeep_account, "First", alice, max_session=43200, actions=("sts:AssumeRole",))
    session = f"arn:aws:sts::{cloudkeep_account.account_id}:assumed-role/First/hop1"
    second = _role(cloudkeep_account, "Second", session, max_session=43200)
    hop1 = _client(cloudkeep_server, "sts", creds).assume_role(
        RoleArn=first["Arn"], RoleSessionName="hop1", DurationSeconds=7200)["Credentials"]
    sts = _client(cloudkeep_server, "sts", hop1)
    with pytest.raises(ClientError) as exc:
        sts.assume_role(RoleArn=second["Arn"], RoleSessionName="hop2", DurationSeconds=7200)
    assert _err(exc) == ("ValidationError", 400, "The requested DurationSeconds exceeds the 1 hour session "
                                                 "limit for roles assumed by role chaining.")
    out = sts.assume_role(RoleArn=second["Arn"], RoleSessionName="hop2", DurationSeconds=3600)
    assert out["AssumedRoleUser"]["Arn"].endswith(":assumed-role/Second/hop2")


def test_session_policy_caps_the_role_session(cloudkeep_account, cloudkeep_server):
    alice, creds = _user(cloudkeep_account, cloudkeep_server, "alice", "sts:AssumeRole")
    role = _role(cloudkeep_account, "Reader", alice, actions=("iam:ListUsers", "iam:ListRoles"))
    sts = _client(cloudkeep_server, "sts", creds)
    capped = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="capped",
                             Policy=_doc({"Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*"}))
    assert 0 < capped["PackedPolicySize"] <= 100
    iam = _client(cloudkeep_server, "iam", capped["Credentials"])
    assert any(u["UserName"] == "alice" for u in iam.list_users()["Users"])
    with pytest.raises(ClientError) as exc:
        iam.list_roles()
    assert _err(exc)[:2] == ("AccessDenied", 403)
    full = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="full")["Credentials"]
    assert _client(cloudkeep_server, "iam", full).list_roles()["Roles"]


def test_role_session_expires_on_the_domain_clock(cloudkeep_account, cloudkeep_server):
    alice, creds = _user(cloudkeep_account, cloudkeep_server, "alice", "sts:AssumeRole")
    role = _role(cloudkeep_account, "Brief", alice)
    temp = _client(cloudkeep_server, "sts", creds).assume_role(
        RoleArn=role["Arn"], RoleSessionName="sess", DurationSeconds=900)["Credentials"]
    sts = _client(cloudkeep_server, "sts", temp)
    assert sts.get_caller_identity()["Arn"].endswith(":assumed-role/Brief/sess")
    cloudkeep_server.advance(3601)
    with pytest.raises(ClientError) as exc:
        sts.get_caller_identity()
    assert _err(exc) == ("ExpiredToken", 400, "The security token included in the request is expired")


def test_assume_role_with_an_mfa_serial_number_is_refused_until_mfa_devices_exist(cloudkeep_account,
                                                                                   cloudkeep_server):
    alice, creds = _user(cloudkeep_account, cloudkeep_server, "alice", "sts:AssumeRole")
    role = _role(cloudkeep_account, "Mfa", alice)
    with pytest.raises(ClientError) as exc:
        _client(cloudkeep_server, "sts", creds).assume_role(
            RoleArn=role["Arn"], RoleSessionName="sess", TokenCode="123456",
            SerialNumber=f"arn:aws:iam::{cloudkeep_account.account_id}:mfa/alice")
    code, _status, message = _err(exc)
    assert code == "AccessDenied" and message.startswith("MultiFactorAuthentication failed")


def test_assume_role_with_a_malformed_session_policy_is_malformed_policy_document(cloudkeep_account,
                                                                                  cloudkeep_server):
    alice, creds = _user(cloudkeep_account, cloudkeep_server, "alice", "sts:AssumeRole")
    role = _role(cloudkeep_account, "Strict", alice)
    with pytest.raises(ClientError) as exc:
        _client(cloudkeep_server, "sts", creds).assume_role(RoleArn=role["Arn"], RoleSessionName="sess",
                                                            Policy='{"Version": "2012-10-17"')
    assert _err(exc)[:2] == ("MalformedPolicyDocument", 400)


# --- GetAccessKeyInfo / DecodeAuthorizationMessage ------------------------------------------------


def test_get_access_key_info_answers_the_account_of_any_key(cloudkeep_account, cloudkeep_server):
    other = cloudkeep_server.create_account()
    sts = cloudkeep_account.client("sts")
    temp = other.client("sts").get_session_token()["Credentials"]
    assert sts.get_access_key_info(AccessKeyId=cloudkeep_account.access_key_id)["Account"] == \
        cloudkeep_account.account_id
    assert sts.get_access_key_info(AccessKeyId=other.access_key_id)["Account"] == other.account_id
    assert sts.get_access_key_info(AccessKeyId=temp["AccessKeyId"])["Account"] == other.account_id
    # a key cloudkeep never issued: the account AWS's key format encodes in it (a published example)
    assert sts.get_access_key_info(AccessKeyId="ASIAY34FZKBOKMUTVV7A")["Account"] == "609629065308"


def test_decode_authorization_message_refuses_a_message_it_did_not_encode(cloudkeep_account):
    with pytest.raises(ClientError) as exc:
        cloudkeep_account.client("sts").decode_authorization_message(EncodedMessage="not-a-message")
    assert _err(exc)[:2] == ("InvalidAuthorizationMessageException", 400)
