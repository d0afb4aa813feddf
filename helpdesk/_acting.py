"""``Acting``: every operation of the REST API, as one user (or the system) performs it."""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from helpdesk._acting_macros import MacroActing
from helpdesk._acting_work import WorkActing
from helpdesk._errors import domain_errors_only
from helpdesk_core.domain.calendars import Calendar
from helpdesk_core.domain.canned import CannedResponse, RenderedResponse
from helpdesk_core.domain.entities import Department, Team, User
from helpdesk_core.domain.errors import NotFound
from helpdesk_core.domain.events import Event
from helpdesk_core.domain.followers import TicketFollowers
from helpdesk_core.domain.mail import InboundEmail, InboundStatus, Mailbox
from helpdesk_core.domain.mail_fetch import MailboxImap
from helpdesk_core.domain.principal import Principal
from helpdesk_core.domain.sla import SlaPolicy
from helpdesk_core.domain.tags import TagCount
from helpdesk_core.domain.values import Role
from helpdesk_core.domain.views import (
    Account,
    HistoryView,
    MessageView,
    StaffProfile,
    TicketDetail,
    TicketView,
)
from helpdesk_core.ports.events import DeliveryCursor, Webhook, WebhookDelivery
from helpdesk_core.ports.repositories import CustomerFilter, StaffFilter
from helpdesk_core.ports.tickets import QueueCounts, TicketPage, TicketQuery
from helpdesk_core.usecases.auth import ChangePassword, UpdateProfile
from helpdesk_core.usecases.calendars import CreateCalendar, UpdateCalendar
from helpdesk_core.usecases.canned import (
    CannedResponseQuery,
    CreateCannedResponse,
    UpdateCannedResponse,
)
from helpdesk_core.usecases.customers import CustomerCursor, CustomerPage
from helpdesk_core.usecases.host_users import EnsureCustomer, EnsureStaff
from helpdesk_core.usecases.mail.imap_settings import SetMailboxImap
from helpdesk_core.usecases.mail.mailboxes import CreateMailbox, MailboxSecret, UpdateMailbox
from helpdesk_core.usecases.org import (
    CreateDepartment,
    CreateStaff,
    CreateTeam,
    UpdateDepartment,
    UpdateStaff,
    UpdateTeam,
)
from helpdesk_core.usecases.sla import SlaPolicyInput
from helpdesk_core.usecases.tags import RenameTag
from helpdesk_core.usecases.tickets import (
    Assign,
    ChangeTags,
    ChangeTicket,
    OpenTicket,
    PostMessage,
)
from helpdesk_core.usecases.tickets.files import AttachmentContent
from helpdesk_core.usecases.webhooks import CreatedWebhook, CreateWebhook, UpdateWebhook

if TYPE_CHECKING:
    from entrypoints.bootstrap import Services

P = ParamSpec("P")
R = TypeVar("R")


def _translated(method: Callable[P, R]) -> Callable[P, R]:
    """The method, raising only the domain's exceptions (``helpdesk._errors``)."""

    def call(*args: P.args, **kwargs: P.kwargs) -> R:
        with domain_errors_only():
            return method(*args, **kwargs)

    call.__name__ = method.__name__
    call.__qualname__ = method.__qualname__
    call.__doc__ = method.__doc__
    call.__wrapped__ = method  # type: ignore[attr-defined]
    return call


class Acting(MacroActing, WorkActing):
    """One user's (or the system's) view of the helpdesk: what they may do, as over the API.

    Made by ``Helpdesk.as_user`` or ``Helpdesk.system``, never directly. Each method is one
    operation of the REST API with the same rules: acting as a customer sees that customer's
    tickets only, and another customer's ticket is ``NotFound``, exactly as over HTTP. Every
    method takes a typed command and returns the read model the API renders (the JSON it
    sends is ``helpdesk.document(result)``). Errors are the domain's exceptions
    (``helpdesk.DomainError`` and its subclasses), never a driver's. An ``Acting`` holds no
    connection: it may be kept and used from any thread.
    """

    def __init__(self, services: Services, principal: Principal) -> None:
        self._s = services
        self._actor = principal

    def __repr__(self) -> str:
        return f"Acting(user_id={self._actor.user_id}, role={self._actor.role.value})"

    @property
    def user_id(self) -> uuid.UUID:
        """Who acts (the system's id is the nil UUID)."""
        return self._actor.user_id

    @property
    def role(self) -> Role:
        """customer, agent, lead or admin (the system acts as an admin)."""
        return self._actor.role

    # ------------------------------------------------------------ the account

    @_translated
    def me(self) -> Account:
        """The acting user's account (``GET /me``)."""
        return self._s.auth.me(self._actor)

    @_translated
    def update_me(self, command: UpdateProfile) -> Account:
        """Change the acting user's display name (``PATCH /me``)."""
        return self._s.auth.update_profile(self._actor, command)

    @_translated
    def change_password(self, command: ChangePassword) -> None:
        """Replace the password after checking the current one (``POST
        /auth/password/change``); an account without a password has no current one."""
        self._s.auth.change_password(self._actor, command)

    @_translated
    def logout(self) -> None:
        """End the session of an actor made from an access token (``Helpdesk.as_token``);
        nothing for one made otherwise, which has no session."""
        self._s.auth.logout(self._actor)

    # ------------------------------------------------------------ tickets

    @_translated
    def open_ticket(self, command: OpenTicket, idempotency_key: str | None = None) -> TicketDetail:
        """A customer opens a ticket (``POST /tickets``); the same ``idempotency_key`` with
        the same command answers the first ticket again."""
        return self._s.tickets.open_ticket(self._actor, command, idempotency_key)

    @_translated
    def list_tickets(self, query: TicketQuery | None = None) -> TicketPage:
        """A customer's own tickets, or the tickets of a staff member's scope, filtered and
        paged (``GET /tickets``, ``GET /staff/tickets``): pass ``page.next_after`` as the next
        query's ``after``."""
        return self._s.tickets.list_tickets(self._actor, query or TicketQuery())

    @_translated
    def get_ticket(self, ticket_id: uuid.UUID) -> TicketDetail:
        """One ticket with the conversation the actor may see; NotFound outside their scope."""
        return self._s.tickets.get_ticket(self._actor, ticket_id)

    @_translated
    def get_ticket_by_number(self, number: int) -> TicketDetail:
        """The ticket people quote as ``#number``; NotFound outside the actor's scope."""
        return self._s.tickets.get_ticket_by_number(self._actor, number)

    @_translated
    def messages(self, ticket_id: uuid.UUID) -> tuple[MessageView, ...]:
        """The conversation the actor may see (internal notes for staff only)."""
        return self._s.tickets.messages(self._actor, ticket_id)

    @_translated
    def post_message(self, ticket_id: uuid.UUID, command: PostMessage) -> MessageView:
        """A reply, or (staff only) an internal note (``POST .../messages``)."""
        return self._s.tickets.post_message(self._actor, ticket_id, command)

    @_translated
    def close_ticket(self, ticket_id: uuid.UUID) -> TicketView:
        """Close the ticket (``POST /tickets/{id}/close``)."""
        return self._s.tickets.close(self._actor, ticket_id)

    @_translated
    def reopen_ticket(self, ticket_id: uuid.UUID) -> TicketView:
        """Reopen a resolved or closed ticket (``POST /tickets/{id}/reopen``)."""
        return self._s.tickets.reopen(self._actor, ticket_id)

    @_translated
    def change_ticket(
        self, ticket_id: uuid.UUID, version: int, command: ChangeTicket
    ) -> TicketView:
        """Staff change status, priority, department or team of the ``version`` they saw
        (``PATCH /staff/tickets/{id}`` with If-Match); StaleVersion if it changed since."""
        return self._s.tickets.change(self._actor, ticket_id, version, command)

    @_translated
    def assign_ticket(
        self, ticket_id: uuid.UUID, command: Assign, version: int | None = None
    ) -> TicketView:
        """Assign to oneself, an agent, a team or by round robin (``POST .../assign``)."""
        return self._s.tickets.assign(self._actor, ticket_id, command, version)

    @_translated
    def change_tags(
        self, ticket_id: uuid.UUID, command: ChangeTags, version: int | None = None
    ) -> TicketView:
        """Put tags on the ticket and take tags off it, by name (``POST
        /staff/tickets/{id}/tags``); with ``version``, StaleVersion if it changed since."""
        return self._s.tickets.change_tags(self._actor, ticket_id, command, version)

    @_translated
    def list_tags(self, prefix: str | None = None) -> builtins.list[TagCount]:
        """Every tag (whose name starts with ``prefix``), by name, with how many tickets carry
        it (``GET /staff/tags``)."""
        return builtins.list(self._s.tags.list(self._actor, prefix))

    @_translated
    def get_tag(self, tag_id: uuid.UUID) -> TagCount:
        """One tag and how many tickets carry it (``GET /staff/tags/{id}``)."""
        return self._s.tags.get(self._actor, tag_id)

    @_translated
    def rename_tag(self, tag_id: uuid.UUID, version: int, command: RenameTag) -> TagCount:
        """Rename a tag of the ``version`` seen, or merge it into the tag of that name when
        ``command.merge`` (``PATCH /admin/tags/{id}``; administrators)."""
        return self._s.tags.rename(self._actor, tag_id, version, command)

    @_translated
    def merge_tag(self, tag_id: uuid.UUID, into: uuid.UUID) -> TagCount:
        """Merge a tag into another (``POST /admin/tags/{id}/merge``; administrators): the
        answer is the tag that stays."""
        return self._s.tags.merge(self._actor, tag_id, into)

    @_translated
    def ticket_history(self, ticket_id: uuid.UUID) -> tuple[HistoryView, ...]:
        """Every recorded change of the ticket (staff only)."""
        return self._s.tickets.history(self._actor, ticket_id)

    @_translated
    def ticket_followers(self, ticket_id: uuid.UUID) -> TicketFollowers:
        """Who follows the ticket, and why: its assignee first (``GET .../followers``)."""
        return self._s.tickets.followers(self._actor, ticket_id)

    @_translated
    def follow_ticket(
        self, ticket_id: uuid.UUID, user_id: uuid.UUID | None = None
    ) -> TicketFollowers:
        """Follow the ticket, or (leads, administrators) make ``user_id`` follow it (``PUT
        .../followers/me`` or ``/{user_id}``); who follows it now. Twice changes nothing."""
        return self._s.tickets.follow(self._actor, ticket_id, user_id)

    @_translated
    def unfollow_ticket(
        self, ticket_id: uuid.UUID, user_id: uuid.UUID | None = None
    ) -> TicketFollowers:
        """Stop following the ticket, or stop ``user_id`` following it (``DELETE
        .../followers/me`` or ``/{user_id}``); who follows it now (an assignee still does)."""
        return self._s.tickets.unfollow(self._actor, ticket_id, user_id)

    @_translated
    def queue_counts(self, department_id: uuid.UUID | None = None) -> QueueCounts:
        """How a department's queue stands (``GET /staff/queue-counts``)."""
        return self._s.tickets.queue_counts(self._actor, department_id)

    # ------------------------------------------------------------ the organization

    @_translated
    def list_departments(self, active: bool | None = None) -> builtins.list[Department]:
        """Every department (admins; ``GET /admin/departments``)."""
        return self._s.org.list_departments(self._actor, active)

    @_translated
    def get_department(self, department_id: uuid.UUID) -> Department:
        return self._s.org.get_department(self._actor, department_id)

    @_translated
    def create_department(self, command: CreateDepartment) -> Department:
        return self._s.org.create_department(self._actor, command)

    @_translated
    def update_department(self, department_id: uuid.UUID, command: UpdateDepartment) -> Department:
        return self._s.org.update_department(self._actor, department_id, command)

    @_translated
    def list_teams(
        self, department_id: uuid.UUID | None = None, active: bool | None = None
    ) -> builtins.list[Team]:
        return self._s.org.list_teams(self._actor, department_id, active)

    @_translated
    def get_team(self, team_id: uuid.UUID) -> Team:
        return self._s.org.get_team(self._actor, team_id)

    @_translated
    def create_team(self, command: CreateTeam) -> Team:
        return self._s.org.create_team(self._actor, command)

    @_translated
    def update_team(self, team_id: uuid.UUID, command: UpdateTeam) -> Team:
        return self._s.org.update_team(self._actor, team_id, command)

    @_translated
    def list_staff(self, where: StaffFilter | None = None) -> builtins.list[StaffProfile]:
        return self._s.org.list_staff(self._actor, where or StaffFilter())

    @_translated
    def get_staff(self, user_id: uuid.UUID) -> StaffProfile:
        return self._s.org.get_staff(self._actor, user_id)

    @_translated
    def create_staff(self, command: CreateStaff) -> StaffProfile:
        """A staff member who logs in with a password (``POST /admin/staff``)."""
        return self._s.org.create_staff(self._actor, command)

    @_translated
    def ensure_staff(self, command: EnsureStaff) -> StaffProfile:
        """The staff member the program knows by ``command.external_id``, made without a
        password the first time (see ``Helpdesk.ensure_staff``)."""
        return self._s.org.ensure_staff(self._actor, command)

    @_translated
    def update_staff(self, user_id: uuid.UUID, command: UpdateStaff) -> StaffProfile:
        return self._s.org.update_staff(self._actor, user_id, command)

    # ------------------------------------------------------------ customers

    @_translated
    def list_customers(
        self,
        where: CustomerFilter | None = None,
        after: CustomerCursor | None = None,
        limit: int = 25,
    ) -> CustomerPage:
        """Customers, oldest first (admins; ``GET /admin/customers``)."""
        return self._s.customers.list(self._actor, where or CustomerFilter(), after, limit)

    @_translated
    def get_customer(self, customer_id: uuid.UUID) -> User:
        return self._s.customers.get(self._actor, customer_id)

    @_translated
    def ensure_customer(self, command: EnsureCustomer) -> User:
        """The customer the program knows by ``command.external_id`` (see
        ``Helpdesk.ensure_customer``)."""
        return self._s.customers.ensure_customer(self._actor, command)

    @_translated
    def set_customer_active(self, customer_id: uuid.UUID, active: bool) -> User:
        """Deactivate or reactivate a customer (``PATCH /admin/customers/{id}``)."""
        return self._s.customers.set_active(self._actor, customer_id, active)

    @_translated
    def erase_customer(self, customer_id: uuid.UUID) -> User:
        """Erase a customer's personal data; their tickets stay (``POST .../erase``)."""
        return self._s.customers.erase(self._actor, customer_id)

    @_translated
    def unlock_customer(self, customer_id: uuid.UUID) -> User:
        """Lift a customer's login lockout (``POST .../unlock``)."""
        return self._s.customers.unlock(self._actor, customer_id)

    # ------------------------------------------------------------ webhooks

    @_translated
    def list_webhooks(self) -> builtins.list[Webhook]:
        return self._s.webhooks.list(self._actor)

    @_translated
    def get_webhook(self, webhook_id: uuid.UUID) -> Webhook:
        return self._s.webhooks.get(self._actor, webhook_id)

    @_translated
    def create_webhook(self, command: CreateWebhook) -> CreatedWebhook:
        """A signed-webhook endpoint; its secret is shown this once."""
        return self._s.webhooks.create(self._actor, command)

    @_translated
    def update_webhook(self, webhook_id: uuid.UUID, command: UpdateWebhook) -> Webhook:
        return self._s.webhooks.update(self._actor, webhook_id, command)

    @_translated
    def delete_webhook(self, webhook_id: uuid.UUID) -> None:
        self._s.webhooks.delete(self._actor, webhook_id)

    @_translated
    def rotate_webhook_secret(self, webhook_id: uuid.UUID) -> CreatedWebhook:
        return self._s.webhooks.rotate_secret(self._actor, webhook_id)

    @_translated
    def webhook_deliveries(
        self, webhook_id: uuid.UUID, limit: int = 25, after: DeliveryCursor | None = None
    ) -> builtins.list[WebhookDelivery]:
        """The endpoint's deliveries, newest first, each with every attempt."""
        return self._s.webhooks.deliveries(self._actor, webhook_id, limit, after)

    @_translated
    def ping_webhook(self, webhook_id: uuid.UUID) -> Event:
        """Record a ``webhook.ping`` for the one endpoint."""
        return self._s.webhooks.ping(self._actor, webhook_id)

    # ------------------------------------------------------------ canned responses

    @_translated
    def list_canned_responses(
        self, query: CannedResponseQuery | None = None
    ) -> builtins.list[CannedResponse]:
        """The canned responses the actor may use, by title (``GET /staff/canned-responses``)."""
        return builtins.list(self._s.canned.list(self._actor, query))

    @_translated
    def create_canned_response(self, command: CreateCannedResponse) -> CannedResponse:
        """A canned response (``POST /staff/canned-responses``); ValidationFailed naming
        ``body`` for an unknown or malformed placeholder."""
        return self._s.canned.create(self._actor, command)

    @_translated
    def get_canned_response(self, response_id: uuid.UUID) -> CannedResponse:
        return self._s.canned.get(self._actor, response_id)

    @_translated
    def update_canned_response(
        self, response_id: uuid.UUID, version: int, command: UpdateCannedResponse
    ) -> CannedResponse:
        """Change the ``version`` of the response the caller saw (``PATCH
        /staff/canned-responses/{id}`` with If-Match); StaleVersion if it changed since."""
        return self._s.canned.update(self._actor, response_id, version, command)

    @_translated
    def deactivate_canned_response(
        self, response_id: uuid.UUID, version: int | None = None
    ) -> CannedResponse:
        """Deactivate it; nothing is deleted (``DELETE /staff/canned-responses/{id}``)."""
        return self._s.canned.deactivate(self._actor, response_id, version)

    @_translated
    def render_canned_response(
        self, response_id: uuid.UUID, ticket_id: uuid.UUID, format: str = "text"
    ) -> RenderedResponse:
        """The response filled in for the ticket, values escaped for ``format`` ("text" or
        "html"); counts a use and sends nothing (``POST .../render``)."""
        return self._s.canned.render(self._actor, response_id, ticket_id, format)

    @_translated
    def set_signature(self, signature: str | None) -> StaffProfile:
        """Set (None: remove) one's own signature (``PUT /staff/me/signature``)."""
        return self._s.canned.set_signature(self._actor, signature)

    # ------------------------------------------------------------ business calendars

    @_translated
    def list_calendars(self, active: bool | None = None) -> builtins.list[Calendar]:
        """Every business calendar, by name (admins; ``GET /admin/calendars``)."""
        return builtins.list(self._s.calendars.list(self._actor, active))

    @_translated
    def get_calendar(self, calendar_id: uuid.UUID) -> Calendar:
        return self._s.calendars.get(self._actor, calendar_id)

    @_translated
    def create_calendar(self, command: CreateCalendar) -> Calendar:
        """A calendar with its working intervals and holidays, a country's public holidays
        among them when ``command.public_holidays`` asks (``POST /admin/calendars``)."""
        return self._s.calendars.create(self._actor, command)

    @_translated
    def update_calendar(
        self, calendar_id: uuid.UUID, version: int, command: UpdateCalendar
    ) -> Calendar:
        """Change the ``version`` of the calendar the caller saw, ``UpdateCalendar(active=False)``
        deactivating it (``PATCH /admin/calendars/{id}`` with If-Match); StaleVersion if it
        changed since."""
        return self._s.calendars.update(self._actor, calendar_id, version, command)

    @_translated
    def compute_due_at(self, calendar_id: uuid.UUID, start: datetime, minutes: int) -> datetime:
        """The instant (UTC) ``minutes`` of business time after ``start`` end on the calendar
        (``POST /admin/calendars/{id}/compute``); ``start`` needs its UTC offset."""
        return self._s.calendars.compute(self._actor, calendar_id, start, minutes)

    # ------------------------------------------------------------ service-level policies

    @_translated
    def list_sla_policies(self, active: bool | None = None) -> builtins.list[SlaPolicy]:
        """Every service-level policy, in the order they match: by position, then name
        (admins; ``GET /admin/sla-policies``)."""
        return builtins.list(self._s.sla.list(self._actor, active))

    @_translated
    def get_sla_policy(self, policy_id: uuid.UUID) -> SlaPolicy:
        return self._s.sla.get(self._actor, policy_id)

    @_translated
    def create_sla_policy(self, command: SlaPolicyInput) -> SlaPolicy:
        """A policy from ``command`` (``name`` required; targets as JSON gives them:
        ``{"urgent": {"first_response": 30}}``), governing the tickets opened or re-routed from
        now on (``POST /admin/sla-policies``); ``recalc_sla`` applies it to open tickets."""
        return self._s.sla.create(self._actor, command)

    @_translated
    def update_sla_policy(
        self, policy_id: uuid.UUID, version: int, command: SlaPolicyInput
    ) -> SlaPolicy:
        """Change the ``version`` of the policy the caller saw: the parts ``command`` gives
        (None keeps one; ``clear_calendar=True`` counts around the clock again), and
        ``active=False`` deactivates it (``PATCH /admin/sla-policies/{id}`` with If-Match);
        StaleVersion if it changed since. Its open tickets are recomputed."""
        return self._s.sla.update(self._actor, policy_id, version, command)

    @_translated
    def recalc_sla(self) -> int:
        """Re-match every ticket still owed something, and every open one without a policy,
        against the policies in force; how many tickets were looked at
        (``POST /admin/sla/recalc``)."""
        return self._s.sla.recalc(self._actor)

    # ------------------------------------------------------------ mailboxes

    @_translated
    def list_mailboxes(self, active: bool | None = None) -> builtins.list[Mailbox]:
        """Every mailbox the helpdesk receives mail at, by name (admins;
        ``GET /admin/mailboxes``)."""
        return builtins.list(self._s.mailboxes.list(self._actor, active))

    @_translated
    def get_mailbox(self, mailbox_id: uuid.UUID) -> Mailbox:
        return self._s.mailboxes.get(self._actor, mailbox_id)

    @_translated
    def create_mailbox(self, command: CreateMailbox) -> Mailbox:
        """A mailbox receiving mail at ``command.address``, routing new mail to
        ``command.department_id`` (None: unrouted) (``POST /admin/mailboxes``); Conflict when
        the name or the address is another mailbox's."""
        return self._s.mailboxes.create(self._actor, command)

    @_translated
    def update_mailbox(
        self, mailbox_id: uuid.UUID, version: int, command: UpdateMailbox
    ) -> Mailbox:
        """Change the ``version`` of the mailbox the caller saw: the parts ``command`` gives
        (None keeps one; ``department_id`` only with ``change_department=True``, so that None
        there unroutes new mail), ``active=False`` deactivating it (``PATCH
        /admin/mailboxes/{id}`` with If-Match); StaleVersion if it changed since."""
        return self._s.mailboxes.update(self._actor, mailbox_id, version, command)

    @_translated
    def deactivate_mailbox(self, mailbox_id: uuid.UUID, version: int) -> Mailbox:
        """``update_mailbox`` with ``UpdateMailbox(active=False)``: mail to it is refused from
        then on; nothing is deleted."""
        return self._s.mailboxes.deactivate(self._actor, mailbox_id, version)

    @_translated
    def received_mail(
        self,
        mailbox_id: uuid.UUID | None = None,
        status: InboundStatus | None = None,
        limit: int = 50,
    ) -> builtins.list[InboundEmail]:
        """The latest received messages, newest first, of one mailbox or all, in one status
        or any (``InboundStatus.HELD``: what waits for review); ``limit`` from 1 to 200
        (``GET /admin/received-mail``)."""
        found = self._s.mailboxes.received(
            self._actor, mailbox_id=mailbox_id, status=status, limit=limit
        )
        return builtins.list(found)

    @_translated
    def rotate_mailbox_secret(self, mailbox_id: uuid.UUID) -> MailboxSecret:
        """A new secret for mail a provider POSTs to the mailbox, in the result and nowhere
        else; the old one stops working (``POST /admin/mailboxes/{id}/inbound-secret``)."""
        return self._s.mailboxes.rotate_inbound_secret(self._actor, mailbox_id)

    @_translated
    def mailbox_imap(self, mailbox_id: uuid.UUID) -> MailboxImap:
        """Where the worker fetches the mailbox's mail over IMAP, and how far it got
        (``GET /admin/mailboxes/{id}/imap``); NotFound when it has no IMAP settings. Its
        ``password`` is sealed, and ``helpdesk.document`` leaves it out."""
        return self._s.mailbox_imap.get(self._actor, mailbox_id)

    @_translated
    def set_mailbox_imap(self, mailbox_id: uuid.UUID, command: SetMailboxImap) -> MailboxImap:
        """Store the mailbox's IMAP settings, whole (``PUT /admin/mailboxes/{id}/imap``):
        ``command.password`` None keeps the stored one (the first settings need one). Nothing
        connects to the server: the worker's next poll uses them."""
        return self._s.mailbox_imap.set(self._actor, mailbox_id, command)

    @_translated
    def clear_mailbox_imap(self, mailbox_id: uuid.UUID) -> None:
        """Forget the mailbox's IMAP settings: its mail is no longer fetched (``DELETE
        /admin/mailboxes/{id}/imap``); NotFound when it has none."""
        if not self._s.mailbox_imap.clear(self._actor, mailbox_id):
            raise NotFound("the mailbox has no IMAP settings")

    @_translated
    def attachment_content(self, attachment_id: uuid.UUID) -> AttachmentContent:
        """A stored attachment and its bytes, when the caller may see its ticket (and its
        message); NotFound otherwise (``GET /attachments/{id}/content``)."""
        return self._s.files.content(self._actor, attachment_id)
