"""The AWS json protocol (wire/jsonproto.py), with botocore as the oracle in both directions.

- every case of botocore's protocol tests for json (1.1), json_1_0 and json_1_0-query-compatible,
  run in reverse: input cases parse the recorded HTTP request back to the case's params; output
  cases serialize the case's result (or error) so that botocore's own parser reads back the same;
- round trips of real models (KMS) through botocore's client serializer and response parser;
- AWS's error behaviour for undecodable requests;
- a property: arbitrary bytes, JSON and headers give a dict or a 4xx ServiceError, nothing else.
"""

from __future__ import annotations

import base64
import gzip
import json
import math
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from botocore.model import OperationModel, ServiceModel, Shape
from botocore.parsers import create_parser
from botocore.serialize import create_serializer
from botocore.utils import parse_timestamp
from hypothesis import HealthCheck, given, settings, strategies as st

from cloudkeep.wire import errors, jsonproto
from cloudkeep.wire.http import HttpRequest, HttpResponse
from cloudkeep.wire.model import load_service
from protocol_cases import load_cases, operation_for
from conftest_testdata import data_root, require_testdata

FILES = ("json.json", "json_1_0.json", "json_1_0-query-compatible.json")
SKIPS: dict[str, dict[str, str]] = json.loads(
    (Path(__file__).parent / "protocol_skips" / "json.json").read_text())
UTC = timezone.utc


# --- loading the cases --------------------------------------------------------------------------

def _load(direction: str) -> list[Any]:
    return [pytest.param(suite, case, id=f"{name}:{case['id']}",
                         marks=[pytest.mark.skip(reason=SKIPS[direction][case["id"]])]
                         if case["id"] in SKIPS[direction] else [])
            for suite, case, name in load_cases(direction, *FILES)]

INPUT_CASES = _load("input")
OUTPUT_CASES = _load("output")


def _operation(suite: dict, case: dict) -> OperationModel:
    return operation_for(suite, case)

#: Output cases whose recorded body shows what a client must tolerate rather than what a server
#: sends; for them only the botocore round trip is checked, for every other case our body must
#: equal the recorded one.
CLIENT_TOLERANCE = {
    "AwsJson11DateTimeWithNegativeOffset": "a client must accept an ISO-8601 offset; servers send UTC 'Z'",
    "AwsJson11DateTimeWithPositiveOffset": "a client must accept an ISO-8601 offset; servers send UTC 'Z'",
    "handles_unexpected_json_output": "a client must ignore members its model lacks; a server sends none",
    "AwsJson10HandlesUnexpectedJsonOutput": "a client must ignore members its model lacks; a server sends none",
    "AwsJson11DeserializeIgnoreType": "a client must ignore __type inside a union; a server need not send it",
    "AwsJson10DeserializeIgnoreType": "a client must ignore __type inside a union; a server need not send it",
    "AwsJson11StructuresDontDeserializeNullValues": "a client must drop null members; a server omits them",
    "AwsJson10DeserializeAllowNulls": "a client must drop null members; a server omits them",
}


def test_protocol_test_data_is_present() -> None:
    for direction in ("input", "output"):
        for name in FILES:
            require_testdata("botocore-protocols", direction, name)
    assert len(INPUT_CASES) >= 70 and len(OUTPUT_CASES) >= 90


def test_every_skipped_case_exists_in_the_data() -> None:
    require_testdata("botocore-protocols")
    for direction, cases in (("input", INPUT_CASES), ("output", OUTPUT_CASES)):
        ids = {param.values[1]["id"] for param in cases}
        unknown = set(SKIPS[direction]) - ids
        assert not unknown, f"{direction} skips name no case: {sorted(unknown)}"
        if direction == "output":
            assert set(CLIENT_TOLERANCE) <= ids
        assert all(reason.strip() for reason in SKIPS[direction].values())


# --- value normalisation (shape-directed) -------------------------------------------------------

def _norm(shape: Shape | None, value: Any) -> Any:
    """A comparable form: timestamps as epoch floats, blobs as bytes, non-finite floats as words."""
    if shape is None or value is None:
        return value
    kind = shape.type_name
    if kind == "structure":
        if shape.is_document_type:
            return value
        return {k: _norm(shape.members[k], v) for k, v in value.items() if v is not None}
    if kind == "list":
        return [_norm(shape.member, v) for v in value]
    if kind == "map":
        return {k: _norm(shape.value, v) for k, v in value.items()}
    if kind == "timestamp":
        if isinstance(value, datetime):
            return value.timestamp()
        return parse_timestamp(value).timestamp()
    if kind == "blob":
        return value.encode() if isinstance(value, str) else bytes(value)
    if kind in ("float", "double"):
        if isinstance(value, str):
            return value
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return float(value)
    return value


def _assert_python_types(shape: Shape | None, value: Any) -> None:
    """Parsed params carry Python types: aware UTC datetimes, bytes, floats."""
    if shape is None or value is None:
        return
    kind = shape.type_name
    if kind == "structure" and not shape.is_document_type:
        for key, item in value.items():
            _assert_python_types(shape.members[key], item)
    elif kind == "list":
        for item in value:
            _assert_python_types(shape.member, item)
    elif kind == "map":
        for item in value.values():
            _assert_python_types(shape.value, item)
    elif kind == "timestamp":
        assert isinstance(value, datetime) and value.utcoffset() is not None and not value.utcoffset()
    elif kind == "blob":
        assert type(value) is bytes
    elif kind in ("float", "double"):
        assert type(value) is float
    elif kind in ("integer", "long"):
        assert type(value) is int


def _to_python(shape: Shape | None, value: Any) -> Any:
    """A case's result as a handler would return it: datetimes, bytes, real floats."""
    if shape is None or value is None:
        return value
    kind = shape.type_name
    if kind == "structure":
        if shape.is_document_type:
            return value
        return {k: _to_python(shape.members[k], v) for k, v in value.items()}
    if kind == "list":
        return [_to_python(shape.member, v) for v in value]
    if kind == "map":
        return {k: _to_python(shape.value, v) for k, v in value.items()}
    if kind == "timestamp":
        return parse_timestamp(value).astimezone(UTC)
    if kind == "blob":
        return value.encode() if isinstance(value, str) else value
    if kind in ("float", "double") and isinstance(value, str):
        return float(value.replace("Infinity", "inf"))
    return value


def _request(serialized: dict) -> HttpRequest:
    path, _, query = serialized.get("uri", "/").partition("?")
    headers = tuple((k.lower(), v) for k, v in serialized.get("headers", {}).items())
    return HttpRequest(serialized.get("method", "POST"), path, query, headers,
                       serialized.get("body", "").encode("utf-8"))


def _botocore_response(resp: HttpResponse) -> dict:
    return {"status_code": resp.status, "headers": dict(resp.headers), "body": resp.body}


# --- botocore protocol cases, in reverse --------------------------------------------------------

@pytest.mark.parametrize(("suite", "case"), INPUT_CASES)
def test_input_case_parses_back_to_params(suite: dict, case: dict) -> None:
    operation = _operation(suite, case)
    request = _request(case["serialized"])
    assert jsonproto.operation_name(operation.service_model, request) == operation.name
    params = jsonproto.parse_request(operation, request)
    _assert_python_types(operation.input_shape, params)
    assert _norm(operation.input_shape, params) == _norm(operation.input_shape, case["params"])


@pytest.mark.parametrize(("suite", "case"), OUTPUT_CASES)
def test_output_case_round_trips_through_botocore(suite: dict, case: dict) -> None:
    operation = _operation(suite, case)
    service = operation.service_model
    parser = create_parser("json")
    content_type = f"application/x-amz-json-{suite['metadata']['jsonVersion']}"
    if "errorCode" not in case:
        resp = jsonproto.serialize_response(operation, _to_python(operation.output_shape, case["result"]), "req-1")
        assert resp.status == 200 and dict(resp.headers)["content-type"] == content_type
        parsed = parser.parse(_botocore_response(resp), operation.output_shape)
        assert parsed.pop("ResponseMetadata")["RequestId"] == "req-1"
        assert _norm(operation.output_shape, parsed) == _norm(operation.output_shape, case["result"])
        if case["id"] not in CLIENT_TOLERANCE:
            assert json.loads(resp.body) == json.loads(case["response"].get("body") or "{}")
        return
    code, status = case["errorCode"], case["response"]["status_code"]
    shape = service.shape_for_error_code(code)
    expected: dict = case.get("error", {})
    message_key = next((k for k in expected if k.lower() == "message"), None)
    sender = (shape.metadata.get("error") or {}).get("senderFault", status < 500) if shape else status < 500
    error = errors.service_error(code, status, expected.get(message_key, "") if message_key else "",
                                 sender_fault=sender)
    error.extra.update({k: _to_python(shape.members[k], v) for k, v in expected.items() if k != message_key})
    resp = jsonproto.serialize_error(service, error, "req-1")
    assert resp.status == status and dict(resp.headers)["content-type"] == content_type
    parsed = parser.parse(_botocore_response(resp), operation.output_shape)
    if (modeled := service.shape_for_error_code(parsed["Error"]["Code"])) is not None:
        parsed.update(parser.parse(_botocore_response(resp), modeled))  # as botocore's endpoint does
    assert parsed["Error"]["Code"] == code
    assert parsed["Error"]["Message"] == case.get("errorMessage", "")
    assert parsed["ResponseMetadata"]["RequestId"] == "req-1"
    for key, value in expected.items():
        assert _norm(shape.members[key], parsed[key]) == _norm(shape.members[key], value)


# --- real models: botocore's client in both directions ------------------------------------------

KMS_INPUTS = [
    ("CreateKey", {"Description": "payments", "KeyUsage": "ENCRYPT_DECRYPT", "MultiRegion": False,
                   "Tags": [{"TagKey": "team", "TagValue": "pay"}, {"TagKey": "env", "TagValue": "prod"}],
                   "Policy": json.dumps({"Version": "2012-10-17", "Statement": []})}),
    ("Encrypt", {"KeyId": "alias/app", "Plaintext": bytes(range(256)) * 3,
                 "EncryptionContext": {"purpose": "test", "ü": "ñ"}, "GrantTokens": ["t1", "t2"],
                 "EncryptionAlgorithm": "SYMMETRIC_DEFAULT", "DryRun": True}),
    ("ListKeys", {"Limit": 50, "Marker": "next-page"}),
    ("ListKeys", {}),
]


@pytest.mark.parametrize(("name", "params"), KMS_INPUTS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(KMS_INPUTS)])
def test_kms_request_from_botocore_client_parses_to_its_params(name: str, params: dict) -> None:
    kms = load_service("kms")
    operation = kms.operation_model(name)
    wire = create_serializer("json").serialize_to_request(params, operation)
    request = HttpRequest(wire["method"], wire["url_path"], "",
                          tuple((k.lower(), v) for k, v in wire["headers"].items()), wire["body"])
    assert jsonproto.operation_name(kms, request) == name
    assert jsonproto.parse_request(operation, request) == params


def test_kms_describe_key_response_parses_back_in_botocore() -> None:
    operation = load_service("kms").operation_model("DescribeKey")
    created = datetime(2024, 2, 29, 23, 59, 58, 123000, tzinfo=UTC)
    result = {"KeyMetadata": {
        "AWSAccountId": "111122223333", "KeyId": "1234abcd-12ab-34cd-56ef-1234567890ab",
        "Arn": "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "CreationDate": created, "DeletionDate": datetime(2030, 1, 1, tzinfo=UTC),
        "ValidTo": datetime(2031, 6, 1, 12, 0, 0, tzinfo=UTC), "Enabled": True,
        "KeyState": "PendingDeletion", "KeySpec": "SYMMETRIC_DEFAULT",
        "EncryptionAlgorithms": ["SYMMETRIC_DEFAULT"], "PendingDeletionWindowInDays": 7,
        "MultiRegionConfiguration": {"MultiRegionKeyType": "PRIMARY",
                                     "PrimaryKey": {"Arn": "arn:aws:kms:us-east-1:1:key/x", "Region": "us-east-1"},
                                     "ReplicaKeys": []},
    }}
    resp = jsonproto.serialize_response(operation, result, "rid-7")
    assert resp.status == 200
    assert dict(resp.headers) == {"content-type": "application/x-amz-json-1.1", "x-amzn-requestid": "rid-7"}
    assert json.loads(resp.body)["KeyMetadata"]["CreationDate"] == 1709251198.123
    parsed = create_parser("json").parse(_botocore_response(resp), operation.output_shape)
    assert parsed.pop("ResponseMetadata")["RequestId"] == "rid-7"
    assert parsed == result  # aware datetimes compare across time zones


def test_kms_modeled_error_round_trips_with_its_code_and_status() -> None:
    kms = load_service("kms")
    error = errors.service_error("NotFoundException", 400, "Key 'arn:...' does not exist")
    resp = jsonproto.serialize_error(kms, error, "rid")
    assert resp.status == 400 and "x-amzn-query-error" not in dict(resp.headers)
    assert json.loads(resp.body) == {"__type": "NotFoundException", "message": "Key 'arn:...' does not exist"}
    parsed = create_parser("json").parse(_botocore_response(resp), None)
    assert parsed["Error"] == {"Code": "NotFoundException", "Message": "Key 'arn:...' does not exist"}


def test_common_errors_use_their_json_identity() -> None:
    kms = load_service("kms")
    resp = jsonproto.serialize_error(kms, errors.InvalidClientTokenId("The security token included in the request is invalid."), "r")
    assert resp.status == 400
    assert json.loads(resp.body) == {"__type": "UnrecognizedClientException",
                                     "message": "The security token included in the request is invalid."}
    denied = json.loads(jsonproto.serialize_error(kms, errors.AccessDenied("no"), "r").body)
    assert denied == {"__type": "AccessDeniedException", "Message": "no"}


def test_query_compatible_error_by_shape_name_carries_the_query_code() -> None:
    suite = json.loads((require_testdata("botocore-protocols", "output", "json_1_0-query-compatible.json")).read_text())[1]
    operation = _operation(suite, suite["cases"][0])
    error = errors.service_error("CustomCodeError", 400, "Hi")
    resp = jsonproto.serialize_error(operation.service_model, error, "r")
    assert dict(resp.headers)["x-amzn-query-error"] == "Customized;Sender"
    assert json.loads(resp.body)["__type"] == "CustomCodeError"
    server_fault = errors.service_error("CustomCodeError", 500, "", sender_fault=False)
    assert dict(jsonproto.serialize_error(operation.service_model, server_fault, "r").headers)[
        "x-amzn-query-error"] == "Customized;Receiver"


def test_error_extras_are_written_with_the_error_shape() -> None:
    kms = load_service("kms")
    error = errors.service_error("KMSInvalidStateException", 400, "bad state")
    error.extra["Unmodeled"] = datetime(2020, 1, 1, tzinfo=UTC)
    body = json.loads(jsonproto.serialize_error(kms, error, "r").body)
    assert body == {"__type": "KMSInvalidStateException", "message": "bad state"}  # not in the shape
    bare = errors.ServiceError("x", extra={"When": datetime(2020, 1, 1, tzinfo=UTC), "Raw": b"\x00"})
    body = json.loads(jsonproto.serialize_error(kms, bare, "r").body)
    assert body == {"__type": "InternalFailure", "message": "x", "When": 1577836800, "Raw": "AA=="}


# --- routing ------------------------------------------------------------------------------------

def _kms_request(body: bytes = b"{}", target: str | None = "TrentService.ListKeys",
                 content_type: str | None = "application/x-amz-json-1.1", method: str = "POST",
                 extra: tuple[tuple[str, str], ...] = ()) -> HttpRequest:
    headers = tuple((k, v) for k, v in (("x-amz-target", target), ("content-type", content_type)) if v is not None)
    return HttpRequest(method, "/", "", headers + extra, body)


@pytest.mark.parametrize(("target", "expected"), [
    ("TrentService.ListKeys", "ListKeys"), ("TrentService.CreateKey", "CreateKey"),
    (None, None), ("", None), ("ListKeys", None), ("TrentService.", None), ("TrentService.NoSuchOp", None),
    ("Other.ListKeys", None), ("TrentService.ListKeys.", None), ("trentservice.ListKeys", None),
])
def test_operation_name_comes_from_x_amz_target(target: str | None, expected: str | None) -> None:
    assert jsonproto.operation_name(load_service("kms"), _kms_request(target=target)) == expected


def test_target_prefixes_cover_botocore_json_services() -> None:
    prefixes = jsonproto.target_prefix_services()
    assert prefixes["TrentService"] == "kms"
    assert prefixes["com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101"] == "cloudtrail"
    assert prefixes["AWSOrganizationsV20161128"] == "organizations"
    assert prefixes["StarlingDoveService"] == "config"
    assert "AWSSecurityTokenServiceV20110615" not in prefixes  # STS speaks query
    assert len(prefixes) > 100


# --- AWS's behaviour for undecodable requests ---------------------------------------------------

def _parse_error(request: HttpRequest, operation: str = "CreateKey") -> errors.ServiceError:
    with pytest.raises(errors.ServiceError) as caught:
        jsonproto.parse_request(load_service("kms").operation_model(operation), request)
    return caught.value


@pytest.mark.parametrize("body", [b"hi", b"{", b'{"Description": }', b"{'a': 1}", b"\xff\xfe{}",
                                  b'{"Description": NaN}', b"[" * 100_000, b" "])
def test_malformed_json_is_a_serialization_exception(body: bytes) -> None:
    error = _parse_error(_kms_request(body))
    assert error.wire_identity("json") == ("SerializationException", 400)


@pytest.mark.parametrize(("member", "value", "message"), [
    ("Description", 23, "NUMBER_VALUE cannot be converted to String"),
    ("Description", 34.5, "DECIMAL_VALUE cannot be converted to String"),
    ("Description", True, "TRUE_VALUE cannot be converted to String"),
    ("Description", [], "Unrecognized collection type class java.lang.String"),
    ("Description", {}, "Start of structure or map found where not expected"),
    ("BypassPolicyLockoutSafetyCheck", "true", "Unexpected token received from parser"),
    ("BypassPolicyLockoutSafetyCheck", 1, "NUMBER_VALUE cannot be converted to Boolean"),
    ("Tags", "x", "Unexpected field type"),
    ("Tags", {}, "Start of structure or map found where not expected"),
    ("Tags", [5], "Unexpected field type"),
    ("Tags", [[]], "Start of list found where not expected"),
    ("Tags", [{"TagKey": False}], "FALSE_VALUE cannot be converted to String"),
])
def test_member_of_wrong_type_gets_corals_message(member: str, value: Any, message: str) -> None:
    error = _parse_error(_kms_request(json.dumps({member: value}).encode()))
    assert (error.code, error.status, error.message) == ("SerializationException", 400, message)


@pytest.mark.parametrize(("value", "message"), [
    ("abc", "Base64 encoded length is expected a multiple of 4 bytes but found: 3"),
    ("ab$=", "Invalid last non-pad Base64 character dectected"),
    (12, "only base-64-encoded strings are convertible to bytes"),
])
def test_bad_blob_is_a_serialization_exception(value: Any, message: str) -> None:
    body = json.dumps({"KeyId": "k", "Plaintext": value}).encode()
    assert _parse_error(_kms_request(body), "Encrypt").message == message


@pytest.mark.parametrize("value", ["12", True, 2**31, [1], {"a": 1}])
def test_integer_member_rejects_non_integers(value: Any) -> None:
    error = _parse_error(_kms_request(json.dumps({"Limit": value}).encode()), "ListKeys")
    assert error.code == "SerializationException"


def test_integer_member_truncates_a_decimal_as_coral_does() -> None:
    operation = load_service("kms").operation_model("ListKeys")
    assert jsonproto.parse_request(operation, _kms_request(b'{"Limit": 10.9}')) == {"Limit": 10}


def test_timestamp_input_is_an_aware_utc_datetime() -> None:
    operation = load_service("kms").operation_model("ImportKeyMaterial")
    body = b'{"KeyId": "k", "ImportToken": "AAAA", "EncryptedKeyMaterial": "AAAA", "ValidTo": 1700000000.5}'
    params = jsonproto.parse_request(operation, _kms_request(body))
    assert params["ValidTo"] == datetime(2023, 11, 14, 22, 13, 20, 500000, tzinfo=UTC)
    assert params["ImportToken"] == b"\x00\x00\x00"
    assert _parse_error(_kms_request(b'{"ValidTo": "2023-01-01"}'), "ImportKeyMaterial").code == "SerializationException"


@pytest.mark.parametrize(("content_type", "ok"), [
    ("application/x-amz-json-1.1", True), ("application/x-amz-json-1.1; charset=utf-8", True),
    ("APPLICATION/X-AMZ-JSON-1.1", True), ("application/json", True),
    ("application/x-amz-json-1.0", False), ("text/plain", False), ("", False), (None, False),
    ("application/x-www-form-urlencoded", False),
])
def test_media_type_must_be_the_services_json_version(content_type: str | None, ok: bool) -> None:
    request = _kms_request(b'{"Limit": 5}', content_type=content_type)
    operation = load_service("kms").operation_model("ListKeys")
    if ok:
        assert jsonproto.parse_request(operation, request) == {"Limit": 5}
    else:
        assert _parse_error(request, "ListKeys").wire_identity("json") == ("UnknownOperationException", 404)


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "OPTIONS"])
def test_only_post_reaches_an_operation(method: str) -> None:
    assert _parse_error(_kms_request(method=method)).wire_identity("json") == ("UnknownOperationException", 404)


def test_body_over_the_limit_is_413() -> None:
    body = b'{"Description": "' + b"a" * jsonproto.MAX_BODY_BYTES + b'"}'
    assert _parse_error(_kms_request(body)).wire_identity("json") == ("RequestEntityTooLarge", 413)


def test_empty_body_null_body_and_unknown_members() -> None:
    operation = load_service("kms").operation_model("CreateKey")
    assert jsonproto.parse_request(operation, _kms_request(b"")) == {}
    assert jsonproto.parse_request(operation, _kms_request(b"null")) == {}
    body = b'{"Description": "d", "Nope": {"deep": [1]}, "Tags": null, "__type": "x"}'
    assert jsonproto.parse_request(operation, _kms_request(body)) == {"Description": "d"}


def test_top_level_must_be_an_object() -> None:
    assert _parse_error(_kms_request(b"[]")).message == "Start of list found where not expected"
    assert _parse_error(_kms_request(b'"x"')).message == "Unexpected field type"


def test_lone_surrogate_is_rejected_but_escaped_pairs_are_fine() -> None:
    assert _parse_error(_kms_request(b'{"Description": "\\ud800"}')).code == "SerializationException"
    operation = load_service("kms").operation_model("CreateKey")
    assert jsonproto.parse_request(operation, _kms_request(b'{"Description": "\\ud83d\\ude00"}')) == {
        "Description": "\U0001F600"}


def test_gzip_body_is_read_only_for_operations_that_take_compressed_input() -> None:
    suite = json.loads(require_testdata("botocore-protocols", "input", "json.json").read_text())
    case = next(c for s in suite for c in s["cases"] if c["id"] == "SDKAppliedContentEncoding_awsJson1_1")
    operation = _operation(next(s for s in suite if case in s["cases"]), case)
    body = gzip.compress(json.dumps({"data": "hello"}).encode())
    request = HttpRequest("POST", "/", "", (("content-type", "application/x-amz-json-1.1"),
                                            ("content-encoding", "gzip")), body)
    assert jsonproto.parse_request(operation, request) == {"data": "hello"}
    kms_request = _kms_request(body, extra=(("content-encoding", "gzip"),))
    assert _parse_error(kms_request).code == "SerializationException"


def test_result_the_model_cannot_carry_is_an_internal_failure() -> None:
    operation = load_service("kms").operation_model("DescribeKey")
    with pytest.raises(errors.InternalFailure):
        jsonproto.serialize_response(operation, {"KeyMetadata": {"CreationDate": "yesterday"}}, "r")


def test_non_finite_and_blob_outputs() -> None:
    operation = load_service("kms").operation_model("Encrypt")
    resp = jsonproto.serialize_response(operation, {"CiphertextBlob": b"\x01\x02", "KeyId": "k", "Extra": 1}, "r")
    assert json.loads(resp.body) == {"CiphertextBlob": base64.b64encode(b"\x01\x02").decode(), "KeyId": "k"}


# --- property: nothing but a dict or a 4xx ServiceError -----------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)
CREATE_KEY_MEMBERS = sorted(load_service("kms").operation_model("CreateKey").input_shape.members) + ["x"]
BODIES = (st.binary(max_size=200)
          | JSON_VALUES.map(lambda v: json.dumps(v).encode())
          | st.dictionaries(st.sampled_from(CREATE_KEY_MEMBERS), JSON_VALUES, max_size=5).map(
              lambda v: json.dumps(v).encode()))
HEADER_VALUES = st.sampled_from(["application/x-amz-json-1.1", "application/json", "application/x-amz-json-1.0",
                                 "TrentService.CreateKey", "TrentService.ListKeys", "gzip", ""]) | st.text(max_size=30)
HEADERS = st.lists(st.tuples(st.sampled_from(["content-type", "x-amz-target", "content-encoding", "x-other"]),
                             HEADER_VALUES), max_size=4)
# half the time a valid media type, so that bodies reach the JSON reader
HEADERS = HEADERS | HEADERS.map(
    lambda hs: [h for h in hs if h[0] != "content-type"] + [("content-type", "application/x-amz-json-1.1")])


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=BODIES, headers=HEADERS, method=st.sampled_from(["POST", "POST", "GET"]),
       operation=st.sampled_from(["CreateKey", "Encrypt", "ListKeys", "ImportKeyMaterial", "GetKeyPolicy"]))
def test_any_request_gives_params_or_a_client_error(body: bytes, headers: list, method: str, operation: str) -> None:
    kms = load_service("kms")
    request = HttpRequest(method, "/", "", tuple(headers), body)
    name = jsonproto.operation_name(kms, request)
    assert name is None or name in kms.operation_names
    try:
        params = jsonproto.parse_request(kms.operation_model(operation), request)
    except errors.ServiceError as error:
        assert 400 <= error.wire_identity("json")[1] < 500
    else:
        assert isinstance(params, dict)
