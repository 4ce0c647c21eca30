"""The ec2 protocol server side, with botocore as the oracle in both directions.

- every input case of botocore's protocol suite for ``ec2``, in reverse: the case's HTTP request
  → our parser → the case's params;
- every output case: the case's result → our serializer → botocore's EC2QueryParser → the result
  (errors too: the same code and message);
- the real EC2 model: botocore's client serializer → our parser, our serializer → botocore's
  parser;
- EC2's own error codes, statuses and messages for the errors it renames;
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
from botocore.parsers import EC2QueryParser, create_parser
from botocore.serialize import create_serializer
from botocore.utils import parse_timestamp, percent_encode_sequence
from dateutil.tz import tzutc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol_cases import load_cases, operation_for
from conftest_testdata import data_root, require_testdata
from cloudkeep.wire import errors
from cloudkeep.wire.ec2proto import (
    MAX_BODY_BYTES,
    operation_name,
    parse_request,
    serialize_error,
    serialize_response,
)
from cloudkeep.wire.http import HttpRequest, HttpResponse
from cloudkeep.wire.model import load_service

SKIPS: dict[str, dict[str, str]] = json.loads(
    (Path(__file__).parent / "protocol_skips" / "ec2.json").read_text())
FORM = (("content-type", "application/x-www-form-urlencoded; charset=utf-8"),)
CASE_NAMESPACE = "https://example.com/"
EC2_CONTENT_TYPE = "text/xml;charset=UTF-8"


# --- loading botocore's protocol cases ------------------------------------------------------

def _load(direction: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [(suite, case) for suite, case, _ in load_cases(direction, "ec2.json")]

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
    require_testdata("botocore-protocols", "input", "ec2.json")
    require_testdata("botocore-protocols", "output", "ec2.json")
    assert len(INPUT_CASES) >= 29 and len(OUTPUT_CASES) >= 29


def test_skip_list_names_only_existing_cases() -> None:
    require_testdata("botocore-protocols", "input", "ec2.json")
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
    """Comparable form: datetimes → epoch seconds, bytes → text, special floats → the strings
    the cases use."""
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
    suite, case = next((s, c) for s, c in INPUT_CASES if c["id"] == "Ec2TimestampsInput")
    parsed = parse_request(_operation(suite, case), _request_from_case(case["serialized"]))
    expected = dt.datetime(2015, 1, 25, 8, 0, tzinfo=dt.timezone.utc)
    assert parsed == {"normalFormat": expected, "epochMember": expected, "epochTarget": expected}
    assert all(v.utcoffset() == dt.timedelta(0) for v in parsed.values())


def test_query_protocol_names_are_not_ec2_names() -> None:
    """``Foo.member.1`` is query's layout, not EC2's; a member with a locationName is read
    under that name only."""
    suite, case = next((s, c) for s, c in INPUT_CASES if c["id"] == "Ec2Lists")
    operation = _operation(suite, case)
    body = (b"Action=QueryLists&Version=2020-01-08&ListArg.member.1=a&ListArg.2=y"
            b"&Hi.1=b&ListArgWithXmlName.1=c")
    assert parse_request(operation, _post(body)) == {"ListArg": ["y"], "ListArgWithXmlName": ["b"]}


def test_lowercase_member_name_is_read_capitalized_or_as_botocore_sends_it() -> None:
    suite, case = next((s, c) for s, c in INPUT_CASES if c["id"] == "Ec2Lists")
    operation = _operation(suite, case)
    body = b"Action=QueryLists&ComplexListArg.1.Hi=x&ComplexListArg.2.hi=y"
    assert parse_request(operation, _post(body)) == {"ComplexListArg": [{"hi": "x"}, {"hi": "y"}]}


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
    parser = EC2QueryParser(timestamp_parser=_compliance_timestamp)
    if "error" in case:
        response = serialize_error(operation.service_model, _error_from_case(case), "foo-id")
        assert response.status == case["response"]["status_code"]
        wire = _botocore_response(response)
        parsed = parser.parse(wire, operation.output_shape)
        assert parsed["ResponseMetadata"]["RequestId"] == "foo-id"
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
    assert dict(response.headers)["Content-Type"] == EC2_CONTENT_TYPE
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
    """Stricter than the round trip: our XML is the case's body, up to whitespace and the
    place of ``requestId`` (AWS writes it first, the cases last)."""
    operation = _operation(suite, case, namespace=CASE_NAMESPACE)
    response = serialize_response(operation, case["result"], "foo-id")
    assert (_canonical(response.body, drop=("requestId",))
            == _canonical(case["response"]["body"], drop=("requestId",)))


def test_operation_without_output_has_only_the_request_id() -> None:
    suite, case = next((s, c) for s, c in OUTPUT_CASES if c["id"] == "Ec2QueryNoInputAndOutput")
    response = serialize_response(_operation(suite, case), {}, "rid-1")
    assert response.body.endswith(b"<requestId>rid-1</requestId></NoInputAndOutputResponse>")
    assert b"Result" not in response.body


# --- the real EC2 model ---------------------------------------------------------------------

EC2 = load_service("ec2")


def _client_request(operation: OperationModel, params: dict[str, Any], method: str = "POST") -> HttpRequest:
    serialized = create_serializer("ec2").serialize_to_request(params, operation)
    encoded = percent_encode_sequence(serialized["body"])
    headers = tuple((k.lower(), v) for k, v in serialized["headers"].items())
    host = (("host", "ec2.us-east-1.amazonaws.com"),)
    if method == "GET":
        return HttpRequest("GET", "/", encoded, host)
    return HttpRequest("POST", "/", "", headers + host, encoded.encode("ascii"))


CLIENT_CASES = [
    ("DescribeInstances", {"Filters": [{"Name": "tag:team", "Values": ["sec", "a b&c=d"]},
                                       {"Name": "instance-state-name", "Values": ["running"]}],
                           "InstanceIds": ["i-0123456789abcdef0", "i-1"], "MaxResults": 50,
                           "NextToken": "tok+/=", "DryRun": False}),
    ("DescribeInstances", {}),
    ("RunInstances", {
        "ImageId": "ami-12345678", "MinCount": 1, "MaxCount": 3, "InstanceType": "t3.micro",
        "KeyName": "k", "SecurityGroupIds": ["sg-1", "sg-2"], "UserData": "IyEvYmluL3No",
        "BlockDeviceMappings": [
            {"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 20, "VolumeType": "gp3",
                                                "DeleteOnTermination": True, "Encrypted": True,
                                                "Iops": 3000}},
            {"DeviceName": "/dev/sdb", "VirtualName": "ephemeral0"},
            {"DeviceName": "/dev/sdc", "NoDevice": ""}],
        "TagSpecifications": [
            {"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "web <1> & ü"},
                                                  {"Key": "empty", "Value": ""}]},
            {"ResourceType": "volume", "Tags": [{"Key": "k", "Value": "v"}]}],
        "NetworkInterfaces": [{"DeviceIndex": 0, "SubnetId": "subnet-1",
                               "Ipv6Addresses": [{"Ipv6Address": "2001:db8::1"}],
                               "PrivateIpAddresses": [{"Primary": True,
                                                       "PrivateIpAddress": "10.0.0.5"}]}],
        "MetadataOptions": {"HttpTokens": "required", "HttpPutResponseHopLimit": 2},
        "DryRun": True}),
    ("CreateSecurityGroup", {"GroupName": "web", "Description": "web servers: 80/443",
                             "VpcId": "vpc-1",
                             "TagSpecifications": [{"ResourceType": "security-group",
                                                    "Tags": [{"Key": "env", "Value": "prod"}]}]}),
    ("AuthorizeSecurityGroupIngress", {"GroupId": "sg-1", "IpPermissions": [
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
         "IpRanges": [{"CidrIp": "203.0.113.0/24", "Description": "office"}],
         "UserIdGroupPairs": [{"GroupId": "sg-2", "UserId": "123456789012"}]}]}),
]


@pytest.mark.parametrize("method", ["POST", "GET"])
@pytest.mark.parametrize(("name", "params"), CLIENT_CASES,
                         ids=[f"{n}-{i}" for i, (n, _) in enumerate(CLIENT_CASES)])
def test_botocore_client_request_parses_back(name: str, params: dict[str, Any], method: str) -> None:
    operation = EC2.operation_model(name)
    request = _client_request(operation, params, method)
    assert operation_name(request) == name
    assert parse_request(operation, request) == params


def test_ec2_wire_names_are_what_botocore_sends() -> None:
    """The layout itself, so that a parser bug mirrored in a serializer bug cannot pass."""
    operation = EC2.operation_model("DescribeInstances")
    request = _client_request(operation, CLIENT_CASES[0][1])
    body = request.body.decode()
    assert "Filter.1.Name=tag%3Ateam" in body and "Filter.1.Value.2=a%20b%26c%3Dd" in body
    assert "InstanceId.2=i-1" in body and "member" not in body
    assert parse_request(operation, _post(
        b"Action=DescribeInstances&Filter.2.Value.1=b&Filter.1.Name=n&Filter.1.Value.1=a"
        b"&InstanceId.10=z&InstanceId.9=y")) == {
        "Filters": [{"Name": "n", "Values": ["a"]}, {"Values": ["b"]}], "InstanceIds": ["y", "z"]}


NOW = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
INSTANCE = {
    "InstanceId": "i-0123456789abcdef0", "ImageId": "ami-12345678", "InstanceType": "t3.micro",
    "State": {"Code": 16, "Name": "running"}, "LaunchTime": NOW, "KeyName": "k",
    "Placement": {"AvailabilityZone": "us-east-1a", "Tenancy": "default"},
    "Monitoring": {"State": "disabled"}, "EbsOptimized": False, "AmiLaunchIndex": 0,
    "PrivateIpAddress": "10.0.0.5", "SubnetId": "subnet-1", "VpcId": "vpc-1",
    "SecurityGroups": [{"GroupName": "web", "GroupId": "sg-1"}],
    "BlockDeviceMappings": [{"DeviceName": "/dev/xvda",
                             "Ebs": {"AttachTime": NOW, "DeleteOnTermination": True,
                                     "Status": "attached", "VolumeId": "vol-1"}}],
    "Tags": [{"Key": "Name", "Value": "web <1> & ü"}],
    "CpuOptions": {"CoreCount": 1, "ThreadsPerCore": 2},
    "ProductCodes": [],
}
SECURITY_GROUP = {
    "GroupId": "sg-1", "GroupName": "web", "Description": "web servers", "OwnerId": "123456789012",
    "VpcId": "vpc-1",
    "IpPermissions": [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                       "IpRanges": [{"CidrIp": "203.0.113.0/24", "Description": "office"}],
                       "Ipv6Ranges": [], "PrefixListIds": [],
                       "UserIdGroupPairs": [{"GroupId": "sg-2", "UserId": "123456789012"}]}],
    "IpPermissionsEgress": [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
                             "Ipv6Ranges": [], "PrefixListIds": [], "UserIdGroupPairs": []}],
    "Tags": [{"Key": "env", "Value": "prod"}],
}
SERVER_CASES = [
    ("DescribeInstances", {"Reservations": [{"ReservationId": "r-1", "OwnerId": "123456789012",
                                             "Groups": [], "Instances": [INSTANCE]}],
                           "NextToken": "next"}),
    ("DescribeInstances", {"Reservations": []}),
    ("DescribeSecurityGroups", {"SecurityGroups": [SECURITY_GROUP,
                                                   {**SECURITY_GROUP, "GroupId": "sg-2",
                                                    "Tags": []}]}),
    ("CreateSecurityGroup", {"GroupId": "sg-1", "SecurityGroupArn":
                             "arn:aws:ec2:us-east-1:123456789012:security-group/sg-1",
                             "Tags": [{"Key": "env", "Value": "prod"}]}),
    ("RunInstances", {"ReservationId": "r-1", "OwnerId": "123456789012", "Groups": [],
                      "Instances": [INSTANCE]}),
]


@pytest.mark.parametrize(("name", "result"), SERVER_CASES,
                         ids=[f"{n}-{i}" for i, (n, _) in enumerate(SERVER_CASES)])
def test_response_parses_back_with_botocore(name: str, result: dict[str, Any]) -> None:
    operation = EC2.operation_model(name)
    response = serialize_response(operation, result, "1b2c3d")
    parsed = create_parser("ec2").parse(_botocore_response(response), operation.output_shape)
    assert parsed.pop("ResponseMetadata")["RequestId"] == "1b2c3d"
    assert parsed == result


def test_response_envelope_is_ec2_shaped() -> None:
    response = serialize_response(EC2.operation_model("DescribeInstances"), SERVER_CASES[0][1],
                                  "req-9")
    body = response.body.decode()
    assert body.startswith('<?xml version="1.0" encoding="UTF-8"?>\n'
                           '<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">'
                           "<requestId>req-9</requestId>")
    assert "<reservationSet><item><reservationId>r-1</reservationId>" in body
    assert "<groupSet/>" in body and "<launchTime>2024-01-02T03:04:05Z</launchTime>" in body
    assert "<tagSet><item><key>Name</key><value>web &lt;1&gt; &amp; ü</value></item></tagSet>" in body
    assert "Result" not in body and "ResponseMetadata" not in body
    assert "<nextToken>next</nextToken>" in body
    assert body.endswith("</reservationSet></DescribeInstancesResponse>")
    assert response.status == 200
    assert dict(response.headers) == {"x-amzn-RequestId": "req-9", "Content-Type": EC2_CONTENT_TYPE}


def test_unknown_result_keys_are_not_serialized() -> None:
    response = serialize_response(EC2.operation_model("CreateSecurityGroup"),
                                  {"GroupId": "sg-1", "Secret": "leak"}, "r")
    assert b"leak" not in response.body and b"<groupId>sg-1</groupId>" in response.body


# --- errors ---------------------------------------------------------------------------------

def _parse_error(response: HttpResponse) -> dict[str, Any]:
    return create_parser("ec2").parse(_botocore_response(response), None)


def test_error_response_is_ec2_shaped_and_parses_in_botocore() -> None:
    error = errors.service_error("InvalidInstanceID.NotFound", 400,
                                 "The instance ID 'i-1 <&>' does not exist")
    response = serialize_error(EC2, error, "err-1")
    assert response.status == 400
    assert response.body == (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>'
        b"<Code>InvalidInstanceID.NotFound</Code>"
        b"<Message>The instance ID 'i-1 &lt;&amp;&gt;' does not exist</Message>"
        b"</Error></Errors><RequestID>err-1</RequestID></Response>")
    parsed = _parse_error(response)
    assert parsed["Error"] == {"Code": "InvalidInstanceID.NotFound",
                               "Message": "The instance ID 'i-1 <&>' does not exist"}
    assert parsed["ResponseMetadata"]["RequestId"] == "err-1"
    assert dict(response.headers)["Content-Type"] == EC2_CONTENT_TYPE


EC2_IDENTITIES = [
    (errors.InvalidClientTokenId("The security token included in the request is invalid."),
     "AuthFailure", 401, "AWS was not able to validate the provided access credentials"),
    (errors.SignatureDoesNotMatch("The request signature we calculated does not match ..."),
     "AuthFailure", 401, "AWS was not able to validate the provided access credentials"),
    (errors.ExpiredToken("The security token included in the request is expired"),
     "RequestExpired", 400, "Request has expired."),
    (errors.RequestExpired("Request has expired."), "RequestExpired", 400, "Request has expired."),
    (errors.AccessDenied("User: arn:aws:iam::123456789012:user/bob is not authorized to perform: "
                         "ec2:DescribeInstances because no identity-based policy allows the "
                         "ec2:DescribeInstances action"),
     "UnauthorizedOperation", 403,
     "You are not authorized to perform this operation. User: arn:aws:iam::123456789012:user/bob "
     "is not authorized to perform: ec2:DescribeInstances because no identity-based policy "
     "allows the ec2:DescribeInstances action"),
    (errors.InternalFailure("We encountered an internal error. Please try again."),
     "InternalError", 500, "An internal error has occurred"),
    (errors.ValidationError("1 validation error detected: Value 'x' at 'maxResults' failed"),
     "InvalidParameterValue", 400, "1 validation error detected: Value 'x' at 'maxResults' failed"),
    (errors.InvalidAction("The action Foo is not valid for this web service."),
     "InvalidAction", 400, "The action Foo is not valid for this web service."),
    (errors.MissingParameter("The request must contain the parameter GroupName"),
     "MissingParameter", 400, "The request must contain the parameter GroupName"),
]


@pytest.mark.parametrize(("error", "code", "status", "message"), EC2_IDENTITIES,
                         ids=[type(e).__name__ for e, *_ in EC2_IDENTITIES])
def test_errors_have_ec2_codes_statuses_and_messages(error: errors.ServiceError, code: str,
                                                     status: int, message: str) -> None:
    response = serialize_error(EC2, error, "e")
    assert response.status == status
    assert _parse_error(response)["Error"] == {"Code": code, "Message": message}


def test_unauthorized_prefix_is_not_doubled() -> None:
    message = "You are not authorized to perform this operation. Encoded authorization failure message: x"
    response = serialize_error(EC2, errors.AccessDenied(message), "e")
    assert _parse_error(response)["Error"]["Message"] == message


def test_error_headers_and_extra_members() -> None:
    error = errors.service_error("RequestLimitExceeded", 503, "Request limit exceeded.")
    error.headers = {"Retry-After": "1", "Content-Type": "evil"}
    error.extra = {"Resource": "x<y", "Nested": {"Inner": "v"}, "Code": "Evil"}
    response = serialize_error(EC2, error, "e")
    assert ("Retry-After", "1") in response.headers
    assert dict(response.headers)["Content-Type"] == EC2_CONTENT_TYPE
    error_element = ET.fromstring(response.body).find("Errors/Error")
    assert error_element is not None
    assert error_element.findtext("Code") == "RequestLimitExceeded"
    assert error_element.findtext("Resource") == "x<y"
    assert error_element.findtext("Nested/Inner") == "v"
    assert len(error_element.findall("Code")) == 1


def test_error_without_message_has_no_message_element() -> None:
    response = serialize_error(EC2, errors.service_error("Blocked", 400), "e")
    assert b"<Message" not in response.body
    assert _parse_error(response)["Error"]["Code"] == "Blocked"


# --- malformed input ------------------------------------------------------------------------

DESCRIBE_INSTANCES = EC2.operation_model("DescribeInstances")
RUN_INSTANCES = EC2.operation_model("RunInstances")


def _post(body: bytes, headers: tuple[tuple[str, str], ...] = FORM, query: str = "") -> HttpRequest:
    return HttpRequest("POST", "/", query, headers, body)


def test_wrong_type_is_invalid_parameter_value_in_ec2_words() -> None:
    with pytest.raises(errors.InvalidParameterValue) as caught:
        parse_request(DESCRIBE_INSTANCES, _post(b"Action=DescribeInstances&MaxResults=abc"))
    assert caught.value.wire_identity("ec2") == ("InvalidParameterValue", 400)
    assert caught.value.message == ("Value ( abc ) for parameter maxResults is invalid. "
                                    "Member must be a number.")


def test_wrong_boolean_deep_in_a_list_names_its_path() -> None:
    body = b"Action=RunInstances&BlockDeviceMapping.1.Ebs.DeleteOnTermination=yes"
    with pytest.raises(errors.InvalidParameterValue, match="blockDeviceMappings.1.*deleteOnTermination"):
        parse_request(RUN_INSTANCES, _post(body))


@pytest.mark.parametrize("body", [b"Action=DescribeInstances&NextToken=%ff%fe",
                                  b"Action=DescribeInstances&NextToken=%zz",
                                  b"Action=Describe\xffInstances"])
def test_undecodable_input_is_malformed_query_string(body: bytes) -> None:
    with pytest.raises(errors.MalformedQueryString):
        parse_request(DESCRIBE_INSTANCES, _post(body))


def test_wrong_content_type_is_unsupported_media_type() -> None:
    request = _post(b'{"Action": "DescribeInstances"}', (("content-type", "application/json"),))
    with pytest.raises(errors.UnsupportedMediaType):
        operation_name(request)
    with pytest.raises(errors.UnsupportedMediaType):
        parse_request(DESCRIBE_INSTANCES, request)


def test_oversized_body_is_rejected() -> None:
    body = b"Action=DescribeInstances&NextToken=" + b"a" * MAX_BODY_BYTES
    with pytest.raises(errors.RequestEntityTooLarge):
        parse_request(DESCRIBE_INSTANCES, _post(body))


def test_unknown_parameters_are_ignored_and_get_uses_the_query_string() -> None:
    request = HttpRequest("GET", "/", "Action=DescribeInstances&Version=2016-11-15&MaxResults=5"
                          "&Bogus=1&X-Amz-Signature=abc&Filters.member.1.Name=x", ())
    assert operation_name(request) == "DescribeInstances"
    assert parse_request(DESCRIBE_INSTANCES, request) == {"MaxResults": 5}


def test_other_methods_are_not_allowed() -> None:
    with pytest.raises(errors.MethodNotAllowed):
        parse_request(DESCRIBE_INSTANCES, HttpRequest("PUT", "/", "Action=DescribeInstances", ()))


# --- hypothesis: nothing but a dict or a 4xx ServiceError --------------------------------------

def _outcome(operation: OperationModel, request: HttpRequest) -> None:
    try:
        name = operation_name(request)
        assert name is None or isinstance(name, str)
        assert isinstance(parse_request(operation, request), dict)
    except errors.ServiceError as error:
        assert 400 <= error.wire_identity("ec2")[1] < 500, error


KEYS = st.sampled_from([
    "Action", "Version", "MaxResults", "NextToken", "DryRun", "Filter", "Filter.1", "Filter.1.Name",
    "Filter.1.Value.1", "Filter.0.Value.1", "Filter.99999999999.Name", "InstanceId.1", "InstanceId",
    "ImageId", "MinCount", "BlockDeviceMapping.1.Ebs.VolumeSize",
    "BlockDeviceMapping.1.Ebs.DeleteOnTermination", "TagSpecification.1.Tag.1.Key",
    "NetworkInterface.1.Ipv6Addresses.1.Ipv6Address", "GroupName", "", "."])
VALUES = st.one_of(st.text(max_size=20), st.sampled_from(["", "1", "-1", "true", "abc", "%", "%e9",
                                                          "%C3%A9", "+", "1e5", "NaN"]))
FORM_TEXT = st.lists(st.tuples(KEYS, VALUES), max_size=12).map(
    lambda pairs: "&".join(f"{k}={v}" for k, v in pairs))
HEADERS = st.lists(st.tuples(st.sampled_from(["content-type", "content-encoding", "host", "x-a"]),
                             st.one_of(st.text(max_size=30), st.sampled_from([
                                 "application/x-www-form-urlencoded",
                                 "application/x-www-form-urlencoded; charset=utf-8",
                                 "text/plain", "application/json"]))), max_size=3).map(tuple)
OPERATIONS = st.sampled_from([DESCRIBE_INSTANCES, RUN_INSTANCES,
                              EC2.operation_model("CreateSecurityGroup"),
                              EC2.operation_model("DescribeSecurityGroups")])


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
