"""AWS Security Token Service."""

from typing import Any, Callable, Mapping

from cloudkeep.services.framework import Service

from .authz import AUTHZ
from .errors import ERRORS
from .operations import operation

# CloudTrail logs these readOnly, but they store the session they issue
ISSUING = frozenset({"AssumeRole", "GetSessionToken", "GetFederationToken"})



def event_resources(result: Mapping[str, Any], request_arns: Callable[[], list[str]]) -> list[dict[str, str]] | None:
    """AssumeRole's record names the role (AWS::IAM::Role, its ARN and account), as in AWS's
    example STS records: https://docs.aws.amazon.com/IAM/latest/UserGuide/cloudtrail-integration.html"""
    roles = [arn for arn in request_arns() if ":role/" in arn]
    return [{"ARN": arn, "accountId": arn.split(":")[4], "type": "AWS::IAM::Role"} for arn in roles] or None


SERVICE = Service(name="sts", action_prefix="sts", operations=operation, authz=AUTHZ, errors=ERRORS,
                  writes_when_read_only=ISSUING, event_resources=event_resources,
                  # AssumeRole and GetCallerIdentity are allowed; GetSessionToken and
                  # GetFederationToken answer their own AccessDenied ("Cannot call … with session
                  # credentials"); the rest refuse the token
                  session_token_operations=frozenset({"AssumeRole", "GetCallerIdentity", "GetSessionToken",
                                                      "GetFederationToken"}))
