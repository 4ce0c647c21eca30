"""KMS keys end to end with boto3 against the real server: key specs, the key lifecycle
(enable, disable, scheduled deletion that really happens when the window passes), aliases,
tags, rotation (on demand and when due, on the domain clock), the default key policy that
makes IAM policies apply, and key material that only rests sealed.

AWS pages: https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateKey.html,
API_DescribeKey.html, API_ListKeys.html, API_ScheduleKeyDeletion.html, API_CancelKeyDeletion.html,
API_CreateAlias.html, API_UpdateAlias.html, API_ListAliases.html, API_TagResource.html,
API_EnableKeyRotation.html, API_RotateKeyOnDemand.html, API_ListKeyRotations.html;
key states: https://docs.aws.amazon.com/kms/latest/developerguide/key-state.html;
default key policy: https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3

import pytest
from botocore.exceptions import ClientError
from sqlalchemy import insert, select

from cloudkeep.crypto.envelope import Sealer
from cloudkeep.crypto.rootkey import load_or_create_master_key
from cloudkeep.services.kms import domain as D
from cloudkeep.services.kms import repository as repo
from cloudkeep.storage.engine import Store
from cloudkeep.storage.ids import Ids
from cloudkeep.storage.schema import accounts, kms_key_materials
from cloudkeep.testing.server import client_for

DAY = 86400


def _err(exc) -> tuple[str, str, int]:
    r = exc.value.response
    return r["Error"]["Code"], r["Error"].get("Message", ""), r["ResponseMetadata"]["HTTPStatusCode"]


@pytest.fixture
def kms(cloudkeep_account):
    return cloudkeep_account.client("kms")


def _user(account, name: str, *statements):
    """An IAM user of the account with an inline policy of these statements, and its client maker."""
    iam = account.client("iam")
    iam.create_user(UserName=name)
    if statements:
        iam.put_user_policy(UserName=name, PolicyName="p",
                            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": list(statements)}))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return lambda service: client_for(account.endpoint, service, key["AccessKeyId"], key["SecretAccessKey"])


# --- CreateKey / DescribeKey / ListKeys ------------------------------------------------------


def test_create_symmetric_key_has_awss_metadata_and_default_key_policy(kms, cloudkeep_account):
    meta = kms.create_key(Description="app key")["KeyMetadata"]
    acct = cloudkeep_account.account_id
    assert meta["Arn"] == f"arn:aws:kms:us-east-1:{acct}:key/{meta['KeyId']}"
    assert meta["AWSAccountId"] == acct and meta["Description"] == "app key"
    assert (meta["KeySpec"], meta["CustomerMasterKeySpec"], meta["KeyUsage"]) == \
        ("SYMMETRIC_DEFAULT", "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT")
    assert meta["KeyState"] == "Enabled" and meta["Enabled"] is True
    assert meta["Origin"] == "AWS_KMS" and meta["KeyManager"] == "CUSTOMER" and meta["MultiRegion"] is False
    assert meta["EncryptionAlgorithms"] == ["SYMMETRIC_DEFAULT"]
    assert "SigningAlgorithms" not in meta and "DeletionDate" not in meta
    assert len(meta["CurrentKeyMaterialId"]) == 64
    described = kms.describe_key(KeyId=meta["KeyId"])["KeyMetadata"]
    assert described == meta
    if "GetKeyPolicy" in _handlers():
        policy = json.loads(kms.get_key_policy(KeyId=meta["KeyId"], PolicyName="default")["Policy"])
        assert policy["Statement"] == [{"Sid": "Enable IAM User Permissions", "Effect": "Allow",
                                        "Principal": {"AWS": f"arn:aws:iam::{acct}:root"},
                                        "Action": "kms:*", "Resource": "*"}]


def _handlers() -> set[str]:
    from cloudkeep.services.registry import SERVICES
    return set(SERVICES["kms"].operations.handlers)


@pytest.mark.parametrize("spec,usage,member,algorithms", [
    ("HMAC_224", "GENERATE_VERIFY_MAC", "MacAlgorithms", ["HMAC_SHA_224"]),
    ("HMAC_256", "GENERATE_VERIFY_MAC", "MacAlgorithms", ["HMAC_SHA_256"]),
    ("HMAC_384", "GENERATE_VERIFY_MAC", "MacAlgorithms", ["HMAC_SHA_384"]),
    ("HMAC_512", "GENERATE_VERIFY_MAC", "MacAlgorithms", ["HMAC_SHA_512"]),
    ("RSA_2048", "ENCRYPT_DECRYPT", "EncryptionAlgorithms", ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]),
    ("RSA_3072", "SIGN_VERIFY", "SigningAlgorithms", list(D._RSA_SIGNING)),
    ("RSA_4096", "SIGN_VERIFY", "SigningAlgorithms", list(D._RSA_SIGNING)),
    ("ECC_NIST_P256", "SIGN_VERIFY", "SigningAlgorithms", ["ECDSA_SHA_256"]),
    ("ECC_NIST_P384", "SIGN_VERIFY", "SigningAlgorithms", ["ECDSA_SHA_384"]),
    ("ECC_NIST_P521", "SIGN_VERIFY", "SigningAlgorithms", ["ECDSA_SHA_512"]),
    ("ECC_SECG_P256K1", "SIGN_VERIFY", "SigningAlgorithms", ["ECDSA_SHA_256"]),
])
def test_every_key_spec_gets_its_usage_and_algorithms(kms, spec, usage, member, algorithms):
    meta = kms.create_key(KeySpec=spec, KeyUsage=usage)["KeyMetadata"]
    assert (meta["KeySpec"], meta["KeyUsage"]) == (spec, usage)
    assert sorted(meta[member]) == sorted(algorithms)
    assert "CurrentKeyMaterialId" not in meta       # symmetric encryption keys only
    assert kms.describe_key(KeyId=meta["Arn"])["KeyMetadata"]["KeySpec"] == spec


def test_create_key_refuses_bad_specs_usages_policies_and_tags(kms):
    with pytest.raises(ClientError) as exc:
        kms.create_key(KeySpec="RSA_2048")
    assert _err(exc) == ("ValidationException", "You must specify a KeyUsage value for all KMS keys except for "
                         "symmetric encryption keys.", 400)
    with pytest.raises(ClientError) as exc:
        kms.create_key(KeySpec="SYMMETRIC_DEFAULT", KeyUsage="SIGN_VERIFY")
    assert _err(exc) == ("ValidationException", "KeyUsage SIGN_VERIFY is not compatible with KeySpec "
                         "SYMMETRIC_DEFAULT", 400)
    with pytest.raises(ClientError) as exc:
        kms.create_key(KeySpec="HMAC_256", KeyUsage="ENCRYPT_DECRYPT")
    assert _err(exc)[0] == "ValidationException"
    with pytest.raises(ClientError) as exc:
        kms.create_key(KeySpec="SM2", KeyUsage="SIGN_VERIFY")
    assert _err(exc)[0] == "UnsupportedOperationException"
    with pytest.raises(ClientError) as exc:
        kms.create_key(Policy="{not json")
    assert _err(exc)[0] == "MalformedPolicyDocumentException"
    with pytest.raises(ClientError) as exc:
        kms.create_key(Tags=[{"TagKey": "aws:owner", "TagValue": "x"}])
    assert _err(exc) == ("TagException", "Tags beginning with aws: are reserved", 400)
    with pytest.raises(ClientError) as exc:
        kms.create_key(Tags=[{"TagKey": "a", "TagValue": "1"}, {"TagKey": "a", "TagValue": "2"}])
    assert _err(exc) == ("TagException", "Duplicate tag keys", 400)
    with pytest.raises(ClientError) as exc:
        kms.create_key(Tags=[{"TagKey": f"k{i}", "TagValue": "v"} for i in range(51)])
    assert _err(exc) == ("TagException", "Too many tags", 400)
    assert kms.list_keys()["Keys"] == []                  # nothing was created


def test_create_key_policy_lockout_check_and_bypass(kms, cloudkeep_account):
    other = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*",
        "Resource": "*"}]})
    with pytest.raises(ClientError) as exc:
        kms.create_key(Policy=other)
    assert _err(exc) == ("MalformedPolicyDocumentException",
                         "The new key policy will not allow you to update the key policy in the future.", 400)
    meta = kms.create_key(Policy=other, BypassPolicyLockoutSafetyCheck=True)["KeyMetadata"]
    # the key policy names another account only: even the root user of this one is refused now
    with pytest.raises(ClientError) as exc:
        kms.describe_key(KeyId=meta["KeyId"])
    assert _err(exc)[0] == "AccessDeniedException"


def test_describe_key_by_id_arn_alias_and_alias_arn_and_not_found_texts(kms, cloudkeep_account):
    meta = kms.create_key()["KeyMetadata"]
    kms.create_alias(AliasName="alias/by-name", TargetKeyId=meta["KeyId"])
    acct = cloudkeep_account.account_id
    for ref in (meta["KeyId"], meta["Arn"], "alias/by-name", f"arn:aws:kms:us-east-1:{acct}:alias/by-name"):
        assert kms.describe_key(KeyId=ref)["KeyMetadata"]["KeyId"] == meta["KeyId"]
    missing = "11111111-2222-4333-8444-555555555555"
    with pytest.raises(ClientError) as exc:
        kms.describe_key(KeyId=missing)
    assert _err(exc) == ("NotFoundException",
                         f"Key 'arn:aws:kms:us-east-1:{acct}:key/{missing}' does not exist", 400)
    with pytest.raises(ClientError) as exc:
        kms.describe_key(KeyId="alias/nope")
    assert _err(exc) == ("NotFoundException", f"Alias arn:aws:kms:us-east-1:{acct}:alias/nope is not found.", 400)
    with pytest.raises(ClientError) as exc:
        kms.describe_key(KeyId="not-a-key")
    assert _err(exc) == ("NotFoundException", "Invalid keyId 'not-a-key'", 400)


def test_keys_are_per_account_and_region(kms, cloudkeep_server, cloudkeep_account):
    meta = kms.create_key()["KeyMetadata"]
    stranger = cloudkeep_server.create_account().client("kms")
    with pytest.raises(ClientError) as exc:
        stranger.describe_key(KeyId=meta["KeyId"])
    assert _err(exc)[0] == "NotFoundException"
    assert meta["KeyId"] not in [k["KeyId"] for k in stranger.list_keys()["Keys"]]
    with pytest.raises(ClientError) as exc:
        cloudkeep_account.client("kms", region="eu-west-1").describe_key(KeyId=meta["KeyId"])
    assert _err(exc)[0] == "NotFoundException"


def test_list_keys_paginates_with_marker(cloudkeep_account):
    kms = cloudkeep_account.client("kms")
    ids = sorted(kms.create_key()["KeyMetadata"]["KeyId"] for _ in range(5))
    page = kms.list_keys(Limit=2)
    assert page["Truncated"] is True and len(page["Keys"]) == 2
    seen = [k["KeyId"] for k in page["Keys"]]
    while page["Truncated"]:
        page = kms.list_keys(Limit=2, Marker=page["NextMarker"])
        seen += [k["KeyId"] for k in page["Keys"]]
    assert seen == ids
    assert "NextMarker" not in page
    assert all(k["KeyArn"].endswith("key/" + k["KeyId"]) for k in kms.list_keys()["Keys"])
    with pytest.raises(ClientError) as exc:
        kms.list_keys(Marker="%%%")
    assert _err(exc)[0] == "InvalidMarkerException"
    west = cloudkeep_account.client("kms", region="eu-west-1")
    assert west.list_keys()["Keys"] == []


# --- lifecycle ---------------------------------------------------------------------------------


def test_disable_and_enable_key_gate_use_with_awss_errors(kms):
    meta = kms.create_key()["KeyMetadata"]
    kms.disable_key(KeyId=meta["KeyId"])
    kms.disable_key(KeyId=meta["KeyId"])               # disabling a disabled key is fine
    described = kms.describe_key(KeyId=meta["KeyId"])["KeyMetadata"]
    assert (described["KeyState"], described["Enabled"]) == ("Disabled", False)
    with pytest.raises(ClientError) as exc:
        kms.enable_key_rotation(KeyId=meta["KeyId"])
    assert _err(exc) == ("DisabledException", f"{meta['Arn']} is disabled.", 400)
    if "Encrypt" in _handlers():
        with pytest.raises(ClientError) as exc:
            kms.encrypt(KeyId=meta["KeyId"], Plaintext=b"x")
        assert _err(exc) == ("DisabledException", f"{meta['Arn']} is disabled.", 400)
    kms.update_key_description(KeyId=meta["KeyId"], Description="still manageable")
    kms.enable_key(KeyId=meta["KeyId"])
    described = kms.describe_key(KeyId=meta["KeyId"])["KeyMetadata"]
    assert (described["KeyState"], described["Description"]) == ("Enabled", "still manageable")


def test_schedule_and_cancel_key_deletion(kms):
    meta = kms.create_key()["KeyMetadata"]
    arn = meta["Arn"]
    with pytest.raises(ClientError) as exc:
        kms.schedule_key_deletion(KeyId=arn, PendingWindowInDays=6)
    assert _err(exc) == ("ValidationException", "PendingWindowInDays should be between 7 and 30, but it is 6", 400)
    with pytest.raises(ClientError) as exc:
        kms.cancel_key_deletion(KeyId=arn)
    assert _err(exc) == ("KMSInvalidStateException", f"{arn} is not pending deletion.", 400)
    out = kms.schedule_key_deletion(KeyId=meta["KeyId"], PendingWindowInDays=10)
    assert (out["KeyId"], out["KeyState"], out["PendingWindowInDays"]) == (arn, "PendingDeletion", 10)
    window = out["DeletionDate"] - meta["CreationDate"]
    assert dt.timedelta(days=10) <= window < dt.timedelta(days=10, minutes=5)
    described = kms.describe_key(KeyId=arn)["KeyMetadata"]
    assert described["KeyState"] == "PendingDeletion" and described["DeletionDate"] == out["DeletionDate"]
    pending = f"{arn} is pending deletion."
    for call in (lambda: kms.enable_key(KeyId=arn), lambda: kms.disable_key(KeyId=arn),
                 lambda: kms.schedule_key_deletion(KeyId=arn),
                 lambda: kms.update_key_description(KeyId=arn, Description="x"),
                 lambda: kms.tag_resource(KeyId=arn, Tags=[{"TagKey": "a", "TagValue": "b"}]),
                 lambda: kms.create_alias(AliasName="alias/late", TargetKeyId=arn),
                 lambda: kms.rotate_key_on_demand(KeyId=arn)):
        with pytest.raises(ClientError) as exc:
            call()
        assert _err(exc) == ("KMSInvalidStateException", pending, 400)
    assert kms.get_key_rotation_status(KeyId=arn)["KeyRotationEnabled"] is False
    assert kms.cancel_key_deletion(KeyId=arn)["KeyId"] == arn
    described = kms.describe_key(KeyId=arn)["KeyMetadata"]
    assert described["KeyState"] == "Disabled" and "DeletionDate" not in described


def test_key_is_deleted_when_the_waiting_period_passes(kms, cloudkeep_server, cloudkeep_account):
    doomed = kms.create_key()["KeyMetadata"]
    kept = kms.create_key()["KeyMetadata"]
    kms.create_alias(AliasName="alias/doomed", TargetKeyId=doomed["KeyId"])
    kms.schedule_key_deletion(KeyId=doomed["KeyId"], PendingWindowInDays=7)
    cloudkeep_server.advance(6 * DAY)
    assert kms.describe_key(KeyId=doomed["KeyId"])["KeyMetadata"]["KeyState"] == "PendingDeletion"
    cloudkeep_server.advance(DAY + 60)
    with pytest.raises(ClientError) as exc:
        kms.describe_key(KeyId=doomed["KeyId"])
    assert _err(exc) == ("NotFoundException", f"Key '{doomed['Arn']}' does not exist", 400)
    assert [k["KeyId"] for k in kms.list_keys()["Keys"]] == [kept["KeyId"]]
    assert kms.list_aliases()["Aliases"] == []          # its aliases went with it
    with pytest.raises(ClientError) as exc:
        kms.cancel_key_deletion(KeyId=doomed["KeyId"])
    assert _err(exc)[0] == "NotFoundException"
    assert kms.describe_key(KeyId=kept["KeyId"])["KeyMetadata"]["KeyState"] == "Enabled"
    # really deleted: no row, no material left (ListKeys ran in a write unit of work)
    assert _server_rows(cloudkeep_server, "SELECT key_id FROM kms_keys WHERE key_id = ? UNION ALL "
                        "SELECT key_id FROM kms_key_materials WHERE key_id = ?", (doomed["KeyId"],) * 2) == []
    assert _server_rows(cloudkeep_server, "SELECT key_id FROM kms_keys WHERE key_id = ?", (kept["KeyId"],)) == \
        [(kept["KeyId"],)]


# --- aliases -----------------------------------------------------------------------------------


def test_aliases_create_list_update_delete(kms, cloudkeep_account):
    acct = cloudkeep_account.account_id
    a = kms.create_key()["KeyMetadata"]
    b = kms.create_key()["KeyMetadata"]
    kms.create_alias(AliasName="alias/app", TargetKeyId=a["KeyId"])
    kms.create_alias(AliasName="alias/other", TargetKeyId=a["Arn"])
    kms.create_alias(AliasName="alias/b", TargetKeyId=b["KeyId"])
    aliases = kms.list_aliases()["Aliases"]
    assert [x["AliasName"] for x in aliases] == ["alias/app", "alias/b", "alias/other"]
    first = aliases[0]
    assert first["AliasArn"] == f"arn:aws:kms:us-east-1:{acct}:alias/app" and first["TargetKeyId"] == a["KeyId"]
    assert isinstance(first["CreationDate"], dt.datetime) and isinstance(first["LastUpdatedDate"], dt.datetime)
    assert [x["AliasName"] for x in kms.list_aliases(KeyId=a["Arn"])["Aliases"]] == ["alias/app", "alias/other"]
    page = kms.list_aliases(Limit=2)
    assert page["Truncated"] and len(page["Aliases"]) == 2
    assert [x["AliasName"] for x in kms.list_aliases(Marker=page["NextMarker"])["Aliases"]] == ["alias/other"]
    kms.update_alias(AliasName="alias/app", TargetKeyId=b["KeyId"])
    assert kms.describe_key(KeyId="alias/app")["KeyMetadata"]["KeyId"] == b["KeyId"]
    kms.delete_alias(AliasName="alias/app")
    with pytest.raises(ClientError) as exc:
        kms.delete_alias(AliasName="alias/app")
    assert _err(exc) == ("NotFoundException", f"Alias arn:aws:kms:us-east-1:{acct}:alias/app is not found.", 400)
    with pytest.raises(ClientError) as exc:
        kms.update_alias(AliasName="alias/app", TargetKeyId=a["KeyId"])
    assert _err(exc)[0] == "NotFoundException"


def test_alias_errors(kms, cloudkeep_account):
    acct = cloudkeep_account.account_id
    key = kms.create_key()["KeyMetadata"]
    kms.create_alias(AliasName="alias/taken", TargetKeyId=key["KeyId"])
    with pytest.raises(ClientError) as exc:
        kms.create_alias(AliasName="alias/taken", TargetKeyId=key["KeyId"])
    assert _err(exc) == ("AlreadyExistsException",
                         f"An alias with the name arn:aws:kms:us-east-1:{acct}:alias/taken already exists", 400)
    with pytest.raises(ClientError) as exc:
        kms.create_alias(AliasName="alias/aws/mine", TargetKeyId=key["KeyId"])
    assert _err(exc)[0] == "InvalidAliasNameException"
    with pytest.raises(ClientError) as exc:
        kms.create_alias(AliasName="noprefix", TargetKeyId=key["KeyId"])
    assert _err(exc) == ("ValidationException", 'Alias must start with the prefix "alias/". Please see '
                         "https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html", 400)
    with pytest.raises(ClientError) as exc:
        kms.delete_alias(AliasName="noprefix")
    assert _err(exc)[0] == "ValidationException"
    with pytest.raises(ClientError) as exc:
        kms.create_alias(AliasName="alias/a:b", TargetKeyId=key["KeyId"])
    assert _err(exc) == ("ValidationException", "alias/a:b contains invalid characters for an alias", 400)
    with pytest.raises(ClientError) as exc:
        kms.create_alias(AliasName="alias/new", TargetKeyId="alias/taken")
    assert _err(exc)[0] == "ValidationException"
    with pytest.raises(ClientError) as exc:
        kms.create_alias(AliasName="alias/new", TargetKeyId="11111111-2222-4333-8444-555555555555")
    assert _err(exc)[0] == "NotFoundException"
    hmac_key = kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]
    with pytest.raises(ClientError) as exc:    # an alias keeps its key type and usage
        kms.update_alias(AliasName="alias/taken", TargetKeyId=hmac_key["KeyId"])
    assert _err(exc)[0] == "ValidationException"


# --- tags --------------------------------------------------------------------------------------


def test_tags_add_overwrite_list_and_remove(kms):
    key = kms.create_key(Tags=[{"TagKey": "team", "TagValue": "blue"}])["KeyMetadata"]["KeyId"]
    kms.tag_resource(KeyId=key, Tags=[{"TagKey": "team", "TagValue": "red"}, {"TagKey": "env", "TagValue": "prod"}])
    out = kms.list_resource_tags(KeyId=key)
    assert out["Tags"] == [{"TagKey": "env", "TagValue": "prod"}, {"TagKey": "team", "TagValue": "red"}]
    assert out["Truncated"] is False
    page = kms.list_resource_tags(KeyId=key, Limit=1)
    assert page["Truncated"] and page["Tags"] == [{"TagKey": "env", "TagValue": "prod"}]
    assert kms.list_resource_tags(KeyId=key, Marker=page["NextMarker"])["Tags"] == \
        [{"TagKey": "team", "TagValue": "red"}]
    kms.untag_resource(KeyId=key, TagKeys=["env", "absent"])
    assert kms.list_resource_tags(KeyId=key)["Tags"] == [{"TagKey": "team", "TagValue": "red"}]
    with pytest.raises(ClientError) as exc:
        kms.tag_resource(KeyId=key, Tags=[{"TagKey": "AWS:x", "TagValue": "y"}])
    assert _err(exc)[0] == "TagException"
    with pytest.raises(ClientError) as exc:
        kms.tag_resource(KeyId=key, Tags=[{"TagKey": f"k{i}", "TagValue": "v"} for i in range(50)])
    assert _err(exc) == ("TagException", "Too many tags", 400)


# --- rotation ----------------------------------------------------------------------------------


def test_rotation_settings_and_on_demand_rotation(kms, cloudkeep_account):
    meta = kms.create_key()["KeyMetadata"]
    key = meta["KeyId"]
    status = kms.get_key_rotation_status(KeyId=key)
    assert status["KeyRotationEnabled"] is False and status["KeyId"] == meta["Arn"]
    assert "NextRotationDate" not in status
    from botocore.config import Config
    unchecked = cloudkeep_account.client("kms", config=Config(parameter_validation=False,
                                                              retries={"max_attempts": 1}))
    with pytest.raises(ClientError) as exc:           # the server checks the range itself
        unchecked.enable_key_rotation(KeyId=key, RotationPeriodInDays=89)
    assert _err(exc)[0] == "ValidationException"
    kms.enable_key_rotation(KeyId=key)
    status = kms.get_key_rotation_status(KeyId=key)
    assert status["KeyRotationEnabled"] is True and status["RotationPeriodInDays"] == 365
    assert dt.timedelta(days=365) <= status["NextRotationDate"] - meta["CreationDate"] < dt.timedelta(days=366)
    kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=180)
    assert kms.get_key_rotation_status(KeyId=key)["RotationPeriodInDays"] == 180
    assert kms.list_key_rotations(KeyId=key)["Rotations"] == []
    before = kms.encrypt(KeyId=key, Plaintext=b"old") if "Encrypt" in _handlers() else None
    assert kms.rotate_key_on_demand(KeyId=key)["KeyId"] == meta["Arn"]
    current = kms.describe_key(KeyId=key)["KeyMetadata"]["CurrentKeyMaterialId"]
    assert current != meta["CurrentKeyMaterialId"]
    rotations = kms.list_key_rotations(KeyId=key)["Rotations"]
    assert len(rotations) == 1 and rotations[0]["RotationType"] == "ON_DEMAND"
    assert rotations[0]["KeyMaterialId"] == current and rotations[0]["KeyMaterialState"] == "CURRENT"
    everything = kms.list_key_rotations(KeyId=key, IncludeKeyMaterial="ALL_KEY_MATERIAL")["Rotations"]
    assert [r["KeyMaterialId"] for r in everything] == [meta["CurrentKeyMaterialId"], current]
    assert everything[0]["KeyMaterialState"] == "NON_CURRENT" and "RotationDate" not in everything[0]
    if before is not None:
        assert kms.decrypt(CiphertextBlob=before["CiphertextBlob"])["Plaintext"] == b"old"
    kms.disable_key_rotation(KeyId=key)
    assert kms.get_key_rotation_status(KeyId=key)["KeyRotationEnabled"] is False
    for _ in range(9):
        kms.rotate_key_on_demand(KeyId=key)
    with pytest.raises(ClientError) as exc:
        kms.rotate_key_on_demand(KeyId=key)
    assert _err(exc)[0] == "LimitExceededException"


def test_rotation_is_for_symmetric_encryption_keys_only(kms):
    key = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    for call in (lambda: kms.enable_key_rotation(KeyId=key), lambda: kms.rotate_key_on_demand(KeyId=key),
                 lambda: kms.get_key_rotation_status(KeyId=key), lambda: kms.list_key_rotations(KeyId=key)):
        with pytest.raises(ClientError) as exc:
            call()
        assert _err(exc)[0] == "UnsupportedOperationException"


def test_automatic_rotation_happens_when_due_on_the_domain_clock(kms, cloudkeep_server):
    meta = kms.create_key()["KeyMetadata"]
    key = meta["KeyId"]
    kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=90)
    first_due = kms.get_key_rotation_status(KeyId=key)["NextRotationDate"]
    old = kms.encrypt(KeyId=key, Plaintext=b"before rotation") if "Encrypt" in _handlers() else None
    cloudkeep_server.advance(89 * DAY)
    assert kms.list_key_rotations(KeyId=key)["Rotations"] == []
    cloudkeep_server.advance(2 * DAY)
    rotations = kms.list_key_rotations(KeyId=key)["Rotations"]
    assert len(rotations) == 1 and rotations[0]["RotationType"] == "AUTOMATIC"
    assert rotations[0]["RotationDate"] == first_due
    status = kms.get_key_rotation_status(KeyId=key)
    assert status["NextRotationDate"] == first_due + dt.timedelta(days=90)
    current = kms.describe_key(KeyId=key)["KeyMetadata"]["CurrentKeyMaterialId"]
    assert current == rotations[0]["KeyMaterialId"] != meta["CurrentKeyMaterialId"]
    if old is not None:
        assert kms.decrypt(CiphertextBlob=old["CiphertextBlob"])["Plaintext"] == b"before rotation"
        new = kms.encrypt(KeyId=key, Plaintext=b"after")
        assert kms.decrypt(CiphertextBlob=new["CiphertextBlob"])["KeyMaterialId"] == current


def test_a_disabled_key_is_not_rotated_until_enabled_again(kms, cloudkeep_server):
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=90)
    kms.disable_key(KeyId=key)
    cloudkeep_server.advance(91 * DAY)
    assert kms.list_key_rotations(KeyId=key)["Rotations"] == []
    kms.enable_key(KeyId=key)
    assert [r["RotationType"] for r in kms.list_key_rotations(KeyId=key)["Rotations"]] == ["AUTOMATIC"]


# --- who may use a key -------------------------------------------------------------------------


def test_default_key_policy_lets_iam_policies_decide(cloudkeep_account):
    kms = cloudkeep_account.client("kms")
    key = kms.create_key()["KeyMetadata"]
    allowed = _user(cloudkeep_account, "reader", {"Effect": "Allow", "Action": "kms:DescribeKey", "Resource": "*"})
    denied = _user(cloudkeep_account, "nobody")
    assert allowed("kms").describe_key(KeyId=key["KeyId"])["KeyMetadata"]["Arn"] == key["Arn"]
    with pytest.raises(ClientError) as exc:
        denied("kms").describe_key(KeyId=key["KeyId"])
    code, message, status = _err(exc)
    assert (code, status) == ("AccessDeniedException", 400)
    assert "kms:DescribeKey" in message and key["Arn"] in message
    with pytest.raises(ClientError) as exc:
        allowed("kms").disable_key(KeyId=key["KeyId"])
    assert _err(exc)[0] == "AccessDeniedException"
    with pytest.raises(ClientError) as exc:
        denied("kms").list_keys()
    assert _err(exc)[0] == "AccessDeniedException"
    if "PutKeyPolicy" not in _handlers():
        pytest.skip("PutKeyPolicy is not implemented yet")
    acct = cloudkeep_account.account_id
    only_root = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{acct}:user/admin-not-root"}, "Action": "kms:*",
        "Resource": "*"}]})
    cloudkeep_account.client("iam").create_user(UserName="admin-not-root")
    kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=only_root,
                       BypassPolicyLockoutSafetyCheck=True)
    with pytest.raises(ClientError) as exc:           # no account delegation: the IAM allow is ignored
        allowed("kms").describe_key(KeyId=key["KeyId"])
    assert _err(exc)[0] == "AccessDeniedException"


def test_kms_condition_keys_request_alias_and_key_spec(cloudkeep_account):
    kms = cloudkeep_account.client("kms")
    key = kms.create_key()["KeyMetadata"]
    kms.create_alias(AliasName="alias/app", TargetKeyId=key["KeyId"])
    mac = kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]
    by_alias = _user(cloudkeep_account, "alias-user", {
        "Effect": "Allow", "Action": "kms:DescribeKey", "Resource": "*",
        "Condition": {"StringEquals": {"kms:RequestAlias": "alias/app"}}})
    assert by_alias("kms").describe_key(KeyId="alias/app")["KeyMetadata"]["KeyId"] == key["KeyId"]
    with pytest.raises(ClientError) as exc:
        by_alias("kms").describe_key(KeyId=key["KeyId"])
    assert _err(exc)[0] == "AccessDeniedException"
    by_spec = _user(cloudkeep_account, "spec-user", {
        "Effect": "Allow", "Action": ["kms:TagResource", "kms:ListResourceTags"], "Resource": "*",
        "Condition": {"StringEquals": {"kms:KeySpec": "HMAC_256", "kms:CallerAccount": cloudkeep_account.account_id}}})
    by_spec("kms").tag_resource(KeyId=mac["KeyId"], Tags=[{"TagKey": "ok", "TagValue": "1"}])
    with pytest.raises(ClientError) as exc:
        by_spec("kms").tag_resource(KeyId=key["KeyId"], Tags=[{"TagKey": "ok", "TagValue": "1"}])
    assert _err(exc)[0] == "AccessDeniedException"
    by_tag = _user(cloudkeep_account, "tag-user", {
        "Effect": "Allow", "Action": "kms:CreateKey", "Resource": "*",
        "Condition": {"StringEquals": {"aws:RequestTag/team": "blue"}}})
    by_tag("kms").create_key(Tags=[{"TagKey": "team", "TagValue": "blue"}])
    with pytest.raises(ClientError) as exc:
        by_tag("kms").create_key(Tags=[{"TagKey": "team", "TagValue": "red"}])
    assert _err(exc)[0] == "AccessDeniedException"


def test_alias_operations_need_permission_on_the_alias_and_the_key(cloudkeep_account):
    kms = cloudkeep_account.client("kms")
    acct = cloudkeep_account.account_id
    key = kms.create_key()["KeyMetadata"]
    only_key = _user(cloudkeep_account, "key-only", {"Effect": "Allow", "Action": "kms:CreateAlias",
                                                      "Resource": key["Arn"]})
    with pytest.raises(ClientError) as exc:
        only_key("kms").create_alias(AliasName="alias/x", TargetKeyId=key["KeyId"])
    code, message, _ = _err(exc)
    assert code == "AccessDeniedException" and f"arn:aws:kms:us-east-1:{acct}:alias/x" in message
    both = _user(cloudkeep_account, "both", {"Effect": "Allow", "Action": "kms:CreateAlias",
                                             "Resource": [key["Arn"], f"arn:aws:kms:us-east-1:{acct}:alias/x"]})
    both("kms").create_alias(AliasName="alias/x", TargetKeyId=key["KeyId"])
    assert kms.describe_key(KeyId="alias/x")["KeyMetadata"]["KeyId"] == key["KeyId"]


def test_cross_account_describe_by_arn_when_the_key_policy_names_the_account(cloudkeep_account, cloudkeep_server):
    owner = cloudkeep_account.client("kms")
    other = cloudkeep_server.create_account()
    acct = cloudkeep_account.account_id
    policy = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "Enable IAM User Permissions", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{acct}:root"},
         "Action": "kms:*", "Resource": "*"},
        {"Sid": "Other account", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{other.account_id}:root"},
         "Action": "kms:DescribeKey", "Resource": "*"}]})
    key = owner.create_key(Policy=policy)["KeyMetadata"]
    private = owner.create_key()["KeyMetadata"]
    assert other.client("kms").describe_key(KeyId=key["Arn"])["KeyMetadata"]["KeyId"] == key["KeyId"]
    with pytest.raises(ClientError) as exc:
        other.client("kms").describe_key(KeyId=private["Arn"])
    assert _err(exc)[0] == "AccessDeniedException"
    with pytest.raises(ClientError) as exc:           # not a cross-account operation
        other.client("kms").disable_key(KeyId=key["Arn"])
    assert _err(exc)[0] in ("AccessDeniedException", "NotFoundException")


# --- key material at rest ----------------------------------------------------------------------


def _sqlite_files(data_dir):
    return [p for p in data_dir.rglob("*") if p.is_file() and p.read_bytes()[:16] == b"SQLite format 3\x00"]


def _server_rows(server, sql: str, params: tuple) -> list[tuple]:
    """Rows of the session server's SQLite database (read-only), which must hold the KMS tables."""
    for path in _sqlite_files(server.data_dir):
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            try:
                return db.execute(sql, params).fetchall()
            except sqlite3.OperationalError:
                continue
    raise AssertionError("no database with the KMS tables in the server's data dir")


def test_key_material_rests_only_sealed_in_the_data_dir(kms, cloudkeep_server):
    meta = kms.create_key()["KeyMetadata"]
    kms.rotate_key_on_demand(KeyId=meta["KeyId"])
    hmac_meta = kms.create_key(KeySpec="HMAC_512", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]
    data_dir = cloudkeep_server.data_dir
    sealer = Sealer(load_or_create_master_key(data_dir, None))
    databases = _sqlite_files(data_dir)
    materials: list[bytes] = []
    for path in databases:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            try:
                rows = db.execute("SELECT k.arn, m.material_id, m.material_sealed FROM kms_key_materials m "
                                  "JOIN kms_keys k ON k.key_id = m.key_id WHERE k.key_id IN (?, ?)",
                                  (meta["KeyId"], hmac_meta["KeyId"])).fetchall()
            except sqlite3.OperationalError:
                continue
        for arn, material_id, sealed in rows:
            material = sealer.open(bytes(sealed), context=f"kms:{arn}:{material_id}".encode())
            assert material not in bytes(sealed)
            materials.append(material)
    assert sorted(len(m) for m in materials) == [32, 32, 64]     # two AES-256 versions, one HMAC_512 key
    for path in data_dir.rglob("*"):
        if path.is_file() and path.name != "master.key":
            content = path.read_bytes()
            for material in materials:
                assert material not in content, f"key material in clear in {path.name}"


# --- repository level --------------------------------------------------------------------------


@pytest.fixture
def store(tmp_path):
    s = Store.open(f"sqlite:///{tmp_path / 'kms.db'}")
    with s.unit_of_work(write=True) as uow:
        uow.execute(insert(accounts).values(account_id="123456789012", email="a@example.com",
                                            root_password_hash="x", created_at=dt.datetime.now(dt.timezone.utc)))
    yield s


def _new_key(uow, sealer, *, now, spec="SYMMETRIC_DEFAULT", usage="ENCRYPT_DECRYPT"):
    ids = Ids()
    key_id = ids.uuid()
    material_id = D.new_material_id(ids.token_bytes)
    key = D.KmsKey(account_id="123456789012", region="us-east-1", key_id=key_id,
                   arn=D.key_arn("aws", "us-east-1", "123456789012", key_id), key_spec=spec, key_usage=usage,
                   state=D.ENABLED, description="", origin="AWS_KMS", created_at=now, deletion_date=None,
                   policy=D.default_key_policy("aws", "123456789012"), current_material_id=material_id,
                   rotation_enabled=False, rotation_period_days=None, next_rotation=None)
    material = D.generate_material(D.KEY_SPECS[spec], ids.token_bytes)
    repo.add_key(uow, sealer, key, material, {})
    return key, material


def test_repository_seals_material_and_versions_it(store):
    sealer = Sealer(b"k" * 32)
    now = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)
    with store.unit_of_work(write=True) as uow:
        key, material = _new_key(uow, sealer, now=now)
        ec_key, ec_material = _new_key(uow, sealer, now=now, spec="ECC_NIST_P256", usage="SIGN_VERIFY")
        repo.add_alias(uow, "123456789012", "us-east-1", "alias/repo", key.key_id, now)
    with store.unit_of_work(write=True) as uow:
        stored = uow.execute(select(kms_key_materials.c.material_sealed)
                             .where(kms_key_materials.c.key_id == key.key_id)).scalar_one()
        assert material not in bytes(stored) and len(material) == 32
        assert repo.key_material(uow, sealer, key) == material
        assert repo.key_material(uow, sealer, ec_key) == ec_material
        from cryptography.hazmat.primitives.serialization import load_der_private_key
        assert load_der_private_key(ec_material, None).curve.name == "secp256r1"
        with pytest.raises(KeyError):
            repo.key_material(uow, sealer, key, "0" * 64)
        with pytest.raises(Exception):               # sealed under another root of trust
            repo.key_material(uow, Sealer(b"x" * 32), key)
        for ref in (key.key_id, key.arn, "alias/repo", "arn:aws:kms:us-east-1:123456789012:alias/repo"):
            assert repo.resolve_key(uow, "123456789012", "us-east-1", ref) == key
        assert repo.resolve_key(uow, "123456789012", "eu-west-1", key.key_id) is None
        assert repo.resolve_key(uow, "210987654321", "us-east-1", key.arn) == key   # by ARN from elsewhere
        rotated = repo.rotate(uow, sealer, key, Ids(), at=now, rotation_type="ON_DEMAND")
        assert repo.material_ids(uow, key) == [key.current_material_id, rotated.current_material_id]
        assert repo.key_material(uow, sealer, rotated) != material
        assert repo.key_material(uow, sealer, rotated, key.current_material_id) == material
        repo.set_policy(uow, key, '{"Version":"2012-10-17","Statement":[]}')
        assert repo.resolve_key(uow, "123456789012", "us-east-1", key.key_id).policy.endswith("[]}")


def test_repository_lazy_deletion_and_rotation(store):
    sealer = Sealer(b"k" * 32)
    now = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)
    with store.unit_of_work(write=True) as uow:
        key, _ = _new_key(uow, sealer, now=now)
        doomed, _ = _new_key(uow, sealer, now=now)
        repo.save_key(uow, D.enable_rotation(key, now, 90))
        repo.save_key(uow, D.schedule_deletion(doomed, now, 7))
    later = now + dt.timedelta(days=200)
    with store.unit_of_work() as uow:                 # a read hides the deleted key, writes nothing
        assert repo.resolve_key(uow, "123456789012", "us-east-1", doomed.key_id, now=later) is None
        assert not uow.wrote
    with store.unit_of_work(write=True) as uow:
        assert repo.resolve_key(uow, "123456789012", "us-east-1", doomed.key_id, now=later) is None
        fresh = repo.resolve_key(uow, "123456789012", "us-east-1", key.key_id, now=later, sealer=sealer)
        assert len(repo.material_ids(uow, fresh)) == 3        # due at day 90 and day 180
        assert fresh.next_rotation == now + dt.timedelta(days=270)
    with store.unit_of_work() as uow:
        assert repo.resolve_key(uow, "123456789012", "us-east-1", doomed.key_id) is None   # really gone
        assert [r.rotation_type for r in repo.materials(uow, fresh)] == [None, "AUTOMATIC", "AUTOMATIC"]


def test_repository_asks_for_a_write_unit_of_work_when_rotation_is_due(store):
    """A read unit of work never rotates: it raises NeedsWrite and the pipeline runs the request
    again in a write one."""
    from cloudkeep.storage.uow import NeedsWrite

    sealer = Sealer(b"k" * 32)
    now = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)
    with store.unit_of_work(write=True) as uow:
        key, _ = _new_key(uow, sealer, now=now)
        repo.save_key(uow, D.enable_rotation(key, now, 90))
    later = now + dt.timedelta(days=91)
    with store.unit_of_work() as uow:
        with pytest.raises(NeedsWrite):
            repo.resolve_key(uow, "123456789012", "us-east-1", key.key_id, now=later, sealer=sealer)
        assert not uow.wrote
        # without a sealer (nothing will be encrypted) a read still answers
        assert repo.resolve_key(uow, "123456789012", "us-east-1", key.key_id, now=later) is not None
