"""A pytest plugin the s3-tests runner loads into the suite (``-p cloudkeep_s3tests_markers``): it
records each test's markers as a JUnit property, so the runner can sort results into areas by
marker (``bucket_policy``, ``list_objects_v2``, ``encryption``…) as well as by name.

Must not: change what the suite selects, runs or reports as passed and failed.
"""

from __future__ import annotations

from typing import Any

_NOT_AREAS = frozenset({"parametrize", "usefixtures", "filterwarnings", "skip", "skipif", "xfail"})


def pytest_collection_modifyitems(items: list[Any]) -> None:
    for item in items:
        names = sorted({m.name for m in item.iter_markers()} - _NOT_AREAS)
        item.user_properties.append(("markers", " ".join(names)))
