"""The authorize stage's work: for each check of an operation, the request context (the global
condition keys of spec §9 and the service's own keys), the applicable policies, and the policy
engine's decision.

Policies are read in the request's unit of work from the services that own them (IAM for
identity policies and boundaries; the resource's service for its resource policy) and parsed
once per distinct document (a parse cache keyed by the text).

Must not: decide anything itself (the engine does); fail open: a stored policy that cannot be
parsed is an internal failure, never ignored.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Mapping

from cloudkeep.auth.principal import Principal, PrincipalType
from cloudkeep.policy.evaluate import evaluate
from cloudkeep.policy.explain import access_denied_message
from cloudkeep.policy.model import (ApplicablePolicies, AuthzRequest, Decision, Policy, PolicyError,
                                    PolicyKind, PolicyRef, PrincipalKind, RequestPrincipal)
from cloudkeep.policy.parse import parse_policy
from cloudkeep.services.framework import AuthzContext, Check
from cloudkeep.services.iam import authz_source
from cloudkeep.services.organizations import authz_source as org_source
from cloudkeep.storage.generations import ORGANIZATIONS, GenerationReader, current_in
from cloudkeep.wire import errors as E

from .deps import Deps
from .exchange import Exchange

log = logging.getLogger("cloudkeep.authz")

#: condition keys that are multivalued (spec §5.4)
MULTIVALUED = frozenset({"aws:tagkeys", "aws:calledvia", "aws:principalorgpaths", "aws:resourceorgpaths",
                         "aws:principalservicenameslist", "kms:resourcealiases",
                         "kms:encryptioncontextkeys", "kms:grantoperations"})

_PRINCIPAL_TYPE = {
    PrincipalType.ROOT: ("Account", PrincipalKind.ROOT),
    PrincipalType.IAM_USER: ("User", PrincipalKind.USER),
    PrincipalType.ASSUMED_ROLE: ("AssumedRole", PrincipalKind.ASSUMED_ROLE),
    PrincipalType.FEDERATED_USER: ("FederatedUser", PrincipalKind.FEDERATED_USER),
    PrincipalType.AWS_SERVICE: ("AWSService", PrincipalKind.SERVICE),
    PrincipalType.ANONYMOUS: ("Anonymous", PrincipalKind.ANONYMOUS),
}


@functools.lru_cache(maxsize=8192)
def parsed(text: str, kind: PolicyKind) -> Policy:
    """A stored policy document, parsed once per distinct text."""
    try:
        return parse_policy(text, kind)
    except PolicyError as error:  # stored documents were validated when written
        log.error("a stored %s policy no longer parses: %s", kind.value, error.message)
        raise E.InternalFailure("We encountered an internal error. Please try again.") from None


def request_principal(principal: Principal) -> RequestPrincipal:
    kind = _PRINCIPAL_TYPE[principal.type][1]
    if kind is PrincipalKind.ANONYMOUS:
        return RequestPrincipal(kind=kind, arn="*", account=None)
    return RequestPrincipal(kind=kind, arn=principal.arn, account=principal.account_id or None,
                            parent_arn=principal.parent_arn)


def _userid(principal: Principal) -> str:
    """aws:userid (spec §9): user id; role-id:session-name; account:name; account id; anonymous."""
    if principal.type is PrincipalType.ANONYMOUS:
        return "anonymous"
    if principal.type is PrincipalType.ROOT:
        return principal.account_id
    return principal.principal_id


def _principal_arn(principal: Principal) -> str:
    """aws:PrincipalArn: the role's ARN for a role session, not the session's (spec §9)."""
    if principal.type is PrincipalType.ASSUMED_ROLE and principal.parent_arn:
        return principal.parent_arn
    return principal.arn


@dataclass(frozen=True, slots=True)
class PrincipalPolicySet:
    identity: tuple[PolicyRef, ...]
    boundary: PolicyRef | None
    tags: Mapping[str, str]
    #: the same ApplicablePolicies object for every request that adds no resource or session
    #: policy, so the engine's per-policy-set caches are reused across requests
    plain: ApplicablePolicies


def _policy_set(identity: tuple[PolicyRef, ...], boundary: PolicyRef | None,
                tags: Mapping[str, str]) -> PrincipalPolicySet:
    return PrincipalPolicySet(identity, boundary, tags, ApplicablePolicies(identity=identity, boundary=boundary))


_NO_POLICIES = _policy_set((), None, {})


def _load(uow: Any, principal: Principal) -> PrincipalPolicySet:
    source = authz_source.for_principal(uow, principal)
    identity = tuple(PolicyRef(name, parsed(text, PolicyKind.IDENTITY)) for name, text in source.identity)
    boundary = (PolicyRef(source.boundary[0], parsed(source.boundary[1], PolicyKind.BOUNDARY))
                if source.boundary else None)
    return _policy_set(identity, boundary, dict(source.tags))


# --- Organizations: SCPs of the principal's account, RCPs of the resource's account (spec §8) ----

#: the services whose resources RCPs apply to
#: https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps.html#rcp-supported-services
RCP_SERVICES = frozenset({"s3", "sts", "kms", "sqs", "secretsmanager", "cognito-idp", "logs", "dynamodb",
                          "ecr", "aoss"})


@dataclass(frozen=True, slots=True)
class OrgScope:
    """An account's place in its organization, with the parsed SCP and RCP levels (root, each
    OU down the path, the account)."""

    org_id: str
    management_account_id: str
    path: str                                     # "o-…/r-…/ou-…/": aws:PrincipalOrgPaths
    scps: tuple[tuple[PolicyRef, ...], ...]
    rcps: tuple[tuple[PolicyRef, ...], ...]


def _levels(raw: tuple[tuple[tuple[str, str], ...], ...], kind: PolicyKind) -> tuple[tuple[PolicyRef, ...], ...]:
    return tuple(tuple(PolicyRef(name, parsed(text, kind)) for name, text in level) for level in raw)


def _org_scope(uow: Any, account_id: str) -> OrgScope | None:
    view = org_source.for_account(uow, account_id)
    if view is None:
        return None
    return OrgScope(view.org_id, view.management_account_id, view.path,
                    _levels(view.scp_levels, PolicyKind.SCP), _levels(view.rcp_levels, PolicyKind.RCP))


def _service_linked(principal: Principal) -> bool:
    """Service-linked roles (path /aws-service-role/) are exempt from SCPs and RCPs."""
    return principal.type is PrincipalType.ASSUMED_ROLE and authz_source.is_service_linked_role(principal.parent_arn)


class PolicyCache:
    """Parsed policy sets per principal, valid for one authorization generation of its account
    (storage/generations.py): every policy change bumps it in the same transaction and each
    lookup reads it, so a change is seen at once by every worker and node."""

    def __init__(self, store: Any, *, size: int = 10_000) -> None:
        self._generations = GenerationReader(store)
        self._entries: OrderedDict[tuple, PrincipalPolicySet] = OrderedDict()
        self._orgs: OrderedDict[tuple, OrgScope | None] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def organizations(self, uow: Any) -> Any:
        """A lookup ``account id → OrgScope | None`` for one request, valid for the current
        generation of the server's organizations (every Organizations write bumps it), or None
        when no organization has ever been created here."""
        generation = self._generations.current(ORGANIZATIONS, uow)
        if generation == 0:
            return None

        def scope(account_id: str) -> OrgScope | None:
            key = ("org", account_id, generation)
            with self._lock:
                if key in self._orgs:
                    return self._orgs[key]
            found = _org_scope(uow, account_id)
            with self._lock:
                self._orgs[key] = found
                if len(self._orgs) > self._size:
                    self._orgs.popitem(last=False)
            return found
        return scope

    def generation(self, account_id: str, uow: Any = None) -> int:
        """The account's authorization generation, as the request's unit of work sees it."""
        return self._generations.current(account_id, uow)

    def get(self, uow: Any, principal: Principal) -> PrincipalPolicySet:
        if principal.type in (PrincipalType.ROOT, PrincipalType.ANONYMOUS):
            return _NO_POLICIES      # root's permissions are implied; anonymous callers have none
        key = (principal.account_id, principal.type, principal.arn, principal.parent_arn,
               principal.session_tags, self._generations.current(principal.account_id, uow))
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                return found
        loaded = _load(uow, principal)
        with self._lock:
            self._entries[key] = loaded
            if len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return loaded


def _request_tags(params: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    tags = params.get("Tags") or []
    out: dict[str, tuple[str, ...]] = {}
    for tag in tags if isinstance(tags, list) else []:
        if isinstance(tag, Mapping) and "Key" in tag:
            out["aws:requesttag/" + str(tag["Key"]).lower()] = (str(tag.get("Value", "")),)
    keys = [str(t["Key"]) for t in tags if isinstance(t, Mapping) and "Key" in t] if isinstance(tags, list) else []
    keys += [str(k) for k in params.get("TagKeys") or []]
    if keys:
        out["aws:tagkeys"] = tuple(keys)
    return out


#: condition keys an authz entry declares whose values come straight from a request parameter
#: (Service Authorization Reference names; the rest come from the check's own builder)
PARAMETER_KEYS = {
    "iam:permissionsboundary": "PermissionsBoundary",
    "iam:policyarn": "PolicyArn",
    "sts:externalid": "ExternalId",
    "sts:rolesessionname": "RoleSessionName",
    "sts:sourceidentity": "SourceIdentity",
}


def declared_context(check: Check, params: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """Values of the keys the check declares, taken from the request where the key says so."""
    declared = {k.lower() for k in check.keys}
    out: dict[str, tuple[str, ...]] = {}
    if declared & {"aws:requesttag/${tagkey}", "aws:tagkeys"}:
        out.update(_request_tags(params))
    for key, member in PARAMETER_KEYS.items():
        if key in declared and params.get(member) is not None:
            out[key] = (str(params[member]),)
    return out


def resource_account(resource: str, default: str) -> str:
    """The account that owns a resource: the ARN's account field (arn:partition:service:region:
    account:…), else the caller's account (resources without one, "*", S3 buckets)."""
    parts = resource.split(":", 5)
    if len(parts) == 6 and parts[0] == "arn" and len(parts[4]) == 12 and parts[4].isdigit():
        return parts[4]
    return default


def owner_of(ctx: AuthzContext, check: Check, resource: str, uow: Any) -> str:
    """The account that owns the check's resource: the check's own answer (an S3 bucket's
    owner), else the ARN's account field, else the caller's."""
    if check.resource_owner is not None:
        found = check.resource_owner(ctx, uow)
        if found:
            return found
    return resource_account(resource, ctx.account_id)


class LazyContext(Mapping[str, tuple[str, ...]]):
    """A request's condition keys, built (``request_context``) the first time the engine reads
    one: a decision by policies with no condition and no policy variable never does (an
    account's root user, most identity policies), and building them costs more than the
    evaluation itself (the principal's ARN and tags, the resource's tags read from the store).
    The engine reads them inside ``evaluate``, while the request's unit of work is open."""

    __slots__ = ("_build", "_keys")

    def __init__(self, build: Any) -> None:
        self._build = build
        self._keys: dict[str, tuple[str, ...]] | None = None

    def multivalued(self) -> "_Multivalued":
        """The keys of this request that are multivalued (``AuthzRequest.multivalued``), as lazy."""
        return _Multivalued(self)

    def keys_now(self) -> dict[str, tuple[str, ...]]:
        keys = self._keys
        if keys is None:
            keys = self._keys = self._build()
            self._build = None
        return keys

    def __getitem__(self, key: str) -> tuple[str, ...]:
        return self.keys_now()[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.keys_now().get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self.keys_now()

    def __iter__(self) -> Any:
        return iter(self.keys_now())

    def __len__(self) -> int:
        return len(self.keys_now())


class _Multivalued:
    """The multivalued keys a ``LazyContext`` holds (``MULTIVALUED`` ∩ its keys), for ``in``
    (``AuthzRequest.multivalued``), as lazy. Made by the context, never held by it: with a
    reference back, every request's context, exchange and headers were a cycle that only the
    garbage collector freed (~20 objects a request, and its collections took milliseconds)."""

    __slots__ = ("_context",)

    def __init__(self, context: LazyContext) -> None:
        self._context = context

    def __contains__(self, key: object) -> bool:
        return key in MULTIVALUED and key in self._context.keys_now()

    def __iter__(self) -> Any:
        return iter(MULTIVALUED & frozenset(self._context.keys_now()))


def request_context(ex: Exchange, deps: Deps, ctx: AuthzContext, check: Check,
                    principal_tags: Mapping[str, str], owner: str, *, principal_org: OrgScope | None = None,
                    resource_org: OrgScope | None = None) -> dict[str, tuple[str, ...]]:
    """The global condition keys (spec §9) and the check's own keys, lower-cased names."""
    p = ex.principal
    assert p is not None
    now = ex.received_at
    keys: dict[str, tuple[str, ...]] = {
        "aws:currenttime": (now.strftime("%Y-%m-%dT%H:%M:%SZ"),),
        "aws:epochtime": (str(int(now.timestamp())),),
        "aws:securetransport": ("true" if ex.request.secure else "false",),
        "aws:requestedregion": (ex.region or "us-east-1",),
        "aws:viaawsservice": ("true" if ex.called_via else "false",),
        "aws:sourceip": (ex.request.client_ip,),
        "aws:principaltype": (_PRINCIPAL_TYPE[p.type][0],),
        "aws:userid": (_userid(p),),
        "aws:principalaccount": (p.account_id or "anonymous",),
        "aws:resourceaccount": (owner,),
        "aws:principalisawsservice": ("true" if p.type is PrincipalType.AWS_SERVICE else "false",),
    }
    agent = ex.request.header("user-agent")
    if agent:
        keys["aws:useragent"] = (agent,)
    if p.type is not PrincipalType.ANONYMOUS:
        keys["aws:principalarn"] = (_principal_arn(p),)
    if p.mfa_authenticated is not None:           # temporary credentials only
        keys["aws:multifactorauthpresent"] = ("true" if p.mfa_authenticated else "false",)
        if p.mfa_authenticated and p.mfa_authenticated_at is not None:
            age = int((now - p.mfa_authenticated_at).total_seconds())
            keys["aws:multifactorauthage"] = (str(max(age, 0)),)
    if p.token_issued_at is not None:
        keys["aws:tokenissuetime"] = (p.token_issued_at.strftime("%Y-%m-%dT%H:%M:%SZ"),)
    if p.source_identity:
        keys["aws:sourceidentity"] = (p.source_identity,)
    if p.type is PrincipalType.IAM_USER and p.user_name:
        keys["aws:username"] = (p.user_name,)
    for name, value in principal_tags.items():
        keys["aws:principaltag/" + name.lower()] = (value,)
    if principal_org is not None and p.type is not PrincipalType.ANONYMOUS:
        keys["aws:principalorgid"] = (principal_org.org_id,)
        keys["aws:principalorgpaths"] = (principal_org.path,)
    if resource_org is not None:
        keys["aws:resourceorgid"] = (resource_org.org_id,)
        keys["aws:resourceorgpaths"] = (resource_org.path,)
    if ex.called_via:
        keys["aws:calledvia"] = tuple(ex.called_via)
        keys["aws:calledviafirst"] = (ex.called_via[0],)
        keys["aws:calledvialast"] = (ex.called_via[-1],)
    for name, values in ex.source_context:       # a service principal's aws:SourceArn/SourceAccount
        keys[name] = values
    keys.update(declared_context(check, ctx.params))
    if check.context is not None:
        for name, values in check.context(ctx).items():
            keys[name.lower()] = tuple(values)
    if check.resource_tags is not None:
        # under every <prefix>:ResourceTag/ the check declares (IAM also has iam:ResourceTag/)
        prefixes = {k.split(":", 1)[0].lower() for k in check.keys if k.lower().endswith(":resourcetag/${tagkey}")}
        for name, value in check.resource_tags(ctx, ex.uow).items():
            for prefix in prefixes | {"aws"}:
                keys[f"{prefix}:resourcetag/{name.lower()}"] = (value,)
    return keys


def decide(ex: Exchange, deps: Deps, ctx: AuthzContext, check: Check) -> tuple[Decision, str]:
    """The engine's decision for one check, and the resource ARN it was about."""
    principal = ex.principal
    assert principal is not None
    resource = check.resource_arn(ctx)
    own = (deps.policy_cache.get(ex.uow, principal) if deps.policy_cache is not None
           else _load(ex.uow, principal) if principal.type not in (PrincipalType.ROOT, PrincipalType.ANONYMOUS)
           else _NO_POLICIES)
    identity, boundary = own.identity, own.boundary
    resource_policy = None
    if check.resource_policy is not None:
        found = check.resource_policy(ctx, ex.uow)
        if found is not None:
            resource_policy = PolicyRef(found[0], parsed(found[1], PolicyKind(check.resource_policy_kind)))
    owner = owner_of(ctx, check, resource, ex.uow)
    principal_org, resource_org, scps, rcps = _organization(ex, deps, check, principal, owner)
    context = LazyContext(functools.partial(request_context, ex, deps, ctx, check, own.tags, owner,
                                            principal_org=principal_org, resource_org=resource_org))
    request = AuthzRequest(principal=request_principal(principal), action=check.action, resource=resource,
                           resource_account=owner, context=context,
                           multivalued=context.multivalued())  # type: ignore[arg-type]
    session = None
    if principal.session_policies is not None:
        session = tuple(PolicyRef(name, parsed(text, PolicyKind.SESSION))
                        for name, text in principal.session_policies)
    if resource_policy is None and session is None and not check.resource_policy_required and not scps and not rcps:
        policies = own.plain
    else:
        policies = ApplicablePolicies(identity=identity, resource=resource_policy, boundary=boundary,
                                      session=session, scps=scps, rcps=rcps,
                                      resource_policy_required=check.resource_policy_required)
    return evaluate(request, policies), resource


_NO_ORG: tuple = (None, None, (), ())


def _organization(ex: Exchange, deps: Deps, check: Check, principal: Principal, owner: str) -> tuple:
    """(principal's OrgScope, resource account's OrgScope, SCP levels, RCP levels) for one check.

    SCPs: every level from the root down to the principal's account, for every principal of a
    member account (its root user too), not the management account, not service-linked roles.
    RCPs: the resource account's levels, for the services RCPs support, when that account is a
    member (not the management account); they apply to every caller, inside the organization
    or not. Spec §2.1 and §8;
    https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps.html,
    https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps.html"""
    if deps.policy_cache is not None:
        lookup = deps.policy_cache.organizations(ex.uow)
    elif ex.uow is not None and current_in(ex.uow, ORGANIZATIONS) > 0:   # no cache: read as it is
        lookup = functools.partial(_org_scope, ex.uow)
    else:
        lookup = None
    if lookup is None:
        return _NO_ORG
    principal_org = lookup(principal.account_id) if principal.account_id else None
    resource_org = principal_org if owner == principal.account_id else lookup(owner)
    exempt = _service_linked(principal)
    scps: tuple = ()
    if (principal_org is not None and principal.account_id != principal_org.management_account_id
            and not exempt and principal.type is not PrincipalType.AWS_SERVICE):
        scps = principal_org.scps
    rcps: tuple = ()
    if (resource_org is not None and owner != resource_org.management_account_id and not exempt
            and check.action.split(":", 1)[0] in RCP_SERVICES):
        rcps = resource_org.rcps
    return principal_org, resource_org, scps, rcps


def denied_error(principal: Principal, action: str, resource: str, decision: Decision, *,
                 style: str = "standard", owner: str | None = None) -> E.AccessDenied:
    """AccessDenied with the engine's explanation; in S3's style (``Check.denial_style``) the
    resource is quoted, and a caller of another account than the resource's, or an anonymous
    one, only learns "Access Denied"."""
    if style == "s3" and (principal.type is PrincipalType.ANONYMOUS or (owner and owner != principal.account_id)):
        return E.AccessDenied("Access Denied")
    arn = principal.arn if principal.type is not PrincipalType.ANONYMOUS else "anonymous"
    return E.AccessDenied(access_denied_message(arn, action, resource, decision, quote_resource=style == "s3"))


class StageAuthorizer:
    """``services.framework.Authorizer`` for one request: runs ``decide`` for a check the
    operation asks about mid-way, with the request's principal, context and unit of work."""

    def __init__(self, ex: Exchange, deps: Deps, context: Any) -> None:
        self._ex = ex
        self._deps = deps
        self._context = context

    def check(self, check: Check, params: Mapping[str, Any]) -> E.AccessDenied | None:
        ctx = dataclasses.replace(self._context(self._ex, self._deps), params=params)
        decision, resource = decide(self._ex, self._deps, ctx, check)
        if decision.allowed:
            return None
        assert self._ex.principal is not None
        return denied_error(self._ex.principal, check.action, resource, decision, style=check.denial_style,
                            owner=owner_of(ctx, check, resource, self._ex.uow))
