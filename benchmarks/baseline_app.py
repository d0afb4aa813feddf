"""The raw baseline: the product's SQL for four operations, straight through psycopg 3.

A minimal Falcon WSGI app, served by gunicorn with the same settings as the product, that does
the work of four routes with no core, no adapters and no SQLAlchemy:

- ``POST /api/v1/tickets``               a customer opens a ticket
- ``GET  /api/v1/staff/tickets``         the staff queue: filters, or a text search (``q``)
- ``GET  /api/v1/staff/tickets/{id}``    one ticket with its conversation

The statements are the ones the product runs for these routes (read from
``adapters/sql/ticket_statements.py`` and ``ticket_lists.py``, and logged from the product with
a ``before_cursor_execute`` listener), written out as plain SQL. What it deliberately does
not copy, because it is scaffolding rather than work (docs/performance.md, "The baseline"):

- one pooled connection per request (psycopg_pool, no pre-ping on checkout), autocommit for
  reads and one ``BEGIN ... COMMIT`` for the write, whatever number of transactions the
  product opens for the same answer;
- no SAVEPOINT around an INSERT (the product uses them to name a broken constraint);
- the bearer token is verified (itsdangerous, the product's keys and salt) and its session
  looked up in ONE SELECT (sessions joined to users and staff_members);
- a statement the product runs twice for one answer (the attachments of a ticket) runs once;
- departments and teams: the same ``org-generation`` counter as the product, read with the
  session, the names cached in process per generation (never stale), no Redis;
- round robin through the SQL ``counters`` row (the product's fallback when Redis fails);
- a search text's match count kept in process for 30 s, as the product keeps it.

Settings come from the environment: ``BASELINE_DATABASE_URL`` (a libpq URL),
``BASELINE_SECRET_KEYS`` (as HELPDESK_SECRET_KEYS), ``BASELINE_POOL_MIN`` / ``BASELINE_POOL_MAX``
(default 5 / 15, the product's pool size plus overflow), ``BASELINE_TOKEN_TTL`` (3600).
Serve it with ``gunicorn "benchmarks.baseline_app:wsgi()"``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from typing import Any

import falcon
import psycopg
from itsdangerous import BadData, URLSafeTimedSerializer

try:
    import psycopg_pool
except ImportError:  # pragma: no cover - one connection per thread instead
    psycopg_pool = None  # type: ignore[assignment]

# ---------------------------------------------------------------- the statements

TICKET_COLUMNS = (
    "tickets.id, tickets.number, tickets.subject, tickets.description, tickets.status, "
    "tickets.priority, tickets.requester_id, tickets.department_id, tickets.team_id, "
    "tickets.assignee_id, tickets.created_at, tickets.updated_at, tickets.closed_at, "
    "tickets.version, tickets.sla_policy_id, tickets.sla_due_at, tickets.sla_warn_at, "
    "tickets.sla_paused, tickets.source"
)
# Row positions of TICKET_COLUMNS.
T_ID, T_NUMBER, T_SUBJECT, T_DESCRIPTION, T_STATUS, T_PRIORITY = range(6)
T_REQUESTER, T_DEPARTMENT, T_TEAM, T_ASSIGNEE, T_CREATED, T_UPDATED, T_CLOSED, T_VERSION = range(
    6, 14
)
T_SLA_POLICY, T_SLA_DUE, T_SLA_WARN, T_SLA_PAUSED, T_SOURCE = range(14, 19)

SESSION_SQL = (
    "SELECT sessions.user_id, sessions.expires_at, sessions.revoked_at, users.is_active, "
    "staff_members.role, staff_members.department_id, staff_members.is_active, "
    "users.display_name, "
    "COALESCE((SELECT counters.value FROM counters WHERE counters.name = %s), 0) "
    "FROM sessions JOIN users ON users.id = sessions.user_id "
    "LEFT OUTER JOIN staff_members ON staff_members.user_id = sessions.user_id "
    "WHERE sessions.id = %s"
)
DEPARTMENT_NAMES_SQL = "SELECT departments.id, departments.name FROM departments"
TEAM_NAMES_SQL = "SELECT teams.id, teams.name FROM teams"
USERS_SQL = (
    "SELECT users.id, users.email, users.display_name, users.password_hash, users.is_active, "
    "users.created_at, users.updated_at, users.version FROM users WHERE users.id = ANY(%s)"
)

DEPARTMENT_SQL = (
    "SELECT departments.id, departments.name, departments.name_key, departments.auto_assign, "
    "departments.is_active, departments.created_at, departments.updated_at, "
    "departments.version FROM departments WHERE departments.id = %s"
)
NEXT_NUMBER_SQL = "SELECT nextval('ticket_number_seq') AS next_value_1"
INSERT_TICKET_AND_SEARCH_SQL = (  # the ticket and its search document in one statement
    "WITH new_tickets AS (INSERT INTO tickets (id, number, subject, description, status, "
    "priority, requester_id, department_id, team_id, assignee_id, created_at, updated_at, "
    "closed_at, version, sla_policy_id, sla_due_at, sla_warn_at, sla_paused, source) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
    "RETURNING tickets.id) "
    "INSERT INTO ticket_search (ticket_id, document) SELECT new_tickets.id, %s FROM new_tickets"
)
INSERT_HISTORY_SQL = (
    "INSERT INTO ticket_history (id, ticket_id, actor_id, field, old_value, new_value, "
    "created_at) VALUES (%s, %s, %s, %s, %s, %s, %s)"
)
INSERT_OUTBOX_LOCKED_SQL = (  # a key's first event in a transaction: its lock, then its row
    "WITH ordering_lock AS MATERIALIZED (SELECT pg_advisory_xact_lock(%s, hashtext(%s))) "
    "INSERT INTO outbox (id, type, version, ordering_key, occurred_at, actor_id, payload, "
    "state, attempts, available_at, seq) "
    "SELECT %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, nextval('outbox_seq') FROM ordering_lock"
)
ORDERING_LOCK_NAMESPACE = 0x4844_0004  # adapters/sql/outbox.py
INSERT_OUTBOX_SQL = (
    "INSERT INTO outbox (id, seq, type, version, ordering_key, occurred_at, actor_id, payload, "
    "state, attempts, available_at) "
    "VALUES (%s, nextval('outbox_seq'), %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)
BUMP_COUNTER_SQL = (
    "INSERT INTO counters (name, value) VALUES (%s, %s) ON CONFLICT (name) "
    "DO UPDATE SET value = (counters.value + %s) RETURNING counters.value"
)
AGENTS_SQL = (
    "SELECT staff_members.user_id, staff_members.role, staff_members.department_id, "
    "staff_members.team_id, staff_members.is_active, staff_members.created_at, "
    "staff_members.updated_at, staff_members.version FROM staff_members "
    "WHERE staff_members.department_id = %s AND staff_members.role = %s "
    "AND staff_members.is_active = true ORDER BY staff_members.created_at, staff_members.user_id"
)

TICKET_SQL = f"SELECT {TICKET_COLUMNS} FROM tickets WHERE tickets.id = %s"
# The clocks of the listed tickets a policy governs, by cycle (the latest last).
CLOCKS_SQL = (
    "SELECT ticket_id, metric, cycle, started_at, since, due_at, met_at, breached_at, "
    "cancelled_at FROM sla_clocks WHERE ticket_id = ANY(%s) ORDER BY ticket_id, metric, cycle"
)
SLA_METRICS = ("first_response", "next_response", "resolution")
# The service-level policies in force, which opening a ticket reads (the product's
# ``SqlSlaPolicyRepository.list(active=True)``); the benchmark's seed has none.
POLICIES_SQL = (
    "SELECT sla_policies.id, sla_policies.name, sla_policies.name_key, sla_policies.position, "
    "sla_policies.department_ids, sla_policies.priorities, sla_policies.calendar_id, "
    "sla_policies.targets, sla_policies.pause_statuses, sla_policies.warn_before, "
    "sla_policies.on_reopen, sla_policies.is_active, sla_policies.created_at, "
    "sla_policies.updated_at, sla_policies.version FROM sla_policies WHERE sla_policies.is_active"
)
MESSAGES_SQL = (
    "SELECT ticket_messages.id, ticket_messages.ticket_id, ticket_messages.author_id, "
    "ticket_messages.body, ticket_messages.visibility, ticket_messages.created_at, "
    "ticket_messages.source, ticket_messages.automatic "
    "FROM ticket_messages WHERE ticket_messages.ticket_id = %s{visibility} "
    "ORDER BY ticket_messages.created_at, ticket_messages.id"
)
ATTACHMENTS_SQL = (
    "SELECT attachment_references.id, attachment_references.ticket_id, "
    "attachment_references.message_id, attachment_references.uploaded_by, "
    "attachment_references.url, attachment_references.filename, attachment_references.mime_type, "
    "attachment_references.size_bytes, attachment_references.checksum, "
    "attachment_references.created_at FROM attachment_references "
    "WHERE attachment_references.ticket_id = %s "
    "ORDER BY attachment_references.created_at, attachment_references.id"
)

FEW_MATCHES = 1000  # adapters/sql/ticket_search.py
MATCH_COUNT_TTL = 30.0  # adapters/sql/ticket_search.py, MatchCounts
_match_counts: dict[str, tuple[int, float]] = {}  # words -> (count, kept until)
SEARCH_PROBE_SQL = (
    "SELECT count(*) AS count_1 FROM (SELECT 1 AS anon_1 FROM ticket_search "
    "WHERE ticket_search.document_tsv @@ plainto_tsquery('simple'::regconfig, %(q)s) "
    f"LIMIT {FEW_MATCHES + 1}) AS found"
)
# The created order (the only one this app serves) needs no rank: the matches' keys alone.
_MATCHES = (
    "SELECT ticket_search.ticket_id AS key FROM ticket_search "
    "WHERE ticket_search.document_tsv @@ plainto_tsquery('simple'::regconfig, %(q)s)"
)
# Few matches: their ids first, then each ticket by its primary key (adapters/sql/ticket_lists.py).
SEARCH_FEW_WHERE = (
    "tickets.id = ANY (array((SELECT ticket_search.ticket_id FROM ticket_search "
    "WHERE ticket_search.document_tsv @@ plainto_tsquery('simple'::regconfig, %(q)s))))"
)
SEARCH_MANY_HEAD = (
    f"SELECT {TICKET_COLUMNS} FROM tickets JOIN ({_MATCHES}) AS matches ON tickets.id = matches.key"
)
LIST_HEAD = f"SELECT {TICKET_COLUMNS} FROM tickets"
ORDER_CREATED_DESC = " ORDER BY tickets.created_at DESC, tickets.id DESC LIMIT %(limit)s"

STATUSES = ("new", "open", "pending", "resolved", "closed")
PRIORITIES = ("low", "normal", "high", "urgent")
SUBJECT_MAX = 200
BODY_MAX = 20_000
SEARCH_DOCUMENT_MAX = 150_000
PREPARE_ONLY_WHEN_ASKED = 2**31  # psycopg prepare_threshold, as adapters/sql/engine.py
PAGE_DEFAULT = 25
PAGE_MAX = 100
_WORD = re.compile(r"[^\W_]+")


def search_text(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


# ---------------------------------------------------------------- plumbing


def new_id() -> uuid.UUID:
    """A time-ordered UUIDv7, like the product's (index locality matters for inserts)."""
    value = (time.time_ns() // 1_000_000 & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= (int.from_bytes(os.urandom(2), "big") & 0xFFF) << 64
    value |= 0b10 << 62
    value |= int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    return uuid.UUID(int=value)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _ref(value: uuid.UUID | None, names: dict[uuid.UUID, str], key: str) -> Any:
    if value is None:
        return None
    return {"id": str(value), key: names.get(value)}


class Problem(Exception):
    def __init__(self, status: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def _problem(req: falcon.Request, resp: falcon.Response, ex: Problem, params: Any) -> None:
    resp.status = ex.status
    resp.media = {"title": ex.status, "detail": ex.detail}


class Connections:
    """A psycopg_pool.ConnectionPool when installed, else one connection per thread."""

    def __init__(self, conninfo: str, min_size: int, max_size: int) -> None:
        self._kwargs: dict[str, Any] = {
            "autocommit": True,
            "connect_timeout": 3,
            "application_name": "helpdesk-baseline",
            # The product's session settings (adapters/sql/engine.py).
            # Prepared only where asked (prepare=True), as the product (adapters/sql/compiled.py).
            "prepare_threshold": PREPARE_ONLY_WHEN_ASKED,
            "options": "-c TimeZone=UTC "
            "-c statement_timeout=15000 -c lock_timeout=15000 "
            "-c idle_in_transaction_session_timeout=30000",
        }
        self._conninfo = conninfo
        self._local = threading.local()
        self._pool: Any = None
        if psycopg_pool is not None:
            self._pool = psycopg_pool.ConnectionPool(
                conninfo,
                min_size=min_size,
                max_size=max_size,
                kwargs=self._kwargs,
                timeout=5.0,
                open=True,
            )

    @property
    def kind(self) -> str:
        return "psycopg_pool.ConnectionPool" if self._pool is not None else "per-thread"

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        if self._pool is not None:
            with self._pool.connection() as connection:
                yield connection
            return
        connection = getattr(self._local, "connection", None)
        if connection is None or connection.closed:
            connection = psycopg.connect(self._conninfo, **self._kwargs)
            self._local.connection = connection
        yield connection


class Actor:
    __slots__ = ("department_id", "display_name", "org_generation", "role", "user_id")

    def __init__(
        self,
        user_id: uuid.UUID,
        role: str,
        department_id: uuid.UUID | None,
        display_name: str,
        org_generation: int,
    ) -> None:
        self.user_id = user_id
        self.role = role
        self.department_id = department_id
        self.display_name = display_name
        self.org_generation = org_generation

    @property
    def is_staff(self) -> bool:
        return self.role != "customer"


class Baseline:
    """Everything the routes share: connections, the token serializer, the org cache."""

    def __init__(self, connections: Connections, secret_keys: Sequence[str], ttl: int) -> None:
        self.connections = connections
        self._tokens = URLSafeTimedSerializer(
            list(reversed([k for k in secret_keys if k])),
            salt="access",
            signer_kwargs={"digest_method": hashlib.sha256},
        )
        self._ttl = ttl
        self._org_lock = threading.Lock()
        self._org: tuple[int, dict[uuid.UUID, str], dict[uuid.UUID, str]] | None = None

    def actor(self, req: falcon.Request, connection: psycopg.Connection[Any]) -> Actor:
        header = req.get_header("Authorization") or ""
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Problem(falcon.HTTP_401, "this route needs an access token")
        try:
            payload = self._tokens.loads(token.strip(), max_age=self._ttl)
            session_id = uuid.UUID(hex=payload)
        except (BadData, ValueError, TypeError):
            raise Problem(falcon.HTTP_401, "the access token is invalid") from None
        row = connection.execute(
            SESSION_SQL, ("org-generation", session_id), prepare=True
        ).fetchone()
        now = datetime.now(UTC)
        if row is None or row[2] is not None or row[1] <= now or not row[3]:
            raise Problem(falcon.HTTP_401, "the session has ended; log in again")
        if row[4] is not None and not row[6]:
            raise Problem(falcon.HTTP_401, "the account is deactivated")
        return Actor(row[0], row[4] or "customer", row[5], row[7], int(row[8]))

    def org(
        self, connection: psycopg.Connection[Any], actor: Actor
    ) -> tuple[dict[uuid.UUID, str], dict[uuid.UUID, str]]:
        """Department and team names, cached per ``org-generation`` (the value the session
        read brought, as the product's authentication does)."""
        generation = actor.org_generation
        cached = self._org
        if cached is not None and cached[0] == generation:
            return cached[1], cached[2]
        departments = dict(connection.execute(DEPARTMENT_NAMES_SQL).fetchall())
        teams = dict(connection.execute(TEAM_NAMES_SQL).fetchall())
        with self._org_lock:
            self._org = (generation, departments, teams)
        return departments, teams

    def names(
        self, connection: psycopg.Connection[Any], ids: Sequence[uuid.UUID | None], actor: Actor
    ) -> dict[uuid.UUID, str]:
        """The display names of ``ids``; the actor's from its session row, as the product."""
        asked = {i for i in ids if i is not None}
        known = {actor.user_id: actor.display_name} if actor.user_id in asked else {}
        wanted = list(asked - known.keys())
        if not wanted:
            return known
        rows = connection.execute(USERS_SQL, (wanted,), prepare=True)
        return {**{row[0]: row[2] for row in rows}, **known}


def sla_json(row: Sequence[Any], clocks: Mapping[uuid.UUID, Mapping[str, Any]]) -> Any:
    """The ticket's service level as the product shows it (null: no policy ever governed it);
    ``clocks``: the latest clock row of each metric, by ticket (``read_clocks``)."""
    if row[T_SLA_POLICY] is None:
        return None
    found = clocks.get(row[T_ID], {})
    return {
        "policy_id": str(row[T_SLA_POLICY]),
        "next_due_at": _iso(row[T_SLA_DUE]),
        **{metric: _clock_json(found.get(metric)) for metric in SLA_METRICS},
    }


def _clock_json(clock: Any) -> Any:
    if clock is None:
        return None
    _, _, cycle, started, since, due, met, breached, cancelled = clock
    if cancelled is not None:
        status = "cancelled"
    elif met is not None:
        status = "met"
    elif breached is not None:
        status = "breached"
    else:
        status = "running" if since is not None else "paused"
    return {
        "status": status,
        "cycle": cycle,
        "started_at": _iso(started),
        "due_at": _iso(due),
        "met_at": _iso(met),
        "breached_at": _iso(breached),
    }


def read_clocks(
    connection: psycopg.Connection[Any], rows: Sequence[Sequence[Any]]
) -> dict[uuid.UUID, dict[str, Any]]:
    """The latest clock of each metric of the rows' tickets that a policy governs (the
    product's ``SqlSlaClockRepository.latest``); no statement when none is."""
    governed = [row[T_ID] for row in rows if row[T_SLA_POLICY] is not None]
    found: dict[uuid.UUID, dict[str, Any]] = {}
    if governed:
        for clock in connection.execute(CLOCKS_SQL, (governed,), prepare=True):
            found.setdefault(clock[0], {})[clock[1]] = clock  # by cycle: the last is the latest
    return found


def ticket_json(
    row: Sequence[Any],
    departments: dict[uuid.UUID, str],
    teams: dict[uuid.UUID, str],
    people: dict[uuid.UUID, str],
    with_description: bool,
    clocks: Mapping[uuid.UUID, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(row[T_ID]),
        "number": row[T_NUMBER],
        "subject": row[T_SUBJECT],
        "status": row[T_STATUS],
        "priority": row[T_PRIORITY],
        "requester": _ref(row[T_REQUESTER], people, "display_name"),
        "department": _ref(row[T_DEPARTMENT], departments, "name"),
        "team": _ref(row[T_TEAM], teams, "name"),
        "assignee": _ref(row[T_ASSIGNEE], people, "display_name"),
        "created_at": _iso(row[T_CREATED]),
        "updated_at": _iso(row[T_UPDATED]),
        "closed_at": _iso(row[T_CLOSED]),
        "version": row[T_VERSION],
        "source": row[T_SOURCE],
        "sla": sla_json(row, clocks or {}),
    }
    if with_description:
        body["description"] = row[T_DESCRIPTION]
    return body


def attachment_json(row: Sequence[Any]) -> dict[str, Any]:
    return {
        "id": str(row[0]),
        "url": row[4],
        "filename": row[5],
        "mime_type": row[6],
        "size_bytes": row[7],
        "checksum": row[8],
        "message_id": str(row[2]) if row[2] else None,
        "created_at": _iso(row[9]),
    }


def _event_ticket(row: Sequence[Any]) -> dict[str, Any]:
    """The ticket as events carried it in payload version 1 (ids, no names). The product's
    version 2 carries the API's document, a few bytes more; the baseline keeps this shape so
    that ratios measured before and after that change share one comparator."""
    return {
        "id": str(row[T_ID]),
        "number": row[T_NUMBER],
        "subject": row[T_SUBJECT],
        "status": row[T_STATUS],
        "priority": row[T_PRIORITY],
        "requester_id": str(row[T_REQUESTER]),
        "department_id": str(row[T_DEPARTMENT]) if row[T_DEPARTMENT] else None,
        "team_id": str(row[T_TEAM]) if row[T_TEAM] else None,
        "assignee_id": str(row[T_ASSIGNEE]) if row[T_ASSIGNEE] else None,
        "created_at": _iso(row[T_CREATED]),
        "updated_at": _iso(row[T_UPDATED]),
        "closed_at": _iso(row[T_CLOSED]),
        "version": row[T_VERSION],
    }


_dumps = partial(json.dumps, ensure_ascii=False, separators=(",", ":"))


def _text(value: Any, field: str, max_length: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Problem(falcon.HTTP_422, f"{field} must not be empty")
    text = value.strip()
    if len(text) > max_length:
        raise Problem(falcon.HTTP_422, f"{field} must be at most {max_length} characters")
    if any(ord(ch) < 32 and ch not in "\n\r\t" for ch in text) or "\x7f" in text:
        raise Problem(falcon.HTTP_422, f"{field} must not contain control characters")
    return text


def _uuid(value: Any, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise Problem(falcon.HTTP_422, f"{field} must be a UUID") from None


# ---------------------------------------------------------------- writes


def _outbox(
    connection: psycopg.Connection[Any],
    event_type: str,
    ticket: Sequence[Any],
    actor_id: uuid.UUID | None,
    now: datetime,
    *,
    locked: bool = False,
    **extra: Any,
) -> None:
    key = f"ticket:{ticket[T_ID]}"
    payload = _dumps({"ticket": _event_ticket(ticket), **extra})
    row = (new_id(), event_type, 1, key, now, actor_id, payload, "pending", 0, now)
    if locked:  # the transaction already holds the key's lock
        connection.execute(INSERT_OUTBOX_SQL, row, prepare=True)
    else:
        connection.execute(
            INSERT_OUTBOX_LOCKED_SQL, (ORDERING_LOCK_NAMESPACE, key, *row), prepare=True
        )


def _history(
    connection: psycopg.Connection[Any],
    ticket_id: uuid.UUID,
    actor_id: uuid.UUID | None,
    field: str,
    old: str | None,
    new: str | None,
    now: datetime,
) -> None:
    connection.execute(
        INSERT_HISTORY_SQL, (new_id(), ticket_id, actor_id, field, old, new, now), prepare=True
    )


def _round_robin_choice(connection: psycopg.Connection[Any], ticket: list[Any]) -> list[Any]:
    """The ticket assigned by round robin over the department's active agents (the counters
    row: the SQL way), one version on, before it is stored (the product's
    ``_round_robin_choice``: the INSERT writes the assigned row, no UPDATE follows)."""
    department_id = ticket[T_DEPARTMENT]
    agents = sorted(row[0] for row in connection.execute(AGENTS_SQL, (department_id, "agent")))
    if not agents:
        return ticket
    key = f"round-robin:department:{department_id}"
    position = connection.execute(BUMP_COUNTER_SQL, (key, 1, 1), prepare=True).fetchone()
    chosen = agents[(int(position[0] if position else 1) - 1) % len(agents)]
    updated = list(ticket)
    updated[T_ASSIGNEE], updated[T_VERSION] = chosen, ticket[T_VERSION] + 1
    return updated


def _record_assignment(
    connection: psycopg.Connection[Any], ticket: list[Any], assigned: list[Any], now: datetime
) -> None:
    """The assignment's history and event, after the creation's."""
    _history(connection, ticket[T_ID], None, "assignee", None, str(assigned[T_ASSIGNEE]), now)
    _outbox(
        connection,
        "ticket.assigned",
        assigned,
        None,
        now,
        locked=True,  # the ticket's creation took it
        previous_assignee_id=None,
        previous_team_id=str(ticket[T_TEAM]) if ticket[T_TEAM] else None,
    )


class CustomerTickets:
    """POST /api/v1/tickets: the product's statements for opening a ticket."""

    def __init__(self, base: Baseline) -> None:
        self._b = base

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        media = req.get_media()
        if not isinstance(media, dict):
            raise Problem(falcon.HTTP_422, "the body must be a JSON object")
        subject = _text(media.get("subject"), "subject", SUBJECT_MAX)
        description = _text(media.get("description"), "description", BODY_MAX)
        priority = media.get("priority", "normal")
        if priority not in PRIORITIES:
            raise Problem(falcon.HTTP_422, "priority is not a priority")
        raw_department = media.get("department_id")
        department_id = None if raw_department is None else _uuid(raw_department, "department_id")
        now = datetime.now(UTC)
        with self._b.connections.connection() as connection:
            actor = self._b.actor(req, connection)
            if actor.is_staff:
                raise Problem(falcon.HTTP_403, "only customers open tickets here")
            with connection.transaction():
                auto_assign = False
                if department_id is not None:
                    department = connection.execute(
                        DEPARTMENT_SQL, (department_id,), prepare=True
                    ).fetchone()
                    if department is None or not department[4]:
                        raise Problem(falcon.HTTP_422, "department_id: no such department")
                    auto_assign = bool(department[3])
                if connection.execute(POLICIES_SQL, prepare=True).fetchall():
                    raise Problem(falcon.HTTP_501, "the baseline starts no service-level clocks")
                number_row = connection.execute(NEXT_NUMBER_SQL, prepare=True).fetchone()
                assert number_row is not None
                ticket: list[Any] = [
                    new_id(),
                    int(number_row[0]),
                    subject,
                    description,
                    "new",
                    priority,
                    actor.user_id,
                    department_id,
                    None,
                    None,
                    now,
                    now,
                    None,
                    1,
                    None,
                    None,
                    None,
                    False,
                    "web",
                ]
                assigned = _round_robin_choice(connection, ticket) if auto_assign else ticket
                document = f"{search_text(subject)} {search_text(description)}"
                connection.execute(
                    INSERT_TICKET_AND_SEARCH_SQL,
                    (*assigned, document[:SEARCH_DOCUMENT_MAX]),
                    prepare=True,
                )
                _history(connection, ticket[T_ID], actor.user_id, "ticket", None, "created", now)
                _outbox(
                    connection,
                    "ticket.created",
                    ticket,
                    actor.user_id,
                    now,
                    description=description,
                    attachments=0,
                )
                if assigned is not ticket:
                    _record_assignment(connection, ticket, assigned, now)
                    ticket = assigned
                counts_key = f"ticket-counts:{department_id or 'unrouted'}"
                connection.execute(BUMP_COUNTER_SQL, (counts_key, 1, 1), prepare=True)
            departments, teams = self._b.org(connection, actor)
            people = self._b.names(connection, [ticket[T_REQUESTER], ticket[T_ASSIGNEE]], actor)
        body = ticket_json(ticket, departments, teams, people, with_description=True)
        body["messages"] = []
        body["attachments"] = []
        resp.media = body
        resp.status = falcon.HTTP_201
        resp.location = f"{req.path}/{ticket[T_ID]}"
        resp.etag = f'"{ticket[T_VERSION]}"'


# ---------------------------------------------------------------- reads


def _statuses(req: falcon.Request) -> list[str]:
    values: list[str] = []
    for raw in req.get_param_as_list("status") or []:
        values.extend(part.strip() for part in raw.split(",") if part.strip())
    if any(v not in STATUSES for v in values):
        raise Problem(falcon.HTTP_422, "status is not a status")
    return sorted(set(values))


def _limit(req: falcon.Request) -> int:
    raw = req.get_param("limit")
    if raw is None:
        return PAGE_DEFAULT
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= PAGE_MAX:
        raise Problem(falcon.HTTP_422, f"limit must be from 1 to {PAGE_MAX}")
    return int(raw)


def _match_count(connection: psycopg.Connection[Any], words: str) -> int:
    """The search probe's count for ``words``, kept for MATCH_COUNT_TTL seconds."""
    now = time.monotonic()
    kept = _match_counts.get(words)
    if kept is not None and kept[1] > now:
        return kept[0]
    row = connection.execute(SEARCH_PROBE_SQL, {"q": words}).fetchone()
    count = int(row[0]) if row is not None else 0
    if len(_match_counts) >= 4096:
        _match_counts.clear()
    _match_counts[words] = (count, now + MATCH_COUNT_TTL)
    return count


def _cursor(row: Sequence[Any]) -> str:
    raw = json.dumps([row[T_CREATED].isoformat(), str(row[T_ID])])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


class StaffTickets:
    """GET /api/v1/staff/tickets: status, department_id, unassigned, q, limit (first page)."""

    def __init__(self, base: Baseline) -> None:
        self._b = base

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        statuses = _statuses(req)
        raw_department = req.get_param("department_id")
        department_id = None if raw_department is None else _uuid(raw_department, "department_id")
        unassigned = req.get_param_as_bool("unassigned") or False
        limit = _limit(req)
        text = (req.get_param("q") or "").strip()
        if len(text) > 200:
            raise Problem(falcon.HTTP_422, "q must be at most 200 characters")
        words = search_text(text)
        where: list[str] = []
        params: dict[str, Any] = {"limit": limit + 1}
        with self._b.connections.connection() as connection:
            actor = self._b.actor(req, connection)
            if not actor.is_staff:
                raise Problem(falcon.HTTP_403, "staff only")
            if actor.role != "admin":  # the scope: the own department, and unrouted tickets
                scope = [actor.department_id, None] if actor.department_id else [None]
                if department_id is not None:
                    if department_id not in scope:
                        where.append("false")
                elif actor.department_id is not None:
                    params["scope"] = actor.department_id
                    where.append(
                        "(tickets.department_id = %(scope)s OR tickets.department_id IS NULL)"
                    )
                else:
                    where.append("tickets.department_id IS NULL")
            if len(statuses) == 1:
                params["status"] = statuses[0]
                where.append("tickets.status = %(status)s")
            elif statuses:
                params["statuses"] = statuses
                where.append("tickets.status = ANY(%(statuses)s)")
            if department_id is not None:
                params["department"] = department_id
                where.append("tickets.department_id = %(department)s")
            if unassigned:
                where.append("tickets.assignee_id IS NULL")
            if words:
                params["q"] = words
                few = _match_count(connection, words) <= FEW_MATCHES
                head = LIST_HEAD if few else SEARCH_MANY_HEAD
                if few:
                    where.insert(0, SEARCH_FEW_WHERE)
            else:
                head = LIST_HEAD
            sql = head + (" WHERE " + " AND ".join(where) if where else "") + ORDER_CREATED_DESC
            rows = connection.execute(sql, params).fetchall()
            items = rows[:limit]
            clocks = read_clocks(connection, items)
            departments, teams = self._b.org(connection, actor)
            people = self._b.names(
                connection,
                [r[T_REQUESTER] for r in items] + [r[T_ASSIGNEE] for r in items],
                actor,
            )
        resp.media = {
            "items": [ticket_json(r, departments, teams, people, False, clocks) for r in items],
            "next_cursor": _cursor(items[-1]) if len(rows) > limit and items else None,
        }


class StaffTicket:
    """GET /api/v1/staff/tickets/{id}: the ticket, its conversation (notes too), attachments."""

    def __init__(self, base: Baseline) -> None:
        self._b = base

    def on_get(self, req: falcon.Request, resp: falcon.Response, ticket_id: str) -> None:
        try:
            wanted = uuid.UUID(ticket_id)
        except ValueError:
            raise Problem(falcon.HTTP_404, "no such ticket") from None
        with self._b.connections.connection() as connection:
            actor = self._b.actor(req, connection)
            if not actor.is_staff:
                raise Problem(falcon.HTTP_403, "staff only")
            ticket = connection.execute(TICKET_SQL, (wanted,), prepare=True).fetchone()
            if ticket is None or (
                actor.role != "admin" and ticket[T_DEPARTMENT] not in (None, actor.department_id)
            ):
                raise Problem(falcon.HTTP_404, "no such ticket")
            messages = connection.execute(
                MESSAGES_SQL.format(visibility=""), (wanted,), prepare=True
            ).fetchall()
            attachments = connection.execute(ATTACHMENTS_SQL, (wanted,), prepare=True).fetchall()
            clocks = read_clocks(connection, [ticket])
            departments, teams = self._b.org(connection, actor)
            people = self._b.names(
                connection,
                [ticket[T_REQUESTER], ticket[T_ASSIGNEE]] + [m[2] for m in messages],
                actor,
            )
        attached: dict[uuid.UUID, list[dict[str, Any]]] = {}
        for row in attachments:
            if row[2] is not None:
                attached.setdefault(row[2], []).append(attachment_json(row))
        body = ticket_json(ticket, departments, teams, people, True, clocks)
        body["messages"] = [
            {
                "id": str(m[0]),
                "ticket_id": str(m[1]),
                "author": _ref(m[2], people, "display_name"),
                "body": m[3],
                "visibility": m[4],
                "source": m[6],
                "automatic": m[7],
                "created_at": _iso(m[5]),
                "attachments": attached.get(m[0], []),
            }
            for m in messages
        ]
        body["attachments"] = [attachment_json(a) for a in attachments if a[2] is None]
        resp.media = body
        resp.etag = f'"{ticket[T_VERSION]}"'


class Live:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"status": "ok"}


# ---------------------------------------------------------------- the app


def create_app(base: Baseline) -> falcon.App:
    app = falcon.App()
    handler = falcon.media.JSONHandler(dumps=_dumps, loads=json.loads)
    app.req_options.media_handlers[falcon.MEDIA_JSON] = handler
    app.resp_options.media_handlers[falcon.MEDIA_JSON] = handler
    app.add_error_handler(Problem, _problem)
    app.add_route("/health/live", Live())
    app.add_route("/api/v1/tickets", CustomerTickets(base))
    app.add_route("/api/v1/staff/tickets", StaffTickets(base))
    app.add_route("/api/v1/staff/tickets/{ticket_id}", StaffTicket(base))
    return app


def wsgi() -> falcon.App:
    """The gunicorn entry: ``gunicorn "benchmarks.baseline_app:wsgi()"`` (one pool per worker)."""
    url = os.environ["BASELINE_DATABASE_URL"]
    keys = [k.strip() for k in os.environ["BASELINE_SECRET_KEYS"].split(",") if k.strip()]
    connections = Connections(
        url,
        int(os.environ.get("BASELINE_POOL_MIN", "5")),
        int(os.environ.get("BASELINE_POOL_MAX", "15")),
    )
    return create_app(
        Baseline(connections, keys, int(os.environ.get("BASELINE_TOKEN_TTL", "3600")))
    )
