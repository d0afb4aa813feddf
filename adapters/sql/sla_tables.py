"""The tables of service levels (0009_sla_calendars, 0010_sla_policies), in the schema's one
MetaData; ``tables.py`` names them with the rest. ``tickets`` carries what its clocks come to
(its ``sla_*`` columns, defined with it)."""

from __future__ import annotations

import sqlalchemy as sa

from adapters.sql.columns import UTCDateTime, enum_column, metadata, timestamps, version
from helpdesk_core.domain.business_time import MINUTES_PER_DAY, Weekday
from helpdesk_core.domain.sla import Metric, OnReopen

# ---------------------------------------------------------------- 0009_sla_calendars
#
# A calendar's intervals and holidays are child rows, not a JSON column: the CHECKs below hold
# each interval to a day on both databases, a holiday date is unique per calendar by key, and
# deleting a calendar takes them along (ON DELETE CASCADE).

# Business calendars: working hours and holidays in one time zone, for service levels.
sla_calendars = sa.Table(
    "sla_calendars",
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("name_key", sa.String(400), nullable=False),  # as departments.name_key
    sa.Column("timezone", sa.String(64), nullable=False),  # an IANA name
    sa.Column("is_active", sa.Boolean(), nullable=False, server_default=sa.true()),
    *timestamps(),
    version(),
    sa.UniqueConstraint("name_key"),
    sa.CheckConstraint("version >= 1", name="version_positive"),
)

# The weekly working intervals of a calendar, in the order they were given: minutes since local
# midnight, [start_minute, end_minute), never across midnight.
sla_calendar_intervals = sa.Table(
    "sla_calendar_intervals",
    metadata,
    sa.Column(
        "calendar_id",
        sa.Uuid(),
        sa.ForeignKey("sla_calendars.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("position", sa.Integer(), primary_key=True),
    sa.Column("weekday", enum_column(Weekday, "weekday"), nullable=False),
    sa.Column("start_minute", sa.Integer(), nullable=False),
    sa.Column("end_minute", sa.Integer(), nullable=False),
    sa.CheckConstraint("position >= 0", name="position_not_negative"),
    sa.CheckConstraint("start_minute >= 0", name="start_in_day"),
    sa.CheckConstraint(f"end_minute <= {MINUTES_PER_DAY}", name="end_in_day"),
    sa.CheckConstraint("start_minute < end_minute", name="end_after_start"),
)

# The holidays of a calendar: local dates on which no interval counts.
sla_calendar_holidays = sa.Table(
    "sla_calendar_holidays",
    metadata,
    sa.Column(
        "calendar_id",
        sa.Uuid(),
        sa.ForeignKey("sla_calendars.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("day", sa.Date(), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
)

# ---------------------------------------------------------------- 0010_sla_policies
#
# A policy's lists (departments, priorities, pause statuses) and its targets are JSON: small,
# always read and written whole, checked by the domain. A clock is a row per ticket, metric and
# cycle; ``alarm_at`` (the next instant a scheduler must look at it) is indexed where set, so
# the scheduler reads only what is due.

sla_policies = sa.Table(
    "sla_policies",
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("name_key", sa.String(400), nullable=False),  # as departments.name_key
    sa.Column("position", sa.Integer(), nullable=False),
    sa.Column("department_ids", sa.JSON(), nullable=False),
    sa.Column("priorities", sa.JSON(), nullable=False),
    sa.Column("calendar_id", sa.Uuid(), sa.ForeignKey("sla_calendars.id", ondelete="RESTRICT")),
    sa.Column("targets", sa.JSON(), nullable=False),
    sa.Column("pause_statuses", sa.JSON(), nullable=False),
    sa.Column("warn_before", sa.Integer(), nullable=False),
    sa.Column("on_reopen", enum_column(OnReopen, "sla_on_reopen"), nullable=False),
    sa.Column("is_active", sa.Boolean(), nullable=False, server_default=sa.true()),
    *timestamps(),
    version(),
    sa.UniqueConstraint("name_key"),
    sa.CheckConstraint("version >= 1", name="version_positive"),
    sa.CheckConstraint("position >= 0", name="position_not_negative"),
    sa.CheckConstraint("warn_before >= 0", name="warn_before_not_negative"),
)

sla_clocks = sa.Table(
    "sla_clocks",
    metadata,
    sa.Column(
        "ticket_id", sa.Uuid(), sa.ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("metric", enum_column(Metric, "sla_metric"), primary_key=True),
    sa.Column("cycle", sa.Integer(), primary_key=True),
    # No foreign key: every new ticket's clocks would take a key-share lock on its policy's
    # row, one row shared by every opening (policies are never deleted).
    sa.Column("policy_id", sa.Uuid(), nullable=False),
    sa.Column("started_at", UTCDateTime(), nullable=False),
    sa.Column("budget", sa.BigInteger(), nullable=False),
    sa.Column("spent", sa.BigInteger(), nullable=False),
    sa.Column("since", UTCDateTime()),
    sa.Column("due_at", UTCDateTime()),
    sa.Column("warn_at", UTCDateTime()),
    sa.Column("alarm_at", UTCDateTime()),
    sa.Column("warned_at", UTCDateTime()),
    sa.Column("breached_at", UTCDateTime()),
    sa.Column("met_at", UTCDateTime()),
    sa.Column("cancelled_at", UTCDateTime()),
    sa.CheckConstraint("cycle >= 1", name="cycle_positive"),
    sa.CheckConstraint("budget >= 0", name="budget_not_negative"),
    sa.Index(
        "ix_sla_clocks_alarm",
        "alarm_at",
        sqlite_where=sa.text("alarm_at IS NOT NULL"),
        postgresql_where=sa.text("alarm_at IS NOT NULL"),
    ),
    sa.Index(
        "ix_sla_clocks_open_policy",
        "policy_id",
        "ticket_id",
        sqlite_where=sa.text("met_at IS NULL AND cancelled_at IS NULL"),
        postgresql_where=sa.text("met_at IS NULL AND cancelled_at IS NULL"),
    ),
)

# What a stored clock's state is (an update writes these), and every column of a clock.
CLOCK_STATE = (
    "policy_id",
    "budget",
    "spent",
    "since",
    "due_at",
    "warn_at",
    "alarm_at",
    "warned_at",
    "breached_at",
    "met_at",
    "cancelled_at",
)
CLOCK_COLUMNS = ("ticket_id", "metric", "cycle", "started_at", *CLOCK_STATE)
