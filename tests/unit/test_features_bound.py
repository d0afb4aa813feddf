"""Every .feature file is bound and every scenario runs: nothing drifts into being skipped."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _binds_features(path: Path) -> bool:
    """Whether the module's code calls ``scenarios(...)`` (text in a string does not)."""
    tree = ast.parse(path.read_text())
    return any(
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "scenarios"
        for node in ast.walk(tree)
    )


def test_features_are_bound_once_from_a_single_module() -> None:
    binders = [path for path in (ROOT / "tests").rglob("*.py") if _binds_features(path)]
    assert [p.relative_to(ROOT).as_posix() for p in binders] == ["tests/bdd/test_features.py"]
    assert 'scenarios("")' in (ROOT / "tests/bdd/test_features.py").read_text()
    assert list((ROOT / "features").rglob("*.feature")), "features/ holds no specification"
