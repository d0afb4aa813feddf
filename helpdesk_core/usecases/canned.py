"""Canned responses, and the signature staff sign replies with.

Staff write responses for themselves (``personal``), leads for a team or a department of
their own, administrators for any team or department and for everyone (``may_manage``). A
response the caller may not use (``may_use``) is NotFound on every method, as an out-of-scope
ticket is; one they may use but not change is PermissionDenied when they try.

A body is checked when it is saved: an unknown placeholder or a malformed ``{{ ... }}`` is
ValidationFailed naming ``body`` and the placeholder. Rendering fills a response in for one
ticket the caller can see (``render``): the customer is the ticket's requester, the agent the
caller. It counts a use (``usage_count``, added in the store itself) and sends nothing: the
draft goes back to the caller, who edits and posts it as any reply. ``render_for_ticket`` is
the same filling-in for other use cases, inside their own transaction.

A change names the version the caller saw, as for calendars: without one PreconditionRequired,
another StaleVersion; the command is checked first, so a bad one is ValidationFailed whatever
version it names.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import attrs

from helpdesk_core.domain.canned import (
    CannedResponse,
    CannedScope,
    RenderedResponse,
    may_manage,
    may_use,
)
from helpdesk_core.domain.entities import is_erased
from helpdesk_core.domain.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    PreconditionRequired,
    ValidationFailed,
    stale_version,
)
from helpdesk_core.domain.principal import SYSTEM_OPERATOR, Principal
from helpdesk_core.domain.templates import ESCAPES, first_name, parse_template, render
from helpdesk_core.domain.values import Role, clean_body
from helpdesk_core.domain.views import StaffProfile, TicketView
from helpdesk_core.policies import require_staff
from helpdesk_core.ports.canned import CannedReach
from helpdesk_core.ports.system import Clock, IdGenerator
from helpdesk_core.ports.uow import Transaction, UnitOfWork
from helpdesk_core.usecases.tickets.scope import can_see

SIGNATURE_MAX = 2000
FORMATS = tuple(ESCAPES)  # what a draft may be rendered for: "text", "html"


@attrs.frozen
class CreateCannedResponse:
    """A new response. ``team_id`` for a team's, ``department_id`` for a department's, neither
    for a personal one (the caller's own) or everyone's."""

    title: str
    body: str
    scope: CannedScope = CannedScope.PERSONAL
    shortcut: str | None = None
    team_id: uuid.UUID | None = None
    department_id: uuid.UUID | None = None


@attrs.frozen
class UpdateCannedResponse:
    """A change of a response: each part given replaces the stored one, None keeps it; a
    ``shortcut`` of ``""`` removes it; ``active`` False deactivates, True brings it back. Its
    scope never changes (make a new response instead)."""

    title: str | None = None
    body: str | None = None
    shortcut: str | None = None
    active: bool | None = None


@attrs.frozen
class CannedResponseQuery:
    """Which usable responses to list: of one ``scope``, whose title or shortcut contains
    ``q`` (any case), active ones unless ``active`` says otherwise (None: both)."""

    scope: CannedScope | None = None
    q: str | None = None
    active: bool | None = True


@attrs.define
class CannedResponseService:
    """Writing, finding and rendering canned responses; setting one's signature."""

    _uow: UnitOfWork
    _clock: Clock
    _ids: IdGenerator

    def create(self, actor: Principal, command: CreateCannedResponse) -> CannedResponse:
        """A new active response; ValidationFailed names the field (``body``: an unknown or
        malformed placeholder), PermissionDenied when the caller may not write for its
        holder."""
        require_staff(actor, "write canned responses")
        holder = _holder_of(actor, command)
        response = CannedResponse.create(
            self._ids.new_id(),
            command.title,
            command.body,
            command.scope,
            self._clock.now(),
            shortcut=command.shortcut or None,
            holder=holder,
            created_by=None if _is_operator(actor) else actor.user_id,
        )
        with self._uow.begin() as tx:
            if command.scope is CannedScope.PERSONAL and tx.staff.get(actor.user_id) is None:
                raise ValidationFailed.field("scope", "only staff members own personal responses")
            department = _holder_department(tx, command.scope, holder)
            if not may_manage(actor, command.scope, holder, department):
                raise PermissionDenied(_who_writes(command.scope))
            tx.canned_responses.add(response)
            tx.commit()
        return response

    def list(
        self, actor: Principal, query: CannedResponseQuery | None = None
    ) -> Sequence[CannedResponse]:
        """The responses the caller may use, by title then id, filtered by ``query``."""
        require_staff(actor, "use canned responses")
        query = query or CannedResponseQuery()
        with self._uow.begin(read_only=True) as tx:
            found = tx.canned_responses.list(_reach(tx, actor, query))
        needle = (query.q or "").strip().casefold()
        if not needle:
            return found
        return [
            r
            for r in found
            if needle in r.title.casefold() or needle in (r.shortcut or "").casefold()
        ]

    def get(self, actor: Principal, response_id: uuid.UUID) -> CannedResponse:
        require_staff(actor, "use canned responses")
        with self._uow.begin(read_only=True) as tx:
            return _usable(tx, actor, response_id)

    def update(
        self,
        actor: Principal,
        response_id: uuid.UUID,
        expected_version: int | None,
        command: UpdateCannedResponse,
    ) -> CannedResponse:
        """The response with the command's parts replaced, one version on. A bad command:
        ValidationFailed, whatever the version; then no version: PreconditionRequired, another
        one: StaleVersion. A command that changes nothing answers the stored response."""
        require_staff(actor, "change canned responses")
        with self._uow.begin() as tx:
            current = _managed(tx, actor, response_id)
            updated = current.revised(
                self._clock.now(),
                title=command.title,
                body=command.body,
                shortcut=command.shortcut or None,
                clear_shortcut=command.shortcut == "",
                is_active=command.active,
            )
            if expected_version is None:
                raise PreconditionRequired(
                    "send If-Match with the canned response's ETag to change it"
                )
            if current.version != expected_version:
                raise stale_version("canned response", expected_version + 1)
            if updated.same_content(current):
                return current
            tx.canned_responses.update(updated)
            tx.commit()
        return updated

    def deactivate(
        self, actor: Principal, response_id: uuid.UUID, expected_version: int | None = None
    ) -> CannedResponse:
        """The response, no longer listed or rendered; nothing is deleted. With
        ``expected_version``, StaleVersion when it moved on; an inactive one answers as is."""
        require_staff(actor, "change canned responses")
        with self._uow.begin() as tx:
            current = _managed(tx, actor, response_id)
            if expected_version is not None and current.version != expected_version:
                raise stale_version("canned response", expected_version + 1)
            if not current.is_active:
                return current
            updated = current.revised(self._clock.now(), is_active=False)
            tx.canned_responses.update(updated)
            tx.commit()
        return updated

    def render(
        self,
        actor: Principal,
        response_id: uuid.UUID,
        ticket_id: uuid.UUID,
        format: str = "text",
    ) -> RenderedResponse:
        """The response filled in for the ticket (which the caller must see: NotFound
        otherwise), values escaped for ``format`` ("text" or "html"); one more use counted,
        nothing sent. Conflict for a deactivated response."""
        require_staff(actor, "use canned responses")
        if format not in ESCAPES:
            raise ValidationFailed.field("format", f"must be one of {', '.join(FORMATS)}")
        with self._uow.begin() as tx:
            response = _usable(tx, actor, response_id)
            if not response.is_active:
                raise Conflict("the canned response is deactivated")
            view = tx.tickets.get(ticket_id)
            if view is None or not can_see(actor, view.ticket):
                raise NotFound("no such ticket")
            rendered = render_for_ticket(tx, actor, response.body, view, format)
            tx.canned_responses.count_use(response_id)
            tx.commit()
        return rendered

    def set_signature(self, actor: Principal, signature: str | None) -> StaffProfile:
        """Set (or with None or blank text, remove) the caller's own signature, shown to
        canned responses as ``agent.signature``; the caller's staff profile, one version on
        when it changed."""
        require_staff(actor, "sign replies")
        text = None
        if signature is not None and signature.strip():
            text = clean_body(signature, "signature", max_length=SIGNATURE_MAX)
        with self._uow.begin() as tx:
            staff = tx.staff.get(actor.user_id)
            user = tx.users.get(actor.user_id) if staff is not None else None
            if staff is None or user is None:
                raise NotFound("no such staff member")
            if staff.signature == text:
                return StaffProfile(user, staff)
            updated = attrs.evolve(
                staff, signature=text, updated_at=self._clock.now(), version=staff.version + 1
            )
            tx.staff.update(updated)
            tx.commit()
        return StaffProfile(user, updated)


def render_for_ticket(
    tx: Transaction, actor: Principal, template: str, ticket_view: TicketView, format: str = "text"
) -> RenderedResponse:
    """``template`` filled in for the ticket of ``ticket_view``, inside the open ``tx``: the
    customer is the requester (an erased one has no values), the agent is ``actor``, values
    escaped for ``format`` ("text": as they are; "html": HTML-escaped). ValidationFailed for a
    template that does not parse or an unknown format; reads only what the template names."""
    escape = ESCAPES.get(format)
    if escape is None:
        raise ValidationFailed.field("format", f"must be one of {', '.join(FORMATS)}")
    parsed = parse_template(template)
    paths = {placeholder.path for placeholder in parsed.placeholders}
    ticket = ticket_view.ticket
    values: dict[str, str | None] = {
        "ticket.number": str(ticket.number),
        "ticket.subject": ticket.subject,
        "ticket.status": ticket.status.value,
        "department.name": ticket_view.names.department if ticket.department_id else None,
    }
    if paths & {"customer.name", "customer.first_name", "customer.email"}:
        customer = tx.users.get(ticket.requester_id)
        if customer is not None and not is_erased(customer):
            values["customer.name"] = customer.display_name
            values["customer.first_name"] = first_name(customer.display_name)
            values["customer.email"] = customer.email
    if paths & {"agent.name", "agent.first_name"}:
        agent = tx.users.get(actor.user_id)
        if agent is not None:
            values["agent.name"] = agent.display_name
            values["agent.first_name"] = first_name(agent.display_name)
    if "agent.signature" in paths:
        staff = tx.staff.get(actor.user_id)
        values["agent.signature"] = staff.signature if staff is not None else None
    text, unresolved = render(parsed, values, escape)
    return RenderedResponse(text, unresolved)


# ---------------------------------------------------------------- helpers


def _is_operator(actor: Principal) -> bool:
    """Whether ``actor`` is the terminal's operator, who is no user."""
    return actor.user_id == SYSTEM_OPERATOR.user_id


def _holder_of(actor: Principal, command: CreateCannedResponse) -> uuid.UUID | None:
    """The owner, team or department the command's scope names; ValidationFailed names
    ``team_id`` or ``department_id`` when missing for its scope or given for another."""
    wanted = {CannedScope.TEAM: "team_id", CannedScope.DEPARTMENT: "department_id"}
    given = {"team_id": command.team_id, "department_id": command.department_id}
    for field, value in given.items():
        if wanted.get(command.scope) == field and value is None:
            raise ValidationFailed.field(field, f"is required for a {command.scope.value} response")
        if wanted.get(command.scope) != field and value is not None:
            raise ValidationFailed.field(field, f"has no place in a {command.scope.value} response")
    if command.scope is CannedScope.PERSONAL:
        return actor.user_id
    return command.team_id or command.department_id


def _holder_department(
    tx: Transaction, scope: CannedScope, holder: uuid.UUID | None
) -> uuid.UUID | None:
    """The department of a team's or a department's response (the holder checked: an
    unknown or inactive one is ValidationFailed naming its field)."""
    if scope is CannedScope.TEAM and holder is not None:
        team = tx.teams.get(holder)
        if team is None or not team.is_active:
            raise ValidationFailed.field("team_id", "no such team")
        return team.department_id
    if scope is CannedScope.DEPARTMENT and holder is not None:
        department = tx.departments.get(holder)
        if department is None or not department.is_active:
            raise ValidationFailed.field("department_id", "no such department")
        return department.id
    return None


def _who_writes(scope: CannedScope) -> str:
    if scope is CannedScope.EVERYONE:
        return "only administrators may write canned responses for everyone"
    return (
        f"only the leads of its department and administrators may write a {scope.value}'s "
        "canned responses"
    )


def _team_department(tx: Transaction, response: CannedResponse) -> uuid.UUID | None:
    if response.team_id is None:
        return None
    team = tx.teams.get(response.team_id)
    return team.department_id if team is not None else None


def usable_response(tx: Transaction, actor: Principal, response_id: uuid.UUID) -> CannedResponse:
    """The response, when ``actor`` may use it (NotFound otherwise), for other use cases that
    reply with one (a macro's ``reply_canned``)."""
    return _usable(tx, actor, response_id)


def _usable(tx: Transaction, actor: Principal, response_id: uuid.UUID) -> CannedResponse:
    """The response, when ``actor`` may use it; NotFound otherwise."""
    response = tx.canned_responses.get(response_id)
    if response is None or not may_use(actor, response, _team_department(tx, response)):
        raise NotFound("no such canned response")
    return response


def _managed(tx: Transaction, actor: Principal, response_id: uuid.UUID) -> CannedResponse:
    """The response, when ``actor`` may change it: NotFound when they may not even use it,
    PermissionDenied when they may only use it."""
    response = _usable(tx, actor, response_id)
    holder = response.owner_id or response.team_id or response.department_id
    department = (
        _team_department(tx, response)
        if response.scope is CannedScope.TEAM
        else response.department_id
    )
    if not may_manage(actor, response.scope, holder, department):
        raise PermissionDenied(_who_writes(response.scope))
    return response


def _reach(tx: Transaction, actor: Principal, query: CannedResponseQuery) -> CannedReach:
    """What ``actor`` may use (``may_use``, as a filter the store applies)."""
    if actor.role is Role.ADMIN:
        teams, departments = None, None
    else:
        teams = {actor.team_id} if actor.team_id else set()
        if actor.role is Role.LEAD and actor.department_id is not None:
            teams |= {team.id for team in tx.teams.list(department_id=actor.department_id)}
        departments = {actor.department_id} if actor.department_id else set()
    return CannedReach(
        owner_id=actor.user_id,
        team_ids=None if teams is None else frozenset(teams),
        department_ids=None if departments is None else frozenset(departments),
        scope=query.scope,
        active=query.active,
    )
