"""AWS CloudTrail: the event history of each account and region (LookupEvents), trails that
deliver log files to S3 with log file integrity validation (digest files), and the public keys
that verify them. The records themselves are written by the pipeline for every call
(``audit/``); this service reads them and delivers them."""

from cloudkeep.services.framework import Service

from . import ops_history, ops_trails  # noqa: F401  (register operations)
from .authz import AUTHZ
from .errors import ERRORS
from .operations import operation

SERVICE = Service(name="cloudtrail", action_prefix="cloudtrail", operations=operation, authz=AUTHZ,
                  errors=ERRORS)
