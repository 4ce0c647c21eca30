"""The pipeline's stages: small plain functions over the immutable ``Exchange``.

    route → authenticate → parse → authorize → dispatch

Each returns a new ``Exchange`` with its field filled in, or raises a ``ServiceError``. The
order is the ``STAGES`` tuple, pinned by a test. Audit happens around them, in the runner.

Must not: contain service logic; reach around the chain.
"""

from __future__ import annotations

import hmac
from dataclasses import replace
from typing import Callable, Final

from botocore.exceptions import UnknownServiceError
from botocore.model import OperationNotFoundError, ServiceModel

from cloudkeep.audit.access import is_management_event, is_read_only
from cloudkeep.auth import sigv4
from cloudkeep.auth.principal import ANONYMOUS, Principal, PrincipalType
from cloudkeep.services.framework import EXEMPT, AuthzContext, Call
from cloudkeep.storage import generations
from cloudkeep.wire import errors as E
from cloudkeep.wire import jsonproto, query
from cloudkeep.wire.model import load_service, requires_auth, signing_name
from cloudkeep.wire.http import HttpRequest
from cloudkeep.wire.regions import effective_region, partition_regions
from cloudkeep.wire.rest_routing import rest_service_for, route_rest, s3_bucket_from_host
from cloudkeep.wire.routing import (ANONYMOUS_SERVICES, PROTOCOLS, REST_PROTOCOLS, protocol_of,
                                    service_for_target_prefix, service_for_unsigned_query,
                                    services_for_signing_name)
from cloudkeep.wire.validate import validate

from . import authorization
from .auditing import events_for
from .deps import Deps
from .exchange import Exchange
from .ports import PipelinePort

Stage = Callable[[Exchange, Deps], Exchange]


# --- route --------------------------------------------------------------------------------


def _service_name(ex: Exchange, signed: sigv4.SignedRequestInfo | None) -> str:
    req = ex.request
    target = req.header("x-amz-target")
    if signed is not None:
        candidates = services_for_signing_name(signed.scope.service)
        if len(candidates) > 1 and target:
            by_target = service_for_target_prefix(target.rsplit(".", 1)[0])
            if by_target in candidates:
                return by_target
        if "s3" in candidates:
            return rest_service_for("s3", req)
        if candidates:
            return candidates[0]
        raise E.UnknownService(f"Credential should be scoped to correct service: "
                               f"'{signed.scope.service}' is not a known service.")
    if target:
        name = service_for_target_prefix(target.rsplit(".", 1)[0])
        if name:
            return name
    form = (req.header("content-type") or "").startswith("application/x-www-form-urlencoded")
    if form:
        req = _in_memory(req, query.MAX_BODY_BYTES)   # the Action is in the form body
    # only a GET or a form POST can be a query request; any other (an anonymous S3 PUT) is not
    action = query.operation_name(req) if req.method == "GET" or (req.method == "POST" and form) else None
    if action:
        name = service_for_unsigned_query(action)
        if name:
            return name
    content_type = req.header("content-type") or ""
    # query and JSON protocol requests are GETs or POSTs: an unsigned PUT whatever its content
    # type (urllib's default is a form's) is an anonymous S3 request
    if action or target or (req.method in ("GET", "POST") and content_type.startswith(
            ("application/x-www-form-urlencoded", "application/x-amz-json"))):
        raise E.MissingAuthenticationToken("Request is missing Authentication Token")
    return rest_service_for("s3", req)   # anonymous requests are S3's (public access)


def route(ex: Exchange, deps: Deps) -> Exchange:
    signed = sigv4.parse_authorization(ex.request, now=deps.wall_now())
    name = _service_name(ex, signed)
    try:
        service = load_service(name)
    except UnknownServiceError:  # pragma: no cover - names come from botocore's own list
        raise E.UnknownService(f"Unknown service: {name}") from None
    protocol = protocol_of(name)
    if protocol not in PROTOCOLS:
        raise E.NotImplementedOperation(f"The {protocol} protocol of {name} is not implemented yet.")
    labels = None
    if protocol in REST_PROTOCOLS:
        vhost = s3_bucket_from_host(ex.request.host) if name == "s3" else None
        found = route_rest(service, ex.request, virtual_host_bucket=vhost)
        operation, labels = found.operation, found.labels
        op_name = operation.name
    else:
        ex = ex.evolve(request=_in_memory(ex.request, PROTOCOLS[protocol].MAX_BODY_BYTES))
        op_name = _rpc_operation_name(ex, service, protocol)
        try:
            operation = service.operation_model(op_name)
        except OperationNotFoundError:
            raise E.InvalidAction(f"Could not find operation {op_name} for version "
                                  f"{service.api_version}") from None
    region = signed.scope.region if signed is not None else "us-east-1"
    read_only = is_read_only(signing_name(service), op_name)
    return ex.evolve(service=service, protocol=protocol, signed=signed, operation=operation, labels=labels,
                   region=effective_region(name, region), read_only=read_only,
                   management_event=is_management_event(f"{service.endpoint_prefix}.amazonaws.com", op_name),
                   uow=deps.store.unit_of_work(write=not read_only or op_name in getattr(
                       deps.services.get(name), "writes_when_read_only", ())))


def _rpc_operation_name(ex: Exchange, service: ServiceModel, protocol: str) -> str:
    """The operation of a query, ec2 or json request (query and json documents are parsed
    whole: a spooled body came back into memory within the protocol's limit)."""
    method = ex.request.method
    if protocol == "json":
        if method != "POST":
            raise E.MethodNotAllowed(f"The {method} method is not allowed for this resource.")
        op_name = jsonproto.operation_name(service, ex.request)
        if op_name is None:
            raise E.InvalidAction("Missing or invalid X-Amz-Target header.")
    else:  # query and ec2: Action in the form body or the query string
        if method not in ("GET", "POST"):
            raise E.MethodNotAllowed(f"The {method} method is not allowed for this resource.")
        op_name = PROTOCOLS[protocol].operation_name(ex.request)
        if not op_name:
            raise E.MissingAction("Could not find operation for the request: the Action parameter is missing.")
    return op_name


# --- authenticate ----------------------------------------------------------------------------

_INVALID_TOKEN = "The security token included in the request is invalid."


def authenticate(ex: Exchange, deps: Deps) -> Exchange:
    assert ex.operation is not None
    if ex.signed is None:
        if requires_auth(ex.operation) and ex.service_name not in ANONYMOUS_SERVICES:
            raise E.MissingAuthenticationToken("Request is missing Authentication Token")
        return ex.evolve(principal=ANONYMOUS)
    # AWS's order: clock skew and credential scope, then the key, then the signature.
    sigv4.prevalidate(ex.signed, now=deps.wall_now(), service=signing_name(ex.service),
                      valid_regions=partition_regions())
    key_id = ex.signed.scope.access_key_id
    credential = None
    for resolver in deps.resolvers:
        credential = resolver.resolve(key_id)
        if credential is not None:
            break
    if credential is None or not credential.active:
        raise E.InvalidClientTokenId(_INVALID_TOKEN)
    sent, held = ex.signed.session_token, credential.session_token
    if (sent is None) != (held is None) or (sent is not None and held is not None
                                            and not hmac.compare_digest(sent.encode(), held.encode())):
        # a session token with a long-term key, or a temporary key without its token or with another
        raise E.InvalidClientTokenId(_INVALID_TOKEN)
    if credential.expires_at is not None and deps.clock.now() >= credential.expires_at:
        # temporary credentials expire on the domain clock (test hooks move it), not the wall clock
        raise E.ExpiredToken("The security token included in the request is expired")
    sigv4.verify_signature(ex.request, ex.signed, credential.secret, now=deps.wall_now())
    _check_session_token_use(ex, deps, credential.principal)
    body_reader = None
    if sigv4.is_streaming(ex.request, ex.signed):
        # aws-chunked: every chunk's signature and the trailer are checked as the body is read;
        # nothing commits before the reader has been drained (dispatch, or the 501 path)
        body_reader = sigv4.streaming_reader(ex.request, ex.signed, credential.secret)
    deps.key_use.touch(key_id, ex.received_at, ex.service.endpoint_prefix, ex.region)
    return ex.evolve(principal=credential.principal, body_reader=body_reader)


def _check_session_token_use(ex: Exchange, deps: Deps, principal: Principal) -> None:
    """Credentials from GetSessionToken (a user's or root's own session) cannot call IAM without
    MFA, nor STS beyond AssumeRole and GetCallerIdentity: AWS answers InvalidClientTokenId.
    https://docs.aws.amazon.com/STS/latest/APIReference/API_GetSessionToken.html"""
    if principal.token_issued_at is None or principal.type not in (PrincipalType.IAM_USER, PrincipalType.ROOT):
        return
    service = deps.services.get(ex.service_name or "")
    if service is None or ex.operation is None:
        return
    if service.session_token_needs_mfa and not principal.mfa_authenticated:
        raise E.InvalidClientTokenId(_INVALID_TOKEN)
    if service.session_token_operations is not None and ex.operation.name not in service.session_token_operations:
        raise E.InvalidClientTokenId(_INVALID_TOKEN)


# --- parse ----------------------------------------------------------------------------------


def _in_memory(request: HttpRequest, limit: int) -> HttpRequest:
    """A spooled body read back into memory for a protocol that parses whole documents."""
    if request.body_file is None:
        return request
    if request.body_size > limit:
        raise E.RequestEntityTooLarge(f"Request body is larger than {limit} bytes.")
    request.body_file.seek(0)
    return replace(request, body=request.body_file.read(), body_file=None)


def parse(ex: Exchange, deps: Deps) -> Exchange:
    assert ex.operation is not None and ex.protocol is not None
    module = PROTOCOLS[ex.protocol]
    if ex.protocol in REST_PROTOCOLS:
        request = ex.request
        if ex.body_reader is not None:
            request = replace(request, body=b"", body_file=ex.body_reader)
        params = module.parse_request(ex.operation, request, labels=ex.labels or {})
    else:
        params = module.parse_request(ex.operation, ex.request)
    validate(ex.operation.input_shape, params, protocol=ex.protocol)
    return ex.evolve(params=params)


# --- authorize -------------------------------------------------------------------------------


def _authz_context(ex: Exchange, deps: Deps) -> AuthzContext:
    assert ex.principal is not None and ex.params is not None and ex.region is not None
    generation = None
    cache, uow = deps.policy_cache, ex.uow
    if cache is not None and uow is not None:
        def generation(account_id: str) -> int:
            return cache.generation(account_id, uow)
    return AuthzContext(params=ex.params, account_id=ex.principal.account_id, region=ex.region,
                        partition=deps.partition, principal=ex.principal, uow=uow, sealer=deps.sealer,
                        now=ex.received_at, called_via=ex.called_via, generation=generation,
                        request=ex.request, signed=ex.signed)


def authorize(ex: Exchange, deps: Deps) -> Exchange:
    assert ex.operation is not None and ex.principal is not None
    service = deps.services.get(ex.service_name or "")
    op = ex.operation.name
    if service is None or op not in service.operations.handlers:
        if ex.body_reader is not None:
            ex.body_reader.drain()
        raise E.NotImplementedOperation(f"The operation {op} of {ex.service_name} is not implemented by "
                                        f"cloudkeep yet.")
    entry = service.authz.get(op)
    if entry is EXEMPT:
        return ex
    if not entry:  # an implemented operation without checks is refused, never served
        raise E.AccessDenied(f"No authorization entry for {ex.service_name}:{op}.")
    ctx = _authz_context(ex, deps)
    owners: list[str] = []
    for check in entry:
        if check.applies is not None and not check.applies(ctx):
            continue
        # every check of the operation must be allowed (CopyObject: source and destination)
        decision, resource = authorization.decide(ex, deps, ctx, check)
        owner = authorization.owner_of(ctx, check, resource, ex.uow)
        if not decision.allowed:
            raise authorization.denied_error(ex.principal, check.action, resource, decision,
                                             style=check.denial_style, owner=owner)
        owners.append(owner)
    return ex.evolve(resource_accounts=tuple(owners))


# --- dispatch --------------------------------------------------------------------------------


def dispatch(ex: Exchange, deps: Deps) -> Exchange:

    assert ex.principal is not None and ex.params is not None and ex.region is not None
    service = deps.services[ex.service_name or ""]
    handler = service.operations.handlers[ex.operation.name]  # type: ignore[union-attr]
    uow = ex.uow
    call = Call(account_id=ex.principal.account_id, region=ex.region, partition=deps.partition,
                principal=ex.principal, request_id=ex.request_id, clock=deps.clock, ids=deps.ids,
                uow=uow, sealer=deps.sealer, port=PipelinePort(deps, ex, uow), blobs=deps.blobs,
                authorizer=authorization.StageAuthorizer(ex, deps, _authz_context),
                secure=bool(ex.request is not None and ex.request.secure), received_at=ex.received_at)
    result = handler(call, ex.params)
    if service.affects_authorization and uow.wrote:
        generations.bump(uow, call.account_id)   # cached policy sets of the account are stale now
    audited = False
    # A mutating management call's events commit with its change, so no acknowledged change is
    # missing from the event history. Data events (S3 object writes) are not in the event history
    # (only trails that select them get them): they take the recorder's batch queue, as reads do.
    if not ex.read_only and ex.management_event:
        for event in events_for(ex.evolve(result=result), deps, None):
            deps.recorder.write_in(uow, event)   # the change and its events commit together
            audited = True
    if ex.body_reader is not None:
        ex.body_reader.drain()        # every chunk verified before anything commits
    uow.commit()
    return ex.evolve(result=result, audited=audited)


STAGES: Final[tuple[Stage, ...]] = (route, authenticate, parse, authorize, dispatch)
