"""S3's errors, each with the code, HTTP status and message S3 gives it.

S3's botocore model names only a few of its errors (NoSuchBucket, NoSuchKey, NoSuchUpload,
BucketAlreadyExists, BucketAlreadyOwnedByYou, InvalidRequest, …); those are in ``ERRORS`` and a
test checks them against the model. Every other code here is from the S3 API reference's error
list, with its status and S3's own message:
https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html#ErrorCodeList
Extras (BucketName, Key, VersionId, UploadId, Condition, …) are written after the message, as S3
sends them.

Must not: hold rules (``domain.py``) beyond the small builders below.
"""

from __future__ import annotations

from typing import ClassVar

from cloudkeep.wire.errors import (AccessDenied, BadDigest, InvalidArgument, InvalidRequest, MalformedACLError,
                                   MalformedXML, PreconditionFailed, ServiceError)

__all__ = ["AccessDenied", "BadDigest", "InvalidArgument", "InvalidRequest", "MalformedACLError", "MalformedXML",
           "PreconditionFailed"]


class NoSuchBucket(ServiceError):
    code = "NoSuchBucket"; status = 404
    MESSAGE: ClassVar[str] = "The specified bucket does not exist"


class NoSuchKey(ServiceError):
    code = "NoSuchKey"; status = 404
    MESSAGE: ClassVar[str] = "The specified key does not exist."


class NoSuchUpload(ServiceError):
    code = "NoSuchUpload"; status = 404
    MESSAGE: ClassVar[str] = ("The specified upload does not exist. The upload ID may be invalid, or the upload "
                              "may have been aborted or completed.")


class BucketAlreadyExists(ServiceError):
    code = "BucketAlreadyExists"; status = 409
    MESSAGE: ClassVar[str] = ("The requested bucket name is not available. The bucket namespace is shared by all "
                              "users of the system. Please select a different name and try again.")


class BucketAlreadyOwnedByYou(ServiceError):
    code = "BucketAlreadyOwnedByYou"; status = 409
    MESSAGE: ClassVar[str] = "Your previous request to create the named bucket succeeded and you already own it."


class TooManyParts(ServiceError):
    code = "TooManyParts"; status = 400


# --- not in the model (ErrorResponses.html) -------------------------------------------------------


class NoSuchVersion(ServiceError):
    code = "NoSuchVersion"; status = 404
    MESSAGE: ClassVar[str] = "The specified version does not exist."


class BucketNotEmpty(ServiceError):
    code = "BucketNotEmpty"; status = 409
    MESSAGE: ClassVar[str] = "The bucket you tried to delete is not empty"
    VERSIONED: ClassVar[str] = ("The bucket you tried to delete is not empty. You must delete all versions in "
                                "the bucket.")


class InvalidBucketName(ServiceError):
    code = "InvalidBucketName"; status = 400
    MESSAGE: ClassVar[str] = "The specified bucket is not valid."


class NoSuchBucketPolicy(ServiceError):
    code = "NoSuchBucketPolicy"; status = 404
    MESSAGE: ClassVar[str] = "The bucket policy does not exist"


class NoSuchTagSet(ServiceError):
    code = "NoSuchTagSet"; status = 404
    MESSAGE: ClassVar[str] = "The TagSet does not exist"


class MalformedPolicy(ServiceError):
    code = "MalformedPolicy"; status = 400


class InvalidTag(ServiceError):
    code = "InvalidTag"; status = 400


class BadRequest(ServiceError):
    """S3's generic 400, e.g. "Object tags cannot be greater than 10" (as S3 answers it:
    https://github.com/boto/boto3/issues/1213)."""
    code = "BadRequest"; status = 400


class InvalidRange(ServiceError):
    code = "InvalidRange"; status = 416
    MESSAGE: ClassVar[str] = "The requested range is not satisfiable"


class InvalidStorageClass(ServiceError):
    code = "InvalidStorageClass"; status = 400


class InvalidPartNumber(ServiceError):
    code = "InvalidPartNumber"; status = 416


class AccessControlListNotSupported(ServiceError):
    code = "AccessControlListNotSupported"; status = 400


class NotModified(ServiceError):
    """304: a conditional GET or HEAD whose object did not change (no body, as HTTP requires)."""
    code = "NotModified"; status = 304
    MESSAGE: ClassVar[str] = "Not Modified"


class InvalidPart(ServiceError):
    code = "InvalidPart"; status = 400
    MESSAGE: ClassVar[str] = ("One or more of the specified parts could not be found.  The part may not have been "
                              "uploaded, or the specified entity tag may not match the part's entity tag.")


class InvalidPartOrder(ServiceError):
    code = "InvalidPartOrder"; status = 400
    MESSAGE: ClassVar[str] = ("The list of parts was not in ascending order. Parts must be ordered by part "
                              "number.")


class EntityTooSmall(ServiceError):
    code = "EntityTooSmall"; status = 400
    MESSAGE: ClassVar[str] = "Your proposed upload is smaller than the minimum allowed size"


class EntityTooLarge(ServiceError):
    code = "EntityTooLarge"; status = 400
    MESSAGE: ClassVar[str] = "Your proposed upload exceeds the maximum allowed size"


class MethodNotAllowed(ServiceError):
    code = "MethodNotAllowed"; status = 405
    MESSAGE: ClassVar[str] = "The specified method is not allowed against this resource."


class IllegalLocationConstraintException(ServiceError):
    code = "IllegalLocationConstraintException"; status = 400


class InvalidLocationConstraint(ServiceError):
    code = "InvalidLocationConstraint"; status = 400
    MESSAGE: ClassVar[str] = "The specified location-constraint is not valid"


class PermanentRedirect(ServiceError):
    code = "PermanentRedirect"; status = 301
    MESSAGE: ClassVar[str] = ("The bucket you are attempting to access must be addressed using the specified "
                              "endpoint. Please send all future requests to this endpoint.")


class AuthorizationHeaderMalformed(ServiceError):
    code = "AuthorizationHeaderMalformed"; status = 400


class AuthorizationQueryParametersError(ServiceError):
    code = "AuthorizationQueryParametersError"; status = 400


class InvalidDigest(ServiceError):
    code = "InvalidDigest"; status = 400
    MESSAGE: ClassVar[str] = "The Content-MD5 you specified is not valid."


class IllegalVersioningConfigurationException(ServiceError):
    code = "IllegalVersioningConfigurationException"; status = 400


class InvalidEncryptionAlgorithmError(ServiceError):
    code = "InvalidEncryptionAlgorithmError"; status = 400
    MESSAGE: ClassVar[str] = "The encryption request you specified is not valid. The valid value is AES256."


class KeyTooLongError(ServiceError):
    code = "KeyTooLongError"; status = 400
    MESSAGE: ClassVar[str] = "Your key is too long"


class MetadataTooLarge(ServiceError):
    code = "MetadataTooLarge"; status = 400
    MESSAGE: ClassVar[str] = "Your metadata headers exceed the maximum allowed metadata size."


class InvalidBucketAclWithObjectOwnership(ServiceError):
    code = "InvalidBucketAclWithObjectOwnership"; status = 400


class InvalidBucketAclWithBlockPublicAccessError(ServiceError):
    code = "InvalidBucketAclWithBlockPublicAccessError"; status = 400


class UnsupportedArgument(ServiceError):
    code = "UnsupportedArgument"; status = 400


class UnexpectedContent(ServiceError):
    code = "UnexpectedContent"; status = 400
    MESSAGE: ClassVar[str] = "This request does not support content"


class MissingSecurityHeader(ServiceError):
    code = "MissingSecurityHeader"; status = 400
    MESSAGE: ClassVar[str] = "Your request was missing a required header"


class OwnershipControlsNotFoundError(ServiceError):
    code = "OwnershipControlsNotFoundError"; status = 404
    MESSAGE: ClassVar[str] = "The bucket ownership controls were not found"


class NoSuchPublicAccessBlockConfiguration(ServiceError):
    code = "NoSuchPublicAccessBlockConfiguration"; status = 404
    MESSAGE: ClassVar[str] = "The public access block configuration was not found"


class InvalidPolicyDocument(ServiceError):
    """A POST form's policy that is not a valid policy document ("Invalid Policy: …")."""
    code = "InvalidPolicyDocument"; status = 400


class MalformedPOSTRequest(ServiceError):
    code = "MalformedPOSTRequest"; status = 400
    MESSAGE: ClassVar[str] = "The body of your POST request is not well-formed multipart/form-data."


class MaxPostPreDataLengthExceededError(ServiceError):
    code = "MaxPostPreDataLengthExceededError"; status = 400
    MESSAGE: ClassVar[str] = "Your POST request fields preceding the upload file were too large."


class IncorrectNumberOfFilesInPostRequest(ServiceError):
    code = "IncorrectNumberOfFilesInPostRequest"; status = 400
    MESSAGE: ClassVar[str] = "POST requires exactly one file upload per request."


class NotImplementedS3(ServiceError):
    """A header or feature S3 has that cloudkeep does not implement yet (501, S3's code)."""
    code = "NotImplemented"; status = 501; sender_fault = False
    MESSAGE: ClassVar[str] = "A header you provided implies functionality that is not implemented"


# --- builders --------------------------------------------------------------------------------------


def no_such_bucket(name: str) -> NoSuchBucket:
    return NoSuchBucket(NoSuchBucket.MESSAGE, extra={"BucketName": name})


def no_such_key(key: str, *, delete_marker: str | None = None) -> NoSuchKey:
    """A missing key; the current version being a delete marker adds its headers (GetObject)."""
    headers = {"x-amz-delete-marker": "true", "x-amz-version-id": delete_marker} if delete_marker else None
    return NoSuchKey(NoSuchKey.MESSAGE, extra={"Key": key}, headers=headers)


def no_such_version(key: str, version_id: str) -> NoSuchVersion:
    return NoSuchVersion(NoSuchVersion.MESSAGE, extra={"Key": key, "VersionId": version_id})


def no_such_upload(upload_id: str) -> NoSuchUpload:
    return NoSuchUpload(NoSuchUpload.MESSAGE, extra={"UploadId": upload_id})


def access_denied() -> AccessDenied:
    return AccessDenied("Access Denied")


def precondition_failed(condition: str) -> PreconditionFailed:
    return PreconditionFailed(PreconditionFailed.MESSAGE, extra={"Condition": condition})


def invalid_argument(message: str, name: str, value: object) -> InvalidArgument:
    return InvalidArgument(message, extra={"ArgumentName": name, "ArgumentValue": "" if value is None else str(value)})


ERRORS = (NoSuchBucket, NoSuchKey, NoSuchUpload, BucketAlreadyExists, BucketAlreadyOwnedByYou, TooManyParts,
          InvalidRequest, AccessDenied)
