"""End to end: IAM login profiles and passwords, the account password policy, account aliases,
virtual MFA devices (and MFA-authenticated STS sessions), GetAccountSummary, the credential
report and GetAccountAuthorizationDetails, on the real server driven by boto3.

AWS pages checked:
- https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateLoginProfile.html
- https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_passwords_account-policy.html
- https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_mfa_enable_virtual.html
- https://docs.aws.amazon.com/IAM/latest/APIReference/API_EnableMFADevice.html (two consecutive codes)
- https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_mfa_configure-api-require.html
  (aws:MultiFactorAuthPresent with BoolIfExists)
- https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_getting-report.html
- https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountSummary.html
- https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountAuthorizationDetails.html

Time: TOTP codes are computed at the server's domain clock, read from an STS expiration (the clock
is shared by the whole test session and may have been moved forward by other tests).
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import json
import secrets

import pyotp
import pytest
from botocore.exceptions import ClientError

from cloudkeep.services.iam import domain_account as D
from cloudkeep.testing.server import client_for

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _err(exc) -> tuple[str, str, int]:
    r = exc.value.response
    return r["Error"]["Code"], r["Error"]["Message"], r["ResponseMetadata"]["HTTPStatusCode"]


def _doc(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


@pytest.fixture
def iam(cloudkeep_account):
    return cloudkeep_account.client("iam")


@pytest.fixture
def acct(cloudkeep_account):
    return cloudkeep_account.account_id


def _server_now(account) -> _dt.datetime:
    """The server's domain time (to the second): a root session's expiration minus its duration."""
    creds = account.client("sts").get_session_token(DurationSeconds=900)["Credentials"]
    return creds["Expiration"] - _dt.timedelta(seconds=900)


def _codes(seed: str, now: _dt.datetime) -> tuple[str, str]:
    """Two consecutive codes: the step before now, then now's."""
    step = int(now.timestamp()) // 30
    totp = pyotp.TOTP(seed)
    return totp.at((step - 1) * 30), totp.at(step * 30)


def _user_with_key(iam, name: str, *statements: dict) -> dict:
    iam.create_user(UserName=name)
    if statements:
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=_doc(*statements))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {"AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"]}


def _client(server, service: str, creds: dict):
    return client_for(server.endpoint, service, creds["AccessKeyId"], creds["SecretAccessKey"],
                      session_token=creds.get("SessionToken"))


def _enabled_device(account, iam, name: str, user: str) -> tuple[str, str, int]:
    """A virtual device enabled for ``user``: (serial, seed, the step of its second code)."""
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName=name)["VirtualMFADevice"]
    seed = device["Base32StringSeed"].decode()
    now = _server_now(account)
    iam.enable_mfa_device(UserName=user, SerialNumber=device["SerialNumber"], AuthenticationCode1=_codes(seed, now)[0],
                          AuthenticationCode2=_codes(seed, now)[1])
    return device["SerialNumber"], seed, int(now.timestamp()) // 30


# --- login profiles and the password policy -----------------------------------------------------


def test_login_profile_lifecycle_and_aws_messages(iam):
    iam.create_user(UserName="alice")
    profile = iam.create_login_profile(UserName="alice", Password="Correct-Horse-9",
                                       PasswordResetRequired=True)["LoginProfile"]
    assert (profile["UserName"], profile["PasswordResetRequired"]) == ("alice", True)
    got = iam.get_login_profile(UserName="alice")["LoginProfile"]
    assert got["PasswordResetRequired"] is True and got["CreateDate"] == profile["CreateDate"]
    with pytest.raises(ClientError) as exc:
        iam.create_login_profile(UserName="ALICE", Password="Correct-Horse-9")
    assert _err(exc) == ("EntityAlreadyExists", "Login Profile for User alice already exists.", 409)
    iam.update_login_profile(UserName="alice", PasswordResetRequired=False)
    assert iam.get_login_profile(UserName="alice")["LoginProfile"]["PasswordResetRequired"] is False
    iam.delete_login_profile(UserName="alice")
    with pytest.raises(ClientError) as exc:
        iam.get_login_profile(UserName="alice")
    assert _err(exc) == ("NoSuchEntity", "Login Profile for User alice cannot be found.", 404)
    with pytest.raises(ClientError) as exc:
        iam.create_login_profile(UserName="nobody", Password="Correct-Horse-9")
    assert _err(exc) == ("NoSuchEntity", "The user with name nobody cannot be found.", 404)


def test_password_policy_is_enforced_with_aws_messages(iam, acct):
    iam.create_user(UserName="bob")
    with pytest.raises(ClientError) as exc:
        iam.get_account_password_policy()
    assert _err(exc) == ("NoSuchEntity", f"The Password Policy with domain name {acct} cannot be found.", 404)
    # without a policy AWS's default rules apply: 8 characters, three kinds of characters
    with pytest.raises(ClientError) as exc:
        iam.create_login_profile(UserName="bob", Password="short1A")
    assert _err(exc)[0] == "PasswordPolicyViolation"
    iam.update_account_password_policy(MinimumPasswordLength=12, RequireUppercaseCharacters=True,
                                       RequireNumbers=True, RequireSymbols=True, MaxPasswordAge=90,
                                       PasswordReusePrevention=5, AllowUsersToChangePassword=True)
    policy = iam.get_account_password_policy()["PasswordPolicy"]
    assert (policy["MinimumPasswordLength"], policy["RequireUppercaseCharacters"], policy["RequireLowercaseCharacters"],
            policy["ExpirePasswords"], policy["MaxPasswordAge"], policy["PasswordReusePrevention"]) == \
        (12, True, False, True, 90, 5)
    cases = {"Sh0rt!": "Password should have a minimum length of 12",
             "lowercase-only-1!": "Password should have at least one uppercase letter",
             "No-Numbers-Here!": "Password should have at least one number",
             "NoSymbolsHere123": "Password should have at least one symbol"}
    for password, message in cases.items():
        with pytest.raises(ClientError) as exc:
            iam.create_login_profile(UserName="bob", Password=password)
        assert _err(exc) == ("PasswordPolicyViolation", message, 400)
    iam.create_login_profile(UserName="bob", Password="Good-Password-123")
    with pytest.raises(ClientError) as exc:
        iam.update_login_profile(UserName="bob", Password="weakpassword")
    assert _err(exc)[0] == "PasswordPolicyViolation"
    iam.delete_account_password_policy()
    with pytest.raises(ClientError) as exc:
        iam.delete_account_password_policy()
    assert _err(exc)[0] == "NoSuchEntity"


def test_change_password_by_the_user_checks_old_password_and_policy(cloudkeep_server, cloudkeep_account, iam):
    creds = _user_with_key(iam, "carol", {"Effect": "Allow", "Action": "iam:ChangePassword", "Resource": "*"})
    iam.create_login_profile(UserName="carol", Password="First-Password-1", PasswordResetRequired=True)
    carol = _client(cloudkeep_server, "iam", creds)
    with pytest.raises(ClientError) as exc:
        carol.change_password(OldPassword="Wrong-Password-1", NewPassword="Second-Password-2")
    assert _err(exc)[0] == "AccessDenied"
    with pytest.raises(ClientError) as exc:
        carol.change_password(OldPassword="First-Password-1", NewPassword="weak")
    assert _err(exc)[0] == "PasswordPolicyViolation"
    carol.change_password(OldPassword="First-Password-1", NewPassword="Second-Password-2")
    # a changed password clears PasswordResetRequired; the old one no longer works
    assert iam.get_login_profile(UserName="carol")["LoginProfile"]["PasswordResetRequired"] is False
    with pytest.raises(ClientError) as exc:
        carol.change_password(OldPassword="First-Password-1", NewPassword="Third-Password-3")
    assert _err(exc)[0] == "AccessDenied"
    # the root user has no IAM login profile to change
    with pytest.raises(ClientError) as exc:
        iam.change_password(OldPassword="x", NewPassword="Another-Password-4")
    assert _err(exc)[:2] == ("InvalidUserType", "Only IAM users can change their own password.")


# --- account aliases -----------------------------------------------------------------------------


def test_account_alias_one_per_account_and_globally_unique(cloudkeep_server, iam):
    alias = f"ck-alias-{secrets.token_hex(4)}"
    assert iam.list_account_aliases()["AccountAliases"] == []
    iam.create_account_alias(AccountAlias=alias)
    iam.create_account_alias(AccountAlias=alias)   # the same alias again changes nothing
    assert iam.list_account_aliases()["AccountAliases"] == [alias]
    with pytest.raises(ClientError) as exc:
        iam.create_account_alias(AccountAlias=alias + "-two")
    assert _err(exc)[0] == "LimitExceeded"
    other = cloudkeep_server.create_account().client("iam")
    with pytest.raises(ClientError) as exc:
        other.create_account_alias(AccountAlias=alias)
    assert _err(exc) == ("EntityAlreadyExists", f"The account alias {alias} already exists.", 409)
    iam.delete_account_alias(AccountAlias=alias)
    assert iam.list_account_aliases()["AccountAliases"] == []
    with pytest.raises(ClientError) as exc:
        iam.delete_account_alias(AccountAlias=alias)
    assert _err(exc)[0] == "NoSuchEntity"
    other.create_account_alias(AccountAlias=alias)   # free again
    assert other.list_account_aliases()["AccountAliases"] == [alias]
    other.delete_account_alias(AccountAlias=alias)


# --- virtual MFA devices -------------------------------------------------------------------------


def test_create_virtual_mfa_device_returns_a_seed_and_a_qr_png_of_the_otpauth_uri(iam, acct):
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName="alice-phone", Path="/team/")["VirtualMFADevice"]
    assert device["SerialNumber"] == f"arn:aws:iam::{acct}:mfa/team/alice-phone"
    seed = device["Base32StringSeed"].decode()
    assert len(seed) == 32 and set(seed) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    png = device["QRCodePNG"]
    assert png.startswith(PNG_SIGNATURE) and b"IHDR" in png[:32] and png.endswith(b"IEND\xaeB`\x82")
    uri = D.otpauth_uri(seed, "alice-phone", acct)
    assert uri.startswith("otpauth://totp/") and f"secret={seed}" in uri
    assert pyotp.parse_uri(uri).secret == seed
    assert png == D.qr_png(uri)   # segno is deterministic: the PNG is the QR code of that URI
    with pytest.raises(ClientError) as exc:
        iam.create_virtual_mfa_device(VirtualMFADeviceName="alice-phone", Path="/team/")
    assert _err(exc) == ("EntityAlreadyExists",
                         f"MFA device with serial number arn:aws:iam::{acct}:mfa/team/alice-phone already exists.", 409)


def test_enable_mfa_device_needs_two_consecutive_codes(cloudkeep_account, iam, acct):
    iam.create_user(UserName="dave")
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName="dave")["VirtualMFADevice"]
    serial, seed = device["SerialNumber"], device["Base32StringSeed"].decode()
    now = _server_now(cloudkeep_account)
    code1, code2 = _codes(seed, now)
    for bad in ((code2, code1), ("000000", code2) if code1 != "000000" else ("111111", code2), (code1, code1)):
        with pytest.raises(ClientError) as exc:
            iam.enable_mfa_device(UserName="dave", SerialNumber=serial, AuthenticationCode1=bad[0],
                                  AuthenticationCode2=bad[1])
        assert _err(exc) == ("InvalidAuthenticationCode", "Authentication code for device is not valid.", 403)
    assert iam.list_virtual_mfa_devices(AssignmentStatus="Unassigned")["VirtualMFADevices"][0]["SerialNumber"] == serial
    iam.enable_mfa_device(UserName="dave", SerialNumber=serial, AuthenticationCode1=code1, AuthenticationCode2=code2)
    listed = iam.list_mfa_devices(UserName="dave")["MFADevices"]
    assert [(d["UserName"], d["SerialNumber"]) for d in listed] == [("dave", serial)] and listed[0]["EnableDate"]
    assigned = iam.list_virtual_mfa_devices(AssignmentStatus="Assigned")["VirtualMFADevices"]
    assert [(d["SerialNumber"], d["User"]["UserName"]) for d in assigned] == [(serial, "dave")]
    assert iam.list_virtual_mfa_devices(AssignmentStatus="Unassigned")["VirtualMFADevices"] == []
    with pytest.raises(ClientError) as exc:
        iam.delete_virtual_mfa_device(SerialNumber=serial)
    assert _err(exc)[0] == "DeleteConflict"
    iam.deactivate_mfa_device(UserName="dave", SerialNumber=serial)
    assert iam.list_mfa_devices(UserName="dave")["MFADevices"] == []
    iam.delete_virtual_mfa_device(SerialNumber=serial)
    assert iam.list_virtual_mfa_devices()["VirtualMFADevices"] == []
    with pytest.raises(ClientError) as exc:
        iam.delete_virtual_mfa_device(SerialNumber=serial)
    assert _err(exc)[0] == "NoSuchEntity"


def test_resync_accepts_fresh_consecutive_codes_only(cloudkeep_server, cloudkeep_account, iam):
    iam.create_user(UserName="erin")
    serial, seed, step = _enabled_device(cloudkeep_account, iam, "erin", "erin")
    cloudkeep_server.advance(60)
    code1, code2 = _codes(seed, _server_now(cloudkeep_account))
    with pytest.raises(ClientError) as exc:
        iam.resync_mfa_device(UserName="erin", SerialNumber=serial, AuthenticationCode1="123456",
                              AuthenticationCode2="654321")
    assert _err(exc)[0] == "InvalidAuthenticationCode"
    iam.resync_mfa_device(UserName="erin", SerialNumber=serial, AuthenticationCode1=code1, AuthenticationCode2=code2)
    with pytest.raises(ClientError) as exc:   # the same codes again: already used
        iam.resync_mfa_device(UserName="erin", SerialNumber=serial, AuthenticationCode1=code1,
                              AuthenticationCode2=code2)
    assert _err(exc)[0] == "InvalidAuthenticationCode"


def test_mfa_session_satisfies_multifactorauthpresent_and_long_term_key_does_not(
        cloudkeep_server, cloudkeep_account, iam, acct):
    creds = _user_with_key(iam, "frank",
                           {"Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*"},
                           {"Effect": "Deny", "Action": "iam:ListUsers", "Resource": "*",
                            "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}})
    serial, seed, enabled_step = _enabled_device(cloudkeep_account, iam, "frank-phone", "frank")
    with pytest.raises(ClientError) as exc:
        _client(cloudkeep_server, "iam", creds).list_users()
    assert _err(exc)[0] == "AccessDenied"
    sts = _client(cloudkeep_server, "sts", creds)
    with pytest.raises(ClientError) as exc:   # a wrong code
        sts.get_session_token(SerialNumber=serial, TokenCode="000000" if pyotp.TOTP(seed).now() != "000000" else "111111")
    assert _err(exc)[0] == "AccessDenied"
    with pytest.raises(ClientError) as exc:   # another account's style serial: no such device of frank
        sts.get_session_token(SerialNumber=f"arn:aws:iam::{acct}:mfa/nothing", TokenCode="123456")
    assert _err(exc)[0] == "AccessDenied"
    cloudkeep_server.advance(30)   # the step used to enable is spent: take the next one
    now = _server_now(cloudkeep_account)
    assert int(now.timestamp()) // 30 > enabled_step
    code = _codes(seed, now)[1]
    session = sts.get_session_token(SerialNumber=serial, TokenCode=code, DurationSeconds=900)["Credentials"]
    me = _client(cloudkeep_server, "sts", session).get_caller_identity()
    assert me["Arn"] == f"arn:aws:iam::{acct}:user/frank"
    users = _client(cloudkeep_server, "iam", session).list_users()["Users"]
    assert "frank" in [u["UserName"] for u in users]
    with pytest.raises(ClientError) as exc:   # a code is good once
        sts.get_session_token(SerialNumber=serial, TokenCode=code)
    assert _err(exc)[0] == "AccessDenied"
    # a GetSessionToken session without MFA cannot call IAM at all: AWS refuses its token
    # (https://docs.aws.amazon.com/STS/latest/APIReference/API_GetSessionToken.html)
    plain = sts.get_session_token(DurationSeconds=900)["Credentials"]
    with pytest.raises(ClientError) as exc:
        _client(cloudkeep_server, "iam", plain).list_users()
    assert _err(exc)[0] == "InvalidClientTokenId"
    with pytest.raises(ClientError) as exc:
        _client(cloudkeep_server, "sts", plain).get_access_key_info(AccessKeyId=creds["AccessKeyId"])
    assert _err(exc)[0] == "InvalidClientTokenId"
    assert _client(cloudkeep_server, "sts", plain).get_caller_identity()["Arn"].endswith(":user/frank")


def test_root_user_enables_its_own_virtual_mfa_device(cloudkeep_server, cloudkeep_account, iam, acct):
    assert iam.get_account_summary()["SummaryMap"]["AccountMFAEnabled"] == 0
    serial = f"arn:aws:iam::{acct}:mfa/root-account-mfa-device"
    got, seed, step = _enabled_device(cloudkeep_account, iam, "root-account-mfa-device", "root")
    assert got == serial
    assert iam.get_account_summary()["SummaryMap"]["AccountMFAEnabled"] == 1
    root_devices = iam.list_mfa_devices()["MFADevices"]
    assert [d["SerialNumber"] for d in root_devices] == [serial]
    assigned = iam.list_virtual_mfa_devices(AssignmentStatus="Assigned")["VirtualMFADevices"]
    assert assigned[0]["User"]["Arn"] == f"arn:aws:iam::{acct}:root"
    cloudkeep_server.advance(30)
    code = _codes(seed, _server_now(cloudkeep_account))[1]
    creds = cloudkeep_account.client("sts").get_session_token(SerialNumber=serial, TokenCode=code,
                                                              DurationSeconds=900)["Credentials"]
    assert _client(cloudkeep_server, "sts", creds).get_caller_identity()["Arn"] == f"arn:aws:iam::{acct}:root"
    # an IAM user cannot take the root device's name
    user_creds = _user_with_key(iam, "mallory", {"Effect": "Allow", "Action": "iam:*", "Resource": "*"})
    iam.deactivate_mfa_device(UserName="root", SerialNumber=serial)
    iam.delete_virtual_mfa_device(SerialNumber=serial)
    with pytest.raises(ClientError) as exc:
        _client(cloudkeep_server, "iam", user_creds).create_virtual_mfa_device(
            VirtualMFADeviceName="root-account-mfa-device")
    assert _err(exc)[0] == "InvalidInput"


def test_mfa_seed_is_sealed_in_the_store(cloudkeep_server, iam):
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName="sealed-check")["VirtualMFADevice"]
    seed = device["Base32StringSeed"]
    data_dir = cloudkeep_server.data_dir
    files = [p for p in data_dir.rglob("*") if p.is_file()]
    assert any(p.name.endswith((".db", ".sqlite", ".sqlite3")) for p in files), files   # the store is here
    found = [p for p in files if seed in p.read_bytes()]
    assert found == []


# --- summary, credential report, authorization details -------------------------------------------


def test_account_summary_counts(iam):
    before = iam.get_account_summary()["SummaryMap"]
    assert before["Users"] == 0 and before["AccessKeysPerUserQuota"] == 2 and before["UsersQuota"] == 5000
    assert {"Groups", "Roles", "Policies", "MFADevices", "MFADevicesInUse", "AccountMFAEnabled",
            "AccountAccessKeysPresent", "InstanceProfiles", "PolicyVersionsInUse"} <= set(before)
    iam.create_user(UserName="u1")
    iam.create_user(UserName="u2")
    iam.create_group(GroupName="g1")
    iam.create_role(RoleName="r1", AssumeRolePolicyDocument=_doc(
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}))
    arn = iam.create_policy(PolicyName="p1", PolicyDocument=_doc(
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}))["Policy"]["Arn"]
    iam.attach_user_policy(UserName="u1", PolicyArn=arn)
    iam.create_virtual_mfa_device(VirtualMFADeviceName="spare")
    after = iam.get_account_summary()["SummaryMap"]
    assert (after["Users"], after["Groups"], after["Roles"], after["Policies"], after["MFADevices"],
            after["MFADevicesInUse"], after["PolicyVersionsInUse"], after["AccountAccessKeysPresent"]) == \
        (2, 1, 1, 1, 1, 0, 1, 1)


def test_credential_report_has_aws_columns_root_row_and_user_rows(cloudkeep_server, iam, acct):
    with pytest.raises(ClientError) as exc:
        iam.get_credential_report()
    assert _err(exc)[0] == "ReportNotPresent" and _err(exc)[2] == 410
    iam.create_user(UserName="gina")
    iam.create_login_profile(UserName="gina", Password="Gina-Password-1")
    key = iam.create_access_key(UserName="gina")["AccessKey"]
    iam.update_access_key(UserName="gina", AccessKeyId=key["AccessKeyId"], Status="Inactive")
    iam.create_user(UserName="hank")
    first = iam.generate_credential_report()
    assert first == {"State": "STARTED", "Description": "No report exists. Starting a new report generation task",
                     "ResponseMetadata": first["ResponseMetadata"]}
    assert iam.generate_credential_report()["State"] == "COMPLETE"
    report = iam.get_credential_report()
    assert report["ReportFormat"] == "text/csv" and report["GeneratedTime"]
    rows = list(csv.DictReader(io.StringIO(report["Content"].decode())))
    header = report["Content"].decode().splitlines()[0].split(",")
    assert header == list(D.COLUMNS)
    assert header[:8] == ["user", "arn", "user_creation_time", "password_enabled", "password_last_used",
                          "password_last_changed", "password_next_rotation", "mfa_active"]
    by_user = {r["user"]: r for r in rows}
    assert set(by_user) == {"<root_account>", "gina", "hank"}
    root = by_user["<root_account>"]
    assert root["arn"] == f"arn:aws:iam::{acct}:root" and root["password_enabled"] == "not_supported"
    assert root["access_key_1_active"] == "true"   # the test account's root key
    gina = by_user["gina"]
    assert (gina["password_enabled"], gina["password_last_used"], gina["password_next_rotation"], gina["mfa_active"],
            gina["access_key_1_active"], gina["access_key_1_last_used_date"], gina["access_key_2_active"],
            gina["cert_1_active"]) == ("true", "no_information", "N/A", "false", "false", "N/A", "false", "false")
    assert _dt.datetime.fromisoformat(gina["access_key_1_last_rotated"]).tzinfo is not None
    hank = by_user["hank"]
    assert (hank["password_enabled"], hank["password_last_changed"], hank["access_key_1_active"]) == \
        ("false", "N/A", "false")
    # after four hours the report has expired and a new one is started
    cloudkeep_server.advance(4 * 3600 + 1)
    with pytest.raises(ClientError) as exc:
        iam.get_credential_report()
    assert _err(exc)[0] == "ReportExpired"
    assert iam.generate_credential_report()["State"] == "STARTED"


def test_account_authorization_details_lists_entities_with_policies(iam, acct):
    doc = _doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})
    trust = _doc({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"})
    iam.create_user(UserName="ivy", Tags=[{"Key": "team", "Value": "red"}])
    iam.create_group(GroupName="devs")
    iam.add_user_to_group(GroupName="devs", UserName="ivy")
    iam.put_user_policy(UserName="ivy", PolicyName="inline-ivy", PolicyDocument=doc)
    iam.put_group_policy(GroupName="devs", PolicyName="inline-devs", PolicyDocument=doc)
    iam.create_role(RoleName="app", AssumeRolePolicyDocument=trust)
    iam.create_instance_profile(InstanceProfileName="app-profile")
    iam.add_role_to_instance_profile(InstanceProfileName="app-profile", RoleName="app")
    arn = iam.create_policy(PolicyName="local", PolicyDocument=doc)["Policy"]["Arn"]
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=doc, SetAsDefault=True)
    iam.attach_role_policy(RoleName="app", PolicyArn=arn)
    iam.attach_group_policy(GroupName="devs", PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")

    out = iam.get_account_authorization_details()
    user = out["UserDetailList"][0]
    assert (user["UserName"], user["GroupList"], user["Tags"]) == ("ivy", ["devs"], [{"Key": "team", "Value": "red"}])
    assert user["UserPolicyList"][0]["PolicyName"] == "inline-ivy"
    assert user["UserPolicyList"][0]["PolicyDocument"]["Statement"][0]["Action"] == "s3:GetObject"
    group = out["GroupDetailList"][0]
    assert group["GroupName"] == "devs" and group["AttachedManagedPolicies"] == [
        {"PolicyName": "ReadOnlyAccess", "PolicyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}]
    role = out["RoleDetailList"][0]
    assert role["RoleName"] == "app" and role["AssumeRolePolicyDocument"]["Statement"][0]["Action"] == "sts:AssumeRole"
    assert role["InstanceProfileList"][0]["InstanceProfileName"] == "app-profile"
    assert role["AttachedManagedPolicies"] == [{"PolicyName": "local", "PolicyArn": arn}]
    policies = {p["PolicyName"]: p for p in out["Policies"]}
    assert set(policies) == {"local", "ReadOnlyAccess"}
    local = policies["local"]
    assert (local["DefaultVersionId"], local["AttachmentCount"]) == ("v2", 1)
    assert [(v["VersionId"], v["IsDefaultVersion"]) for v in local["PolicyVersionList"]] == [("v1", False), ("v2", True)]
    assert local["PolicyVersionList"][0]["Document"]["Version"] == "2012-10-17"

    only = iam.get_account_authorization_details(Filter=["LocalManagedPolicy"])
    assert (only["UserDetailList"], only["RoleDetailList"], [p["PolicyName"] for p in only["Policies"]]) == \
        ([], [], ["local"])
    # pagination: one item per page, in order, covering everything once
    seen, marker = [], None
    while True:
        page = iam.get_account_authorization_details(MaxItems=1, **({"Marker": marker} if marker else {}))
        items = page["UserDetailList"] + page["GroupDetailList"] + page["RoleDetailList"] + page["Policies"]
        assert len(items) == 1
        seen.append(items[0].get("UserName") or items[0].get("GroupName") or items[0].get("RoleName")
                    or items[0]["PolicyName"])
        if not page["IsTruncated"]:
            break
        marker = page["Marker"]
    assert seen == ["ivy", "devs", "app", "local", "ReadOnlyAccess"]


def test_role_whose_trust_policy_requires_mfa_is_assumed_only_with_a_valid_code(
        cloudkeep_server, cloudkeep_account, iam, acct):
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_mfa_configure-api-require.html"""
    creds = _user_with_key(iam, "grace", {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"})
    serial, seed, enabled_step = _enabled_device(cloudkeep_account, iam, "grace-phone", "grace")
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{acct}:user/grace"}, "Action": "sts:AssumeRole",
        "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}]}
    role_arn = iam.create_role(RoleName="guarded", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    sts = _client(cloudkeep_server, "sts", creds)
    with pytest.raises(ClientError) as exc:               # no MFA: the trust policy does not allow
        sts.assume_role(RoleArn=role_arn, RoleSessionName="no-mfa")
    assert _err(exc)[0] == "AccessDenied"
    with pytest.raises(ClientError) as exc:               # a wrong code
        sts.assume_role(RoleArn=role_arn, RoleSessionName="bad", SerialNumber=serial,
                        TokenCode="000000" if pyotp.TOTP(seed).now() != "000000" else "111111")
    assert _err(exc)[0] == "AccessDenied"
    cloudkeep_server.advance(30)
    code = _codes(seed, _server_now(cloudkeep_account))[1]
    session = sts.assume_role(RoleArn=role_arn, RoleSessionName="with-mfa", SerialNumber=serial,
                              TokenCode=code)["Credentials"]
    me = _client(cloudkeep_server, "sts", session).get_caller_identity()
    assert me["Arn"] == f"arn:aws:sts::{acct}:assumed-role/guarded/with-mfa"
    with pytest.raises(ClientError) as exc:               # the same code is spent
        sts.assume_role(RoleArn=role_arn, RoleSessionName="again", SerialNumber=serial, TokenCode=code)
    assert _err(exc)[0] == "AccessDenied"
