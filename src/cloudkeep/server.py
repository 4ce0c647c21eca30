"""The composition root: builds a worker's dependencies from its ``ServerConfig`` and the
ASGI application around them; bootstraps the first tenant at first start.

Must not: hold request logic (the pipeline) or service logic (the services).
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as _dt
import io
import json
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any


from cloudkeep import config as _config
from cloudkeep.audit.discard import DiscardingRecorder
from cloudkeep.audit.recorder import AuditRecorder
from cloudkeep.crypto.envelope import Sealer
from cloudkeep.crypto.rootkey import load_or_create_master_key
from cloudkeep.pipeline.asgi import App
from cloudkeep.pipeline.authorization import PolicyCache
from cloudkeep.pipeline.deps import Deps
from cloudkeep.pipeline import service_calls
from cloudkeep.pipeline.keyuse import KeyUseTracker
from cloudkeep.services.cloudtrail.data_events import DataEventGate
from cloudkeep.services.cloudtrail.delivery import Delivery, Timing
from cloudkeep.services.cloudtrail.delivery_worker import DeliveryWorker
from cloudkeep.services.iam.accounts import RootCredentials, create_account
from cloudkeep.services.iam.credentials import IamCredentialResolver
from cloudkeep.services.iam.repository import IamRepository
from cloudkeep.services.registry import SERVICES
from cloudkeep.services.sts.credentials import StsCredentialResolver
from cloudkeep.storage.blob_journal import BlobJournal
from cloudkeep.storage.blobs import BlobStore
from cloudkeep.storage.clock import OffsetClock, SystemClock
from cloudkeep.storage.engine import Store, sqlite_url
from cloudkeep.storage.ids import Ids
from cloudkeep.storage import settings

log = logging.getLogger("cloudkeep.server")

CREDENTIALS_FILE = "root-credentials.json"
DEFAULT_ACCOUNT_KEY = "default_account"
CLOCK_OFFSET_KEY = "clock_offset_seconds"


def store_url(cfg: _config.ServerConfig) -> str:
    return cfg.store_url or sqlite_url(cfg.data_dir)


def open_store(cfg: _config.ServerConfig, *, migrate: bool) -> Store:
    cfg.data_dir.mkdir(parents=True, exist_ok=True)
    return Store.open(store_url(cfg), durability=cfg.durability, migrate=migrate)


def sealer_for(cfg: _config.ServerConfig) -> Sealer:
    """The root of trust: a PKCS#11 HSM with ``--hsm`` (no master key file then), else the master key."""
    cfg.data_dir.mkdir(parents=True, exist_ok=True)
    if cfg.hsm_uri:
        from cloudkeep.crypto.hsm import Pkcs11Root
        return Sealer(root=Pkcs11Root.from_uri(cfg.hsm_uri, pin=cfg.hsm_pin))
    return Sealer(load_or_create_master_key(cfg.data_dir, cfg.master_key_b64))


# --- bootstrap ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Bootstrap:
    account_id: str
    created: RootCredentials | None      # set only at the first start
    credentials_path: Path | None


def new_account(store: Store, sealer: Sealer, *, email: str | None = None) -> RootCredentials:
    with store.unit_of_work(write=True) as uow:
        return create_account(uow, sealer=sealer, ids=Ids(), clock=SystemClock(), email=email)


def bootstrap(cfg: _config.ServerConfig, store: Store, sealer: Sealer) -> Bootstrap:
    """Creates the first tenant once; later starts find it again."""
    path = cfg.data_dir / CREDENTIALS_FILE
    existing = settings.read(store, DEFAULT_ACCOUNT_KEY)
    if existing:
        return Bootstrap(existing, None, path if path.exists() else None)
    with store.unit_of_work(write=True) as uow:
        creds = create_account(uow, sealer=sealer, ids=Ids(), clock=SystemClock())
        settings.put(uow, DEFAULT_ACCOUNT_KEY, creds.account_id)
    written = None
    if cfg.credentials_file:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(creds.to_json(), fh, indent=2)
        os.chmod(path, 0o600)
        written = path
    return Bootstrap(creds.account_id, creds, written)


def read_credentials_file(path: Path) -> RootCredentials | None:
    try:
        data = json.loads(path.read_text())
        return RootCredentials(account_id=data["AccountId"], email=data["Email"], password=data["Password"],
                               access_key_id=data["AccessKeyId"], secret_access_key=data["SecretAccessKey"])
    except (OSError, ValueError, KeyError):
        return None


# --- the worker's application ------------------------------------------------------------------


def build_deps(cfg: _config.ServerConfig) -> Deps:
    store = open_store(cfg, migrate=False)
    sealer = sealer_for(cfg)
    if cfg.test_hooks:
        clock: Any = OffsetClock(lambda: float(settings.read(store, CLOCK_OFFSET_KEY) or 0.0))
    else:
        clock = SystemClock()
    if _config.benchmark_without_audit():   # benchmarks/cloudtrail_recording.py only
        log.warning("CLOUDKEEP_BENCHMARK_NO_AUDIT=1: this server records no events (benchmark knob)")
        recorder: Any = DiscardingRecorder()
    else:
        recorder = AuditRecorder(store, clock=clock)   # clock: the event history's 90-day prune
    key_use = KeyUseTracker(store, lambda uow, uses: IamRepository(uow).record_key_use(uses))
    deps = Deps(store=store, sealer=sealer, clock=clock, ids=Ids(),
                # STS first: it answers None for any key but ASIA… without a query
                resolvers=(StsCredentialResolver(store, sealer), IamCredentialResolver(store, sealer)),
                recorder=recorder, key_use=key_use,
                services=SERVICES, policy_cache=PolicyCache(store),
                blobs=blob_store(cfg, store, clock))
    gate = DataEventGate(store)
    return dataclasses.replace(deps, delivery=cloudtrail_worker(deps), data_events=gate.wanted,
                               data_events_known=gate.known)


def blob_store(cfg: _config.ServerConfig, store: Store, clock: Any) -> BlobStore:
    """The worker's blob store, its files announced in the blob journal; the files that writes
    killed at least an hour ago left behind (their rows never committed) are swept first. Every
    worker of every node sweeps at its start: only entries that old, so no write in progress
    elsewhere loses its file, and sweeping twice does nothing."""
    journal = BlobJournal(store, clock.now)
    blobs = BlobStore(cfg.data_dir / "blobs", sync=cfg.durability == "full", journal=journal)
    journal.sweep(blobs)
    if cfg.test_hooks:
        blobs.written = _hold_blob_writes(store)
    return blobs


#: test hooks only: while this setting is "1", a body written as a file is held (for good) just
#: after its file is in place and before its row commits, so a test can kill the server there
HOLD_BLOB_WRITES_KEY = "test_hold_blob_writes"


def _hold_blob_writes(store: Store) -> Any:
    def written(blob_id: str) -> None:
        if settings.read(store, HOLD_BLOB_WRITES_KEY) == "1":
            log.warning("test hook: holding the write of blob %s before its commit", blob_id)
            threading.Event().wait()
    return written


# --- CloudTrail delivery ------------------------------------------------------------------------

CLOUDTRAIL_DELIVERY_KEY = "cloudtrail_delivery_seconds"
CLOUDTRAIL_DIGEST_KEY = "cloudtrail_digest_seconds"


def cloudtrail_timing(store: Store) -> Timing:
    """The delivery delay and digest period: AWS's (5 minutes, 1 hour) unless the test hooks
    set shorter ones (``/_cloudkeep/test/cloudtrail/timing``)."""
    delivery, period = settings.read(store, CLOUDTRAIL_DELIVERY_KEY), settings.read(store, CLOUDTRAIL_DIGEST_KEY)
    default = Timing()
    return Timing(delivery=_dt.timedelta(seconds=float(delivery)) if delivery else default.delivery,
                  digest=_dt.timedelta(seconds=float(period)) if period else default.digest)


def cloudtrail_worker(deps: Deps) -> DeliveryWorker:
    """The worker that writes trails' files as cloudtrail.amazonaws.com through S3's PutObject."""
    def put(bucket: str, key: str, body: bytes, *, region: str, source: dict, kms_key: str | None = None,
            context: dict | None = None, metadata: dict | None = None) -> None:
        params: dict[str, Any] = {"Bucket": bucket, "Key": key, "Body": io.BytesIO(body),
                                  "ACL": "bucket-owner-full-control"}
        if kms_key:
            params.update(ServerSideEncryption="aws:kms", SSEKMSKeyId=kms_key)
            if context:
                params["SSEKMSEncryptionContext"] = base64.b64encode(json.dumps(context).encode()).decode()
        if metadata:
            params["Metadata"] = metadata
        service_calls.run(deps, "cloudtrail.amazonaws.com", "s3", "PutObject", params, region=region, source=source)

    delivery = Delivery(deps.store, deps.sealer, deps.clock, deps.ids, put)
    return DeliveryWorker(deps.store, delivery, lambda: cloudtrail_timing(deps.store)).start()


def shutdown(deps: Deps) -> None:
    # Everything recorded so far is written first, so that the final delivery has it. The
    # recorder stays open through that delivery: the delivery's own calls (KMS data keys for a
    # trail's SSE-KMS log files) are queued events. A closed recorder would write each of them
    # at once, from inside the delivery's S3 write transaction: on SQLite a second writer on the
    # same thread, which waits out the busy timeout (30 s) and then fails.
    deps.recorder.flush()
    if deps.delivery is not None:
        deps.delivery.close()
    deps.recorder.close()
    deps.key_use.close()
    deps.store.close()


def _admin_app(app_ref: list[App], cfg: _config.ServerConfig) -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    def deps() -> Deps:
        app = app_ref[0]
        if app.deps is None:
            app.deps = build_deps(cfg)
        return app.deps

    async def health(request: Request) -> JSONResponse:
        # the serving process and its parent: whoever started `cloudkeep serve` finds its own
        # process's id in one of them (the parent, with --workers N), and so tells its server
        # from another one answering on the same port
        return JSONResponse({"status": "ok", "pid": os.getpid(), "parent": os.getppid()})

    async def create_test_account(request: Request) -> JSONResponse:
        body = await request.body()
        email = json.loads(body).get("email") if body else None
        d = deps()
        creds = new_account(d.store, d.sealer, email=email)
        return JSONResponse(creds.to_json())

    async def advance_clock(request: Request) -> JSONResponse:
        seconds = float((await request.json())["seconds"])
        if seconds < 0:
            return JSONResponse({"error": "the clock only moves forward"}, status_code=400)
        d = deps()
        with d.store.unit_of_work(write=True) as uow:
            current = float(settings.get(uow, CLOCK_OFFSET_KEY) or 0)
            settings.put(uow, CLOCK_OFFSET_KEY, repr(current + seconds))
        return JSONResponse({"offset_seconds": current + seconds, "now": d.clock.now().isoformat()})

    async def flush(request: Request) -> JSONResponse:
        d = deps()
        d.recorder.flush()
        d.recorder.prune()   # the event history's 90 days, by the (test) domain clock
        d.key_use.flush()
        return JSONResponse({"flushed": True})

    async def cloudtrail_timing_hook(request: Request) -> JSONResponse:
        body = await request.json()
        d = deps()
        with d.store.unit_of_work(write=True) as uow:
            for member, key in (("delivery_seconds", CLOUDTRAIL_DELIVERY_KEY), ("digest_seconds", CLOUDTRAIL_DIGEST_KEY)):
                if member in body:
                    seconds = float(body[member])
                    if seconds < 1:
                        return JSONResponse({"error": f"{member} must be at least 1"}, status_code=400)
                    settings.put(uow, key, repr(seconds))
        return JSONResponse({"ok": True})

    async def cloudtrail_deliver(request: Request) -> JSONResponse:
        """Writes the audit queue, then delivers every trail's pending events now (and, with
        {"digests": true}, ends every digest period now)."""
        body = await request.body()
        digests = bool(json.loads(body).get("digests")) if body else False
        d = deps()
        d.recorder.flush()
        done = d.delivery.run_once(force=True, close_digests=digests) if d.delivery is not None else None
        return JSONResponse({"delivered": done is not None, **(done or {})})

    routes = [Route("/_cloudkeep/health", health)]
    if cfg.test_hooks:
        routes += [Route("/_cloudkeep/test/accounts", create_test_account, methods=["POST"]),
                   Route("/_cloudkeep/test/clock/advance", advance_clock, methods=["POST"]),
                   Route("/_cloudkeep/test/flush", flush, methods=["POST"]),
                   Route("/_cloudkeep/test/cloudtrail/timing", cloudtrail_timing_hook, methods=["POST"]),
                   Route("/_cloudkeep/test/cloudtrail/deliver", cloudtrail_deliver, methods=["POST"])]
    return Starlette(routes=routes)


def create_app(cfg: _config.ServerConfig | None = None) -> App:
    """The ASGI application for one worker (uvicorn's factory)."""
    cfg = cfg or _config.from_env()
    ref: list[App] = []
    app = App(lambda: build_deps(cfg), admin=_admin_app(ref, cfg), on_shutdown=shutdown)
    ref.append(app)
    return app


def master_key_b64(key: bytes) -> str:
    return base64.b64encode(key).decode()
