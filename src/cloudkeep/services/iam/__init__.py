"""AWS Identity and Access Management."""

from cloudkeep.services.framework import Service

from .authz import AUTHZ
from .errors import ERRORS
from .operations import operation

SERVICE = Service(name="iam", action_prefix="iam", operations=operation, authz=AUTHZ, errors=ERRORS)
