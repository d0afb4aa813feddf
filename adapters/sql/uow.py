"""The SQL unit of work: one connection, one transaction, the repositories bound to it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cached_property

import attrs
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from adapters.sql.calendars import SqlCalendarRepository
from adapters.sql.canned import SqlCannedResponseRepository
from adapters.sql.counters import SqlCounterRepository
from adapters.sql.deliveries import SqlDeliveryRepository
from adapters.sql.errors import translate_errors
from adapters.sql.followers import SqlFollowerRepository
from adapters.sql.idempotency import SqlIdempotencyRepository
from adapters.sql.macros import SqlMacroRepository
from adapters.sql.mail import (
    SqlInboundEmailRepository,
    SqlMailboxRepository,
    SqlMailThreadRepository,
    SqlParticipantRepository,
)
from adapters.sql.mail_fetch import SqlMailFetchRepository
from adapters.sql.org import SqlDepartmentRepository, SqlStaffRepository, SqlTeamRepository
from adapters.sql.outbox import SqlOutboxRepository
from adapters.sql.requests import SqlRequestAnswerRepository
from adapters.sql.sessions import SqlPasswordResetRepository, SqlSessionRepository
from adapters.sql.sla import SqlSlaClockRepository, SqlSlaPolicyRepository
from adapters.sql.tags import SqlTagRepository
from adapters.sql.tickets import (
    SqlAttachmentRepository,
    SqlTicketHistoryRepository,
    SqlTicketMessageRepository,
    SqlTicketRepository,
)
from adapters.sql.users import SqlUserRepository
from adapters.sql.webhooks import SqlWebhookRepository


class SqlTransaction:
    """An open transaction; repositories share its connection. Each repository is made at its
    first use: a request's transactions use two or three of the twenty-three."""

    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection

    @cached_property
    def counters(self) -> SqlCounterRepository:
        return SqlCounterRepository(self._connection)

    @cached_property
    def users(self) -> SqlUserRepository:
        return SqlUserRepository(self._connection)

    @cached_property
    def staff(self) -> SqlStaffRepository:
        return SqlStaffRepository(self._connection)

    @cached_property
    def departments(self) -> SqlDepartmentRepository:
        return SqlDepartmentRepository(self._connection)

    @cached_property
    def teams(self) -> SqlTeamRepository:
        return SqlTeamRepository(self._connection)

    @cached_property
    def sessions(self) -> SqlSessionRepository:
        return SqlSessionRepository(self._connection)

    @cached_property
    def password_resets(self) -> SqlPasswordResetRepository:
        return SqlPasswordResetRepository(self._connection)

    @cached_property
    def tickets(self) -> SqlTicketRepository:
        return SqlTicketRepository(self._connection)

    @cached_property
    def messages(self) -> SqlTicketMessageRepository:
        return SqlTicketMessageRepository(self._connection)

    @cached_property
    def history(self) -> SqlTicketHistoryRepository:
        return SqlTicketHistoryRepository(self._connection)

    @cached_property
    def attachments(self) -> SqlAttachmentRepository:
        return SqlAttachmentRepository(self._connection)

    @cached_property
    def idempotency(self) -> SqlIdempotencyRepository:
        return SqlIdempotencyRepository(self._connection)

    @cached_property
    def outbox(self) -> SqlOutboxRepository:
        return SqlOutboxRepository(self._connection)

    @cached_property
    def webhooks(self) -> SqlWebhookRepository:
        return SqlWebhookRepository(self._connection)

    @cached_property
    def deliveries(self) -> SqlDeliveryRepository:
        return SqlDeliveryRepository(self._connection)

    @cached_property
    def calendars(self) -> SqlCalendarRepository:
        return SqlCalendarRepository(self._connection)

    @cached_property
    def sla_policies(self) -> SqlSlaPolicyRepository:
        return SqlSlaPolicyRepository(self._connection)

    @cached_property
    def sla_clocks(self) -> SqlSlaClockRepository:
        return SqlSlaClockRepository(self._connection)

    @cached_property
    def mailboxes(self) -> SqlMailboxRepository:
        return SqlMailboxRepository(self._connection)

    @cached_property
    def inbound_emails(self) -> SqlInboundEmailRepository:
        return SqlInboundEmailRepository(self._connection)

    @cached_property
    def mail_threads(self) -> SqlMailThreadRepository:
        return SqlMailThreadRepository(self._connection)

    @cached_property
    def participants(self) -> SqlParticipantRepository:
        return SqlParticipantRepository(self._connection)

    @cached_property
    def mail_fetch(self) -> SqlMailFetchRepository:
        return SqlMailFetchRepository(self._connection)

    @cached_property
    def canned_responses(self) -> SqlCannedResponseRepository:
        return SqlCannedResponseRepository(self._connection)

    @cached_property
    def tags(self) -> SqlTagRepository:
        return SqlTagRepository(self._connection)

    @cached_property
    def request_answers(self) -> SqlRequestAnswerRepository:
        return SqlRequestAnswerRepository(self._connection)

    @cached_property
    def followers(self) -> SqlFollowerRepository:
        return SqlFollowerRepository(self._connection)

    @cached_property
    def macros(self) -> SqlMacroRepository:
        return SqlMacroRepository(self._connection)

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
        # The switch is psycopg's own ``autocommit`` attribute, set on the driver's connection:
        # SQLAlchemy's ``isolation_level`` option did the same through its characteristics
        # machinery and reset it again at every checkin, CPU paid on every request
        # (docs/performance.md, "Measurements behind the code"). The engine returns every
        # connection to its pool out of autocommit (adapters/sql/engine.py).
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
                self._transaction(connection, read_only) as tx,
            ):
                yield tx
            return
        with translate_errors():
            held.busy = True
            try:
                with self._transaction(self._connection(held), read_only) as tx:
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
        held.connection = self._engine.connect()
        return held.connection

    @contextmanager
    def _transaction(self, connection: sa.Connection, read_only: bool) -> Iterator[SqlTransaction]:
        # Read by the SQLite "begin" listener: a reader takes no write lock.
        connection.info["read_only"] = read_only
        if self._autocommit_reads:
            driver = connection.connection.driver_connection
            # A closed one is left alone: its first statement fails as a lost connection.
            if driver is not None and not driver.closed and driver.autocommit != read_only:
                driver.autocommit = read_only
        connection.begin()
        try:
            yield SqlTransaction(connection)
        finally:
            if connection.in_transaction():
                connection.rollback()
