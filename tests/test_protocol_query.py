"""The query protocol (IAM, STS) server side, with botocore as the oracle in both directions.

- every input case of botocore's protocol suite, in reverse: the case's HTTP request → our parser
  → the case's params;
- every output case: the case's result → our serializer → botocore's QueryParser → the result;
- the real IAM and STS models: botocore's client serializer → our parser, our serializer →
  botocore's parser;
- malformed input of every kind ends as a 4xx ServiceError, never another exception.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.model import OperationModel, ServiceModel
from botocore.parsers import QueryParser, create_parser
from botocore.serialize import create_serializer
from botocore.utils import parse_timestamp, percent_encode_sequence
from dateutil.tz import tzutc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import conftest_testdata
from protocol_cases import load_cases, operation_for
from conftest_testdata import require_testdata
from cloudkeep.wire import errors
from cloudkeep.wire.http import HttpRequest, HttpResponse
from cloudkeep.wire.model import load_service
from cloudkeep.wire.query import (
    MAX_BODY_BYTES,
    operation_name,
    parse_request,
    serialize_error,
    serialize_response,
)

SKIPS: dict[str, dict[str, str]] = json.loads(
    (Path(__file__).parent / "protocol_skips" / "query.json").read_text())
FORM = (("content-type", "application/x-www-form-urlencoded; charset=utf-8"),)
CASE_NAMESPACE = "https://example.com/"


# --- loading botocore's protocol cases ------------------------------------------------------

def _load(direction: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [(suite, case) for suite, case, _ in load_cases(direction, "query.json")]

INPUT_CASES = _load("input")
OUTPUT_CASES = _load("output")


def _case_param(cases: list[tuple[dict[str, Any], dict[str, Any]]], section: str) -> list[Any]:
    params = []
    for suite, case in cases:
        reason = SKIPS[section].get(case["id"])
        marks = [pytest.mark.skip(reason=reason)] if reason else []
        params.append(pytest.param(suite, case, id=case["id"], marks=marks))
    return params


def _operation(suite: dict[str, Any], case: dict[str, Any], namespace: str | None = None) -> OperationModel:
    return operation_for(suite, case, namespace=namespace)

def test_testdata_present() -> None:
    require_testdata("botocore-protocols", "input", "query.json")
    require_testdata("botocore-protocols", "output", "query.json")
    assert INPUT_CASES and OUTPUT_CASES


def test_skip_list_names_only_existing_cases() -> None:
    require_testdata("botocore-protocols", "input", "query.json")
    input_ids = {case["id"] for _, case in INPUT_CASES}
    output_ids = {case["id"] for _, case in OUTPUT_CASES}
    assert set(SKIPS) == {"input", "output", "output_xml"}
    assert set(SKIPS["input"]) <= input_ids, set(SKIPS["input"]) - input_ids
    assert set(SKIPS["output"]) <= output_ids, set(SKIPS["output"]) - output_ids
    assert set(SKIPS["output_xml"]) <= output_ids, set(SKIPS["output_xml"]) - output_ids
    assert all(reason.strip() for section in SKIPS.values() for reason in section.values())


# --- input cases in reverse -----------------------------------------------------------------

def _request_from_case(serialized: dict[str, Any]) -> HttpRequest:
    parts = urlsplit(serialized.get("uri", "/"))
    headers = tuple((k.lower(), v) for k, v in serialized.get("headers", {}).items())
    return HttpRequest(method=serialized.get("method", "POST"), path=parts.path or "/",
                       query=parts.query, headers=headers,
                       body=serialized.get("body", "").encode("utf-8"))


def _normalize(value: Any) -> Any:
    """Comparable form: datetimes and epoch numbers → epoch seconds, bytes → text,
    special floats → the strings the cases use."""
    if isinstance(value, dict):
        return {k: _normalize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalize(v) for v in value]
    if isinstance(value, dt.datetime):
        return value.timestamp()
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
    return value


@pytest.mark.parametrize(("suite", "case"), _case_param(INPUT_CASES, "input"))
def test_input_case_parses_back_to_params(suite: dict[str, Any], case: dict[str, Any]) -> None:
    operation = _operation(suite, case)
    request = _request_from_case(case["serialized"])
    assert operation_name(request) == operation.name
    parsed = parse_request(operation, request)
    assert _normalize(parsed) == _normalize(case["params"])


def test_timestamps_parse_to_aware_utc_datetimes() -> None:
    suite, case = next((s, c) for s, c in INPUT_CASES if c["id"] == "QueryTimestampsInput")
    parsed = parse_request(_operation(suite, case), _request_from_case(case["serialized"]))
    expected = dt.datetime(2015, 1, 25, 8, 0, tzinfo=dt.timezone.utc)
    assert parsed == {"normalFormat": expected, "epochMember": expected, "epochTarget": expected}
    assert all(v.utcoffset() == dt.timedelta(0) for v in parsed.values())


# --- output cases through botocore's parser -------------------------------------------------

def _botocore_response(response: HttpResponse) -> dict[str, Any]:
    return {"status_code": response.status, "headers": dict(response.headers),
            "body": response.body, "context": {}}


def _compliance_timestamp(value: str) -> float:
    return parse_timestamp(value).astimezone(tzutc()).timestamp()


def _fixup(parsed: dict[str, Any]) -> dict[str, Any]:
    parsed.pop("ResponseMetadata", None)
    parsed = _normalize(parsed)
    if "Error" in parsed:
        parsed["Error"] = {k: v for k, v in parsed["Error"].items() if k in ("Code", "Message")}
        # an error without a message has no <Message> element (the case's own body too); the
        # cases spell that as ""
        parsed["Error"].setdefault("Message", "")
    return parsed


def _error_from_case(case: dict[str, Any]) -> errors.ServiceError:
    error = errors.service_error(case["errorCode"], case["response"]["status_code"],
                                 case.get("errorMessage", ""))
    error.extra = {k: v for k, v in case["error"].items() if k != "Message"}
    return error


@pytest.mark.parametrize(("suite", "case"), _case_param(OUTPUT_CASES, "output"))
def test_output_case_round_trips_through_botocore(suite: dict[str, Any], case: dict[str, Any]) -> None:
    operation = _operation(suite, case)
    output_shape = operation.output_shape
    if output_shape is not None and output_shape.members:
        # as botocore's own runner does: the cases' models omit the resultWrapper real models have
        output_shape.serialization["resultWrapper"] = f"{operation.name}Result"
    parser = QueryParser(timestamp_parser=_compliance_timestamp)
    if "error" in case:
        response = serialize_error(operation.service_model, _error_from_case(case), "foo-id")
        assert response.status == case["response"]["status_code"]
        wire = _botocore_response(response)
        parsed = parser.parse(wire, operation.output_shape)
        error_shape = operation.service_model.shape_for_error_code(parsed["Error"]["Code"])
        if error_shape is not None:
            parsed.update(parser.parse(wire, error_shape))
        expected = {"Error": {"Code": case["errorCode"], "Message": case.get("errorMessage", "")}}
        expected.update(case["error"])
    else:
        response = serialize_response(operation, case["result"], "foo-id")
        assert response.status == 200
        parsed = parser.parse(_botocore_response(response), operation.output_shape)
        assert parsed["ResponseMetadata"]["RequestId"] == "foo-id"
        expected = case["result"]
    assert dict(response.headers)["x-amzn-RequestId"] == "foo-id"
    assert dict(response.headers)["Content-Type"] == "text/xml"
    assert _fixup(parsed) == _normalize(expected)


def _canonical(xml: bytes | str, drop: tuple[str, ...] = ()) -> str:
    root = ET.fromstring(xml)
    for element in list(root):
        if element.tag.split("}")[-1] in drop:
            root.remove(element)
    for element in root.iter():
        element.text = (element.text or "").strip() or None
        element.tail = None
    return ET.canonicalize(ET.tostring(root, encoding="unicode"), strip_text=True)


OUTPUT_SUCCESS = [(s, c) for s, c in OUTPUT_CASES
                  if "error" not in c and c["response"].get("body")]


@pytest.mark.parametrize(("suite", "case"), _case_param(OUTPUT_SUCCESS, "output_xml"))
def test_output_xml_matches_case_body(suite: dict[str, Any], case: dict[str, Any]) -> None:
    """Stricter than the round trip: our XML is the case's body, up to whitespace."""
    operation = _operation(suite, case, namespace=CASE_NAMESPACE)
    response = serialize_response(operation, case["result"], "foo-id")
    assert _canonical(response.body, drop=("ResponseMetadata",)) == _canonical(case["response"]["body"])


def test_operation_without_output_has_no_result_element() -> None:
    suite, case = next((s, c) for s, c in OUTPUT_CASES if c["id"] == "QueryNoInputAndNoOutput")
    response = serialize_response(_operation(suite, case), {}, "rid-1")
    assert b"Result" not in response.body
    assert response.body.endswith(
        b"<ResponseMetadata><RequestId>rid-1</RequestId></ResponseMetadata>"
        b"</NoInputAndNoOutputResponse>")


# --- the real IAM and STS models ------------------------------------------------------------

IAM = load_service("iam")
STS = load_service("sts")


def _client_request(operation: OperationModel, params: dict[str, Any], method: str = "POST") -> HttpRequest:
    serialized = create_serializer("query").serialize_to_request(params, operation)
    encoded = percent_encode_sequence(serialized["body"])
    headers = tuple((k.lower(), v) for k, v in serialized["headers"].items())
    if method == "GET":
        return HttpRequest("GET", "/", encoded, (("host", "iam.amazonaws.com"),))
    return HttpRequest("POST", "/", "", headers + (("host", "iam.amazonaws.com"),),
                       encoded.encode("ascii"))


CLIENT_CASES = [
    (IAM, "CreateUser", {"UserName": "bob", "Path": "/eng/",
                         "PermissionsBoundary": "arn:aws:iam::123456789012:policy/b",
                         "Tags": [{"Key": "team", "Value": "sécurité & <ops>"},
                                  {"Key": "empty", "Value": ""}]}),
    (IAM, "ListUsers", {"PathPrefix": "/eng/", "Marker": "abc+/=", "MaxItems": 50}),
    (IAM, "ListUsers", {}),
    (IAM, "PutUserPolicy", {"UserName": "bob", "PolicyName": "p",
                            "PolicyDocument": json.dumps({"Version": "2012-10-17", "Statement": [
                                {"Effect": "Allow", "Action": "s3:*", "Resource": "*",
                                 "Condition": {"StringLike": {"s3:prefix": ["a b+c%d/ü"]}}}]})}),
    (IAM, "CreateRole", {"RoleName": "r", "AssumeRolePolicyDocument": "{}",
                         "MaxSessionDuration": 7200, "Tags": []}),
    (IAM, "UpdateAccountPasswordPolicy", {"MinimumPasswordLength": 12,
                                          "RequireSymbols": True, "RequireNumbers": False}),
    (IAM, "CreateOpenIDConnectProvider", {"Url": "https://example.com",
                                          "ClientIDList": ["a", "b"],
                                          "ThumbprintList": ["c" * 40]}),
    (IAM, "UploadSSHPublicKey", {"UserName": "bob", "SSHPublicKeyBody": "ssh-rsa AAAA"}),
    (STS, "GetCallerIdentity", {}),
    (STS, "AssumeRole", {"RoleArn": "arn:aws:iam::123456789012:role/r", "RoleSessionName": "sess",
                         "DurationSeconds": 900,
                         "PolicyArns": [{"arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}],
                         "Tags": [{"Key": "k", "Value": "v"}], "TransitiveTagKeys": ["k"],
                         "SerialNumber": "arn:aws:iam::123456789012:mfa/bob", "TokenCode": "123456"}),
]


@pytest.mark.parametrize("method", ["POST", "GET"])
@pytest.mark.parametrize(("service", "name", "params"), CLIENT_CASES,
                         ids=[f"{s.service_name}-{n}-{i}" for i, (s, n, _) in enumerate(CLIENT_CASES)])
def test_botocore_client_request_parses_back(service: ServiceModel, name: str,
                                             params: dict[str, Any], method: str) -> None:
    operation = service.operation_model(name)
    request = _client_request(operation, params, method)
    assert operation_name(request) == name
    assert parse_request(operation, request) == params


def test_blob_member_decodes_to_bytes_and_bad_base64_is_refused() -> None:
    suite, case = next((s, c) for s, c in INPUT_CASES if c["id"] == "QuerySimpleInputParamsBlob")
    operation = _operation(suite, case)
    assert parse_request(operation, _request_from_case(case["serialized"])) == {"Qux": b"value"}
    with pytest.raises(errors.ValidationError, match="'qux'"):
        parse_request(operation, _post(b"Action=SimpleInputParams&Qux=not*base64"))


NOW = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
USER = {"Path": "/eng/", "UserName": "bob", "UserId": "AIDAEXAMPLEEXAMPLE01",
        "Arn": "arn:aws:iam::123456789012:user/eng/bob", "CreateDate": NOW,
        "PasswordLastUsed": NOW + dt.timedelta(days=1),
        "Tags": [{"Key": "team", "Value": "a<b>&c"}]}

SERVER_CASES = [
    (IAM, "CreateAccessKey", {"AccessKey": {"UserName": "bob", "AccessKeyId": "AKIAEXAMPLE",
                                            "Status": "Active", "SecretAccessKey": "s3cr3t/+=",
                                            "CreateDate": NOW}}),
    (IAM, "ListUsers", {"Users": [USER, {**USER, "UserName": "eve", "Tags": []}],
                        "IsTruncated": True, "Marker": "next"}),
    (IAM, "ListUsers", {"Users": [], "IsTruncated": False}),
    (IAM, "GetAccountSummary", {"SummaryMap": {"Users": 3, "Groups": 0}}),
    (IAM, "CreateVirtualMFADevice", {"VirtualMFADevice": {
        "SerialNumber": "arn:aws:iam::123456789012:mfa/bob",
        "Base32StringSeed": b"JBSWY3DPEHPK3PXP", "QRCodePNG": bytes(range(256))}}),
    (STS, "GetCallerIdentity", {"UserId": "AIDAEXAMPLE", "Account": "123456789012",
                                "Arn": "arn:aws:iam::123456789012:user/bob"}),
    (STS, "AssumeRole", {"Credentials": {"AccessKeyId": "ASIAEXAMPLE", "SecretAccessKey": "x",
                                         "SessionToken": "t",
                                         "Expiration": dt.datetime(2024, 1, 2, 3, 4, 5, 359000,
                                                                   tzinfo=dt.timezone.utc)},
                         "AssumedRoleUser": {"AssumedRoleId": "AROA:s",
                                             "Arn": "arn:aws:sts::123456789012:assumed-role/r/s"},
                         "PackedPolicySize": 6, "SourceIdentity": "me"}),
]


@pytest.mark.parametrize(("service", "name", "result"), SERVER_CASES,
                         ids=[f"{s.service_name}-{n}-{i}" for i, (s, n, _) in enumerate(SERVER_CASES)])
def test_response_parses_back_with_botocore(service: ServiceModel, name: str,
                                            result: dict[str, Any]) -> None:
    operation = service.operation_model(name)
    response = serialize_response(operation, result, "1b2c3d")
    parsed = create_parser("query").parse(_botocore_response(response), operation.output_shape)
    assert parsed.pop("ResponseMetadata")["RequestId"] == "1b2c3d"
    assert parsed == result


def test_response_envelope_is_aws_shaped() -> None:
    operation = IAM.operation_model("CreateAccessKey")
    result = SERVER_CASES[0][2]
    response = serialize_response(operation, result, "req-9")
    body = response.body.decode()
    assert body.startswith('<CreateAccessKeyResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">'
                           "<CreateAccessKeyResult><AccessKey>")
    assert "<CreateDate>2024-01-02T03:04:05Z</CreateDate>" in body
    assert body.endswith("</CreateAccessKeyResult><ResponseMetadata><RequestId>req-9</RequestId>"
                         "</ResponseMetadata></CreateAccessKeyResponse>")
    assert ("x-amzn-RequestId", "req-9") in response.headers


def test_sts_expiration_keeps_milliseconds() -> None:
    response = serialize_response(STS.operation_model("AssumeRole"), SERVER_CASES[-1][2], "r")
    assert b"<Expiration>2024-01-02T03:04:05.359Z</Expiration>" in response.body


def test_unknown_result_keys_are_not_serialized() -> None:
    response = serialize_response(STS.operation_model("GetCallerIdentity"),
                                  {"Account": "123456789012", "Secret": "leak"}, "r")
    assert b"leak" not in response.body and b"<Account>123456789012</Account>" in response.body


# --- errors ---------------------------------------------------------------------------------

def _parse_error(response: HttpResponse) -> dict[str, Any]:
    return create_parser("query").parse(_botocore_response(response), None)


def test_error_response_parses_in_botocore() -> None:
    error = errors.service_error("NoSuchEntity", 404, "The user with name <bob> & co cannot be found.")
    response = serialize_error(IAM, error, "err-1")
    assert response.status == 404
    parsed = _parse_error(response)
    assert parsed["Error"] == {"Type": "Sender", "Code": "NoSuchEntity",
                               "Message": "The user with name <bob> & co cannot be found."}
    assert parsed["ResponseMetadata"]["RequestId"] == "err-1"
    assert response.body.startswith(
        b'<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type>')


def test_error_uses_query_wire_identity_and_fault() -> None:
    response = serialize_error(STS, errors.InternalFailure("boom"), "e")
    assert response.status == 500
    assert _parse_error(response)["Error"]["Type"] == "Receiver"

    class JsonOnlyName(errors.ServiceError):
        code = "QueryName"; status = 403
        protocol_codes = {"json": ("JsonName", 400)}

    response = serialize_error(STS, JsonOnlyName("no"), "e")
    assert response.status == 403 and _parse_error(response)["Error"]["Code"] == "QueryName"


def test_error_headers_and_extra_members() -> None:
    error = errors.service_error("Throttling", 400, "Rate exceeded")
    error.headers = {"Retry-After": "1"}
    error.extra = {"Resource": "x<y", "Nested": {"Inner": "v"}, "Code": "Evil"}
    response = serialize_error(IAM, error, "e")
    assert ("Retry-After", "1") in response.headers
    error_element = ET.fromstring(response.body).find("{*}Error")
    assert error_element is not None
    assert error_element.findtext("{*}Code") == "Throttling"
    assert error_element.findtext("{*}Resource") == "x<y"
    assert error_element.findtext("{*}Nested/{*}Inner") == "v"
    assert len(error_element.findall("{*}Code")) == 1


# --- malformed input ------------------------------------------------------------------------

LIST_USERS = IAM.operation_model("ListUsers")
CREATE_USER = IAM.operation_model("CreateUser")


def _post(body: bytes, headers: tuple[tuple[str, str], ...] = FORM, query: str = "") -> HttpRequest:
    return HttpRequest("POST", "/", query, headers, body)


def test_wrong_type_is_a_validation_error_naming_the_member() -> None:
    with pytest.raises(errors.ValidationError) as caught:
        parse_request(LIST_USERS, _post(b"Action=ListUsers&Version=2010-05-08&MaxItems=abc"))
    assert caught.value.wire_identity("query") == ("ValidationError", 400)
    assert caught.value.message == ("1 validation error detected: Value 'abc' at 'maxItems' "
                                    "failed to satisfy constraint: Member must be a number")


def test_wrong_boolean_in_a_list_names_its_path() -> None:
    operation = IAM.operation_model("UpdateAccountPasswordPolicy")
    with pytest.raises(errors.ValidationError, match="'requireSymbols'"):
        parse_request(operation, _post(b"Action=UpdateAccountPasswordPolicy&RequireSymbols=yes"))


@pytest.mark.parametrize("body", [b"Action=ListUsers&Marker=%ff%fe", b"Action=ListUsers&Marker=%zz",
                                  b"Action=ListUsers&Marker=%4", b"Action=List\xffUsers"])
def test_undecodable_input_is_malformed_query_string(body: bytes) -> None:
    with pytest.raises(errors.MalformedQueryString):
        parse_request(LIST_USERS, _post(body))


def test_wrong_content_type_is_unsupported_media_type() -> None:
    request = _post(b'{"Action": "ListUsers"}', (("content-type", "application/json"),))
    with pytest.raises(errors.UnsupportedMediaType) as caught:
        operation_name(request)
    assert caught.value.status == 415


def test_oversized_body_is_rejected() -> None:
    body = b"Action=ListUsers&Marker=" + b"a" * MAX_BODY_BYTES
    with pytest.raises(errors.RequestEntityTooLarge):
        parse_request(LIST_USERS, _post(body))


def test_unknown_parameters_are_ignored_and_get_uses_the_query_string() -> None:
    request = HttpRequest("GET", "/", "Action=ListUsers&Version=2010-05-08&MaxItems=5&Bogus=1"
                          "&X-Amz-Signature=abc&Users.member.1=x", ())
    assert operation_name(request) == "ListUsers"
    assert parse_request(LIST_USERS, request) == {"MaxItems": 5}


def test_action_absent_gives_none() -> None:
    assert operation_name(_post(b"Version=2010-05-08")) is None
    assert operation_name(_post(b"Action=")) is None
    assert operation_name(HttpRequest("GET", "/", "", ())) is None


def test_list_items_are_ordered_by_index_not_by_arrival() -> None:
    body = b"Action=CreateUser&UserName=u&Tags.member.2.Key=b&Tags.member.1.Key=a&Tags.member.x.Key=c"
    assert parse_request(CREATE_USER, _post(body)) == {
        "UserName": "u", "Tags": [{"Key": "a"}, {"Key": "b"}]}


def test_deeply_nested_recursive_input_is_refused() -> None:
    suite, case = next((s, c) for s, c in INPUT_CASES if c["id"] == "NestedStructures")
    key = "Nested." + "RecursiveArg." * 200 + "StringArg"
    with pytest.raises(errors.ValidationError):
        parse_request(_operation(suite, case), _post(f"Action=NestedStructures&{key}=x".encode()))


def test_other_methods_are_not_allowed() -> None:
    with pytest.raises(errors.MethodNotAllowed):
        parse_request(LIST_USERS, HttpRequest("PUT", "/", "Action=ListUsers", ()))


# --- hypothesis: nothing but a dict or a 4xx ServiceError --------------------------------------

def _outcome(operation: OperationModel, request: HttpRequest) -> None:
    try:
        name = operation_name(request)
        assert name is None or isinstance(name, str)
        assert isinstance(parse_request(operation, request), dict)
    except errors.ServiceError as error:
        assert 400 <= error.wire_identity("query")[1] < 500, error


KEYS = st.sampled_from([
    "Action", "Version", "UserName", "Path", "MaxItems", "Marker", "Tags", "Tags.member",
    "Tags.member.1", "Tags.member.1.Key", "Tags.member.2.Value", "Tags.member.0.Key",
    "Tags.member.99999999999.Key", "Tags.1.Key", "RequireSymbols", "PolicyArns.member.1.arn",
    "DurationSeconds", "Tags.member.1", "", "."])
VALUES = st.one_of(st.text(max_size=20), st.sampled_from(["", "1", "-1", "true", "abc", "%", "%e9",
                                                          "%C3%A9", "+", "1e5", "NaN"]))
FORM_TEXT = st.lists(st.tuples(KEYS, VALUES), max_size=12).map(
    lambda pairs: "&".join(f"{k}={v}" for k, v in pairs))
HEADERS = st.lists(st.tuples(st.sampled_from(["content-type", "content-encoding", "host", "x-a"]),
                             st.one_of(st.text(max_size=30), st.sampled_from([
                                 "application/x-www-form-urlencoded",
                                 "application/x-www-form-urlencoded; charset=utf-8",
                                 "text/plain", "application/json"]))), max_size=3).map(tuple)
OPERATIONS = st.sampled_from([IAM.operation_model("CreateUser"), IAM.operation_model("ListUsers"),
                              IAM.operation_model("UpdateAccountPasswordPolicy"),
                              STS.operation_model("AssumeRole"), STS.operation_model("GetCallerIdentity")])


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(OPERATIONS, st.sampled_from(["GET", "POST", "PUT"]), st.binary(max_size=300),
       st.text(max_size=60), HEADERS)
def test_random_bytes_never_escape_as_other_exceptions(operation: OperationModel, method: str,
                                                       body: bytes, query: str,
                                                       headers: tuple[tuple[str, str], ...]) -> None:
    _outcome(operation, HttpRequest(method, "/", query, headers, body))


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(OPERATIONS, FORM_TEXT, FORM_TEXT, st.sampled_from(["GET", "POST"]))
def test_random_forms_give_params_or_4xx(operation: OperationModel, body: str, query: str,
                                         method: str) -> None:
    _outcome(operation, HttpRequest(method, "/", query, FORM, body.encode("utf-8")))

