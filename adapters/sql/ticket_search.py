"""Text search over the tickets: where the dialects index it, and how many documents match.

Text search reads ``ticket_search``: one document per ticket, the words of its subject,
description and messages, lower-cased and separated by single spaces (the rules are the core's,
``helpdesk_core.domain.search``). The repositories keep it; the dialect indexes it (migration
0002): PostgreSQL matches a generated tsvector ('simple' configuration, GIN index) and ranks
with ts_rank, SQLite matches a contentless FTS5 table (rowid = ticket number) and ranks with
bm25. Because the document holds only those words, both engines (and the memory store) split it
into the same words.

On PostgreSQL a search first counts its matches, up to ``FEW_MATCHES + 1`` (``MatchCounts``):
with few, the list starts from the full-text index (``adapters.sql.ticket_lists``).
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from adapters.sql.compiled import CompiledStatement
from helpdesk_core.domain.search import search_words

# PostgreSQL: a text search with at most this many matches starts from the GIN index; with
# more, the planner may walk an order's index instead (it soon finds a page of matches).
FEW_MATCHES = 1000

# Where the dialects keep their full-text index (made by the migration, outside the metadata).
_PG_SEARCH = sa.table("ticket_search", sa.column("ticket_id", sa.Uuid()), sa.column("document_tsv"))
_SQLITE_SEARCH = sa.table("ticket_search_fts", sa.column("rowid", sa.BigInteger()))
_SQLITE_SEARCH_NAME: sa.ColumnClause[Any] = sa.literal_column("ticket_search_fts")


def _pg_tsquery() -> sa.ColumnElement[Any]:
    return sa.func.plainto_tsquery(
        sa.literal_column("'simple'::regconfig"), sa.bindparam("q", type_=sa.String())
    )


_PROBE = sa.select(sa.func.count()).select_from(
    sa.select(sa.literal(1))
    .where(_PG_SEARCH.c.document_tsv.op("@@")(_pg_tsquery()))
    .limit(FEW_MATCHES + 1)
    .subquery("found")
)
_COMPILED_PROBE = CompiledStatement(_PROBE)


def search_probe_query(text: str) -> tuple[sa.Select[Any], dict[str, Any]]:
    """PostgreSQL: how many tickets match ``text``, counted up to ``FEW_MATCHES + 1``; the
    statement and its values."""
    return _PROBE, {"q": " ".join(search_words(text))}


class MatchCounts:
    """The probe's counts (up to ``FEW_MATCHES + 1``) by search text, per engine, kept for
    ``TTL`` seconds: a text searched again meanwhile costs no probe.

    The count only chooses where the plan starts; both plans give the same rows, so a count
    that moved meanwhile costs time, never a wrong answer. The probe of a common word is not
    cheap: it reads matches until it has counted ``FEW_MATCHES + 1``, many times the work of a
    rare word's (docs/performance.md, "Measurements behind the code"). The decision itself
    (``count <= FEW_MATCHES``) is made at each search.
    """

    TTL = 30.0
    SIZE = 4096  # texts per engine; the oldest goes first

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._by_engine: weakref.WeakKeyDictionary[sa.Engine, OrderedDict[str, tuple[int, float]]]
        self._by_engine = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def count(self, connection: sa.Connection, text: str) -> int:
        """How many documents match ``text``, up to ``FEW_MATCHES + 1``: kept, or probed."""
        engine, now = connection.engine, self.clock()
        with self._lock:
            counts = self._by_engine.get(engine)
            kept = counts.get(text) if counts is not None else None
        if kept is not None and kept[1] > now:
            return kept[0]
        _probe, probe_params = search_probe_query(text)
        count = int(_COMPILED_PROBE.scalar(connection, probe_params))
        with self._lock:
            counts = self._by_engine.setdefault(engine, OrderedDict())
            counts.pop(text, None)
            counts[text] = (count, now + self.TTL)
            while len(counts) > self.SIZE:
                counts.popitem(last=False)
        return count


MATCH_COUNTS = MatchCounts()


# PostgreSQL: the ids of the tickets whose document matches, as an array built before the
# tickets are read (an InitPlan, which the planner cannot turn into a join).
PG_MATCH_IDS = sa.func.array(
    sa.select(_PG_SEARCH.c.ticket_id)
    .where(_PG_SEARCH.c.document_tsv.op("@@")(_pg_tsquery()))
    .scalar_subquery()
)


def search_matches(dialect: str, ranked: bool) -> sa.FromClause:
    """(key, cost) of the matching tickets, the key alone unless ``ranked`` (the relevance
    order; other orders need no rank, and ranking reads every match's whole document): the
    ticket_id on PostgreSQL, the number on SQLite."""
    if dialect == "postgresql":
        tsquery = _pg_tsquery()
        columns: list[sa.ColumnElement[Any]] = [_PG_SEARCH.c.ticket_id.label("key")]
        if ranked:
            # ts_rank is a real; as a double it compares exactly with the cursor's float.
            cost: sa.ColumnElement[float] = sa.cast(
                -sa.func.ts_rank(_PG_SEARCH.c.document_tsv, tsquery, 1), sa.Double()
            )
            columns.append(cost.label("cost"))
        matches = sa.select(*columns).where(_PG_SEARCH.c.document_tsv.op("@@")(tsquery))
        return matches.subquery("matches")
    sqlite_columns: list[sa.ColumnElement[Any]] = [_SQLITE_SEARCH.c.rowid.label("key")]
    if ranked:
        sqlite_columns.append(sa.cast(sa.func.bm25(_SQLITE_SEARCH_NAME), sa.Double()).label("cost"))
    return (
        sa.select(*sqlite_columns)
        .where(_SQLITE_SEARCH_NAME.op("MATCH")(sa.bindparam("q", type_=sa.String())))
        .subquery("matches")
    )
