"""Readiness: is every dependency the service needs answering right now?

The answer is public (load balancers ask it without credentials), so it names a dependency
and its state, never what the failure said: a driver's message names the host, the user and
the database. That message goes to the log (``helpdesk.health``), once per change.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from threading import Lock

import attrs

from helpdesk_core.ports.health import DependencyProbe

log = logging.getLogger("helpdesk.health")


class HealthStatus(enum.StrEnum):
    """ok: all answer; degraded: an optional one fails; down: a required one fails."""

    OK = "ok"
    DEGRADED = "degraded"
    DOWN = "down"
    NOT_CONFIGURED = "not_configured"  # for one check: an optional dependency left out


@attrs.frozen
class CheckResult:
    """How one dependency answered."""

    status: HealthStatus
    required: bool
    latency_ms: float
    error: str | None = None


@attrs.frozen
class Readiness:
    """The whole dependency map."""

    status: HealthStatus
    checks: dict[str, CheckResult]


@attrs.define
class CheckReadiness:
    """Runs every probe at once, each bounded by ``timeout_seconds``.

    A probe still hanging from an earlier call is reported down at once rather than started
    again, so a hung dependency cannot pile up threads.
    """

    _probes: Sequence[DependencyProbe]
    _timeout_seconds: float
    _not_configured: Sequence[str] = ()
    _executor: ThreadPoolExecutor = attrs.field(init=False)
    _in_flight: dict[str, Future[None]] = attrs.field(init=False, factory=dict)
    _lock: Lock = attrs.field(init=False, factory=Lock)
    # The last failure logged per dependency: a probe that keeps failing alike logs once.
    _logged: dict[str, str | None] = attrs.field(init=False, factory=dict)

    def __attrs_post_init__(self) -> None:
        self._executor = ThreadPoolExecutor(
            max_workers=max(2, 2 * len(self._probes)), thread_name_prefix="readiness"
        )

    def __call__(self) -> Readiness:
        """Probe every dependency and summarize."""
        started = time.perf_counter()
        futures: dict[str, Future[None] | None] = {}
        with self._lock:
            for probe in self._probes:
                previous = self._in_flight.get(probe.name)
                if previous is not None and not previous.done():
                    futures[probe.name] = None
                else:
                    future = self._executor.submit(probe.check)
                    self._in_flight[probe.name] = future
                    futures[probe.name] = future
        checks: dict[str, CheckResult] = {}
        deadline = started + self._timeout_seconds
        for probe in self._probes:
            result, detail = self._result(probe, futures[probe.name], started, deadline)
            self._log(probe.name, detail)
            checks[probe.name] = result
        for name in self._not_configured:
            checks[name] = CheckResult(HealthStatus.NOT_CONFIGURED, required=False, latency_ms=0.0)
        return Readiness(status=_overall(checks.values()), checks=checks)

    @staticmethod
    def _result(
        probe: DependencyProbe, future: Future[None] | None, started: float, deadline: float
    ) -> tuple[CheckResult, str | None]:
        """The public result, and the failure's own words for the log (None: up)."""

        def down(error: str, detail: str | None = None) -> tuple[CheckResult, str]:
            elapsed = (time.perf_counter() - started) * 1000
            result = CheckResult(HealthStatus.DOWN, probe.required, round(elapsed, 2), error)
            return result, detail or error

        if future is None:
            return down("an earlier check is still waiting for an answer")
        try:
            future.result(timeout=max(0.0, deadline - time.perf_counter()))
        except FutureTimeout:
            return down("no answer within the timeout")
        except Exception as exc:  # any failure of the probe means the dependency is down
            # The class name only (it names no host, user or database); the message to the log.
            return down(f"{type(exc).__name__} (details in the log)", _describe(exc))
        elapsed = (time.perf_counter() - started) * 1000
        return CheckResult(HealthStatus.OK, probe.required, round(elapsed, 2)), None

    def _log(self, name: str, detail: str | None) -> None:
        with self._lock:
            if self._logged.get(name) == detail:
                return
            previous, self._logged[name] = self._logged.get(name), detail
        if detail is not None:
            log.warning("readiness: %s is down: %s", name, detail)
        elif previous is not None:
            log.info("readiness: %s answers again", name)

    def close(self) -> None:
        """Stop the probe threads (they are daemons; this only avoids waiting on exit)."""
        self._executor.shutdown(wait=False, cancel_futures=True)


def _overall(results: Iterable[CheckResult]) -> HealthStatus:
    status = HealthStatus.OK
    for result in results:
        if result.status is HealthStatus.DOWN:
            if result.required:
                return HealthStatus.DOWN
            status = HealthStatus.DEGRADED
    return status


def _describe(exc: Exception) -> str:
    # For the log: the class name and first line only, enough to diagnose, no trace.
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    text = f"{type(exc).__name__}: {first_line}" if first_line else type(exc).__name__
    return text[:200]
