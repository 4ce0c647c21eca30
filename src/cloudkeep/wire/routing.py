"""Finding the service and protocol module a request is for, from botocore's models alone.

A signed request names its service in the SigV4 credential scope (the model's signing name);
an unsigned one is found by its ``X-Amz-Target`` prefix (json) or by an ``Action`` that only one
query service serves without authentication (e.g. sts:AssumeRoleWithWebIdentity).

The index over all of botocore's models is built lazily, only when a name is not found directly,
so a server start does not load four hundred models.

Must not: know any service's behaviour.
"""

from __future__ import annotations

import functools
from types import ModuleType

from botocore.exceptions import UnknownServiceError

from . import ec2proto, jsonproto, query, restjson, restxml
from .model import available_services, load_service, requires_auth, signing_name

#: protocols whose parser and serializer exist, by the model's protocol name
PROTOCOLS: dict[str, ModuleType] = {"query": query, "json": jsonproto, "ec2": ec2proto,
                                    "rest-xml": restxml, "rest-json": restjson}
#: protocols routed by HTTP method and the operation's requestUri (wire/rest_routing.py)
REST_PROTOCOLS = frozenset({"rest-xml", "rest-json"})
#: services that serve unsigned requests as the anonymous principal, leaving the decision to
#: their resource policies (S3's public access); everywhere else a missing signature is refused
ANONYMOUS_SERVICES = frozenset({"s3"})


def protocol_of(service_name: str) -> str:
    meta = load_service(service_name).metadata
    for p in meta.get("protocols") or [meta["protocol"]]:
        if p in PROTOCOLS:
            return p
    return meta["protocol"]


@functools.lru_cache(maxsize=None)
def _signing_index() -> dict[str, tuple[str, ...]]:
    index: dict[str, list[str]] = {}
    for name in available_services():
        try:
            index.setdefault(signing_name(load_service(name)), []).append(name)
        except Exception:  # pragma: no cover - a broken model must not break routing
            continue
    return {k: tuple(v) for k, v in index.items()}


@functools.lru_cache(maxsize=512)
def services_for_signing_name(name: str) -> tuple[str, ...]:
    """botocore service names whose SigV4 signing name is ``name`` (usually exactly one)."""
    try:
        if signing_name(load_service(name)) == name:
            return (name,)
    except UnknownServiceError:
        pass
    return _signing_index().get(name, ())


@functools.lru_cache(maxsize=None)
def _unsigned_query_actions() -> dict[str, tuple[str, ...]]:
    index: dict[str, list[str]] = {}
    for name in available_services():
        try:
            svc = load_service(name)
            if svc.metadata.get("protocol") != "query":
                continue
            for op in svc.operation_names:
                if not requires_auth(svc.operation_model(op)):
                    index.setdefault(op, []).append(name)
        except Exception:  # pragma: no cover
            continue
    return {k: tuple(v) for k, v in index.items()}


def service_for_unsigned_query(action: str) -> str | None:
    found = _unsigned_query_actions().get(action, ())
    return found[0] if len(found) == 1 else None


def service_for_target_prefix(prefix: str) -> str | None:
    return jsonproto.target_prefix_services().get(prefix)
