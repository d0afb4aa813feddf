"""Prometheus metrics, correct under several gunicorn workers (multi-process mode).

``PROMETHEUS_MULTIPROC_DIR`` must be set before prometheus_client is first imported (the serve
command does it), so this module imports it lazily and every metric is created once per process.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

import attrs

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@attrs.frozen
class HttpMetrics:
    """The metrics the HTTP middleware and the pool listeners update."""

    requests: Any
    latency: Any
    in_flight: Any
    pool_checked_out: Any
    pool_size: Any


@functools.cache
def http_metrics() -> HttpMetrics:
    """The process's metric objects (created on first use, registered in the default registry)."""
    from prometheus_client import Counter, Gauge, Histogram

    return HttpMetrics(
        requests=Counter(
            "helpdesk_http_requests_total",
            "HTTP requests answered",
            ["method", "route", "status"],
        ),
        latency=Histogram(
            "helpdesk_http_request_duration_seconds",
            "Time to answer an HTTP request",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS,
        ),
        in_flight=Gauge(
            "helpdesk_http_requests_in_flight",
            "HTTP requests being answered now",
            multiprocess_mode="livesum",
        ),
        pool_checked_out=Gauge(
            "helpdesk_db_pool_connections_in_use",
            "Database connections checked out of the pool",
            multiprocess_mode="livesum",
        ),
        pool_size=Gauge(
            "helpdesk_db_pool_size",
            "Connections the database pool keeps per process",
            multiprocess_mode="livesum",
        ),
    )


@attrs.frozen
class EventMetrics:
    """What the event worker reports."""

    batches: Any
    deliveries: Any
    retention_deleted: Any
    sla_warnings: Any
    sla_breaches: Any


@functools.cache
def event_metrics() -> EventMetrics:
    from prometheus_client import Counter, Histogram

    return EventMetrics(
        batches=Histogram(
            "helpdesk_worker_batch_duration_seconds",
            "Time a worker took for one batch of events or webhook deliveries",
            ["kind"],
            buckets=(*LATENCY_BUCKETS, 30.0, 60.0),
        ),
        deliveries=Counter(
            "helpdesk_webhook_deliveries_total",
            "Webhook delivery attempts, by outcome",
            ["outcome"],
        ),
        retention_deleted=Counter(
            "helpdesk_retention_deleted_total",
            "Rows the worker deleted after the retention period (HELPDESK_EVENT_RETENTION_DAYS)",
            ["table"],
        ),
        sla_warnings=Counter(
            "helpdesk_sla_warnings_total",
            "Service-level warnings the scheduler raised, by department id ('none': unrouted)",
            ["department"],
        ),
        sla_breaches=Counter(
            "helpdesk_sla_breaches_total",
            "Service-level breaches the scheduler raised, by department id ('none': unrouted)",
            ["department"],
        ),
    )


class PrometheusEventSink:
    """The worker's EventSink: batch durations, delivery outcomes, retention and
    service-level alarms."""

    def batch(self, kind: str, size: int, seconds: float) -> None:
        event_metrics().batches.labels(kind=kind).observe(seconds)

    def delivery(self, outcome: str) -> None:
        event_metrics().deliveries.labels(outcome=outcome).inc()

    def deleted(self, table: str, count: int) -> None:
        event_metrics().retention_deleted.labels(table=table).inc(count)

    def alarm(self, kind: str, department: str) -> None:
        metrics = event_metrics()
        counter = metrics.sla_breaches if kind == "breached" else metrics.sla_warnings
        counter.labels(department=department).inc()


# A gauge read at scrape time: name, help text, value.
Reading = tuple[str, str, float]


def render_metrics(readings: Callable[[], list[Reading]] | None = None) -> tuple[bytes, str]:
    """The Prometheus text of every live process (multi-process) or of this one, plus
    ``readings`` taken now (e.g. the outbox's depth, shared by all processes)."""
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        text = generate_latest(registry)
    else:
        text = generate_latest(REGISTRY)
    if readings is not None:
        text += _readings_text(readings())
    return text, CONTENT_TYPE_LATEST


def _readings_text(values: list[Reading]) -> bytes:
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.core import GaugeMetricFamily

    class _Now:
        def collect(self) -> Any:
            for name, text, value in values:
                yield GaugeMetricFamily(name, text, value=value)

    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Now())
    return generate_latest(registry)


def instrument_pool(engine: Any, pool_size: int) -> None:
    """Count connections in use through the pool's checkout/checkin events."""
    from sqlalchemy import event

    metrics = http_metrics()
    metrics.pool_size.set(pool_size)

    @event.listens_for(engine, "checkout")
    def _checkout(*_args: Any) -> None:
        metrics.pool_checked_out.inc()

    @event.listens_for(engine, "checkin")
    def _checkin(*_args: Any) -> None:
        metrics.pool_checked_out.dec()


def mark_process_dead(pid: int) -> None:
    """Drop a dead worker's live gauges (gunicorn's child_exit hook)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)
