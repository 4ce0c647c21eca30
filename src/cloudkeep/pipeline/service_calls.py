"""Calls an AWS service principal makes on its own account (not on a caller's behalf): CloudTrail
writing log files and digests to a bucket as ``cloudtrail.amazonaws.com``.

The call runs through the same authorize and dispatch stages as a request: the resource's own
policy decides (a service principal has no identity policies), with ``aws:SourceArn`` and
``aws:SourceAccount`` naming the resource the service acts for, as AWS sets them
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-sourcearn).
The principal belongs to no tenant: ``run`` records the call's event in the account that owns
the resource, with the service as ``userIdentity`` (e.g. S3 data events of CloudTrail's writes
to a bucket, seen by trails that select that bucket's data events).

- ``check``: the authorize stage alone, in a unit of work the caller gives (CloudTrail asks at
  CreateTrail time whether the bucket policy lets it write); the error it would raise, or None.
- ``run``: authorize and dispatch in a unit of work of its own, committed; the result, or the
  operation's ``ServiceError``.

Must not: skip authorization; let a caller's identity or policies leak into the call.
"""

from __future__ import annotations

from typing import Any, Mapping

from cloudkeep.audit.access import is_management_event, is_read_only
from cloudkeep.auth.principal import Principal, PrincipalType
from cloudkeep.services.framework import Params, Result
from cloudkeep.storage.uow import NeedsWrite
from cloudkeep.wire import errors as E
from cloudkeep.wire.http import HttpRequest
from cloudkeep.wire.model import load_service, signing_name
from cloudkeep.wire.regions import effective_region
from cloudkeep.wire.routing import protocol_of
from cloudkeep.wire.validate import validate

from .deps import Deps
from .exchange import Exchange


def service_principal(name: str) -> Principal:
    """An AWS service principal, e.g. ``cloudtrail.amazonaws.com``."""
    return Principal(type=PrincipalType.AWS_SERVICE, account_id="", arn=name, principal_id=name)


def _exchange(deps: Deps, principal: str, service: str, operation: str, params: Params, *, region: str,
              source: Mapping[str, str], uow: Any) -> Exchange:
    model = load_service(service)
    op = model.operation_model(operation)
    protocol = protocol_of(service)
    validate(op.input_shape, params, protocol=protocol)
    request = HttpRequest(method="POST", path="/", query="", headers=(("user-agent", principal),),
                          client_ip=principal, secure=True)
    context = tuple((name.lower(), (value,)) for name, value in source.items())
    return Exchange(request=request, request_id=deps.ids.request_id(), received_at=deps.clock.now(),
                    service=model, operation=op, protocol=protocol, region=effective_region(service, region),
                    principal=service_principal(principal), params=params,
                    read_only=is_read_only(signing_name(model), operation),
                    management_event=is_management_event(f"{model.endpoint_prefix}.amazonaws.com", operation),
                    source_context=context, uow=uow)


def check(deps: Deps, uow: Any, principal: str, service: str, operation: str, params: Params, *,
          region: str, source: Mapping[str, str]) -> E.ServiceError | None:
    """The error the authorize stage gives the service principal's call, or None if allowed."""
    from .stages import authorize

    ex = _exchange(deps, principal, service, operation, params, region=region, source=source, uow=uow)
    try:
        authorize(ex, deps)
    except E.ServiceError as error:
        return error
    return None


def run(deps: Deps, principal: str, service: str, operation: str, params: Params, *, region: str,
        source: Mapping[str, str]) -> Result:
    """Runs the call, authorized, in its own unit of work (committed); raises its ServiceError.
    Its event (allowed or refused) is recorded in the account of the resource it acted on, with
    the service as ``userIdentity`` (``AWSService``, ``invokedBy``), as CloudTrail records AWS
    services' calls on a customer's resources."""
    from .stages import authorize, dispatch

    read_only = is_read_only(signing_name(load_service(service)), operation)
    for write in (not read_only, True):
        uow = deps.store.unit_of_work(write=write)
        ex = _exchange(deps, principal, service, operation, params, region=region, source=source, uow=uow)
        error: E.ServiceError | None = None
        try:
            ex = authorize(ex, deps)
            ex = dispatch(ex, deps)
            result = dict(ex.result or {})
            return result
        except NeedsWrite:
            if write:
                raise
        except E.ServiceError as exc:
            error = exc
            raise
        finally:
            uow.rollback()
            if error is not None or ex.result is not None:
                _record(deps, ex, error)
    raise RuntimeError("unreachable")  # pragma: no cover


def _record(deps: Deps, ex: Exchange, error: E.ServiceError | None) -> None:
    """The call's event, in the account that owns the resource (pipeline/auditing.py records a
    service principal's call there); dispatch wrote a successful write's event with its change.
    None when the resource was not resolved (a bucket that does not exist)."""
    from .auditing import events_for

    if ex.audited:
        return
    if error is not None and not ex.resource_accounts:
        owner = _owner_of_refused(ex, deps)
        if not owner:
            return
        ex = ex.evolve(resource_accounts=(owner,))
    for event in events_for(ex, deps, error):
        deps.recorder.enqueue(event)


def _owner_of_refused(ex: Exchange, deps: Deps) -> str | None:
    """The owner of the resource a refused call named (its checks' resource owner)."""
    from cloudkeep.services.framework import AuthzContext

    from .authorization import owner_of

    service = deps.services.get(ex.service_name or "")
    entry = service.authz.get(ex.operation_name or "") if service is not None else None
    if not entry or not isinstance(entry, (list, tuple)) or ex.principal is None or ex.params is None:
        return None
    uow = deps.store.unit_of_work()
    try:
        ctx = AuthzContext(params=ex.params, account_id="", region=ex.region or "us-east-1",
                           partition=deps.partition, principal=ex.principal, uow=uow, sealer=deps.sealer,
                           now=ex.received_at)
        check = entry[0]
        return owner_of(ctx, check, check.resource_arn(ctx), uow)
    except E.ServiceError:
        return None
    finally:
        uow.rollback()
