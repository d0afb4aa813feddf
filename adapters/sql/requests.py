"""Stored answers in SQL (``request_answers``): a claim is an INSERT ... ON CONFLICT DO
NOTHING on the key, so of two concurrent claims one inserts and the other, once the first
commits, reads its row."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from adapters.sql.tables import request_answers
from helpdesk_core.ports.requests import StoredAnswer

_KEY = (
    request_answers.c.user_id == sa.bindparam("owner"),
    request_answers.c.key == sa.bindparam("the_key"),
)


class SqlRequestAnswerRepository:
    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection

    def claim(
        self, user_id: uuid.UUID, key: str, fingerprint: str, at: datetime
    ) -> StoredAnswer | None:
        insert = (
            postgresql.insert if self._connection.dialect.name == "postgresql" else sqlite.insert
        )
        statement = (
            insert(request_answers)
            .values(user_id=user_id, key=key, fingerprint=fingerprint, created_at=at)
            .on_conflict_do_nothing(index_elements=["user_id", "key"])
            .returning(request_answers.c.key)
        )
        if self._connection.execute(statement).first() is not None:  # this call inserted it
            return None
        row = self._connection.execute(
            sa.select(request_answers.c.fingerprint, request_answers.c.answer).where(*_KEY),
            {"owner": user_id, "the_key": key},
        ).one()
        return StoredAnswer(row.fingerprint, row.answer)

    def store(self, user_id: uuid.UUID, key: str, answer: dict[str, Any]) -> None:
        self._connection.execute(
            sa.update(request_answers).where(*_KEY).values(answer=answer),
            {"owner": user_id, "the_key": key},
        )
