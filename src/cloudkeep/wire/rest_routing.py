"""Routing for the REST protocols (``rest-xml``, ``rest-json``): from an ``HttpRequest`` to the
operation and its decoded URI labels, compiled once per service from botocore's model.

For every HTTP method, the service's ``requestUri`` templates are grouped by path pattern and
ordered by specificity: a literal segment beats a label, a label beats a greedy label
(``{Key+}``), more literal segments win. Within one path pattern the operations are ordered by
what else they require: the template's literal query (``?acl``, ``?list-type=2``), the
required members the model binds to the query string (``uploadId``, ``id``), and the few
headers listed in ``_HEADER_DISCRIMINATORS`` (S3's CopyObject is PutObject's URI and method plus
``x-amz-copy-source``); more requirements win, a deprecated operation loses a tie. The query
parameter ``x-id`` that smithy-based SDKs add to some S3 requests (``?x-id=GetObject``) is
never required: it only breaks a remaining tie in favour of the operation it names.

S3's own answers for requests that reach no operation are data too (``_S3_ERROR_ROUTES`` and the
helpers next to it), taken from versitygw's router and its integration tests, which pin S3's
behaviour (https://github.com/versity/versitygw, s3api/router.go, tests/integration/general.go).
Other REST services answer ``UnknownOperationException`` (404).

Virtual-host style S3 (``bucket.s3.<region>.amazonaws.com``, ``bucket.localhost``) is resolved by
``s3_bucket_from_host``; the caller passes that bucket to ``route_rest``, which routes as if the
path were ``/<bucket><path>``. S3 Control shares S3's signing name; ``rest_service_for`` tells the
two apart by the ``/v20180820/`` path.

Must not: parse bodies or bind members other than URI labels (``rest_common`` does); know any
service beyond the small tables here.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from dataclasses import dataclass
from typing import Callable, Final
from urllib.parse import parse_qsl, quote, unquote

from botocore.model import OperationModel, ServiceModel

from . import errors
from .http import HttpRequest
from .routing import services_for_signing_name

_LABEL: Final = re.compile(r"\{([^{}]+)\}")
_BAD_PERCENT: Final = re.compile(r"%(?![0-9A-Fa-f]{2})")

#: (service, operation) → a header whose presence the operation requires to be chosen: the
#: operations AWS tells apart from another with the same method and URI only by a header.
#: S3: "PUT /{Bucket}/{Key+}" is CopyObject with x-amz-copy-source, PutObject without; with
#: ?partNumber&uploadId it is UploadPartCopy with the header, UploadPart without.
_HEADER_DISCRIMINATORS: Final[dict[tuple[str, str], str]] = {
    ("s3", "CopyObject"): "x-amz-copy-source",
    ("s3", "UploadPartCopy"): "x-amz-copy-source",
}

#: (service, operation) → the media type its request body must have to be chosen. S3's POST
#: Object (an operation of cloudkeep's model patch) is ``POST /{Bucket}`` with a
#: multipart/form-data body; any other bucket POST is refused (``_s3_no_route``).
_CONTENT_TYPE_DISCRIMINATORS: Final[dict[tuple[str, str], str]] = {
    ("s3", "PostObject"): "multipart/form-data",
}

#: (service, operation) → why it loses every tie with an operation of the same wire binding.
#: (Deprecated operations, like S3's GetBucketLifecycle, lose ties without being listed.)
_SHADOWED: Final[dict[tuple[str, str], str]] = {
    ("s3", "ListDirectoryBuckets"): "same wire as ListBuckets (GET /); AWS serves it only on the "
                                    "s3express-control endpoint; chosen by ?x-id=ListDirectoryBuckets",
}

#: services whose required query members are subresources: a request without them is another
#: resource (S3: POST /b/k without ?uploadId is not CompleteMultipartUpload but refused), so
#: there is no lenient second pass that would route it and let validation name the member.
_STRICT_QUERY_SERVICES: Final = frozenset({"s3"})

_SEGMENT_LITERAL, _SEGMENT_LABEL, _SEGMENT_GREEDY = 0, 1, 2


# --- public values ----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class RestRoute:
    operation: OperationModel
    #: percent-decoded URI label values by label name, e.g. {"Bucket": "b", "Key": "dir/a b.txt"}
    labels: dict[str, str]


# --- S3's answers for requests that reach no operation --------------------------------------

def _method_not_allowed(method: str, resource_type: str = "SERVICE",
                        allow: str | None = None) -> errors.ServiceError:
    # S3 names the method and the resource type; unmatched routes are "SERVICE"
    # (versitygw tests/integration/general.go: RouterPostRoot, RouterPostObjectWithoutQuery).
    return errors.MethodNotAllowed("The specified method is not allowed against this resource.",
                                   headers={"Allow": allow} if allow else None,
                                   extra={"Method": method, "ResourceType": resource_type})


def _part_number_without_upload_id(request: HttpRequest) -> errors.ServiceError:
    value = next((v for k, v in request.query_params() if k == "partNumber"), "")
    return errors.InvalidArgument("This operation does not accept partNumber without uploadId",
                                  extra={"ArgumentName": "partNumber", "ArgumentValue": value})


@dataclass(frozen=True, slots=True)
class _ErrorRoute:
    method: str
    template: str
    query: tuple[str, ...]                       # parameter names that must be present
    error: Callable[[HttpRequest], errors.ServiceError]


#: S3 requests on a real path that S3 refuses with a specific error rather than route. They rank
#: with the operations (by how many query parameters they require) and win ties, so that
#: PUT /b/k?uploadId=x (no partNumber) is refused, not taken as PutObject.
_S3_ERROR_ROUTES: Final = (
    _ErrorRoute("PUT", "/{Bucket}/{Key+}", ("partNumber",), _part_number_without_upload_id),
    _ErrorRoute("PUT", "/{Bucket}/{Key+}", ("uploadId",),
                lambda r: _method_not_allowed("PUT", "UPLOAD", allow="DELETE, POST, GET")),
    _ErrorRoute("GET", "/{Bucket}/{Key+}", ("uploads",), lambda r: errors.InvalidRequest(
        "Key is not expected for the GET method ?uploads subresource")),
    _ErrorRoute("GET", "/{Bucket}/{Key+}", ("versions",), lambda r: errors.InvalidRequest(
        "There is no such thing as the ?versions sub-resource for a key")),
)


def _s3_precheck(request: HttpRequest, method: str, query: dict[str, list[str]]) -> None:
    """S3 refuses x-amz-copy-source on every request that is not a copy: GET, HEAD, DELETE,
    and POST with ?uploadId (versitygw RouterCopySourceNotAllowed)."""
    source = request.header("x-amz-copy-source")
    if source is not None and (method in ("GET", "HEAD", "DELETE")
                               or (method == "POST" and "uploadId" in query)):
        raise errors.InvalidArgument("You can only specify a copy source header for copy requests.",
                                     extra={"ArgumentName": "x-amz-copy-source",
                                            "ArgumentValue": source})


def _s3_no_route(request: HttpRequest, method: str, path: str) -> errors.ServiceError:
    segments = path.strip("/").split("/") if path.strip("/") else []
    if method == "POST" and len(segments) == 1 and path.count("/") <= 2:
        # POST /{Bucket} without a subresource is a browser form upload (POST Object), which
        # routes to PostObject only with a multipart/form-data body
        # (https://github.com/benjreinhart/react-native-aws3/issues/26: S3's answer otherwise)
        return errors.PreconditionFailed(
            errors.PreconditionFailed.MESSAGE,
            extra={"Condition": "Bucket POST must be of the enclosure-type multipart/form-data"})
    return _method_not_allowed(method)


# --- compiled routes --------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Rule:
    operation: OperationModel | None            # None: an S3 error route
    error: Callable[[HttpRequest], errors.ServiceError] | None
    literal_query: tuple[tuple[str, str | None], ...]
    required_query: tuple[str, ...]
    required_headers: tuple[str, ...]
    x_id: str | None
    rank: tuple[int, int, int]                  # larger is more specific
    content_type: str | None = None             # the body's required media type, if any

    def literals_match(self, query: dict[str, list[str]]) -> bool:
        for name, value in self.literal_query:
            present = query.get(name)
            if present is None or (value is not None and value not in present):
                return False
        return True

    def requirements_match(self, query: dict[str, list[str]], request: HttpRequest) -> bool:
        return (all(name in query for name in self.required_query)
                and all(request.header(name) is not None for name in self.required_headers)
                and (self.content_type is None
                     or (request.header("content-type") or "").lower().startswith(self.content_type)))


@dataclass(frozen=True, slots=True)
class _PathGroup:
    template: str
    prefix: str                                 # the literal text before the first label
    pattern: re.Pattern[str]
    labels: tuple[str, ...]
    rules: tuple[_Rule, ...]                    # most specific first
    #: positions in ``rules`` of the rules without a literal query, and by literal name of the
    #: others (a rule is listed under its first literal): only these can match a query
    plain: tuple[int, ...]
    by_literal: dict[str, tuple[int, ...]]

    def candidates(self, query: dict[str, list[str]]) -> list[_Rule]:
        positions = list(self.plain)
        for name in query:
            positions.extend(self.by_literal.get(name, ()))
        positions.sort()
        return [self.rules[i] for i in positions if self.rules[i].literals_match(query)]


@dataclass(frozen=True, slots=True)
class _Router:
    service: str
    by_method: dict[str, tuple[_PathGroup, ...]]
    strict: bool
    #: headers bound to an operation's host prefix label (see ``_host_label_is``)
    host_label_headers: frozenset[str]


def _compile_path(path: str) -> tuple[re.Pattern[str], tuple[str, ...], tuple[int, int, int]]:
    """The path pattern (labels never empty, a plain label never spans "/"; "/x" is also
    reached as "/x/"), the label names, and its specificity (greedy count, -literal segments,
    label count; smaller sorts first)."""
    parts: list[str] = []
    labels: list[str] = []
    position = 0
    for match in _LABEL.finditer(path):
        parts.append(re.escape(path[position:match.start()]))
        name = match.group(1)
        greedy = name.endswith("+")
        labels.append(name.rstrip("+"))
        parts.append(f"(?P<g{len(labels) - 1}>{'.+' if greedy else '[^/]+'})")
        position = match.end()
    tail = path[position:]
    parts.append(re.escape(tail) + ("/?" if path != "/" and not tail.endswith("/") else ""))
    kinds = [_SEGMENT_GREEDY if "+}" in seg else _SEGMENT_LABEL if "{" in seg else _SEGMENT_LITERAL
             for seg in path.strip("/").split("/") if seg]
    specificity = (kinds.count(_SEGMENT_GREEDY), -kinds.count(_SEGMENT_LITERAL),
                   kinds.count(_SEGMENT_LABEL))
    return re.compile("".join(parts), re.DOTALL), tuple(labels), specificity


def _split_query(query: str) -> tuple[tuple[tuple[str, str | None], ...], str | None]:
    literal: list[tuple[str, str | None]] = []
    x_id = None
    for piece in query.split("&") if query else ():
        name, eq, value = piece.partition("=")
        if name == "x-id":
            x_id = value
        else:
            literal.append((name, value if eq else None))
    return tuple(literal), x_id


def _required_query(operation: OperationModel) -> tuple[str, ...]:
    shape = operation.input_shape
    if shape is None:
        return ()
    return tuple(shape.members[name].serialization.get("name", name)
                 for name in shape.required_members
                 if shape.members[name].serialization.get("location") == "querystring")


def _rule_for(service: str, operation: OperationModel,
              literal: tuple[tuple[str, str | None], ...], x_id: str | None) -> _Rule:
    required = _required_query(operation)
    header = _HEADER_DISCRIMINATORS.get((service, operation.name))
    headers = (header,) if header else ()
    demoted = operation.deprecated or (service, operation.name) in _SHADOWED
    return _Rule(operation, None, literal, required, headers, x_id or operation.name,
                 (len(literal) + len(required) + len(headers), 0, 0 if demoted else 1),
                 _CONTENT_TYPE_DISCRIMINATORS.get((service, operation.name)))


@functools.lru_cache(maxsize=64)
def _router(service: ServiceModel) -> _Router:
    name = service.service_name
    grouped: dict[tuple[str, str], list[_Rule]] = {}
    for op_name in service.operation_names:
        operation = service.operation_model(op_name)
        method = operation.http.get("method", "POST").upper()
        path, _, query = operation.http.get("requestUri", "/").partition("?")
        literal, x_id = _split_query(query)
        grouped.setdefault((method, path), []).append(_rule_for(name, operation, literal, x_id))
    if name == "s3":
        for route in _S3_ERROR_ROUTES:
            grouped.setdefault((route.method, route.template), []).append(
                _Rule(None, route.error, tuple((q, None) for q in route.query), (), (), None,
                      (len(route.query), 1, 1)))
    by_method: dict[str, list[tuple[tuple[int, int, int], _PathGroup]]] = {}
    for (method, path), rules in grouped.items():
        pattern, labels, specificity = _compile_path(path)
        rules.sort(key=lambda rule: rule.rank, reverse=True)
        prefix = path.split("{", 1)[0]
        by_literal: dict[str, list[int]] = {}
        for index, rule in enumerate(rules):
            if rule.literal_query:
                by_literal.setdefault(rule.literal_query[0][0], []).append(index)
        group = _PathGroup(path, prefix, pattern, labels, tuple(rules),
                           tuple(i for i, rule in enumerate(rules) if not rule.literal_query),
                           {name: tuple(found) for name, found in by_literal.items()})
        by_method.setdefault(method, []).append((specificity, group))
    ordered = {method: tuple(group for _, group in sorted(groups, key=lambda item: item[0]))
               for method, groups in by_method.items()}
    host_label_headers = frozenset(
        header for header in (_host_label_header(service.operation_model(op))
                              for op in service.operation_names) if header)
    return _Router(name, ordered, name in _STRICT_QUERY_SERVICES, host_label_headers)


def _decode(raw: str) -> str | None:
    """A label's value, percent-decoded once as UTF-8 ("+" stays "+"); None when malformed."""
    if "%" not in raw:
        return raw
    if _BAD_PERCENT.search(raw):
        return None
    try:
        return unquote(raw, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        return None


def _query_index(request: HttpRequest) -> dict[str, list[str]]:
    index: dict[str, list[str]] = {}
    for name, value in parse_qsl(request.query, keep_blank_values=True):
        index.setdefault(name, []).append(value)
    return index


def _pick(rules: list[_Rule], x_id: str | None) -> _Rule:
    """The most specific rule; among those with as many requirements, the one ``x-id`` names
    (even a deprecated or shadowed one)."""
    best = rules[0]
    if x_id is not None and best.x_id != x_id:
        for rule in rules[1:]:
            if rule.rank[:2] != best.rank[:2]:
                break
            if rule.x_id == x_id:
                return rule
    return best


def _match(router: _Router, request: HttpRequest, method: str, path: str,
           query: dict[str, list[str]]) -> tuple[_Rule, _PathGroup, re.Match[str]] | None:
    x_id = (query.get("x-id") or [None])[0]
    groups = router.by_method.get(method, ())
    fallback: tuple[_Rule, _PathGroup, re.Match[str]] | None = None
    for group in groups:
        if not path.startswith(group.prefix):
            continue
        match = group.pattern.fullmatch(path)
        if match is None:
            continue
        literal_ok = group.candidates(query)
        strict = [rule for rule in literal_ok if rule.requirements_match(query, request)]
        if strict:
            return _pick(strict, x_id), group, match
        if fallback is None and not router.strict:
            lenient = [rule for rule in literal_ok if rule.operation is not None]
            if lenient:
                fallback = (_pick(lenient, x_id), group, match)
    return fallback


def _host_label_header(operation: OperationModel) -> str | None:
    """The header bound to the operation's host prefix label (S3's WriteGetObjectResponse:
    ``{RequestRoute}.`` is header x-amz-request-route), if it has one."""
    prefix = (operation.endpoint or {}).get("hostPrefix", "")
    found = _LABEL.fullmatch(prefix.rstrip("."))
    shape = operation.input_shape
    if found is None or shape is None or found.group(1) not in shape.members:
        return None
    member = shape.members[found.group(1)]
    if member.serialization.get("location") != "header":
        return None
    return member.serialization.get("name", found.group(1)).lower()


def _host_label_is(operation: OperationModel | None, request: HttpRequest, label: str) -> bool:
    """True when the host's first label is the operation's own host prefix label (carried in
    its header too), so that it is not a virtual-host bucket."""
    header = _host_label_header(operation) if operation is not None else None
    return header is not None and request.header(header) == label


def route_rest(service: ServiceModel, request: HttpRequest, *,
               virtual_host_bucket: str | None = None) -> RestRoute:
    """The operation a REST request is for, with its decoded URI labels; or AWS's error."""
    router = _router(service)
    method = request.method.upper()
    path = request.path or "/"
    query = _query_index(request)
    is_s3 = router.service == "s3"
    if is_s3:
        _s3_precheck(request, method, query)
    found = None
    if virtual_host_bucket is not None:
        if any(request.header(h) == virtual_host_bucket for h in router.host_label_headers):
            found = _match(router, request, method, path, query)
        if found is None or not _host_label_is(found[0].operation, request, virtual_host_bucket):
            path = "/" + quote(virtual_host_bucket, safe="") + (path if path.startswith("/") else "/" + path)
            found = _match(router, request, method, path, query)
    else:
        found = _match(router, request, method, path, query)
    if found is None:
        if is_s3:
            raise _s3_no_route(request, method, path)
        raise errors.UnknownOperation("")
    rule, group, match = found
    if rule.operation is None:
        assert rule.error is not None
        raise rule.error(request)
    labels: dict[str, str] = {}
    for index, label in enumerate(group.labels):
        decoded = _decode(match.group(f"g{index}"))
        if not decoded:
            if is_s3:
                raise errors.InvalidURI(errors.InvalidURI.MESSAGE)
            raise errors.UnknownOperation("")
        labels[label] = decoded
    return RestRoute(rule.operation, labels)


# --- which service, which bucket ------------------------------------------------------------

#: S3 endpoint labels that follow a virtual-host bucket: "s3", "s3-<region>" (legacy dash
#: form), "s3-fips", "s3-external-1". Not S3 Control, access points or website endpoints.
_S3_LABEL: Final = re.compile(r"s3|s3-fips|s3-external-1|s3-(?:[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d+)")


def _strip_port(host: str) -> str:
    host = host.strip().lower().rstrip(".")
    if host.startswith("["):                     # [::1]:4566
        return host[1:host.find("]")] if "]" in host else host[1:]
    if host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host.rstrip(".")


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


@functools.lru_cache(maxsize=256)
def s3_bucket_from_host(host: str) -> str | None:
    """The bucket of a virtual-host style S3 request, or None for a path style host (kept for
    the last 256 hosts: a client sends the same Host header on every request, and telling an
    IP address apart cost ~20 µs of each S3 request).

    "bucket.localhost:4566", "bucket.s3.localhost", "bucket.s3.<region>.<any domain>",
    "bucket.s3.amazonaws.com", "bucket.s3-<region>.amazonaws.com" and
    "bucket.s3.dualstack.<region>.amazonaws.com" name a bucket (dots allowed in it);
    "localhost", "s3.<region>.amazonaws.com", "s3.amazonaws.com" and IP addresses do not."""
    name = _strip_port(host)
    if not name or _is_ip(name):
        return None
    labels = name.split(".")
    for index in range(len(labels) - 1, 0, -1):
        if _S3_LABEL.fullmatch(labels[index]) and index < len(labels) - 1:
            return ".".join(labels[:index]) or None
    if len(labels) >= 2 and labels[-1] == "localhost":
        if any(_S3_LABEL.fullmatch(label) for label in labels[:-1]):
            return None                          # "s3.localhost": path style
        return ".".join(labels[:-1])
    return None


#: the S3 Control API's path prefix (its model's requestUris all start with it)
_S3CONTROL_PREFIX: Final = "/v20180820/"


def rest_service_for(signing_name: str, request: HttpRequest) -> str:
    """The botocore service of a REST request signed for ``signing_name``.

    S3 and S3 Control share the signing name "s3"; AWS tells them apart by host
    (``<account>.s3-control.<region>.amazonaws.com``), cloudkeep by what any host carries:
    the ``/v20180820/`` path with the ``x-amz-account-id`` header (S3 Control's CreateBucket,
    for Outposts, sends ``x-amz-outpost-id`` instead). A path style S3 request to a bucket
    named "v20180820" carries neither, so it stays S3."""
    if signing_name == "s3":
        path = request.path or "/"
        if path.startswith(_S3CONTROL_PREFIX) and (
                request.header("x-amz-account-id") is not None
                or request.header("x-amz-outpost-id") is not None
                or "s3-control" in _strip_port(request.host).split(".")):
            return "s3control"
        return "s3"
    found = services_for_signing_name(signing_name)
    if not found:
        raise errors.UnknownService(f"No service is signed as {signing_name!r}.")
    return found[0]
