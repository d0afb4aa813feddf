"""Security headers on every kind of answer, and CORS: off by default, exact origins when on.

Requirement (issue 7): ``X-Content-Type-Options: nosniff``, ``Cache-Control: no-store``,
``Content-Security-Policy: default-src 'none'; frame-ancestors 'none'`` and
``Referrer-Policy: no-referrer`` on every response, errors and unknown routes included; no
server version; CORS off unless origins are configured, never ``*`` with credentials.

The app is the real one (``create_app``) over the in-memory store; each case below is a real
request whose status is checked too, so the list proves which kinds of answer were covered.
The same headers through a real gunicorn are checked in tests/e2e/test_secret_hygiene.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import falcon
import falcon.testing
import pytest

from adapters.memory.health import StaticProbe
from entrypoints.bootstrap import bootstrap
from entrypoints.config import ConfigError, load_settings
from entrypoints.http.app import create_app
from entrypoints.http.middleware import Cors
from helpdesk_core.usecases.health import CheckReadiness
from tests.conftest import make_settings
from tests.http.conftest import Helpdesk, make_helpdesk

API = "/api/v1"
EXPECTED = {
    "x-content-type-options": "nosniff",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
    "x-frame-options": "DENY",
}
APP = "https://app.example.com"
FOREIGN = "https://evil.example.net"

Case = Callable[[Helpdesk], falcon.testing.Result]


class Boom:
    """A route that fails unexpectedly: the 500 answer must carry the headers too."""

    public = frozenset({"on_get"})

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        raise RuntimeError("unexpected")


def _customer_ticket(desk: Helpdesk) -> falcon.testing.Result:
    who = desk.customer()
    body = {"subject": "Printer", "description": "It is on fire"}
    return desk.post(f"{API}/tickets", who, json=body)


def _throttled(desk: Helpdesk) -> falcon.testing.Result:
    email = f"throttle-{uuid.uuid4().hex[:8]}@example.com"
    wrong = {"email": email, "password": "not the CANARY password"}
    for _ in range(2):  # the module's helpdesk allows 2 failures per window
        desk.client.simulate_post(f"{API}/auth/login", json=wrong)
    return desk.client.simulate_post(f"{API}/auth/login", json=wrong)


def _forbidden(desk: Helpdesk) -> falcon.testing.Result:
    return desk.get(f"{API}/admin/departments", desk.customer())


def _precondition(desk: Helpdesk) -> falcon.testing.Result:
    ticket = _customer_ticket(desk).json["id"]
    admin = desk.staff("admin")
    return desk.patch(f"{API}/staff/tickets/{ticket}", admin, json={"priority": "high"})


# name -> (expected status, request)
CASES: dict[str, tuple[int, Case]] = {
    "200 live": (200, lambda d: d.client.simulate_get("/health/live")),
    "200 HEAD live": (200, lambda d: d.client.simulate_head("/health/live")),
    "200 ready": (200, lambda d: d.client.simulate_get("/health/ready")),
    "200 metrics": (200, lambda d: d.client.simulate_get("/metrics")),
    "200 openapi": (200, lambda d: d.client.simulate_get("/openapi.json")),
    "200 public departments": (200, lambda d: d.client.simulate_get(f"{API}/departments")),
    "200 me (authenticated)": (200, lambda d: d.get(f"{API}/me", d.customer())),
    "200 login": (200, lambda d: d.login(d.customer().email)),
    "201 ticket": (201, _customer_ticket),
    "202 forgot": (
        202,
        lambda d: d.post(f"{API}/auth/password/forgot", json={"email": "x@example.com"}),
    ),
    "204 logout": (204, lambda d: d.post(f"{API}/auth/logout", d.customer())),
    "400 malformed JSON": (
        400,
        lambda d: d.client.simulate_post(
            f"{API}/auth/login", body=b'{"email":', headers={"Content-Type": "application/json"}
        ),
    ),
    "401 no token": (401, lambda d: d.get(f"{API}/me")),
    "401 bad token": (
        401,
        lambda d: d.client.simulate_get(
            f"{API}/me", headers={"Authorization": "Bearer not-a-token"}
        ),
    ),
    "403 customer on admin route": (403, _forbidden),
    "404 unknown route": (404, lambda d: d.client.simulate_get("/no/such/page")),
    "404 unknown ticket": (
        404,
        lambda d: d.get(f"{API}/tickets/{uuid.uuid4()}", d.customer()),
    ),
    "405 method": (405, lambda d: d.client.simulate_delete("/health/live")),
    "409 department twice": (  # registering twice is a 202 now (issue 20, enumeration)
        409,
        lambda d: (
            d.department("Twice"),
            d.post(f"{API}/admin/departments", d.staff("admin"), json={"name": "Twice"}),
        )[1],
    ),
    "413 too large": (
        413,
        lambda d: d.client.simulate_post(
            f"{API}/auth/login",
            body=b"{" + b" " * 4096 + b"}",
            headers={"Content-Type": "application/json"},
        ),
    ),
    "415 not JSON": (
        415,
        lambda d: d.client.simulate_post(
            f"{API}/auth/login", body=b"hello", headers={"Content-Type": "text/plain"}
        ),
    ),
    "422 bad body": (422, lambda d: d.post(f"{API}/auth/login", json={"email": 3})),
    "428 no If-Match": (428, _precondition),
    "429 throttled login": (429, _throttled),
    "500 unexpected": (500, lambda d: d.client.simulate_get("/test/boom")),
    "OPTIONS route": (200, lambda d: d.client.simulate_options(f"{API}/tickets")),
    "OPTIONS preflight": (
        200,
        lambda d: d.client.simulate_options(
            f"{API}/tickets",
            headers={"Origin": APP, "Access-Control-Request-Method": "POST"},
        ),
    ),
    "OPTIONS unknown route": (404, lambda d: d.client.simulate_options("/no/such/page")),
}


@pytest.fixture(scope="module")
def answers() -> Iterator[dict[str, falcon.testing.Result]]:
    """Every case's answer from one helpdesk (CORS off, a small body limit, 2 failed logins)."""
    desk, services = make_helpdesk(max_body_bytes=1024, login_rate_limit=2)
    desk.client.app.add_route("/test/boom", Boom())
    try:
        yield {name: request(desk) for name, (_, request) in CASES.items()}
    finally:
        services.close()


@pytest.fixture(scope="module")
def unready() -> Iterator[falcon.testing.Result]:
    """A 503: readiness with a database that does not answer."""
    database = StaticProbe("database")
    database.fail_with = ConnectionError("connection refused")
    services = bootstrap(make_settings(), {CheckReadiness: CheckReadiness([database], 1.0, [])})
    try:
        yield falcon.testing.TestClient(create_app(services)).simulate_get("/health/ready")
    finally:
        services.close()


def _assert_secure(result: falcon.testing.Result) -> None:
    for name, value in EXPECTED.items():
        assert result.headers.get(name) == value, (name, result.headers)
    assert "server" not in result.headers  # the app never names itself or a version
    assert result.headers.get("x-request-id")


@pytest.mark.parametrize("case", list(CASES))
def test_every_kind_of_answer_carries_the_security_headers(
    case: str, answers: dict[str, falcon.testing.Result]
) -> None:
    status, _ = CASES[case]
    result = answers[case]
    assert result.status_code == status, result.text
    _assert_secure(result)


@pytest.mark.parametrize("case", list(CASES))
def test_with_cors_off_no_answer_carries_an_access_control_header(
    case: str, answers: dict[str, falcon.testing.Result]
) -> None:
    """CORS is off by default: not even the preflight that names an origin is granted."""
    headers = answers[case].headers
    assert [h for h in headers if h.lower().startswith("access-control-")] == []
    assert "origin" not in headers.get("vary", "").lower()


def test_a_503_carries_the_security_headers(unready: falcon.testing.Result) -> None:
    assert unready.status_code == 503
    assert unready.headers["retry-after"]
    _assert_secure(unready)


def test_error_bodies_keep_their_problem_type(answers: dict[str, falcon.testing.Result]) -> None:
    """The headers are added, nothing else changes: errors stay problem+json."""
    for case in (
        "401 no token",
        "403 customer on admin route",
        "404 unknown route",
        "500 unexpected",
    ):
        assert answers[case].headers["content-type"] == "application/problem+json"


# ---------------------------------------------------------------- CORS on


@pytest.fixture
def cors_desk() -> Iterator[Helpdesk]:
    desk, services = make_helpdesk(cors_origins=(APP, "http://localhost:3000"))
    yield desk
    services.close()


def _access_control(result: falcon.testing.Result) -> dict[str, str]:
    return {k.lower(): v for k, v in result.headers.items() if k.lower().startswith("access-")}


def _vary(result: falcon.testing.Result) -> list[str]:
    return [part.strip().lower() for part in result.headers.get("vary", "").split(",")]


def test_an_allowed_origin_is_named_back_without_credentials(cors_desk: Helpdesk) -> None:
    who = cors_desk.customer()
    result = cors_desk.client.simulate_get(f"{API}/me", headers={**who.headers, "Origin": APP})
    assert result.status_code == 200
    granted = _access_control(result)
    assert granted["access-control-allow-origin"] == APP
    assert "access-control-allow-credentials" not in granted
    exposed = {h.strip().lower() for h in granted["access-control-expose-headers"].split(",")}
    assert {"etag", "retry-after", "x-request-id", "location"} <= exposed
    assert "origin" in _vary(result)
    _assert_secure(result)


def test_an_allowed_origin_is_granted_on_errors_too(cors_desk: Helpdesk) -> None:
    """A browser app must be able to read the problem details of a 401 or a 404."""
    for result in (
        cors_desk.client.simulate_get(f"{API}/me", headers={"Origin": APP}),
        cors_desk.client.simulate_get("/no/such/page", headers={"Origin": APP}),
    ):
        assert result.status_code in {401, 404}
        assert result.headers["access-control-allow-origin"] == APP
        assert {"origin", "accept"} <= set(_vary(result))
        _assert_secure(result)


def test_a_foreign_origin_gets_no_grant(cors_desk: Helpdesk) -> None:
    for origin in (FOREIGN, "null", APP.upper(), APP + ":443", APP + "/"):
        result = cors_desk.client.simulate_get("/health/live", headers={"Origin": origin})
        assert result.status_code == 200
        assert _access_control(result) == {}, origin
        assert "origin" in _vary(result)  # the answer still depends on the Origin
    preflight = cors_desk.client.simulate_options(
        f"{API}/tickets",
        headers={"Origin": FOREIGN, "Access-Control-Request-Method": "POST"},
    )
    assert _access_control(preflight) == {}


def test_a_preflight_from_an_allowed_origin_names_methods_and_headers(
    cors_desk: Helpdesk,
) -> None:
    result = cors_desk.client.simulate_options(
        f"{API}/tickets",
        headers={
            "Origin": "http://localhost:3000",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, x-anything-else",
        },
    )
    assert result.status_code == 200
    granted = _access_control(result)
    assert granted["access-control-allow-origin"] == "http://localhost:3000"
    assert {m.strip() for m in granted["access-control-allow-methods"].split(",")} >= {
        "GET",
        "POST",
    }
    # A fixed list of what the API reads, not an echo of whatever was asked for.
    allowed = {h.strip().lower() for h in granted["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type", "if-match", "idempotency-key"} <= allowed
    assert "x-anything-else" not in allowed
    assert int(granted["access-control-max-age"]) > 0
    _assert_secure(result)


def test_a_preflight_of_an_unknown_route_grants_no_methods(cors_desk: Helpdesk) -> None:
    result = cors_desk.client.simulate_options(
        "/no/such/page", headers={"Origin": APP, "Access-Control-Request-Method": "GET"}
    )
    assert result.status_code == 404
    assert "access-control-allow-methods" not in _access_control(result)


def test_credentials_are_granted_to_listed_origins_only_when_configured() -> None:
    desk, services = make_helpdesk(cors_origins=(APP,), cors_allow_credentials=True)
    try:
        allowed = desk.client.simulate_get("/health/live", headers={"Origin": APP})
        foreign = desk.client.simulate_get("/health/live", headers={"Origin": FOREIGN})
    finally:
        services.close()
    assert allowed.headers["access-control-allow-origin"] == APP
    assert allowed.headers["access-control-allow-credentials"] == "true"
    assert _access_control(foreign) == {}


def test_any_origin_is_a_plain_star_without_credentials() -> None:
    desk, services = make_helpdesk(cors_origins=("*",))
    try:
        result = desk.client.simulate_get("/health/live", headers={"Origin": FOREIGN})
    finally:
        services.close()
    assert result.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in result.headers


def test_the_middleware_refuses_star_with_credentials() -> None:
    with pytest.raises(ValueError, match="never"):
        Cors(("*",), allow_credentials=True)
    with pytest.raises(ValueError, match="alone"):
        Cors((APP, "*"))


# ---------------------------------------------------------------- CORS configuration


def _load(**environ: str) -> Any:
    return load_settings(environ=environ, env_file=None)


def test_cors_is_off_by_default() -> None:
    settings = _load()
    assert settings.cors_origins == ()
    assert settings.cors_allow_credentials is False


def test_cors_origins_are_read_and_normalized() -> None:
    settings = _load(
        HELPDESK_CORS_ORIGINS=" https://App.Example.com , http://localhost:3000,http://[::1]:8080"
    )
    assert settings.cors_origins == (APP, "http://localhost:3000", "http://[::1]:8080")
    assert _load(HELPDESK_CORS_ORIGINS="*").cors_origins == ("*",)


@pytest.mark.parametrize(
    "value",
    [
        "app.example.com",
        "https://app.example.com/",
        "https://app.example.com/path",
        "https://app.example.com?x=1",
        "ftp://app.example.com",
        "https://user@app.example.com",
        "https://app.example.com:99999",
        "https://",
        "*,https://app.example.com",
        "null",
    ],
)
def test_a_bad_cors_origin_is_a_one_line_config_error(value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(HELPDESK_CORS_ORIGINS=value)
    message = str(caught.value)
    assert message.startswith("HELPDESK_CORS_ORIGINS=")
    assert "\n" not in message


def test_star_with_credentials_is_refused_in_one_line() -> None:
    with pytest.raises(ConfigError) as caught:
        _load(HELPDESK_CORS_ORIGINS="*", HELPDESK_CORS_ALLOW_CREDENTIALS="true")
    message = str(caught.value)
    assert message.startswith("HELPDESK_CORS_ORIGINS='*' is invalid")
    assert "HELPDESK_CORS_ALLOW_CREDENTIALS" in message
    assert "\n" not in message
    # Exact origins with credentials are fine.
    settings = _load(HELPDESK_CORS_ORIGINS=APP, HELPDESK_CORS_ALLOW_CREDENTIALS="true")
    assert settings.cors_allow_credentials is True
