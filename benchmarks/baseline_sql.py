"""The raw baseline's statements and limits (split from baseline_app.py, which keeps the
routes): the SQL the product's statements compile to, written out by hand."""

from __future__ import annotations

import re

# ---------------------------------------------------------------- the statements

TICKET_COLUMNS = (
    "tickets.id, tickets.number, tickets.subject, tickets.description, tickets.status, "
    "tickets.priority, tickets.requester_id, tickets.department_id, tickets.team_id, "
    "tickets.assignee_id, tickets.created_at, tickets.updated_at, tickets.closed_at, "
    "tickets.version, tickets.sla_policy_id, tickets.sla_due_at, tickets.sla_warn_at, "
    "tickets.sla_paused, tickets.source, tickets.tags"
)
SESSION_SQL = (
    "SELECT sessions.user_id, sessions.expires_at, sessions.revoked_at, users.is_active, "
    "staff_members.role, staff_members.department_id, staff_members.is_active, "
    "users.display_name, "
    "COALESCE((SELECT counters.value FROM counters WHERE counters.name = %s), 0) "
    "FROM sessions JOIN users ON users.id = sessions.user_id "
    "LEFT OUTER JOIN staff_members ON staff_members.user_id = sessions.user_id "
    "WHERE sessions.id = %s"
)
DEPARTMENT_NAMES_SQL = "SELECT departments.id, departments.name FROM departments"
TEAM_NAMES_SQL = "SELECT teams.id, teams.name FROM teams"
USERS_SQL = (
    "SELECT users.id, users.email, users.display_name, users.password_hash, users.is_active, "
    "users.created_at, users.updated_at, users.version FROM users WHERE users.id = ANY(%s)"
)

DEPARTMENT_SQL = (
    "SELECT departments.id, departments.name, departments.name_key, departments.auto_assign, "
    "departments.is_active, departments.created_at, departments.updated_at, "
    "departments.version FROM departments WHERE departments.id = %s"
)
NEXT_NUMBER_SQL = "SELECT nextval('ticket_number_seq') AS next_value_1"
INSERT_TICKET_AND_SEARCH_SQL = (  # the ticket and its search document in one statement
    "WITH new_tickets AS (INSERT INTO tickets (id, number, subject, description, status, "
    "priority, requester_id, department_id, team_id, assignee_id, created_at, updated_at, "
    "closed_at, version, sla_policy_id, sla_due_at, sla_warn_at, sla_paused, source) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
    "RETURNING tickets.id) "
    "INSERT INTO ticket_search (ticket_id, document) SELECT new_tickets.id, %s FROM new_tickets"
)
INSERT_HISTORY_SQL = (
    "INSERT INTO ticket_history (id, ticket_id, actor_id, field, old_value, new_value, "
    "created_at) VALUES (%s, %s, %s, %s, %s, %s, %s)"
)
INSERT_OUTBOX_LOCKED_SQL = (  # a key's first event in a transaction: its lock, then its row
    "WITH ordering_lock AS MATERIALIZED (SELECT pg_advisory_xact_lock(%s, hashtext(%s))) "
    "INSERT INTO outbox (id, type, version, ordering_key, occurred_at, actor_id, payload, "
    "state, attempts, available_at, seq) "
    "SELECT %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, nextval('outbox_seq') FROM ordering_lock"
)
ORDERING_LOCK_NAMESPACE = 0x4844_0004  # adapters/sql/outbox.py
INSERT_OUTBOX_SQL = (
    "INSERT INTO outbox (id, seq, type, version, ordering_key, occurred_at, actor_id, payload, "
    "state, attempts, available_at) "
    "VALUES (%s, nextval('outbox_seq'), %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)
BUMP_COUNTER_SQL = (
    "INSERT INTO counters (name, value) VALUES (%s, %s) ON CONFLICT (name) "
    "DO UPDATE SET value = (counters.value + %s) RETURNING counters.value"
)
AGENTS_SQL = (
    "SELECT staff_members.user_id, staff_members.role, staff_members.department_id, "
    "staff_members.team_id, staff_members.is_active, staff_members.created_at, "
    "staff_members.updated_at, staff_members.version FROM staff_members "
    "WHERE staff_members.department_id = %s AND staff_members.role = %s "
    "AND staff_members.is_active = true ORDER BY staff_members.created_at, staff_members.user_id"
)

TICKET_SQL = f"SELECT {TICKET_COLUMNS} FROM tickets WHERE tickets.id = %s"
# The clocks of the listed tickets a policy governs, by cycle (the latest last).
CLOCKS_SQL = (
    "SELECT ticket_id, metric, cycle, started_at, since, due_at, met_at, breached_at, "
    "cancelled_at FROM sla_clocks WHERE ticket_id = ANY(%s) ORDER BY ticket_id, metric, cycle"
)
# The service-level policies in force, which opening a ticket reads (the product's
# ``SqlSlaPolicyRepository.list(active=True)``); the benchmark's seed has none.
POLICIES_SQL = (
    "SELECT sla_policies.id, sla_policies.name, sla_policies.name_key, sla_policies.position, "
    "sla_policies.department_ids, sla_policies.priorities, sla_policies.calendar_id, "
    "sla_policies.targets, sla_policies.pause_statuses, sla_policies.warn_before, "
    "sla_policies.on_reopen, sla_policies.is_active, sla_policies.created_at, "
    "sla_policies.updated_at, sla_policies.version FROM sla_policies WHERE sla_policies.is_active"
)
MESSAGES_SQL = (
    "SELECT ticket_messages.id, ticket_messages.ticket_id, ticket_messages.author_id, "
    "ticket_messages.body, ticket_messages.visibility, ticket_messages.created_at, "
    "ticket_messages.source, ticket_messages.automatic "
    "FROM ticket_messages WHERE ticket_messages.ticket_id = %s{visibility} "
    "ORDER BY ticket_messages.created_at, ticket_messages.id"
)
ATTACHMENTS_SQL = (
    "SELECT attachment_references.id, attachment_references.ticket_id, "
    "attachment_references.message_id, attachment_references.uploaded_by, "
    "attachment_references.url, attachment_references.filename, attachment_references.mime_type, "
    "attachment_references.size_bytes, attachment_references.checksum, "
    "attachment_references.created_at FROM attachment_references "
    "WHERE attachment_references.ticket_id = %s "
    "ORDER BY attachment_references.created_at, attachment_references.id"
)

FEW_MATCHES = 1000  # adapters/sql/ticket_search.py
MATCH_COUNT_TTL = 30.0  # adapters/sql/ticket_search.py, MatchCounts
SEARCH_PROBE_SQL = (
    "SELECT count(*) AS count_1 FROM (SELECT 1 AS anon_1 FROM ticket_search "
    "WHERE ticket_search.document_tsv @@ plainto_tsquery('simple'::regconfig, %(q)s) "
    f"LIMIT {FEW_MATCHES + 1}) AS found"
)
# The created order (the only one this app serves) needs no rank: the matches' keys alone.
_MATCHES = (
    "SELECT ticket_search.ticket_id AS key FROM ticket_search "
    "WHERE ticket_search.document_tsv @@ plainto_tsquery('simple'::regconfig, %(q)s)"
)
# Few matches: their ids first, then each ticket by its primary key (adapters/sql/ticket_lists.py).
SEARCH_FEW_WHERE = (
    "tickets.id = ANY (array((SELECT ticket_search.ticket_id FROM ticket_search "
    "WHERE ticket_search.document_tsv @@ plainto_tsquery('simple'::regconfig, %(q)s))))"
)
SEARCH_MANY_HEAD = (
    f"SELECT {TICKET_COLUMNS} FROM tickets JOIN ({_MATCHES}) AS matches ON tickets.id = matches.key"
)
LIST_HEAD = f"SELECT {TICKET_COLUMNS} FROM tickets"
ORDER_CREATED_DESC = " ORDER BY tickets.created_at DESC, tickets.id DESC LIMIT %(limit)s"

STATUSES = ("new", "open", "pending", "resolved", "closed")
PRIORITIES = ("low", "normal", "high", "urgent")
SUBJECT_MAX = 200
BODY_MAX = 20_000
SEARCH_DOCUMENT_MAX = 150_000
PREPARE_ONLY_WHEN_ASKED = 2**31  # psycopg prepare_threshold, as adapters/sql/engine.py
PAGE_DEFAULT = 25
PAGE_MAX = 100
_WORD = re.compile(r"[^\W_]+")


def search_text(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))
