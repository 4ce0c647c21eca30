"""KMS's errors, each with the code and HTTP status of KMS's botocore model (checked by
tests/test_service_errors.py). Every KMS engineer raises these; add new ones here.

The model gives every KMS error HTTP status 400 (no ``httpStatusCode``); the two server-side
ones (``KMSInternalException``, ``DependencyTimeoutException``) are ``fault`` shapes, so they
are not the sender's fault.
https://docs.aws.amazon.com/kms/latest/APIReference/CommonErrors.html
https://docs.aws.amazon.com/kms/latest/APIReference/API_Operations.html (each operation's Errors)

Must not: hold rules or messages beyond the small builders below (messages are written where
the rule is, in AWS's words).
"""

from __future__ import annotations

from cloudkeep.wire.errors import ServiceError


class _KmsError(ServiceError):
    code = "KMSInternalException"; status = 400


class NotFoundException(_KmsError):
    """The key, alias or grant named does not exist (or is not visible to the caller)."""
    code = "NotFoundException"; status = 400


class DisabledException(_KmsError):
    """The key is disabled: "<key ARN> is disabled." """
    code = "DisabledException"; status = 400


class KMSInvalidStateException(_KmsError):
    """The key's state does not allow the operation: "<key ARN> is pending deletion." …
    https://docs.aws.amazon.com/kms/latest/developerguide/key-state.html"""
    code = "KMSInvalidStateException"; status = 400


class InvalidCiphertextException(_KmsError):
    code = "InvalidCiphertextException"; status = 400


class IncorrectKeyException(_KmsError):
    code = "IncorrectKeyException"; status = 400


class InvalidKeyUsageException(_KmsError):
    code = "InvalidKeyUsageException"; status = 400


class InvalidGrantTokenException(_KmsError):
    code = "InvalidGrantTokenException"; status = 400


class InvalidGrantIdException(_KmsError):
    code = "InvalidGrantIdException"; status = 400


class MalformedPolicyDocumentException(_KmsError):
    code = "MalformedPolicyDocumentException"; status = 400


class AlreadyExistsException(_KmsError):
    code = "AlreadyExistsException"; status = 400


class LimitExceededException(_KmsError):
    code = "LimitExceededException"; status = 400


class InvalidAliasNameException(_KmsError):
    code = "InvalidAliasNameException"; status = 400


class InvalidArnException(_KmsError):
    code = "InvalidArnException"; status = 400


class InvalidMarkerException(_KmsError):
    """A Marker this server did not hand out."""
    code = "InvalidMarkerException"; status = 400


class TagException(_KmsError):
    code = "TagException"; status = 400


class KMSInvalidSignatureException(_KmsError):
    code = "KMSInvalidSignatureException"; status = 400


class KMSInvalidMacException(_KmsError):
    code = "KMSInvalidMacException"; status = 400


class UnsupportedOperationException(_KmsError):
    code = "UnsupportedOperationException"; status = 400


class KeyUnavailableException(_KmsError):
    code = "KeyUnavailableException"; status = 400; sender_fault = False


class ConflictException(_KmsError):
    code = "ConflictException"; status = 400


class DryRunOperationException(_KmsError):
    """DryRun=true and the call would have succeeded."""
    code = "DryRunOperationException"; status = 400


class IncorrectKeyMaterialException(_KmsError):
    code = "IncorrectKeyMaterialException"; status = 400


class ExpiredImportTokenException(_KmsError):
    code = "ExpiredImportTokenException"; status = 400


class InvalidImportTokenException(_KmsError):
    code = "InvalidImportTokenException"; status = 400


class CustomKeyStoreNotFoundException(_KmsError):
    code = "CustomKeyStoreNotFoundException"; status = 400


class DependencyTimeoutException(_KmsError):
    code = "DependencyTimeoutException"; status = 400; sender_fault = False


class KMSInternalException(_KmsError):
    code = "KMSInternalException"; status = 400; sender_fault = False


def disabled(arn: str) -> DisabledException:
    return DisabledException(f"{arn} is disabled.")


def pending_deletion(arn: str) -> KMSInvalidStateException:
    return KMSInvalidStateException(f"{arn} is pending deletion.")


ERRORS = (NotFoundException, DisabledException, KMSInvalidStateException, InvalidCiphertextException,
          IncorrectKeyException, InvalidKeyUsageException, InvalidGrantTokenException,
          InvalidGrantIdException, MalformedPolicyDocumentException, AlreadyExistsException,
          LimitExceededException, InvalidAliasNameException, InvalidArnException, InvalidMarkerException,
          TagException, KMSInvalidSignatureException, KMSInvalidMacException,
          UnsupportedOperationException, KeyUnavailableException, ConflictException,
          DryRunOperationException, IncorrectKeyMaterialException, ExpiredImportTokenException,
          InvalidImportTokenException, CustomKeyStoreNotFoundException, DependencyTimeoutException,
          KMSInternalException)
