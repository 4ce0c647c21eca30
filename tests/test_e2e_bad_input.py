"""End to end: bad input on the wire gets the protocol's AWS error, never a 500, and writes nothing.

Raw HTTP (``http.client``) against the session's real server; requests that must get past
authentication are signed with botocore's ``SigV4Auth`` and the account's root key. Query
errors are an XML ``ErrorResponse`` in the service's namespace, JSON errors a ``__type`` body;
both carry the ``x-amzn-RequestId`` header.

AWS references:
- common errors, codes and statuses: https://docs.aws.amazon.com/IAM/latest/APIReference/CommonErrors.html
- ``InvalidAction`` "Could not find operation X for version V": https://github.com/fog/fog-aws/issues/368,
  https://github.com/aws/aws-cli/issues/37
- invalid region: SignatureDoesNotMatch "Credential should be scoped to a valid region, not 'r'. "
  (https://github.com/cognitect-labs/aws-api/issues/27)
- header section over 64 KB refused with 400 (ALB quotas:
  https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-limits.html;
  code as S3 names it: https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html)
"""

from __future__ import annotations

import datetime as _dt
import http.client
import json
import re
import socket
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from unittest import mock

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
KMS = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "TrentService.DescribeCustomKeyStores"}
IAM_NS = "https://iam.amazonaws.com/doc/2010-05-08/"
REQUEST_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


def _sign(account, service: str, body: bytes, headers: dict[str, str], *, method: str = "POST",
          path: str = "/", region: str = "us-east-1", when: _dt.datetime | None = None) -> dict[str, str]:
    request = AWSRequest(method=method, url=account.endpoint + path, data=body, headers=dict(headers))
    auth = SigV4Auth(Credentials(account.access_key_id, account.secret_access_key), service, region)
    if when is None:
        auth.add_auth(request)
    else:
        with mock.patch("botocore.auth.get_current_datetime", return_value=when):
            auth.add_auth(request)
    return dict(request.headers.items())


def _send(server, method: str, path: str = "/", body: bytes = b"", headers: dict[str, str] | None = None,
          timeout: float = 30) -> Reply:
    conn = http.client.HTTPConnection(server.host, server.port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        conn.close()


def _query(server, account, body: bytes, *, headers: dict[str, str] = FORM, service: str = "iam",
           method: str = "POST", path: str = "/", sign: bool = True, **kw) -> Reply:
    sent = _sign(account, service, body, headers, method=method, path=path, **kw) if sign else dict(headers)
    return _send(server, method, path, body, sent)


def _request_id(reply: Reply) -> str:
    rid = reply.headers.get("x-amzn-requestid", "")
    assert REQUEST_ID.fullmatch(rid), reply.headers
    return rid


def _xml_error(reply: Reply, status: int, code: str, message: str | None = None, *,
               namespace: str | None = IAM_NS) -> str:
    """Checks an AWS query error response; returns its message."""
    assert reply.status == status, (reply.status, reply.body[:500])
    assert "xml" in reply.headers.get("content-type", ""), reply.headers
    root = ET.fromstring(reply.body)
    ns = root.tag[1:].split("}")[0] if root.tag.startswith("{") else ""
    assert root.tag.endswith("ErrorResponse"), reply.body
    if namespace is not None:
        assert ns == namespace, reply.body
    q = f"{{{ns}}}" if ns else ""
    assert root.findtext(f"{q}Error/{q}Type") == "Sender"
    assert root.findtext(f"{q}Error/{q}Code") == code, reply.body
    found = root.findtext(f"{q}Error/{q}Message") or ""
    if message is not None:
        assert found == message
    assert root.findtext(f"{q}RequestId") == _request_id(reply)
    return found


def _json_error(reply: Reply, status: int, code: str, message: str | None = None) -> str:
    assert reply.status == status, (reply.status, reply.body[:500])
    assert "json" in reply.headers.get("content-type", ""), reply.headers
    doc = json.loads(reply.body)
    assert doc["__type"].rsplit("#", 1)[-1] == code, doc
    found = doc.get("message", doc.get("Message", ""))
    if message is not None:
        assert found == message
    _request_id(reply)
    return found


def _no_users(account) -> None:
    assert account.client("iam").list_users()["Users"] == []


def _create_user_body(name: str = "mallory", extra: bytes = b"") -> bytes:
    return b"Action=CreateUser&Version=2010-05-08&UserName=" + name.encode() + extra


# --- control: the raw-HTTP helpers get through when the request is good --------------------------


def test_control_signed_raw_create_user_succeeds(cloudkeep_server, cloudkeep_account):
    reply = _query(cloudkeep_server, cloudkeep_account, _create_user_body("ok-user"))
    assert reply.status == 200, reply.body
    assert b"<UserName>ok-user</UserName>" in reply.body
    assert [u["UserName"] for u in cloudkeep_account.client("iam").list_users()["Users"]] == ["ok-user"]


# --- malformed form bodies ------------------------------------------------------------------------


@pytest.mark.parametrize("extra", [
    pytest.param(b"%zz", id="bad-percent-escape"),
    pytest.param(b"%", id="truncated-escape"),
    pytest.param(b"%ff%fe", id="escaped-invalid-utf8"),
    pytest.param(b"\xff\xfe", id="raw-invalid-utf8"),
    pytest.param(b"&Path=%c3%28", id="invalid-utf8-in-other-member"),
])
def test_malformed_form_body_is_malformed_query_string_and_writes_nothing(cloudkeep_server, cloudkeep_account,
                                                                         extra):
    reply = _query(cloudkeep_server, cloudkeep_account, _create_user_body("mallory", extra))
    _xml_error(reply, 404, "MalformedQueryString", "The query string contains a syntax error.")
    _no_users(cloudkeep_account)


def test_invalid_utf8_in_query_string_of_get_is_malformed_query_string(cloudkeep_server, cloudkeep_account):
    path = "/?Action=CreateUser&Version=2010-05-08&UserName=%ff"
    reply = _query(cloudkeep_server, cloudkeep_account, b"", headers={}, method="GET", path=path)
    _xml_error(reply, 404, "MalformedQueryString")
    _no_users(cloudkeep_account)


def test_form_member_of_wrong_type_is_validation_error(cloudkeep_server, cloudkeep_account):
    reply = _query(cloudkeep_server, cloudkeep_account, b"Action=ListUsers&Version=2010-05-08&MaxItems=many")
    message = _xml_error(reply, 400, "ValidationError")
    assert "'many'" in message and "maxItems" in message


@pytest.mark.parametrize("content_type", ["application/json", "text/plain", "application/xml",
                                          "multipart/form-data; boundary=x"])
def test_query_post_with_wrong_content_type_is_415_in_xml(cloudkeep_server, cloudkeep_account, content_type):
    reply = _query(cloudkeep_server, cloudkeep_account, _create_user_body(),
                   headers={"Content-Type": content_type})
    _xml_error(reply, 415, "UnsupportedMediaType")
    _no_users(cloudkeep_account)


def test_query_body_over_one_mib_is_413_and_writes_nothing(cloudkeep_server, cloudkeep_account):
    body = _create_user_body("big", b"&Padding=" + b"a" * (1024 * 1024))
    reply = _query(cloudkeep_server, cloudkeep_account, body)
    _xml_error(reply, 413, "RequestEntityTooLarge")
    _no_users(cloudkeep_account)


def test_unsigned_form_body_over_the_protocol_limit_is_413(cloudkeep_server, cloudkeep_account):
    # 20 MiB: past the in-memory size, so the adapter spools it and routing refuses it
    body = _create_user_body("huge", b"&Padding=" + b"a" * (20 * 1024 * 1024 + 1))
    reply = _send(cloudkeep_server, "POST", "/", body, dict(FORM))  # unsigned: refused before routing
    _xml_error(reply, 413, "RequestEntityTooLarge", namespace=None)
    _no_users(cloudkeep_account)


# --- malformed JSON bodies (KMS, TrentService.DescribeCustomKeyStores, signed for kms) ----------------------------


def test_control_valid_json_request_reaches_authorization(cloudkeep_server, cloudkeep_account):
    # custom key stores are not implemented: a well-formed, authenticated request gets that far (501)
    reply = _query(cloudkeep_server, cloudkeep_account, b"{}", headers=KMS, service="kms")
    _json_error(reply, 501, "NotImplemented")


@pytest.mark.parametrize("body, message", [
    pytest.param(b"{not json", None, id="not-json"),
    pytest.param(b"{} trailing", None, id="trailing-garbage"),
    pytest.param(b"[1, 2]", "Start of list found where not expected", id="array"),
    pytest.param(b'"text"', None, id="string"),
    pytest.param(b'{"Limit": "many"}', "STRING_VALUE cannot be converted to Integer", id="wrong-member-type"),
    pytest.param(b'{"Limit": "\xff"}', None, id="invalid-utf8"),
    pytest.param(b'{"Marker": {"a": [}}', None, id="broken-nesting"),
])
def test_malformed_json_body_is_serialization_exception(cloudkeep_server, cloudkeep_account, body, message):
    reply = _query(cloudkeep_server, cloudkeep_account, body, headers=KMS, service="kms")
    _json_error(reply, 400, "SerializationException", message)


def test_deeply_nested_json_is_a_4xx_not_a_500(cloudkeep_server, cloudkeep_account):
    body = b'{"Marker": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    reply = _query(cloudkeep_server, cloudkeep_account, body, headers=KMS, service="kms")
    _json_error(reply, 400, "SerializationException")


def test_json_with_wrong_content_type_is_unknown_operation_404(cloudkeep_server, cloudkeep_account):
    # the JSON front end answers an unexpected media type as an unknown operation (rusoto#215)
    reply = _query(cloudkeep_server, cloudkeep_account, b"{}", headers={**KMS, "Content-Type": "text/plain"},
                   service="kms")
    _json_error(reply, 404, "UnknownOperationException")


def test_json_unknown_target_operation_is_unknown_operation(cloudkeep_server, cloudkeep_account):
    reply = _query(cloudkeep_server, cloudkeep_account, b"{}",
                   headers={**KMS, "X-Amz-Target": "TrentService.NoSuchThing"}, service="kms")
    _json_error(reply, 400, "UnknownOperationException")


def test_json_body_over_sixteen_mib_is_413_in_json(cloudkeep_server, cloudkeep_account):
    body = b'{"Marker": "' + b"a" * (16 * 1024 * 1024) + b'"}'
    reply = _query(cloudkeep_server, cloudkeep_account, body, headers=KMS, service="kms")
    _json_error(reply, 413, "RequestEntityTooLarge")


# --- routing: unknown services, unknown and missing actions, methods -------------------------------


def test_unknown_service_in_credential_scope_is_400_in_query_format(cloudkeep_server, cloudkeep_account):
    reply = _query(cloudkeep_server, cloudkeep_account, _create_user_body(), service="nosuchsvc")
    message = _xml_error(reply, 400, "UnknownService", namespace=None)
    assert "nosuchsvc" in message
    _no_users(cloudkeep_account)


def test_unknown_service_with_json_target_is_400_in_json_format(cloudkeep_server, cloudkeep_account):
    reply = _query(cloudkeep_server, cloudkeep_account, b"{}", headers=KMS, service="nosuchsvc")
    assert "nosuchsvc" in _json_error(reply, 400, "UnknownService")


def test_unknown_action_is_invalid_action_with_aws_message(cloudkeep_server, cloudkeep_account):
    reply = _query(cloudkeep_server, cloudkeep_account, b"Action=NoSuchAction&Version=2010-05-08&UserName=x")
    _xml_error(reply, 400, "InvalidAction", "Could not find operation NoSuchAction for version 2010-05-08")
    _no_users(cloudkeep_account)


@pytest.mark.parametrize("body", [b"Version=2010-05-08&UserName=x", b"Action=&UserName=x", b"",
                                  b"\x00\x01&&&===&Action"])
def test_missing_action_is_missing_action_400(cloudkeep_server, cloudkeep_account, body):
    reply = _query(cloudkeep_server, cloudkeep_account, body)
    _xml_error(reply, 400, "MissingAction")
    _no_users(cloudkeep_account)


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_method_that_does_not_fit_a_query_service_is_405_and_writes_nothing(cloudkeep_server,
                                                                            cloudkeep_account, method):
    path = "/?" + _create_user_body().decode()
    reply = _query(cloudkeep_server, cloudkeep_account, _create_user_body(), method=method, path=path)
    _xml_error(reply, 405, "MethodNotAllowed")
    _no_users(cloudkeep_account)


def test_get_to_a_json_service_is_405_in_json(cloudkeep_server, cloudkeep_account):
    reply = _query(cloudkeep_server, cloudkeep_account, b"", headers={"X-Amz-Target": KMS["X-Amz-Target"]},
                   service="kms", method="GET")
    _json_error(reply, 405, "MethodNotAllowed")


def test_get_is_a_valid_method_for_query(cloudkeep_server, cloudkeep_account):
    reply = _query(cloudkeep_server, cloudkeep_account, b"", headers={}, method="GET",
                   path="/?Action=ListUsers&Version=2010-05-08")
    assert reply.status == 200 and b"<ListUsersResult>" in reply.body


# --- authentication -------------------------------------------------------------------------------


def test_missing_authorization_is_missing_authentication_token_403(cloudkeep_server, cloudkeep_account):
    reply = _send(cloudkeep_server, "POST", "/", _create_user_body(), dict(FORM))
    _xml_error(reply, 403, "MissingAuthenticationToken", "Request is missing Authentication Token",
               namespace=None)
    _no_users(cloudkeep_account)


def test_missing_authorization_for_json_is_400_exception(cloudkeep_server):
    reply = _send(cloudkeep_server, "POST", "/", b"{}", dict(KMS))
    _json_error(reply, 400, "MissingAuthenticationTokenException", "Request is missing Authentication Token")


_NOW = _dt.datetime.now(_dt.timezone.utc)
_DAY = _NOW.strftime("%Y%m%d")
_DATE = {"X-Amz-Date": _NOW.strftime("%Y%m%dT%H%M%SZ")}   # current, so the skew check passes
MALFORMED_AUTHORIZATION = [
    pytest.param("AWS4-HMAC-SHA256 garbage", id="no-key-value-pairs"),
    pytest.param(f"AWS4-HMAC-SHA256 Credential=AKIAAAAAAAAAAAAAAAAA/{_DAY}/us-east-1/iam/aws4_request",
                 id="no-signature-or-signed-headers"),
    pytest.param(f"AWS4-HMAC-SHA256 Credential=AKIA/{_DAY}/us-east-1, SignedHeaders=host;x-amz-date, "
                 "Signature=abc", id="short-credential"),
    pytest.param("AWS4-HMAC-SHA512 Credential=a/b/c/d/e, SignedHeaders=host, Signature=abc",
                 id="unsupported-algorithm"),
    pytest.param("", id="empty"),
    pytest.param("AWS4-HMAC-SHA256 " + ",".join(["Signature=a"] * 500), id="repeated-parameters"),
]


@pytest.mark.parametrize("authorization", MALFORMED_AUTHORIZATION)
def test_malformed_authorization_is_incomplete_signature(cloudkeep_server, cloudkeep_account, authorization):
    reply = _send(cloudkeep_server, "POST", "/", _create_user_body(),
                  {**FORM, **_DATE, "Authorization": authorization})
    _xml_error(reply, 400, "IncompleteSignature", namespace=None)
    _no_users(cloudkeep_account)


@pytest.mark.parametrize("authorization", MALFORMED_AUTHORIZATION[:3])
def test_malformed_authorization_for_json_is_incomplete_signature_exception(cloudkeep_server, authorization):
    reply = _send(cloudkeep_server, "POST", "/", b"{}", {**KMS, **_DATE, "Authorization": authorization})
    _json_error(reply, 400, "IncompleteSignatureException")


def test_authorization_without_any_date_is_incomplete_signature(cloudkeep_server, cloudkeep_account):
    auth = (f"AWS4-HMAC-SHA256 Credential=AKIAAAAAAAAAAAAAAAAA/{_DAY}/us-east-1/iam/aws4_request, "
            "SignedHeaders=host, Signature=" + "0" * 64)
    reply = _send(cloudkeep_server, "POST", "/", _create_user_body(), {**FORM, "Authorization": auth})
    _xml_error(reply, 400, "IncompleteSignature", namespace=None)
    _no_users(cloudkeep_account)


def test_credential_scope_with_invalid_region_is_signature_does_not_match(cloudkeep_server, cloudkeep_account):
    reply = _query(cloudkeep_server, cloudkeep_account, _create_user_body(), region="xx-nowhere-9")
    message = _xml_error(reply, 403, "SignatureDoesNotMatch")
    assert message.startswith("Credential should be scoped to a valid region, not 'xx-nowhere-9'.")
    _no_users(cloudkeep_account)


def test_invalid_region_for_json_is_invalid_signature_exception(cloudkeep_server, cloudkeep_account):
    reply = _query(cloudkeep_server, cloudkeep_account, b"{}", headers=KMS, service="kms", region="xx-nowhere-9")
    message = _json_error(reply, 400, "InvalidSignatureException")
    assert message.startswith("Credential should be scoped to a valid region, not 'xx-nowhere-9'.")


def test_invalid_region_message_is_exactly_aws_text(cloudkeep_server, cloudkeep_account):
    # AWS: "Credential should be scoped to a valid region, not 'ap-southeast-2'. " (trailing space)
    # https://github.com/cognitect-labs/aws-api/issues/27
    reply = _query(cloudkeep_server, cloudkeep_account, _create_user_body(), region="xx-nowhere-9")
    _xml_error(reply, 403, "SignatureDoesNotMatch",
               "Credential should be scoped to a valid region, not 'xx-nowhere-9'. ")


def _minutes_ago(minutes: int) -> _dt.datetime:
    # botocore formats the naive UTC datetime it gets from get_current_datetime
    return _dt.datetime.now(_dt.timezone.utc).replace(tzinfo=None) - _dt.timedelta(minutes=minutes)


def test_request_dated_twenty_minutes_ago_is_signature_expired(cloudkeep_server, cloudkeep_account):
    reply = _query(cloudkeep_server, cloudkeep_account, _create_user_body(), when=_minutes_ago(20))
    message = _xml_error(reply, 403, "SignatureDoesNotMatch")
    assert re.fullmatch(r"Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z "
                        r"\(\d{8}T\d{6}Z - 15 min\.\)", message), message
    _no_users(cloudkeep_account)


def test_request_dated_five_minutes_ago_is_accepted(cloudkeep_server, cloudkeep_account):
    reply = _query(cloudkeep_server, cloudkeep_account, _create_user_body("recent"), when=_minutes_ago(5))
    assert reply.status == 200, reply.body


def test_request_dated_twenty_minutes_ago_for_json_is_invalid_signature_exception(cloudkeep_server,
                                                                                   cloudkeep_account):
    reply = _query(cloudkeep_server, cloudkeep_account, b"{}", headers=KMS, service="kms", when=_minutes_ago(20))
    assert _json_error(reply, 400, "InvalidSignatureException").startswith("Signature expired: ")


# --- absurd headers -------------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [
    pytest.param({"X-Big": "a" * 200_000}, id="one-200KB-header"),
    pytest.param({"X-Big": "a" * 8_000_000}, id="one-8MB-header"),
    pytest.param({f"X-H{i}": "v" * 64 for i in range(5_000)}, id="5000-headers"),
])
def test_absurd_header_section_is_a_4xx_in_aws_format(cloudkeep_server, cloudkeep_account, headers):
    signed = _sign(cloudkeep_account, "iam", _create_user_body(), FORM)
    try:
        reply = _send(cloudkeep_server, "POST", "/", _create_user_body(), {**signed, **headers}, timeout=60)
    except (ConnectionError, socket.timeout, http.client.HTTPException) as error:  # pragma: no cover
        pytest.fail(f"the server dropped or hung on an oversized header section: {error!r}")
    assert 400 <= reply.status < 500, reply.status
    _xml_error(reply, 400, "RequestHeaderSectionTooLarge",
               "Your request header section exceeds the maximum allowed size.", namespace=None)
    _no_users(cloudkeep_account)
    # and the server still serves
    assert cloudkeep_account.client("sts").get_caller_identity()["Account"] == cloudkeep_account.account_id


def test_ordinary_large_headers_are_still_served(cloudkeep_server, cloudkeep_account):
    body = b"Action=ListUsers&Version=2010-05-08"
    signed = _sign(cloudkeep_account, "iam", body, {**FORM, "X-Padding": "p" * 8000})
    reply = _send(cloudkeep_server, "POST", "/", body, signed)
    assert reply.status == 200, reply.body


# --- never a 500 ----------------------------------------------------------------------------------


_FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                       HealthCheck.too_slow])


@_FUZZ
@given(st.binary(max_size=300))
def test_arbitrary_form_bodies_never_get_a_500(cloudkeep_server, cloudkeep_account, tail):
    body = b"Action=CreateAccessKey&Version=2010-05-08&" + tail
    reply = _query(cloudkeep_server, cloudkeep_account, body)
    assert reply.status < 500, reply.body
    _request_id(reply)
    if reply.status >= 400:
        _xml_error(reply, reply.status, ET.fromstring(reply.body).findtext(f"{{{IAM_NS}}}Error/{{{IAM_NS}}}Code"))


@_FUZZ
@given(st.one_of(st.binary(max_size=300),
                 st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                              lambda inner: st.lists(inner, max_size=4)
                              | st.dictionaries(st.sampled_from(["Limit", "Marker", "x"]), inner, max_size=3),
                              max_leaves=12).map(lambda v: json.dumps(v).encode())))
def test_arbitrary_json_bodies_never_get_a_500(cloudkeep_server, cloudkeep_account, body):
    reply = _query(cloudkeep_server, cloudkeep_account, body, headers=KMS, service="kms")
    assert reply.status < 500 or reply.status == 501, reply.body
    doc = json.loads(reply.body)
    assert "__type" in doc
    _request_id(reply)


@_FUZZ
@given(st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=200))
def test_arbitrary_authorization_headers_never_get_a_500(cloudkeep_server, cloudkeep_account, authorization):
    reply = _send(cloudkeep_server, "POST", "/", _create_user_body("fuzzed"),
                  {**FORM, **_DATE, "Authorization": "AWS4-HMAC-SHA256 " + authorization})
    assert 400 <= reply.status < 500, reply.body
    _request_id(reply)
