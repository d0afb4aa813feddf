"""Tickets over HTTP: the customer routes (/tickets) and the staff routes (/staff/tickets)."""

from __future__ import annotations

import enum
import re
import uuid
from datetime import UTC, datetime
from typing import Any

import attrs
import cattrs
import falcon

from entrypoints.http.auth import principal
from entrypoints.http.converter import NOT_NULL, structure
from entrypoints.http.fields import HEADER, invalid_body, invalid_input
from entrypoints.http.forms import is_form, message_form
from entrypoints.http.pagination import (
    Part,
    decode_cursor,
    encode_cursor,
    is_id,
    is_number,
    is_time,
    whole,
)
from entrypoints.http.params import bool_param, path_uuid, uuid_param
from helpdesk_core.documents import (
    detail_document,
    history_document,
    message_document,
    queue_counts_document,
    ticket_document,
)
from helpdesk_core.domain.entities import Ticket
from helpdesk_core.domain.principal import Principal
from helpdesk_core.domain.values import MessageVisibility, TicketPriority, TicketStatus
from helpdesk_core.policies import require_customer, require_staff
from helpdesk_core.ports.tickets import SlaState, TicketPage, TicketQuery, TicketSort
from helpdesk_core.usecases.tickets import (
    Assign,
    AttachmentInput,
    ChangeTicket,
    OpenTicket,
    PostMessage,
    TicketService,
)

_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")
_ETAG = re.compile(r'^(?:W/)?"?(\d{1,9})"?$')


@attrs.frozen
class TicketPatch:
    status: TicketStatus | None = attrs.field(default=None, metadata=NOT_NULL)
    priority: TicketPriority | None = attrs.field(default=None, metadata=NOT_NULL)
    department_id: uuid.UUID | None = None
    team_id: uuid.UUID | None = None


class AssignMode(enum.StrEnum):
    SELF = "self"
    AGENT = "agent"
    TEAM = "team"
    AUTO = "auto"
    NOBODY = "nobody"


@attrs.frozen
class AssignBody:
    mode: AssignMode  # checked with the body, before If-Match: a bad mode is a 422, never a 412
    agent_id: uuid.UUID | None = None
    team_id: uuid.UUID | None = None


@attrs.frozen
class StaffMessageBody:
    body: str
    visibility: MessageVisibility = MessageVisibility.PUBLIC
    attachments: tuple[AttachmentInput, ...] = ()


@attrs.frozen
class CustomerMessageBody:
    body: str
    attachments: tuple[AttachmentInput, ...] = ()


@attrs.define
class TicketResources:
    """Everything the ticket resources share: the use cases, the converter, page sizes."""

    tickets: TicketService
    converter: cattrs.Converter
    page_default: int
    page_max: int

    def body(self, req: falcon.Request, cls: type[Any]) -> Any:
        return structure(self.converter, req.get_media(), cls)

    def page(self, page: TicketPage) -> dict[str, Any]:
        return {
            "items": [ticket_document(view) for view in page.items],
            "next_cursor": encode_cursor(page.next_after) if page.next_after else None,
        }


# ---------------------------------------------------------------- query parsing


def _multi(req: falcon.Request, name: str, cls: Any) -> frozenset[Any]:
    values: list[str] = []
    for raw in req.get_param_as_list(name) or []:
        values.extend(part.strip() for part in raw.split(",") if part.strip())
    try:
        return frozenset(cls(v) for v in values)
    except ValueError:
        allowed = ", ".join(m.value for m in cls)
        raise invalid_input(name, f"must be one or more of {allowed}") from None


def _datetime_param(req: falcon.Request, name: str) -> datetime | None:
    raw = req.get_param(name)
    if raw is None:
        return None
    try:
        value = datetime.fromisoformat(raw.replace(" ", "+"))
    except ValueError:
        value = None
    if value is None or value.tzinfo is None or not _representable(value):
        raise invalid_input(name, "must be an ISO 8601 timestamp with an offset")
    return value


def _representable(value: datetime) -> bool:
    """Convertible to UTC without leaving the years databases store (1..9999)."""
    try:
        return 1900 <= value.astimezone(UTC).year <= 9998
    except OverflowError:
        return False


def _limit(req: falcon.Request, default: int, maximum: int) -> int:
    raw = req.get_param("limit")
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        raise invalid_input("limit", "must be a whole number")
    value = int(raw)
    if not 1 <= value <= maximum:
        raise invalid_input("limit", f"must be from 1 to {maximum}")
    return value


def _after(req: falcon.Request, sort: TicketSort, has_text: bool) -> tuple[Any, ...] | None:
    """The keyset position of ``cursor``, checked against the shape ``sort`` produces."""
    raw = req.get_param("cursor")
    if raw is None:
        return None
    return decode_cursor(raw, ticket_cursor_shape(sort, has_text))


def ticket_cursor_shape(sort: TicketSort, has_text: bool) -> tuple[Part, ...]:
    """The parts of a ticket list's cursor in ``sort``: the store's sort key of a ticket."""
    if sort is TicketSort.RELEVANCE and has_text:
        return (is_number, is_id)  # (the search's cost, id)
    if sort in {TicketSort.PRIORITY, TicketSort.PRIORITY_DESC}:
        return (whole(0, 3), is_time, is_id)  # (priority rank, created_at, id)
    return (is_time, is_id)  # (created_at or updated_at, id)


def _sort(req: falcon.Request, staff: bool = False) -> TicketSort:
    """The list's order; ``sla_due`` is the staff queue's only (customers see no queue)."""
    raw = req.get_param("sort")
    if raw is None:
        return TicketSort.CREATED_DESC
    allowed = [m for m in TicketSort if staff or m is not TicketSort.SLA_DUE]
    if raw not in allowed:
        names = ", ".join(m.value for m in allowed)
        raise invalid_input("sort", f"must be one of {names}")
    return TicketSort(raw)


def _sla(req: falcon.Request) -> SlaState | None:
    raw = req.get_param("sla")
    if raw is None:
        return None
    try:
        return SlaState(raw)
    except ValueError:
        allowed = ", ".join(m.value for m in SlaState)
        raise invalid_input("sla", f"must be one of {allowed}") from None


def _following(req: falcon.Request, actor: Principal) -> uuid.UUID | None:
    """``following=me`` (the caller) or a staff member's id: whose followed tickets."""
    raw = req.get_param("following")
    if raw is None:
        return None
    return actor.user_id if raw == "me" else uuid_param(req, "following")


def path_number(value: str) -> int:
    """A ticket number from the path (digits, 1 to 2**63 - 1); anything else names no ticket:
    404, as a malformed id is."""
    if not value.isascii() or not value.isdigit() or len(value) > 19:
        raise falcon.HTTPNotFound(description="No resource: number must be a ticket number.")
    return int(value)  # out of range (0, beyond 64 bits): the use case's NotFound


def if_match(req: falcon.Request) -> int | None:
    """The version named by If-Match (``"3"``, ``W/"3"``); None when absent."""
    raw = req.get_header("If-Match")
    if raw is None:
        return None
    match = _ETAG.match(raw.strip())
    if match is None:
        raise falcon.HTTPPreconditionFailed(
            description='If-Match must carry the ETag of the ticket, e.g. "3".'
        )
    return int(match.group(1))


def etag(ticket: Ticket) -> str:
    return f'"{ticket.version}"'


# ---------------------------------------------------------------- customer routes


class CustomerTickets:
    """GET/POST /tickets: the caller's own tickets."""

    def __init__(self, shared: TicketResources) -> None:
        self._s = shared

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        actor = _customer(req, "list their tickets")
        sort = _sort(req)
        query = TicketQuery(
            statuses=_multi(req, "status", TicketStatus),
            sort=sort,
            after=_after(req, sort, False),
            limit=_limit(req, self._s.page_default, self._s.page_max),
        )
        resp.media = self._s.page(self._s.tickets.list_tickets(actor, query))

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        actor = _customer(req, "open tickets")
        key = req.get_header("Idempotency-Key")
        if key is not None and not _IDEMPOTENCY_KEY.match(key):
            raise invalid_input("Idempotency-Key", "must be 1-200 visible characters", HEADER)
        command = self._s.body(req, OpenTicket)
        detail = self._s.tickets.open_ticket(actor, command, key)
        resp.media = detail_document(detail)
        resp.status = falcon.HTTP_201
        resp.location = f"{req.root_path}{req.path}/{detail.ticket.id}"
        resp.etag = etag(detail.ticket)


class CustomerTicket:
    """GET /tickets/{id}: one own ticket with its public conversation."""

    def __init__(self, shared: TicketResources) -> None:
        self._s = shared

    def on_get(self, req: falcon.Request, resp: falcon.Response, ticket_id: str) -> None:
        actor = _customer(req, "read their tickets")
        detail = self._s.tickets.get_ticket(actor, path_uuid(ticket_id))
        resp.media = detail_document(detail)
        resp.etag = etag(detail.ticket)


class CustomerTicketByNumber:
    """GET /tickets/by-number/{number}: one own ticket found by its number, as by its id."""

    def __init__(self, shared: TicketResources, by_id: str) -> None:
        self._s = shared
        self._by_id = by_id  # the path of the ticket's own route, without its id

    def on_get(self, req: falcon.Request, resp: falcon.Response, number: str) -> None:
        actor = _customer(req, "read their tickets")
        detail = self._s.tickets.get_ticket_by_number(actor, path_number(number))
        resp.media = detail_document(detail)
        resp.etag = etag(detail.ticket)
        resp.content_location = f"{req.root_path}{self._by_id}/{detail.ticket.id}"


class CustomerMessages:
    """GET/POST /tickets/{id}/messages: the public conversation; replying."""

    def __init__(self, shared: TicketResources) -> None:
        self._s = shared

    def on_get(self, req: falcon.Request, resp: falcon.Response, ticket_id: str) -> None:
        actor = _customer(req, "read their tickets")
        messages = self._s.tickets.messages(actor, path_uuid(ticket_id))
        resp.media = {"items": [message_document(m) for m in messages], "next_cursor": None}

    def on_post(self, req: falcon.Request, resp: falcon.Response, ticket_id: str) -> None:
        actor = _customer(req, "reply to their tickets")
        if is_form(req):  # a message with files
            fields, uploads = message_form(req, ("body",))
            command = PostMessage(fields["body"], uploads=tuple(uploads))
        else:
            body = self._s.body(req, CustomerMessageBody)
            command = PostMessage(body.body, attachments=body.attachments)
        message = self._s.tickets.post_message(actor, path_uuid(ticket_id), command)
        resp.media = message_document(message)
        resp.status = falcon.HTTP_201


class CustomerStatus:
    """POST /tickets/{id}/close and /reopen."""

    def __init__(self, shared: TicketResources, reopen: bool) -> None:
        self._s = shared
        self._reopen = reopen

    def on_post(self, req: falcon.Request, resp: falcon.Response, ticket_id: str) -> None:
        actor = _customer(req, "close or reopen their tickets")
        change = self._s.tickets.reopen if self._reopen else self._s.tickets.close
        view = change(actor, path_uuid(ticket_id))
        resp.media = ticket_document(view, with_description=True)
        resp.etag = etag(view.ticket)


def _customer(req: falcon.Request, action: str) -> Principal:
    actor = principal(req)
    require_customer(actor, action)
    return actor


def _staff(req: falcon.Request, action: str) -> Principal:
    actor = principal(req)
    require_staff(actor, action)
    return actor


# ---------------------------------------------------------------- staff routes


class StaffTickets:
    """GET /staff/tickets: the queue of the caller's scope, filtered, sorted, paged."""

    def __init__(self, shared: TicketResources) -> None:
        self._s = shared

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        actor = _staff(req, "list the ticket queue")
        text = req.get_param("q")
        sort = _sort(req, staff=True)
        assignee = req.get_param("assignee_id")
        query = TicketQuery(
            statuses=_multi(req, "status", TicketStatus),
            priorities=_multi(req, "priority", TicketPriority),
            department_id=uuid_param(req, "department_id"),
            team_id=uuid_param(req, "team_id"),
            assignee_id=actor.user_id if assignee == "me" else uuid_param(req, "assignee_id"),
            unassigned=bool(bool_param(req, "unassigned")),
            created_from=_datetime_param(req, "created_from"),
            created_to=_datetime_param(req, "created_to"),
            text=text,
            sla=_sla(req),
            tags=tuple(req.get_param_as_list("tag") or ()),
            following=_following(req, actor),
            sort=sort,
            after=_after(req, sort, bool(text and text.strip())),
            limit=_limit(req, self._s.page_default, self._s.page_max),
        )
        resp.media = self._s.page(self._s.tickets.list_tickets(actor, query))


class StaffTicket:
    """GET/PATCH /staff/tickets/{id}: detail with internal notes; changes with If-Match."""

    def __init__(self, shared: TicketResources) -> None:
        self._s = shared

    def on_get(self, req: falcon.Request, resp: falcon.Response, ticket_id: str) -> None:
        actor = _staff(req, "work tickets")
        detail = self._s.tickets.get_ticket(actor, path_uuid(ticket_id))
        resp.media = detail_document(detail)
        resp.etag = etag(detail.ticket)

    def on_patch(self, req: falcon.Request, resp: falcon.Response, ticket_id: str) -> None:
        actor = _staff(req, "change tickets")
        ticket_uuid = path_uuid(ticket_id)
        media = req.get_media()
        patch = self._s.body(req, TicketPatch)
        if not media:
            raise invalid_body((), "name at least one field to change")
        command = ChangeTicket(
            status=patch.status,
            priority=patch.priority,
            department_id=patch.department_id,
            team_id=patch.team_id,
            change_department="department_id" in media,
            change_team="team_id" in media,
        )
        view = self._s.tickets.change(actor, ticket_uuid, if_match(req), command)
        resp.media = ticket_document(view, with_description=True)
        resp.etag = etag(view.ticket)


class StaffTicketByNumber:
    """GET /staff/tickets/by-number/{number}: a ticket of the caller's scope by its number."""

    def __init__(self, shared: TicketResources, by_id: str) -> None:
        self._s = shared
        self._by_id = by_id

    def on_get(self, req: falcon.Request, resp: falcon.Response, number: str) -> None:
        actor = _staff(req, "work tickets")
        detail = self._s.tickets.get_ticket_by_number(actor, path_number(number))
        resp.media = detail_document(detail)
        resp.etag = etag(detail.ticket)
        resp.content_location = f"{req.root_path}{self._by_id}/{detail.ticket.id}"


class StaffAssign:
    """POST /staff/tickets/{id}/assign: self, agent, team or auto (round robin)."""

    def __init__(self, shared: TicketResources) -> None:
        self._s = shared

    def on_post(self, req: falcon.Request, resp: falcon.Response, ticket_id: str) -> None:
        actor = _staff(req, "assign tickets")
        ticket_uuid = path_uuid(ticket_id)
        body = self._s.body(req, AssignBody)
        view = self._s.tickets.assign(
            actor, ticket_uuid, Assign(body.mode.value, body.agent_id, body.team_id), if_match(req)
        )
        resp.media = ticket_document(view, with_description=True)
        resp.etag = etag(view.ticket)


class StaffMessages:
    """POST /staff/tickets/{id}/messages: a public reply or an internal note."""

    def __init__(self, shared: TicketResources) -> None:
        self._s = shared

    def on_post(self, req: falcon.Request, resp: falcon.Response, ticket_id: str) -> None:
        actor = _staff(req, "reply to tickets")
        ticket_uuid = path_uuid(ticket_id)
        if is_form(req):  # a message with files
            fields, uploads = message_form(req, ("body", "visibility"))
            visibility = _visibility(fields.get("visibility", MessageVisibility.PUBLIC.value))
            command = PostMessage(fields["body"], visibility, uploads=tuple(uploads))
        else:
            body = self._s.body(req, StaffMessageBody)
            command = PostMessage(body.body, body.visibility, body.attachments)
        message = self._s.tickets.post_message(actor, ticket_uuid, command)
        resp.media = message_document(message)
        resp.status = falcon.HTTP_201


def _visibility(text: str) -> MessageVisibility:
    try:
        return MessageVisibility(text)
    except ValueError:
        raise invalid_body(["visibility"], "must be 'public' or 'internal'") from None


class StaffHistory:
    """GET /staff/tickets/{id}/history: every recorded change, oldest first."""

    def __init__(self, shared: TicketResources) -> None:
        self._s = shared

    def on_get(self, req: falcon.Request, resp: falcon.Response, ticket_id: str) -> None:
        actor = _staff(req, "read history")
        entries = self._s.tickets.history(actor, path_uuid(ticket_id))
        resp.media = {"items": [history_document(e) for e in entries], "next_cursor": None}


class StaffQueueCounts:
    """GET /staff/queue-counts?department_id=: how a department's queue stands."""

    def __init__(self, shared: TicketResources) -> None:
        self._s = shared

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        actor = _staff(req, "see queue counts")
        department = uuid_param(req, "department_id") or actor.department_id
        counts = self._s.tickets.queue_counts(actor, department)
        resp.media = queue_counts_document(department, counts)


def add_ticket_routes(app: falcon.App, prefix: str, shared: TicketResources) -> None:
    app.add_route(f"{prefix}/tickets", CustomerTickets(shared))
    app.add_route(f"{prefix}/tickets/{{ticket_id}}", CustomerTicket(shared))
    app.add_route(
        f"{prefix}/tickets/by-number/{{number}}",
        CustomerTicketByNumber(shared, f"{prefix}/tickets"),
    )
    app.add_route(f"{prefix}/tickets/{{ticket_id}}/messages", CustomerMessages(shared))
    app.add_route(f"{prefix}/tickets/{{ticket_id}}/close", CustomerStatus(shared, reopen=False))
    app.add_route(f"{prefix}/tickets/{{ticket_id}}/reopen", CustomerStatus(shared, reopen=True))
    app.add_route(f"{prefix}/staff/tickets", StaffTickets(shared))
    app.add_route(f"{prefix}/staff/tickets/{{ticket_id}}", StaffTicket(shared))
    app.add_route(
        f"{prefix}/staff/tickets/by-number/{{number}}",
        StaffTicketByNumber(shared, f"{prefix}/staff/tickets"),
    )
    app.add_route(f"{prefix}/staff/tickets/{{ticket_id}}/assign", StaffAssign(shared))
    app.add_route(f"{prefix}/staff/tickets/{{ticket_id}}/messages", StaffMessages(shared))
    app.add_route(f"{prefix}/staff/tickets/{{ticket_id}}/history", StaffHistory(shared))
    app.add_route(f"{prefix}/staff/queue-counts", StaffQueueCounts(shared))
