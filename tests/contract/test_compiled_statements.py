"""A ``CompiledStatement`` (adapters/sql/compiled.py) runs as ``Connection.execute`` would.

Requirement (docs/performance.md, "statements sent on the driver's cursor"): on psycopg a
compiled statement gives the same rows (same values, same Python types after the column types'
processors), the same row counts, the same errors (wrapped, constraint names kept, a dead
connection invalidated) and the same ``before_cursor_execute`` events as the SQLAlchemy path;
on SQLite it is the SQLAlchemy path.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from adapters.sql.columns import UTCDateTime
from adapters.sql.compiled import CompiledStatement, any_of
from adapters.sql.engine import EngineOptions, create_engine
from tests.support.databases import backend_pid, terminate_backend


class Colour(enum.StrEnum):
    RED = "red"
    BLUE = "blue"


metadata = sa.MetaData()
things = sa.Table(
    "compiled_things",
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column("n", sa.BigInteger(), nullable=False),
    sa.Column("name", sa.String(50), sa.CheckConstraint("name <> ''", name="ck_name_not_empty")),
    sa.Column("colour", sa.Enum(Colour, name="compiled_colour"), nullable=False),
    sa.Column("at", UTCDateTime()),
    sa.Column("score", sa.Double()),
    sa.Column("flag", sa.Boolean(), nullable=False),
)
# An INSERT that needs a Python-side default: a CompiledStatement leaves it to SQLAlchemy.
defaults = sa.Table(
    "compiled_defaults",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("made", sa.String(20), nullable=False, default=lambda: "by-python"),
)

INSERT = CompiledStatement(sa.insert(things))
BY_ID = CompiledStatement(sa.select(things).where(things.c.id == sa.bindparam("id")))
IN_LIST = CompiledStatement(
    sa.select(things.c.id, things.c.n)
    .where(things.c.id.in_(sa.bindparam("ids", expanding=True)))
    .order_by(things.c.n)
)
RED = CompiledStatement(
    sa.select(things.c.n).where(things.c.colour == Colour.RED).order_by(things.c.n)
)
COUNT = CompiledStatement(sa.select(sa.func.count()).select_from(things))
RENAME = CompiledStatement(
    sa.update(things)
    .where(things.c.n >= sa.bindparam("from_n"))
    .values(name=sa.bindparam("new_name", type_=sa.String()))
)
SCORE_AS_LABEL = CompiledStatement(
    sa.select(
        (things.c.score * 2).label("double_score"), sa.cast(things.c.n, sa.Double()).label("nd")
    ).order_by(things.c.n)
)
# A bound name the compiler escapes: its processor still applies.
BY_COLOUR_ODD_NAME = CompiledStatement(
    sa.select(things.c.n)
    .where(things.c.colour == sa.bindparam("the colour (wanted)"))
    .order_by(things.c.n)
)
RENAME_RETURNING = CompiledStatement(  # a DML statement's own RETURNING rows read as a SELECT's
    sa.update(things)
    .where(things.c.n == sa.bindparam("at_n"))
    .values(name=sa.bindparam("new_name", type_=sa.String()))
    .returning(things.c.id, things.c.colour, things.c.at)
)
BY_ID_PREPARED = CompiledStatement(
    sa.select(things.c.n, things.c.colour).where(things.c.id == sa.bindparam("id")), prepare=True
)


def _n_by_ids(dialect: str) -> sa.Select[Any]:
    return sa.select(things.c.n).where(any_of(things.c.id, "ids", dialect)).order_by(things.c.n)


ANY_OF = CompiledStatement(_n_by_ids("sqlite"), postgresql=_n_by_ids("postgresql"), prepare=True)
INSERT_DEFAULTED = CompiledStatement(sa.insert(defaults))


def _copy_renamed() -> sa.Update:
    """A row inserted by a CTE and another row renamed after it, in one statement: the values
    are bound by the statement itself (``name`` and ``n`` also name columns of the UPDATE)."""
    values = {c.name: sa.bindparam(c.name, type_=c.type) for c in things.columns}
    new = sa.insert(things).values(values).returning(things.c.n).cte("new_thing")
    return (
        sa.update(things)
        .where(things.c.n == new.c.n - 1)
        .values(name=sa.bindparam("renamed", type_=sa.String()))
    )


INSERT_AND_RENAME = CompiledStatement(_copy_renamed(), values_per_call=False)
ALL_DEFAULTED = CompiledStatement(sa.select(defaults))

NOW = datetime(2026, 11, 26, 8, 30, tzinfo=UTC)
ROWS: list[dict[str, Any]] = [
    {
        "id": uuid.UUID(int=i + 1),
        "n": i,
        "name": None if i == 2 else f"thing {i}",
        "colour": Colour.RED if i % 2 == 0 else Colour.BLUE,
        "at": None if i == 1 else NOW + timedelta(minutes=i),
        "score": None if i == 3 else i / 4,
        "flag": i % 3 == 0,
    }
    for i in range(5)
]


def _engine_with_rows(url: str) -> Iterator[Engine]:
    made = create_engine(url, EngineOptions(pool_size=1))
    metadata.create_all(made)
    with made.begin() as connection:
        for row in ROWS:
            assert INSERT.execute(connection, row) == 1
    yield made
    made.dispose()


@pytest.fixture(
    params=[pytest.param("postgres", marks=pytest.mark.postgres), pytest.param("sqlite")]
)
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    url_fixture = "postgres_db_url" if request.param == "postgres" else "sqlite_url"
    yield from _engine_with_rows(request.getfixturevalue(url_fixture))


@pytest.fixture
def postgres_engine(postgres_db_url: str) -> Iterator[Engine]:
    """The rows on PostgreSQL, one pooled connection (nothing prepared on it yet)."""
    yield from _engine_with_rows(postgres_db_url)


def _plain(rows: Any) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in rows]


def test_rows_are_the_rows_sqlalchemy_gives(engine: Engine) -> None:
    cases: list[tuple[CompiledStatement, dict[str, Any]]] = [
        (BY_ID, {"id": ROWS[1]["id"]}),
        (IN_LIST, {"ids": [ROWS[4]["id"], ROWS[0]["id"]]}),
        (RED, {}),
        (COUNT, {}),
        (SCORE_AS_LABEL, {}),
    ]
    with engine.connect() as connection:
        for compiled, params in cases:
            wanted = connection.execute(compiled.statement, params).all()
            got = compiled.all(connection, params)
            assert _plain(got) == _plain(wanted)
            assert [[type(v) for v in row] for row in got] == [
                [type(v) for v in row] for row in wanted
            ]
        row = BY_ID.first(connection, {"id": ROWS[0]["id"]})
        assert row is not None
        assert row.colour is Colour.RED  # the enum's processor ran
        assert row.at == NOW  # UTCDateTime's processor ran: an aware datetime
        assert row.at.tzinfo is not None
        assert (row.id, row.n, row.name, row.score, row.flag) == (
            ROWS[0]["id"],
            0,
            "thing 0",
            0.0,
            True,
        )
        assert row[1] == 0  # read by position too


def test_a_bound_name_with_odd_characters_keeps_its_processor(engine: Engine) -> None:
    with engine.connect() as connection:
        blue = BY_COLOUR_ODD_NAME.all(connection, {"the colour (wanted)": Colour.BLUE})
        assert [row.n for row in blue] == [1, 3]  # stored by name: the enum's processor ran


def test_first_scalar_and_nothing_found(engine: Engine) -> None:
    with engine.connect() as connection:
        assert BY_ID.first(connection, {"id": uuid.uuid4()}) is None
        assert BY_ID.scalar(connection, {"id": uuid.uuid4()}) is None
        assert COUNT.scalar(connection) == len(ROWS)
        assert IN_LIST.all(connection, {"ids": []}) == []  # an empty IN list matches nothing
        many = IN_LIST.all(connection, {"ids": [row["id"] for row in ROWS]})
        assert [row.n for row in many] == [0, 1, 2, 3, 4]


def test_dml_counts_the_rows_it_matched_and_the_transaction_holds(engine: Engine) -> None:
    with engine.connect() as connection:
        connection.begin()
        assert RENAME.execute(connection, {"from_n": 3, "new_name": "renamed"}) == 2
        assert RENAME.execute(connection, {"from_n": 99, "new_name": "nobody"}) == 0
        connection.rollback()  # the compiled statements ran inside SQLAlchemy's transaction
        assert [r.name for r in BY_ID.all(connection, {"id": ROWS[3]["id"]})] == ["thing 3"]
        connection.rollback()
        connection.begin()
        RENAME.execute(connection, {"from_n": 3, "new_name": "renamed"})
        connection.commit()
    with engine.connect() as connection:
        names = connection.execute(sa.select(things.c.name).order_by(things.c.n)).scalars().all()
        assert names[3:] == ["renamed", "renamed"]


def test_dml_returning_gives_its_rows_through_the_columns_processors(engine: Engine) -> None:
    with engine.connect() as connection:
        connection.begin()
        row = RENAME_RETURNING.first(connection, {"at_n": 4, "new_name": "four"})
        assert row is not None
        assert (row.id, row.colour, row.at) == (ROWS[4]["id"], Colour.RED, ROWS[4]["at"])
        assert row.at.tzinfo is not None  # UTCDateTime's processor ran
        assert RENAME_RETURNING.first(connection, {"at_n": 99, "new_name": "x"}) is None
        connection.commit()
        assert [r.name for r in BY_ID.all(connection, {"id": ROWS[4]["id"]})] == ["four"]


def test_python_side_defaults_are_left_to_sqlalchemy(engine: Engine) -> None:
    with engine.begin() as connection:
        INSERT_DEFAULTED.execute(connection, {"id": 1})  # SQLAlchemy computes the default
        assert _plain(ALL_DEFAULTED.all(connection)) == [(1, "by-python")]


def test_a_broken_constraint_is_the_error_sqlalchemy_raises(engine: Engine) -> None:
    with engine.connect() as connection:
        connection.begin()
        with pytest.raises(sa.exc.IntegrityError) as duplicate:
            INSERT.execute(connection, ROWS[0])
        connection.rollback()
        connection.begin()
        with pytest.raises(sa.exc.IntegrityError) as empty:
            INSERT.execute(connection, {**ROWS[0], "id": uuid.uuid4(), "name": ""})
        connection.rollback()
    if engine.dialect.name == "postgresql":  # the names the repositories explain refusals by
        assert duplicate.value.orig.diag.constraint_name == "compiled_things_pkey"  # type: ignore[union-attr]
        assert empty.value.orig.diag.constraint_name == "ck_name_not_empty"  # type: ignore[union-attr]


def test_statements_reach_the_cursor_events(engine: Engine) -> None:
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        with engine.connect() as connection:
            BY_ID.first(connection, {"id": ROWS[0]["id"]})
            IN_LIST.all(connection, {"ids": [ROWS[0]["id"], ROWS[1]["id"]]})
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert any("compiled_things.id = " in s for s in seen)
    assert any(" IN (" in s for s in seen)  # the expanded list, as SQLAlchemy renders it


@pytest.mark.postgres
def test_a_dead_connection_is_invalidated_as_sqlalchemy_would(postgres_db_url: str) -> None:
    engine = create_engine(postgres_db_url, EngineOptions(pool_size=1, ping_after_idle=3600.0))
    try:
        metadata.create_all(engine)
        with engine.connect() as connection:  # the connection keeps its cursors
            assert COUNT.scalar(connection) == 0
            assert BY_ID_PREPARED.first(connection, {"id": uuid.uuid4()}) is None
        terminate_backend(postgres_db_url, backend_pid(engine))
        with engine.connect() as connection, pytest.raises(sa.exc.OperationalError) as failed:
            COUNT.scalar(connection)
        assert failed.value.connection_invalidated
        with engine.connect() as connection:  # the pool was renewed: the next one works,
            assert COUNT.scalar(connection) == 0  # on cursors of the new connection
            assert BY_ID_PREPARED.first(connection, {"id": uuid.uuid4()}) is None
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_psycopg_takes_the_cursor_path(postgres_db_url: str) -> None:
    """The test above would pass on the SQLAlchemy path too: this one shows the cursor path is
    the one taken on psycopg (no execution context, so no result metadata is built)."""
    engine = create_engine(postgres_db_url, EngineOptions(pool_size=1))
    contexts: list[Any] = []

    def record(
        _conn: Any, _cursor: Any, _statement: str, _params: Any, context: Any, _m: Any
    ) -> None:
        contexts.append(context)

    try:
        metadata.create_all(engine)
        sa.event.listen(engine, "before_cursor_execute", record)
        with engine.connect() as connection:
            COUNT.scalar(connection)
            connection.execute(COUNT.statement).scalar()
        assert contexts[0] is None  # CompiledStatement: no execution context
        assert contexts[1] is not None  # Connection.execute
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_only_a_statement_built_to_prepare_is_prepared(postgres_engine: Engine) -> None:
    """The engine turns psycopg's automatic preparing off: a statement planned once for all
    values is asked for (``prepare=True``), never the default (a search's plan depends on its
    words). The prepared one gives the same rows and, after its first runs, a generic plan."""
    with postgres_engine.connect() as connection:
        for _ in range(8):  # beyond psycopg's default threshold (5) for the others
            for row in ROWS[:2]:
                got = BY_ID_PREPARED.all(connection, {"id": row["id"]})
                wanted = connection.execute(BY_ID_PREPARED.statement, {"id": row["id"]})
                assert _plain(got) == [(row["n"], row["colour"])] == _plain(wanted.all())
            RED.all(connection)
            IN_LIST.all(connection, {"ids": [ROWS[0]["id"]]})
            connection.execute(COUNT.statement).scalar()
        prepared = connection.exec_driver_sql(
            "SELECT statement, generic_plans FROM pg_prepared_statements"
        ).all()
    assert len(prepared) == 1, prepared
    assert prepared[0].statement.startswith("SELECT compiled_things.n, compiled_things.colour ")
    assert prepared[0].generic_plans >= 1


def test_a_list_bound_with_any_of_finds_the_same_rows_at_every_length(engine: Engine) -> None:
    """``any_of`` on PostgreSQL is ``= ANY(array)`` (``CompiledStatement(..., postgresql=...)``
    runs that form), elsewhere an ``IN``: the same rows for no, one and several ids, an unknown
    one too, through ``CompiledStatement`` and through ``Connection.execute`` of the portable
    statement."""
    ids = [row["id"] for row in ROWS]
    with engine.connect() as connection:
        for wanted in ([], [ids[3]], [ids[4], ids[0], uuid.uuid4()], ids):
            expected = sorted(row["n"] for row in ROWS if row["id"] in wanted)
            assert [row.n for row in ANY_OF.all(connection, {"ids": wanted})] == expected
            portable = connection.execute(ANY_OF.statement, {"ids": wanted}).scalars().all()
            assert list(portable) == expected


@pytest.mark.postgres
def test_a_list_bound_with_any_of_is_one_prepared_statement(postgres_engine: Engine) -> None:
    """The PostgreSQL form binds the list as one array: lists of four lengths share one
    prepared statement (an expanding IN is a statement per length)."""
    ids = [row["id"] for row in ROWS]
    with postgres_engine.connect() as connection:
        for length in (1, 2, 3, 5):
            got = ANY_OF.all(connection, {"ids": ids[:length]})
            assert [row.n for row in got] == list(range(length))
        prepared = (
            connection.exec_driver_sql("SELECT statement FROM pg_prepared_statements")
            .scalars()
            .all()
        )
    assert len(prepared) == 1, prepared
    assert "= ANY (" in prepared[0]


@pytest.mark.postgres
def test_a_statement_that_binds_its_own_values_compiles_once(postgres_engine: Engine) -> None:
    """``values_per_call=False``: the values named like the outer statement's columns stay the
    inner INSERT's (per set of names, SQLAlchemy would set them in the UPDATE)."""
    row = {**ROWS[0], "id": uuid.uuid4(), "n": 5, "name": "fifth"}
    with postgres_engine.begin() as connection:
        assert INSERT_AND_RENAME.execute(connection, {**row, "renamed": "before fifth"}) == 1
        got = connection.execute(sa.select(things.c.n, things.c.name).where(things.c.n >= 4))
        assert sorted(got.all()) == [(4, "before fifth"), (5, "fifth")]


@pytest.mark.postgres
def test_a_connection_reuses_its_two_cursors(postgres_engine: Engine) -> None:
    """A pooled connection keeps one plain and one preparing cursor for its compiled statements,
    across checkouts; a failed statement (SQLAlchemy closes its cursor) costs a new pair, and
    the statements after it answer as before."""
    cursors: list[Any] = []

    def record(_conn: Any, cursor: Any, *_: Any) -> None:
        cursors.append(cursor)

    sa.event.listen(postgres_engine, "before_cursor_execute", record)
    try:
        for _ in range(2):  # two checkouts of the one pooled connection
            with postgres_engine.connect() as connection:
                assert BY_ID_PREPARED.first(connection, {"id": ROWS[1]["id"]}).n == 1
                assert COUNT.scalar(connection) == len(ROWS)
                assert _plain(RED.all(connection)) == [(0,), (2,), (4,)]
        assert len({id(c) for c in cursors}) == 2
        assert cursors[0] is cursors[3]
        assert cursors[1] is cursors[2] is cursors[4]
        with postgres_engine.connect() as connection:
            connection.begin()
            with pytest.raises(sa.exc.IntegrityError):
                INSERT.execute(connection, ROWS[0])
            connection.rollback()
            assert COUNT.scalar(connection) == len(ROWS)
            assert BY_ID_PREPARED.first(connection, {"id": ROWS[2]["id"]}).n == 2
        assert cursors[-1] is not cursors[0]
        assert cursors[-2] not in cursors[:6]
    finally:
        sa.event.remove(postgres_engine, "before_cursor_execute", record)
