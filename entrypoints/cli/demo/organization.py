"""The sample organization, created through the use cases as the operator would.

The administrator, each department with its two teams, its lead and agents (one of whom leaves
half-way through the timeline), and the customers, who register themselves. Nothing here
writes SQL: every account goes through ``OrgService`` or ``AuthService``, so every rule applies.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import attrs

from entrypoints.cli.demo.clock import DemoClock
from entrypoints.cli.demo.data import (
    ADMIN_NAME,
    CUSTOMER_DOMAINS,
    CUSTOMERS,
    DEPARTING_AGENT,
    DEPARTMENTS,
    DepartmentPlan,
)
from helpdesk_core.domain.principal import SYSTEM_OPERATOR, Principal
from helpdesk_core.domain.values import Role, StaffRole
from helpdesk_core.usecases.auth import Register
from helpdesk_core.usecases.org import CreateDepartment, CreateStaff, CreateTeam, UpdateStaff

if TYPE_CHECKING:
    from entrypoints.bootstrap import Services

STAFF_DOMAIN = "support.example.com"
TIMELINE_DAYS = 75


@attrs.define
class Person:
    principal: Principal
    name: str
    email: str
    department: str | None = None
    team: str | None = None

    @property
    def first(self) -> str:
        return self.name.split()[0]


def _email(name: str, domain: str) -> str:
    local = "".join(ch for ch in name.lower().replace(" ", ".") if ch.isalnum() or ch == ".")
    return f"{local}@{domain}"


def _staff_principal(
    user_id: uuid.UUID,
    role: StaffRole,
    department_id: uuid.UUID | None,
    team_id: uuid.UUID | None,
) -> Principal:
    return Principal(user_id, Role(role.value), department_id, team_id)


@attrs.define
class DemoDepartment:
    plan: DepartmentPlan
    id: uuid.UUID
    team_ids: tuple[uuid.UUID, ...]
    lead: Person
    agents: list[Person]
    team_agents: dict[uuid.UUID, list[Person]]


@attrs.define
class Organization:
    """The sample's people as they are created: who they are, where they work, and the
    principal each acts as when the tickets are played (``stories.Stories``)."""

    services: Services
    clock: DemoClock
    password: str
    now: datetime
    admin: Person | None = None
    departments: list[DemoDepartment] = attrs.Factory(list)
    customers: list[Person] = attrs.Factory(list)
    people: dict[uuid.UUID, Person] = attrs.Factory(dict)
    departing: Person | None = None
    on_account: Callable[[], None] = lambda: None

    def create(self, step: Callable[[], None] = lambda: None) -> None:
        """Departments, teams, staff and customers; ``step()`` after each account (the slow
        part: each hashes a password)."""
        self.on_account = step
        org = self.services.org
        self.clock.current = self.now - timedelta(days=TIMELINE_DAYS + 10)
        admin = org.create_staff(
            SYSTEM_OPERATOR,
            CreateStaff(
                email=_email(ADMIN_NAME, STAFF_DOMAIN),
                display_name=ADMIN_NAME,
                password=self.password,
                role=StaffRole.ADMIN,
            ),
        )
        self.admin = self._person(
            admin.user.id,
            admin.user.display_name,
            admin.user.email,
            _staff_principal(admin.user.id, StaffRole.ADMIN, None, None),
        )
        for plan in DEPARTMENTS:
            department = org.create_department(
                SYSTEM_OPERATOR, CreateDepartment(name=plan.name, auto_assign=plan.auto_assign)
            )
            team_ids = tuple(
                org.create_team(
                    SYSTEM_OPERATOR, CreateTeam(name=name, department_id=department.id)
                ).id
                for name in plan.teams
            )
            lead = self._staff(plan.lead, StaffRole.LEAD, department.id, None, plan.name, None)
            agents = [
                self._staff(
                    name,
                    StaffRole.AGENT,
                    department.id,
                    team_ids[team],
                    plan.name,
                    plan.teams[team],
                )
                for name, team in plan.agents
            ]
            if DEPARTING_AGENT[1] == plan.name:
                name, _, team = DEPARTING_AGENT
                self.departing = self._staff(
                    name,
                    StaffRole.AGENT,
                    department.id,
                    team_ids[team],
                    plan.name,
                    plan.teams[team],
                )
                agents.append(self.departing)
            team_agents = {
                team_id: [a for a in agents if a.principal.team_id == team_id]
                for team_id in team_ids
            }
            self.departments.append(
                DemoDepartment(plan, department.id, team_ids, lead, agents, team_agents)
            )
        for i, name in enumerate(CUSTOMERS):
            email = _email(name, CUSTOMER_DOMAINS[i % len(CUSTOMER_DOMAINS)])
            account = self.services.auth.register(
                Register(email=email, password=self.password, display_name=name)
            )
            self._person(
                account.user.id,
                name,
                email,
                Principal(account.user.id, Role.CUSTOMER),
                customer=True,
            )

    def _staff(
        self,
        name: str,
        role: StaffRole,
        department_id: uuid.UUID,
        team_id: uuid.UUID | None,
        department: str,
        team: str | None,
    ) -> Person:
        profile = self.services.org.create_staff(
            SYSTEM_OPERATOR,
            CreateStaff(
                email=_email(name, STAFF_DOMAIN),
                display_name=name,
                password=self.password,
                role=role,
                department_id=department_id,
                team_id=team_id,
            ),
        )
        person = self._person(
            profile.user.id,
            name,
            profile.user.email,
            _staff_principal(profile.user.id, role, department_id, team_id),
        )
        person.department, person.team = department, team
        return person

    def _person(
        self,
        user_id: uuid.UUID,
        name: str,
        email: str,
        principal: Principal,
        customer: bool = False,
    ) -> Person:
        person = Person(principal, name, email)
        self.people[user_id] = person
        if customer:
            self.customers.append(person)
        self.on_account()
        return person

    def farewell(self) -> None:
        """The departing agent leaves half-way through the timeline."""
        if self.departing is None:
            return
        self.clock.current = self.now - timedelta(days=TIMELINE_DAYS / 2)
        self.services.org.update_staff(
            SYSTEM_OPERATOR, self.departing.principal.user_id, UpdateStaff(active=False)
        )

    # ------------------------------------------------------------ tickets


def sample_emails() -> list[str]:
    """The email of every sample account, staff first."""
    names = [ADMIN_NAME, DEPARTING_AGENT[0]]
    for plan in DEPARTMENTS:
        names += [plan.lead, *(name for name, _ in plan.agents)]
    emails = [_email(name, STAFF_DOMAIN) for name in names]
    emails += [
        _email(n, CUSTOMER_DOMAINS[i % len(CUSTOMER_DOMAINS)]) for i, n in enumerate(CUSTOMERS)
    ]
    return emails


def sample_staff_count() -> int:
    """The sample's staff accounts: the administrator, each department's lead and agents,
    and the agent who leaves."""
    return 1 + sum(1 + len(plan.agents) for plan in DEPARTMENTS) + 1
