"""The error hierarchy every stage and service raises.

Each error knows its wire identity (AWS error code and HTTP status) where it is defined; the
serializers of each protocol turn it into that protocol's exact error format. An error that AWS
names differently per protocol (``InvalidClientTokenId`` for query services,
``UnrecognizedClientException`` for JSON services) says so in ``protocol_codes``.

Must not: know any service; carry secrets in messages.
"""

from __future__ import annotations

from typing import ClassVar, Mapping


class ServiceError(Exception):
    """An AWS-style error: code, HTTP status, message, and who is at fault."""

    code: ClassVar[str] = "InternalFailure"
    status: ClassVar[int] = 500
    sender_fault: ClassVar[bool] = True
    #: protocol name ("query", "json", "rest-xml", ...) → (code, status) where AWS differs
    protocol_codes: ClassVar[Mapping[str, tuple[str, int]]] = {}

    def __init__(self, message: str = "", *, headers: Mapping[str, str] | None = None,
                 extra: Mapping[str, object] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = dict(headers or {})
        #: additional members of the error shape (e.g. S3's BucketName), serialized after Message
        self.extra = dict(extra or {})

    def wire_identity(self, protocol: str) -> tuple[str, int]:
        """The (code, status) this error has on the given protocol."""
        return self.protocol_codes.get(protocol, (self.code, self.status))

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"{type(self).__name__}({self.message!r})"


def service_error(code: str, status: int, message: str = "", *, sender_fault: bool = True) -> ServiceError:
    """An error built from a model's error shape at run time (code and status from the model)."""
    cls = type(code, (ServiceError,), {"code": code, "status": status, "sender_fault": sender_fault})
    return cls(message)


# --- errors common to every service (AWS "Common Errors") -----------------------------------
# https://docs.aws.amazon.com/IAM/latest/APIReference/CommonErrors.html
# https://docs.aws.amazon.com/kms/latest/APIReference/CommonErrors.html


class InternalFailure(ServiceError):
    code = "InternalFailure"; status = 500; sender_fault = False
    protocol_codes = {"query": ("InternalFailure", 500), "json": ("InternalFailure", 500)}


class ValidationError(ServiceError):
    """Input failed the model's constraints: ``1 validation error detected: ...``."""
    code = "ValidationError"; status = 400
    protocol_codes = {"json": ("ValidationException", 400)}


class InvalidParameterValue(ServiceError):
    code = "InvalidParameterValue"; status = 400


class InvalidParameterCombination(ServiceError):
    code = "InvalidParameterCombination"; status = 400


class MissingParameter(ServiceError):
    code = "MissingParameter"; status = 400


class MissingAction(ServiceError):
    code = "MissingAction"; status = 400


class InvalidAction(ServiceError):
    """Unknown action for a query service; JSON services say ``UnknownOperationException``."""
    code = "InvalidAction"; status = 400
    protocol_codes = {"json": ("UnknownOperationException", 400)}


class UnknownService(ServiceError):
    """The request names no service cloudkeep knows (credential scope, target or host)."""
    code = "UnknownService"; status = 400


class MalformedQueryString(ServiceError):
    code = "MalformedQueryString"; status = 404


class SerializationException(ServiceError):
    """A JSON body that does not parse, or a member of the wrong type."""
    code = "SerializationException"; status = 400


class UnsupportedMediaType(ServiceError):
    code = "UnsupportedMediaType"; status = 415


class RequestEntityTooLarge(ServiceError):
    code = "RequestEntityTooLarge"; status = 413


class MethodNotAllowed(ServiceError):
    code = "MethodNotAllowed"; status = 405


class NotImplementedOperation(ServiceError):
    """An operation that exists in the model but is not implemented by cloudkeep yet."""
    code = "NotImplemented"; status = 501; sender_fault = False


# --- authentication (https://docs.aws.amazon.com/IAM/latest/UserGuide/signature-v4-troubleshooting.html)


class InvalidClientTokenId(ServiceError):
    code = "InvalidClientTokenId"; status = 403
    protocol_codes = {"json": ("UnrecognizedClientException", 400)}


class SignatureDoesNotMatch(ServiceError):
    code = "SignatureDoesNotMatch"; status = 403
    protocol_codes = {"json": ("InvalidSignatureException", 400)}


class IncompleteSignature(ServiceError):
    code = "IncompleteSignature"; status = 400
    protocol_codes = {"json": ("IncompleteSignatureException", 400)}


class MissingAuthenticationToken(ServiceError):
    code = "MissingAuthenticationToken"; status = 403
    protocol_codes = {"json": ("MissingAuthenticationTokenException", 400)}


class RequestExpired(ServiceError):
    code = "RequestExpired"; status = 400
    protocol_codes = {"json": ("InvalidSignatureException", 400)}


class ExpiredToken(ServiceError):
    code = "ExpiredToken"; status = 400
    protocol_codes = {"json": ("ExpiredTokenException", 400)}


class AccessDenied(ServiceError):
    code = "AccessDenied"; status = 403
    protocol_codes = {"json": ("AccessDeniedException", 400)}


# --- S3's own authentication errors (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html)


class RequestTimeTooSkewed(ServiceError):
    """S3: request time more than 15 minutes from server time (extras RequestTime, ServerTime,
    MaxAllowedSkewMilliseconds, as S3 sends them)."""
    code = "RequestTimeTooSkewed"; status = 403


class XAmzContentSHA256Mismatch(ServiceError):
    """S3: the x-amz-content-sha256 header does not match the body received."""
    code = "XAmzContentSHA256Mismatch"; status = 400


class RequestHeaderSectionTooLarge(ServiceError):
    """The request's headers are larger than the server accepts (S3's code for it:
    https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html)."""
    code = "RequestHeaderSectionTooLarge"; status = 400
