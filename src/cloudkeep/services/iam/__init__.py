"""AWS Identity and Access Management."""

from cloudkeep.services.framework import Service

from .authz import AUTHZ
from .errors import ERRORS
from . import ops_account, ops_groups_roles, ops_policies  # noqa: F401  (they register their operations)
from . import ops_simulate  # noqa: F401  (the policy simulator's operations)
from .operations import operation

SERVICE = Service(name="iam", action_prefix="iam", operations=operation, authz=AUTHZ, errors=ERRORS,
                  affects_authorization=True, session_token_needs_mfa=True, writes_when_read_only=frozenset({"GenerateCredentialReport"}))
