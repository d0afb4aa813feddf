"""Canned responses: /api/v1/staff/canned-responses (staff), and /api/v1/staff/me/signature.

List what the caller may use (``scope``, ``q`` over title and shortcut, ``active``, a page by
title at a time), create, read, change (PATCH with If-Match, as for calendars: 428 without it,
412 for another version), deactivate (DELETE; If-Match optional) and render for a ticket (POST
.../render: the draft and the placeholders that had no value; nothing is sent). Each answer
carrying a response renders it through ``canned_response_document`` with its version as the
ETag, the shape ``helpdesk canned ... --json`` prints too. A body with an unknown placeholder
is a 422 naming ``body`` and the placeholder.
"""

from __future__ import annotations

import enum
import uuid
from typing import Any

import attrs
import cattrs
import falcon

from entrypoints.http.auth import principal
from entrypoints.http.converter import NOT_NULL, structure
from entrypoints.http.fields import invalid_input
from entrypoints.http.pagination import Part, is_id, is_text, page_request, paginate
from entrypoints.http.params import bool_param, enum_param, path_uuid
from entrypoints.http.resources.calendars import if_match
from helpdesk_core.documents import (
    canned_response_document,
    rendered_response_document,
    staff_document,
)
from helpdesk_core.domain.canned import CannedResponse, CannedScope
from helpdesk_core.usecases.canned import (
    CannedResponseQuery,
    CannedResponseService,
    CreateCannedResponse,
    UpdateCannedResponse,
)

BY_TITLE: tuple[Part, ...] = (is_text, is_id)  # the list's cursor: (title, id)
Q_MAX = 200


class DraftFormat(enum.StrEnum):
    """What a draft is rendered for: plain text (values as they are) or HTML (escaped)."""

    TEXT = "text"
    HTML = "html"


@attrs.frozen
class CannedBody:
    title: str
    body: str
    scope: CannedScope = attrs.field(default=CannedScope.PERSONAL, metadata=NOT_NULL)
    shortcut: str | None = None
    team_id: uuid.UUID | None = None
    department_id: uuid.UUID | None = None


@attrs.frozen
class CannedPatch:
    title: str | None = None
    body: str | None = None
    shortcut: str | None = None
    active: bool | None = None


@attrs.frozen
class RenderBody:
    ticket_id: uuid.UUID
    format: DraftFormat = attrs.field(default=DraftFormat.TEXT, metadata=NOT_NULL)


@attrs.frozen
class SignatureBody:
    signature: str | None


def etag(response: CannedResponse) -> str:
    return f'"{response.version}"'


@attrs.define
class CannedResources:
    """Everything the canned response resources share."""

    canned: CannedResponseService
    converter: cattrs.Converter
    page_default: int
    page_max: int

    def body(self, req: falcon.Request, cls: type[Any]) -> Any:
        return structure(self.converter, req.get_media(), cls)

    def answer(self, resp: falcon.Response, response: CannedResponse) -> None:
        resp.media = canned_response_document(response)
        resp.etag = etag(response)


class CannedResponses:
    def __init__(self, shared: CannedResources) -> None:
        self._s = shared

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        page = page_request(req, self._s.page_default, self._s.page_max, BY_TITLE)
        q = req.get_param("q")
        if q is not None and len(q) > Q_MAX:
            raise invalid_input("q", f"must be at most {Q_MAX} characters")
        active = bool_param(req, "active")
        query = CannedResponseQuery(
            scope=enum_param(req, "scope", CannedScope),
            q=q,
            active=True if active is None else active,
        )
        items = self._s.canned.list(principal(req), query)
        resp.media = paginate(items, lambda r: (r.title, str(r.id)), page, canned_response_document)

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        actor = principal(req)
        body: CannedBody = self._s.body(req, CannedBody)
        command = CreateCannedResponse(
            title=body.title,
            body=body.body,
            scope=body.scope,
            shortcut=body.shortcut,
            team_id=body.team_id,
            department_id=body.department_id,
        )
        created = self._s.canned.create(actor, command)
        self._s.answer(resp, created)
        resp.status = falcon.HTTP_201
        resp.location = f"{req.root_path}{req.path}/{created.id}"


class CannedResponseItem:
    def __init__(self, shared: CannedResources) -> None:
        self._s = shared

    def on_get(self, req: falcon.Request, resp: falcon.Response, canned_id: str) -> None:
        self._s.answer(resp, self._s.canned.get(principal(req), path_uuid(canned_id)))

    def on_patch(self, req: falcon.Request, resp: falcon.Response, canned_id: str) -> None:
        actor = principal(req)
        patch: CannedPatch = self._s.body(req, CannedPatch)
        command = UpdateCannedResponse(
            title=patch.title, body=patch.body, shortcut=patch.shortcut, active=patch.active
        )
        updated = self._s.canned.update(actor, path_uuid(canned_id), if_match(req), command)
        self._s.answer(resp, updated)

    def on_delete(self, req: falcon.Request, resp: falcon.Response, canned_id: str) -> None:
        actor = principal(req)
        gone = self._s.canned.deactivate(actor, path_uuid(canned_id), if_match(req))
        self._s.answer(resp, gone)


class RenderCannedResponse:
    """POST: the response filled in for one ticket; one more use counted, nothing sent."""

    def __init__(self, shared: CannedResources) -> None:
        self._s = shared

    def on_post(self, req: falcon.Request, resp: falcon.Response, canned_id: str) -> None:
        actor = principal(req)
        body: RenderBody = self._s.body(req, RenderBody)
        rendered = self._s.canned.render(
            actor, path_uuid(canned_id), body.ticket_id, body.format.value
        )
        resp.media = rendered_response_document(rendered)


class MySignature:
    """PUT: the caller's own signature (null or blank text removes it)."""

    def __init__(self, shared: CannedResources) -> None:
        self._s = shared

    def on_put(self, req: falcon.Request, resp: falcon.Response) -> None:
        body: SignatureBody = self._s.body(req, SignatureBody)
        resp.media = staff_document(self._s.canned.set_signature(principal(req), body.signature))


def add_canned_routes(app: falcon.App, prefix: str, shared: CannedResources) -> None:
    app.add_route(f"{prefix}/staff/canned-responses", CannedResponses(shared))
    app.add_route(f"{prefix}/staff/canned-responses/{{canned_id}}", CannedResponseItem(shared))
    app.add_route(
        f"{prefix}/staff/canned-responses/{{canned_id}}/render", RenderCannedResponse(shared)
    )
    app.add_route(f"{prefix}/staff/me/signature", MySignature(shared))
