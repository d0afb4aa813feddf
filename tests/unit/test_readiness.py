"""Readiness: the dependency map and its summary, on probes whose answers the test sets."""

from __future__ import annotations

import time

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
    assert readiness.checks["redis"].error == "ConnectionError: refused"


def test_a_required_dependency_down_is_down() -> None:
    database = StaticProbe("database")
    database.fail_with = OSError("connection refused\nsecond line never shown")
    readiness = CheckReadiness([database], 1)()
    assert readiness.status is HealthStatus.DOWN
    assert readiness.checks["database"].error == "OSError: connection refused"


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
