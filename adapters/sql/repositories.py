"""SQL repositories: each takes the transaction's Connection and maps rows explicitly."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from adapters.sql.tables import counters


class SqlCounterRepository:
    """Counters as rows, incremented by one atomic upsert (row lock on PostgreSQL)."""

    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection

    def next_value(self, name: str) -> int:
        dialect = postgresql if self._connection.dialect.name == "postgresql" else sqlite
        statement = (
            dialect.insert(counters)
            .values(name=name, value=1)
            .on_conflict_do_update(
                index_elements=[counters.c.name], set_={"value": counters.c.value + 1}
            )
            .returning(counters.c.value)
        )
        return int(self._connection.execute(statement).scalar_one())

    def current_value(self, name: str) -> int:
        value = self._connection.execute(
            sa.select(counters.c.value).where(counters.c.name == name)
        ).scalar_one_or_none()
        return int(value or 0)
