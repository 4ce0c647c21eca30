"""S3 requests reach the pipeline authenticated in every payload mode, or are refused.

S3 itself is not implemented yet, so an authenticated request to an S3 operation answers
501 NotImplemented and a refused one 403: the status tells the two apart.
"""

from __future__ import annotations

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


def test_signed_payload_put_object_is_authenticated_and_not_implemented(cloudkeep_account):
    with pytest.raises(ClientError) as exc:
        _s3(cloudkeep_account).put_object(Bucket="bucket-1", Key="dir/a.txt", Body=b"hello")
    assert _status(exc.value) == 501
    assert exc.value.response["Error"]["Code"] == "NotImplemented"
    headers = exc.value.response["ResponseMetadata"]["HTTPHeaders"]
    assert "x-amz-request-id" in headers and "x-amz-id-2" in headers


def test_wrong_secret_is_signature_does_not_match_403(cloudkeep_account):
    with pytest.raises(ClientError) as exc:
        _s3(cloudkeep_account, secret="w" * 40).put_object(Bucket="bucket-1", Key="k", Body=b"x")
    assert _status(exc.value) == 403
    assert exc.value.response["Error"]["Code"] == "SignatureDoesNotMatch"


def test_unknown_key_is_invalid_access_key_id(cloudkeep_server):
    s3 = client_for(cloudkeep_server.endpoint, "s3", "AKIAAAAAAAAAAAAAAAAA", "q" * 40,
                    config=Config(retries={"max_attempts": 1}))
    with pytest.raises(ClientError) as exc:
        s3.list_buckets()
    assert _status(exc.value) == 403
    assert exc.value.response["Error"]["Code"] == "InvalidAccessKeyId"


def test_unsigned_payload_is_authenticated(cloudkeep_account):
    s3 = _s3(cloudkeep_account, s3={"payload_signing_enabled": False}, signature_version="s3v4")
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket="bucket-1", Key="k", Body=b"body")
    assert _status(exc.value) == 501


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
    status, body = _raw_put(cloudkeep_account.endpoint, cloudkeep_account, "/bucket-1/k", b"original", b"tampered")
    assert status == 400 and b"<Code>XAmzContentSHA256Mismatch</Code>" in body
    status, _ = _raw_put(cloudkeep_account.endpoint, cloudkeep_account, "/bucket-1/k", b"original", b"original")
    assert status == 501


def test_large_body_is_spooled_and_its_hash_verified(cloudkeep_account):
    body = b"a" * (17 * 1024 * 1024)          # past the adapter's in-memory size
    with pytest.raises(ClientError) as exc:
        _s3(cloudkeep_account).put_object(Bucket="bucket-1", Key="big", Body=body)
    assert _status(exc.value) == 501


def test_list_buckets_and_head_object_reach_the_pipeline(cloudkeep_account):
    s3 = _s3(cloudkeep_account)
    with pytest.raises(ClientError) as exc:
        s3.list_buckets()
    assert _status(exc.value) == 501
    with pytest.raises(ClientError) as exc:
        s3.head_object(Bucket="bucket-1", Key="k")
    assert _status(exc.value) == 501


def _fetch(url: str, method: str = "GET") -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=30) as r:
            return r.status
    except urllib.error.HTTPError as err:
        return err.code


def _s3v4(account):
    return _s3(account, signature_version="s3v4")


def test_presigned_url_is_authenticated(cloudkeep_account):
    url = _s3v4(cloudkeep_account).generate_presigned_url(
        "get_object", Params={"Bucket": "bucket-1", "Key": "dir/a.txt"}, ExpiresIn=300)
    assert _fetch(url) == 501


def test_presigned_url_with_a_changed_parameter_is_refused(cloudkeep_account):
    url = _s3v4(cloudkeep_account).generate_presigned_url(
        "get_object", Params={"Bucket": "bucket-1", "Key": "dir/a.txt"}, ExpiresIn=300)
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


def test_anonymous_request_reaches_s3_as_the_anonymous_principal(cloudkeep_server):
    # no signature at all: S3 serves anonymous requests (public access decides later)
    assert _fetch(cloudkeep_server.endpoint + "/bucket-1/k") == 501


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
