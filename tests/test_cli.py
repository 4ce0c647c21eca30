"""The ``cloudkeep`` command as a person runs it: first start, restart, extra accounts,
credentials printed instead of written, reset; and a few AWS CLI smoke tests."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from cloudkeep.testing.server import CloudkeepServer, client_for


def test_first_start_writes_private_credentials_and_master_key_and_restart_keeps_the_account(tmp_path):
    data = tmp_path / "data"
    with CloudkeepServer(data_dir=data, test_hooks=False) as first:
        creds_file = data / "root-credentials.json"
        assert stat.S_IMODE(creds_file.stat().st_mode) == 0o600
        assert stat.S_IMODE((data / "master.key").stat().st_mode) == 0o600
        account = first.root
        out = first.read_output()
        assert f"export AWS_ACCESS_KEY_ID={account.access_key_id}" in out
        assert "export AWS_DEFAULT_REGION=us-east-1" in out and "[profile cloudkeep]" in out
        account.client("iam").create_user(UserName="survivor")
    with CloudkeepServer(data_dir=data, test_hooks=False) as second:
        assert second.root.account_id == account.account_id
        assert f"serving account {account.account_id}" in second.read_output()
        users = second.root.client("iam").list_users()["Users"]
        assert [u["UserName"] for u in users] == ["survivor"]


def test_secret_keys_are_not_stored_in_plain_text(tmp_path):
    data = tmp_path / "data"
    with CloudkeepServer(data_dir=data, test_hooks=False) as srv:
        iam = srv.root.client("iam")
        iam.create_user(UserName="u")
        secret = iam.create_access_key(UserName="u")["AccessKey"]["SecretAccessKey"]
    blob = b"".join(p.read_bytes() for p in data.iterdir() if p.name.startswith("cloudkeep.db"))
    assert secret.encode() not in blob and srv.root.secret_access_key.encode() not in blob


def test_no_credentials_file_prints_them_once(tmp_path):
    data = tmp_path / "data"
    with CloudkeepServer(data_dir=data, test_hooks=False, extra_args=["--no-credentials-file"]) as srv:
        assert not (data / "root-credentials.json").exists()
        out = srv.read_output()
        key = re.search(r"export AWS_ACCESS_KEY_ID=(\S+)", out).group(1)
        secret = re.search(r"export AWS_SECRET_ACCESS_KEY=(\S+)", out).group(1)
        assert client_for(srv.endpoint, "sts", key, secret).get_caller_identity()["Arn"].endswith(":root")
    with CloudkeepServer(data_dir=data, test_hooks=False, extra_args=["--no-credentials-file"]) as again:
        assert secret not in again.read_output()


def test_account_create_makes_another_tenant(tmp_path):
    data = tmp_path / "data"
    with CloudkeepServer(data_dir=data, test_hooks=False) as srv:
        out = subprocess.run([sys.executable, "-m", "cloudkeep", "account", "create", "--data-dir", str(data),
                              "--email", "second@example.com"], capture_output=True, text=True, check=True)
        other = json.loads(out.stdout)
        assert other["Email"] == "second@example.com" and other["AccountId"] != srv.root.account_id
        ident = client_for(srv.endpoint, "sts", other["AccessKeyId"], other["SecretAccessKey"]).get_caller_identity()
        assert ident["Account"] == other["AccountId"]


def test_reset_with_yes_wipes_the_data_dir(tmp_path):
    data = tmp_path / "data"
    with CloudkeepServer(data_dir=data, test_hooks=False) as srv:
        first = srv.root.account_id
    with CloudkeepServer(data_dir=data, test_hooks=False, extra_args=["--reset", "--yes"]) as srv:
        assert srv.root.account_id != first


def test_reset_without_a_terminal_or_yes_refuses_and_keeps_state(tmp_path):
    data = tmp_path / "data"
    with CloudkeepServer(data_dir=data, test_hooks=False):
        pass
    before = (data / "root-credentials.json").read_text()
    proc = subprocess.run([sys.executable, "-m", "cloudkeep", "serve", "--data-dir", str(data), "--reset"],
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)
    assert proc.returncode == 1 and "--yes" in proc.stderr
    assert (data / "root-credentials.json").read_text() == before


def test_clock_advance_moves_the_domain_clock_but_not_signing(cloudkeep_server, cloudkeep_account):
    iam = cloudkeep_account.client("iam")
    before = iam.create_user(UserName="early")["User"]["CreateDate"]
    cloudkeep_server.advance(86400 * 3)
    after = iam.create_user(UserName="late")["User"]["CreateDate"]   # signed with wall time: accepted
    assert (after - before).total_seconds() >= 86400 * 3


AWS = shutil.which("aws", path=str(Path(sys.executable).parent)) or shutil.which("aws")


@pytest.mark.skipif(AWS is None, reason="the AWS CLI is installed with the test extras")
def test_aws_cli_smoke(cloudkeep_server, cloudkeep_account):
    env = {**os.environ, **cloudkeep_account.env, "AWS_CONFIG_FILE": "/dev/null",
           "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}
    def aws(*args: str) -> dict:
        out = subprocess.run([AWS, *args, "--output", "json"], env=env, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout) if out.stdout.strip() else {}
    assert aws("sts", "get-caller-identity")["Arn"] == f"arn:aws:iam::{cloudkeep_account.account_id}:root"
    aws("iam", "create-user", "--user-name", "alice")
    key = aws("iam", "create-access-key", "--user-name", "alice")["AccessKey"]
    env.update(AWS_ACCESS_KEY_ID=key["AccessKeyId"], AWS_SECRET_ACCESS_KEY=key["SecretAccessKey"])
    assert aws("sts", "get-caller-identity")["Arn"] == f"arn:aws:iam::{cloudkeep_account.account_id}:user/alice"
    bad = subprocess.run([AWS, "iam", "create-user", "--user-name", "bob"], env=env, capture_output=True, text=True,
                         timeout=60)
    assert bad.returncode != 0 and "AccessDenied" in bad.stderr


def test_a_committed_change_survives_a_killed_server(tmp_path):
    import signal as _signal
    data = tmp_path / "data"
    srv = CloudkeepServer(data_dir=data, test_hooks=False).start()
    try:
        srv.root.client("iam").create_user(UserName="durable")
    finally:
        srv.stop(sig=_signal.SIGKILL)
    with CloudkeepServer(data_dir=data, test_hooks=False) as again:
        assert again.root.client("iam").get_user(UserName="durable")["User"]["UserName"] == "durable"


def test_durability_full_and_workers_two_serve_requests(tmp_path):
    with CloudkeepServer(data_dir=tmp_path / "data", test_hooks=False, workers=2,
                         extra_args=["--durability", "full"]) as srv:
        iam = srv.root.client("iam")
        for i in range(6):
            iam.create_user(UserName=f"w{i}")
        assert len(iam.list_users()["Users"]) == 6
