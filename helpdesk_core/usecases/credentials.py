"""The rules behind the account use cases: their policy, the account they answer with,
password strength, reset tokens and throttles.

Kept apart from ``usecases/auth.py`` (the use cases themselves); ``auth`` re-exports the names
other modules import from it.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Protocol

import attrs

from helpdesk_core.domain.entities import User
from helpdesk_core.domain.errors import RateLimited, ValidationFailed
from helpdesk_core.domain.views import Account
from helpdesk_core.ports.cache import RateLimiter
from helpdesk_core.ports.security import TokenSigner
from helpdesk_core.ports.uow import Transaction


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
    # Reset links asked for one address (registered or not; also caps the "someone tried to
    # register your address" mails) and from one client address.
    forgot_rate_limit: int = 3
    forgot_rate_window: int = 3600
    forgot_address_rate_limit: int = 20
    forgot_address_rate_window: int = 3600
    # Registrations from one client address (each costs a password hash).
    register_address_rate_limit: int = 10
    register_address_rate_window: int = 3600
    # Wrong current passwords sent with one session (a stolen token must not guess).
    password_change_rate_limit: int = 5
    password_change_rate_window: int = 300
    public_url: str = "http://127.0.0.1:8000"


def load_account(tx: Transaction, user: User) -> Account:
    """The user with their staff profile."""
    return Account(user=user, staff=tx.staff.get(user.id))


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


class PasswordRules(Protocol):
    """The lengths a password must keep to (``AuthPolicy`` has them)."""

    @property
    def password_min_length(self) -> int: ...

    @property
    def password_max_length(self) -> int: ...


def check_password(password: str, policy: PasswordRules, field: str, email: str = "") -> None:
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


# ---------------------------------------------------------------- reset tokens

RESET_PURPOSE = "password-reset"


def hash_reset_token(token: str) -> str:
    """What is stored for a reset token: its SHA-256 (the token itself is never stored)."""
    return hashlib.sha256(token.encode()).hexdigest()


def reset_token(signer: TokenSigner, reset_id: uuid.UUID) -> str:
    """The token of a reset request: derived from its id with the newest secret key."""
    return signer.derive(RESET_PURPOSE, str(reset_id))[0]


# ---------------------------------------------------------------- throttles


def email_digest(email: str) -> str:
    """A digest of an address for a throttle's key: no address (nor any text a store could
    refuse, such as NUL) is written to the limiter."""
    normalized = email.strip().lower().encode("utf-8", "surrogatepass")
    return hashlib.sha256(normalized).hexdigest()


def login_account_key(email: str) -> str:
    """The rate limiter's key for the failed logins of one account."""
    return f"login:account:{email_digest(email)}"


def login_address_key(address: str) -> str:
    """The rate limiter's key for the failed logins from one client address."""
    return f"login:address:{address}"


def forgot_recipient_key(email: str) -> str:
    """The key for the reset links asked for one address (registered or not)."""
    return f"forgot:recipient:{email_digest(email)}"


def forgot_address_key(address: str) -> str:
    """The key for the reset links asked for from one client address."""
    return f"forgot:address:{address}"


def register_address_key(address: str) -> str:
    """The key for the registrations sent from one client address."""
    return f"register:address:{address}"


def register_recipient_key(email: str) -> str:
    """The key for the "someone tried to register your address" mails to one address."""
    return f"register:recipient:{email_digest(email)}"


def password_change_key(session_id: uuid.UUID | None, user_id: uuid.UUID) -> str:
    """The key for the wrong current passwords sent with one session (its user's, when the
    principal has no session)."""
    return f"password-change:session:{session_id or user_id}"


@attrs.frozen
class Throttle:
    """One limit: at most ``limit`` events of ``key`` in ``window`` seconds."""

    key: str
    limit: int
    window: int


def wait_for(limiter: RateLimiter, throttles: tuple[Throttle, ...]) -> int:
    """Seconds until every throttle allows one more event (0: now)."""
    return max((limiter.retry_after(t.key, t.limit, t.window) for t in throttles), default=0)


def enforce(limiter: RateLimiter, throttles: tuple[Throttle, ...], message: str) -> None:
    """RateLimited (429 with Retry-After) while any of ``throttles`` is exhausted."""
    wait = wait_for(limiter, throttles)
    if wait:
        raise RateLimited(message, wait)


def hit_all(limiter: RateLimiter, throttles: tuple[Throttle, ...]) -> None:
    """Record one event for each throttle."""
    for throttle in throttles:
        limiter.hit(throttle.key, throttle.window)
