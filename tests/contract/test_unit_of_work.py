"""The unit of work's contract, run over every store: memory, SQLite, PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from entrypoints.bootstrap import Services, bootstrap
from helpdesk_core.domain.errors import DependencyUnavailable
from helpdesk_core.ports.uow import UnitOfWork
from tests.conftest import make_settings


@pytest.fixture
def services(backend_url: str) -> Iterator[Services]:
    services = bootstrap(make_settings(database_url=backend_url, db_pool_size=8))
    yield services
    services.close()


@pytest.fixture
def uow(services: Services) -> UnitOfWork:
    return services.uow


def test_committed_changes_are_visible_to_the_next_transaction(uow: UnitOfWork) -> None:
    with uow.begin() as tx:
        assert tx.counters.next_value("tickets") == 1
        assert tx.counters.next_value("tickets") == 2
        tx.commit()
    with uow.begin() as tx:
        assert tx.counters.current_value("tickets") == 2


def test_leaving_without_commit_discards_everything(uow: UnitOfWork) -> None:
    with uow.begin() as tx:
        tx.counters.next_value("tickets")
    with uow.begin() as tx:
        assert tx.counters.current_value("tickets") == 0


def test_an_exception_rolls_back_and_propagates(uow: UnitOfWork) -> None:
    def fail_midway() -> None:
        with uow.begin() as tx:
            tx.counters.next_value("tickets")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        fail_midway()
    with uow.begin() as tx:
        assert tx.counters.current_value("tickets") == 0


def test_explicit_rollback_discards_changes(uow: UnitOfWork) -> None:
    with uow.begin() as tx:
        tx.counters.next_value("a")
        tx.rollback()
    with uow.begin() as tx:
        assert tx.counters.current_value("a") == 0


def test_counters_are_independent_by_name(uow: UnitOfWork) -> None:
    with uow.begin() as tx:
        assert tx.counters.next_value("a") == 1
        assert tx.counters.next_value("b") == 1
        assert tx.counters.next_value("a") == 2
        tx.commit()


def test_concurrent_increments_never_hand_out_a_value_twice(uow: UnitOfWork) -> None:
    threads, per_thread = 6, 25
    seen: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(threads)

    def work() -> None:
        try:
            start.wait()
            for _ in range(per_thread):
                with uow.begin() as tx:
                    value = tx.counters.next_value("round-robin")
                    tx.commit()
                with lock:
                    seen.append(value)
        except BaseException as exc:  # reported below, never swallowed
            errors.append(exc)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    assert sorted(seen) == list(range(1, threads * per_thread + 1))


# ---------------------------------------------------------------- scope (a request's connection)


def _add_then_fail(uow: UnitOfWork, counter: str) -> None:
    with uow.begin() as tx:
        tx.counters.next_value(counter)
        raise RuntimeError("boom")


def test_a_scope_keeps_every_transaction_s_meaning(uow: UnitOfWork) -> None:
    with uow.scope():
        with uow.begin(read_only=True) as tx:
            assert tx.counters.current_value("scoped") == 0
        with uow.begin() as tx:
            tx.counters.next_value("scoped")
            tx.commit()
        with uow.begin() as tx:  # left without commit: rolled back
            tx.counters.next_value("scoped")
        with uow.begin(read_only=True) as tx:
            assert tx.counters.current_value("scoped") == 1
        with pytest.raises(RuntimeError, match="boom"):
            _add_then_fail(uow, "scoped")
        # A transaction begun while another is open works beside it, on its own.
        with uow.begin(read_only=True) as outer, uow.begin() as inner:
            inner.counters.next_value("scoped")
            inner.commit()
            assert outer.counters.current_value("scoped") in {1, 2}
    with uow.begin(read_only=True) as tx:
        assert tx.counters.current_value("scoped") == 2


def test_scopes_of_concurrent_threads_stay_apart(uow: UnitOfWork) -> None:
    threads, per_thread = 4, 10
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def work() -> None:
        try:
            start.wait()
            for _ in range(per_thread):
                with uow.scope():
                    with uow.begin(read_only=True) as tx:
                        tx.counters.current_value("shared")
                    with uow.begin() as tx:
                        tx.counters.next_value("shared")
                        tx.commit()
        except BaseException as exc:  # reported below, never swallowed
            errors.append(exc)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    with uow.begin(read_only=True) as tx:
        assert tx.counters.current_value("shared") == threads * per_thread


@pytest.mark.parametrize(
    "url_fixture", ["sqlite_url", pytest.param("postgres_db_url", marks=pytest.mark.postgres)]
)
def test_a_sql_scope_takes_one_connection_and_gives_it_back(
    url_fixture: str, request: pytest.FixtureRequest
) -> None:
    from adapters.sql.engine import create_engine
    from adapters.sql.uow import SqlUnitOfWork

    engine = create_engine(str(request.getfixturevalue(url_fixture)))
    try:
        uow = SqlUnitOfWork(engine)
        pool = engine.pool
        assert pool.checkedout() == 0  # type: ignore[attr-defined]
        with uow.scope():
            assert pool.checkedout() == 0  # type: ignore[attr-defined]  # taken lazily
            for read_only in (True, False, True, False):
                with uow.begin(read_only=read_only) as tx:
                    tx.counters.current_value("x")
                    assert pool.checkedout() == 1  # type: ignore[attr-defined]
            with uow.begin(read_only=True), uow.begin():
                assert pool.checkedout() == 2  # type: ignore[attr-defined]  # nested: its own
            assert pool.checkedout() == 1  # type: ignore[attr-defined]
        assert pool.checkedout() == 0  # type: ignore[attr-defined]
        with uow.begin() as tx:  # outside a scope: a connection per transaction, as before
            tx.counters.current_value("x")
            assert pool.checkedout() == 1  # type: ignore[attr-defined]
        assert pool.checkedout() == 0  # type: ignore[attr-defined]
    finally:
        engine.dispose()


def _in_transaction(connection: Any) -> bool:
    """Whether the driver's connection has a transaction open (psycopg's own status)."""
    from psycopg.pq import TransactionStatus

    return connection.connection.driver_connection.info.transaction_status in {
        TransactionStatus.INTRANS,
        TransactionStatus.INERROR,
    }


@pytest.mark.postgres
def test_read_only_units_run_in_autocommit_and_the_pool_gets_transactions_back(
    postgres_db_url: str,
) -> None:
    """A read-only unit on PostgreSQL runs in autocommit (psycopg's ``autocommit``), a write
    unit in a transaction on the same connection, and the connection goes back to the pool
    out of autocommit: the next user gets transactions."""
    from adapters.sql.engine import EngineOptions, create_engine
    from adapters.sql.uow import SqlUnitOfWork

    engine = create_engine(postgres_db_url, EngineOptions(pool_size=1, max_overflow=0))
    try:
        uow = SqlUnitOfWork(engine)
        with uow.scope():
            for read_only in (True, False, True):
                with uow.begin(read_only=read_only) as tx:
                    connection = tx._connection  # type: ignore[attr-defined]
                    connection.exec_driver_sql("SELECT 1")
                    assert _in_transaction(connection) is not read_only
                    assert connection.connection.driver_connection.autocommit is read_only
        with engine.connect() as connection:  # the pool's one connection, back from the scope
            assert connection.connection.driver_connection.autocommit is False
            connection.exec_driver_sql("CREATE TEMP TABLE left_behind (x int)")
            connection.rollback()
            found = connection.exec_driver_sql("SELECT to_regclass('pg_temp.left_behind')")
            assert found.scalar() is None  # the CREATE was in a transaction: rolled back
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_a_connection_broken_in_autocommit_is_not_handed_out_again(postgres_db_url: str) -> None:
    from adapters.sql.engine import EngineOptions, create_engine
    from adapters.sql.uow import SqlUnitOfWork

    engine = create_engine(postgres_db_url, EngineOptions(pool_size=1, max_overflow=0))
    try:
        uow = SqlUnitOfWork(engine)
        broken: list[Any] = []

        def break_it() -> None:
            with uow.scope(), uow.begin(read_only=True) as tx:
                broken.append(tx._connection.connection.driver_connection)  # type: ignore[attr-defined]
                assert broken[0].autocommit is True
                broken[0].close()

        # Ending the unit finds the connection closed: the database is unavailable (503).
        with pytest.raises(DependencyUnavailable):
            break_it()
        with uow.scope(), uow.begin() as tx:
            driver = tx._connection.connection.driver_connection  # type: ignore[attr-defined]
            assert driver is not broken[0]
            assert not driver.closed
            assert driver.autocommit is False
            assert tx.counters.current_value("after-a-broken-one") == 0
    finally:
        engine.dispose()
