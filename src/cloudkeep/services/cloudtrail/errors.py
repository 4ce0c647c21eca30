"""CloudTrail's errors, each with the code and HTTP status of CloudTrail's botocore model (checked
by tests/test_service_errors.py): the model gives every one status 400 (no ``httpStatusCode``).
https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/CommonErrors.html and each
operation's Errors section. Every CloudTrail module raises these; add new ones here.

Must not: hold rules (the operations decide when an error applies, in AWS's words).
"""

from __future__ import annotations

from cloudkeep.wire.errors import ServiceError


class _CloudTrailError(ServiceError):
    code = "UnsupportedOperationException"; status = 400


class AccessDeniedException(_CloudTrailError):
    code = "AccessDeniedException"; status = 400


class CloudTrailARNInvalidException(_CloudTrailError):
    code = "CloudTrailARNInvalidException"; status = 400


class CloudTrailAccessNotEnabledException(_CloudTrailError):
    code = "CloudTrailAccessNotEnabledException"; status = 400


class CloudTrailInvalidClientTokenIdException(_CloudTrailError):
    code = "CloudTrailInvalidClientTokenIdException"; status = 400


class ConflictException(_CloudTrailError):
    code = "ConflictException"; status = 400


class InsufficientDependencyServiceAccessPermissionException(_CloudTrailError):
    code = "InsufficientDependencyServiceAccessPermissionException"; status = 400


class InsufficientEncryptionPolicyException(_CloudTrailError):
    code = "InsufficientEncryptionPolicyException"; status = 400


class InsufficientS3BucketPolicyException(_CloudTrailError):
    code = "InsufficientS3BucketPolicyException"; status = 400


class InsufficientSnsTopicPolicyException(_CloudTrailError):
    code = "InsufficientSnsTopicPolicyException"; status = 400


class InvalidCloudWatchLogsLogGroupArnException(_CloudTrailError):
    code = "InvalidCloudWatchLogsLogGroupArnException"; status = 400


class InvalidCloudWatchLogsRoleArnException(_CloudTrailError):
    code = "InvalidCloudWatchLogsRoleArnException"; status = 400


class InvalidEventCategoryException(_CloudTrailError):
    code = "InvalidEventCategoryException"; status = 400


class InvalidEventSelectorsException(_CloudTrailError):
    code = "InvalidEventSelectorsException"; status = 400


class InvalidHomeRegionException(_CloudTrailError):
    code = "InvalidHomeRegionException"; status = 400


class InvalidInsightSelectorsException(_CloudTrailError):
    code = "InvalidInsightSelectorsException"; status = 400


class InvalidKmsKeyIdException(_CloudTrailError):
    code = "InvalidKmsKeyIdException"; status = 400


class InvalidLookupAttributesException(_CloudTrailError):
    code = "InvalidLookupAttributesException"; status = 400


class InvalidMaxResultsException(_CloudTrailError):
    code = "InvalidMaxResultsException"; status = 400


class InvalidNextTokenException(_CloudTrailError):
    code = "InvalidNextTokenException"; status = 400


class InvalidParameterCombinationException(_CloudTrailError):
    code = "InvalidParameterCombinationException"; status = 400


class InvalidParameterException(_CloudTrailError):
    code = "InvalidParameterException"; status = 400


class InvalidS3BucketNameException(_CloudTrailError):
    code = "InvalidS3BucketNameException"; status = 400


class InvalidS3PrefixException(_CloudTrailError):
    code = "InvalidS3PrefixException"; status = 400


class InvalidSnsTopicNameException(_CloudTrailError):
    code = "InvalidSnsTopicNameException"; status = 400


class InvalidTagParameterException(_CloudTrailError):
    code = "InvalidTagParameterException"; status = 400


class InvalidTimeRangeException(_CloudTrailError):
    code = "InvalidTimeRangeException"; status = 400


class InvalidTokenException(_CloudTrailError):
    code = "InvalidTokenException"; status = 400


class InvalidTrailNameException(_CloudTrailError):
    code = "InvalidTrailNameException"; status = 400


class KmsException(_CloudTrailError):
    code = "KmsException"; status = 400


class KmsKeyDisabledException(_CloudTrailError):
    code = "KmsKeyDisabledException"; status = 400


class KmsKeyNotFoundException(_CloudTrailError):
    code = "KmsKeyNotFoundException"; status = 400


class MaximumNumberOfTrailsExceededException(_CloudTrailError):
    code = "MaximumNumberOfTrailsExceededException"; status = 400


class NoManagementAccountSLRExistsException(_CloudTrailError):
    code = "NoManagementAccountSLRExistsException"; status = 400


class NotOrganizationMasterAccountException(_CloudTrailError):
    code = "NotOrganizationMasterAccountException"; status = 400


class OperationNotPermittedException(_CloudTrailError):
    code = "OperationNotPermittedException"; status = 400


class OrganizationNotInAllFeaturesModeException(_CloudTrailError):
    code = "OrganizationNotInAllFeaturesModeException"; status = 400


class OrganizationsNotInUseException(_CloudTrailError):
    code = "OrganizationsNotInUseException"; status = 400


class ResourceNotFoundException(_CloudTrailError):
    code = "ResourceNotFoundException"; status = 400


class ResourceTypeNotSupportedException(_CloudTrailError):
    code = "ResourceTypeNotSupportedException"; status = 400


class S3BucketDoesNotExistException(_CloudTrailError):
    code = "S3BucketDoesNotExistException"; status = 400


class TagsLimitExceededException(_CloudTrailError):
    code = "TagsLimitExceededException"; status = 400


class ThrottlingException(_CloudTrailError):
    code = "ThrottlingException"; status = 400


class TrailAlreadyExistsException(_CloudTrailError):
    code = "TrailAlreadyExistsException"; status = 400


class TrailNotFoundException(_CloudTrailError):
    code = "TrailNotFoundException"; status = 400


class TrailNotProvidedException(_CloudTrailError):
    code = "TrailNotProvidedException"; status = 400


class UnsupportedOperationException(_CloudTrailError):
    code = "UnsupportedOperationException"; status = 400


ERRORS: tuple[type[ServiceError], ...] = (
    AccessDeniedException,
    CloudTrailARNInvalidException,
    CloudTrailAccessNotEnabledException,
    CloudTrailInvalidClientTokenIdException,
    ConflictException,
    InsufficientDependencyServiceAccessPermissionException,
    InsufficientEncryptionPolicyException,
    InsufficientS3BucketPolicyException,
    InsufficientSnsTopicPolicyException,
    InvalidCloudWatchLogsLogGroupArnException,
    InvalidCloudWatchLogsRoleArnException,
    InvalidEventCategoryException,
    InvalidEventSelectorsException,
    InvalidHomeRegionException,
    InvalidInsightSelectorsException,
    InvalidKmsKeyIdException,
    InvalidLookupAttributesException,
    InvalidMaxResultsException,
    InvalidNextTokenException,
    InvalidParameterCombinationException,
    InvalidParameterException,
    InvalidS3BucketNameException,
    InvalidS3PrefixException,
    InvalidSnsTopicNameException,
    InvalidTagParameterException,
    InvalidTimeRangeException,
    InvalidTokenException,
    InvalidTrailNameException,
    KmsException,
    KmsKeyDisabledException,
    KmsKeyNotFoundException,
    MaximumNumberOfTrailsExceededException,
    NoManagementAccountSLRExistsException,
    NotOrganizationMasterAccountException,
    OperationNotPermittedException,
    OrganizationNotInAllFeaturesModeException,
    OrganizationsNotInUseException,
    ResourceNotFoundException,
    ResourceTypeNotSupportedException,
    S3BucketDoesNotExistException,
    TagsLimitExceededException,
    ThrottlingException,
    TrailAlreadyExistsException,
    TrailNotFoundException,
    TrailNotProvidedException,
    UnsupportedOperationException,
)
