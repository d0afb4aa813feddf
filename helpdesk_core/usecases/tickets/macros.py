"""Applying macros to a ticket, and bulk actions on many.

A macro's steps (``domain/macros.py``) run in ONE transaction, each through the use case step
a person would take by hand (``_change_in``, ``_assign_in``, ``_retag``, ``_post``, the
followers'), so each is checked against the caller's permissions and writes the history and
events a change by hand writes; the first refusal ends the transaction and nothing of the
macro remains: no change, no history, no event (events are rows of the outbox, so mail and
webhooks go out only after the commit). The history entries of one application share a group
(``HistoryEntry.group_id``), the first naming the macro (field ``macro``).

A bulk action applies a macro, or a list of actions in the macros' grammar, to up to 100
tickets, each in a transaction of its own: each succeeds or fails alone, and the answer says
which and why. ``dry_run`` runs each transaction and rolls it back: the answer shows what
would be, nothing is kept. An Idempotency-Key is claimed before the work and the answer's
outcomes stored after it (``request_answers``): the same key and request replays them (each
ticket as it stands now); another request with the key is a Conflict, and so is the key of a
request still running.
"""

from __future__ import annotations

import copy
import hashlib
import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import attrs

from helpdesk_core.domain.bulk import BulkError, BulkItem, BulkResult, error_of
from helpdesk_core.domain.errors import (
    Conflict,
    DomainError,
    FieldError,
    NotFound,
    PreconditionRequired,
    StaleVersion,
    ValidationFailed,
)
from helpdesk_core.domain.macros import Action, Macro, Step, may_apply, parse_steps
from helpdesk_core.domain.principal import SYSTEM_OPERATOR, Principal
from helpdesk_core.domain.values import MessageVisibility, TicketPriority, TicketStatus, unstorable
from helpdesk_core.domain.views import TicketView
from helpdesk_core.policies import require_staff
from helpdesk_core.ports.uow import Transaction

# The module, not its names: usecases/canned.py imports this package (tickets.scope) first.
from helpdesk_core.usecases import canned
from helpdesk_core.usecases.tickets.assignment import Assignment
from helpdesk_core.usecases.tickets.base import HISTORY_GROUP
from helpdesk_core.usecases.tickets.commands import Assign, ChangeTicket, body_text
from helpdesk_core.usecases.tickets.conversation import Conversation
from helpdesk_core.usecases.tickets.lifecycle import Lifecycle
from helpdesk_core.usecases.tickets.tagging import Tagging

BULK_MAX = 100  # tickets one bulk action names
IDEMPOTENCY_KEY_MAX = 200


@attrs.frozen
class BulkTicket:
    """A ticket of a bulk action; with ``version``, only that version is changed."""

    id: uuid.UUID
    version: int | None = None


@attrs.frozen
class BulkAction:
    """What a bulk action does to each of ``tickets``: the macro ``macro_id``, or ``actions``
    (a list in the macros' grammar: ``[{"action": "set_status", "value": "pending"}]``)."""

    tickets: tuple[BulkTicket, ...]
    macro_id: uuid.UUID | None = None
    actions: Sequence[Any] | None = None
    dry_run: bool = False


class Applying(Conversation, Lifecycle, Tagging, Assignment):
    """``apply_macro`` and ``bulk`` (the steps of every other capability, mixed in)."""

    def apply_macro(
        self,
        actor: Principal,
        ticket_id: uuid.UUID,
        macro_id: uuid.UUID,
        expected_version: int | None,
    ) -> TicketView:
        """Every step of the macro on the version of the ticket the caller saw, in one
        transaction, or none of them. NotFound for a macro the caller may not apply."""
        require_staff(actor, "apply macros")
        if expected_version is None:
            raise PreconditionRequired("send If-Match with the ticket's ETag to apply a macro")
        now = self._clock.now()
        with self._uow.begin() as tx:
            macro = _applicable(tx, actor, macro_id)
            view = self._visible(tx, actor, ticket_id, lock=True)
            if view.ticket.version != expected_version:
                raise StaleVersion(
                    f"the ticket changed since version {expected_version} "
                    f"(now {view.ticket.version}): reload it"
                )
            result = self._run_steps(tx, actor, view, macro.steps, now, macro)
            tx.commit()
        return result

    def bulk(
        self, actor: Principal, action: BulkAction, idempotency_key: str | None = None
    ) -> BulkResult:
        """``action`` on each of its tickets, each alone (module docstring)."""
        require_staff(actor, "change tickets in bulk")
        _check_tickets(action.tickets)
        if (action.macro_id is None) == (action.actions is None):
            raise ValidationFailed.field("macro_id", "name a macro_id, or actions, not both")
        if idempotency_key is not None:
            if not 1 <= len(idempotency_key) <= IDEMPOTENCY_KEY_MAX:
                raise ValidationFailed.field(
                    "Idempotency-Key", f"must be 1 to {IDEMPOTENCY_KEY_MAX} characters"
                )
            if (reason := unstorable(idempotency_key)) is not None:
                raise ValidationFailed.field("Idempotency-Key", reason)
        macro = None
        if action.macro_id is not None:
            with self._uow.begin(read_only=True) as tx:
                macro = _applicable(tx, actor, action.macro_id)
            steps = macro.steps
        else:
            steps = parse_steps(action.actions, "actions")
        keep = idempotency_key is not None and not action.dry_run
        if keep:
            assert idempotency_key is not None
            replay = self._claim(actor, idempotency_key, _fingerprint(action, steps))
            if replay is not None:
                return replay
        items = tuple(
            self._bulk_one(actor, ticket, steps, macro, action.dry_run) for ticket in action.tickets
        )
        result = BulkResult(items, action.dry_run)
        if keep:
            assert idempotency_key is not None
            with self._uow.begin() as tx:
                tx.request_answers.store(actor.user_id, idempotency_key, _outcomes(result))
                tx.commit()
        return result

    # ------------------------------------------------------------ the steps

    def _run_steps(
        self,
        tx: Transaction,
        actor: Principal,
        view: TicketView,
        steps: Sequence[Step],
        now: datetime,
        macro: Macro | None,
    ) -> TicketView:
        """``steps`` on the ticket of ``view`` (read locked) in ``tx``, their history one
        group; the first refusal raised naming its step (``actions.2.value``)."""
        token = HISTORY_GROUP.set(self._ids.new_id())
        try:
            if macro is not None:
                self._record(tx, view.ticket, actor.user_id, "macro", None, macro.name, now)
            for index, step in enumerate(steps):
                try:
                    view = self._step(tx, actor, view, step, now)
                except DomainError as exc:
                    raise _at_step(exc, index, step) from exc
            return view
        finally:
            HISTORY_GROUP.reset(token)

    def _step(
        self, tx: Transaction, actor: Principal, view: TicketView, step: Step, now: datetime
    ) -> TicketView:
        action, value = step.action, step.value
        if action is Action.SET_STATUS:
            assert isinstance(value, TicketStatus)
            return self._change_in(tx, actor, view, ChangeTicket(status=value), now)
        if action is Action.SET_PRIORITY:
            assert isinstance(value, TicketPriority)
            return self._change_in(tx, actor, view, ChangeTicket(priority=value), now)
        if action is Action.SET_DEPARTMENT:
            assert isinstance(value, uuid.UUID)
            change = ChangeTicket(department_id=value, change_department=True)
            return self._change_in(tx, actor, view, change, now)
        if action is Action.SET_TEAM:
            assert value is None or isinstance(value, uuid.UUID)
            return self._change_in(
                tx, actor, view, ChangeTicket(team_id=value, change_team=True), now
            )
        if action in _ASSIGN:
            agent = value if action is Action.ASSIGN_AGENT else None
            team = value if action is Action.ASSIGN_TEAM else None
            assert agent is None or isinstance(agent, uuid.UUID)
            assert team is None or isinstance(team, uuid.UUID)
            return self._assign_in(tx, actor, view, Assign(_ASSIGN[action], agent, team), now)
        if action in {Action.ADD_TAGS, Action.REMOVE_TAGS}:
            assert isinstance(value, tuple)
            adding = value if action is Action.ADD_TAGS else ()
            removing = value if action is Action.REMOVE_TAGS else ()
            return self._retag(tx, actor, view, adding, removing, now)
        if action in {Action.ADD_NOTE, Action.REPLY, Action.REPLY_CANNED}:
            return self._say(tx, actor, view, step, now)
        return self._follow(tx, actor, view, action is Action.FOLLOW, now)

    def _say(
        self, tx: Transaction, actor: Principal, view: TicketView, step: Step, now: datetime
    ) -> TicketView:
        """A note or a reply: its template (or the canned response's body) filled in for the
        ticket as it stands, then posted as by hand."""
        if step.action is Action.REPLY_CANNED:
            assert isinstance(step.value, uuid.UUID)
            response = canned.usable_response(tx, actor, step.value)
            if not response.is_active:
                raise Conflict("the canned response is deactivated")
            template = response.body
            tx.canned_responses.count_use(response.id)
        else:
            assert isinstance(step.value, str)
            template = step.value
        text = canned.render_for_ticket(tx, actor, template, view).body
        body = body_text(text, "body")
        visibility = (
            MessageVisibility.INTERNAL
            if step.action is Action.ADD_NOTE
            else MessageVisibility.PUBLIC
        )
        _, updated = self._post(tx, actor, view, body, visibility, (), now)
        return updated

    def _follow(
        self, tx: Transaction, actor: Principal, view: TicketView, follow: bool, now: datetime
    ) -> TicketView:
        if actor.user_id == SYSTEM_OPERATOR.user_id:
            raise ValidationFailed.field(
                "value", "the system operator follows no ticket: it is no member of the staff"
            )
        if follow:
            self._add_followers(tx, actor.user_id, view, (actor.user_id,), now)
        else:
            self._remove_follower(tx, actor.user_id, view, actor.user_id, now)
        return view

    # ------------------------------------------------------------ bulk

    def _bulk_one(
        self,
        actor: Principal,
        ticket: BulkTicket,
        steps: Sequence[Step],
        macro: Macro | None,
        dry_run: bool,
    ) -> BulkItem:
        now = self._clock.now()
        try:
            with self._uow.begin() as tx:
                view = self._visible(tx, actor, ticket.id, lock=True)
                if ticket.version is not None and view.ticket.version != ticket.version:
                    raise StaleVersion(
                        f"the ticket changed since version {ticket.version} "
                        f"(now {view.ticket.version}): reload it"
                    )
                result = self._run_steps(tx, actor, view, steps, now, macro)
                if dry_run:
                    tx.rollback()
                else:
                    tx.commit()
        except DomainError as exc:
            return BulkItem(ticket.id, False, error=error_of(exc))
        return BulkItem(ticket.id, True, result)

    def _claim(self, actor: Principal, key: str, fingerprint: str) -> BulkResult | None:
        """Claim ``key`` for this request (None: go on), or the earlier answer to replay."""
        with self._uow.begin() as tx:
            found = tx.request_answers.claim(actor.user_id, key, fingerprint, self._clock.now())
            tx.commit()
        if found is None:
            return None
        if found.fingerprint != fingerprint:
            raise Conflict("this Idempotency-Key was used for another request")
        if found.answer is None:
            raise Conflict("a request with this Idempotency-Key is still running: try later")
        return self._replayed(actor, found.answer)

    def _replayed(self, actor: Principal, answer: dict[str, Any]) -> BulkResult:
        items = []
        with self._uow.begin(read_only=True) as tx:
            for item in answer["items"]:
                ticket_id = uuid.UUID(item["ticket_id"])
                if item["ok"]:
                    try:
                        view: TicketView | None = self._visible(tx, actor, ticket_id)
                    except NotFound:
                        view = None
                    items.append(BulkItem(ticket_id, True, view))
                    continue
                error = item["error"]
                fields = tuple(FieldError(e["field"], e["message"]) for e in error["errors"])
                items.append(
                    BulkItem(
                        ticket_id, False, error=BulkError(error["code"], error["detail"], fields)
                    )
                )
        return BulkResult(tuple(items), False, replayed=True)


_ASSIGN = {
    Action.ASSIGN_TO_ME: "self",
    Action.ASSIGN_AGENT: "agent",
    Action.ASSIGN_TEAM: "team",
    Action.UNASSIGN: "nobody",
}


def _applicable(tx: Transaction, actor: Principal, macro_id: uuid.UUID) -> Macro:
    macro = tx.macros.get(macro_id)
    if macro is None or not may_apply(actor, macro):
        raise NotFound("no such macro")
    return macro


def _check_tickets(tickets: Sequence[BulkTicket]) -> None:
    if not tickets:
        raise ValidationFailed.field("tickets", "name at least one ticket")
    if len(tickets) > BULK_MAX:
        raise ValidationFailed.field("tickets", f"name at most {BULK_MAX} tickets")
    seen: set[uuid.UUID] = set()
    for index, ticket in enumerate(tickets):
        if ticket.id in seen:
            raise ValidationFailed.field(f"tickets.{index}.id", "names a ticket named before")
        seen.add(ticket.id)


def _at_step(exc: DomainError, index: int, step: Step) -> DomainError:
    """``exc`` of step ``index``, saying so: a validation's fields at the step's value."""
    where = f"actions.{index}.value"
    detail = f"action {index + 1} ({step.action.value}) was refused: {exc.detail}"
    if isinstance(exc, ValidationFailed):
        errors = tuple(
            FieldError(
                f"{where}.{e.field.rsplit('.', 1)[1]}"
                if "." in e.field and e.field.rsplit(".", 1)[1].isdigit()
                else where,
                e.message,
            )
            for e in exc.errors
        )
        return ValidationFailed(detail, errors)
    located = copy.copy(exc)
    located.detail = detail
    located.args = (detail,)
    return located


def _fingerprint(action: BulkAction, steps: Sequence[Step]) -> str:
    request = {
        "tickets": [[str(t.id), t.version] for t in action.tickets],
        "macro_id": str(action.macro_id) if action.macro_id else None,
        "actions": [step.as_json() for step in steps] if action.macro_id is None else None,
    }
    return hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()


def _outcomes(result: BulkResult) -> dict[str, Any]:
    """What a replay answers again: each ticket's outcome (its state is read anew)."""
    return {
        "items": [
            {
                "ticket_id": str(item.ticket_id),
                "ok": item.ok,
                "error": None
                if item.error is None
                else {
                    "code": item.error.code,
                    "detail": item.error.detail,
                    "errors": [{"field": e.field, "message": e.message} for e in item.error.errors],
                },
            }
            for item in result.items
        ]
    }
