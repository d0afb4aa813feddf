"""``TicketRepository.get_by_number`` on every store: memory, SQLite, PostgreSQL.

A ticket is found by the number it was stored with, exactly as by its id; a number no ticket
has (0, past the last one, the largest 64-bit number) is None, never an error. On SQL the
lookup is one statement, and reading a ticket's detail through the use case costs the same
statements by number as by id (the lookup replaces the read by id, it does not precede it).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from entrypoints.bootstrap import Services
from helpdesk_core.domain.errors import NotFound
from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from helpdesk_core.domain.values import TicketStatus
from helpdesk_core.ports.uow import UnitOfWork
from helpdesk_core.usecases.tickets import TICKET_NUMBER_MAX
from tests.contract import test_ticket_repositories as repositories
from tests.contract.test_ticket_repositories import Org, make_ticket, open_ticket

# The fixtures of the ticket repositories' contract: every store, the same organization.
services = repositories.services
uow = repositories.uow
org = repositories.org


def test_a_ticket_is_found_by_its_number_as_by_its_id(uow: UnitOfWork, org: Org) -> None:
    first = open_ticket(uow, org.carl)
    second = open_ticket(uow, org.dora, department_id=org.support.id, status=TicketStatus.CLOSED)
    with uow.begin(read_only=True) as tx:
        for ticket in (first, second):
            found = tx.tickets.get_by_number(ticket.number)
            assert found == tx.tickets.get(ticket.id)
            assert found is not None
            assert (found.ticket.id, found.ticket.number) == (ticket.id, ticket.number)


@pytest.mark.parametrize("number", [0, -1, "after the last", TICKET_NUMBER_MAX])
def test_a_number_no_ticket_has_is_none(uow: UnitOfWork, org: Org, number: Any) -> None:
    ticket = open_ticket(uow, org.carl)
    wanted = ticket.number + 1 if number == "after the last" else number
    with uow.begin(read_only=True) as tx:
        assert tx.tickets.get_by_number(wanted) is None


def test_the_lookup_sees_its_own_transaction(uow: UnitOfWork, org: Org) -> None:
    """A ticket added in a transaction is found by number in it, and nowhere once rolled back."""
    with uow.begin() as tx:
        ticket = make_ticket(tx, org.carl)
        tx.tickets.add(ticket)
        assert tx.tickets.get_by_number(ticket.number) == tx.tickets.get(ticket.id)
        tx.rollback()
    with uow.begin(read_only=True) as tx:
        assert tx.tickets.get_by_number(ticket.number) is None


@pytest.fixture
def statements(services: Services) -> Iterator[list[str]]:
    """The SQL statements sent while the test runs (none on memory)."""
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(" ".join(statement.split()))

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", record)


def test_a_detail_by_number_costs_what_a_detail_by_id_costs(
    services: Services, uow: UnitOfWork, org: Org, statements: list[str]
) -> None:
    ticket = open_ticket(uow, org.carl)
    tickets = services.tickets
    tickets.get_ticket(SYSTEM_OPERATOR, ticket.id)  # warm: the first run may prepare
    tickets.get_ticket_by_number(SYSTEM_OPERATOR, ticket.number)
    statements.clear()
    by_id = tickets.get_ticket(SYSTEM_OPERATOR, ticket.id)
    id_statements = list(statements)
    statements.clear()
    by_number = tickets.get_ticket_by_number(SYSTEM_OPERATOR, ticket.number)
    assert by_number == by_id
    assert len(statements) == len(id_statements), (statements, id_statements)
    if services.settings.database_url.startswith("memory:"):
        return
    lookups = [s for s in statements if "FROM tickets" in s]
    assert len(lookups) == 1, statements
    assert "tickets.number =" in lookups[0]
    assert not any("tickets.id =" in s for s in statements), statements


def test_an_unknown_number_is_a_single_statement(
    services: Services, uow: UnitOfWork, org: Org, statements: list[str]
) -> None:
    open_ticket(uow, org.carl)
    statements.clear()
    with pytest.raises(NotFound):
        services.tickets.get_ticket_by_number(SYSTEM_OPERATOR, 10**9)
    if not services.settings.database_url.startswith("memory:"):
        assert len([s for s in statements if "FROM tickets" in s]) == 1, statements
    statements.clear()
    with pytest.raises(NotFound):  # beyond 64 bits: no store is asked
        services.tickets.get_ticket_by_number(SYSTEM_OPERATOR, TICKET_NUMBER_MAX + 1)
    assert statements == []
