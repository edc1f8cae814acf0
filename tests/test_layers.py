"""Dependencies point inward (STYLE point 1), and every transforms module has its own test file."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FORBIDDEN = {
    "transforms": {"flows", "prefect", "os", "pathlib", "shutil", "tempfile", "subprocess", "sample_data"},
    "schemas": {"flows", "prefect", "transforms", "os", "pathlib", "sample_data"},
    "sample_data": {"flows", "transforms", "schemas"},
}


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_forbidden_imports(package: str) -> None:
    offenders = {
        str(path.relative_to(REPO)): sorted(imported_roots(path) & FORBIDDEN[package])
        for path in (REPO / package).rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_every_transforms_module_has_a_test_file() -> None:
    missing = []
    for path in sorted((REPO / "transforms").rglob("*.py")):
        if path.name == "__init__.py":
            continue
        relative = path.relative_to(REPO / "transforms")
        test = REPO / "tests" / "transforms" / relative.parent / f"test_{relative.name}"
        if not test.exists():
            missing.append(str(relative))
    assert missing == []


def test_the_layer_check_can_fail(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import prefect\nfrom flows.cli import main\n", encoding="utf-8")
    assert imported_roots(bad) == {"prefect", "flows"}
