"""The HTTP shell: problem details everywhere, request ids, access log, metrics, limits."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import falcon
import falcon.inspect
import falcon.testing
import pytest

from adapters.memory.health import StaticProbe
from entrypoints.bootstrap import bootstrap
from entrypoints.http.app import create_app, openapi_document
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
from helpdesk_core.usecases.health import CheckReadiness
from tests.conftest import make_settings


class Echo:
    """A test-only resource: parses the JSON body, or raises what the query names."""

    public = frozenset({"on_post"})

    errors: Mapping[str, Exception] = {
        "not-found": NotFound("no such ticket"),
        "denied": PermissionDenied("agents may not do that"),
        "auth": AuthenticationFailed("token expired"),
        "invalid": ValidationFailed("bad input", (FieldError("subject", "must not be empty"),)),
        "conflict": Conflict("a ticket cannot move from closed to pending"),
        "stale": StaleVersion("the ticket changed"),
        "precondition": PreconditionRequired("send If-Match"),
        "limited": RateLimited("too many attempts", retry_after=42),
        "unavailable": DependencyUnavailable("the database is unavailable", "database"),
        "bare-domain": DomainError("unmapped"),
        "crash": RuntimeError("secret internal detail /etc/passwd"),
    }

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        error = req.get_param("raise")
        if error:
            raise self.errors[error]
        resp.media = {"echo": req.get_media()}


@pytest.fixture
def app() -> falcon.App:
    app = create_app(bootstrap(make_settings(max_body_bytes=2048)))
    app.add_route("/test/echo", Echo())
    return app


@pytest.fixture
def client(app: falcon.App) -> falcon.testing.TestClient:
    return falcon.testing.TestClient(app)


def assert_problem(result: falcon.testing.Result, status: int) -> dict[str, Any]:
    assert result.status_code == status, result.text
    assert result.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = result.json
    assert body["status"] == status
    assert body["title"]
    assert body["type"]
    assert "Traceback" not in result.text
    return body


def test_liveness_and_readiness_answer_the_dependency_map(
    client: falcon.testing.TestClient,
) -> None:
    assert client.simulate_get("/health/live").json == {"status": "ok"}
    ready = client.simulate_get("/health/ready")
    assert ready.status_code == 200
    assert ready.json["status"] == "ok"
    assert ready.json["checks"]["database"]["status"] == "ok"
    assert ready.json["checks"]["redis"] == {
        "status": "not_configured",
        "required": False,
        "latency_ms": 0.0,
    }


def test_readiness_is_503_while_a_required_dependency_is_down() -> None:
    database = StaticProbe("database")
    database.fail_with = ConnectionError("connection refused")
    services = bootstrap(make_settings(), {CheckReadiness: CheckReadiness([database], 1)})
    client = falcon.testing.TestClient(create_app(services))
    result = client.simulate_get("/health/ready")
    assert result.status_code == 503
    assert result.headers["retry-after"] == "5"
    assert result.json["status"] == "down"
    assert result.json["checks"]["database"]["status"] == "down"
    assert result.json["checks"]["database"]["error"] == "ConnectionError (details in the log)"
    assert client.simulate_get("/health/live").status_code == 200


@pytest.mark.postgres
def test_readiness_names_no_database_host_user_or_name(
    postgres_databases: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A real driver's refusal names the host, the user and the database: the public answer
    carries none of them (the log does)."""
    from sqlalchemy.engine import make_url

    from adapters.sql.engine import create_engine
    from adapters.sql.health import DatabaseProbe

    server = make_url(postgres_databases.url_for("postgres"))
    url = server.set(username="hd_no_such_user", database="hd_no_such_database")
    engine = create_engine(url.render_as_string(hide_password=False))
    readiness = CheckReadiness([DatabaseProbe(engine)], 5)
    services = bootstrap(make_settings(), {CheckReadiness: readiness})
    try:
        with caplog.at_level(logging.WARNING, logger="helpdesk.health"):
            result = falcon.testing.TestClient(create_app(services)).simulate_get("/health/ready")
    finally:
        readiness.close()
        engine.dispose()
    assert result.status_code == 503
    assert result.json["checks"]["database"]["status"] == "down"
    for secret in ("hd_no_such_user", "hd_no_such_database", str(server.host), "5432"):
        assert secret not in result.text, secret
    logged = " ".join(r.getMessage() for r in caplog.records if r.name == "helpdesk.health")
    assert "hd_no_such_user" in logged


def test_unknown_routes_and_wrong_methods_are_problems(client: falcon.testing.TestClient) -> None:
    body = assert_problem(client.simulate_get("/no/such/thing"), 404)
    assert body["detail"] == "No resource at /no/such/thing."
    result = client.simulate_delete("/health/live")
    assert_problem(result, 405)
    assert "GET" in result.headers["allow"]


def test_an_html_client_still_gets_a_problem_body(client: falcon.testing.TestClient) -> None:
    result = client.simulate_get("/nowhere", headers={"Accept": "text/html"})
    assert_problem(result, 404)


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        ("not-found", 404, "not-found"),
        ("denied", 403, "permission-denied"),
        ("auth", 401, "authentication-failed"),
        ("invalid", 422, "validation-failed"),
        ("conflict", 409, "conflict"),
        ("stale", 412, "stale-version"),
        ("precondition", 428, "precondition-required"),
        ("limited", 429, "rate-limited"),
        ("unavailable", 503, "dependency-unavailable"),
    ],
)
def test_domain_errors_map_to_their_status(
    client: falcon.testing.TestClient, error: str, status: int, code: str
) -> None:
    body = assert_problem(client.simulate_post("/test/echo", params={"raise": error}), status)
    assert body["type"] == f"urn:helpdesk:problem:{code}"
    assert body["detail"] == str(Echo.errors[error])


def test_validation_errors_name_each_field(client: falcon.testing.TestClient) -> None:
    body = assert_problem(client.simulate_post("/test/echo", params={"raise": "invalid"}), 422)
    assert body["errors"] == [
        {"field": "subject", "in": "body", "message": "must not be empty", "pointer": "/subject"}
    ]


def test_retry_and_authenticate_headers(client: falcon.testing.TestClient) -> None:
    assert (
        client.simulate_post("/test/echo", params={"raise": "limited"}).headers["retry-after"]
        == "42"
    )
    assert (
        client.simulate_post("/test/echo", params={"raise": "unavailable"}).headers["retry-after"]
        == "5"
    )
    assert (
        client.simulate_post("/test/echo", params={"raise": "auth"})
        .headers["www-authenticate"]
        .startswith("Bearer")
    )


def test_an_unexpected_error_is_a_bare_500_and_its_trace_goes_to_the_log(
    client: falcon.testing.TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="helpdesk.http"):
        result = client.simulate_post("/test/echo", params={"raise": "crash"})
    body = assert_problem(result, 500)
    assert "secret internal detail" not in result.text
    assert body["detail"] == "The server could not complete the request."
    assert any(
        r.exc_info and "secret internal detail" in str(r.exc_info[1]) for r in caplog.records
    )
    for unmapped in ("bare-domain",):
        assert_problem(client.simulate_post("/test/echo", params={"raise": unmapped}), 500)


def test_json_bodies_are_parsed(client: falcon.testing.TestClient) -> None:
    result = client.simulate_post("/test/echo", json={"subject": "hi"})
    assert result.json == {"echo": {"subject": "hi"}}


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        ("{not json", {"Content-Type": "application/json"}, 400),
        ("", {"Content-Type": "application/json"}, 400),
        ("<xml/>", {"Content-Type": "application/xml"}, 415),
        ("subject=hi", {"Content-Type": "application/x-www-form-urlencoded"}, 415),
        ("x" * 5000, {"Content-Type": "application/json"}, 413),
    ],
)
def test_bad_bodies_are_refused_with_problems(
    client: falcon.testing.TestClient, body: str, headers: dict[str, str], status: int
) -> None:
    assert_problem(client.simulate_post("/test/echo", body=body, headers=headers), status)


def test_a_chunked_body_over_the_limit_is_refused(app: falcon.App) -> None:
    environ = falcon.testing.create_environ(
        path="/test/echo",
        method="POST",
        body=b"{}",
        headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
    )
    environ.pop("CONTENT_LENGTH", None)
    import io

    environ["wsgi.input"] = io.BytesIO(b'{"a": "' + b"x" * 4096 + b'"}')
    status: list[str] = []
    body = b"".join(app(environ, lambda s, h, *a: status.append(s)))
    assert status[0].startswith("413")
    assert json.loads(body)["status"] == 413
    environ["wsgi.input"] = io.BytesIO(b'{"a": 1}')
    status.clear()
    body = b"".join(app(environ, lambda s, h, *a: status.append(s)))
    assert status[0].startswith("200"), body
    assert json.loads(body) == {"echo": {"a": 1}}


def test_request_ids_are_echoed_or_made(client: falcon.testing.TestClient) -> None:
    given = client.simulate_get("/health/live", headers={"X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    made = client.simulate_get("/health/live", headers={"X-Request-ID": "bad id\nwith newline"})
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["x-request-id"])
    error = client.simulate_get("/nowhere", headers={"X-Request-ID": "err-1"})
    assert error.headers["x-request-id"] == "err-1"
    assert error.json["request_id"] == "err-1"


def test_security_headers_are_on_every_response(client: falcon.testing.TestClient) -> None:
    for result in (
        client.simulate_get("/health/live"),
        client.simulate_get("/nowhere"),
        client.simulate_post("/test/echo", params={"raise": "crash"}),
    ):
        assert result.headers["x-content-type-options"] == "nosniff"
        assert result.headers["content-security-policy"] == (
            "default-src 'none'; frame-ancestors 'none'"
        )
        assert result.headers["referrer-policy"] == "no-referrer"
        assert result.headers["cache-control"] == "no-store"


def test_one_access_log_line_per_request_carries_route_status_and_request_id(
    client: falcon.testing.TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="helpdesk.access"):
        client.simulate_get("/health/live", headers={"X-Request-ID": "log-1"})
        client.simulate_get("/nowhere/42", headers={"X-Request-ID": "log-2"})
    lines = [r for r in caplog.records if r.name == "helpdesk.access"]
    assert [(r.route, r.status, r.http_method) for r in lines] == [  # type: ignore[attr-defined]
        ("/health/live", 200, "GET"),
        ("unmatched", 404, "GET"),
    ]
    assert all(r.duration_ms >= 0 for r in lines)  # type: ignore[attr-defined]
    assert [r.request_id for r in lines] == ["log-1", "log-2"]  # type: ignore[attr-defined]


def test_metrics_count_requests_by_route_template_and_status(
    client: falcon.testing.TestClient,
) -> None:
    def count(route: str, status: str) -> float:
        text = client.simulate_get("/metrics").text
        pattern = (
            r'helpdesk_http_requests_total\{method="GET",route="'
            + re.escape(route)
            + r'",status="'
            + status
            + r'"\} ([0-9.]+)'
        )
        match = re.search(pattern, text)
        return float(match.group(1)) if match else 0.0

    before_live, before_unmatched = count("/health/live", "200"), count("unmatched", "404")
    for _ in range(3):
        client.simulate_get("/health/live")
    client.simulate_get("/whatever/123")
    assert count("/health/live", "200") == before_live + 3
    assert count("unmatched", "404") == before_unmatched + 1
    text = client.simulate_get("/metrics").text
    assert "helpdesk_http_request_duration_seconds_bucket" in text
    assert "helpdesk_http_requests_in_flight" in text
    assert "helpdesk_db_pool_connections_in_use" in text


class RecordingTracer:
    def __init__(self) -> None:
        self.spans: list[dict[str, Any]] = []

    @contextmanager
    def start_span(self, name: str, attributes: Mapping[str, Any]) -> Iterator[Any]:
        span: dict[str, Any] = {"name": name, **attributes}
        self.spans.append(span)

        class Span:
            def set_attribute(self, key: str, value: Any) -> None:
                span[key] = value

        yield Span()


def test_the_tracing_hook_sees_every_request() -> None:
    tracer = RecordingTracer()
    client = falcon.testing.TestClient(create_app(bootstrap(make_settings()), tracer=tracer))
    client.simulate_get("/health/live")
    client.simulate_get("/nope")
    assert [(s["name"], s["http.route"], s["http.status_code"]) for s in tracer.spans] == [
        ("http.request", "/health/live", 200),
        ("http.request", "unmatched", 404),
    ]


def test_every_route_is_documented_and_every_documented_route_exists(app: falcon.App) -> None:
    served: set[tuple[str, str]] = set()
    for route in falcon.inspect.inspect_routes(app):
        if route.path.startswith("/test/"):
            continue
        for method in route.methods:
            if method.internal or method.method == "OPTIONS":
                continue
            served.add((re.sub(r"\{(\w+)(:[^}]*)?\}", r"{\1}", route.path), method.method))
    document = openapi_document()
    documented = {
        (path, method.upper())
        for path, operations in document["paths"].items()
        for method in operations
        if method in {"get", "head", "post", "put", "patch", "delete"}
    }
    assert served == documented


def test_the_openapi_document_is_served(client: falcon.testing.TestClient) -> None:
    result = client.simulate_get("/openapi.json")
    assert result.status_code == 200
    assert result.json["openapi"].startswith("3.")
    assert "/health/ready" in result.json["paths"]


def test_every_log_line_of_a_request_carries_its_request_id_in_json(
    client: falcon.testing.TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    from entrypoints.observability.logging import configure_logging

    configure_logging("INFO", json_format=True)
    try:
        client.simulate_post(
            "/test/echo", params={"raise": "crash"}, headers={"X-Request-ID": "json-1"}
        )
    finally:
        configure_logging("WARNING", json_format=False)
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.strip()]
    mine = [line for line in lines if line.get("request_id") == "json-1"]
    assert {line["logger"] for line in mine} >= {"helpdesk.http", "helpdesk.access"}
    error = next(line for line in mine if line["logger"] == "helpdesk.http")
    assert error["level"] == "error"
    assert "RuntimeError" in error["exception"]
    access = next(line for line in mine if line["logger"] == "helpdesk.access")
    assert access["status"] == 500
    assert access["route"] == "/test/echo"


def _gauge(text: str, name: str) -> float:
    match = re.search(rf"^{name} ([0-9.e+-]+)$", text, re.MULTILINE)
    assert match, f"{name} missing from /metrics"
    return float(match.group(1))


def test_metrics_show_the_outbox_depth_and_what_the_worker_did() -> None:
    from helpdesk_core.usecases.auth import ForgotPassword, Register
    from tests.support.events import drain

    services = bootstrap(make_settings())
    try:
        client = falcon.testing.TestClient(create_app(services))
        services.auth.register(Register("m@example.com", "correct horse battery", "M"))
        services.auth.forgot_password(ForgotPassword("m@example.com"))
        text = client.simulate_get("/metrics").text
        assert _gauge(text, "helpdesk_outbox_pending_events") == 2
        assert _gauge(text, "helpdesk_outbox_failed_events") == 0
        assert _gauge(text, "helpdesk_outbox_oldest_pending_age_seconds") >= 0
        assert _gauge(text, "helpdesk_webhook_deliveries_pending") == 0
        assert drain(services) == 2
        text = client.simulate_get("/metrics").text
        assert _gauge(text, "helpdesk_outbox_pending_events") == 0
        assert 'helpdesk_worker_batch_duration_seconds_count{kind="events"}' in text
    finally:
        services.close()
