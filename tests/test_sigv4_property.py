"""SigV4 verification against botocore's own signer, plus AWS's error behaviour.

botocore (``SigV4Auth`` / ``S3SigV4Auth`` on an ``AWSRequest``, then prepared, exactly as boto3
sends it) signs random requests; cloudkeep must accept each one, and must reject it as soon as
any single byte of the method, path, query, a signed header value or the body changes.
The other tests pin AWS's error codes and messages (sources cited in cloudkeep/auth/sigv4.py).
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from unittest import mock
from urllib.parse import quote, urlsplit

import pytest
from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSPreparedRequest, AWSRequest
from botocore.credentials import Credentials
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from cloudkeep.auth import sigv4
from cloudkeep.wire.errors import (
    ServiceError,
    IncompleteBody,
    IncompleteSignature,
    RequestTimeTooSkewed,
    SignatureDoesNotMatch,
    XAmzContentSHA256Mismatch,
)
from cloudkeep.wire.http import HttpRequest

T0 = datetime(2015, 8, 30, 12, 36, 0, tzinfo=timezone.utc)
AKID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
HOST = "cloudkeep.local:4566"
ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
PROPERTY = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- botocore as the client ----------------------------------------------------------------------


def botocore_sign(method: str, path: str, params: list[tuple[str, str]], headers: dict[str, str], body: bytes,
                  *, service: str = "sts", region: str = "us-east-1", token: str | None = None,
                  at: datetime = T0, generic: bool = False) -> AWSPreparedRequest:
    """botocore signs; ``generic`` uses SigV4Auth even for S3, which keeps a given x-amz-content-sha256."""
    request = AWSRequest(method=method, url=f"http://{HOST}{path}", params=params, headers=dict(headers),
                         data=body)
    signer_cls = S3SigV4Auth if service == "s3" and not generic else SigV4Auth
    signer = signer_cls(Credentials(AKID, SECRET, token), service, region)
    with mock.patch("botocore.auth.get_current_datetime", return_value=at.replace(tzinfo=None)):
        signer.add_auth(request)
    return request.prepare()


def to_http_request(prepared: AWSPreparedRequest) -> HttpRequest:
    """What cloudkeep's adapter sees: lower-cased names, the raw path and query as sent, Host."""
    url = urlsplit(prepared.url)
    headers = [(name.lower(), value.decode() if isinstance(value, bytes) else value)
               for name, value in prepared.headers.items()]
    if not any(name == "host" for name, _ in headers):
        headers.insert(0, ("host", url.netloc))
    body = prepared.body or b""
    if isinstance(body, str):
        body = body.encode()
    return HttpRequest(method=prepared.method, path=url.path, query=url.query, headers=tuple(headers), body=body)


def check(request: HttpRequest, *, now: datetime = T0, secret: str = SECRET) -> sigv4.SignedRequestInfo:
    info = sigv4.parse_authorization(request, now=now)
    assert info is not None
    sigv4.verify(request, info, secret, now=now)
    return info


# --- strategies ----------------------------------------------------------------------------------

segment_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=12)
segments = st.lists(segment_text.filter(lambda s: s not in (".", "..")), min_size=0, max_size=4)
param_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=0, max_size=10)
params_st = st.lists(st.tuples(param_text.filter(bool), param_text), min_size=1, max_size=5)
header_name = st.from_regex(r"x-test-[a-z][a-z0-9-]{0,10}", fullmatch=True)
header_value = st.from_regex(r"[!-~][ -~]{0,20}[0-9A-Za-z]", fullmatch=True)
headers_st = st.dictionaries(header_name, header_value, min_size=1, max_size=4)
body_st = st.binary(min_size=1, max_size=200)
method_st = st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"])


@st.composite
def signed_requests(draw: st.DrawFn, service: str = "sts") -> HttpRequest:
    path = "/" + "/".join(quote(s, safe="") for s in draw(segments))
    prepared = botocore_sign(draw(method_st), path, draw(params_st), draw(headers_st), draw(body_st),
                             service=service)
    return to_http_request(prepared)


def mutable_positions(raw: str) -> list[int]:
    """Positions whose byte can change without producing an equivalent request: not a '/', not
    inside a %XX escape (where hex case is not significant to AWS either)."""
    skip: set[int] = set()
    for i, ch in enumerate(raw):
        if ch == "%":
            skip.update((i, i + 1, i + 2))
    return [i for i, ch in enumerate(raw) if i not in skip and ch != "/"]


def change_byte(raw: str, data: st.DataObject) -> str:
    positions = mutable_positions(raw)
    assume(positions)
    i = data.draw(st.sampled_from(positions))
    replacement = data.draw(st.sampled_from([c for c in ALNUM if c != raw[i]]))
    return raw[:i] + replacement + raw[i + 1:]


def replace(request: HttpRequest, **changes: object) -> HttpRequest:
    fields = dict(method=request.method, path=request.path, query=request.query, headers=request.headers,
                  body=request.body)
    fields.update(changes)
    return HttpRequest(**fields)  # type: ignore[arg-type]


def assert_rejected(request: HttpRequest, error: type[Exception] = SignatureDoesNotMatch) -> None:
    with pytest.raises(error):
        check(request)


# --- botocore round trips ------------------------------------------------------------------------


@PROPERTY
@given(signed_requests())
def test_botocore_signed_requests_are_accepted(request: HttpRequest) -> None:
    info = check(request)
    assert info.scope == sigv4.CredentialScope(AKID, "20150830", "us-east-1", "sts")
    assert info.amz_date == "20150830T123600Z"


@PROPERTY
@given(signed_requests(service="s3"))
def test_botocore_s3_signed_requests_are_accepted(request: HttpRequest) -> None:
    check(request)


@PROPERTY
@given(signed_requests(), st.data())
def test_changing_the_method_is_rejected(request: HttpRequest, data: st.DataObject) -> None:
    assert_rejected(replace(request, method=change_byte(request.method, data)))


@PROPERTY
@given(st.sampled_from(["sts", "s3"]).flatmap(lambda svc: signed_requests(service=svc)), st.data())
def test_changing_the_path_is_rejected(request: HttpRequest, data: st.DataObject) -> None:
    assume(request.path != "/")
    assert_rejected(replace(request, path=change_byte(request.path, data)))


@PROPERTY
@given(st.sampled_from(["sts", "s3"]).flatmap(lambda svc: signed_requests(service=svc)), st.data())
def test_changing_the_query_is_rejected(request: HttpRequest, data: st.DataObject) -> None:
    assert_rejected(replace(request, query=change_byte(request.query, data)))


@PROPERTY
@given(st.sampled_from(["sts", "s3"]).flatmap(lambda svc: signed_requests(service=svc)), st.data())
def test_changing_a_signed_header_value_is_rejected(request: HttpRequest, data: st.DataObject) -> None:
    info = sigv4.parse_authorization(request)
    assert info is not None
    candidates = [i for i, (name, _) in enumerate(request.headers)
                  if name in info.signed_headers and name != "x-amz-date"]
    index = data.draw(st.sampled_from(candidates))
    name, value = request.headers[index]
    headers = list(request.headers)
    headers[index] = (name, change_byte(value, data))
    assert_rejected(replace(request, headers=tuple(headers)))


@PROPERTY
@given(signed_requests(), st.data())
def test_changing_the_date_header_is_rejected(request: HttpRequest, data: st.DataObject) -> None:
    headers = list(request.headers)
    index = next(i for i, (name, _) in enumerate(headers) if name == "x-amz-date")
    value = headers[index][1]
    i = data.draw(st.sampled_from([i for i, ch in enumerate(value) if ch.isdigit()]))
    headers[index] = ("x-amz-date", value[:i] + data.draw(st.sampled_from(
        [d for d in "0123456789" if d != value[i]])) + value[i + 1:])
    with pytest.raises((SignatureDoesNotMatch, IncompleteSignature)):  # mismatch, skew, or not a date
        check(replace(request, headers=tuple(headers)))


@PROPERTY
@given(signed_requests(), st.data())
def test_changing_the_body_is_rejected(request: HttpRequest, data: st.DataObject) -> None:
    i = data.draw(st.integers(0, len(request.body) - 1))
    body = request.body[:i] + bytes([(request.body[i] + data.draw(st.integers(1, 255))) % 256]) + request.body[i + 1:]
    assert_rejected(replace(request, body=body))


@PROPERTY
@given(signed_requests(service="s3"), st.data())
def test_s3_body_change_is_a_content_sha256_mismatch(request: HttpRequest, data: st.DataObject) -> None:
    # S3 signs x-amz-content-sha256; the signature still matches, the body does not.
    i = data.draw(st.integers(0, len(request.body) - 1))
    body = request.body[:i] + bytes([request.body[i] ^ 0xFF]) + request.body[i + 1:]
    with pytest.raises(XAmzContentSHA256Mismatch) as caught:
        check(replace(request, body=body))
    assert caught.value.extra == {"ClientComputedContentSHA256": hashlib.sha256(request.body).hexdigest(),
                                  "S3ComputedContentSHA256": hashlib.sha256(body).hexdigest()}


def test_session_token_is_signed_and_reported() -> None:
    request = to_http_request(botocore_sign("POST", "/", [("Action", "GetCallerIdentity")], {}, b"",
                                            token="FwoGZXIvYXdzEXAMPLE"))
    info = check(request)
    assert info.session_token == "FwoGZXIvYXdzEXAMPLE"
    assert "x-amz-security-token" in info.signed_headers


def test_wrong_secret_is_signature_does_not_match_with_aws_message() -> None:
    request = to_http_request(botocore_sign("GET", "/", [("a", "b")], {}, b""))
    with pytest.raises(SignatureDoesNotMatch) as caught:
        check(request, secret=SECRET + "x")
    assert caught.value.message == (
        "The request signature we calculated does not match the signature you provided. Check your AWS "
        "Secret Access Key and signing method. Consult the service documentation for details.")
    assert caught.value.wire_identity("query") == ("SignatureDoesNotMatch", 403)


def test_signing_key_is_cached() -> None:
    sigv4.signing_key.cache_clear()
    first = sigv4.signing_key(SECRET, "20120215", "us-east-1", "iam")
    assert sigv4.signing_key(SECRET, "20120215", "us-east-1", "iam") is first
    assert sigv4.signing_key.cache_info().hits == 1
    # the AWS General Reference's worked example of deriving the signing key (20120215/us-east-1/iam)
    assert first.hex() == "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"


# --- clock skew ----------------------------------------------------------------------------------

SIGNED = to_http_request(botocore_sign("GET", "/", [("Action", "ListUsers")], {}, b"", service="iam"))


@pytest.mark.parametrize("offset", [timedelta(0), timedelta(minutes=15), -timedelta(minutes=15),
                                    timedelta(minutes=14, seconds=59), -timedelta(minutes=14, seconds=59)])
def test_skew_within_15_minutes_is_accepted(offset: timedelta) -> None:
    check(SIGNED, now=T0 + offset)


def test_request_older_than_15_minutes_is_expired() -> None:
    now = T0 + timedelta(minutes=20)
    with pytest.raises(SignatureDoesNotMatch) as caught:
        check(SIGNED, now=now)
    assert caught.value.message == \
        "Signature expired: 20150830T123600Z is now earlier than 20150830T124100Z (20150830T125600Z - 15 min.)"


def test_request_more_than_15_minutes_ahead_is_not_yet_current() -> None:
    now = T0 - timedelta(minutes=15, seconds=1)
    with pytest.raises(SignatureDoesNotMatch) as caught:
        check(SIGNED, now=now)
    assert caught.value.message == \
        "Signature not yet current: 20150830T123600Z is still later than 20150830T123559Z (20150830T122059Z + 15 min.)"


def test_verify_checks_skew_even_without_parse_now() -> None:
    info = sigv4.parse_authorization(SIGNED)
    assert info is not None
    with pytest.raises(SignatureDoesNotMatch, match="^Signature expired: "):
        sigv4.verify(SIGNED, info, SECRET, now=T0 + timedelta(minutes=15, seconds=1))


def test_s3_skew_is_request_time_too_skewed() -> None:
    request = to_http_request(botocore_sign("GET", "/bucket/key", [], {}, b"", service="s3"))
    with pytest.raises(RequestTimeTooSkewed) as caught:
        check(request, now=T0 + timedelta(hours=1))
    error = caught.value
    assert (error.code, error.status) == ("RequestTimeTooSkewed", 403)
    assert error.message == "The difference between the request time and the current time is too large."
    assert error.extra == {"RequestTime": "20150830T123600Z", "ServerTime": "2015-08-30T13:36:00Z",
                           "MaxAllowedSkewMilliseconds": "900000"}


def test_skew_is_checked_before_the_credential_format() -> None:
    request = with_authorization("AWS4-HMAC-SHA256 Credential=AKID, SignedHeaders=host;x-amz-date, Signature=00")
    with pytest.raises(SignatureDoesNotMatch, match="^Signature expired"):
        sigv4.parse_authorization(request, now=T0 + timedelta(days=1))
    with pytest.raises(IncompleteSignature, match="^Credential must have exactly 5"):
        sigv4.parse_authorization(request, now=T0)


# --- malformed Authorization headers -------------------------------------------------------------


def with_authorization(value: str | None, *, date: str | None = "20150830T123600Z", query: str = "",
                       extra: tuple[tuple[str, str], ...] = ()) -> HttpRequest:
    headers = [("host", HOST)]
    if date is not None:
        headers.append(("x-amz-date", date))
    if value is not None:
        headers.append(("authorization", value))
    return HttpRequest(method="GET", path="/", query=query, headers=tuple(headers) + extra)


GOOD_SCOPE = "Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request"

MALFORMED = [
    ("Bearer abc", None, "Unsupported AWS 'algorithm': 'Bearer'."),
    ("AWS AKIDEXAMPLE:c2lnbmF0dXJl", None, "Unsupported AWS 'algorithm': 'AWS'."),
    ("AWS4-HMAC-SHA256 FooBar, BazBurp", None,
     "'FooBar' not a valid key=value pair (missing equal-sign) in Authorization header: "
     "'AWS4-HMAC-SHA256 FooBar, BazBurp'."),
    ("AWS4-HMAC-SHA256 Foo=Bar, Baz=Burp", None,
     "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' "
     "parameter. Authorization header requires 'SignedHeaders' parameter. Authorization=AWS4-HMAC-SHA256"),
    ("AWS4-HMAC-SHA256", "none",
     "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' "
     "parameter. Authorization header requires 'SignedHeaders' parameter. Authorization header requires "
     "existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=AWS4-HMAC-SHA256"),
    (f"AWS4-HMAC-SHA256 {GOOD_SCOPE}", None,
     "Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' "
     "parameter. Authorization=AWS4-HMAC-SHA256"),
    (f"AWS4-HMAC-SHA256 {GOOD_SCOPE}, Signature=ab", None,
     "Authorization header requires 'SignedHeaders' parameter. Authorization=AWS4-HMAC-SHA256"),
    (f"AWS4-HMAC-SHA256 {GOOD_SCOPE}, SignedHeaders=host;x-amz-date, Signature=ab", "none",
     "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
     "Authorization=AWS4-HMAC-SHA256"),
    (f"AWS4-HMAC-SHA256 {GOOD_SCOPE}, SignedHeaders=host;x-amz-date, Signature=ab", "2015-08-30T12:36:00Z",
     "Date must be in ISO-8601 'basic format'. Got '2015-08-30T12:36:00Z'. See http://en.wikipedia.org/wiki/ISO_8601"),
    (f"AWS4-HMAC-SHA256 {GOOD_SCOPE}, SignedHeaders=host;x-amz-date, Signature=ab", "20151330T123600Z",
     "Date must be in ISO-8601 'basic format'. Got '20151330T123600Z'. See http://en.wikipedia.org/wiki/ISO_8601"),
    ("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam, SignedHeaders=host;x-amz-date, Signature=ab",
     None, "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got "
           "'AKIDEXAMPLE/20150830/us-east-1/iam'"),
    ("AWS4-HMAC-SHA256 Credential=AK/ID/20150830/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=ab",
     None, "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got "
           "'AK/ID/20150830/us-east-1/iam/aws4_request'"),
]


@pytest.mark.parametrize(("authorization", "date", "message"), MALFORMED)
def test_malformed_authorization_is_incomplete_signature(authorization: str, date: str | None, message: str) -> None:
    request = with_authorization(authorization, date=None if date == "none" else (date or "20150830T123600Z"))
    with pytest.raises(IncompleteSignature) as caught:
        sigv4.parse_authorization(request)
    assert caught.value.message == message
    assert caught.value.wire_identity("query") == ("IncompleteSignature", 400)
    assert caught.value.wire_identity("json") == ("IncompleteSignatureException", 400)


def test_host_must_be_signed() -> None:
    request = with_authorization(f"AWS4-HMAC-SHA256 {GOOD_SCOPE}, SignedHeaders=x-amz-date, Signature=ab")
    with pytest.raises(SignatureDoesNotMatch) as caught:
        sigv4.parse_authorization(request)
    assert caught.value.message == "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."


def test_date_header_is_used_when_x_amz_date_is_absent() -> None:
    request = with_authorization(f"AWS4-HMAC-SHA256 {GOOD_SCOPE}, SignedHeaders=date;host, Signature=ab",
                                 date=None, extra=(("date", "Sun, 30 Aug 2015 12:36:00 GMT"),))
    info = sigv4.parse_authorization(request)
    assert info is not None and info.amz_date == "20150830T123600Z"


def test_no_sigv4_at_all_is_none() -> None:
    assert sigv4.parse_authorization(with_authorization(None, query="Action=ListUsers")) is None


def test_presigned_query_with_missing_parameters_is_incomplete_signature() -> None:
    request = with_authorization(None, query="X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=a")
    with pytest.raises(IncompleteSignature) as caught:
        sigv4.parse_authorization(request)
    assert caught.value.message == (
        "AWS query-string parameters must include 'X-Amz-Signature'. AWS query-string parameters must include "
        "'X-Amz-SignedHeaders'. AWS query-string parameters must include 'X-Amz-Date'. "
        "Re-examine the query-string parameters.")


def test_header_and_query_signature_together_is_rejected() -> None:
    request = with_authorization(f"AWS4-HMAC-SHA256 {GOOD_SCOPE}, SignedHeaders=host, Signature=ab",
                                 query="X-Amz-Algorithm=AWS4-HMAC-SHA256")
    with pytest.raises(SignatureDoesNotMatch):
        sigv4.parse_authorization(request)


def test_s3_streaming_payload_is_not_accepted_unverified() -> None:
    request = to_http_request(botocore_sign("PUT", "/bucket/key", [], {
        "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "x-amz-decoded-content-length": "18"},
        b"not-really-chunked", service="s3", generic=True))
    assert request.header("x-amz-content-sha256") == "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
    info = check(request)                       # the seed signature is right ...
    assert sigv4.is_streaming(request, info)
    with pytest.raises(IncompleteBody):         # ... but the body is only accepted through the verifying reader
        sigv4.streaming_reader(request, info, SECRET).drain()


def test_unsigned_payload_is_only_for_s3() -> None:
    headers = {"x-amz-content-sha256": "UNSIGNED-PAYLOAD"}
    s3_request = to_http_request(botocore_sign("PUT", "/b/k", [], headers, b"data", service="s3", generic=True))
    assert s3_request.header("x-amz-content-sha256") == "UNSIGNED-PAYLOAD"
    check(s3_request)
    # botocore's generic signer signs the header; the body is still hashed by a non-S3 service
    with pytest.raises(SignatureDoesNotMatch):
        check(to_http_request(botocore_sign("POST", "/", [], headers, b"data", service="sts")))


# --- credential scope ----------------------------------------------------------------------------


def forge(credential_date: str, *, region: str = "us-east-1", service: str = "iam",
          terminator: str = "aws4_request", amz_date: str = "20150830T123600Z") -> HttpRequest:
    """A request correctly signed (by cloudkeep's own primitives) under an arbitrary scope."""
    scope = sigv4.CredentialScope(AKID, credential_date, region, service, terminator)
    headers = (("host", HOST), ("x-amz-date", amz_date))
    creq = sigv4.canonical_request("GET", "/", "", headers, ("host", "x-amz-date"), sigv4.EMPTY_SHA256)
    sig = sigv4.signature(sigv4.signing_key(SECRET, credential_date, region, service),
                          sigv4.string_to_sign(amz_date, scope, creq))
    auth = (f"AWS4-HMAC-SHA256 Credential={AKID}/{scope.scope}, SignedHeaders=host;x-amz-date, Signature={sig}")
    return HttpRequest(method="GET", path="/", query="", headers=headers + (("authorization", auth),))


def test_forged_scope_with_matching_date_is_accepted() -> None:
    check(forge("20150830"))           # the forging helper itself is right


def test_scope_date_must_match_request_date() -> None:
    with pytest.raises(SignatureDoesNotMatch) as caught:
        check(forge("20150829"))
    assert caught.value.message == (
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
        "'20150829' != '20150830', from '20150830T123600Z'.")


def test_scope_region_service_and_terminator_are_checked_together() -> None:
    request = forge("20150830", region="mars-1", service="sts", terminator="aws5_request")
    info = sigv4.parse_authorization(request)
    assert info is not None
    with pytest.raises(SignatureDoesNotMatch) as caught:
        sigv4.verify(request, info, SECRET, now=T0, service="iam", valid_regions={"us-east-1"})
    assert caught.value.message == (
        "Credential should be scoped to a valid region, not 'mars-1'. "
        "Credential should be scoped to correct service: 'iam'. "
        "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'.")


# --- robustness: nothing but AWS errors ----------------------------------------------------------

junk = st.text(st.characters(exclude_categories=()), max_size=40)


@st.composite
def junk_requests(draw: st.DrawFn) -> HttpRequest:
    credential = draw(st.one_of(junk, st.just(f"{AKID}/20150830/us-east-1/iam/aws4_request")))
    authorization = draw(st.one_of(
        st.none(), junk,
        st.builds("AWS4-HMAC-SHA256 Credential={}, SignedHeaders={}, Signature={}".format,
                  st.just(credential), st.one_of(junk, st.just("host;x-amz-date")), junk)))
    headers = [("host", draw(junk))]
    date = draw(st.one_of(st.none(), junk, st.just("20150830T123600Z"), st.just("Sun, 30 Aug 2015 12:36:00 GMT")))
    if date is not None:
        headers.append((draw(st.sampled_from(["x-amz-date", "date"])), date))
    if authorization is not None:
        headers.append(("authorization", authorization))
    headers += draw(st.lists(st.tuples(st.sampled_from(["x-amz-content-sha256", "x-amz-security-token", "x"]),
                                       junk), max_size=3))
    return HttpRequest(method=draw(junk), path=draw(junk), query=draw(junk), headers=tuple(headers),
                       body=draw(st.binary(max_size=20)))


@PROPERTY
@given(junk_requests(), st.sampled_from(["sts", "s3", "kms"]))
def test_arbitrary_input_gives_an_aws_error_never_a_crash_or_acceptance(request: HttpRequest, service: str) -> None:
    try:
        info = sigv4.parse_authorization(request, now=T0)
        if info is None:
            assert request.header("authorization") is None
            return
        sigv4.verify(request, info, SECRET, now=T0, service=service, valid_regions={"us-east-1"})
    except ServiceError as error:
        assert 400 <= error.status <= 501 and error.message
        return
    pytest.fail("a request with a made-up signature was accepted")


def test_s3_canonical_uri_keeps_plain_paths_and_encodes_the_rest() -> None:
    from cloudkeep.auth.sigv4 import canonical_uri
    assert canonical_uri("/bucket/dir/key-1_2.3~x", normalize_path=False) == "/bucket/dir/key-1_2.3~x"
    assert canonical_uri("/bucket/a b/c%20d/é", normalize_path=False) == "/bucket/a%20b/c%20d/%C3%A9"
    assert canonical_uri("/bucket/a+b/x=y", normalize_path=False) == "/bucket/a%2Bb/x%3Dy"
    assert canonical_uri("/", normalize_path=False) == canonical_uri("/") == "/"
