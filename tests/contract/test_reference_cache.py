"""The reference cache's contract over memory and Redis, and Redis failing: a miss, never an
error."""

from __future__ import annotations

import logging
import socket
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import cattrs
import pytest

from adapters.memory.cache import MemoryReferenceCache
from adapters.redis.cache import RedisReferenceCache, make_redis_converter
from adapters.redis.client import create_client
from helpdesk_core.domain.entities import Department, Team
from helpdesk_core.ports.cache import OrgSnapshot, ReferenceCache
from tests.support.services import redis_url


def dead_redis_url() -> str:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


def org_snapshot(name: str = "Billing") -> OrgSnapshot:
    created = datetime(2024, 5, 1, 9, 30, 15, 123456, tzinfo=UTC)
    updated = datetime(2024, 5, 2, 11, 0, tzinfo=timezone(timedelta(hours=2)))
    billing = Department(
        id=uuid.uuid4(),
        name=name,
        created_at=created,
        updated_at=updated,
        auto_assign=True,
        version=3,
    )
    support = Department(
        id=uuid.uuid4(),
        name="Technical support",
        created_at=created,
        updated_at=created,
        is_active=False,
    )
    team = Team(
        id=uuid.uuid4(),
        department_id=billing.id,
        name="Refunds",
        created_at=created,
        updated_at=updated,
        version=2,
    )
    return OrgSnapshot(departments=(billing, support), teams=(team,))


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
def cache(request: pytest.FixtureRequest) -> Iterator[ReferenceCache]:
    if request.param == "memory":
        yield MemoryReferenceCache()
        return
    client = create_client(redis_url())
    prefix = request.getfixturevalue("redis_prefix")
    yield RedisReferenceCache(client, make_redis_converter(), ttl_seconds=60, prefix=prefix)
    client.close()


# ------------------------------------------------------------------ the contract


def test_a_miss_is_none(cache: ReferenceCache) -> None:
    assert cache.get_org(1) is None


def test_a_snapshot_comes_back_equal(cache: ReferenceCache) -> None:
    snapshot = org_snapshot()
    cache.set_org(7, snapshot)
    assert cache.get_org(7) == snapshot


def test_an_empty_organization_is_cached_too(cache: ReferenceCache) -> None:
    cache.set_org(0, OrgSnapshot(departments=(), teams=()))
    assert cache.get_org(0) == OrgSnapshot(departments=(), teams=())


def test_another_generation_is_a_miss(cache: ReferenceCache) -> None:
    cache.set_org(7, org_snapshot())
    assert cache.get_org(8) is None
    assert cache.get_org(6) is None


def test_a_newer_generation_is_served_after_it_is_set(cache: ReferenceCache) -> None:
    cache.set_org(7, org_snapshot("Billing"))
    newer = org_snapshot("Accounts")
    cache.set_org(8, newer)
    assert cache.get_org(8) == newer


# ------------------------------------------------------------------ per adapter


def test_memory_keeps_only_the_newest_generation() -> None:
    cache = MemoryReferenceCache()
    old, new = org_snapshot("Old"), org_snapshot("New")
    cache.set_org(8, new)
    cache.set_org(7, old)  # a slow reader finishing late must not push the newer one out
    assert cache.get_org(8) == new
    assert cache.get_org(7) is None


@pytest.mark.redis
def test_redis_stores_json_under_the_generation_with_a_ttl(redis_prefix: str) -> None:
    client = create_client(redis_url())
    try:
        cache = RedisReferenceCache(client, make_redis_converter(), 60, prefix=redis_prefix)
        snapshot = org_snapshot()
        cache.set_org(5, snapshot)
        raw = client.get(f"{redis_prefix}org:5")
        ttl = client.ttl(f"{redis_prefix}org:5")
    finally:
        client.close()
    assert isinstance(raw, str)
    assert str(snapshot.departments[0].id) in raw
    assert "2024-05-01T09:30:15.123456+00:00" in raw
    assert 0 < ttl <= 60


@pytest.mark.redis
@pytest.mark.parametrize(
    "stored",
    [
        "not json {",
        "[]",
        '{"departments": [], "teams": [], "surprise": 1}',
        '{"departments": [{"id": "not-a-uuid"}], "teams": []}',
        '{"departments": [{"id": "7c9e6679-7425-40de-944b-e07fc1f90ae7", "name": "B",'
        ' "created_at": "2024-05-01T09:30:00", "updated_at": "2024-05-01T09:30:00"}],'
        ' "teams": []}',
    ],
    ids=["not-json", "a-list", "extra-key", "bad-uuid", "naive-datetime"],
)
def test_redis_reads_a_corrupt_value_as_a_miss(
    redis_prefix: str, stored: str, caplog: pytest.LogCaptureFixture
) -> None:
    client = create_client(redis_url())
    try:
        client.set(f"{redis_prefix}org:3", stored)
        cache = RedisReferenceCache(client, make_redis_converter(), 60, prefix=redis_prefix)
        with caplog.at_level(logging.WARNING, logger="adapters.redis.cache"):
            assert cache.get_org(3) is None
        snapshot = org_snapshot()
        cache.set_org(3, snapshot)  # the next set repairs it
        assert cache.get_org(3) == snapshot
    finally:
        client.close()
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1


def test_redis_down_is_a_miss_and_a_silent_set(caplog: pytest.LogCaptureFixture) -> None:
    client = create_client(dead_redis_url(), timeout_seconds=0.3)
    cache = RedisReferenceCache(client, make_redis_converter(), 60)
    try:
        with caplog.at_level(logging.WARNING, logger="adapters.redis.cache"):
            assert cache.get_org(1) is None
            cache.set_org(1, org_snapshot())
    finally:
        client.close()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2  # one per call


def test_the_redis_converter_round_trips_and_refuses_naive_timestamps() -> None:
    converter = make_redis_converter()
    snapshot = org_snapshot()
    assert converter.loads(converter.dumps(snapshot, OrgSnapshot), OrgSnapshot) == snapshot
    naive = converter.dumps(snapshot, OrgSnapshot).replace("+00:00", "")
    with pytest.raises(cattrs.BaseValidationError) as caught:
        converter.loads(naive, OrgSnapshot)
    errors = cattrs.transform_error(caught.value)
    assert "invalid value for type, expected datetime @ $.departments[0].created_at" in errors
