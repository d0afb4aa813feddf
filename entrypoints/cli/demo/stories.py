"""The sample's tickets, each played from its opening to its final status.

Customers open and answer tickets; staff assign, reply, write internal notes, change status and
priority, close and reopen, each acting as themselves through the use cases, so every rule
applies and the history writes itself. The demo clock moves on before each action.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import attrs

from entrypoints.cli.demo.clock import DemoClock
from entrypoints.cli.demo.data import (
    ASKS,
    CUSTOMER_ANSWERS,
    CUSTOMER_FOLLOW_UPS,
    CUSTOMER_RELAPSES,
    FIRST_REPLIES,
    NOTES,
    PRIORITY_WEIGHTS,
    RESOLUTIONS,
    STATUS_AGE,
    STATUS_WEIGHTS,
    WORDS,
)
from entrypoints.cli.demo.organization import (
    TIMELINE_DAYS,
    DemoDepartment,
    Organization,
    Person,
)
from helpdesk_core.domain.entities import Ticket
from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from helpdesk_core.domain.values import MessageVisibility, TicketPriority, TicketStatus
from helpdesk_core.usecases.tickets import (
    Assign,
    AttachmentInput,
    ChangeTicket,
    OpenTicket,
    PostMessage,
)

if TYPE_CHECKING:
    from entrypoints.bootstrap import Services


@attrs.define
class Stories:
    """Plays the tickets among the people of ``org``; ``counts`` the final statuses."""

    services: Services
    org: Organization
    rng: random.Random
    clock: DemoClock
    now: datetime
    counts: dict[str, int] = attrs.Factory(dict)

    def play(self, count: int, step: Callable[[], None] = lambda: None) -> None:
        """``count`` tickets with their stories; ``step()`` after each."""
        start = self.now - timedelta(days=TIMELINE_DAYS)
        span = (self.now - timedelta(minutes=30) - start).total_seconds()
        moments = sorted(start + timedelta(seconds=self.rng.uniform(0, span)) for _ in range(count))
        statuses = list(STATUS_WEIGHTS)[:count]  # every status at least once
        statuses += self.rng.choices(
            list(STATUS_WEIGHTS), list(STATUS_WEIGHTS.values()), k=count - len(statuses)
        )
        # Older tickets tend to be finished, recent ones new: sort by a noisy age rank.
        statuses.sort(key=lambda s: STATUS_AGE[s] + self.rng.uniform(-1.6, 1.6))
        for moment, status in zip(moments, statuses, strict=True):
            self.ticket(moment, status)
            self.counts[status.value] = self.counts.get(status.value, 0) + 1
            step()

    def ticket(self, created: datetime, target: TicketStatus) -> None:
        rng, svc = self.rng, self.services.tickets
        department = rng.choice(self.org.departments)
        routed = rng.random() > 0.08  # some customers do not pick a department
        customer = rng.choice(self.org.customers)
        words = {**self._words(created, department), "first": customer.first}
        template = rng.choice(department.plan.templates)
        words["fix"] = template.fix.format_map(words)
        self.clock.current = created
        detail = svc.open_ticket(
            customer.principal,
            OpenTicket(
                subject=template.subject.format_map(words),
                description=f"{template.description.format_map(words)}\n\n{customer.first}",
                priority=rng.choices(list(PRIORITY_WEIGHTS), list(PRIORITY_WEIGHTS.values()))[0],
                department_id=department.id if routed else None,
                attachments=self._attachments(department, words, 0.15),
            ),
        )
        ticket = detail.ticket
        ticket_id = ticket.id
        lead = department.lead

        if target is TicketStatus.NEW:
            if routed and rng.random() < 0.3:
                self._later()
                svc.post_message(lead.principal, ticket_id, self._note(words))
            if routed and not department.plan.auto_assign and rng.random() < 0.3:
                self._later()
                svc.assign(
                    lead.principal,
                    ticket_id,
                    Assign("team", team_id=rng.choice(department.team_ids)),
                )
            return

        if not routed:  # the administrator routes it first
            assert self.org.admin is not None
            self._later()
            ticket = svc.change(
                self.org.admin.principal,
                ticket_id,
                ticket.version,
                ChangeTicket(department_id=department.id, change_department=True),
            ).ticket
        may_depart = target in {TicketStatus.RESOLVED, TicketStatus.CLOSED} and (
            created < self.now - timedelta(days=TIMELINE_DAYS / 2 + 5)
        )
        agent = self._assign(department, ticket, may_depart)

        if rng.random() < 0.35:
            self._later()
            svc.post_message(agent.principal, ticket_id, self._note(words))
        self._later()
        svc.post_message(
            agent.principal, ticket_id, PostMessage(rng.choice(FIRST_REPLIES).format_map(words))
        )
        if rng.random() < 0.2:
            self._later()
            new_priority = rng.choice(list(TicketPriority))
            self._change(agent, ticket_id, ChangeTicket(priority=new_priority))
        if rng.random() < 0.4:
            self._later()
            svc.post_message(
                customer.principal, ticket_id, PostMessage(rng.choice(CUSTOMER_FOLLOW_UPS))
            )

        if target is TicketStatus.OPEN:
            if rng.random() < 0.25:  # resolved too early: the customer's reply reopens it
                self._resolve(agent, ticket_id, department, words)
                self._later()
                svc.post_message(
                    customer.principal, ticket_id, PostMessage(rng.choice(CUSTOMER_RELAPSES))
                )
            return
        if target is TicketStatus.PENDING or rng.random() < 0.4:
            self._later()
            svc.post_message(
                agent.principal, ticket_id, PostMessage(rng.choice(ASKS).format_map(words))
            )
            self._later()
            self._change(agent, ticket_id, ChangeTicket(status=TicketStatus.PENDING))
            if target is TicketStatus.PENDING:
                return
            self._later()  # the customer's answer reopens it
            svc.post_message(
                customer.principal,
                ticket_id,
                PostMessage(
                    rng.choice(CUSTOMER_ANSWERS),
                    attachments=self._attachments(department, words, 0.5),
                ),
            )
        self._resolve(agent, ticket_id, department, words)
        if target is TicketStatus.RESOLVED:
            return

        roll = rng.random()
        if roll < 0.45:
            self._later()
            svc.close(customer.principal, ticket_id)
        elif roll < 0.8:
            self._later()
            svc.close(agent.principal, ticket_id)
        else:  # closed, reopened by the customer, fixed for good
            self._later()
            svc.close(customer.principal, ticket_id)
            self._later()
            svc.reopen(customer.principal, ticket_id)
            self._later()
            svc.post_message(
                customer.principal, ticket_id, PostMessage(rng.choice(CUSTOMER_RELAPSES))
            )
            self._later()
            svc.post_message(agent.principal, ticket_id, self._note(words))
            self._resolve(agent, ticket_id, department, words)
            self._later()
            svc.close(agent.principal, ticket_id)

    def _assign(self, department: DemoDepartment, ticket: Ticket, may_depart: bool) -> Person:
        """Whoever works the ticket, assigned the way a real team would."""
        rng, svc, lead = self.rng, self.services.tickets, department.lead
        active = [a for a in department.agents if a is not self.org.departing]
        if ticket.assignee_id is not None:  # auto-assigned when it was opened
            return self.org.people[ticket.assignee_id]
        self._later()
        roll = rng.random()
        if may_depart and self.org.departing in department.agents and roll < 0.25:
            assert self.org.departing is not None
            chosen = self.org.departing
            svc.assign(
                lead.principal, ticket.id, Assign("agent", agent_id=chosen.principal.user_id)
            )
        elif roll < 0.35:
            chosen = rng.choice(active)
            svc.assign(chosen.principal, ticket.id, Assign("self"))
        elif roll < 0.6:
            chosen = rng.choice(active)
            boss = self.org.admin if rng.random() < 0.2 and self.org.admin is not None else lead
            svc.assign(
                boss.principal, ticket.id, Assign("agent", agent_id=chosen.principal.user_id)
            )
        elif roll < 0.85:
            team_id = rng.choice(department.team_ids)
            svc.assign(lead.principal, ticket.id, Assign("team", team_id=team_id))
            members = [a for a in department.team_agents[team_id] if a is not self.org.departing]
            self._later()
            if members and rng.random() < 0.7:
                chosen = rng.choice(members)
                svc.assign(chosen.principal, ticket.id, Assign("self"))
            else:
                chosen = self._auto(lead, ticket.id, department, may_depart)
        else:
            chosen = self._auto(lead, ticket.id, department, may_depart)
        return chosen

    def _auto(
        self, lead: Person, ticket_id: uuid.UUID, department: DemoDepartment, may_depart: bool
    ) -> Person:
        svc = self.services.tickets
        updated = svc.assign(lead.principal, ticket_id, Assign("auto")).ticket
        assert updated.assignee_id is not None
        chosen = self.org.people[updated.assignee_id]
        if chosen is self.org.departing and not may_depart:  # they are leaving: hand it on
            chosen = self.rng.choice([a for a in department.agents if a is not self.org.departing])
            self._later()
            svc.assign(
                lead.principal, ticket_id, Assign("agent", agent_id=chosen.principal.user_id)
            )
        return chosen

    def _resolve(
        self,
        agent: Person,
        ticket_id: uuid.UUID,
        department: DemoDepartment,
        words: dict[str, str],
    ) -> None:
        svc = self.services.tickets
        fix = words["fix"]
        reply = self.rng.choice(RESOLUTIONS).format_map({**words, "fix": fix})
        self._later()
        svc.post_message(agent.principal, ticket_id, PostMessage(reply))
        self._later()
        self._change(agent, ticket_id, ChangeTicket(status=TicketStatus.RESOLVED))

    def _change(self, actor: Person, ticket_id: uuid.UUID, command: ChangeTicket) -> Ticket:
        """A staff change of the version just read, as a client sends its If-Match."""
        return self.services.tickets.change(
            actor.principal, ticket_id, self._version(ticket_id), command
        ).ticket

    # ------------------------------------------------------------ helpers

    def _later(self) -> None:
        """Move the clock on: minutes to a day later, never past the real now."""
        room = (self.now - self.clock.current).total_seconds()
        step = min(self.rng.uniform(300, 26 * 3600), room / 3)
        self.clock.current += timedelta(seconds=max(step, 0.001))

    def _version(self, ticket_id: uuid.UUID) -> int:
        return self.services.tickets.get_ticket(SYSTEM_OPERATOR, ticket_id).ticket.version

    def _note(self, words: dict[str, str]) -> PostMessage:
        return PostMessage(self.rng.choice(NOTES).format_map(words), MessageVisibility.INTERNAL)

    def _words(self, created: datetime, department: DemoDepartment) -> dict[str, str]:
        rng = self.rng
        words = {key: rng.choice(values) for key, values in WORDS.items()}
        words.update(
            order=f"HD-{rng.randint(10000, 99999)}",
            invoice=f"INV-{created.year}-{rng.randint(1000, 9999)}",
            amount=f"€{rng.randint(900, 49900) / 100:.2f}",
            date=(created - timedelta(days=rng.randint(1, 12)))
            .strftime("%B %d")
            .replace(" 0", " "),
            error_code=f"E{rng.randint(100, 999)}",
        )
        words["cause"] = department.plan.cause.format_map(words)
        words["missing"] = department.plan.missing
        words["team"] = rng.choice(department.plan.teams)
        return words

    def _attachments(
        self, department: DemoDepartment, words: dict[str, str], chance: float
    ) -> tuple[AttachmentInput, ...]:
        settings = self.services.settings
        allowed = {m.lower() for m in settings.attachment_mime_types}
        files = [f for f in department.plan.attachments if f[1] in allowed]
        if not files or self.rng.random() >= chance:
            return ()
        filename, mime = self.rng.choice(files)
        filename = filename.format_map(words)
        token = f"{self.rng.getrandbits(64):016x}"
        return (
            AttachmentInput(
                url=f"https://files.example.com/demo/{token}/{filename}",
                filename=filename,
                mime_type=mime,
                size_bytes=self.rng.randint(
                    20_000, max(20_000, min(3_000_000, settings.attachment_max_bytes))
                ),
                checksum=f"sha256:{hashlib.sha256(token.encode()).hexdigest()}",
            ),
        )
