"""botocore's protocol test cases, loaded once for every protocol's reverse tests.

Each case file holds suites (``metadata``, ``shapes``, ``cases``); a case's ``given`` is the
operation. The server side runs them in reverse: the case's HTTP request through our parser,
the case's result through our serializer and back through botocore's parser.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from botocore.model import OperationModel, ServiceModel

from conftest_testdata import data_root

SKIP_DIR = Path(__file__).parent / "protocol_skips"


def load_cases(direction: str, *files: str) -> list[tuple[dict[str, Any], dict[str, Any], str]]:
    """(suite without its cases, case, file name) for every case of the files; empty when the
    test data is absent (the tests call ``require_testdata`` to fail under CI)."""
    out = []
    for name in files:
        path = data_root() / "botocore-protocols" / direction / name
        if not path.exists():
            continue
        for suite in json.loads(path.read_text()):
            bare = {k: v for k, v in suite.items() if k != "cases"}
            out.extend((bare, case, name) for case in suite["cases"])
    return out


def operation_for(suite: dict[str, Any], case: dict[str, Any], *, namespace: str | None = None) -> OperationModel:
    """The case's operation, in a service model made of the suite's metadata and shapes."""
    description = copy.deepcopy({k: v for k, v in suite.items() if k != "cases"})
    given = copy.deepcopy(case["given"])
    description["operations"] = {given["name"]: given}
    description.setdefault("shapes", {})
    if namespace:
        description["metadata"]["xmlNamespace"] = namespace
    return ServiceModel(description, service_name="protocoltest").operation_model(given["name"])


def skip_list(protocol: str) -> dict[str, Any]:
    return json.loads((SKIP_DIR / f"{protocol}.json").read_text())
