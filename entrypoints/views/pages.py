"""Pages the API and the CLI both serve: ``{items, next_cursor}`` and the keyset positions
their cursors encode, for the lists whose paging is not the generic ``paginate``.

A cursor that does not fit its list raises ``CursorRefused``; the HTTP layer answers 422 on
``cursor``, the CLI prints one ``error:`` line.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from entrypoints.views.cursors import (
    OF_THIS_LIST,
    CursorRefused,
    decode_cursor,
    encode_cursor,
    is_id,
    is_time,
)
from helpdesk_core.documents import user_document
from helpdesk_core.domain.principal import Principal
from helpdesk_core.ports.events import DeliveryCursor, WebhookDelivery
from helpdesk_core.usecases.customers import CustomerCursor, CustomerPage
from helpdesk_core.usecases.webhooks import WebhookService

BY_CREATION = (is_time, is_id)  # the customer list's order and its cursor: (created_at, id)


def customer_cursor(raw: str) -> CustomerCursor:
    """A cursor of the customer list back into its keyset position."""
    return customer_position(decode_cursor(raw, BY_CREATION))


def customer_position(parts: tuple[Any, ...]) -> CustomerCursor:
    """The decoded parts of a customer-list cursor (already of the shape ``BY_CREATION``)."""
    return (datetime.fromisoformat(parts[0]), uuid.UUID(parts[1]))


def customer_page_json(page: CustomerPage) -> dict[str, Any]:
    """``{items, next_cursor}``, as every list answers."""
    after = page.next_after
    return {
        "items": [user_document(user) for user in page.items],
        "next_cursor": encode_cursor((after[0].isoformat(), str(after[1]))) if after else None,
    }


def delivery_page(
    webhooks: WebhookService,
    actor: Principal,
    webhook_id: uuid.UUID,
    limit: int,
    after: DeliveryCursor | None,
) -> tuple[list[WebhookDelivery], str | None]:
    """One page of a webhook's deliveries and the cursor of the next one (None: the last)."""
    # One more than asked tells whether another page follows.
    items = webhooks.deliveries(actor, webhook_id, limit + 1, after)
    chosen = items[:limit]
    if len(items) <= limit or not chosen:
        return chosen, None
    last = chosen[-1]
    return chosen, encode_cursor((last.created_at.isoformat(), str(last.id)))


def delivery_cursor(value: tuple[Any, ...]) -> DeliveryCursor:
    """The keyset position a deliveries page's ``next_cursor`` encodes: (created_at, id)."""
    if len(value) != 2 or not is_time(value[0]) or not is_id(value[1]):
        raise CursorRefused(OF_THIS_LIST)
    return DeliveryCursor(datetime.fromisoformat(value[0]), uuid.UUID(value[1]))
