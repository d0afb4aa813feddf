"""The names a ticket read carries, on every store: memory, SQLite, PostgreSQL.

A ticket is read with the names of its requester, assignee, department and team (None where
it refers to nobody), by id, by number and in a list alike; a message with its author's name;
a history entry with its actor's (None for the system's). The names are read with the rows,
so a rename shows in the very next read. The names of an entry's old and new values are the
use case's to add (``TicketService.history``); the repository leaves them None.
"""

from __future__ import annotations

import uuid
from typing import Any

import attrs

from entrypoints.bootstrap import Services
from helpdesk_core.domain.entities import (
    Department,
    HistoryEntry,
    Team,
    Ticket,
    TicketMessage,
    User,
)
from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from helpdesk_core.domain.values import MessageVisibility, TicketStatus
from helpdesk_core.domain.views import HistoryView, TicketNames, TicketView
from helpdesk_core.ports.tickets import TicketQuery
from helpdesk_core.ports.uow import Transaction, UnitOfWork
from helpdesk_core.usecases.org import UpdateDepartment, UpdateTeam
from tests.contract import test_ticket_repositories as repositories
from tests.contract.test_ticket_repositories import T0, Org, add_message, open_ticket

# The fixtures of the ticket repositories' contract: every store, the same organization
# (Support with its team Tier 1, Billing; agents Ann, Bob of Tier 1, Cara; customers Carl, Dora).
services = repositories.services
uow = repositories.uow
org = repositories.org


def reads(uow: UnitOfWork, ticket: Ticket) -> list[TicketView | None]:
    """The ticket as each read gives it: by id, by id for update, by number, and listed."""
    with uow.begin() as tx:
        listed = [v for v in tx.tickets.list(TicketQuery(limit=100)).items if v.ticket == ticket]
        return [
            tx.tickets.get(ticket.id),
            tx.tickets.get(ticket.id, for_update=True),
            tx.tickets.get_by_number(ticket.number),
            *listed,
        ]


def names_of(uow: UnitOfWork, ticket: Ticket) -> TicketNames:
    """The names every read of ``ticket`` carries (they must agree)."""
    found = reads(uow, ticket)
    assert len(found) == 4, "the ticket should be read, locked, found by number and listed"
    first = found[0]
    assert first is not None
    assert found == [TicketView(ticket, first.names)] * 4
    return first.names


def rename(tx: Transaction, entity: Department | Team | User, **changes: Any) -> None:
    """Store ``entity`` with ``changes``, as its next version."""
    changed = attrs.evolve(entity, version=entity.version + 1, **changes)
    if isinstance(changed, Department):
        tx.departments.update(changed)
    elif isinstance(changed, Team):
        tx.teams.update(changed)
    else:
        tx.users.update(changed)


# ---------------------------------------------------------------- writes answer with names


def test_adding_a_ticket_answers_with_the_names_it_refers_to(uow: UnitOfWork, org: Org) -> None:
    """The insert itself reads the names (on PostgreSQL in its RETURNING): the answer to
    opening a ticket names its requester without a read of its own."""
    with uow.begin() as tx:
        full = repositories.make_ticket(
            tx,
            org.carl,
            department_id=org.support.id,
            team_id=org.tier1.id,
            assignee_id=org.bob.id,
            status=TicketStatus.OPEN,
        )
        bare = repositories.make_ticket(tx, org.dora)
        answered = [tx.tickets.add(full), tx.tickets.add(bare)]
        tx.commit()
    assert answered == [
        TicketView(full, TicketNames("Carl", "Bob", "Support", "Tier 1")),
        TicketView(bare, TicketNames(requester="Dora")),
    ]
    assert names_of(uow, full) == answered[0].names  # what a later read says


def test_adding_a_message_answers_with_its_authors_name(uow: UnitOfWork, org: Org) -> None:
    """With words, without words, and once the ticket's search document is full (on
    PostgreSQL the name then comes by a read of its own)."""
    ticket = open_ticket(uow, org.carl, department_id=org.support.id)
    full = " ".join(f"w{i:06d}" for i in range(repositories.SEARCH_DOCUMENT_MAX // 8 + 10))
    answers = []
    for author, body in ((org.carl, "My printer is jammed"), (org.ann, "..."), (org.ann, full),
                         (org.bob, "After the document is full")):  # fmt: skip
        message = TicketMessage(
            id=uuid.uuid4(),
            ticket_id=ticket.id,
            author_id=author.id,
            body=body,
            visibility=MessageVisibility.PUBLIC,
            created_at=T0,
        )
        with uow.begin() as tx:
            answers.append(tx.messages.add(message))
            tx.commit()
        assert answers[-1].message == message
    assert [a.author_name for a in answers] == ["Carl", "Ann", "Ann", "Bob"]


# ---------------------------------------------------------------- tickets


def test_a_ticket_is_read_with_the_names_it_refers_to(uow: UnitOfWork, org: Org) -> None:
    ticket = open_ticket(
        uow,
        org.carl,
        department_id=org.support.id,
        team_id=org.tier1.id,
        assignee_id=org.bob.id,
        status=TicketStatus.OPEN,
    )
    assert names_of(uow, ticket) == TicketNames(
        requester="Carl", assignee="Bob", department="Support", team="Tier 1"
    )


def test_a_name_is_none_where_the_ticket_refers_to_nobody(uow: UnitOfWork, org: Org) -> None:
    unrouted = open_ticket(uow, org.dora)
    routed = open_ticket(uow, org.carl, department_id=org.billing.id)
    assigned = open_ticket(uow, org.dora, department_id=org.billing.id, assignee_id=org.cara.id)
    assert names_of(uow, unrouted) == TicketNames(requester="Dora")
    assert names_of(uow, routed) == TicketNames(requester="Carl", department="Billing")
    assert names_of(uow, assigned) == TicketNames(
        requester="Dora", assignee="Cara", department="Billing"
    )


def test_every_listed_ticket_carries_its_own_names(uow: UnitOfWork, org: Org) -> None:
    """Names are matched row by row: a page of tickets that each refer to others."""
    people = {org.ann.id: "Ann", org.bob.id: "Bob", org.cara.id: "Cara"}
    people |= {org.carl.id: "Carl", org.dora.id: "Dora"}
    places = [(org.support, org.tier1), (org.support, None), (org.billing, None), (None, None)]
    assignees = [org.ann, org.bob, org.cara, None]
    opened = [
        open_ticket(
            uow,
            requester,
            department_id=department.id if department else None,
            team_id=team.id if team else None,
            assignee_id=assignee.id if assignee else None,
        )
        for department, team in places
        for assignee in assignees
        for requester in (org.carl, org.dora)
    ]
    departments = {org.support.id: "Support", org.billing.id: "Billing"}
    with uow.begin(read_only=True) as tx:
        page = tx.tickets.list(TicketQuery(limit=100))
    assert sorted(v.ticket.id for v in page.items) == sorted(t.id for t in opened)
    for view in page.items:
        ticket = view.ticket
        assert view.names == TicketNames(
            requester=people[ticket.requester_id],
            assignee=people[ticket.assignee_id] if ticket.assignee_id else None,
            department=departments[ticket.department_id] if ticket.department_id else None,
            team="Tier 1" if ticket.team_id == org.tier1.id else None,
        ), ticket


def test_a_rename_shows_in_the_next_read(uow: UnitOfWork, org: Org) -> None:
    ticket = open_ticket(
        uow, org.carl, department_id=org.support.id, team_id=org.tier1.id, assignee_id=org.bob.id
    )
    assert names_of(uow, ticket) == TicketNames("Carl", "Bob", "Support", "Tier 1")
    with uow.begin() as tx:
        rename(tx, org.support, name="Customer Care")
        rename(tx, org.tier1, name="First Line")
        rename(tx, org.carl, display_name="Carl Jr.")
        rename(tx, org.bob, display_name="Robert")
        tx.commit()
    assert names_of(uow, ticket) == TicketNames("Carl Jr.", "Robert", "Customer Care", "First Line")


def test_the_use_case_shows_a_rename_made_through_the_organization(
    services: Services, uow: UnitOfWork, org: Org
) -> None:
    """No cache stands between a rename and the next read of a ticket."""
    ticket = open_ticket(uow, org.carl, department_id=org.support.id, team_id=org.tier1.id)
    tickets = services.tickets
    assert tickets.get_ticket(SYSTEM_OPERATOR, ticket.id).names.department == "Support"
    services.org.update_department(
        SYSTEM_OPERATOR, org.support.id, UpdateDepartment(name="Customer Care")
    )
    services.org.update_team(SYSTEM_OPERATOR, org.tier1.id, UpdateTeam(name="First Line"))
    expected = TicketNames(requester="Carl", department="Customer Care", team="First Line")
    assert tickets.get_ticket(SYSTEM_OPERATOR, ticket.id).names == expected
    assert tickets.get_ticket_by_number(SYSTEM_OPERATOR, ticket.number).names == expected
    (listed,) = tickets.list_tickets(SYSTEM_OPERATOR, TicketQuery()).items
    assert listed == TicketView(ticket, expected)


# ---------------------------------------------------------------- the conversation


def test_messages_carry_their_authors_names(uow: UnitOfWork, org: Org) -> None:
    ticket = open_ticket(uow, org.carl)
    question = add_message(uow, ticket, org.carl, "Hello?")
    note = add_message(uow, ticket, org.ann, "VIP", MessageVisibility.INTERNAL, T0)
    reply = add_message(uow, ticket, org.bob, "Restart it.", created_at=T0)
    with uow.begin(read_only=True) as tx:
        staff = list(tx.messages.list(ticket.id, include_internal=True))
        customer = list(tx.messages.list(ticket.id, include_internal=False))
        bare = list(tx.messages.list(ticket.id, include_internal=True, with_attachments=False))
    names = {question.id: "Carl", note.id: "Ann", reply.id: "Bob"}
    assert sorted(v.message.id for v in staff) == sorted(names)
    for views in (staff, customer, bare):
        assert [v.author_name for v in views] == [names[v.message.id] for v in views]
    assert {v.message.id for v in customer} == {question.id, reply.id}

    with uow.begin() as tx:
        rename(tx, org.ann, display_name="Annabel")
        tx.commit()
    with uow.begin(read_only=True) as tx:
        again = tx.messages.list(ticket.id, include_internal=True)
    assert [v.author_name for v in again] == [
        "Annabel" if v.message.id == note.id else names[v.message.id] for v in again
    ]


def test_history_entries_carry_their_actors_names(uow: UnitOfWork, org: Org) -> None:
    ticket = open_ticket(uow, org.carl)
    by_ann = HistoryEntry(uuid.uuid4(), ticket.id, org.ann.id, "status", "new", "open", T0)
    by_system = HistoryEntry(uuid.uuid4(), ticket.id, None, "requester", None, "erased", T0)
    with uow.begin() as tx:
        tx.history.add(by_ann)
        tx.history.add(by_system)
        tx.commit()
    with uow.begin(read_only=True) as tx:
        stored = {v.entry.id: v for v in tx.history.list(ticket.id)}
    assert stored == {
        by_ann.id: HistoryView(by_ann, actor_name="Ann"),
        by_system.id: HistoryView(by_system, actor_name=None),
    }

    with uow.begin() as tx:
        rename(tx, org.ann, display_name="Annabel")
        tx.commit()
    with uow.begin(read_only=True) as tx:
        names = {v.entry.id: v.actor_name for v in tx.history.list(ticket.id)}
    assert names == {by_ann.id: "Annabel", by_system.id: None}


def test_the_use_case_names_what_a_change_moved_from_and_to(
    services: Services, uow: UnitOfWork, org: Org
) -> None:
    """The assignee, department and team an entry's values name (the repository leaves
    them to ``TicketService.history``); other values and unknown ids name nothing."""
    ticket = open_ticket(uow, org.carl)
    stranger = str(uuid.uuid4())
    changes = [
        ("assignee", None, str(org.bob.id)),
        ("department", str(org.support.id), str(org.billing.id)),
        ("team", str(org.tier1.id), None),
        ("status", "new", "open"),
        ("assignee", stranger, str(org.ann.id)),
    ]
    entries = [
        HistoryEntry(uuid.uuid4(), ticket.id, org.ann.id, field, old, new, T0)
        for field, old, new in changes
    ]
    with uow.begin() as tx:
        for entry in entries:
            tx.history.add(entry)
        tx.commit()
    history = services.tickets.history(SYSTEM_OPERATOR, ticket.id)
    by_id = {v.entry.id: v for v in history}
    assert set(by_id) == {e.id for e in entries}
    assert [
        (by_id[e.id].actor_name, by_id[e.id].old_name, by_id[e.id].new_name) for e in entries
    ] == [
        ("Ann", None, "Bob"),
        ("Ann", "Support", "Billing"),
        ("Ann", "Tier 1", None),
        ("Ann", None, None),
        ("Ann", None, "Ann"),
    ]
