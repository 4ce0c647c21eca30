"""IAM's policy simulator operations: SimulatePrincipalPolicy, SimulateCustomPolicy,
GetContextKeysForPrincipalPolicy, GetContextKeysForCustomPolicy.

They gather the policies (a user's inline, attached and group policies; a group's or role's
own; the entity's permissions boundary; the documents passed in) and hand them to
``cloudkeep.policy.simulate``, which runs the same engine as enforcement.
https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html

Must not: import the pipeline; evaluate policies itself; hold SQL (repositories do).
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from cloudkeep.policy import simulate as S
from cloudkeep.policy.model import PolicyKind, PrincipalKind, RequestPrincipal
from cloudkeep.services.framework import Call, Params, Result
from cloudkeep.services.organizations import authz_source
from cloudkeep.wire.errors import ServiceError

from . import repo_groups_roles, repo_policies
from .authz_source import is_service_linked_role
from .domain import name_key
from .domain_policies import AWS_ACCOUNT, GROUP, ROLE, USER
from .errors import InvalidInput, NoSuchEntity
from .errors import PolicyEvaluation
from .operations import operation
from .repo_policies import PolicyRepository





_ENTITY_RE = re.compile(r"arn:([^:]+):iam::(\d{12}):(user|group|role)(/(?:[^/]+/)*)?([^/]+)\Z")
_USER_RE = re.compile(r"arn:[^:]+:iam::\d{12}:user/(?:[^/]+/)*[^/]+\Z")


def _invalid(fn):
    """Run ``fn`` turning simulator input errors into InvalidInput and engine failures into
    PolicyEvaluation."""
    try:
        return fn()
    except S.SimulationError as exc:
        raise InvalidInput(exc.message) from None
    except ValueError as exc:
        raise PolicyEvaluation(f"The simulation failed: {exc}") from None


def _entity(call: Call, arn: str) -> tuple[str, str]:
    """(entity type, name key) of PolicySourceArn; it must exist in the caller's account."""
    m = _ENTITY_RE.match(arn)
    if m is None:
        raise InvalidInput(f"Invalid Entity Arn: {arn}")
    _, account, entity_type, _, name = m.groups()
    if account != call.account_id or PolicyRepository(call.uow).entity(call.account_id, entity_type, name) is None:
        raise NoSuchEntity(f"The {entity_type} with name {name} cannot be found.")
    return entity_type, name_key(name)


def _stored(text: str, name: str, inline_type: str) -> S.PolicyInput:
    """A stored policy as the simulator reports it: inline (by name, type user/group/role) or
    managed (by policy name, aws-managed or user-managed)."""
    if name.startswith("arn:"):
        account = name.split(":")[4] if name.count(":") >= 5 else ""
        source_type = S.AWS_MANAGED if account == AWS_ACCOUNT else S.USER_MANAGED
        return S.load_policy(text, PolicyKind.IDENTITY, name.rsplit("/", 1)[-1], source_type)
    return S.load_policy(text, PolicyKind.IDENTITY, name, inline_type)


def _entity_policies(call: Call, entity_type: str, key: str) -> list[S.PolicyInput]:
    out = [_stored(text, name, entity_type)
           for name, text in repo_policies.policies_for(call.uow, call.account_id, entity_type, key)]
    if entity_type == USER:
        for group in repo_groups_roles.groups_for_user(call.uow, call.account_id, key):
            out += [_stored(text, name, GROUP) for name, text in
                    repo_policies.policies_for(call.uow, call.account_id, GROUP, name_key(group.group_name))]
    return out


def _inputs(params: Params) -> list[S.PolicyInput]:
    return [S.load_policy(t, PolicyKind.IDENTITY, f"PolicyInputList.{n}", S.NONE)
            for n, t in enumerate(params.get("PolicyInputList") or [], 1)]


def _boundary(call: Call, params: Params, entity: tuple[str, str] | None) -> S.PolicyInput | None:
    given = params.get("PermissionsBoundaryPolicyInputList") or []
    if len(given) > 1:
        raise S.SimulationError("You can specify only one permissions boundary policy in "
                                "PermissionsBoundaryPolicyInputList.")
    if given:  # a boundary passed in replaces the entity's own
        return S.load_policy(given[0], PolicyKind.BOUNDARY, "PermissionsBoundaryPolicyInputList.1", S.NONE)
    if entity is None:
        return None
    found = repo_policies.boundary_for(call.uow, call.account_id, *entity)
    if found is None:
        return None
    arn, text = found
    source_type = S.AWS_MANAGED if arn.split(":")[4] == AWS_ACCOUNT else S.USER_MANAGED
    return S.load_policy(text, PolicyKind.BOUNDARY, arn.rsplit("/", 1)[-1], source_type)


def _caller(call: Call, params: Params, source_arn: str | None, entity_type: str | None) -> RequestPrincipal:
    """CallerArn (an IAM user), else the user or role of PolicySourceArn. A resource policy
    needs a user caller (API_SimulatePrincipalPolicy: CallerArn)."""
    caller = params.get("CallerArn")
    if caller is not None:
        if not _USER_RE.match(caller):
            raise S.SimulationError(f"Invalid CallerArn: {caller}. Specify the ARN of an IAM user.")
        return S.principal_from_arn(caller)
    if params.get("ResourcePolicy") is not None and entity_type != USER:
        raise S.SimulationError("CallerArn is required when you include a ResourcePolicy "
                                "and PolicySourceArn is not the ARN of an IAM user.")
    if source_arn is not None and entity_type in (USER, ROLE):
        return S.principal_from_arn(source_arn)
    return RequestPrincipal(PrincipalKind.USER, f"arn:{call.partition}:iam::{call.account_id}:user/SimulatedUser",
                              call.account_id)


def _organization_scps(call: Call, source_arn: str) -> tuple[tuple[S.PolicyInput, ...], ...]:
    """The SCPs of every level from the organization's root down to the account, when the
    account is a member (not the management account) and the entity is not a service-linked
    role: SimulatePrincipalPolicy then reports OrganizationsDecisionDetail.
    https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html"""
    view = authz_source.for_account(call.uow, call.account_id)
    if view is None or view.management_account_id == call.account_id or is_service_linked_role(source_arn):
        return ()
    return tuple(tuple(S.load_policy(text, PolicyKind.SCP, name, S.NONE) for name, text in level)
                 for level in view.scp_levels)


def _simulation(call: Call, params: Params, identity: list[S.PolicyInput], source_arn: str | None,
                entity: tuple[str, str] | None) -> S.Simulation:
    context, multivalued = S.context_from_entries(params.get("ContextEntries") or [])
    resource_policy = params.get("ResourcePolicy")
    owner = params.get("ResourceOwner")
    return S.Simulation(
        principal=_caller(call, params, source_arn, entity[0] if entity else None),
        identity=tuple(identity),
        boundary=_boundary(call, params, entity),
        resource_policy=(S.load_policy(resource_policy, PolicyKind.RESOURCE, "ResourcePolicy", S.RESOURCE)
                         if resource_policy is not None else None),
        scps=_organization_scps(call, source_arn) if source_arn is not None else (),
        context=context, multivalued=multivalued,
        resource_owner=S.resource_owner(owner) if owner else None)


def _page(params: Params, results: list[dict[str, Any]]) -> Result:
    limit = params.get("MaxItems", 100)
    start = 0
    marker = params.get("Marker")
    if marker is not None:
        try:
            start = int(base64.urlsafe_b64decode(marker.encode()).decode())
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise InvalidInput("Invalid Marker.") from None
    page = results[start:start + limit]
    out: Result = {"EvaluationResults": page, "IsTruncated": start + limit < len(results)}
    if out["IsTruncated"]:
        out["Marker"] = base64.urlsafe_b64encode(str(start + limit).encode()).decode()
    return out


def _run(params: Params, sim: S.Simulation) -> Result:
    results = S.simulate(sim, params["ActionNames"], params.get("ResourceArns") or None)
    return _page(params, [r.to_wire() for r in results])


@operation("SimulatePrincipalPolicy")
def simulate_principal_policy(call: Call, params: Params) -> Result:
    source = params["PolicySourceArn"]
    entity = _entity(call, source)

    def run() -> Result:
        identity = _entity_policies(call, *entity) + _inputs(params)
        return _run(params, _simulation(call, params, identity, source, entity))
    return _invalid(run)


@operation("SimulateCustomPolicy")
def simulate_custom_policy(call: Call, params: Params) -> Result:
    return _invalid(lambda: _run(params, _simulation(call, params, _inputs(params), None, None)))


@operation("GetContextKeysForPrincipalPolicy")
def get_context_keys_for_principal_policy(call: Call, params: Params) -> Result:
    entity = _entity(call, params["PolicySourceArn"])

    def run() -> Result:
        policies = _entity_policies(call, *entity) + _inputs(params)
        return {"ContextKeyNames": S.context_keys(p.policy for p in policies)}
    return _invalid(run)


@operation("GetContextKeysForCustomPolicy")
def get_context_keys_for_custom_policy(call: Call, params: Params) -> Result:
    return _invalid(lambda: {"ContextKeyNames": S.context_keys(p.policy for p in _inputs(params))})
