"""AWS CLI smoke tests of cloudkeep's KMS, run as a person would: the real ``aws`` command with the
account's credentials and endpoint in its environment (no config files), plaintext from files
(``fileb://``), encryption context in the CLI's shorthand, blobs back as base64.

AWS pages: https://docs.aws.amazon.com/cli/latest/reference/kms/encrypt.html (``fileb://`` and
base64 output), https://docs.aws.amazon.com/cli/latest/reference/kms/decrypt.html,
https://docs.aws.amazon.com/cli/latest/reference/kms/schedule-key-deletion.html
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

AWS = shutil.which("aws", path=str(Path(sys.executable).parent)) or shutil.which("aws")


class Cli:
    """The ``aws`` command bound to one account's credentials and cloudkeep's endpoint."""

    def __init__(self, account: Any) -> None:
        self.env = {**os.environ, **account.env, "AWS_CONFIG_FILE": "/dev/null",
                    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_PAGER": "", "AWS_MAX_ATTEMPTS": "1"}
        for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_KMS"):
            self.env.pop(var, None)

    def run(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([AWS, *args, "--output", "json"], env=self.env, capture_output=True, text=True,
                              timeout=60)

    def __call__(self, *args: str) -> dict:
        out = self.run(*args)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout) if out.stdout.strip() else {}

    def fails(self, *args: str) -> str:
        out = self.run(*args)
        assert out.returncode != 0, out.stdout
        return out.stderr


@pytest.fixture
def aws(cloudkeep_account: Any) -> Cli:
    assert AWS is not None, "the AWS CLI is missing: it comes with the test extra (scripts/_venv test)"
    return Cli(cloudkeep_account)


def test_cli_encrypts_a_file_with_context_and_decrypts_it_back(aws, cloudkeep_account, tmp_path):
    key = aws("kms", "create-key", "--description", "cli key", "--tags", "TagKey=team,TagValue=blue")["KeyMetadata"]
    assert key["Arn"] == f"arn:aws:kms:us-east-1:{cloudkeep_account.account_id}:key/{key['KeyId']}"
    assert (key["KeyState"], key["KeySpec"], key["Description"]) == ("Enabled", "SYMMETRIC_DEFAULT", "cli key")
    aws("kms", "create-alias", "--alias-name", "alias/cli", "--target-key-id", key["KeyId"])
    secret = os.urandom(700) + b"\x00\xff binary, not text"
    (tmp_path / "plain.bin").write_bytes(secret)

    enc = aws("kms", "encrypt", "--key-id", "alias/cli", "--plaintext", f"fileb://{tmp_path / 'plain.bin'}",
              "--encryption-context", "purpose=cli-test,team=blue")
    assert enc["KeyId"] == key["Arn"] and enc["EncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    blob = base64.b64decode(enc["CiphertextBlob"], validate=True)
    assert secret not in blob
    (tmp_path / "blob.bin").write_bytes(blob)

    dec = aws("kms", "decrypt", "--ciphertext-blob", f"fileb://{tmp_path / 'blob.bin'}",
              "--encryption-context", "team=blue,purpose=cli-test")  # order does not matter
    assert base64.b64decode(dec["Plaintext"], validate=True) == secret
    assert dec["KeyId"] == key["Arn"]

    # --query/--output text, the documented way to get the raw bytes back
    out = aws.run("kms", "decrypt", "--ciphertext-blob", f"fileb://{tmp_path / 'blob.bin'}",
                  "--encryption-context", "purpose=cli-test,team=blue", "--query", "Plaintext", "--output", "text")
    assert out.returncode == 0, out.stderr
    assert base64.b64decode(out.stdout.strip()) == secret

    wrong = aws.fails("kms", "decrypt", "--ciphertext-blob", f"fileb://{tmp_path / 'blob.bin'}",
                      "--encryption-context", "purpose=other,team=blue")
    assert "InvalidCiphertextException" in wrong and "Decrypt operation" in wrong


def test_cli_generate_data_key_and_random(aws, tmp_path):
    key_id = aws("kms", "create-key")["KeyMetadata"]["KeyId"]
    data_key = aws("kms", "generate-data-key", "--key-id", key_id, "--key-spec", "AES_256",
                   "--encryption-context", "app=cli")
    plaintext = base64.b64decode(data_key["Plaintext"])
    assert len(plaintext) == 32
    (tmp_path / "dk.bin").write_bytes(base64.b64decode(data_key["CiphertextBlob"]))
    back = aws("kms", "decrypt", "--ciphertext-blob", f"fileb://{tmp_path / 'dk.bin'}", "--encryption-context", "app=cli")
    assert base64.b64decode(back["Plaintext"]) == plaintext
    assert len(base64.b64decode(aws("kms", "generate-random", "--number-of-bytes", "48")["Plaintext"])) == 48


def test_cli_schedules_key_deletion_and_the_key_refuses_use(aws, tmp_path):
    key_id = aws("kms", "create-key")["KeyMetadata"]["KeyId"]
    scheduled = aws("kms", "schedule-key-deletion", "--key-id", key_id, "--pending-window-in-days", "7")
    assert scheduled["KeyState"] == "PendingDeletion" and scheduled["PendingWindowInDays"] == 7
    assert scheduled["KeyId"].endswith(f":key/{key_id}") and scheduled["DeletionDate"]
    described = aws("kms", "describe-key", "--key-id", key_id)["KeyMetadata"]
    assert described["KeyState"] == "PendingDeletion" and described["Enabled"] is False
    (tmp_path / "p.txt").write_bytes(b"hello")
    err = aws.fails("kms", "encrypt", "--key-id", key_id, "--plaintext", f"fileb://{tmp_path / 'p.txt'}")
    assert "KMSInvalidStateException" in err and "pending deletion" in err
    assert aws("kms", "cancel-key-deletion", "--key-id", key_id)["KeyId"].endswith(key_id)
    assert aws("kms", "describe-key", "--key-id", key_id)["KeyMetadata"]["KeyState"] == "Disabled"
    too_short = aws.fails("kms", "schedule-key-deletion", "--key-id", key_id, "--pending-window-in-days", "6")
    assert "ValidationException" in too_short


def test_cli_decrypt_denied_by_the_key_policy_prints_access_denied(aws, cloudkeep_account, tmp_path):
    root = f"arn:aws:iam::{cloudkeep_account.account_id}:root"
    key = aws("kms", "create-key")["KeyMetadata"]
    (tmp_path / "p.txt").write_bytes(b"top secret")
    (tmp_path / "blob.bin").write_bytes(base64.b64decode(aws(
        "kms", "encrypt", "--key-id", key["KeyId"], "--plaintext", f"fileb://{tmp_path / 'p.txt'}")["CiphertextBlob"]))
    (tmp_path / "policy.json").write_text(json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": root}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt", "Resource": "*"}]}))
    aws("kms", "put-key-policy", "--key-id", key["KeyId"], "--policy-name", "default",
        "--policy", f"file://{tmp_path / 'policy.json'}")

    err = aws.fails("kms", "decrypt", "--ciphertext-blob", f"fileb://{tmp_path / 'blob.bin'}")
    assert "AccessDeniedException" in err and "when calling the Decrypt operation" in err
    assert root in err and "kms:Decrypt" in err and key["Arn"] in err
    # the same key still encrypts: only Decrypt is denied
    aws("kms", "encrypt", "--key-id", key["KeyId"], "--plaintext", f"fileb://{tmp_path / 'p.txt'}")
