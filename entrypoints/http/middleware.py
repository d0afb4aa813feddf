"""Middleware: request id, tracing span, access log, metrics, body limits, security headers,
and CORS for the configured browser origins."""

from __future__ import annotations

import io
import logging
import re
import time
import uuid
from typing import Any

import attrs
import falcon

from entrypoints.http.fields import HEADER, PATH, QUERY, RequestFieldError
from entrypoints.observability.logging import request_id_var
from entrypoints.observability.metrics import http_metrics
from entrypoints.observability.tracing import NoopTracer, Tracer
from helpdesk_core.domain.errors import ValidationFailed
from helpdesk_core.domain.values import unstorable

access_log = logging.getLogger("helpdesk.access")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _route(req: falcon.Request) -> str:
    # The template keeps metric labels bounded; unmatched paths share one label.
    return req.uri_template or "unmatched"


class RequestContext:
    """Gives every request an id, a span, an access-log line and its metrics.

    It runs first and its ``process_response`` runs for every answer, errors included.
    """

    def __init__(self, tracer: Tracer | None = None) -> None:
        self._tracer = tracer or NoopTracer()
        self._metrics = http_metrics()

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        incoming = req.get_header("X-Request-ID")
        request_id = incoming if incoming and _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        req.context.request_id = request_id
        req.context.started = time.perf_counter()
        req.context.log_token = request_id_var.set(request_id)
        span_cm = self._tracer.start_span(
            "http.request", {"http.method": req.method, "http.target": req.path}
        )
        req.context.span_cm = span_cm
        req.context.span = span_cm.__enter__()
        self._metrics.in_flight.inc()
        resp.set_header("X-Request-ID", request_id)

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, req_succeeded: bool
    ) -> None:
        started = getattr(req.context, "started", None)
        if started is None:  # process_request never ran
            return
        duration = time.perf_counter() - started
        route = _route(req)
        status = resp.status_code
        self._metrics.in_flight.dec()
        self._metrics.requests.labels(req.method, route, str(status)).inc()
        self._metrics.latency.labels(req.method, route, str(status)).observe(duration)
        resp.set_header("X-Request-ID", req.context.request_id)
        span = req.context.span
        span.set_attribute("http.route", route)
        span.set_attribute("http.status_code", status)
        req.context.span_cm.__exit__(None, None, None)
        access_log.info(
            "%s %s %s %.1fms",
            req.method,
            route,
            status,
            duration * 1000,
            extra={
                "http_method": req.method,
                "route": route,
                "status": status,
                "duration_ms": round(duration * 1000, 2),
                "request_id": req.context.request_id,
            },
        )
        request_id_var.reset(req.context.log_token)


@attrs.frozen
class RawBodies:
    """Routes whose path matches ``paths`` take bodies of ``types`` besides JSON, up to
    ``max_bytes``: received mail, POSTed whole as ``message/rfc822``; a message with files,
    ``multipart/form-data``. ``json`` says whether JSON is still taken there."""

    paths: re.Pattern[str]
    max_bytes: int
    types: frozenset[str]
    json: bool = False


class BodyLimits:
    """Refuses bodies over the size limit (413) and bodies that are not JSON (415), but for
    the routes ``raw`` names, whose bodies have their own limit and types.

    A chunked body (no Content-Length) is read up to the limit here and handed on as a
    buffered stream with its length, so the size rule holds for it too.
    """

    def __init__(self, max_body_bytes: int, *raw: RawBodies) -> None:
        self._max = max_body_bytes
        self._raw = raw

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        content_type = (req.content_type or "application/json").split(";")[0].strip().lower()
        raw = next((r for r in self._raw if r.paths.match(req.path)), None)
        # A route's own kind of body has its own limit; JSON keeps the general one everywhere.
        takes_raw = raw is not None and content_type in raw.types
        limit = raw.max_bytes if raw is not None and takes_raw else self._max
        length = req.content_length
        chunked = "chunked" in (req.get_header("Transfer-Encoding") or "").lower()
        if length is not None and length > limit:
            raise falcon.HTTPContentTooLarge(
                description=f"The request body may be at most {limit} bytes."
            )
        if length is None and chunked:
            data = req.stream.read(limit + 1)
            if len(data) > limit:
                raise falcon.HTTPContentTooLarge(
                    description=f"The request body may be at most {limit} bytes."
                )
            req.env["wsgi.input"] = io.BytesIO(data)
            req.env["CONTENT_LENGTH"] = str(len(data))
            req.stream = req.env["wsgi.input"]
            length = len(data)
        if req.method not in _BODY_METHODS or not length or takes_raw:
            return
        is_json = content_type == "application/json" or content_type.endswith("+json")
        if raw is not None and not (raw.json and is_json):
            kinds = sorted(raw.types | ({"application/json"} if raw.json else set()))
            raise falcon.HTTPUnsupportedMediaType(
                description=f"This route takes {', '.join(kinds)} bodies."
            )
        if raw is None and not is_json:
            raise falcon.HTTPUnsupportedMediaType(
                description="Request bodies must be JSON (Content-Type: application/json)."
            )


class SecurityHeaders:
    """Headers every response carries, errors, preflights and unknown routes included.

    ``Cache-Control: no-store`` goes on every answer, public ones too: almost every answer is
    about one caller at one moment, and one rule leaves no authenticated answer cacheable by
    mistake. The server's name and version are not sent by the app (gunicorn adds a bare
    ``Server: gunicorn``).
    """

    _HEADERS = (
        ("X-Content-Type-Options", "nosniff"),
        ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"),
        ("Referrer-Policy", "no-referrer"),
        ("X-Frame-Options", "DENY"),
        ("Cross-Origin-Resource-Policy", "same-origin"),
    )

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, req_succeeded: bool
    ) -> None:
        for name, value in self._HEADERS:
            resp.set_header(name, value)
        resp.set_header("Cache-Control", "no-store")


class Cors:
    """CORS for exact browser origins (``HELPDESK_CORS_ORIGINS``); absent when none are set.

    An allowed origin gets ``Access-Control-Allow-Origin`` naming it (``*`` when every origin
    is allowed), the response headers a client needs exposed, and on a preflight the route's
    methods and the request headers the API reads. A foreign origin gets no ``Access-Control-*``
    header at all, so the browser refuses. Credentials are granted only when configured, and
    never together with ``*``. Every answer says ``Vary: Origin``: caches must not hand one
    origin's grant to another.
    """

    ALLOW_HEADERS = "Authorization, Content-Type, If-Match, Idempotency-Key, X-Request-ID"
    EXPOSE_HEADERS = "ETag, Location, Retry-After, WWW-Authenticate, X-Request-ID"
    MAX_AGE = "600"

    def __init__(self, origins: tuple[str, ...], allow_credentials: bool = False) -> None:
        self._any = origins == ("*",)
        if "*" in origins and not self._any:
            raise ValueError("CORS origin '*' must stand alone")
        if self._any and allow_credentials:
            raise ValueError("CORS credentials are never allowed for every origin ('*')")
        self._origins = frozenset(origins)
        self._credentials = allow_credentials

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, req_succeeded: bool
    ) -> None:
        resp.append_header("Vary", "Origin")
        origin = req.get_header("Origin")
        if origin is None or not (self._any or origin in self._origins):
            return
        resp.set_header("Access-Control-Allow-Origin", "*" if self._any else origin)
        if self._credentials:
            resp.set_header("Access-Control-Allow-Credentials", "true")
        resp.set_header("Access-Control-Expose-Headers", self.EXPOSE_HEADERS)
        preflight = req.method == "OPTIONS" and req.get_header("Access-Control-Request-Method")
        allow = resp.get_header("Allow")
        if preflight and req_succeeded and allow:
            resp.set_header("Access-Control-Allow-Methods", allow)
            resp.set_header("Access-Control-Allow-Headers", self.ALLOW_HEADERS)
            resp.set_header("Access-Control-Max-Age", self.MAX_AGE)


class StorableInput:
    """Refuses (422, naming the input) text that no store can hold (NUL, lone surrogates) in
    the query string, the path and the headers the service reads, before any store sees it.
    Bodies are held to the same rule by the converter. It runs after authentication, so an
    anonymous caller learns nothing from it that a 401 would not tell."""

    HEADERS = ("Idempotency-Key", "If-Match", "X-Request-ID")

    def process_resource(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, params: dict[str, Any]
    ) -> None:
        if resource is None:
            return  # no route: falcon answers 404
        errors: list[RequestFieldError] = []
        for name, value in req.params.items():
            for text in (name, *(value if isinstance(value, list) else (value,))):
                reason = unstorable(text)
                if reason is not None:
                    errors.append(RequestFieldError(name, reason, QUERY))
                    break
        for name, value in params.items():
            reason = unstorable(value) if isinstance(value, str) else None
            if reason is not None:
                errors.append(RequestFieldError(name, reason, PATH))
        for name in self.HEADERS:
            header = req.get_header(name)
            reason = unstorable(header) if header is not None else None
            if reason is not None:
                errors.append(RequestFieldError(name, reason, HEADER))
        if errors:
            raise ValidationFailed(
                "; ".join(f"{e.field}: {e.message}" for e in errors), tuple(errors)
            )
