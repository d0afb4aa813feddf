"""The SQL unit of work: one connection, one transaction, the repositories bound to it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

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


class SqlUnitOfWork:
    """Opens a transaction per ``begin()``; leaving without commit rolls back."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        # PostgreSQL reads in READ COMMITTED: every statement sees its own snapshot, inside a
        # transaction or not. A read-only unit therefore runs in autocommit and saves the
        # BEGIN and ROLLBACK round trips without seeing anything it would not have seen.
        self._autocommit_reads = engine.dialect.name == "postgresql"

    @contextmanager
    def begin(self, read_only: bool = False) -> Iterator[SqlTransaction]:
        with translate_errors(), self._engine.connect() as connection:
            # Read by the SQLite "begin" listener: a reader takes no write lock.
            connection.info["read_only"] = read_only
            if read_only and self._autocommit_reads:
                connection.execution_options(isolation_level="AUTOCOMMIT")
            connection.begin()
            try:
                yield SqlTransaction(connection)
            finally:
                if connection.in_transaction():
                    connection.rollback()
