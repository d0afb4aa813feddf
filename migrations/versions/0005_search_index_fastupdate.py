"""The full-text index takes each new document at once: GIN fastupdate off (PostgreSQL).

Revision ID: 0005_search_index_fastupdate
Revises: 0004_events_webhooks
Create Date: 2026-11-26

With fastupdate on (PostgreSQL's default), new and changed search documents wait in the GIN
index's pending list until a vacuum merges it, and every search reads the whole list: under a
steady stream of new tickets and replies a search for a rare word read some 260 pages instead
of 5 and took 1.3 ms instead of 0.06 (docs/performance.md). Off, each insert updates the index
itself: a little more work per write, searches that stay as fast as the index. The entries
already pending are merged here. SQLite's FTS5 index has no such list: nothing to do there.
"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0005_search_index_fastupdate"
down_revision: str | Sequence[str] | None = "0004_events_webhooks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_ticket_search_document_tsv"


def upgrade() -> None:
    """Upgrade schema."""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"ALTER INDEX {INDEX} SET (fastupdate = off)")
    op.execute(f"SELECT gin_clean_pending_list('{INDEX}'::regclass)")


def downgrade() -> None:
    """Downgrade schema."""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"ALTER INDEX {INDEX} RESET (fastupdate)")
