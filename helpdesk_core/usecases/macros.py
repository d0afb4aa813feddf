"""Saving and managing macros: create, list, read, change and deactivate them.

Who may save which (``may_manage``): anyone on the staff their own personal macros, leads
their department's, administrators every department's and everyone's. Who may see and apply
one (``may_apply``): its owner, the staff of its department (and administrators), or all
staff. A macro the caller may not apply is NotFound on every method, as an out-of-scope ticket
is; one they may apply but not change is PermissionDenied when they try. A deactivated macro
is no longer listed, read or applied by anyone; it stays stored.

Saving checks the actions twice: their shapes (``parse_steps``: known names, values of the
right kind, templates that parse), then what they name, each refusal naming its place
(``actions.2.value``): a department to set must be active, a team to set or assign active
too, an agent an active staff member, a canned response one that exists and is active. A
team must belong to the department the ticket is in at that step as far as the macro says:
the one the last ``set_department`` before it sets, else a department macro's own department;
without either, any active team (applying checks it against the ticket).

A change names the version the caller saw, as for canned responses: without one
PreconditionRequired, another StaleVersion; the command is checked first, so a bad one is
ValidationFailed whatever version it names. Applying macros is ``usecases/tickets``' business.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import attrs

from helpdesk_core.domain.errors import (
    FieldError,
    NotFound,
    PermissionDenied,
    PreconditionRequired,
    ValidationFailed,
    stale_version,
)
from helpdesk_core.domain.macros import (
    Action,
    Macro,
    MacroScope,
    Step,
    macro_name,
    may_apply,
    may_manage,
    parse_steps,
)
from helpdesk_core.domain.principal import SYSTEM_OPERATOR, Principal
from helpdesk_core.policies import require_staff
from helpdesk_core.ports.system import Clock, IdGenerator
from helpdesk_core.ports.uow import Transaction, UnitOfWork


@attrs.frozen
class CreateMacro:
    """A new macro. ``actions`` as the API takes them, ``[{"action": ..., "value": ...}]``
    (checked when saved); ``department_id`` only for a department's macro (default: the
    caller's own department)."""

    name: str
    actions: Sequence[Any]
    scope: MacroScope = MacroScope.PERSONAL
    department_id: uuid.UUID | None = None


@attrs.frozen
class UpdateMacro:
    """A change of a macro: each part given replaces the stored one, None keeps it. Its scope
    never changes (save a new macro instead)."""

    name: str | None = None
    actions: Sequence[Any] | None = None


@attrs.define
class MacroService:
    """Saving, finding, changing and deactivating macros."""

    _uow: UnitOfWork
    _clock: Clock
    _ids: IdGenerator

    def create(self, actor: Principal, command: CreateMacro) -> Macro:
        """A new active macro; ValidationFailed names the field (``actions.1.value``),
        PermissionDenied when the caller may not save a macro of its scope."""
        require_staff(actor, "save macros")
        name, steps = _checked(command.name, command.actions)
        personal = command.scope is MacroScope.PERSONAL
        now = self._clock.now()
        macro = Macro(
            id=self._ids.new_id(),
            name=name,
            scope=command.scope,
            steps=steps,
            created_at=now,
            updated_at=now,
            owner_id=actor.user_id if personal else None,
            department_id=_department_of(actor, command),
            created_by=None if actor.user_id == SYSTEM_OPERATOR.user_id else actor.user_id,
        )
        if not may_manage(actor, macro):
            raise PermissionDenied(_who_saves(macro.scope))
        with self._uow.begin() as tx:
            if personal and tx.staff.get(actor.user_id) is None:
                raise ValidationFailed.field("scope", "only staff members own personal macros")
            if macro.department_id is not None:
                department = tx.departments.get(macro.department_id)
                if department is None or not department.is_active:
                    raise ValidationFailed.field("department_id", "no such department")
            check_references(tx, steps, macro.department_id)
            tx.macros.add(macro)
            tx.commit()
        return macro

    def list(self, actor: Principal) -> Sequence[Macro]:
        """The active macros the caller may apply, by name (any case) then id."""
        require_staff(actor, "use macros")
        with self._uow.begin(read_only=True) as tx:
            found = tx.macros.list()
        usable = (macro for macro in found if may_apply(actor, macro))
        return sorted(usable, key=lambda macro: (macro.name.casefold(), macro.id))

    def get(self, actor: Principal, macro_id: uuid.UUID) -> Macro:
        """The macro, when the caller may apply it; NotFound otherwise."""
        require_staff(actor, "use macros")
        with self._uow.begin(read_only=True) as tx:
            return _usable(tx, actor, macro_id)

    def update(
        self,
        actor: Principal,
        macro_id: uuid.UUID,
        expected_version: int | None,
        command: UpdateMacro,
    ) -> Macro:
        """The macro with the command's parts replaced, one version on. A bad command:
        ValidationFailed, whatever the version; then no version: PreconditionRequired, another
        one: StaleVersion. A command that changes nothing answers the stored macro."""
        require_staff(actor, "change macros")
        with self._uow.begin() as tx:
            current = _managed(tx, actor, macro_id)
            name, steps = _checked(command.name, command.actions, keep=current)
            if command.actions is not None:
                check_references(tx, steps, current.department_id)
            if expected_version is None:
                raise PreconditionRequired("send If-Match with the macro's ETag to change it")
            if current.version != expected_version:
                raise stale_version("macro", expected_version + 1)
            if (name, steps) == (current.name, current.steps):
                return current
            updated = attrs.evolve(
                current,
                name=name,
                steps=steps,
                updated_at=self._clock.now(),
                version=current.version + 1,
            )
            tx.macros.update(updated)
            tx.commit()
        return updated

    def deactivate(
        self, actor: Principal, macro_id: uuid.UUID, expected_version: int | None = None
    ) -> Macro:
        """The macro, deactivated: no longer listed, read or applied; nothing is deleted. With
        ``expected_version``, StaleVersion when it moved on."""
        require_staff(actor, "change macros")
        with self._uow.begin() as tx:
            current = _managed(tx, actor, macro_id)
            if expected_version is not None and current.version != expected_version:
                raise stale_version("macro", expected_version + 1)
            updated = attrs.evolve(
                current, is_active=False, updated_at=self._clock.now(), version=current.version + 1
            )
            tx.macros.update(updated)
            tx.commit()
        return updated


def check_references(
    tx: Transaction, steps: Sequence[Step], department_id: uuid.UUID | None
) -> None:
    """ValidationFailed, naming each step's ``actions.N.value``, for every department, team,
    staff member or canned response the steps name that cannot be used (module docstring);
    ``department_id`` is the macro's own department, if any."""
    errors: list[FieldError] = []
    department = department_id  # where the ticket is at this step, as far as the macro says
    for index, step in enumerate(steps):
        value = step.value
        if not isinstance(value, uuid.UUID):
            continue
        where = f"actions.{index}.value"
        problem = None
        if step.action is Action.SET_DEPARTMENT:
            found = tx.departments.get(value)
            if found is None or not found.is_active:
                problem = "no such department"
            else:
                department = found.id
        elif step.action in (Action.SET_TEAM, Action.ASSIGN_TEAM):
            team = tx.teams.get(value)
            if team is None or not team.is_active:
                problem = "no such team"
            elif department is not None and team.department_id != department:
                problem = "the team belongs to another department"
        elif step.action is Action.ASSIGN_AGENT:
            staff = tx.staff.get(value)
            if staff is None or not staff.is_active:
                problem = "no such staff member"
        elif step.action is Action.REPLY_CANNED:
            response = tx.canned_responses.get(value)
            if response is None:
                problem = "no such canned response"
            elif not response.is_active:
                problem = "the canned response is deactivated"
        if problem is not None:
            errors.append(FieldError(where, problem))
    if errors:
        detail = "; ".join(f"{e.field}: {e.message}" for e in errors)
        raise ValidationFailed(detail, tuple(errors))


# ---------------------------------------------------------------- helpers


def _checked(name: Any, actions: Any, keep: Macro | None = None) -> tuple[str, tuple[Step, ...]]:
    """The name and the steps, every problem of both reported at once; with ``keep``, its
    own name or steps where ``name`` or ``actions`` is None."""
    errors: list[FieldError] = []
    cleaned = ""
    steps: tuple[Step, ...] = ()
    try:
        cleaned = keep.name if keep is not None and name is None else macro_name(name)
    except ValidationFailed as failed:
        errors.extend(failed.errors)
    try:
        steps = keep.steps if keep is not None and actions is None else parse_steps(actions)
    except ValidationFailed as failed:
        errors.extend(failed.errors)
    if errors:
        detail = "; ".join(f"{e.field}: {e.message}" for e in errors)
        raise ValidationFailed(detail, tuple(errors))
    return cleaned, steps


def _department_of(actor: Principal, command: CreateMacro) -> uuid.UUID | None:
    """The department of a department's macro (default: the caller's); ValidationFailed
    naming ``department_id`` when none is known, or when one is given for another scope."""
    if command.scope is not MacroScope.DEPARTMENT:
        if command.department_id is not None:
            raise ValidationFailed.field(
                "department_id", f"has no place in a {command.scope.value} macro"
            )
        return None
    department = command.department_id or actor.department_id
    if department is None:
        raise ValidationFailed.field("department_id", "is required for a department's macro")
    return department


def _who_saves(scope: MacroScope) -> str:
    if scope is MacroScope.EVERYONE:
        return "only administrators may save macros for everyone"
    if scope is MacroScope.DEPARTMENT:
        return "only the leads of its department and administrators may save a department's macros"
    return "only its owner may change a personal macro"


def _usable(tx: Transaction, actor: Principal, macro_id: uuid.UUID) -> Macro:
    """The macro, when ``actor`` may apply it; NotFound otherwise."""
    macro = tx.macros.get(macro_id)
    if macro is None or not may_apply(actor, macro):
        raise NotFound("no such macro")
    return macro


def _managed(tx: Transaction, actor: Principal, macro_id: uuid.UUID) -> Macro:
    """The macro, when ``actor`` may change it: NotFound when they may not even apply it,
    PermissionDenied when they may only apply it."""
    macro = _usable(tx, actor, macro_id)
    if not may_manage(actor, macro):
        raise PermissionDenied(_who_saves(macro.scope))
    return macro
