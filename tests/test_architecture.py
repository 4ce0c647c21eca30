"""The architecture's rules, checked: the order of stages, the import rules between packages,
and that every implemented operation has an authorization entry."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "cloudkeep"


def test_stage_order_is_route_authenticate_parse_authorize_dispatch():
    from cloudkeep.pipeline import stages
    assert [s.__name__ for s in stages.STAGES] == ["route", "authenticate", "parse", "authorize", "dispatch"]


def _imports(package: str) -> list[tuple[Path, str]]:
    found = []
    for path in (SRC / package).rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found += [(path, a.name) for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:  # relative: resolve against the package path
                    base = path.relative_to(SRC.parent).parent.parts[: len(path.relative_to(SRC.parent).parent.parts) - node.level + 1]
                    found.append((path, ".".join(base + ((node.module,) if node.module else ()))))
                elif node.module:
                    found.append((path, node.module))
    return found


STDLIB_ONLY = ("policy",)
FORBIDDEN = {
    "wire": ("cloudkeep.services", "cloudkeep.pipeline", "cloudkeep.storage"),
    "services": ("cloudkeep.pipeline",),
    "storage": ("cloudkeep.services", "cloudkeep.pipeline"),
    "auth": ("cloudkeep.services", "cloudkeep.pipeline", "cloudkeep.policy"),
    "audit": ("cloudkeep.services", "cloudkeep.pipeline"),
}


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_does_not_import_what_the_architecture_forbids(package):
    bad = [(str(p.relative_to(SRC)), m) for p, m in _imports(package)
           if any(m == f or m.startswith(f + ".") for f in FORBIDDEN[package])]
    assert bad == []


def test_policy_imports_only_the_standard_library():
    import sys
    bad = [(str(p.relative_to(SRC)), m) for p, m in _imports("policy")
           if m.split(".")[0] not in sys.stdlib_module_names and not m.startswith("cloudkeep.policy")]
    assert bad == []


def test_every_implemented_operation_has_an_authz_entry_and_exists_in_the_model():
    from cloudkeep.services.registry import SERVICES
    from cloudkeep.wire.model import load_service
    for service in SERVICES.values():
        model = load_service(service.name)
        for op in service.operations.handlers:
            assert op in model.operation_names, f"{service.name}:{op} is not in botocore's model"
            assert op in service.authz, f"{service.name}:{op} has no authz entry"
        assert set(service.authz) <= set(service.operations.handlers), "authz entries for missing operations"
