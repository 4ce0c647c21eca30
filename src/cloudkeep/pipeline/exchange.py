"""The immutable record that travels through the pipeline's stages.

Each stage returns ``exchange.evolve(<its field>=...)`` (``dataclasses.replace`` without its
per-call introspection) or raises a ``ServiceError``; no stage rewrites what an earlier one
filled in.

Must not: hold behaviour.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, fields
from typing import Any, Mapping

from botocore.model import OperationModel, ServiceModel

from cloudkeep.auth.principal import Principal
from cloudkeep.wire.http import HttpRequest


@dataclass(frozen=True, slots=True)
class Exchange:
    request: HttpRequest
    request_id: str
    received_at: _dt.datetime                  # domain clock time the request arrived
    # route
    service: ServiceModel | None = None
    operation: OperationModel | None = None
    protocol: str | None = None
    region: str | None = None                  # the region the call acts in
    signed: Any = None                         # auth.sigv4.SignedRequestInfo, or None (unsigned)
    labels: Mapping[str, str] | None = None    # REST protocols: the URI labels the route matched
    read_only: bool = True
    management_event: bool = True
    called_via: tuple[str, ...] = ()           # services that made this call for the principal
    #: a service principal's call (pipeline/service_calls.py): the condition keys that name the
    #: resource it acts for, e.g. (("aws:sourcearn", (trail ARN,)), ("aws:sourceaccount", (…,)))
    source_context: tuple[tuple[str, tuple[str, ...]], ...] = ()
    uow: Any = None                            # the request's one unit of work (opened by route,
                                               # begun lazily, committed by dispatch)
    # authenticate
    principal: Principal | None = None
    body_reader: Any = None                    # auth.chunked.ChunkedPayload for aws-chunked bodies
    # parse
    params: Mapping[str, Any] | None = None
    # authorize
    resource_accounts: tuple[str, ...] = ()    # the accounts owning the resources it was allowed on
    # dispatch
    result: Mapping[str, Any] | None = None
    audited: bool = False                      # its event was written with its transaction

    def evolve(self, **changes: Any) -> "Exchange":
        """A copy with ``changes`` (field names checked, like ``dataclasses.replace``)."""
        unknown = changes.keys() - _FIELDS
        if unknown:
            raise TypeError(f"Exchange has no field {sorted(unknown)[0]!r}")
        return _copy_with(self, changes)

    @property
    def service_name(self) -> str | None:
        return self.service.service_name if self.service is not None else None

    @property
    def operation_name(self) -> str | None:
        return self.operation.name if self.operation is not None else None


_FIELDS = frozenset(f.name for f in fields(Exchange))


def _copier() -> Any:
    """``_copy_with(exchange, changes)``: the copy, written out field by field once (each stage
    evolves the exchange; a loop with getattr over its fields cost ~4% of a small S3 PUT)."""
    lines = ["def _copy_with(self, changes):", "    new = _new(Exchange)"]
    for name in sorted(_FIELDS):
        lines.append(f"    _set(new, {name!r}, changes[{name!r}] if {name!r} in changes else self.{name})")
    lines.append("    return new")
    namespace: dict[str, Any] = {"_new": object.__new__, "_set": object.__setattr__, "Exchange": Exchange}
    exec("\n".join(lines), namespace)  # noqa: S102 - code built from the dataclass's own field names
    return namespace["_copy_with"]


_copy_with = _copier()

