"""Retention reads finished events and deliveries by the time they finished.

Revision ID: 0007_retention_indexes
Revises: 0006_unassigned_queue_index
Create Date: 2026-12-07

The worker deletes events and webhook deliveries that finished more than
HELPDESK_EVENT_RETENTION_DAYS ago, a bounded batch per pass. Without an index on the time they
finished, each pass read the whole outbox (and sorted every delivery) to find that nothing had
expired yet. These partial indexes hold only finished rows, oldest first.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0007_retention_indexes"
down_revision: str | Sequence[str] | None = "0006_unassigned_queue_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEXES = (
    ("ix_outbox_processed_seq", "outbox", ["processed_at", "seq"], "processed_at IS NOT NULL"),
    (
        "ix_webhook_deliveries_completed_id",
        "webhook_deliveries",
        ["completed_at", "id"],
        "completed_at IS NOT NULL",
    ),
)


def upgrade() -> None:
    """Upgrade schema."""
    for name, table, columns, where in _INDEXES:
        op.create_index(
            op.f(name),
            table,
            columns,
            sqlite_where=sa.text(where),
            postgresql_where=sa.text(where),
        )


def downgrade() -> None:
    """Downgrade schema."""
    for name, table, _columns, _where in reversed(_INDEXES):
        op.drop_index(op.f(name), table_name=table)
