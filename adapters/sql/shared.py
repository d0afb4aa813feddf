"""Helpers more than one SQL repository module uses.

Id chunks; the literal state comparison and the lease test of the outbox and the deliveries;
the update of a row at the version it read; the row mappers of what more than one module reads
(users and staff profiles with a session, events and webhooks with a claimed delivery). The
refusals of a write are declared with ``adapters.sql.refusals``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from helpdesk_core.domain.entities import StaffMember, User
from helpdesk_core.domain.events import Event
from helpdesk_core.domain.values import StaffRole
from helpdesk_core.ports.events import Webhook

# Ids per IN (...) list: far below every driver's limit on bound parameters.
CHUNK = 500


def chunks(ids: Iterable[uuid.UUID]) -> Iterator[list[uuid.UUID]]:
    """The distinct ``ids``, in order, in lists of at most ``CHUNK``."""
    unique = list(dict.fromkeys(ids))
    for start in range(0, len(unique), CHUNK):
        yield unique[start : start + CHUNK]


# ---------------------------------------------------------------- leases (outbox, deliveries)


def state_is(column: sa.ColumnElement[Any], state: str) -> sa.ColumnElement[bool]:
    """``column = '<state>'`` with a literal, matching the partial indexes' predicate.

    A literal ``'pending'`` (not a bound parameter) lets PostgreSQL's planner use the partial
    indexes over pending rows.
    """
    return column == sa.literal_column(f"'{state}'", sa.String())


def lease_free(table: sa.Table, now: datetime | sa.BindParameter[Any]) -> sa.ColumnElement[bool]:
    """Not leased, or the lease ended (a worker that died gives its rows back); ``now``: a
    time, or the parameter a prebuilt statement binds it to."""
    return sa.or_(table.c.locked_until.is_(None), table.c.locked_until <= now)


# ---------------------------------------------------------------- optimistic locking


def update_at_version(table: sa.Table, key: sa.Column[Any]) -> sa.Update:
    """The prebuilt UPDATE of one row at the version its writer read: ``key`` bound as
    ``key_``, the version read as ``read_version``; the columns it sets come with each call's
    values (a ``CompiledStatement``'s ``values_per_call``). It matches no row once another
    writer moved the version on."""
    return sa.update(table).where(
        key == sa.bindparam("key_"), table.c.version == sa.bindparam("read_version")
    )


# ---------------------------------------------------------------- rows more than one module reads


def user_from_row(row: sa.Row[Any]) -> User:
    return User(
        id=row.id,
        email=row.email,
        display_name=row.display_name,
        password_hash=row.password_hash,
        created_at=row.created_at,
        updated_at=row.updated_at,
        is_active=bool(row.is_active),
        version=row.version,
        external_id=row.external_id,
    )


def staff_from_row(row: sa.Row[Any]) -> StaffMember:
    return StaffMember(
        user_id=row.user_id,
        role=StaffRole(row.role),
        department_id=row.department_id,
        team_id=row.team_id,
        is_active=bool(row.is_active),
        created_at=row.created_at,
        updated_at=row.updated_at,
        version=row.version,
        signature=row.signature,
    )


def event_from_row(row: Any) -> Event:
    return Event(
        id=row.id,
        type=row.type,
        occurred_at=row.occurred_at,
        ordering_key=row.ordering_key,
        data=json.loads(row.payload),
        actor_id=row.actor_id,
        version=int(row.version),
    )


def webhook_from_row(row: Any) -> Webhook:
    return Webhook(
        id=row.id,
        url=row.url,
        events=tuple(json.loads(row.events)),
        secret=row.secret,
        created_at=row.created_at,
        updated_at=row.updated_at,
        description=row.description,
        is_active=bool(row.is_active),
        consecutive_failures=int(row.consecutive_failures),
        disabled_reason=row.disabled_reason,
        version=int(row.version),
    )
