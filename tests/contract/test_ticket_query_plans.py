"""The staff ticket list answers from indexes on 1,000,000 tickets (PostgreSQL).

A fresh migrated database is filled by the benchmarks' seed (``benchmarks.seed``: set-based
SQL, the data the benchmarks measure): five departments of unequal size, two teams each, eight
agents each, 2,000 customers, and a million tickets over a year (the older ones nearly all
closed, the last weeks' open, the newest 15,000 new and unassigned; about 30% assigned; 3% not
routed), each speaking of one topic among twelve and some of rare words; the open ones carry
service-level state around the seeding's instant ``SEEDED_AT`` (``sla=True``: due times from 3
days before to 5 days after it, 4% breached, some paused). Messages are left out: no list reads
them. Then, for each common filter of the staff and customer lists, the repository's own SELECT
(``SqlTicketRepository.list_statement``, probe included) is EXPLAINed and must not read
``tickets`` by a sequential scan. Timings are printed (``-s``), not asserted: speed is the
benchmarks' business.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest
import sqlalchemy as sa

from adapters.sql.engine import EngineOptions, create_engine
from adapters.sql.tickets import SqlTicketRepository, search_probe_query
from benchmarks.seed import RARE_WORDS, TOPICS, SeedInfo, seed
from benchmarks.seed_tags import seed_tags
from helpdesk_core.domain.values import TicketStatus
from helpdesk_core.ports.tickets import SlaState, TicketPage, TicketQuery, TicketSort
from tests.support.databases import PostgresDatabases

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

TICKETS = 1_000_000
# The instant the data is seeded around, and the service-level filters are judged at.
SEEDED_AT = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(scope="module")
def seeded(postgres_databases: PostgresDatabases) -> Iterator[tuple[sa.Engine, SeedInfo]]:
    url = postgres_databases.fresh()
    info = seed(  # nobody logs in
        url, TICKETS, password_hash="-", messages_per_ticket=0, sla=True, now=SEEDED_AT
    )
    print("\nseed:", ", ".join(f"{name} {seconds:.1f} s" for name, seconds in info.seconds.items()))
    engine = create_engine(url, EngineOptions(statement_timeout=0))
    try:
        yield engine, info
    finally:
        engine.dispose()


# ---------------------------------------------------------------- the plans


def plan_nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from plan_nodes(child)


def explain(
    connection: sa.Connection, bound: tuple[sa.Executable, dict[str, Any]]
) -> dict[str, Any]:
    """EXPLAIN ANALYZE of a statement and its values as the driver receives them."""
    sent: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, sql: str, parameters: Any, *_: Any) -> None:
        sent.append((sql, parameters))

    sa.event.listen(connection, "before_cursor_execute", capture)
    try:
        connection.execute(*bound).all()
    finally:
        sa.event.remove(connection, "before_cursor_execute", capture)
    sql, parameters = sent[-1]
    explained = connection.exec_driver_sql(
        f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}", parameters
    ).scalar_one()
    return dict(explained[0])


def scans(plan: dict[str, Any]) -> list[str]:
    """Each read of a table: "Index Scan tickets ix_...", "Seq Scan ticket_search", ..."""
    found = []
    for node in plan_nodes(plan["Plan"]):
        if "Scan" in node["Node Type"] and node["Node Type"] != "CTE Scan":
            parts = [node["Node Type"], node.get("Relation Name"), node.get("Index Name")]
            found.append(" ".join(p for p in parts if p))
    return found


# The names of a page's tickets: scalar subqueries by a unique key (a team's id leads two),
# run for the rows the page returns.
NAME_LOOKUPS = {
    "Index Scan users pk_users",
    "Index Scan departments pk_departments",
    "Index Scan teams pk_teams",
    "Index Scan teams uq_teams_id_department_id",
}

OPEN = frozenset({TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING})
RARE = RARE_WORDS[0]  # on one ticket in 2,000
COMMON = TOPICS[0]  # on one ticket in 12


def department(info: SeedInfo, index: int) -> uuid.UUID:
    """The id of department ``index``: 0 is the largest, each next one smaller."""
    return uuid.UUID(info.departments[index]["id"])


def agent_scope(info: SeedInfo) -> tuple[uuid.UUID | None, ...]:
    return (department(info, 0), None)


def days_ago(days: int) -> datetime:
    return datetime.now(UTC).replace(microsecond=0) - timedelta(days=days)


CASES: dict[str, Callable[[SeedInfo], TicketQuery]] = {
    "agent queue: department, open, unassigned": lambda info: TicketQuery(
        visible_departments=agent_scope(info),
        department_id=department(info, 0),
        statuses=OPEN,
        unassigned=True,
    ),
    "department + status": lambda info: TicketQuery(
        department_id=department(info, 0), statuses=frozenset({TicketStatus.OPEN})
    ),
    "department + open statuses": lambda info: TicketQuery(
        department_id=department(info, 0), statuses=OPEN
    ),
    "agent scope + open statuses": lambda info: TicketQuery(
        visible_departments=agent_scope(info), statuses=OPEN
    ),
    "assignee + status": lambda info: TicketQuery(
        assignee_id=uuid.UUID(str(info.agents[1]["user_id"])),
        statuses=frozenset({TicketStatus.OPEN}),
    ),
    "team + status": lambda info: TicketQuery(
        team_id=uuid.UUID(info.teams[0]["id"]), statuses=frozenset({TicketStatus.PENDING})
    ),
    "customer list (requester)": lambda info: TicketQuery(
        requester_id=uuid.UUID(info.customers[16]["user_id"])
    ),
    "text: rare word": lambda info: TicketQuery(text=RARE),
    "text: rare word + department": lambda info: TicketQuery(
        text=RARE.capitalize(), department_id=department(info, 2)
    ),
    "text: rare word, agent scope, relevance": lambda info: TicketQuery(
        text=RARE, visible_departments=agent_scope(info), sort=TicketSort.RELEVANCE
    ),
    # Each ticket speaks of one topic: two topics are common words never found together.
    "text: words never together": lambda info: TicketQuery(text=f"{TOPICS[0]} {TOPICS[1]}"),
    "text: common word": lambda info: TicketQuery(
        text=COMMON, visible_departments=agent_scope(info)
    ),
    "status only": lambda info: TicketQuery(statuses=frozenset({TicketStatus.NEW})),
    "created range": lambda info: TicketQuery(created_from=days_ago(200), created_to=days_ago(193)),
    "everything, by update": lambda info: TicketQuery(sort=TicketSort.UPDATED_DESC),
    "sla: breached, by due": lambda info: TicketQuery(
        sla=SlaState.BREACHED, now=SEEDED_AT, sort=TicketSort.SLA_DUE
    ),
    "sla: breached, by due, agent scope": lambda info: TicketQuery(
        visible_departments=agent_scope(info),
        sla=SlaState.BREACHED,
        now=SEEDED_AT,
        sort=TicketSort.SLA_DUE,
    ),
    "sla: at risk, by due": lambda info: TicketQuery(
        sla=SlaState.AT_RISK, now=SEEDED_AT, sort=TicketSort.SLA_DUE
    ),
    "sla: paused": lambda info: TicketQuery(sla=SlaState.PAUSED, now=SEEDED_AT),
    "everything, by sla due": lambda info: TicketQuery(sort=TicketSort.SLA_DUE),
}
# A second page of these: the first page's next_after as ``after``.
SECOND_PAGES = {
    "agent queue: department, open, unassigned",
    "department + status",
    "customer list (requester)",
    "text: rare word",
    "text: common word",
    "created range",
    "sla: breached, by due",
    "sla: breached, by due, agent scope",
    "sla: paused",
    "everything, by sla due",
}
EMPTY = {"text: words never together"}
# The index a case must read tickets by (an index scan, or a bitmap of it): the partial index
# of the tickets with a due time.
INDEXES = {
    "sla: breached, by due": "ix_tickets_sla_due",
    "sla: breached, by due, agent scope": "ix_tickets_sla_due",
}


@pytest.mark.parametrize("name", list(CASES))
def test_the_common_filters_never_scan_all_tickets(
    seeded: tuple[sa.Engine, SeedInfo], name: str
) -> None:
    engine, info = seeded
    query = attrs.evolve(CASES[name](info), limit=20)
    with engine.connect() as connection:
        repository = SqlTicketRepository(connection)
        start = time.perf_counter()
        first: TicketPage = repository.list(query)
        elapsed = time.perf_counter() - start
        queries = {"page 1": query}
        if name in SECOND_PAGES:
            assert first.next_after is not None
            queries["page 2"] = attrs.evolve(query, after=first.next_after)
        report = []
        for page, each in queries.items():
            if each.text and each.sort is not TicketSort.RELEVANCE:
                probe = explain(connection, search_probe_query(each.text))
                assert not any(s.startswith("Seq Scan tickets") for s in scans(probe))
            plan = explain(connection, repository.list_statement(each))
            used = scans(plan)
            report.append(f"{page}: {plan['Execution Time']:.2f} ms, {'; '.join(used)}")
            assert not any(s.startswith("Seq Scan tickets") for s in used), used
            assert any(s.endswith(" tickets") or " tickets " in s for s in used), used
            if name in INDEXES:
                assert any(s.endswith(f" {INDEXES[name]}") for s in used), used
            if page == "page 2":
                assert repository.list(each).items, "the second page is empty"
    assert (first.items == ()) is (name in EMPTY), len(first.items)
    print(
        f"\n{name}: {len(first.items)} tickets, list() {elapsed * 1000:.1f} ms\n  "
        + "\n  ".join(report)
    )


@pytest.fixture(scope="module")
def tagged(seeded: tuple[sa.Engine, SeedInfo]) -> dict[str, uuid.UUID]:
    """The seeded tickets with tags (benchmarks/seed_tags.py): their ids by name."""
    engine, _ = seeded
    return seed_tags(engine.url.render_as_string(hide_password=False))


TAG_CASES = {
    "two common tags": ("common", "vip"),
    "a rare tag and a common one": ("common", "rare"),
}
# Where the planner must start from the tags' index: few tickets carry both.
TAG_INDEX = {"a rare tag and a common one"}


@pytest.mark.parametrize("name", list(TAG_CASES))
@pytest.mark.parametrize("scope", ["everything", "agent scope"])
def test_two_tags_are_answered_from_the_tag_index(
    seeded: tuple[sa.Engine, SeedInfo], tagged: dict[str, uuid.UUID], name: str, scope: str
) -> None:
    """The staff list of the tickets carrying two tags (``tag=a&tag=b``) reads tickets by an
    index (the GIN index of the names tickets show, when the tags are rarer together than the
    newest tickets are), never every ticket; the page holds exactly the tickets carrying
    both."""
    engine, info = seeded
    ids = frozenset(tagged[tag] for tag in TAG_CASES[name])
    query = TicketQuery(
        tags=TAG_CASES[name],
        visible_departments=agent_scope(info) if scope == "agent scope" else None,
        limit=20,
    )
    with engine.connect() as connection:
        repository = SqlTicketRepository(connection)
        start = time.perf_counter()
        page = repository.list(query)
        elapsed = time.perf_counter() - start
        plan = explain(connection, repository.list_statement(query))
        used = scans(plan)
        assert not any(s.startswith("Seq Scan") for s in used), used
        assert any(s.endswith(" tickets") or " tickets " in s for s in used), used
        if name in TAG_INDEX:
            assert any(s.endswith(" ix_tickets_tags") for s in used), used
        assert page.items, "no ticket carries both tags"
        carried = connection.execute(
            sa.text("SELECT tag_id, ticket_id FROM ticket_tags WHERE ticket_id = ANY(:ids)"),
            {"ids": [view.ticket.id for view in page.items]},
        ).all()
        for view in page.items:
            assert ids <= {tag for tag, ticket in carried if ticket == view.ticket.id}
            assert set(TAG_CASES[name]) <= set(view.ticket.tags)
    print(
        f"\n{name}, {scope}: {len(page.items)} tickets, list() {elapsed * 1000:.1f} ms, "
        f"plan {plan['Execution Time']:.2f} ms\n  {'; '.join(used)}"
    )


def test_the_unassigned_queue_of_one_status_reads_no_ticket_it_does_not_show(
    seeded: tuple[sa.Engine, SeedInfo],
) -> None:
    """The benchmark's staff list (docs/performance.md): one department, one status,
    unassigned. Migration 0006 gives it an index the planner takes; before, it walked
    ``(status, created_at)`` and filtered out every newer ticket of the other departments."""
    engine, info = seeded
    for index in range(len(info.departments)):
        query = TicketQuery(
            department_id=department(info, index),
            statuses=frozenset({TicketStatus.NEW}),
            unassigned=True,
            limit=20,
        )
        with engine.connect() as connection:
            repository = SqlTicketRepository(connection)
            plan = explain(connection, repository.list_statement(query))
            assert repository.list(query).items
        removed = sum(node.get("Rows Removed by Filter", 0) for node in plan_nodes(plan["Plan"]))
        assert removed == 0, (index, scans(plan))
        used = [s for s in scans(plan) if s not in NAME_LOOKUPS]
        assert used == ["Index Scan tickets ix_tickets_unassigned_status_department_created"]


def test_a_search_is_planned_for_its_words_every_time(
    seeded: tuple[sa.Engine, SeedInfo],
) -> None:
    """A prepared statement may get a generic plan, blind to the words' selectivity (2 s
    instead of 1.3 ms on this seed): searches and lists are never prepared; the ticket read
    by id is (adapters/sql/compiled.py)."""
    engine, info = seeded
    with engine.connect() as connection:
        repository = SqlTicketRepository(connection)
        page = repository.list(TicketQuery(text=RARE, limit=20))
        assert page.items
        for _ in range(8):
            for text in (RARE, COMMON):
                repository.list(TicketQuery(text=text, limit=20))
            repository.list(TicketQuery(department_id=department(info, 0), limit=20))
            assert repository.get(page.items[0].ticket.id) is not None
        prepared = [
            row.statement
            for row in connection.exec_driver_sql("SELECT statement FROM pg_prepared_statements")
        ]
    assert not [s for s in prepared if "@@" in s or "ORDER BY" in s], prepared
    assert [s for s in prepared if s.startswith("SELECT tickets.id") and "WHERE tickets.id" in s]
