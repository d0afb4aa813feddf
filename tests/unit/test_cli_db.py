"""``helpdesk db`` end to end on a SQLite file: exit codes and one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from adapters.sql.migrate import head
from entrypoints.cli.main import cli, register_commands


@pytest.fixture
def run(tmp_path: Path):  # type: ignore[no-untyped-def]
    register_commands()
    runner = CliRunner()
    env = {"HELPDESK_DATABASE_URL": f"sqlite:///{tmp_path / 'hd.db'}"}

    def invoke(*args: str, **extra_env: str):  # type: ignore[no-untyped-def]
        return runner.invoke(
            cli, ["--env-file", str(tmp_path / "none.env"), *args], env={**env, **extra_env}
        )

    return invoke


def test_upgrade_current_check_and_downgrade(run) -> None:  # type: ignore[no-untyped-def]
    assert run("db", "check").exit_code == 1  # nothing migrated yet
    result = run("db", "upgrade")
    assert result.exit_code == 0, result.output
    assert head() in result.output
    assert run("db", "current").output.strip() == f"{head()} (up to date)"
    assert run("db", "check").exit_code == 0
    down = run("db", "downgrade", "-1")
    assert down.exit_code == 0, down.output
    assert "behind" in run("db", "current").output
    assert run("db", "downgrade", "base").exit_code == 0
    assert run("db", "current").output.startswith("base")
    assert run("db", "upgrade").exit_code == 0


def test_an_unknown_revision_is_a_usage_error(run) -> None:  # type: ignore[no-untyped-def]
    result = run("db", "downgrade", "no-such-revision")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: ")


def test_a_bad_setting_is_one_line_and_exit_2(run) -> None:  # type: ignore[no-untyped-def]
    result = run("db", "current", HELPDESK_DATABASE_URL="mysql://nope")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "error: HELPDESK_DATABASE_URL='mysql://nope' is invalid: expected a sqlite:///, "
        "postgresql+psycopg:// or memory:// URL"
    )


def test_an_unreachable_database_is_refused_with_exit_1(run) -> None:  # type: ignore[no-untyped-def]
    result = run(
        "db", "current", HELPDESK_DATABASE_URL="postgresql+psycopg://nobody@127.0.0.1:1/none"
    )
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "error: database: connection refused: 127.0.0.1:1: "
        "is the server running and accepting TCP/IP connections there?"
    )
    assert "Traceback" not in result.output


def test_memory_store_has_no_migrations(run) -> None:  # type: ignore[no-untyped-def]
    for args in (("db", "upgrade"), ("db", "current"), ("db", "downgrade", "base")):
        result = run(*args, HELPDESK_DATABASE_URL="memory://")
        assert result.exit_code == 2
        assert result.stderr.startswith("error: the memory:// store has no migrations")


def test_upgrade_against_a_refused_port_is_one_line(run) -> None:  # type: ignore[no-untyped-def]
    """``db upgrade`` (to head) printed a ~100-line traceback; now the cause, one line."""
    url = "postgresql+psycopg://nobody:hunter2-secret@127.0.0.1:1/none"
    result = run("db", "upgrade", HELPDESK_DATABASE_URL=url)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: database: connection refused: 127.0.0.1:1")
    assert result.stderr.count("\n") == 1
    assert "hunter2-secret" not in result.output
