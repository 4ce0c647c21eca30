"""Presigned (query-string) SigV4: every query case of the AWS SigV4 test suite, and URLs made by
boto3's generate_presigned_url, accepted as made and refused with any single parameter changed,
expired, or with AWS's limits broken (S3's own AuthorizationQueryParametersError / AccessDenied)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from unittest import mock
from urllib.parse import quote, urlsplit

import boto3
import pytest
from botocore.config import Config

from cloudkeep.auth import sigv4
from cloudkeep.wire.errors import (
    AccessDenied,
    AuthorizationQueryParametersError,
    IncompleteSignature,
    MissingAuthenticationToken,
    ServiceError,
    SignatureDoesNotMatch,
)
from cloudkeep.wire.http import HttpRequest
from conftest_testdata import case_folders, require_testdata
from test_sigv4_suite import parse_raw_http

SUITE = ("sigv4-test-suite", "v4")
QUERY_CASES = [p for p in case_folders(*SUITE) if (p / "query-signed-request.txt").exists()]


def suite_case(folder: Path) -> tuple[HttpRequest, dict]:
    request = parse_raw_http((folder / "query-signed-request.txt").read_bytes())
    return request, json.loads((folder / "context.json").read_text(encoding="utf-8"))


def context_now(context: dict) -> datetime:
    return datetime.strptime(context["timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def test_every_suite_folder_has_a_query_case() -> None:
    root = require_testdata(*SUITE)
    assert len(QUERY_CASES) >= 30
    assert sorted(p.name for p in QUERY_CASES) == sorted(p.name for p in root.iterdir() if p.is_dir())


@pytest.mark.parametrize("folder", QUERY_CASES, ids=[p.name for p in QUERY_CASES])
def test_suite_query_case_reproduces_every_step_and_is_accepted(folder: Path) -> None:
    request, context = suite_case(folder)
    now = context_now(context)
    info = sigv4.parse_authorization(request, now=now)
    assert info is not None and info.form == "query"
    assert info.expires == context["expiration_in_seconds"]
    assert info.session_token == context["credentials"].get("token")
    # "omit_session_token": the signer appended X-Amz-Security-Token after signing (AWS IoT style)
    unsigned_token = bool(context.get("omit_session_token")) and info.session_token is not None
    exclude = ("X-Amz-Signature", "X-Amz-Security-Token") if unsigned_token else ("X-Amz-Signature",)
    creq = sigv4.canonical_request(request.method, request.path, request.query, request.headers,
                                   info.signed_headers, sigv4.payload_hash(request, info),
                                   normalize_path=bool(context["normalize"]), exclude_query=exclude)
    assert creq == (folder / "query-canonical-request.txt").read_text(encoding="utf-8")
    sts = sigv4.string_to_sign(info.amz_date, info.scope, creq)
    assert sts == (folder / "query-string-to-sign.txt").read_text(encoding="utf-8")
    secret = context["credentials"]["secret_access_key"]
    key = sigv4.signing_key(secret, info.scope.date, info.scope.region, info.scope.service)
    assert sigv4.signature(key, sts) == (folder / "query-signature.txt").read_text(encoding="utf-8").strip()
    if unsigned_token:
        # cloudkeep refuses a token the signature does not cover (fail closed); the same URL
        # without the unsigned token is what was signed, and is accepted
        with pytest.raises(SignatureDoesNotMatch):
            sigv4.verify(request, info, secret, now=now, normalize_path=bool(context["normalize"]))
        request = without_parameter(request, "X-Amz-Security-Token")
        info = sigv4.parse_authorization(request, now=now)
        assert info is not None and info.session_token is None
    sigv4.verify(request, info, secret, now=now, service=context["service"], valid_regions={context["region"]},
                 normalize_path=bool(context["normalize"]))
    # still inside the window at the end of the 15 minutes a non-S3 service allows
    sigv4.verify(request, info, secret, now=now + timedelta(minutes=15), normalize_path=bool(context["normalize"]))


def raw_names(query: str) -> list[str]:
    return [item.partition("=")[0] for item in query.split("&") if item]


def change_value(query: str, name: str) -> str:
    """The raw query with the value of ``name`` (as sent, still encoded) changed in one place."""
    items = query.split("&")
    for i, item in enumerate(items):
        key, _, value = item.partition("=")
        if key == name:
            last = value[-1] if value else ""
            items[i] = f"{key}={value[:-1]}{'B' if last != 'B' else 'C'}"
            return "&".join(items)
    raise AssertionError(name)


def without_parameter(request: HttpRequest, name: str) -> HttpRequest:
    query = "&".join(item for item in request.query.split("&") if item.partition("=")[0] != name)
    return HttpRequest(method=request.method, path=request.path, query=query, headers=request.headers,
                       body=request.body)


@pytest.mark.parametrize("folder", QUERY_CASES, ids=[p.name for p in QUERY_CASES])
def test_suite_query_case_with_one_changed_parameter_is_rejected(folder: Path) -> None:
    request, context = suite_case(folder)
    now = context_now(context)
    secret = context["credentials"]["secret_access_key"]
    for name in raw_names(request.query):
        changed = HttpRequest(method=request.method, path=request.path, query=change_value(request.query, name),
                              headers=request.headers, body=request.body)
        with pytest.raises(ServiceError) as caught:
            info = sigv4.parse_authorization(changed, now=now)
            assert info is not None
            sigv4.verify(changed, info, secret, now=now, normalize_path=bool(context["normalize"]))
        assert 400 <= caught.value.status < 500, name


def test_suite_query_case_expires_after_fifteen_minutes_outside_s3() -> None:
    request, context = suite_case(require_testdata(*SUITE, "get-vanilla"))
    late = context_now(context) + timedelta(minutes=15, seconds=1)
    info = sigv4.parse_authorization(request)
    assert info is not None
    with pytest.raises(SignatureDoesNotMatch) as caught:
        sigv4.verify(request, info, context["credentials"]["secret_access_key"], now=late)
    assert caught.value.message.startswith("Signature expired: 20150830T123600Z is now earlier than ")


# --- boto3's generate_presigned_url ------------------------------------------------------------------

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)
AKID, SECRET = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
ENDPOINT = "http://cloudkeep.local:4566"


def presign(service: str, method: str, params: dict | None = None, *, expires: int = 3600,
            http_method: str | None = None, token: str | None = None) -> HttpRequest:
    """A URL made by boto3 at T0, as cloudkeep receives it."""
    config = Config(signature_version="s3v4", s3={"addressing_style": "path"}) if service == "s3" else Config()
    client = boto3.client(service, endpoint_url=ENDPOINT, region_name="us-east-1", aws_access_key_id=AKID,
                          aws_secret_access_key=SECRET, aws_session_token=token, config=config)
    # botocore signs with its own signer, or awscrt's when installed: fix the time for both
    with mock.patch("botocore.auth.get_current_datetime", return_value=T0.replace(tzinfo=None)), \
            mock.patch("botocore.crt.auth.get_current_datetime", return_value=T0):
        url = client.generate_presigned_url(method, Params=params or {}, ExpiresIn=expires, HttpMethod=http_method)
    parts = urlsplit(url)
    # botocore signs with the operation's own HTTP method unless told otherwise (POST for STS and IAM)
    operation = client.meta.service_model.operation_model(client.meta.method_to_api_mapping[method])
    verb = http_method or operation.http["method"]
    return HttpRequest(method=verb, path=parts.path, query=parts.query, headers=(("host", parts.netloc),))


URLS = {
    "s3-get_object": ("s3", "get_object", {"Bucket": "bucket", "Key": "dir/a key+é.txt"}),
    "s3-put_object": ("s3", "put_object", {"Bucket": "bucket", "Key": "upload.bin"}),
    "sts-get_caller_identity": ("sts", "get_caller_identity", {}),
    "iam-list_users": ("iam", "list_users", {"MaxItems": 5}),
}


def test_sts_presigned_url_for_get_as_eks_tokens_use_it() -> None:
    request = presign("sts", "get_caller_identity", http_method="GET")
    assert request.method == "GET"
    accept(request)
    with pytest.raises(SignatureDoesNotMatch):
        accept(HttpRequest(method="POST", path=request.path, query=request.query, headers=request.headers))


def accept(request: HttpRequest, *, now: datetime = T0) -> sigv4.SignedRequestInfo:
    info = sigv4.parse_authorization(request, now=now)
    assert info is not None and info.form == "query"
    sigv4.verify(request, info, SECRET, now=now, service=info.scope.service, valid_regions={"us-east-1"})
    return info


@pytest.mark.parametrize("case", URLS, ids=list(URLS))
def test_boto3_presigned_url_is_accepted(case: str) -> None:
    service, method, params = URLS[case]
    info = accept(presign(service, method, params))
    assert info.scope == sigv4.CredentialScope(AKID, "20260301", "us-east-1", service)
    assert info.expires == 3600
    assert info.session_token is None


def test_boto3_presigned_url_carries_the_session_token() -> None:
    info = accept(presign("s3", "get_object", {"Bucket": "b", "Key": "k"}, token="FQoGZXIvYXdzEXAMPLE/token=="))
    assert info.session_token == "FQoGZXIvYXdzEXAMPLE/token=="


@pytest.mark.parametrize("case", URLS, ids=list(URLS))
def test_boto3_presigned_url_with_any_parameter_changed_is_rejected(case: str) -> None:
    service, method, params = URLS[case]
    request = presign(service, method, params)
    names = raw_names(request.query)
    assert "X-Amz-Signature" in names and len(names) >= 6
    for name in names:
        changed = HttpRequest(method=request.method, path=request.path, query=change_value(request.query, name),
                              headers=request.headers)
        with pytest.raises(ServiceError) as caught:
            accept(changed)
        assert 400 <= caught.value.status < 500, name
    for changed in (
        HttpRequest(method="DELETE", path=request.path, query=request.query, headers=request.headers),
        HttpRequest(method=request.method, path=request.path + "x", query=request.query, headers=request.headers),
        HttpRequest(method=request.method, path=request.path, query=request.query + "&extra=1", headers=request.headers),
        HttpRequest(method=request.method, path=request.path, query=request.query,
                    headers=(("host", "cloudkeep.local:4567"),)),
    ):
        with pytest.raises(SignatureDoesNotMatch):
            accept(changed)


def test_s3_wrong_secret_answers_with_s3s_explanation() -> None:
    request = presign("s3", "get_object", {"Bucket": "b", "Key": "k"})
    info = sigv4.parse_authorization(request, now=T0)
    assert info is not None
    with pytest.raises(SignatureDoesNotMatch) as caught:
        sigv4.verify(request, info, SECRET + "x", now=T0, service="s3")
    assert caught.value.message == ("The request signature we calculated does not match the signature you "
                                    "provided. Check your key and signing method.")
    assert caught.value.extra["AWSAccessKeyId"] == AKID
    assert caught.value.extra["CanonicalRequest"].endswith("\nhost\nUNSIGNED-PAYLOAD")


def test_s3_presigned_url_is_valid_until_x_amz_expires_and_not_after() -> None:
    request = presign("s3", "get_object", {"Bucket": "b", "Key": "k"}, expires=7200)
    accept(request, now=T0 + timedelta(seconds=7200))          # far beyond the 15-minute skew
    late = T0 + timedelta(seconds=7201)
    with pytest.raises(AccessDenied) as caught:
        accept(request, now=late)
    error = caught.value
    assert (error.message, error.status) == ("Request has expired", 403)
    assert error.extra == {"X-Amz-Expires": "7200", "Expires": "2026-03-01T14:00:00Z", "ServerTime": "2026-03-01T14:00:01Z"}
    assert error.wire_identity("rest-xml") == ("AccessDenied", 403)
    info = sigv4.parse_authorization(request)
    assert info is not None
    with pytest.raises(AccessDenied):                          # verify_signature checks it too, given now
        sigv4.verify_signature(request, info, SECRET, now=late)


def test_s3_presigned_url_dated_in_the_future_is_not_yet_valid() -> None:
    request = presign("s3", "get_object", {"Bucket": "b", "Key": "k"})
    with pytest.raises(AccessDenied) as caught:
        accept(request, now=T0 - timedelta(minutes=16))
    assert caught.value.message == "Request is not yet valid"


def test_sts_presigned_url_lives_fifteen_minutes_whatever_x_amz_expires_says() -> None:
    request = presign("sts", "get_caller_identity", expires=60)
    accept(request, now=T0 + timedelta(minutes=15))
    with pytest.raises(SignatureDoesNotMatch) as caught:
        accept(request, now=T0 + timedelta(minutes=16))
    assert caught.value.message.startswith("Signature expired: 20260301T120000Z is now earlier than")


def test_s3_x_amz_expires_over_a_week_is_refused() -> None:
    accept(presign("s3", "get_object", {"Bucket": "b", "Key": "k"}, expires=604800))
    request = presign("s3", "get_object", {"Bucket": "b", "Key": "k"}, expires=604801)
    with pytest.raises(AuthorizationQueryParametersError) as caught:
        sigv4.parse_authorization(request, now=T0)
    assert caught.value.message == ("X-Amz-Expires must be less than a week (in seconds); that is, the given "
                                    "X-Amz-Expires must be less than 604800 seconds")
    assert caught.value.status == 400


@pytest.mark.parametrize(("value", "message"), [
    ("abc", "X-Amz-Expires should be a number"),
    ("-5", "X-Amz-Expires must be non-negative"),
    ("99999999999", "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires "
                    "must be less than 604800 seconds"),
])
def test_s3_malformed_x_amz_expires(value: str, message: str) -> None:
    request = presign("s3", "get_object", {"Bucket": "b", "Key": "k"})
    query = "&".join(f"X-Amz-Expires={value}" if item.startswith("X-Amz-Expires=") else item
                     for item in request.query.split("&"))
    with pytest.raises(AuthorizationQueryParametersError) as caught:
        sigv4.parse_authorization(HttpRequest(method="GET", path=request.path, query=query, headers=request.headers))
    assert caught.value.message == message


@pytest.mark.parametrize("missing", ["X-Amz-Credential", "X-Amz-Signature", "X-Amz-Date", "X-Amz-SignedHeaders",
                                     "X-Amz-Expires"])
def test_s3_missing_query_parameter(missing: str) -> None:
    request = presign("s3", "get_object", {"Bucket": "b", "Key": "k"})
    query = "&".join(item for item in request.query.split("&") if not item.startswith(missing + "="))
    if missing == "X-Amz-Credential":
        # without a credential nothing says S3: the generic query-service answer
        with pytest.raises(IncompleteSignature):
            sigv4.parse_authorization(HttpRequest(method="GET", path=request.path, query=query, headers=request.headers))
        return
    with pytest.raises(AuthorizationQueryParametersError) as caught:
        sigv4.parse_authorization(HttpRequest(method="GET", path=request.path, query=query, headers=request.headers))
    assert caught.value.message == ("Query-string authentication version 4 requires the X-Amz-Algorithm, "
                                    "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and "
                                    "X-Amz-Expires parameters.")


def test_s3_bad_algorithm_and_bad_date() -> None:
    request = presign("s3", "get_object", {"Bucket": "b", "Key": "k"})
    algo = request.query.replace("X-Amz-Algorithm=AWS4-HMAC-SHA256", "X-Amz-Algorithm=AWS4-HMAC-SHA1")
    with pytest.raises(AuthorizationQueryParametersError) as caught:
        sigv4.parse_authorization(HttpRequest(method="GET", path=request.path, query=algo, headers=request.headers))
    assert caught.value.message == 'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256 and AWS4-ECDSA-P256-SHA256"'
    date = request.query.replace("X-Amz-Date=20260301T120000Z", "X-Amz-Date=2026-03-01T12:00:00Z")
    with pytest.raises(AuthorizationQueryParametersError) as caught:
        sigv4.parse_authorization(HttpRequest(method="GET", path=request.path, query=date, headers=request.headers))
    assert caught.value.message == 'X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd\'T\'HHmmss\'Z\'"'


def test_s3_credential_scope_errors_are_s3s() -> None:
    request = presign("s3", "get_object", {"Bucket": "b", "Key": "k"})
    credential = quote(f"{AKID}/20260228/us-east-1/s3/aws4_request", safe="")
    query = "&".join(f"X-Amz-Credential={credential}" if item.startswith("X-Amz-Credential=") else item
                     for item in request.query.split("&"))
    changed = HttpRequest(method="GET", path=request.path, query=query, headers=request.headers)
    info = sigv4.parse_authorization(changed, now=T0)
    assert info is not None
    with pytest.raises(AuthorizationQueryParametersError) as caught:
        sigv4.prevalidate(info, now=T0, service="s3")
    assert caught.value.message == ('Invalid credential date "20260228". This date is not the same as '
                                    'X-Amz-Date: "20260301".')


def test_query_service_presigned_errors() -> None:
    request = presign("sts", "get_caller_identity")
    bad_algo = request.query.replace("X-Amz-Algorithm=AWS4-HMAC-SHA256", "X-Amz-Algorithm=HMAC")
    with pytest.raises(MissingAuthenticationToken) as missing_token:
        sigv4.parse_authorization(HttpRequest(method="GET", path="/", query=bad_algo, headers=request.headers))
    assert missing_token.value.message == "Request is missing Authentication Token"
    no_date = "&".join(item for item in request.query.split("&") if not item.startswith("X-Amz-Date="))
    with pytest.raises(IncompleteSignature) as caught:
        sigv4.parse_authorization(HttpRequest(method="GET", path="/", query=no_date, headers=request.headers))
    assert caught.value.message == ("AWS query-string parameters must include 'X-Amz-Date'. "
                                    "Re-examine the query-string parameters.")
