"""Service levels: /api/v1/admin/sla-policies and /api/v1/admin/sla/recalc (administrators).

Policies are created, listed (filtered by ``active``, a page at a time in the order they
match: position, then name), read and changed (PATCH with If-Match, ``active: false``
deactivating as for calendars, ``calendar_id: null`` counting around the clock again). Each
answer carrying a policy renders it through ``sla_policy_document`` with its version as the
ETag, the shape ``helpdesk sla policies ... --json`` prints too. ``POST .../sla/recalc``
re-matches the tickets still owed something and the open ones without a policy, and answers
how many it looked at.

Targets come as JSON gives them, ``{"urgent": {"first_response": 30}}``: the converter checks
their shape (a priority, a metric, a whole number, each error at its place in the body) and the
core their ranges, as it checks every other part.
"""

from __future__ import annotations

import uuid
from typing import Any

import attrs
import cattrs
import falcon

from entrypoints.http.auth import principal
from entrypoints.http.converter import NOT_NULL, structure
from entrypoints.http.fields import invalid_body
from entrypoints.http.pagination import Part, is_id, is_text, page_request, paginate, whole
from entrypoints.http.params import bool_param, path_uuid
from entrypoints.http.resources.calendars import if_match
from helpdesk_core.documents import sla_policy_document
from helpdesk_core.domain.sla import POSITION_MAX, OnReopen, SlaPolicy
from helpdesk_core.domain.values import TicketPriority, TicketStatus, name_key
from helpdesk_core.usecases.sla import SlaPolicyInput, SlaPolicyService

# The list's cursor: (position, name key, id), the order policies match in.
IN_ORDER: tuple[Part, ...] = (whole(0, POSITION_MAX), is_text, is_id)


@attrs.frozen
class TargetsBody:
    """One priority's minutes per metric; null (or left out) promises nothing."""

    first_response: int | None = None
    next_response: int | None = None
    resolution: int | None = None


@attrs.frozen
class PolicyBody:
    """A new policy; what is left out takes the core's default."""

    name: str
    targets: dict[TicketPriority, TargetsBody]
    position: int | None = attrs.field(default=None, metadata=NOT_NULL)
    department_ids: tuple[uuid.UUID, ...] | None = attrs.field(default=None, metadata=NOT_NULL)
    priorities: tuple[TicketPriority, ...] | None = attrs.field(default=None, metadata=NOT_NULL)
    calendar_id: uuid.UUID | None = None
    pause_statuses: tuple[TicketStatus, ...] | None = attrs.field(default=None, metadata=NOT_NULL)
    warn_before: int | None = attrs.field(default=None, metadata=NOT_NULL)
    on_reopen: OnReopen | None = attrs.field(default=None, metadata=NOT_NULL)


@attrs.frozen
class PolicyPatch:
    """The parts to replace; null keeps a part, but for ``calendar_id``, which it clears
    (``targets`` and ``on_reopen`` take no null: left out, they are kept)."""

    name: str | None = None
    targets: dict[TicketPriority, TargetsBody] | None = attrs.field(default=None, metadata=NOT_NULL)
    position: int | None = None
    department_ids: tuple[uuid.UUID, ...] | None = None
    priorities: tuple[TicketPriority, ...] | None = None
    calendar_id: uuid.UUID | None = None
    pause_statuses: tuple[TicketStatus, ...] | None = None
    warn_before: int | None = None
    on_reopen: OnReopen | None = attrs.field(default=None, metadata=NOT_NULL)
    active: bool | None = None


def _body(converter: cattrs.Converter, media: Any, cls: type[Any]) -> Any:
    """``media`` structured as ``cls``; ``targets`` checked to be objects first, so that a
    list or a number there is named as such (the converter would only call it invalid)."""
    targets = media.get("targets") if isinstance(media, dict) else None
    if targets is not None:
        if not isinstance(targets, dict):
            raise invalid_body(("targets",), "must be an object of priorities")
        for key, minutes in targets.items():
            if not isinstance(minutes, dict):
                raise invalid_body(("targets", key), "must be an object of metrics")
    return structure(converter, media, cls)


def _targets(body: dict[TicketPriority, TargetsBody] | None) -> dict[str, Any] | None:
    if body is None:
        return None
    return {priority.value: attrs.asdict(targets) for priority, targets in body.items()}


def _input(body: PolicyBody | PolicyPatch, **more: Any) -> SlaPolicyInput:
    return SlaPolicyInput(
        name=body.name,
        position=body.position,
        department_ids=body.department_ids,
        priorities=body.priorities,
        calendar_id=body.calendar_id,
        targets=_targets(body.targets),
        pause_statuses=body.pause_statuses,
        warn_before=body.warn_before,
        on_reopen=body.on_reopen,
        **more,
    )


def etag(policy: SlaPolicy) -> str:
    return f'"{policy.version}"'


@attrs.define
class SlaResources:
    """Everything the service-level resources share."""

    sla: SlaPolicyService
    converter: cattrs.Converter
    page_default: int
    page_max: int

    def answer(self, resp: falcon.Response, policy: SlaPolicy) -> None:
        resp.media = sla_policy_document(policy)
        resp.etag = etag(policy)


class Policies:
    def __init__(self, shared: SlaResources) -> None:
        self._s = shared

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        page = page_request(req, self._s.page_default, self._s.page_max, IN_ORDER)
        items = self._s.sla.list(principal(req), bool_param(req, "active"))
        resp.media = paginate(
            items,
            lambda p: (p.position, name_key(p.name), str(p.id)),
            page,
            sla_policy_document,
        )

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        actor = principal(req)
        body: PolicyBody = _body(self._s.converter, req.get_media(), PolicyBody)
        policy = self._s.sla.create(actor, _input(body))
        self._s.answer(resp, policy)
        resp.status = falcon.HTTP_201
        resp.location = f"{req.root_path}{req.path}/{policy.id}"


class PolicyItem:
    def __init__(self, shared: SlaResources) -> None:
        self._s = shared

    def on_get(self, req: falcon.Request, resp: falcon.Response, policy_id: str) -> None:
        self._s.answer(resp, self._s.sla.get(principal(req), path_uuid(policy_id)))

    def on_patch(self, req: falcon.Request, resp: falcon.Response, policy_id: str) -> None:
        actor = principal(req)
        media = req.get_media()
        patch: PolicyPatch = _body(self._s.converter, media, PolicyPatch)
        clear = "calendar_id" in media and media["calendar_id"] is None
        command = _input(patch, clear_calendar=clear, active=patch.active)
        updated = self._s.sla.update(actor, path_uuid(policy_id), if_match(req), command)
        self._s.answer(resp, updated)


class Recalc:
    """POST: re-match every ticket still owed something, and every open one without a policy,
    against the policies in force; how many tickets that looked at."""

    def __init__(self, shared: SlaResources) -> None:
        self._s = shared

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"tickets": self._s.sla.recalc(principal(req))}


def add_sla_routes(app: falcon.App, prefix: str, shared: SlaResources) -> None:
    app.add_route(f"{prefix}/admin/sla-policies", Policies(shared))
    app.add_route(f"{prefix}/admin/sla-policies/{{policy_id}}", PolicyItem(shared))
    app.add_route(f"{prefix}/admin/sla/recalc", Recalc(shared))
