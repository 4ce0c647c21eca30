"""Amazon S3 Control, as far as S3's access control needs it: the account-level Block Public
Access settings (PutPublicAccessBlock, GetPublicAccessBlock, DeletePublicAccessBlock), which
apply to every bucket of the account together with each bucket's own settings
(services/s3/access.py).

Pages: https://docs.aws.amazon.com/AmazonS3/latest/API/API_control_PutPublicAccessBlock.html,
API_control_GetPublicAccessBlock.html, API_control_DeletePublicAccessBlock.html.

Must not: hold S3's rules (services/s3/public.py) or its SQL (services/s3/repository.py).
"""

from cloudkeep.services.framework import Service

from . import operations  # noqa: F401  (registers the operations)
from .operations import AUTHZ, ERRORS, operation

SERVICE = Service(name="s3control", action_prefix="s3", operations=operation, authz=AUTHZ, errors=ERRORS)
