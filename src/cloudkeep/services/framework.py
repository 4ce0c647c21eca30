"""What every service is built from: the operation registry, the ``Call`` an operation runs
with, the authorization ``Check`` entries of each service's ``authz`` table, and the port
through which one service calls another on a principal's behalf.

An operation is a thin function ``(call, params) -> result`` registered by name; the pipeline
finds it in the service's ``Service`` record. Authorization metadata is data: an operation's
entry in ``AUTHZ`` lists the checks it needs, or is ``EXEMPT`` (AWS checks no permission).

Must not: import ``pipeline`` (the pipeline imports services, never the reverse).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Protocol, Sequence

from cloudkeep.auth.principal import Principal
from cloudkeep.storage.clock import Clock
from cloudkeep.storage.ids import Ids

Params = Mapping[str, Any]
Result = dict[str, Any]


class ServicePort(Protocol):
    """Runs an operation of another service for the current principal, authorized and audited
    through the same stages as a request, with ``aws:CalledVia``/``aws:ViaService`` set to the
    calling service (e.g. S3 → KMS for SSE-KMS). Services receive it in ``Call.port``."""

    def call(self, service: str, operation: str, params: Params, *, via: str) -> Result: ...

    def check_as_service(self, principal: str, service: str, operation: str, params: Params, *,
                         source: dict[str, str], region: str | None = None) -> Exception | None:
        """Whether an AWS service principal (``cloudtrail.amazonaws.com``) may make this call,
        with ``source`` as its aws:SourceArn/aws:SourceAccount: the error the authorize stage
        would give, or None (CloudTrail checks a bucket policy when a trail is created)."""
        ...


class Authorizer(Protocol):
    """Asks the authorize stage's question for one more check while an operation runs, for the
    current principal and request (no event of its own): the AccessDenied it would raise, or
    None when allowed. S3 needs it where AWS decides per item or after a lookup: s3:DeleteObject
    per key of DeleteObjects, s3:ListBucket when a GetObject finds no key (404 or 403)."""

    def check(self, check: "Check", params: Params) -> Exception | None: ...


@dataclass(frozen=True, slots=True)
class Call:
    """Everything an operation may use. Built by the dispatch stage, one per request."""

    account_id: str            # the account the request acts in (the caller's account)
    region: str
    partition: str
    principal: Principal
    request_id: str
    clock: Clock
    ids: Ids
    uow: Any                   # storage.uow.UnitOfWork: one transaction per request
    sealer: Any                # crypto.envelope.Sealer
    port: ServicePort | None = None
    blobs: Any = None          # storage.blobs.BlobStore: object bodies, encrypted on disk (S3)
    authorizer: Authorizer | None = None
    #: the request came over TLS (S3 refuses SSE-C keys sent in the clear)
    secure: bool = False
    #: the domain-clock time the request arrived: its event's eventTime (None outside a request)
    received_at: _dt.datetime | None = None


Handler = Callable[[Call, Params], Result]


@dataclass(frozen=True, slots=True)
class AuthzContext:
    """What a resource-ARN or context builder may look at. ``uow``, ``sealer`` and ``now`` let a
    builder read state (e.g. verify an MFA code named by the request) in the request's unit of
    work; they are None where no request runs (the simulator, tests)."""

    params: Params
    account_id: str
    region: str
    partition: str
    principal: Principal
    uow: Any = None
    sealer: Any = None
    now: Any = None
    called_via: tuple[str, ...] = ()           # services that made this call for the principal
    #: an account's authorization generation as this request sees it (storage/generations.py):
    #: a service may cache what only changes with it; None where nothing may be cached
    generation: Callable[[str], int] | None = None
    #: the HTTP request (wire.http.HttpRequest) and how it was signed (auth.sigv4
    #: SignedRequestInfo, None when unsigned), for keys about the transport and the signature
    #: (s3:TlsVersion, s3:authType, s3:signatureAge); None where no request runs
    request: Any = None
    signed: Any = None


ResourceBuilder = Callable[[AuthzContext], str]
#: condition key (any case) → its values in this request, e.g. {"iam:PermissionsBoundary": ("arn…",)}
ContextBuilder = Callable[[AuthzContext], Mapping[str, tuple[str, ...]]]
#: the resource's own policy, read in the request's unit of work: (name for explanations, JSON)
ResourcePolicyLoader = Callable[[AuthzContext, Any], "tuple[str, str] | None"]


@dataclass(frozen=True, slots=True)
class Check:
    """One authorization check: IAM action, the resource it acts on, the condition keys the
    request supplies (names from the Service Authorization Reference), and how to find their
    values and the resource's own policy."""

    action: str                                # "iam:CreateUser"
    resource: ResourceBuilder | None = None    # None: the action takes "*" (no resource type)
    keys: tuple[str, ...] = ()
    context: ContextBuilder | None = None      # values of the service-specific keys
    resource_policy: ResourcePolicyLoader | None = None
    #: the resource policy must itself allow (role trust policies, KMS key policies: spec §2.2)
    resource_policy_required: bool = False
    #: the grammar the resource policy is parsed with: "resource", or "trust" for a role's
    #: assume-role policy (a policy.model.PolicyKind value)
    resource_policy_kind: str = "resource"
    #: the tags of the existing resource (aws:ResourceTag/<key>), read in the request's unit of work
    resource_tags: "Callable[[AuthzContext, Any], Mapping[str, str]] | None" = None
    #: the account that owns the resource when its ARN has no account field (S3 buckets and
    #: objects: the bucket owner), read in the request's unit of work; None: the ARN's account,
    #: else the caller's
    resource_owner: "Callable[[AuthzContext, Any], str | None] | None" = None
    #: the check is made only for requests this accepts (S3: s3:GetObjectVersion instead of
    #: s3:GetObject when the request names a versionId); None: always
    applies: "Callable[[AuthzContext], bool] | None" = None
    #: how a denial reads: "standard" (the engine's explanation), or "s3" (S3's: the resource in
    #: double quotes; callers from other accounts and anonymous callers get only "Access Denied")
    #: https://docs.aws.amazon.com/AmazonS3/latest/userguide/troubleshoot-403-errors.html
    denial_style: str = "standard"

    def resource_arn(self, ctx: AuthzContext) -> str:
        return "*" if self.resource is None else self.resource(ctx)


class _Exempt:
    """AWS serves the operation without any permission check (e.g. sts:GetCallerIdentity,
    which works even under an explicit deny). Written as an explicit, tested entry."""

    def __repr__(self) -> str:
        return "EXEMPT"


EXEMPT: Any = _Exempt()

AuthzEntry = Sequence[Check] | _Exempt


@dataclass(slots=True)
class Operations:
    """A service's registry of implemented operations."""

    handlers: dict[str, Handler] = field(default_factory=dict)

    def __call__(self, name: str) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            if name in self.handlers:
                raise ValueError(f"operation {name} registered twice")
            self.handlers[name] = fn
            return fn
        return register


@dataclass(frozen=True, slots=True)
class Service:
    """One AWS service as cloudkeep implements it."""

    name: str                                  # botocore service name: "iam"
    action_prefix: str                         # IAM action prefix: "iam"
    operations: Operations
    authz: Mapping[str, AuthzEntry]
    errors: Sequence[type] = ()                # its ServiceError classes (checked against the model)
    #: operations that change state although CloudTrail logs them readOnly (STS issuing
    #: credentials): they get a write unit of work
    writes_when_read_only: frozenset[str] = frozenset()
    #: its writes change who may do what (IAM, later Organizations): each bumps the account's
    #: authorization generation in the same transaction, so cached policy sets are refreshed
    affects_authorization: bool = False
    #: credentials from GetSessionToken may call this service's operations only with MFA (IAM),
    #: or only these operations (STS: AssumeRole, GetCallerIdentity); None: no restriction
    #: https://docs.aws.amazon.com/STS/latest/APIReference/API_GetSessionToken.html
    session_token_needs_mfa: bool = False
    session_token_operations: frozenset[str] | None = None
    #: the ``resources`` of its CloudTrail events: ``(result, request_arns)`` → a list of
    #: {"accountId", "type", "ARN"} or None; ``request_arns()`` gives the ARNs the operation's
    #: checks build from the request alone (no state), for calls that failed or return none
    event_resources: "Callable[[Mapping[str, Any], Callable[[], list[str]]], list[dict[str, str]] | None] | None" = None
