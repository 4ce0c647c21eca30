"""Runs one request through the stages and serializes the outcome; audits every call.

Every outcome is an HTTP response in the protocol's format: a result, an AWS error, or, for a
bug, ``InternalFailure`` (500) with the traceback in the server log only. A successful mutating
call was audited inside its own transaction; every other call that belongs to a tenant is handed
to the recorder's batch queue; a request that belongs to no tenant goes to the server log.

Must not: contain service logic.
"""

from __future__ import annotations

import logging

from botocore.model import ServiceModel

from cloudkeep.auth import sigv4
from cloudkeep.storage.uow import NeedsWrite
from cloudkeep.wire import errors as E
from cloudkeep.wire.http import HttpRequest, HttpResponse
from cloudkeep.wire.model import load_service
from cloudkeep.wire.routing import PROTOCOLS, protocol_of

from .auditing import DeferredEvents, belongs_to_tenant, events_for
from .deps import Deps
from .exchange import Exchange
from .stages import STAGES, _service_name

log = logging.getLogger("cloudkeep.pipeline")

_FALLBACK_SERVICE = {"query": "sts", "json": "kms"}


def _error_protocol(ex: Exchange) -> str:
    if ex.protocol in PROTOCOLS:
        return ex.protocol
    req = ex.request
    if req.header("x-amz-target") or "json" in (req.header("content-type") or ""):
        return "json"
    return "query"


def _error_target(ex: Exchange) -> tuple[str, ServiceModel]:
    """The protocol and service an error is written in. When routing failed part way (a bad
    body, a missing or unknown Action), the service the request names (credential scope or
    target) still decides the format, so an IAM client gets IAM's XML error, never JSON."""
    if ex.service is not None and ex.protocol in PROTOCOLS:
        return ex.protocol, ex.service
    try:
        name: str | None = _service_name(ex, sigv4.parse_authorization(ex.request))
    except Exception:  # noqa: BLE001 - this only picks the error's format; never fail here
        try:    # a signature that cannot be read (S3: SigV2, a POST form's fields): as if unsigned
            name = _service_name(ex, None)
        except Exception:  # noqa: BLE001
            name = None
    if name is not None and protocol_of(name) in PROTOCOLS:
        return protocol_of(name), load_service(name)
    protocol = _error_protocol(ex)
    return protocol, load_service(_FALLBACK_SERVICE[protocol])


def handle(request: HttpRequest, deps: Deps) -> HttpResponse:
    ex = Exchange(request=request, request_id=deps.ids.request_id(), received_at=deps.clock.now())
    error: E.ServiceError | None = None
    try:
        for stage in STAGES:
            try:
                ex = stage(ex, deps)
            except NeedsWrite:
                ex = _writing(ex, deps)      # ended in ``finally`` below whatever happens next
                ex = stage(ex, deps)
        assert ex.operation is not None and ex.protocol is not None
        response = PROTOCOLS[ex.protocol].serialize_response(ex.operation, ex.result or {}, ex.request_id)
    except E.ServiceError as exc:
        error = exc
    except Exception:  # a bug: never a traceback on the wire
        log.exception("internal failure in %s %s", ex.service_name, ex.operation_name)
        error = E.InternalFailure("We encountered an internal error. Please try again.")
    finally:
        if ex.uow is not None:
            _end(ex.uow)
    if error is not None:
        protocol, service = _error_target(ex)
        response = PROTOCOLS[protocol].serialize_error(service, error, ex.request_id)
    if not ex.audited:
        _audit_off_path(ex, deps, error)
    return response


def _writing(ex: Exchange, deps: Deps) -> Exchange:
    """The exchange with a write unit of work in place of the read one whose repository found a
    change due (storage.uow.NeedsWrite): the stage then runs again, and writes it."""
    if ex.uow is None or ex.uow.write:
        raise RuntimeError("NeedsWrite raised in a write unit of work")
    ex.uow.rollback()
    return ex.evolve(uow=deps.store.unit_of_work(write=True))


def _end(uow: object) -> None:
    """Roll back whatever the request left open (nothing, when dispatch committed)."""
    try:
        uow.rollback()  # type: ignore[attr-defined]
    except Exception:
        log.exception("could not end a unit of work")


def _audit_off_path(ex: Exchange, deps: Deps, error: E.ServiceError | None) -> None:
    """Reads, denials and failures: the recorder's thread builds and writes the event."""
    if belongs_to_tenant(ex):
        # a data event's builder asks the store whether any trail wants data events: the
        # recorder's thread builds those, the event loop the others (AuditRecorder.prepare)
        if ex.management_event:
            deps.recorder.enqueue_deferred(DeferredEvents(ex, deps, error))
        elif deps.data_events_known(ex.uow) is not False:
            # nothing is built unless some logging trail may want data events: known now as of
            # the request's transaction, or asked by the writer when it gets to the call
            deps.recorder.enqueue_deferred(lambda: events_for(ex, deps, error), on_loop=False,
                                           gate=deps.data_events)
    elif error is not None:
        log.info("refused request %s from %s: %s %s", ex.request_id, ex.request.client_ip,
                 error.code, error.message)
