"""IAM's errors, each with the code and HTTP status of IAM's model (checked by a test).

https://docs.aws.amazon.com/IAM/latest/APIReference/CommonErrors.html
"""

from cloudkeep.wire.errors import ServiceError


class NoSuchEntity(ServiceError):
    code = "NoSuchEntity"; status = 404


class EntityAlreadyExists(ServiceError):
    code = "EntityAlreadyExists"; status = 409


class DeleteConflict(ServiceError):
    code = "DeleteConflict"; status = 409


class LimitExceeded(ServiceError):
    code = "LimitExceeded"; status = 409


class InvalidInput(ServiceError):
    code = "InvalidInput"; status = 400


class MalformedPolicyDocument(ServiceError):
    code = "MalformedPolicyDocument"; status = 400


class UnmodifiableEntity(ServiceError):
    code = "UnmodifiableEntity"; status = 400


class PolicyNotAttachable(ServiceError):
    code = "PolicyNotAttachable"; status = 400


class ConcurrentModification(ServiceError):
    code = "ConcurrentModification"; status = 409


class ServiceFailure(ServiceError):
    code = "ServiceFailure"; status = 500; sender_fault = False


class PasswordPolicyViolation(ServiceError):
    code = "PasswordPolicyViolation"; status = 400


class InvalidAuthenticationCode(ServiceError):
    code = "InvalidAuthenticationCode"; status = 403


class InvalidUserType(ServiceError):
    code = "InvalidUserType"; status = 400


class ReportNotPresent(ServiceError):
    code = "ReportNotPresent"; status = 410


class ReportExpired(ServiceError):
    code = "ReportExpired"; status = 410


class PolicyEvaluation(ServiceError):
    """IAM's PolicyEvaluationException: the simulation itself failed."""

    code = "PolicyEvaluation"; status = 500; sender_fault = False


ERRORS = (NoSuchEntity, EntityAlreadyExists, DeleteConflict, LimitExceeded, InvalidInput, ServiceFailure,
          MalformedPolicyDocument, UnmodifiableEntity, PolicyNotAttachable, ConcurrentModification,
          PasswordPolicyViolation, InvalidAuthenticationCode, InvalidUserType, ReportNotPresent, ReportExpired,
          PolicyEvaluation)
