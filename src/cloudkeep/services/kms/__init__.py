"""AWS Key Management Service: keys, key material (sealed), aliases, tags, rotation, key
policies, grants and the cryptographic operations."""

from cloudkeep.services.framework import Service

from . import ops_crypto  # noqa: F401  (registers the cryptographic operations)
from . import ops_policy_grants  # noqa: F401  (key policies and grants; drops grants with their key)
from .authz import AUTHZ
from .errors import ERRORS
from .operations import operation

# CloudTrail logs these readOnly, but resolving the key may rotate it (new material when the
# rotation date has passed) or delete it (deletion date passed; ListKeys deletes every due key
# of the account and region): they get a write unit of work
MAINTAINING = frozenset({"ListKeys", "DescribeKey", "GetKeyRotationStatus", "ListKeyRotations", "Encrypt", "GenerateDataKey",
                         "GenerateDataKeyWithoutPlaintext", "GenerateDataKeyPair",
                         "GenerateDataKeyPairWithoutPlaintext", "ReEncrypt"})

SERVICE = Service(name="kms", action_prefix="kms", operations=operation, authz=AUTHZ, errors=ERRORS,
                  writes_when_read_only=MAINTAINING)
