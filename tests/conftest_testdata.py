"""Where the shared, read-only test data lives, and what to do when it is missing.

``CLOUDKEEP_TESTDATA`` points at it (default ``<repo>/../shared/testdata``). When the data is
missing, tests skip locally but FAIL under CI (``CI=true``), so a broken checkout cannot pass.
Tests read the environment here rather than through config.py because this is test plumbing.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def data_root() -> Path:
    return Path(os.environ.get("CLOUDKEEP_TESTDATA", REPO_ROOT.parent / "shared" / "testdata"))


def require_testdata(*parts: str) -> Path:
    """The path of a test data file or folder; skip (locally) or fail (CI) when it is absent."""
    path = data_root().joinpath(*parts)
    if not path.exists():
        message = f"test data not found: {path} (set CLOUDKEEP_TESTDATA)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


def case_folders(*parts: str) -> list[Path]:
    """Sub-folders of a test data folder, sorted; empty when the folder is absent (tests that
    parametrize over them should also call ``require_testdata`` so an absent folder is noticed)."""
    path = data_root().joinpath(*parts)
    return sorted(p for p in path.iterdir() if p.is_dir()) if path.is_dir() else []
