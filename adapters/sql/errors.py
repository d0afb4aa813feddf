"""Driver errors become the port's errors: a dead database is DependencyUnavailable (503)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from helpdesk_core.domain.errors import DependencyUnavailable


@contextmanager
def translate_errors() -> Iterator[None]:
    """Turn connection loss, pool exhaustion and timeouts into DependencyUnavailable."""
    try:
        yield
    except sa.exc.TimeoutError as exc:  # no free pooled connection
        raise DependencyUnavailable("the database is busy", "database") from exc
    except (sa.exc.OperationalError, sa.exc.ProgrammingError) as exc:
        if _missing_table(exc):
            raise DependencyUnavailable(
                "the database has no helpdesk schema yet: run `helpdesk db upgrade`", "database"
            ) from exc
        if isinstance(exc, sa.exc.ProgrammingError):
            raise
        raise DependencyUnavailable("the database is unavailable", "database") from exc
    except sa.exc.InterfaceError as exc:
        raise DependencyUnavailable("the database is unavailable", "database") from exc
    except sa.exc.DBAPIError as exc:
        if exc.connection_invalidated:
            raise DependencyUnavailable("the database is unavailable", "database") from exc
        raise


def _missing_table(exc: sa.exc.DBAPIError) -> bool:
    text = str(exc.orig)
    return "no such table" in text or getattr(exc.orig, "sqlstate", None) == "42P01"
