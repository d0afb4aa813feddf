"""Benchmark data, fast: a fresh migrated PostgreSQL database filled with set-based SQL.

``fresh_database`` drops, creates and migrates a database; ``seed`` fills it and returns a
``SeedInfo`` (JSON) telling the load generator whom to log in as and which tickets to touch.

What the product would write one request at a time is written here by a few statements that
PostgreSQL runs over ``generate_series``:

- The organization goes through the product's own ``OrgService`` (administrator, departments,
  teams, leads, agents: a few dozen calls), its password hasher replaced by one that hands out
  the caller's precomputed hash, so no account costs a hash here and every login measures the
  configured scheme. Customers are one INSERT with that same hash.
- Tickets are one INSERT ... SELECT; then their messages, history and search documents
  (``ticket_search``, which PostgreSQL indexes by a generated tsvector) are INSERT ... SELECTs
  from the tickets, split into ranges of ticket numbers that parallel connections write (the
  machine's cores, at most 3). Foreign key triggers are off meanwhile
  (``session_replication_role = replica``, when the role is a superuser: the rows are
  consistent by construction), and each table's secondary indexes are dropped first and
  rebuilt after, which is much faster than growing them row by row. Seeding is for fresh
  databases: one that fails half-way is made afresh, not repaired.
- Everything derives from the ticket's number through ``hashint8``: the same arguments give
  the same tickets, texts and messages, and a later stage can recompute what an earlier one
  wrote (the search document holds the words of subject, description and every message, the
  way ``SqlTicketMessageRepository.add`` keeps it).

The data: tickets spread over the year before seeding, in number order (ids are UUIDv7 of
``created_at``, like the product's, so ids, numbers and creation times sort alike); departments
of unequal size (3% not routed); old tickets nearly all closed, the last weeks' open; about 30%
assigned, 60% of routed ones to a team; ``messages_per_ticket`` messages on average, the
requester's and (once assigned) the assignee's in turn, every fourth of those an internal note.
The newest tickets, up to ``open_per_department`` per department and half of all, are kept
for the benchmarks that change tickets: new, routed, unassigned, without messages, at version
1 (a PATCH with ``If-Match: "1"`` or an automatic assignment succeeds once on each).

Texts come from word lists, so full-text search has work of every selectivity: each ticket
speaks of exactly one topic (about 1 in 12: common, and two topics never occur together), names
a model from a long tail of 4,096 made-up words (rare), one ticket in 2,000 mentions each of a
few odd words (``RARE_WORDS``), and each of ``NEEDLE_WORDS`` is on exactly 20 tickets at any
size (a search whose cost should not grow with the data). ``SeedInfo.search_words`` lists
words with their exact number of matching tickets.

With ``sla=True`` the open tickets also carry what service-level clocks would come to, for the
staff list's ``sla`` filters and ``sla_due`` order (the benchmark's ``staff_list_sla`` and
tests/contract/test_ticket_query_plans.py): one policy row, switched off so that a ticket opened
afterwards runs under no policy (the ``create`` benchmark; ``create_sla`` puts a policy of its
own in force), and on 90% of the open and pending tickets (in the same INSERT; not the new
ones, the benchmark's write pools) its id
and a due time from 3 days before the seeding's "now" to 5 days after it (4% breached, never
before 15 minutes after the ticket's creation) with its warning 30 minutes earlier; a quarter of
those pending stand instead (``sla_paused``, no due time). No clock rows are written: the lists
read only the ticket's columns. Resolved and closed tickets keep them empty.

Then the ticket number sequence continues after the last number, the ``counters`` the product
keeps (``ticket-counts:*``, ``org-generation``, ``ticket-number``) agree with the data, and
everything is vacuumed and analyzed so that autovacuum does not run during a measurement.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import string
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from helpdesk_core.domain.search import search_text

DEFAULT_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DEFAULT_DATABASE = "helpdesk_bench"
DEFAULT_PASSWORD = "bench-password-2024"  # noqa: S105 - the documented benchmark password
DEFAULT_TICKETS = 10_000
ADMIN_EMAIL = "admin@support.example.com"
RESULTS_DIR = Path(__file__).resolve().parents[1] / "var" / "benchmarks"

# Reserved tickets (new, unassigned, version 1) per department, at most half of all tickets.
OPEN_PER_DEPARTMENT = 3000
CUSTOMER_SAMPLES = 20  # customers whose tickets SeedInfo lists
CUSTOMER_SAMPLE_TICKETS = 50  # at most this many tickets of each
DETAIL_SAMPLES = 500  # tickets with messages listed per department
YEAR_MS = 365 * 86_400_000
UNROUTED = 0.03  # share of tickets not routed to a department
ASSIGNED = 0.30  # share of all tickets with an assignee
WITH_TEAM = 0.60  # share of routed tickets given to a team
RECENT = 0.04  # share of the unreserved tickets recent enough to be still open
# Service levels (``sla=True``): the share of open tickets a policy governs, the share of the
# governed pending ones whose clocks stand, the share of the running ones already breached,
# and how far before and after "now" their due times lie.
SLA_GOVERNED = 0.90
SLA_PAUSED = 0.25
SLA_BREACHED = 0.04
SLA_PAST_MS = 3 * 86_400_000
SLA_AHEAD_MS = 5 * 86_400_000
SLA_WARN_MS = 30 * 60_000  # warn_before of the policy, in milliseconds
SLA_SOONEST_MS = 15 * 60_000  # a due time is never sooner after the ticket's creation
SLA_POLICY_NAME = "Benchmark service level"
SLA_TARGETS = {  # minutes per priority and metric
    "low": {"first_response": 480, "next_response": 960, "resolution": 4320},
    "normal": {"first_response": 240, "next_response": 480, "resolution": 1440},
    "high": {"first_response": 60, "next_response": 120, "resolution": 480},
    "urgent": {"first_response": 30, "next_response": 60, "resolution": 240},
}

# ---------------------------------------------------------------- the words

DEPARTMENT_NAMES = ("Technical Support", "Billing", "Accounts", "Shipping", "Sales")
FIRST_NAMES = ("Ada", "Ben", "Chloe", "Dev", "Emma", "Farid", "Grace", "Hugo", "Ines", "Jon")
LAST_NAMES = ("Adler", "Brown", "Costa", "Diaz", "Evans", "Fischer", "Garcia", "Hill", "Ito")
# Each ticket speaks of exactly one topic; no other text contains one.
TOPICS = (
    "printer",
    "network",
    "invoice",
    "password",
    "email",
    "refund",
    "laptop",
    "vpn",
    "shipment",
    "subscription",
    "account",
    "monitor",
)
PROBLEMS = (
    "is not working",
    "keeps crashing",
    "is very slow",
    "shows an error",
    "stopped syncing",
    "cannot connect",
    "was charged twice",
    "is missing",
    "needs replacing",
    "will not start",
    "keeps disconnecting",
    "gives wrong results",
)
WHEN = (
    "since yesterday",
    "after the update",
    "this morning",
    "since monday",
    "every few minutes",
    "since last week",
    "after the move",
    "today",
)
ATTEMPTS = (
    "restarting it",
    "a factory reset",
    "reinstalling the driver",
    "another cable",
    "clearing the cache",
    "logging out and in",
    "a different browser",
    "the troubleshooting guide",
)
CLOSINGS = (
    "Please help.",
    "Thanks in advance.",
    "This is urgent for our team.",
    "Any advice is welcome.",
    "Regards.",
    "Kind regards, and thanks.",
)
FOLLOW_UPS = ("Thanks.", "Please advise.", "We need this fixed soon.", "Still waiting.")
STATES = ("broken", "slow", "failing", "unusable", "intermittent", "stuck")
CAUSES = (
    "looks like a known bug",
    "probably a configuration issue",
    "waiting on the vendor",
    "the quota was exceeded",
    "a certificate expired",
    "escalating to tier two",
)
# Each on one ticket in RARE_ONE_IN.
RARE_WORDS = ("xylophone", "quasar", "zeppelin", "kumquat", "narwhal")
RARE_ONE_IN = 2000
# Each on exactly NEEDLE_TICKETS tickets whatever their number (like a reference looked up):
# searching one costs the same at every size.
NEEDLE_WORDS = ("alderaan", "brigadoon", "camelot")
NEEDLE_TICKETS = 20
# Model names: three of these syllables, 16**3 = 4,096 words of a long tail.
SYLLABLES: tuple[str, ...] = ("ka", "lo", "mi", "ne", "ru", "so", "ta", "vi")
SYLLABLES += ("xe", "zo", "be", "du", "fa", "gi", "ho", "ju")
TAIL_SAMPLES = (7, 1234, 4000)  # model names offered as search words

# Kinds of generated ids (UUIDv7 bits 52-63): never equal across tables.
_TICKET, _MESSAGE, _HISTORY, _CUSTOMER = 1, 2, 3, 4


def model_name(index: int) -> str:
    """The model name (long-tail word) number ``index`` (0 .. 4095)."""
    return "".join(SYLLABLES[(index >> shift) % 16] for shift in (0, 4, 8))


# ---------------------------------------------------------------- what the load generator needs


@attrs.frozen
class SeedInfo:
    """Who and what a seeded database holds, for the load generator (JSON-able).

    Every account logs in with ``password``. ``departments``: {id, name, auto_assign};
    ``teams``: {id, name, department_id}; ``leads`` and ``agents``: {email, user_id,
    department_id, team_id}; ``customers``: {email, user_id}, in order (customer1 first).
    ``open_ticket_ids_by_department``: department id -> ids of new, unassigned tickets at
    version 1 without messages (each can be changed once with If-Match "1", or auto-assigned
    once). ``detail_ticket_ids_by_department``: department id -> ids of tickets with messages.
    ``customer_ticket_ids``: email of each of the first customers -> ids of their tickets.
    ``search_words``: words of the seeded texts, fewest matches first, and
    ``search_word_matches`` their exact number of matching tickets.
    """

    database_url: str
    password: str = attrs.field(repr=False)
    admin_email: str
    departments: list[dict[str, Any]]
    teams: list[dict[str, str]]
    leads: list[dict[str, str | None]]
    agents: list[dict[str, str | None]]
    customers: list[dict[str, str]]
    tickets: int
    messages: int
    open_ticket_ids_by_department: dict[str, list[str]]
    detail_ticket_ids_by_department: dict[str, list[str]]
    customer_ticket_ids: dict[str, list[str]]
    search_words: list[str]
    search_word_matches: dict[str, int]
    seconds: dict[str, float]  # how long each stage took, and "total"

    def to_json(self) -> str:
        return json.dumps(attrs.asdict(self), indent=1)

    @classmethod
    def from_json(cls, text: str) -> SeedInfo:
        return cls(**json.loads(text))

    def save(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_json())
        return path

    @classmethod
    def load(cls, path: Path) -> SeedInfo:
        return cls.from_json(path.read_text())


# ---------------------------------------------------------------- databases


_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def database_url(server_url: str, name: str) -> str:
    """``server_url`` pointing at database ``name`` (password kept)."""
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def fresh_database(admin_url: str, name: str) -> str:
    """Drop database ``name`` if it exists (ending its sessions), create it on the server of
    ``admin_url`` (a ``postgresql+psycopg://`` URL of a role that may create databases),
    migrate it to head; its URL."""
    from entrypoints.bootstrap import migrate_to_head
    from entrypoints.config import Settings

    if not _IDENTIFIER.match(name):
        raise ValueError(f"not a plain lower-case database name: {name!r}")
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        admin.dispose()
    url = database_url(admin_url, name)
    migrate_to_head(Settings(database_url=url))
    return url


def drop_database(admin_url: str, name: str) -> None:
    """Drop database ``name`` if it exists."""
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


# Tables written from the tickets (after them, in parallel).
_READING_TICKETS = ("ticket_search", "ticket_messages", "ticket_history")
_SECONDARY_INDEXES = """
SELECT indexname, indexdef FROM pg_indexes
WHERE schemaname = current_schema() AND tablename = ANY(CAST(:tables AS text[]))
  AND indexname NOT IN (SELECT conname FROM pg_constraint)
ORDER BY indexname
"""


def fast_writes(connection: sa.Connection) -> None:
    """Make the rest of this transaction write fast: foreign key triggers off when the role is
    a superuser (``session_replication_role``: the rows must be consistent on their own),
    commits that do not wait for the disk, memory for sorts and index builds."""
    superuser = connection.exec_driver_sql(
        "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
    ).scalar_one()
    if superuser:
        connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
    connection.exec_driver_sql("SET LOCAL synchronous_commit = off")
    connection.exec_driver_sql("SET LOCAL maintenance_work_mem = '512MB'")
    connection.exec_driver_sql("SET LOCAL work_mem = '64MB'")


def drop_secondary_indexes(connection: sa.Connection, *tables: str) -> list[str]:
    """Drop the indexes of ``tables`` that no constraint owns; their definitions, to make them
    again exactly as the migrations did, the full-text (GIN) ones first: they take longest."""
    indexes = connection.execute(sa.text(_SECONDARY_INDEXES), {"tables": list(tables)}).all()
    for name, _ in indexes:
        connection.exec_driver_sql(f'DROP INDEX "{name}"')
    return sorted((definition for _, definition in indexes), key=lambda d: "USING gin" not in d)


@contextmanager
def bulk_load(connection: sa.Connection, *tables: str) -> Iterator[None]:
    """Inside the caller's transaction, make a large INSERT into ``tables`` fast: writes as
    ``fast_writes``, the tables' secondary indexes dropped before and rebuilt after (much
    faster than growing them row by row)."""
    fast_writes(connection)
    definitions = drop_secondary_indexes(connection, *tables)
    yield
    for definition in definitions:
        connection.exec_driver_sql(definition)


# ---------------------------------------------------------------- SQL pieces


def _hash(seed: str, salt: int) -> str:
    """A well-mixed number in [0, 2**32) from an integer SQL expression and a salt < 1024."""
    return f"(hashint8(({seed}) * 1024 + {salt})::bigint + 2147483648)"


def _pick(seed: str, salt: int, count: int) -> str:
    """A number in [0, count)."""
    return f"({_hash(seed, salt)} % {max(1, count)})"


def _chance(seed: str, salt: int) -> str:
    """A number in [0, 1)."""
    return f"({_hash(seed, salt)} / 4294967296.0)"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _array(words: Sequence[str]) -> str:
    return "ARRAY[" + ", ".join(_quote(word) for word in words) + "]"


def _uuid7(ms: str, kind: int, serial: str) -> str:
    """A UUIDv7 of Unix milliseconds ``ms``, unique by (``kind``, ``serial`` < 2**62)."""
    return (
        f"encode(int8send((({ms})::bigint << 16) | {0x7000 | kind})"
        f" || int8send((-9223372036854775807 - 1) | ({serial})), 'hex')::uuid"
    )


def _customer_id(customer: str) -> str:
    """The id of customer number ``customer`` (1-based), registered a minute apart."""
    return _uuid7(f"CAST(:customers_from_ms AS bigint) + ({customer}) * 60000", _CUSTOMER, customer)


@attrs.frozen
class _Text:
    """A generated text in SQL, twice: ``shown`` as stored, and ``words``, the words that
    ``search_text`` finds in it, each after a space ('' or ' w1 w2 ...'), so that texts joined
    give their search document without any regular expression in SQL."""

    shown: str
    words: str

    def __add__(self, other: _Text | str) -> _Text:
        right = _literal(other) if isinstance(other, str) else other
        if self.words == "''" or right.words == "''":
            words = right.words if self.words == "''" else self.words
        else:
            words = f"{self.words} || {right.words}"
        return _Text(f"{self.shown} || {right.shown}", words)


def _literal(text: str) -> _Text:
    words = search_text(text)
    return _Text(_quote(text), _quote(" " + words) if words else "''")


def _choice(options: Sequence[str], seed: str, salt: int) -> _Text:
    """One of ``options`` (each a whole word or several), drawn from ``seed`` and ``salt``."""
    assert all(search_text(option) for option in options)
    index = f"1 + {_pick(seed, salt, len(options))}"
    words = [" " + search_text(option) for option in options]
    return _Text(f"({_array(options)})[{index}]", f"({_array(words)})[{index}]")


def _capitalized(text: _Text) -> _Text:
    return _Text(f"upper(left({text.shown}, 1)) || substr({text.shown}, 2)", text.words)


def _case(choices: Sequence[tuple[str, _Text]], otherwise: _Text) -> _Text:
    """The first text whose SQL condition holds, else ``otherwise``."""

    def render(part: Callable[[_Text], str]) -> str:
        whens = " ".join(f"WHEN {condition} THEN {part(text)}" for condition, text in choices)
        return f"(CASE {whens} ELSE {part(otherwise)} END)"

    return _Text(render(lambda t: t.shown), render(lambda t: t.words))


_NOTHING = _Text("''", "''")


def _template(pattern: str, **fields: _Text) -> _Text:
    """``pattern``'s text with each ``{field}`` replaced by that text. Where a field meets
    the pattern there must be a non-word character (a space, punctuation), or the words of the
    whole would differ from those of its parts (tests/contract/test_benchmark_seed.py checks
    the documents against ``search_text``)."""
    text: _Text | None = None
    for literal, field, _, _ in string.Formatter().parse(pattern):
        parts = [_literal(literal)] if literal else []
        if field is not None:
            parts.append(fields[field])
        for part in parts:
            text = part if text is None else text + part
    return text or _NOTHING


def _model(ticket: str) -> _Text:
    """The ticket's model name: three syllables, one of 4,096 words (see ``model_name``)."""
    index = _pick(ticket, 13, 4096)
    name = " || ".join(
        f"({_array(SYLLABLES)})[1 + ({index} >> {shift}) % 16]" for shift in (0, 4, 8)
    )
    return _Text(f"({name})", f"(' ' || {name})")


def _subject(number: str) -> _Text:
    ticket = f"({number}) * 256"
    topic = _choice(TOPICS, ticket, 10)
    return _template(
        "{topic} {problem} {when}",
        topic=_Text(f"initcap({topic.shown})", topic.words),
        problem=_choice(PROBLEMS, ticket, 11),
        when=_choice(WHEN, ticket, 12),
    )


def _description(number: str, tickets: int) -> _Text:
    ticket = f"({number}) * 256"
    odd_sound = _template(", and it makes a {rare} sound", rare=_choice(RARE_WORDS, ticket, 18))
    stride = max(len(NEEDLE_WORDS), tickets // NEEDLE_TICKETS)
    needle = f"({_array(NEEDLE_WORDS)})[1 + ({number}) % {stride}]"
    site = _template(" Our site code is {needle}.", needle=_Text(needle, f"(' ' || {needle})"))
    on_site = (
        f"({number}) % {stride} < {len(NEEDLE_WORDS)} AND ({number}) <= {stride * NEEDLE_TICKETS}"
    )
    return _template(
        "{When}, the {topic} {problem}. I tried {attempt} but it did not help."
        " It is a {model} model{odd_sound}.{site} {closing}",
        When=_capitalized(_choice(WHEN, ticket, 12)),
        topic=_choice(TOPICS, ticket, 10),
        problem=_choice(PROBLEMS, ticket, 11),
        attempt=_choice(ATTEMPTS, ticket, 15),
        model=_model(ticket),
        odd_sound=_case([(f"{_rare_word(number)} < {len(RARE_WORDS)}", odd_sound)], _NOTHING),
        site=_case([(on_site, site)], _NOTHING),
        closing=_choice(CLOSINGS, ticket, 16),
    )


def _rare_word(number: str) -> str:
    """Which of RARE_WORDS (0-based) ticket ``number`` mentions; none when >= their count."""
    return _pick(f"({number}) * 256", 14, RARE_ONE_IN)


def _message_count(number: str, average: int, reserved_from: int) -> str:
    """How many messages ticket ``number`` has: none when reserved, else 1 .. 2 * average - 1."""
    if average <= 0:
        return "0"
    return (
        f"CASE WHEN ({number}) >= {reserved_from} THEN 0"
        f" ELSE 1 + {_pick(f'({number}) * 256', 5, 2 * average - 1)} END"
    )


def _staff_writes(m: str) -> str:
    """Whether message ``m`` of a ``tickets`` row is by staff: every second one, once assigned
    and opened (a staff reply opens a new ticket)."""
    return f"(({m}) % 2 = 0 AND assignee_id IS NOT NULL AND status <> 'new')"


def _internal(m: str) -> str:
    """Whether message ``m`` is an internal note (given that staff wrote it)."""
    return f"({m}) % 4 = 0"


def _message_body(number: str, m: str) -> _Text:
    """Message ``m`` of ticket ``number``: by its requester, or its assignee (see
    ``_staff_writes``) in a public reply or an internal note."""
    ticket = f"({number}) * 256"
    seed = f"({number}) * 256 + ({m})"
    topic, model = _choice(TOPICS, ticket, 10), _model(ticket)
    customer = _template(
        "Any update on this? The {topic} is still {state} {when}. {follow_up}",
        topic=topic,
        state=_choice(STATES, seed, 30),
        when=_choice(WHEN, seed, 31),
        follow_up=_choice(FOLLOW_UPS, seed, 32),
    )
    reply = _template(
        "Thanks for the details. Please try {attempt} and tell us whether the {model} {topic}"
        " works again.",
        attempt=_choice(ATTEMPTS, seed, 33),
        model=model,
        topic=topic,
    )
    note = _template(
        "Internal note: checked the {topic} logs for {model}, {cause}.",
        topic=topic,
        model=model,
        cause=_choice(CAUSES, seed, 34),
    )
    return _case([(f"NOT {_staff_writes(m)}", customer), (_internal(m), note)], reply)


def _department_draw(draw: str, departments: int) -> str:
    """0 (not routed) or 1 .. departments, department d weighing 1 / d."""
    weights = [1 / d for d in range(1, departments + 1)]
    total, cumulative = sum(weights), 0.0
    cases = [f"WHEN {draw} < {UNROUTED} THEN 0"]
    for d, weight in enumerate(weights[:-1], start=1):
        cumulative += weight
        cases.append(f"WHEN {draw} < {UNROUTED + (1 - UNROUTED) * cumulative / total:.6f} THEN {d}")
    return f"CASE {' '.join(cases)} ELSE {departments} END"


@attrs.frozen
class _Shape:
    """The numbers of a seeding, as SQL needs them."""

    tickets: int
    departments: int
    teams: int  # per department
    agents: int  # per department
    customers: int
    messages: int  # average per ticket
    reserved: int  # tickets reserved for changes (the newest)
    start_ms: int  # "now": the newest ticket is older
    sla: bool = False  # open tickets carry service-level state

    @property
    def reserved_from(self) -> int:
        """The number of the first reserved ticket."""
        return self.tickets - self.reserved + 1


def _tickets_sql(shape: _Shape) -> str:
    unreserved = max(1, shape.reserved_from - 1)
    step9 = max(1, YEAR_MS * 9 // (10 * shape.tickets))  # jitter below the spacing
    assign = min(0.95, ASSIGNED * shape.tickets / unreserved / (1 - UNROUTED))
    recent_from = int(unreserved * (1 - RECENT))
    s = "number * 256"
    status = (
        "CASE WHEN reserved THEN 'new'"
        f" WHEN number > {recent_from} THEN CASE WHEN r < 0.15 THEN 'new'"
        "  WHEN r < 0.50 THEN 'open' WHEN r < 0.70 THEN 'pending' ELSE 'resolved' END"
        " ELSE CASE WHEN r < 0.92 THEN 'closed' WHEN r < 0.96 THEN 'resolved'"
        "  WHEN r < 0.98 THEN 'open' WHEN r < 0.99 THEN 'pending' ELSE 'new' END END"
    )
    hour = 3_600_000
    duration = (
        "CASE WHEN reserved THEN 0"
        f" WHEN status = 'closed' THEN {2 * hour} + {_pick(s, 7, 14 * 24 * hour)}"
        f" WHEN status = 'resolved' THEN {hour} + {_pick(s, 7, 7 * 24 * hour)}"
        f" WHEN status = 'new' THEN {_pick(s, 7, 2 * hour)}"
        f" ELSE {hour // 6} + {_pick(s, 7, 3 * 24 * hour)} END"
    )
    team_of_agent = f"1 + (agent - 1) % {shape.teams}" if shape.teams else "0"
    sla_columns, sla_values, sla_draws = _sla_sql(shape)
    return f"""
INSERT INTO tickets (id, number, subject, description, status, priority, requester_id,
                     department_id, team_id, assignee_id, created_at, updated_at, closed_at,
                     version{sla_columns})
SELECT {_uuid7("created_ms", _TICKET, "number * 256")}, number,
       {_subject("number").shown}, {_description("number", shape.tickets).shown},
       status, priority, {_customer_id(f"1 + {_pick(s, 20, shape.customers)}")},
       (CAST(:departments AS uuid[]))[NULLIF(department, 0)],
       CASE WHEN team > 0 THEN (CAST(:teams AS uuid[]))[(department - 1) * {shape.teams} + team]
       END,
       CASE WHEN assigned
            THEN (CAST(:agents AS uuid[]))[(department - 1) * {shape.agents} + agent] END,
       to_timestamp(created_ms / 1000.0), to_timestamp(updated_ms / 1000.0),
       CASE WHEN status = 'closed' THEN to_timestamp(updated_ms / 1000.0) END,
       CASE WHEN reserved THEN 1
            ELSE 1 + ({_message_count("number", shape.messages, shape.reserved_from)})
                 + assigned::int + (status <> 'new')::int END{sla_values}
FROM (
  SELECT *, LEAST(created_ms + {duration}, CAST(:start_ms AS bigint)) AS updated_ms,
         CASE WHEN assigned AND has_team THEN {team_of_agent}
              WHEN has_team THEN 1 + {_pick(s, 8, shape.teams)} ELSE 0 END AS team{sla_draws}
  FROM (
    SELECT *, {status} AS status,
           CASE WHEN p < 0.2 THEN 'low' WHEN p < 0.75 THEN 'normal' WHEN p < 0.95 THEN 'high'
                ELSE 'urgent' END AS priority,
           NOT reserved AND department > 0 AND {_chance(s, 3)} < {assign:.6f} AS assigned,
           {shape.teams} > 0 AND NOT reserved AND department > 0
             AND {_chance(s, 4)} < {WITH_TEAM} AS has_team
    FROM (
      SELECT number, reserved, {_chance(s, 1)} AS r, {_chance(s, 17)} AS p,
             CAST(:start_ms AS bigint) - {YEAR_MS} + (number - 1) * {YEAR_MS} / {shape.tickets}
               + {_pick(s, 6, step9)} AS created_ms,
             CASE WHEN reserved THEN 1 + number % {shape.departments}
                  ELSE {_department_draw(_chance(s, 2), shape.departments)} END AS department,
             1 + {_pick(s, 9, shape.agents)} AS agent
      FROM (SELECT number, number >= {shape.reserved_from} AS reserved
            FROM generate_series(1, CAST({shape.tickets} AS bigint)) number) numbers
      OFFSET 0
    ) draws
    OFFSET 0
  ) states
  OFFSET 0
) ticket
"""


def _sla_sql(shape: _Shape) -> tuple[str, str, str]:
    """The tickets INSERT's service-level parts (none without ``shape.sla``): its columns, the
    values it selects, and the draws of the subquery that knows each ticket's status."""
    if not shape.sla:
        return "", "", ""
    s = "number * 256"
    # Not the new tickets: the pools of the writes and the staff list's filter are new tickets,
    # measured as before service levels came (create_sla measures opening under a policy).
    governed = f"(status IN ('open', 'pending') AND {_chance(s, 40)} < {SLA_GOVERNED})"
    paused = f"(status = 'pending' AND {_chance(s, 41)} < {SLA_PAUSED})"
    draw = _chance(s, 42)
    offset = (
        f"CASE WHEN {draw} < {SLA_BREACHED} THEN -{SLA_PAST_MS} * {draw} / {SLA_BREACHED}"
        f" ELSE {SLA_AHEAD_MS} * ({draw} - {SLA_BREACHED}) / {1 - SLA_BREACHED} END"
    )
    due = f"GREATEST(created_ms + {SLA_SOONEST_MS}, CAST(:start_ms AS bigint) + ({offset})::bigint)"
    columns = ", sla_policy_id, sla_due_at, sla_warn_at, sla_paused"
    values = f""",
       CASE WHEN sla_governed THEN CAST(:sla_policy_id AS uuid) END,
       to_timestamp(sla_due_ms / 1000.0), to_timestamp((sla_due_ms - {SLA_WARN_MS}) / 1000.0),
       sla_governed AND sla_paused"""
    draws = f""",
         {governed} AS sla_governed, {paused} AS sla_paused,
         CASE WHEN {governed} AND NOT {paused} THEN {due} END AS sla_due_ms"""
    return columns, values, draws


def _add_sla_policy(connection: sa.Connection, start_ms: int) -> uuid.UUID:
    """The one policy of a seeding with service levels, written by the product's repository
    (every column as the product reads it), switched off (module docstring); its id."""
    from adapters.sql.sla import SqlSlaPolicyRepository
    from helpdesk_core.domain.sla import SlaPolicy

    created = datetime.fromtimestamp(start_ms / 1000, UTC)
    policy = SlaPolicy.create(
        uuid.uuid4(),
        created,
        name=SLA_POLICY_NAME,
        targets=SLA_TARGETS,
        warn_before=SLA_WARN_MS // 60_000,
    )
    SqlSlaPolicyRepository(connection).add(attrs.evolve(policy, is_active=False))
    return policy.id


def _ms(column: str) -> str:
    return f"(date_part('epoch', {column}) * 1000)::bigint"


def _messages_sql(shape: _Shape) -> str:
    count = _message_count("number", shape.messages, shape.reserved_from)
    at = "created_ms + (updated_ms - created_ms) * m / (k + 1)"
    staff = _staff_writes("m")
    return f"""
INSERT INTO ticket_messages (id, ticket_id, author_id, body, visibility, created_at)
SELECT {_uuid7(at, _MESSAGE, "number * 256 + m")}, id,
       CASE WHEN {staff} THEN assignee_id ELSE requester_id END,
       {_message_body("number", "m").shown},
       CASE WHEN {staff} AND {_internal("m")} THEN 'internal' ELSE 'public' END,
       to_timestamp(({at}) / 1000.0)
FROM (
  SELECT id, number, requester_id, assignee_id, status, {count} AS k,
         {_ms("created_at")} AS created_ms, {_ms("updated_at")} AS updated_ms
  FROM tickets
  WHERE number BETWEEN :first AND :last AND number < {shape.reserved_from}
  OFFSET 0
) ticket, generate_series(1, k) m
"""


def _search_sql(shape: _Shape) -> str:
    """Each ticket's document: the words of its subject, description and messages in order,
    as ``SqlTicketRepository.add`` and ``SqlTicketMessageRepository.add`` write them."""
    text = _subject("number") + _description("number", shape.tickets)
    for m in range(1, 2 * shape.messages):
        text += _case([(f"k >= {m}", _message_body("number", str(m)))], _NOTHING)
    count = _message_count("number", shape.messages, shape.reserved_from)
    return f"""
INSERT INTO ticket_search (ticket_id, document)
SELECT id, substr({text.words}, 2)
FROM (
  SELECT id, number, assignee_id, status, {count} AS k
  FROM tickets WHERE number BETWEEN :first AND :last
  OFFSET 0
) ticket
"""


def _history_sql() -> str:
    first = "created_at + (updated_at - created_at) / 10"
    return f"""
INSERT INTO ticket_history (id, ticket_id, actor_id, field, old_value, new_value, created_at)
SELECT {_uuid7(_ms("at"), _HISTORY, "number * 256 + entry")}, id, actor, field, old, new, at
FROM tickets, LATERAL (VALUES
  (0, requester_id, 'ticket', NULL, 'created', created_at),
  (1, assignee_id, 'assignee', NULL, assignee_id::text, {first}),
  (2, assignee_id, 'status', 'new', status, updated_at)
) AS entry (entry, actor, field, old, new, at)
WHERE number BETWEEN :first AND :last
  AND (entry = 0 OR (entry = 1 AND assignee_id IS NOT NULL) OR (entry = 2 AND status <> 'new'))
"""


def _customers_sql(shape: _Shape) -> str:
    at = "to_timestamp((CAST(:customers_from_ms AS bigint) + c * 60000) / 1000.0)"
    name = _choice(FIRST_NAMES, "c", 1) + " " + _choice(LAST_NAMES, "c", 2)
    return f"""
INSERT INTO users (id, email, display_name, password_hash, created_at, updated_at)
SELECT {_customer_id("c")}, 'customer' || c || '@example.com', {name.shown},
       :password_hash, {at}, {at}
FROM generate_series(1, CAST({shape.customers} AS bigint)) c
"""


# ---------------------------------------------------------------- the organization


@attrs.frozen
class _PrecomputedHash:
    """A PasswordHasher whose ``hash`` hands out one hash made beforehand (seeding thousands
    of accounts costs one hash); verifying is the product hasher's own work."""

    password_hash: str
    verifier: Any  # a PasswordHasher

    def hash(self, password: str) -> str:
        return self.password_hash

    def verify(self, password: str, password_hash: str) -> tuple[bool, str | None]:
        result: tuple[bool, str | None] = self.verifier.verify(password, password_hash)
        return result

    def dummy_verify(self) -> None:
        self.verifier.dummy_verify()


@attrs.frozen
class _Org:
    departments: list[dict[str, Any]]
    teams: list[dict[str, str]]
    leads: list[dict[str, str | None]]
    agents: list[dict[str, str | None]]


def _department_name(d: int) -> str:
    return DEPARTMENT_NAMES[d - 1] if d <= len(DEPARTMENT_NAMES) else f"Department {d}"


def _create_org(url: str, shape: _Shape, password: str, password_hash: str) -> _Org:
    """Administrator, departments (every second one auto-assigning), teams, one lead per
    department and its agents (agent a in team 1 + (a - 1) % teams), through the OrgService."""
    from entrypoints.bootstrap import bootstrap
    from entrypoints.config import Settings
    from helpdesk_core.domain.principal import SYSTEM_OPERATOR
    from helpdesk_core.domain.values import StaffRole
    from helpdesk_core.ports.security import PasswordHasher
    from helpdesk_core.usecases.org import CreateDepartment, CreateStaff, CreateTeam

    settings = Settings(
        database_url=url, secret_keys=(secrets.token_urlsafe(48),), embedded_worker=False
    )
    from entrypoints.bootstrap import password_hasher

    hasher = _PrecomputedHash(password_hash, password_hasher(settings))
    services = bootstrap(settings, {PasswordHasher: hasher})
    org = services.org

    def staff(email: str, name: str, role: StaffRole, department: Any, team: Any) -> str:
        command = CreateStaff(email, name, password, role, department, team)
        return str(org.create_staff(SYSTEM_OPERATOR, command).user.id)

    result = _Org([], [], [], [])
    try:
        staff(ADMIN_EMAIL, "Benchmark Admin", StaffRole.ADMIN, None, None)
        for d in range(1, shape.departments + 1):
            command = CreateDepartment(_department_name(d), auto_assign=d % 2 == 0)
            department = org.create_department(SYSTEM_OPERATOR, command)
            dept_id = str(department.id)
            result.departments.append(
                {"id": dept_id, "name": department.name, "auto_assign": department.auto_assign}
            )
            teams = []
            for t in range(1, shape.teams + 1):
                team = org.create_team(SYSTEM_OPERATOR, CreateTeam(f"Tier {t}", department.id))
                teams.append(team.id)
                result.teams.append(
                    {"id": str(team.id), "name": team.name, "department_id": dept_id}
                )
            email = f"lead{d}@support.example.com"
            lead_id = staff(email, f"Lead {d}", StaffRole.LEAD, department.id, None)
            result.leads.append(
                {"email": email, "user_id": lead_id, "department_id": dept_id, "team_id": None}
            )
            for a in range(1, shape.agents + 1):
                team_id = teams[(a - 1) % len(teams)] if teams else None
                email = f"agent{d}-{a}@support.example.com"
                agent_id = staff(email, f"Agent {d}-{a}", StaffRole.AGENT, department.id, team_id)
                result.agents.append(
                    {
                        "email": email,
                        "user_id": agent_id,
                        "department_id": dept_id,
                        "team_id": str(team_id) if team_id else None,
                    }
                )
    finally:
        services.close()
    return result


# ---------------------------------------------------------------- seeding


def seed(
    url: str,
    tickets: int,
    *,
    password_hash: str,
    password: str = DEFAULT_PASSWORD,
    departments: int = 5,
    teams_per_department: int = 2,
    agents_per_department: int = 8,
    customers: int = 2000,
    messages_per_ticket: int = 3,
    open_per_department: int = OPEN_PER_DEPARTMENT,
    parallel: int = os.cpu_count() or 1,
    progress: Callable[[str], None] | None = None,
    sla: bool = False,
    now: datetime | None = None,
) -> SeedInfo:
    """Fill the migrated, empty PostgreSQL database at ``url`` (see the module's docstring).

    ``password_hash`` is ``password`` hashed once by the caller with the product's configured
    hasher (``entrypoints.bootstrap.password_hasher(settings).hash(password)``); every seeded
    account gets it. Messages, search documents and history are written by up to ``parallel``
    connections at once (at most 3). ``progress`` receives a line per finished stage. ``sla``
    gives the open tickets service-level state; ``now`` is the instant the data is seeded
    around (the newest ticket is older, due times lie around it; default: the clock's).
    """
    if tickets < 1 or departments < 1 or agents_per_department < 1 or customers < 1:
        raise ValueError("tickets, departments, agents and customers must be at least 1")
    if teams_per_department < 0 or messages_per_ticket < 0 or open_per_department < 0:
        raise ValueError("teams, messages and open tickets must not be negative")
    started = time.perf_counter()
    start_ms = int((now.timestamp() if now is not None else time.time()) * 1000)
    shape = _Shape(
        tickets=tickets,
        departments=departments,
        teams=teams_per_department,
        agents=agents_per_department,
        customers=customers,
        messages=messages_per_ticket,
        reserved=min(tickets // 2, departments * open_per_department),
        start_ms=start_ms,
        sla=sla,
    )
    params = {
        "start_ms": start_ms,
        "customers_from_ms": start_ms - YEAR_MS - (customers + 1) * 60_000,
        "password_hash": password_hash,
    }
    seconds: dict[str, float] = {}

    def stage(name: str, began: float) -> None:
        seconds[name] = round(time.perf_counter() - began, 2)
        if progress is not None:
            progress(f"{name}: {seconds[name]:.1f} s")

    from adapters.sql.engine import EngineOptions, create_engine

    workers = max(1, min(3, parallel))
    engine = create_engine(url, EngineOptions(statement_timeout=0, pool_size=workers))
    try:
        if engine.dialect.name != "postgresql":
            raise ValueError("seeding needs PostgreSQL")
        with engine.connect() as connection:
            if connection.exec_driver_sql("SELECT EXISTS (SELECT FROM tickets)").scalar_one():
                raise ValueError("the database already has tickets: seed a fresh one")

        began = time.perf_counter()
        org = _create_org(url, shape, password, password_hash)
        params["departments"] = [uuid.UUID(d["id"]) for d in org.departments]
        params["teams"] = [uuid.UUID(t["id"]) for t in org.teams]
        params["agents"] = [uuid.UUID(str(a["user_id"])) for a in org.agents]
        stage("organization", began)

        def load(name: str, table: str, statement: str) -> None:
            began = time.perf_counter()
            with engine.begin() as connection, bulk_load(connection, table):
                connection.execute(sa.text(statement), params)
            stage(name, began)

        load("customers", "users", _customers_sql(shape))
        if shape.sla:
            with engine.begin() as connection:
                params["sla_policy_id"] = _add_sla_policy(connection, start_ms)
        load("tickets", "tickets", _tickets_sql(shape))

        # What only reads tickets: indexes dropped, rows written in parallel transactions
        # (ranges of ticket numbers, the longest work first), indexes rebuilt in parallel.
        began = time.perf_counter()
        with engine.begin() as connection:
            definitions = drop_secondary_indexes(connection, *_READING_TICKETS)
        step = -(-shape.tickets // workers)
        parts = [
            (first, min(first + step - 1, shape.tickets))
            for first in range(1, shape.tickets + 1, step)
        ]
        jobs = [(_search_sql(shape), part) for part in parts]
        jobs += [(_messages_sql(shape), part) for part in parts]
        jobs.append((_history_sql(), (1, shape.tickets)))

        def write(statement: str, numbers: tuple[int, int]) -> None:
            with engine.begin() as connection:
                fast_writes(connection)
                bounds = {"first": numbers[0], "last": numbers[1]}
                connection.execute(sa.text(statement), params | bounds)

        def build(definition: str) -> None:
            with engine.begin() as connection:
                connection.exec_driver_sql("SET LOCAL maintenance_work_mem = '512MB'")
                connection.exec_driver_sql(definition)

        with ThreadPoolExecutor(workers, thread_name_prefix="seed") as pool:
            for future in [pool.submit(write, *job) for job in jobs]:
                future.result()
            stage("messages, search documents, history", began)
            began = time.perf_counter()
            for future in [pool.submit(build, definition) for definition in definitions]:
                future.result()
            stage("their indexes", began)

        began = time.perf_counter()
        with engine.begin() as connection:
            _keep_counters(connection, shape, org)
        _vacuum(engine)
        stage("counters, vacuum, analyze", began)

        began = time.perf_counter()
        with engine.connect() as connection:
            info = _describe(connection, url, shape, org, password)
        stage("samples", began)
    finally:
        engine.dispose()
    seconds["total"] = round(time.perf_counter() - started, 2)
    return attrs.evolve(info, seconds=seconds)


def _keep_counters(connection: sa.Connection, shape: _Shape, org: _Org) -> None:
    """The sequence continues after the seeded numbers; the cache generations jump to the
    seeding's clock (milliseconds), so that a Redis shared with an earlier database under the
    same prefix holds no entry for any generation of this one."""
    connection.execute(sa.text("SELECT setval('ticket_number_seq', :n)"), {"n": shape.tickets})
    names = ["org-generation", "ticket-counts:unrouted"]
    names += [f"ticket-counts:{d['id']}" for d in org.departments]
    values = [(name, shape.start_ms) for name in names] + [("ticket-number", shape.tickets)]
    statement = sa.text(
        "INSERT INTO counters (name, value) VALUES (:name, :value) ON CONFLICT (name)"
        " DO UPDATE SET value = GREATEST(counters.value, excluded.value)"
    )
    connection.execute(statement, [{"name": name, "value": value} for name, value in values])


def _vacuum(engine: sa.Engine) -> None:
    """VACUUM ANALYZE what was loaded (autovacuum would otherwise do it mid-measurement), then
    a checkpoint when allowed (the same for the checkpointer's writes)."""
    tables = "users, tickets, ticket_messages, ticket_search, ticket_history, counters"
    with engine.connect() as connection:
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        connection.exec_driver_sql(f"VACUUM (ANALYZE) {tables}")
        allowed = connection.exec_driver_sql(
            "SELECT rolsuper OR pg_has_role(current_user, 'pg_checkpoint', 'MEMBER')"
            " FROM pg_roles WHERE rolname = current_user"
        ).scalar_one()
        if allowed:
            connection.exec_driver_sql("CHECKPOINT")


def _describe(
    connection: sa.Connection, url: str, shape: _Shape, org: _Org, password: str
) -> SeedInfo:
    """The SeedInfo of the seeded database: people, samples of tickets, search words."""
    customers = [
        {"email": row.email, "user_id": str(row.id)}
        for row in connection.execute(
            sa.text(
                "SELECT id, email FROM users WHERE email LIKE 'customer%@example.com'"
                " ORDER BY created_at"
            )
        )
    ]
    reserved = connection.execute(
        sa.text("SELECT department_id, id FROM tickets WHERE number >= :n ORDER BY number"),
        {"n": shape.reserved_from},
    )
    open_ids: dict[str, list[str]] = {d["id"]: [] for d in org.departments}
    for department_id, ticket_id in reserved:
        open_ids[str(department_id)].append(str(ticket_id))
    detail_ids: dict[str, list[str]] = {}
    for department in org.departments:
        with_messages = connection.execute(
            sa.text(
                "SELECT id FROM tickets WHERE department_id = :d AND number < :n"
                " ORDER BY number DESC LIMIT :limit"
            ),
            {"d": department["id"], "n": shape.reserved_from, "limit": DETAIL_SAMPLES},
        )
        detail_ids[department["id"]] = [str(i) for i in with_messages.scalars()] * bool(
            shape.messages
        )
    customer_ids: dict[str, list[str]] = {}
    for customer in customers[:CUSTOMER_SAMPLES]:
        customer_ids[customer["email"]] = [
            str(ticket_id)
            for ticket_id in connection.execute(
                sa.text(
                    "SELECT id FROM tickets WHERE requester_id = :c"
                    " ORDER BY created_at DESC, id DESC LIMIT :limit"
                ),
                {"c": customer["user_id"], "limit": CUSTOMER_SAMPLE_TICKETS},
            ).scalars()
        ]
    candidates = [*NEEDLE_WORDS, *RARE_WORDS, *(model_name(i) for i in TAIL_SAMPLES)]
    candidates += [*TOPICS[:3], "update"]
    matches: dict[str, int] = {}
    for word in candidates:
        count = connection.execute(
            sa.text(
                "SELECT count(*) FROM ticket_search"
                " WHERE document_tsv @@ plainto_tsquery('simple', :word)"
            ),
            {"word": word},
        ).scalar_one()
        if count:
            matches[word] = int(count)
    messages = connection.exec_driver_sql("SELECT count(*) FROM ticket_messages").scalar_one()
    words = sorted(matches, key=lambda w: (matches[w], w))
    return SeedInfo(
        database_url=url,
        password=password,
        admin_email=ADMIN_EMAIL,
        departments=org.departments,
        teams=org.teams,
        leads=org.leads,
        agents=org.agents,
        customers=customers,
        tickets=shape.tickets,
        messages=int(messages),
        open_ticket_ids_by_department=open_ids,
        detail_ticket_ids_by_department=detail_ids,
        customer_ticket_ids=customer_ids,
        search_words=words,
        search_word_matches={w: matches[w] for w in words},
        seconds={},
    )


# ---------------------------------------------------------------- python -m benchmarks.seed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.seed",
        description="Create, migrate and seed a benchmark database; print its SeedInfo path.",
    )
    parser.add_argument("--tickets", type=int, default=DEFAULT_TICKETS)
    parser.add_argument("--database", default=DEFAULT_DATABASE, help="name of the database")
    parser.add_argument(
        "--admin-url", default=DEFAULT_ADMIN_URL, help="URL of a role that may create databases"
    )
    parser.add_argument("--departments", type=int, default=5)
    parser.add_argument("--teams-per-department", type=int, default=2)
    parser.add_argument("--agents-per-department", type=int, default=8)
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--messages-per-ticket", type=int, default=3)
    parser.add_argument("--open-per-department", type=int, default=OPEN_PER_DEPARTMENT)
    parser.add_argument("--password", default=DEFAULT_PASSWORD)
    parser.add_argument(
        "--sla", action="store_true", help="give the open tickets service-level state"
    )
    parser.add_argument("--output", type=Path, help="where to write the SeedInfo JSON")
    args = parser.parse_args(argv)

    from entrypoints.bootstrap import password_hasher
    from entrypoints.config import load_settings

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    began = time.perf_counter()
    url = fresh_database(args.admin_url, args.database)
    say(f"fresh database {args.database}: {time.perf_counter() - began:.1f} s")
    # The hash the configured service verifies (HELPDESK_PASSWORD_SCHEME, HELPDESK_ARGON2_*).
    password_hash = password_hasher(load_settings()).hash(args.password)
    info = seed(
        url,
        args.tickets,
        password_hash=password_hash,
        password=args.password,
        departments=args.departments,
        teams_per_department=args.teams_per_department,
        agents_per_department=args.agents_per_department,
        customers=args.customers,
        messages_per_ticket=args.messages_per_ticket,
        open_per_department=args.open_per_department,
        progress=say,
        sla=args.sla,
    )
    path = info.save(args.output or RESULTS_DIR / f"seed-{args.database}.json")
    say(f"seeded {info.tickets} tickets, {info.messages} messages in {info.seconds['total']} s")
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
