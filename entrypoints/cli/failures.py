"""Failures of the database, Redis, mail or a missing driver, as one line naming the cause.

``describe_failure`` turns such an error (or one it was raised from) into ``dependency: cause:
detail`` for ``cli_errors``; the database's causes come from ``adapters.sql.failures``, the one
classification the readiness probe uses too. ``preflight`` is what ``helpdesk serve`` and
``helpdesk worker`` check before they start: every configured backend's driver loads, and the
database answers (waiting a while for one that refuses or does not answer yet).
"""

from __future__ import annotations

import logging
import smtplib
import sys
import time
from collections.abc import Iterator

import click

from entrypoints.config import Settings

log = logging.getLogger("helpdesk.cli")

# The import that fails without an extra -> (the dependency that needs it, the extra).
DRIVERS = {
    "psycopg": ("database", "postgres"),
    "psycopg_binary": ("database", "postgres"),
    "redis": ("redis", "redis"),
}

START_WAIT = 30.0  # default seconds serve/worker wait for a database that is not up yet


def describe_failure(exc: BaseException, database_url: str | None = None) -> str | None:
    """``dependency: cause: detail`` for a failure of a dependency, or None when ``exc`` (and
    what it was raised from) is something else. Never contains a password."""
    from adapters.sql.failures import redact

    for link in _chain(exc):
        message = _describe_one(link, database_url)
        if message is not None:
            return redact(message)
    return None


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and len(seen) < 20:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _describe_one(exc: BaseException, database_url: str | None) -> str | None:
    from adapters.sql.failures import classify_database_error, missing_driver

    if isinstance(exc, ImportError):
        named = _missing_driver(exc)
        if named is not None or database_url is None:
            return named
        # A driver that is there but cannot load (psycopg without libpq) names no module.
        unusable = missing_driver(database_url)
        return f"database: {unusable}" if unusable is not None else None

    failure = classify_database_error(exc, database_url)
    if failure is not None:
        return f"database: {failure}"
    if "redis" in sys.modules:  # only loaded when Redis is configured
        from adapters.redis.failures import classify_redis_error

        redis_failure = classify_redis_error(exc)
        if redis_failure is not None:
            return f"redis: {redis_failure}"
    if isinstance(exc, smtplib.SMTPException):
        return f"mail: {_smtp_cause(exc)}: {_first_line(exc)}"
    return None


def _missing_driver(exc: ImportError) -> str | None:
    module = (exc.name or "").split(".")[0]
    if module not in DRIVERS:
        return None
    dependency, extra = DRIVERS[module]
    return (
        f"{dependency}: missing driver: {_first_line(exc)}: install the {extra} extra, "
        f"pip install 'helpdesk[{extra}]'"
    )


def _smtp_cause(exc: smtplib.SMTPException) -> str:
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return "authentication failed"
    if isinstance(exc, smtplib.SMTPConnectError | smtplib.SMTPServerDisconnected):
        return "unavailable"
    return "refused"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0].strip() if text else type(exc).__name__


# ---------------------------------------------------------------- before serve and worker


class PreflightFailed(Exception):
    """A configured backend cannot be used: the message is the one line to print."""


def preflight(settings: Settings, wait: float = START_WAIT) -> None:
    """Raise PreflightFailed unless every configured backend's driver loads and the database
    answers. A database that refuses connections or does not answer is tried again for up to
    ``wait`` seconds (it may be starting beside us); a wrong URL, password or database name
    fails at once. Nothing stays connected (safe before gunicorn forks)."""
    if settings.redis_url:
        try:
            import redis  # noqa: F401  - the redis extra
        except ImportError as exc:
            raise PreflightFailed(_missing_driver(exc) or str(exc)) from None
    if settings.database_url.startswith("memory:"):
        return
    from adapters.sql.failures import missing_driver

    missing = missing_driver(settings.database_url)
    if missing is not None:
        raise PreflightFailed(f"database: {missing}")
    _wait_for_database(settings, wait)


def _wait_for_database(settings: Settings, wait: float) -> None:
    import sqlalchemy as sa

    from adapters.sql.engine import EngineOptions, create_engine
    from adapters.sql.failures import classify_database_error, redact

    deadline = time.monotonic() + max(0.0, wait)
    options = EngineOptions(
        pool_size=1,
        max_overflow=0,
        connect_timeout=settings.db_connect_timeout,
        statement_timeout=settings.db_statement_timeout,
        reconnect_delay=0.0,
    )
    told = False
    while True:
        engine = create_engine(settings.database_url, options)
        try:
            with engine.connect() as connection:
                connection.execute(sa.text("SELECT 1")).scalar_one()
            return
        except Exception as exc:
            failure = classify_database_error(exc, settings.database_url)
            if failure is None:
                raise
            if not failure.transient or time.monotonic() >= deadline:
                raise PreflightFailed(redact(f"database: {failure}")) from None
            if not told:
                log.warning("database: %s; waiting up to %.0fs for it", redact(str(failure)), wait)
                told = True
            time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
        finally:
            engine.dispose()


MAIL_NOT_SENT = "HELPDESK_SMTP_URL is not set: mail is not sent (only logged, without body)"


def warn_if_mail_is_not_sent(settings: Settings) -> None:
    """In production without SMTP, say so once: for the commands that send mail only."""
    if settings.is_production and not settings.smtp_url:
        log.warning(MAIL_NOT_SENT)


wait_option = click.option(
    "--wait",
    type=click.FloatRange(0, 3600),
    default=START_WAIT,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait at start for a database that refuses connections or does not "
    "answer yet (a wrong URL, password or a missing driver fails at once).",
)
