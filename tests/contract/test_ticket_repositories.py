"""The ticket repositories' contract, run over every store: memory, SQLite, PostgreSQL.

Listing is checked against an oracle written here from the port's docstrings: each filter
alone and combined, the actor's scope, every order both ways, and keyset pagination that visits
every ticket exactly once (with ties on created_at and updated_at). Text search, relevance,
ticket numbers, queue counts, the conversation, history and idempotency records follow.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import attrs
import pytest
import sqlalchemy as sa

from adapters.sql import tickets as sql_tickets
from entrypoints.bootstrap import Services, bootstrap
from helpdesk_core.domain.entities import (
    AttachmentReference,
    Department,
    HistoryEntry,
    StaffMember,
    Team,
    Ticket,
    TicketMessage,
    User,
)
from helpdesk_core.domain.errors import Conflict, StaleVersion
from helpdesk_core.domain.search import SEARCH_DOCUMENT_MAX
from helpdesk_core.domain.values import MessageVisibility, StaffRole, TicketPriority, TicketStatus
from helpdesk_core.ports.tickets import (
    IdempotencyRecord,
    TicketPage,
    TicketQuery,
    TicketSort,
    sort_key,
)
from helpdesk_core.ports.uow import Transaction, UnitOfWork
from tests.conftest import make_settings

T0 = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)
PLUS_TWO = timezone(timedelta(hours=2))


@pytest.fixture
def services(backend_url: str) -> Iterator[Services]:
    services = bootstrap(make_settings(database_url=backend_url, db_pool_size=10))
    yield services
    services.close()


@pytest.fixture
def uow(services: Services) -> UnitOfWork:
    return services.uow


# ---------------------------------------------------------------- the organization


def _user(name: str) -> User:
    return User(
        id=uuid.uuid4(),
        email=f"{name}-{uuid.uuid4().hex[:8]}@example.com",
        display_name=name.title(),
        password_hash="$argon2id$v=19$m=1024,t=1,p=1$c2FsdA$aGFzaA",
        created_at=T0,
        updated_at=T0,
    )


@attrs.frozen
class Org:
    """Two departments, a team of Support, three agents, two customers."""

    support: Department
    billing: Department
    tier1: Team
    ann: User  # agent of Support
    bob: User  # agent of Support, in Tier 1
    cara: User  # agent of Billing
    carl: User  # customer
    dora: User  # customer


@pytest.fixture
def org(uow: UnitOfWork) -> Org:
    support = Department(id=uuid.uuid4(), name="Support", created_at=T0, updated_at=T0)
    billing = Department(id=uuid.uuid4(), name="Billing", created_at=T0, updated_at=T0)
    tier1 = Team(
        id=uuid.uuid4(), department_id=support.id, name="Tier 1", created_at=T0, updated_at=T0
    )
    org = Org(support, billing, tier1, *(_user(n) for n in ("ann", "bob", "cara", "carl", "dora")))
    placed = {org.ann: (support, None), org.bob: (support, tier1), org.cara: (billing, None)}
    with uow.begin() as tx:
        tx.departments.add(support)
        tx.departments.add(billing)
        tx.teams.add(tier1)
        for user in (org.ann, org.bob, org.cara, org.carl, org.dora):
            tx.users.add(user)
        for user, (department, team) in placed.items():
            tx.staff.add(
                StaffMember(
                    user_id=user.id,
                    role=StaffRole.AGENT,
                    department_id=department.id,
                    team_id=team.id if team else None,
                    created_at=T0,
                    updated_at=T0,
                )
            )
        tx.commit()
    return org


def make_ticket(tx: Transaction, requester: User, **changes: Any) -> Ticket:
    """A ticket numbered by the store (not yet added)."""
    status = changes.get("status", TicketStatus.NEW)
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "number": tx.tickets.next_number(),
        "subject": "Printer on fire",
        "description": "It smokes.",
        "requester_id": requester.id,
        "created_at": T0,
        "updated_at": T0,
        "closed_at": T0 if status is TicketStatus.CLOSED else None,
    }
    values.update(changes)
    return Ticket(**values)


def open_ticket(uow: UnitOfWork, requester: User, **changes: Any) -> Ticket:
    with uow.begin() as tx:
        ticket = make_ticket(tx, requester, **changes)
        tx.tickets.add(ticket)
        tx.commit()
    return ticket


def add_message(
    uow: UnitOfWork,
    ticket: Ticket,
    author: User,
    body: str,
    visibility: MessageVisibility = MessageVisibility.PUBLIC,
    created_at: datetime = T0,
) -> TicketMessage:
    message = TicketMessage(
        id=uuid.uuid4(),
        ticket_id=ticket.id,
        author_id=author.id,
        body=body,
        visibility=visibility,
        created_at=created_at,
    )
    with uow.begin() as tx:
        tx.messages.add(message)
        tx.commit()
    return message


def listed(uow: UnitOfWork, **query: Any) -> TicketPage:
    with uow.begin(read_only=True) as tx:
        return tx.tickets.list(TicketQuery(**query))


def ids(page: TicketPage) -> list[uuid.UUID]:
    return [v.ticket.id for v in page.items]


def read(tx: Transaction, ticket_id: uuid.UUID) -> Ticket | None:
    """The stored ticket (without the names it is read with), or None."""
    view = tx.tickets.get(ticket_id)
    return view.ticket if view is not None else None


def listed_in(tx: Transaction) -> list[uuid.UUID]:
    return ids(tx.tickets.list(TicketQuery(limit=100)))


# ---------------------------------------------------------------- a ticket


def test_a_ticket_round_trips_with_every_field(uow: UnitOfWork, org: Org) -> None:
    with uow.begin() as tx:
        ticket = make_ticket(
            tx,
            org.carl,
            subject="Größe der Rechnung",
            description="Line one\nline two",
            status=TicketStatus.CLOSED,
            priority=TicketPriority.URGENT,
            department_id=org.support.id,
            team_id=org.tier1.id,
            assignee_id=org.bob.id,
            created_at=datetime(2024, 5, 1, 14, 0, 0, 654321, tzinfo=PLUS_TWO),
            updated_at=T0 + timedelta(days=1),
            closed_at=T0 + timedelta(days=1, microseconds=1),
            version=4,
        )
        tx.tickets.add(ticket)
        tx.commit()
    with uow.begin(read_only=True) as tx:
        loaded = read(tx, ticket.id)
        assert tx.tickets.get(uuid.uuid4()) is None
    assert loaded == ticket
    assert loaded is not None
    assert loaded.created_at == datetime(2024, 5, 1, 12, 0, 0, 654321, tzinfo=UTC)
    for value in (loaded.created_at, loaded.updated_at, loaded.closed_at):
        assert value is not None
        assert value.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ("same_id", "a ticket with this id already exists"),
        ("same_number", "a ticket numbered"),
        ("requester_id", "no such user"),
        ("department_id", "no such department"),
        ("team_id", "no such team"),
        ("foreign_team", "the team belongs to another department"),
        ("assignee_id", "no such staff member"),
    ],
)
def test_the_store_refuses_a_ticket_that_breaks_its_rules(
    uow: UnitOfWork, org: Org, change: str, reason: str
) -> None:
    stored = open_ticket(uow, org.carl)
    with uow.begin() as tx:  # numbered in a transaction of its own: the refused one must end
        ticket = make_ticket(tx, org.carl)
        tx.commit()
    with uow.begin() as tx:
        ticket = {
            "same_id": attrs.evolve(ticket, id=stored.id),
            "same_number": attrs.evolve(ticket, number=stored.number),
            "requester_id": attrs.evolve(ticket, requester_id=uuid.uuid4()),
            "department_id": attrs.evolve(ticket, department_id=uuid.uuid4()),
            "team_id": attrs.evolve(ticket, department_id=org.support.id, team_id=uuid.uuid4()),
            "foreign_team": attrs.evolve(
                ticket, department_id=org.billing.id, team_id=org.tier1.id
            ),
            "assignee_id": attrs.evolve(ticket, assignee_id=org.carl.id),  # a customer
        }[change]
        with pytest.raises(Conflict, match=reason):
            tx.tickets.add(ticket)
    # Nothing of the refused ticket was stored.
    with uow.begin(read_only=True) as tx:
        assert read(tx, stored.id) == stored
        assert listed_in(tx) == [stored.id]


def test_an_update_stores_the_next_version_and_keeps_the_opening_fields(
    uow: UnitOfWork, org: Org
) -> None:
    ticket = open_ticket(uow, org.carl)
    later = T0 + timedelta(hours=2)
    changed = attrs.evolve(
        ticket.with_status(TicketStatus.CLOSED, later),
        priority=TicketPriority.HIGH,
        department_id=org.support.id,
        team_id=org.tier1.id,
        assignee_id=org.bob.id,
    )
    with uow.begin() as tx:
        tx.tickets.update(attrs.evolve(changed, subject="Rewritten", description="Rewritten"))
        tx.commit()
    with uow.begin(read_only=True) as tx:
        assert read(tx, ticket.id) == changed


def test_a_stale_update_is_refused_and_changes_nothing(uow: UnitOfWork, org: Org) -> None:
    ticket = open_ticket(uow, org.carl)
    first = ticket.changed(T0 + timedelta(minutes=1), priority=TicketPriority.HIGH)
    with uow.begin() as tx:
        tx.tickets.update(first)
        tx.commit()
    with uow.begin() as tx:
        with pytest.raises(StaleVersion):
            tx.tickets.update(ticket.changed(T0, priority=TicketPriority.LOW))  # from v1 too
        with pytest.raises(StaleVersion):
            tx.tickets.update(attrs.evolve(first, id=uuid.uuid4(), version=2))  # never stored
        tx.commit()
    with uow.begin(read_only=True) as tx:
        assert read(tx, ticket.id) == first


def test_an_update_to_an_unknown_department_is_a_conflict(uow: UnitOfWork, org: Org) -> None:
    ticket = open_ticket(uow, org.carl)
    with uow.begin() as tx, pytest.raises(Conflict, match="no such department"):
        tx.tickets.update(ticket.changed(T0, department_id=uuid.uuid4()))
    with uow.begin(read_only=True) as tx:
        assert read(tx, ticket.id) == ticket


# ---------------------------------------------------------------- numbers


def test_numbers_are_unique_and_increasing_under_eight_threads(uow: UnitOfWork) -> None:
    threads, rounds = 8, 10
    start = threading.Barrier(threads)
    taken: list[list[int]] = [[] for _ in range(threads)]
    errors: list[BaseException] = []

    def work(i: int) -> None:
        start.wait()
        try:
            for _ in range(rounds):
                with uow.begin() as tx:
                    taken[i].append(tx.tickets.next_number())
                    tx.commit()
        except BaseException as exc:  # asserted on below
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert errors == []
    every = [n for numbers in taken for n in numbers]
    assert len(set(every)) == threads * rounds
    assert min(every) >= 1
    assert all(numbers == sorted(numbers) for numbers in taken)
    with uow.begin() as tx:
        assert tx.tickets.next_number() > max(every)


# ---------------------------------------------------------------- listing: the oracle

STATUSES = list(TicketStatus)
PRIORITIES = list(TicketPriority)


@pytest.fixture
def queue(uow: UnitOfWork, org: Org) -> list[Ticket]:
    """36 tickets: every status, priority and place; created and updated in tied groups."""
    departments = [org.support, org.billing, None]
    tickets = []
    with uow.begin() as tx:
        for i in range(36):
            department = departments[i % 3]
            status = STATUSES[i % 5]
            team_id = org.tier1.id if department is org.support and i % 2 == 0 else None
            assignee = {0: None, 1: org.ann, 2: org.bob, 3: org.cara}[i % 4]
            ticket = make_ticket(
                tx,
                org.carl if i % 2 else org.dora,
                subject=f"Ticket {i}",
                status=status,
                priority=PRIORITIES[(i // 2) % 4],
                department_id=department.id if department else None,
                team_id=team_id,
                assignee_id=assignee.id if assignee else None,
                created_at=T0 + timedelta(minutes=i // 3),  # three at each instant
                updated_at=T0 + timedelta(hours=1, minutes=(i * 7) % 5),
                closed_at=T0 + timedelta(days=1) if status is TicketStatus.CLOSED else None,
            )
            tx.tickets.add(ticket)
            tickets.append(ticket)
        tx.commit()
    return tickets


def oracle_key(ticket: Ticket, sort: TicketSort) -> tuple[Any, ...]:
    if sort in {TicketSort.UPDATED, TicketSort.UPDATED_DESC}:
        return (ticket.updated_at, ticket.id)
    if sort in {TicketSort.PRIORITY, TicketSort.PRIORITY_DESC}:
        return (ticket.priority.rank, ticket.created_at, ticket.id)
    return (ticket.created_at, ticket.id)


def oracle(
    tickets: list[Ticket],
    keep: Callable[[Ticket], bool] = lambda _: True,
    sort: TicketSort = TicketSort.CREATED_DESC,
) -> list[uuid.UUID]:
    descending = sort.value.startswith("-") or sort is TicketSort.RELEVANCE
    chosen = sorted(
        (t for t in tickets if keep(t)), key=lambda t: oracle_key(t, sort), reverse=descending
    )
    return [t.id for t in chosen]


FILTERS: dict[str, tuple[Callable[[Org], dict[str, Any]], Callable[[Org, Ticket], bool]]] = {
    "requester": (
        lambda o: {"requester_id": o.carl.id},
        lambda o, t: t.requester_id == o.carl.id,
    ),
    "one status": (
        lambda o: {"statuses": frozenset({TicketStatus.PENDING})},
        lambda o, t: t.status is TicketStatus.PENDING,
    ),
    "open statuses": (
        lambda o: {
            "statuses": frozenset({TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING})
        },
        lambda o, t: t.is_open,
    ),
    "priorities": (
        lambda o: {"priorities": frozenset({TicketPriority.LOW, TicketPriority.URGENT})},
        lambda o, t: t.priority in {TicketPriority.LOW, TicketPriority.URGENT},
    ),
    "department": (
        lambda o: {"department_id": o.support.id},
        lambda o, t: t.department_id == o.support.id,
    ),
    "team": (lambda o: {"team_id": o.tier1.id}, lambda o, t: t.team_id == o.tier1.id),
    "assignee": (lambda o: {"assignee_id": o.ann.id}, lambda o, t: t.assignee_id == o.ann.id),
    "unassigned": (lambda o: {"unassigned": True}, lambda o, t: t.assignee_id is None),
    "created range": (
        lambda o: {
            "created_from": T0 + timedelta(minutes=2),
            "created_to": T0 + timedelta(minutes=5),
        },
        lambda o, t: T0 + timedelta(minutes=2) <= t.created_at < T0 + timedelta(minutes=5),
    ),
    "created range in another zone": (
        lambda o: {"created_from": (T0 + timedelta(minutes=10)).astimezone(PLUS_TWO)},
        lambda o, t: t.created_at >= T0 + timedelta(minutes=10),
    ),
    "department, open, unassigned": (
        lambda o: {
            "department_id": o.support.id,
            "statuses": frozenset({TicketStatus.NEW, TicketStatus.OPEN}),
            "unassigned": True,
        },
        lambda o, t: (
            t.department_id == o.support.id
            and t.status in {TicketStatus.NEW, TicketStatus.OPEN}
            and t.assignee_id is None
        ),
    ),
    "team, status, priority, requester": (
        lambda o: {
            "team_id": o.tier1.id,
            "statuses": frozenset({TicketStatus.NEW, TicketStatus.RESOLVED}),
            "priorities": frozenset({TicketPriority.LOW, TicketPriority.HIGH}),
            "requester_id": o.dora.id,
        },
        lambda o, t: (
            t.team_id == o.tier1.id
            and t.status in {TicketStatus.NEW, TicketStatus.RESOLVED}
            and t.priority in {TicketPriority.LOW, TicketPriority.HIGH}
            and t.requester_id == o.dora.id
        ),
    ),
    "assignee and unassigned: nothing": (
        lambda o: {"assignee_id": o.ann.id, "unassigned": True},
        lambda o, t: False,
    ),
    "scope: one department and unrouted": (
        lambda o: {"visible_departments": (o.support.id, None)},
        lambda o, t: t.department_id in {o.support.id, None},
    ),
    "scope: unrouted only": (
        lambda o: {"visible_departments": (None,)},
        lambda o, t: t.department_id is None,
    ),
    "scope: two departments": (
        lambda o: {"visible_departments": (o.billing.id, o.support.id)},
        lambda o, t: t.department_id is not None,
    ),
    "scope: nothing": (lambda o: {"visible_departments": ()}, lambda o, t: False),
    "scope with a department of it": (
        lambda o: {"visible_departments": (o.support.id, None), "department_id": o.support.id},
        lambda o, t: t.department_id == o.support.id,
    ),
    "scope with a department outside it": (
        lambda o: {"visible_departments": (o.support.id, None), "department_id": o.billing.id},
        lambda o, t: False,
    ),
    "scope, status, unassigned": (
        lambda o: {
            "visible_departments": (o.billing.id, None),
            "statuses": frozenset({TicketStatus.NEW}),
            "unassigned": True,
        },
        lambda o, t: (
            t.department_id in {o.billing.id, None}
            and t.status is TicketStatus.NEW
            and t.assignee_id is None
        ),
    ),
}


@pytest.mark.parametrize("name", sorted(FILTERS))
def test_each_filter_keeps_exactly_its_tickets(
    uow: UnitOfWork, org: Org, queue: list[Ticket], name: str
) -> None:
    make_query, keep = FILTERS[name]
    expected = oracle(queue, lambda t: keep(org, t))
    page = listed(uow, limit=100, **make_query(org))
    assert ids(page) == expected
    assert page.next_after is None
    if not name.endswith(("nothing", "outside it")):
        assert expected, "the queue should hold tickets for this filter"


# SLA_DUE lists only tickets with a due time: tests/contract/test_sla_repositories.py.
ORDERS = [sort for sort in TicketSort if sort is not TicketSort.SLA_DUE]


@pytest.mark.parametrize("sort", ORDERS)
def test_every_order_sorts_by_its_key_then_the_id(
    uow: UnitOfWork, queue: list[Ticket], sort: TicketSort
) -> None:
    page = listed(uow, sort=sort, limit=100)
    assert ids(page) == oracle(queue, sort=sort)  # relevance without text: newest first


def _walk(uow: UnitOfWork, limit: int, **query: Any) -> tuple[list[uuid.UUID], int]:
    """Every page, following next_after through JSON as a client's cursor does."""
    seen: list[uuid.UUID] = []
    after = None
    pages = 0
    while True:
        page = listed(uow, limit=limit, after=after, **query)
        pages += 1
        seen.extend(ids(page))
        if page.next_after is None:
            return seen, pages
        assert len(page.items) == limit
        sort = query.get("sort", TicketSort.CREATED_DESC)
        if sort is not TicketSort.RELEVANCE or not query.get("text"):
            assert page.next_after == sort_key(page.items[-1].ticket, sort)
        after = tuple(json.loads(json.dumps(list(page.next_after))))
        assert pages < 100


@pytest.mark.parametrize("sort", ORDERS)
@pytest.mark.parametrize("limit", [1, 4, 7, 36])
def test_keyset_pages_visit_every_ticket_once(
    uow: UnitOfWork, queue: list[Ticket], sort: TicketSort, limit: int
) -> None:
    seen, pages = _walk(uow, limit, sort=sort)
    assert seen == oracle(queue, sort=sort)
    assert pages == -(-len(queue) // limit)  # a full last page already says "no more"


def test_keyset_pages_keep_the_filters(uow: UnitOfWork, org: Org, queue: list[Ticket]) -> None:
    scope = (org.support.id, None)
    seen, _ = _walk(uow, 2, sort=TicketSort.PRIORITY_DESC, visible_departments=scope)
    expected = oracle(
        queue, lambda t: t.department_id in {org.support.id, None}, TicketSort.PRIORITY_DESC
    )
    assert seen == expected


def test_a_full_last_page_says_there_is_no_more(uow: UnitOfWork, queue: list[Ticket]) -> None:
    page = listed(uow, limit=len(queue))
    assert len(page.items) == len(queue)
    assert page.next_after is None
    page = listed(uow, limit=len(queue) - 1)
    assert page.next_after == sort_key(page.items[-1].ticket, TicketSort.CREATED_DESC)


# ---------------------------------------------------------------- text search


@pytest.fixture(params=["index first", "planner's choice"])
def search_plan(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """PostgreSQL runs a search with few matches from its GIN index, else as the planner likes;
    both plans must give the same answers (a no-op on the other stores)."""
    if request.param == "planner's choice":
        monkeypatch.setattr(sql_tickets, "FEW_MATCHES", -1)
    return str(request.param)


def text_ids(uow: UnitOfWork, text: str, **query: Any) -> set[uuid.UUID]:
    return set(ids(listed(uow, text=text, limit=100, **query)))


def test_a_word_matches_in_the_subject_the_description_and_any_message(
    uow: UnitOfWork, org: Org, search_plan: str
) -> None:
    in_subject = open_ticket(uow, org.carl, subject="Router blinks", description="Help.")
    in_description = open_ticket(uow, org.carl, subject="Help", description="The router blinks.")
    in_reply = open_ticket(uow, org.carl, subject="Help", description="Nothing works.")
    in_note = open_ticket(uow, org.dora, subject="Help", description="Nothing works.")
    elsewhere = open_ticket(uow, org.dora, subject="Printer", description="Out of paper.")
    assert text_ids(uow, "router") == {in_subject.id, in_description.id}

    add_message(uow, in_reply, org.carl, "Maybe it is the ROUTER?")
    add_message(uow, in_note, org.ann, "Router firmware is old", MessageVisibility.INTERNAL)
    add_message(uow, elsewhere, org.ann, "Please restart it.")

    assert text_ids(uow, "router") == {
        in_subject.id,
        in_description.id,
        in_reply.id,
        in_note.id,
    }


def test_every_word_is_required_anywhere_in_the_ticket(
    uow: UnitOfWork, org: Org, search_plan: str
) -> None:
    spread = open_ticket(uow, org.carl, subject="Invoice missing", description="For March.")
    add_message(uow, spread, org.ann, "Which customer number?")
    partial = open_ticket(uow, org.carl, subject="Invoice missing", description="For April.")
    assert text_ids(uow, "invoice march") == {spread.id}
    assert text_ids(uow, "customer, MARCH; invoice!") == {spread.id}
    assert text_ids(uow, "invoice") == {spread.id, partial.id}
    assert text_ids(uow, "invoice june") == set()


def test_words_match_whole_and_regardless_of_case(uow: UnitOfWork, org: Org) -> None:
    printer = open_ticket(uow, org.carl, subject="Printer jammed", description="Paper-tray 2")
    assert text_ids(uow, "printer") == {printer.id}
    assert text_ids(uow, "PRINTER") == {printer.id}
    assert text_ids(uow, "print") == set()
    assert text_ids(uow, "printers") == set()
    assert text_ids(uow, "tray") == {printer.id}
    assert text_ids(uow, "paper tray") == {printer.id}
    assert text_ids(uow, "2") == {printer.id}


def test_unicode_words_match(uow: UnitOfWork, org: Org, search_plan: str) -> None:
    size = open_ticket(uow, org.carl, subject="Falsche Größe", description="Ärger mit café")
    assert text_ids(uow, "größe") == {size.id}
    assert text_ids(uow, "GRÖẞE") == {size.id}  # capital sharp s
    assert text_ids(uow, "ärger CAFÉ") == {size.id}
    assert text_ids(uow, "grösse") == set()
    assert text_ids(uow, "cafe") == set()  # no accent folding: like PostgreSQL's 'simple'


def test_underscores_and_punctuation_separate_words(uow: UnitOfWork, org: Org) -> None:
    ticket = open_ticket(uow, org.carl, subject="error_code E42", description="see foo.bar@x.io")
    assert text_ids(uow, "code") == {ticket.id}
    assert text_ids(uow, "error_code") == {ticket.id}
    assert text_ids(uow, "bar x") == {ticket.id}
    assert text_ids(uow, "e42") == {ticket.id}


def test_search_syntax_is_just_words(uow: UnitOfWork, org: Org) -> None:
    ticket = open_ticket(uow, org.carl, subject="Not or and near", description="x")
    other = open_ticket(uow, org.carl, subject="Printer", description="x")
    assert text_ids(uow, 'NOT "or" AND NEAR(*') == {ticket.id}
    assert text_ids(uow, "printer OR near") == set()
    assert text_ids(uow, "  !?*  ") == {ticket.id, other.id}  # no words: no text filter
    assert text_ids(uow, "") == {ticket.id, other.id}


def test_text_combines_with_filters_and_scope(uow: UnitOfWork, org: Org, search_plan: str) -> None:
    support = open_ticket(uow, org.carl, subject="VPN down", department_id=org.support.id)
    billing = open_ticket(uow, org.carl, subject="VPN bill", department_id=org.billing.id)
    unrouted = open_ticket(uow, org.dora, subject="VPN?", status=TicketStatus.OPEN)
    assert text_ids(uow, "vpn", department_id=org.support.id) == {support.id}
    assert text_ids(uow, "vpn", visible_departments=(org.support.id, None)) == {
        support.id,
        unrouted.id,
    }
    assert text_ids(uow, "vpn", statuses=frozenset({TicketStatus.OPEN})) == {unrouted.id}
    assert text_ids(uow, "vpn", requester_id=org.carl.id) == {support.id, billing.id}
    newest_first = ids(listed(uow, text="vpn", sort=TicketSort.CREATED_DESC))
    assert set(newest_first) == {support.id, billing.id, unrouted.id}


def test_text_search_pages_in_every_order(uow: UnitOfWork, org: Org, search_plan: str) -> None:
    matching = []
    with uow.begin() as tx:
        for i in range(14):
            ticket = make_ticket(
                tx,
                org.carl,
                subject=f"Backup {i}" if i % 3 else f"Restore {i}",
                description="The nightly backup failed." if i % 2 else "Nothing to see.",
                priority=PRIORITIES[i % 4],
                created_at=T0 + timedelta(minutes=i // 4),
                updated_at=T0 + timedelta(minutes=i % 3),
            )
            tx.tickets.add(ticket)
            if i % 3 or i % 2:  # "backup" in the subject or the description
                matching.append(ticket)
        tx.commit()
    for sort in set(ORDERS) - {TicketSort.RELEVANCE}:
        seen, _ = _walk(uow, 3, text="BACKUP", sort=sort)
        assert seen == oracle(matching, sort=sort), sort


def test_relevance_puts_the_best_match_first(uow: UnitOfWork, org: Org) -> None:
    passing = open_ticket(
        uow,
        org.carl,
        subject="Question about my account settings",
        description="I changed many things in the settings page, and one of them broke "
        "the display of the page, maybe the modem is involved, I do not know.",
    )
    focused = open_ticket(uow, org.carl, subject="Modem", description="Modem modem modem.")
    add_message(uow, focused, org.ann, "Is the modem plugged in?")
    other = open_ticket(uow, org.carl, subject="Printer", description="Out of paper.")

    page = listed(uow, text="modem", sort=TicketSort.RELEVANCE)
    assert ids(page) == [focused.id, passing.id]
    assert other.id not in ids(page)
    first = listed(uow, text="modem", sort=TicketSort.RELEVANCE, limit=1)
    assert ids(first) == [focused.id]
    assert first.next_after is not None
    cost, last_id = first.next_after
    assert isinstance(cost, float)
    assert last_id == str(focused.id)
    after = tuple(json.loads(json.dumps(list(first.next_after))))
    second = listed(uow, text="modem", sort=TicketSort.RELEVANCE, limit=1, after=after)
    assert ids(second) == [passing.id]
    assert second.next_after is None


def test_relevance_pages_visit_every_match_once(uow: UnitOfWork, org: Org) -> None:
    matches = []
    for i in range(11):
        ticket = open_ticket(
            uow, org.carl, subject=f"Disk {i}", description=" ".join(["disk"] * (i % 4))
        )
        matches.append(ticket.id)
    open_ticket(uow, org.carl, subject="Screen", description="Flickers.")
    everything = ids(listed(uow, text="disk", sort=TicketSort.RELEVANCE, limit=100))
    assert sorted(everything) == sorted(matches)
    for limit in (1, 3, 5):
        seen, _ = _walk(uow, limit, text="disk", sort=TicketSort.RELEVANCE)
        assert seen == everything


def test_the_search_document_stops_at_its_limit_on_every_store(uow: UnitOfWork, org: Org) -> None:
    words = [f"w{i:06d}" for i in range(SEARCH_DOCUMENT_MAX // 8 + 10)]
    ticket = open_ticket(uow, org.carl, subject="Long", description=" ".join(words[:1000]))
    for start in range(1000, len(words), 5000):  # a long conversation, no tsvector error
        add_message(uow, ticket, org.ann, " ".join(words[start : start + 5000]))
    add_message(uow, ticket, org.ann, "zebra")
    assert text_ids(uow, words[1000]) == {ticket.id}
    assert text_ids(uow, words[SEARCH_DOCUMENT_MAX // 8 - 100]) == {ticket.id}
    assert text_ids(uow, words[-1]) == set()
    assert text_ids(uow, "zebra") == set()
    # The document is full, the conversation is not: every message was stored (on PostgreSQL
    # the message and its words are one statement).
    with uow.begin(read_only=True) as tx:
        bodies = [v.message.body for v in tx.messages.list(ticket.id, include_internal=True)]
    assert len(bodies) == len(range(1000, len(words), 5000)) + 1
    assert "zebra" in bodies


@pytest.mark.parametrize(
    "backend_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_postgres_writes_a_row_and_its_words_in_one_statement(uow: UnitOfWork, org: Org) -> None:
    """A ticket with its search document, a message with its words: one statement each (one
    round trip) on PostgreSQL, and the words are found as with two."""
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement)

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", record)
    try:
        ticket = open_ticket(uow, org.carl, subject="Scanner jammed", description="Help.")
        add_message(uow, ticket, org.carl, "The toner leaks")
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", record)
    writes = [s for s in sent if s.lstrip().startswith(("INSERT", "UPDATE", "WITH"))]
    assert len(writes) == 2, writes
    assert "INSERT INTO tickets " in writes[0]
    assert "INSERT INTO ticket_search " in writes[0]
    assert "INSERT INTO ticket_messages " in writes[1]
    assert "UPDATE ticket_search " in writes[1]
    assert text_ids(uow, "scanner toner") == {ticket.id}
    assert text_ids(uow, "jammed leaks") == {ticket.id}


# ---------------------------------------------------------------- queue counts


def test_queue_counts_count_a_departments_tickets(
    uow: UnitOfWork, org: Org, queue: list[Ticket]
) -> None:
    for department_id in (org.support.id, org.billing.id, None, uuid.uuid4()):
        mine = [t for t in queue if t.department_id == department_id]
        open_work = [t for t in mine if t.is_open]
        by_assignee: dict[str, int] = {}
        for t in open_work:
            if t.assignee_id is not None:
                by_assignee[str(t.assignee_id)] = by_assignee.get(str(t.assignee_id), 0) + 1
        with uow.begin(read_only=True) as tx:
            counts = tx.tickets.queue_counts(department_id)
        assert counts.by_status == {s.value: sum(t.status is s for t in mine) for s in STATUSES}
        assert counts.open_by_priority == {
            p.value: sum(t.priority is p for t in open_work) for p in PRIORITIES
        }
        assert counts.open_unassigned == sum(t.assignee_id is None for t in open_work)
        assert counts.open_by_assignee == by_assignee


# ---------------------------------------------------------------- messages and attachments


def attachment(
    ticket: Ticket, by: User, message: TicketMessage | None = None, **changes: Any
) -> AttachmentReference:
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "ticket_id": ticket.id,
        "message_id": message.id if message else None,
        "url": "https://files.example.com/a.png",
        "filename": "a.png",
        "mime_type": "image/png",
        "size_bytes": 1234,
        "uploaded_by": by.id,
        "created_at": T0,
        "checksum": "sha256:abcdefgh",
    }
    values.update(changes)
    return AttachmentReference(**values)


def messages(tx: Transaction, ticket_id: uuid.UUID, **options: Any) -> list[TicketMessage]:
    """The ticket's stored messages (without their authors' names)."""
    return [view.message for view in tx.messages.list(ticket_id, **options)]


def history(tx: Transaction, ticket_id: uuid.UUID) -> list[HistoryEntry]:
    """The ticket's stored history (without the actors' names)."""
    return [view.entry for view in tx.history.list(ticket_id)]


def test_messages_come_oldest_first_with_their_attachments(uow: UnitOfWork, org: Org) -> None:
    ticket = open_ticket(uow, org.carl)
    later = T0 + timedelta(minutes=5)
    reply = add_message(uow, ticket, org.ann, "Restart it.", created_at=later)
    note = add_message(uow, ticket, org.ann, "Customer is VIP", MessageVisibility.INTERNAL, later)
    question = add_message(uow, ticket, org.carl, "Hello?", created_at=T0.astimezone(PLUS_TWO))
    own = attachment(ticket, org.carl, created_at=T0)
    on_reply = [
        attachment(ticket, org.ann, reply, filename=f"r{i}.png", created_at=later) for i in range(3)
    ]
    on_note = attachment(ticket, org.ann, note, filename="n.png", created_at=later)
    other_ticket = open_ticket(uow, org.dora)
    with uow.begin() as tx:
        for ref in [own, *on_reply, on_note, attachment(other_ticket, org.dora)]:
            tx.attachments.add(ref)
        tx.commit()

    with uow.begin(read_only=True) as tx:
        staff_view = messages(tx, ticket.id, include_internal=True)
        customer_view = messages(tx, ticket.id, include_internal=False)
        every_reference = list(tx.attachments.list(ticket.id))
        bare_view = messages(tx, ticket.id, include_internal=True, with_attachments=False)
        assert list(tx.messages.list(uuid.uuid4(), include_internal=True)) == []

    # Without attachments: the same messages, in the same order, none of them attached.
    assert [attrs.evolve(m, attachments=()) for m in staff_view] == bare_view
    assert all(m.attachments == () for m in bare_view)

    tied = sorted([reply, note], key=lambda m: m.id)
    assert [m.id for m in staff_view] == [question.id, *(m.id for m in tied)]
    assert [m.id for m in customer_view] == [question.id, reply.id]
    by_id = {m.id: m for m in staff_view}
    assert by_id[reply.id].attachments == tuple(sorted(on_reply, key=lambda a: a.id))
    assert by_id[note.id].attachments == (on_note,)
    assert by_id[question.id].attachments == ()
    assert by_id[question.id].created_at == T0
    assert by_id[reply.id] == attrs.evolve(reply, attachments=by_id[reply.id].attachments)
    assert every_reference == [own, *sorted([*on_reply, on_note], key=lambda a: a.id)]


def test_history_comes_oldest_first(uow: UnitOfWork, org: Org) -> None:
    ticket = open_ticket(uow, org.carl)
    entries = [
        HistoryEntry(
            id=uuid.uuid4(),
            ticket_id=ticket.id,
            actor_id=org.ann.id if i % 2 else None,
            field="status",
            old_value=None if i == 0 else "new",
            new_value="open",
            created_at=T0 + timedelta(minutes=3 - i // 2),
        )
        for i in range(5)
    ]
    with uow.begin() as tx:
        for entry in entries:
            tx.history.add(entry)
        tx.commit()
    with uow.begin(read_only=True) as tx:
        stored = history(tx, ticket.id)
        assert list(tx.history.list(uuid.uuid4())) == []
    assert stored == sorted(entries, key=lambda e: (e.created_at, e.id))


def test_the_conversation_refuses_what_points_nowhere(uow: UnitOfWork, org: Org) -> None:
    ticket = open_ticket(uow, org.carl)
    message = add_message(uow, ticket, org.carl, "Hi")
    nowhere = attrs.evolve(ticket, id=uuid.uuid4())
    stranger = attrs.evolve(org.carl, id=uuid.uuid4())
    entry = HistoryEntry(uuid.uuid4(), ticket.id, None, "status", None, "open", T0)
    new = uuid.uuid4
    refused: list[tuple[Callable[[Transaction], None], str]] = [
        (lambda tx: tx.messages.add(message), "a message with this id already exists"),
        (
            lambda tx: tx.messages.add(attrs.evolve(message, id=new(), ticket_id=nowhere.id)),
            "no such ticket",
        ),
        (
            lambda tx: tx.messages.add(attrs.evolve(message, id=new(), author_id=stranger.id)),
            "no such user",
        ),
        (lambda tx: tx.attachments.add(attachment(nowhere, org.carl)), "no such ticket"),
        (
            lambda tx: tx.attachments.add(
                attachment(ticket, org.carl, attrs.evolve(message, id=new()))
            ),
            "no such message",
        ),
        (lambda tx: tx.attachments.add(attachment(ticket, stranger)), "no such user"),
        (
            lambda tx: tx.history.add(attrs.evolve(entry, ticket_id=nowhere.id)),
            "no such ticket",
        ),
        (lambda tx: tx.history.add(attrs.evolve(entry, actor_id=stranger.id)), "no such user"),
    ]
    # A refused write ends its transaction's usefulness (on PostgreSQL these inserts take no
    # savepoint): each is tried in a transaction of its own, which then rolls back.
    for write, reason in refused:
        with uow.begin() as tx, pytest.raises(Conflict, match=reason):
            write(tx)
    with uow.begin() as tx:
        tx.history.add(entry)
        tx.commit()
    with uow.begin(read_only=True) as tx:
        assert history(tx, ticket.id) == [entry]
        assert [m.id for m in messages(tx, ticket.id, include_internal=True)] == [message.id]


# ---------------------------------------------------------------- idempotency


def test_an_idempotency_key_is_used_once_per_user(uow: UnitOfWork, org: Org) -> None:
    ticket = open_ticket(uow, org.carl)
    record = IdempotencyRecord(
        user_id=org.carl.id,
        key="7c0e-open-ticket",
        fingerprint="f" * 64,
        ticket_id=ticket.id,
        created_at=T0.astimezone(PLUS_TWO),
    )
    with uow.begin() as tx:
        assert tx.idempotency.get(org.carl.id, record.key) is None
        tx.idempotency.add(record)
        tx.commit()
    with uow.begin() as tx:
        with pytest.raises(Conflict, match="this Idempotency-Key was already used"):
            tx.idempotency.add(attrs.evolve(record, fingerprint="0" * 64))
        with pytest.raises(Conflict, match="no such ticket"):
            tx.idempotency.add(attrs.evolve(record, key="other", ticket_id=uuid.uuid4()))
        with pytest.raises(Conflict, match="no such user"):
            tx.idempotency.add(attrs.evolve(record, user_id=uuid.uuid4()))
        tx.idempotency.add(attrs.evolve(record, user_id=org.dora.id))  # another user's key
        tx.commit()
    with uow.begin(read_only=True) as tx:
        stored = tx.idempotency.get(org.carl.id, record.key)
        assert tx.idempotency.get(org.carl.id, "unknown") is None
        assert tx.idempotency.get(org.dora.id, record.key) is not None
    assert stored == attrs.evolve(record, created_at=T0)
