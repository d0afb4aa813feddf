"""Embedding: users carry the id an embedding program gives them.

Revision ID: 0008_embedding
Revises: 0007_retention_indexes
Create Date: 2026-12-07

A program that embeds the helpdesk has users of its own and finds or creates their helpdesk
accounts by its own id (docs/embedding.md). The column is nullable (accounts made over the API
have none) and unique where set.

Its Python callables subscribe to events as in-process webhook endpoints (url
``python:<name>``), and an attempt whose callable raised is recorded with the outcome
``raised``: the CHECK of webhook_attempts.outcome admits it. SQLite cannot alter a CHECK, so
the table is recreated (batch mode; foreign keys are off while migrations run). The downgrade
records those attempts as ``network_error`` (the failed, retried outcome the older version
knows; their error text stays); an older worker that claims a delivery to an in-process
endpoint refuses its url and disables the endpoint, saying why.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0008_embedding"
down_revision: str | Sequence[str] | None = "0007_retention_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OUTCOME_CHECK = "ck_webhook_attempts_attempt_outcome"
_OUTCOMES = ("success", "http_error", "timeout", "network_error", "refused")  # before 0008


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column("users", sa.Column("external_id", sa.String(255), nullable=True))
    op.create_index("uq_users_external_id", "users", ["external_id"], unique=True)
    _outcomes_allowed((*_OUTCOMES, "raised"))


def downgrade() -> None:
    """Downgrade schema."""
    op.execute("UPDATE webhook_attempts SET outcome = 'network_error' WHERE outcome = 'raised'")
    _outcomes_allowed(_OUTCOMES)
    op.drop_index("uq_users_external_id", table_name="users")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("external_id")


def _outcomes_allowed(outcomes: Sequence[str]) -> None:
    """Replace the CHECK of webhook_attempts.outcome with one admitting ``outcomes``."""
    allowed = ", ".join(f"'{outcome}'" for outcome in outcomes)
    with op.batch_alter_table("webhook_attempts", recreate="auto") as batch:
        batch.drop_constraint(op.f(_OUTCOME_CHECK), type_="check")
        batch.create_check_constraint(op.f(_OUTCOME_CHECK), f"outcome IN ({allowed})")
