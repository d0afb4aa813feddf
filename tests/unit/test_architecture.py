"""The dependency rule, checked: the core is pure, adapters never reach into entrypoints."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def imported_modules(package: str, root: Path = ROOT) -> dict[str, set[str]]:
    """For each module file of ``package`` under ``root``: the absolute module names it imports."""
    found: dict[str, set[str]] = {}
    for path in sorted((root / package).rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module)
        found[str(path.relative_to(root))] = names
    return found


def test_the_core_imports_only_the_standard_library_and_attrs() -> None:
    allowed = set(sys.stdlib_module_names) | {"attrs", "helpdesk_core", "__future__"}
    offenders = {
        module: sorted(n for n in names if n.split(".")[0] not in allowed)
        for module, names in imported_modules("helpdesk_core").items()
    }
    assert {m: n for m, n in offenders.items() if n} == {}


def test_adapters_never_import_entrypoints_or_web_and_cli_frameworks() -> None:
    forbidden = {"entrypoints", "falcon", "click", "punq", "gunicorn"}
    offenders = {
        module: sorted(n for n in names if n.split(".")[0] in forbidden)
        for module, names in imported_modules("adapters").items()
    }
    assert {m: n for m, n in offenders.items() if n} == {}


def test_the_in_memory_fakes_import_nothing_of_the_sql_adapter() -> None:
    forbidden = {"adapters.sql", "sqlalchemy", "alembic", "psycopg"}
    offenders = {
        module: sorted(n for n in names if any(n == f or n.startswith(f + ".") for f in forbidden))
        for module, names in imported_modules("adapters/memory").items()
    }
    assert {m: n for m, n in offenders.items() if n} == {}


def test_only_the_composition_root_imports_punq() -> None:
    users = sorted(
        module
        for package in ("helpdesk_core", "adapters", "entrypoints")
        for module, names in imported_modules(package).items()
        if any(n.split(".")[0] == "punq" for n in names)
    )
    assert users == ["entrypoints/bootstrap.py"]


def test_the_import_linter_contracts_hold() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    if not lint.exists():
        pytest.fail("import-linter is not installed in this environment (pip install -e .[dev])")
    result = subprocess.run(
        [str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" not in result.stdout.lower().replace("0 broken", "")


def test_a_planted_violation_is_caught(tmp_path: Path) -> None:
    """The check above can fail: a core module importing sqlalchemy is reported.

    Planted in a copy of the core, never in the source tree: the other checks (and
    lint-imports) run beside this test under xdist and must not see it."""
    shutil.copytree(ROOT / "helpdesk_core", tmp_path / "helpdesk_core")
    (tmp_path / "helpdesk_core" / "_planted_violation.py").write_text("import sqlalchemy\n")
    found = imported_modules("helpdesk_core", root=tmp_path)
    assert "sqlalchemy" in found["helpdesk_core/_planted_violation.py"]
    assert "sqlalchemy" not in set().union(*(found[m] for m in found if "_planted" not in m))
