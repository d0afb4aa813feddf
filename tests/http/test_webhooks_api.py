"""Webhooks over HTTP: the admin routes, the URL guard, deliveries and the test ping.

The secret of an endpoint is in the answer that creates it and in no other answer. A URL that
reaches loopback, private, link-local or metadata addresses (directly, or through a host name
resolving to one) is a 422 on ``url`` naming the address, unless the allowlist admits it.
Nothing here sends HTTP: endpoints get public address literals (admitted without DNS), and
deliveries are attempted through a stand-in sender.
"""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import falcon.testing
import pytest

from adapters.webhooks.guard import NetworkUrlGuard
from entrypoints.bootstrap import Services, bootstrap
from entrypoints.http.app import create_app, openapi_document
from helpdesk_core.ports.events import AttemptOutcome, SendResult, UrlGuard, Webhook, WebhookSender
from helpdesk_core.usecases.webhooks import SUBSCRIBABLE
from tests.conftest import make_settings
from tests.http.conftest import Helpdesk, Person

WEBHOOKS = "/api/v1/admin/webhooks"
# Public address literals: the guard admits them without resolving a name.
HOOK_URL = "https://93.184.215.14/helpdesk-events"
OTHER_URL = "https://93.184.215.15/other"
VIEW_FIELDS = {
    "id",
    "url",
    "events",
    "description",
    "active",
    "consecutive_failures",
    "disabled_reason",
    "created_at",
    "updated_at",
}
DELIVERY_FIELDS = {
    "id",
    "event_id",
    "event_type",
    "state",
    "attempts",
    "next_attempt_at",
    "created_at",
    "completed_at",
    "attempt_log",
}
ATTEMPT_FIELDS = {"attempt", "outcome", "status_code", "duration_ms", "error", "created_at"}


class Answers:
    """A client that keeps every answer, to prove no secret leaks into any of them."""

    def __init__(self, desk: Helpdesk) -> None:
        self.desk = desk
        self.seen: list[falcon.testing.Result] = []

    def __call__(
        self, method: str, path: str, who: Person | None, **kw: Any
    ) -> falcon.testing.Result:
        headers = who.headers if who else None
        result = self.desk.client.simulate_request(method, path, headers=headers, **kw)
        self.seen.append(result)
        return result


def build(
    database_url: str = "memory://", overrides: dict[Any, Any] | None = None, **settings: Any
) -> tuple[Helpdesk, Services]:
    services = bootstrap(make_settings(database_url=database_url, **settings), overrides)
    return Helpdesk(services, falcon.testing.TestClient(create_app(services))), services


@pytest.fixture
def desk(backend_url: str) -> Iterator[Helpdesk]:
    """A helpdesk on every store (memory, SQLite, PostgreSQL)."""
    helpdesk, services = build(backend_url)
    yield helpdesk
    services.close()


@pytest.fixture
def admin(desk: Helpdesk) -> Person:
    return desk.staff("admin")


def create(desk: Helpdesk, admin: Person, **body: Any) -> dict[str, Any]:
    body = {"url": HOOK_URL, "events": ["*"]} | body
    result = desk.post(WEBHOOKS, admin, json=body)
    assert result.status_code == 201, result.text
    created: dict[str, Any] = result.json
    return created


def drain(services: Services) -> None:
    """Run the worker's event pass until the outbox has nothing claimable (fan-out only)."""
    worker = services.new_worker()
    while worker.process_events():
        pass


def keys_anywhere(value: Any) -> set[str]:
    """Every object key in a JSON document, at any depth."""
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys_anywhere(v)}
    if isinstance(value, list):
        return {k for v in value for k in keys_anywhere(v)}
    return set()


# ---------------------------------------------------------------- create, and the secret


def test_the_secret_is_shown_once_at_creation_and_never_again(
    desk: Helpdesk, admin: Person
) -> None:
    call = Answers(desk)
    body = {"url": HOOK_URL, "events": ["ticket.created"], "description": "CRM"}
    created = call("POST", WEBHOOKS, admin, json=body)
    assert created.status_code == 201, created.text
    view = created.json
    assert set(view) == VIEW_FIELDS | {"secret"}
    secret = view["secret"]
    assert secret.startswith("whsec_")
    assert len(secret) > len("whsec_") + 40  # 32 random bytes in base64
    assert created.headers["location"] == f"{WEBHOOKS}/{view['id']}"
    assert view["url"] == HOOK_URL
    assert view["events"] == ["ticket.created"]
    assert view["description"] == "CRM"
    assert (view["active"], view["consecutive_failures"], view["disabled_reason"]) == (
        True,
        0,
        None,
    )
    for stamp in (view["created_at"], view["updated_at"]):
        assert datetime.fromisoformat(stamp).tzinfo is not None

    path = f"{WEBHOOKS}/{view['id']}"
    call("GET", WEBHOOKS, admin)
    call("GET", path, admin)
    call("PATCH", path, admin, json={"description": "CRM (prod)"})
    call("PATCH", path, admin, json={"active": False})
    call("PATCH", path, admin, json={"active": True})
    ping = call("POST", f"{path}/ping", admin)
    assert ping.status_code == 202, ping.text
    drain(desk.services)
    call("GET", f"{path}/deliveries", admin)
    second = call("POST", WEBHOOKS, admin, json={"url": OTHER_URL, "events": ["*"]})
    assert second.json["secret"] != secret  # each endpoint its own
    call("DELETE", path, admin)

    later = call.seen[1:]
    assert all(r.status_code < 400 for r in later), [r.text for r in later]
    assert [r for r in call.seen if r.status_code == 201] == [created, second]
    for result in later:
        assert secret not in result.text
        if result is not second and result.text:
            assert "secret" not in keys_anywhere(result.json), result.text


def test_the_list_and_the_single_view_show_the_same_fields(desk: Helpdesk, admin: Person) -> None:
    first = create(desk, admin, events=["ticket.created", "ticket.closed"])
    second = create(desk, admin, url=OTHER_URL, description="Everything")
    listed = desk.get(WEBHOOKS, admin)
    assert listed.status_code == 200, listed.text
    assert listed.json["next_cursor"] is None
    items = listed.json["items"]
    assert [i["id"] for i in items] == [first["id"], second["id"]]  # oldest first
    for item, created in zip(items, (first, second), strict=True):
        assert set(item) == VIEW_FIELDS
        assert item == {k: v for k, v in created.items() if k != "secret"}
        assert desk.get(f"{WEBHOOKS}/{item['id']}", admin).json == item


def test_the_webhook_list_pages_with_a_cursor(admin: Person, desk: Helpdesk) -> None:
    ids = [create(desk, admin, description=f"n{i}")["id"] for i in range(5)]
    seen: list[str] = []
    params: dict[str, str] = {"limit": "2"}
    while True:
        page = desk.get(WEBHOOKS, admin, params=params)
        assert page.status_code == 200, page.text
        seen += [i["id"] for i in page.json["items"]]
        if page.json["next_cursor"] is None:
            break
        params = {"limit": "2", "cursor": page.json["next_cursor"]}
    assert seen == ids


def test_a_star_subscription_stands_alone_and_duplicates_collapse(
    desk: Helpdesk, admin: Person
) -> None:
    star = create(desk, admin, events=["ticket.created", "*"])
    assert star["events"] == ["*"]
    twice = create(desk, admin, events=["ticket.closed", "ticket.closed", "user.registered"])
    assert twice["events"] == ["ticket.closed", "user.registered"]


# ---------------------------------------------------------------- the URL guard


REFUSED = {
    "loopback": ("http://127.0.0.1/x", "127.0.0.1"),
    "private": ("http://10.0.0.1/x", "10.0.0.1"),
    "metadata": ("http://169.254.169.254/latest", "169.254.169.254"),
    "localhost": ("http://localhost:8080/x", "localhost"),
    "ipv6-loopback": ("http://[::1]/x", "::1"),
}


@pytest.mark.parametrize(("url", "named"), REFUSED.values(), ids=REFUSED)
def test_urls_reaching_internal_addresses_are_refused_naming_them(
    desk: Helpdesk, admin: Person, url: str, named: str
) -> None:
    result = desk.post(WEBHOOKS, admin, json={"url": url, "events": ["*"]})
    assert result.status_code == 422, result.text
    assert result.headers["content-type"] == "application/problem+json"
    errors = result.json["errors"]
    assert errors[0]["field"] == "url"
    assert named in errors[0]["message"]
    assert named in result.json["detail"]
    assert desk.get(WEBHOOKS, admin).json["items"] == []


def fake_resolver(table: Mapping[str, Sequence[str]]) -> Any:
    """A getaddrinfo stand-in answering from ``table`` (and failing for other names)."""

    def resolve(host: str, port: int, family: int = 0, kind: int = 0) -> list[tuple[Any, ...]]:
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (
                socket.AF_INET6 if ":" in a else socket.AF_INET,
                socket.SOCK_STREAM,
                6,
                "",
                (a, port),
            )
            for a in table[host]
        ]

    return resolve


NAMES = {
    "hooks.loopback.test": ["127.0.0.1"],
    "hooks.private.test": ["93.184.215.14", "10.0.0.1"],  # one bad answer is enough
    "hooks.metadata.test": ["169.254.169.254"],
    "hooks.public.test": ["93.184.215.14"],
}


@pytest.fixture
def resolving_desk() -> Iterator[Helpdesk]:
    """A helpdesk whose URL guard resolves names from NAMES (no DNS in tests)."""
    guard = NetworkUrlGuard((), resolver=fake_resolver(NAMES))
    helpdesk, services = build(overrides={UrlGuard: guard})
    yield helpdesk
    services.close()


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("hooks.loopback.test", "127.0.0.1"),
        ("hooks.private.test", "10.0.0.1"),
        ("hooks.metadata.test", "169.254.169.254"),
    ],
)
def test_a_host_name_resolving_to_an_internal_address_is_refused(
    resolving_desk: Helpdesk, host: str, address: str
) -> None:
    admin = resolving_desk.staff("admin")
    result = resolving_desk.post(
        WEBHOOKS, admin, json={"url": f"https://{host}/hook", "events": ["*"]}
    )
    assert result.status_code == 422, result.text
    error = result.json["errors"][0]
    assert error["field"] == "url"
    assert host in error["message"]
    assert address in error["message"]


def test_a_host_name_resolving_to_public_addresses_is_accepted_and_unknown_names_are_not(
    resolving_desk: Helpdesk,
) -> None:
    admin = resolving_desk.staff("admin")
    ok = resolving_desk.post(
        WEBHOOKS, admin, json={"url": "https://hooks.public.test/hook", "events": ["*"]}
    )
    assert ok.status_code == 201, ok.text
    unknown = resolving_desk.post(
        WEBHOOKS, admin, json={"url": "https://nowhere.test/hook", "events": ["*"]}
    )
    assert unknown.status_code == 422, unknown.text
    assert unknown.json["errors"][0]["field"] == "url"
    assert "nowhere.test" in unknown.json["errors"][0]["message"]


def test_a_patch_to_an_internal_url_is_refused_and_changes_nothing(
    desk: Helpdesk, admin: Person
) -> None:
    created = create(desk, admin)
    path = f"{WEBHOOKS}/{created['id']}"
    result = desk.patch(path, admin, json={"url": "http://169.254.169.254/latest"})
    assert result.status_code == 422, result.text
    assert result.json["errors"][0]["field"] == "url"
    assert "169.254.169.254" in result.json["errors"][0]["message"]
    assert desk.get(path, admin).json["url"] == HOOK_URL


def test_the_allowlist_admits_what_it_names_and_nothing_else() -> None:
    desk, services = build(webhook_allowlist=("127.0.0.1",))
    try:
        admin = desk.staff("admin")
        local = desk.post(WEBHOOKS, admin, json={"url": "http://127.0.0.1:9000/x", "events": ["*"]})
        assert local.status_code == 201, local.text
        assert local.json["url"] == "http://127.0.0.1:9000/x"
        for url in ("http://10.0.0.1/x", "http://169.254.169.254/latest", "http://[::1]/x"):
            refused = desk.post(WEBHOOKS, admin, json={"url": url, "events": ["*"]})
            assert refused.status_code == 422, (url, refused.text)
            assert refused.json["errors"][0]["field"] == "url"
    finally:
        services.close()


# ---------------------------------------------------------------- event types and bodies


def test_an_unknown_event_type_is_refused_naming_the_known_ones(
    desk: Helpdesk, admin: Person
) -> None:
    result = desk.post(WEBHOOKS, admin, json={"url": HOOK_URL, "events": ["ticket.exploded"]})
    assert result.status_code == 422, result.text
    error = result.json["errors"][0]
    assert error["field"] == "events"
    assert "ticket.exploded" in error["message"]
    assert "ticket.created" in error["message"]
    ping_only = desk.post(WEBHOOKS, admin, json={"url": HOOK_URL, "events": ["webhook.ping"]})
    assert ping_only.status_code == 422, ping_only.text


@pytest.mark.parametrize(
    "body",
    [
        {"url": HOOK_URL, "events": ["*"], "secret": "whsec_bWluZQ=="},
        {"url": HOOK_URL, "events": ["*"], "active": False},
        {"url": HOOK_URL, "events": ["*"], "id": str(uuid.uuid4())},
    ],
    ids=["secret", "active", "id"],
)
def test_fields_a_client_may_not_set_are_refused(
    desk: Helpdesk, admin: Person, body: dict[str, Any]
) -> None:
    result = desk.post(WEBHOOKS, admin, json=body)
    assert result.status_code == 422, result.text
    (unknown,) = set(body) - {"url", "events"}
    assert [e["field"] for e in result.json["errors"]] == [unknown]
    assert [e["pointer"] for e in result.json["errors"]] == [f"/{unknown}"]


def test_the_documented_event_types_are_the_cores() -> None:
    enum = openapi_document()["components"]["schemas"]["WebhookEventType"]["enum"]
    assert sorted(enum) == sorted(["*", *SUBSCRIBABLE])
    assert "webhook.ping" not in enum


# ---------------------------------------------------------------- change, disable, delete


def test_patch_changes_only_the_fields_given(desk: Helpdesk, admin: Person) -> None:
    created = create(desk, admin, description="Before", events=["ticket.created"])
    path = f"{WEBHOOKS}/{created['id']}"
    result = desk.patch(path, admin, json={"events": ["ticket.closed", "ticket.reopened"]})
    assert result.status_code == 200, result.text
    assert result.json["events"] == ["ticket.closed", "ticket.reopened"]
    assert result.json["description"] == "Before"
    assert result.json["url"] == HOOK_URL
    result = desk.patch(path, admin, json={"url": OTHER_URL, "description": None})
    assert (result.json["url"], result.json["description"]) == (OTHER_URL, "Before")
    result = desk.patch(path, admin, json={"description": ""})
    assert result.json["description"] == ""
    unchanged = desk.patch(path, admin, json={})
    assert unchanged.status_code == 200, unchanged.text
    assert unchanged.json == result.json


def test_disabling_and_re_enabling_resets_the_disabled_state(desk: Helpdesk, admin: Person) -> None:
    created = create(desk, admin)
    path = f"{WEBHOOKS}/{created['id']}"
    off = desk.patch(path, admin, json={"active": False})
    assert off.status_code == 200, off.text
    assert off.json["active"] is False
    assert off.json["disabled_reason"]
    refused = desk.post(f"{path}/ping", admin)
    assert refused.status_code == 422, refused.text
    assert refused.json["errors"][0]["field"] == "active"
    on = desk.patch(path, admin, json={"active": True})
    assert on.status_code == 200, on.text
    assert (on.json["active"], on.json["consecutive_failures"], on.json["disabled_reason"]) == (
        True,
        0,
        None,
    )


def test_re_enabling_an_endpoint_disabled_by_failures_clears_its_run(
    desk: Helpdesk, admin: Person
) -> None:
    created = create(desk, admin)
    path = f"{WEBHOOKS}/{created['id']}"
    services = desk.services
    with services.uow.begin() as tx:  # what the worker records after failed attempts
        for _ in range(3):
            tx.webhooks.record_result(
                uuid.UUID(created["id"]),
                False,
                3,
                "disabled after 3 failures",
                services.clock.now(),
            )
        tx.commit()
    disabled = desk.get(path, admin).json
    assert (disabled["active"], disabled["consecutive_failures"]) == (False, 3)
    assert disabled["disabled_reason"] == "disabled after 3 failures"
    enabled = desk.patch(path, admin, json={"active": True})
    assert enabled.status_code == 200, enabled.text
    assert (
        enabled.json["active"],
        enabled.json["consecutive_failures"],
        enabled.json["disabled_reason"],
    ) == (True, 0, None)


def test_a_deleted_webhook_is_gone_from_every_route(desk: Helpdesk, admin: Person) -> None:
    created = create(desk, admin)
    path = f"{WEBHOOKS}/{created['id']}"
    assert desk.post(f"{path}/ping", admin).status_code == 202
    drain(desk.services)
    deleted = desk.client.simulate_delete(path, headers=admin.headers)
    assert deleted.status_code == 204, deleted.text
    assert deleted.text == ""
    assert desk.get(path, admin).status_code == 404
    assert desk.get(f"{path}/deliveries", admin).status_code == 404
    assert desk.post(f"{path}/ping", admin).status_code == 404
    assert desk.patch(path, admin, json={"active": True}).status_code == 404
    again = desk.client.simulate_delete(path, headers=admin.headers)
    assert again.status_code == 404
    assert again.headers["content-type"] == "application/problem+json"
    assert desk.get(WEBHOOKS, admin).json["items"] == []


# ---------------------------------------------------------------- deliveries and ping


def test_a_new_webhook_has_no_deliveries(desk: Helpdesk, admin: Person) -> None:
    created = create(desk, admin)
    result = desk.get(f"{WEBHOOKS}/{created['id']}/deliveries", admin)
    assert result.status_code == 200, result.text
    assert result.json == {"items": [], "next_cursor": None}


def test_a_ping_becomes_a_pending_delivery_after_a_worker_pass(
    desk: Helpdesk, admin: Person
) -> None:
    created = create(desk, admin, events=["ticket.closed"])
    other = create(desk, admin, url=OTHER_URL)
    path = f"{WEBHOOKS}/{created['id']}"
    ping = desk.post(f"{path}/ping", admin)
    assert ping.status_code == 202, ping.text
    assert set(ping.json) == {"event_id"}
    event_id = ping.json["event_id"]
    assert desk.get(f"{path}/deliveries", admin).json["items"] == []  # not before the worker
    drain(desk.services)
    items = desk.get(f"{path}/deliveries", admin).json["items"]
    assert len(items) == 1
    delivery = items[0]
    assert set(delivery) == DELIVERY_FIELDS
    assert delivery["event_id"] == event_id
    assert delivery["event_type"] == "webhook.ping"
    assert delivery["state"] == "pending"
    assert delivery["attempts"] == 0
    assert delivery["attempt_log"] == []
    assert delivery["completed_at"] is None
    assert datetime.fromisoformat(delivery["next_attempt_at"]).tzinfo is not None
    # A ping goes to its one endpoint, not to every endpoint that takes everything.
    others = desk.get(f"{WEBHOOKS}/{other['id']}/deliveries", admin).json["items"]
    assert event_id not in {d["event_id"] for d in others}


def test_deliveries_page_newest_first_with_a_cursor(desk: Helpdesk, admin: Person) -> None:
    created = create(desk, admin, events=["ticket.closed"])
    path = f"{WEBHOOKS}/{created['id']}"
    events = []
    for _ in range(5):
        ping = desk.post(f"{path}/ping", admin)
        assert ping.status_code == 202, ping.text
        events.append(ping.json["event_id"])
        drain(desk.services)
    seen: list[str] = []
    params = {"limit": "2"}
    pages = 0
    while True:
        page = desk.get(f"{path}/deliveries", admin, params=params)
        assert page.status_code == 200, page.text
        assert len(page.json["items"]) <= 2
        seen += [d["event_id"] for d in page.json["items"]]
        pages += 1
        if page.json["next_cursor"] is None:
            break
        params = {"limit": "2", "cursor": page.json["next_cursor"]}
    assert pages == 3
    assert seen == list(reversed(events))


@pytest.mark.parametrize("route", ["list", "deliveries"])
def test_a_limit_above_the_maximum_is_refused(desk: Helpdesk, admin: Person, route: str) -> None:
    created = create(desk, admin)
    path = WEBHOOKS if route == "list" else f"{WEBHOOKS}/{created['id']}/deliveries"
    maximum = desk.services.settings.page_size_max
    result = desk.get(path, admin, params={"limit": str(maximum + 1)})
    assert result.status_code == 422, result.text
    assert [e["field"] for e in result.json["errors"]] == ["limit"]
    assert desk.get(path, admin, params={"limit": str(maximum)}).status_code == 200


class ScriptedSender:
    """A WebhookSender that answers from a script instead of the network."""

    def __init__(self, results: list[SendResult]) -> None:
        self.results = results
        self.sent: list[tuple[str, bytes]] = []

    def send(
        self, webhook: Webhook, message_id: str, body: bytes, timestamp: datetime
    ) -> SendResult:
        self.sent.append((message_id, body))
        return self.results.pop(0)


def test_every_attempt_shows_in_the_delivery() -> None:
    sender = ScriptedSender(
        [
            SendResult(AttemptOutcome.HTTP_ERROR, 41, 503, "HTTP 503"),
            SendResult(AttemptOutcome.SUCCESS, 12, 204),
        ]
    )
    desk, services = build(overrides={WebhookSender: sender}, retry_base_seconds=0.01)
    try:
        admin = desk.staff("admin")
        created = create(desk, admin, events=["ticket.closed"])  # only the ping is sent
        path = f"{WEBHOOKS}/{created['id']}"
        event_id = desk.post(f"{path}/ping", admin).json["event_id"]
        drain(services)
        worker = services.new_worker()
        assert worker.deliver_webhooks() == 1
        failed = desk.get(f"{path}/deliveries", admin).json["items"]
        ping = next(d for d in failed if d["event_id"] == event_id)
        assert (ping["state"], ping["attempts"], ping["completed_at"]) == ("pending", 1, None)
        assert ping["next_attempt_at"] is not None
        assert len(ping["attempt_log"]) == 1
        first = ping["attempt_log"][0]
        assert set(first) == ATTEMPT_FIELDS
        assert (first["attempt"], first["outcome"], first["status_code"]) == (
            1,
            "http_error",
            503,
        )
        assert (first["duration_ms"], first["error"]) == (41, "HTTP 503")
        assert desk.get(path, admin).json["consecutive_failures"] == 1

        due = datetime.fromisoformat(ping["next_attempt_at"]) - services.clock.now()
        time.sleep(max(0.0, due.total_seconds()) + 0.01)  # past the (tiny) backoff
        assert worker.deliver_webhooks() == 1
        done = next(
            d
            for d in desk.get(f"{path}/deliveries", admin).json["items"]
            if d["event_id"] == event_id
        )
        assert (done["state"], done["attempts"], done["next_attempt_at"]) == ("delivered", 2, None)
        assert done["completed_at"] is not None
        assert [(a["attempt"], a["outcome"], a["status_code"]) for a in done["attempt_log"]] == [
            (1, "http_error", 503),
            (2, "success", 204),
        ]
        assert desk.get(path, admin).json["consecutive_failures"] == 0
        assert {message_id for message_id, _ in sender.sent} == {event_id}
        assert json.loads(sender.sent[0][1])["type"] == "webhook.ping"
    finally:
        services.close()
