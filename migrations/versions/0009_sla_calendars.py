"""Service levels: business calendars, their working intervals and holidays.

Revision ID: 0009_sla_calendars
Revises: 0008_embedding
Create Date: 2026-12-07

Written by hand, portable across SQLite and PostgreSQL; names as in 0001_init_schema. A
calendar's intervals and holidays are child rows (ON DELETE CASCADE): each interval held to one
day by CHECKs, each holiday date once per calendar by key. New tables only: the downgrade drops
them, children first.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0009_sla_calendars"
down_revision: str | Sequence[str] | None = "0008_embedding"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "sla_calendars",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("name_key", sa.String(length=400), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_calendars")),
        sa.UniqueConstraint("name_key", name=op.f("uq_sla_calendars_name_key")),
        sa.CheckConstraint("version >= 1", name=op.f("ck_sla_calendars_version_positive")),
    )
    op.create_table(
        "sla_calendar_intervals",
        sa.Column("calendar_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("weekday", sa.String(length=16), nullable=False),
        sa.Column("start_minute", sa.Integer(), nullable=False),
        sa.Column("end_minute", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("calendar_id", "position", name=op.f("pk_sla_calendar_intervals")),
        sa.ForeignKeyConstraint(
            ["calendar_id"],
            ["sla_calendars.id"],
            name=op.f("fk_sla_calendar_intervals_calendar_id_sla_calendars"),
            ondelete="CASCADE",
        ),
        sa.CheckConstraint(
            "position >= 0", name=op.f("ck_sla_calendar_intervals_position_not_negative")
        ),
        sa.CheckConstraint(
            "start_minute >= 0", name=op.f("ck_sla_calendar_intervals_start_in_day")
        ),
        sa.CheckConstraint("end_minute <= 1440", name=op.f("ck_sla_calendar_intervals_end_in_day")),
        sa.CheckConstraint(
            "start_minute < end_minute", name=op.f("ck_sla_calendar_intervals_end_after_start")
        ),
        sa.CheckConstraint(
            "weekday IN ('mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun')",
            name=op.f("ck_sla_calendar_intervals_weekday"),
        ),
    )
    op.create_table(
        "sla_calendar_holidays",
        sa.Column("calendar_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("calendar_id", "day", name=op.f("pk_sla_calendar_holidays")),
        sa.ForeignKeyConstraint(
            ["calendar_id"],
            ["sla_calendars.id"],
            name=op.f("fk_sla_calendar_holidays_calendar_id_sla_calendars"),
            ondelete="CASCADE",
        ),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("sla_calendar_holidays")
    op.drop_table("sla_calendar_intervals")
    op.drop_table("sla_calendars")
