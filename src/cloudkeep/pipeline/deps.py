"""The application-wide dependencies every stage receives (built once per worker process).

Must not: hold per-request state (that is the ``Exchange``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import datetime as _dt

from cloudkeep.auth.credentials import CredentialResolver
from cloudkeep.services.framework import Service
from cloudkeep.storage.clock import Clock, wall_now
from cloudkeep.storage.ids import Ids


@dataclass(frozen=True, slots=True)
class Deps:
    store: Any                                   # storage.engine.Store
    sealer: Any                                  # crypto.envelope.Sealer
    clock: Clock                                 # the domain clock
    ids: Ids
    resolvers: Sequence[CredentialResolver]
    recorder: Any                                # audit.recorder.AuditRecorder
    key_use: Any                                 # pipeline.keyuse.KeyUseTracker
    services: Mapping[str, Service]
    partition: str = "aws"
    policy_cache: Any = None                     # pipeline.authorization.PolicyCache (None: no caching)
    blobs: Any = None                            # storage.blobs.BlobStore (object bodies, S3)
    wall_now: Callable[[], _dt.datetime] = field(default=wall_now)  # SigV4 skew only
    delivery: Any = None                         # services.cloudtrail.delivery_worker.DeliveryWorker
    #: whether data events are recorded now (services.cloudtrail.data_events: only while a logging
    #: trail may select them); the default records them all
    data_events: Callable[[], bool] = field(default=lambda: True)
    #: the same as of a request's unit of work when known without reading the store, else None
    #: (``DataEventGate.known``)
    data_events_known: Callable[[Any], bool | None] = field(default=lambda uow: None)
