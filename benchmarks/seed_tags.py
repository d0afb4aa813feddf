"""Tags for a seeded database (``benchmarks.seed``): three tags spread over the tickets as a
support team's are, for the staff list's ``tag`` filter and its query plans.

``common`` is on one ticket in five, ``vip`` on about one in thirty (a different pick, so the two
meet on some tickets), ``rare`` on one in 199; each ticket's ``tags`` column shows the
names its rows give it, as the tagging use case writes it. Set-based SQL, PostgreSQL only.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa

# The tags and which tickets carry them: a condition on the ticket's number, spread by a
# multiplicative hash so that the picks do not line up with the seed's other patterns.
SEEDED_TAGS = {
    "common": "(number * 2654435761) % 100 < 20",
    "vip": "(number * 40503) % 100 < 3",
    "rare": "number % 199 = 7",
}


def seed_tags(url: str) -> dict[str, uuid.UUID]:
    """Put the three tags on the tickets of the seeded database at ``url``; their ids."""
    from adapters.sql.engine import EngineOptions, create_engine

    now = datetime.now(UTC)
    ids = {name: uuid.uuid4() for name in SEEDED_TAGS}
    engine = create_engine(url, EngineOptions(statement_timeout=0))
    try:
        with engine.begin() as connection:
            for name, tag_id in ids.items():
                connection.execute(
                    sa.text(
                        "INSERT INTO tags (id, name, name_key, created_at, updated_at, version)"
                        " VALUES (:id, :name, :name, :now, :now, 1)"
                    ),
                    {"id": tag_id, "name": name, "now": now},
                )
                connection.execute(
                    sa.text(
                        "INSERT INTO ticket_tags (tag_id, ticket_id, created_at)"
                        f" SELECT :id, id, created_at FROM tickets WHERE {SEEDED_TAGS[name]}"
                    ),
                    {"id": tag_id},
                )
            connection.exec_driver_sql(
                "UPDATE tickets SET tags = names.tags FROM (SELECT tt.ticket_id,"
                ' jsonb_agg(t.name ORDER BY t.name_key COLLATE "C") AS tags FROM ticket_tags tt'
                " JOIN tags t ON t.id = tt.tag_id GROUP BY tt.ticket_id) AS names"
                " WHERE tickets.id = names.ticket_id"
            )
        with engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                "VACUUM ANALYZE ticket_tags, tags, tickets"
            )
    finally:
        engine.dispose()
    return ids
