"""The domain error hierarchy.

Use cases raise these; each entrypoint maps them in one place (HTTP: problem details,
CLI: a one-line message and an exit code). They carry no framework knowledge.
"""

from __future__ import annotations

import attrs


@attrs.frozen
class FieldError:
    """One invalid field of a request: a dotted path (``attachments.0.size_bytes``) and why."""

    field: str
    message: str


class DomainError(Exception):
    """Base of every error the core raises on purpose."""

    code = "domain-error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(DomainError):
    """The thing does not exist, or lies outside the actor's scope (no existence leak)."""

    code = "not-found"


class PermissionDenied(DomainError):
    """The actor is known but may not do this."""

    code = "permission-denied"


class AuthenticationFailed(DomainError):
    """No valid credentials: unknown, expired, tampered or revoked.

    ``reason`` is a short machine-readable word for the security log (``bad_password``,
    ``unknown_account``, ``expired_token``, ...); it is never shown to the client, whose
    ``detail`` stays the same whether or not an account exists.
    """

    code = "authentication-failed"

    def __init__(self, detail: str, reason: str = "unauthenticated") -> None:
        super().__init__(detail)
        self.reason = reason


class ValidationFailed(DomainError):
    """The input breaks a rule; ``errors`` names each offending field."""

    code = "validation-failed"

    def __init__(self, detail: str, errors: tuple[FieldError, ...] = ()) -> None:
        super().__init__(detail)
        self.errors = errors

    @classmethod
    def field(cls, field: str, message: str) -> ValidationFailed:
        """A validation error about exactly one field."""
        return cls(f"{field}: {message}", (FieldError(field, message),))


class Conflict(DomainError):
    """The request clashes with the current state (duplicate name, illegal transition)."""

    code = "conflict"


class StaleVersion(DomainError):
    """The caller changed an older version of the aggregate than the stored one."""

    code = "stale-version"


def stale_version(what: str, version: int) -> StaleVersion:
    """The refusal of an update of ``what`` to ``version`` whose base is no longer stored."""
    return StaleVersion(
        f"the {what} was changed meanwhile (expected stored version {version - 1}); "
        "reload it and try again"
    )


class PreconditionRequired(DomainError):
    """A change that needs the caller's known version was sent without it."""

    code = "precondition-required"


class RateLimited(DomainError):
    """Too many attempts; try again after ``retry_after`` seconds."""

    code = "rate-limited"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = max(1, int(retry_after))


class DependencyUnavailable(DomainError):
    """A required dependency (database, ...) cannot be reached; the request may be retried."""

    code = "dependency-unavailable"

    def __init__(self, detail: str, dependency: str, retry_after: int = 5) -> None:
        super().__init__(detail)
        self.dependency = dependency
        self.retry_after = max(1, int(retry_after))


class InternalError(DomainError):
    """A fault no rule foresaw (a driver's unexpected error): logged where it happened, and
    answered as a 500 over HTTP. The library raises it instead of the driver's exception."""

    code = "internal-error"
