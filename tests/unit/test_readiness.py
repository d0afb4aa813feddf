"""Readiness: the dependency map and its summary, on probes whose answers the test sets."""

from __future__ import annotations

import logging
import time

import pytest

from adapters.memory.health import StaticProbe
from helpdesk_core.usecases.health import CheckReadiness, HealthStatus


def test_all_dependencies_answering_is_ok() -> None:
    readiness = CheckReadiness([StaticProbe("database"), StaticProbe("redis", required=False)], 1)()
    assert readiness.status is HealthStatus.OK
    assert {name: r.status for name, r in readiness.checks.items()} == {
        "database": HealthStatus.OK,
        "redis": HealthStatus.OK,
    }
    assert all(r.latency_ms >= 0 for r in readiness.checks.values())


def test_an_optional_dependency_down_is_degraded() -> None:
    redis = StaticProbe("redis", required=False)
    redis.fail_with = ConnectionError("refused")
    readiness = CheckReadiness([StaticProbe("database"), redis], 1)()
    assert readiness.status is HealthStatus.DEGRADED
    assert readiness.checks["redis"].status is HealthStatus.DOWN
    assert readiness.checks["redis"].error == "ConnectionError (details in the log)"


def test_a_required_dependency_down_is_down() -> None:
    database = StaticProbe("database")
    database.fail_with = OSError("connection refused\nsecond line never shown")
    readiness = CheckReadiness([database], 1)()
    assert readiness.status is HealthStatus.DOWN
    assert readiness.checks["database"].error == "OSError (details in the log)"


# What a driver says when the database is away: its host, user and database name.
DRIVER_MESSAGE = (
    'connection to server at "db-primary.internal" (10.1.2.3), port 5432 failed: '
    'FATAL:  password authentication failed for user "helpdesk_app" database "helpdesk_prod"'
)
LEAKS = ("db-primary.internal", "10.1.2.3", "5432", "helpdesk_app", "helpdesk_prod")


def test_a_failure_reports_no_host_user_or_database_and_logs_them_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    database = StaticProbe("database")
    database.fail_with = ConnectionError(DRIVER_MESSAGE)
    check = CheckReadiness([database], 1)
    with caplog.at_level(logging.INFO, logger="helpdesk.health"):
        first, second = check(), check()
        database.fail_with = None
        third = check()
    check.close()
    for readiness in (first, second):
        error = readiness.checks["database"].error or ""
        assert error == "ConnectionError (details in the log)"
        assert not [leak for leak in LEAKS if leak in error]
    assert third.status is HealthStatus.OK
    logged = [r.getMessage() for r in caplog.records if r.name == "helpdesk.health"]
    assert len(logged) == 2, logged  # the failure once (not at every probe), then the return
    assert "db-primary.internal" in logged[0]
    assert "helpdesk_prod" in logged[0]
    assert "answers again" in logged[1]


def test_a_hanging_dependency_is_down_within_the_timeout_and_not_probed_twice() -> None:
    database = StaticProbe("database")
    database.hang()
    check = CheckReadiness([database], 0.2)
    try:
        started = time.perf_counter()
        first = check()
        assert time.perf_counter() - started < 1.0
        assert first.status is HealthStatus.DOWN
        assert first.checks["database"].error == "no answer within the timeout"
        second = check()
        assert second.checks["database"].error == "an earlier check is still waiting for an answer"
        assert database.calls == 1
        database.release.set()
        time.sleep(0.05)
        assert check().status is HealthStatus.OK
    finally:
        database.release.set()
        check.close()


def test_a_dependency_left_out_of_the_configuration_is_reported_not_configured() -> None:
    readiness = CheckReadiness([StaticProbe("database")], 1, ["redis"])()
    assert readiness.status is HealthStatus.OK
    assert readiness.checks["redis"].status is HealthStatus.NOT_CONFIGURED
    assert readiness.checks["redis"].required is False
