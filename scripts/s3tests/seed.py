#!/usr/bin/env python3
"""Seeds a server for Ceph's S3 compatibility suite (s3-tests) and writes its S3TEST_CONF file.

    .venv/bin/python scripts/s3tests/seed.py --endpoint http://127.0.0.1:4566 --conf /tmp/s3tests.conf

The suite reads these sections (s3tests/functional/__init__.py: ``configure()``):

- ``[DEFAULT]`` host, port, is_secure, ssl_verify; ``[fixtures]`` bucket prefix, IAM name and
  path prefixes;
- ``[s3 main]`` and ``[s3 alt]``: two S3 users *in two different accounts*, as on AWS. Each is an
  IAM user made through the IAM API of its account, with an access key from CreateAccessKey, the
  managed policy AmazonS3FullAccess and an inline policy allowing the KMS calls SSE-KMS needs.
  ``user_id`` is the account's canonical user id (what ACL grants and Owner.ID name), read from
  ListBuckets' ``Owner.ID``; ``display_name`` from ``Owner.DisplayName`` (else the account's
  email); ``email`` is the account's root email (ACL grants by ``emailAddress`` name it).
  ``[s3 main]`` also gets ``kms_keyid``/``kms_keyid2``: the ARNs of two KMS keys of the main account.
- ``[s3 tenant]``: a third account's S3 user. Tenants are Ceph RGW's, not AWS's: the runner leaves
  the tenant tests out (``-k "not tenant"``), but the suite's per-test fixture lists buckets with
  these credentials, so they must work.
- ``[iam]``: an IAM user of the main account with AdministratorAccess;
- ``[iam root]`` and ``[iam alt root]``: the root credentials of the main and alt accounts.

Accounts come from the server: on cloudkeep, the test hook ``POST /_cloudkeep/test/accounts``
(the server must run with ``--test-hooks``); on moto's server (a check of this harness only), by
``sts:AssumeRole`` into a role ARN of a fresh account id, which moto treats as switching account.

When the server does not answer ListBuckets (cloudkeep before its S3 lands: 501 NotImplemented)
the canonical ids are unknown: the conf then carries ``TODO-…`` placeholders with a comment, and
the result lists the TODO; seed again once ListBuckets works.

Must not: send traffic anywhere but the endpoint it is given; write secrets anywhere but the conf
file (mode 0600); print secrets.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import ssl
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence
from urllib.parse import urlsplit

REGION = "us-east-1"
S3_POLICY = "arn:aws:iam::aws:policy/AmazonS3FullAccess"
ADMIN_POLICY = "arn:aws:iam::aws:policy/AdministratorAccess"
KMS_FOR_SSE = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "SseKms", "Effect": "Allow",
                   "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*",
                              "kms:DescribeKey"],
                   "Resource": "*"}],
}
TODO_PREFIX = "TODO-canonical-id-of-account-"


class SeedError(RuntimeError):
    """What went wrong and what to do, in one line."""


@dataclass
class Keys:
    access_key: str
    secret_key: str = field(repr=False)


@dataclass
class AccountSeed:
    """One account: its root credentials and email, its canonical id once the server shows it."""

    role: str                     # main | alt | tenant
    account_id: str
    email: str
    root: Keys
    canonical_id: str | None = None
    display_name: str | None = None


@dataclass
class UserSeed:
    name: str
    user_id: str                  # IAM UserId (AIDA…)
    arn: str
    keys: Keys


@dataclass
class SeedResult:
    endpoint: str
    kind: str                     # cloudkeep | moto
    accounts: dict[str, AccountSeed]
    users: dict[str, UserSeed]
    kms_keys: list[str]
    todos: list[str]

    def public(self) -> dict[str, Any]:
        """Everything but secrets (for seed.json and the summary)."""
        def strip(d: dict) -> dict:
            return {k: ({"access_key": v["access_key"]} if k in ("root", "keys") else v) for k, v in d.items()}
        return {"endpoint": self.endpoint, "kind": self.kind,
                "accounts": {k: strip(asdict(v)) for k, v in self.accounts.items()},
                "users": {k: strip(asdict(v)) for k, v in self.users.items()},
                "kms_keys": self.kms_keys, "todos": self.todos}


# --- talking to the server ---------------------------------------------------------------------


def _client(endpoint: str, service: str, keys: Keys, token: str | None = None) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(service, endpoint_url=endpoint, region_name=REGION, aws_access_key_id=keys.access_key,
                        aws_secret_access_key=keys.secret_key, aws_session_token=token, verify=False,
                        config=Config(retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=5,
                                      read_timeout=60, signature_version="s3v4"))


def _context(url: str) -> ssl.SSLContext | None:
    """An HTTPS endpoint of a test server has a local CA's certificate: not verified, as the
    seeded configuration does not verify it either (ssl_verify = False)."""
    return ssl._create_unverified_context() if url.startswith("https:") else None  # noqa: S323


def _get(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=5, context=_context(url)) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return None


def detect(endpoint: str) -> str:
    """``cloudkeep`` or ``moto``, from the endpoints only each of them serves."""
    base = endpoint.rstrip("/")
    if _get(base + "/_cloudkeep/health") == 200:
        return "cloudkeep"
    if _get(base + "/moto-api/") == 200:
        return "moto"
    raise SeedError(f"{endpoint} is neither a cloudkeep server (/_cloudkeep/health) nor moto's (/moto-api/): "
                    "check the URL and that the server is up")


def _cloudkeep_account(endpoint: str, role: str) -> AccountSeed:
    req = urllib.request.Request(endpoint.rstrip("/") + "/_cloudkeep/test/accounts", data=b"{}", method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30, context=_context(req.full_url)) as r:
            data = json.loads(r.read())
    except urllib.error.HTTPError as e:
        if e.code in (404, 405):
            raise SeedError(f"{endpoint} has no test hooks: start it with `cloudkeep serve --test-hooks` "
                            "so the seed can create accounts") from None
        raise SeedError(f"creating the {role} account failed: HTTP {e.code} {e.read()[:200]!r}") from None
    return AccountSeed(role, data["AccountId"], data.get("Email", ""),
                       Keys(data["AccessKeyId"], data["SecretAccessKey"]))


def _moto_account(endpoint: str, role: str) -> AccountSeed:
    # moto checks no signature; assuming a role in another account id switches to that account
    account_id = f"{secrets.randbelow(9 * 10**11) + 10**11}"
    sts = _client(endpoint, "sts", Keys("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"))
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/s3tests-root",
                            RoleSessionName=f"s3tests-{role}")["Credentials"]
    return AccountSeed(role, account_id, f"s3tests-{role}-{account_id}@example.com",
                       Keys(creds["AccessKeyId"], creds["SecretAccessKey"]))


def _user(endpoint: str, account: AccountSeed, name: str, managed: list[str], inline: dict | None) -> UserSeed:
    iam = _client(endpoint, "iam", account.root)
    user = iam.create_user(UserName=name, Path="/s3tests/")["User"]
    for arn in managed:
        iam.attach_user_policy(UserName=name, PolicyArn=arn)
    if inline is not None:
        iam.put_user_policy(UserName=name, PolicyName="s3tests", PolicyDocument=json.dumps(inline))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    seeded = UserSeed(name, user["UserId"], user["Arn"], Keys(key["AccessKeyId"], key["SecretAccessKey"]))
    who = _client(endpoint, "sts", seeded.keys).get_caller_identity()
    if who["Account"] != account.account_id:
        raise SeedError(f"{name}'s new key answers as account {who['Account']}, not {account.account_id}")
    return seeded


def _owner(endpoint: str, keys: Keys) -> tuple[str | None, str | None, str]:
    """(canonical id, display name, why not) from ListBuckets' Owner."""
    from botocore.exceptions import ClientError

    try:
        owner = _client(endpoint, "s3", keys).list_buckets().get("Owner") or {}
    except ClientError as e:
        err = e.response.get("Error", {})
        status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return None, None, f"ListBuckets answered {status} {err.get('Code')}"
    if not owner.get("ID"):
        return None, owner.get("DisplayName"), "ListBuckets answered no Owner.ID"
    return owner["ID"], owner.get("DisplayName"), ""


# --- seeding -------------------------------------------------------------------------------------


def seed(endpoint: str, kind: str | None = None) -> SeedResult:
    """Creates the accounts, users, keys and KMS keys; a refused call becomes a one-line SeedError."""
    from botocore.exceptions import BotoCoreError, ClientError

    kind = kind or detect(endpoint)
    try:
        return _seed(endpoint, kind)
    except ClientError as e:
        err = e.response.get("Error", {})
        raise SeedError(f"seeding {endpoint} failed: {e.operation_name} answered {err.get('Code')}: "
                        f"{err.get('Message')}") from None
    except BotoCoreError as e:
        raise SeedError(f"seeding {endpoint} failed: {e}") from None


def _seed(endpoint: str, kind: str) -> SeedResult:
    make_account = _cloudkeep_account if kind == "cloudkeep" else _moto_account
    tag = secrets.token_hex(3)
    accounts = {role: make_account(endpoint, role) for role in ("main", "alt", "tenant")}
    if len({a.account_id for a in accounts.values()}) != 3:
        raise SeedError("the server gave two roles the same account")
    s3_user, admin = ([S3_POLICY], KMS_FOR_SSE), ([ADMIN_POLICY], None)
    if kind == "moto":  # moto loads no AWS managed policies (and enforces none): inline equivalents
        s3_user = ([], {**KMS_FOR_SSE, "Statement": [*KMS_FOR_SSE["Statement"],
                                                     {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})
        admin = ([], {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
    users = {role: _user(endpoint, accounts[role], f"s3tests-{role}-{tag}", *s3_user)
             for role in ("main", "alt", "tenant")}
    users["iam"] = _user(endpoint, accounts["main"], f"s3tests-iam-{tag}", *admin)
    kms = _client(endpoint, "kms", accounts["main"].root)
    kms_keys = [kms.create_key(Description=f"s3-tests key {i}")["KeyMetadata"]["Arn"] for i in (1, 2)]
    todos: list[str] = []
    for role, account in accounts.items():
        account.canonical_id, account.display_name, why = _owner(endpoint, users[role].keys)
        if account.canonical_id is None:
            todos.append(f"[s3 {role}] user_id: canonical user id of account {account.account_id} unknown ({why})")
    ids = [a.canonical_id for a in accounts.values() if a.canonical_id]
    if len(ids) != len(set(ids)):
        todos.append("accounts share one canonical user id (the server does not tell accounts apart in ACLs): "
                     "cross-account ACL tests cannot mean what they do on AWS")
    return SeedResult(endpoint, kind, accounts, users, kms_keys, todos)


def _user_id(account: AccountSeed) -> str:
    return account.canonical_id or f"{TODO_PREFIX}{account.account_id}"


def render_conf(result: SeedResult, bucket_prefix: str = "s3tests-{random}-") -> str:
    parts = urlsplit(result.endpoint)
    secure = parts.scheme == "https"
    port = parts.port or (443 if secure else 80)
    lines = [f"# S3TEST_CONF written by scripts/s3tests/seed.py for {result.endpoint} ({result.kind})",
             "# accounts: " + ", ".join(f"{r} {a.account_id}" for r, a in result.accounts.items())]
    if result.todos:
        lines += ["#", "# TODO:", *[f"#   {t}" for t in result.todos]]
    if any(a.canonical_id is None for a in result.accounts.values()):
        lines += [f"# user_id values starting {TODO_PREFIX} are placeholders (the server did not show",
                  "# the canonical id in ListBuckets' Owner.ID): tests that grant or compare by canonical id",
                  "# cannot pass; run the seed again once ListBuckets answers."]
    lines += ["", "[DEFAULT]", f"host = {parts.hostname}", f"port = {port}", f"is_secure = {secure}",
              "ssl_verify = False", "",
              "[fixtures]", f"bucket prefix = {bucket_prefix}", "iam name prefix = s3-tests-",
              "iam path prefix = /s3-tests/", ""]

    def section(name: str, keys: Keys, user_id: str, display: str, email: str, extra: Sequence[str] = ()) -> None:
        lines.extend([f"[{name}]", f"display_name = {display}", f"user_id = {user_id}", f"email = {email}",
                      f"access_key = {keys.access_key}", f"secret_key = {keys.secret_key}", *extra, ""])

    acc, usr = result.accounts, result.users
    for role in ("main", "alt", "tenant"):
        a = acc[role]
        extra = []
        if role == "main":
            # empty api_name: test_bucket_get_location skips instead of asking for a region's bucket
            extra = [f"kms_keyid = {result.kms_keys[0]}", f"kms_keyid2 = {result.kms_keys[1]}", "api_name ="]
        if role == "tenant":
            extra = ["tenant = s3tests"]
        section(f"s3 {role}", usr[role].keys, _user_id(a), a.display_name or a.email, a.email, extra)
    section("iam", usr["iam"].keys, usr["iam"].user_id, usr["iam"].name, acc["main"].email)
    for name, role in (("iam root", "main"), ("iam alt root", "alt")):
        a = acc[role]
        lines.extend([f"[{name}]", f"access_key = {a.root.access_key}", f"secret_key = {a.root.secret_key}",
                      f"user_id = {_user_id(a)}", f"email = {a.email}", ""])
    return "\n".join(lines)


def write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Create the accounts, users and keys Ceph's s3-tests need on a "
                                            "cloudkeep (--test-hooks) or moto server, and write S3TEST_CONF.")
    p.add_argument("--endpoint", required=True, help="the server, e.g. http://127.0.0.1:4566")
    p.add_argument("--conf", type=Path, required=True, help="where to write the S3TEST_CONF file (mode 0600)")
    p.add_argument("--json", type=Path, default=None, help="also write what was created (no secrets) as JSON")
    p.add_argument("--kind", choices=("cloudkeep", "moto"), default=None, help="default: detected")
    args = p.parse_args(argv)
    try:
        result = seed(args.endpoint, args.kind)
    except SeedError as e:
        print(f"seed: {e}", file=sys.stderr)
        return 2
    write_private(args.conf, render_conf(result))
    if args.json:
        args.json.write_text(json.dumps(result.public(), indent=2))
    for role, a in result.accounts.items():
        print(f"{role:7} account {a.account_id}  user {result.users[role].arn}  canonical id "
              f"{a.canonical_id or 'unknown'}")
    print(f"iam     user {result.users['iam'].arn} (admin policy)")
    print(f"kms keys {', '.join(result.kms_keys)}")
    for t in result.todos:
        print(f"TODO: {t}", file=sys.stderr)
    print(f"wrote {args.conf}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
