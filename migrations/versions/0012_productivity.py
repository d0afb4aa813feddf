"""Agent productivity: tags (and the names a ticket shows), followers of tickets, canned
responses, the signature of staff members, macros, the group of a ticket's history entries,
and the stored answers of idempotent bulk requests.

Revision ID: 0012_productivity
Revises: 0011_email
Create Date: 2026-12-08

Written by hand, portable across SQLite and PostgreSQL; names as in 0001_init_schema. The
columns added to tickets and staff_members have constant defaults (no rewrite of either
table). The downgrade drops it all.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "0012_productivity"
down_revision: str | Sequence[str] | None = "0011_email"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column(
        "tickets",
        sa.Column(
            "tags",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            server_default=sa.text("'[]'"),
            nullable=False,
        ),
    )
    op.add_column("staff_members", sa.Column("signature", sa.String(length=2000), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        # The staff list's tag filter: the names a ticket shows contain every name asked for
        # (``@>``), answered from this index whatever the number of tags. Partial: a new
        # ticket (no tag) never touches it. Outside the MetaData, as the full-text index is
        # (adapters/sql/tables.py, SEARCH_INDEX_OBJECTS); SQLite reads ticket_tags instead.
        op.execute(
            "CREATE INDEX ix_tickets_tags ON tickets USING gin (tags jsonb_path_ops)"
            " WHERE tags <> '[]'::jsonb"
        )
    op.create_table(
        "tags",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("name_key", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tags")),
        sa.UniqueConstraint("name_key", name=op.f("uq_tags_name_key")),
        sa.CheckConstraint("version >= 1", name=op.f("ck_tags_version_positive")),
    )
    op.create_table(
        "ticket_tags",
        sa.Column("tag_id", sa.Uuid(), nullable=False),
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tag_id", "ticket_id", name=op.f("pk_ticket_tags")),
        sa.ForeignKeyConstraint(
            ["tag_id"], ["tags.id"], name=op.f("fk_ticket_tags_tag_id_tags"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_ticket_tags_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_ticket_tags_ticket_id", "ticket_tags", ["ticket_id"])
    op.create_table(
        "ticket_followers",
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("added_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("ticket_id", "user_id", name=op.f("pk_ticket_followers")),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_ticket_followers_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_ticket_followers_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["added_by"],
            ["users.id"],
            name=op.f("fk_ticket_followers_added_by_users"),
            ondelete="SET NULL",
        ),
    )
    op.create_index("ix_ticket_followers_user_ticket", "ticket_followers", ["user_id", "ticket_id"])
    op.create_table(
        "canned_responses",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("shortcut", sa.String(length=50), nullable=True),
        sa.Column("body", sa.String(length=20000), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=True),
        sa.Column("team_id", sa.Uuid(), nullable=True),
        sa.Column("department_id", sa.Uuid(), nullable=True),
        sa.Column("usage_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_canned_responses")),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_canned_responses_owner_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_canned_responses_team_id_teams"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_canned_responses_department_id_departments"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_canned_responses_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.CheckConstraint(
            "scope IN ('personal', 'team', 'department', 'everyone')",
            name=op.f("ck_canned_responses_scope_known"),
        ),
        sa.CheckConstraint(
            "(scope = 'personal') = (owner_id IS NOT NULL)",
            name=op.f("ck_canned_responses_personal_has_owner"),
        ),
        sa.CheckConstraint(
            "(scope = 'team') = (team_id IS NOT NULL)",
            name=op.f("ck_canned_responses_team_scope_has_team"),
        ),
        sa.CheckConstraint(
            "(scope = 'department') = (department_id IS NOT NULL)",
            name=op.f("ck_canned_responses_department_scope_has_department"),
        ),
        sa.CheckConstraint(
            "usage_count >= 0", name=op.f("ck_canned_responses_usage_count_not_negative")
        ),
        sa.CheckConstraint("version >= 1", name=op.f("ck_canned_responses_version_positive")),
    )
    op.create_index(
        "ix_canned_responses_scope",
        "canned_responses",
        ["scope", "owner_id", "team_id", "department_id"],
    )

    op.add_column("ticket_history", sa.Column("group_id", sa.Uuid(), nullable=True))
    op.create_table(
        "macros",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=True),
        sa.Column("department_id", sa.Uuid(), nullable=True),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_macros")),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_macros_owner_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_macros_department_id_departments"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_macros_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.CheckConstraint(
            "scope IN ('personal', 'department', 'everyone')", name=op.f("ck_macros_scope_known")
        ),
        sa.CheckConstraint(
            "(scope = 'personal') = (owner_id IS NOT NULL)",
            name=op.f("ck_macros_personal_has_owner"),
        ),
        sa.CheckConstraint(
            "(scope = 'department') = (department_id IS NOT NULL)",
            name=op.f("ck_macros_department_scope_has_department"),
        ),
        sa.CheckConstraint("version >= 1", name=op.f("ck_macros_version_positive")),
    )
    op.create_index("ix_macros_scope", "macros", ["scope", "owner_id", "department_id"])
    op.create_table(
        "request_answers",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("answer", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "key", name=op.f("pk_request_answers")),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_request_answers_user_id_users"),
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_request_answers_created_at", "request_answers", ["created_at"])


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index("ix_request_answers_created_at", table_name="request_answers")
    op.drop_table("request_answers")
    op.drop_index("ix_macros_scope", table_name="macros")
    op.drop_table("macros")
    op.drop_column("ticket_history", "group_id")
    op.drop_index("ix_canned_responses_scope", table_name="canned_responses")
    op.drop_table("canned_responses")
    op.drop_index("ix_ticket_followers_user_ticket", table_name="ticket_followers")
    op.drop_table("ticket_followers")
    op.drop_index("ix_ticket_tags_ticket_id", table_name="ticket_tags")
    op.drop_table("ticket_tags")
    op.drop_table("tags")
    op.drop_column("staff_members", "signature")
    op.execute("DROP INDEX IF EXISTS ix_tickets_tags")
    op.drop_column("tickets", "tags")
