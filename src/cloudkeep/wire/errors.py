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
    protocol_codes = {"query": ("InternalFailure", 500), "json": ("InternalFailure", 500),
                      "rest-xml": ("InternalError", 500),  # S3's name for it
                      # EC2's too (https://github.com/smarty-archives/go-aws-auth/issues/37)
                      "ec2": ("InternalError", 500)}


class ValidationError(ServiceError):
    """Input failed the model's constraints: ``1 validation error detected: ...``."""
    code = "ValidationError"; status = 400
    # EC2 has no ValidationError: a bad value is InvalidParameterValue
    # (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html)
    protocol_codes = {"json": ("ValidationException", 400), "ec2": ("InvalidParameterValue", 400),
                      "rest-json": ("ValidationException", 400),
                      # S3 has no ValidationError: a body without the element the operation needs
                      # is MalformedXML (its message set by the rest-xml serializer)
                      "rest-xml": ("MalformedXML", 400)}


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
    protocol_codes = {"rest-xml": ("EntityTooLarge", 400)}  # S3's code for a too-large body


class MethodNotAllowed(ServiceError):
    code = "MethodNotAllowed"; status = 405


class NotImplementedOperation(ServiceError):
    """An operation that exists in the model but is not implemented by cloudkeep yet."""
    code = "NotImplemented"; status = 501; sender_fault = False


# --- authentication (https://docs.aws.amazon.com/IAM/latest/UserGuide/signature-v4-troubleshooting.html)


class InvalidClientTokenId(ServiceError):
    code = "InvalidClientTokenId"; status = 403
    # EC2 answers any credential it cannot validate with AuthFailure, 401 (message fixed by
    # wire/ec2proto.py) (https://github.com/aws/aws-sdk-java/issues/2508,
    # https://github.com/aws/aws-sdk-java-v2/issues/2981)
    protocol_codes = {"json": ("UnrecognizedClientException", 400), "ec2": ("AuthFailure", 401),
                      "rest-xml": ("InvalidAccessKeyId", 403)}


class SignatureDoesNotMatch(ServiceError):
    code = "SignatureDoesNotMatch"; status = 403
    protocol_codes = {"json": ("InvalidSignatureException", 400), "ec2": ("AuthFailure", 401)}


class IncompleteSignature(ServiceError):
    code = "IncompleteSignature"; status = 400
    protocol_codes = {"json": ("IncompleteSignatureException", 400),
                      "rest-xml": ("AuthorizationHeaderMalformed", 400)}


class UnsupportedSignatureVersion(IncompleteSignature):
    """An Authorization header of Signature Version 2 (``AWS AKID:signature``). S3 answers 400
    InvalidRequest "The authorization mechanism you have provided is not supported. Please use
    AWS4-HMAC-SHA256." (its message is set by the rest-xml serializer, as for the other S3
    renamings); every other service answers as for any algorithm it does not know
    (IncompleteSignature, "Unsupported AWS 'algorithm': 'AWS'.")."""
    code = "UnsupportedSignatureVersion"; status = 400
    protocol_codes = {"query": ("IncompleteSignature", 400), "ec2": ("IncompleteSignature", 400),
                      "json": ("IncompleteSignatureException", 400),
                      "rest-json": ("IncompleteSignature", 400),
                      "rest-xml": ("InvalidRequest", 400)}


class MissingAuthenticationToken(ServiceError):
    code = "MissingAuthenticationToken"; status = 403
    # S3 answers an anonymous request to a private resource with AccessDenied
    protocol_codes = {"json": ("MissingAuthenticationTokenException", 400),
                      "rest-xml": ("AccessDenied", 403)}


class RequestExpired(ServiceError):
    code = "RequestExpired"; status = 400
    protocol_codes = {"json": ("InvalidSignatureException", 400)}


class ExpiredToken(ServiceError):
    code = "ExpiredToken"; status = 400
    # EC2: an expired session token is RequestExpired, 400
    # (https://github.com/jenkinsci/ec2-plugin/issues/2011)
    protocol_codes = {"json": ("ExpiredTokenException", 400), "ec2": ("RequestExpired", 400)}


class AccessDenied(ServiceError):
    code = "AccessDenied"; status = 403
    # EC2: UnauthorizedOperation, 403 (https://github.com/hashicorp/terraform-provider-aws/issues/4664)
    protocol_codes = {"json": ("AccessDeniedException", 400), "ec2": ("UnauthorizedOperation", 403)}


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


# --- rest-xml (S3) request errors (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html)


class MalformedXML(ServiceError):
    """S3: a request body that is not well-formed XML or does not fit the operation's schema."""
    code = "MalformedXML"; status = 400
    MESSAGE: ClassVar[str] = ("The XML you provided was not well-formed or did not validate "
                              "against our published schema")


class MalformedACLError(ServiceError):
    """S3: the same for an AccessControlPolicy body (PutBucketAcl, PutObjectAcl)."""
    code = "MalformedACLError"; status = 400
    MESSAGE: ClassVar[str] = MalformedXML.MESSAGE


class InvalidArgument(ServiceError):
    """S3: a header or query parameter with a value of the wrong form (extras ArgumentName,
    ArgumentValue)."""
    code = "InvalidArgument"; status = 400


class MaxMessageLengthExceeded(ServiceError):
    """S3: an XML request body larger than S3 reads ("Your request was too big.")."""
    code = "MaxMessageLengthExceeded"; status = 400


# --- S3 presigned and aws-chunked (streaming SigV4) request errors (auth/sigv4.py, auth/chunked.py)
# Wording: https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html and real S3 answers
# as reproduced by versity/versitygw (s3err/s3err.go, s3err/presigned-urls.go).


class AuthorizationQueryParametersError(ServiceError):
    """S3: a presigned URL whose X-Amz-* query parameters are missing or malformed."""
    code = "AuthorizationQueryParametersError"; status = 400


class IncompleteBody(ServiceError):
    """S3: the body ended early, or its aws-chunked framing is broken."""
    code = "IncompleteBody"; status = 400


class InvalidChunkSizeError(ServiceError):
    """S3: an aws-chunked chunk other than the last is under 8192 bytes (extras Chunk, BadChunkSize)."""
    code = "InvalidChunkSizeError"; status = 400


class BadDigest(ServiceError):
    """S3: a checksum the client sent does not match the body received."""
    code = "BadDigest"; status = 400


class InvalidRequest(ServiceError):
    """S3: a request S3 refuses as a whole (e.g. a malformed x-amz-checksum-* value)."""
    code = "InvalidRequest"; status = 400


class MalformedTrailerError(ServiceError):
    """S3: the trailing headers of an aws-chunked body are not well-formed."""
    code = "MalformedTrailerError"; status = 400


class MissingContentLength(ServiceError):
    """S3: a length header the request needs (Content-Length, x-amz-decoded-content-length) is absent."""
    code = "MissingContentLength"; status = 411


# --- REST routing: a request that reaches no operation (wire/rest_routing.py) -----------------


class UnknownOperation(ServiceError):
    """A REST service (rest-json, and rest-xml other than S3) whose routes do not match the
    request's method and path: 404 ``UnknownOperationException`` with an empty message, as
    AWS's REST front ends answer (e.g. https://github.com/soto-project/soto/issues/580:
    "code: notFound, body: <UnknownOperationException/>")."""
    code = "UnknownOperationException"; status = 404


class InvalidURI(ServiceError):
    """S3: a path that cannot be decoded ("Couldn't parse the specified URI.")."""
    code = "InvalidURI"; status = 400
    MESSAGE: ClassVar[str] = "Couldn't parse the specified URI."


class PreconditionFailed(ServiceError):
    """S3: 412 "At least one of the pre-conditions you specified did not hold" (extra Condition,
    e.g. "Bucket POST must be of the enclosure-type multipart/form-data")."""
    code = "PreconditionFailed"; status = 412
    MESSAGE: ClassVar[str] = "At least one of the pre-conditions you specified did not hold"
