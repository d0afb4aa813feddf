"""Accounts and sessions: /api/v1/auth/... and /api/v1/me."""

from __future__ import annotations

import attrs
import cattrs
import falcon

from entrypoints.http.auth import login_attempt, principal
from entrypoints.http.client import client_address
from entrypoints.http.converter import Credential, structure
from helpdesk_core.documents import account_document
from helpdesk_core.usecases.auth import (
    AuthService,
    ChangePassword,
    ForgotPassword,
    Login,
    Register,
    ResetPassword,
    UpdateProfile,
)

FORGOT_ANSWER = {
    "detail": "If an account uses that address, a reset link is on its way to it.",
}
# The one answer to every registration that passes validation, whether the address was free
# (the account now exists: log in) or taken (no account was made; its owner was mailed).
REGISTER_ANSWER = {
    "detail": (
        "Registration received. If the address was free, the account is ready: log in with "
        "it. If it already has an account, its owner has been told by mail."
    ),
}


@attrs.frozen
class LoginBody:
    # Credentials are only compared, never stored: text no store could hold (NUL) makes an
    # ordinary failed login, not a 422 that would tell a guesser anything.
    email: Credential
    password: Credential = attrs.field(repr=False)


@attrs.frozen
class RegisterBody:
    email: str
    password: str = attrs.field(repr=False)
    display_name: str


@attrs.frozen
class ForgotBody:
    email: str


@attrs.define
class AuthResources:
    """Everything the auth resources share."""

    auth: AuthService
    converter: cattrs.Converter


class RegisterResource:
    public = frozenset({"on_post"})

    def __init__(self, shared: AuthResources) -> None:
        self._s = shared

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = structure(self._s.converter, req.get_media(), RegisterBody)
        self._s.auth.sign_up(
            Register(body.email, body.password, body.display_name, client_address(req))
        )
        resp.media = REGISTER_ANSWER
        resp.status = falcon.HTTP_202


class LoginResource:
    public = frozenset({"on_post"})

    def __init__(self, shared: AuthResources) -> None:
        self._s = shared

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = structure(self._s.converter, req.get_media(), LoginBody)
        with login_attempt(req, body.email) as attempt:  # one security log event
            result = self._s.auth.login(
                Login(body.email, body.password, client_address=client_address(req))
            )
            attempt.account = result.account
        resp.media = {
            "access_token": result.access_token,
            "token_type": "Bearer",
            "expires_in": result.expires_in,
            "user": account_document(result.account),
        }


class LogoutResource:
    def __init__(self, shared: AuthResources) -> None:
        self._s = shared

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        self._s.auth.logout(principal(req))
        resp.status = falcon.HTTP_204


class ForgotPasswordResource:
    public = frozenset({"on_post"})

    def __init__(self, shared: AuthResources) -> None:
        self._s = shared

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = structure(self._s.converter, req.get_media(), ForgotBody)
        self._s.auth.forgot_password(ForgotPassword(body.email, client_address(req)))
        resp.media = FORGOT_ANSWER
        resp.status = falcon.HTTP_202


class ResetPasswordResource:
    public = frozenset({"on_post"})

    def __init__(self, shared: AuthResources) -> None:
        self._s = shared

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        self._s.auth.reset_password(structure(self._s.converter, req.get_media(), ResetPassword))
        resp.status = falcon.HTTP_204


class ChangePasswordResource:
    def __init__(self, shared: AuthResources) -> None:
        self._s = shared

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        command = structure(self._s.converter, req.get_media(), ChangePassword)
        self._s.auth.change_password(principal(req), command)
        resp.status = falcon.HTTP_204


class MeResource:
    def __init__(self, shared: AuthResources) -> None:
        self._s = shared

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = account_document(self._s.auth.me(principal(req)))

    def on_patch(self, req: falcon.Request, resp: falcon.Response) -> None:
        command = structure(self._s.converter, req.get_media(), UpdateProfile)
        resp.media = account_document(self._s.auth.update_profile(principal(req), command))


def add_auth_routes(
    app: falcon.App, prefix: str, shared: AuthResources, token_login: bool = True
) -> None:
    """/me, and unless the embedding program logs its users in itself, the token routes."""
    app.add_route(f"{prefix}/me", MeResource(shared))
    if not token_login:
        return
    app.add_route(f"{prefix}/auth/register", RegisterResource(shared))
    app.add_route(f"{prefix}/auth/login", LoginResource(shared))
    app.add_route(f"{prefix}/auth/logout", LogoutResource(shared))
    app.add_route(f"{prefix}/auth/password/forgot", ForgotPasswordResource(shared))
    app.add_route(f"{prefix}/auth/password/reset", ResetPasswordResource(shared))
    app.add_route(f"{prefix}/auth/password/change", ChangePasswordResource(shared))
