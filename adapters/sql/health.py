"""Readiness probe for the database."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from adapters.sql.failures import DatabaseUnreachable, classify_database_error


class DatabaseProbe:
    """Runs ``SELECT 1`` on a pooled connection (pre-ping replaces a dead one).

    A failure is reported by its cause (``adapters.sql.failures``): connection refused,
    unknown database, authentication failed, timeout, ... as the CLI names it.
    """

    name = "database"
    required = True

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def check(self) -> None:
        try:
            with self._engine.connect() as connection:
                connection.execute(sa.text("SELECT 1")).scalar_one()
        except Exception as exc:
            failure = classify_database_error(exc, self._engine.url.render_as_string())
            if failure is None:
                raise
            raise DatabaseUnreachable(failure) from exc
