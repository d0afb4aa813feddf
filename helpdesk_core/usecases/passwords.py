"""Passwords: change, forget and reset; the part of ``AuthService`` that handles them.

``PasswordUseCases`` is mixed into ``AuthService`` (``usecases/auth.py``), which holds the
collaborators it names; the commands are re-exported there.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import attrs

from helpdesk_core.documents import user_document
from helpdesk_core.domain.entities import PasswordResetToken, User
from helpdesk_core.domain.errors import AuthenticationFailed, ValidationFailed
from helpdesk_core.domain.events import user_key
from helpdesk_core.domain.principal import Principal
from helpdesk_core.domain.values import normalize_email
from helpdesk_core.domain.views import Account
from helpdesk_core.ports.cache import RateLimiter
from helpdesk_core.ports.security import PasswordHasher, TokenSigner
from helpdesk_core.ports.system import Clock, IdGenerator
from helpdesk_core.ports.uow import Transaction, UnitOfWork
from helpdesk_core.usecases.credentials import (
    AuthPolicy,
    Throttle,
    check_password,
    enforce,
    forgot_address_key,
    forgot_recipient_key,
    hash_reset_token,
    hit_all,
    load_account,
    password_change_key,
    reset_token,
)
from helpdesk_core.usecases.events import publish


@attrs.frozen
class ChangePassword:
    current_password: str = attrs.field(repr=False)
    new_password: str = attrs.field(repr=False)


@attrs.frozen
class ForgotPassword:
    email: str
    client_address: str = "unknown"


@attrs.frozen
class ResetPassword:
    token: str = attrs.field(repr=False)
    new_password: str = attrs.field(repr=False)


class PasswordUseCases:
    """The password use cases of ``AuthService``."""

    _uow: UnitOfWork
    _hasher: PasswordHasher
    _signer: TokenSigner
    _clock: Clock
    _ids: IdGenerator
    _rate_limiter: RateLimiter
    _policy: AuthPolicy

    def change_password(self, actor: Principal, command: ChangePassword) -> None:
        """Replace the password after checking the current one; every other session ends and
        every outstanding reset link dies.

        Wrong current passwords are limited per session like failed logins (a stolen token
        must not be a way to guess the password): RateLimited beyond the limit, even for the
        right one, until the window moves on."""
        policy = self._policy
        guesses = (
            Throttle(
                password_change_key(actor.session_id, actor.user_id),
                policy.password_change_rate_limit,
                policy.password_change_rate_window,
            ),
        )
        enforce(self._rate_limiter, guesses, "too many wrong passwords; try again later")
        with self._uow.begin(read_only=True) as tx:
            user = tx.users.get(actor.user_id)
        if user is None:
            raise AuthenticationFailed("the account no longer exists")
        too_long = len(command.current_password) > policy.password_max_length
        if too_long or not self._hasher.verify(command.current_password, user.password_hash)[0]:
            hit_all(self._rate_limiter, guesses)
            raise ValidationFailed.field("current_password", "is wrong")
        check_password(command.new_password, policy, "new_password", user.email)
        new_hash = self._hasher.hash(command.new_password)
        now = self._clock.now()
        with self._uow.begin() as tx:
            tx.users.update(
                attrs.evolve(user, password_hash=new_hash, updated_at=now, version=user.version + 1)
            )
            tx.sessions.revoke_all(user.id, now, keep=actor.session_id)
            tx.password_resets.invalidate_all(user.id, now)
            self._password_changed(tx, user, now, "change")
            tx.commit()

    def forgot_password(self, command: ForgotPassword) -> None:
        """Mail a single-use reset link if an active account uses the email; silent either way.

        Limited per recipient address (registered or not) and per client address: RateLimited
        beyond either. Registered or not, active or not, the request does the same work (the
        lookups, the token's derivation, the reset's event in one write transaction, rolled
        back when nobody is to be mailed), so its time tells nothing.
        """
        policy = self._policy
        throttles: tuple[Throttle, ...] = (
            Throttle(
                forgot_address_key(command.client_address),
                policy.forgot_address_rate_limit,
                policy.forgot_address_rate_window,
            ),
        )
        try:
            email: str | None = normalize_email(command.email)
        except ValidationFailed:
            email = None
        if email is not None:
            throttles += (
                Throttle(
                    forgot_recipient_key(email), policy.forgot_rate_limit, policy.forgot_rate_window
                ),
            )
        enforce(self._rate_limiter, throttles, "too many reset requests; try again later")
        hit_all(self._rate_limiter, throttles)
        if email is None:
            return
        now = self._clock.now()
        reset_id = self._ids.new_id()
        # The token is derived from the reset's id with the secret keys; only its hash is
        # stored, and the worker derives it again to mail the link.
        token_hash = hash_reset_token(reset_token(self._signer, reset_id))
        with self._uow.begin() as tx:
            found = tx.users.get_by_email(email)
            stand_in = found or _stand_in(reset_id, email, now)
            account = Account(stand_in, tx.staff.get(stand_in.id))
            reset = PasswordResetToken(
                id=reset_id,
                user_id=stand_in.id,
                token_hash=token_hash,
                created_at=now,
                expires_at=now + timedelta(seconds=policy.password_reset_ttl),
            )
            if found is not None:
                tx.password_resets.add(reset)
            else:  # a stand-in's row would break the foreign key: a lookup of the same cost
                tx.password_resets.get_by_hash(token_hash)
            publish(
                tx,
                self._ids,
                now,
                "user.password_reset_requested",
                user_key(stand_in.id),
                {
                    "user": user_document(stand_in),
                    "reset_id": str(reset.id),
                    "expires_at": reset.expires_at.isoformat(),
                },
                stand_in.id,
            )
            # A password-less account (a host program's user) logs in with the program, not
            # with a password: nobody may give it one by mail.
            if found is not None and account.is_active and found.has_password:
                tx.commit()
            # else: leaving without commit rolls the same statements back

    def reset_password(self, command: ResetPassword) -> None:
        """Set a new password with a reset token: single use, expiring, only for an active
        account (and staff profile); all sessions end and every other reset link dies."""
        invalid = ValidationFailed.field("token", "is invalid or has expired")
        token_hash = hash_reset_token(command.token)
        with self._uow.begin(read_only=True) as tx:
            token = tx.password_resets.get_by_hash(token_hash)
            user = tx.users.get(token.user_id) if token is not None else None
            account = load_account(tx, user) if user is not None else None
        now = self._clock.now()
        if token is None or account is None or not token.is_usable(now) or not account.is_active:
            raise invalid
        check_password(command.new_password, self._policy, "new_password", account.user.email)
        new_hash = self._hasher.hash(command.new_password)
        with self._uow.begin() as tx:
            if not tx.password_resets.mark_used(token.id, now):  # a racing reset won
                raise invalid
            tx.password_resets.invalidate_all(account.user.id, now)
            current = tx.users.get(account.user.id)
            if current is None:
                raise invalid
            tx.users.update(
                attrs.evolve(
                    current, password_hash=new_hash, updated_at=now, version=current.version + 1
                )
            )
            tx.sessions.revoke_all(current.id, now)
            self._password_changed(tx, current, now, "reset")
            tx.commit()

    def _password_changed(self, tx: Transaction, user: User, now: datetime, how: str) -> None:
        publish(
            tx,
            self._ids,
            now,
            "user.password_changed",
            user_key(user.id),
            {"user": user_document(user), "how": how},
            user.id,
        )


def _stand_in(user_id: uuid.UUID, email: str, now: datetime) -> User:
    """A user that is nobody, for a reset request of an unknown address to do the same work."""
    return User(
        id=user_id,
        email=email,
        display_name="",
        password_hash="",
        created_at=now,
        updated_at=now,
    )
