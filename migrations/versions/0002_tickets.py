"""Tickets: counters, tickets, ticket_messages, ticket_history, attachment_references,
ticket_search (with its full-text index), idempotency_keys.

Revision ID: 0002_tickets
Revises: 0001_init_schema
Create Date: 2024-11-25

Written by hand, portable across SQLite and PostgreSQL; names as in 0001_init_schema. What no
MetaData can hold is made per dialect: on PostgreSQL the ticket_number_seq sequence and a
generated tsvector column with a GIN index on ticket_search; on SQLite a contentless FTS5 table
over ticket_search (rowid = tickets.number), kept by triggers. A later batch migration that
recreates ticket_search on SQLite must recreate those triggers.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0002_tickets"
down_revision: str | Sequence[str] | None = "0001_init_schema"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Only for the unassigned-queue index; the same predicate on both dialects.
_UNASSIGNED = "assignee_id IS NULL"

_POSTGRESQL_SEARCH = (
    "CREATE SEQUENCE ticket_number_seq",
    # 'simple': no stemming and no stop words, like SQLite's unicode61 tokenizer.
    "ALTER TABLE ticket_search ADD COLUMN document_tsv tsvector"
    " GENERATED ALWAYS AS (to_tsvector('simple', document)) STORED",
    "CREATE INDEX ix_ticket_search_document_tsv ON ticket_search USING gin (document_tsv)",
)

# Contentless (the text stays in ticket_search): removing an entry needs the 'delete' command
# with exactly the text it was indexed with, which the triggers take from the old row.
_SQLITE_SEARCH = (
    "CREATE VIRTUAL TABLE ticket_search_fts USING fts5("
    "document, content='', tokenize='unicode61 remove_diacritics 0')",
    """CREATE TRIGGER ticket_search_fts_insert AFTER INSERT ON ticket_search BEGIN
        INSERT INTO ticket_search_fts (rowid, document)
        SELECT number, new.document FROM tickets WHERE id = new.ticket_id;
    END""",
    """CREATE TRIGGER ticket_search_fts_update AFTER UPDATE OF document ON ticket_search BEGIN
        INSERT INTO ticket_search_fts (ticket_search_fts, rowid, document)
        SELECT 'delete', number, old.document FROM tickets WHERE id = old.ticket_id;
        INSERT INTO ticket_search_fts (rowid, document)
        SELECT number, new.document FROM tickets WHERE id = new.ticket_id;
    END""",
    """CREATE TRIGGER ticket_search_fts_delete AFTER DELETE ON ticket_search BEGIN
        INSERT INTO ticket_search_fts (ticket_search_fts, rowid, document)
        SELECT 'delete', number, old.document FROM tickets WHERE id = old.ticket_id;
    END""",
)


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "counters",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("value", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_counters")),
    )
    op.create_table(
        "tickets",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.BigInteger(), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("requester_id", sa.Uuid(), nullable=False),
        sa.Column("department_id", sa.Uuid(), nullable=True),
        sa.Column("team_id", sa.Uuid(), nullable=True),
        sa.Column("assignee_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tickets")),
        sa.UniqueConstraint("number", name=op.f("uq_tickets_number")),
        sa.ForeignKeyConstraint(
            ["requester_id"],
            ["users.id"],
            name=op.f("fk_tickets_requester_id_users"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_tickets_department_id_departments"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["team_id", "department_id"],
            ["teams.id", "teams.department_id"],
            name=op.f("fk_tickets_team_in_department"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["assignee_id"],
            ["staff_members.user_id"],
            name=op.f("fk_tickets_assignee_id_staff_members"),
            ondelete="RESTRICT",
        ),
        sa.CheckConstraint(
            "status IN ('new', 'open', 'pending', 'resolved', 'closed')",
            name=op.f("ck_tickets_ticket_status"),
        ),
        sa.CheckConstraint(
            "priority IN ('low', 'normal', 'high', 'urgent')",
            name=op.f("ck_tickets_ticket_priority"),
        ),
        sa.CheckConstraint("number >= 1", name=op.f("ck_tickets_number_positive")),
        sa.CheckConstraint(
            "team_id IS NULL OR department_id IS NOT NULL",
            name=op.f("ck_tickets_team_needs_department"),
        ),
        sa.CheckConstraint(
            "(status = 'closed') = (closed_at IS NOT NULL)",
            name=op.f("ck_tickets_closed_at_iff_closed"),
        ),
        sa.CheckConstraint("version >= 1", name=op.f("ck_tickets_version_positive")),
    )
    op.create_index(op.f("ix_tickets_created_at_id"), "tickets", ["created_at", "id"])
    op.create_index(op.f("ix_tickets_updated_at_id"), "tickets", ["updated_at", "id"])
    op.create_index(
        op.f("ix_tickets_requester_created"), "tickets", ["requester_id", "created_at", "id"]
    )
    op.create_index(op.f("ix_tickets_status_created"), "tickets", ["status", "created_at", "id"])
    op.create_index(
        op.f("ix_tickets_department_status_created"),
        "tickets",
        ["department_id", "status", "created_at", "id"],
    )
    op.create_index(
        op.f("ix_tickets_team_status_created"), "tickets", ["team_id", "status", "created_at", "id"]
    )
    op.create_index(
        op.f("ix_tickets_assignee_status_created"),
        "tickets",
        ["assignee_id", "status", "created_at", "id"],
    )
    op.create_index(
        op.f("ix_tickets_unassigned_department_created"),
        "tickets",
        ["department_id", "created_at", "id"],
        sqlite_where=sa.text(_UNASSIGNED),
        postgresql_where=sa.text(_UNASSIGNED),
    )
    op.create_table(
        "ticket_messages",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("visibility", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_messages")),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_ticket_messages_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_ticket_messages_author_id_users"),
            ondelete="RESTRICT",
        ),
        sa.CheckConstraint(
            "visibility IN ('public', 'internal')",
            name=op.f("ck_ticket_messages_message_visibility"),
        ),
    )
    op.create_index(
        op.f("ix_ticket_messages_ticket_created"),
        "ticket_messages",
        ["ticket_id", "created_at", "id"],
    )
    op.create_table(
        "ticket_history",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("field", sa.String(length=50), nullable=False),
        sa.Column("old_value", sa.Text(), nullable=True),
        sa.Column("new_value", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_history")),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_ticket_history_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
            name=op.f("fk_ticket_history_actor_id_users"),
            ondelete="RESTRICT",
        ),
    )
    op.create_index(
        op.f("ix_ticket_history_ticket_created"),
        "ticket_history",
        ["ticket_id", "created_at", "id"],
    )
    op.create_table(
        "attachment_references",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("message_id", sa.Uuid(), nullable=True),
        sa.Column("uploaded_by", sa.Uuid(), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("mime_type", sa.String(length=127), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("checksum", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachment_references")),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_attachment_references_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["ticket_messages.id"],
            name=op.f("fk_attachment_references_message_id_ticket_messages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by"],
            ["users.id"],
            name=op.f("fk_attachment_references_uploaded_by_users"),
            ondelete="RESTRICT",
        ),
        sa.CheckConstraint(
            "size_bytes >= 0", name=op.f("ck_attachment_references_size_not_negative")
        ),
    )
    op.create_index(
        op.f("ix_attachment_references_ticket_id"), "attachment_references", ["ticket_id"]
    )
    op.create_index(
        op.f("ix_attachment_references_message_id"), "attachment_references", ["message_id"]
    )
    op.create_table(
        "ticket_search",
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_ticket_search")),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_ticket_search_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "key", name=op.f("pk_idempotency_keys")),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_idempotency_keys_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_idempotency_keys_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
    )
    op.create_index(op.f("ix_idempotency_keys_ticket_id"), "idempotency_keys", ["ticket_id"])
    dialect = op.get_bind().dialect.name
    for statement in _POSTGRESQL_SEARCH if dialect == "postgresql" else ():
        op.execute(statement)
    for statement in _SQLITE_SEARCH if dialect == "sqlite" else ():
        op.execute(statement)


def downgrade() -> None:
    """Downgrade schema."""
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP INDEX ix_ticket_search_document_tsv")
        op.execute("ALTER TABLE ticket_search DROP COLUMN document_tsv")
        op.execute("DROP SEQUENCE ticket_number_seq")
    if dialect == "sqlite":
        for trigger in ("delete", "update", "insert"):
            op.execute(f"DROP TRIGGER ticket_search_fts_{trigger}")
        op.execute("DROP TABLE ticket_search_fts")  # and its shadow tables
    op.drop_index(op.f("ix_idempotency_keys_ticket_id"), table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
    op.drop_table("ticket_search")
    op.drop_index(op.f("ix_attachment_references_message_id"), table_name="attachment_references")
    op.drop_index(op.f("ix_attachment_references_ticket_id"), table_name="attachment_references")
    op.drop_table("attachment_references")
    op.drop_index(op.f("ix_ticket_history_ticket_created"), table_name="ticket_history")
    op.drop_table("ticket_history")
    op.drop_index(op.f("ix_ticket_messages_ticket_created"), table_name="ticket_messages")
    op.drop_table("ticket_messages")
    for index in (
        "ix_tickets_unassigned_department_created",
        "ix_tickets_assignee_status_created",
        "ix_tickets_team_status_created",
        "ix_tickets_department_status_created",
        "ix_tickets_status_created",
        "ix_tickets_requester_created",
        "ix_tickets_updated_at_id",
        "ix_tickets_created_at_id",
    ):
        op.drop_index(op.f(index), table_name="tickets")
    op.drop_table("tickets")
    op.drop_table("counters")
