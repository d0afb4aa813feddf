"""Accounts and sessions: register, log in and out, change, forget and reset passwords.

An access token names a server-side session (signed, so it cannot be forged); every request
looks the session up, so revoking it takes effect everywhere on the next request.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta
from typing import NoReturn

import attrs

from helpdesk_core.domain.entities import PasswordResetToken, Session, StaffMember, User
from helpdesk_core.domain.errors import (
    AuthenticationFailed,
    RateLimited,
    StaleVersion,
    ValidationFailed,
)
from helpdesk_core.domain.events import user_data, user_key
from helpdesk_core.domain.principal import Principal
from helpdesk_core.domain.values import Role, clean_text, normalize_email, storable
from helpdesk_core.ports.cache import RateLimiter
from helpdesk_core.ports.security import PasswordHasher, TokenSigner
from helpdesk_core.ports.system import Clock, IdGenerator
from helpdesk_core.ports.uow import Transaction, UnitOfWork
from helpdesk_core.usecases.events import publish

ACCESS = "access"
WRONG_CREDENTIALS = "the email or password is wrong"
# The counter every change of the organization bumps (usecases/org.py): cached department and
# team names are valid for one value of it. Authentication reads it with the session.
ORG_GENERATION = "org-generation"
DISPLAY_NAME_MAX = 200

# Passwords so common that length alone does not make them safe.
_COMMON = frozenset(
    {
        "password123",
        "password1234",
        "1234567890",
        "12345678910",
        "qwertyuiop",
        "123456789a",
        "iloveyou123",
        "passw0rd123",
        "letmein1234",
        "welcome123",
        "administrator",
        "changeme123",
        "qwerty123456",
        "abc1234567",
        "0987654321",
    }
)


@attrs.frozen
class AuthPolicy:
    """The knobs of authentication, from configuration."""

    access_token_ttl: int = 3600
    password_reset_ttl: int = 3600
    password_min_length: int = 10
    password_max_length: int = 256
    # Failed logins per account (guessing one password) and per client address (guessing
    # many): the address allows far more, so one person's typos do not lock out everyone
    # behind the same NAT or proxy.
    login_rate_limit: int = 5
    login_rate_window: int = 300
    login_address_rate_limit: int = 50
    login_address_rate_window: int = 300
    public_url: str = "http://127.0.0.1:8000"


@attrs.frozen
class Account:
    """A user with their staff profile when they have one: what /me and login answer."""

    user: User
    staff: StaffMember | None = None

    @property
    def role(self) -> Role:
        return Role(self.staff.role.value) if self.staff else Role.CUSTOMER


@attrs.frozen
class Register:
    email: str
    password: str = attrs.field(repr=False)
    display_name: str


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
class ChangePassword:
    current_password: str = attrs.field(repr=False)
    new_password: str = attrs.field(repr=False)


@attrs.frozen
class ForgotPassword:
    email: str


@attrs.frozen
class ResetPassword:
    token: str = attrs.field(repr=False)
    new_password: str = attrs.field(repr=False)


@attrs.frozen
class UpdateProfile:
    display_name: str | None = None


def check_password(password: str, policy: AuthPolicy, field: str, email: str = "") -> None:
    """ValidationFailed naming ``field`` unless the password is long and uncommon enough."""
    if len(password) > policy.password_max_length:
        raise ValidationFailed.field(
            field, f"must be at most {policy.password_max_length} characters"
        )
    if len(password) < policy.password_min_length:
        raise ValidationFailed.field(
            field, f"must be at least {policy.password_min_length} characters"
        )
    lowered = password.lower()
    if lowered in _COMMON or len(set(password)) < 4:
        raise ValidationFailed.field(field, "is too easy to guess")
    local = email.split("@", 1)[0].lower()
    if len(local) >= 4 and local in lowered:
        raise ValidationFailed.field(field, "must not contain the email address")


def hash_reset_token(token: str) -> str:
    """What is stored for a reset token: its SHA-256 (the token itself is never stored)."""
    return hashlib.sha256(token.encode()).hexdigest()


RESET_PURPOSE = "password-reset"


def reset_token(signer: TokenSigner, reset_id: uuid.UUID) -> str:
    """The token of a reset request: derived from its id with the newest secret key."""
    return signer.derive(RESET_PURPOSE, str(reset_id))[0]


def login_account_key(email: str) -> str:
    """The rate limiter's key for the failed logins of one account: a digest of its email, so
    no address (nor any text a store could refuse, such as NUL) is written to the limiter."""
    normalized = email.strip().lower().encode("utf-8", "surrogatepass")
    return f"login:account:{hashlib.sha256(normalized).hexdigest()}"


def login_address_key(address: str) -> str:
    """The rate limiter's key for the failed logins from one client address."""
    return f"login:address:{address}"


@attrs.frozen
class _Throttle:
    key: str
    limit: int
    window: int


def load_account(tx: Transaction, user: User) -> Account:
    """The user with their staff profile."""
    return Account(user=user, staff=tx.staff.get(user.id))


@attrs.define
class AuthService:
    """The authentication use cases."""

    _uow: UnitOfWork
    _hasher: PasswordHasher
    _signer: TokenSigner
    _clock: Clock
    _ids: IdGenerator
    _rate_limiter: RateLimiter
    _policy: AuthPolicy

    # ------------------------------------------------------------ accounts

    def register(self, command: Register) -> Account:
        """A new customer account; Conflict when the email is registered."""
        email = normalize_email(command.email)
        display_name = clean_text(command.display_name, "display_name", max_length=DISPLAY_NAME_MAX)
        check_password(command.password, self._policy, "password", email)
        now = self._clock.now()
        user = User(
            id=self._ids.new_id(),
            email=email,
            display_name=display_name,
            password_hash=self._hasher.hash(command.password),
            created_at=now,
            updated_at=now,
        )
        with self._uow.begin() as tx:
            tx.users.add(user)
            publish(
                tx,
                self._ids,
                now,
                "user.registered",
                user_key(user.id),
                {"user": user_data(user)},
                user.id,
            )
            tx.commit()
        return Account(user=user)

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
                        {"user": user_data(user)},
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
        account_throttle = _Throttle(
            login_account_key(email), policy.login_rate_limit, policy.login_rate_window
        )
        keys = (
            account_throttle,
            _Throttle(
                login_address_key(command.client_address),
                policy.login_address_rate_limit,
                policy.login_address_rate_window,
            ),
        )
        wait = max(self._rate_limiter.retry_after(t.key, t.limit, t.window) for t in keys)
        if wait:
            raise RateLimited("too many failed logins; try again later", wait)

        if len(command.password) > self._policy.password_max_length:
            self._hasher.dummy_verify()
            self._fail_login(keys, "bad_password")
        account = None
        if storable(email):  # text no store holds names no account: no store is asked
            with self._uow.begin(read_only=True) as tx:
                user = tx.users.get_by_email(email)
                account = load_account(tx, user) if user is not None else None
        # Hashing takes ~100 ms by design: never inside a transaction.
        if account is None:
            self._hasher.dummy_verify()
            self._fail_login(keys, "unknown_account")
        ok, new_hash = self._hasher.verify(command.password, account.user.password_hash)
        if not ok:
            self._fail_login(keys, "bad_password")
        user, staff = account.user, account.staff
        if not user.is_active or (staff is not None and not staff.is_active):
            raise AuthenticationFailed("this account is deactivated", "disabled")
        now = self._clock.now()
        session = Session(
            id=self._ids.new_id(),
            user_id=user.id,
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

    def _fail_login(self, keys: tuple[_Throttle, ...], reason: str) -> NoReturn:
        # A success resets its account's count only: were the address's reset too, one valid
        # account would let its holder guess other accounts' passwords without limit.
        for throttle in keys:
            self._rate_limiter.hit(throttle.key, throttle.window)
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
            found = tx.sessions.get_with_account(session_id, ORG_GENERATION)
        if found is None or not found[0].is_valid(self._clock.now()):
            raise AuthenticationFailed("the session has ended; log in again", "session_ended")
        session, user, staff, org_generation = found
        if not user.is_active:
            raise AuthenticationFailed("the account is deactivated", "account_disabled")
        if staff is not None and not staff.is_active:
            raise AuthenticationFailed("the account is deactivated", "account_disabled")
        return Principal(
            user_id=user.id,
            role=Role(staff.role.value) if staff else Role.CUSTOMER,
            department_id=staff.department_id if staff else None,
            team_id=staff.team_id if staff else None,
            session_id=session.id,
            display_name=user.display_name,
            org_generation=org_generation,
        )

    def logout(self, actor: Principal) -> None:
        """End the actor's current session."""
        if actor.session_id is None:
            return
        with self._uow.begin() as tx:
            tx.sessions.revoke(actor.session_id, self._clock.now())
            tx.commit()

    # ------------------------------------------------------------ passwords

    def change_password(self, actor: Principal, command: ChangePassword) -> None:
        """Replace the password after checking the current one; every other session ends."""
        with self._uow.begin(read_only=True) as tx:
            user = tx.users.get(actor.user_id)
        if user is None:
            raise AuthenticationFailed("the account no longer exists")
        too_long = len(command.current_password) > self._policy.password_max_length
        if too_long or not self._hasher.verify(command.current_password, user.password_hash)[0]:
            raise ValidationFailed.field("current_password", "is wrong")
        check_password(command.new_password, self._policy, "new_password", user.email)
        new_hash = self._hasher.hash(command.new_password)
        now = self._clock.now()
        with self._uow.begin() as tx:
            tx.users.update(
                attrs.evolve(user, password_hash=new_hash, updated_at=now, version=user.version + 1)
            )
            tx.sessions.revoke_all(user.id, now, keep=actor.session_id)
            self._password_changed(tx, user, now, "change")
            tx.commit()

    def forgot_password(self, command: ForgotPassword) -> None:
        """Mail a single-use reset link if the email is registered; silent either way."""
        try:
            email = normalize_email(command.email)
        except ValidationFailed:
            return
        now = self._clock.now()
        with self._uow.begin() as tx:
            user = tx.users.get_by_email(email)
            if user is None or not user.is_active:
                return
            reset = PasswordResetToken(
                id=self._ids.new_id(),
                user_id=user.id,
                token_hash="",
                created_at=now,
                expires_at=now + timedelta(seconds=self._policy.password_reset_ttl),
            )
            # The token is derived from the reset's id with the secret keys; only its hash is
            # stored, and the worker derives it again to mail the link.
            token = reset_token(self._signer, reset.id)
            tx.password_resets.add(attrs.evolve(reset, token_hash=hash_reset_token(token)))
            publish(
                tx,
                self._ids,
                now,
                "user.password_reset_requested",
                user_key(user.id),
                {
                    "user": user_data(user),
                    "reset_id": str(reset.id),
                    "expires_at": reset.expires_at.isoformat(),
                },
                user.id,
            )
            tx.commit()

    def reset_password(self, command: ResetPassword) -> None:
        """Set a new password with a reset token: single use, expiring; all sessions end."""
        invalid = ValidationFailed.field("token", "is invalid or has expired")
        token_hash = hash_reset_token(command.token)
        with self._uow.begin(read_only=True) as tx:
            token = tx.password_resets.get_by_hash(token_hash)
            user = tx.users.get(token.user_id) if token is not None else None
        now = self._clock.now()
        if token is None or user is None or not token.is_usable(now) or not user.is_active:
            raise invalid
        check_password(command.new_password, self._policy, "new_password", user.email)
        new_hash = self._hasher.hash(command.new_password)
        with self._uow.begin() as tx:
            if not tx.password_resets.mark_used(token.id, now):  # a racing reset won
                raise invalid
            tx.password_resets.invalidate_all(user.id, now)
            current = tx.users.get(user.id)
            if current is None:
                raise invalid
            tx.users.update(
                attrs.evolve(
                    current, password_hash=new_hash, updated_at=now, version=current.version + 1
                )
            )
            tx.sessions.revoke_all(user.id, now)
            self._password_changed(tx, current, now, "reset")
            tx.commit()

    def _password_changed(self, tx: Transaction, user: User, now: datetime, how: str) -> None:
        publish(
            tx,
            self._ids,
            now,
            "user.password_changed",
            user_key(user.id),
            {"user": user_data(user), "how": how},
            user.id,
        )
