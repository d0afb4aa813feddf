"""A desk for the service-level rules: calendars, policies, the scheduler and the events."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import attrs

from adapters.memory.mail import MemoryMailer
from helpdesk_core.documents import ticket_document
from helpdesk_core.domain.entities import Ticket
from helpdesk_core.domain.events import Event
from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from helpdesk_core.domain.sla import SlaPolicy
from helpdesk_core.usecases.calendars import CreateCalendar
from helpdesk_core.usecases.sla import SlaPolicyInput
from tests.unit.tickets.support import Desk

BERLIN = ZoneInfo("Europe/Berlin")
WEEKDAYS = tuple((day, "09:00", "17:00") for day in ("mon", "tue", "wed", "thu", "fri"))


def berlin(text: str) -> datetime:
    """A local time in Berlin (``"2026-12-04 16:00"``), as an aware datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=BERLIN)


@attrs.define
class SlaDesk(Desk):
    """The ticket desk, plus what service levels need."""

    seen: list[Event] = attrs.field(factory=list)
    mailbox: MemoryMailer = attrs.field(factory=MemoryMailer)

    def listen(self) -> None:
        """Collect every event the worker hands out."""
        self.services.dispatcher.subscribe("*", self.seen.append, "test-collector")

    def at(self, when: datetime | str) -> None:
        """Set the clock (a Berlin local time when given as text)."""
        self.clock.current = berlin(when) if isinstance(when, str) else when

    def later(self, **delta: float) -> None:
        self.clock.current += timedelta(**delta)

    def calendar(self, name: str = "Office", **changes: Any) -> uuid.UUID:
        command = CreateCalendar(name, "Europe/Berlin", WEEKDAYS)
        created = self.services.calendars.create(SYSTEM_OPERATOR, attrs.evolve(command, **changes))
        return created.id

    def policy(self, name: str = "Standard", **parts: Any) -> SlaPolicy:
        parts.setdefault("targets", {"normal": {"first_response": 60, "resolution": 480}})
        return self.services.sla.create(SYSTEM_OPERATOR, SlaPolicyInput(name=name, **parts))

    def update_policy(self, policy: SlaPolicy, **parts: Any) -> SlaPolicy:
        current = self.services.sla.get(SYSTEM_OPERATOR, policy.id)
        return self.services.sla.update(
            SYSTEM_OPERATOR, policy.id, current.version, SlaPolicyInput(**parts)
        )

    def sla(self, ticket: Ticket) -> dict[str, Any]:
        """The ticket's ``sla`` document as the API shows it."""
        detail = self.tickets.get_ticket(SYSTEM_OPERATOR, ticket.id)
        document: dict[str, Any] = ticket_document(detail.view)["sla"]
        return document

    def metric(self, ticket: Ticket, name: str) -> dict[str, Any]:
        found: dict[str, Any] = self.sla(ticket)[name]
        return found

    def tick(self, workers: int = 1) -> int:
        """The scheduler's pass in each of ``workers`` workers, then the events handed out."""
        raised = sum(
            self.services.new_worker(f"w{i}").check_service_levels() for i in range(workers)
        )
        self.drain()
        return raised

    def drain(self) -> None:
        worker = self.services.new_worker("drain")
        while worker.process_events():
            pass

    def sla_events(self, ticket: Ticket | None = None) -> list[tuple[str, str]]:
        """(type, metric) of each ``sla.*`` event handed out (of ``ticket`` when named)."""
        self.drain()
        return [
            (e.type, e.data["metric"]["name"])
            for e in self.seen
            if e.type.startswith("sla.")
            and (ticket is None or e.data["ticket"]["id"] == str(ticket.id))
        ]
