"""Canned responses: text an agent drops into a reply, with placeholders filled in for the ticket.

A response has a title, an optional shortcut (one word an editor completes), a body in the
placeholder grammar of ``domain.templates``, and a scope saying who may use it: its owner
(``personal``), the staff of a team (``team``), of a department (``department``), or every
staff member (``everyone``). Who may use and who may change one are pure rules here
(:func:`may_use`, :func:`may_manage`); the use cases apply them.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

import attrs

from helpdesk_core.domain.errors import ValidationFailed
from helpdesk_core.domain.principal import Principal
from helpdesk_core.domain.templates import check_template
from helpdesk_core.domain.values import Role, clean_body, clean_text

TITLE_MAX = 200
SHORTCUT_MAX = 50
BODY_MAX = 20000


class CannedScope(enum.StrEnum):
    """Who may use a canned response."""

    PERSONAL = "personal"  # its owner
    TEAM = "team"  # the staff of a team (and the leads of its department)
    DEPARTMENT = "department"  # the staff of a department
    EVERYONE = "everyone"  # every staff member


def _aware(_instance: Any, attribute: attrs.Attribute[Any], value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{attribute.name} must be timezone-aware")


def _at_least(minimum: int) -> Any:
    def check(_instance: Any, attribute: attrs.Attribute[Any], value: int) -> None:
        if value < minimum:
            raise ValueError(f"{attribute.name} must be at least {minimum}")

    return check


@attrs.frozen
class CannedResponse:
    """A reusable reply. Exactly the holder its scope names is set: ``owner_id`` for a
    personal one, ``team_id`` for a team's, ``department_id`` for a department's, none for
    everyone's. Never deleted, only deactivated. ``usage_count`` counts renderings; counting
    one changes neither ``version`` nor ``updated_at``."""

    id: uuid.UUID
    title: str
    body: str
    scope: CannedScope
    created_at: datetime = attrs.field(validator=_aware)
    updated_at: datetime = attrs.field(validator=_aware)
    shortcut: str | None = None
    owner_id: uuid.UUID | None = None
    team_id: uuid.UUID | None = None
    department_id: uuid.UUID | None = None
    usage_count: int = attrs.field(default=0, validator=_at_least(0))
    created_by: uuid.UUID | None = None
    is_active: bool = True
    version: int = attrs.field(default=1, validator=_at_least(1))

    def __attrs_post_init__(self) -> None:
        holders = {
            CannedScope.PERSONAL: self.owner_id,
            CannedScope.TEAM: self.team_id,
            CannedScope.DEPARTMENT: self.department_id,
        }
        for scope, holder in holders.items():
            if (self.scope is scope) != (holder is not None):
                raise ValueError(f"a {self.scope.value} canned response names the wrong holder")

    @classmethod
    def create(
        cls,
        id: uuid.UUID,
        title: str,
        body: str,
        scope: CannedScope,
        now: datetime,
        *,
        shortcut: str | None = None,
        holder: uuid.UUID | None = None,
        created_by: uuid.UUID | None = None,
    ) -> CannedResponse:
        """A new active response; ``holder`` is the owner, team or department its scope
        names (None for everyone's). ValidationFailed names ``title``, ``shortcut`` or
        ``body`` (an unknown placeholder: "unknown placeholder customer.phone")."""
        if (scope is CannedScope.EVERYONE) != (holder is None):
            raise ValueError("the holder must match the scope")
        return cls(
            id=id,
            title=canned_title(title),
            body=canned_body(body),
            scope=scope,
            shortcut=canned_shortcut(shortcut),
            owner_id=holder if scope is CannedScope.PERSONAL else None,
            team_id=holder if scope is CannedScope.TEAM else None,
            department_id=holder if scope is CannedScope.DEPARTMENT else None,
            created_by=created_by,
            created_at=now,
            updated_at=now,
        )

    def revised(
        self,
        now: datetime,
        *,
        title: str | None = None,
        body: str | None = None,
        shortcut: str | None = None,
        clear_shortcut: bool = False,
        is_active: bool | None = None,
    ) -> CannedResponse:
        """This response with the given parts replaced (None keeps one; ``clear_shortcut``
        removes the shortcut), one version on; the same checks as :meth:`create`."""
        return attrs.evolve(
            self,
            title=self.title if title is None else canned_title(title),
            body=self.body if body is None else canned_body(body),
            shortcut=None
            if clear_shortcut
            else self.shortcut
            if shortcut is None
            else canned_shortcut(shortcut),
            is_active=self.is_active if is_active is None else is_active,
            updated_at=now,
            version=self.version + 1,
        )

    def same_content(self, other: CannedResponse) -> bool:
        """Whether ``other`` differs from this one in nothing a person edits."""
        return (self.title, self.body, self.shortcut, self.is_active) == (
            other.title,
            other.body,
            other.shortcut,
            other.is_active,
        )


@attrs.frozen
class RenderedResponse:
    """A canned response rendered for a ticket: the draft's text, and the placeholders that
    had no value and no default (they became empty)."""

    body: str
    unresolved: tuple[str, ...] = ()


def canned_title(value: str) -> str:
    return clean_text(value, "title", max_length=TITLE_MAX)


def canned_body(value: str) -> str:
    """A body: multi-line text whose placeholders all parse and are known."""
    return check_template(clean_body(value, "body", max_length=BODY_MAX), "body")


def canned_shortcut(value: str | None) -> str | None:
    """A shortcut: one word (no spaces), or None."""
    if value is None:
        return None
    text = clean_text(value, "shortcut", max_length=SHORTCUT_MAX)
    if any(ch.isspace() for ch in text):
        raise ValidationFailed.field("shortcut", "must be one word, without spaces")
    return text


def may_use(
    actor: Principal, response: CannedResponse, team_department: uuid.UUID | None = None
) -> bool:
    """Whether ``actor`` may list and render ``response``: its owner for a personal one; the
    team's staff, the leads of its department (``team_department``) and administrators for a
    team's; the department's staff and administrators for a department's; all staff for
    everyone's. Customers never."""
    if actor.role is Role.CUSTOMER:
        return False
    if response.scope is CannedScope.PERSONAL:
        return response.owner_id == actor.user_id
    if response.scope is CannedScope.EVERYONE or actor.role is Role.ADMIN:
        return True
    if response.scope is CannedScope.DEPARTMENT:
        return actor.department_id == response.department_id
    return actor.team_id == response.team_id or (
        actor.role is Role.LEAD
        and actor.department_id is not None
        and actor.department_id == team_department
    )


def may_manage(
    actor: Principal,
    scope: CannedScope,
    holder: uuid.UUID | None,
    holder_department: uuid.UUID | None,
) -> bool:
    """Whether ``actor`` may create or change a response of ``scope`` held by ``holder``:
    any staff member their own personal ones; the leads of the department (for a team's,
    the team's department: ``holder_department``) and administrators a team's or a
    department's; administrators everyone's."""
    if actor.role is Role.CUSTOMER:
        return False
    if scope is CannedScope.PERSONAL:
        return holder == actor.user_id
    if actor.role is Role.ADMIN:
        return True
    if scope is CannedScope.EVERYONE or actor.role is not Role.LEAD:
        return False
    return actor.department_id is not None and actor.department_id == holder_department
