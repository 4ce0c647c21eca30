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
        tls_details=dict(ex.request.tls) or None, invoked_by=ex.called_via[-1] if ex.called_via else None)
    return build_event(ctx)
