"""IAM operations for managed policies with versions, inline policies, attachments and
permissions boundaries.

Registered on the service's one registry (``operations.operation``). Every document written is
validated by the policy parser (``MalformedPolicyDocument`` / ``LimitExceeded`` with its text).
Messages follow IAM's, e.g. https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeletePolicy.html.

Must not: import the pipeline; hold SQL (repositories) or rules (domain modules).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, Callable, Sequence

from cloudkeep.policy.model import PolicyError, PolicyKind
from cloudkeep.policy.parse import inline_size_error, parse_policy
from cloudkeep.services.framework import Call, Params, Result
from cloudkeep.storage.engine import is_unique_violation
from cloudkeep.wire.errors import AccessDenied

from . import aws_managed, domain
from .domain import name_key
from .domain_policies import (AWS_ACCOUNT, GROUP, INLINE_AGGREGATE, MANAGED_PER_ENTITY, MANAGED_POLICY_SIZE,
                              MAX_VERSIONS, QUOTA_NAMES, ROLE, USER, InlinePolicy, ManagedPolicy, path_matches,
                              policy_arn, split_policy_arn, version_number, wire_document)
from .errors import (DeleteConflict, EntityAlreadyExists, InvalidInput, LimitExceeded, MalformedPolicyDocument,
                     NoSuchEntity, PolicyNotAttachable)
from .operations import operation
from .repo_policies import PolicyRepository

NOT_FOUND = "Policy {arn} was not found."
NOT_ATTACHABLE = "Policy {arn} does not exist or is not attachable."
BOUNDARY_NOT_FOUND = "Scope ARN: {arn} does not exist or is not attachable."
SERVICE_ROLE_POLICY = "Cannot attach a Service Role Policy to a Customer Role."
_ENTITY_PARAM = {USER: "UserName", GROUP: "GroupName", ROLE: "RoleName"}


def _repo(call: Call) -> PolicyRepository:
    return PolicyRepository(call.uow)


# --- helpers --------------------------------------------------------------------------------


def _validate(text: str, **kw: Any) -> None:
    try:
        parse_policy(text, PolicyKind.IDENTITY, **kw)
    except PolicyError as exc:
        raise (LimitExceeded if exc.code == "LimitExceeded" else MalformedPolicyDocument)(exc.message) from None


def _policy(call: Call, arn: str, missing: str = NOT_FOUND, *, lock: bool = False) -> ManagedPolicy:
    """The managed policy (AWS or this account's) at ``arn``, with this account's counts."""
    parts = split_policy_arn(arn, call.partition)
    if parts is None:
        raise InvalidInput(f"ARN {arn} is not valid.")
    account, path, name = parts
    repo = _repo(call)
    if account == AWS_ACCOUNT:
        found = aws_managed.find(path, name)
        if found is not None:
            full = policy_arn(call.partition, AWS_ACCOUNT, path, name)
            return found.policy(call.partition, attachment_count=repo.attachment_count(call.account_id, full),
                                boundary_usage_count=repo.boundary_usage_count(call.account_id, full))
    elif account == call.account_id:
        local = repo.get_policy(call.account_id, name, with_tags=True, lock=lock)
        if local is not None and local.path == path:
            return local
    raise NoSuchEntity(missing.format(arn=arn))


def _customer_policy(call: Call, arn: str, action: str) -> ManagedPolicy:
    """A policy the caller may change: AWS managed policies belong to account ``aws``."""
    policy = _policy(call, arn, lock=True)
    if policy.aws_managed:
        raise AccessDenied(f"User: {call.principal.arn} is not authorized to perform: iam:{action} on resource: "
                           f"policy {arn} because no resource-based policy allows the iam:{action} action")
    return policy


def _entity(call: Call, entity_type: str, name: str, *, lock: bool = False) -> Any:
    row = _repo(call).entity(call.account_id, entity_type, name, lock=lock)
    if row is None:
        raise NoSuchEntity(f"The {entity_type} with name {name} cannot be found.")
    return row


def _entity_name(entity_type: str, row: Any) -> str:
    return getattr(row, f"{entity_type}_name")


def _encode_marker(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode()


def _page(params: Params, items: Sequence[Any], key: Callable[[Any], str], member: str,
          wire: Callable[[Any], Any]) -> Result:
    """One page of ``items`` (sorted by ``key``) after the request's Marker, MaxItems long."""
    limit = params.get("MaxItems", 100)
    marker = params.get("Marker")
    if marker is not None:
        try:
            after = base64.urlsafe_b64decode(marker.encode()).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise InvalidInput("Invalid Marker.") from None
        items = [i for i in items if key(i) > after]
    page = list(items[:limit])
    out: Result = {member: [wire(i) for i in page], "IsTruncated": len(items) > limit}
    if len(items) > limit:
        out["Marker"] = _encode_marker(key(page[-1]))
    return out


def _version(call: Call, policy: ManagedPolicy, vid: str):
    number = version_number(vid)
    if policy.aws_managed:
        default = aws_managed.all_policies()[policy.name].default_version()
        found = default if number == default.number else None
    else:
        found = _repo(call).get_version(call.account_id, policy, number) if number else None
    if found is None:
        raise NoSuchEntity(f"Policy {policy.arn} version {vid} does not exist or is not attachable.")
    return found


# --- managed policies ---------------------------------------------------------------------------


@operation("CreatePolicy")
def create_policy(call: Call, params: Params) -> Result:
    name, path, document = params["PolicyName"], params.get("Path") or "/", params["PolicyDocument"]
    tags = tuple(domain.check_tags(params.get("Tags", [])))
    _validate(document, quota=MANAGED_POLICY_SIZE, require_version_2012=True)
    now = call.clock.now()
    policy = ManagedPolicy(account=call.account_id, name=name, policy_id=call.ids.unique_id("ANPA"), path=path,
                           arn=policy_arn(call.partition, call.account_id, path, name), default_version_id="v1",
                           created_at=now, updated_at=now, description=params.get("Description"), tags=tags)
    repo = _repo(call)
    exists = EntityAlreadyExists(f"A policy called {name} already exists. Duplicate names are not allowed.")
    if repo.get_policy(call.account_id, name) is not None:
        raise exists
    try:
        repo.add_policy(policy, document)
    except Exception as exc:
        if is_unique_violation(exc):
            raise exists from None
        raise
    return {"Policy": policy.to_wire()}


@operation("GetPolicy")
def get_policy(call: Call, params: Params) -> Result:
    return {"Policy": _policy(call, params["PolicyArn"]).to_wire()}


def _listed(policy: ManagedPolicy, only_attached: bool, usage: str | None) -> bool:
    if not only_attached:
        return True
    if usage == "PermissionsPolicy":
        return policy.attachment_count > 0
    if usage == "PermissionsBoundary":
        return policy.boundary_usage_count > 0
    return policy.attachment_count > 0 or policy.boundary_usage_count > 0


@operation("ListPolicies")
def list_policies(call: Call, params: Params) -> Result:
    scope, prefix = params.get("Scope", "All"), params.get("PathPrefix")
    only_attached, usage = bool(params.get("OnlyAttached", False)), params.get("PolicyUsageFilter")
    repo = _repo(call)
    found: list[ManagedPolicy] = []
    if scope in ("All", "AWS"):
        attached, bounded = repo.attachment_counts(call.account_id), repo.boundary_usage_counts(call.account_id)
        for p in aws_managed.all_policies().values():
            if not path_matches(p.path, prefix):
                continue
            arn = policy_arn(call.partition, AWS_ACCOUNT, p.path, p.name)
            found.append(p.policy(call.partition, attachment_count=attached.get(arn, 0),
                                  boundary_usage_count=bounded.get(arn, 0)))
    if scope in ("All", "Local"):
        found.extend(p for p in repo.list_policies(call.account_id) if path_matches(p.path, prefix))
    found = sorted((p for p in found if _listed(p, only_attached, usage)), key=_policy_order)
    # ListPolicies leaves out Description and Tags (API_ListPolicies.html).
    return _page(params, found, _policy_order, "Policies", lambda p: p.to_wire(full=False))


def _policy_order(policy: ManagedPolicy) -> str:
    return f"{policy.name.lower()}\x00{policy.arn}"


@operation("DeletePolicy")
def delete_policy(call: Call, params: Params) -> Result:
    policy = _customer_policy(call, params["PolicyArn"], "DeletePolicy")
    repo = _repo(call)
    if policy.attachment_count or policy.boundary_usage_count:
        raise DeleteConflict("Cannot delete a policy attached to entities.")
    if repo.count_versions(call.account_id, policy.name) > 1:
        raise DeleteConflict("This policy has more than one version. Before you delete a policy, you must delete "
                             "the policy's versions. The default version is deleted with the policy.")
    repo.delete_policy(call.account_id, policy.name)
    return {}


# --- versions ----------------------------------------------------------------------------------


@operation("CreatePolicyVersion")
def create_policy_version(call: Call, params: Params) -> Result:
    policy = _customer_policy(call, params["PolicyArn"], "CreatePolicyVersion")
    document = params["PolicyDocument"]
    _validate(document, quota=MANAGED_POLICY_SIZE, require_version_2012=True)
    repo = _repo(call)
    if repo.count_versions(call.account_id, policy.name) >= MAX_VERSIONS:
        raise LimitExceeded(f"A managed policy can have up to {MAX_VERSIONS} versions. Before you create a new "
                            "version, you must delete an existing version.")
    number, now = repo.next_version(call.account_id, policy.name), call.clock.now()
    repo.add_version(call.account_id, policy.name, number, document, now)
    default = bool(params.get("SetAsDefault", False))
    if default:
        repo.set_default(call.account_id, policy.name, number)
    version = repo.get_version(call.account_id, policy, number)
    assert version is not None
    wire = version.to_wire(with_document=False)
    wire["IsDefaultVersion"] = default
    return {"PolicyVersion": wire}


@operation("GetPolicyVersion")
def get_policy_version(call: Call, params: Params) -> Result:
    policy = _policy(call, params["PolicyArn"])
    return {"PolicyVersion": _version(call, policy, params["VersionId"]).to_wire()}


@operation("ListPolicyVersions")
def list_policy_versions(call: Call, params: Params) -> Result:
    policy = _policy(call, params["PolicyArn"])
    if policy.aws_managed:
        versions = [aws_managed.all_policies()[policy.name].default_version()]
    else:
        versions = _repo(call).list_versions(call.account_id, policy)
    return _page(params, versions, lambda v: f"{10**9 - v.number:010d}", "Versions",
                 lambda v: v.to_wire(with_document=False))


@operation("DeletePolicyVersion")
def delete_policy_version(call: Call, params: Params) -> Result:
    policy = _customer_policy(call, params["PolicyArn"], "DeletePolicyVersion")
    version = _version(call, policy, params["VersionId"])
    if version.is_default:
        raise DeleteConflict("Cannot delete the default version of a policy.")
    _repo(call).delete_version(call.account_id, policy.name, version.number)
    return {}


@operation("SetDefaultPolicyVersion")
def set_default_policy_version(call: Call, params: Params) -> Result:
    policy = _customer_policy(call, params["PolicyArn"], "SetDefaultPolicyVersion")
    version = _version(call, policy, params["VersionId"])
    _repo(call).set_default(call.account_id, policy.name, version.number)
    return {}


# --- tags --------------------------------------------------------------------------------------


@operation("TagPolicy")
def tag_policy(call: Call, params: Params) -> Result:
    policy = _customer_policy(call, params["PolicyArn"], "TagPolicy")
    new = domain.check_tags(params["Tags"])
    keys = {k.lower() for k, _ in new}
    merged = [(k, v) for k, v in policy.tags if k.lower() not in keys] + new
    if len(merged) > domain.MAX_TAGS:
        raise LimitExceeded(f"The number of tags has reached the maximum limit of {domain.MAX_TAGS}.")
    _repo(call).replace_tags(call.account_id, policy.name, merged)
    return {}


@operation("UntagPolicy")
def untag_policy(call: Call, params: Params) -> Result:
    policy = _customer_policy(call, params["PolicyArn"], "UntagPolicy")
    _repo(call).remove_tags(call.account_id, policy.name, params["TagKeys"])
    return {}


@operation("ListPolicyTags")
def list_policy_tags(call: Call, params: Params) -> Result:
    policy = _policy(call, params["PolicyArn"])
    return _page(params, list(enumerate(policy.tags)), lambda t: f"{t[0]:06d}", "Tags",
                 lambda t: {"Key": t[1][0], "Value": t[1][1]})


# --- inline policies ---------------------------------------------------------------------------


def _put_inline(call: Call, params: Params, entity_type: str) -> Result:
    row = _entity(call, entity_type, params[_ENTITY_PARAM[entity_type]], lock=True)
    entity_name = _entity_name(entity_type, row)
    policy = InlinePolicy(entity_type=entity_type, entity_name=entity_name, name=params["PolicyName"],
                          document=params["PolicyDocument"])
    repo, limit = _repo(call), INLINE_AGGREGATE[entity_type]
    others = sum(size for key, size in repo.inline_sizes(call.account_id, entity_type, entity_name).items()
                 if key != name_key(policy.name))
    if others + policy.size > limit:
        raise LimitExceeded(inline_size_error(entity_type, entity_name, limit).message)
    _validate(policy.document)
    repo.put_inline(call.account_id, policy)
    return {}


def _get_inline(call: Call, params: Params, entity_type: str) -> Result:
    param = _ENTITY_PARAM[entity_type]
    entity_name = _entity_name(entity_type, _entity(call, entity_type, params[param]))
    row = _repo(call).get_inline(call.account_id, entity_type, entity_name, params["PolicyName"])
    if row is None:
        raise NoSuchEntity(f"The {entity_type} policy with name {params['PolicyName']} cannot be found.")
    return {param: entity_name, "PolicyName": row.policy_name, "PolicyDocument": wire_document(row.document)}


def _delete_inline(call: Call, params: Params, entity_type: str) -> Result:
    entity_name = _entity_name(entity_type, _entity(call, entity_type, params[_ENTITY_PARAM[entity_type]]))
    if not _repo(call).delete_inline(call.account_id, entity_type, entity_name, params["PolicyName"]):
        raise NoSuchEntity(f"The {entity_type} policy with name {params['PolicyName']} cannot be found.")
    return {}


def _list_inline(call: Call, params: Params, entity_type: str) -> Result:
    entity_name = _entity_name(entity_type, _entity(call, entity_type, params[_ENTITY_PARAM[entity_type]]))
    names = _repo(call).list_inline_names(call.account_id, entity_type, entity_name)
    return _page(params, names, str.lower, "PolicyNames", lambda n: n)


# --- attachments -------------------------------------------------------------------------------


def _attach(call: Call, params: Params, entity_type: str) -> Result:
    row = _entity(call, entity_type, params[_ENTITY_PARAM[entity_type]], lock=True)
    entity_name = _entity_name(entity_type, row)
    policy = _policy(call, params["PolicyArn"], NOT_ATTACHABLE)
    if not policy.attachable:
        raise PolicyNotAttachable(SERVICE_ROLE_POLICY)
    repo = _repo(call)
    attached = repo.list_attached(call.account_id, entity_type, entity_name)
    if any(a.policy_arn == policy.arn for a in attached):
        return {}    # attaching again changes nothing
    if len(attached) >= MANAGED_PER_ENTITY[entity_type]:
        raise LimitExceeded(f"Cannot exceed quota for {QUOTA_NAMES[entity_type]}: {MANAGED_PER_ENTITY[entity_type]}")
    repo.attach(call.account_id, entity_type, entity_name, policy, call.clock.now())
    return {}


def _detach(call: Call, params: Params, entity_type: str) -> Result:
    entity_name = _entity_name(entity_type, _entity(call, entity_type, params[_ENTITY_PARAM[entity_type]],
                                                    lock=True))
    arn = params["PolicyArn"]
    if split_policy_arn(arn, call.partition) is None:
        raise InvalidInput(f"ARN {arn} is not valid.")
    if not _repo(call).detach(call.account_id, entity_type, entity_name, arn):
        raise NoSuchEntity(NOT_FOUND.format(arn=arn))
    return {}


def _list_attached(call: Call, params: Params, entity_type: str) -> Result:
    entity_name = _entity_name(entity_type, _entity(call, entity_type, params[_ENTITY_PARAM[entity_type]]))
    prefix = params.get("PathPrefix")
    found = [a for a in _repo(call).list_attached(call.account_id, entity_type, entity_name)
             if path_matches(a.policy_path, prefix)]
    return _page(params, found, lambda a: f"{a.policy_name.lower()}\x00{a.policy_arn}", "AttachedPolicies",
                 lambda a: a.to_wire())


@operation("ListEntitiesForPolicy")
def list_entities_for_policy(call: Call, params: Params) -> Result:
    policy = _policy(call, params["PolicyArn"])
    entity_filter, usage, prefix = params.get("EntityFilter"), params.get("PolicyUsageFilter"), params.get("PathPrefix")
    types = {"User": (USER,), "Group": (GROUP,), "Role": (ROLE,)}.get(entity_filter or "", (USER, GROUP, ROLE))
    modes = {"PermissionsPolicy": (False,), "PermissionsBoundary": (True,)}.get(usage or "", (False, True))
    repo = _repo(call)
    out: Result = {"PolicyGroups": [], "PolicyUsers": [], "PolicyRoles": [], "IsTruncated": False}
    members = {USER: ("PolicyUsers", "User"), GROUP: ("PolicyGroups", "Group"), ROLE: ("PolicyRoles", "Role")}
    for entity_type in types:
        member, noun = members[entity_type]
        seen: set[str] = set()
        for boundary in modes:
            if boundary and entity_type == GROUP:
                continue   # groups have no permissions boundary
            for row in repo.entities_for_policy(call.account_id, policy.arn, entity_type, boundary=boundary):
                if row.id not in seen and path_matches(row.path, prefix):
                    seen.add(row.id)
                    out[member].append({f"{noun}Name": row.name, f"{noun}Id": row.id})
    return out


# --- permissions boundaries ------------------------------------------------------------------


def require_boundary_policy(call: Call, arn: str) -> str:
    """The ARN of an existing, attachable managed policy usable as a permissions boundary, else
    IAM's error (NoSuchEntity "Scope ARN: … does not exist or is not attachable."). For
    CreateUser/CreateRole, which take a PermissionsBoundary too."""
    policy = _policy(call, arn, BOUNDARY_NOT_FOUND)
    if not policy.attachable:
        raise PolicyNotAttachable(SERVICE_ROLE_POLICY)
    return policy.arn


def _put_boundary(call: Call, params: Params, entity_type: str) -> Result:
    row = _entity(call, entity_type, params[_ENTITY_PARAM[entity_type]], lock=True)
    arn = require_boundary_policy(call, params["PermissionsBoundary"])
    _repo(call).set_boundary(call.account_id, entity_type, _entity_name(entity_type, row), arn)
    return {}


def _delete_boundary(call: Call, params: Params, entity_type: str) -> Result:
    row = _entity(call, entity_type, params[_ENTITY_PARAM[entity_type]], lock=True)
    _repo(call).set_boundary(call.account_id, entity_type, _entity_name(entity_type, row), None)
    return {}


# --- registration: one operation per entity type -------------------------------------------------

_PER_ENTITY = {
    "Put{E}Policy": _put_inline, "Get{E}Policy": _get_inline, "Delete{E}Policy": _delete_inline,
    "List{E}Policies": _list_inline, "Attach{E}Policy": _attach, "Detach{E}Policy": _detach,
    "ListAttached{E}Policies": _list_attached,
}
_BOUNDARY_OPS = {"Put{E}PermissionsBoundary": _put_boundary, "Delete{E}PermissionsBoundary": _delete_boundary}


def _bind(fn: Callable[[Call, Params, str], Result], entity_type: str) -> Callable[[Call, Params], Result]:
    def handler(call: Call, params: Params) -> Result:
        return fn(call, params, entity_type)
    handler.__name__ = f"{fn.__name__.lstrip('_')}_{entity_type}"
    return handler


for _type, _noun in ((USER, "User"), (GROUP, "Group"), (ROLE, "Role")):
    for _template, _fn in _PER_ENTITY.items():
        operation(_template.format(E=_noun))(_bind(_fn, _type))
    if _type != GROUP:
        for _template, _fn in _BOUNDARY_OPS.items():
            operation(_template.format(E=_noun))(_bind(_fn, _type))
