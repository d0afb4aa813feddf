"""Macros: /api/v1/staff/macros (staff) — saving and managing them.

List what the caller may apply (by name, any case, a page at a time), create, read, change
(PATCH with If-Match, as for canned responses: 428 without it, 412 for another version) and
deactivate (DELETE; If-Match optional). Each answer carrying a macro renders it through
``macro_document`` with its version as the ETag, the shape ``helpdesk macros ... --json``
prints too. The actions are handed to the use case as sent: it checks each and names its
place in a 422 (``actions.1.value``).

Applying a macro to a ticket is another route (``/api/v1/staff/tickets/{id}/macros/{id}``),
in the tickets' resources.
"""

from __future__ import annotations

import uuid
from typing import Any

import attrs
import cattrs
import falcon

from entrypoints.http.auth import principal
from entrypoints.http.converter import NOT_NULL, structure
from entrypoints.http.pagination import Part, is_id, is_text, page_request, paginate
from entrypoints.http.params import path_uuid
from entrypoints.http.resources.calendars import if_match
from helpdesk_core.documents import macro_document
from helpdesk_core.domain.macros import Macro, MacroScope
from helpdesk_core.usecases.macros import CreateMacro, MacroService, UpdateMacro

BY_NAME: tuple[Part, ...] = (is_text, is_id)  # the list's cursor: (name case-folded, id)


@attrs.frozen
class MacroBody:
    name: str
    actions: Any  # a list of {"action", "value"}: the use case checks each, naming its place
    scope: MacroScope = attrs.field(default=MacroScope.PERSONAL, metadata=NOT_NULL)
    department_id: uuid.UUID | None = None


@attrs.frozen
class MacroPatch:
    name: str | None = None
    actions: Any = None


def etag(macro: Macro) -> str:
    return f'"{macro.version}"'


@attrs.define
class MacroResources:
    """Everything the macro resources share."""

    macros: MacroService
    converter: cattrs.Converter
    page_default: int
    page_max: int

    def body(self, req: falcon.Request, cls: type[Any]) -> Any:
        return structure(self.converter, req.get_media(), cls)

    def answer(self, resp: falcon.Response, macro: Macro) -> None:
        resp.media = macro_document(macro)
        resp.etag = etag(macro)


class Macros:
    def __init__(self, shared: MacroResources) -> None:
        self._s = shared

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        page = page_request(req, self._s.page_default, self._s.page_max, BY_NAME)
        items = self._s.macros.list(principal(req))
        resp.media = paginate(items, lambda m: (m.name.casefold(), str(m.id)), page, macro_document)

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        actor = principal(req)
        body: MacroBody = self._s.body(req, MacroBody)
        command = CreateMacro(body.name, body.actions, body.scope, body.department_id)
        created = self._s.macros.create(actor, command)
        self._s.answer(resp, created)
        resp.status = falcon.HTTP_201
        resp.location = f"{req.root_path}{req.path}/{created.id}"


class MacroItem:
    def __init__(self, shared: MacroResources) -> None:
        self._s = shared

    def on_get(self, req: falcon.Request, resp: falcon.Response, macro_id: str) -> None:
        self._s.answer(resp, self._s.macros.get(principal(req), path_uuid(macro_id)))

    def on_patch(self, req: falcon.Request, resp: falcon.Response, macro_id: str) -> None:
        actor = principal(req)
        patch: MacroPatch = self._s.body(req, MacroPatch)
        command = UpdateMacro(name=patch.name, actions=patch.actions)
        updated = self._s.macros.update(actor, path_uuid(macro_id), if_match(req), command)
        self._s.answer(resp, updated)

    def on_delete(self, req: falcon.Request, resp: falcon.Response, macro_id: str) -> None:
        actor = principal(req)
        gone = self._s.macros.deactivate(actor, path_uuid(macro_id), if_match(req))
        self._s.answer(resp, gone)


def add_macro_routes(app: falcon.App, prefix: str, shared: MacroResources) -> None:
    app.add_route(f"{prefix}/staff/macros", Macros(shared))
    app.add_route(f"{prefix}/staff/macros/{{macro_id}}", MacroItem(shared))
