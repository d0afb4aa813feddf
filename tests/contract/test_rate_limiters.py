"""The rate limiter's contract, run over memory, SQL (SQLite, PostgreSQL), Redis and the
Redis-then-SQL fallback with Redis down."""

from __future__ import annotations

import logging
import socket
import time
import uuid
from collections.abc import Iterator

import pytest
import redis
import sqlalchemy as sa

from adapters.fallback import FallbackRateLimiter
from adapters.memory.cache import MemoryRateLimiter
from adapters.redis.cache import RedisRateLimiter
from adapters.redis.client import create_client
from adapters.sql.engine import create_engine
from adapters.sql.ratelimit import SqlRateLimiter
from adapters.sql.tables import rate_limit_events
from helpdesk_core.domain.errors import DependencyUnavailable
from helpdesk_core.ports.cache import RateLimiter
from tests.support.services import redis_url

WINDOW = 60


def dead_redis_url() -> str:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test's own in the real Redis; its keys are deleted afterwards."""
    client = create_client(redis_url())
    prefix = f"helpdesk-test:{uuid.uuid4().hex}:"
    yield prefix
    try:
        keys = list(client.scan_iter(f"{prefix}*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture
def sql_engine(sqlite_url: str) -> Iterator[sa.Engine]:
    engine = create_engine(sqlite_url)
    yield engine
    engine.dispose()


LIMITERS = [
    pytest.param("memory", id="memory"),
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    pytest.param("redis", id="redis", marks=pytest.mark.redis),
    pytest.param("fallback", id="redis-down-then-sqlite"),
]


@pytest.fixture(params=LIMITERS)
def limiter(request: pytest.FixtureRequest) -> Iterator[RateLimiter]:
    kind = request.param
    if kind == "memory":
        yield MemoryRateLimiter()
    elif kind in {"sqlite", "postgres"}:
        url = request.getfixturevalue("sqlite_url" if kind == "sqlite" else "postgres_db_url")
        engine = create_engine(url)
        yield SqlRateLimiter(engine)
        engine.dispose()
    elif kind == "redis":
        client = create_client(redis_url())
        yield RedisRateLimiter(client, prefix=request.getfixturevalue("redis_prefix"))
        client.close()
    else:
        dead = create_client(dead_redis_url(), timeout_seconds=0.3)
        engine = request.getfixturevalue("sql_engine")
        yield FallbackRateLimiter(RedisRateLimiter(dead), SqlRateLimiter(engine))
        dead.close()


def hits(limiter: RateLimiter, key: str, count: int, window: int = WINDOW) -> None:
    for _ in range(count):
        limiter.hit(key, window)


# ------------------------------------------------------------------ the contract


def test_an_unknown_key_may_go_ahead(limiter: RateLimiter) -> None:
    assert limiter.retry_after("login:account:nobody@example.com", 3, WINDOW) == 0


def test_under_the_limit_there_is_no_wait(limiter: RateLimiter) -> None:
    hits(limiter, "k", 2)
    assert limiter.retry_after("k", 3, WINDOW) == 0


def test_at_the_limit_the_wait_is_positive_and_at_most_the_window(limiter: RateLimiter) -> None:
    hits(limiter, "k", 3)
    wait = limiter.retry_after("k", 3, WINDOW)
    assert 0 < wait <= WINDOW
    # a lower limit for the same events waits as well
    assert 0 < limiter.retry_after("k", 1, WINDOW) <= WINDOW


def test_keys_are_independent(limiter: RateLimiter) -> None:
    hits(limiter, "login:account:a@example.com", 3)
    assert limiter.retry_after("login:account:b@example.com", 3, WINDOW) == 0
    assert limiter.retry_after("login:address:203.0.113.7", 3, WINDOW) == 0
    assert limiter.retry_after("login:account:a@example.com", 3, WINDOW) > 0


def test_reset_forgets_the_key_only(limiter: RateLimiter) -> None:
    hits(limiter, "a", 3)
    hits(limiter, "b", 3)
    limiter.reset("a")
    assert limiter.retry_after("a", 3, WINDOW) == 0
    assert limiter.retry_after("b", 3, WINDOW) > 0
    limiter.reset("never-seen")  # resetting an unknown key is fine


def test_events_older_than_the_window_stop_counting(limiter: RateLimiter) -> None:
    hits(limiter, "k", 2, window=1)
    assert 0 < limiter.retry_after("k", 2, 1) <= 1
    time.sleep(1.1)
    assert limiter.retry_after("k", 2, 1) == 0
    limiter.hit("k", 1)  # counting starts afresh
    assert limiter.retry_after("k", 2, 1) == 0
    assert limiter.retry_after("k", 1, 1) == 1


def test_keys_with_odd_characters_are_kept_apart(limiter: RateLimiter) -> None:
    odd = "login:account:o'brien+tag@exämple.com;--*"
    hits(limiter, odd, 2)
    assert limiter.retry_after(odd, 2, WINDOW) > 0
    assert limiter.retry_after("login:account:o'brien", 2, WINDOW) == 0


# ------------------------------------------------------------------ per adapter


def test_the_memory_limiter_waits_until_enough_events_leave_the_window() -> None:
    now = [1000.0]
    limiter = MemoryRateLimiter(clock=lambda: now[0])
    limiter.hit("k", 10)  # t=1000
    now[0] = 1006.0
    limiter.hit("k", 10)  # t=1006
    limiter.hit("k", 10)
    # three events, limit two: blocked until the first of the newest two leaves (1016)
    assert limiter.retry_after("k", 2, 10) == 10
    now[0] = 1010.5  # the oldest left
    assert limiter.retry_after("k", 2, 10) == 6
    assert limiter.retry_after("k", 3, 10) == 0
    now[0] = 1016.0
    assert limiter.retry_after("k", 1, 10) == 0


def test_the_memory_limiter_forgets_idle_keys() -> None:
    now = [0.0]
    limiter = MemoryRateLimiter(clock=lambda: now[0])
    for number in range(MemoryRateLimiter._SWEEP_EVERY - 1):
        limiter.hit(f"address:{number}", 5)
    now[0] = 100.0
    limiter.hit("fresh", 5)  # the sweeping hit
    assert list(limiter._events) == ["fresh"]


def test_the_sql_limiter_drops_rows_that_left_the_window(sql_engine: sa.Engine) -> None:
    limiter = SqlRateLimiter(sql_engine)
    hits(limiter, "k", 3, window=1)
    hits(limiter, "other", 1, window=1)
    time.sleep(1.1)
    limiter.hit("k", 1)
    with sql_engine.connect() as connection:
        rows = (
            connection.execute(sa.select(rate_limit_events.c.key).order_by(rate_limit_events.c.key))
            .scalars()
            .all()
        )
    assert rows == ["k", "other"]  # the other key is left for its own next hit


def test_the_redis_limiter_reports_redis_failures_as_unavailable() -> None:
    client = create_client(dead_redis_url(), timeout_seconds=0.3)
    limiter = RedisRateLimiter(client)
    try:
        for call in (
            lambda: limiter.retry_after("k", 3, WINDOW),
            lambda: limiter.hit("k", WINDOW),
            lambda: limiter.reset("k"),
        ):
            with pytest.raises(DependencyUnavailable) as caught:
                call()
            assert caught.value.dependency == "redis"
            assert isinstance(caught.value.__cause__, redis.exceptions.RedisError)
    finally:
        client.close()


class _BrokenLimiter(MemoryRateLimiter):
    """A primary with a bug: it raises something that is not an outage."""

    def retry_after(self, key: str, limit: int, window_seconds: int) -> int:
        raise TypeError("a bug in the primary")

    def hit(self, key: str, window_seconds: int) -> None:
        raise TypeError("a bug in the primary")


def test_the_fallback_never_hides_a_bug_of_the_primary() -> None:
    backup = MemoryRateLimiter()
    limiter = FallbackRateLimiter(_BrokenLimiter(), backup)
    with pytest.raises(TypeError, match="a bug"):
        limiter.retry_after("k", 2, WINDOW)
    with pytest.raises(TypeError, match="a bug"):
        limiter.hit("k", WINDOW)
    assert backup.retry_after("k", 1, WINDOW) == 0  # nothing was counted behind its back


@pytest.mark.redis
def test_the_redis_limiter_expires_its_keys(redis_prefix: str) -> None:
    client = create_client(redis_url())
    try:
        RedisRateLimiter(client, prefix=redis_prefix).hit("k", WINDOW)
        ttl_ms = client.pttl(f"{redis_prefix}ratelimit:k")
    finally:
        client.close()
    assert 0 < ttl_ms <= (WINDOW + 1) * 1000


def test_the_fallback_warns_and_counts_in_the_fallback(caplog: pytest.LogCaptureFixture) -> None:
    dead = create_client(dead_redis_url(), timeout_seconds=0.3)
    backup = MemoryRateLimiter()
    limiter = FallbackRateLimiter(RedisRateLimiter(dead), backup)
    try:
        with caplog.at_level(logging.WARNING, logger="adapters.fallback"):
            hits(limiter, "k", 2)
            assert limiter.retry_after("k", 2, WINDOW) > 0
    finally:
        dead.close()
    assert backup.retry_after("k", 2, WINDOW) > 0
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 3
    assert "fallback" in warnings[0].getMessage()


def test_the_fallback_uses_only_the_primary_while_it_works() -> None:
    primary, backup = MemoryRateLimiter(), MemoryRateLimiter()
    limiter = FallbackRateLimiter(primary, backup)
    hits(limiter, "k", 2)
    assert limiter.retry_after("k", 2, WINDOW) > 0
    assert primary.retry_after("k", 2, WINDOW) > 0
    assert backup.retry_after("k", 1, WINDOW) == 0
    limiter.reset("k")
    assert primary.retry_after("k", 1, WINDOW) == 0
