"""The tables of agent productivity (0012_productivity), in the schema's one MetaData;
``tables.py`` names them with the rest. ``tickets.tags`` (the names a ticket shows) and
``staff_members.signature`` are defined with their tables."""

from __future__ import annotations

import sqlalchemy as sa

from adapters.sql.columns import UTCDateTime, metadata, timestamps, version

# Tags: one row per name, compared by ``name_key`` (trimmed, spaces collapsed, case folded),
# shown as first written.
tags = sa.Table(
    "tags",
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column("name", sa.String(50), nullable=False),
    sa.Column("name_key", sa.String(200), nullable=False),
    *timestamps(),
    version(),
    sa.UniqueConstraint("name_key"),
    sa.CheckConstraint("version >= 1", name="version_positive"),
)

# Which ticket carries which tag. The key leads with the tag: the staff list's ``tag=`` filter
# and the counts read it; a ticket's own tags are shown from ``tickets.tags``.
ticket_tags = sa.Table(
    "ticket_tags",
    metadata,
    sa.Column("tag_id", sa.Uuid(), sa.ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
    sa.Column(
        "ticket_id", sa.Uuid(), sa.ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Index("ix_ticket_tags_ticket_id", "ticket_id"),
)

# The staff who follow a ticket (its assignee follows it without a row). ``following=me``
# reads the second index.
ticket_followers = sa.Table(
    "ticket_followers",
    metadata,
    sa.Column(
        "ticket_id", sa.Uuid(), sa.ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column(
        "user_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("added_by", sa.Uuid(), sa.ForeignKey("users.id", ondelete="SET NULL")),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Index("ix_ticket_followers_user_ticket", "user_id", "ticket_id"),
)

# Canned responses: a title, an optional shortcut, a body with placeholders, and who may use
# it (``scope``: personal to ``owner_id``, a team, a department, or everyone).
canned_responses = sa.Table(
    "canned_responses",
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("shortcut", sa.String(50)),
    sa.Column("body", sa.String(20000), nullable=False),
    sa.Column("scope", sa.String(16), nullable=False),
    sa.Column("owner_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="CASCADE")),
    sa.Column("team_id", sa.Uuid(), sa.ForeignKey("teams.id", ondelete="RESTRICT")),
    sa.Column("department_id", sa.Uuid(), sa.ForeignKey("departments.id", ondelete="RESTRICT")),
    sa.Column("usage_count", sa.Integer(), nullable=False, server_default=sa.text("0")),
    sa.Column("created_by", sa.Uuid(), sa.ForeignKey("users.id", ondelete="SET NULL")),
    sa.Column("is_active", sa.Boolean(), nullable=False, server_default=sa.true()),
    *timestamps(),
    version(),
    sa.CheckConstraint(
        "scope IN ('personal', 'team', 'department', 'everyone')", name="scope_known"
    ),
    sa.CheckConstraint("(scope = 'personal') = (owner_id IS NOT NULL)", name="personal_has_owner"),
    sa.CheckConstraint("(scope = 'team') = (team_id IS NOT NULL)", name="team_scope_has_team"),
    sa.CheckConstraint(
        "(scope = 'department') = (department_id IS NOT NULL)",
        name="department_scope_has_department",
    ),
    sa.CheckConstraint("usage_count >= 0", name="usage_count_not_negative"),
    sa.CheckConstraint("version >= 1", name="version_positive"),
    sa.Index("ix_canned_responses_scope", "scope", "owner_id", "team_id", "department_id"),
)

# Macros: a named list of actions (``steps``, JSON: ``[{"action", "value"}, ...]``, checked by
# the domain) and who may apply it (``scope``: personal to ``owner_id``, a department, or
# everyone).
macros = sa.Table(
    "macros",
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("scope", sa.String(16), nullable=False),
    sa.Column("owner_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="CASCADE")),
    sa.Column("department_id", sa.Uuid(), sa.ForeignKey("departments.id", ondelete="RESTRICT")),
    sa.Column("steps", sa.JSON(), nullable=False),
    sa.Column("created_by", sa.Uuid(), sa.ForeignKey("users.id", ondelete="SET NULL")),
    sa.Column("is_active", sa.Boolean(), nullable=False, server_default=sa.true()),
    *timestamps(),
    version(),
    sa.CheckConstraint("scope IN ('personal', 'department', 'everyone')", name="scope_known"),
    sa.CheckConstraint("(scope = 'personal') = (owner_id IS NOT NULL)", name="personal_has_owner"),
    sa.CheckConstraint(
        "(scope = 'department') = (department_id IS NOT NULL)",
        name="department_scope_has_department",
    ),
    sa.CheckConstraint("version >= 1", name="version_positive"),
    sa.Index("ix_macros_scope", "scope", "owner_id", "department_id"),
)

# The answers of requests that carried an Idempotency-Key and answer more than a ticket (a
# bulk action): claimed before the work (``answer`` null while it runs), the answer stored
# after it, replayed to the same key with the same request.
request_answers = sa.Table(
    "request_answers",
    metadata,
    sa.Column(
        "user_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("answer", sa.JSON()),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Index("ix_request_answers_created_at", "created_at"),
)
