"""Webhook endpoints (SQLAlchemy Core); deleting one deletes its deliveries (ON DELETE CASCADE).

The conventions are those of ``adapters.sql`` (its package docstring).
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from adapters.sql.columns import UTCDateTime
from adapters.sql.refusals import Refusals, primary_key, refused_as_conflict
from adapters.sql.shared import webhook_from_row
from adapters.sql.tables import webhooks
from helpdesk_core.domain.errors import stale_version
from helpdesk_core.ports.events import Webhook


def _webhook_values(webhook: Webhook) -> dict[str, Any]:
    return {
        "url": webhook.url,
        "description": webhook.description,
        "events": json.dumps(list(webhook.events)),
        "secret": webhook.secret,
        "is_active": webhook.is_active,
        "consecutive_failures": webhook.consecutive_failures,
        "disabled_reason": webhook.disabled_reason,
        "updated_at": webhook.updated_at,
        "version": webhook.version,
    }


_WEBHOOK_ADDED = Refusals[Webhook](
    "webhook", (primary_key(webhooks, "a webhook with this id already exists"),)
)


class SqlWebhookRepository:
    """Webhook endpoints; deleting one deletes its deliveries (ON DELETE CASCADE)."""

    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection

    def add(self, webhook: Webhook) -> None:
        statement = sa.insert(webhooks).values(
            id=webhook.id, created_at=webhook.created_at, **_webhook_values(webhook)
        )
        with refused_as_conflict(self._connection, _WEBHOOK_ADDED, webhook):
            self._connection.execute(statement)

    def get(self, webhook_id: uuid.UUID) -> Webhook | None:
        query = sa.select(webhooks).where(webhooks.c.id == webhook_id)
        row = self._connection.execute(query).first()
        return webhook_from_row(row) if row is not None else None

    def update(self, webhook: Webhook) -> None:
        statement = (
            sa.update(webhooks)
            .where(webhooks.c.id == webhook.id, webhooks.c.version == webhook.version - 1)
            .values(**_webhook_values(webhook))
        )
        if self._connection.execute(statement).rowcount != 1:
            raise stale_version("webhook", webhook.version)

    def delete(self, webhook_id: uuid.UUID) -> bool:
        statement = sa.delete(webhooks).where(webhooks.c.id == webhook_id)
        return self._connection.execute(statement).rowcount == 1

    def list(self) -> list[Webhook]:
        query = sa.select(webhooks).order_by(webhooks.c.created_at, webhooks.c.id)
        return [webhook_from_row(row) for row in self._connection.execute(query)]

    def record_result(
        self, webhook_id: uuid.UUID, success: bool, disable_after: int, reason: str, now: datetime
    ) -> Webhook | None:
        """One UPDATE, so concurrent results never lose a count (SET reads the old row).

        Only disabling is a change an administrator sees: it sets the reason, ``updated_at``
        and bumps ``version``; counting failures or a success does neither (an edit made
        meanwhile, naming the version it read, still applies).
        """
        c = webhooks.c
        values: dict[str, Any]
        if success:
            values = {"consecutive_failures": 0}
        else:
            failures = c.consecutive_failures + 1
            values = {"consecutive_failures": failures}
            if disable_after >= 1:
                disable = sa.and_(c.is_active.is_(sa.true()), failures >= disable_after)
                values |= {
                    "is_active": sa.case((disable, sa.false()), else_=c.is_active),
                    "disabled_reason": sa.case(
                        (disable, sa.literal(reason, sa.Text())), else_=c.disabled_reason
                    ),
                    "updated_at": sa.case(
                        (disable, sa.literal(now, UTCDateTime())), else_=c.updated_at
                    ),
                    "version": sa.case((disable, c.version + 1), else_=c.version),
                }
        statement = (
            sa.update(webhooks).where(c.id == webhook_id).values(**values).returning(*webhooks.c)
        )
        row = self._connection.execute(statement).first()
        return webhook_from_row(row) if row is not None else None
