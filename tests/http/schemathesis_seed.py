"""The seeded helpdesk the schemathesis runs fuzz (split from schemathesis_support.py, which
keeps the stage and how both runs fuzz): every kind of thing the API names, one of each at
least, so generated requests reach real ids."""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path
from typing import Any

from entrypoints.bootstrap import Services
from helpdesk_core.domain.canned import CannedScope
from helpdesk_core.domain.macros import MacroScope
from helpdesk_core.domain.mail import InboundVia
from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from helpdesk_core.domain.values import StaffRole
from helpdesk_core.usecases.auth import Login, Register
from helpdesk_core.usecases.calendars import CreateCalendar
from helpdesk_core.usecases.canned import CreateCannedResponse
from helpdesk_core.usecases.macros import CreateMacro
from helpdesk_core.usecases.mail.mailboxes import CreateMailbox
from helpdesk_core.usecases.org import CreateDepartment, CreateStaff, CreateTeam
from helpdesk_core.usecases.sla import SlaPolicyInput
from helpdesk_core.usecases.tickets import ChangeTags, OpenTicket, PostMessage
from helpdesk_core.usecases.webhooks import CreateWebhook
from tests.http.schemathesis_support import (
    PASSWORD,
    STAGE_ADDRESS,
    Seed,
    Seeded,
    Stage,
    open_services,
)

STRANGERS_MAIL = (
    b"From: A Stranger <stranger@elsewhere.example.org>\r\n"
    b"To: support@stage.example.com\r\n"
    b"Subject: Who reads this?\r\n"
    b"Message-ID: <stranger-1@elsewhere.example.org>\r\n\r\n"
    b"Hello?\r\n"
)


def seed(template: Path) -> Seed:
    """Seed the migrated SQLite file ``template``: two departments with a team each, one
    account per role (and a spare agent), tickets of the customer, a webhook, a calendar and
    a policy, a mailbox with a held message."""
    services = open_services(f"sqlite:///{template}")
    try:
        return _seed(services, template)
    finally:
        services.close()


def seed_live(database_url: str, **changes: Any) -> Stage:
    """Seed the migrated database a live server serves, as ``seed`` seeds a file, and the
    stage that restores its role accounts and logs them in; ``changes`` are the settings it
    shares with the server (its Redis and prefix, its signing keys)."""
    services = open_services(database_url, **changes)
    try:
        return Stage(services, None, _seed(services, None), None)
    except BaseException:
        services.close()
        raise


def _seed(services: Services, template: Path | None) -> Seed:
    org, op = services.org, SYSTEM_OPERATOR
    billing = org.create_department(op, CreateDepartment(name="Billing"))
    sales = org.create_department(op, CreateDepartment(name="Sales", auto_assign=True))
    tier1 = org.create_team(op, CreateTeam(name="Tier 1", department_id=billing.id))
    tier2 = org.create_team(op, CreateTeam(name="Tier 2", department_id=sales.id))

    def staff(role: str, email: str, team: uuid.UUID | None) -> Seeded:
        department = None if role == "admin" else billing.id
        profile = org.create_staff(
            op,
            CreateStaff(
                email=email,
                display_name=role.title(),
                password=PASSWORD,
                role=StaffRole(role),
                department_id=department,
                team_id=team,
            ),
        )
        return Seeded(email, profile.user.id, StaffRole(role), department, team)

    accounts = {
        "agent": staff("agent", "agent@stage.example.com", tier1.id),
        "lead": staff("lead", "lead@stage.example.com", None),
        "admin": staff("admin", "admin@stage.example.com", None),
    }
    # A staff member the run may change at will (the role accounts are restored when changed).
    spare = staff("agent", "spare-agent@stage.example.com", tier1.id)
    customer = services.auth.register(
        Register(email="customer@stage.example.com", password=PASSWORD, display_name="Cus")
    )
    accounts["customer"] = Seeded(customer.user.email, customer.user.id, None, None, None)
    # A customer the run may deactivate, erase and unlock at will (/admin/customers).
    spare_customer = services.auth.register(
        Register(email="spare-customer@stage.example.com", password=PASSWORD, display_name="Sp")
    )

    as_customer = services.auth.authenticate(
        services.auth.login(
            Login(customer.user.email, PASSWORD, client_address=STAGE_ADDRESS)
        ).access_token
    )
    tickets = [
        services.tickets.open_ticket(
            as_customer,
            OpenTicket(subject=f"Ticket {n}", description="It broke.", department_id=dept),
            None,
        ).ticket
        for n, dept in enumerate((billing.id, billing.id, None))
    ]
    services.tickets.post_message(as_customer, tickets[0].id, PostMessage("More detail."))
    hook = services.webhooks.create(
        op, CreateWebhook(url="https://hooks.example.com/helpdesk", events=("*",))
    )
    office = services.calendars.create(
        op,
        CreateCalendar(
            "Office",
            "Europe/Berlin",
            tuple((day, "09:00", "17:00") for day in ("mon", "tue", "wed", "thu", "fri")),
            ((date(2026, 12, 24), "Christmas Eve"),),
        ),
    )
    policy = services.sla.create(
        op,
        SlaPolicyInput(
            name="Billing",
            department_ids=(billing.id,),
            calendar_id=office.id,
            targets={"urgent": {"first_response": 30, "next_response": 60, "resolution": 480}},
            warn_before=15,
        ),
    )
    # A mailbox that holds unknown senders, and one message of a stranger held at it: the
    # received-mail list has something to show.
    support = services.mailboxes.create(
        op,
        CreateMailbox(
            "Support", "support@stage.example.com", department_id=billing.id, unknown_senders="hold"
        ),
    )
    services.mail_intake.receive(support.id, STRANGERS_MAIL, InboundVia.LIBRARY)
    services.mail.process_pending()
    # A canned response every member of the staff may use (and render on their tickets).
    greeting = services.canned.create(
        op,
        CreateCannedResponse(
            "Greeting", 'Hi {{ customer.first_name | default("there") }}', CannedScope.EVERYONE
        ),
    )
    # A macro every member of the staff may apply.
    macro = services.macros.create(
        op, CreateMacro("Take it", [{"action": "assign_to_me"}], MacroScope.EVERYONE)
    )
    # Two tags on the first ticket: one to rename, one to merge into.
    services.tickets.change_tags(op, tickets[0].id, ChangeTags(("vip", "gold")))
    vip, gold = (count.tag.id for name in ("vip", "gold") for count in services.tags.list(op, name))
    ids = {
        "department_id": [str(billing.id), str(sales.id)],
        "team_id": [str(tier1.id), str(tier2.id)],
        "staff_id": [str(spare.user_id)],
        "agent_id": [str(spare.user_id), str(accounts["agent"].user_id)],
        "assignee_id": [str(accounts["agent"].user_id), "me"],
        "ticket_id": [str(t.id) for t in tickets],
        "webhook_id": [str(hook.webhook.id)],
        "customer_id": [str(spare_customer.user.id)],
        "calendar_id": [str(office.id)],
        "policy_id": [str(policy.id)],
        "mailbox_id": [str(support.id)],
        "canned_id": [str(greeting.id)],
        "macro_id": [str(macro.id)],
        "tag_id": [str(vip), str(gold)],
        "other_tag_id": [str(gold)],
    }
    return Seed(template, accounts, ids, (billing.id, tier1.id))
