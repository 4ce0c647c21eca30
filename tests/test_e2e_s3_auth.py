"""S3 requests reach the pipeline authenticated in every payload mode, or are refused.

An authenticated request is served (the object is written and reads back); a refused one is
403 and writes nothing.
"""

from __future__ import annotations

import os

import datetime as dt
import urllib.error
import urllib.request

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from cloudkeep.testing.server import client_for


def _status(exc: ClientError) -> int:
    return exc.response["ResponseMetadata"]["HTTPStatusCode"]


def _s3(account, secret: str | None = None, **config):
    cfg = Config(retries={"max_attempts": 1}, **config)
    return client_for(account.endpoint, "s3", account.access_key_id, secret or account.secret_access_key,
                      config=cfg)


def _name(account) -> str:
    """The test's bucket (names are global across the server's accounts: one per account)."""
    return f"bucket-{account.account_id}"


def _bucket(account) -> str:
    _s3(account).create_bucket(Bucket=_name(account))
    return _name(account)


def _read(account, key: str) -> bytes | None:
    try:
        return _s3(account).get_object(Bucket=_name(account), Key=key)["Body"].read()
    except ClientError as err:
        assert err.response["Error"]["Code"] == "NoSuchKey"
        return None


def test_signed_payload_put_object_is_authenticated_and_served(cloudkeep_account):
    _bucket(cloudkeep_account)
    out = _s3(cloudkeep_account).put_object(Bucket=_name(cloudkeep_account), Key="dir/a.txt", Body=b"hello")
    headers = out["ResponseMetadata"]["HTTPHeaders"]
    assert "x-amz-request-id" in headers and "x-amz-id-2" in headers
    assert _read(cloudkeep_account, "dir/a.txt") == b"hello"


def test_wrong_secret_is_signature_does_not_match_403(cloudkeep_account):
    _bucket(cloudkeep_account)
    with pytest.raises(ClientError) as exc:
        _s3(cloudkeep_account, secret="w" * 40).put_object(Bucket=_name(cloudkeep_account), Key="k", Body=b"x")
    assert _status(exc.value) == 403
    assert exc.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    assert _read(cloudkeep_account, "k") is None


def test_unknown_key_is_invalid_access_key_id(cloudkeep_server):
    s3 = client_for(cloudkeep_server.endpoint, "s3", "AKIAAAAAAAAAAAAAAAAA", "q" * 40,
                    config=Config(retries={"max_attempts": 1}))
    with pytest.raises(ClientError) as exc:
        s3.list_buckets()
    assert _status(exc.value) == 403
    assert exc.value.response["Error"]["Code"] == "InvalidAccessKeyId"


def test_unsigned_payload_is_authenticated(cloudkeep_account):
    _bucket(cloudkeep_account)
    s3 = _s3(cloudkeep_account, s3={"payload_signing_enabled": False}, signature_version="s3v4")
    s3.put_object(Bucket=_name(cloudkeep_account), Key="k", Body=b"body")
    assert _read(cloudkeep_account, "k") == b"body"


def _raw_put(endpoint: str, account, path: str, signed_body: bytes, sent_body: bytes) -> tuple[int, bytes]:
    """A PUT signed (SigV4, payload hash in x-amz-content-sha256) for one body, sending another."""
    import hashlib
    import http.client
    from urllib.parse import urlsplit

    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    req = AWSRequest(method="PUT", url=endpoint + path, data=signed_body,
                     headers={"x-amz-content-sha256": hashlib.sha256(signed_body).hexdigest()})
    S3SigV4Auth(Credentials(account.access_key_id, account.secret_access_key), "s3", "us-east-1").add_auth(req)
    parts = urlsplit(endpoint)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    headers = {k: v for k, v in req.headers.items()}
    headers["Content-Length"] = str(len(sent_body))
    conn.request("PUT", path, body=sent_body, headers=headers)
    resp = conn.getresponse()
    return resp.status, resp.read()


def test_body_that_does_not_match_its_signed_hash_is_refused(cloudkeep_account):
    _bucket(cloudkeep_account)
    status, body = _raw_put(cloudkeep_account.endpoint, cloudkeep_account, f"/{_name(cloudkeep_account)}/k", b"original", b"tampered")
    assert status == 400 and b"<Code>XAmzContentSHA256Mismatch</Code>" in body
    assert _read(cloudkeep_account, "k") is None
    status, _ = _raw_put(cloudkeep_account.endpoint, cloudkeep_account, f"/{_name(cloudkeep_account)}/k", b"original", b"original")
    assert status == 200
    assert _read(cloudkeep_account, "k") == b"original"


def test_large_body_is_spooled_and_its_hash_verified(cloudkeep_account):
    _bucket(cloudkeep_account)
    body = b"a" * (17 * 1024 * 1024)          # past the adapter's in-memory size
    _s3(cloudkeep_account).put_object(Bucket=_name(cloudkeep_account), Key="big", Body=body)
    assert _read(cloudkeep_account, "big") == body


def test_large_signed_payload_is_measured_while_received(cloudkeep_account):
    """Past the in-memory size the adapter spools the body encrypted (storage/spool.py) and measures
    its SHA-256 and MD5 on arrival: a changed byte is still refused, the ETag is the MD5."""
    import hashlib

    _bucket(cloudkeep_account)
    body = os.urandom(17 * 1024 * 1024 + 3)
    path = f"/{_name(cloudkeep_account)}/spooled"
    status, answer = _raw_put(cloudkeep_account.endpoint, cloudkeep_account, path, body,
                              body[:-1] + bytes([body[-1] ^ 1]))
    assert status == 400 and b"<Code>XAmzContentSHA256Mismatch</Code>" in answer
    assert _read(cloudkeep_account, "spooled") is None
    status, _ = _raw_put(cloudkeep_account.endpoint, cloudkeep_account, path, body, body)
    assert status == 200
    head = _s3(cloudkeep_account).head_object(Bucket=_name(cloudkeep_account), Key="spooled")
    assert head["ETag"] == f'"{hashlib.md5(body).hexdigest()}"' and head["ContentLength"] == len(body)
    assert _read(cloudkeep_account, "spooled") == body


def test_list_buckets_and_head_object_reach_the_pipeline(cloudkeep_account):
    s3 = _s3(cloudkeep_account)
    assert s3.list_buckets()["Buckets"] == []
    _bucket(cloudkeep_account)
    with pytest.raises(ClientError) as exc:
        s3.head_object(Bucket=_name(cloudkeep_account), Key="k")
    assert _status(exc.value) == 404


def _fetch(url: str, method: str = "GET") -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=30) as r:
            return r.status
    except urllib.error.HTTPError as err:
        return err.code


def _s3v4(account):
    return _s3(account, signature_version="s3v4")


def test_presigned_url_is_authenticated(cloudkeep_account):
    _bucket(cloudkeep_account)
    _s3(cloudkeep_account).put_object(Bucket=_name(cloudkeep_account), Key="dir/a.txt", Body=b"x")
    url = _s3v4(cloudkeep_account).generate_presigned_url(
        "get_object", Params={"Bucket": _name(cloudkeep_account), "Key": "dir/a.txt"}, ExpiresIn=300)
    assert _fetch(url) == 200


def test_presigned_url_with_a_changed_parameter_is_refused(cloudkeep_account):
    _bucket(cloudkeep_account)
    _s3(cloudkeep_account).put_object(Bucket=_name(cloudkeep_account), Key="dir/a.txt", Body=b"x")
    _s3(cloudkeep_account).put_object(Bucket=_name(cloudkeep_account), Key="dir/b.txt", Body=b"x")
    url = _s3v4(cloudkeep_account).generate_presigned_url(
        "get_object", Params={"Bucket": _name(cloudkeep_account), "Key": "dir/a.txt"}, ExpiresIn=300)
    assert _fetch(url.replace("X-Amz-Expires=300", "X-Amz-Expires=301")) == 403
    assert _fetch(url.replace("dir/a.txt", "dir/b.txt")) == 403


def test_expired_presigned_url_is_access_denied_request_has_expired(cloudkeep_account):
    from unittest import mock
    s3 = _s3v4(cloudkeep_account)
    then = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=2)
    # botocore signs with its own signer, or awscrt's when installed: move both clocks
    with mock.patch("botocore.auth.get_current_datetime", return_value=then.replace(tzinfo=None)), \
            mock.patch("botocore.crt.auth.get_current_datetime", return_value=then):
        url = s3.generate_presigned_url("get_object", Params={"Bucket": "bucket-1", "Key": "k"}, ExpiresIn=60)
    try:
        urllib.request.urlopen(url, timeout=30)
        raise AssertionError("an expired URL was accepted")
    except urllib.error.HTTPError as err:
        assert err.code == 403
        body = err.read().decode()
        assert "<Code>AccessDenied</Code>" in body and "Request has expired" in body


def test_anonymous_request_reaches_s3_as_the_anonymous_principal(cloudkeep_account):
    # no signature at all: S3 decides anonymous requests by the bucket policy (none: private)
    _bucket(cloudkeep_account)
    _s3(cloudkeep_account).put_object(Bucket=_name(cloudkeep_account), Key="k", Body=b"x")
    assert _fetch(cloudkeep_account.endpoint + f"/{_name(cloudkeep_account)}/k") == 403
    assert _fetch(cloudkeep_account.endpoint + "/no-such-bucket-here/k") == 404


def test_sts_presigned_get_caller_identity_works(cloudkeep_account):
    sts = client_for(cloudkeep_account.endpoint, "sts", cloudkeep_account.access_key_id,
                     cloudkeep_account.secret_access_key)
    # signed for GET (botocore signs a presigned STS URL for the operation's POST otherwise)
    url = sts.generate_presigned_url("get_caller_identity", Params={}, ExpiresIn=60, HttpMethod="GET")
    with urllib.request.urlopen(url, timeout=30) as r:
        body = r.read().decode()
    assert f"<Account>{cloudkeep_account.account_id}</Account>" in body


def test_signature_version_2_presigned_url_is_refused_not_served_anonymously(cloudkeep_account):
    url = _s3(cloudkeep_account, signature_version="s3").generate_presigned_url(
        "get_object", Params={"Bucket": "bucket-1", "Key": "k"}, ExpiresIn=300)
    assert "AWSAccessKeyId=" in url and "Signature=" in url
    try:
        urllib.request.urlopen(url, timeout=30)
        raise AssertionError("a SigV2 URL was served")
    except urllib.error.HTTPError as err:
        assert err.code == 400
        assert "<Code>InvalidRequest</Code>" in err.read().decode()
