"""Why the database cannot be used: one classification of driver errors for every caller.

The CLI names the cause in its one-line error, ``helpdesk serve`` and ``helpdesk worker`` check
the database with it before they start, and the readiness probe reports it. A cause is one of
``CAUSES``; ``transient`` tells a server that may come back (refused, no answer) from a
configuration that will not work until someone changes it (an unknown database, a wrong
password, a missing driver).

PostgreSQL reports connection failures as text (libpq's messages carry no SQLSTATE), so they are
recognized by their wording; errors from an open session go by SQLSTATE. The text kept is the
driver's first line, which names host, port, user and database but never the password; every
line still passes through ``redact`` (a URL with credentials, should a driver ever print one).
"""

from __future__ import annotations

import re
import sqlite3

import attrs
import sqlalchemy as sa
from sqlalchemy.engine import make_url

REFUSED = "connection refused"
UNKNOWN_HOST = "unknown host"
UNKNOWN_DATABASE = "unknown database"
AUTHENTICATION = "authentication failed"
TIMEOUT = "timeout"
MISSING_DRIVER = "missing driver"
NO_SCHEMA = "no schema"
BUSY = "busy"
UNAVAILABLE = "unavailable"
CAUSES = (
    REFUSED,
    UNKNOWN_HOST,
    UNKNOWN_DATABASE,
    AUTHENTICATION,
    TIMEOUT,
    MISSING_DRIVER,
    NO_SCHEMA,
    BUSY,
    UNAVAILABLE,
)
TRANSIENT = frozenset({REFUSED, TIMEOUT, BUSY, UNAVAILABLE})

# The extra of the distribution that brings each driver: pip install 'helpdesk[postgres]'.
DRIVER_EXTRAS = {"psycopg": "postgres", "psycopg_binary": "postgres", "psycopg_c": "postgres"}


@attrs.frozen
class DatabaseFailure:
    """One failure to use the database: the cause (one of ``CAUSES``) and one line of detail."""

    cause: str
    detail: str

    @property
    def transient(self) -> bool:
        """Whether waiting may help (the server is down or slow, not misconfigured)."""
        return self.cause in TRANSIENT

    def __str__(self) -> str:
        return f"{self.cause}: {self.detail}" if self.detail else self.cause


class DatabaseUnreachable(Exception):
    """Raised by the readiness probe: its message is the classified failure."""

    def __init__(self, failure: DatabaseFailure) -> None:
        super().__init__(str(failure))
        self.failure = failure


_CREDENTIALS = re.compile(r"(?P<scheme>[A-Za-z][\w+.-]*://)[^\s/@:]*:[^\s/@]*@")
_SERVER = re.compile(
    r'connection to server (?:at "(?P<host>[^"]+)"(?: \([^)]*\))?, port (?P<port>\d+)'
    r'|on socket "(?P<socket>[^"]+)")'
)


def _any_of(*phrases: str) -> re.Pattern[str]:
    return re.compile("|".join(phrases), re.IGNORECASE)


# libpq and server wordings (PostgreSQL 13-17, English), first match wins.
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (REFUSED, _any_of("connection refused")),
    (
        UNKNOWN_HOST,
        _any_of(
            "failed to resolve host",
            "could not translate host name",
            "name or service not known",
            "nodename nor servname",
        ),
    ),
    (UNKNOWN_DATABASE, _any_of(r'database "[^"]*" does not exist')),
    (
        AUTHENTICATION,
        _any_of(
            "authentication failed",
            r'role "[^"]*" does not exist',
            r"no pg_hba\.conf entry",
            "no password supplied",
            "password is required",
            "not permitted to log in",
        ),
    ),
    (TIMEOUT, _any_of("timeout expired", "timed out", "did not answer within")),
    (BUSY, _any_of("too many clients", "remaining connection slots", "database is locked")),
    (
        UNAVAILABLE,
        _any_of(
            "the database system is (?:starting up|shutting down|in recovery mode)",
            "failed to answer a moment ago",
            "server closed the connection",
            "terminating connection",
        ),
    ),
)

# SQLSTATE classes and codes of errors raised inside a session.
_SQLSTATES = {
    "28": AUTHENTICATION,  # invalid authorization specification (28000, 28P01)
    "3D000": UNKNOWN_DATABASE,
    "42P01": NO_SCHEMA,  # undefined table: never migrated
    "53300": BUSY,  # too many connections
    "57P01": UNAVAILABLE,  # admin shutdown
    "57P02": UNAVAILABLE,
    "57P03": UNAVAILABLE,  # cannot connect now (starting up)
    "08": UNAVAILABLE,  # connection exception
}


def redact(text: str) -> str:
    """``text`` with the password of any URL in it replaced by ``***``."""
    return _CREDENTIALS.sub(lambda m: f"{m.group('scheme')}***@", text)


def missing_driver(url: str) -> DatabaseFailure | None:
    """The failure to load the driver that ``url`` needs, or None when it loads."""
    try:
        make_url(url).get_dialect().import_dbapi()
    except ImportError as exc:
        return _missing(exc)
    return None


def _missing(exc: ImportError) -> DatabaseFailure:
    module = (exc.name or "").split(".")[0] or "psycopg"
    extra = DRIVER_EXTRAS.get(module, "postgres")
    reason = _first_line(str(exc)) or f"No module named {module!r}"
    return DatabaseFailure(
        MISSING_DRIVER, f"{reason}: install the {extra} extra, pip install 'helpdesk[{extra}]'"
    )


def classify_database_error(exc: BaseException, url: str | None = None) -> DatabaseFailure | None:
    """What went wrong, for an error raised while connecting to or using the database; None
    when ``exc`` is not a failure of the database (a bug, a refused constraint, ...).

    ``url`` (the configured database URL) names the server when the driver's message does not.
    """
    if isinstance(exc, ImportError):
        module = (exc.name or "").split(".")[0]
        return _missing(exc) if module in DRIVER_EXTRAS else None
    if isinstance(exc, sa.exc.TimeoutError):  # the pool had no free connection in time
        return DatabaseFailure(BUSY, "no pooled connection became free in time")
    original: BaseException | None = exc
    if isinstance(exc, sa.exc.DBAPIError):
        original = exc.orig
    elif not _is_driver_error(exc):
        return None
    text = _first_line(str(original)) if original is not None else ""
    cause = _cause(original, text)
    if cause is None:
        if not isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError) and not (
            isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated
        ):
            return None  # a statement refused (constraint, syntax): not the database's absence
        cause = UNAVAILABLE
    return DatabaseFailure(cause, redact(_detail(cause, text, url)))


def _is_driver_error(exc: BaseException) -> bool:
    """A DBAPI error not wrapped by SQLAlchemy (psycopg's or sqlite3's own)."""
    if isinstance(exc, sqlite3.Error):
        return True
    module = type(exc).__module__ or ""
    return module.split(".")[0] == "psycopg" and isinstance(exc, Exception)


def _cause(original: BaseException | None, text: str) -> str | None:
    sqlstate = getattr(original, "sqlstate", None)
    if isinstance(sqlstate, str) and sqlstate:
        found = _SQLSTATES.get(sqlstate) or _SQLSTATES.get(sqlstate[:2])
        if found is not None:
            return found
    if type(original).__name__ == "ConnectionTimeout":  # psycopg.errors.ConnectionTimeout
        return TIMEOUT
    if "no such table" in text:
        return NO_SCHEMA
    if "unable to open database file" in text:
        return UNAVAILABLE
    for cause, pattern in _PATTERNS:
        if pattern.search(text):
            return cause
    return None


def _detail(cause: str, text: str, url: str | None) -> str:
    """``where: what the server said``, without libpq's ``connection failed:`` preamble."""
    where = None
    if (found := _SERVER.search(text)) is not None:
        where = found["socket"] or f"{found['host']}:{found['port']}"
        text = text[found.end() :].removeprefix(" failed:").strip()
    elif url is not None:
        where = _server_of(url)
    text = re.sub(r"^(?:connection failed:\s*)", "", text)
    text = re.sub(r"^(?:FATAL|ERROR):\s+", "", text).strip()
    if cause == NO_SCHEMA:
        text = "the database has no helpdesk schema yet: run `helpdesk db upgrade`"
    elif cause == REFUSED:
        text = "is the server running and accepting TCP/IP connections there?"
    elif cause == TIMEOUT and not text:
        text = "no answer in time"
    return f"{where}: {text}" if where and text else (where or text)


def _server_of(url: str) -> str | None:
    try:
        parsed = make_url(url)
    except (sa.exc.ArgumentError, ValueError):
        return None
    if parsed.get_backend_name() == "sqlite":
        return parsed.database or None
    return f"{parsed.host or 'localhost'}:{parsed.port or 5432}"


def _first_line(text: str) -> str:
    stripped = text.strip()
    return stripped.splitlines()[0].strip() if stripped else ""
