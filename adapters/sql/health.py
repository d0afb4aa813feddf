"""Readiness probe for the database."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine


class DatabaseProbe:
    """Runs ``SELECT 1`` on a pooled connection (pre-ping replaces a dead one)."""

    name = "database"
    required = True

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def check(self) -> None:
        with self._engine.connect() as connection:
            connection.execute(sa.text("SELECT 1")).scalar_one()
