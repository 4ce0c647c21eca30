"""AWS Security Token Service."""

from cloudkeep.services.framework import Service

from .authz import AUTHZ
from .operations import operation

SERVICE = Service(name="sts", action_prefix="sts", operations=operation, authz=AUTHZ)
