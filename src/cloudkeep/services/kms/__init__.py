"""AWS Key Management Service: keys, key material (sealed), aliases, tags, rotation, key
policies, grants and the cryptographic operations."""

from __future__ import annotations

from typing import Any, Callable, Mapping

from cloudkeep.services.framework import Service

from . import ops_crypto  # noqa: F401  (registers the cryptographic operations)
from . import ops_policy_grants  # noqa: F401  (key policies and grants; drops grants with their key)
from .authz import AUTHZ
from .errors import ERRORS
from .grants import check_tokens
from .operations import operation


def _checking_grant_tokens(handler):
    """Every KMS operation that takes GrantTokens refuses one this server did not issue
    (InvalidGrantTokenException); grants are strongly consistent here, so a valid token adds
    nothing beyond that check. https://docs.aws.amazon.com/kms/latest/developerguide/grant-tokens.html"""
    def run(call, params):
        check_tokens(call.sealer, params.get("GrantTokens"))
        return handler(call, params)
    run.__name__ = getattr(handler, "__name__", "kms_operation")
    return run


for _name, _handler in list(operation.handlers.items()):
    operation.handlers[_name] = _checking_grant_tokens(_handler)

# CloudTrail logs ListKeys readOnly, but it deletes every key of the account and region whose
# deletion date has passed: it gets a write unit of work. Other reads that resolve a key with
# rotation or deletion due run again in a write one (repository.maintain: storage.uow.NeedsWrite).
MAINTAINING = frozenset({"ListKeys"})

def event_resources(result: Mapping[str, Any], request_arns: Callable[[], list[str]]) -> list[dict[str, str]] | None:
    """KMS events name the key in ``resources`` (AWS::KMS::Key): the key ARNs the response gives
    (KeyId, SourceKeyId, KeyMetadata.Arn: aliases already resolved), else the key ARNs the
    operation's checks build from the request (a key id or key ARN).
    https://docs.aws.amazon.com/kms/latest/developerguide/ct-encrypt.html"""
    arns: list[str] = []
    for value in (result.get("KeyId"), result.get("SourceKeyId"), (result.get("KeyMetadata") or {}).get("Arn")):
        if isinstance(value, str) and ":key/" in value and value not in arns:
            arns.append(value)
    if not arns:
        arns = [a for a in request_arns() if ":key/" in a and not a.endswith("/*")]
    return [{"accountId": arn.split(":")[4], "type": "AWS::KMS::Key", "ARN": arn} for arn in arns] or None


SERVICE = Service(name="kms", action_prefix="kms", operations=operation, authz=AUTHZ, errors=ERRORS,
                  writes_when_read_only=MAINTAINING, event_resources=event_resources)
