"""The SQL unit of work: one connection, one transaction, the repositories bound to it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import attrs
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from adapters.sql.errors import translate_errors
from adapters.sql.events import SqlDeliveryRepository, SqlOutboxRepository, SqlWebhookRepository
from adapters.sql.repositories import (
    SqlCounterRepository,
    SqlDepartmentRepository,
    SqlPasswordResetRepository,
    SqlSessionRepository,
    SqlStaffRepository,
    SqlTeamRepository,
    SqlUserRepository,
)
from adapters.sql.tickets import (
    SqlAttachmentRepository,
    SqlIdempotencyRepository,
    SqlTicketHistoryRepository,
    SqlTicketMessageRepository,
    SqlTicketRepository,
)


class SqlTransaction:
    """An open transaction; repositories share its connection."""

    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection
        self.counters = SqlCounterRepository(connection)
        self.users = SqlUserRepository(connection)
        self.staff = SqlStaffRepository(connection)
        self.departments = SqlDepartmentRepository(connection)
        self.teams = SqlTeamRepository(connection)
        self.sessions = SqlSessionRepository(connection)
        self.password_resets = SqlPasswordResetRepository(connection)
        self.tickets = SqlTicketRepository(connection)
        self.messages = SqlTicketMessageRepository(connection)
        self.history = SqlTicketHistoryRepository(connection)
        self.attachments = SqlAttachmentRepository(connection)
        self.idempotency = SqlIdempotencyRepository(connection)
        self.outbox = SqlOutboxRepository(connection)
        self.webhooks = SqlWebhookRepository(connection)
        self.deliveries = SqlDeliveryRepository(connection)

    def commit(self) -> None:
        with translate_errors():
            self._connection.commit()

    def rollback(self) -> None:
        self._connection.rollback()


@attrs.define
class _Held:
    """The connection a scope holds, and whether a transaction of the scope is using it."""

    connection: sa.Connection | None = None
    busy: bool = False
    autocommit: bool = False  # the isolation the held connection was last set to


class SqlUnitOfWork:
    """Opens a transaction per ``begin()``; leaving without commit rolls back.

    Inside ``scope()`` the transactions of one thread share one pooled connection, taken at
    the first ``begin()`` and given back when the scope ends: one checkout (and one liveness
    ping) per request instead of one per transaction.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        # PostgreSQL reads in READ COMMITTED: every statement sees its own snapshot, inside a
        # transaction or not. A read-only unit therefore runs in autocommit and saves the
        # BEGIN and ROLLBACK round trips without seeing anything it would not have seen.
        self._autocommit_reads = engine.dialect.name == "postgresql"
        self._held: ContextVar[_Held | None] = ContextVar(f"held-{id(self)}", default=None)

    @contextmanager
    def scope(self) -> Iterator[None]:
        held = _Held()
        token = self._held.set(held)
        try:
            yield
        finally:
            self._held.reset(token)
            if held.connection is not None:
                held.connection.close()  # back to the pool (a broken one is discarded)

    @contextmanager
    def begin(self, read_only: bool = False) -> Iterator[SqlTransaction]:
        held = self._held.get()
        if held is None or held.busy:  # no scope, or its connection is in use: one of its own
            with (
                translate_errors(),
                self._engine.connect() as connection,
                self._transaction(connection, read_only, _Held(connection)) as tx,
            ):
                yield tx
            return
        with translate_errors():
            held.busy = True
            try:
                with self._transaction(self._connection(held), read_only, held) as tx:
                    yield tx
            finally:
                held.busy = False

    def _connection(self, held: _Held) -> sa.Connection:
        """The scope's connection: taken at its first use, replaced if it broke."""
        connection = held.connection
        if connection is not None and not (connection.closed or connection.invalidated):
            return connection
        if connection is not None:
            connection.close()
        held.connection, held.autocommit = self._engine.connect(), False
        return held.connection

    @contextmanager
    def _transaction(
        self, connection: sa.Connection, read_only: bool, held: _Held
    ) -> Iterator[SqlTransaction]:
        # Read by the SQLite "begin" listener: a reader takes no write lock.
        connection.info["read_only"] = read_only
        autocommit = read_only and self._autocommit_reads
        if autocommit != held.autocommit:
            level = "AUTOCOMMIT" if autocommit else self._engine.dialect.default_isolation_level
            connection.execution_options(isolation_level=level)
            held.autocommit = autocommit
        connection.begin()
        try:
            yield SqlTransaction(connection)
        finally:
            if connection.in_transaction():
                connection.rollback()
