"""The Redis client, built to fail fast: a dead Redis must never hang a request."""

from __future__ import annotations

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry


def create_client(url: str, timeout_seconds: float = 0.5) -> redis.Redis:
    """A lazily connecting client with short timeouts and no retry loop.

    ``redis.Redis.from_url`` already retries nothing; the explicit Retry keeps it so across
    versions. Query parameters in ``url`` (``?socket_timeout=...``) still win.
    """
    return redis.Redis.from_url(
        url,
        socket_timeout=timeout_seconds,
        socket_connect_timeout=timeout_seconds,
        retry=Retry(NoBackoff(), 0),
        health_check_interval=30,
        decode_responses=True,
    )


class RedisProbe:
    """PING; Redis is optional (the service degrades to SQL fallbacks without it)."""

    name = "redis"

    def __init__(self, client: redis.Redis, required: bool = False) -> None:
        self._client = client
        self.required = required

    def check(self) -> None:
        if not self._client.ping():
            raise ConnectionError("redis did not answer PONG")
