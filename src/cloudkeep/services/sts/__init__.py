"""AWS Security Token Service."""

from cloudkeep.services.framework import Service

from .authz import AUTHZ
from .errors import ERRORS
from .operations import operation

# CloudTrail logs these readOnly, but they store the session they issue
ISSUING = frozenset({"AssumeRole", "GetSessionToken", "GetFederationToken"})

SERVICE = Service(name="sts", action_prefix="sts", operations=operation, authz=AUTHZ, errors=ERRORS,
                  writes_when_read_only=ISSUING,
                  # AssumeRole and GetCallerIdentity are allowed; GetSessionToken and
                  # GetFederationToken answer their own AccessDenied ("Cannot call … with session
                  # credentials"); the rest refuse the token
                  session_token_operations=frozenset({"AssumeRole", "GetCallerIdentity", "GetSessionToken",
                                                      "GetFederationToken"}))
