"""Tags over HTTP: staff put them on tickets (``POST /staff/tickets/{id}/tags``) and list them
with their counts (``GET /staff/tags``, ``GET /staff/tags/{id}``); administrators rename them
(``PATCH /admin/tags/{id}`` with If-Match; onto a name another tag has, 409 unless the body
says ``"merge": true``) and merge one into another (``POST /admin/tags/{id}/merge``).

A tag renders through ``tag_document`` (its name, how many tickets carry it, its version as the
ETag), the shape ``helpdesk tags ... --json`` prints; a ticket answers as the other ticket
writes do, with its new version as the ETag.
"""

from __future__ import annotations

import uuid

import attrs
import cattrs
import falcon

from entrypoints.http.auth import principal
from entrypoints.http.converter import structure
from entrypoints.http.fields import invalid_body
from entrypoints.http.pagination import Part, is_id, is_text, page_request, paginate
from entrypoints.http.params import path_uuid
from entrypoints.http.resources.calendars import if_match as version_named
from entrypoints.http.resources.tickets import etag, if_match
from helpdesk_core.documents import tag_document, ticket_document
from helpdesk_core.domain.tags import TagCount
from helpdesk_core.usecases.tags import RenameTag, TagService
from helpdesk_core.usecases.tickets import ChangeTags, TicketService
from helpdesk_core.usecases.tickets.tagging import change_names

# The list's cursor: (name key, id), the order tags are listed in.
IN_ORDER: tuple[Part, ...] = (is_text, is_id)


@attrs.frozen
class TagsBody:
    add: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()


@attrs.frozen
class RenameBody:
    name: str
    merge: bool = False


@attrs.frozen
class MergeBody:
    into: uuid.UUID


@attrs.define
class TagResources:
    tags: TagService
    tickets: TicketService
    converter: cattrs.Converter
    page_default: int
    page_max: int

    def answer(self, resp: falcon.Response, count: TagCount) -> None:
        resp.media = tag_document(count)
        resp.etag = f'"{count.tag.version}"'


class TicketTags:
    """POST /staff/tickets/{id}/tags: ``{"add": [...], "remove": [...]}``."""

    def __init__(self, shared: TagResources) -> None:
        self._s = shared

    def on_post(self, req: falcon.Request, resp: falcon.Response, ticket_id: str) -> None:
        actor = principal(req)
        ticket_uuid = path_uuid(ticket_id)
        body = structure(self._s.converter, req.get_media(), TagsBody)
        if not body.add and not body.remove:
            raise invalid_body((), "name at least one tag to add or remove")
        command = ChangeTags(body.add, body.remove)
        change_names(command)  # a bad name is a 422 whatever If-Match says
        view = self._s.tickets.change_tags(actor, ticket_uuid, command, if_match(req))
        resp.media = ticket_document(view, with_description=True)
        resp.etag = etag(view.ticket)


class Tags:
    """GET /staff/tags: every tag (``q``: whose name starts so), by name, with counts."""

    def __init__(self, shared: TagResources) -> None:
        self._s = shared

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        page = page_request(req, self._s.page_default, self._s.page_max, IN_ORDER)
        items = self._s.tags.list(principal(req), req.get_param("q"))
        resp.media = paginate(items, lambda c: (c.tag.key, str(c.tag.id)), page, tag_document)


class StaffTag:
    """GET /staff/tags/{id}."""

    def __init__(self, shared: TagResources) -> None:
        self._s = shared

    def on_get(self, req: falcon.Request, resp: falcon.Response, tag_id: str) -> None:
        self._s.answer(resp, self._s.tags.get(principal(req), path_uuid(tag_id)))


class AdminTag:
    """PATCH /admin/tags/{id}: ``{"name": ..., "merge": false}`` with If-Match."""

    def __init__(self, shared: TagResources) -> None:
        self._s = shared

    def on_patch(self, req: falcon.Request, resp: falcon.Response, tag_id: str) -> None:
        actor = principal(req)
        tag_uuid = path_uuid(tag_id)
        body = structure(self._s.converter, req.get_media(), RenameBody)
        command = RenameTag(body.name, body.merge)
        self._s.answer(resp, self._s.tags.rename(actor, tag_uuid, version_named(req), command))


class AdminTagMerge:
    """POST /admin/tags/{id}/merge: ``{"into": "<tag id>"}``; answers the tag that stays."""

    def __init__(self, shared: TagResources) -> None:
        self._s = shared

    def on_post(self, req: falcon.Request, resp: falcon.Response, tag_id: str) -> None:
        actor = principal(req)
        tag_uuid = path_uuid(tag_id)
        body = structure(self._s.converter, req.get_media(), MergeBody)
        self._s.answer(resp, self._s.tags.merge(actor, tag_uuid, body.into))


def add_tag_routes(app: falcon.App, prefix: str, shared: TagResources) -> None:
    app.add_route(f"{prefix}/staff/tickets/{{ticket_id}}/tags", TicketTags(shared))
    app.add_route(f"{prefix}/staff/tags", Tags(shared))
    app.add_route(f"{prefix}/staff/tags/{{tag_id}}", StaffTag(shared))
    app.add_route(f"{prefix}/admin/tags/{{tag_id}}", AdminTag(shared))
    app.add_route(f"{prefix}/admin/tags/{{tag_id}}/merge", AdminTagMerge(shared))
