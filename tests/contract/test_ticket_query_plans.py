"""The staff ticket list answers from indexes on 1,000,000 tickets (PostgreSQL).

A fresh migrated database is filled by set-based SQL: five departments of unequal size, two
teams each, eight agents each, 2,000 customers, and a million tickets over three years (the
older ones nearly all closed, the last weeks' ones open; about 20% unassigned; 3% not routed),
each with a search document of a few words (some rare). Then, for each common filter of the
staff and customer lists, the repository's own SELECT (``SqlTicketRepository.list_statement``,
probe included) is EXPLAINed and must not read ``tickets`` by a sequential scan. Timings are
printed (``-s``), not asserted: speed is the benchmarks' business.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import attrs
import pytest
import sqlalchemy as sa

from adapters.sql.engine import EngineOptions, create_engine
from adapters.sql.tickets import SqlTicketRepository, search_probe_query
from helpdesk_core.domain.values import TicketStatus
from helpdesk_core.ports.tickets import TicketPage, TicketQuery, TicketSort
from tests.support.databases import PostgresDatabases
from tests.support.services import skip_or_fail

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

TICKETS = 1_000_000


def md5_uuid(text: str) -> uuid.UUID:
    """The id the fill gives a thing: PostgreSQL's ``md5(text)::uuid``."""
    return uuid.UUID(hashlib.md5(text.encode()).hexdigest())  # noqa: S324 - not security


PEOPLE = [
    """INSERT INTO departments (id, name, name_key, created_at, updated_at)
    SELECT md5('department' || d)::uuid, 'Department ' || d, 'department ' || d, now(), now()
    FROM generate_series(1, 5) d""",
    """INSERT INTO teams (id, department_id, name, name_key, created_at, updated_at)
    SELECT md5('team' || d || '-' || t)::uuid, md5('department' || d)::uuid,
           'Team ' || t, 'team ' || t, now(), now()
    FROM generate_series(1, 5) d, generate_series(1, 2) t""",
    """INSERT INTO users (id, email, display_name, password_hash, created_at, updated_at)
    SELECT md5('agent' || d || '-' || a)::uuid, 'agent' || d || '-' || a || '@example.com',
           'Agent', 'x', now(), now()
    FROM generate_series(1, 5) d, generate_series(1, 8) a""",
    """INSERT INTO staff_members (user_id, role, department_id, team_id, created_at, updated_at)
    SELECT md5('agent' || d || '-' || a)::uuid, 'agent', md5('department' || d)::uuid,
           md5('team' || d || '-' || (1 + a % 2))::uuid, now(), now()
    FROM generate_series(1, 5) d, generate_series(1, 8) a""",
    """INSERT INTO users (id, email, display_name, password_hash, created_at, updated_at)
    SELECT md5('customer' || c)::uuid, 'customer' || c || '@example.com', 'Customer', 'x',
           now(), now()
    FROM generate_series(1, 2000) c""",
]

# One ticket every 90 seconds from 2022 on; department 1 is the largest, 0 means unrouted.
FILL_TICKETS = f"""
INSERT INTO tickets (id, number, subject, description, status, priority, requester_id,
                     department_id, team_id, assignee_id, created_at, updated_at, closed_at)
SELECT md5('ticket' || g)::uuid, g, 'Ticket ' || g, 'Something is broken', status, priority,
       md5('customer' || (1 + (g::bigint * 7919) % 2000))::uuid,
       CASE WHEN dept > 0 THEN md5('department' || dept)::uuid END,
       CASE WHEN dept > 0 AND r3 < 0.6 THEN md5('team' || dept || '-' || (1 + g % 2))::uuid END,
       CASE WHEN dept > 0 AND r4 >= 0.2 THEN md5('agent' || dept || '-' || (1 + g % 8))::uuid END,
       created, created + interval '3 hours',
       CASE WHEN status = 'closed' THEN created + interval '2 days' END
FROM (
  SELECT g, r3, r4,
         timestamptz '2022-01-01 00:00:00+00' + g * interval '90 seconds' AS created,
         CASE WHEN r2 < 0.03 THEN 0 WHEN r2 < 0.40 THEN 1 WHEN r2 < 0.65 THEN 2
              WHEN r2 < 0.85 THEN 3 WHEN r2 < 0.95 THEN 4 ELSE 5 END AS dept,
         CASE WHEN g > {TICKETS} - 30000 THEN
                CASE WHEN r1 < 0.3 THEN 'new' WHEN r1 < 0.6 THEN 'open'
                     WHEN r1 < 0.8 THEN 'pending' ELSE 'resolved' END
              ELSE
                CASE WHEN r1 < 0.96 THEN 'closed' WHEN r1 < 0.98 THEN 'resolved'
                     WHEN r1 < 0.99 THEN 'open' ELSE 'pending' END
         END AS status,
         CASE WHEN r5 < 0.2 THEN 'low' WHEN r5 < 0.75 THEN 'normal'
              WHEN r5 < 0.95 THEN 'high' ELSE 'urgent' END AS priority
  FROM (
    SELECT g, random() r1, random() r2, random() r3, random() r4, random() r5
    FROM generate_series(1, {TICKETS}) g
  ) draws
) ticket
"""

# A topic word, a common word, a word of a long tail of 5,000, and "xylophone" on 60 tickets.
FILL_SEARCH = f"""
INSERT INTO ticket_search (ticket_id, document)
SELECT md5('ticket' || g)::uuid,
       'ticket ' || g
       || ' ' || (ARRAY['printer', 'network', 'invoice', 'password', 'login', 'email',
                        'refund', 'crash', 'slow', 'error'])[1 + g % 10]
       || ' ' || (ARRAY['please', 'help', 'urgent', 'today', 'again', 'still', 'broken',
                        'cannot'])[1 + g % 8]
       || ' w' || (g::bigint * 37) % 5000
       || CASE WHEN g % 16667 = 7 THEN ' xylophone' ELSE '' END
FROM generate_series(1, {TICKETS}) g
"""

SECONDARY_INDEXES = """
SELECT indexname, indexdef FROM pg_indexes
WHERE tablename IN ('tickets', 'ticket_search')
  AND indexname NOT IN (SELECT conname FROM pg_constraint)
"""


def fill(engine: sa.Engine) -> dict[str, float]:
    """A million tickets, fast: foreign key triggers off, secondary indexes built afterwards
    from their own definitions (exactly what the migration made)."""
    timings: dict[str, float] = {}

    def timed(name: str, connection: sa.Connection, *statements: str) -> None:
        start = time.perf_counter()
        for statement in statements:
            connection.execute(sa.text(statement))  # text(): "%" is no placeholder
        timings[name] = time.perf_counter() - start

    with engine.begin() as connection:
        superuser = connection.exec_driver_sql(
            "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
        ).scalar_one()
        if not superuser:
            skip_or_fail("filling a million tickets fast needs a superuser (replication role)")
        connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
        connection.exec_driver_sql("SET LOCAL synchronous_commit = off")
        connection.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")
        indexes = connection.exec_driver_sql(SECONDARY_INDEXES).all()
        assert {name for name, _ in indexes} >= {
            "ix_tickets_created_at_id",
            "ix_ticket_search_document_tsv",
        }
        timed("people", connection, *PEOPLE)
        timed("drop indexes", connection, *(f'DROP INDEX "{name}"' for name, _ in indexes))
        timed("tickets", connection, FILL_TICKETS)
        timed("search documents", connection, FILL_SEARCH)
        timed("indexes", connection, *(definition for _, definition in indexes))
        timed("analyze", connection, "ANALYZE tickets", "ANALYZE ticket_search")
    return timings


@pytest.fixture(scope="module")
def engine(postgres_databases: PostgresDatabases) -> Iterator[sa.Engine]:
    start = time.perf_counter()
    engine = create_engine(postgres_databases.fresh(), EngineOptions(statement_timeout=0))
    try:
        timings = fill(engine)
        timings["total"] = time.perf_counter() - start
        print("\nfill:", ", ".join(f"{name} {seconds:.1f} s" for name, seconds in timings.items()))
        yield engine
    finally:
        engine.dispose()


# ---------------------------------------------------------------- the plans


def plan_nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from plan_nodes(child)


def explain(connection: sa.Connection, statement: sa.Executable) -> dict[str, Any]:
    """EXPLAIN ANALYZE of ``statement`` as the driver receives it (same SQL, same values)."""
    sent: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, sql: str, parameters: Any, *_: Any) -> None:
        sent.append((sql, parameters))

    sa.event.listen(connection, "before_cursor_execute", capture)
    try:
        connection.execute(statement).all()
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


D1, D3 = md5_uuid("department1"), md5_uuid("department3")
OPEN = frozenset({TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING})
AGENT_SCOPE = (D1, None)

CASES: dict[str, TicketQuery] = {
    "agent queue: department, open, unassigned": TicketQuery(
        visible_departments=AGENT_SCOPE, department_id=D1, statuses=OPEN, unassigned=True
    ),
    "department + status": TicketQuery(department_id=D1, statuses=frozenset({TicketStatus.OPEN})),
    "department + open statuses": TicketQuery(department_id=D1, statuses=OPEN),
    "agent scope + open statuses": TicketQuery(visible_departments=AGENT_SCOPE, statuses=OPEN),
    "assignee + status": TicketQuery(
        assignee_id=md5_uuid("agent1-2"), statuses=frozenset({TicketStatus.OPEN})
    ),
    "team + status": TicketQuery(
        team_id=md5_uuid("team1-1"), statuses=frozenset({TicketStatus.PENDING})
    ),
    "customer list (requester)": TicketQuery(requester_id=md5_uuid("customer17")),
    "text: rare word": TicketQuery(text="xylophone"),
    "text: rare word + department": TicketQuery(text="Xylophone", department_id=D3),
    "text: rare word, agent scope, relevance": TicketQuery(
        text="xylophone", visible_departments=AGENT_SCOPE, sort=TicketSort.RELEVANCE
    ),
    "text: words never together": TicketQuery(text="printer help"),
    "text: common word": TicketQuery(text="printer", visible_departments=AGENT_SCOPE),
    "status only": TicketQuery(statuses=frozenset({TicketStatus.NEW})),
    "created range": TicketQuery(
        created_from=datetime(2023, 3, 1, tzinfo=UTC), created_to=datetime(2023, 3, 8, tzinfo=UTC)
    ),
    "everything, by update": TicketQuery(sort=TicketSort.UPDATED_DESC),
}
# A second page of these: the first page's next_after as ``after``.
SECOND_PAGES = {
    "agent queue: department, open, unassigned",
    "department + status",
    "customer list (requester)",
    "text: rare word",
    "text: common word",
    "created range",
}
EMPTY = {"text: words never together"}


@pytest.mark.parametrize("name", list(CASES))
def test_the_common_filters_never_scan_all_tickets(engine: sa.Engine, name: str) -> None:
    query = attrs.evolve(CASES[name], limit=20)
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
            if page == "page 2":
                assert repository.list(each).items, "the second page is empty"
    assert (first.items == ()) is (name in EMPTY), len(first.items)
    print(
        f"\n{name}: {len(first.items)} tickets, list() {elapsed * 1000:.1f} ms\n  "
        + "\n  ".join(report)
    )
