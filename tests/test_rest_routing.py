"""REST routing (wire/rest_routing.py), with botocore's own serializer as the oracle.

- every operation of s3, s3control and a few rest-json services (accessanalyzer, artifact,
  lambda), serialized by botocore from sample parameters (required members only, then every
  member), routes back to exactly that operation with the sample's URI label values; the pairs
  AWS tells apart only by other means are listed in ``SAME_WIRE`` with the reason;
- virtual-host style S3: ``s3_bucket_from_host`` and routing with the host's bucket;
- S3 Control on an account-prefixed host; ``rest_service_for``;
- S3's and the REST services' answers for requests that reach no operation;
- a property: any object key botocore can send comes back decoded exactly once.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.awsrequest import prepare_request_dict
from botocore.model import OperationModel, ServiceModel, Shape
from botocore.serialize import create_serializer
from hypothesis import given, strategies as st

from cloudkeep.wire import errors
from cloudkeep.wire.http import HttpRequest
from cloudkeep.wire.model import load_service
from cloudkeep.wire.rest_routing import RestRoute, rest_service_for, route_rest, s3_bucket_from_host

SERVICES = ("s3", "s3control", "accessanalyzer", "artifact", "lambda")
ENDPOINT = "http://localhost:4566"
BUCKET = "bucket-1"
KEY = "dir/a b+c.txt"
ACCOUNT = "123456789012"

#: (service, operation) → (the operation its request routes to, why AWS needs more than the
#: HTTP request's method, path, query and headers to tell them apart)
SAME_WIRE: dict[tuple[str, str], tuple[str, str]] = {
    ("s3", "ListDirectoryBuckets"): (
        "ListBuckets", "GET / on both; AWS serves it on the s3express-control endpoint only; "
        "SDKs that send ?x-id=ListDirectoryBuckets get it (tested below)"),
    ("s3", "GetBucketLifecycle"): (
        "GetBucketLifecycleConfiguration", "deprecated; same GET /{Bucket}?lifecycle"),
    ("s3", "PutBucketLifecycle"): (
        "PutBucketLifecycleConfiguration", "deprecated; same PUT /{Bucket}?lifecycle"),
    ("s3", "GetBucketNotification"): (
        "GetBucketNotificationConfiguration", "deprecated; same GET /{Bucket}?notification"),
    ("s3", "PutBucketNotification"): (
        "PutBucketNotificationConfiguration", "deprecated; same PUT /{Bucket}?notification"),
}


# --- sample parameters from the input shape -------------------------------------------------

def _label_value(service: str, wire_name: str, greedy: bool) -> str:
    if service == "s3":
        return {"Bucket": BUCKET, "Key": KEY}[wire_name]
    if greedy:                                   # spans "/" and needs encoding
        return f"arn:aws:s3:us-east-1:{ACCOUNT}:thing/{wire_name} 1+x"
    return f"{wire_name}-1 a:b+c"


def _scalar(shape: Shape, name: str) -> Any:
    kind = shape.type_name
    if kind == "string":
        if shape.enum:
            return shape.enum[0]
        if name == "AccountId":
            return ACCOUNT
        return "value-1"
    if kind in ("integer", "long"):
        return max(1, int(shape.metadata.get("min", 1)))
    if kind in ("float", "double"):
        return 1.5
    if kind == "boolean":
        return True
    if kind == "timestamp":
        return datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    if kind == "blob":
        return b"data"
    return "value-1"


def _sample(shape: Shape, name: str, *, everything: bool, depth: int) -> Any:
    kind = shape.type_name
    if kind == "structure":
        if shape.is_document_type:
            return {"a": 1}
        names = list(shape.members) if (everything and depth < 3) else list(shape.required_members)
        if shape.metadata.get("union"):
            names = names[:1] or list(shape.members)[:1]
        return {n: _sample(shape.members[n], n, everything=everything, depth=depth + 1)
                for n in names}
    if kind == "list":
        return [_sample(shape.member, name, everything=everything, depth=depth + 1)]
    if kind == "map":
        return {"k1": _sample(shape.value, name, everything=everything, depth=depth + 1)}
    return _scalar(shape, name)


def sample_params(service: str, operation: OperationModel, *, everything: bool
                  ) -> tuple[dict[str, Any], dict[str, str]]:
    """Parameters for the operation and the URI labels they should route with."""
    shape = operation.input_shape
    if shape is None:
        return {}, {}
    params: dict[str, Any] = {}
    labels: dict[str, str] = {}
    greedy = {label.rstrip("+") for label in
              __import__("re").findall(r"\{([^{}]+\+)\}", operation.http["requestUri"])}
    for name, member in shape.members.items():
        location = member.serialization.get("location")
        if location == "uri":
            wire = member.serialization.get("name", name)
            params[name] = labels[wire] = _label_value(service, wire, wire in greedy)
        elif name in shape.required_members or everything:
            if member.serialization.get("eventstream") or member.type_name == "blob" and \
                    member.serialization.get("streaming"):
                params[name] = b""
            else:
                params[name] = _sample(member, name, everything=everything, depth=1)
    return params, labels


def serialized_request(service: ServiceModel, operation: OperationModel,
                       params: dict[str, Any]) -> HttpRequest:
    """The request botocore's client would send for these parameters (path style)."""
    serializer = create_serializer(service.protocol, include_validation=False)
    request = serializer.serialize_to_request(params, operation)
    prepare_request_dict(request, ENDPOINT)
    url = urlsplit(request["url"])
    headers = [(k.lower(), v.decode() if isinstance(v, bytes) else str(v))
               for k, v in request["headers"].items()]
    headers.append(("host", url.netloc))
    if operation.name == "PostObject":        # a browser form, as only browsers send it
        headers = [h for h in headers if h[0] != "content-type"]
        headers.append(("content-type", "multipart/form-data; boundary=x"))
    body = request["body"] if isinstance(request["body"], bytes) else b""
    return HttpRequest(request["method"], url.path, url.query, tuple(headers), body=body)


def _cases(everything: bool) -> list[Any]:
    out = []
    for service_name in SERVICES:
        service = load_service(service_name)
        for op_name in service.operation_names:
            out.append(pytest.param(service_name, op_name, everything,
                                    id=f"{service_name}:{op_name}:{'all' if everything else 'req'}"))
    return out


#: (service, operation) → why ``rest_service_for`` cannot tell its minimal request from S3's
NOT_TOLD_APART: dict[tuple[str, str], str] = {
    ("s3control", "CreateBucket"): (
        "S3 Control's CreateBucket (Outposts) has no x-amz-account-id; without its optional "
        "x-amz-outpost-id, PUT /v20180820/bucket/<name> is also S3's PutObject to a bucket named "
        "v20180820 (AWS tells them apart by host, s3-outposts.<region>.amazonaws.com)"),
}


def _route(service_name: str, request: HttpRequest, op_name: str = "") -> RestRoute:
    service = load_service(service_name)
    if service_name in ("s3", "s3control"):
        # the pipeline's order: which of the two, then the bucket of a virtual host
        if (service_name, op_name) in NOT_TOLD_APART and request.header("x-amz-outpost-id") is None:
            assert rest_service_for("s3", request) == "s3"
        else:
            assert rest_service_for("s3", request) == service_name
        bucket = s3_bucket_from_host(request.host) if service_name == "s3" else None
        return route_rest(service, request, virtual_host_bucket=bucket)
    return route_rest(service, request)


# --- (1) every operation, serialized by botocore, routes back to itself -----------------------

@pytest.mark.parametrize(("service_name", "op_name", "everything"), _cases(False) + _cases(True))
def test_botocore_request_routes_to_its_operation(service_name: str, op_name: str,
                                                   everything: bool) -> None:
    service = load_service(service_name)
    operation = service.operation_model(op_name)
    params, labels = sample_params(service_name, operation, everything=everything)
    request = serialized_request(service, operation, params)
    route = _route(service_name, request, op_name)
    expected = SAME_WIRE.get((service_name, op_name), (op_name, ""))[0]
    assert route.operation.name == expected, (request.method, request.path, request.query)
    assert route.labels == labels


def test_same_wire_list_names_real_operations_that_really_collide() -> None:
    for (service_name, op_name), (other, reason) in SAME_WIRE.items():
        service = load_service(service_name)
        mine, theirs = service.operation_model(op_name), service.operation_model(other)
        assert reason
        assert mine.http == theirs.http, (op_name, other)


# --- S3 specifics -----------------------------------------------------------------------------

def _req(method: str, path: str, query: str = "", headers: tuple[tuple[str, str], ...] = (),
         host: str = "localhost:4566") -> HttpRequest:
    return HttpRequest(method, path, query, (("host", host),) + headers)


S3 = load_service("s3")


@pytest.mark.parametrize(("method", "path", "query", "headers", "operation", "labels"), [
    ("GET", "/", "", (), "ListBuckets", {}),
    ("GET", "/b", "", (), "ListObjects", {"Bucket": "b"}),
    ("GET", "/b/", "", (), "ListObjects", {"Bucket": "b"}),
    ("HEAD", "/b", "", (), "HeadBucket", {"Bucket": "b"}),
    ("PUT", "/b", "", (), "CreateBucket", {"Bucket": "b"}),
    ("GET", "/b", "acl", (), "GetBucketAcl", {"Bucket": "b"}),
    ("GET", "/b", "acl=", (), "GetBucketAcl", {"Bucket": "b"}),
    ("GET", "/b", "list-type=2&prefix=x", (), "ListObjectsV2", {"Bucket": "b"}),
    ("GET", "/b", "list-type=3", (), "ListObjects", {"Bucket": "b"}),
    ("GET", "/b", "uploads", (), "ListMultipartUploads", {"Bucket": "b"}),
    ("GET", "/b", "versions", (), "ListObjectVersions", {"Bucket": "b"}),
    ("PUT", "/b", "policy", (), "PutBucketPolicy", {"Bucket": "b"}),
    ("DELETE", "/b", "tagging", (), "DeleteBucketTagging", {"Bucket": "b"}),
    ("POST", "/b", "delete", (), "DeleteObjects", {"Bucket": "b"}),
    ("GET", "/b", "analytics", (), "ListBucketAnalyticsConfigurations", {"Bucket": "b"}),
    ("GET", "/b", "analytics&id=a1", (), "GetBucketAnalyticsConfiguration", {"Bucket": "b"}),
    ("GET", "/b", "unknown-param=1", (), "ListObjects", {"Bucket": "b"}),
    ("GET", "/b/k", "", (), "GetObject", {"Bucket": "b", "Key": "k"}),
    ("GET", "/b/k", "uploadId=u", (), "ListParts", {"Bucket": "b", "Key": "k"}),
    ("GET", "/b/k", "x-id=GetObject", (), "GetObject", {"Bucket": "b", "Key": "k"}),
    ("PUT", "/b/k", "x-id=PutObject", (), "PutObject", {"Bucket": "b", "Key": "k"}),
    ("PUT", "/b/k", "", (("x-amz-copy-source", "s/o"),), "CopyObject", {"Bucket": "b", "Key": "k"}),
    ("PUT", "/b/k", "x-id=CopyObject", (("x-amz-copy-source", "s/o"),), "CopyObject",
     {"Bucket": "b", "Key": "k"}),
    ("PUT", "/b/k", "partNumber=1&uploadId=u", (), "UploadPart", {"Bucket": "b", "Key": "k"}),
    ("PUT", "/b/k", "partNumber=1&uploadId=u", (("x-amz-copy-source", "s/o"),), "UploadPartCopy",
     {"Bucket": "b", "Key": "k"}),
    ("POST", "/b/k", "uploads", (), "CreateMultipartUpload", {"Bucket": "b", "Key": "k"}),
    ("POST", "/b/k", "uploadId=u", (), "CompleteMultipartUpload", {"Bucket": "b", "Key": "k"}),
    ("DELETE", "/b/k", "uploadId=u", (), "AbortMultipartUpload", {"Bucket": "b", "Key": "k"}),
    ("DELETE", "/b/k", "", (), "DeleteObject", {"Bucket": "b", "Key": "k"}),
    ("POST", "/b/k", "select&select-type=2", (), "SelectObjectContent", {"Bucket": "b", "Key": "k"}),
    ("GET", "/b/k", "acl", (), "GetObjectAcl", {"Bucket": "b", "Key": "k"}),
    ("GET", "/b/k", "tagging", (), "GetObjectTagging", {"Bucket": "b", "Key": "k"}),
    # keys: decoded once, "+" is not a space, slashes, dots and empty segments kept
    ("GET", "/b/dir/a%20b+c.txt", "", (), "GetObject", {"Bucket": "b", "Key": "dir/a b+c.txt"}),
    ("GET", "/b/a%2525b", "", (), "GetObject", {"Bucket": "b", "Key": "a%25b"}),
    ("GET", "/b/dir/", "", (), "GetObject", {"Bucket": "b", "Key": "dir/"}),
    ("GET", "/b//x/../y", "", (), "GetObject", {"Bucket": "b", "Key": "/x/../y"}),
    ("GET", "/b/%E2%82%AC", "", (), "GetObject", {"Bucket": "b", "Key": "\u20ac"}),
    ("POST", "/WriteGetObjectResponse", "", (("x-amz-request-route", "r"), ("x-amz-request-token", "t")),
     "WriteGetObjectResponse", {}),
])
def test_s3_path_style_routes(method: str, path: str, query: str, headers: tuple, operation: str,
                              labels: dict[str, str]) -> None:
    route = route_rest(S3, _req(method, path, query, headers))
    assert (route.operation.name, route.labels) == (operation, labels)


def test_x_id_chooses_among_operations_with_the_same_wire() -> None:
    assert route_rest(S3, _req("GET", "/", "x-id=ListDirectoryBuckets")).operation.name == \
        "ListDirectoryBuckets"
    assert route_rest(S3, _req("GET", "/", "x-id=ListBuckets")).operation.name == "ListBuckets"
    # x-id never overrides what the request's form says
    assert route_rest(S3, _req("PUT", "/b/k", "x-id=PutObject",
                               (("x-amz-copy-source", "s/o"),))).operation.name == "CopyObject"
    assert route_rest(S3, _req("GET", "/b", "x-id=ListObjectsV2")).operation.name == "ListObjects"


# --- (2) virtual-host style -------------------------------------------------------------------

@pytest.mark.parametrize(("host", "bucket"), [
    ("bucket.localhost:4566", "bucket"),
    ("bucket.localhost", "bucket"),
    ("my.dotted.bucket.localhost:4566", "my.dotted.bucket"),
    ("bucket.s3.localhost", "bucket"),
    ("bucket.s3.localhost:4566", "bucket"),
    ("bucket.s3.us-west-2.cloudkeep.example", "bucket"),
    ("bucket.s3.eu-central-1.amazonaws.com", "bucket"),
    ("bucket.s3.amazonaws.com", "bucket"),
    ("Bucket.S3.Amazonaws.com.", "bucket"),
    ("bucket.s3-us-west-2.amazonaws.com", "bucket"),
    ("bucket.s3-external-1.amazonaws.com", "bucket"),
    ("bucket.s3.dualstack.us-east-1.amazonaws.com", "bucket"),
    ("my.s3.bucket.s3.amazonaws.com", "my.s3.bucket"),
    ("bucket.s3.localhost.localstack.cloud:4566", "bucket"),
    ("127.0.0.1:4566", None),
    ("127.0.0.1", None),
    ("[::1]:4566", None),
    ("::1", None),
    ("localhost:4566", None),
    ("localhost", None),
    ("s3.localhost:4566", None),
    ("s3.us-east-1.amazonaws.com", None),
    ("s3.amazonaws.com", None),
    ("s3-us-west-2.amazonaws.com", None),
    ("s3.dualstack.us-east-1.amazonaws.com", None),
    (f"{ACCOUNT}.s3-control.us-east-1.amazonaws.com", None),
    ("cloudkeep.example", None),
    ("", None),
])
def test_s3_bucket_from_host(host: str, bucket: str | None) -> None:
    assert s3_bucket_from_host(host) == bucket


def _to_virtual_host(request: HttpRequest) -> HttpRequest:
    assert request.path.startswith(f"/{BUCKET}")
    path = request.path[len(BUCKET) + 1:] or "/"
    headers = tuple((k, v) for k, v in request.headers if k != "host") + \
        (("host", f"{BUCKET}.localhost:4566"),)
    return HttpRequest(request.method, path, request.query, headers, body=request.body)


@pytest.mark.parametrize("op_name", [n for n in S3.operation_names
                                     if "{Bucket}" in S3.operation_model(n).http["requestUri"]])
def test_virtual_host_style_routes_like_path_style(op_name: str) -> None:
    operation = S3.operation_model(op_name)
    params, labels = sample_params("s3", operation, everything=False)
    path_style = serialized_request(S3, operation, params)
    virtual = _to_virtual_host(path_style)
    bucket = s3_bucket_from_host(virtual.host)
    assert bucket == BUCKET
    route = route_rest(S3, virtual, virtual_host_bucket=bucket)
    expected = route_rest(S3, path_style)
    assert (route.operation.name, route.labels) == (expected.operation.name, expected.labels)
    assert route.labels == labels


@pytest.mark.parametrize(("method", "path", "query", "operation", "labels"), [
    ("GET", "/", "", "ListObjects", {"Bucket": "b"}),
    ("GET", "", "", "ListObjects", {"Bucket": "b"}),
    ("GET", "/", "list-type=2", "ListObjectsV2", {"Bucket": "b"}),
    ("PUT", "/", "", "CreateBucket", {"Bucket": "b"}),
    ("GET", "/key", "", "GetObject", {"Bucket": "b", "Key": "key"}),
    ("GET", "/dir/a%20b+c.txt", "", "GetObject", {"Bucket": "b", "Key": "dir/a b+c.txt"}),
    ("POST", "/key", "uploads", "CreateMultipartUpload", {"Bucket": "b", "Key": "key"}),
])
def test_virtual_host_bucket_is_prepended(method: str, path: str, query: str, operation: str,
                                          labels: dict[str, str]) -> None:
    request = _req(method, path, query, host="b.localhost:4566")
    route = route_rest(S3, request, virtual_host_bucket=s3_bucket_from_host(request.host))
    assert (route.operation.name, route.labels) == (operation, labels)


# --- (3) S3 Control -----------------------------------------------------------------------------

S3CONTROL = load_service("s3control")


def test_s3control_on_an_account_prefixed_host() -> None:
    operation = S3CONTROL.operation_model("GetAccessPoint")
    request = serialized_request(S3CONTROL, operation, {"AccountId": ACCOUNT, "Name": "ap-1"})
    assert request.host == f"{ACCOUNT}.localhost:4566"   # botocore's host prefix {AccountId}.
    assert request.path == "/v20180820/accesspoint/ap-1"
    assert rest_service_for("s3", request) == "s3control"
    route = route_rest(S3CONTROL, request)
    assert (route.operation.name, route.labels) == ("GetAccessPoint", {"name": "ap-1"})


@pytest.mark.parametrize(("method", "path", "operation", "labels"), [
    ("GET", "/v20180820/mrap/instances/my-mrap", "GetMultiRegionAccessPoint", {"name": "my-mrap"}),
    ("GET", "/v20180820/mrap/instances/my-mrap/policy", "GetMultiRegionAccessPointPolicy",
     {"name": "my-mrap"}),
    ("GET", "/v20180820/mrap/instances/my-mrap/policystatus",
     "GetMultiRegionAccessPointPolicyStatus", {"name": "my-mrap"}),
    ("GET", "/v20180820/mrap/instances", "ListMultiRegionAccessPoints", {}),
    ("GET", "/v20180820/tags/arn:aws:s3:us-east-1:123456789012:job/j1", "ListTagsForResource",
     {"resourceArn": "arn:aws:s3:us-east-1:123456789012:job/j1"}),
    ("GET", "/v20180820/accessgrantsinstance/grants", "ListAccessGrants", {}),
    ("GET", "/v20180820/accessgrantsinstance/grant/g1", "GetAccessGrant", {"id": "g1"}),
    # a required query member missing: routed, so that validation names it
    ("GET", "/v20180820/accessgrantsinstance/prefix", "GetAccessGrantsInstanceForPrefix", {}),
])
def test_s3control_paths(method: str, path: str, operation: str, labels: dict[str, str]) -> None:
    request = _req(method, path, headers=(("x-amz-account-id", ACCOUNT),),
                   host=f"{ACCOUNT}.localhost:4566")
    assert rest_service_for("s3", request) == "s3control"
    route = route_rest(S3CONTROL, request)
    assert (route.operation.name, route.labels) == (operation, labels)


@pytest.mark.parametrize(("path", "headers", "host", "service"), [
    ("/v20180820/bucket", (("x-amz-account-id", ACCOUNT),), "localhost:4566", "s3control"),
    ("/v20180820/bucket/b1", (("x-amz-outpost-id", "op-1"),), "127.0.0.1:4566", "s3control"),
    ("/v20180820/jobs", (), f"{ACCOUNT}.s3-control.us-east-1.amazonaws.com", "s3control"),
    ("/v20180820/some-key", (), "localhost:4566", "s3"),   # a bucket named "v20180820"
    ("/v20180820", (("x-amz-account-id", ACCOUNT),), "localhost:4566", "s3"),
    ("/bucket/v20180820/", (("x-amz-account-id", ACCOUNT),), "localhost:4566", "s3"),
    ("/", (), "localhost:4566", "s3"),
])
def test_rest_service_for_s3_signing_name(path: str, headers: tuple, host: str, service: str) -> None:
    assert rest_service_for("s3", _req("GET", path, headers=headers, host=host)) == service


def test_rest_service_for_other_signing_names() -> None:
    request = _req("GET", "/")
    assert rest_service_for("lambda", request) == "lambda"
    assert rest_service_for("access-analyzer", request) == "accessanalyzer"
    with pytest.raises(errors.UnknownService):
        rest_service_for("no-such-signing-name", request)


# --- (4) requests that reach no operation -----------------------------------------------------

def _error(service: ServiceModel, request: HttpRequest, **kw: Any) -> errors.ServiceError:
    with pytest.raises(errors.ServiceError) as caught:
        route_rest(service, request, **kw)
    return caught.value


@pytest.mark.parametrize(("method", "path", "query"), [
    ("PATCH", "/b", ""),
    ("PATCH", "/b/k", ""),
    ("OPTIONS", "/", ""),
    ("POST", "/", ""),
    ("POST", "/b/k", ""),
    ("DELETE", "/", ""),
    ("PUT", "/", ""),
    ("POST", "/b/k", "acl"),
])
def test_s3_method_not_allowed(method: str, path: str, query: str) -> None:
    error = _error(S3, _req(method, path, query))
    assert isinstance(error, errors.MethodNotAllowed)
    assert error.wire_identity("rest-xml") == ("MethodNotAllowed", 405)
    assert error.message == "The specified method is not allowed against this resource."
    assert error.extra == {"Method": method, "ResourceType": "SERVICE"}


def test_s3_put_upload_id_without_part_number_is_method_not_allowed_on_the_upload() -> None:
    error = _error(S3, _req("PUT", "/b/k", "uploadId=u"))
    assert isinstance(error, errors.MethodNotAllowed)
    assert error.extra == {"Method": "PUT", "ResourceType": "UPLOAD"}
    assert error.headers == {"Allow": "DELETE, POST, GET"}


def test_s3_part_number_without_upload_id_is_invalid_argument() -> None:
    error = _error(S3, _req("PUT", "/b/k", "partNumber=3"))
    assert isinstance(error, errors.InvalidArgument)
    assert error.wire_identity("rest-xml") == ("InvalidArgument", 400)
    assert error.message == "This operation does not accept partNumber without uploadId"
    assert error.extra == {"ArgumentName": "partNumber", "ArgumentValue": "3"}


@pytest.mark.parametrize(("query", "message"), [
    ("uploads", "Key is not expected for the GET method ?uploads subresource"),
    ("versions", "There is no such thing as the ?versions sub-resource for a key"),
])
def test_s3_bucket_subresources_on_a_key_are_invalid_requests(query: str, message: str) -> None:
    error = _error(S3, _req("GET", "/b/k", query))
    assert error.wire_identity("rest-xml") == ("InvalidRequest", 400)
    assert error.message == message


@pytest.mark.parametrize(("method", "path", "query"), [
    ("GET", "/", ""), ("GET", "/b", ""), ("GET", "/b/k", ""), ("HEAD", "/b/k", ""),
    ("DELETE", "/b", ""), ("DELETE", "/b/k", ""), ("POST", "/b/k", "uploadId=u"),
    ("POST", "/b", "uploadId=u"),
])
def test_s3_copy_source_on_a_request_that_is_not_a_copy(method: str, path: str, query: str) -> None:
    error = _error(S3, _req(method, path, query, (("x-amz-copy-source", "bucket/object"),)))
    assert error.wire_identity("rest-xml") == ("InvalidArgument", 400)
    assert error.message == "You can only specify a copy source header for copy requests."
    assert error.extra == {"ArgumentName": "x-amz-copy-source", "ArgumentValue": "bucket/object"}


def test_s3_bucket_post_without_a_form_is_precondition_failed() -> None:
    error = _error(S3, _req("POST", "/b", "", (("content-type", "text/plain"),)))
    assert error.wire_identity("rest-xml") == ("PreconditionFailed", 412)
    assert error.message == "At least one of the pre-conditions you specified did not hold"
    assert error.extra == {"Condition": "Bucket POST must be of the enclosure-type multipart/form-data"}
    virtual = _error(S3, _req("POST", "/", "", host="b.localhost"), virtual_host_bucket="b")
    assert virtual.wire_identity("rest-xml") == ("PreconditionFailed", 412)


def test_s3_bucket_post_form_upload_routes_to_post_object() -> None:
    form = (("content-type", "multipart/form-data; boundary=x"),)
    found = route_rest(S3, _req("POST", "/b", "", form))
    assert (found.operation.name, found.labels) == ("PostObject", {"Bucket": "b"})
    virtual = route_rest(S3, _req("POST", "/", "", form, host="b.localhost"), virtual_host_bucket="b")
    assert (virtual.operation.name, virtual.labels) == ("PostObject", {"Bucket": "b"})
    # a form POST with a subresource is still that operation (DeleteObjects needs ?delete)
    assert route_rest(S3, _req("POST", "/b", "delete", form)).operation.name == "DeleteObjects"


@pytest.mark.parametrize("path", ["/b/%ff", "/b/a%zz", "/b/%", "/b%c3/k"])
def test_s3_undecodable_path_is_invalid_uri(path: str) -> None:
    error = _error(S3, _req("GET", path))
    assert error.wire_identity("rest-xml") == ("InvalidURI", 400)
    assert error.message == "Couldn't parse the specified URI."


@pytest.mark.parametrize(("service_name", "method", "path"), [
    ("lambda", "GET", "/2015-03-31/no-such-thing"),
    ("lambda", "PATCH", "/2015-03-31/functions/f1"),
    ("lambda", "GET", "/"),
    ("accessanalyzer", "DELETE", "/analyzer"),
    ("artifact", "GET", "/v1/nothing/here"),
    ("s3control", "GET", "/v20180820/nothing"),
    ("s3control", "PATCH", "/v20180820/jobs"),
])
def test_rest_services_answer_unknown_operation(service_name: str, method: str, path: str) -> None:
    error = _error(load_service(service_name), _req(method, path))
    assert isinstance(error, errors.UnknownOperation)
    assert error.wire_identity("rest-json") == ("UnknownOperationException", 404)


def test_rest_json_labels_are_decoded_once() -> None:
    lam = load_service("lambda")
    route = route_rest(lam, _req("GET", "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A"
                                        "123456789012%3Afunction%3Af%2B1/configuration"))
    assert route.operation.name == "GetFunctionConfiguration"
    assert route.labels == {"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:f+1"}
    # a plain label never spans "/"
    with pytest.raises(errors.UnknownOperation):
        route_rest(lam, _req("GET", "/2015-03-31/functions/a/b/configuration"))


# --- a property: every key botocore can send comes back exactly ---------------------------------

_KEYS = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40)


@given(key=_KEYS, method=st.sampled_from(["PutObject", "GetObject", "HeadObject", "DeleteObject"]))
def test_any_key_round_trips_through_botocore(key: str, method: str) -> None:
    operation = S3.operation_model(method)
    request = serialized_request(S3, operation, {"Bucket": BUCKET, "Key": key})
    route = route_rest(S3, request)
    assert route.operation.name == method
    assert route.labels == {"Bucket": BUCKET, "Key": key}
