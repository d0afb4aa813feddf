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
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import falcon
import psycopg
from itsdangerous import BadData, URLSafeTimedSerializer

try:
    import psycopg_pool
except ImportError:  # pragma: no cover - one connection per thread instead
    psycopg_pool = None  # type: ignore[assignment]

from benchmarks.baseline_json import (
    T_ASSIGNEE,
    T_CREATED,
    T_DEPARTMENT,
    T_ID,
    T_REQUESTER,
    T_SLA_POLICY,
    T_VERSION,
    _iso,
    _ref,
    attachment_json,
    ticket_json,
)
from benchmarks.baseline_sql import (
    ATTACHMENTS_SQL,
    BODY_MAX,
    BUMP_COUNTER_SQL,
    CLOCKS_SQL,
    DEPARTMENT_NAMES_SQL,
    DEPARTMENT_SQL,
    FEW_MATCHES,
    INSERT_TICKET_AND_SEARCH_SQL,
    LIST_HEAD,
    MATCH_COUNT_TTL,
    MESSAGES_SQL,
    NEXT_NUMBER_SQL,
    ORDER_CREATED_DESC,
    PAGE_DEFAULT,
    PAGE_MAX,
    POLICIES_SQL,
    PREPARE_ONLY_WHEN_ASKED,
    PRIORITIES,
    SEARCH_DOCUMENT_MAX,
    SEARCH_FEW_WHERE,
    SEARCH_MANY_HEAD,
    SEARCH_PROBE_SQL,
    SESSION_SQL,
    STATUSES,
    SUBJECT_MAX,
    TEAM_NAMES_SQL,
    TICKET_SQL,
    USERS_SQL,
    search_text,
)
from benchmarks.baseline_writes import (
    _dumps,
    _history,
    _outbox,
    _record_assignment,
    _round_robin_choice,
    new_id,
)

# ---------------------------------------------------------------- plumbing


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


_match_counts: dict[str, tuple[int, float]] = {}  # words -> (count, kept until)


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
