"""Helpers shared by the S3 end-to-end tests: clients with retries off, IAM users with a policy,
error fields, and raw SigV4-signed HTTP requests (to see S3's answer before botocore's region
redirector or parser acts on it)."""

from __future__ import annotations

import http.client
import json
import uuid
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from cloudkeep.testing.server import client_for


def s3(account: Any, *, region: str = "us-east-1", **config: Any) -> Any:
    """An S3 client of the account's root user (retries off; options of botocore's Config)."""
    cfg = Config(retries={"max_attempts": 1}, **config)
    return client_for(account.endpoint, "s3", account.access_key_id, account.secret_access_key, region=region,
                      config=cfg)


def bucket_name(prefix: str = "bkt") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:20]}"


def err(exc: pytest.ExceptionInfo) -> tuple[str, str, int]:
    response = exc.value.response
    return response["Error"].get("Code", ""), response["Error"].get("Message", ""), \
        response["ResponseMetadata"]["HTTPStatusCode"]


def fails(fn: Any, *args: Any, **kwargs: Any) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as exc:
        fn(*args, **kwargs)
    return err(exc)


def policy(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def user(account: Any, name: str, *statements: dict) -> tuple[str, Any]:
    """An IAM user of the account with an inline policy of these statements: (ARN, client maker)."""
    iam = account.client("iam")
    arn = iam.create_user(UserName=name)["User"]["Arn"]
    if statements:
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=policy(*statements))
    key = iam.create_access_key(UserName=name)["AccessKey"]

    def make(service: str = "s3", region: str = "us-east-1", **config: Any) -> Any:
        cfg = Config(retries={"max_attempts": 1}, **config)
        return client_for(account.endpoint, service, key["AccessKeyId"], key["SecretAccessKey"], region=region,
                          config=cfg)
    return arn, make


def raw(account: Any, method: str, path: str, *, region: str = "us-east-1", body: bytes = b"",
        headers: dict[str, str] | None = None, query: str = "") -> tuple[int, dict[str, str], bytes]:
    """A SigV4-signed (header form) request, returned as (status, lower-cased headers, body)."""
    import hashlib

    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    url = account.endpoint + path + (f"?{query}" if query else "")
    sent = dict(headers or {})
    sent.setdefault("x-amz-content-sha256", hashlib.sha256(body).hexdigest())
    request = AWSRequest(method=method, url=url, data=body, headers=sent)
    S3SigV4Auth(Credentials(account.access_key_id, account.secret_access_key), "s3", region).add_auth(request)
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    conn.request(method, target, body=body, headers=dict(request.headers.items()))
    response = conn.getresponse()
    data = response.read()
    out = {k.lower(): v for k, v in response.getheaders()}
    conn.close()
    return response.status, out, data
