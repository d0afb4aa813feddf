"""The library's own promises: opening (settings checked, databases migrated under the
server's lock), only domain errors, events handed to subscribers in process, thread safety,
and the REST API served inside a host's WSGI app with the host deciding who calls."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import falcon.testing
import pytest
import sqlalchemy as sa

import helpdesk
from adapters.sql import migrate
from helpdesk import StaffRole
from tests.conftest import BACKENDS, TEST_SECRET


def settings(url: str, **changes: Any) -> helpdesk.Settings:
    values: dict[str, Any] = {
        "database_url": url,
        "secret_keys": (TEST_SECRET,),
        "auto_migrate": True,
        **changes,
    }
    return helpdesk.Settings(**values)


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest) -> str:
    """A fresh, empty store of each kind (the library migrates it on open)."""
    if request.param == "memory":
        return "memory://"
    if request.param == "sqlite":
        databases = request.getfixturevalue("sqlite_databases")
        return str(databases.fresh(migrated=False))
    return str(request.getfixturevalue("postgres_databases").fresh(migrated=False))


@pytest.fixture
def desk(url: str) -> Iterator[helpdesk.Helpdesk]:
    with helpdesk.open(settings(url)) as opened:
        yield opened


# ---------------------------------------------------------------- opening


@pytest.mark.parametrize(
    ("wrong", "variable"),
    [
        ({"workers": 0}, "HELPDESK_WORKERS"),
        ({"env": "prod"}, "HELPDESK_ENV"),
        ({"database_url": "ftp://x"}, "HELPDESK_DATABASE_URL"),
        ({"env": "production", "secret_keys": ()}, "HELPDESK_SECRET_KEYS"),
    ],
)
def test_settings_built_in_code_are_refused_as_the_environment_would(
    wrong: dict[str, Any], variable: str
) -> None:
    with pytest.raises(helpdesk.ConfigError) as refused:
        helpdesk.open(settings("memory://", **wrong))
    assert refused.value.variable == variable


def test_a_url_alone_is_checked_too() -> None:
    with pytest.raises(helpdesk.ConfigError, match="HELPDESK_DATABASE_URL"):
        helpdesk.open("mysql://db/helpdesk")


def test_a_sqlite_file_is_migrated_on_open_and_kept(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'support.db'}"
    with helpdesk.open(settings(database)) as desk:
        ann = desk.ensure_customer("u-1", "ann@example.com", "Ann")
        desk.as_user(ann).open_ticket(helpdesk.OpenTicket("Refund", "Order 1234"))
    engine = sa.create_engine(database)
    with engine.connect() as connection:
        revision = connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    engine.dispose()
    assert revision == migrate.head()  # the newest schema
    with helpdesk.open(settings(database)) as again:  # at head: nothing to do, data kept
        page = again.as_user(again.ensure_customer("u-1", "ann@example.com", "Ann")).list_tickets()
    assert [view.ticket.subject for view in page.items] == ["Refund"]


def test_without_migrating_a_missing_schema_is_a_domain_error(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'empty.db'}"
    with (
        helpdesk.open(settings(database), migrate=False) as desk,
        pytest.raises(helpdesk.DependencyUnavailable) as refused,
    ):
        desk.ensure_customer("u-1", "ann@example.com", "Ann")
    assert refused.value.dependency == "database"
    assert not isinstance(refused.value.__cause__, helpdesk.DomainError)  # a driver's, wrapped


def test_a_database_url_opens_a_database_with_a_kept_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``open(url)`` is the server's development default: a generated key kept in a file."""
    monkeypatch.chdir(tmp_path)
    with helpdesk.open(f"sqlite:///{tmp_path / 'support.db'}") as desk:
        assert desk.settings.secret_keys
        key = desk.settings.secret_keys
    with helpdesk.open(f"sqlite:///{tmp_path / 'support.db'}") as again:
        assert again.settings.secret_keys == key  # the same file: sealed secrets still open


# ---------------------------------------------------------------- errors


@pytest.mark.postgres
def test_a_drivers_unexpected_error_leaves_as_an_internal_error(
    postgres_databases: Any,
) -> None:
    """A fault no rule foresaw (here the store's own trigger failing every new ticket with
    an internal error) is a domain error the program can catch, chained to the driver's."""
    database = postgres_databases.fresh()
    with helpdesk.open(settings(database)) as desk:
        ann = desk.as_user(desk.ensure_customer("u-1", "ann@example.com", "Ann"))
        engine = sa.create_engine(database)
        with engine.begin() as connection:
            connection.execute(sa.text(REFUSE))
            connection.execute(
                sa.text(
                    "CREATE TRIGGER refuse BEFORE INSERT ON tickets FOR EACH ROW "
                    "EXECUTE FUNCTION refuse()"
                )
            )
        engine.dispose()
        with pytest.raises(helpdesk.InternalError) as failed:
            ann.open_ticket(helpdesk.OpenTicket("Refund", "Order 1234"))
    assert isinstance(failed.value.__cause__, sa.exc.SQLAlchemyError)
    assert "the store says no" not in failed.value.detail  # the log has it, not the caller


REFUSE = """CREATE FUNCTION refuse() RETURNS trigger AS $$
BEGIN RAISE EXCEPTION 'the store says no' USING ERRCODE = 'XX000'; END
$$ LANGUAGE plpgsql"""


# ---------------------------------------------------------------- events


def test_a_subscriber_gets_each_event_once_it_is_processed(desk: helpdesk.Helpdesk) -> None:
    got: list[helpdesk.Event] = []
    desk.subscribe(["ticket.created", "ticket.message_added"], got.append, name="recorder")
    ann = desk.ensure_customer("u-1", "ann@example.com", "Ann")
    bob = desk.ensure_staff("s-1", "bob@example.com", "Bob", StaffRole.ADMIN)
    ticket = desk.as_user(ann).open_ticket(helpdesk.OpenTicket("Refund", "Order 1234"))
    desk.as_user(bob).post_message(ticket.ticket.id, helpdesk.PostMessage("On its way"))
    assert got == []  # nothing is handed over until the program asks (or runs the thread)
    desk.process_events()
    assert [event.type for event in got] == ["ticket.created", "ticket.message_added"]
    assert got[0].data["ticket"]["requester"]["display_name"] == "Ann"
    assert desk.process_events() == 0  # each once


def test_a_failing_subscriber_holds_up_nobody_else(desk: helpdesk.Helpdesk) -> None:
    got: list[str] = []

    def broken(event: helpdesk.Event) -> None:
        raise RuntimeError("the subscriber is broken")

    desk.subscribe("*", broken, name="broken")
    desk.subscribe("ticket.created", lambda e: got.append(e.type), name="fine")
    ann = desk.as_user(desk.ensure_customer("u-1", "ann@example.com", "Ann"))
    ann.open_ticket(helpdesk.OpenTicket("Refund", "Order 1234"))
    ann.open_ticket(helpdesk.OpenTicket("Another", "Order 1235"))
    desk.process_events()
    assert got == ["ticket.created", "ticket.created"]
    hooks = {hook.url: hook for hook in desk.system.list_webhooks()}
    attempts = [
        attempt.outcome.value
        for delivery in desk.system.webhook_deliveries(hooks["python:broken"].id)
        for attempt in delivery.attempt_log
    ]
    assert attempts
    assert set(attempts) == {"raised"}  # recorded, and retried after its backoff


def test_the_event_thread_hands_events_over_until_closed(url: str) -> None:
    arrived = threading.Event()
    desk = helpdesk.open(settings(url))
    try:
        desk.subscribe("ticket.created", lambda e: arrived.set(), name="waiter")
        desk.start_event_thread(poll_interval=0.05)
        ann = desk.as_user(desk.ensure_customer("u-1", "ann@example.com", "Ann"))
        ann.open_ticket(helpdesk.OpenTicket("Refund", "Order 1234"))
        assert arrived.wait(10), "the event thread did not hand the event over"
    finally:
        desk.close()
    assert not any(t.name == "helpdesk-events" and t.is_alive() for t in threading.enumerate())


# ---------------------------------------------------------------- threads


def test_threads_share_one_helpdesk(url: str) -> None:
    """Eight threads at once, each a customer of the host's opening tickets while an agent
    answers and another thread hands events over: every ticket exists once, numbered
    uniquely, seen by its customer only, and announced to the subscriber."""
    created: list[uuid.UUID] = []
    lock = threading.Lock()

    def record(event: helpdesk.Event) -> None:
        with lock:
            created.append(uuid.UUID(event.data["ticket"]["id"]))

    threads_n, per_thread = 8, 4
    with helpdesk.open(settings(url)) as desk:
        desk.subscribe("ticket.created", record, name="counter")
        agent = desk.as_user(desk.ensure_staff("agent", "a@example.com", "Al", StaffRole.ADMIN))
        start = threading.Barrier(threads_n + 1)
        failures: list[BaseException] = []
        opened: dict[int, set[uuid.UUID]] = {}

        def customer(n: int) -> None:
            try:
                start.wait()
                me = desk.as_user(desk.ensure_customer(f"c-{n}", f"c{n}@example.com", f"C{n}"))
                mine = set()
                for i in range(per_thread):
                    detail = me.open_ticket(helpdesk.OpenTicket(f"Ticket {i}", "Help"))
                    mine.add(detail.ticket.id)
                    agent.post_message(detail.ticket.id, helpdesk.PostMessage("Looking"))
                    desk.process_events()
                opened[n] = mine
                listed = {v.ticket.id for v in me.list_tickets().items}
                assert listed == mine
            except BaseException as exc:  # reported below, with the thread that failed
                failures.append(exc)

        workers = [threading.Thread(target=customer, args=(n,)) for n in range(threads_n)]
        for worker in workers:
            worker.start()
        start.wait()
        for worker in workers:
            worker.join(60)
        assert not failures, failures
        desk.process_events()
        everything = desk.system.list_tickets(helpdesk.TicketQuery(limit=100)).items
    all_ids = set().union(*opened.values())
    assert len(all_ids) == threads_n * per_thread
    assert {view.ticket.id for view in everything} == all_ids
    assert len({view.ticket.number for view in everything}) == len(everything)
    assert set(created) == all_ids  # at least once: each ticket announced


# ---------------------------------------------------------------- the REST API inside a host


def host_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"the host's own page"]


def test_the_api_mounted_in_a_host_app_asks_the_host_who_calls(
    desk: helpdesk.Helpdesk,
) -> None:
    ann = desk.ensure_customer("u-ann", "ann@example.com", "Ann")
    bea = desk.ensure_customer("u-bea", "bea@example.com", "Bea")
    users = {"ann": ann, "bea": bea}

    def identify(environ: dict[str, Any]) -> helpdesk.UserRef | None:
        """The host's login: here, a header its own proxy sets."""
        return users.get(environ.get("HTTP_X_HOST_USER", ""))

    app = helpdesk.mount(host_app, "/support", desk.wsgi_app(identify))
    client = falcon.testing.TestClient(app)

    def call(method: str, path: str, who: str | None, body: Any = None) -> Any:
        headers = {"X-Host-User": who} if who else {}
        return client.simulate_request(method, path, headers=headers, json=body)

    assert call("GET", "/", None).text == "the host's own page"
    assert call("GET", "/support/api/v1/me", None).status_code == 401
    me = call("GET", "/support/api/v1/me", "ann")
    assert me.status_code == 200, me.text
    assert me.json == helpdesk.document(desk.as_user(ann).me())
    opened = call("POST", "/support/api/v1/tickets", "ann", {"subject": "Hi", "description": "X"})
    assert opened.status_code == 201, opened.text
    ticket = opened.json["id"]
    assert call("GET", f"/support/api/v1/tickets/{ticket}", "ann").status_code == 200
    other = call("GET", f"/support/api/v1/tickets/{ticket}", "bea")
    assert other.status_code == 404
    assert json.loads(other.text)["detail"] == "no such ticket"
    # The host logs its users in: the API's token routes are left out.
    login = call("POST", "/support/api/v1/auth/login", None, {"email": "a@b.c", "password": "x"})
    assert login.status_code == 404
    # What the API did is the library's to see, as the same document.
    detail = desk.as_user(ann).get_ticket(uuid.UUID(ticket))
    assert helpdesk.document(detail)["subject"] == "Hi"


def test_the_api_without_identify_keeps_its_token_login(desk: helpdesk.Helpdesk) -> None:
    client = falcon.testing.TestClient(desk.wsgi_app())
    assert client.simulate_get("/api/v1/me").status_code == 401
    login = client.simulate_post(
        "/api/v1/auth/login", json={"email": "a@example.com", "password": "wrong one 42"}
    )
    assert login.status_code == 401  # the route is there


def test_inside_a_host_the_api_says_where_a_new_thing_is_under_the_mount(
    desk: helpdesk.Helpdesk,
) -> None:
    """Location names the new ticket under the host's prefix; no bearer challenge and no
    /metrics inside a host (its login and its metrics are its own)."""
    ann = desk.ensure_customer("u-ann", "ann@example.com", "Ann")
    app = helpdesk.mount(host_app, "/support", desk.wsgi_app(lambda environ: ann))
    client = falcon.testing.TestClient(app)
    opened = client.simulate_post(
        "/support/api/v1/tickets", json={"subject": "Hi", "description": "X"}
    )
    assert opened.status_code == 201, opened.text
    assert opened.headers["location"] == f"/support/api/v1/tickets/{opened.json['id']}"
    assert client.simulate_get(opened.headers["location"]).status_code == 200
    assert client.simulate_get("/support/metrics").status_code == 404
    nobody = helpdesk.mount(host_app, "/support", desk.wsgi_app(lambda environ: None))
    refused = falcon.testing.TestClient(nobody).simulate_get("/support/api/v1/me")
    assert refused.status_code == 401
    assert "www-authenticate" not in refused.headers


def test_unsubscribing_ends_the_subscription_and_its_waiting_events(
    desk: helpdesk.Helpdesk,
) -> None:
    got: list[str] = []
    desk.subscribe("ticket.created", lambda e: got.append(e.type), name="leaving")
    ann = desk.as_user(desk.ensure_customer("u-1", "ann@example.com", "Ann"))
    ann.open_ticket(helpdesk.OpenTicket("Refund", "Order 1234"))
    assert desk.unsubscribe("leaving") is True
    assert desk.unsubscribe("leaving") is False
    desk.process_events()
    assert got == []
    assert [hook.url for hook in desk.system.list_webhooks()] == []


def test_the_api_document_carries_the_package_version() -> None:
    from entrypoints.http.app import openapi_document

    assert openapi_document()["info"]["version"] == helpdesk.__version__
