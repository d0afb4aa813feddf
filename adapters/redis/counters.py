"""Round-robin positions and queue counts in Redis."""

from __future__ import annotations

import json
import logging
import uuid

import redis

from helpdesk_core.ports.tickets import QueueCounts
from helpdesk_core.ports.uow import Transaction

log = logging.getLogger("helpdesk.redis")


class RedisRoundRobin:
    """INCR per key: atomic across every process and host. Errors propagate (see fallback)."""

    def __init__(self, client: redis.Redis, prefix: str = "helpdesk:") -> None:
        self._client = client
        self._prefix = prefix

    def next_value(self, key: str, tx: Transaction) -> int:
        return int(self._client.incr(f"{self._prefix}{key}"))


class RedisQueueCountsCache:
    """Queue counts as JSON under ``{prefix}counts:{department}:{generation}`` with a TTL."""

    def __init__(self, client: redis.Redis, ttl_seconds: int, prefix: str = "helpdesk:") -> None:
        self._client = client
        self._ttl = ttl_seconds
        self._prefix = prefix

    def _key(self, department_id: uuid.UUID | None, generation: int) -> str:
        return f"{self._prefix}counts:{department_id or 'unrouted'}:{int(generation)}"

    def get_counts(self, department_id: uuid.UUID | None, generation: int) -> QueueCounts | None:
        try:
            raw = self._client.get(self._key(department_id, generation))
            if raw is None:
                return None
            data = json.loads(raw)
            return QueueCounts(
                by_status={str(k): int(v) for k, v in data["by_status"].items()},
                open_by_priority={str(k): int(v) for k, v in data["open_by_priority"].items()},
                open_unassigned=int(data["open_unassigned"]),
                open_by_assignee={str(k): int(v) for k, v in data["open_by_assignee"].items()},
            )
        except (redis.RedisError, ValueError, KeyError, TypeError, AttributeError) as exc:
            log.warning("queue counts cache read failed: %s", type(exc).__name__)
            return None

    def set_counts(
        self, department_id: uuid.UUID | None, generation: int, counts: QueueCounts
    ) -> None:
        payload = json.dumps(
            {
                "by_status": counts.by_status,
                "open_by_priority": counts.open_by_priority,
                "open_unassigned": counts.open_unassigned,
                "open_by_assignee": counts.open_by_assignee,
            }
        )
        try:
            self._client.set(self._key(department_id, generation), payload, ex=self._ttl)
        except redis.RedisError as exc:
            log.warning("queue counts cache write failed: %s", type(exc).__name__)
