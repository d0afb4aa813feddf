"""The queue counts cache's contract over memory and Redis, and Redis failing: a miss and a
silent set, never an error.

No fallback adapter wraps this cache: it degrades on its own (the port: "misses and failures
alike", a set is "best effort"), and the use case then counts in the database.
"""

from __future__ import annotations

import json
import logging
import socket
import uuid
from collections.abc import Iterator

import pytest

from adapters.memory.cache import MemoryQueueCountsCache
from adapters.redis.client import create_client
from adapters.redis.counters import RedisQueueCountsCache
from helpdesk_core.ports.assignment import QueueCountsCache
from helpdesk_core.ports.tickets import QueueCounts
from tests.support.services import redis_url

BILLING = uuid.UUID("7c9e6679-7425-40de-944b-e07fc1f90ae7")
SUPPORT = uuid.UUID("16fd2706-8baf-433b-82eb-8c7fada847da")
AGENT = "1b4e28ba-2fa1-11d2-883f-0016d3cca427"


def dead_redis_url() -> str:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


def queue_counts(new: int = 3, unassigned: int = 2) -> QueueCounts:
    return QueueCounts(
        by_status={"new": new, "open": 4, "pending": 1, "resolved": 7, "closed": 12},
        open_by_priority={"low": 0, "normal": new + 3, "high": 2, "urgent": 0},
        open_unassigned=unassigned,
        open_by_assignee={AGENT: 5},
    )


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


CACHES = [
    pytest.param("memory", id="memory"),
    pytest.param("redis", id="redis", marks=pytest.mark.redis),
]


@pytest.fixture(params=CACHES)
def cache(request: pytest.FixtureRequest) -> Iterator[QueueCountsCache]:
    if request.param == "memory":
        yield MemoryQueueCountsCache()
        return
    client = create_client(redis_url())
    prefix = request.getfixturevalue("redis_prefix")
    yield RedisQueueCountsCache(client, ttl_seconds=60, prefix=prefix)
    client.close()


# ------------------------------------------------------------------ the contract


@pytest.mark.parametrize("department", [BILLING, None], ids=["department", "unrouted"])
def test_a_miss_is_none(cache: QueueCountsCache, department: uuid.UUID | None) -> None:
    assert cache.get_counts(department, 1) is None


@pytest.mark.parametrize("department", [BILLING, None], ids=["department", "unrouted"])
def test_counts_come_back_equal_for_their_generation(
    cache: QueueCountsCache, department: uuid.UUID | None
) -> None:
    counts = queue_counts()
    cache.set_counts(department, 7, counts)
    assert cache.get_counts(department, 7) == counts


@pytest.mark.parametrize("generation", [0, 1, 2**53], ids=["zero", "one", "large"])
def test_any_generation_a_counter_hands_out_is_cached(
    cache: QueueCountsCache, generation: int
) -> None:
    cache.set_counts(BILLING, generation, queue_counts())
    assert cache.get_counts(BILLING, generation) == queue_counts()


def test_an_empty_queue_is_cached_too(cache: QueueCountsCache) -> None:
    empty = QueueCounts(by_status={}, open_by_priority={}, open_unassigned=0, open_by_assignee={})
    cache.set_counts(BILLING, 3, empty)
    assert cache.get_counts(BILLING, 3) == empty


def test_another_generation_is_a_miss(cache: QueueCountsCache) -> None:
    cache.set_counts(BILLING, 7, queue_counts())
    assert cache.get_counts(BILLING, 8) is None
    assert cache.get_counts(BILLING, 6) is None


def test_departments_are_cached_apart(cache: QueueCountsCache) -> None:
    cache.set_counts(BILLING, 7, queue_counts(new=1))
    assert cache.get_counts(SUPPORT, 7) is None
    assert cache.get_counts(None, 7) is None  # unrouted is a queue of its own

    cache.set_counts(None, 7, queue_counts(new=2))
    cache.set_counts(SUPPORT, 7, queue_counts(new=3))
    assert cache.get_counts(BILLING, 7) == queue_counts(new=1)
    assert cache.get_counts(None, 7) == queue_counts(new=2)
    assert cache.get_counts(SUPPORT, 7) == queue_counts(new=3)


def test_a_set_overwrites_the_same_generation(cache: QueueCountsCache) -> None:
    cache.set_counts(BILLING, 7, queue_counts(new=1))
    cache.set_counts(BILLING, 7, queue_counts(new=9, unassigned=0))
    assert cache.get_counts(BILLING, 7) == queue_counts(new=9, unassigned=0)


def test_a_newer_generation_is_served_after_it_is_set(cache: QueueCountsCache) -> None:
    cache.set_counts(BILLING, 7, queue_counts(new=1))
    cache.set_counts(BILLING, 8, queue_counts(new=2))
    assert cache.get_counts(BILLING, 8) == queue_counts(new=2)


def test_a_late_set_of_an_older_generation_leaves_the_newer_one(cache: QueueCountsCache) -> None:
    # A reader that counted before a change and finishes after it must not hide the new counts.
    cache.set_counts(BILLING, 8, queue_counts(new=2))
    cache.set_counts(BILLING, 7, queue_counts(new=1))
    assert cache.get_counts(BILLING, 8) == queue_counts(new=2)


# ------------------------------------------------------------------ per adapter


def test_memory_keeps_only_the_newest_generation_of_each_department() -> None:
    cache = MemoryQueueCountsCache()
    cache.set_counts(BILLING, 8, queue_counts(new=2))
    cache.set_counts(BILLING, 7, queue_counts(new=1))
    cache.set_counts(SUPPORT, 3, queue_counts(new=5))
    assert cache.get_counts(BILLING, 7) is None
    assert cache.get_counts(SUPPORT, 3) == queue_counts(new=5)


@pytest.mark.redis
def test_redis_stores_json_under_the_department_and_generation_with_a_ttl(
    redis_prefix: str,
) -> None:
    client = create_client(redis_url())
    try:
        cache = RedisQueueCountsCache(client, 60, prefix=redis_prefix)
        cache.set_counts(BILLING, 5, queue_counts())
        cache.set_counts(None, 5, queue_counts(new=0))
        raw = client.get(f"{redis_prefix}counts:{BILLING}:5")
        ttl = client.ttl(f"{redis_prefix}counts:{BILLING}:5")
        unrouted = client.get(f"{redis_prefix}counts:unrouted:5")
    finally:
        client.close()
    assert isinstance(raw, str)
    assert json.loads(raw)["open_by_assignee"] == {AGENT: 5}
    assert 0 < ttl <= 60
    assert isinstance(unrouted, str)
    assert json.loads(unrouted)["by_status"]["new"] == 0


@pytest.mark.redis
@pytest.mark.parametrize(
    "stored",
    [
        "not json {",
        "[]",
        "null",
        '{"by_status": {}}',
        '{"by_status": [], "open_by_priority": {}, "open_unassigned": 0, "open_by_assignee": {}}',
        '{"by_status": {"new": "many"}, "open_by_priority": {}, "open_unassigned": 0,'
        ' "open_by_assignee": {}}',
    ],
    ids=["not-json", "a-list", "null", "missing-keys", "list-not-object", "not-a-number"],
)
def test_redis_reads_a_corrupt_value_as_a_miss(
    redis_prefix: str, stored: str, caplog: pytest.LogCaptureFixture
) -> None:
    client = create_client(redis_url())
    try:
        client.set(f"{redis_prefix}counts:{BILLING}:3", stored)
        cache = RedisQueueCountsCache(client, 60, prefix=redis_prefix)
        with caplog.at_level(logging.WARNING, logger="helpdesk.redis"):
            assert cache.get_counts(BILLING, 3) is None
        cache.set_counts(BILLING, 3, queue_counts())  # the next set repairs it
        assert cache.get_counts(BILLING, 3) == queue_counts()
    finally:
        client.close()
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1


def test_redis_down_is_a_miss_and_a_silent_set(caplog: pytest.LogCaptureFixture) -> None:
    client = create_client(dead_redis_url(), timeout_seconds=0.3)
    cache = RedisQueueCountsCache(client, 60)
    try:
        with caplog.at_level(logging.WARNING, logger="helpdesk.redis"):
            assert cache.get_counts(BILLING, 1) is None
            cache.set_counts(BILLING, 1, queue_counts())
            assert cache.get_counts(BILLING, 1) is None
            assert cache.get_counts(None, 1) is None
    finally:
        client.close()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 4  # one per call
