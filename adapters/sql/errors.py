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
    except (sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
        raise DependencyUnavailable("the database is unavailable", "database") from exc
    except sa.exc.DBAPIError as exc:
        if exc.connection_invalidated:
            raise DependencyUnavailable("the database is unavailable", "database") from exc
        raise
