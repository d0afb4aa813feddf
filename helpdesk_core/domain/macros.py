"""Macros: a named list of actions staff apply to a ticket in one step.

An action is one thing an agent could do by hand: set the status, priority, department or
team; assign to oneself, an agent, a team or nobody; add or remove tags; leave an internal
note; reply (with a template, or a canned response); follow or unfollow. A macro's actions
are checked when it is saved (:func:`parse_steps`: known names, values of the right shape;
the references, such as a department, by the use case), and again, against the caller's
permissions, when it is applied: all of them in one transaction, or none.

A macro's scope says who may apply it: its owner (``personal``), the staff of a department
(``department``), or every staff member (``everyone``).
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs

from helpdesk_core.domain.errors import FieldError, ValidationFailed
from helpdesk_core.domain.principal import Principal
from helpdesk_core.domain.tags import tag_names
from helpdesk_core.domain.templates import check_template
from helpdesk_core.domain.values import Role, TicketPriority, TicketStatus, clean_body, clean_text

NAME_MAX = 100
STEPS_MAX = 20  # actions one macro holds
TEXT_MAX = 20000  # a note's or a reply's template


class MacroScope(enum.StrEnum):
    """Who may apply a macro."""

    PERSONAL = "personal"  # its owner
    DEPARTMENT = "department"  # the staff of a department
    EVERYONE = "everyone"  # every staff member


class Action(enum.StrEnum):
    """What one step of a macro does, and the value it takes."""

    SET_STATUS = "set_status"  # a status
    SET_PRIORITY = "set_priority"  # a priority
    SET_DEPARTMENT = "set_department"  # a department's id
    SET_TEAM = "set_team"  # a team's id (of the ticket's department), or null: no team
    ASSIGN_TO_ME = "assign_to_me"  # no value: the caller takes the ticket
    ASSIGN_AGENT = "assign_agent"  # a staff member's id
    ASSIGN_TEAM = "assign_team"  # a team's id: the ticket waits in the team, nobody has it
    UNASSIGN = "unassign"  # no value: nobody has the ticket
    ADD_TAGS = "add_tags"  # a list of tag names
    REMOVE_TAGS = "remove_tags"  # a list of tag names
    ADD_NOTE = "add_note"  # an internal note's text (a template)
    REPLY = "reply"  # a public reply's text (a template)
    REPLY_CANNED = "reply_canned"  # a canned response's id: a public reply with its body
    FOLLOW = "follow"  # no value: the caller follows the ticket
    UNFOLLOW = "unfollow"  # no value: the caller stops following it


# The shape of each action's value.
NO_VALUE = frozenset({Action.ASSIGN_TO_ME, Action.UNASSIGN, Action.FOLLOW, Action.UNFOLLOW})
ID_VALUE = frozenset(
    {
        Action.SET_DEPARTMENT,
        Action.ASSIGN_AGENT,
        Action.ASSIGN_TEAM,
        Action.REPLY_CANNED,
    }
)
TEXT_VALUE = frozenset({Action.ADD_NOTE, Action.REPLY})
NAMES_VALUE = frozenset({Action.ADD_TAGS, Action.REMOVE_TAGS})

Value = str | uuid.UUID | tuple[str, ...] | TicketStatus | TicketPriority | None


@attrs.frozen
class Step:
    """One action of a macro and its value (``None`` where the action takes none)."""

    action: Action
    value: Value = None

    def as_json(self) -> dict[str, Any]:
        """The step as the API and the store write it."""
        value: Any = self.value
        if isinstance(value, uuid.UUID | enum.Enum):
            value = str(value.value if isinstance(value, enum.Enum) else value)
        elif isinstance(value, tuple):
            value = list(value)
        return {"action": self.action.value, "value": value}


def _aware(_instance: Any, attribute: attrs.Attribute[Any], value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{attribute.name} must be timezone-aware")


@attrs.frozen
class Macro:
    """A named list of steps. ``owner_id`` is set exactly for a personal macro,
    ``department_id`` exactly for a department's. Never deleted, only deactivated."""

    id: uuid.UUID
    name: str
    scope: MacroScope
    steps: tuple[Step, ...]
    created_at: datetime = attrs.field(validator=_aware)
    updated_at: datetime = attrs.field(validator=_aware)
    owner_id: uuid.UUID | None = None
    department_id: uuid.UUID | None = None
    created_by: uuid.UUID | None = None
    is_active: bool = True
    version: int = 1

    def __attrs_post_init__(self) -> None:
        if (self.scope is MacroScope.PERSONAL) != (self.owner_id is not None):
            raise ValueError("a personal macro, and only one, has an owner")
        if (self.scope is MacroScope.DEPARTMENT) != (self.department_id is not None):
            raise ValueError("a department's macro, and only one, names its department")


def may_apply(actor: Principal, macro: Macro) -> bool:
    """Whether ``actor`` (staff) may see and apply ``macro``."""
    if actor.role is Role.CUSTOMER or not macro.is_active:
        return False
    if macro.scope is MacroScope.PERSONAL:
        return macro.owner_id == actor.user_id
    if macro.scope is MacroScope.DEPARTMENT:
        return actor.role is Role.ADMIN or actor.department_id == macro.department_id
    return True


def may_manage(actor: Principal, macro: Macro) -> bool:
    """Whether ``actor`` may change or deactivate ``macro`` (and, for a new one, save it):
    anyone on the staff their own personal macros, leads their department's, administrators
    every department's and everyone's."""
    if actor.role is Role.CUSTOMER:
        return False
    if macro.scope is MacroScope.PERSONAL:
        return macro.owner_id == actor.user_id
    if macro.scope is MacroScope.DEPARTMENT:
        return actor.role is Role.ADMIN or (
            actor.role is Role.LEAD and actor.department_id == macro.department_id
        )
    return actor.role is Role.ADMIN


def macro_name(value: Any, field: str = "name") -> str:
    if not isinstance(value, str):
        raise ValidationFailed.field(field, "must be a string")
    return clean_text(value, field, max_length=NAME_MAX)


def parse_steps(raw: Any, field: str = "actions") -> tuple[Step, ...]:
    """The steps of ``raw`` (a list of ``{"action": ..., "value": ...}``): each action known,
    each value of the shape its action takes (a template parsed, names checked). Every
    problem is reported, each naming its place (``actions.2.value``)."""
    if not isinstance(raw, Sequence) or isinstance(raw, str | bytes):
        raise ValidationFailed.field(field, "must be a list of actions")
    if not raw:
        raise ValidationFailed.field(field, "must hold at least one action")
    if len(raw) > STEPS_MAX:
        raise ValidationFailed.field(field, f"must hold at most {STEPS_MAX} actions")
    steps: list[Step] = []
    errors: list[FieldError] = []
    for index, item in enumerate(raw):
        place = f"{field}.{index}"
        try:
            steps.append(_step(item, place))
        except ValidationFailed as failed:
            errors.extend(failed.errors)
    if errors:
        raise ValidationFailed("the actions are not valid", tuple(errors))
    return tuple(steps)


def _step(item: Any, place: str) -> Step:
    if not isinstance(item, Mapping):
        raise ValidationFailed.field(place, "must be an object with an action")
    unknown = set(item) - {"action", "value"}
    if unknown:
        raise ValidationFailed.field(place, f"has unknown fields: {', '.join(sorted(unknown))}")
    name = item.get("action")
    try:
        action = Action(str(name))
    except ValueError:
        known = ", ".join(a.value for a in Action)
        raise ValidationFailed.field(f"{place}.action", f"must be one of {known}") from None
    value = item.get("value")
    where = f"{place}.value"
    if action in NO_VALUE:
        if value is not None:
            raise ValidationFailed.field(where, f"{action.value} takes no value")
        return Step(action)
    if action is Action.SET_STATUS:
        return Step(action, _choice(TicketStatus, value, where))
    if action is Action.SET_PRIORITY:
        return Step(action, _choice(TicketPriority, value, where))
    if action is Action.SET_TEAM:
        return Step(action, None if value is None else _id(value, where))
    if action in ID_VALUE:
        return Step(action, _id(value, where))
    if action in NAMES_VALUE:
        if not isinstance(value, list | tuple) or not value:
            raise ValidationFailed.field(where, "must be a list of tag names")
        return Step(action, tag_names(value, where))
    if not isinstance(value, str):  # a note or a reply
        raise ValidationFailed.field(where, "must be the text (a template)")
    text = clean_body(value, where, max_length=TEXT_MAX)
    check_template(text, where)
    return Step(action, text)


def _choice(kind: type[enum.StrEnum], value: Any, where: str) -> Any:
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(m.value for m in kind)
        raise ValidationFailed.field(where, f"must be one of {allowed}") from None


def _id(value: Any, where: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value)) if isinstance(value, str) else _not_an_id(where)
    except ValueError:
        return _not_an_id(where)


def _not_an_id(where: str) -> uuid.UUID:
    raise ValidationFailed.field(where, "must be an id (a UUID string)")
