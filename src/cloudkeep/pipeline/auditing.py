"""Turns an ``Exchange`` (and its error, if any) into a CloudTrail event record.

Whose account records a call (``recipientAccountId``): the caller's; for a call on resources of
other accounts, a copy goes to each of them too (one ``sharedEventID``; their copies show the
caller as ``AWSAccount``); an anonymous call (S3 public access) is recorded only in the account
that owns the bucket it named; a call an AWS service principal makes by itself (CloudTrail's
data keys for SSE-KMS log files) in the account that owns the resource it was allowed on. Requests that fail authentication are not recorded: "CloudTrail
doesn't deliver logs for requests that fail authentication (in which the provided credentials
are not valid). However, it does include logs for requests in which authorization fails
(AccessDenied) and requests that are made by anonymous users."
https://docs.aws.amazon.com/AmazonS3/latest/userguide/cloudtrail-logging-s3-info.html

Must not: write anything (the recorder does), or fail a request: an event that cannot be
built is logged and dropped, never raised into the caller's response.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from cloudkeep.audit import s3_fields
from cloudkeep.audit.record import EventContext, build_event, cross_account_identity, event_time_text, keeps_response
from cloudkeep.audit.redact import redact
from cloudkeep.auth.principal import PrincipalType
from cloudkeep.services.framework import EXEMPT, AuthzContext
from cloudkeep.wire.errors import ServiceError
from cloudkeep.wire.restxml_serialize import host_id
from cloudkeep.wire.routing import ANONYMOUS_SERVICES

from .deps import Deps
from .exchange import Exchange

log = logging.getLogger("cloudkeep.audit")


def belongs_to_tenant(ex: Exchange) -> bool:
    """Whether the call may have an account to record it in: an authenticated caller, or an
    anonymous one of a service that serves anonymous calls (S3: the bucket owner's account,
    found when the event is built; none, when the bucket does not exist)."""
    p = ex.principal
    if p is None or ex.service is None or ex.operation is None:
        return False
    if p.type is PrincipalType.ANONYMOUS:
        return ex.service_name in ANONYMOUS_SERVICES and ex.params is not None
    if p.type is PrincipalType.AWS_SERVICE:
        return bool(ex.resource_accounts)   # recorded in the account whose resource it used
    return bool(p.account_id)


def event_for(ex: Exchange, deps: Deps, error: ServiceError | None) -> dict[str, Any] | None:
    """The event for this call, or None when it belongs to no tenant."""
    if not belongs_to_tenant(ex):
        return None
    principal = ex.principal
    assert principal is not None and ex.operation is not None and ex.service is not None
    recipient = principal.account_id
    invoked_by = ex.called_via[-1] if ex.called_via else None
    if principal.type is PrincipalType.ANONYMOUS:
        recipient = _anonymous_recipient(ex, deps)
        if recipient is None:
            return None
    elif principal.type is PrincipalType.AWS_SERVICE:
        # a service principal's own call (CloudTrail's data keys for its log files): in the
        # account that owns the resource, the service as userIdentity.invokedBy, source and agent
        recipient, invoked_by = ex.resource_accounts[0], principal.principal_id
    op = ex.operation
    event_source = f"{ex.service.endpoint_prefix}.amazonaws.com"
    keep_response = error is None and bool(ex.result) and keeps_response(event_source, op.name, ex.read_only)
    response_elements = None
    if event_source == s3_fields.EVENT_SOURCE:
        request_parameters = s3_fields.request_parameters(ex.params, ex.request.host, ex.request.query_params())
        if keep_response:
            response_elements = s3_fields.response_elements(ex.result)
    else:
        request_parameters = redact(op.input_shape, ex.params) if ex.params else None
        if keep_response:
            response_elements = redact(op.output_shape, ex.result)
    code = message = None
    if error is not None:
        code, _status = error.wire_identity(ex.protocol or "query")
        message = error.message or None
    ctx = EventContext(
        event_id=deps.ids.event_id(), request_id=ex.request_id, event_time=ex.received_at,
        event_source=event_source, event_name=op.name,
        aws_region=ex.region or "us-east-1", source_ip=ex.request.client_ip,
        user_agent=ex.request.header("user-agent", "") or "", principal=principal,
        recipient_account_id=recipient, read_only=ex.read_only,
        management_event=ex.management_event, request_parameters=request_parameters,
        response_elements=response_elements, error_code=code, error_message=message,
        tls_details=dict(ex.request.tls) or None, invoked_by=invoked_by,
        resources=_event_resources(ex, deps, recipient), additional_event_data=_additional_data(ex))
    return build_event(ctx)


def events_for(ex: Exchange, deps: Deps, error: ServiceError | None) -> list[dict[str, Any]]:
    """The call's events: one in the caller's account and, when it acted on resources of other
    accounts, a copy delivered to each of them, all with one ``sharedEventID`` (each with its
    own ``eventID`` and ``recipientAccountId``), as CloudTrail does for cross-account calls.
    https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html"""
    if not getattr(deps.recorder, "records", True):
        return []        # audit.discard: a benchmark server that records nothing builds nothing
    if not ex.management_event and not deps.data_events():
        return []        # a data event no logging trail selects: CloudTrail does not record it
    event = event_for(ex, deps, error)
    if event is None:
        return []
    others = [a for a in dict.fromkeys(ex.resource_accounts) if a != event["recipientAccountId"]]
    if not others:
        return [event]
    event["sharedEventID"] = deps.ids.event_id()
    out = [event]
    assert ex.principal is not None
    identity = cross_account_identity(ex.principal)
    invoked_by = event["userIdentity"].get("invokedBy")
    if invoked_by:
        identity["invokedBy"] = invoked_by
    for account in others:
        copy = dict(event)
        copy["userIdentity"] = dict(identity)
        copy["eventID"] = deps.ids.event_id()
        copy["recipientAccountId"] = account
        out.append(copy)
    return out


class DeferredEvents:
    """``events_for(ex, deps, error)``, built later by the recorder (``enqueue_deferred``), off
    the request path. Calls repeat: a run of one caller's same read, answered the same, gives
    records that differ only in ``eventTime``, ``requestID`` and ``eventID``. So a builder whose
    call is the same as the previous one built on this thread (``_same_call``) copies that
    record and sets those three fields, instead of building it again (redacting the request,
    the identity, the resources: ~60% of a GetCallerIdentity record's cost)."""

    __slots__ = ("ex", "deps", "error")

    def __init__(self, ex: Exchange, deps: Deps, error: ServiceError | None) -> None:
        self.ex = ex
        self.deps = deps
        self.error = error

    def __call__(self) -> list[dict[str, Any]]:
        ex, deps = self.ex, self.deps
        last = getattr(_LAST, "built", None)
        if last is not None and self.error is None and last[1] is deps and _same_call(last[0], ex):
            event = dict(last[2])
            event["eventTime"] = event_time_text(ex.received_at)
            event["requestID"] = ex.request_id
            event["eventID"] = deps.ids.event_id()
            return [event]
        events = events_for(ex, deps, self.error)
        _LAST.built = (ex, deps, events[0]) if self.error is None and len(events) == 1 and _reusable(ex) else None
        return events


#: per thread, (exchange, deps, record) of the last record ``DeferredEvents`` built in full
#: that a like call may copy, or None
_LAST = threading.local()


def _reusable(ex: Exchange) -> bool:
    """Whether a record of this call may stand for the next like it (``_same_call``): a
    management event of a caller with an identity of its own, of a service other than S3
    (whose records carry the request's own bytes and signature: ``audit.s3_fields``)."""
    p = ex.principal
    return (ex.management_event and ex.service_name != "s3" and p is not None
            and p.type is not PrincipalType.ANONYMOUS and p.type is not PrincipalType.AWS_SERVICE)


def _same_call(a: Exchange, b: Exchange) -> bool:
    """Whether ``b``'s record is ``a``'s but for its time, request id and event id: everything
    ``event_for`` reads of a successful call is the same (the principal, the operation, its
    region, the parameters and the result, the resources' owners, the services that made it,
    the source address, user agent and TLS). ``a`` passed ``_reusable``."""
    ra, rb = a.request, b.request
    return (a.operation is b.operation and a.service is b.service
            and (a.principal is b.principal or a.principal == b.principal)
            and a.region == b.region and a.read_only == b.read_only
            and a.management_event == b.management_event and a.called_via == b.called_via
            and a.resource_accounts == b.resource_accounts
            and ra.client_ip == rb.client_ip and ra.tls == rb.tls
            and ra.header("user-agent", "") == rb.header("user-agent", "")
            and a.params == b.params and a.result == b.result)


def _anonymous_recipient(ex: Exchange, deps: Deps) -> str | None:
    """The account an anonymous call is recorded in: the owner of the resource it was allowed
    on, else (a denied call) the owner its checks find in a fresh read of the store, else None."""
    return _resource_owner(ex, deps)


def _event_resources(ex: Exchange, deps: Deps, recipient: str) -> list[dict[str, str]] | None:
    """The service's ``resources`` (``Service.event_resources``); for S3, which describes none,
    the object and bucket the request names (``audit.s3_fields.resources``)."""
    found = _resources(ex, deps)
    if found is not None or ex.service_name != "s3":
        return found
    if not ex.params or not ex.params.get("Bucket"):
        return None
    anonymous = ex.principal is not None and ex.principal.type is PrincipalType.ANONYMOUS
    owner = recipient if anonymous else _resource_owner(ex, deps)   # anonymous: the owner already
    return s3_fields.resources(ex.params, owner, deps.partition)


def _resource_owner(ex: Exchange, deps: Deps) -> str | None:
    """The account owning the call's resource: the authorize stage's answer when it allowed
    the call, else (a denied or failed call, built off the request path) what the operation's
    checks find in a fresh read of the store; None when there is no such resource."""
    for account in ex.resource_accounts:
        if account:
            return account
    service = deps.services.get(ex.service_name or "")
    entry = service.authz.get(ex.operation.name) if service is not None and ex.operation is not None else None
    if not entry or entry is EXEMPT or ex.params is None or ex.principal is None:
        return None
    checks = [check for check in entry if check.resource_owner is not None]
    if not checks:
        return None
    try:
        with deps.store.unit_of_work() as uow:
            ctx = AuthzContext(params=ex.params, account_id=ex.principal.account_id,
                               region=ex.region or "us-east-1",
                               partition=deps.partition, principal=ex.principal, uow=uow,
                               request=ex.request, signed=ex.signed)
            for check in checks:
                owner = check.resource_owner(ctx, uow)
                if owner:
                    return owner
    except Exception:  # noqa: BLE001 - an unknown bucket (or a bad name) has no owner to record in
        log.debug("no owner found for anonymous %s", ex.operation_name, exc_info=True)
    return None


def _additional_data(ex: Exchange) -> dict[str, Any] | None:
    """S3's ``additionalEventData`` (``audit.s3_fields``); None for other services."""
    if ex.service_name != "s3":
        return None
    request = ex.request
    decoded = request.header("x-amz-decoded-content-length")
    bytes_in = int(decoded) if decoded and decoded.isdigit() else (request.body_size or len(request.body))
    length = ex.result.get("ContentLength") if ex.result and "Body" in ex.result else None
    return s3_fields.additional_event_data(
        signed_form=ex.signed.form if ex.signed is not None else None,
        cipher_suite=dict(request.tls).get("cipherSuite"), bytes_in=bytes_in,
        host_id=host_id(ex.request_id), bytes_out=length if isinstance(length, int) else None)


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
