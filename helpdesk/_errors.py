"""Only the domain's exceptions leave the library.

The use cases raise ``DomainError`` subclasses; the SQL unit of work turns a lost or refusing
database into ``DependencyUnavailable``. Anything else a driver raises (SQLAlchemy, psycopg,
sqlite3, redis) is a fault no rule foresaw: it is logged with its traceback and raised as
``InternalError``, chained to the original, so a program catches ``helpdesk.DomainError`` and
never imports a driver to handle the helpdesk's failures.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from helpdesk_core.domain.errors import DomainError, InternalError

log = logging.getLogger("helpdesk.library")


def _driver_errors() -> tuple[type[BaseException], ...]:
    found: list[type[BaseException]] = [sqlite3.Error]
    try:
        import sqlalchemy.exc

        found.append(sqlalchemy.exc.SQLAlchemyError)
    except ImportError:  # pragma: no cover - a dependency of the package
        pass
    try:
        import psycopg

        found.append(psycopg.Error)
    except ImportError:  # the "postgres" extra is optional
        pass
    try:
        import redis

        found.append(redis.RedisError)
    except ImportError:  # the "redis" extra is optional
        pass
    return tuple(found)


DRIVER_ERRORS = _driver_errors()


@contextmanager
def domain_errors_only() -> Iterator[None]:
    """Run the block; a driver's exception leaves it as ``InternalError``."""
    try:
        yield
    except DomainError:
        raise
    except DRIVER_ERRORS as exc:
        log.error("the store failed unexpectedly", exc_info=exc)
        raise InternalError(
            f"the store failed unexpectedly ({type(exc).__name__}); the log has the details"
        ) from exc
