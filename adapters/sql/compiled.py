"""Compiled statements: built once, compiled once per engine, sent on the driver's cursor.

``Connection.execute`` spends more CPU per statement than PostgreSQL spends running the hot
statements of a request (a ticket by id, its messages, a session): it looks the compiled form
up in a cache, builds an execution context, reads the cursor's description into result
metadata and wraps every row. On psycopg a ``CompiledStatement`` keeps what matters of that and
drops the rest:

- the statement is compiled once per engine (dialect) and, for an INSERT or UPDATE whose
  columns come with each call's values, once per set of columns; expanding parameters (``IN``
  lists) go through SQLAlchemy's public ``construct_expanded_state`` at each call;
- values pass through the same bind processors, rows through the same result processors
  (``TypeDecorator``s such as ``UTCDateTime``, enums), into a named tuple: ``row.id`` and
  ``row[0]`` read as on an ``sa.Row``;
- the statement goes out through ``Connection._cursor_execute``, the path SQLAlchemy uses for
  its own internal statements: ``before/after_cursor_execute`` events, echo, and the error
  handling of every statement (DBAPI errors wrapped as ``sa.exc.DBAPIError``, a disconnect
  invalidating the connection and the pool) stay as they are.

A statement built with ``prepare=True`` is sent prepared (psycopg's ``prepare=True``): PostgreSQL
parses it once per connection and, after five runs whose plans it compares, may plan it once
for all values (a generic plan; PostgreSQL's ``plan_cache_mode = auto``). That is for statements
whose best plan cannot depend on the values: a row by its key, the rows of one ticket, an
INSERT, an UPDATE by key. Every other statement is sent unprepared and planned for its values
each time: the engine sets psycopg's ``prepare_threshold`` out of reach (``None`` would turn
preparing off even where asked for; adapters/sql/engine.py), so a search or a list never runs
a plan made without its values.

A list of values (``IN``) is bound on PostgreSQL as one array: ``any_of`` builds
``column = ANY(%(name)s::TYPE[])`` there and an expanding ``IN`` elsewhere, and
``CompiledStatement(..., postgresql=...)`` takes the PostgreSQL form of a statement beside the
portable one. One value whatever the list's length: no per-call expansion of the SQL
(SQLAlchemy's ``construct_expanded_state``), and one prepared statement instead of one per
length. It is for lookups by key (users by id). A list filter of the ticket lists stays an
``IN``: PostgreSQL 15 reads ``IN ($1)`` of one value as ``= $1`` and walks an
``(a, b, created_at)`` index in order with it, but not with ``= ANY($1)``
(tests/contract/test_ticket_query_plans.py catches that).

Other drivers (SQLite) run the statement through ``Connection.execute``: one code path in the
repositories, whatever the engine. A statement whose INSERT would need Python-side column
defaults or reads back the values the database generated (SQLAlchemy's implicit RETURNING)
also takes ``Connection.execute``; a DML statement's own ``RETURNING`` rows read as a SELECT's.
"""

from __future__ import annotations

import functools
import keyword
import threading
import weakref
from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.compiler import SQLCompiler

Params = Mapping[str, Any]
_Processor = Callable[[Any], Any]


class _Form:
    """A statement compiled for one dialect, with its processors and row class."""

    __slots__ = (
        "columns",
        "compiled",
        "dialect",
        "expanding",
        "make_row",
        "processors",
        "result_processors",
        "sql",
    )

    def __init__(self, statement: Any, dialect: Dialect, column_keys: Sequence[str] | None) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=column_keys)
        assert isinstance(compiled, SQLCompiler)
        self.compiled = compiled
        self.sql = compiled.string
        self.expanding = "__[POSTCOMPILE_" in self.sql
        # Each bound value's processor, as SQLAlchemy finds it: the type's, for this dialect.
        # Keyed by the names the values go by (construct_params escapes special characters).
        self.processors: dict[str, _Processor] = {}
        escaped: Mapping[str, str] = getattr(compiled, "escaped_bind_names", None) or {}
        for bind, name in compiled.bind_names.items():
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                self.processors[escaped.get(name, name)] = processor
        self.dialect = dialect
        self.make_row: Callable[[Sequence[Any]], Any] | None = None
        self.columns: list[Any] = []
        # Found at the first answer: a processor may depend on the column's type code there.
        self.result_processors: list[tuple[int, _Processor]] | None = None
        if isinstance(statement, sa.Select):
            self.columns = list(statement.selected_columns)
        elif not compiled.implicit_returning and compiled.effective_returning:
            self.columns = list(compiled.effective_returning)  # DML ... RETURNING
        if self.columns:
            names = [_field(column, i) for i, column in enumerate(self.columns)]
            row_class = namedtuple("StatementRow", names, rename=True)  # type: ignore[misc]
            self.make_row = row_class._make

    @staticmethod
    def usable(statement: Any, compiled: SQLCompiler) -> bool:
        if isinstance(statement, sa.Select):
            return True
        # DML: no Python-side defaults to compute, no generated values for SQLAlchemy to read
        # back (implicit RETURNING); rows the statement itself returns are read as a SELECT's.
        return (
            not compiled.insert_prefetch
            and not compiled.update_prefetch
            and not compiled.implicit_returning
        )

    def bind(self, params: Params) -> tuple[str, dict[str, Any]]:
        """The SQL and the driver's values for one call."""
        compiled = self.compiled
        processors: Mapping[str, _Processor]
        if self.expanding:  # an IN list: one value per element, each with the list's processor
            state = compiled.construct_expanded_state(params)
            sql, values = state.statement, state.parameters
            processors = {**self.processors, **state.processors}
        else:
            sql, values, processors = self.sql, compiled.construct_params(params), self.processors
        return sql, {
            name: (processor(value) if (processor := processors.get(name)) else value)
            for name, value in values.items()
        }

    def _result_processors(self, description: Sequence[Any]) -> list[tuple[int, _Processor]]:
        dialect, found = self.dialect, []
        for index, (column, described) in enumerate(zip(self.columns, description, strict=True)):
            impl = column.type.dialect_impl(dialect)
            processor = impl.result_processor(dialect, described[1])  # the type code
            if processor is not None:
                found.append((index, processor))
        self.result_processors = found
        return found

    def rows(self, raw: Sequence[Sequence[Any]], cursor: Any) -> list[Any]:
        """``raw`` as rows; the cursor's description is read at the first answer only (psycopg
        builds it anew at each reading)."""
        make_row = self.make_row
        assert make_row is not None
        processors = self.result_processors
        if processors is None:
            processors = self._result_processors(cursor.description)
        if not processors:
            return [make_row(row) for row in raw]
        out = []
        for row in raw:
            values = list(row)
            for index, processor in processors:
                values[index] = processor(values[index])
            out.append(make_row(values))
        return out


def _field(column: Any, index: int) -> str:
    name = getattr(column, "key", None) or getattr(column, "name", None) or f"column_{index}"
    name = str(name)
    return f"column_{index}" if keyword.iskeyword(name) or not name.isidentifier() else name


def any_of(column: sa.ColumnElement[Any], name: str, dialect: str) -> sa.ColumnElement[bool]:
    """``column`` equals one of the list bound as ``name``: ``= ANY(array)`` on PostgreSQL (one
    value, one statement for every length; module docstring), an expanding ``IN`` elsewhere."""
    if dialect == "postgresql":
        return column == sa.any_(sa.bindparam(name, type_=postgresql.ARRAY(column.type)))
    return column.in_(sa.bindparam(name, expanding=True))


@functools.cache
def _preparing_cursor() -> type[Any]:
    """A psycopg cursor that sends every statement prepared (imported here: psycopg is needed
    only with PostgreSQL)."""
    import psycopg

    class PreparingCursor(psycopg.Cursor[Any]):
        def execute(
            self, query: Any, params: Any = None, *, prepare: bool | None = None, **kwargs: Any
        ) -> Any:
            return super().execute(query, params, prepare=True, **kwargs)

    return PreparingCursor


_CURSORS = "helpdesk.statement_cursors"


def _cursors(pooled: Any) -> tuple[Any, Any]:
    """The connection's two cursors (plain, preparing), made at its first compiled statement and
    reused for every later one: a psycopg cursor costs more to make (its adapters, its
    state) than a statement by key costs to run. Kept in the pool's ``info`` of the DBAPI
    connection, which SQLAlchemy clears when it replaces that connection; a connection is
    used by one thread at a time (a pool checkout), so are its cursors. Each ``execute``
    resets the cursor: it keeps only the last statement's rows until the next one."""
    info = pooled.info
    cursors: tuple[Any, Any] | None = info.get(_CURSORS)
    # SQLAlchemy closes a cursor whose statement failed (a refused INSERT): make both anew.
    if cursors is None or cursors[0].closed or cursors[1].closed:
        driver = pooled.driver_connection
        cursors = info[_CURSORS] = (driver.cursor(), _preparing_cursor()(driver))
    return cursors


class CompiledStatement:
    """One statement, built once at import, run with as little per-call work as the driver
    allows (module docstring). Values are passed by name, as to ``Connection.execute``.

    ``prepare=True``: send it prepared, for a plan made once for all values (module docstring);
    only for a statement whose best plan does not depend on the values.

    ``postgresql``: the same statement in PostgreSQL's own form (``any_of``), run on psycopg
    instead of ``statement``.

    ``values_per_call``: the statement takes the columns it sets from each call's values (an
    INSERT or UPDATE: the default), compiled once per set of names; False for one that binds
    all its values itself (a CTE's INSERT feeding another statement): SQLAlchemy would read a
    value named like a column of the outer statement as one more column to set."""

    __slots__ = ("_forms", "_lock", "_values_per_call", "postgresql", "prepare", "statement")

    def __init__(
        self,
        statement: Any,
        *,
        prepare: bool = False,
        postgresql: Any = None,
        values_per_call: bool | None = None,
    ) -> None:
        self.statement = statement
        self.postgresql = statement if postgresql is None else postgresql
        self.prepare = prepare
        self._values_per_call = (
            isinstance(statement, sa.Insert | sa.Update)
            if values_per_call is None
            else values_per_call
        )
        # Per dialect (one per engine): compiled forms by the columns of the values (DML) or
        # None (SELECT). Weak: an engine that is gone takes its forms along.
        self._forms: weakref.WeakKeyDictionary[Dialect, dict[Any, _Form | None]] = (
            weakref.WeakKeyDictionary()
        )
        self._lock = threading.Lock()

    def _form(self, connection: sa.Connection, params: Params) -> _Form | None:
        dialect = connection.dialect
        if dialect.driver != "psycopg":
            return None
        key = tuple(params) if self._values_per_call else None
        forms = self._forms.get(dialect)
        if forms is not None and key in forms:
            return forms[key]
        with self._lock:
            forms = self._forms.setdefault(dialect, {})
            if key not in forms:
                statement = self.postgresql
                form = _Form(statement, dialect, None if key is None else list(key))
                forms[key] = form if _Form.usable(statement, form.compiled) else None
            return forms[key]

    def _statement_for(self, connection: sa.Connection) -> Any:
        """The statement ``Connection.execute`` runs where no compiled form serves: the PostgreSQL
        form on PostgreSQL, the portable one elsewhere."""
        return self.postgresql if connection.dialect.name == "postgresql" else self.statement

    def _run(self, connection: sa.Connection, form: _Form, params: Params) -> Any:
        sql, values = form.bind(params)
        cursor = _cursors(connection.connection)[self.prepare]
        connection._cursor_execute(cursor, sql, values)  # private: see the docstring
        return cursor

    def all(self, connection: sa.Connection, params: Params | None = None) -> list[Any]:
        params = params or {}
        form = self._form(connection, params)
        if form is None:
            return list(connection.execute(self._statement_for(connection), dict(params)).all())
        cursor = self._run(connection, form, params)
        return form.rows(cursor.fetchall(), cursor)

    def first(self, connection: sa.Connection, params: Params | None = None) -> Any | None:
        """The first row, or None."""
        params = params or {}
        form = self._form(connection, params)
        if form is None:
            return connection.execute(self._statement_for(connection), dict(params)).first()
        cursor = self._run(connection, form, params)
        row = cursor.fetchone()
        return None if row is None else form.rows([row], cursor)[0]

    def scalar(self, connection: sa.Connection, params: Params | None = None) -> Any:
        """The first column of the first row, or None."""
        row = self.first(connection, params)
        return None if row is None else row[0]

    def execute(self, connection: sa.Connection, params: Params | None = None) -> int:
        """Run a DML statement; the number of rows it matched, as the driver counts them (an
        INSERT left to SQLAlchemy for its defaults may count -1: unknown)."""
        params = params or {}
        form = self._form(connection, params)
        if form is None:
            return int(connection.execute(self._statement_for(connection), dict(params)).rowcount)
        return int(self._run(connection, form, params).rowcount)
