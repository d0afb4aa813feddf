"""Events and webhooks: outbox, webhooks, webhook_deliveries, webhook_attempts.

Revision ID: 0004_events_webhooks
Revises: 0003_auth_tokens
Create Date: 2025-01-20

Written by hand, portable across SQLite and PostgreSQL; names as in 0001_init_schema. On
PostgreSQL the outbox_seq sequence numbers the events (SQLite takes them from `counters`).
The partial indexes' PostgreSQL predicate is written in the normal form PostgreSQL stores.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0004_events_webhooks"
down_revision: str | Sequence[str] | None = "0003_auth_tokens"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _where_state(state: str) -> dict[str, sa.TextClause]:
    return {
        "sqlite_where": sa.text(f"state = '{state}'"),
        "postgresql_where": sa.text(f"(state)::text = '{state}'::text"),
    }


_PENDING = _where_state("pending")


def upgrade() -> None:
    """Upgrade schema."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE SEQUENCE outbox_seq")
    op.create_table(
        "outbox",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("ordering_key", sa.String(length=200), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("available_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_by", sa.String(length=100), nullable=True),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("seq", name=op.f("uq_outbox_seq")),
        sa.CheckConstraint("seq >= 1", name=op.f("ck_outbox_seq_positive")),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_outbox_attempts_not_negative")),
        sa.CheckConstraint(
            "state IN ('pending', 'done', 'failed')", name=op.f("ck_outbox_outbox_state")
        ),
    )
    op.create_index(op.f("ix_outbox_pending_seq"), "outbox", ["seq"], **_PENDING)
    op.create_index(
        op.f("ix_outbox_pending_key_seq"), "outbox", ["ordering_key", "seq"], **_PENDING
    )
    op.create_index(op.f("ix_outbox_failed_seq"), "outbox", ["seq"], **_where_state("failed"))
    op.create_table(
        "webhooks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("events", sa.Text(), nullable=False),
        sa.Column("secret", sa.String(length=200), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column(
            "consecutive_failures", sa.Integer(), server_default=sa.text("0"), nullable=False
        ),
        sa.Column("disabled_reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhooks")),
        sa.CheckConstraint(
            "consecutive_failures >= 0", name=op.f("ck_webhooks_failures_not_negative")
        ),
        sa.CheckConstraint("version >= 1", name=op.f("ck_webhooks_version_positive")),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("webhook_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("event_seq", sa.BigInteger(), nullable=False),
        sa.Column("ordering_key", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_by", sa.String(length=100), nullable=True),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint(
            "webhook_id", "event_id", name=op.f("uq_webhook_deliveries_webhook_id_event_id")
        ),
        sa.ForeignKeyConstraint(
            ["webhook_id"],
            ["webhooks.id"],
            name=op.f("fk_webhook_deliveries_webhook_id_webhooks"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["outbox.id"],
            name=op.f("fk_webhook_deliveries_event_id_outbox"),
            ondelete="RESTRICT",
        ),
        sa.CheckConstraint(
            "attempts >= 0", name=op.f("ck_webhook_deliveries_attempts_not_negative")
        ),
        sa.CheckConstraint(
            "state IN ('pending', 'delivered', 'failed')",
            name=op.f("ck_webhook_deliveries_delivery_state"),
        ),
    )
    op.create_index(
        op.f("ix_webhook_deliveries_pending_seq"), "webhook_deliveries", ["event_seq"], **_PENDING
    )
    op.create_index(
        op.f("ix_webhook_deliveries_pending_key_seq"),
        "webhook_deliveries",
        ["webhook_id", "ordering_key", "event_seq"],
        **_PENDING,
    )
    op.create_index(
        op.f("ix_webhook_deliveries_webhook_created"),
        "webhook_deliveries",
        ["webhook_id", "created_at", "id"],
    )
    op.create_index(op.f("ix_webhook_deliveries_event_id"), "webhook_deliveries", ["event_id"])
    op.create_table(
        "webhook_attempts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("delivery_id", sa.Uuid(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_attempts")),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["webhook_deliveries.id"],
            name=op.f("fk_webhook_attempts_delivery_id_webhook_deliveries"),
            ondelete="CASCADE",
        ),
        sa.CheckConstraint("attempt >= 1", name=op.f("ck_webhook_attempts_attempt_positive")),
        sa.CheckConstraint(
            "duration_ms >= 0", name=op.f("ck_webhook_attempts_duration_not_negative")
        ),
        sa.CheckConstraint(
            "outcome IN ('success', 'http_error', 'timeout', 'network_error', 'refused')",
            name=op.f("ck_webhook_attempts_attempt_outcome"),
        ),
    )
    op.create_index(
        op.f("ix_webhook_attempts_delivery_created"),
        "webhook_attempts",
        ["delivery_id", "created_at", "attempt"],
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(op.f("ix_webhook_attempts_delivery_created"), table_name="webhook_attempts")
    op.drop_table("webhook_attempts")
    for index in (
        "ix_webhook_deliveries_event_id",
        "ix_webhook_deliveries_webhook_created",
        "ix_webhook_deliveries_pending_key_seq",
        "ix_webhook_deliveries_pending_seq",
    ):
        op.drop_index(op.f(index), table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
    op.drop_table("webhooks")
    op.drop_index(op.f("ix_outbox_failed_seq"), table_name="outbox")
    op.drop_index(op.f("ix_outbox_pending_key_seq"), table_name="outbox")
    op.drop_index(op.f("ix_outbox_pending_seq"), table_name="outbox")
    op.drop_table("outbox")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP SEQUENCE outbox_seq")
