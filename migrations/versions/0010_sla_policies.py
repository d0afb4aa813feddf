"""Service levels: policies, each ticket's clocks, and what they come to on the ticket.

Revision ID: 0010_sla_policies
Revises: 0009_sla_calendars
Create Date: 2026-12-07

Written by hand, portable across SQLite and PostgreSQL; names as in 0001_init_schema. Two new
tables, and four columns on tickets (added with no rewrite of the table on either database: a
NULL or constant default) with two partial indexes for the staff list's service-level filters.
``tickets.sla_policy_id`` has no foreign key: SQLite cannot add one to a table that exists
without copying it, and policies are never deleted; ``sla_clocks.policy_id`` has none either:
every opening of a ticket would take a key-share lock on its policy's one row. The downgrade
drops it all.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0010_sla_policies"
down_revision: str | Sequence[str] | None = "0009_sla_calendars"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "sla_policies",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("name_key", sa.String(length=400), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("department_ids", sa.JSON(), nullable=False),
        sa.Column("priorities", sa.JSON(), nullable=False),
        sa.Column("calendar_id", sa.Uuid(), nullable=True),
        sa.Column("targets", sa.JSON(), nullable=False),
        sa.Column("pause_statuses", sa.JSON(), nullable=False),
        sa.Column("warn_before", sa.Integer(), nullable=False),
        sa.Column("on_reopen", sa.String(length=16), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_policies")),
        sa.UniqueConstraint("name_key", name=op.f("uq_sla_policies_name_key")),
        sa.ForeignKeyConstraint(
            ["calendar_id"],
            ["sla_calendars.id"],
            name=op.f("fk_sla_policies_calendar_id_sla_calendars"),
            ondelete="RESTRICT",
        ),
        sa.CheckConstraint("version >= 1", name=op.f("ck_sla_policies_version_positive")),
        sa.CheckConstraint("position >= 0", name=op.f("ck_sla_policies_position_not_negative")),
        sa.CheckConstraint(
            "warn_before >= 0", name=op.f("ck_sla_policies_warn_before_not_negative")
        ),
        sa.CheckConstraint(
            "on_reopen IN ('continue', 'restart')", name=op.f("ck_sla_policies_sla_on_reopen")
        ),
    )
    op.create_table(
        "sla_clocks",
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("metric", sa.String(length=16), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("policy_id", sa.Uuid(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("budget", sa.BigInteger(), nullable=False),
        sa.Column("spent", sa.BigInteger(), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("warn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("alarm_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("warned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("breached_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("met_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("ticket_id", "metric", "cycle", name=op.f("pk_sla_clocks")),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_sla_clocks_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.CheckConstraint("cycle >= 1", name=op.f("ck_sla_clocks_cycle_positive")),
        sa.CheckConstraint("budget >= 0", name=op.f("ck_sla_clocks_budget_not_negative")),
        sa.CheckConstraint(
            "metric IN ('first_response', 'next_response', 'resolution')",
            name=op.f("ck_sla_clocks_sla_metric"),
        ),
    )
    op.create_index(
        "ix_sla_clocks_alarm",
        "sla_clocks",
        ["alarm_at"],
        sqlite_where=sa.text("alarm_at IS NOT NULL"),
        postgresql_where=sa.text("alarm_at IS NOT NULL"),
    )
    op.create_index(
        "ix_sla_clocks_open_policy",
        "sla_clocks",
        ["policy_id", "ticket_id"],
        sqlite_where=sa.text("met_at IS NULL AND cancelled_at IS NULL"),
        postgresql_where=sa.text("met_at IS NULL AND cancelled_at IS NULL"),
    )
    op.add_column("tickets", sa.Column("sla_policy_id", sa.Uuid(), nullable=True))
    op.add_column("tickets", sa.Column("sla_due_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("tickets", sa.Column("sla_warn_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "tickets",
        sa.Column("sla_paused", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.create_index(
        "ix_tickets_sla_due",
        "tickets",
        ["sla_due_at", "id"],
        sqlite_where=sa.text("sla_due_at IS NOT NULL"),
        postgresql_where=sa.text("sla_due_at IS NOT NULL"),
    )
    op.create_index(
        "ix_tickets_sla_paused_created",
        "tickets",
        ["created_at", "id"],
        sqlite_where=sa.text("sla_paused"),
        postgresql_where=sa.text("sla_paused"),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index("ix_tickets_sla_paused_created", table_name="tickets")
    op.drop_index("ix_tickets_sla_due", table_name="tickets")
    # ALTER TABLE ... DROP COLUMN on both (SQLite 3.35+): a batch copy of tickets would break
    # the full-text triggers that name it on SQLite.
    for column in ("sla_paused", "sla_warn_at", "sla_due_at", "sla_policy_id"):
        op.drop_column("tickets", column)
    op.drop_index("ix_sla_clocks_open_policy", table_name="sla_clocks")
    op.drop_index("ix_sla_clocks_alarm", table_name="sla_clocks")
    op.drop_table("sla_clocks")
    op.drop_table("sla_policies")
