"""Private parts of SQLAlchemy and gunicorn we lean on, checked on the installed versions.

Two modules go below the libraries' public APIs, each for a reason its docstring gives:
``adapters/sql/compiled.py`` sends hot statements through ``Connection._cursor_execute`` with the
compiler's own state, and ``entrypoints/serving/`` overrides methods of gunicorn's gthread
worker (``helpdesk serve``'s logger class also reads a mark gunicorn sets on its handlers).
pyproject.toml bounds SQLAlchemy and gunicorn at the minors the tests run; when a bound
is raised, this file fails first, naming what moved, what depends on it and what to do,
rather than leaving a wrong answer or a held worker thread to be found in production.
"""

from __future__ import annotations

import inspect
import socket
from pathlib import Path
from typing import Any

import attrs
import gunicorn
import pytest
import sqlalchemy as sa
from gunicorn import glogging, util
from gunicorn.arbiter import Arbiter
from gunicorn.config import Config
from gunicorn.http import message
from gunicorn.http.errors import NoMoreData
from gunicorn.http.unreader import SocketUnreader, Unreader
from gunicorn.workers.base import Worker
from gunicorn.workers.gthread import TConn, ThreadWorker
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection
from sqlalchemy.sql.compiler import ExpandedState, SQLCompiler

from entrypoints.serving.request_scanner import Limits

COMPILED = "adapters/sql/compiled.py"
SERVING = "entrypoints/serving/read_deadline.py"
FAIR = "entrypoints/serving/fair_accept.py"
SERVE = "entrypoints/cli/serve.py"


def advice(library: str, version: str, user: str, what: str) -> str:
    """The failure message: what moved, who depends on it, what to do."""
    return (
        f"{library} {version} changed {what}, which {user} relies on. pyproject.toml bounds "
        f"{library} at the minor these tests ran on: keep that bound, or adapt {user} to the "
        f"new {library} (its module docstring says why it goes below the public API), update "
        f"this expectation and run {user}'s tests."
    )


@attrs.frozen
class Signature:
    """``owner.name`` exists and takes ``parameters`` (their names, in order; ``exact``: no
    other parameter either, for a method gunicorn calls on our override)."""

    owner: Any
    name: str
    parameters: tuple[str, ...]
    user: str
    exact: bool = True

    @property
    def label(self) -> str:
        return f"{getattr(self.owner, '__qualname__', self.owner.__name__)}.{self.name}"


SQLALCHEMY_SIGNATURES = [
    # Private: the path SQLAlchemy's dialects use for their own statements (events, echo,
    # error wrapping, disconnect handling). compiled.py passes cursor, statement, parameters.
    Signature(
        Connection,
        "_cursor_execute",
        ("self", "cursor", "statement", "parameters", "context"),
        COMPILED,
    ),
    # An expanding IN's SQL and values for one call; its fields are read by name.
    Signature(
        SQLCompiler, "construct_expanded_state", ("self", "params", "escape_names"), COMPILED
    ),
    Signature(SQLCompiler, "construct_params", ("self", "params"), COMPILED, exact=False),
]

GUNICORN_SIGNATURES = [
    # Methods of the gthread worker that ReadDeadlineWorker / FairThreadWorker override, and
    # gunicorn calls (so their parameter names are part of the contract: timeout=1.0 is passed
    # by keyword). _keepalive_after is private.
    Signature(ThreadWorker, "__init__", ("self", "args", "kwargs"), SERVING),
    Signature(
        Worker,
        "__init__",
        ("self", "age", "ppid", "sockets", "app", "timeout", "cfg", "log"),
        SERVING,
    ),
    Signature(ThreadWorker, "init_process", ("self",), SERVING),
    Signature(ThreadWorker, "run", ("self",), FAIR),
    Signature(ThreadWorker, "accept", ("self", "listener"), f"{SERVING} and {FAIR}"),
    Signature(ThreadWorker, "enqueue_req", ("self", "conn"), SERVING),
    Signature(
        ThreadWorker, "wait_for_and_dispatch_events", ("self", "timeout"), f"{SERVING} and {FAIR}"
    ),
    Signature(ThreadWorker, "handle", ("self", "conn"), SERVING),
    Signature(ThreadWorker, "_keepalive_after", ("self", "conn", "keepalive"), SERVING),
    # Called, not overridden.
    Signature(ThreadWorker, "set_accept_enabled", ("self", "enabled"), FAIR),
    # The connection: DeadlineConn subclasses it and overrides close (a graceful close lingers
    # in the poller instead of blocking it).
    Signature(TConn, "__init__", ("self", "cfg", "sock", "client", "server"), SERVING),
    Signature(TConn, "init", ("self",), SERVING),
    Signature(TConn, "close", ("self", "graceful"), SERVING),
    # The parser's socket reader: DeadlineUnreader subclasses it and bounds chunk() by the
    # read deadline; the worker takes and gives back buffered bytes.
    Signature(SocketUnreader, "__init__", ("self", "sock", "max_chunk"), SERVING),
    Signature(SocketUnreader, "chunk", ("self", "size_hint"), SERVING),
    Signature(Unreader, "unread", ("self", "data"), SERVING),
    Signature(Unreader, "take_buffered", ("self",), SERVING),
    Signature(NoMoreData, "__init__", ("self", "buf"), SERVING),  # DeadlineMissed() passes none
    Signature(util, "close", ("sock",), SERVING),
    Signature(glogging.Logger, "setup", ("self", "cfg"), SERVE),
]


def _check(signature: Signature, library: str, version: str) -> None:
    found = inspect.getattr_static(signature.owner, signature.name, None)
    assert found is not None, advice(
        library, version, signature.user, f"{signature.label} (it is gone)"
    )
    parameters = tuple(inspect.signature(getattr(signature.owner, signature.name)).parameters)
    seen = parameters if signature.exact else parameters[: len(signature.parameters)]
    assert seen == signature.parameters, advice(
        library,
        version,
        signature.user,
        f"{signature.label}'s parameters (now {parameters}, expected {signature.parameters})",
    )


@pytest.mark.parametrize("signature", SQLALCHEMY_SIGNATURES, ids=lambda s: s.label)
def test_sqlalchemy_methods_keep_their_signatures(signature: Signature) -> None:
    _check(signature, "SQLAlchemy", sa.__version__)


@pytest.mark.parametrize("signature", GUNICORN_SIGNATURES, ids=lambda s: s.label)
def test_gunicorn_methods_keep_their_signatures(signature: Signature) -> None:
    _check(signature, "gunicorn", gunicorn.__version__)


# ---------------------------------------------------------------- SQLAlchemy: compiler state

_table = sa.Table(
    "t",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String),
)


def _sqlalchemy(what: str) -> str:
    return advice("SQLAlchemy", sa.__version__, COMPILED, what)


def test_the_compiled_statement_keeps_the_attributes_compiled_py_reads() -> None:
    """``_Form`` reads the bind names (and their escaped forms), the prefetch lists and the
    RETURNING state of a statement compiled for psycopg."""
    dialect = postgresql.dialect()
    insert = sa.insert(_table).returning(_table.c.id)
    compiled = insert.compile(dialect=dialect, column_keys=["name"])
    assert isinstance(compiled, SQLCompiler), _sqlalchemy("Insert.compile()'s compiler class")
    for name in (
        "string",
        "bind_names",
        "escaped_bind_names",
        "insert_prefetch",
        "update_prefetch",
        "implicit_returning",
        "effective_returning",
    ):
        assert hasattr(compiled, name), _sqlalchemy(f"SQLCompiler.{name} (it is gone)")
    assert isinstance(compiled.bind_names, dict), _sqlalchemy("SQLCompiler.bind_names' type")
    assert all(isinstance(bind, sa.BindParameter) for bind in compiled.bind_names), _sqlalchemy(
        "SQLCompiler.bind_names' keys (BindParameter expected)"
    )
    assert not compiled.implicit_returning, _sqlalchemy("SQLCompiler.implicit_returning")
    returning = [column.name for column in compiled.effective_returning or ()]
    assert returning == ["id"], _sqlalchemy(
        "SQLCompiler.effective_returning (an explicit RETURNING's columns)"
    )


def test_an_expanding_in_is_marked_and_expanded_as_compiled_py_expects() -> None:
    """``_Form`` recognizes an expanding IN by the ``__[POSTCOMPILE_`` marker in its SQL and
    reads ``ExpandedState``'s fields by name."""
    dialect = postgresql.dialect()
    select = sa.select(_table.c.name).where(_table.c.id.in_(sa.bindparam("ids", expanding=True)))
    compiled = select.compile(dialect=dialect)
    assert isinstance(compiled, SQLCompiler)
    assert "__[POSTCOMPILE_" in compiled.string, _sqlalchemy(
        "the __[POSTCOMPILE_ marker of an expanding IN in the compiled SQL"
    )
    assert {"statement", "parameters", "processors"} <= set(ExpandedState._fields), _sqlalchemy(
        "ExpandedState's fields (statement, parameters, processors)"
    )
    state = compiled.construct_expanded_state({"ids": [1, 2]})
    assert "__[POSTCOMPILE_" not in state.statement, _sqlalchemy("construct_expanded_state")
    assert sorted(state.parameters.values()) == [1, 2], _sqlalchemy("ExpandedState.parameters")


def test_the_pooled_connection_offers_info_and_the_driver_connection(tmp_path: Path) -> None:
    """compiled.py keeps its cursors in the pooled connection's ``info`` and makes them from its
    ``driver_connection``."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        with engine.connect() as connection:
            pooled = connection.connection
            assert isinstance(pooled.info, dict), _sqlalchemy("PoolProxiedConnection.info")
            assert pooled.driver_connection is not None, _sqlalchemy(
                "PoolProxiedConnection.driver_connection"
            )
    finally:
        engine.dispose()


# ---------------------------------------------------------------- gunicorn: state and constants


def _gunicorn(user: str, what: str) -> str:
    return advice("gunicorn", gunicorn.__version__, user, what)


def test_the_connection_keeps_the_attributes_the_worker_sets_and_reads() -> None:
    """``data_ready`` tells gunicorn's ``handle`` not to wait for bytes the poller already
    read; ``parser``, ``sock``, ``client`` are read and replaced by the worker."""
    ours, theirs = socket.socketpair()
    try:
        conn = TConn(Config(), ours, ("127.0.0.1", 1), ("127.0.0.1", 2))
        for name in ("cfg", "sock", "client", "server", "parser", "initialized", "data_ready"):
            assert hasattr(conn, name), _gunicorn(SERVING, f"TConn.{name} (it is gone)")
        assert conn.data_ready is False, _gunicorn(SERVING, "TConn.data_ready's start value")
    finally:
        ours.close()
        theirs.close()


def test_the_worker_keeps_the_attributes_the_subclasses_read() -> None:
    worker = ThreadWorker(0, 1, [], None, 30, Config(), None)
    try:
        for name in ("cfg", "log", "alive", "sockets", "nr_conns", "poller"):
            assert hasattr(worker, name), _gunicorn(
                f"{SERVING} and {FAIR}", f"ThreadWorker.{name} (it is gone)"
            )
    finally:
        worker.tmp.close()
    assert isinstance(Arbiter.WORKERS, dict), _gunicorn(FAIR, "Arbiter.WORKERS (pid -> worker)")


def test_the_settings_the_worker_reads_exist() -> None:
    cfg = Config()
    for name in (
        "is_ssl",
        "proxy_protocol",
        "http_protocols",
        "limit_request_line",
        "limit_request_fields",
        "limit_request_field_size",
    ):
        try:
            getattr(cfg, name)
        except AttributeError:
            pytest.fail(_gunicorn(SERVING, f"the setting {name} (it is gone)"))


def test_the_parser_limits_the_scanner_mirrors_are_unchanged() -> None:
    """``Limits`` copies the fallbacks of gunicorn.http.message for 0 or out-of-range limits;
    a change there would make the scanner wait for a head the parser refuses, or the reverse."""
    mirrored = {
        "MAX_REQUEST_LINE": 8190,
        "MAX_HEADERS": 32768,
        "DEFAULT_MAX_HEADERFIELD_SIZE": 8190,
    }
    found = {name: getattr(message, name, None) for name in mirrored}
    assert found == mirrored, _gunicorn(
        "entrypoints/serving/request_scanner.py", "the parser's limits in gunicorn.http.message"
    )
    limits = Limits(request_line=0, fields=0, field_size=0)
    assert (limits.line, limits.headers) == (8190, 32768 * (8190 + 2) + 4)


def test_gunicorn_still_marks_its_own_log_handlers() -> None:
    """``helpdesk serve``'s logger class removes the handlers gunicorn marks ``_gunicorn`` so
    that its lines go through ours; an unmarked handler would print every line twice."""
    assert "_gunicorn = True" in inspect.getsource(glogging.Logger), _gunicorn(
        SERVE, "the _gunicorn mark on its log handlers (gunicorn.glogging.Logger)"
    )
