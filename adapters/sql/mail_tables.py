"""The tables of the email channel (0011_email), in the schema's one MetaData; ``tables.py``
names them with the rest. ``tickets.source`` and the messages' ``source`` and ``automatic``
are defined with their tables."""

from __future__ import annotations

import sqlalchemy as sa

from adapters.sql.columns import UTCDateTime, enum_column, metadata, timestamps, version
from helpdesk_core.domain.mail import Direction, InboundStatus, InboundVia, Outcome, UnknownSenders
from helpdesk_core.domain.mail_fetch import ImapSecurity

# The addresses mail is received at. An address is stored normalized (normalize_email), so
# the unique constraint holds however a sender wrote it; a reply address's "+token" is not
# part of it.
mailboxes = sa.Table(
    "mailboxes",
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("name_key", sa.String(400), nullable=False),  # as departments.name_key
    sa.Column("address", sa.String(254), nullable=False),
    sa.Column("department_id", sa.Uuid(), sa.ForeignKey("departments.id", ondelete="RESTRICT")),
    sa.Column("unknown_senders", enum_column(UnknownSenders, "unknown_senders"), nullable=False),
    sa.Column("reopen_days", sa.Integer(), nullable=False),
    # The secret a provider signs the mail it POSTs with, sealed (as webhooks' secrets).
    sa.Column("inbound_secret", sa.String(500)),
    sa.Column("is_active", sa.Boolean(), nullable=False, server_default=sa.true()),
    *timestamps(),
    version(),
    sa.UniqueConstraint("name_key"),
    sa.UniqueConstraint("address"),
    sa.CheckConstraint("version >= 1", name="version_positive"),
    sa.CheckConstraint("reopen_days >= 0", name="reopen_days_not_negative"),
)

# Every received message, stored (its bytes in the blob store) before it is acknowledged and
# processed by the worker. dedupe_key is unique: the same message arriving twice, by any way,
# is one row. The pending ones are claimed oldest first (ix_inbound_emails_pending).
inbound_emails = sa.Table(
    "inbound_emails",
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column(
        "mailbox_id", sa.Uuid(), sa.ForeignKey("mailboxes.id", ondelete="RESTRICT"), nullable=False
    ),
    sa.Column("dedupe_key", sa.String(1000), nullable=False),
    sa.Column("message_id", sa.String(995)),
    sa.Column("raw_key", sa.String(64), nullable=False),
    sa.Column("size", sa.BigInteger(), nullable=False),
    sa.Column("via", enum_column(InboundVia, "inbound_via"), nullable=False),
    sa.Column("received_at", UTCDateTime(), nullable=False),
    sa.Column("status", enum_column(InboundStatus, "inbound_status"), nullable=False),
    sa.Column("outcome", enum_column(Outcome, "inbound_outcome")),
    sa.Column("sender", sa.String(254)),
    sa.Column("subject", sa.String(200), nullable=False),
    sa.Column("ticket_id", sa.Uuid(), sa.ForeignKey("tickets.id", ondelete="SET NULL")),
    sa.Column("ticket_message_id", sa.Uuid()),
    sa.Column("detail", sa.String(500), nullable=False),
    sa.Column("processed_at", UTCDateTime()),
    sa.UniqueConstraint("dedupe_key"),
    sa.CheckConstraint("size >= 0", name="size_not_negative"),
    sa.Index(
        "ix_inbound_emails_pending",
        "received_at",
        "id",
        # PostgreSQL's normal form of the predicate (as the outbox's: tables._where_state);
        # the claim compares status with a literal so the planner uses the index.
        sqlite_where=sa.text("status = 'pending'"),
        postgresql_where=sa.text("(status)::text = 'pending'::text"),
    ),
    sa.Index("ix_inbound_emails_sender_processed", "sender", "processed_at"),
    sa.Index("ix_inbound_emails_ticket_processed", "ticket_id", "processed_at"),
    sa.Index("ix_inbound_emails_received", "received_at", "id"),
)

# Every Message-ID the helpdesk sent or received, with its ticket: In-Reply-To and References
# find a reply's ticket here. The first ticket an id was recorded for keeps it.
mail_message_ids = sa.Table(
    "mail_message_ids",
    metadata,
    sa.Column("message_id", sa.String(995), primary_key=True),
    sa.Column(
        "ticket_id", sa.Uuid(), sa.ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("direction", enum_column(Direction, "mail_direction"), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Index("ix_mail_message_ids_ticket_created", "ticket_id", "created_at", "message_id"),
)

# Addresses mail to which came back undeliverable (delivery status notifications).
mail_bounces = sa.Table(
    "mail_bounces",
    metadata,
    sa.Column("address", sa.String(254), primary_key=True),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("diagnostic", sa.String(500), nullable=False),
    sa.Column("bounced_at", UTCDateTime(), nullable=False),
    sa.Column("count", sa.Integer(), nullable=False),
    sa.CheckConstraint("count >= 1", name="count_positive"),
)

# The people on a ticket's mail thread besides its requester.
ticket_participants = sa.Table(
    "ticket_participants",
    metadata,
    sa.Column(
        "ticket_id", sa.Uuid(), sa.ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("address", sa.String(254), primary_key=True),
    sa.Column("user_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="SET NULL")),
    sa.Column("added_at", UTCDateTime(), nullable=False),
)

# Where the worker fetches a mailbox's mail over IMAP, and how far it got (one row per mailbox
# that has such settings). password is sealed by the SecretBox (text of any length). UIDs and
# UIDVALIDITY are unsigned 32-bit numbers in IMAP: BIGINT holds every one.
mailbox_imap = sa.Table(
    "mailbox_imap",
    metadata,
    sa.Column(
        "mailbox_id",
        sa.Uuid(),
        sa.ForeignKey("mailboxes.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("host", sa.String(253), nullable=False),
    sa.Column("port", sa.Integer(), nullable=False),
    sa.Column("security", enum_column(ImapSecurity, "imap_security"), nullable=False),
    sa.Column("username", sa.String(320), nullable=False),
    sa.Column("password", sa.Text(), nullable=False),
    sa.Column("folder", sa.String(200), nullable=False),
    sa.Column("move_to", sa.String(200)),
    sa.Column("uidvalidity", sa.BigInteger()),
    sa.Column("last_uid", sa.BigInteger(), nullable=False),
    sa.Column("polled_at", UTCDateTime()),
    sa.Column("last_error", sa.String(500)),
    *timestamps(),
    version(),
    sa.CheckConstraint("port >= 1 AND port <= 65535", name="port_range"),
    sa.CheckConstraint("last_uid >= 0", name="last_uid_not_negative"),
    sa.CheckConstraint("version >= 1", name="version_positive"),
)
