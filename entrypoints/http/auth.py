"""Authentication middleware: ``Authorization: Bearer <token>`` -> a Principal on the request.

It runs in ``process_resource`` (after routing), so a 401 keeps its route template in logs and
metrics. A resource opts out per responder with ``public = {"on_post", ...}``: those answer the
same to everyone and never look at credentials; everything else needs a valid token.
"""

from __future__ import annotations

import logging
from typing import Any

import falcon

from helpdesk_core.domain.errors import AuthenticationFailed
from helpdesk_core.domain.principal import Principal
from helpdesk_core.usecases.auth import AuthService

log = logging.getLogger("helpdesk.auth")


def responder_name(req: falcon.Request) -> str:
    return f"on_{req.method.lower()}"


class Authentication:
    """Turns the bearer token into ``req.context.principal`` (None on public responders)."""

    def __init__(self, auth: AuthService) -> None:
        self._auth = auth

    def process_resource(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, params: dict[str, Any]
    ) -> None:
        req.context.principal = None
        if resource is None or req.method == "OPTIONS":
            return
        if not hasattr(resource, responder_name(req)):
            return  # falcon answers 405 with Allow; nothing to protect
        if responder_name(req) in getattr(resource, "public", frozenset()):
            return  # public answers are the same for everyone: credentials are not looked at
        header = req.get_header("Authorization")
        if header is None:
            raise AuthenticationFailed("this route needs an access token (Authorization: Bearer)")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationFailed("the Authorization header must be 'Bearer <token>'")
        try:
            req.context.principal = self._auth.authenticate(token.strip())
        except AuthenticationFailed as exc:
            log.info(
                "authentication refused: %s",
                exc.detail,
                extra={"event": "auth.refused", "route": req.uri_template, "reason": exc.detail},
            )
            raise


def principal(req: falcon.Request) -> Principal:
    """The authenticated actor of a non-public responder."""
    actor: Principal | None = getattr(req.context, "principal", None)
    if actor is None:  # a public responder asked for one: a wiring mistake, not the client's
        raise AuthenticationFailed("this route needs an access token (Authorization: Bearer)")
    return actor
