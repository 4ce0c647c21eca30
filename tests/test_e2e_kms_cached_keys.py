"""What decides the use of a key is cached per authorization generation of the key's account
(services/kms/authz.py), and read-only calls stay reads until a rotation is due (then they run
again in a write unit of work: storage.uow.NeedsWrite). These tests use a key first, so its view
is cached, then change what decides its use, and check the very next call sees the change: key
policy, state, grants (also created and revoked from another account), tags under
aws:ResourceTag, aliases under kms:ResourceAliases, and due rotation on an Encrypt.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from cloudkeep.testing.server import client_for

DAY = 86400


def _policy(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _user(account: Any, name: str, policy: dict | None = None) -> tuple[str, Any]:
    iam = account.client("iam")
    arn = iam.create_user(UserName=name)["User"]["Arn"]
    if policy is not None:
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=_policy(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return arn, client_for(account.endpoint, "kms", key["AccessKeyId"], key["SecretAccessKey"])


def _code(fn: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as exc:
        fn(**kwargs)
    return exc.value.response["Error"]["Code"]


def test_a_key_policy_change_applies_to_the_next_call(cloudkeep_account):
    kms = cloudkeep_account.client("kms")
    root = f"arn:aws:iam::{cloudkeep_account.account_id}:root"
    key = kms.create_key()["KeyMetadata"]["Arn"]
    for _ in range(3):
        kms.encrypt(KeyId=key, Plaintext=b"x")
    kms.put_key_policy(KeyId=key, PolicyName="default", Policy=_policy(
        {"Effect": "Allow", "Principal": {"AWS": root}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Deny", "Principal": {"AWS": root}, "Action": "kms:Encrypt", "Resource": "*"}))
    assert _code(kms.encrypt, KeyId=key, Plaintext=b"x") == "AccessDeniedException"
    kms.put_key_policy(KeyId=key, PolicyName="default", Policy=_policy(
        {"Effect": "Allow", "Principal": {"AWS": root}, "Action": "kms:*", "Resource": "*"}))
    kms.encrypt(KeyId=key, Plaintext=b"x")


def test_disabling_and_scheduling_deletion_apply_to_the_next_call(cloudkeep_account):
    kms = cloudkeep_account.client("kms")
    key = kms.create_key()["KeyMetadata"]["Arn"]
    blob = kms.encrypt(KeyId=key, Plaintext=b"x")["CiphertextBlob"]
    kms.disable_key(KeyId=key)
    assert _code(kms.encrypt, KeyId=key, Plaintext=b"x") == "DisabledException"
    assert _code(kms.decrypt, CiphertextBlob=blob) == "DisabledException"
    kms.enable_key(KeyId=key)
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"x"
    kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    assert _code(kms.encrypt, KeyId=key, Plaintext=b"x") == "KMSInvalidStateException"


def test_grants_created_and_revoked_from_another_account_apply_to_the_next_call(cloudkeep_server):
    a, b = cloudkeep_server.create_account(), cloudkeep_server.create_account()
    kms_a = a.client("kms")
    key = kms_a.create_key(Policy=_policy(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{a.account_id}:root"}, "Action": "kms:*",
         "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{b.account_id}:root"},
         "Action": ["kms:CreateGrant", "kms:RevokeGrant", "kms:ListGrants"], "Resource": "*"}))["KeyMetadata"]["Arn"]
    _, admin_b = _user(b, "admin-b", {"Effect": "Allow", "Action": "kms:*", "Resource": "*"})
    grantee_arn, grantee = _user(b, "grantee-b", {"Effect": "Allow", "Action": "kms:Encrypt", "Resource": key})
    assert _code(grantee.encrypt, KeyId=key, Plaintext=b"x") == "AccessDeniedException"   # cached: no grant
    grant = admin_b.create_grant(KeyId=key, GranteePrincipal=grantee_arn, Operations=["Encrypt"])["GrantId"]
    grantee.encrypt(KeyId=key, Plaintext=b"x")
    admin_b.revoke_grant(KeyId=key, GrantId=grant)
    assert _code(grantee.encrypt, KeyId=key, Plaintext=b"x") == "AccessDeniedException"


def test_tags_and_aliases_apply_to_the_next_call(cloudkeep_account):
    kms = cloudkeep_account.client("kms")
    key = kms.create_key()["KeyMetadata"]["Arn"]
    _, by_tag = _user(cloudkeep_account, "by-tag", {
        "Effect": "Allow", "Action": "kms:Encrypt", "Resource": "*",
        "Condition": {"StringEquals": {"aws:ResourceTag/team": "blue"}}})
    _, by_alias = _user(cloudkeep_account, "by-alias", {
        "Effect": "Allow", "Action": "kms:Encrypt", "Resource": "*",
        "Condition": {"ForAnyValue:StringEquals": {"kms:ResourceAliases": "alias/blue"}}})
    for client in (by_tag, by_alias):
        assert _code(client.encrypt, KeyId=key, Plaintext=b"x") == "AccessDeniedException"
    kms.tag_resource(KeyId=key, Tags=[{"TagKey": "team", "TagValue": "blue"}])
    by_tag.encrypt(KeyId=key, Plaintext=b"x")
    kms.create_alias(AliasName="alias/blue", TargetKeyId=key)
    by_alias.encrypt(KeyId=key, Plaintext=b"x")
    kms.untag_resource(KeyId=key, TagKeys=["team"])
    assert _code(by_tag.encrypt, KeyId=key, Plaintext=b"x") == "AccessDeniedException"
    kms.delete_alias(AliasName="alias/blue")
    assert _code(by_alias.encrypt, KeyId=key, Plaintext=b"x") == "AccessDeniedException"


def test_an_alias_moved_to_another_key_is_followed_by_the_next_call(cloudkeep_account):
    kms = cloudkeep_account.client("kms")
    first = kms.create_key()["KeyMetadata"]["Arn"]
    second = kms.create_key()["KeyMetadata"]["Arn"]
    kms.create_alias(AliasName="alias/moving", TargetKeyId=first)
    assert kms.encrypt(KeyId="alias/moving", Plaintext=b"x")["KeyId"] == first
    kms.update_alias(AliasName="alias/moving", TargetKeyId=second)
    assert kms.encrypt(KeyId="alias/moving", Plaintext=b"x")["KeyId"] == second


def test_an_encrypt_when_rotation_is_due_rotates_first(cloudkeep_account, cloudkeep_server):
    kms = cloudkeep_account.client("kms")
    key = kms.create_key()["KeyMetadata"]["Arn"]
    kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=90)
    old = kms.encrypt(KeyId=key, Plaintext=b"old")["CiphertextBlob"]
    old_material = kms.decrypt(CiphertextBlob=old)["KeyMaterialId"]
    cloudkeep_server.advance(91 * DAY)
    new = kms.encrypt(KeyId=key, Plaintext=b"new")["CiphertextBlob"]   # the first call after it is due
    new_material = kms.decrypt(CiphertextBlob=new)["KeyMaterialId"]
    assert new_material != old_material
    rotations = kms.list_key_rotations(KeyId=key)["Rotations"]
    assert [(r["KeyMaterialId"], r["RotationType"]) for r in rotations] == [(new_material, "AUTOMATIC")]
    assert kms.decrypt(CiphertextBlob=old)["Plaintext"] == b"old"
