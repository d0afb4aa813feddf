"""The gunicorn settings ``helpdesk serve`` runs with (entrypoints/cli/serve.py).

Requirement (docs/performance.md, the garbage collector): each worker, once it has loaded the
app, moves the objects alive at that moment out of the collector's reach, so that a full
collection under load does not walk them (measured: 40-50 ms with the GIL held, before).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from entrypoints.cli.serve import freeze_startup_heap, gunicorn_options
from tests.conftest import make_settings


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()  # the rest of the test session collects as before


def test_each_worker_freezes_its_heap_once_the_app_is_loaded() -> None:
    options = gunicorn_options(make_settings(workers=2, threads=4))
    assert options["post_worker_init"] is freeze_startup_heap
    assert (options["workers"], options["threads"]) == (2, 4)


@pytest.mark.usefixtures("unfrozen")
def test_the_freeze_takes_the_live_objects_out_of_the_collectors_reach() -> None:
    kept = [{"n": i} for i in range(50_000)]  # a loaded app's worth of tracked objects
    tracked_before = len(gc.get_objects())
    assert gc.get_freeze_count() == 0

    freeze_startup_heap(object())  # gunicorn passes the worker

    assert gc.get_freeze_count() >= len(kept)
    assert len(gc.get_objects()) < tracked_before - len(kept)
    assert kept[-1] == {"n": 49_999}  # frozen, not freed
