"""Run the event worker in a test until nothing due is left."""

from __future__ import annotations

from typing import Protocol

from helpdesk_core.usecases.events import EventWorker


class HasWorkers(Protocol):
    def new_worker(self, name: str | None = None) -> EventWorker: ...


def drain(services: HasWorkers, passes: int = 100) -> int:
    """Handle every due event and delivery (what a running worker would do); how many."""
    worker = services.new_worker("test-drain")
    total = 0
    for _ in range(passes):
        done = worker.run_once()
        if not done:
            return total
        total += done
    raise AssertionError(f"the outbox was still busy after {passes} passes")
