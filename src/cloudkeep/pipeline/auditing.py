"""Turns an ``Exchange`` (and its error, if any) into a CloudTrail event record.

Must not: write anything (the recorder does), or fail a request: an event that cannot be
built is logged and dropped, never raised into the caller's response.
"""

from __future__ import annotations

import logging
from typing import Any

from cloudkeep.audit.record import EventContext, build_event
from cloudkeep.audit.redact import redact
from cloudkeep.auth.principal import PrincipalType
from cloudkeep.services.framework import EXEMPT, AuthzContext
from cloudkeep.wire.errors import ServiceError

from .deps import Deps
from .exchange import Exchange

log = logging.getLogger("cloudkeep.audit")


def belongs_to_tenant(ex: Exchange) -> bool:
    """Whether the call has an account to record it in (an authenticated caller)."""
    p = ex.principal
    return (p is not None and p.type is not PrincipalType.ANONYMOUS and bool(p.account_id)
            and ex.service is not None and ex.operation is not None)


def event_for(ex: Exchange, deps: Deps, error: ServiceError | None) -> dict[str, Any] | None:
    """The event for this call, or None when it belongs to no tenant."""
    if not belongs_to_tenant(ex):
        return None
    principal = ex.principal
    assert principal is not None and ex.operation is not None and ex.service is not None
    op = ex.operation
    request_parameters = redact(op.input_shape, ex.params) if ex.params else None
    response_elements = None
    if error is None and not ex.read_only and ex.result:
        response_elements = redact(op.output_shape, ex.result)
    code = message = None
    if error is not None:
        code, _status = error.wire_identity(ex.protocol or "query")
        message = error.message or None
    ctx = EventContext(
        event_id=deps.ids.event_id(), request_id=ex.request_id, event_time=ex.received_at,
        event_source=f"{ex.service.endpoint_prefix}.amazonaws.com", event_name=op.name,
        aws_region=ex.region or "us-east-1", source_ip=ex.request.client_ip,
        user_agent=ex.request.header("user-agent", "") or "", principal=principal,
        recipient_account_id=principal.account_id, read_only=ex.read_only,
        management_event=ex.management_event, request_parameters=request_parameters,
        response_elements=response_elements, error_code=code, error_message=message,
        tls_details=dict(ex.request.tls) or None, invoked_by=ex.called_via[-1] if ex.called_via else None,
        resources=_resources(ex, deps))
    return build_event(ctx)


def events_for(ex: Exchange, deps: Deps, error: ServiceError | None) -> list[dict[str, Any]]:
    """The call's events: one in the caller's account and, when it acted on resources of other
    accounts, a copy delivered to each of them, all with one ``sharedEventID`` (each with its
    own ``eventID`` and ``recipientAccountId``), as CloudTrail does for cross-account calls.
    https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html"""
    event = event_for(ex, deps, error)
    if event is None:
        return []
    others = [a for a in dict.fromkeys(ex.resource_accounts) if a != event["recipientAccountId"]]
    if not others:
        return [event]
    event["sharedEventID"] = deps.ids.event_id()
    out = [event]
    for account in others:
        copy = dict(event)
        copy["eventID"] = deps.ids.event_id()
        copy["recipientAccountId"] = account
        out.append(copy)
    return out


def _resources(ex: Exchange, deps: Deps) -> list[dict[str, str]] | None:
    """The event's ``resources``, as the service describes them (``Service.event_resources``)."""
    service = deps.services.get(ex.service_name or "")
    if service is None or service.event_resources is None:
        return None

    def request_arns() -> list[str]:
        """The ARNs the operation's checks build from the request alone (no unit of work)."""
        entry = service.authz.get(ex.operation.name) if ex.operation is not None else None
        if not entry or entry is EXEMPT or ex.params is None or ex.principal is None:
            return []
        ctx = AuthzContext(params=ex.params, account_id=ex.principal.account_id, region=ex.region or "us-east-1",
                           partition=deps.partition, principal=ex.principal)
        arns: list[str] = []
        for check in entry:
            try:
                arn = check.resource_arn(ctx)
            except Exception:  # noqa: BLE001 - a request that names no usable resource has none
                continue
            if arn not in arns:
                arns.append(arn)
        return arns

    return service.event_resources(ex.result or {}, request_arns)
