"""The rest-xml protocol (S3, Route 53, CloudFront) server side, with botocore as the oracle.

- every input case of botocore's protocol suite, in reverse: the case's HTTP request → our
  URI matcher and parser → the case's params;
- every output case: the case's result → our serializer → botocore's RestXMLParser → the result;
  error cases parse back to the same code, message and members;
- the real S3 model: botocore's client serializer → our parser; our serializer → botocore's
  parser (PutObject, GetObject, ListObjectsV2, PutBucketPolicy, CreateBucket, DeleteObjects,
  NoSuchKey);
- malformed input ends as a 4xx ServiceError, never another exception.
"""

from __future__ import annotations

import copy
import datetime as dt
import io
import json
import math
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.awsrequest import prepare_request_dict
from botocore.model import OperationModel, ServiceModel
from botocore.parsers import RestXMLParser, create_parser
from botocore.serialize import create_serializer
from botocore.utils import parse_timestamp
from dateutil.tz import tzutc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import conftest_testdata
from protocol_cases import load_cases, operation_for
from conftest_testdata import require_testdata
from cloudkeep.wire import errors
from cloudkeep.wire.http import HttpRequest, HttpResponse
from cloudkeep.wire.model import load_service
from cloudkeep.wire.rest_common import match_request_uri, split_header_list
from cloudkeep.wire.restxml import (
    MAX_BODY_BYTES,
    host_id,
    parse_request,
    serialize_error,
    serialize_response,
)

SKIPS: dict[str, dict[str, str]] = json.loads(
    (Path(__file__).parent / "protocol_skips" / "rest-xml.json").read_text())


# --- loading botocore's protocol cases ------------------------------------------------------

def _load(direction: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [(suite, case) for suite, case, _ in load_cases(direction, "rest-xml.json")]

INPUT_CASES = _load("input")
OUTPUT_CASES = _load("output")


def _case_param(cases: list[tuple[dict[str, Any], dict[str, Any]]], section: str) -> list[Any]:
    params = []
    for suite, case in cases:
        reason = SKIPS[section].get(case["id"])
        marks = [pytest.mark.skip(reason=reason)] if reason else []
        params.append(pytest.param(suite, case, id=case["id"], marks=marks))
    return params


def _operation(suite: dict[str, Any], case: dict[str, Any]) -> OperationModel:
    return operation_for(suite, case)

def test_testdata_present() -> None:
    require_testdata("botocore-protocols", "input", "rest-xml.json")
    require_testdata("botocore-protocols", "output", "rest-xml.json")
    assert len(INPUT_CASES) > 80 and len(OUTPUT_CASES) > 70


def test_skip_list_names_only_existing_cases() -> None:
    require_testdata("botocore-protocols", "input", "rest-xml.json")
    input_ids = {case["id"] for _, case in INPUT_CASES}
    output_ids = {case["id"] for _, case in OUTPUT_CASES}
    assert set(SKIPS) == {"input", "output"}
    assert set(SKIPS["input"]) <= input_ids, set(SKIPS["input"]) - input_ids
    assert set(SKIPS["output"]) <= output_ids, set(SKIPS["output"]) - output_ids
    assert all(reason.strip() for section in SKIPS.values() for reason in section.values())


# --- input cases in reverse -----------------------------------------------------------------

def _request_from_case(serialized: dict[str, Any]) -> HttpRequest:
    parts = urlsplit(serialized.get("uri", "/"))
    headers = tuple((k.lower(), v) for k, v in serialized.get("headers", {}).items())
    body = serialized.get("body", "")
    return HttpRequest(method=serialized.get("method", "POST"), path=parts.path or "/",
                       query=parts.query, headers=headers,
                       body=body.encode("utf-8") if isinstance(body, str) else body)


def _normalize(value: Any) -> Any:
    """Comparable form: datetimes and epoch numbers → epoch seconds, bytes → text,
    special floats → the strings the cases use."""
    if isinstance(value, dict):  # botocore sends nothing for None: it is the same as absent
        return {k: _normalize(v) for k, v in value.items() if v is not None}
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
    labels = match_request_uri(operation.http["requestUri"], request.path, request.query)
    assert labels is not None, (operation.http["requestUri"], request.path, request.query)
    parsed = parse_request(operation, request, labels=labels)
    assert _normalize(parsed) == _normalize(case["params"])


# --- output cases through botocore's parser -------------------------------------------------

def _botocore_response(response: HttpResponse) -> dict[str, Any]:
    headers = {}
    for name, value in response.headers:    # as urllib3 does: case-insensitive, repeats joined
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    from botocore.awsrequest import HeadersDict
    return {"status_code": response.status, "headers": HeadersDict(headers),
            "body": response.body, "context": {}}


def _compliance_timestamp(value: str) -> float:
    return parse_timestamp(value).astimezone(tzutc()).timestamp()


def _error_from_case(case: dict[str, Any]) -> errors.ServiceError:
    error = errors.service_error(case["errorCode"], case["response"]["status_code"],
                                 case.get("errorMessage", ""))
    error.extra = {k: v for k, v in case["error"].items() if k != "Message"}
    return error


@pytest.mark.parametrize(("suite", "case"), _case_param(OUTPUT_CASES, "output"))
def test_output_case_round_trips_through_botocore(suite: dict[str, Any], case: dict[str, Any]) -> None:
    operation = _operation(suite, case)
    parser = RestXMLParser(timestamp_parser=_compliance_timestamp)
    if "error" in case:
        response = serialize_error(operation.service_model, _error_from_case(case), "foo-id")
        assert response.status == case["response"]["status_code"]
        wire = _botocore_response(response)
        parsed = parser.parse(wire, operation.output_shape)
        assert parsed["ResponseMetadata"]["RequestId"] == "foo-id"
        error_shape = operation.service_model.shape_for_error_code(parsed["Error"]["Code"])
        assert error_shape is not None
        modeled = parser.parse(wire, error_shape)
        modeled.pop("ResponseMetadata", None)
        assert parsed["Error"]["Code"] == case["errorCode"]
        assert parsed["Error"].get("Message", "") == case.get("errorMessage", "")
        assert _normalize(modeled) == _normalize(case["error"])
        return
    response = serialize_response(operation, case["result"], "foo-id")
    assert response.status == case["response"]["status_code"]
    parsed = parser.parse(_botocore_response(response), operation.output_shape)
    assert parsed.pop("ResponseMetadata")["RequestId"] == "foo-id"
    assert _normalize(parsed) == _normalize(case["result"])


def _output_case(case_id: str) -> tuple[OperationModel, dict[str, Any]]:
    suite, case = next((s, c) for s, c in OUTPUT_CASES if c["id"] == case_id)
    return _operation(suite, case), case


def test_skipped_output_cases_still_match_the_case_wire() -> None:
    """The output cases botocore's parser cannot read back: our wire is the case's."""
    require_testdata("botocore-protocols", "output", "rest-xml.json")
    for case_id in ("HttpPayloadTraitsWithNoBlobBody", "RestXmlHttpPayloadWithUnsetUnion"):
        operation, case = _output_case(case_id)
        assert serialize_response(operation, case["result"], "r").body == b""
    operation, case = _output_case("InputAndOutputWithTimestampHeaders")
    headers = dict(serialize_response(operation, case["result"], "r").headers)
    assert headers["X-TimestampList"] == case["response"]["headers"]["X-TimestampList"]
    operation, case = _output_case("IgnoreQueryParamsInResponse")
    body = serialize_response(operation, case["result"], "r").body
    assert ET.fromstring(body).findtext("baz") == "bam"
    operation, case = _output_case("XmlLists")
    root = ET.fromstring(serialize_response(operation, case["result"], "r").body)
    assert [e.text for e in root.findall("flattenedList")] == ["hi", "bye"]


def test_xml_attribute_and_namespaces_are_written_as_the_case_bodies_are() -> None:
    suite, case = next((s, c) for s, c in OUTPUT_CASES if c["id"] == "XmlAttributesOnPayload")
    body = serialize_response(_operation(suite, case), case["result"], "r").body
    root = ET.fromstring(body)
    assert root.tag == "XmlAttributesPayloadResponse" and root.attrib == {"test": "test"}
    suite, case = next((s, c) for s, c in OUTPUT_CASES if c["id"] == "HttpPayloadWithXmlNamespaceAndPrefix")
    body = serialize_response(_operation(suite, case), case["result"], "r").body
    assert b'<PayloadWithXmlNamespaceAndPrefix xmlns:baz="http://foo.com">' in body


# --- URI templates and header lists ---------------------------------------------------------

@pytest.mark.parametrize(("template", "path", "query", "expected"), [
    ("/{Bucket}/{Key+}", "/b/dir/a%20b%2Bc.txt", "", {"Bucket": "b", "Key": "dir/a b+c.txt"}),
    ("/{Bucket}/{Key+}", "/b/", "", None),
    ("/{Bucket}", "/b", "", {"Bucket": "b"}),
    ("/{Bucket}", "/b/", "", {"Bucket": "b"}),
    ("/{Bucket}", "/b/k", "", None),
    ("/{Bucket}?uploads", "/b", "uploads", {"Bucket": "b"}),
    ("/{Bucket}?uploads", "/b", "prefix=x", None),
    ("/{Bucket}?list-type=2", "/b", "list-type=2&prefix=a", {"Bucket": "b"}),
    ("/{Bucket}?list-type=2", "/b", "list-type=1", None),
    ("/", "/", "", {}),
    ("/", "/b", "", None),
    ("/{Bucket}", "/%ff", "", None),
])
def test_match_request_uri(template: str, path: str, query: str, expected: dict | None) -> None:
    assert match_request_uri(template, path, query) == expected


def test_header_lists_unquote_items() -> None:
    assert split_header_list('a, "b,c", "d\\"e",f') == ["a", "b,c", 'd"e', "f"]


# --- the real S3 model ----------------------------------------------------------------------

def test_s3_patch_names_only_existing_shapes() -> None:
    """wire/patches/s3.json only adds to shapes botocore has (a typo would create a broken one)."""
    from botocore.loaders import Loader
    raw = Loader().load_service_model("s3", "service-2")
    patch = json.loads((Path(__file__).parent.parent / "src" / "cloudkeep" / "wire" / "patches"
                        / "s3.json").read_text())
    assert set(patch) == {"metadata", "shapes", "operations"}
    # the one operation S3 serves that botocore's model lacks: POST Object (browser form uploads,
    # README.md); its shapes are new, and every member names a shape botocore has
    assert set(patch["operations"]) == {"PostObject"} and "PostObject" not in raw["operations"]
    added = {"PostObjectRequest", "PostObjectOutput", "PostResponse"}
    assert not added & set(raw["shapes"])
    for name in added:
        for spec in patch["shapes"][name]["members"].values():
            assert spec["shape"] in raw["shapes"] or spec["shape"] in added
    assert set(patch["shapes"]) - added <= set(raw["shapes"]), set(patch["shapes"]) - added - set(raw["shapes"])
    for name, change in ((n, c) for n, c in patch["shapes"].items() if n not in added):
        assert set(change) <= {"locationName", "members"} and raw["shapes"][name]["type"] == "structure"
        for member, spec in change.get("members", {}).items():   # a header member S3 reads (README.md)
            assert member not in raw["shapes"][name]["members"] and spec["shape"] in raw["shapes"]
            assert spec["location"] == "header"


S3 = load_service("s3")
NOW = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)


def _client_request(operation: OperationModel, params: dict[str, Any]) -> tuple[HttpRequest, dict[str, str]]:
    serialized = create_serializer("rest-xml").serialize_to_request(params, operation)
    prepare_request_dict(serialized, "https://s3.us-east-1.amazonaws.com")
    parts = urlsplit(serialized["url"])
    headers = tuple((k.lower(), str(v)) for k, v in serialized["headers"].items())
    body = serialized["body"]
    if isinstance(body, str):
        body = body.encode("utf-8")
    request = HttpRequest(serialized["method"], parts.path, parts.query, headers, body or b"")
    labels = match_request_uri(operation.http["requestUri"], request.path, request.query)
    assert labels is not None
    return request, labels


CLIENT_CASES = [
    ("PutObject", {"Bucket": "my-bucket", "Key": "dir/sub dir/ü+&?.txt", "Body": b"hello \x00 world",
                   "ContentType": "text/plain", "CacheControl": "no-cache",
                   "Metadata": {"owner": "alice", "note": "a b"}, "ContentLength": 14,
                   "Expires": NOW, "ServerSideEncryption": "aws:kms",
                   "SSEKMSKeyId": "alias/k", "BucketKeyEnabled": True, "Tagging": "a=b&c=d",
                   "ObjectLockRetainUntilDate": NOW}),
    ("GetObject", {"Bucket": "b", "Key": "k", "Range": "bytes=0-9", "IfModifiedSince": NOW,
                   "VersionId": "v1", "ResponseContentType": "text/csv", "PartNumber": 2}),
    ("ListObjectsV2", {"Bucket": "b", "Prefix": "a/", "Delimiter": "/", "MaxKeys": 10,
                       "ContinuationToken": "tok+/=", "StartAfter": "a/b", "FetchOwner": True}),
    ("PutBucketPolicy", {"Bucket": "b", "Policy": json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": "*",
                                                 "Action": "s3:*", "Resource": "arn:aws:s3:::b/*",
                                                 "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]})}),
    ("CreateBucket", {"Bucket": "b", "ACL": "private",
                      "CreateBucketConfiguration": {"LocationConstraint": "eu-west-1"},
                      "ObjectLockEnabledForBucket": True}),
    ("CreateBucket", {"Bucket": "b"}),
    ("DeleteObjects", {"Bucket": "b", "Delete": {"Objects": [{"Key": "a<&>"}, {"Key": "b", "VersionId": "v"}],
                                                 "Quiet": True}}),
    ("PutObjectTagging", {"Bucket": "b", "Key": "k", "Tagging": {"TagSet": [{"Key": "k", "Value": "v"}]}}),
    ("PutBucketAcl", {"Bucket": "b", "AccessControlPolicy": {
        "Grants": [{"Grantee": {"Type": "CanonicalUser", "ID": "abc"}, "Permission": "READ"}],
        "Owner": {"ID": "abc"}}}),
    ("CreateMultipartUpload", {"Bucket": "b", "Key": "big", "ContentType": "video/mp4"}),
    ("CompleteMultipartUpload", {"Bucket": "b", "Key": "big", "UploadId": "u1",
                                 "MultipartUpload": {"Parts": [{"ETag": '"e1"', "PartNumber": 1},
                                                               {"ETag": '"e2"', "PartNumber": 2}]}}),
    ("CopyObject", {"Bucket": "b", "Key": "k", "CopySource": "src/a%20b",
                    "MetadataDirective": "REPLACE", "Metadata": {"x": "y"}}),
]


@pytest.mark.parametrize(("name", "params"), CLIENT_CASES,
                         ids=[f"{n}-{i}" for i, (n, _) in enumerate(CLIENT_CASES)])
def test_botocore_s3_request_parses_back(name: str, params: dict[str, Any]) -> None:
    operation = S3.operation_model(name)
    request, labels = _client_request(operation, params)
    assert parse_request(operation, request, labels=labels) == params


def test_put_object_spooled_body_is_handed_over_as_the_file() -> None:
    operation = S3.operation_model("PutObject")
    spooled = io.BytesIO(b"x" * 100)
    request = HttpRequest("PUT", "/b/k", "", (("content-length", "100"),), b"",
                          body_file=spooled, body_size=100)
    params = parse_request(operation, request, labels={"Bucket": "b", "Key": "k"})
    assert params["Body"] is spooled and params["Bucket"] == "b" and params["Key"] == "k"


def test_put_object_metadata_keys_arrive_lower_case_without_prefix() -> None:
    operation = S3.operation_model("PutObject")
    request = HttpRequest("PUT", "/b/k", "", (("x-amz-meta-colour", "blue"), ("x-amz-meta-a-b", "c"),
                                             ("x-amz-metadata-directive", "COPY")), b"x")
    params = parse_request(operation, request, labels={"Bucket": "b", "Key": "k"})
    assert params["Metadata"] == {"colour": "blue", "a-b": "c"}


def _parse(operation: OperationModel, response: HttpResponse) -> dict[str, Any]:
    return create_parser("rest-xml").parse(_botocore_response(response), operation.output_shape)


def test_get_object_response_headers_and_streaming_body() -> None:
    operation = S3.operation_model("GetObject")
    result = {"Body": b"\x00\x01binary\xff", "ContentType": "application/octet-stream",
              "ContentLength": 10, "ETag": '"abc"', "LastModified": NOW, "Metadata": {"owner": "alice"},
              "VersionId": "v1", "ServerSideEncryption": "AES256", "TagCount": 2,
              "ContentRange": "bytes 0-9/100", "AcceptRanges": "bytes", "DeleteMarker": False}
    response = serialize_response(operation, result, "REQ1")
    headers = dict(response.headers)
    assert response.status == 200 and response.body == b"\x00\x01binary\xff"
    assert headers["Last-Modified"] == "Tue, 02 Jan 2024 03:04:05 GMT"
    assert headers["x-amz-meta-owner"] == "alice" and headers["x-amz-request-id"] == "REQ1"
    assert headers["x-amz-id-2"] == host_id("REQ1")
    parsed = create_parser("rest-xml").parse(
        {**_botocore_response(response), "body": io.BytesIO(response.body)}, operation.output_shape)
    meta = parsed.pop("ResponseMetadata")
    assert meta["RequestId"] == "REQ1" and meta["HostId"] == host_id("REQ1")
    body = parsed.pop("Body")
    assert body.read() == result["Body"]
    assert parsed == {k: v for k, v in result.items() if k != "Body"}


def test_delete_object_answers_204_as_the_model_says() -> None:
    operation = S3.operation_model("DeleteObject")
    response = serialize_response(operation, {"DeleteMarker": True, "VersionId": "v"}, "r")
    assert response.status == 204 and response.body == b""
    assert ("x-amz-delete-marker", "true") in response.headers


def test_head_response_has_headers_and_no_body() -> None:
    operation = S3.operation_model("GetObject")
    response = serialize_response(operation, {"Body": b"abc", "ContentLength": 3}, "r", method="HEAD")
    assert response.body == b"" and ("Content-Length", "3") in response.headers


def test_list_objects_v2_response_parses_back() -> None:
    operation = S3.operation_model("ListObjectsV2")
    result = {"IsTruncated": True, "Contents": [
        {"Key": "a/1<&>.txt", "LastModified": NOW, "ETag": '"e1"', "Size": 10,
         "StorageClass": "STANDARD", "Owner": {"DisplayName": "me", "ID": "abc"},
         "ChecksumAlgorithm": ["CRC32"]},
        {"Key": "a/2.txt", "LastModified": NOW, "ETag": '"e2"', "Size": 0, "StorageClass": "STANDARD"}],
        "Name": "b", "Prefix": "a/", "Delimiter": "/", "MaxKeys": 2,
        "CommonPrefixes": [{"Prefix": "a/sub/"}], "KeyCount": 3,
        "ContinuationToken": "c", "NextContinuationToken": "n"}
    response = serialize_response(operation, result, "r")
    assert response.body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n'
                                    b'<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">')
    assert ("Content-Type", "application/xml") in response.headers
    parsed = _parse(operation, response)
    parsed.pop("ResponseMetadata")
    assert parsed == result


def test_get_bucket_policy_response_is_the_raw_document() -> None:
    operation = S3.operation_model("GetBucketPolicy")
    policy = '{"Version":"2012-10-17","Statement":[]}'
    response = serialize_response(operation, {"Policy": policy}, "r")
    assert response.body == policy.encode()
    assert _parse(operation, response)["Policy"] == policy


def test_copy_object_result_payload_and_header_members() -> None:
    operation = S3.operation_model("CopyObject")
    result = {"CopyObjectResult": {"ETag": '"e"', "LastModified": NOW}, "VersionId": "v2",
              "CopySourceVersionId": "v1"}
    response = serialize_response(operation, result, "r")
    assert b"<CopyObjectResult" in response.body
    parsed = _parse(operation, response)
    parsed.pop("ResponseMetadata")
    assert parsed == result


def test_acl_grantee_type_is_an_xsi_attribute() -> None:
    operation = S3.operation_model("GetBucketAcl")
    result = {"Owner": {"ID": "abc"}, "Grants": [
        {"Grantee": {"Type": "CanonicalUser", "ID": "abc"}, "Permission": "FULL_CONTROL"},
        {"Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"},
         "Permission": "READ"}]}
    response = serialize_response(operation, result, "r")
    assert b'xsi:type="CanonicalUser"' in response.body
    ET.fromstring(response.body)                         # namespaces declared: well-formed
    parsed = _parse(operation, response)
    parsed.pop("ResponseMetadata")
    assert parsed == result


# --- errors ---------------------------------------------------------------------------------

def _parse_error(response: HttpResponse) -> dict[str, Any]:
    return create_parser("rest-xml").parse(_botocore_response(response), None)


def test_s3_no_such_key_error_parses_in_botocore() -> None:
    error = errors.service_error("NoSuchKey", 404, "The specified key does not exist.")
    error.extra = {"Key": "a/b<c>.txt"}
    response = serialize_error(S3, error, "REQ9")
    assert response.status == 404
    assert response.body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey</Code>')
    headers = dict(response.headers)
    assert headers["Content-Type"] == "application/xml" and headers["x-amz-request-id"] == "REQ9"
    parsed = _parse_error(response)
    assert parsed["Error"] == {"Code": "NoSuchKey", "Message": "The specified key does not exist.",
                               "Key": "a/b<c>.txt"}
    assert parsed["ResponseMetadata"]["RequestId"] == "REQ9"
    assert parsed["ResponseMetadata"]["HostId"] == host_id("REQ9") == headers["x-amz-id-2"]


def test_s3_head_error_has_no_body() -> None:
    response = serialize_error(S3, errors.service_error("NoSuchKey", 404, "x"), "r", method="HEAD")
    assert response.status == 404 and response.body == b""
    assert _parse_error(response)["Error"]["Code"] == "404"       # as boto3 sees a HEAD 404


@pytest.mark.parametrize(("error", "code", "status", "message"), [
    (errors.InvalidClientTokenId("The security token included in the request is invalid."),
     "InvalidAccessKeyId", 403, "The AWS Access Key Id you provided does not exist in our records."),
    (errors.MissingAuthenticationToken("Request is missing Authentication Token"),
     "AccessDenied", 403, "Access Denied"),
    (errors.SignatureDoesNotMatch("The request signature we calculated does not match the signature "
                                  "you provided. Check your AWS Secret Access Key and signing method. "
                                  "Consult the service documentation for details."),
     "SignatureDoesNotMatch", 403, "The request signature we calculated does not match the "
     "signature you provided. Check your key and signing method."),
    (errors.IncompleteSignature("bad"), "AuthorizationHeaderMalformed", 400, "bad"),
    (errors.AccessDenied("Access Denied"), "AccessDenied", 403, "Access Denied"),
    (errors.InternalFailure("boom"), "InternalError", 500,
     "We encountered an internal error. Please try again."),
])
def test_s3_auth_errors_have_s3_names(error: errors.ServiceError, code: str, status: int,
                                      message: str) -> None:
    response = serialize_error(S3, error, "r")
    assert response.status == status
    assert _parse_error(response)["Error"] == {"Code": code, "Message": message}


def test_other_rest_xml_services_use_error_response() -> None:
    route53 = load_service("route53")
    error = errors.service_error("NoSuchHostedZone", 404, "No hosted zone found with ID: Z1")
    response = serialize_error(route53, error, "rid")
    root = ET.fromstring(response.body)
    assert root.tag == "{https://route53.amazonaws.com/doc/2013-04-01/}ErrorResponse"
    assert ("x-amzn-RequestId", "rid") in response.headers
    parsed = _parse_error(response)
    assert parsed["Error"]["Code"] == "NoSuchHostedZone"
    assert parsed["Error"]["Message"] == "No hosted zone found with ID: Z1"
    assert parsed["ResponseMetadata"]["RequestId"] == "rid"


# --- malformed input ------------------------------------------------------------------------

CREATE_BUCKET = S3.operation_model("CreateBucket")
DELETE_OBJECTS = S3.operation_model("DeleteObjects")
LIST_V2 = S3.operation_model("ListObjectsV2")
PUT_OBJECT = S3.operation_model("PutObject")


@pytest.mark.parametrize("body", [
    b"<CreateBucketConfiguration><LocationConstraint>eu", b"not xml", b"<a></b>",
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]><CreateBucketConfiguration>&e;</CreateBucketConfiguration>',
    b"<a/><b/>", b"\xff\xfe<\x00", b"<" + b"<a>" * 100,
])
def test_bad_xml_is_malformed_xml(body: bytes) -> None:
    with pytest.raises(errors.MalformedXML) as caught:
        parse_request(CREATE_BUCKET, HttpRequest("PUT", "/b", "", (), body), labels={"Bucket": "b"})
    assert caught.value.wire_identity("rest-xml") == ("MalformedXML", 400)
    assert caught.value.message == ("The XML you provided was not well-formed or did not validate "
                                    "against our published schema")


def test_deep_nesting_is_malformed_xml() -> None:
    body = b"<Delete>" + b"<Object>" * 100 + b"</Object>" * 100 + b"</Delete>"
    with pytest.raises(errors.MalformedXML):
        parse_request(DELETE_OBJECTS, HttpRequest("POST", "/b", "delete", (), body), labels={"Bucket": "b"})


def test_wrong_type_in_the_body_is_malformed_xml() -> None:
    body = b"<Delete><Quiet>maybe</Quiet></Delete>"
    with pytest.raises(errors.MalformedXML):
        parse_request(DELETE_OBJECTS, HttpRequest("POST", "/b", "delete", (), body), labels={"Bucket": "b"})


def test_wrong_type_in_the_query_is_invalid_argument() -> None:
    with pytest.raises(errors.InvalidArgument) as caught:
        parse_request(LIST_V2, HttpRequest("GET", "/b", "list-type=2&max-keys=abc", ()),
                      labels={"Bucket": "b"})
    assert caught.value.extra == {"ArgumentName": "max-keys", "ArgumentValue": "abc"}
    response = serialize_error(S3, caught.value, "r")
    assert _parse_error(response)["Error"]["ArgumentName"] == "max-keys"


def test_wrong_type_in_a_header_is_invalid_argument() -> None:
    request = HttpRequest("PUT", "/b/k", "", (("x-amz-object-lock-retain-until-date", "soon"),), b"x")
    with pytest.raises(errors.InvalidArgument):
        parse_request(PUT_OBJECT, request, labels={"Bucket": "b", "Key": "k"})


def test_oversized_xml_body_is_refused() -> None:
    spooled = io.BytesIO(b" " * (MAX_BODY_BYTES + 1))
    request = HttpRequest("POST", "/b", "delete", (), b"", body_file=spooled,
                          body_size=MAX_BODY_BYTES + 1)
    with pytest.raises(errors.MaxMessageLengthExceeded):
        parse_request(DELETE_OBJECTS, request, labels={"Bucket": "b"})


def test_unknown_elements_and_query_parameters_are_ignored() -> None:
    body = (b'<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bogus>1</Bogus>'
            b"<Object><Key>k</Key></Object></Delete>")
    request = HttpRequest("POST", "/b", "delete&foo=bar", (), body)
    assert parse_request(DELETE_OBJECTS, request, labels={"Bucket": "b"}) == {
        "Bucket": "b", "Delete": {"Objects": [{"Key": "k"}]}}


# --- hypothesis: nothing but a dict or a 4xx ServiceError --------------------------------------

OPERATIONS = st.sampled_from([PUT_OBJECT, CREATE_BUCKET, DELETE_OBJECTS, LIST_V2,
                              S3.operation_model("GetObject"), S3.operation_model("PutBucketPolicy"),
                              S3.operation_model("PutBucketAcl"),
                              S3.operation_model("CompleteMultipartUpload")])
HEADER_NAMES = st.sampled_from(["content-type", "content-length", "x-amz-meta-a", "expires",
                                "x-amz-object-lock-retain-until-date", "if-modified-since",
                                "x-amz-bucket-object-lock-enabled", "x-amz-mfa", "range",
                                "x-amz-bypass-governance-retention", "x-amz-part-number"])
XMLISH = st.one_of(
    st.binary(max_size=200),
    st.lists(st.sampled_from(["<Delete>", "</Delete>", "<Object>", "</Object>", "<Key>", "</Key>",
                              "<Quiet>", "</Quiet>", "true", "x", "&amp;", "&bogus;",
                              "<CreateBucketConfiguration>", "<LocationConstraint>",
                              "</LocationConstraint>", "</CreateBucketConfiguration>", "<Part>",
                              "<PartNumber>", "</PartNumber>", "1", "-", "<![CDATA[y]]>"]),
             max_size=15).map(lambda parts: "".join(parts).encode()))


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(OPERATIONS, XMLISH, st.lists(st.tuples(HEADER_NAMES, st.text(max_size=30)), max_size=4),
       st.text(max_size=40), st.dictionaries(st.sampled_from(["Bucket", "Key"]), st.text(max_size=10)))
def test_random_requests_give_params_or_4xx(operation: OperationModel, body: bytes,
                                            headers: list[tuple[str, str]], query: str,
                                            labels: dict[str, str]) -> None:
    request = HttpRequest(operation.http["method"], "/b/k", query, tuple(headers), body)
    try:
        assert isinstance(parse_request(operation, request, labels=labels), dict)
    except errors.ServiceError as error:
        assert 400 <= error.wire_identity("rest-xml")[1] < 500, error
