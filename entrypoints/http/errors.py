"""The one place where errors become HTTP: RFC 9457 problem details for every failure.

Domain errors map to statuses here; falcon's own errors (404 for unknown routes, 405, 415,
malformed JSON, 413) go through the same serializer; anything unexpected is logged with its
traceback and answered as a bare 500 problem without a trace.
"""

from __future__ import annotations

import http
import json
import logging
from collections.abc import Iterable, Mapping
from typing import Any

import falcon

from entrypoints.http.auth import HOST_REFUSED, log_authz_denied
from entrypoints.http.fields import body_error, error_json
from helpdesk_core.domain.errors import (
    AuthenticationFailed,
    Conflict,
    DependencyUnavailable,
    DomainError,
    FieldError,
    NotFound,
    PermissionDenied,
    PreconditionRequired,
    RateLimited,
    StaleVersion,
    ValidationFailed,
)

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("helpdesk.http")

_STATUS: Mapping[type[DomainError], int] = {
    NotFound: 404,
    PermissionDenied: 403,
    AuthenticationFailed: 401,
    ValidationFailed: 422,
    Conflict: 409,
    StaleVersion: 412,
    PreconditionRequired: 428,
    RateLimited: 429,
    DependencyUnavailable: 503,
}


class Problem(falcon.HTTPError):
    """An HTTPError carrying a problem ``type`` slug and optional field ``errors``."""

    def __init__(
        self,
        status: int,
        detail: str | None = None,
        *,
        code: str | None = None,
        errors: Iterable[FieldError] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(status, description=detail, headers=dict(headers or {}))
        self.problem_code = code
        self.errors = tuple(errors)


def problem_type(code: str | None) -> str:
    """The problem's ``type`` URI: a stable URN per error kind, about:blank for plain HTTP."""
    return f"urn:helpdesk:problem:{code}" if code else "about:blank"


def serialize_problem(req: falcon.Request, resp: falcon.Response, exc: falcon.HTTPError) -> None:
    """Falcon's error serializer: every error response is problem+json."""
    status = int(exc.status_code)
    body: dict[str, Any] = {
        "type": problem_type(getattr(exc, "problem_code", None)),
        "title": http.HTTPStatus(status).phrase,
        "status": status,
    }
    if exc.description:
        body["detail"] = exc.description
    errors = getattr(exc, "errors", ())
    if errors:
        body["errors"] = [error_json(e, req.method) for e in errors]
    request_id = getattr(req.context, "request_id", None)
    if request_id:
        body["request_id"] = request_id
    resp.data = json.dumps(body).encode()
    resp.content_type = PROBLEM_JSON
    resp.append_header("Vary", "Accept")


def handle_domain_error(
    req: falcon.Request, resp: falcon.Response, exc: DomainError, params: dict[str, Any]
) -> None:
    """Map a DomainError to its status (first match along the MRO) and raise a Problem."""
    status = next((_STATUS[cls] for cls in type(exc).__mro__ if cls in _STATUS), 500)
    headers: dict[str, str] = {}
    if isinstance(exc, RateLimited | DependencyUnavailable):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, AuthenticationFailed) and exc.reason != HOST_REFUSED:
        # A host program that says who calls (``identify``) has its own login: no challenge.
        headers["WWW-Authenticate"] = 'Bearer realm="helpdesk"'
    if isinstance(exc, AuthenticationFailed | PermissionDenied):
        log_authz_denied(req, exc)  # one security event per refused request
    if isinstance(exc, DependencyUnavailable):
        log.warning(
            "dependency unavailable: %s", exc.dependency, extra={"dependency": exc.dependency}
        )
    if status == 500:
        log.error("domain error without an HTTP mapping", exc_info=exc)
        raise Problem(500, "The server could not complete the request.")
    raise Problem(
        status,
        exc.detail,
        code=exc.code,
        errors=getattr(exc, "errors", ()),
        headers=headers,
    )


def handle_unexpected(
    req: falcon.Request, resp: falcon.Response, exc: Exception, params: dict[str, Any]
) -> None:
    """Log the traceback, answer a 500 problem that reveals nothing of it."""
    log.error("unhandled error in %s %s", req.method, req.uri_template or req.path, exc_info=exc)
    raise Problem(500, "The server could not complete the request.", code="internal-error")


def handle_http_error(
    req: falcon.Request, resp: falcon.Response, exc: falcon.HTTPError, params: dict[str, Any]
) -> None:
    """Falcon's own errors: keep them, but give a clearer detail where falcon gives none."""
    if isinstance(exc, falcon.MediaMalformedError):
        raise Problem(
            400,
            "The request body is not valid JSON.",
            code="malformed-json",
            errors=(body_error((), _json_error_message(exc)),),
        )
    if exc.status_code == 404 and not exc.description:
        exc.description = f"No resource at {req.path}."
    elif exc.status_code == 405 and not exc.description:
        exc.description = f"{req.method} is not allowed on {req.path}."
    raise exc


def _json_error_message(exc: falcon.MediaMalformedError) -> str:
    cause = exc.__cause__
    if isinstance(cause, json.JSONDecodeError):
        return f"is not valid JSON: {cause.msg} (line {cause.lineno}, column {cause.colno})"
    if isinstance(cause, UnicodeDecodeError):
        return "is not valid JSON: it is not UTF-8 text"
    if isinstance(cause, ValueError):  # app._loads: nesting beyond what the parser takes
        return f"is not valid JSON: {cause}"
    return "is not valid JSON"


def register_error_handling(app: falcon.App) -> None:
    """Install the handlers and the problem+json serializer on ``app``."""
    app.add_error_handler(Exception, handle_unexpected)
    app.add_error_handler(falcon.HTTPError, handle_http_error)
    app.add_error_handler(DomainError, handle_domain_error)
    app.set_error_serializer(serialize_problem)
