"""Idempotency records (SQLAlchemy Core): which ticket a user's Idempotency-Key opened.

Read and written once per opening that sends a key, off the hot paths: through
``Connection.execute``. The conventions are those of ``adapters.sql`` (its package docstring).
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa

from adapters.sql.refusals import Refusals, primary_key, reference, refused_as_conflict
from adapters.sql.tables import idempotency_keys
from helpdesk_core.ports.tickets import IdempotencyRecord


def _idempotency_from_row(row: Any) -> IdempotencyRecord:
    return IdempotencyRecord(
        user_id=row.user_id,
        key=row.key,
        fingerprint=row.fingerprint,
        ticket_id=row.ticket_id,
        created_at=row.created_at,
    )


_RECORD_ADDED = Refusals[IdempotencyRecord](
    "idempotency record",
    (
        primary_key(idempotency_keys, "this Idempotency-Key was already used"),
        reference(idempotency_keys.c.user_id, "no such user"),
        reference(idempotency_keys.c.ticket_id, "no such ticket"),
    ),
)


class SqlIdempotencyRepository:
    """Records by (user, key), the primary key: a second use of a key is refused."""

    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection

    def get(self, user_id: uuid.UUID, key: str) -> IdempotencyRecord | None:
        query = sa.select(idempotency_keys).where(
            idempotency_keys.c.user_id == user_id, idempotency_keys.c.key == key
        )
        row = self._connection.execute(query).first()
        return _idempotency_from_row(row) if row is not None else None

    def add(self, record: IdempotencyRecord) -> None:
        insert = sa.insert(idempotency_keys).values(
            user_id=record.user_id,
            key=record.key,
            fingerprint=record.fingerprint,
            ticket_id=record.ticket_id,
            created_at=record.created_at,
        )
        with refused_as_conflict(self._connection, _RECORD_ADDED, record):
            self._connection.execute(insert)
