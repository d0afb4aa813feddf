"""One classification of database failures (``adapters/sql/failures.py``), on real drivers.

The readiness probe and the CLI name the same cause; a refused statement (a constraint) is not a
failure of the database and is left alone; a password never survives into a message.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from adapters.sql.engine import EngineOptions, create_engine
from adapters.sql.failures import (
    AUTHENTICATION,
    MISSING_DRIVER,
    NO_SCHEMA,
    REFUSED,
    DatabaseFailure,
    classify_database_error,
    missing_driver,
    redact,
)
from adapters.sql.health import DatabaseProbe
from entrypoints.cli.failures import describe_failure
from helpdesk_core.domain.errors import DependencyUnavailable
from helpdesk_core.usecases.health import CheckReadiness, HealthStatus
from tests.e2e.pgcluster import free_port


def refused_url() -> str:
    return f"postgresql+psycopg://helpdesk:s3cr3t-pw@127.0.0.1:{free_port()}/helpdesk"


def failure_of(url: str, statement: str = "SELECT 1") -> BaseException:
    engine = create_engine(url, EngineOptions(connect_timeout=2))
    try:
        with engine.connect() as connection:
            connection.execute(sa.text(statement))
    except Exception as exc:
        return exc
    finally:
        engine.dispose()
    raise AssertionError("no failure")


def test_a_refused_connection_is_classified_with_its_server() -> None:
    url = refused_url()
    failure = classify_database_error(failure_of(url), url)
    assert failure is not None
    assert failure.cause == REFUSED
    assert failure.transient
    assert f"127.0.0.1:{url.rsplit(':', 1)[1].split('/')[0]}" in failure.detail
    assert "s3cr3t-pw" not in str(failure)


def test_readiness_logs_the_cause(caplog: pytest.LogCaptureFixture) -> None:
    """The public answer names no host (helpdesk_core/usecases/health.py); its log line gives
    the cause as the CLI does."""
    engine = create_engine(refused_url(), EngineOptions(connect_timeout=2))
    readiness = CheckReadiness([DatabaseProbe(engine)], 5)
    try:
        with caplog.at_level("WARNING", logger="helpdesk.health"):
            result = readiness()
    finally:
        readiness.close()
        engine.dispose()
    assert result.checks["database"].status is HealthStatus.DOWN
    assert "connection refused: 127.0.0.1:" in caplog.text
    assert "s3cr3t-pw" not in caplog.text


def test_an_unmigrated_sqlite_file_has_no_schema(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    failure = classify_database_error(failure_of(url, "SELECT * FROM tickets"), url)
    assert failure is not None
    assert failure.cause == NO_SCHEMA
    assert "helpdesk db upgrade" in failure.detail


def test_a_refused_statement_is_not_a_database_failure(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
            connection.execute(sa.text("INSERT INTO t VALUES (1)"))
        with pytest.raises(sa.exc.IntegrityError) as caught, engine.begin() as connection:
            connection.execute(sa.text("INSERT INTO t VALUES (1)"))
    finally:
        engine.dispose()
    assert classify_database_error(caught.value, url) is None
    assert classify_database_error(ValueError("nothing to do with it")) is None


def test_authentication_by_sqlstate_class_28() -> None:
    error = sqlite3.OperationalError("whatever the wording")
    error.sqlstate = "28P01"  # type: ignore[attr-defined]
    failure = classify_database_error(error)
    assert failure == DatabaseFailure(AUTHENTICATION, "whatever the wording")
    assert not failure.transient


def test_a_missing_driver_names_the_extra() -> None:
    failure = classify_database_error(
        ModuleNotFoundError("No module named 'psycopg'", name="psycopg")
    )
    assert failure is not None
    assert failure.cause == MISSING_DRIVER
    assert failure.detail.endswith("pip install 'helpdesk[postgres]'")
    assert classify_database_error(ModuleNotFoundError("x", name="yaml")) is None
    assert missing_driver("sqlite:///x.db") is None
    assert missing_driver(refused_url()) is None  # psycopg is installed here


def test_redact_hides_passwords_of_any_url() -> None:
    text = "could not use postgresql+psycopg://app:pa:ss@db:5432/x and redis://:tok@r:6379/0"
    assert (
        redact(text) == "could not use postgresql+psycopg://***@db:5432/x and redis://***@r:6379/0"
    )


def test_the_cli_names_the_cause_behind_dependency_unavailable() -> None:
    url = refused_url()
    try:
        try:
            raise failure_of(url)
        except sa.exc.OperationalError as exc:
            raise DependencyUnavailable("the database is unavailable", "database") from exc
    except DependencyUnavailable as wrapped:
        line = describe_failure(wrapped, url)
    assert line is not None
    assert line.startswith("database: connection refused: 127.0.0.1:")
    assert describe_failure(RuntimeError("a bug")) is None
