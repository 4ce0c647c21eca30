"""The port through which one service calls another on the current principal's behalf.

A service never imports another service's repository or the pipeline: it receives a
``ServicePort`` in ``Call.port`` and asks it to run an operation (S3 → KMS for SSE-KMS,
CloudTrail → S3, Organizations → IAM). The port runs that operation through the same
validate, authorize, dispatch and audit steps as a request, inside the caller's transaction
(so the two changes commit or roll back together), with the calling service recorded in
``Exchange.called_via`` (``aws:CalledVia`` / ``aws:ViaService`` for the policy engine, and
``invokedBy`` in the CloudTrail event).

Must not: skip authorization or audit; let calls nest without bound.
"""

from __future__ import annotations

from typing import Any

from cloudkeep.audit.access import is_management_event, is_read_only
from cloudkeep.services.framework import Call, Params, Result
from cloudkeep.storage import generations
from cloudkeep.storage.uow import NeedsWrite
from cloudkeep.wire import errors as E
from cloudkeep.wire.model import load_service, signing_name
from cloudkeep.wire.regions import effective_region
from cloudkeep.wire.routing import protocol_of
from cloudkeep.wire.validate import validate

from .auditing import events_for
from .deps import Deps
from .exchange import Exchange

MAX_DEPTH = 4


class PipelinePort:
    def __init__(self, deps: Deps, origin: Exchange, uow: Any) -> None:
        self._deps = deps
        self._origin = origin
        self._uow = uow

    def call(self, service: str, operation: str, params: Params, *, via: str) -> Result:
        from .stages import authorize  # the same authorize stage as every request (stages import this module)

        if len(self._origin.called_via) >= MAX_DEPTH:
            raise E.InternalFailure("Calls between services nest too deeply.")
        model = load_service(service)
        op = model.operation_model(operation)
        protocol = protocol_of(service)
        validate(op.input_shape, params, protocol=protocol)
        origin = self._origin
        ex = Exchange(request=origin.request, request_id=origin.request_id, received_at=origin.received_at,
                      service=model, operation=op, protocol=protocol,
                      region=effective_region(service, origin.region or "us-east-1"),
                      principal=origin.principal, params=params,
                      read_only=is_read_only(signing_name(model), operation),
                      management_event=is_management_event(f"{model.endpoint_prefix}.amazonaws.com", operation),
                      called_via=origin.called_via + (via,), uow=self._uow)
        error: E.ServiceError | None = None
        record = True
        try:
            ex = authorize(ex, self._deps)
            handler = self._deps.services[service].operations.handlers[operation]
            call = Call(account_id=ex.principal.account_id, region=ex.region, partition=self._deps.partition,
                        principal=ex.principal, request_id=ex.request_id, clock=self._deps.clock,
                        ids=self._deps.ids, uow=self._uow, sealer=self._deps.sealer,
                        port=PipelinePort(self._deps, ex, self._uow), blobs=self._deps.blobs,
                        received_at=ex.received_at)
            result = handler(call, params)
            if self._deps.services[service].affects_authorization and self._uow.wrote:
                generations.bump(self._uow, call.account_id)
            ex = ex.evolve(result=result)
            return result
        except E.ServiceError as exc:
            error = exc
            raise
        except NeedsWrite:
            record = False   # the caller's stage runs again in a write unit of work, and records then
            raise
        finally:
            for event in events_for(ex, self._deps, error) if record else ():
                if error is None and not ex.read_only:
                    self._deps.recorder.write_in(self._uow, event)   # commits with the caller's change
                else:
                    self._deps.recorder.enqueue(event)

    def check_as_service(self, principal: str, service: str, operation: str, params: Params, *,
                         source: dict[str, str], region: str | None = None) -> E.ServiceError | None:
        """Whether the AWS service principal ``principal`` (e.g. cloudtrail.amazonaws.com) may make
        this call, in the caller's transaction: the authorize stage's error, or None
        (pipeline/service_calls.py)."""
        from . import service_calls

        return service_calls.check(self._deps, self._uow, principal, service, operation, params,
                                   region=region or self._origin.region or "us-east-1", source=source)
