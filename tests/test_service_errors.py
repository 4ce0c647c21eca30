"""Each service's error classes carry the code and HTTP status of its botocore model."""

from __future__ import annotations

import pytest

from cloudkeep.services.registry import SERVICES
from cloudkeep.wire.model import load_service


def _model_errors(name: str) -> dict[str, int]:
    model = load_service(name)
    out = {}
    for shape_name in model.shape_names:
        shape = model.shape_for(shape_name)
        meta = shape.metadata.get("error")
        if shape.metadata.get("exception"):
            code = (meta or {}).get("code", shape_name)
            out[code] = (meta or {}).get("httpStatusCode", 400)
    return out


ERRORS = [(s.name, e) for s in SERVICES.values() for e in s.errors]


@pytest.mark.parametrize("service,error", ERRORS, ids=[f"{s}:{e.__name__}" for s, e in ERRORS])
def test_error_code_and_status_match_the_model(service, error):
    model = _model_errors(service)
    assert error.code in model, f"{error.code} is not an error of {service}'s model"
    assert error.status == model[error.code]
