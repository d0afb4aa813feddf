"""Named counters as rows: ticket numbers, round-robin positions, generations, and the
outbox's numbers on SQLite."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from adapters.sql.compiled import CompiledStatement
from adapters.sql.tables import counters


class SqlCounterRepository:
    """Counters as rows, incremented by one atomic upsert (row lock on PostgreSQL)."""

    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection

    def next_value(self, name: str) -> int:
        statement = _COUNTER_NEXT[self._connection.dialect.name == "postgresql"]
        return int(statement.scalar(self._connection, {"name": name}))

    def current_value(self, name: str) -> int:
        value = _COUNTER_VALUE.scalar(self._connection, {"name": name})
        return int(value or 0)


# Statements every request runs, built once: SQLAlchemy then skips building the statement and
# reuses its memoized cache key; only the values change (bound parameters).
# On psycopg they run as compiled statements (adapters/sql/compiled.py): compiled once per
# engine, sent on the driver's cursor.
_COUNTER_VALUE = CompiledStatement(
    sa.select(counters.c.value).where(counters.c.name == sa.bindparam("name")), prepare=True
)
_COUNTER_NEXT = {  # by "is PostgreSQL": the upsert is spelled by each dialect
    is_postgres: CompiledStatement(
        dialect.insert(counters)
        .values(name=sa.bindparam("name"), value=1)
        .on_conflict_do_update(
            index_elements=[counters.c.name], set_={"value": counters.c.value + 1}
        )
        .returning(counters.c.value),
        prepare=True,
    )
    for is_postgres, dialect in ((True, postgresql), (False, sqlite))
}
