"""The packages form layers with no cycles; the pure core does no I/O.

An import contract, checked from the source: each package may import only the
project packages listed for it, and the core none of the I/O modules.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# package -> the project packages it may import (besides itself)
LAYERS: dict[str, set[str]] = {
    "jobs": set(),                                   # the pure core
    "commands": {"jobs"},
    "runner": {"jobs", "commands"},                  # the job process side
    "db": {"jobs"},
    "blocks": {"jobs"},                              # block access in job processes (CA)
    "ioc": {"jobs", "commands", "runner", "db", "blocks"},   # the faces: CA, PVA, the service
    "client": {"jobs"},                              # talks CA only; pure helpers of the core
    "displays": {"ioc"},                             # generated from the PV table
}
IO_MODULES = {"asyncio", "socket", "subprocess", "sqlite3", "caproto", "pvaccess", "threading",
              "selectors", "multiprocessing"}


def imports(path: Path) -> set[str]:
    """Every module a file imports (absolute names; relative ones resolved to the package)."""
    package = path.parent.name
    tree = ast.parse(path.read_text(), str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            names.add(f"scriptserver.{package}" if node.level else node.module or "")
    return names


def project_package(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "scriptserver" and len(parts) > 1 else None


@pytest.mark.parametrize("package", sorted(LAYERS))
def test_a_package_imports_only_the_layers_below_it(package):
    wrong = {}
    for path in sorted((REPO / package).glob("*.py")):
        used = {project_package(m) for m in imports(path)} - {None, package}
        if used - LAYERS[package]:
            wrong[path.name] = sorted(used - LAYERS[package])
    assert not wrong, f"{package} imports packages above it: {wrong}"


def test_the_core_does_no_io():
    wrong = {path.name: sorted(m for m in imports(path) if m.split(".")[0] in IO_MODULES)
             for path in sorted((REPO / "jobs").glob("*.py"))}
    assert not {k: v for k, v in wrong.items() if v}


def test_the_layers_have_no_cycles():
    seen: dict[str, int] = {}

    def depth(package: str, path: tuple[str, ...] = ()) -> int:
        assert package not in path, f"import cycle: {' -> '.join(path + (package,))}"
        if package not in seen:
            seen[package] = 1 + max((depth(p, path + (package,)) for p in LAYERS[package]),
                                    default=0)
        return seen[package]

    for package in LAYERS:
        depth(package)


def test_every_package_folder_has_a_layer():
    folders = {p.parent.name for p in REPO.glob("*/__init__.py")} - {"config", "tests",
                                                                      "benchmarks"}
    assert folders <= set(LAYERS), f"add {sorted(folders - set(LAYERS))} to LAYERS"


def test_the_contract_sees_a_forbidden_import(tmp_path):
    """The checker itself: a core module importing the store is caught."""
    bad = tmp_path / "jobs" / "bad.py"
    bad.parent.mkdir()
    bad.write_text("from scriptserver.db.store import Store\nimport sqlite3\n")
    assert project_package(next(m for m in imports(bad) if "db" in m)) == "db"
    assert "sqlite3" in imports(bad)


ACCESS_DECISION = ("access.py", "acf.py", "sessions.py", "gate.py")


def test_the_access_decision_does_no_io():
    """The access rules, .acf parser, sessions and gate are pure: the faces adapt them."""
    wrong = {name: sorted(m for m in imports(REPO / "ioc" / name)
                          if m.split(".")[0] in IO_MODULES) for name in ACCESS_DECISION}
    assert not {k: v for k, v in wrong.items() if v}
