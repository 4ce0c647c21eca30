"""STS's errors, each with the code and HTTP status of STS's model (checked by a test).

https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html
https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html#API_AssumeRole_Errors
"""

from cloudkeep.wire.errors import ServiceError


class MalformedPolicyDocument(ServiceError):
    """The session policy (Policy) is not a valid session policy."""

    code = "MalformedPolicyDocument"; status = 400


class PackedPolicyTooLarge(ServiceError):
    """Session policies and session tags, packed, exceed their allotted space."""

    code = "PackedPolicyTooLarge"; status = 400


class InvalidAuthorizationMessage(ServiceError):
    """DecodeAuthorizationMessage: the message is not one cloudkeep encoded (or it expired)."""

    code = "InvalidAuthorizationMessageException"; status = 400


ERRORS = (MalformedPolicyDocument, PackedPolicyTooLarge, InvalidAuthorizationMessage)
