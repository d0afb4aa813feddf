"""The organization cache and the rate limiter on Redis.

The cache is optional: any Redis or decoding failure is a miss (logged), never an error. The
rate limiter's failures propagate, so a ``FallbackRateLimiter`` can switch to SQL for the call.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any, Protocol, TypeVar

import redis
from cattrs.preconf.json import JsonConverter, make_converter
from redis.exceptions import RedisError

from helpdesk_core.domain.errors import DependencyUnavailable
from helpdesk_core.ports.cache import OrgSnapshot

logger = logging.getLogger(__name__)

T = TypeVar("T")


class PayloadConverter(Protocol):
    """What the cache needs of a converter (a cattrs ``JsonConverter`` fits)."""

    def dumps(self, obj: Any, unstructure_as: Any, /) -> str: ...

    def loads(self, data: str | bytes, cl: type[T], /) -> T: ...


def _structure_aware_datetime(value: Any, _type: Any) -> datetime:
    if not isinstance(value, str):
        raise TypeError("expected an ISO 8601 timestamp")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError("a timestamp without an offset")
    return parsed


def _structure_uuid(value: Any, _type: Any) -> uuid.UUID:
    if not isinstance(value, str):
        raise TypeError("expected a UUID string")
    return uuid.UUID(value)


def make_redis_converter() -> JsonConverter:
    """The converter for values kept in Redis: UUIDs as strings, aware ISO 8601 timestamps."""
    converter = make_converter(forbid_extra_keys=True)
    converter.register_unstructure_hook(uuid.UUID, str)
    converter.register_structure_hook(uuid.UUID, _structure_uuid)
    converter.register_unstructure_hook(datetime, datetime.isoformat)
    converter.register_structure_hook(datetime, _structure_aware_datetime)
    return converter


class RedisReferenceCache:
    """A ``ReferenceCache``: the snapshot as JSON under ``{prefix}org:{generation}``, with a TTL.

    The newest snapshot this process saw is also kept in the process, by generation: a hit
    costs no round trip, and it is never stale because the caller asks for the current
    generation. A snapshot that could not be written to Redis (Redis was down) is written
    again on a later hit, at most once every ``SHARE_RETRY_SECONDS``, so once Redis is back
    the shared cache refills for the other processes without waiting for a change.
    """

    SHARE_RETRY_SECONDS = 1.0

    def __init__(
        self,
        client: redis.Redis,
        converter: PayloadConverter,
        ttl_seconds: int,
        prefix: str = "helpdesk:",
    ) -> None:
        self._client = client
        self._converter = converter
        self._ttl = max(1, int(ttl_seconds))
        self._prefix = prefix
        # (generation, snapshot, when to try writing it to Redis again: None once it is there)
        self._local: tuple[int, OrgSnapshot, float | None] | None = None

    def _key(self, generation: int) -> str:
        return f"{self._prefix}org:{int(generation)}"

    def get_org(self, generation: int) -> OrgSnapshot | None:
        local = self._local
        if local is not None and local[0] == generation:
            retry_at = local[2]
            if retry_at is not None and time.monotonic() >= retry_at:
                self._share(generation, local[1])
            return local[1]
        found = self._get_shared(generation)
        if found is not None:
            self._keep(generation, found, shared=True)
        return found

    def _keep(self, generation: int, snapshot: OrgSnapshot, *, shared: bool) -> bool:
        """Keep ``snapshot`` in the process unless a newer one is there; whether it was kept."""
        local = self._local
        if local is not None and local[0] > generation:
            return False
        retry_at = None if shared else time.monotonic() + self.SHARE_RETRY_SECONDS
        self._local = (generation, snapshot, retry_at)
        return True

    def _share(self, generation: int, snapshot: OrgSnapshot) -> None:
        """Write the local snapshot to Redis; on failure, try again after a while."""
        self._keep(generation, snapshot, shared=self._store(generation, snapshot))

    def _get_shared(self, generation: int) -> OrgSnapshot | None:
        key = self._key(generation)
        try:
            raw = self._client.get(key)
        except RedisError as exc:
            logger.warning("reference cache: cannot read %s from Redis: %s", key, exc)
            return None
        if raw is None:
            return None
        try:
            return self._converter.loads(raw, OrgSnapshot)
        except Exception as exc:  # a corrupt or outdated value is a miss; the next set fixes it
            logger.warning("reference cache: ignoring an unreadable value at %s: %s", key, exc)
            return None

    def set_org(self, generation: int, snapshot: OrgSnapshot) -> None:
        local = self._local
        if local is not None and local[0] > generation:
            return  # a reader that raced a change: nobody asks for this generation any more
        self._share(generation, snapshot)

    def _store(self, generation: int, snapshot: OrgSnapshot) -> bool:
        """SET the snapshot with its TTL; whether Redis has it now."""
        key = self._key(generation)
        try:
            payload = self._converter.dumps(snapshot, OrgSnapshot)
        except Exception as exc:  # best effort: a value we cannot encode is simply not cached
            logger.warning("reference cache: cannot encode the snapshot for %s: %s", key, exc)
            return True  # trying again cannot help
        try:
            self._client.set(key, payload, ex=self._ttl)
        except RedisError as exc:
            logger.warning("reference cache: cannot write %s to Redis: %s", key, exc)
            return False
        return True


class RedisRateLimiter:
    """A ``RateLimiter``: a sorted set of event times per key, scored in seconds.

    Times come from this host's ``time.time()`` (hosts are assumed NTP-synchronized; a few
    milliseconds of skew do not matter for windows of seconds to minutes). A Redis failure
    is raised as the port's ``DependencyUnavailable("redis")``; anything else (a bug) as itself.
    """

    def __init__(self, client: redis.Redis, prefix: str = "helpdesk:") -> None:
        self._client = client
        self._prefix = prefix

    def _key(self, key: str) -> str:
        return f"{self._prefix}ratelimit:{key}"

    def retry_after(self, key: str, limit: int, window_seconds: int) -> int:
        now = time.time()
        # The limit-th newest event inside the window: once it leaves, fewer than limit remain.
        with _redis_unavailable():
            found: Any = self._client.zrevrangebyscore(
                self._key(key),
                "+inf",
                f"({now - window_seconds!r}",
                start=max(1, limit) - 1,
                num=1,
                withscores=True,
            )
        if not found:
            return 0
        _member, score = found[0]
        return max(1, math.ceil(float(score) + window_seconds - now))

    def hit(self, key: str, window_seconds: int) -> None:
        now = time.time()
        name = self._key(key)
        pipe = self._client.pipeline(transaction=True)
        pipe.zadd(name, {uuid.uuid4().hex: now})
        pipe.zremrangebyscore(name, "-inf", now - window_seconds)
        pipe.pexpire(name, int(window_seconds * 1000) + 1000)
        with _redis_unavailable():
            pipe.execute()

    def reset(self, key: str) -> None:
        with _redis_unavailable():
            self._client.delete(self._key(key))


@contextlib.contextmanager
def _redis_unavailable() -> Iterator[None]:
    """Redis's own failures as the port's DependencyUnavailable; nothing else is translated,
    so a fallback that takes over on the one never hides the other (a bug)."""
    try:
        yield
    except RedisError as exc:
        raise DependencyUnavailable(f"Redis failed: {type(exc).__name__}", "redis") from exc
