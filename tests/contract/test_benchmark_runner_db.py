"""The benchmark runner's own statements on PostgreSQL (the rest of it is wrk and gunicorn)."""

from __future__ import annotations

import psycopg
import pytest

from benchmarks.run import analyze_if_autovacuum_is_off, libpq
from tests.support.databases import PostgresDatabases

pytestmark = pytest.mark.postgres


def test_the_runner_analyzes_after_writes_only_where_autovacuum_would_not(
    postgres_databases: PostgresDatabases,
) -> None:
    url = libpq(postgres_databases.fresh(migrated=False))
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("CREATE TABLE written (n int)")
        connection.execute("INSERT INTO written SELECT generate_series(1, 1000)")
        row = connection.execute("SHOW autovacuum").fetchone()
        assert row is not None
        autovacuum = row[0]

    ran = analyze_if_autovacuum_is_off(url)

    with psycopg.connect(url, autocommit=True) as connection:
        stats = connection.execute(
            "SELECT reltuples FROM pg_class WHERE relname = 'written'"
        ).fetchone()
    assert ran is (autovacuum == "off")
    assert stats is not None
    if ran:  # the planner now knows the table's rows; never analyzed, it would say -1
        assert stats[0] == 1000
