"""The fairer accept of ``helpdesk serve``'s gthread workers (entrypoints/serving/fair_accept.py).

Requirement (docs/architecture.md, "a fairer accept"): a worker holding more keep-alive
connections than another accepting worker leaves a new connection to it, but never for longer
than ``PATIENCE`` in a row; the master gives each worker a slot of a table shared across the
fork and frees it when the worker exits. tests/e2e/test_fair_accept.py checks the spread with
real gunicorn workers.
"""

from __future__ import annotations

import os
import types

import pytest

from entrypoints.cli.serve import gunicorn_options
from entrypoints.serving.fair_accept import (
    PATIENCE,
    ConnectionTable,
    FairThreadWorker,
    give_slot,
    release_slot,
)
from tests.conftest import make_settings


def _worker(table: ConnectionTable, slot: int, connections: int) -> FairThreadWorker:
    """A worker as its accept sees itself (gunicorn's constructor needs a whole arbiter)."""
    worker = FairThreadWorker.__new__(FairThreadWorker)
    worker.connection_table, worker.connection_slot = table, slot
    worker.nr_conns = connections
    worker._passing_since, worker._last_pass = None, 0.0
    return worker


def test_the_least_loaded_other_accepting_worker_is_found() -> None:
    table = ConnectionTable(slots=4)
    assert table.fewest_elsewhere(0) is None
    table.publish(0, 100, 9)
    table.publish(1, 101, 5)
    table.publish(2, 102, 7)
    assert table.fewest_elsewhere(0) == 5
    assert table.fewest_elsewhere(1) == 7  # its own slot does not count
    table.clear(1)
    assert table.fewest_elsewhere(0) == 7
    table.publish(2, 0, 0)  # not accepting (shutting down): not a candidate
    assert table.fewest_elsewhere(0) is None


def test_the_table_is_shared_with_a_forked_worker() -> None:
    table = ConnectionTable(slots=2)
    pid = os.fork()
    if pid == 0:  # the worker: publish and leave at once
        table.publish(1, os.getpid(), 3)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert table.fewest_elsewhere(0) == 3


def test_a_worker_with_more_connections_passes_one_with_as_many_accepts() -> None:
    table = ConnectionTable(slots=2)
    table.publish(1, 101, 4)
    assert _worker(table, 0, 5).should_pass(now=10.0)
    assert not _worker(table, 0, 4).should_pass(now=10.0)
    assert not _worker(table, 0, 0).should_pass(now=10.0)


def test_a_worker_passes_for_patience_at_most_then_accepts() -> None:
    table = ConnectionTable(slots=2)
    table.publish(1, 101, 0)  # a worker that never takes the connection (stuck or full)
    worker = _worker(table, 0, 3)
    now = 10.0
    passes = 0
    while passes < 100 and worker.should_pass(now):
        passes += 1
        now += 0.002  # the pause after each pass
    assert now - 10.0 == pytest.approx(PATIENCE, abs=0.0021)
    assert passes >= 5
    # a later connection (after a gap) starts a new episode: the worker passes again
    assert worker.should_pass(now + 1.0)


def test_a_worker_alone_or_without_a_slot_never_passes() -> None:
    table = ConnectionTable(slots=2)
    assert not _worker(table, 0, 50).should_pass(now=1.0)
    worker = _worker(table, 0, 50)
    worker.connection_slot = None  # more workers than slots
    table.publish(1, 101, 0)
    assert not worker.should_pass(now=1.0)


def test_the_master_gives_free_slots_and_takes_them_back() -> None:
    table = ConnectionTable(slots=2)
    server = types.SimpleNamespace(WORKERS={})
    first, second, third = (types.SimpleNamespace() for _ in range(3))
    give_slot(table, server, first)
    server.WORKERS[1] = first
    give_slot(table, server, second)
    server.WORKERS[2] = second
    give_slot(table, server, third)  # every slot taken: this one accepts as gunicorn does
    assert (first.connection_slot, second.connection_slot, third.connection_slot) == (0, 1, None)

    table.publish(0, 1, 7)
    release_slot(first)
    del server.WORKERS[1]
    assert table.fewest_elsewhere(1) is None  # the exited worker is no candidate
    replacement = types.SimpleNamespace()
    give_slot(table, server, replacement)
    assert replacement.connection_slot == 0


def test_serve_runs_the_fair_worker_with_its_hooks() -> None:
    options = gunicorn_options(make_settings(workers=2, threads=4))
    assert issubclass(options["worker_class"], FairThreadWorker)
    assert callable(options["pre_fork"])
    assert callable(options["child_exit"])
    assert gunicorn_options(make_settings(workers=2, threads=1))["worker_class"] == "sync"
