"""Who may use a KMS key, end to end with boto3 against the real server: key policies (mandatory
resource policies), the lockout safety check, grants (a third way to be allowed, decided in the
same evaluation as key policy and IAM), cross-account use, and the CloudTrail record of KMS calls.

AWS pages: https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html,
https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html,
https://docs.aws.amazon.com/kms/latest/developerguide/grants.html,
https://docs.aws.amazon.com/kms/latest/developerguide/grant-delete.html,
https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-modifying-external-accounts.html,
https://docs.aws.amazon.com/kms/latest/developerguide/ct-encrypt.html
"""

from __future__ import annotations

import json
from typing import Any, Iterator

import pytest
from botocore.exceptions import ClientError

from cloudkeep.storage.engine import Store, sqlite_url
from cloudkeep.testing.audit import records_of_request
from cloudkeep.testing.server import client_for

LOCKOUT = "The new key policy will not allow you to update the key policy in the future."


def _code(exc: Any) -> str:
    return exc.value.response["Error"]["Code"]


def _policy(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _allow(principal: str, action: Any = "kms:*", **extra: Any) -> dict:
    return {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": action, "Resource": "*", **extra}


def _user(account: Any, name: str, *, policy: str | None = None) -> tuple[str, Any]:
    """An IAM user (with an optional inline policy): its ARN and a client factory."""
    iam = account.client("iam")
    arn = iam.create_user(UserName=name)["User"]["Arn"]
    if policy is not None:
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=policy)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return arn, lambda service="kms": client_for(account.endpoint, service, key["AccessKeyId"],
                                                 key["SecretAccessKey"])


def _denied(fn: Any, **kwargs: Any) -> ClientError:
    with pytest.raises(ClientError) as exc:
        fn(**kwargs)
    assert _code(exc) == "AccessDeniedException", exc.value.response["Error"]
    return exc.value


def _key(account: Any, **kwargs: Any) -> dict:
    return account.client("kms").create_key(**kwargs)["KeyMetadata"]


# --- key policies ------------------------------------------------------------------------------


def test_default_key_policy_delegates_to_the_account_so_iam_policies_decide(cloudkeep_account):
    kms = cloudkeep_account.client("kms")
    acct = cloudkeep_account.account_id
    key = _key(cloudkeep_account)
    assert kms.list_key_policies(KeyId=key["KeyId"])["PolicyNames"] == ["default"]
    doc = json.loads(kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"])
    assert doc["Statement"][0]["Principal"] == {"AWS": f"arn:aws:iam::{acct}:root"}
    _, nobody = _user(cloudkeep_account, "nobody")
    _denied(nobody().encrypt, KeyId=key["Arn"], Plaintext=b"x")
    _, encrypter = _user(cloudkeep_account, "encrypter", policy=_policy(
        {"Effect": "Allow", "Action": "kms:Encrypt", "Resource": key["Arn"]}))
    blob = encrypter().encrypt(KeyId=key["Arn"], Plaintext=b"secret")["CiphertextBlob"]
    _denied(encrypter().decrypt, CiphertextBlob=blob)                   # IAM gives Encrypt only
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"secret"   # root: full access via delegation


def test_get_key_policy_knows_only_the_default_policy_name(cloudkeep_account):
    kms = cloudkeep_account.client("kms")
    key = _key(cloudkeep_account)
    assert kms.get_key_policy(KeyId=key["KeyId"])["PolicyName"] == "default"
    with pytest.raises(ClientError) as exc:
        kms.get_key_policy(KeyId=key["KeyId"], PolicyName="other")
    assert _code(exc) == "NotFoundException"


def test_key_policy_without_account_delegation_ignores_iam_allows_even_for_root(cloudkeep_account):
    kms = cloudkeep_account.client("kms")
    admin_arn, admin = _user(cloudkeep_account, "keyadmin")              # no IAM policy at all
    _, worker = _user(cloudkeep_account, "worker", policy=_policy(
        {"Effect": "Allow", "Action": "kms:*", "Resource": "*"}))
    key = _key(cloudkeep_account)
    worker().encrypt(KeyId=key["Arn"], Plaintext=b"x")                  # the default policy delegates
    kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=_policy(_allow(admin_arn)),
                       BypassPolicyLockoutSafetyCheck=True)
    _denied(worker().encrypt, KeyId=key["Arn"], Plaintext=b"x")         # IAM allow no longer counts
    _denied(kms.encrypt, KeyId=key["Arn"], Plaintext=b"x")              # nor does root's full access
    _denied(kms.describe_key, KeyId=key["KeyId"])
    _denied(kms.put_key_policy, KeyId=key["KeyId"], PolicyName="default", Policy=_policy(_allow("*")))
    err = _denied(kms.get_key_policy, KeyId=key["KeyId"], PolicyName="default")
    assert "kms:GetKeyPolicy" in err.response["Error"]["Message"]
    blob = admin().encrypt(KeyId=key["Arn"], Plaintext=b"by-admin")["CiphertextBlob"]   # named: allowed
    assert admin().decrypt(CiphertextBlob=blob)["Plaintext"] == b"by-admin"


def test_key_policy_deny_overrides_the_delegation(cloudkeep_account):
    acct = cloudkeep_account.account_id
    kms = cloudkeep_account.client("kms")
    worker_arn, worker = _user(cloudkeep_account, "worker", policy=_policy(
        {"Effect": "Allow", "Action": "kms:*", "Resource": "*"}))
    key = _key(cloudkeep_account, Policy=_policy(
        _allow(f"arn:aws:iam::{acct}:root"),
        {"Effect": "Deny", "Principal": {"AWS": worker_arn}, "Action": "kms:Decrypt", "Resource": "*"}))
    blob = worker().encrypt(KeyId=key["Arn"], Plaintext=b"x")["CiphertextBlob"]
    err = _denied(worker().decrypt, CiphertextBlob=blob)
    assert "explicit deny" in err.response["Error"]["Message"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"x"


# --- the lockout safety check ------------------------------------------------------------------


def test_put_key_policy_refuses_a_policy_that_locks_the_caller_out(cloudkeep_account):
    kms = cloudkeep_account.client("kms")
    acct = cloudkeep_account.account_id
    other_arn, _ = _user(cloudkeep_account, "other")
    key = _key(cloudkeep_account)
    before = kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"]
    for policy in (_policy(_allow(other_arn)),                                         # names someone else
                   _policy(_allow(f"arn:aws:iam::{acct}:root", "kms:Encrypt")),        # no PutKeyPolicy
                   _policy(_allow(f"arn:aws:iam::{acct}:root"),                        # denies it
                           {"Effect": "Deny", "Principal": "*", "Action": "kms:PutKeyPolicy", "Resource": "*"})):
        with pytest.raises(ClientError) as exc:
            kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=policy)
        assert _code(exc) == "MalformedPolicyDocumentException"
        assert exc.value.response["Error"]["Message"] == LOCKOUT
    assert kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"] == before
    kept = _policy(_allow(f"arn:aws:iam::{acct}:root"), _allow(other_arn, "kms:Encrypt"))
    kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=kept)
    assert json.loads(kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"]) == json.loads(kept)


def test_lockout_check_counts_a_delegation_or_a_statement_naming_the_caller(cloudkeep_account):
    acct = cloudkeep_account.account_id
    admin_arn, admin = _user(cloudkeep_account, "admin", policy=_policy(
        {"Effect": "Allow", "Action": "kms:*", "Resource": "*"}))
    other_arn, _ = _user(cloudkeep_account, "other")
    key = _key(cloudkeep_account)
    kms = admin()
    kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default",
                       Policy=_policy(_allow(f"arn:aws:iam::{acct}:root")))           # IAM decides
    kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default",
                       Policy=_policy(_allow(admin_arn, ["kms:PutKeyPolicy", "kms:Encrypt"])))
    with pytest.raises(ClientError) as exc:
        kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=_policy(_allow(other_arn)))
    assert exc.value.response["Error"]["Message"] == LOCKOUT


def test_bypass_policy_lockout_safety_check_lets_the_caller_lock_itself_out(cloudkeep_account):
    kms = cloudkeep_account.client("kms")
    other_arn, other = _user(cloudkeep_account, "other")
    key = _key(cloudkeep_account)
    kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=_policy(_allow(other_arn)),
                       BypassPolicyLockoutSafetyCheck=True)
    _denied(kms.put_key_policy, KeyId=key["KeyId"], PolicyName="default",
            Policy=_policy(_allow(f"arn:aws:iam::{cloudkeep_account.account_id}:root")))
    assert other().get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"]


def test_key_policy_condition_on_bypass_key_refuses_the_bypass(cloudkeep_account):
    acct = cloudkeep_account.account_id
    _, admin = _user(cloudkeep_account, "admin", policy=_policy(
        {"Effect": "Allow", "Action": "kms:*", "Resource": "*"}))
    key = _key(cloudkeep_account, Policy=_policy(
        _allow(f"arn:aws:iam::{acct}:root"),
        {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "kms:PutKeyPolicy", "Resource": "*",
         "Condition": {"Bool": {"kms:BypassPolicyLockoutSafetyCheck": "true"}}}))
    _denied(admin().put_key_policy, KeyId=key["KeyId"], PolicyName="default",
            Policy=_policy(_allow(f"arn:aws:iam::{acct}:root")), BypassPolicyLockoutSafetyCheck=True)
    admin().put_key_policy(KeyId=key["KeyId"], PolicyName="default",
                           Policy=_policy(_allow(f"arn:aws:iam::{acct}:root")))


def test_malformed_key_policy_is_refused(cloudkeep_account):
    kms = cloudkeep_account.client("kms")
    key = _key(cloudkeep_account)
    for text in ("{not json", json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Permit", "Principal": "*", "Action": "kms:*", "Resource": "*"}]})):
        with pytest.raises(ClientError) as exc:
            kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=text)
        assert _code(exc) == "MalformedPolicyDocumentException"


# --- grants ------------------------------------------------------------------------------------


def test_grant_lets_a_user_without_iam_policies_use_only_the_granted_operations(cloudkeep_account):
    kms = cloudkeep_account.client("kms")
    app_arn, app = _user(cloudkeep_account, "app")
    key = _key(cloudkeep_account)
    _denied(app().encrypt, KeyId=key["Arn"], Plaintext=b"x")
    grant = kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=app_arn, Operations=["Encrypt", "Decrypt"])
    assert len(grant["GrantId"]) == 64 and grant["GrantToken"]
    blob = app().encrypt(KeyId=key["Arn"], Plaintext=b"granted", GrantTokens=[grant["GrantToken"]])["CiphertextBlob"]
    assert app().decrypt(CiphertextBlob=blob)["Plaintext"] == b"granted"
    _denied(app().generate_data_key, KeyId=key["Arn"], KeySpec="AES_256")   # not a granted operation
    _denied(app().describe_key, KeyId=key["Arn"])
    _denied(app().create_grant, KeyId=key["Arn"], GranteePrincipal=app_arn, Operations=["Encrypt"])


def test_grant_with_encryption_context_subset_constraint(cloudkeep_account):
    kms = cloudkeep_account.client("kms")
    app_arn, app = _user(cloudkeep_account, "app")
    key = _key(cloudkeep_account)
    kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=app_arn, Operations=["Encrypt", "Decrypt", "DescribeKey"],
                     Constraints={"EncryptionContextSubset": {"Department": "IT"}})
    ctx = {"Department": "IT", "Project": "alpha"}
    blob = app().encrypt(KeyId=key["Arn"], Plaintext=b"x", EncryptionContext=ctx)["CiphertextBlob"]
    assert app().decrypt(CiphertextBlob=blob, EncryptionContext=ctx)["Plaintext"] == b"x"
    _denied(app().encrypt, KeyId=key["Arn"], Plaintext=b"x")                                    # no context
    _denied(app().encrypt, KeyId=key["Arn"], Plaintext=b"x", EncryptionContext={"Department": "HR"})
    assert app().describe_key(KeyId=key["Arn"])["KeyMetadata"]["Arn"] == key["Arn"]   # not constrained


def test_grant_with_encryption_context_equals_constraint(cloudkeep_account):
    kms = cloudkeep_account.client("kms")
    app_arn, app = _user(cloudkeep_account, "app")
    key = _key(cloudkeep_account)
    kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=app_arn, Operations=["Encrypt"],
                     Constraints={"EncryptionContextEquals": {"Department": "IT"}})
    app().encrypt(KeyId=key["Arn"], Plaintext=b"x", EncryptionContext={"Department": "IT"})
    _denied(app().encrypt, KeyId=key["Arn"], Plaintext=b"x",
            EncryptionContext={"Department": "IT", "Project": "alpha"})
    _denied(app().encrypt, KeyId=key["Arn"], Plaintext=b"x")


def test_grant_to_a_role_applies_to_its_sessions(cloudkeep_account):
    acct = cloudkeep_account.account_id
    iam = cloudkeep_account.client("iam")
    kms = cloudkeep_account.client("kms")
    caller_arn, caller = _user(cloudkeep_account, "caller")
    role = iam.create_role(RoleName="worker", AssumeRolePolicyDocument=_policy(
        {"Effect": "Allow", "Principal": {"AWS": caller_arn}, "Action": "sts:AssumeRole"}))["Role"]
    creds = caller("sts").assume_role(RoleArn=role["Arn"], RoleSessionName="s1")["Credentials"]
    session = client_for(cloudkeep_account.endpoint, "kms", creds["AccessKeyId"], creds["SecretAccessKey"],
                         session_token=creds["SessionToken"])
    key = _key(cloudkeep_account)
    _denied(session.encrypt, KeyId=key["Arn"], Plaintext=b"x")
    kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=f"arn:aws:iam::{acct}:role/worker", Operations=["Encrypt"])
    session.encrypt(KeyId=key["Arn"], Plaintext=b"x")


def test_retire_grant_by_the_retiring_principal_removes_it(cloudkeep_account):
    kms = cloudkeep_account.client("kms")
    app_arn, app = _user(cloudkeep_account, "app")
    retirer_arn, retirer = _user(cloudkeep_account, "retirer")
    _, stranger = _user(cloudkeep_account, "stranger")
    key = _key(cloudkeep_account)
    grant = kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=app_arn, RetiringPrincipal=retirer_arn,
                             Operations=["Encrypt"])
    app().encrypt(KeyId=key["Arn"], Plaintext=b"x")
    listed = kms.list_retirable_grants(RetiringPrincipal=retirer_arn)["Grants"]   # an IAM permission
    assert [g["GrantId"] for g in listed] == [grant["GrantId"]]
    _denied(retirer().list_retirable_grants, RetiringPrincipal=retirer_arn)
    _denied(stranger().retire_grant, KeyId=key["Arn"], GrantId=grant["GrantId"])
    _denied(app().retire_grant, GrantToken=grant["GrantToken"])        # grant lacks RetireGrant
    retirer().retire_grant(KeyId=key["Arn"], GrantId=grant["GrantId"])
    _denied(app().encrypt, KeyId=key["Arn"], Plaintext=b"x")
    assert kms.list_grants(KeyId=key["KeyId"])["Grants"] == []
    with pytest.raises(ClientError) as exc:
        kms.retire_grant(KeyId=key["Arn"], GrantId=grant["GrantId"])
    assert _code(exc) == "NotFoundException"


def test_grantee_retires_by_grant_token_when_the_grant_includes_retire_grant(cloudkeep_account):
    kms = cloudkeep_account.client("kms")
    app_arn, app = _user(cloudkeep_account, "app")
    key = _key(cloudkeep_account)
    grant = kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=app_arn, Operations=["Encrypt", "RetireGrant"])
    app().encrypt(KeyId=key["Arn"], Plaintext=b"x")
    app().retire_grant(GrantToken=grant["GrantToken"])
    _denied(app().encrypt, KeyId=key["Arn"], Plaintext=b"x")
    with pytest.raises(ClientError) as exc:
        kms.retire_grant(GrantToken="bm90LWEtdG9rZW4=")
    assert _code(exc) == "InvalidGrantTokenException"


def test_revoke_grant_removes_it_and_needs_key_policy_permission(cloudkeep_account):
    kms = cloudkeep_account.client("kms")
    app_arn, app = _user(cloudkeep_account, "app")
    key = _key(cloudkeep_account)
    grant = kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=app_arn, Operations=["Encrypt"])
    app().encrypt(KeyId=key["Arn"], Plaintext=b"x")
    _denied(app().revoke_grant, KeyId=key["Arn"], GrantId=grant["GrantId"])
    kms.revoke_grant(KeyId=key["KeyId"], GrantId=grant["GrantId"])
    _denied(app().encrypt, KeyId=key["Arn"], Plaintext=b"x")
    with pytest.raises(ClientError) as exc:
        kms.revoke_grant(KeyId=key["KeyId"], GrantId=grant["GrantId"])
    assert _code(exc) == "NotFoundException"


def test_list_grants_filters_and_name_makes_create_grant_idempotent(cloudkeep_account):
    kms = cloudkeep_account.client("kms")
    acct = cloudkeep_account.account_id
    a_arn, _ = _user(cloudkeep_account, "a")
    b_arn, _ = _user(cloudkeep_account, "b")
    key = _key(cloudkeep_account)
    first = kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=a_arn, Operations=["Encrypt"], Name="nightly")
    again = kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=a_arn, Operations=["Encrypt"], Name="nightly")
    assert again["GrantId"] == first["GrantId"] and again["GrantToken"] != first["GrantToken"]
    other = kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=b_arn, Operations=["Decrypt"],
                             Constraints={"EncryptionContextEquals": {"k": "v"}})
    grants = kms.list_grants(KeyId=key["KeyId"])["Grants"]
    assert sorted(g["GrantId"] for g in grants) == sorted([first["GrantId"], other["GrantId"]])
    by_b = kms.list_grants(KeyId=key["KeyId"], GranteePrincipal=b_arn)["Grants"]
    assert len(by_b) == 1 and by_b[0]["GrantId"] == other["GrantId"]
    entry = by_b[0]
    assert entry["KeyId"] == key["Arn"] and entry["Operations"] == ["Decrypt"]
    assert entry["Constraints"] == {"EncryptionContextEquals": {"k": "v"}}
    assert entry["IssuingAccount"] == f"arn:aws:iam::{acct}:root"
    by_id = kms.list_grants(KeyId=key["KeyId"], GrantId=first["GrantId"])["Grants"]
    assert [g["Name"] for g in by_id] == ["nightly"]
    page = kms.list_grants(KeyId=key["KeyId"], Limit=1)
    assert page["Truncated"] and len(page["Grants"]) == 1
    rest = kms.list_grants(KeyId=key["KeyId"], Limit=1, Marker=page["NextMarker"])
    assert not rest["Truncated"] and rest["Grants"][0]["GrantId"] != page["Grants"][0]["GrantId"]


def test_create_grant_refuses_operations_and_constraints_the_key_cannot_take(cloudkeep_account):
    kms = cloudkeep_account.client("kms")
    app_arn, _ = _user(cloudkeep_account, "app")
    key = _key(cloudkeep_account)
    with pytest.raises(ClientError) as exc:
        kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=app_arn, Operations=["Sign"])
    assert _code(exc) == "ValidationException"
    signing = _key(cloudkeep_account, KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")
    with pytest.raises(ClientError) as exc:
        kms.create_grant(KeyId=signing["KeyId"], GranteePrincipal=app_arn, Operations=["Sign"],
                         Constraints={"EncryptionContextSubset": {"a": "b"}})
    assert _code(exc) == "ValidationException"
    kms.create_grant(KeyId=signing["KeyId"], GranteePrincipal=app_arn, Operations=["Sign", "GetPublicKey"])
    kms.disable_key(KeyId=key["KeyId"])
    with pytest.raises(ClientError) as exc:
        kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=app_arn, Operations=["Encrypt"])
    assert _code(exc) == "DisabledException"


def test_constrained_grantee_may_only_create_grants_as_strict(cloudkeep_account):
    kms = cloudkeep_account.client("kms")
    app_arn, app = _user(cloudkeep_account, "app")
    sub_arn, _ = _user(cloudkeep_account, "sub")
    key = _key(cloudkeep_account)
    kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=app_arn, Operations=["Encrypt", "CreateGrant"],
                     Constraints={"EncryptionContextSubset": {"team": "red"}})
    _denied(app().create_grant, KeyId=key["Arn"], GranteePrincipal=sub_arn, Operations=["Encrypt"])
    app().create_grant(KeyId=key["Arn"], GranteePrincipal=sub_arn, Operations=["Encrypt"],
                       Constraints={"EncryptionContextSubset": {"team": "red", "app": "x"}})


# --- cross-account -----------------------------------------------------------------------------


def test_cross_account_use_needs_the_key_policy_and_the_other_accounts_iam(cloudkeep_server):
    a, b = cloudkeep_server.create_account(), cloudkeep_server.create_account()
    key = _key(a, Policy=_policy(_allow(f"arn:aws:iam::{a.account_id}:root"),
                                 _allow(f"arn:aws:iam::{b.account_id}:root", ["kms:Encrypt", "kms:Decrypt"])))
    _, allowed = _user(b, "user-b", policy=_policy(
        {"Effect": "Allow", "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": key["Arn"]}))
    _, unallowed = _user(b, "plain-b")
    blob = allowed().encrypt(KeyId=key["Arn"], Plaintext=b"across")["CiphertextBlob"]
    assert allowed().decrypt(CiphertextBlob=blob)["Plaintext"] == b"across"
    _denied(unallowed().encrypt, KeyId=key["Arn"], Plaintext=b"x")
    _denied(b.client("kms").describe_key, KeyId=key["Arn"])              # the key policy does not give it
    other = _key(a)                                                      # default policy: A only
    _, admin_b = _user(b, "admin-b", policy=_policy({"Effect": "Allow", "Action": "kms:*", "Resource": "*"}))
    _denied(admin_b().encrypt, KeyId=other["Arn"], Plaintext=b"x")


def test_cross_account_grant_needs_the_grantee_accounts_iam_allow(cloudkeep_server):
    a, b = cloudkeep_server.create_account(), cloudkeep_server.create_account()
    key = _key(a)
    with_iam_arn, with_iam = _user(b, "with-iam", policy=_policy(
        {"Effect": "Allow", "Action": "kms:Encrypt", "Resource": key["Arn"]}))
    without_arn, without = _user(b, "without-iam")
    kms = a.client("kms")
    for arn in (with_iam_arn, without_arn):
        kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=arn, Operations=["Encrypt"])
    with_iam().encrypt(KeyId=key["Arn"], Plaintext=b"x")
    _denied(without().encrypt, KeyId=key["Arn"], Plaintext=b"x")


# --- CloudTrail --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def store(cloudkeep_server: Any) -> Iterator[Store]:
    opened = Store.open(sqlite_url(cloudkeep_server.data_dir), migrate=False)
    try:
        yield opened
    finally:
        opened.close()


def _event(store: Store, request_id: str) -> dict:
    events = records_of_request(store, request_id)
    assert len(events) == 1, events
    return events[0]


def test_kms_calls_are_audited_with_the_key_arn_and_encryption_context(cloudkeep_server, cloudkeep_account, store):
    kms = cloudkeep_account.client("kms")
    acct = cloudkeep_account.account_id
    app_arn, app = _user(cloudkeep_account, "app")
    kms.create_alias(AliasName="alias/audited", TargetKeyId=_key(cloudkeep_account)["KeyId"])
    key = kms.describe_key(KeyId="alias/audited")["KeyMetadata"]
    resources = [{"accountId": acct, "type": "AWS::KMS::Key", "ARN": key["Arn"]}]
    ctx = {"Purpose": "audit-test"}
    enc = kms.encrypt(KeyId="alias/audited", Plaintext=b"p", EncryptionContext=ctx)
    dec = kms.decrypt(CiphertextBlob=enc["CiphertextBlob"], EncryptionContext=ctx)
    grant = kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=app_arn, Operations=["Decrypt"])
    policy = kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")
    denied = _denied(app().encrypt, KeyId=key["Arn"], Plaintext=b"p", EncryptionContext=ctx)
    cloudkeep_server.flush()
    for response, name in ((enc, "Encrypt"), (dec, "Decrypt"), (grant, "CreateGrant"), (policy, "GetKeyPolicy")):
        event = _event(store, response["ResponseMetadata"]["RequestId"])
        assert event["eventName"] == name and event["eventSource"] == "kms.amazonaws.com"
        assert event["resources"] == resources, (name, event.get("resources"))
    for response in (enc, dec):
        params = _event(store, response["ResponseMetadata"]["RequestId"])["requestParameters"]
        assert params["encryptionContext"] == ctx
        assert "plaintext" not in params and "ciphertextBlob" not in params
    event = _event(store, denied.response["ResponseMetadata"]["RequestId"])
    assert event["errorCode"] == "AccessDenied" or event["errorCode"] == "AccessDeniedException"
    assert event["resources"] == resources and event["requestParameters"]["encryptionContext"] == ctx


def test_key_policy_naming_a_user_of_another_account_still_needs_that_accounts_iam(cloudkeep_server):
    """Spec §2.3: naming a user of another account in a resource policy never removes the need
    for an identity-based Allow in that account."""
    a, b = cloudkeep_server.create_account(), cloudkeep_server.create_account()
    user_arn, user = _user(b, "named-b")
    key = _key(a, Policy=_policy(_allow(f"arn:aws:iam::{a.account_id}:root"), _allow(user_arn, "kms:Encrypt")))
    _denied(user().encrypt, KeyId=key["Arn"], Plaintext=b"x")


def test_grant_tokens_must_be_ones_the_server_issued(cloudkeep_account):
    """https://docs.aws.amazon.com/kms/latest/developerguide/grant-tokens.html"""
    kms = cloudkeep_account.client("kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    with pytest.raises(ClientError) as exc:
        kms.encrypt(KeyId=key_id, Plaintext=b"x", GrantTokens=["bm90LWEtdG9rZW4="])
    assert exc.value.response["Error"]["Code"] == "InvalidGrantTokenException"
    token = kms.create_grant(KeyId=key_id, GranteePrincipal=f"arn:aws:iam::{cloudkeep_account.account_id}:root",
                             Operations=["Encrypt"])["GrantToken"]
    assert kms.encrypt(KeyId=key_id, Plaintext=b"x", GrantTokens=[token])["KeyId"].endswith(key_id)
