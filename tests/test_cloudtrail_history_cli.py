"""``cloudkeep trail lookup`` against the real server: credentials from the data dir or the
environment, every kind of filter, paging past one LookupEvents page, table and JSON output,
and one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any, Iterator

import pytest

from cloudkeep import cli
from cloudkeep.testing.server import Account, CloudkeepServer


@pytest.fixture(scope="module")
def ck(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudkeepServer]:
    with CloudkeepServer(data_dir=tmp_path_factory.mktemp("trail-cli") / "data") as server:
        yield server


def _env(account: Account | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"})
    if account is not None:
        env.update({"AWS_ACCESS_KEY_ID": account.access_key_id, "AWS_SECRET_ACCESS_KEY": account.secret_access_key,
                    "AWS_ENDPOINT_URL": account.endpoint})
    return env


def _lookup(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cloudkeep", "trail", "lookup", *args], env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.fixture
def lookup_here(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Any:
    """``_lookup`` run in this process (``cli.main`` under the given environment's AWS_
    variables): the many lookups of one test without a Python start each."""
    def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
        with monkeypatch.context() as patch:
            for name in [k for k in os.environ if k.startswith("AWS_")]:
                patch.delenv(name)
            for name, value in env.items():
                if name.startswith("AWS_"):
                    patch.setenv(name, value)
            code = cli.main(["trail", "lookup", *args])
        out = capsys.readouterr()
        return subprocess.CompletedProcess(list(args), code, out.out, out.err)
    return run


def test_root_credentials_from_the_data_dir_and_json_output(ck):
    ck.root.client("iam").create_user(UserName="cli-from-data-dir")
    out = _lookup("--endpoint-url", ck.endpoint, "--data-dir", str(ck.data_dir),
                  "--resource-name", "cli-from-data-dir", "--output", "json", env=_env())
    assert out.returncode == 0, out.stderr
    events = json.loads(out.stdout)["Events"]
    assert [(e["EventName"], e["Username"]) for e in events] == [("CreateUser", "root")]
    assert events[0]["Resources"] == [{"ResourceType": "AWS::IAM::User", "ResourceName": "cli-from-data-dir"}]
    assert events[0]["EventTime"].endswith("Z")
    assert json.loads(events[0]["CloudTrailEvent"])["recipientAccountId"] == ck.root.account_id


def test_environment_credentials_each_filter_and_table_output(ck, lookup_here):
    acct = ck.create_account()
    iam = acct.client("iam")
    iam.create_user(UserName="table-user")
    key = acct.client("kms").create_key()["KeyMetadata"]["Arn"]
    env = _env(acct)
    table = _lookup("--event-name", "CreateUser", env=env)
    assert table.returncode == 0, table.stderr
    assert "CreateUser" in table.stdout and "AWS::IAM::User: table-user" in table.stdout
    assert "Event history (1 events" in table.stdout

    def names(*args: str) -> list[str]:
        out = lookup_here(*args, "--output", "json", env=env)
        assert out.returncode == 0, out.stderr
        return [e["EventName"] for e in json.loads(out.stdout)["Events"]]

    assert names("--event-source", "kms.amazonaws.com") == ["CreateKey"]
    assert names("--resource-type", "AWS::KMS::Key") == ["CreateKey"]
    assert names("--resource-name", key) == ["CreateKey"]
    # the lookups themselves are read-only events of the same caller
    assert [n for n in names("--username", "root") if n != "LookupEvents"] == ["CreateKey", "CreateUser"]
    ck.flush()           # the lookups above are read events: in the history once the recorder writes them
    assert "LookupEvents" in names("--access-key-id", acct.access_key_id, "--max-items", "200")
    assert [n for n in names("--access-key-id", acct.access_key_id) if n != "LookupEvents"] == [
        "CreateKey", "CreateUser"]
    assert names("--read-only", "false") == ["CreateKey", "CreateUser"]
    assert names("--region", "eu-west-1") == []
    out = lookup_here("--event-name", "CreateKey", "--output", "json", env=env)
    event_id = json.loads(out.stdout)["Events"][0]["EventId"]
    assert names("--event-id", event_id) == ["CreateKey"]
    assert len(names("--max-items", "1")) == 1


def test_max_items_pages_past_one_lookup_page(ck, lookup_here):
    acct = ck.create_account()
    iam = acct.client("iam")
    for _ in range(55):
        iam.list_users()
    ck.flush()
    out = lookup_here("--event-name", "ListUsers", "--max-items", "100", "--output", "json", env=_env(acct))
    assert out.returncode == 0, out.stderr
    events = json.loads(out.stdout)["Events"]
    assert len(events) == 55 and len({e["EventId"] for e in events}) == 55
    out = lookup_here("--event-name", "ListUsers", "--max-items", "52", "--output", "json", env=_env(acct))
    assert len(json.loads(out.stdout)["Events"]) == 52


def test_errors_are_one_line(ck, tmp_path):
    acct = ck.create_account()
    two = _lookup("--event-name", "CreateUser", "--username", "root", env=_env(acct))
    assert two.returncode == 2 and "not allowed with argument" in two.stderr
    bad_range = _lookup("--start-time", "2026-11-30T10:00:00Z", "--end-time", "2026-11-30T09:00:00Z", env=_env(acct))
    assert bad_range.returncode == 1
    assert bad_range.stderr.startswith("cloudkeep: InvalidTimeRangeException:") and bad_range.stderr.count("\n") == 1
    bad_time = _lookup("--start-time", "yesterday", env=_env(acct))
    assert bad_time.returncode == 2 and "not an ISO 8601 time" in bad_time.stderr
    nowhere = _lookup("--endpoint-url", "http://127.0.0.1:9", "--data-dir", str(ck.data_dir), env=_env())
    assert nowhere.returncode == 1 and "cannot reach the server" in nowhere.stderr
    assert "Traceback" not in nowhere.stderr
    no_creds = _lookup("--endpoint-url", ck.endpoint, "--data-dir", str(tmp_path / "empty"), env=_env())
    assert no_creds.returncode == 2 and "no credentials" in no_creds.stderr


def test_a_caller_without_permission_is_denied(ck):
    acct = ck.create_account()
    iam = acct.client("iam")
    iam.create_user(UserName="no-trail")
    key = iam.create_access_key(UserName="no-trail")["AccessKey"]
    user = Account(account_id=acct.account_id, access_key_id=key["AccessKeyId"],
                   secret_access_key=key["SecretAccessKey"], endpoint=acct.endpoint)
    out = _lookup(env=_env(user))
    assert out.returncode == 1
    assert out.stderr.startswith("cloudkeep: AccessDeniedException:") and "cloudtrail:LookupEvents" in out.stderr
