"""People and organization: users, departments, teams, staff_members.

Revision ID: 0001_init_schema
Revises:
Create Date: 2024-11-25

Written by hand, portable across SQLite and PostgreSQL. Every constraint and index is named
explicitly (op.f) with the name the MetaData's naming convention gives it, so later changes to
the convention cannot change what this revision creates. Enums are VARCHAR(16) with a named
CHECK (``ck_<table>_<enum name>``), as the non-native sa.Enum of the MetaData renders them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0001_init_schema"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    ]


def _version() -> sa.Column:
    return sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False)


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "users",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False),
        *_timestamps(),
        _version(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
        sa.CheckConstraint("version >= 1", name=op.f("ck_users_version_positive")),
    )
    op.create_table(
        "departments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("name_key", sa.String(length=400), nullable=False),
        sa.Column("auto_assign", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False),
        *_timestamps(),
        _version(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_departments")),
        sa.UniqueConstraint("name_key", name=op.f("uq_departments_name_key")),
        sa.CheckConstraint("version >= 1", name=op.f("ck_departments_version_positive")),
    )
    op.create_table(
        "teams",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("department_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("name_key", sa.String(length=400), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False),
        *_timestamps(),
        _version(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_teams")),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_teams_department_id_departments"),
            ondelete="RESTRICT",
        ),
        sa.UniqueConstraint(
            "department_id", "name_key", name=op.f("uq_teams_department_id_name_key")
        ),
        # Target of the composite keys (team_id, department_id) of staff_members and tickets.
        sa.UniqueConstraint("id", "department_id", name=op.f("uq_teams_id_department_id")),
        sa.CheckConstraint("version >= 1", name=op.f("ck_teams_version_positive")),
    )
    op.create_table(
        "staff_members",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("department_id", sa.Uuid(), nullable=True),
        sa.Column("team_id", sa.Uuid(), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False),
        *_timestamps(),
        _version(),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_staff_members")),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_staff_members_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_staff_members_department_id_departments"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["team_id", "department_id"],
            ["teams.id", "teams.department_id"],
            name=op.f("fk_staff_members_team_in_department"),
            ondelete="RESTRICT",
        ),
        sa.CheckConstraint(
            "role IN ('agent', 'lead', 'admin')", name=op.f("ck_staff_members_staff_role")
        ),
        sa.CheckConstraint(
            "team_id IS NULL OR department_id IS NOT NULL",
            name=op.f("ck_staff_members_team_needs_department"),
        ),
        sa.CheckConstraint("version >= 1", name=op.f("ck_staff_members_version_positive")),
    )
    op.create_index(
        op.f("ix_staff_members_department_role"), "staff_members", ["department_id", "role"]
    )
    op.create_index(op.f("ix_staff_members_team_id"), "staff_members", ["team_id"])


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(op.f("ix_staff_members_team_id"), table_name="staff_members")
    op.drop_index(op.f("ix_staff_members_department_role"), table_name="staff_members")
    op.drop_table("staff_members")
    op.drop_table("teams")
    op.drop_table("departments")
    op.drop_table("users")
