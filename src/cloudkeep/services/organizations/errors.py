"""AWS Organizations' errors, each with the code and HTTP status of the botocore model (checked
by tests/test_service_errors.py): the model gives every one status 400 (no ``httpStatusCode``).
Three carry a ``Reason`` member (ConstraintViolationException, InvalidInputException,
HandshakeConstraintViolationException), passed as the first argument.

Messages are AWS's where a real answer was found (quoted where the rule is); otherwise the
model's description of the error. https://docs.aws.amazon.com/organizations/latest/APIReference/CommonErrors.html

Must not: hold rules (``domain.py`` and the operations decide when an error applies).
"""

from __future__ import annotations

from cloudkeep.wire.errors import ServiceError


class _OrgError(ServiceError):
    code = "ServiceException"; status = 400


class _WithReason(_OrgError):
    """An error whose shape has a ``Reason`` member (one of the model's enum values)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message, extra={"Reason": reason})
        self.reason = reason


class AWSOrganizationsNotInUseException(_OrgError):
    code = "AWSOrganizationsNotInUseException"; status = 400


class AccessDeniedException(_OrgError):
    code = "AccessDeniedException"; status = 400


class AccountAlreadyClosedException(_OrgError):
    code = "AccountAlreadyClosedException"; status = 400


class AccountAlreadyRegisteredException(_OrgError):
    code = "AccountAlreadyRegisteredException"; status = 400


class AccountNotFoundException(_OrgError):
    code = "AccountNotFoundException"; status = 400


class AccountNotRegisteredException(_OrgError):
    code = "AccountNotRegisteredException"; status = 400


class AlreadyInOrganizationException(_OrgError):
    code = "AlreadyInOrganizationException"; status = 400


class ChildNotFoundException(_OrgError):
    code = "ChildNotFoundException"; status = 400


class ConcurrentModificationException(_OrgError):
    code = "ConcurrentModificationException"; status = 400


class ConstraintViolationException(_WithReason):
    code = "ConstraintViolationException"; status = 400


class CreateAccountStatusNotFoundException(_OrgError):
    code = "CreateAccountStatusNotFoundException"; status = 400


class DestinationParentNotFoundException(_OrgError):
    code = "DestinationParentNotFoundException"; status = 400


class DuplicateAccountException(_OrgError):
    code = "DuplicateAccountException"; status = 400


class DuplicateHandshakeException(_OrgError):
    code = "DuplicateHandshakeException"; status = 400


class DuplicateOrganizationalUnitException(_OrgError):
    code = "DuplicateOrganizationalUnitException"; status = 400


class DuplicatePolicyAttachmentException(_OrgError):
    code = "DuplicatePolicyAttachmentException"; status = 400


class DuplicatePolicyException(_OrgError):
    code = "DuplicatePolicyException"; status = 400


class EffectivePolicyNotFoundException(_OrgError):
    code = "EffectivePolicyNotFoundException"; status = 400


class HandshakeAlreadyInStateException(_OrgError):
    code = "HandshakeAlreadyInStateException"; status = 400


class HandshakeConstraintViolationException(_WithReason):
    code = "HandshakeConstraintViolationException"; status = 400


class HandshakeNotFoundException(_OrgError):
    code = "HandshakeNotFoundException"; status = 400


class InvalidHandshakeTransitionException(_OrgError):
    code = "InvalidHandshakeTransitionException"; status = 400


class InvalidInputException(_WithReason):
    code = "InvalidInputException"; status = 400


class MalformedPolicyDocumentException(_OrgError):
    code = "MalformedPolicyDocumentException"; status = 400


class MasterCannotLeaveOrganizationException(_OrgError):
    code = "MasterCannotLeaveOrganizationException"; status = 400


class OrganizationNotEmptyException(_OrgError):
    code = "OrganizationNotEmptyException"; status = 400


class OrganizationalUnitNotEmptyException(_OrgError):
    code = "OrganizationalUnitNotEmptyException"; status = 400


class OrganizationalUnitNotFoundException(_OrgError):
    code = "OrganizationalUnitNotFoundException"; status = 400


class ParentNotFoundException(_OrgError):
    code = "ParentNotFoundException"; status = 400


class PolicyInUseException(_OrgError):
    code = "PolicyInUseException"; status = 400


class PolicyNotAttachedException(_OrgError):
    code = "PolicyNotAttachedException"; status = 400


class PolicyNotFoundException(_OrgError):
    code = "PolicyNotFoundException"; status = 400


class PolicyTypeAlreadyEnabledException(_OrgError):
    code = "PolicyTypeAlreadyEnabledException"; status = 400


class PolicyTypeNotAvailableForOrganizationException(_OrgError):
    code = "PolicyTypeNotAvailableForOrganizationException"; status = 400


class PolicyTypeNotEnabledException(_OrgError):
    code = "PolicyTypeNotEnabledException"; status = 400


class RootNotFoundException(_OrgError):
    code = "RootNotFoundException"; status = 400


class ServiceException(_OrgError):
    code = "ServiceException"; status = 400; sender_fault = False


class SourceParentNotFoundException(_OrgError):
    code = "SourceParentNotFoundException"; status = 400


class TargetNotFoundException(_OrgError):
    code = "TargetNotFoundException"; status = 400


# --- messages used in more than one place ----------------------------------------------------

def not_in_use() -> AWSOrganizationsNotInUseException:
    """A caller whose account is in no organization ("Your account is not a member of an
    organization.", as AWS answers e.g. DescribeOrganization from a standalone account)."""
    return AWSOrganizationsNotInUseException("Your account is not a member of an organization.")


def access_denied() -> AccessDeniedException:
    """An operation the caller's account may not call (a member calling a management-account
    operation): "You don't have permissions to access this resource." """
    return AccessDeniedException("You don't have permissions to access this resource.")


def account_not_found() -> AccountNotFoundException:
    return AccountNotFoundException("You specified an account that doesn't exist.")


def ou_not_found() -> OrganizationalUnitNotFoundException:
    return OrganizationalUnitNotFoundException("You specified an organizational unit that doesn't exist.")


def parent_not_found() -> ParentNotFoundException:
    return ParentNotFoundException("You specified parent that doesn't exist.")


def policy_not_found() -> PolicyNotFoundException:
    return PolicyNotFoundException("We can't find a policy with the PolicyId that you specified.")


def target_not_found() -> TargetNotFoundException:
    return TargetNotFoundException("You specified a target that doesn't exist.")


def invalid_pattern() -> InvalidInputException:
    """A value that does not have the form of the id the parameter takes (AWS: "You provided a
    value that does not match the required pattern.", https://github.com/boto/boto3/issues/4565)."""
    return InvalidInputException("INVALID_PATTERN", "You provided a value that does not match the required pattern.")


def invalid_enum() -> InvalidInputException:
    return InvalidInputException("INVALID_ENUM", "You specified an invalid value.")


ERRORS = (AWSOrganizationsNotInUseException, AccessDeniedException, AccountAlreadyClosedException,
          AccountAlreadyRegisteredException, AccountNotFoundException, AccountNotRegisteredException,
          AlreadyInOrganizationException, ChildNotFoundException, ConcurrentModificationException,
          ConstraintViolationException, CreateAccountStatusNotFoundException, DestinationParentNotFoundException,
          DuplicateAccountException, DuplicateHandshakeException, DuplicateOrganizationalUnitException,
          DuplicatePolicyAttachmentException, DuplicatePolicyException, EffectivePolicyNotFoundException,
          HandshakeAlreadyInStateException, HandshakeConstraintViolationException, HandshakeNotFoundException,
          InvalidHandshakeTransitionException, InvalidInputException, MalformedPolicyDocumentException,
          MasterCannotLeaveOrganizationException, OrganizationNotEmptyException,
          OrganizationalUnitNotEmptyException, OrganizationalUnitNotFoundException, ParentNotFoundException,
          PolicyInUseException, PolicyNotAttachedException, PolicyNotFoundException,
          PolicyTypeAlreadyEnabledException, PolicyTypeNotAvailableForOrganizationException,
          PolicyTypeNotEnabledException, RootNotFoundException, ServiceException, SourceParentNotFoundException,
          TargetNotFoundException)
