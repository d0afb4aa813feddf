"""The workers count the service-level warnings and breaches they raise, by department."""

from __future__ import annotations

import re
from datetime import timedelta

from entrypoints.bootstrap import bootstrap
from entrypoints.observability.metrics import PrometheusEventSink, render_metrics
from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from helpdesk_core.ports.events import EventSink
from helpdesk_core.ports.system import Clock
from helpdesk_core.usecases.sla import SlaPolicyInput
from tests.conftest import make_settings
from tests.support.clock import SettableClock
from tests.unit.tickets.support import Desk


def counted(name: str, department: str) -> float:
    text = render_metrics()[0].decode()
    found = re.search(rf'^{name}{{department="{department}"}} (\S+)$', text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def test_warnings_and_breaches_are_counted_by_department() -> None:
    clock = SettableClock()
    services = bootstrap(make_settings(), {Clock: clock, EventSink: PrometheusEventSink()})
    try:
        desk = Desk.build(services, clock)
        targets = {"normal": {"first_response": 60}}
        policy = SlaPolicyInput(name="Standard", targets=targets, warn_before=15)
        services.sla.create(SYSTEM_OPERATOR, policy)
        billing, unrouted = desk.open(department=desk.billing), desk.open()
        department = str(billing.department_id)
        before = {
            (kind, where): counted(f"helpdesk_sla_{kind}_total", where)
            for kind in ("warnings", "breaches")
            for where in (department, "none")
        }
        worker = services.new_worker("metrics")
        clock.current += timedelta(minutes=50)
        assert worker.check_service_levels() == 2  # two warnings
        clock.current += timedelta(minutes=20)
        assert worker.check_service_levels() == 2  # two breaches
        for kind in ("warnings", "breaches"):
            for where in (department, "none"):
                now = counted(f"helpdesk_sla_{kind}_total", where)
                assert now == before[(kind, where)] + 1, (kind, where)
        assert unrouted.department_id is None
    finally:
        services.close()
