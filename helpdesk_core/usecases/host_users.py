"""The users of a program that embeds the helpdesk, found or made by the program's own id.

An embedding program already knows who its users are: it authenticates them itself. It names
each by an external id of its own (``external_id``); the first ``ensure`` makes the
helpdesk account, without a password (``NO_PASSWORD``: it cannot log in over the API), and
every later one returns the same account, with the email and display name brought up to date
when the program's have changed. ``CustomerService.ensure_customer`` (``EnsureCustomer``)
and ``OrgService.ensure_staff`` (``EnsureStaff``) are the two ways in;
``AuthService.acting_as`` is how the program then acts as the account, with exactly the scope
the account has over the API.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

import attrs

from helpdesk_core.domain.entities import NO_PASSWORD, User
from helpdesk_core.domain.errors import Conflict
from helpdesk_core.domain.values import StaffRole, clean_text, normalize_email
from helpdesk_core.ports.uow import Transaction, UnitOfWork
from helpdesk_core.usecases.auth import DISPLAY_NAME_MAX

EXTERNAL_ID_MAX = 255
T = TypeVar("T")


@attrs.frozen
class EnsureCustomer:
    """A customer of the embedding program: its own id for them, their email and name."""

    external_id: str
    email: str
    display_name: str


@attrs.frozen
class EnsureStaff:
    """A staff member of the embedding program, and where they work when first made (later
    calls leave role and placement alone: ``OrgService.update_staff`` changes them)."""

    external_id: str
    email: str
    display_name: str
    role: StaffRole
    department_id: uuid.UUID | None = None
    team_id: uuid.UUID | None = None


@attrs.frozen
class CleanUser:
    """``EnsureUser`` checked: what the account must hold."""

    external_id: str
    email: str
    display_name: str


def clean(command: EnsureCustomer | EnsureStaff) -> CleanUser:
    """The command's values as stored, or ValidationFailed naming the bad field."""
    return CleanUser(
        external_id=clean_text(command.external_id, "external_id", max_length=EXTERNAL_ID_MAX),
        email=normalize_email(command.email),
        display_name=clean_text(command.display_name, "display_name", max_length=DISPLAY_NAME_MAX),
    )


def new_user(wanted: CleanUser, user_id: uuid.UUID, now: datetime) -> User:
    """A password-less account for the program's user."""
    return User(
        id=user_id,
        email=wanted.email,
        display_name=wanted.display_name,
        password_hash=NO_PASSWORD,
        created_at=now,
        updated_at=now,
        external_id=wanted.external_id,
    )


def brought_up_to_date(user: User, wanted: CleanUser, now: datetime) -> User | None:
    """``user`` with the program's email and name, or None when it already has them."""
    if (user.email, user.display_name) == (wanted.email, wanted.display_name):
        return None
    return attrs.evolve(
        user,
        email=wanted.email,
        display_name=wanted.display_name,
        updated_at=now,
        version=user.version + 1,
    )


def ensure(
    uow: UnitOfWork,
    wanted: CleanUser,
    existing: Callable[[Transaction, User], T],
    create: Callable[[Transaction], T],
) -> T:
    """``existing(tx, user)`` when the external id names a user, else ``create(tx)``; each
    commits its own changes. Two callers ensuring the same new id at once both end with the
    one account: the loser's Conflict is answered by reading the winner's."""
    for attempt in range(2):
        try:
            with uow.begin() as tx:
                user = tx.users.get_by_external_id(wanted.external_id)
                return existing(tx, user) if user is not None else create(tx)
        except Conflict:
            if attempt == 1:
                raise
            with uow.begin(read_only=True) as tx:
                if tx.users.get_by_external_id(wanted.external_id) is None:
                    raise  # not the race: the email is another account's, say
    raise AssertionError("unreachable")  # pragma: no cover
