"""Engine creation for SQLite (the embedded default) and PostgreSQL (psycopg 3).

SQLite: WAL, foreign keys on, a busy timeout, and ``BEGIN IMMEDIATE`` so a read-modify-write
transaction holds the write lock from its first statement (no lost updates, no instant
"database is locked"). PostgreSQL: a pool sized from config, a pre-ping of connections that sat
idle, connect and statement timeouts so a dead server answers fast instead of hanging a worker.

A stopped PostgreSQL refuses connections at once; a frozen or unreachable one does not: the
kernel (or the network) accepts the connection and the statement, and no answer ever comes.
TCP keepalives cannot tell (a frozen server's kernel answers them), statement_timeout is the
server's own, and psycopg has no read timeout. So every wait for an answer is bounded here, on
the client: ``statement_timeout`` plus a second of slack for statements (the server itself
cancels them at ``statement_timeout``), ``ping_timeout`` for the pool's pre-ping of an idle
connection. A wait that runs out closes the connection and raises ``OperationalError``, which
the pool treats as a disconnect and ``translate_errors`` turns into a 503. After such a failure
(or a failed connect) new connections fail at once for ``reconnect_delay``, then one attempt at
a time goes through until one succeeds (``ConnectGate``): during an outage a request costs no
thread a connect timeout, so threads stay free for health checks and for the next requests.
"""

from __future__ import annotations

import functools
import inspect
import logging
import threading
import time
from pathlib import Path
from typing import Any

import attrs
import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.pool import StaticPool

log = logging.getLogger(__name__)


@attrs.frozen
class EngineOptions:
    """What the engine needs from the configuration."""

    pool_size: int = 5
    max_overflow: int = 10
    pool_timeout: float = 5.0
    connect_timeout: int = 3
    statement_timeout: int = 15  # seconds, PostgreSQL only; 0 for none (and no answer bound)
    ping_timeout: float = 1.0  # seconds the pre-ping of an idle connection may wait
    ping_after_idle: float = 1.0  # a connection idle this long is pinged before use
    reconnect_delay: float = 1.0  # seconds new connections fail at once after a failure
    busy_timeout_ms: int = 5000  # SQLite only

    @property
    def answer_timeout(self) -> float | None:
        """Seconds to wait for any answer to a statement (None: forever)."""
        return self.statement_timeout + ANSWER_SLACK if self.statement_timeout else None


ANSWER_SLACK = 1.0  # the server cancels at statement_timeout; its error arrives well within this


def create_engine(url: str | URL, options: EngineOptions | None = None) -> Engine:
    """An engine for ``url``; connects lazily (nothing is opened here)."""
    options = options or EngineOptions()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, options)
    if parsed.get_backend_name() == "postgresql":
        return _postgres_engine(parsed, options)
    raise ValueError(f"unsupported database backend: {parsed.get_backend_name()}")


def _sqlite_engine(url: URL, options: EngineOptions) -> Engine:
    database = url.database or ""
    in_memory = database in {"", ":memory:"} or database.startswith("file::memory:")
    kwargs: dict[str, Any] = {}
    if in_memory:
        # One shared connection, so every thread sees the same in-memory database.
        kwargs = {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
    else:
        Path(database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
        kwargs = {
            "pool_size": options.pool_size,
            "max_overflow": options.max_overflow,
            "pool_timeout": options.pool_timeout,
            "connect_args": {"check_same_thread": False, "timeout": options.busy_timeout_ms / 1000},
        }
    engine = sa.create_engine(url, **kwargs)
    busy_timeout = options.busy_timeout_ms
    wal = not in_memory

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from pysqlite (it would BEGIN late, after the first SELECT).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if wal:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout)}")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        # Writers take the write lock up front (no lost updates, no late "database is locked");
        # a transaction declared read-only reads its WAL snapshot beside them.
        read_only = connection.info.pop("read_only", False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine


# psycopg's prepare_threshold: runs of one statement before psycopg prepares it on its own.
PREPARE_ONLY_WHEN_ASKED = 2**31


def _postgres_engine(url: URL, options: EngineOptions) -> Engine:
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    connect_args: dict[str, Any] = {
        "connect_timeout": max(2, options.connect_timeout),  # libpq's floor is 2 s
        "application_name": "helpdesk",
        # A half-open connection to a vanished server is noticed within seconds, not hours.
        "keepalives": 1,
        "keepalives_idle": 5,
        "keepalives_interval": 2,
        "keepalives_count": 2,
    }
    # Nothing is prepared unless asked for. psycopg would prepare any statement after five
    # runs, and PostgreSQL may then switch it to a generic plan, which for full-text search
    # ignores the word's selectivity: a common word's list then ranks every match
    # (docs/performance.md, "Measurements behind the code"). Unprepared, a statement is
    # planned for its values; the hot statements whose plan cannot depend on the values ask
    # to be prepared, and save the parse and the plan (adapters/sql/compiled.py).
    # (None would turn preparing off even where asked for: a threshold never reached.)
    connect_args["prepare_threshold"] = PREPARE_ONLY_WHEN_ASKED
    settings = ["-c TimeZone=UTC"]
    if options.statement_timeout:
        settings.append(f"-c statement_timeout={options.statement_timeout * 1000}")
        settings.append(f"-c lock_timeout={options.statement_timeout * 1000}")
        settings.append(
            f"-c idle_in_transaction_session_timeout={options.statement_timeout * 2000}"
        )
    connect_args["options"] = " ".join(settings)
    engine = sa.create_engine(
        url,
        pool_size=options.pool_size,
        max_overflow=options.max_overflow,
        pool_timeout=options.pool_timeout,
        pool_recycle=1800,
        connect_args=connect_args,
    )
    _ping_idle_connections(engine, options.ping_after_idle)  # before the bounds' listeners
    _bound_answers(engine, options)
    _pooled_out_of_autocommit(engine)
    return engine


def _pooled_out_of_autocommit(engine: Engine) -> None:
    """A connection goes back to the pool out of autocommit, whoever set it (the unit of work
    sets psycopg's ``autocommit`` for its read-only units, adapters/sql/uow.py): the next user
    of the connection gets transactions, as from a new one. Checkin comes after the pool's
    rollback, so no transaction is open; one that cannot be switched is broken and is
    invalidated (the pool connects anew)."""

    @sa.event.listens_for(engine, "checkin")
    def _out_of_autocommit(dbapi_connection: Any, record: Any) -> None:
        if dbapi_connection is None or not dbapi_connection.autocommit:
            return
        try:
            dbapi_connection.autocommit = False
        except Exception as exc:  # closed or in a state psycopg refuses to switch
            if record is not None:
                record.invalidate(exc)


def _ping_idle_connections(engine: Engine, idle: float) -> None:
    """Ping a pooled connection before handing it out when it sat idle ``idle`` seconds.

    SQLAlchemy's ``pool_pre_ping`` pings at every checkout: one more round trip per request
    under load, for connections used a moment ago. A connection back from work within
    ``idle`` seconds is handed out as is; should the server have died in that moment, the
    first statement fails, answers 503, and SQLAlchemy invalidates the whole pool, as the
    pre-ping would have. A failed ping raises DisconnectionError, which makes the pool
    discard the connection and take another (SQLAlchemy's own recipe).
    """

    @sa.event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info["returned_at"] = time.monotonic()

    @sa.event.listens_for(engine, "checkout")
    def _maybe_ping(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned_at = record.info.get("returned_at")
        if returned_at is None or time.monotonic() - returned_at < idle:
            return  # new, or used a moment ago
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise sa.exc.DisconnectionError(f"the pooled connection is dead: {exc}") from exc
        if not alive:
            raise sa.exc.DisconnectionError("the pooled connection is dead")


class ConnectGate:
    """Lets new connections through while the server answers; after a failure, refuses them
    at once (raising ``error``) for ``delay`` seconds, then lets one attempt through at a time
    until one succeeds."""

    def __init__(self, delay: float, error: type[Exception]) -> None:
        self._delay = delay
        self._error = error
        self._lock = threading.Lock()
        self._failing = False
        self._retry_at = 0.0
        self._trying = False

    def enter(self) -> None:
        """Return to connect, or raise at once while the server is down."""
        with self._lock:
            if not self._failing:
                return
            wait = self._retry_at - time.monotonic()
            if wait <= 0 and not self._trying:
                self._trying = True  # this caller is the one attempt
                return
        raise self._error(
            "the database server failed to answer a moment ago; "
            f"the next attempt is in {max(wait, 0):.1f}s or already under way"
        )

    def failed(self) -> None:
        with self._lock:
            self._failing = True
            self._trying = False
            self._retry_at = time.monotonic() + self._delay

    def succeeded(self) -> None:
        with self._lock:
            self._failing = False
            self._trying = False


@functools.cache
def bounded_connection_class() -> type[Any] | None:
    """A ``psycopg.Connection`` subclass that waits at most ``answer_limit`` seconds for each
    answer; None when this psycopg cannot bound a wait (``Connection.wait`` without timeout).

    psycopg runs every exchange with the server (statements, commit, rollback) through
    ``wait``; a caller that passes its own timeout keeps it. When the bound runs out the
    connection is in the middle of an exchange, so it is closed (and its ``gate`` told), and
    the error is an ``OperationalError`` on a closed connection: a disconnect to SQLAlchemy.
    """
    import psycopg  # the postgres extra; only PostgreSQL engines get here

    # What the wait functions raise when their timeout runs out: an OperationalError.
    wait_timeout: type[Exception] | None = getattr(psycopg.errors, "_WaitTimeout", None)
    waits_with_timeout = "timeout" in inspect.signature(psycopg.Connection.wait).parameters
    if wait_timeout is None or not waits_with_timeout:
        return None
    timed_out: type[Exception] = wait_timeout

    class BoundedConnection(psycopg.Connection[Any]):
        answer_limit: float | None = None
        gate: ConnectGate | None = None

        def wait(self, gen: Any, *args: Any, **kwargs: Any) -> Any:
            limit = self.answer_limit
            if limit is None or len(args) > 1 or kwargs.get("timeout") is not None:
                return super().wait(gen, *args, **kwargs)
            kwargs["timeout"] = limit
            try:
                return super().wait(gen, *args, **kwargs)
            except timed_out:
                self.close()
                if self.gate is not None:
                    self.gate.failed()
                raise psycopg.OperationalError(
                    f"the database server did not answer within {limit:g}s; connection closed"
                ) from None

    return BoundedConnection


def _bound_answers(engine: Engine, options: EngineOptions) -> None:
    """Connections of ``engine`` pass a ``ConnectGate`` and wait a bounded time for answers:
    the statement bound while checked out, the shorter ping bound while idle in the pool (the
    pre-ping runs before checkout)."""
    import psycopg

    bounded = bounded_connection_class()
    if bounded is None:
        log.warning(
            "psycopg %s cannot bound a wait for the server: a frozen database would hang "
            "requests; install psycopg 3.3 or newer",
            psycopg.__version__,
        )
    connection_class: Any = bounded or psycopg.Connection
    statement_limit = options.answer_timeout
    ping_limit = (
        options.ping_timeout
        if statement_limit is None
        else min(options.ping_timeout, statement_limit)
    )
    gate = ConnectGate(options.reconnect_delay, psycopg.OperationalError)

    @sa.event.listens_for(engine, "do_connect")
    def _connect(_dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
        gate.enter()
        try:
            connection = connection_class.connect(*cargs, **cparams)
        except BaseException:
            gate.failed()
            raise
        gate.succeeded()
        if bounded is not None:
            connection.answer_limit = statement_limit
            connection.gate = gate
        return connection

    if bounded is None:
        return

    @sa.event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if isinstance(dbapi_connection, bounded):
            dbapi_connection.answer_limit = statement_limit

    @sa.event.listens_for(engine, "checkin")
    def _checked_in(dbapi_connection: Any, _record: Any) -> None:
        if isinstance(dbapi_connection, bounded):
            dbapi_connection.answer_limit = ping_limit


def pool_status(engine: Engine) -> dict[str, int]:
    """Connections checked out and the pool's size, for metrics."""
    pool = engine.pool
    checked_out = getattr(pool, "checkedout", None)
    size = getattr(pool, "size", None)
    return {
        "checked_out": int(checked_out()) if callable(checked_out) else 0,
        "size": int(size()) if callable(size) else 1,
    }
