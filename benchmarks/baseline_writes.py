"""The raw baseline's writes besides the ticket itself: ids, history, the outbox, the round
robin (split from baseline_app.py, which keeps the routes)."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Sequence
from datetime import datetime
from functools import partial
from typing import Any

import psycopg

from benchmarks.baseline_json import (
    T_ASSIGNEE,
    T_DEPARTMENT,
    T_ID,
    T_TEAM,
    T_VERSION,
    _event_ticket,
)
from benchmarks.baseline_sql import (
    AGENTS_SQL,
    BUMP_COUNTER_SQL,
    INSERT_HISTORY_SQL,
    INSERT_OUTBOX_LOCKED_SQL,
    INSERT_OUTBOX_SQL,
    ORDERING_LOCK_NAMESPACE,
)


def new_id() -> uuid.UUID:
    """A time-ordered UUIDv7, like the product's (index locality matters for inserts)."""
    value = (time.time_ns() // 1_000_000 & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= (int.from_bytes(os.urandom(2), "big") & 0xFFF) << 64
    value |= 0b10 << 62
    value |= int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    return uuid.UUID(int=value)


_dumps = partial(json.dumps, ensure_ascii=False, separators=(",", ":"))


def _outbox(
    connection: psycopg.Connection[Any],
    event_type: str,
    ticket: Sequence[Any],
    actor_id: uuid.UUID | None,
    now: datetime,
    *,
    locked: bool = False,
    **extra: Any,
) -> None:
    key = f"ticket:{ticket[T_ID]}"
    payload = _dumps({"ticket": _event_ticket(ticket), **extra})
    row = (new_id(), event_type, 1, key, now, actor_id, payload, "pending", 0, now)
    if locked:  # the transaction already holds the key's lock
        connection.execute(INSERT_OUTBOX_SQL, row, prepare=True)
    else:
        connection.execute(
            INSERT_OUTBOX_LOCKED_SQL, (ORDERING_LOCK_NAMESPACE, key, *row), prepare=True
        )


def _history(
    connection: psycopg.Connection[Any],
    ticket_id: uuid.UUID,
    actor_id: uuid.UUID | None,
    field: str,
    old: str | None,
    new: str | None,
    now: datetime,
) -> None:
    connection.execute(
        INSERT_HISTORY_SQL, (new_id(), ticket_id, actor_id, field, old, new, now), prepare=True
    )


def _round_robin_choice(connection: psycopg.Connection[Any], ticket: list[Any]) -> list[Any]:
    """The ticket assigned by round robin over the department's active agents (the counters
    row: the SQL way), one version on, before it is stored (the product's
    ``_round_robin_choice``: the INSERT writes the assigned row, no UPDATE follows)."""
    department_id = ticket[T_DEPARTMENT]
    agents = sorted(row[0] for row in connection.execute(AGENTS_SQL, (department_id, "agent")))
    if not agents:
        return ticket
    key = f"round-robin:department:{department_id}"
    position = connection.execute(BUMP_COUNTER_SQL, (key, 1, 1), prepare=True).fetchone()
    chosen = agents[(int(position[0] if position else 1) - 1) % len(agents)]
    updated = list(ticket)
    updated[T_ASSIGNEE], updated[T_VERSION] = chosen, ticket[T_VERSION] + 1
    return updated


def _record_assignment(
    connection: psycopg.Connection[Any], ticket: list[Any], assigned: list[Any], now: datetime
) -> None:
    """The assignment's history and event, after the creation's."""
    _history(connection, ticket[T_ID], None, "assignee", None, str(assigned[T_ASSIGNEE]), now)
    _outbox(
        connection,
        "ticket.assigned",
        assigned,
        None,
        now,
        locked=True,  # the ticket's creation took it
        previous_assignee_id=None,
        previous_team_id=str(ticket[T_TEAM]) if ticket[T_TEAM] else None,
    )
