"""KMS's key policy and grant operations: PutKeyPolicy, GetKeyPolicy, ListKeyPolicies,
CreateGrant, ListGrants, ListRetirableGrants, RetireGrant, RevokeGrant.

The authorize stage has already decided each call (``authz_grants.py``: the key policy with
the key's grants, IAM; for RetireGrant the grant itself); these functions apply KMS's own
rules (the key exists, its state allows the operation, the input fits the key) and change
state. Grants take part in every later authorization through ``grants.key_policy_with_grants``.

- PutKeyPolicy: https://docs.aws.amazon.com/kms/latest/APIReference/API_PutKeyPolicy.html
  (lockout safety check unless BypassPolicyLockoutSafetyCheck; "default" is the only name)
- CreateGrant: https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateGrant.html
  (operations must fit the key; constraints only on symmetric encryption keys; Name makes a
  retry with identical parameters return the same GrantId with a new token)
- key states: https://docs.aws.amazon.com/kms/latest/developerguide/key-state.html (CreateGrant
  needs an enabled key; the others work in every state)

Must not: import the pipeline; decide authorization itself.
"""

from __future__ import annotations

from typing import Any

from cloudkeep.services.framework import Call, Params, Result
from cloudkeep.wire.errors import ValidationError

from . import domain as D
from . import grants as G
from . import repository as repo
from .domain import KmsKey
from .errors import (DryRunOperationException, InvalidArnException, InvalidGrantIdException,
                     InvalidMarkerException, LimitExceededException, MalformedPolicyDocumentException,
                     NotFoundException)
from .grants import check_lockout  # noqa: F401 - exported for CreateKey
from .operations import operation
from .ops_crypto import _not_found

_DRY_RUN = "The request would have succeeded, but the DryRun option is set."
DEFAULT_POLICY_NAME = "default"
#: a key policy's size limit: 32 KB (https://docs.aws.amazon.com/kms/latest/developerguide/resource-limits.html)
MAX_POLICY_CHARS = 32768
#: grants per key (https://docs.aws.amazon.com/kms/latest/developerguide/resource-limits.html#grants-per-key)
MAX_GRANTS_PER_KEY = 50000


@repo.on_key_deleted
def _drop_grants(uow: Any, key: KmsKey) -> None:
    G.delete_grants_of_key(uow, key.arn)


def _key(call: Call, ref: str) -> KmsKey:
    key = repo.resolve_key(call.uow, call.account_id, call.region, ref)
    if key is None:
        raise _not_found(call, ref)
    return key


def _own_key(call: Call, ref: str) -> KmsKey:
    """Key policy operations are not cross-account ("Cross-account use: No")."""
    key = _key(call, ref)
    if key.account_id != call.account_id:
        raise _not_found(call, ref)
    return key


def _policy_name(params: Params) -> str:
    name = params.get("PolicyName") or DEFAULT_POLICY_NAME
    if name != DEFAULT_POLICY_NAME:
        # "The only valid name is default." (API_GetKeyPolicy)
        raise NotFoundException(f"Policy {name} not found.")
    return name


def _dry_run(params: Params) -> None:
    if params.get("DryRun"):
        raise DryRunOperationException(_DRY_RUN)


def _page(items: list[Any], params: Params, *, default: int, maximum: int) -> tuple[list[Any], str | None]:
    """Marker paging: the marker is the index of the next item as this server handed it out."""
    limit = int(params.get("Limit") or default)
    if limit > maximum:
        raise ValidationError(f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy "
                              f"constraint: Member must have value less than or equal to {maximum}")
    start = 0
    marker = params.get("Marker")
    if marker is not None:
        if not marker.isdigit() or int(marker) > len(items):
            raise InvalidMarkerException("Invalid marker")
        start = int(marker)
    page = items[start:start + limit]
    nxt = start + limit
    return page, (str(nxt) if nxt < len(items) else None)


def _listing(name: str, page: list[Any], marker: str | None) -> Result:
    out: Result = {name: page, "Truncated": marker is not None}
    if marker is not None:
        out["NextMarker"] = marker
    return out


# --- key policies ----------------------------------------------------------------------------


def validate_key_policy(text: str) -> None:
    """A key policy's grammar and size (MalformedPolicyDocumentException, LimitExceededException)."""
    from cloudkeep.policy.model import PolicyError, PolicyKind
    from cloudkeep.policy.parse import parse_policy

    if len(text) > MAX_POLICY_CHARS:
        raise LimitExceededException(f"Policy exceeds the maximum size of {MAX_POLICY_CHARS} characters.")
    try:
        parse_policy(text, PolicyKind.RESOURCE)
    except PolicyError as error:
        raise MalformedPolicyDocumentException(error.message) from None


@operation("PutKeyPolicy")
def put_key_policy(call: Call, params: Params) -> Result:
    key = _own_key(call, params["KeyId"])
    _policy_name(params)
    policy = params["Policy"]
    validate_key_policy(policy)
    if not params.get("BypassPolicyLockoutSafetyCheck"):
        check_lockout(call.principal, call.account_id, policy, key_arn=key.arn)
    repo.set_policy(call.uow, key, policy)
    return {}


@operation("GetKeyPolicy")
def get_key_policy(call: Call, params: Params) -> Result:
    key = _own_key(call, params["KeyId"])
    name = _policy_name(params)
    return {"Policy": key.policy, "PolicyName": name}


@operation("ListKeyPolicies")
def list_key_policies(call: Call, params: Params) -> Result:
    _own_key(call, params["KeyId"])
    page, marker = _page([DEFAULT_POLICY_NAME], params, default=100, maximum=1000)
    return _listing("PolicyNames", page, marker)


# --- grants ----------------------------------------------------------------------------------

def _check_principal(value: str, member: str) -> None:
    """A grant principal: an AWS principal ARN (account root, user, role, assumed-role or
    federated-user session) or a service principal."""
    if value.startswith("arn:"):
        parts = value.split(":", 5)
        if (len(parts) == 6 and parts[2] in ("iam", "sts") and parts[4].isdigit() and len(parts[4]) == 12
                and parts[5]):
            return
        raise InvalidArnException(f"{member} {value} is not a valid ARN.")
    if value.endswith(".amazonaws.com"):
        return
    raise InvalidArnException(f"{member} {value} is not a valid ARN.")


def _check_operations(key: KmsKey, operations: list[str], constraint: Any) -> None:
    if not operations:
        raise ValidationError("Operations must contain at least one operation.")
    usage = "SYMMETRIC" if key.spec.symmetric else key.key_usage
    allowed = G.OPERATIONS_BY_USAGE.get(usage, frozenset())
    for op in operations:
        if op not in allowed:
            # "you cannot create a grant for a symmetric encryption KMS key that allows the Sign
            # operation … If you try, KMS returns a ValidationError exception." (API_CreateGrant)
            raise ValidationError(f"Grant operation {op} is not valid for a KMS key with KeySpec "
                                  f"{key.key_spec} and KeyUsage {key.key_usage}.")
    if constraint is not None and not key.spec.symmetric:
        # "You cannot use an encryption context grant constraint for cryptographic operations
        # with asymmetric KMS keys or HMAC KMS keys." (API_CreateGrant)
        raise ValidationError("Grant constraints are not supported for asymmetric or HMAC KMS keys.")
    if constraint is not None:
        for _, value in constraint[1]:
            if len(value) > 384:
                raise ValidationError("An encryption context value in a grant constraint cannot exceed 384 "
                                      "characters.")
        if len(constraint[1]) > 8:
            raise ValidationError("A grant constraint can include up to 8 encryption context pairs.")


@operation("CreateGrant")
def create_grant(call: Call, params: Params) -> Result:
    key = _key(call, params["KeyId"])
    D.require_state(key, D.USE)
    G.check_tokens(call.sealer, params.get("GrantTokens"))
    grantee = params["GranteePrincipal"]
    retiring = params.get("RetiringPrincipal")
    _check_principal(grantee, "GranteePrincipal")
    if retiring is not None:
        _check_principal(retiring, "RetiringPrincipal")
    operations = list(dict.fromkeys(params.get("Operations") or []))
    constraint = G.normalize_constraint(params.get("Constraints"))
    _check_operations(key, operations, constraint)
    _dry_run(params)
    name = params.get("Name")
    existing = G.grants_of_key(call.uow, key.arn)
    if name is not None:
        for grant in existing:
            if grant.name == name and grant.same_request(grantee, retiring, operations, constraint):
                return {"GrantToken": G.issue_token(call.sealer, grant, call.ids.token_bytes(16)),
                        "GrantId": grant.grant_id}
    if len(existing) >= MAX_GRANTS_PER_KEY:
        raise LimitExceededException(f"The number of grants on {key.arn} exceeds the limit.")
    grant = G.Grant(grant_id=call.ids.token_bytes(32).hex(), account_id=key.account_id, region=key.region,
                    key_id=key.key_id, key_arn=key.arn, name=name, grantee_principal=grantee,
                    retiring_principal=retiring, operations=tuple(operations), constraint=constraint,
                    issuing_account=call.account_id, created_at=call.clock.now())
    G.add_grant(call.uow, grant)
    return {"GrantToken": G.issue_token(call.sealer, grant, call.ids.token_bytes(16)),
            "GrantId": grant.grant_id}


@operation("ListGrants")
def list_grants(call: Call, params: Params) -> Result:
    key = _key(call, params["KeyId"])
    grants = G.grants_of_key(call.uow, key.arn)
    if params.get("GrantId") is not None:
        grants = [g for g in grants if g.grant_id == params["GrantId"]]
    if params.get("GranteePrincipal") is not None:
        grants = [g for g in grants if g.grantee_principal == params["GranteePrincipal"]]
    page, marker = _page(grants, params, default=50, maximum=100)
    return _listing("Grants", [g.to_wire() for g in page], marker)


@operation("ListRetirableGrants")
def list_retirable_grants(call: Call, params: Params) -> Result:
    """Grants in this Region whose retiring principal is the one named, which must be in the
    caller's account ("Enter a principal in your Amazon Web Services account.")."""
    principal = params["RetiringPrincipal"]
    _check_principal(principal, "RetiringPrincipal")
    owner = principal.split(":")[4] if principal.startswith("arn:") else None
    grants = G.retirable_grants(call.uow, call.region, principal) if owner == call.account_id else []
    page, marker = _page(grants, params, default=50, maximum=100)
    return _listing("Grants", [g.to_wire() for g in page], marker)


def grant_to_retire(uow: Any, sealer: Any, account_id: str, region: str, params: Params) -> G.Grant | None:
    """The grant RetireGrant names (by GrantToken, or KeyId + GrantId), or None. Shared with
    the RetireGrant authorization entry."""
    token = params.get("GrantToken")
    if token is not None:
        key_arn, grant_id = G.read_token(sealer, token)
        return G.find_grant(uow, key_arn, grant_id)
    if params.get("KeyId") is None or params.get("GrantId") is None:
        raise ValidationError("Either GrantToken or both KeyId and GrantId must be specified.")
    key = repo.resolve_key(uow, account_id, region, params["KeyId"])
    if key is None:
        return None
    return G.find_grant(uow, key.arn, params["GrantId"])


@operation("RetireGrant")
def retire_grant(call: Call, params: Params) -> Result:
    if params.get("GrantToken") is None and params.get("KeyId") is not None:
        _key(call, params["KeyId"])
    grant = grant_to_retire(call.uow, call.sealer, call.account_id, call.region, params)
    if grant is None:
        grant_id = params.get("GrantId")
        if grant_id is not None and params.get("GrantToken") is None and not _grant_id_shape(grant_id):
            raise InvalidGrantIdException("Invalid grant ID.")
        raise NotFoundException(f"Grant ID {grant_id} not found." if grant_id else "Grant not found.")
    _dry_run(params)
    G.delete_grant(call.uow, grant)
    return {}


def _grant_id_shape(value: str) -> bool:
    return len(value) == 64 and all(c in "0123456789abcdef" for c in value)


@operation("RevokeGrant")
def revoke_grant(call: Call, params: Params) -> Result:
    key = _key(call, params["KeyId"])
    grant_id = params["GrantId"]
    grant = G.find_grant(call.uow, key.arn, grant_id)
    if grant is None:
        if not _grant_id_shape(grant_id):
            raise InvalidGrantIdException("Invalid grant ID.")
        raise NotFoundException(f"Grant ID {grant_id} not found.")
    _dry_run(params)
    G.delete_grant(call.uow, grant)
    return {}
