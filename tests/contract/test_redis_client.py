"""The Redis client and its readiness probe, against a real Redis and a dead port."""

from __future__ import annotations

import socket
import time

import falcon.testing
import pytest

from adapters.redis.client import RedisProbe, create_client
from entrypoints.bootstrap import bootstrap
from entrypoints.http.app import create_app
from tests.conftest import make_settings
from tests.support.services import redis_url


def dead_redis_url() -> str:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


@pytest.mark.redis
def test_the_probe_answers_when_redis_does() -> None:
    client = create_client(redis_url())
    try:
        RedisProbe(client).check()
        assert client.ping() is True
    finally:
        client.close()


def test_a_dead_redis_fails_the_probe_fast() -> None:
    client = create_client(dead_redis_url(), timeout_seconds=0.3)
    started = time.perf_counter()
    with pytest.raises(Exception, match=r"(?i)connect"):
        RedisProbe(client).check()
    assert time.perf_counter() - started < 2.0


@pytest.mark.redis
def test_readiness_lists_a_configured_redis_as_ok() -> None:
    services = bootstrap(make_settings(redis_url=redis_url()))
    try:
        result = falcon.testing.TestClient(create_app(services)).simulate_get("/health/ready")
    finally:
        services.close()
    assert result.status_code == 200
    assert result.json["checks"]["redis"]["status"] == "ok"
    assert result.json["checks"]["redis"]["required"] is False


def test_readiness_is_degraded_not_down_while_redis_is_unreachable() -> None:
    services = bootstrap(make_settings(redis_url=dead_redis_url(), redis_timeout=0.3))
    try:
        result = falcon.testing.TestClient(create_app(services)).simulate_get("/health/ready")
    finally:
        services.close()
    assert result.status_code == 200
    assert result.json["status"] == "degraded"
    assert result.json["checks"]["redis"]["status"] == "down"
    assert result.json["checks"]["database"]["status"] == "ok"
