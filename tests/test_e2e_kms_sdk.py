"""The AWS Encryption SDK for Python as a real client of cloudkeep's KMS: envelope encryption
(GenerateDataKey on encrypt, Decrypt on decrypt) through a ``StrictAwsKmsMasterKeyProvider``
whose botocore session is pointed at the server, under the strictest commitment policy.

The SDK builds its own KMS clients from the botocore session it is given
(``boto3.session.Session(botocore_session=...).client("kms", region_name=...)``, with no
``endpoint_url``), so the endpoint comes the way botocore documents for any SDK client: the
``endpoint_url`` setting of the profile in the shared config file
(https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html). Each test writes such
a file and hands the session to the provider; the environment is left alone, except that
``AWS_ENDPOINT_URL``/``AWS_ENDPOINT_URL_KMS`` are unset during a test (they would win).

The SDK never lets a KMS error escape from decryption: the master key provider logs the
``ClientError`` (``_LOGGER.exception``) and raises its own ``DecryptKeyError``; so the tests read
KMS's answer from that log record. On encryption the ``ClientError`` is the ``GenerateKeyError``'s
cause.

SDK docs: https://aws-encryption-sdk-python.readthedocs.io/en/latest/ and
https://docs.aws.amazon.com/encryption-sdk/latest/developer-guide/python-example-code.html;
message format: https://docs.aws.amazon.com/encryption-sdk/latest/developer-guide/message-format.html
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Iterator

import aws_encryption_sdk  # the test extra's aws-encryption-sdk: a missing one is an error, not a skip
import botocore.session
import pytest
from aws_encryption_sdk import CommitmentPolicy
from aws_encryption_sdk.exceptions import DecryptKeyError, GenerateKeyError
from aws_encryption_sdk.key_providers.kms import StrictAwsKmsMasterKeyProvider
from botocore.exceptions import ClientError
from cryptography.exceptions import InvalidTag

from cloudkeep.storage.engine import Store, sqlite_url
from cloudkeep.storage.schema import audit_events
from cloudkeep.testing.audit import stored_records

SDK_LOGGER = "aws_encryption_sdk.key_providers.kms"
MESSAGE = b"The quick brown fox jumps over the lazy dog. " * 100  # several KiB, more than one frame
CONTEXT = {"purpose": "e2e-test", "tenant": "acme"}


def _policy(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _root_allows_everything(account: Any) -> dict:
    return {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{account.account_id}:root"}, "Action": "kms:*", "Resource": "*"}


@pytest.fixture
def sdk() -> Any:
    return aws_encryption_sdk.EncryptionSDKClient(commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)


@pytest.fixture
def provider_for(cloudkeep_account: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Builds a strict KMS master key provider for key ARNs, talking to cloudkeep as the account's root."""
    for var in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_KMS"):  # these would win over the config file
        monkeypatch.delenv(var, raising=False)
    config = tmp_path / "aws-config"
    config.write_text(f"[profile cloudkeep]\nregion = us-east-1\nendpoint_url = {cloudkeep_account.endpoint}\n"
                      "retry_mode = standard\nmax_attempts = 1\n")

    def make(*key_arns: str) -> StrictAwsKmsMasterKeyProvider:
        session = botocore.session.Session(profile="cloudkeep")
        session.set_config_variable("config_file", str(config))
        session.set_credentials(cloudkeep_account.access_key_id, cloudkeep_account.secret_access_key)
        return StrictAwsKmsMasterKeyProvider(key_ids=list(key_arns), botocore_session=session)
    return make


@pytest.fixture
def key_arn(cloudkeep_account: Any) -> str:
    return cloudkeep_account.client("kms").create_key(Description="encryption sdk")["KeyMetadata"]["Arn"]


@pytest.fixture
def store(cloudkeep_server: Any) -> Iterator[Store]:
    opened = Store.open(sqlite_url(cloudkeep_server.data_dir), migrate=False)
    try:
        yield opened
    finally:
        opened.close()


def _kms_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Error codes of the KMS calls the SDK logged as failed (it hides them behind DecryptKeyError)."""
    return [r.exc_info[1].response["Error"]["Code"] for r in caplog.records
            if r.name == SDK_LOGGER and r.exc_info and isinstance(r.exc_info[1], ClientError)]


def _flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1:]


# --- encrypt and decrypt ----------------------------------------------------------------------


def test_sdk_encrypts_and_decrypts_through_cloudkeep_with_its_encryption_context(sdk, provider_for, key_arn):
    provider = provider_for(key_arn)
    ciphertext, enc_header = sdk.encrypt(source=MESSAGE, key_provider=provider, encryption_context=CONTEXT,
                                         frame_length=1024)
    assert MESSAGE not in ciphertext and b"quick brown fox" not in ciphertext
    assert enc_header.algorithm.is_committing()
    # one encrypted data key, made by cloudkeep's GenerateDataKey and naming the key's ARN
    [edk] = enc_header.encrypted_data_keys
    assert edk.key_provider.provider_id == "aws-kms" and edk.key_provider.key_info == key_arn.encode()
    assert edk.encrypted_data_key in ciphertext

    # a fresh provider (no cached data key): decryption goes through cloudkeep's Decrypt
    plaintext, dec_header = sdk.decrypt(source=ciphertext, key_provider=provider_for(key_arn))
    assert plaintext == MESSAGE
    assert {k: dec_header.encryption_context[k] for k in CONTEXT} == CONTEXT
    assert dec_header.encryption_context == enc_header.encryption_context
    assert set(dec_header.encryption_context) == set(CONTEXT) | {"aws-crypto-public-key"}  # the signing suite's


def test_sdk_streams_a_message_in_frames(sdk, provider_for, key_arn):
    provider = provider_for(key_arn)
    body = bytes(range(256)) * 64  # 16 KiB, 4-KiB frames
    with sdk.stream(mode="e", source=body, key_provider=provider, encryption_context=CONTEXT,
                    frame_length=4096) as encryptor:
        ciphertext = b"".join(encryptor)
    with sdk.stream(mode="d", source=ciphertext, key_provider=provider_for(key_arn)) as decryptor:
        assert b"".join(decryptor) == body
        assert decryptor.header.encryption_context["tenant"] == "acme"


def test_sdk_message_under_two_keys_decrypts_with_either(sdk, provider_for, key_arn, cloudkeep_account):
    other = cloudkeep_account.client("kms").create_key()["KeyMetadata"]["Arn"]
    ciphertext, header = sdk.encrypt(source=MESSAGE, key_provider=provider_for(key_arn, other),
                                     encryption_context=CONTEXT)
    assert sorted(e.key_provider.key_info for e in header.encrypted_data_keys) == sorted(
        [key_arn.encode(), other.encode()])  # GenerateDataKey under the first, Encrypt under the second
    for arn in (key_arn, other):
        assert sdk.decrypt(source=ciphertext, key_provider=provider_for(arn))[0] == MESSAGE


def test_sdk_calls_are_recorded_in_cloudtrail_with_the_key_and_encryption_context(
        sdk, provider_for, key_arn, cloudkeep_server, cloudkeep_account, store):
    ciphertext, header = sdk.encrypt(source=MESSAGE, key_provider=provider_for(key_arn), encryption_context=CONTEXT)
    sdk.decrypt(source=ciphertext, key_provider=provider_for(key_arn))
    cloudkeep_server.flush()
    records = stored_records(store, audit_events.c.account_id == cloudkeep_account.account_id,
                             audit_events.c.event_source == "kms.amazonaws.com")
    events = {e["eventName"]: e for e in records if e["eventName"] in ("GenerateDataKey", "Decrypt")}
    assert set(events) == {"GenerateDataKey", "Decrypt"}
    for event in events.values():
        assert event["resources"] == [{"accountId": cloudkeep_account.account_id, "type": "AWS::KMS::Key",
                                       "ARN": key_arn}]
        assert event["requestParameters"]["encryptionContext"] == header.encryption_context
        assert "errorCode" not in event
        assert "plaintext" not in json.dumps(event.get("responseElements") or {}).lower()


# --- tampering --------------------------------------------------------------------------------


def test_sdk_refuses_a_message_whose_body_was_tampered_with(sdk, provider_for, key_arn):
    ciphertext, _ = sdk.encrypt(source=MESSAGE, key_provider=provider_for(key_arn), encryption_context=CONTEXT,
                                frame_length=4096)
    # the header (context, the encrypted data key, ...) is well under 1 KiB, so byte 2000 is inside
    # the first frame's 4096 bytes of AES-GCM content
    with pytest.raises(InvalidTag):
        sdk.decrypt(source=_flip(ciphertext, 2000), key_provider=provider_for(key_arn))
    assert sdk.decrypt(source=ciphertext, key_provider=provider_for(key_arn))[0] == MESSAGE  # the original opens


def test_kms_refuses_a_tampered_encrypted_data_key(sdk, provider_for, key_arn, caplog):
    ciphertext, header = sdk.encrypt(source=MESSAGE, key_provider=provider_for(key_arn), encryption_context=CONTEXT)
    [edk] = header.encrypted_data_keys
    at = ciphertext.index(edk.encrypted_data_key) + len(edk.encrypted_data_key) - 1  # the KMS blob's GCM tag
    caplog.set_level(logging.ERROR, logger=SDK_LOGGER)
    with pytest.raises(DecryptKeyError):
        sdk.decrypt(source=_flip(ciphertext, at), key_provider=provider_for(key_arn))
    assert _kms_errors(caplog) == ["InvalidCiphertextException"]


def test_kms_binds_the_encryption_context_rewritten_in_the_message_header(sdk, provider_for, key_arn, caplog):
    ciphertext, _ = sdk.encrypt(source=MESSAGE, key_provider=provider_for(key_arn), encryption_context=CONTEXT)
    assert ciphertext.count(b"acme") == 1
    forged = ciphertext.replace(b"acme", b"acmf")  # same length: the header still parses
    caplog.set_level(logging.ERROR, logger=SDK_LOGGER)
    with pytest.raises(DecryptKeyError):
        sdk.decrypt(source=forged, key_provider=provider_for(key_arn))
    # KMS itself refused: the context is the data key's authenticated data, not just the SDK's header's
    assert _kms_errors(caplog) == ["InvalidCiphertextException"]


# --- key policies -----------------------------------------------------------------------------


def test_key_policy_denying_decrypt_makes_sdk_decryption_fail_with_access_denied(
        sdk, provider_for, key_arn, cloudkeep_account, caplog):
    ciphertext, _ = sdk.encrypt(source=MESSAGE, key_provider=provider_for(key_arn), encryption_context=CONTEXT)
    kms = cloudkeep_account.client("kms")
    kms.put_key_policy(KeyId=key_arn, PolicyName="default", Policy=_policy(
        _root_allows_everything(cloudkeep_account),
        {"Sid": "NoDecrypt", "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt",
         "Resource": "*"}))
    caplog.set_level(logging.ERROR, logger=SDK_LOGGER)
    with pytest.raises(DecryptKeyError):
        sdk.decrypt(source=ciphertext, key_provider=provider_for(key_arn))
    assert _kms_errors(caplog) == ["AccessDeniedException"]
    # encrypting is still allowed by the same policy
    assert sdk.encrypt(source=b"x", key_provider=provider_for(key_arn), encryption_context=CONTEXT)[0]


def test_key_policy_conditions_see_the_encryption_context_the_sdk_sends(
        sdk, provider_for, key_arn, cloudkeep_account, caplog):
    kms = cloudkeep_account.client("kms")
    kms.put_key_policy(KeyId=key_arn, PolicyName="default", Policy=_policy(
        _root_allows_everything(cloudkeep_account),
        {"Sid": "OnlyAcme", "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt",
         "Resource": "*", "Condition": {"StringNotEquals": {"kms:EncryptionContext:tenant": "acme"}}}))
    acme, _ = sdk.encrypt(source=MESSAGE, key_provider=provider_for(key_arn), encryption_context=CONTEXT)
    other, _ = sdk.encrypt(source=MESSAGE, key_provider=provider_for(key_arn),
                           encryption_context={**CONTEXT, "tenant": "initech"})
    assert sdk.decrypt(source=acme, key_provider=provider_for(key_arn))[0] == MESSAGE
    caplog.set_level(logging.ERROR, logger=SDK_LOGGER)
    with pytest.raises(DecryptKeyError):
        sdk.decrypt(source=other, key_provider=provider_for(key_arn))
    assert _kms_errors(caplog) == ["AccessDeniedException"]


def test_key_policy_denying_generate_data_key_makes_sdk_encryption_fail_with_access_denied(
        sdk, provider_for, key_arn, cloudkeep_account):
    cloudkeep_account.client("kms").put_key_policy(KeyId=key_arn, PolicyName="default", Policy=_policy(
        _root_allows_everything(cloudkeep_account),
        {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "kms:GenerateDataKey", "Resource": "*"}))
    with pytest.raises(GenerateKeyError) as exc:
        sdk.encrypt(source=MESSAGE, key_provider=provider_for(key_arn), encryption_context=CONTEXT)
    cause = exc.value.__cause__
    assert isinstance(cause, ClientError) and cause.response["Error"]["Code"] == "AccessDeniedException"
    assert cause.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "kms:GenerateDataKey" in cause.response["Error"]["Message"]


def test_disabled_key_stops_sdk_decryption_until_enabled_again(sdk, provider_for, key_arn, cloudkeep_account, caplog):
    ciphertext, _ = sdk.encrypt(source=MESSAGE, key_provider=provider_for(key_arn), encryption_context=CONTEXT)
    kms = cloudkeep_account.client("kms")
    kms.disable_key(KeyId=key_arn)
    caplog.set_level(logging.ERROR, logger=SDK_LOGGER)
    with pytest.raises(DecryptKeyError):
        sdk.decrypt(source=ciphertext, key_provider=provider_for(key_arn))
    assert _kms_errors(caplog) == ["DisabledException"]
    kms.enable_key(KeyId=key_arn)
    assert sdk.decrypt(source=ciphertext, key_provider=provider_for(key_arn))[0] == MESSAGE


def test_rotated_key_still_decrypts_older_sdk_messages(sdk, provider_for, key_arn, cloudkeep_account):
    before, _ = sdk.encrypt(source=MESSAGE, key_provider=provider_for(key_arn), encryption_context=CONTEXT)
    cloudkeep_account.client("kms").rotate_key_on_demand(KeyId=key_arn)
    after, _ = sdk.encrypt(source=MESSAGE, key_provider=provider_for(key_arn), encryption_context=CONTEXT)
    for message in (before, after):
        assert sdk.decrypt(source=message, key_provider=provider_for(key_arn))[0] == MESSAGE
