"""Webhook endpoints: /api/v1/admin/webhooks, their deliveries, and a test ping (administrators).

The signing secret is in the answer to ``POST /admin/webhooks`` (and a new one in the answer
to ``POST /admin/webhooks/{id}/rotate-secret``) and nowhere else: every other answer renders an
endpoint through ``webhook_document``, which has no field for it.
"""

from __future__ import annotations

from typing import Any

import attrs
import cattrs
import falcon

from entrypoints.http.auth import principal
from entrypoints.http.converter import structure
from entrypoints.http.fields import invalid_input
from entrypoints.http.pagination import PageRequest, is_id, is_time, page_request, paginate
from entrypoints.http.params import path_uuid
from entrypoints.views.cursors import CursorRefused
from entrypoints.views.pages import delivery_cursor, delivery_page
from helpdesk_core.documents import delivery_document, webhook_document
from helpdesk_core.usecases.webhooks import CreateWebhook, UpdateWebhook, WebhookService


@attrs.define
class WebhookResources:
    """Everything the webhook resources share."""

    webhooks: WebhookService
    converter: cattrs.Converter
    page_default: int
    page_max: int

    def page(self, req: falcon.Request) -> PageRequest:
        """Both lists are newest first by ``(created_at, id)``: so are their cursors."""
        return page_request(req, self.page_default, self.page_max, (is_time, is_id))

    def body(self, req: falcon.Request, cls: type[Any]) -> Any:
        return structure(self.converter, req.get_media(), cls)


class Webhooks:
    def __init__(self, shared: WebhookResources) -> None:
        self._s = shared

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        page = self._s.page(req)
        items = self._s.webhooks.list(principal(req))
        resp.media = paginate(
            items, lambda w: (w.created_at.isoformat(), str(w.id)), page, webhook_document
        )

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        actor = principal(req)
        created = self._s.webhooks.create(actor, self._s.body(req, CreateWebhook))
        # The one answer that carries the secret: the receiver needs it to verify signatures.
        resp.media = webhook_document(created.webhook) | {"secret": created.secret}
        resp.status = falcon.HTTP_201
        resp.location = f"{req.root_path}{req.path}/{created.webhook.id}"


class Webhook:
    def __init__(self, shared: WebhookResources) -> None:
        self._s = shared

    def on_get(self, req: falcon.Request, resp: falcon.Response, webhook_id: str) -> None:
        resp.media = webhook_document(self._s.webhooks.get(principal(req), path_uuid(webhook_id)))

    def on_patch(self, req: falcon.Request, resp: falcon.Response, webhook_id: str) -> None:
        actor = principal(req)
        command = self._s.body(req, UpdateWebhook)
        resp.media = webhook_document(
            self._s.webhooks.update(actor, path_uuid(webhook_id), command)
        )

    def on_delete(self, req: falcon.Request, resp: falcon.Response, webhook_id: str) -> None:
        self._s.webhooks.delete(principal(req), path_uuid(webhook_id))
        resp.status = falcon.HTTP_204


class Deliveries:
    """The endpoint's deliveries, newest first, each with every attempt (keyset pages)."""

    def __init__(self, shared: WebhookResources) -> None:
        self._s = shared

    def on_get(self, req: falcon.Request, resp: falcon.Response, webhook_id: str) -> None:
        actor = principal(req)
        page = self._s.page(req)
        try:
            after = delivery_cursor(page.after) if page.after is not None else None
        except CursorRefused as refused:
            raise invalid_input("cursor", refused.reason) from None
        items, next_cursor = delivery_page(
            self._s.webhooks, actor, path_uuid(webhook_id), page.limit, after
        )
        resp.media = {"items": [delivery_document(d) for d in items], "next_cursor": next_cursor}


class RotateSecret:
    """POST: a new signing secret for the endpoint, in this answer only."""

    def __init__(self, shared: WebhookResources) -> None:
        self._s = shared

    def on_post(self, req: falcon.Request, resp: falcon.Response, webhook_id: str) -> None:
        rotated = self._s.webhooks.rotate_secret(principal(req), path_uuid(webhook_id))
        resp.media = webhook_document(rotated.webhook) | {"secret": rotated.secret}


class Ping:
    def __init__(self, shared: WebhookResources) -> None:
        self._s = shared

    def on_post(self, req: falcon.Request, resp: falcon.Response, webhook_id: str) -> None:
        event = self._s.webhooks.ping(principal(req), path_uuid(webhook_id))
        resp.media = {"event_id": str(event.id)}
        resp.status = falcon.HTTP_202


def add_webhook_routes(app: falcon.App, prefix: str, shared: WebhookResources) -> None:
    app.add_route(f"{prefix}/admin/webhooks", Webhooks(shared))
    app.add_route(f"{prefix}/admin/webhooks/{{webhook_id}}", Webhook(shared))
    app.add_route(f"{prefix}/admin/webhooks/{{webhook_id}}/deliveries", Deliveries(shared))
    app.add_route(f"{prefix}/admin/webhooks/{{webhook_id}}/ping", Ping(shared))
    app.add_route(f"{prefix}/admin/webhooks/{{webhook_id}}/rotate-secret", RotateSecret(shared))
