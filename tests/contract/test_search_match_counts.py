"""PostgreSQL: a search text's match count is probed once per ``MatchCounts.TTL`` per engine.

Requirement (docs/performance.md, "the probe's count kept"): the count that chooses where a
search's plan starts (adapters/sql/tickets.py) is kept per text and engine for 30 seconds,
at most ``SIZE`` texts per engine; the choice between the plans is made at every search, and
both plans give the same rows (tests/contract/test_ticket_repositories.py, ``search_plan``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from adapters.sql import tickets as sql_tickets
from adapters.sql.engine import create_engine
from adapters.sql.tickets import MatchCounts, SqlTicketRepository
from helpdesk_core.ports.tickets import TicketQuery, TicketSort

pytestmark = pytest.mark.postgres


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(sql_tickets, "MATCH_COUNTS", MatchCounts(clock))
    return clock


@pytest.fixture
def engine(postgres_db_url: str) -> Iterator[sa.Engine]:
    engine = create_engine(postgres_db_url)
    yield engine
    engine.dispose()


def _probes(engine: sa.Engine) -> list[str]:
    """The probe statements ``engine`` sends from now on (a live list)."""
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "count(*)" in statement and "ticket_search" in statement:
            sent.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    return sent


def _search(engine: sa.Engine, text: str, **query: Any) -> None:
    with engine.connect() as connection:
        SqlTicketRepository(connection).list(TicketQuery(text=text, limit=20, **query))


@pytest.mark.usefixtures("clock")
def test_a_text_is_probed_once_while_its_count_is_kept(engine: sa.Engine) -> None:
    probes = _probes(engine)
    _search(engine, "printer")
    _search(engine, "PRINTER!")  # the same words
    _search(engine, "printer", sort=TicketSort.CREATED)
    assert len(probes) == 1
    _search(engine, "router")
    assert len(probes) == 2
    _search(engine, "printer router", sort=TicketSort.RELEVANCE)  # ranks every match: no probe
    assert len(probes) == 2


def test_a_count_is_probed_again_once_it_is_too_old(engine: sa.Engine, clock: Clock) -> None:
    probes = _probes(engine)
    _search(engine, "printer")
    clock.now += MatchCounts.TTL - 1
    _search(engine, "printer")
    assert len(probes) == 1
    clock.now += 1
    _search(engine, "printer")
    assert len(probes) == 2


@pytest.mark.usefixtures("clock")
def test_each_engine_probes_for_itself(engine: sa.Engine, postgres_db_url: str) -> None:
    other = create_engine(postgres_db_url)
    try:
        probes, other_probes = _probes(engine), _probes(other)
        _search(engine, "printer")
        _search(other, "printer")
        assert (len(probes), len(other_probes)) == (1, 1)
    finally:
        other.dispose()


def test_the_oldest_text_goes_first(engine: sa.Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    counts = MatchCounts(Clock())
    counts.SIZE = 2
    monkeypatch.setattr(sql_tickets, "MATCH_COUNTS", counts)
    probes = _probes(engine)
    for text in ("alpha", "beta", "gamma"):
        _search(engine, text)
    _search(engine, "gamma")
    _search(engine, "beta")
    assert len(probes) == 3
    _search(engine, "alpha")  # dropped for gamma
    assert len(probes) == 4
