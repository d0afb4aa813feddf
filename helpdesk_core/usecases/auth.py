"""Accounts and sessions: register, log in and out, change, forget and reset passwords.

An access token names a server-side session (signed, so it cannot be forged); every request
looks the session up, so revoking it takes effect everywhere on the next request.

Nothing a stranger can ask tells them whether an address has an account: a registration of a
taken address answers like a new one (its owner is told by mail instead), a reset request does
the same work whichever way, and a login fails with one message. Every route that costs a
password hash or sends mail is throttled (``credentials.Throttle``): 429 with Retry-After.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import NoReturn

import attrs

from helpdesk_core.documents import user_document
from helpdesk_core.domain.entities import Session, User
from helpdesk_core.domain.errors import (
    AuthenticationFailed,
    Conflict,
    StaleVersion,
)
from helpdesk_core.domain.events import user_key
from helpdesk_core.domain.principal import Principal
from helpdesk_core.domain.values import clean_text, normalize_email, storable
from helpdesk_core.domain.views import Account as Account
from helpdesk_core.ports.cache import RateLimiter
from helpdesk_core.ports.security import PasswordHasher, TokenSigner
from helpdesk_core.ports.system import Clock, IdGenerator
from helpdesk_core.ports.uow import Transaction, UnitOfWork

# Re-exported (``x as x``): other modules import these from here.
from helpdesk_core.usecases.credentials import RESET_PURPOSE as RESET_PURPOSE
from helpdesk_core.usecases.credentials import AuthPolicy as AuthPolicy
from helpdesk_core.usecases.credentials import (
    Throttle,
    enforce,
    hit_all,
    register_address_key,
    register_recipient_key,
    wait_for,
)
from helpdesk_core.usecases.credentials import check_password as check_password
from helpdesk_core.usecases.credentials import hash_reset_token as hash_reset_token
from helpdesk_core.usecases.credentials import load_account as load_account
from helpdesk_core.usecases.credentials import login_account_key as login_account_key
from helpdesk_core.usecases.credentials import login_address_key as login_address_key
from helpdesk_core.usecases.credentials import reset_token as reset_token
from helpdesk_core.usecases.events import publish
from helpdesk_core.usecases.passwords import ChangePassword as ChangePassword
from helpdesk_core.usecases.passwords import ForgotPassword as ForgotPassword
from helpdesk_core.usecases.passwords import PasswordUseCases
from helpdesk_core.usecases.passwords import ResetPassword as ResetPassword

ACCESS = "access"
WRONG_CREDENTIALS = "the email or password is wrong"
# The counter every change of the organization bumps (usecases/org.py): cached department and
# team names are valid for one value of it. Authentication reads it with the session.
ORG_GENERATION = "org-generation"
DISPLAY_NAME_MAX = 200


@attrs.frozen
class Register:
    email: str
    password: str = attrs.field(repr=False)
    display_name: str
    client_address: str = "unknown"


@attrs.frozen
class Login:
    email: str
    password: str = attrs.field(repr=False)
    client_address: str = "unknown"


@attrs.frozen
class LoginResult:
    access_token: str = attrs.field(repr=False)
    expires_in: int
    account: Account


@attrs.frozen
class UpdateProfile:
    display_name: str | None = None


@attrs.define
class AuthService(PasswordUseCases):
    """The authentication use cases."""

    _uow: UnitOfWork
    _hasher: PasswordHasher
    _signer: TokenSigner
    _clock: Clock
    _ids: IdGenerator
    _rate_limiter: RateLimiter
    _policy: AuthPolicy

    # ------------------------------------------------------------ accounts

    def sign_up(self, command: Register) -> None:
        """Registration as the public asks for it: the same answer, and the same work,
        whether or not the address is taken.

        A free address gets its account (``user.registered``); a taken one gets none, and its
        owner is told by mail (``user.registration_attempted``, at most the reset-link limit
        per window, so nobody can flood an inbox this way). Bad input is refused alike either
        way, and registrations are limited per client address: RateLimited beyond that.
        """
        policy = self._policy
        from_address = (
            Throttle(
                register_address_key(command.client_address),
                policy.register_address_rate_limit,
                policy.register_address_rate_window,
            ),
        )
        enforce(self._rate_limiter, from_address, "too many registrations; try again later")
        user = self._new_user(command)  # 422 before anything is counted or written
        hit_all(self._rate_limiter, from_address)
        recipient = (
            Throttle(
                register_recipient_key(user.email),
                policy.forgot_rate_limit,
                policy.forgot_rate_window,
            ),
        )
        tell_owner = wait_for(self._rate_limiter, recipient) == 0
        hit_all(self._rate_limiter, recipient)
        try:
            with self._uow.begin() as tx:
                owner = tx.users.get_by_email(user.email)
                if owner is None:
                    self._add_user(tx, user)
                elif tell_owner:
                    self._registration_attempted(tx, owner, user.created_at)
                tx.commit()
        except Conflict:  # a racing registration of the same address won: as if it was taken
            with self._uow.begin() as tx:
                owner = tx.users.get_by_email(user.email)
                if owner is not None and tell_owner:
                    self._registration_attempted(tx, owner, user.created_at)
                tx.commit()

    def register(self, command: Register) -> Account:
        """A new customer account; Conflict when the email is registered.

        For callers that may know (seeding, the operator's tools); the public registration
        route calls :meth:`sign_up`, which tells nobody whether an address is taken."""
        user = self._new_user(command)
        with self._uow.begin() as tx:
            self._add_user(tx, user)
            tx.commit()
        return Account(user=user)

    def _new_user(self, command: Register) -> User:
        """The user ``command`` asks for, its password hashed; ValidationFailed otherwise."""
        email = normalize_email(command.email)
        display_name = clean_text(command.display_name, "display_name", max_length=DISPLAY_NAME_MAX)
        check_password(command.password, self._policy, "password", email)
        now = self._clock.now()
        return User(
            id=self._ids.new_id(),
            email=email,
            display_name=display_name,
            password_hash=self._hasher.hash(command.password),  # slow: hashed outside transactions
            created_at=now,
            updated_at=now,
        )

    def _add_user(self, tx: Transaction, user: User) -> None:
        tx.users.add(user)
        publish(
            tx,
            self._ids,
            user.created_at,
            "user.registered",
            user_key(user.id),
            {"user": user_document(user)},
            user.id,
        )

    def _registration_attempted(self, tx: Transaction, owner: User, now: datetime) -> None:
        publish(
            tx,
            self._ids,
            now,
            "user.registration_attempted",
            user_key(owner.id),
            {"user": user_document(owner)},
        )

    def me(self, actor: Principal) -> Account:
        """The actor's own account."""
        with self._uow.begin(read_only=True) as tx:
            user = tx.users.get(actor.user_id)
            if user is None:
                raise AuthenticationFailed("the account no longer exists")
            return load_account(tx, user)

    def update_profile(self, actor: Principal, command: UpdateProfile) -> Account:
        """Change the actor's display name."""
        with self._uow.begin() as tx:
            user = tx.users.get(actor.user_id)
            if user is None:
                raise AuthenticationFailed("the account no longer exists")
            if command.display_name is not None:
                name = clean_text(command.display_name, "display_name", max_length=DISPLAY_NAME_MAX)
                if name != user.display_name:
                    user = attrs.evolve(
                        user,
                        display_name=name,
                        updated_at=self._clock.now(),
                        version=user.version + 1,
                    )
                    tx.users.update(user)
                    publish(
                        tx,
                        self._ids,
                        user.updated_at,
                        "user.updated",
                        user_key(user.id),
                        {"user": user_document(user)},
                        user.id,
                    )
            account = load_account(tx, user)
            tx.commit()
        return account

    # ------------------------------------------------------------ sessions

    def login(self, command: Login) -> LoginResult:
        """A bearer token bound to a new session; AuthenticationFailed or RateLimited otherwise.

        Failed attempts are limited per account (a handful per window) and, separately, per
        client address (many more), so guessing is stopped without locking out the other
        people behind the same address; each limit holds even for the right password. The
        message is the same whether or not the email is registered, and an unknown email
        costs one dummy verify, so timing tells nothing either.
        """
        email = command.email.strip().lower()
        policy = self._policy
        account_throttle = Throttle(
            login_account_key(email), policy.login_rate_limit, policy.login_rate_window
        )
        keys = (
            account_throttle,
            Throttle(
                login_address_key(command.client_address),
                policy.login_address_rate_limit,
                policy.login_address_rate_window,
            ),
        )
        enforce(self._rate_limiter, keys, "too many failed logins; try again later")

        if len(command.password) > self._policy.password_max_length:
            self._hasher.dummy_verify()
            self._fail_login(keys, "bad_password")
        account = None
        if storable(email):  # text no store holds names no account: no store is asked
            with self._uow.begin(read_only=True) as tx:
                user = tx.users.get_by_email(email)
                account = load_account(tx, user) if user is not None else None
        # Hashing is slow by design (docs/performance.md): never inside a transaction.
        if account is None:
            self._hasher.dummy_verify()
            self._fail_login(keys, "unknown_account")
        if not account.user.has_password:  # a host program's user: it logs in there
            self._hasher.dummy_verify()
            self._fail_login(keys, "no_password")
        ok, new_hash = self._hasher.verify(command.password, account.user.password_hash)
        if not ok:
            self._fail_login(keys, "bad_password")
        if not account.is_active:
            raise AuthenticationFailed("this account is deactivated", "disabled")
        now = self._clock.now()
        session = Session(
            id=self._ids.new_id(),
            user_id=account.user.id,
            created_at=now,
            expires_at=now + timedelta(seconds=self._policy.access_token_ttl),
        )
        with self._uow.begin() as tx:
            tx.sessions.add(session)
            tx.commit()
        if new_hash is not None:  # an older scheme or cost: upgrade the stored hash now
            account = self._upgrade_hash(account, new_hash, now)
        self._rate_limiter.reset(account_throttle.key)  # never the address: see _fail_login
        token = self._signer.sign(ACCESS, session.id.hex)
        return LoginResult(token, self._policy.access_token_ttl, account)

    def _upgrade_hash(self, account: Account, new_hash: str, now: datetime) -> Account:
        user = attrs.evolve(
            account.user, password_hash=new_hash, updated_at=now, version=account.user.version + 1
        )
        try:
            with self._uow.begin() as tx:
                tx.users.update(user)
                tx.commit()
        except StaleVersion:  # changed meanwhile (a new password): keep that one
            return account
        return Account(user=user, staff=account.staff)

    def _fail_login(self, keys: tuple[Throttle, ...], reason: str) -> NoReturn:
        # A success resets its account's count only: were the address's reset too, one valid
        # account would let its holder guess other accounts' passwords without limit.
        hit_all(self._rate_limiter, keys)
        raise AuthenticationFailed(WRONG_CREDENTIALS, reason)

    def authenticate(self, token: str) -> Principal:
        """The principal a bearer token speaks for; AuthenticationFailed when it is unknown,
        tampered, expired or revoked, or its user or staff profile was deactivated."""
        payload = self._signer.unsign(ACCESS, token, self._policy.access_token_ttl)
        try:
            session_id = uuid.UUID(hex=payload)
        except ValueError:
            raise AuthenticationFailed("the access token is invalid", "invalid_token") from None
        with self._uow.begin(read_only=True) as tx:
            found = tx.sessions.get_with_account(session_id)
        if found is None or not found.session.is_valid(self._clock.now()):
            raise AuthenticationFailed("the session has ended; log in again", "session_ended")
        return _principal(Account(found.user, found.staff), found.session.id)

    def acting_as(self, user_id: uuid.UUID) -> Principal:
        """The principal of a user an embedding program has authenticated itself: the same
        role, department and team a login would give, with no session (``logout`` and
        ``change_password`` have none to act on). AuthenticationFailed when the user is
        unknown, or it or its staff profile is deactivated."""
        with self._uow.begin(read_only=True) as tx:
            user = tx.users.get(user_id)
            account = load_account(tx, user) if user is not None else None
        if account is None:
            raise AuthenticationFailed("no such account", "unknown_account")
        return _principal(account, None)

    def logout(self, actor: Principal) -> None:
        """End the actor's current session."""
        if actor.session_id is None:
            return
        with self._uow.begin() as tx:
            tx.sessions.revoke(actor.session_id, self._clock.now())
            tx.commit()


def _principal(account: Account, session_id: uuid.UUID | None) -> Principal:
    """Who ``account`` acts as; AuthenticationFailed when it or its staff profile is off."""
    if not account.is_active:
        raise AuthenticationFailed("the account is deactivated", "account_disabled")
    staff = account.staff
    return Principal(
        user_id=account.user.id,
        role=account.role,
        department_id=staff.department_id if staff else None,
        team_id=staff.team_id if staff else None,
        session_id=session_id,
    )
