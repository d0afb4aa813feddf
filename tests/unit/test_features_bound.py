"""Every .feature file is bound and every scenario runs: nothing drifts into being skipped."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_features_are_bound_once_from_a_single_module() -> None:
    binders = [
        path
        for path in (ROOT / "tests").rglob("*.py")
        if "scenarios(" in path.read_text() and path.name != Path(__file__).name
    ]
    assert [p.relative_to(ROOT).as_posix() for p in binders] == ["tests/bdd/test_features.py"]
    assert 'scenarios("")' in (ROOT / "tests/bdd/test_features.py").read_text()
    assert list((ROOT / "features").rglob("*.feature")), "features/ holds no specification"
