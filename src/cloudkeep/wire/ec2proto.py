"""The AWS ``ec2`` protocol (EC2's own variant of query), server side, driven by botocore's model.

Owns what EC2 does differently from ``query`` (https://smithy.io/2.0/aws/protocols/aws-ec2-query-protocol.html):

- request parameter names: a member's ``queryName``, else its ``locationName`` with the first
  letter capitalized, else the member name (``Filter.1.Name``, ``Filter.1.Value.1``); every list
  is flattened as ``Name.N`` whatever its member's name; an empty list is not sent at all;
- a value of the wrong type is ``InvalidParameterValue`` in EC2's words
  (``Value ( 1 ) for parameter maxResults is invalid. …``,
  https://github.com/aws/aws-sdk-ruby/pull/2575);
- the success envelope has no result wrapper: ``<OpResponse xmlns="http://ec2.amazonaws.com/doc/
  2016-11-15/"><requestId>…</requestId>members…</OpResponse>``;
- the error envelope ``<Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/>
  </Response>`` (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html),
  with the code and status of ``error.wire_identity("ec2")`` and, for errors EC2 renames (an
  authentication failure becomes ``AuthFailure``), the message EC2 sends with that code.

Everything else (form decoding, the parameter trie, scalar types, the XML writer) is the query
protocol's own code, reused through its per-shape plans.

Must not: know any service; let any exception but ``ServiceError`` escape the request side.
"""

from __future__ import annotations

import weakref
from typing import Any, Final, Mapping

from botocore.model import OperationModel, ServiceModel, Shape

from . import errors, query_parse, query_serialize
from .http import HttpRequest, HttpResponse
from .query_parse import MAX_BODY_BYTES, operation_name
from .xmlutil import escape_attr, escape_text

__all__ = ["MAX_BODY_BYTES", "operation_name", "parse_request", "serialize_error",
           "serialize_response"]

_XML_DECLARATION: Final = '<?xml version="1.0" encoding="UTF-8"?>\n'
#: EC2's Content-Type on every response (https://github.com/aws/aws-sdk-java-v2/issues/2981)
_CONTENT_TYPE: Final = ("Content-Type", "text/xml;charset=UTF-8")
_REQUEST_ID: Final = "x-amzn-RequestId"


# --- request side --------------------------------------------------------------------------

def _wire_name(shape: Shape, default: str) -> str:
    """A member's parameter name: its ``queryName``, else its ``locationName`` or (as Smithy's
    awsEc2Query says; botocore keeps it as is, but EC2's member names are capitalized already)
    its member name, with the first letter capitalized."""
    ser = shape.serialization
    query_name = ser.get("queryName")
    if query_name:
        return query_name
    name = ser.get("name") or default
    return name[:1].upper() + name[1:]


def _members(shape: Shape) -> tuple[tuple[str, str, str, str], ...]:
    """(wire name, member name, name in messages, alternative wire name) per member; the
    alternative is the uncapitalized member name botocore would send for a lowercase one."""
    out = []
    for name, member in shape.members.items():
        wire = _wire_name(member, name)
        named = member.serialization.get("queryName") or member.serialization.get("name")
        alt = name if wire != name and not named else ""
        out.append((wire, name, name[:1].lower() + name[1:], alt))
    return tuple(out)


def _entry_name(shape: Shape, default: str) -> str:
    """A map entry's key or value name: botocore capitalizes a given name, not the default."""
    ser = shape.serialization
    return _wire_name(shape, default) if ser.get("queryName") or ser.get("name") else default


def _type_error(value: str, path: str, constraint: str) -> errors.ServiceError:
    shown = value if len(value) <= 100 else value[:100] + "..."
    return errors.InvalidParameterValue(
        f"Value ( {shown} ) for parameter {path} is invalid. {constraint}.")


class _Plan(query_parse._Plan):  # noqa: SLF001 - the query plans, with EC2's naming
    """The query protocol's read plan with EC2's parameter names and list layout."""

    __slots__ = ()
    type_error = staticmethod(_type_error)

    def __init__(self, shape: Shape) -> None:
        super().__init__(shape)
        if self.kind == "list":
            self.flattened = True                  # Name.1, Name.2 … (never Name.member.1)
        elif self.kind == "structure":
            self.members = _members(shape)
        elif self.kind == "map":                   # EC2's model has none; as botocore would send
            self.key_name = _entry_name(shape.key, "key")
            self.value_name = _entry_name(shape.value, "value")


_PLANS: "weakref.WeakKeyDictionary[OperationModel, _Plan]" = weakref.WeakKeyDictionary()


def parse_request(operation: OperationModel, request: HttpRequest) -> dict[str, Any]:
    """The params dict of an EC2 request for ``operation``, as the botocore client had it."""
    try:
        params = query_parse._form_params(request)  # noqa: SLF001
        shape = operation.input_shape
        if shape is None:
            return {}
        plan = _PLANS.get(operation)
        if plan is None:
            plan = _PLANS[operation] = _Plan(shape)
        return query_parse._read_structure(plan, query_parse._trie(params), "", 0)  # noqa: SLF001
    except errors.ServiceError:
        raise
    except (UnicodeError, ValueError, OverflowError, RecursionError):
        raise errors.MalformedQueryString("The query string contains a syntax error.") from None
    except Exception:  # noqa: BLE001 - nothing else may escape; a bug shows as a 500
        raise errors.InternalFailure("We encountered an internal error. Please try again.") from None


# --- response side -------------------------------------------------------------------------

_OUTPUT_PLANS: "weakref.WeakKeyDictionary[OperationModel, query_serialize._Plan]" = (
    weakref.WeakKeyDictionary())


def _xmlns(service: ServiceModel) -> str:
    """``http://ec2.amazonaws.com/doc/2016-11-15/``: the model's namespace, with the trailing
    slash EC2 writes (botocore's metadata omits it)."""
    metadata = service.metadata
    ns = metadata.get("xmlNamespace") or (
        f"http://{metadata.get('endpointPrefix', 'ec2')}.amazonaws.com/doc/"
        f"{metadata.get('apiVersion', '')}")
    if not ns.endswith("/"):
        ns += "/"
    return f' xmlns="{escape_attr(ns)}"'


def serialize_response(operation: OperationModel, result: Mapping[str, Any],
                       request_id: str) -> HttpResponse:
    """The 200 text/xml response for ``operation`` carrying ``result``."""
    name = operation.name
    out = [_XML_DECLARATION, f"<{name}Response{_xmlns(operation.service_model)}>",
           f"<requestId>{escape_text(request_id)}</requestId>"]
    shape = operation.output_shape
    if shape is not None:
        plan = _OUTPUT_PLANS.get(operation)
        if plan is None:
            plan = _OUTPUT_PLANS[operation] = query_serialize._Plan(shape)  # noqa: SLF001
        query_serialize._write_members(out, plan, result)  # noqa: SLF001
    out.append(f"</{name}Response>")
    body = "".join(out).encode("utf-8")
    return HttpResponse(200, ((_REQUEST_ID, request_id), _CONTENT_TYPE), body)


#: The message EC2 sends with a code cloudkeep's error was renamed to on this protocol (the
#: error's own message is written for the query services' code).
_RENAMED_MESSAGES: Final[Mapping[str, str]] = {
    # https://github.com/aws/aws-sdk-java-v2/issues/2981
    "AuthFailure": "AWS was not able to validate the provided access credentials",
    # https://github.com/aws/aws-sdk-java/issues/1443
    "RequestExpired": "Request has expired.",
    # https://github.com/smarty-archives/go-aws-auth/issues/37
    "InternalError": "An internal error has occurred",
}
#: EC2 puts this before IAM's explanation of a denial
#: (https://github.com/hashicorp/terraform-provider-aws/issues/4664)
_UNAUTHORIZED_PREFIX: Final = "You are not authorized to perform this operation."


def _message(error: errors.ServiceError, code: str) -> str:
    if code == error.code:
        return error.message
    fixed = _RENAMED_MESSAGES.get(code)
    if fixed is not None:
        return fixed
    if code == "UnauthorizedOperation" and not error.message.startswith(_UNAUTHORIZED_PREFIX):
        return f"{_UNAUTHORIZED_PREFIX} {error.message}".rstrip()
    return error.message


def serialize_error(service: ServiceModel, error: errors.ServiceError,
                    request_id: str) -> HttpResponse:
    """EC2's ``<Response><Errors><Error>`` for ``error`` with the status EC2 gives it."""
    code, status = error.wire_identity("ec2")
    message = _message(error, code)
    out = [_XML_DECLARATION, "<Response><Errors><Error>", f"<Code>{escape_text(code)}</Code>"]
    if message:  # an empty <Message/> would reach SDKs as None rather than absent
        out.append(f"<Message>{escape_text(message)}</Message>")
    if error.extra:
        query_serialize._write_extra(  # noqa: SLF001
            out, query_serialize._error_plan(service, code), error.extra)  # noqa: SLF001
    out.append(f"</Error></Errors><RequestID>{escape_text(request_id)}</RequestID></Response>")
    headers = [(_REQUEST_ID, request_id), _CONTENT_TYPE]
    headers += [(name, value) for name, value in error.headers.items()
                if name.lower() not in ("content-type", "x-amzn-requestid")]
    return HttpResponse(status, tuple(headers), "".join(out).encode("utf-8"))
