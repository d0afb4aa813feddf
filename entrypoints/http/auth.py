"""Authentication middleware: ``Authorization: Bearer <token>`` -> a Principal on the request.

It runs in ``process_resource`` (after routing), so a 401 keeps its route template in logs and
metrics. A resource opts out per responder with ``public = {"on_post", ...}``: those answer the
same to everyone and never look at credentials; everything else needs a valid token.

Security events go to the ``helpdesk.security`` logger, one structured record each: every login
attempt (``event="login"``, written by ``login_attempt``) and every refused request
(``event="authz_denied"``: a 401 for a missing or bad token, a 403), written where errors become
HTTP. They name the account by id, or by an email hint (an HMAC of the address under a key of
the server's own), never by a password, a token or the address itself.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import falcon

from entrypoints.http.client import client_address
from helpdesk_core.domain.errors import (
    AuthenticationFailed,
    DomainError,
    PermissionDenied,
    RateLimited,
)
from helpdesk_core.domain.principal import Principal
from helpdesk_core.usecases.auth import Account, AuthService

security_log = logging.getLogger("helpdesk.security")
HOST_REFUSED = "host_refused"  # the reason of a 401 when the embedding program knew no caller
_HINT_PURPOSE = b"helpdesk.security.email-hint"


def _route(req: falcon.Request) -> str:
    return req.uri_template or "unmatched"


def _request_fields(req: falcon.Request) -> dict[str, Any]:
    return {
        "route": _route(req),
        "method": req.method,
        "client_ip": client_address(req),
        "request_id": getattr(req.context, "request_id", None),
    }


class SecurityLog:
    """Writes the security events; ``hint_key`` keys the email hints (stable per key)."""

    def __init__(self, hint_key: str | None = None) -> None:
        key = hint_key.encode() if hint_key else secrets.token_bytes(32)
        self._key = hmac.new(key, _HINT_PURPOSE, hashlib.sha256).digest()

    def email_hint(self, email: str) -> str:
        """16 hex digits naming an address without revealing it: the same address gives the
        same hint (attempts on one account can be grouped), and without the server's key no
        list of candidate addresses can be checked against it."""
        normalized = email.strip().lower().encode("utf-8", "replace")
        return hmac.new(self._key, normalized, hashlib.sha256).hexdigest()[:16]

    def login(
        self,
        req: falcon.Request,
        outcome: str,
        email: str,
        account: Account | None = None,
    ) -> None:
        fields: dict[str, Any] = {
            "event": "login",
            "outcome": outcome,
            "email_hint": self.email_hint(email),
            **_request_fields(req),
        }
        if account is not None:
            fields["user_id"] = str(account.user.id)
            fields["role"] = account.role.value
        level = logging.INFO if outcome == "success" else logging.WARNING
        security_log.log(level, "login %s", outcome, extra=fields)


@attrs.define
class LoginAttempt:
    """What ``login_attempt`` learns while the login runs: the account when it succeeded."""

    account: Account | None = None


def _security(req: falcon.Request) -> SecurityLog:
    found = getattr(req.context, "security_log", None)
    return found if isinstance(found, SecurityLog) else SecurityLog()


@contextlib.contextmanager
def login_attempt(req: falcon.Request, email: str) -> Iterator[LoginAttempt]:
    """Wrap one login: exactly one ``event="login"`` record, whatever the outcome.

    Outcomes: ``success``, ``bad_password``, ``unknown_account``, ``disabled`` (from the
    refusal's reason), ``throttled`` (rate limited) and ``error`` (anything else, re-raised).
    The request is marked, so its 401 is not logged a second time as ``authz_denied``.
    """
    attempt = LoginAttempt()
    req.context.security_logged = True
    try:
        yield attempt
    except AuthenticationFailed as exc:
        _security(req).login(req, exc.reason, email)
        raise
    except RateLimited:
        _security(req).login(req, "throttled", email)
        raise
    except BaseException:
        _security(req).login(req, "error", email)
        raise
    _security(req).login(req, "success", email, attempt.account)


def log_authz_denied(req: falcon.Request, exc: DomainError) -> None:
    """One ``event="authz_denied"`` record for a 401 or 403 (unless the request was a login,
    which has its own event)."""
    if getattr(req.context, "security_logged", False):
        return
    req.context.security_logged = True
    actor: Principal | None = getattr(req.context, "principal", None)
    fields: dict[str, Any] = {
        "event": "authz_denied",
        "status": 403 if isinstance(exc, PermissionDenied) else 401,
        "reason": exc.reason if isinstance(exc, AuthenticationFailed) else "forbidden",
        "detail": exc.detail,
        "user_id": str(actor.user_id) if actor else None,
        "role": actor.role.value if actor else None,
        **_request_fields(req),
    }
    security_log.warning(
        "%s %s refused (%s): %s",
        req.method,
        fields["route"],
        fields["reason"],
        exc.detail,
        extra=fields,
    )


def responder_name(req: falcon.Request) -> str:
    return f"on_{req.method.lower()}"


Identify = Callable[[dict[str, Any]], Principal | None]
"""The embedding program's own authentication: the WSGI environ to the caller, or None."""


class Authentication:
    """Turns the bearer token into ``req.context.principal`` (None on public responders).

    With ``identify`` (an embedding program's authentication, ``helpdesk.Helpdesk.wsgi_app``)
    the program says who calls instead, and bearer tokens are not looked at.
    """

    def __init__(
        self,
        auth: AuthService,
        security: SecurityLog | None = None,
        identify: Identify | None = None,
    ) -> None:
        self._auth = auth
        self._security = security or SecurityLog()
        self._identify = identify

    def process_resource(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, params: dict[str, Any]
    ) -> None:
        req.context.principal = None
        req.context.security_log = self._security
        if resource is None or req.method == "OPTIONS":
            return
        if not hasattr(resource, responder_name(req)):
            return  # falcon answers 405 with Allow; nothing to protect
        if responder_name(req) in getattr(resource, "public", frozenset()):
            return  # public answers are the same for everyone: credentials are not looked at
        if self._identify is not None:
            found = self._identify(req.env)
            if found is None:
                raise AuthenticationFailed("sign in to use this route", HOST_REFUSED)
            req.context.principal = found
            return
        header = req.get_header("Authorization")
        if header is None:
            raise AuthenticationFailed(
                "this route needs an access token (Authorization: Bearer)", "missing_token"
            )
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationFailed(
                "the Authorization header must be 'Bearer <token>'", "malformed_authorization"
            )
        # A refusal is logged once, as event="authz_denied", where errors become HTTP.
        req.context.principal = self._auth.authenticate(token.strip())


def principal(req: falcon.Request) -> Principal:
    """The authenticated actor of a non-public responder."""
    actor: Principal | None = getattr(req.context, "principal", None)
    if actor is None:  # a public responder asked for one: a wiring mistake, not the client's
        raise AuthenticationFailed("this route needs an access token (Authorization: Bearer)")
    return actor
