"""The AWS rest-json protocol (wire/restjson.py), with botocore as the oracle in both directions.

- every case of botocore's rest-json protocol tests run in reverse: input cases parse the recorded
  HTTP request (labels matched against the operation's requestUri) back to the case's params;
  output cases serialize the case's result (or error) so that botocore's own parser reads back
  the same; client-only cases are on tests/protocol_skips/rest-json.json with a reason each;
- round trips of real models (Access Analyzer, Artifact, Lambda) through botocore's client
  serializer and response parser;
- AWS's answers to malformed requests (Smithy's restJson1 malformed-request tests);
- a property: arbitrary bytes and headers give a dict or a 4xx ServiceError, nothing else.
"""

from __future__ import annotations

import base64
import io
import json
import math
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from botocore.awsrequest import HeadersDict
from botocore.model import OperationModel, ServiceModel, Shape
from botocore.parsers import create_parser
from botocore.response import StreamingBody
from botocore.serialize import create_serializer
from botocore.utils import parse_timestamp, percent_encode_sequence
from hypothesis import HealthCheck, given, settings, strategies as st

from cloudkeep.wire import errors, restjson
from cloudkeep.wire.http import HttpRequest, HttpResponse
from cloudkeep.wire.model import load_service
from cloudkeep.wire.rest_common import match_request_uri
from protocol_cases import load_cases, operation_for
from conftest_testdata import data_root, require_testdata

FILE = "rest-json.json"
SKIPS: dict[str, dict[str, str]] = json.loads(
    (Path(__file__).parent / "protocol_skips" / "rest-json.json").read_text())
UTC = timezone.utc


# --- loading the cases --------------------------------------------------------------------------

def _load(direction: str) -> list[Any]:
    return [pytest.param(suite, case, id=case["id"],
                         marks=[pytest.mark.skip(reason=SKIPS[direction][case["id"]])]
                         if case["id"] in SKIPS[direction] else [])
            for suite, case, _ in load_cases(direction, FILE)]

INPUT_CASES = _load("input")
OUTPUT_CASES = _load("output")


def _operation(suite: dict, case: dict) -> OperationModel:
    return operation_for(suite, case)

def test_protocol_test_data_is_present() -> None:
    require_testdata("botocore-protocols", "input", FILE)
    require_testdata("botocore-protocols", "output", FILE)
    assert len(INPUT_CASES) >= 100 and len(OUTPUT_CASES) >= 85


def test_every_skipped_case_exists_in_the_data() -> None:
    require_testdata("botocore-protocols")
    for direction, cases in (("input", INPUT_CASES), ("output", OUTPUT_CASES)):
        ids = {param.values[1]["id"] for param in cases}
        unknown = set(SKIPS[direction]) - ids
        assert not unknown, f"{direction} skips name no case: {sorted(unknown)}"
        assert all(reason.strip() for reason in SKIPS[direction].values())


# --- value normalisation (shape-directed) -------------------------------------------------------

def _is_jsonvalue(shape: Shape) -> bool:
    return shape.type_name == "string" and bool(shape.serialization.get("jsonvalue"))


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
        return value.timestamp() if isinstance(value, datetime) else parse_timestamp(value).timestamp()
    if kind == "blob":
        if hasattr(value, "read"):
            value = value.read()
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


def _case_value(shape: Shape | None, params: dict) -> dict:
    """A case's params with jsonvalue header members decoded (the cases give the JSON text)."""
    if shape is None:
        return params
    return {k: (json.loads(v) if v is not None and _is_jsonvalue(shape.members[k]) else v)
            for k, v in params.items()}


def _assert_python_types(shape: Shape | None, value: Any) -> None:
    """Parsed params carry Python types: aware UTC datetimes, bytes, floats, ints."""
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
        assert type(value) is bytes or hasattr(value, "read")
    elif kind in ("float", "double"):
        assert type(value) is float
    elif kind in ("integer", "long"):
        assert type(value) is int
    elif kind == "string" and not shape.serialization.get("jsonvalue"):
        assert type(value) is str


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
    if _is_jsonvalue(shape):
        return json.loads(value)
    return value


def _request(serialized: dict) -> HttpRequest:
    path, _, query = serialized.get("uri", "/").partition("?")
    headers = tuple((k.lower(), v) for k, v in serialized.get("headers", {}).items())
    return HttpRequest(serialized.get("method", "POST"), path, query, headers,
                       serialized.get("body", "").encode("utf-8"))


def _labels(operation: OperationModel, request: HttpRequest) -> dict[str, str]:
    labels = match_request_uri(operation.http["requestUri"], request.path, request.query)
    assert labels is not None, f"{request.path}?{request.query} does not fit {operation.http['requestUri']}"
    return labels


def _botocore_response(resp: HttpResponse) -> dict:
    return {"status_code": resp.status, "headers": HeadersDict(dict(resp.headers)), "body": resp.body}


# --- botocore protocol cases, in reverse --------------------------------------------------------

@pytest.mark.parametrize(("suite", "case"), INPUT_CASES)
def test_input_case_parses_back_to_params(suite: dict, case: dict) -> None:
    operation = _operation(suite, case)
    request = _request(case["serialized"])
    params = restjson.parse_request(operation, request, labels=_labels(operation, request))
    _assert_python_types(operation.input_shape, params)
    expected = _case_value(operation.input_shape, case["params"])
    assert _norm(operation.input_shape, params) == _norm(operation.input_shape, expected)


@pytest.mark.parametrize(("suite", "case"), OUTPUT_CASES)
def test_output_case_round_trips_through_botocore(suite: dict, case: dict) -> None:
    operation = _operation(suite, case)
    service = operation.service_model
    parser = create_parser("rest-json")
    if "errorCode" not in case:
        result = _to_python(operation.output_shape, case["result"])
        resp = restjson.serialize_response(operation, result, "req-1")
        assert resp.status == case["response"]["status_code"]
        parsed = parser.parse(_botocore_response(resp), operation.output_shape)
        assert parsed.pop("ResponseMetadata")["RequestId"] == "req-1"
        expected = _case_value(operation.output_shape, case["result"])
        assert _norm(operation.output_shape, parsed) == _norm(operation.output_shape, expected)
        return
    code, status = case["errorCode"], case["response"]["status_code"]
    shape = service.shape_for_error_code(code)
    expected_error: dict = case.get("error", {})
    message_key = next((k for k in expected_error if k.lower() == "message"), None)
    error = errors.service_error(code, status, expected_error.get(message_key, "") if message_key else "")
    error.extra.update({k: _to_python(shape.members[k], v) for k, v in expected_error.items() if k != message_key})
    resp = restjson.serialize_error(service, error, "req-1")
    assert resp.status == status and dict(resp.headers)["x-amzn-errortype"] == code
    parsed = parser.parse(_botocore_response(resp), operation.output_shape)
    if (modeled := service.shape_for_error_code(parsed["Error"]["Code"])) is not None:
        parsed.update(parser.parse(_botocore_response(resp), modeled))  # as botocore's endpoint does
    assert parsed["Error"]["Code"] == code
    assert parsed["Error"]["Message"] == case.get("errorMessage", "")
    assert parsed["ResponseMetadata"]["RequestId"] == "req-1"
    for key, value in expected_error.items():
        assert _norm(shape.members[key], parsed[key]) == _norm(shape.members[key], value)


# --- real models: botocore's client in both directions ------------------------------------------

def _client_request(operation: OperationModel, params: dict) -> HttpRequest:
    wire = create_serializer("rest-json").serialize_to_request(params, operation)
    query = percent_encode_sequence(wire["query_string"]) if wire["query_string"] else ""
    body = wire["body"]
    body = body.encode() if isinstance(body, str) else bytes(body)
    return HttpRequest(wire["method"], wire["url_path"], query,
                       tuple((k.lower(), v) for k, v in wire["headers"].items()), body)


ANALYZER_ARN = "arn:aws:access-analyzer:us-east-1:111122223333:analyzer/main"
REAL_INPUTS = [
    ("accessanalyzer", "CreateAnalyzer", {
        "analyzerName": "main", "type": "ACCOUNT", "clientToken": "tok-1", "tags": {"team": "sec", "ü": "ñ"},
        "archiveRules": [{"ruleName": "public", "filter": {"isPublic": {"eq": ["false"]},
                                                           "resourceType": {"neq": ["AWS::S3::Bucket"]}}}]}),
    ("accessanalyzer", "CreateAnalyzer", {"analyzerName": "org", "type": "ORGANIZATION_UNUSED_ACCESS",
                                          "clientToken": "t", "configuration": {
                                              "unusedAccess": {"unusedAccessAge": 90}}}),
    ("accessanalyzer", "ListFindings", {"analyzerArn": ANALYZER_ARN, "maxResults": 50, "nextToken": "n/1+2",
                                        "filter": {"status": {"eq": ["ACTIVE", "ARCHIVED"]}},
                                        "sort": {"attributeName": "createdAt", "orderBy": "DESC"}}),
    ("artifact", "ListReports", {"maxResults": 10, "nextToken": "next page/+?&="}),
    ("artifact", "ListReports", {}),
    ("lambda", "Invoke", {"FunctionName": "arn:aws:lambda:us-east-1:111122223333:function:my fn/ü",
                          "InvocationType": "RequestResponse", "LogType": "Tail",
                          "ClientContext": base64.b64encode(b'{"custom":{}}').decode(),
                          "Payload": bytes(range(256)) * 2, "Qualifier": "$LATEST"}),
    ("lambda", "Invoke", {"FunctionName": "f", "Payload": b'{"key": "value"}'}),
    ("lambda", "Invoke", {"FunctionName": "f"}),
]


@pytest.mark.parametrize(("service", "name", "params"), REAL_INPUTS,
                         ids=[f"{s}-{n}-{i}" for i, (s, n, _) in enumerate(REAL_INPUTS)])
def test_request_from_botocore_client_parses_to_its_params(service: str, name: str, params: dict) -> None:
    operation = load_service(service).operation_model(name)
    request = _client_request(operation, params)
    parsed = restjson.parse_request(operation, request, labels=_labels(operation, request))
    assert parsed == params


def test_spooled_invoke_payload_is_read_from_the_file() -> None:
    operation = load_service("lambda").operation_model("Invoke")
    payload = b'{"big": "' + b"x" * 100_000 + b'"}'
    request = HttpRequest("POST", "/2015-03-31/functions/f/invocations", "", (), b"",
                          body_file=io.BytesIO(payload), body_size=len(payload))
    assert restjson.parse_request(operation, request, labels={"FunctionName": "f"}) == {
        "FunctionName": "f", "Payload": payload}


def test_streaming_payload_is_the_spooled_file_itself() -> None:
    suite = {"metadata": {"protocol": "rest-json", "apiVersion": "2020-01-01"}, "shapes": {
        "In": {"type": "structure", "payload": "Body", "members": {
            "Body": {"shape": "Stream"}, "Name": {"shape": "S", "location": "uri", "locationName": "Name"}}},
        "Stream": {"type": "blob", "streaming": True}, "S": {"type": "string"}}}
    operation = _operation(suite, {"given": {"name": "Put", "http": {"method": "PUT", "requestUri": "/{Name}"},
                                             "input": {"shape": "In"}}})
    spool = io.BytesIO(b"stream bytes")
    spool.seek(5)
    spooled = HttpRequest("PUT", "/n", "", (), b"", body_file=spool, body_size=12)
    params = restjson.parse_request(operation, spooled, labels={"Name": "n"})
    assert params["Body"] is spool and spool.read() == b"stream bytes"
    in_memory = HttpRequest("PUT", "/n", "", (), b"abc")
    assert restjson.parse_request(operation, in_memory, labels={"Name": "n"}) == {"Name": "n", "Body": b"abc"}


def _round_trip(service: str, name: str, result: dict) -> tuple[HttpResponse, dict]:
    operation = load_service(service).operation_model(name)
    resp = restjson.serialize_response(operation, result, "rid-9")
    wire = _botocore_response(resp)
    streaming = operation.has_streaming_output
    if streaming:  # as botocore's endpoint hands a payload body to the parser
        wire["body"] = StreamingBody(io.BytesIO(resp.body), len(resp.body))
    parsed = create_parser("rest-json").parse(wire, operation.output_shape)
    assert parsed.pop("ResponseMetadata")["RequestId"] == "rid-9"
    if streaming:
        member = operation.output_shape.serialization["payload"]
        parsed[member] = parsed[member].read()
    return resp, parsed


def test_list_findings_response_parses_back_in_botocore() -> None:
    when = datetime(2024, 2, 29, 23, 59, 58, 123000, tzinfo=UTC)
    result = {"findings": [{
        "id": "f-1", "principal": {"AWS": "*"}, "action": ["s3:GetObject"], "resource": "arn:aws:s3:::b",
        "isPublic": True, "resourceType": "AWS::S3::Bucket", "condition": {}, "createdAt": when,
        "analyzedAt": when, "updatedAt": datetime(2024, 3, 1, tzinfo=UTC), "status": "ACTIVE",
        "resourceOwnerAccount": "111122223333",
        "sources": [{"type": "POLICY", "detail": {"accessPointArn": "arn:aws:s3:::ap"}}]}],
        "nextToken": "n2"}
    resp, parsed = _round_trip("accessanalyzer", "ListFindings", result)
    assert resp.status == 200 and dict(resp.headers)["content-type"] == "application/json"
    assert json.loads(resp.body)["findings"][0]["createdAt"] == "2024-02-29T23:59:58.123Z"
    assert parsed == result


def test_create_analyzer_and_list_reports_responses_parse_back() -> None:
    assert _round_trip("accessanalyzer", "CreateAnalyzer", {"arn": ANALYZER_ARN})[1] == {"arn": ANALYZER_ARN}
    reports = {"reports": [{"id": "report-abc", "name": "SOC 2", "state": "PUBLISHED", "version": 3,
                            "periodStart": datetime(2023, 1, 1, tzinfo=UTC),
                            "periodEnd": datetime(2023, 12, 31, 23, 59, 59, tzinfo=UTC),
                            "acceptanceType": "EXPLICIT"}], "nextToken": "t"}
    assert _round_trip("artifact", "ListReports", reports)[1] == reports


def test_invoke_response_carries_payload_status_and_headers() -> None:
    result = {"StatusCode": 202, "FunctionError": "Unhandled", "LogResult": base64.b64encode(b"log").decode(),
              "Payload": b'{"errorMessage": "boom"}', "ExecutedVersion": "$LATEST"}
    resp, parsed = _round_trip("lambda", "Invoke", result)
    headers = dict(resp.headers)
    assert resp.status == 202 and resp.body == result["Payload"]
    assert headers["x-amz-function-error"] == "Unhandled" and headers["x-amzn-requestid"] == "rid-9"
    assert parsed == result


def test_no_content_status_has_no_body() -> None:
    operation = load_service("lambda").operation_model("DeleteCodeSigningConfig")
    assert operation.http["responseCode"] == 204 and operation.output_shape is not None
    resp = restjson.serialize_response(operation, {}, "r")
    assert (resp.status, resp.body) == (204, b"") and "content-type" not in dict(resp.headers)


def test_modeled_errors_round_trip_with_their_members() -> None:
    analyzer = load_service("accessanalyzer")
    error = errors.service_error("ValidationException", 400, "1 validation error detected")
    error.extra.update({"reason": "fieldValidationFailed", "fieldList": [{"name": "type", "message": "bad"}]})
    resp = restjson.serialize_error(analyzer, error, "rid")
    assert resp.status == 400 and dict(resp.headers)["x-amzn-errortype"] == "ValidationException"
    assert json.loads(resp.body) == {"message": "1 validation error detected", "reason": "fieldValidationFailed",
                                     "fieldList": [{"name": "type", "message": "bad"}]}
    parsed = create_parser("rest-json").parse(_botocore_response(resp), None)
    parsed.update(create_parser("rest-json").parse(_botocore_response(resp),
                                                   analyzer.shape_for_error_code("ValidationException")))
    assert parsed["Error"] == {"Code": "ValidationException", "Message": "1 validation error detected"}
    assert parsed["fieldList"] == [{"name": "type", "message": "bad"}]
    throttled = errors.service_error("ThrottlingException", 429, "slow down")
    throttled.extra["retryAfterSeconds"] = 7
    resp = restjson.serialize_error(analyzer, throttled, "rid")
    assert dict(resp.headers)["retry-after"] == "7" and json.loads(resp.body) == {"message": "slow down"}


def test_lambda_error_uses_capital_message_from_its_shape() -> None:
    error = errors.service_error("ResourceNotFoundException", 404, "Function not found: arn:aws:lambda:...")
    error.extra["Type"] = "User"
    resp = restjson.serialize_error(load_service("lambda"), error, "r")
    assert resp.status == 404
    assert json.loads(resp.body) == {"Type": "User", "Message": "Function not found: arn:aws:lambda:..."}
    parsed = create_parser("rest-json").parse(_botocore_response(resp), None)
    assert parsed["Error"] == {"Code": "ResourceNotFoundException", "Message": "Function not found: arn:aws:lambda:..."}


def test_validation_error_is_validation_exception_on_rest_json() -> None:
    assert errors.ValidationError("x").wire_identity("rest-json") == ("ValidationException", 400)
    resp = restjson.serialize_error(load_service("artifact"), errors.ValidationError("1 validation error detected: x"), "r")
    assert resp.status == 400 and dict(resp.headers)["x-amzn-errortype"] == "ValidationException"
    assert json.loads(resp.body) == {"message": "1 validation error detected: x"}


def test_framework_error_type_carries_the_coral_namespace_that_botocore_strips() -> None:
    resp = restjson.serialize_error(load_service("artifact"), errors.SerializationException("bad"), "r")
    assert dict(resp.headers)["x-amzn-errortype"] == (
        "SerializationException:http://internal.amazon.com/coral/com.amazon.coral.service/")
    assert json.loads(resp.body) == {"Message": "bad"}
    parsed = create_parser("rest-json").parse(_botocore_response(resp), None)
    assert parsed["Error"] == {"Code": "SerializationException", "Message": "bad"}


# --- malformed requests (Smithy restJson1 malformedRequests) ------------------------------------

def _parse_error(operation: OperationModel, request: HttpRequest, labels: dict | None = None) -> errors.ServiceError:
    with pytest.raises(errors.ServiceError) as caught:
        restjson.parse_request(operation, request, labels=labels if labels is not None else {})
    return caught.value


def _list_findings(body: bytes, content_type: str | None = "application/json") -> HttpRequest:
    headers = (("content-type", content_type),) if content_type is not None else ()
    return HttpRequest("POST", "/finding", "", headers, body)


LIST_FINDINGS = load_service("accessanalyzer").operation_model("ListFindings")


@pytest.mark.parametrize("body", [b"hi", b"{", b'{"analyzerArn": }', b"\xff{}", b'{"maxResults": NaN}',
                                  b"[" * 100_000, b"[]", b'"x"', b'{"analyzerArn": "\\ud800"}'])
def test_malformed_json_body_is_a_serialization_exception(body: bytes) -> None:
    error = _parse_error(LIST_FINDINGS, _list_findings(body))
    assert error.wire_identity("rest-json") == ("SerializationException", 400)


@pytest.mark.parametrize(("body", "message"), [
    ({"analyzerArn": 5}, "NUMBER_VALUE cannot be converted to String"),
    ({"maxResults": "5"}, "STRING_VALUE cannot be converted to Integer"),
    ({"maxResults": 2**31}, "NUMBER_VALUE cannot be converted to Integer"),
    ({"filter": []}, "Start of list found where not expected"),
])
def test_member_of_wrong_type_gets_corals_message(body: dict, message: str) -> None:
    error = _parse_error(LIST_FINDINGS, _list_findings(json.dumps(body).encode()))
    assert (error.code, error.status, error.message) == ("SerializationException", 400, message)


@pytest.mark.parametrize("content_type", ["application/hal+json", "text/plain", None])
def test_json_body_under_another_media_type_is_415(content_type: str | None) -> None:
    error = _parse_error(LIST_FINDINGS, _list_findings(b"{}", content_type))
    assert error.wire_identity("rest-json") == ("UnsupportedMediaTypeException", 415)


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8",
                                          "APPLICATION/JSON", "application/x-amz-json-1.1"])
def test_json_media_types_are_accepted(content_type: str) -> None:
    body = b'{"analyzerArn": "a", "maxResults": 3, "unknown": {"x": [1]}, "nextToken": null}'
    assert restjson.parse_request(LIST_FINDINGS, _list_findings(body, content_type), labels={}) == {
        "analyzerArn": "a", "maxResults": 3}


def test_empty_body_gives_no_members_whatever_the_media_type() -> None:
    assert restjson.parse_request(LIST_FINDINGS, _list_findings(b"", None), labels={}) == {}
    assert restjson.parse_request(LIST_FINDINGS, _list_findings(b"null"), labels={}) == {}


def test_body_over_the_limit_is_413() -> None:
    body = b'{"analyzerArn": "' + b"a" * restjson.MAX_BODY_BYTES + b'"}'
    assert _parse_error(LIST_FINDINGS, _list_findings(body)).wire_identity("rest-json") == ("RequestEntityTooLarge", 413)
    spooled = HttpRequest("POST", "/finding", "", (("content-type", "application/json"),), b"",
                          body_file=io.BytesIO(b"{}"), body_size=restjson.MAX_BODY_BYTES + 1)
    assert _parse_error(LIST_FINDINGS, spooled).status == 413


LIST_REPORTS = load_service("artifact").operation_model("ListReports")


@pytest.mark.parametrize("query", ["maxResults=abc", "maxResults=1.5", "maxResults=2147483648",
                                   "maxResults=", "nextToken=%FF", "maxResults=%ZZ"])
def test_malformed_query_value_is_a_serialization_exception(query: str) -> None:
    error = _parse_error(LIST_REPORTS, HttpRequest("GET", "/v1/report/list", query, ()))
    assert error.wire_identity("rest-json") == ("SerializationException", 400)


def test_query_values_are_typed_and_unknown_parameters_ignored() -> None:
    request = HttpRequest("GET", "/v1/report/list", "maxResults=-3&nextToken=a%20b%2Bc&other=1&maxResults=9", ())
    assert restjson.parse_request(LIST_REPORTS, request, labels={}) == {"maxResults": -3, "nextToken": "a b+c"}


INVOKE = load_service("lambda").operation_model("Invoke")


def test_labels_from_the_router_are_used_and_missing_ones_matched_from_the_path() -> None:
    request = HttpRequest("POST", "/2015-03-31/functions/my%20fn/invocations", "", (), b"")
    assert restjson.parse_request(INVOKE, request, labels={"FunctionName": "router value"}) == {
        "FunctionName": "router value"}
    assert restjson.parse_request(INVOKE, request, labels={}) == {"FunctionName": "my fn"}


def test_invoke_payload_is_raw_bytes_under_any_media_type() -> None:
    request = HttpRequest("POST", "/2015-03-31/functions/f/invocations", "",
                          (("content-type", "image/png"), ("x-amz-invocation-type", "Event")), b"\x00not json")
    assert restjson.parse_request(INVOKE, request, labels={"FunctionName": "f"}) == {
        "FunctionName": "f", "InvocationType": "Event", "Payload": b"\x00not json"}


def test_malformed_header_values_are_serialization_exceptions() -> None:
    suite = json.loads(require_testdata("botocore-protocols", "input", FILE).read_text())
    case = next(c for s in suite for c in s["cases"] if c["id"] == "RestJsonInputAndOutputWithNumericHeaders")
    operation = _operation(next(s for s in suite if case in s["cases"]), case)
    for header, value in (("x-integer", "12x"), ("x-integer", "2147483648"), ("x-long", "9223372036854775808"), ("x-boolean1", "yes"), ("x-double", "1.0.0"),
                          ("x-integerlist", "1, two"), ("x-timestamplist", "not a date")):
        request = HttpRequest("POST", "/InputAndOutputWithHeaders", "", ((header, value),))
        assert _parse_error(operation, request).wire_identity("rest-json") == ("SerializationException", 400), header


def test_result_the_model_cannot_carry_is_an_internal_failure() -> None:
    with pytest.raises(errors.InternalFailure):
        restjson.serialize_response(LIST_FINDINGS, {"findings": [{"createdAt": "yesterday"}]}, "r")


# --- property: nothing but a dict or a 4xx ServiceError -----------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)
MEMBERS = sorted(LIST_FINDINGS.input_shape.members) + ["x"]
BODIES = (st.binary(max_size=200)
          | JSON_VALUES.map(lambda v: json.dumps(v).encode())
          | st.dictionaries(st.sampled_from(MEMBERS), JSON_VALUES, max_size=5).map(lambda v: json.dumps(v).encode()))
HEADER_NAMES = st.sampled_from(["content-type", "x-amz-invocation-type", "x-amz-log-type", "x-amz-client-context",
                                "content-encoding", "x-other"])
HEADER_VALUES = st.sampled_from(["application/json", "text/plain", "gzip", "Event", ""]) | st.text(max_size=30)
HEADERS = st.lists(st.tuples(HEADER_NAMES, HEADER_VALUES), max_size=4)
HEADERS = HEADERS | HEADERS.map(lambda hs: [h for h in hs if h[0] != "content-type"] + [("content-type", "application/json")])
QUERIES = st.text(max_size=40) | st.lists(st.tuples(st.sampled_from(["maxResults", "nextToken", "Qualifier", "z"]),
                                                    st.text(max_size=12))).map(percent_encode_sequence)
OPERATIONS = [LIST_FINDINGS, LIST_REPORTS, INVOKE, load_service("accessanalyzer").operation_model("CreateAnalyzer"),
              load_service("accessanalyzer").operation_model("GetFinding")]


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=BODIES, headers=HEADERS, query=QUERIES, operation=st.sampled_from(OPERATIONS),
       labels=st.dictionaries(st.sampled_from(["FunctionName", "id", "x"]), st.text(max_size=10), max_size=2))
def test_any_request_gives_params_or_a_client_error(body: bytes, headers: list, query: str,
                                                    operation: OperationModel, labels: dict) -> None:
    request = HttpRequest(operation.http["method"], "/x", query, tuple(headers), body)
    try:
        params = restjson.parse_request(operation, request, labels=labels)
    except errors.ServiceError as error:
        assert 400 <= error.wire_identity("rest-json")[1] < 500
    else:
        assert isinstance(params, dict)
        assert set(params) <= set(operation.input_shape.members)
