"""AWS CLI smoke test of cloudkeep's S3, run as a person would: the real ``aws s3`` commands with
the account's credentials and endpoint in the environment (no config files) — make a bucket,
copy files up (one large enough for a multipart upload) and down, sync a directory both ways,
list, remove.

AWS pages: https://docs.aws.amazon.com/cli/latest/reference/s3/cp.html,
https://docs.aws.amazon.com/cli/latest/reference/s3/sync.html,
https://docs.aws.amazon.com/cli/latest/reference/s3/ls.html
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

AWS = shutil.which("aws", path=str(Path(sys.executable).parent)) or shutil.which("aws")


def _cli(account):
    env = {**os.environ, **account.env, "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
           "AWS_PAGER": "", "AWS_MAX_ATTEMPTS": "1"}
    for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3"):
        env.pop(var, None)

    def run(*args: str) -> str:
        out = subprocess.run([AWS, *args], env=env, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        return out.stdout
    return run


def test_aws_s3_mb_cp_sync_ls_rm(cloudkeep_account, tmp_path):
    assert AWS is not None, "the AWS CLI is missing: it comes with the test extra"
    aws = _cli(cloudkeep_account)
    bucket = f"cli-{uuid.uuid4().hex[:16]}"
    aws("s3", "mb", f"s3://{bucket}")
    assert bucket in aws("s3", "ls")
    small, large = tmp_path / "small.txt", tmp_path / "large.bin"
    small.write_text("hello from the cli\n")
    large.write_bytes(os.urandom(12 * 1024 * 1024 + 5))           # above the CLI's 8 MiB multipart threshold
    aws("s3", "cp", str(small), f"s3://{bucket}/docs/small.txt")
    aws("s3", "cp", str(large), f"s3://{bucket}/data/large.bin")
    down = tmp_path / "down"
    down.mkdir()
    aws("s3", "cp", f"s3://{bucket}/docs/small.txt", str(down / "small.txt"))
    aws("s3", "cp", f"s3://{bucket}/data/large.bin", str(down / "large.bin"))
    assert (down / "small.txt").read_text() == "hello from the cli\n"
    assert (down / "large.bin").read_bytes() == large.read_bytes()
    head = cloudkeep_account.client("s3").head_object(Bucket=bucket, Key="data/large.bin")
    assert head["ETag"].endswith('-2"') and head["ServerSideEncryption"] == "AES256"

    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "a.txt").write_text("a")
    (tree / "sub" / "b.txt").write_text("b")
    aws("s3", "sync", str(tree), f"s3://{bucket}/tree")
    listing = aws("s3", "ls", f"s3://{bucket}/tree/", "--recursive")
    assert "tree/a.txt" in listing and "tree/sub/b.txt" in listing
    top = aws("s3", "ls", f"s3://{bucket}/")
    assert "PRE docs/" in top and "PRE data/" in top and "PRE tree/" in top
    back = tmp_path / "back"
    aws("s3", "sync", f"s3://{bucket}/tree", str(back))
    assert (back / "a.txt").read_text() == "a" and (back / "sub" / "b.txt").read_text() == "b"
    assert aws("s3", "sync", str(tree), f"s3://{bucket}/tree").strip() == ""     # nothing changed

    aws("s3", "rm", f"s3://{bucket}", "--recursive")
    aws("s3", "rb", f"s3://{bucket}")
    assert bucket not in aws("s3", "ls")


@pytest.mark.skipif(AWS is None, reason="the AWS CLI is installed with the test extras")
def test_aws_s3api_reports_s3_errors(cloudkeep_account):
    env = {**os.environ, **cloudkeep_account.env, "AWS_CONFIG_FILE": "/dev/null",
           "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_PAGER": "", "AWS_MAX_ATTEMPTS": "1"}
    out = subprocess.run([AWS, "s3api", "get-object", "--bucket", f"none-{uuid.uuid4().hex[:12]}", "--key", "k",
                          "/dev/null"], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode != 0 and "NoSuchBucket" in out.stderr
