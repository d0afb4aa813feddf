"""The email channel: mailboxes, received messages, the Message-IDs that thread them, bounced
addresses, participants, mailboxes' IMAP settings and poll state, and how tickets and
messages came in.

Revision ID: 0011_email
Revises: 0010_sla_policies
Create Date: 2026-12-07

Written by hand, portable across SQLite and PostgreSQL; names as in 0001_init_schema. The
columns added to tickets and ticket_messages are plain strings with a constant default (no
rewrite of either table on either database, and no CHECK: SQLite cannot add one to a table
that exists without copying it). The downgrade drops it all.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0011_email"
down_revision: str | Sequence[str] | None = "0010_sla_policies"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _enum(name: str, values: Sequence[str]) -> sa.CheckConstraint:
    listed = ", ".join(f"'{value}'" for value in values)
    return sa.CheckConstraint(f"{name} IN ({listed})", name=name)


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "mailboxes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("name_key", sa.String(length=400), nullable=False),
        sa.Column("address", sa.String(length=254), nullable=False),
        sa.Column("department_id", sa.Uuid(), nullable=True),
        sa.Column("unknown_senders", sa.String(length=16), nullable=False),
        sa.Column("reopen_days", sa.Integer(), nullable=False),
        sa.Column("inbound_secret", sa.String(length=500), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mailboxes")),
        sa.UniqueConstraint("name_key", name=op.f("uq_mailboxes_name_key")),
        sa.UniqueConstraint("address", name=op.f("uq_mailboxes_address")),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_mailboxes_department_id_departments"),
            ondelete="RESTRICT",
        ),
        sa.CheckConstraint("version >= 1", name=op.f("ck_mailboxes_version_positive")),
        sa.CheckConstraint("reopen_days >= 0", name=op.f("ck_mailboxes_reopen_days_not_negative")),
        sa.CheckConstraint(
            "unknown_senders IN ('create', 'hold')", name=op.f("ck_mailboxes_unknown_senders")
        ),
    )
    op.create_table(
        "inbound_emails",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("mailbox_id", sa.Uuid(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=1000), nullable=False),
        sa.Column("message_id", sa.String(length=995), nullable=True),
        sa.Column("raw_key", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("via", sa.String(length=16), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("sender", sa.String(length=254), nullable=True),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("ticket_id", sa.Uuid(), nullable=True),
        sa.Column("ticket_message_id", sa.Uuid(), nullable=True),
        sa.Column("detail", sa.String(length=500), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_emails")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_inbound_emails_dedupe_key")),
        sa.ForeignKeyConstraint(
            ["mailbox_id"],
            ["mailboxes.id"],
            name=op.f("fk_inbound_emails_mailbox_id_mailboxes"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_inbound_emails_ticket_id_tickets"),
            ondelete="SET NULL",
        ),
        sa.CheckConstraint("size >= 0", name=op.f("ck_inbound_emails_size_not_negative")),
        sa.CheckConstraint(
            "via IN ('pipe', 'imap', 'http', 'library')", name=op.f("ck_inbound_emails_inbound_via")
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'processed', 'ignored', 'held', 'failed')",
            name=op.f("ck_inbound_emails_inbound_status"),
        ),
        sa.CheckConstraint(
            "outcome IN ('ticket_created', 'reply_added', 'reopened', 'automatic', 'bounce',"
            " 'loop', 'flood', 'unknown_sender', 'no_sender', 'unreadable')",
            name=op.f("ck_inbound_emails_inbound_outcome"),
        ),
    )
    op.create_index(
        "ix_inbound_emails_pending",
        "inbound_emails",
        ["received_at", "id"],
        sqlite_where=sa.text("status = 'pending'"),
        postgresql_where=sa.text("(status)::text = 'pending'::text"),
    )
    op.create_index(
        "ix_inbound_emails_sender_processed", "inbound_emails", ["sender", "processed_at"]
    )
    op.create_index(
        "ix_inbound_emails_ticket_processed", "inbound_emails", ["ticket_id", "processed_at"]
    )
    op.create_index("ix_inbound_emails_received", "inbound_emails", ["received_at", "id"])
    op.create_table(
        "mail_message_ids",
        sa.Column("message_id", sa.String(length=995), nullable=False),
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_mail_message_ids")),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_mail_message_ids_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.CheckConstraint(
            "direction IN ('in', 'out')", name=op.f("ck_mail_message_ids_mail_direction")
        ),
    )
    op.create_index(
        "ix_mail_message_ids_ticket_created",
        "mail_message_ids",
        ["ticket_id", "created_at", "message_id"],
    )
    op.create_table(
        "mail_bounces",
        sa.Column("address", sa.String(length=254), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("diagnostic", sa.String(length=500), nullable=False),
        sa.Column("bounced_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("address", name=op.f("pk_mail_bounces")),
        sa.CheckConstraint("count >= 1", name=op.f("ck_mail_bounces_count_positive")),
    )
    op.create_table(
        "ticket_participants",
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("address", sa.String(length=254), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("ticket_id", "address", name=op.f("pk_ticket_participants")),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_ticket_participants_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_ticket_participants_user_id_users"),
            ondelete="SET NULL",
        ),
    )
    op.create_table(
        "mailbox_imap",
        sa.Column("mailbox_id", sa.Uuid(), nullable=False),
        sa.Column("host", sa.String(length=253), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("security", sa.String(length=16), nullable=False),
        sa.Column("username", sa.String(length=320), nullable=False),
        sa.Column("password", sa.Text(), nullable=False),
        sa.Column("folder", sa.String(length=200), nullable=False),
        sa.Column("move_to", sa.String(length=200), nullable=True),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=True),
        sa.Column("last_uid", sa.BigInteger(), nullable=False),
        sa.Column("polled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.PrimaryKeyConstraint("mailbox_id", name=op.f("pk_mailbox_imap")),
        sa.ForeignKeyConstraint(
            ["mailbox_id"],
            ["mailboxes.id"],
            name=op.f("fk_mailbox_imap_mailbox_id_mailboxes"),
            ondelete="CASCADE",
        ),
        sa.CheckConstraint("port >= 1 AND port <= 65535", name=op.f("ck_mailbox_imap_port_range")),
        sa.CheckConstraint("last_uid >= 0", name=op.f("ck_mailbox_imap_last_uid_not_negative")),
        sa.CheckConstraint("version >= 1", name=op.f("ck_mailbox_imap_version_positive")),
        sa.CheckConstraint(
            "security IN ('tls', 'starttls', 'none')", name=op.f("ck_mailbox_imap_imap_security")
        ),
    )
    op.add_column(
        "tickets", sa.Column("source", sa.String(length=16), server_default="web", nullable=False)
    )
    op.add_column(
        "attachment_references", sa.Column("blob_key", sa.String(length=64), nullable=True)
    )
    op.add_column(
        "ticket_messages",
        sa.Column("source", sa.String(length=16), server_default="web", nullable=False),
    )
    op.add_column(
        "ticket_messages",
        sa.Column("automatic", sa.Boolean(), server_default=sa.false(), nullable=False),
    )


def downgrade() -> None:
    """Downgrade schema."""
    # ALTER TABLE ... DROP COLUMN on both (SQLite 3.35+), as 0010 does.
    op.drop_column("ticket_messages", "automatic")
    op.drop_column("ticket_messages", "source")
    op.drop_column("attachment_references", "blob_key")
    op.drop_column("tickets", "source")
    op.drop_table("mailbox_imap")
    op.drop_table("ticket_participants")
    op.drop_table("mail_bounces")
    op.drop_index("ix_mail_message_ids_ticket_created", table_name="mail_message_ids")
    op.drop_table("mail_message_ids")
    op.drop_index("ix_inbound_emails_received", table_name="inbound_emails")
    op.drop_index("ix_inbound_emails_ticket_processed", table_name="inbound_emails")
    op.drop_index("ix_inbound_emails_sender_processed", table_name="inbound_emails")
    op.drop_index("ix_inbound_emails_pending", table_name="inbound_emails")
    op.drop_table("inbound_emails")
    op.drop_table("mailboxes")
