"""Applying a macro to a ticket (``POST /staff/tickets/{id}/macros/{macro_id}``, If-Match) and
bulk actions (``POST /staff/tickets/bulk``).

A macro applied answers the ticket as it then stands, with its new version as the ETag; a
refused action is the refusal's status (403, 409, 422 naming ``actions.N.value``) and nothing
changed. A bulk action answers 200 with every ticket's outcome (``bulk_result_document``):
each ticket succeeds or fails alone, so the request as a whole succeeds whenever it was
understood; Idempotency-Key replays the outcomes of the first request with the key.
"""

from __future__ import annotations

import uuid
from typing import Any

import attrs
import cattrs
import falcon

from entrypoints.http.auth import principal
from entrypoints.http.converter import structure
from entrypoints.http.fields import HEADER, invalid_input
from entrypoints.http.params import path_uuid
from entrypoints.http.resources.tickets import _IDEMPOTENCY_KEY, etag, if_match
from helpdesk_core.documents import bulk_result_document, ticket_document
from helpdesk_core.usecases.tickets import TicketService
from helpdesk_core.usecases.tickets.macros import BulkAction, BulkTicket


@attrs.frozen
class BulkTicketBody:
    id: uuid.UUID
    version: int | None = None


@attrs.frozen
class BulkBody:
    tickets: tuple[BulkTicketBody, ...]
    macro_id: uuid.UUID | None = None
    actions: list[dict[str, Any]] | None = None
    dry_run: bool = False


@attrs.define
class WorkResources:
    tickets: TicketService
    converter: cattrs.Converter


class ApplyMacro:
    """POST /staff/tickets/{ticket_id}/macros/{macro_id} (If-Match: the version seen)."""

    def __init__(self, shared: WorkResources) -> None:
        self._s = shared

    def on_post(
        self, req: falcon.Request, resp: falcon.Response, ticket_id: str, macro_id: str
    ) -> None:
        actor = principal(req)
        ticket_uuid, macro_uuid = path_uuid(ticket_id), path_uuid(macro_id, "macro_id")
        view = self._s.tickets.apply_macro(actor, ticket_uuid, macro_uuid, if_match(req))
        resp.media = ticket_document(view, with_description=True)
        resp.etag = etag(view.ticket)


class Bulk:
    """POST /staff/tickets/bulk."""

    def __init__(self, shared: WorkResources) -> None:
        self._s = shared

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        actor = principal(req)
        key = req.get_header("Idempotency-Key")
        if key is not None and not _IDEMPOTENCY_KEY.match(key):
            raise invalid_input("Idempotency-Key", "must be 1-200 visible characters", HEADER)
        body = structure(self._s.converter, req.get_media(), BulkBody)
        action = BulkAction(
            tickets=tuple(BulkTicket(t.id, t.version) for t in body.tickets),
            macro_id=body.macro_id,
            actions=body.actions,
            dry_run=body.dry_run,
        )
        resp.media = bulk_result_document(self._s.tickets.bulk(actor, action, key))


def add_work_routes(app: falcon.App, prefix: str, shared: WorkResources) -> None:
    app.add_route(f"{prefix}/staff/tickets/bulk", Bulk(shared))
    app.add_route(f"{prefix}/staff/tickets/{{ticket_id}}/macros/{{macro_id}}", ApplyMacro(shared))
