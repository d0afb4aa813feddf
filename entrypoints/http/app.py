"""The Falcon WSGI application: ``create_app(services)`` builds it, ``wsgi()`` is for gunicorn."""

from __future__ import annotations

import functools
import json
import math
import re
from importlib import resources
from typing import Any

import falcon
import yaml

from entrypoints.bootstrap import Services
from entrypoints.config import INBOUND_PREFIX, Settings
from entrypoints.config.settings import UPLOAD_PATHS, upload_max_bytes
from entrypoints.http.auth import Authentication, Identify, SecurityLog
from entrypoints.http.client import ClientAddress
from entrypoints.http.converter import NUMBER_MAX_CHARS, OutOfRange, make_http_converter
from entrypoints.http.errors import register_error_handling
from entrypoints.http.middleware import (
    BodyLimits,
    Cors,
    RawBodies,
    RequestContext,
    SecurityHeaders,
    StorableInput,
)
from entrypoints.http.resources.attachments import add_attachment_routes
from entrypoints.http.resources.auth import AuthResources, add_auth_routes
from entrypoints.http.resources.bulk import WorkResources, add_work_routes
from entrypoints.http.resources.calendars import CalendarResources, add_calendar_routes
from entrypoints.http.resources.canned import CannedResources, add_canned_routes
from entrypoints.http.resources.customers import CustomerResources, add_customer_routes
from entrypoints.http.resources.followers import add_follower_routes
from entrypoints.http.resources.inbound import add_inbound_routes
from entrypoints.http.resources.macros import MacroResources, add_macro_routes
from entrypoints.http.resources.mailboxes import MailboxResources, add_mailbox_routes
from entrypoints.http.resources.ops import Liveness, Metrics, OpenApi, Readiness
from entrypoints.http.resources.org import OrgResources, add_org_routes
from entrypoints.http.resources.sla import SlaResources, add_sla_routes
from entrypoints.http.resources.tags import TagResources, add_tag_routes
from entrypoints.http.resources.tickets import TicketResources, add_ticket_routes
from entrypoints.http.resources.webhooks import WebhookResources, add_webhook_routes
from entrypoints.http.scope import UnitOfWorkScope
from entrypoints.observability.metrics import Reading, render_metrics
from entrypoints.observability.tracing import Tracer
from helpdesk_core.domain.errors import DomainError
from helpdesk_core.domain.principal import SYSTEM_OPERATOR

API_PREFIX = "/api/v1"


@functools.cache
def openapi_document() -> dict[str, Any]:
    """The OpenAPI document shipped with the package (docs/openapi.yaml links to it)."""
    text = resources.files("entrypoints.http").joinpath("openapi.yaml").read_text("utf-8")
    document: dict[str, Any] = yaml.safe_load(text)
    return document


def _whole(text: str) -> int | OutOfRange:
    return OutOfRange(text) if len(text) > NUMBER_MAX_CHARS else int(text)


def _real(text: str) -> float | OutOfRange:
    value = float(text)
    return value if math.isfinite(value) else OutOfRange(text)


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _loads(text: str) -> Any:
    """json.loads, with absurd nesting reported as malformed (400) rather than a crash, NaN and
    Infinity (not JSON) refused likewise, and a number too long for any field kept as text
    (``OutOfRange``: its field's 422 says "is too large", never Python's digit limit)."""
    try:
        return json.loads(text, parse_int=_whole, parse_float=_real, parse_constant=_not_json)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


class _App(falcon.App):
    """``falcon.App`` whose routes answer HEAD wherever they answer GET.

    falcon answers 405 to a HEAD a resource has no ``on_head`` for. Every route is added
    through here, so every GET responder doubles as the HEAD one (public where GET is): falcon
    runs it, sends its status and headers, Content-Length included, and drops the body."""

    def add_route(self, uri_template: str, resource: object, **kwargs: Any) -> None:
        _head_as_get(resource, kwargs.get("suffix"))
        super().add_route(uri_template, resource, **kwargs)


def _head_as_get(resource: object, suffix: str | None) -> None:
    tail = f"_{suffix}" if suffix else ""
    get, head = f"on_get{tail}", f"on_head{tail}"
    if not hasattr(resource, get) or hasattr(resource, head):
        return
    setattr(resource, head, getattr(resource, get))
    public: frozenset[str] = frozenset(getattr(resource, "public", ()))
    if get in public:
        setattr(resource, "public", public | {head})  # noqa: B010 - any resource object


def outbox_readings(services: Services) -> list[Reading]:
    """The outbox's depth and age, read at scrape time (nothing when the database is down)."""
    try:
        stats, deliveries = services.webhooks.outbox_status(SYSTEM_OPERATOR)
    except DomainError:
        return []
    oldest = stats.oldest_pending_at
    age = max(0.0, (services.clock.now() - oldest).total_seconds()) if oldest else 0.0
    return [
        ("helpdesk_outbox_pending_events", "Events waiting to be handled", stats.pending),
        ("helpdesk_outbox_failed_events", "Events given up after every attempt", stats.failed),
        ("helpdesk_outbox_oldest_pending_age_seconds", "Age of the oldest pending event", age),
        ("helpdesk_webhook_deliveries_pending", "Webhook deliveries waiting", deliveries),
    ]


def _hint_key(settings: Settings) -> str | None:
    """The key of the security log's email hints: the newest signing key, so every worker and
    restart names an address alike (without keys, one made up for this process)."""
    return settings.secret_keys[0] if settings.secret_keys else None


def create_app(
    services: Services, tracer: Tracer | None = None, identify: Identify | None = None
) -> falcon.App:
    """The WSGI app over already-built services; no I/O happens here.

    ``identify``: an embedding program's own authentication decides who calls (the library's
    ``Helpdesk.wsgi_app``); the token routes (register, login, logout, passwords) are then
    left out, as the program logs its users in itself, and so is ``/metrics`` (the process
    is the program's, and so are its metrics).
    """
    authentication = Authentication(
        services.auth, SecurityLog(_hint_key(services.settings)), identify
    )
    middleware: list[Any] = [
        RequestContext(tracer),
        ClientAddress(services.settings.trusted_proxies),
        SecurityHeaders(),
        BodyLimits(
            services.settings.max_body_bytes,
            RawBodies(
                re.compile(re.escape(INBOUND_PREFIX)),
                services.settings.mail_max_bytes,
                frozenset({"message/rfc822"}),
            ),
            RawBodies(
                re.compile(UPLOAD_PATHS),
                upload_max_bytes(services.settings),
                frozenset({"multipart/form-data"}),
                json=True,
            ),
        ),
        UnitOfWorkScope(services.uow),
        authentication,
        StorableInput(),
    ]
    cors = services.settings.cors_origins
    if cors:  # off unless origins are configured
        middleware.insert(3, Cors(cors, services.settings.cors_allow_credentials))
    app = _App(middleware=middleware, cors_enable=False)
    app.req_options.strip_url_path_trailing_slash = True
    json_handler = falcon.media.JSONHandler(
        dumps=functools.partial(json.dumps, ensure_ascii=False, separators=(",", ":")),
        loads=_loads,
    )
    app.req_options.media_handlers[falcon.MEDIA_JSON] = json_handler
    app.resp_options.media_handlers[falcon.MEDIA_JSON] = json_handler
    register_error_handling(app)

    app.add_route("/health/live", Liveness())
    app.add_route("/health/ready", Readiness(services.readiness))
    if identify is None:  # inside a host program's app, its own metrics are the host's to serve
        app.add_route(
            "/metrics", Metrics(lambda: render_metrics(lambda: outbox_readings(services)))
        )
    app.add_route("/openapi.json", OpenApi(openapi_document()))
    add_inbound_routes(app, API_PREFIX, services.mail_intake)
    add_attachment_routes(app, API_PREFIX, services.files)

    converter = make_http_converter()
    settings = services.settings
    add_auth_routes(
        app, API_PREFIX, AuthResources(services.auth, converter), token_login=identify is None
    )
    add_org_routes(
        app,
        API_PREFIX,
        OrgResources(services.org, converter, settings.page_size_default, settings.page_size_max),
    )
    add_ticket_routes(
        app,
        API_PREFIX,
        TicketResources(
            services.tickets,
            converter,
            settings.page_size_default,
            settings.page_size_max,
        ),
    )
    add_follower_routes(app, API_PREFIX, services.tickets)
    add_work_routes(app, API_PREFIX, WorkResources(services.tickets, converter))
    add_tag_routes(
        app,
        API_PREFIX,
        TagResources(
            services.tags,
            services.tickets,
            converter,
            settings.page_size_default,
            settings.page_size_max,
        ),
    )
    add_webhook_routes(
        app,
        API_PREFIX,
        WebhookResources(
            services.webhooks, converter, settings.page_size_default, settings.page_size_max
        ),
    )
    add_customer_routes(
        app,
        API_PREFIX,
        CustomerResources(
            services.customers, converter, settings.page_size_default, settings.page_size_max
        ),
    )
    add_calendar_routes(
        app,
        API_PREFIX,
        CalendarResources(
            services.calendars, converter, settings.page_size_default, settings.page_size_max
        ),
    )
    add_sla_routes(
        app,
        API_PREFIX,
        SlaResources(services.sla, converter, settings.page_size_default, settings.page_size_max),
    )
    add_canned_routes(
        app,
        API_PREFIX,
        CannedResources(
            services.canned, converter, settings.page_size_default, settings.page_size_max
        ),
    )
    add_macro_routes(
        app,
        API_PREFIX,
        MacroResources(
            services.macros, converter, settings.page_size_default, settings.page_size_max
        ),
    )
    add_mailbox_routes(
        app,
        API_PREFIX,
        MailboxResources(
            services.mailboxes,
            converter,
            settings.page_size_default,
            settings.page_size_max,
            imap=services.mailbox_imap,
        ),
    )
    return app


def wsgi() -> falcon.App:
    """The gunicorn entry (`gunicorn "entrypoints.http.app:wsgi()"`): settings from the env."""
    from entrypoints.bootstrap import migrate_to_head
    from entrypoints.config import ensure_secret_keys, load_settings
    from entrypoints.observability.logging import configure_logging

    settings = load_settings()
    configure_logging(settings.log_level, settings.json_logs)
    settings = ensure_secret_keys(settings)
    if settings.auto_migrate:
        migrate_to_head(settings)
    return serving_app(settings)


def serving_app(settings: Settings) -> falcon.App:
    """The app of one server process, with its event worker thread when that is on."""
    from entrypoints.bootstrap import bootstrap

    services = bootstrap(settings)
    if settings.embedded_worker:
        from entrypoints.worker.loop import start_embedded

        start_embedded(services)
    return create_app(services)
