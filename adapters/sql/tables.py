"""THE schema: every table of the helpdesk, in one MetaData (``columns.metadata``).

The tables of service levels live in ``sla_tables.py``, those of the email channel in
``mail_tables.py``, those of agent productivity in ``productivity_tables.py``; they are named
here too, so that every module reads every table from this
one.

Alembic's ``target_metadata`` is this metadata, and a test fails when the migrated database
differs from it. Works on SQLite and PostgreSQL: UUIDs via ``Uuid``, enums as CHECK-constrained
strings (no native PostgreSQL types to outlive a downgrade), timestamps always UTC-aware.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from adapters.sql.columns import UTCDateTime, enum_column, metadata, timestamps, version
from adapters.sql.mail_tables import inbound_emails as inbound_emails
from adapters.sql.mail_tables import mail_bounces as mail_bounces
from adapters.sql.mail_tables import mail_message_ids as mail_message_ids
from adapters.sql.mail_tables import mailboxes as mailboxes
from adapters.sql.mail_tables import ticket_participants as ticket_participants
from adapters.sql.productivity_tables import canned_responses as canned_responses
from adapters.sql.productivity_tables import macros as macros
from adapters.sql.productivity_tables import request_answers as request_answers
from adapters.sql.productivity_tables import tags as tags
from adapters.sql.productivity_tables import ticket_followers as ticket_followers
from adapters.sql.productivity_tables import ticket_tags as ticket_tags
from adapters.sql.sla_tables import sla_calendar_holidays as sla_calendar_holidays
from adapters.sql.sla_tables import sla_calendar_intervals as sla_calendar_intervals
from adapters.sql.sla_tables import sla_calendars as sla_calendars
from adapters.sql.sla_tables import sla_clocks as sla_clocks
from adapters.sql.sla_tables import sla_policies as sla_policies
from helpdesk_core.domain.values import (
    Channel,
    MessageVisibility,
    StaffRole,
    TicketPriority,
    TicketStatus,
)
from helpdesk_core.ports.events import AttemptOutcome, DeliveryState, OutboxState

# A list of names, kept as JSON (jsonb on PostgreSQL: json has no equality, which comparing
# a column's default needs).
TAG_NAMES = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

# ---------------------------------------------------------------- 0001_init_schema: people and org

# Everyone who can log in; staff additionally have a staff_members row.
users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column("email", sa.String(254), nullable=False),  # stored normalized (lower-case)
    sa.Column("display_name", sa.String(200), nullable=False),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("is_active", sa.Boolean(), nullable=False, server_default=sa.true()),
    *timestamps(),
    version(),
    # The id an embedding program gives its own user (docs/embedding.md); unique when set.
    sa.Column("external_id", sa.String(255)),
    sa.UniqueConstraint("email"),
    sa.CheckConstraint("version >= 1", name="version_positive"),
    sa.Index("uq_users_external_id", "external_id", unique=True),
)

# Parts of the organization that own tickets.
departments = sa.Table(
    "departments",
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("name_key", sa.String(400), nullable=False),  # casefolded (can grow: ß -> ss)
    sa.Column("auto_assign", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("is_active", sa.Boolean(), nullable=False, server_default=sa.true()),
    *timestamps(),
    version(),
    sa.UniqueConstraint("name_key"),
    sa.CheckConstraint("version >= 1", name="version_positive"),
)

# Groups of staff inside one department.
teams = sa.Table(
    "teams",
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column(
        "department_id",
        sa.Uuid(),
        sa.ForeignKey("departments.id", ondelete="RESTRICT"),
        nullable=False,
    ),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("name_key", sa.String(400), nullable=False),
    sa.Column("is_active", sa.Boolean(), nullable=False, server_default=sa.true()),
    *timestamps(),
    version(),
    sa.UniqueConstraint("department_id", "name_key"),
    # Target of composite keys: a row naming a team also names that team's department.
    sa.UniqueConstraint("id", "department_id"),
    sa.CheckConstraint("version >= 1", name="version_positive"),
)

# The staff profile of a user.
staff_members = sa.Table(
    "staff_members",
    metadata,
    sa.Column(
        "user_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("role", enum_column(StaffRole, "staff_role"), nullable=False),
    sa.Column("department_id", sa.Uuid(), sa.ForeignKey("departments.id", ondelete="RESTRICT")),
    sa.Column("team_id", sa.Uuid()),
    sa.Column("is_active", sa.Boolean(), nullable=False, server_default=sa.true()),
    *timestamps(),
    # 0012: what the staff member signs replies with (canned responses' agent.signature).
    sa.Column("signature", sa.String(2000)),
    version(),
    sa.ForeignKeyConstraint(
        ["team_id", "department_id"],
        ["teams.id", "teams.department_id"],
        name="fk_staff_members_team_in_department",
        ondelete="RESTRICT",
    ),
    sa.CheckConstraint(
        "team_id IS NULL OR department_id IS NOT NULL", name="team_needs_department"
    ),
    sa.CheckConstraint("version >= 1", name="version_positive"),
    sa.Index("ix_staff_members_department_role", "department_id", "role"),
    sa.Index("ix_staff_members_team_id", "team_id"),
)

# ---------------------------------------------------------------- 0002_tickets

# Named counters: ticket numbers, SQL round-robin positions.
counters = sa.Table(
    "counters",
    metadata,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("value", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
)

tickets = sa.Table(
    "tickets",
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column("number", sa.BigInteger(), nullable=False),
    sa.Column("subject", sa.String(200), nullable=False),
    sa.Column("description", sa.Text(), nullable=False),
    sa.Column("status", enum_column(TicketStatus, "ticket_status"), nullable=False),
    sa.Column("priority", enum_column(TicketPriority, "ticket_priority"), nullable=False),
    sa.Column(
        "requester_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="RESTRICT"), nullable=False
    ),
    sa.Column("department_id", sa.Uuid(), sa.ForeignKey("departments.id", ondelete="RESTRICT")),
    sa.Column("team_id", sa.Uuid()),
    sa.Column(
        "assignee_id", sa.Uuid(), sa.ForeignKey("staff_members.user_id", ondelete="RESTRICT")
    ),
    *timestamps(),
    sa.Column("closed_at", UTCDateTime()),
    version(),
    sa.UniqueConstraint("number"),
    sa.ForeignKeyConstraint(
        ["team_id", "department_id"],
        ["teams.id", "teams.department_id"],
        name="fk_tickets_team_in_department",
        ondelete="RESTRICT",
    ),
    sa.CheckConstraint("number >= 1", name="number_positive"),
    sa.CheckConstraint(
        "team_id IS NULL OR department_id IS NOT NULL", name="team_needs_department"
    ),
    sa.CheckConstraint(
        "(status = 'closed') = (closed_at IS NOT NULL)", name="closed_at_iff_closed"
    ),
    sa.CheckConstraint("version >= 1", name="version_positive"),
    # Keyset pagination and the staff filters (status, department, team, assignee, unassigned).
    sa.Index("ix_tickets_created_at_id", "created_at", "id"),
    sa.Index("ix_tickets_updated_at_id", "updated_at", "id"),
    sa.Index("ix_tickets_requester_created", "requester_id", "created_at", "id"),
    sa.Index("ix_tickets_status_created", "status", "created_at", "id"),
    sa.Index("ix_tickets_department_status_created", "department_id", "status", "created_at", "id"),
    sa.Index("ix_tickets_team_status_created", "team_id", "status", "created_at", "id"),
    sa.Index("ix_tickets_assignee_status_created", "assignee_id", "status", "created_at", "id"),
    sa.Index(
        "ix_tickets_unassigned_department_created",
        "department_id",
        "created_at",
        "id",
        sqlite_where=sa.text("assignee_id IS NULL"),
        postgresql_where=sa.text("assignee_id IS NULL"),
    ),
    # 0006: the unassigned queue of one department by status; status first, so that
    # PostgreSQL's planner prefers it to walking (status, created_at) and filtering.
    sa.Index(
        "ix_tickets_unassigned_status_department_created",
        "status",
        "department_id",
        "created_at",
        "id",
        sqlite_where=sa.text("assignee_id IS NULL"),
        postgresql_where=sa.text("assignee_id IS NULL"),
    ),
    # 0010: what the ticket's service-level clocks come to, for the staff list's sla filters
    # and its sla_due order (keyset from the index; a ticket with no running clock is not in it).
    # No foreign key: added to a table that exists, which SQLite cannot constrain without
    # copying it; policies are never deleted.
    sa.Column("sla_policy_id", sa.Uuid()),
    sa.Column("sla_due_at", UTCDateTime()),
    sa.Column("sla_warn_at", UTCDateTime()),
    sa.Column("sla_paused", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Index(
        "ix_tickets_sla_due",
        "sla_due_at",
        "id",
        sqlite_where=sa.text("sla_due_at IS NOT NULL"),
        postgresql_where=sa.text("sla_due_at IS NOT NULL"),
    ),
    sa.Index(
        "ix_tickets_sla_paused_created",
        "created_at",
        "id",
        sqlite_where=sa.text("sla_paused"),
        postgresql_where=sa.text("sla_paused"),
    ),
    # 0011: how it came in (the API or mail: a Channel). A plain string: SQLite cannot add a
    # CHECK to a table that exists without copying it; the entity holds the values.
    sa.Column("source", sa.String(16), nullable=False, server_default=Channel.WEB.value),
    # 0012: the names of its tags as the ticket shows them, in order of their keys. Written
    # only when its tags change (``set_tags``) or a tag is renamed; PostgreSQL's staff list
    # filters on it through the partial GIN index ix_tickets_tags (made by the migration,
    # outside this metadata: SEARCH_INDEX_OBJECTS), SQLite's through ticket_tags.
    sa.Column("tags", TAG_NAMES, nullable=False, server_default=sa.text("'[]'")),
)

# The conversation of a ticket: public replies and internal notes.
ticket_messages = sa.Table(
    "ticket_messages",
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column(
        "ticket_id", sa.Uuid(), sa.ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column(
        "author_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="RESTRICT"), nullable=False
    ),
    sa.Column("body", sa.Text(), nullable=False),
    sa.Column("visibility", enum_column(MessageVisibility, "message_visibility"), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Index("ix_ticket_messages_ticket_created", "ticket_id", "created_at", "id"),
    # 0011: whether it came by mail (as tickets.source), and whether a program wrote it (no
    # status or clock moved).
    sa.Column("source", sa.String(16), nullable=False, server_default=Channel.WEB.value),
    sa.Column("automatic", sa.Boolean(), nullable=False, server_default=sa.false()),
)

# One row per changed field of a ticket, written in the same transaction as the change.
ticket_history = sa.Table(
    "ticket_history",
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column(
        "ticket_id", sa.Uuid(), sa.ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("actor_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="RESTRICT")),
    sa.Column("field", sa.String(50), nullable=False),
    sa.Column("old_value", sa.Text()),
    sa.Column("new_value", sa.Text()),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Index("ix_ticket_history_ticket_created", "ticket_id", "created_at", "id"),
    # 0012: the entries one step of work wrote together (a macro applied), or null.
    sa.Column("group_id", sa.Uuid()),
)

# Each ticket's search document: the words of its subject, description and messages, lower-cased
# and space-separated (the repositories keep it). The full-text index over it is
# dialect-specific and lives outside this metadata (see SEARCH_INDEX_OBJECTS).
ticket_search = sa.Table(
    "ticket_search",
    metadata,
    sa.Column(
        "ticket_id",
        sa.Uuid(),
        sa.ForeignKey("tickets.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("document", sa.Text(), nullable=False),
)

# The full-text index of ticket_search, made by the migration per dialect: on PostgreSQL a
# generated tsvector column ('simple' configuration) with a GIN index, on SQLite a contentless
# FTS5 table (rowid = tickets.number) kept by triggers. No MetaData can describe either
# (SQLite cannot compile a tsvector), so schema comparisons must leave out exactly these.
SEARCH_INDEX_OBJECTS: frozenset[tuple[str, str]] = frozenset(
    {
        ("column", "ticket_search.document_tsv"),
        ("index", "ix_ticket_search_document_tsv"),
        ("index", "ix_tickets_tags"),  # 0012: PostgreSQL's GIN index of tickets.tags
        ("table", "ticket_search_fts"),
        ("table", "ticket_search_fts_config"),
        ("table", "ticket_search_fts_data"),
        ("table", "ticket_search_fts_docsize"),
        ("table", "ticket_search_fts_idx"),
    }
)


def include_name(name: str | None, type_: str, parent_names: dict[str, Any]) -> bool:
    """Alembic ``include_name``: compare everything but the dialect's full-text index (and
    PostgreSQL's GIN index of the names tickets show, made by 0012 alone)."""
    if type_ == "column":
        name = f"{parent_names.get('table_name')}.{name}"
    return (type_, name or "") not in SEARCH_INDEX_OBJECTS


# Ticket numbers on PostgreSQL (nextval takes no lock until commit; SQLite uses `counters`).
ticket_number_seq = sa.Sequence("ticket_number_seq", metadata=metadata)

# Files stored elsewhere, referenced from a ticket or one of its messages.
attachment_references = sa.Table(
    "attachment_references",
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column(
        "ticket_id", sa.Uuid(), sa.ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("message_id", sa.Uuid(), sa.ForeignKey("ticket_messages.id", ondelete="CASCADE")),
    sa.Column(
        "uploaded_by", sa.Uuid(), sa.ForeignKey("users.id", ondelete="RESTRICT"), nullable=False
    ),
    sa.Column("url", sa.String(2048), nullable=False),
    sa.Column("filename", sa.String(255), nullable=False),
    sa.Column("mime_type", sa.String(127), nullable=False),
    sa.Column("size_bytes", sa.BigInteger(), nullable=False),
    sa.Column("checksum", sa.String(128)),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    # 0011: a file the helpdesk stores itself (its key in the blob store), or NULL for a URL.
    sa.Column("blob_key", sa.String(64)),
    sa.CheckConstraint("size_bytes >= 0", name="size_not_negative"),
    sa.Index("ix_attachment_references_ticket_id", "ticket_id"),
    sa.Index("ix_attachment_references_message_id", "message_id"),
)

# The first answer to a request sent with an Idempotency-Key, per user and key.
idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column(
        "user_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column(
        "ticket_id", sa.Uuid(), sa.ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Index("ix_idempotency_keys_ticket_id", "ticket_id"),
)

# ---------------------------------------------------------------- 0003_auth_tokens (+ rate limits)

# Single-use password resets; only the SHA-256 of the token is stored.
password_reset_tokens = sa.Table(
    "password_reset_tokens",
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column("user_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("token_hash", sa.String(128), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("expires_at", UTCDateTime(), nullable=False),
    sa.Column("used_at", UTCDateTime()),
    sa.UniqueConstraint("token_hash"),
    sa.Index("ix_password_reset_tokens_user_id", "user_id"),
)

# Server-side login sessions: the authority on revocation (Redis may cache it).
sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column("user_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("expires_at", UTCDateTime(), nullable=False),
    sa.Column("revoked_at", UTCDateTime()),
    sa.Index("ix_sessions_user_id", "user_id"),
)

# Failed-login events per key (account, client address): the rate limiter's SQL fallback.
rate_limit_events = sa.Table(
    "rate_limit_events",
    metadata,
    sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    sa.Column("key", sa.String(300), nullable=False),
    sa.Column("occurred_at", UTCDateTime(), nullable=False),
    sa.Index("ix_rate_limit_events_key_occurred", "key", "occurred_at"),
)

# ---------------------------------------------------------------- 0004_events_webhooks


def _where_state(state: str) -> dict[str, Any]:
    """A partial index over the rows in one ``state``. PostgreSQL stores an index predicate in
    its own normal form (a VARCHAR compared as text); written in that form, the reflected
    index equals the metadata on both dialects. Queries must compare ``state`` with a literal
    (not a bound parameter) for the planner to use such an index."""
    return {
        "sqlite_where": sa.text(f"state = '{state}'"),
        "postgresql_where": sa.text(f"(state)::text = '{state}'::text"),
    }


_PENDING = _where_state("pending")


def _finished(column: str) -> dict[str, Any]:
    """A partial index over the finished rows: those that carry the time they finished."""
    where = f"{column} IS NOT NULL"
    return {"sqlite_where": sa.text(where), "postgresql_where": sa.text(where)}


# The recording order of events on PostgreSQL (SQLite, whose writers are serialized, takes it
# from `counters`). ``outbox.add`` first takes a transaction-scoped advisory lock on the
# event's ordering key, so one key's events commit in the order of their numbers.
outbox_seq = sa.Sequence("outbox_seq", metadata=metadata)

# Every domain event, written in the transaction of the change it reports; the worker claims
# pending rows by leasing them (locked_by, locked_until) and marks them done or failed.
outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),  # the event's id
    sa.Column("seq", sa.BigInteger(), nullable=False),
    sa.Column("type", sa.String(100), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),  # of the payload
    sa.Column("ordering_key", sa.String(200), nullable=False),
    sa.Column("occurred_at", UTCDateTime(), nullable=False),
    sa.Column("actor_id", sa.Uuid()),  # no foreign key: events outlive what they mention
    sa.Column("payload", sa.Text(), nullable=False),  # JSON object
    sa.Column("state", enum_column(OutboxState, "outbox_state"), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0")),
    sa.Column("available_at", UTCDateTime(), nullable=False),
    sa.Column("locked_by", sa.String(100)),
    sa.Column("locked_until", UTCDateTime()),
    sa.Column("last_error", sa.Text()),
    sa.Column("processed_at", UTCDateTime()),
    sa.UniqueConstraint("seq"),
    sa.CheckConstraint("seq >= 1", name="seq_positive"),
    sa.CheckConstraint("attempts >= 0", name="attempts_not_negative"),
    # The claim: pending rows in seq order, and "no older pending event of this key".
    sa.Index("ix_outbox_pending_seq", "seq", **_PENDING),
    sa.Index("ix_outbox_pending_key_seq", "ordering_key", "seq", **_PENDING),
    sa.Index("ix_outbox_failed_seq", "seq", **_where_state("failed")),  # stats: count failed
    # Retention: finished events, oldest first (without it every pass read the whole outbox).
    sa.Index("ix_outbox_processed_seq", "processed_at", "seq", **_finished("processed_at")),
)

# Endpoints that receive the events they subscribe to.
webhooks = sa.Table(
    "webhooks",
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column("url", sa.String(2048), nullable=False),
    sa.Column("description", sa.Text(), nullable=False),
    sa.Column("events", sa.Text(), nullable=False),  # JSON list of event types ("*": all)
    sa.Column("secret", sa.String(200), nullable=False),
    sa.Column("is_active", sa.Boolean(), nullable=False, server_default=sa.true()),
    sa.Column("consecutive_failures", sa.Integer(), nullable=False, server_default=sa.text("0")),
    sa.Column("disabled_reason", sa.Text()),
    *timestamps(),
    version(),
    sa.CheckConstraint("consecutive_failures >= 0", name="failures_not_negative"),
    sa.CheckConstraint("version >= 1", name="version_positive"),
)

# One event on its way to one endpoint.
webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column(
        "webhook_id", sa.Uuid(), sa.ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False
    ),
    # RESTRICT: an event is removed from the outbox only after its deliveries (nothing pending
    # is lost to a clean-up).
    sa.Column(
        "event_id", sa.Uuid(), sa.ForeignKey("outbox.id", ondelete="RESTRICT"), nullable=False
    ),
    sa.Column("event_type", sa.String(100), nullable=False),
    sa.Column("event_seq", sa.BigInteger(), nullable=False),
    sa.Column("ordering_key", sa.String(200), nullable=False),
    sa.Column("state", enum_column(DeliveryState, "delivery_state"), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0")),
    sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
    sa.Column("locked_by", sa.String(100)),
    sa.Column("locked_until", UTCDateTime()),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("completed_at", UTCDateTime()),
    sa.UniqueConstraint("webhook_id", "event_id"),  # the dispatcher may run twice per event
    sa.CheckConstraint("attempts >= 0", name="attempts_not_negative"),
    # The claim: pending rows in event order, and "no older pending delivery of this
    # endpoint and key".
    sa.Index("ix_webhook_deliveries_pending_seq", "event_seq", **_PENDING),
    sa.Index(
        "ix_webhook_deliveries_pending_key_seq",
        "webhook_id",
        "ordering_key",
        "event_seq",
        **_PENDING,
    ),
    # An endpoint's deliveries, newest first (keyset pages).
    sa.Index("ix_webhook_deliveries_webhook_created", "webhook_id", "created_at", "id"),
    sa.Index("ix_webhook_deliveries_event_id", "event_id"),
    # Retention: finished deliveries, oldest first.
    sa.Index(
        "ix_webhook_deliveries_completed_id", "completed_at", "id", **_finished("completed_at")
    ),
)

# Every try of every delivery: outcome, status code, duration, error.
webhook_attempts = sa.Table(
    "webhook_attempts",
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column(
        "delivery_id",
        sa.Uuid(),
        sa.ForeignKey("webhook_deliveries.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("attempt", sa.Integer(), nullable=False),
    sa.Column("outcome", enum_column(AttemptOutcome, "attempt_outcome"), nullable=False),
    sa.Column("status_code", sa.Integer()),
    sa.Column("duration_ms", sa.Integer(), nullable=False),
    sa.Column("error", sa.Text()),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.CheckConstraint("attempt >= 1", name="attempt_positive"),
    sa.CheckConstraint("duration_ms >= 0", name="duration_not_negative"),
    sa.Index("ix_webhook_attempts_delivery_created", "delivery_id", "created_at", "attempt"),
)
