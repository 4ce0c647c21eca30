"""Authorization entries of KMS's key policy and grant operations (merged into ``authz.AUTHZ``).

Actions and condition keys from the Service Authorization Reference
(https://docs.aws.amazon.com/service-authorization/latest/reference/list_awskeymanagementservice.html);
grant condition keys: https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html
(kms:GrantOperations, kms:GranteePrincipal, kms:RetiringPrincipal, kms:GrantIsForAWSResource,
kms:GrantConstraintType; for CreateGrant, kms:EncryptionContext:<key> and
kms:EncryptionContextKeys are the grant constraint's encryption context).

- Every check on a key goes through ``authz.key_check``: the key policy (with the key's
  grants, grants.py) is the mandatory resource policy.
- RetireGrant is decided by the grant, not by the key policy ("The kms:RetireGrant permission is
  not effective in a key policy", https://docs.aws.amazon.com/kms/latest/developerguide/grant-delete.html):
  its one resource policy is ``grants.retire_policy`` of the grant named; IAM still applies
  (an IAM Deny denies; the key's account delegates to its IAM principals).
- ListRetirableGrants is an IAM-only permission with no resource ("*").

``GRANTS`` is built on first use: ``authz.py`` imports this module before it defines
``key_check``, and reads ``GRANTS`` only at its end (``AUTHZ = {…, **GRANTS}``).

Must not: decide anything (the engine does); change state.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, Mapping

from cloudkeep.services.framework import AuthzContext, Check

GRANT_KEYS = ("kms:GrantOperations", "kms:GranteePrincipal", "kms:RetiringPrincipal",
              "kms:GrantIsForAWSResource", "kms:GrantConstraintType",
              "kms:EncryptionContext:${EncryptionContextKey}", "kms:EncryptionContextKeys")


def _grant_is_for_aws_resource(ctx: AuthzContext) -> dict[str, tuple[str, ...]]:
    """kms:GrantIsForAWSResource: true only when an AWS service integrated with KMS makes the
    call for the principal; cloudkeep's services do not create grants yet, so it is false."""
    return {"kms:GrantIsForAWSResource": ("false",)}


def create_grant_context(ctx: AuthzContext) -> dict[str, tuple[str, ...]]:
    p = ctx.params
    out = _grant_is_for_aws_resource(ctx)
    operations = tuple(p.get("Operations") or ())
    if operations:
        out["kms:GrantOperations"] = operations
    if p.get("GranteePrincipal"):
        out["kms:GranteePrincipal"] = (p["GranteePrincipal"],)
    if p.get("RetiringPrincipal"):
        out["kms:RetiringPrincipal"] = (p["RetiringPrincipal"],)
    constraints = p.get("Constraints") or {}
    for kind in ("EncryptionContextEquals", "EncryptionContextSubset"):
        pairs = constraints.get(kind)
        if pairs is None:
            continue
        out["kms:GrantConstraintType"] = (kind,)
        for name, value in pairs.items():
            out[f"kms:EncryptionContext:{name}"] = (value,)
        if pairs:
            out["kms:EncryptionContextKeys"] = tuple(pairs)
        break
    return out


def _bypass(ctx: AuthzContext) -> dict[str, tuple[str, ...]]:
    return {"kms:BypassPolicyLockoutSafetyCheck":
            ("true" if ctx.params.get("BypassPolicyLockoutSafetyCheck") else "false",)}


# --- RetireGrant: the grant decides ---------------------------------------------------------


def _grant_named(ctx: AuthzContext) -> Any:
    """The grant RetireGrant names, in the request's unit of work (None where none runs)."""
    from . import grants as G
    from .errors import NotFoundException
    from .ops_policy_grants import grant_to_retire

    if ctx.uow is None:
        return None
    grant = grant_to_retire(ctx.uow, ctx.sealer, ctx.account_id, ctx.region, ctx.params)
    if grant is None:
        if ctx.params.get("GrantToken") is None and ctx.params.get("KeyId") is not None:
            from .authz import key_arn_for
            key_arn_for(ctx)                       # NotFoundException for a missing key first
        grant_id = ctx.params.get("GrantId")
        raise NotFoundException(f"Grant ID {grant_id} not found." if grant_id else "Grant not found.")
    assert isinstance(grant, G.Grant)
    return grant


def _retire_resource(ctx: AuthzContext) -> str:
    grant = _grant_named(ctx)
    if grant is not None:
        return grant.key_arn
    from .authz import key_arn_for
    return key_arn_for(ctx)


def _retire_policy(ctx: AuthzContext, uow: Any) -> tuple[str, str] | None:
    from . import grants as G
    grant = _grant_named(ctx)
    return None if grant is None else (f"grant {grant.grant_id}", G.retire_policy(grant))


def _retire_check() -> Check:
    from .authz import CALLER_ACCOUNT, caller_account
    return Check("kms:RetireGrant", resource=_retire_resource, keys=(CALLER_ACCOUNT,), context=caller_account,
                 resource_policy=_retire_policy, resource_policy_required=True)


# --- the table ------------------------------------------------------------------------------


def _build() -> dict[str, Any]:
    from .authz import key_check

    return {
        "PutKeyPolicy": [key_check("kms:PutKeyPolicy", keys=("kms:BypassPolicyLockoutSafetyCheck",),
                                   context=_bypass)],
        "GetKeyPolicy": [key_check("kms:GetKeyPolicy")],
        "ListKeyPolicies": [key_check("kms:ListKeyPolicies")],
        "CreateGrant": [key_check("kms:CreateGrant", keys=GRANT_KEYS, context=create_grant_context)],
        "ListGrants": [key_check("kms:ListGrants", keys=("kms:GrantIsForAWSResource",),
                                 context=_grant_is_for_aws_resource)],
        "ListRetirableGrants": [Check("kms:ListRetirableGrants")],
        "RetireGrant": [_retire_check()],
        "RevokeGrant": [key_check("kms:RevokeGrant", keys=("kms:GrantIsForAWSResource",),
                                  context=_grant_is_for_aws_resource)],
    }


class _Table(Mapping[str, Any]):
    """A mapping whose entries are built on first read (see the module docstring)."""

    def __init__(self, build: Callable[[], dict[str, Any]]) -> None:
        self._build = build
        self._table: dict[str, Any] | None = None

    def _entries(self) -> dict[str, Any]:
        if self._table is None:
            self._table = self._build()
        return self._table

    def __getitem__(self, name: str) -> Any:
        return self._entries()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries())

    def __len__(self) -> int:
        return len(self._entries())


GRANTS: Mapping[str, Any] = _Table(_build)
