"""The worker loop: claim and handle events and deliveries until asked to stop.

``helpdesk worker`` runs it in the foreground (SIGTERM or SIGINT: finish the item in hand,
hand the unstarted events back, exit 0); ``helpdesk serve`` runs one in a thread of each server
process when HELPDESK_EMBEDDED_WORKER is on, so the embedded default needs no second process.
Any number of loops, on any number of hosts, may run against one database.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Mapping
from types import FrameType

from entrypoints.bootstrap import Services
from helpdesk_core.domain.errors import DependencyUnavailable
from helpdesk_core.usecases.dispatch import Handler

log = logging.getLogger("helpdesk.worker")
MAX_PAUSE = 30.0  # seconds between passes that keep failing unexpectedly
# While the database (or another dependency) is away: short enough that the worker is back
# within seconds of its return, long enough not to hammer a server that is restarting.
OUTAGE_PAUSE = 5.0


def worker_name(suffix: str = "") -> str:
    """host:pid[:suffix], unique among live workers and readable in the outbox's lease column."""
    return f"{socket.gethostname()}:{os.getpid()}{':' + suffix if suffix else ''}"


class WorkerLoop:
    """Runs passes of one EventWorker; idle passes wait ``poll_interval`` seconds."""

    def __init__(
        self,
        services: Services,
        name: str | None = None,
        in_process: Mapping[str, Handler] | None = None,
        poll: float | None = None,
    ) -> None:
        self._services = services
        self._poll = services.settings.worker_poll_interval if poll is None else poll
        self.stopping = threading.Event()
        # in_process: the embedding program's subscribers (helpdesk.Helpdesk.subscribe)
        self.worker = services.new_worker(name or worker_name(), in_process=in_process)
        self.worker.stop = self.stopping.is_set
        self.handled = 0

    def stop(self) -> None:
        self.stopping.set()

    def run(self, until_idle: bool = False) -> int:
        """Work until stopped (or, with ``until_idle``, until a pass finds nothing to do);
        how many events and deliveries were handled."""
        poll = self._poll
        pause = poll
        down: tuple[str, float] | None = None  # the dependency that is away, and since when
        log.info("worker %s started", self.worker.name)
        while not self.stopping.is_set():
            try:
                done = self.worker.run_once()
            except DependencyUnavailable as exc:
                # Expected while the database restarts: a warning, no traceback, and back off.
                if down is None:
                    down = (exc.dependency, time.monotonic())
                log.warning("worker %s: %s; trying again in %.1fs", self.worker.name, exc, pause)
                self.stopping.wait(pause)
                pause = min(max(OUTAGE_PAUSE, poll), pause * 2)
                continue
            except Exception:
                log.exception("worker %s: a pass failed; retrying", self.worker.name)
                self.stopping.wait(pause)
                pause = min(MAX_PAUSE, pause * 2)
                continue
            pause = poll
            if down is not None:
                log.info(
                    "worker %s: %s reachable again after %.1fs; resuming",
                    self.worker.name,
                    down[0],
                    time.monotonic() - down[1],
                )
                down = None
            self.handled += done
            if done == 0:
                if until_idle:
                    break
                self.stopping.wait(poll)
        log.info("worker %s stopped after %d items", self.worker.name, self.handled)
        return self.handled


def run_foreground(services: Services, name: str | None = None, until_idle: bool = False) -> int:
    """Run a loop in this thread; SIGTERM and SIGINT stop it gracefully."""
    loop = WorkerLoop(services, name)

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("worker %s: signal %d, stopping", loop.worker.name, signum)
        loop.stop()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        return loop.run(until_idle=until_idle)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def start_embedded(services: Services) -> WorkerLoop:
    """A loop in a daemon thread of this (server) process."""
    loop = WorkerLoop(services, worker_name("embedded"))
    thread = threading.Thread(target=loop.run, name="helpdesk-worker", daemon=True)
    thread.start()
    return loop
