"""The migrations build exactly the schema of ``adapters.sql.tables``, both ways, on both dialects.

SQLite runs always (a file in tmp_path). PostgreSQL runs when HELPDESK_TEST_DATABASE_URL names a
server (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres): each test gets its own empty
``hd_mig_*`` database, dropped afterwards.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from pprint import pformat
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import make_url

from adapters.sql import migrate
from adapters.sql.engine import create_engine as create_service_engine
from adapters.sql.tables import SEARCH_INDEX_OBJECTS, include_name, metadata
from tests.support.services import postgres_url

REPO_ROOT = Path(__file__).resolve().parents[2]
AUTH_TABLES = {"password_reset_tokens", "sessions", "rate_limit_events"}
EVENT_TABLES = {"outbox", "webhooks", "webhook_deliveries", "webhook_attempts"}
CALENDAR_TABLES = {"sla_calendars", "sla_calendar_intervals", "sla_calendar_holidays"}
SLA_TABLES = {"sla_policies", "sla_clocks"}
MAIL_TABLES = {
    "mailboxes",
    "inbound_emails",
    "mail_message_ids",
    "mail_bounces",
    "ticket_participants",
    "mailbox_imap",
}
PRODUCTIVITY_TABLES = {"tags", "ticket_tags", "ticket_followers", "canned_responses"}
PRODUCTIVITY_TABLES |= {"macros", "request_answers"}
PRODUCTIVITY_CHANGED = {"tickets", "staff_members", "ticket_history"}

# The full-text index of ticket_search, made by 0002_tickets per dialect and described by no
# MetaData (a tsvector does not compile on SQLite; FTS5 is a virtual table with shadow tables).
# Exactly these objects are left out of the comparisons; everything else is compared.
SEARCH_INDEX = {
    "postgresql": {
        ("column", "ticket_search.document_tsv"),
        ("index", "ix_ticket_search_document_tsv"),
        ("index", "ix_tickets_tags"),  # not the search index: the GIN index of tickets.tags
    },
    "sqlite": {
        ("table", "ticket_search_fts"),
        ("table", "ticket_search_fts_config"),
        ("table", "ticket_search_fts_data"),
        ("table", "ticket_search_fts_docsize"),
        ("table", "ticket_search_fts_idx"),
    },
}
SQLITE_SEARCH_TABLES = {name for _, name in SEARCH_INDEX["sqlite"]}
SQLITE_SEARCH_TRIGGERS = {
    "ticket_search_fts_insert",
    "ticket_search_fts_update",
    "ticket_search_fts_delete",
}


def test_the_comparisons_leave_out_exactly_the_search_index() -> None:
    """``migrate.check`` and env.py filter with ``adapters.sql.tables.include_name``."""
    assert set(SEARCH_INDEX_OBJECTS) == SEARCH_INDEX["postgresql"] | SEARCH_INDEX["sqlite"]
    for type_, name in SEARCH_INDEX_OBJECTS:
        table, _, column = name.partition(".")
        if column:
            assert not include_name(column, type_, {"table_name": table})
            assert include_name(column, type_, {"table_name": "tickets"})
        else:
            assert not include_name(name, type_, {})
    for type_, name in [("table", "ticket_search"), ("column", "document"), ("index", "ix_x")]:
        assert include_name(name, type_, {"table_name": "ticket_search"})


# ---------------------------------------------------------------- databases


@pytest.fixture
def sqlite_empty_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'migrations.db'}"


@pytest.fixture
def postgres_empty_url() -> Iterator[str]:
    server = make_url(postgres_url())  # skips (or fails in CI) without the variable
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    name = f"hd_mig_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def empty_url(request: pytest.FixtureRequest) -> str:
    """The URL of an empty database, never migrated."""
    fixture = "sqlite_empty_url" if request.param == "sqlite" else "postgres_empty_url"
    return str(request.getfixturevalue(fixture))


def _table_names(url: str) -> set[str]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


# ---------------------------------------------------------------- (a) head == metadata


def test_head_matches_the_metadata(empty_url: str) -> None:
    migrate.upgrade(empty_url)

    assert migrate.current(empty_url) == migrate.head() == "0012_productivity"
    diff = migrate.check(empty_url)
    assert diff == [], "migrated schema differs from adapters.sql.tables:\n" + pformat(diff)


_CHECK_IN_DDL = re.compile(r"CONSTRAINT (\w+) CHECK \((.*)\),?$")


def _metadata_checks(table: sa.Table, dialect: sa.Dialect) -> dict[str, str]:
    ddl = str(sa.schema.CreateTable(table).compile(dialect=dialect))
    found = (_CHECK_IN_DDL.search(line.strip()) for line in ddl.splitlines())
    return {m[1]: m[2] for m in found if m}


def _normalize_predicate(text: str) -> str:
    # PostgreSQL gives "(a IS NULL) AND (b IS NULL)" for "a IS NULL AND b IS NULL".
    return re.sub(r"[()]", "", re.sub(r"\s+", " ", str(text))).strip()


def test_head_matches_what_autogenerate_cannot_compare(empty_url: str) -> None:
    """CHECK constraints, foreign key actions and partial indexes (compare_metadata skips them)."""
    migrate.upgrade(empty_url)
    engine = sa.create_engine(empty_url, poolclass=sa.pool.NullPool)
    try:
        inspector = sa.inspect(engine)
        problems: list[str] = []
        for table in metadata.sorted_tables:
            # CHECKs: same names on both dialects; same text where it is stored verbatim.
            expected = _metadata_checks(table, engine.dialect)
            reflected = {
                c["name"]: c["sqltext"] for c in inspector.get_check_constraints(table.name)
            }
            if set(reflected) != set(expected):
                problems.append(f"{table.name} checks: {sorted(reflected)} != {sorted(expected)}")
            elif engine.dialect.name == "sqlite":
                for name, text in expected.items():
                    if _normalize_predicate(reflected[name]) != _normalize_predicate(text):
                        problems.append(f"{name}: {reflected[name]!r} != {text!r}")

            want_fks = {
                (
                    fk.name,
                    tuple(fk.column_keys),
                    fk.referred_table.name,
                    tuple(e.column.name for e in fk.elements),
                    (fk.ondelete or "").upper(),
                )
                for fk in table.foreign_key_constraints
            }
            have_fks = {
                (
                    fk["name"],
                    tuple(fk["constrained_columns"]),
                    fk["referred_table"],
                    tuple(fk["referred_columns"]),
                    (fk.get("options", {}).get("ondelete") or "").upper(),
                )
                for fk in inspector.get_foreign_keys(table.name)
            }
            if want_fks != have_fks:
                problems.append(f"{table.name} foreign keys: {have_fks ^ want_fks}")

            where = f"{engine.dialect.name}_where"
            want_partial = {
                (ix.name, _normalize_predicate(ix.dialect_options[engine.dialect.name]["where"]))
                for ix in table.indexes
                if ix.dialect_options[engine.dialect.name].get("where") is not None
            }
            have_partial = {
                (ix["name"], _normalize_predicate(ix["dialect_options"][where]))
                for ix in inspector.get_indexes(table.name)
                if ix.get("dialect_options", {}).get(where) is not None
                and include_name(ix["name"], "index", {"table_name": table.name})
            }
            if want_partial != have_partial:
                problems.append(f"{table.name} partial indexes: {have_partial} != {want_partial}")
    finally:
        engine.dispose()
    assert problems == [], "\n".join(problems)


# ---------------------------------------------------------------- (b) head -> base -> head


def _search_index_objects(url: str) -> set[str]:
    """The full-text index objects (and the ticket number sequence) the database has."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    sql = (
        "SELECT name FROM sqlite_master WHERE name LIKE 'ticket_search_fts%'"
        if engine.dialect.name == "sqlite"
        else "SELECT 'ticket_search.' || attname FROM pg_attribute"
        " WHERE attrelid = to_regclass('ticket_search') AND attname = 'document_tsv'"
        " AND NOT attisdropped UNION ALL SELECT relname FROM pg_class"
        " WHERE relname IN ('ix_ticket_search_document_tsv', 'ix_tickets_tags',"
        " 'ticket_number_seq')"
    )
    try:
        with engine.connect() as connection:
            return set(connection.exec_driver_sql(sql).scalars())
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade_round_trip(empty_url: str) -> None:
    sqlite = empty_url.startswith("sqlite")
    search_tables = SQLITE_SEARCH_TABLES if sqlite else set()
    search_objects = (
        SQLITE_SEARCH_TABLES | SQLITE_SEARCH_TRIGGERS
        if sqlite
        else {
            "ticket_search.document_tsv",
            "ix_ticket_search_document_tsv",
            "ix_tickets_tags",
            "ticket_number_seq",
        }
    )
    migrate.upgrade(empty_url)
    assert _table_names(empty_url) == set(metadata.tables) | {"alembic_version"} | search_tables
    assert _search_index_objects(empty_url) == search_objects

    migrate.downgrade(empty_url, "base")
    assert _table_names(empty_url) == {"alembic_version"}
    assert _search_index_objects(empty_url) == set()
    assert migrate.current(empty_url) is None

    migrate.upgrade(empty_url)
    assert migrate.current(empty_url) == migrate.head()
    assert _search_index_objects(empty_url) == search_objects
    diff = migrate.check(empty_url)
    assert diff == [], pformat(diff)


# ------------------------------------------ (c) downgrade of 0003, 0004, 0009, 0010, 0011, 0012


def _diff_tables(diff: list[Any]) -> set[str]:
    """Names of the tables a compare_metadata diff touches."""
    names: set[str] = set()
    for entry in diff:
        for op in entry if isinstance(entry, list) else [entry]:
            if op[0] in {"add_column", "remove_column"}:  # (kind, schema, table name, column)
                names.add(op[2])
                continue
            obj = op[1]
            table = obj if isinstance(obj, sa.Table) else getattr(obj, "table", None)
            names.add(table.name if table is not None else repr(op))
    return names


@pytest.mark.parametrize(
    ("revision", "previous", "tables", "changed"),
    [
        ("0003_auth_tokens", "0002_tickets", AUTH_TABLES, set()),
        ("0004_events_webhooks", "0003_auth_tokens", EVENT_TABLES, set()),
        ("0009_sla_calendars", "0008_embedding", CALENDAR_TABLES, set()),
        # 0010 also adds columns and indexes to tickets: its downgrade takes them away.
        ("0010_sla_policies", "0009_sla_calendars", SLA_TABLES, {"tickets"}),
        # 0011 adds a column to tickets and attachment_references, two to ticket_messages.
        (
            "0011_email",
            "0010_sla_policies",
            MAIL_TABLES,
            {"tickets", "ticket_messages", "attachment_references"},
        ),
        # 0012 adds a column to tickets, staff_members and ticket_history.
        ("0012_productivity", "0011_email", PRODUCTIVITY_TABLES, PRODUCTIVITY_CHANGED),
    ],
)
def test_downgrading_one_revision_removes_only_its_tables(
    empty_url: str, revision: str, previous: str, tables: set[str], changed: set[str]
) -> None:
    migrate.upgrade(empty_url, revision)
    before = _table_names(empty_url)
    # What revisions after this one make or change: their tables, and tables they add to
    # (0006 adds an index to tickets).
    missing_later = (set(metadata.tables) - before) | _diff_tables(migrate.check(empty_url))

    migrate.downgrade(empty_url, previous)

    assert migrate.current(empty_url) == previous
    assert before - _table_names(empty_url) == tables
    # Everything else is still exactly as the metadata describes it.
    diff = migrate.check(empty_url)
    assert _diff_tables(diff) == tables | changed | missing_later, pformat(diff)

    migrate.upgrade(empty_url)
    assert migrate.check(empty_url) == []


# ---------------------------------------------------------------- (d) data survives (SQLite)

EngineFactory = Callable[[str], sa.Engine]
ENGINES = {
    # What a caller might pass: a bare engine (pysqlite defaults, foreign keys off) ...
    "plain": lambda url: sa.create_engine(url),
    # ... and the service's engine: foreign_keys=ON on connect, BEGIN IMMEDIATE on begin.
    "service": lambda url: create_service_engine(url),
}


def _seed(engine: sa.Engine) -> dict[str, int]:
    t = metadata.tables
    now = datetime.now(UTC)
    user, staff, department, team, ticket = (uuid.uuid4() for _ in range(5))
    stamps = {"created_at": now, "updated_at": now}
    with engine.begin() as connection:
        connection.execute(
            t["users"].insert(),
            [
                {
                    "id": user,
                    "email": "ann@example.com",
                    "display_name": "Ann",
                    "password_hash": "x",
                    **stamps,
                },
                {
                    "id": staff,
                    "email": "bob@example.com",
                    "display_name": "Bob",
                    "password_hash": "x",
                    **stamps,
                },
            ],
        )
        connection.execute(
            t["departments"].insert(),
            {"id": department, "name": "Support", "name_key": "support", **stamps},
        )
        connection.execute(
            t["teams"].insert(),
            {"id": team, "department_id": department, "name": "L1", "name_key": "l1", **stamps},
        )
        connection.execute(
            t["staff_members"].insert(),
            {
                "user_id": staff,
                "role": "agent",
                "department_id": department,
                "team_id": team,
                **stamps,
            },
        )
        connection.execute(
            t["tickets"].insert(),
            {
                "id": ticket,
                "number": 1,
                "subject": "Printer",
                "description": "On fire",
                "status": "open",
                "priority": "high",
                "requester_id": user,
                "department_id": department,
                "team_id": team,
                "assignee_id": staff,
                **stamps,
            },
        )
        connection.execute(
            t["ticket_messages"].insert(),
            {
                "id": uuid.uuid4(),
                "ticket_id": ticket,
                "author_id": staff,
                "body": "Water?",
                "visibility": "public",
                "created_at": now,
            },
        )
    return _counts(engine)


def _counts(engine: sa.Engine) -> dict[str, int]:
    names = ["users", "departments", "teams", "staff_members", "tickets", "ticket_messages"]
    with engine.connect() as connection:
        return {
            name: connection.execute(
                sa.select(sa.func.count()).select_from(metadata.tables[name])
            ).scalar_one()
            for name in names
        }


def _foreign_keys_pragma(engine: sa.Engine) -> int:
    with engine.connect() as connection:
        dbapi = connection.connection.dbapi_connection
        assert dbapi is not None
        return int(dbapi.execute("PRAGMA foreign_keys").fetchone()[0])


@contextmanager
def _foreign_keys_at_drop_table(engine: sa.Engine) -> Iterator[list[int]]:
    """PRAGMA foreign_keys as it is when each DROP TABLE runs (what makes SQLite cascade)."""
    seen: list[int] = []

    def before(connection: sa.Connection, cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("DROP TABLE"):
            dbapi = connection.connection.dbapi_connection
            assert dbapi is not None
            seen.append(int(dbapi.execute("PRAGMA foreign_keys").fetchone()[0]))

    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)


@pytest.mark.parametrize("engine_kind", sorted(ENGINES))
def test_sqlite_rows_survive_a_downgrade_and_upgrade(
    sqlite_empty_url: str, engine_kind: str
) -> None:
    engine = ENGINES[engine_kind](sqlite_empty_url)
    try:
        fk_setting = _foreign_keys_pragma(engine)
        migrate.upgrade(engine)
        seeded = _seed(engine)
        assert seeded == {
            "users": 2,
            "departments": 1,
            "teams": 1,
            "staff_members": 1,
            "tickets": 1,
            "ticket_messages": 1,
        }

        with _foreign_keys_at_drop_table(engine) as seen:
            migrate.downgrade(engine, "0002_tickets")
            migrate.upgrade(engine)

        assert seen, "the downgrade dropped no table"
        assert set(seen) == {0}, "DROP TABLE ran with foreign keys on"
        assert _counts(engine) == seeded
        assert migrate.check(engine) == []
        # The pooled connection got its foreign key setting back.
        assert _foreign_keys_pragma(engine) == fk_setting
    finally:
        engine.dispose()


def _recreate_users(connection: sa.Connection) -> None:
    """What a future batch migration of the parent table ``users`` does on SQLite."""
    operations = Operations(MigrationContext.configure(connection))
    with operations.batch_alter_table("users", recreate="always"):
        pass


def test_sqlite_batch_recreating_a_parent_keeps_its_children(sqlite_empty_url: str) -> None:
    engine = create_service_engine(sqlite_empty_url)  # foreign_keys=ON, BEGIN IMMEDIATE
    try:
        migrate.upgrade(engine)
        seeded = _seed(engine)

        with (
            engine.connect() as connection,
            migrate.sqlite_foreign_keys_off(connection),
            connection.begin(),
        ):
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 0
            _recreate_users(connection)
            migrate.check_sqlite_foreign_keys(connection)

        assert _counts(engine) == seeded
        assert migrate.check(engine) == []
        assert _foreign_keys_pragma(engine) == 1
    finally:
        engine.dispose()


def test_sqlite_batch_recreate_with_foreign_keys_on_is_the_hazard(sqlite_empty_url: str) -> None:
    """The control for the test above: without the guard, children are lost or the DROP fails."""
    engine = create_service_engine(sqlite_empty_url)
    try:
        migrate.upgrade(engine)
        seeded = _seed(engine)
        try:
            with engine.begin() as connection:
                _recreate_users(connection)
        except sa.exc.IntegrityError:
            return  # RESTRICT children (tickets) refused the implicit DELETE FROM users
        assert _counts(engine)["staff_members"] < seeded["staff_members"]
    finally:
        engine.dispose()


def test_foreign_keys_cannot_be_turned_off_inside_a_transaction(sqlite_empty_url: str) -> None:
    engine = create_service_engine(sqlite_empty_url)
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")  # autobegins: BEGIN IMMEDIATE
            with (
                pytest.raises(migrate.MigrationError, match="inside a transaction"),
                migrate.sqlite_foreign_keys_off(connection),
            ):
                pass
    finally:
        engine.dispose()


# ---------------------------------------------------------------- configuration


def test_config_works_from_any_directory(
    sqlite_empty_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no pyproject.toml, no migrations/ here
    config = migrate.alembic_config(url=sqlite_empty_url)
    assert Path(config.get_main_option("script_location") or "") == migrate.MIGRATIONS_DIR

    command.upgrade(config, "head")  # env.py takes the URL from config.attributes

    assert migrate.current(sqlite_empty_url) == migrate.head()


def test_there_is_no_alembic_ini() -> None:
    assert not (REPO_ROOT / "alembic.ini").exists()


@pytest.mark.slow
def test_alembic_command_reads_pyproject(sqlite_empty_url: str) -> None:
    env = {**os.environ, "HELPDESK_DATABASE_URL": sqlite_empty_url}
    result = subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Running upgrade 0002_tickets -> 0003_auth_tokens" in result.stderr
    assert migrate.current(sqlite_empty_url) == migrate.head()


# ---------------------------------------------------------------- (e) the search index's options


def _search_index_options(url: str) -> list[str]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            options = connection.execute(
                sa.text("SELECT reloptions FROM pg_class WHERE relname = :name"),
                {"name": "ix_ticket_search_document_tsv"},
            ).scalar_one()
    finally:
        engine.dispose()
    return list(options or [])


@pytest.mark.postgres
def test_the_search_index_takes_new_documents_at_once(postgres_empty_url: str) -> None:
    """0005: GIN fastupdate off (no pending list that every search reads); its downgrade
    gives the index PostgreSQL's default back."""
    migrate.upgrade(postgres_empty_url)
    assert _search_index_options(postgres_empty_url) == ["fastupdate=off"]
    migrate.downgrade(postgres_empty_url, "0004_events_webhooks")
    assert _search_index_options(postgres_empty_url) == []
    migrate.upgrade(postgres_empty_url)
    assert _search_index_options(postgres_empty_url) == ["fastupdate=off"]
