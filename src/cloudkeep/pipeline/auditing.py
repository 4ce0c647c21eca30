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
        tls_details=dict(ex.request.tls) or None, invoked_by=ex.called_via[-1] if ex.called_via else None,
        resources=_kms_resources(ex, deps) if ex.service.service_name == "kms" else None)
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


def _kms_resources(ex: Exchange, deps: Deps) -> list[dict[str, str]] | None:
    """KMS events name the key in ``resources`` (AWS::KMS::Key): the key ARNs the response
    gives (KeyId, SourceKeyId, KeyMetadata.Arn: aliases already resolved), else the ARN the
    operation's authz checks build from the request without state (a key id or key ARN).
    https://docs.aws.amazon.com/kms/latest/developerguide/ct-encrypt.html"""
    from cloudkeep.services.framework import EXEMPT, AuthzContext

    arns: list[str] = []
    result = ex.result or {}
    for value in (result.get("KeyId"), result.get("SourceKeyId"), (result.get("KeyMetadata") or {}).get("Arn")):
        if isinstance(value, str) and ":key/" in value and value not in arns:
            arns.append(value)
    service = deps.services.get("kms")
    entry = service.authz.get(ex.operation.name) if service is not None and ex.operation is not None else None
    if not arns and entry and entry is not EXEMPT and ex.params is not None and ex.principal is not None:
        ctx = AuthzContext(params=ex.params, account_id=ex.principal.account_id, region=ex.region or "us-east-1",
                           partition=deps.partition, principal=ex.principal)
        for check in entry:
            try:
                arn = check.resource_arn(ctx)
            except Exception:  # noqa: BLE001 - a request that names no usable key has no resource
                continue
            if ":key/" in arn and not arn.endswith("/*") and arn not in arns:
                arns.append(arn)
    return [{"accountId": arn.split(":")[4], "type": "AWS::KMS::Key", "ARN": arn} for arn in arns] or None
