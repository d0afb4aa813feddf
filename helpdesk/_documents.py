"""``document``: the JSON document the REST API sends for a read model."""

from __future__ import annotations

from typing import Any

from helpdesk_core.documents import document_of
from helpdesk_core.domain.events import Event
from helpdesk_core.usecases.webhooks import CreatedWebhook


def document(model: object) -> dict[str, Any]:
    """The JSON document the REST API sends for ``model`` (any read model a method returns:
    a ticket, its detail, a message, a history entry, an account, a user, a department, ...);
    the CLI's ``--json`` and the events carry the same one. ``CreatedWebhook`` adds its
    secret as the API's answer does, and an ``Event`` is the envelope a webhook receives."""
    if isinstance(model, CreatedWebhook):
        return document_of(model.webhook) | {"secret": model.secret}
    if isinstance(model, Event):
        return model.envelope()
    return document_of(model)
