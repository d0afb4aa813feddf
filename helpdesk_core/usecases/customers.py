"""Customer accounts, administered: list, read, deactivate, reactivate, erase, unlock logins,
and the customers of an embedding program, found or made by its own id (``host_users``).

A customer is a user without a staff profile. Only administrators act here (HTTP admin routes,
or the operator at the terminal, ``helpdesk users``). Deactivation ends every session at once;
erasure (a GDPR request) replaces the personal data (email, display name, password hash) with
placeholders and deletes the sessions and reset tokens, while the customer's tickets stay
readable under the name "Erased customer". Each change is an event (``user.deactivated``,
``user.reactivated``, ``user.erased``); erasure is also written into the history of each of the
customer's tickets.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import attrs

from helpdesk_core.documents import user_document
from helpdesk_core.domain.entities import ERASED_HASH, HistoryEntry, User, is_erased
from helpdesk_core.domain.errors import Conflict, NotFound, ValidationFailed
from helpdesk_core.domain.events import user_key
from helpdesk_core.domain.principal import SYSTEM_OPERATOR, Principal
from helpdesk_core.domain.values import unstorable
from helpdesk_core.policies import require_admin
from helpdesk_core.ports.cache import RateLimiter
from helpdesk_core.ports.repositories import CustomerFilter
from helpdesk_core.ports.system import Clock, IdGenerator
from helpdesk_core.ports.tickets import TicketQuery, TicketSort
from helpdesk_core.ports.uow import Transaction, UnitOfWork
from helpdesk_core.usecases.auth import login_account_key
from helpdesk_core.usecases.events import publish
from helpdesk_core.usecases.host_users import (
    EnsureCustomer,
    brought_up_to_date,
    clean,
    ensure,
    new_user,
)

# No password hasher produces this value, and verifying any password against it fails: an
# erased account can never log in again. It also marks the account as erased.
ERASED_NAME = "Erased customer"
ERASED_DOMAIN = "erased.invalid"  # RFC 2606: never a real mailbox
EMAIL_FILTER_MAX = 254
HISTORY_FIELD = "requester"  # the ticket history entry an erasure writes: requester -> erased
_TICKETS_PER_READ = 200

CustomerCursor = tuple[datetime, uuid.UUID]


def erased_email(user_id: uuid.UUID) -> str:
    """The placeholder address of an erased account: unique, and nobody's mailbox."""
    return f"erased-{user_id.hex}@{ERASED_DOMAIN}"


@attrs.frozen
class CustomerPage:
    """One page of customers, oldest first, and the position after its last one (None: no
    more)."""

    items: tuple[User, ...]
    next_after: CustomerCursor | None


def cursor_of(user: User) -> CustomerCursor:
    """The keyset position of ``user`` in the customer list."""
    return (user.created_at, user.id)


@attrs.define
class CustomerService:
    """The administration of customer accounts."""

    _uow: UnitOfWork
    _clock: Clock
    _ids: IdGenerator
    _rate_limiter: RateLimiter

    # ------------------------------------------------------------ reads

    def list(
        self,
        actor: Principal,
        where: CustomerFilter,
        after: CustomerCursor | None = None,
        limit: int = 25,
    ) -> CustomerPage:
        """Customers matching ``where``, oldest first, ``limit`` at a time."""
        require_admin(actor, "list customers")
        if limit < 1:
            raise ValidationFailed.field("limit", "must be at least 1")
        if where.email_contains is not None:
            needle = where.email_contains.strip().lower()
            if len(needle) > EMAIL_FILTER_MAX:
                raise ValidationFailed.field(
                    "email", f"must be at most {EMAIL_FILTER_MAX} characters"
                )
            reason = unstorable(needle)
            if reason is not None:
                raise ValidationFailed.field("email", reason)
            where = attrs.evolve(where, email_contains=needle or None)
        with self._uow.begin(read_only=True) as tx:
            found = list(tx.users.list_customers(where, after, limit + 1))
        items = tuple(found[:limit])
        more = len(found) > limit
        return CustomerPage(items, cursor_of(items[-1]) if more and items else None)

    def get(self, actor: Principal, customer_id: uuid.UUID) -> User:
        """One customer; NotFound for staff members and unknown ids."""
        require_admin(actor, "read customers")
        with self._uow.begin(read_only=True) as tx:
            return _customer(tx, customer_id)

    def find_by_email(self, actor: Principal, email: str) -> User:
        """The customer with this email (any case); NotFound otherwise."""
        require_admin(actor, "read customers")
        with self._uow.begin(read_only=True) as tx:
            user = _by_email(tx, email)
            if user is None or tx.staff.get(user.id) is not None:
                raise NotFound(f"no customer with email {email.strip()!r}")
            return user

    # ------------------------------------------------------------ changes

    def ensure_customer(self, actor: Principal, command: EnsureCustomer) -> User:
        """The customer an embedding program knows by ``command.external_id``: made without a
        password the first time (``user.registered``), its email and name brought up to date
        later (``user.updated``). Conflict when the id names a staff member, or the email is
        another account's."""
        require_admin(actor, "ensure customers")
        wanted = clean(command)
        now = self._clock.now()

        def existing(tx: Transaction, user: User) -> User:
            if tx.staff.get(user.id) is not None:
                raise Conflict("the external id names a staff member, not a customer")
            updated = brought_up_to_date(user, wanted, now)
            if updated is None:
                return user
            tx.users.update(updated)
            self._event(tx, actor, now, "user.updated", updated)
            tx.commit()
            return updated

        def create(tx: Transaction) -> User:
            user = new_user(wanted, self._ids.new_id(), now)
            tx.users.add(user)
            self._event(tx, actor, now, "user.registered", user)
            tx.commit()
            return user

        return ensure(self._uow, wanted, existing, create)

    def set_active(self, actor: Principal, customer_id: uuid.UUID, active: bool) -> User:
        """Deactivate (every session ends at once, open reset links die) or reactivate a
        customer. Asking for the state the account is in changes nothing."""
        require_admin(actor, "deactivate or reactivate customers")
        now = self._clock.now()
        with self._uow.begin() as tx:
            user = _customer(tx, customer_id)
            if user.is_active == active:
                return user
            if active and is_erased(user):
                raise Conflict("an erased customer cannot be reactivated")
            updated = attrs.evolve(user, is_active=active, updated_at=now, version=user.version + 1)
            tx.users.update(updated)
            if not active:
                tx.sessions.revoke_all(user.id, now)
                tx.password_resets.invalidate_all(user.id, now)
            self._event(
                tx, actor, now, "user.reactivated" if active else "user.deactivated", updated
            )
            tx.commit()
        return updated

    def erase(self, actor: Principal, customer_id: uuid.UUID) -> User:
        """Erase a customer's personal data; their tickets stay, under a placeholder name.

        The email, display name and password hash are replaced, every session and reset
        token is deleted, the account is deactivated, each of their tickets records the
        erasure in its history, and a ``user.erased`` event (carrying only the placeholders)
        is recorded. Erasing an erased customer changes nothing.
        """
        require_admin(actor, "erase customers")
        now = self._clock.now()
        with self._uow.begin() as tx:
            user = _customer(tx, customer_id)
            if is_erased(user):
                return user
            erased = attrs.evolve(
                user,
                email=erased_email(user.id),
                display_name=ERASED_NAME,
                password_hash=ERASED_HASH,
                external_id=None,  # the program's id may name a new account later
                is_active=False,
                updated_at=now,
                version=user.version + 1,
            )
            tx.users.update(erased)
            tx.sessions.delete_all(user.id)
            tx.password_resets.delete_all(user.id)
            self._note_on_tickets(tx, actor, user.id, now)
            self._event(tx, actor, now, "user.erased", erased)
            tx.commit()
        # The failed-login count is keyed by the old address: forget it as well.
        self._rate_limiter.reset(login_account_key(user.email))
        return erased

    def unlock(self, actor: Principal, customer_id: uuid.UUID) -> User:
        """Lift a customer's login lockout (their failed-login count) at once."""
        require_admin(actor, "unlock customers")
        with self._uow.begin(read_only=True) as tx:
            user = _customer(tx, customer_id)
        self._rate_limiter.reset(login_account_key(user.email))
        return user

    def unlock_account(self, actor: Principal, email: str) -> User:
        """Lift the login lockout of any account, staff included, by its email (the
        operator's way back in after their own lockout)."""
        require_admin(actor, "unlock accounts")
        with self._uow.begin(read_only=True) as tx:
            user = _by_email(tx, email)
        if user is None:
            raise NotFound(f"no account with email {email.strip()!r}")
        self._rate_limiter.reset(login_account_key(user.email))
        return user

    # ------------------------------------------------------------ helpers

    def _event(
        self, tx: Transaction, actor: Principal, now: datetime, event_type: str, user: User
    ) -> None:
        publish(
            tx,
            self._ids,
            now,
            event_type,
            user_key(user.id),
            {"user": user_document(user)},
            actor.user_id,
        )

    def _note_on_tickets(
        self, tx: Transaction, actor: Principal, customer_id: uuid.UUID, now: datetime
    ) -> None:
        actor_id = None if actor.user_id == SYSTEM_OPERATOR.user_id else actor.user_id
        after = None
        while True:
            page = tx.tickets.list(
                TicketQuery(
                    requester_id=customer_id,
                    sort=TicketSort.CREATED,
                    after=after,
                    limit=_TICKETS_PER_READ,
                )
            )
            for view in page.items:
                tx.history.add(
                    HistoryEntry(
                        id=self._ids.new_id(),
                        ticket_id=view.ticket.id,
                        actor_id=actor_id,
                        field=HISTORY_FIELD,
                        old_value=None,
                        new_value="erased",
                        created_at=now,
                    )
                )
            if page.next_after is None:
                return
            after = page.next_after


def _customer(tx: Transaction, customer_id: uuid.UUID) -> User:
    user = tx.users.get(customer_id)
    if user is None or tx.staff.get(customer_id) is not None:
        raise NotFound("no such customer")
    return user


def _by_email(tx: Transaction, email: str) -> User | None:
    """The account with this email (any case); None, asking no store, for text none holds."""
    normalized = email.strip().lower()
    return tx.users.get_by_email(normalized) if unstorable(normalized) is None else None
