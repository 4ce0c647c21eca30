"""Loading botocore's service models, applying cloudkeep's data patches, and indexing them.

botocore's models (``botocore/data/<service>/<version>/service-2.json``) are the wire contract:
for every operation they give its HTTP binding, input and output shapes, errors with code and
status, constraints, and whether it needs authentication. Where AWS's servers behave differently
from the model, the fix is a JSON merge patch in ``wire/patches/<service>.json`` (data, not code).

Models load once per process and are cached.

Must not: know any service's behaviour beyond its model.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any, Mapping

from botocore.loaders import Loader
from botocore.model import OperationModel, ServiceModel

_PATCH_DIR = Path(__file__).with_name("patches")
_loader = Loader()


def _merge(base: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, Mapping):
        return patch
    out = dict(base) if isinstance(base, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = _merge(out.get(key), value)
    return out


@functools.lru_cache(maxsize=None)
def load_service(name: str) -> ServiceModel:
    """The botocore ``ServiceModel`` for a botocore service name (``iam``, ``sts``, ``kms`` …)."""
    raw = _loader.load_service_model(name, "service-2")
    patch_file = _PATCH_DIR / f"{name}.json"
    if patch_file.exists():
        raw = _merge(raw, json.loads(patch_file.read_text()))
    return ServiceModel(raw, service_name=name)


def available_services() -> list[str]:
    return list(_loader.list_available_services("service-2"))


def requires_auth(operation: OperationModel) -> bool:
    """False for operations the model marks ``smithy.api#noAuth`` (or legacy ``authtype: none``)."""
    auth = operation._operation_model.get("auth")  # noqa: SLF001 - botocore keeps it raw
    if auth is not None:
        return "smithy.api#noAuth" not in auth
    return operation.auth_type != "none"


def signing_name(service: ServiceModel) -> str:
    """The service name in a SigV4 credential scope (``signingName`` or the endpoint prefix)."""
    return service.metadata.get("signingName") or service.metadata["endpointPrefix"]
