"""Steps for features/library: a program that embeds the helpdesk, through ``import helpdesk``.

The program is "the shop", an online shop with users of its own. Everything it does goes
through the public ``helpdesk`` package, as a developer's program would: it opens a helpdesk
(memory, or a SQLite file in the scenario's own folder), finds or makes its users by its own
ids, acts as them, subscribes functions to events and serves the REST API inside its own WSGI
app (called through Falcon's test client, the one thing here that is not the library).

Users are named in the stories by their display names (Ann, Bob), tickets by their subjects.
Every helpdesk a scenario opens is closed when it ends, whatever happened.
"""

from __future__ import annotations

import ast
import re
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import falcon.testing
import pytest
from pytest_bdd import given, parsers, then, when

import helpdesk
from tests.conftest import TEST_SECRET

# A retry that is not due after this long is a failure of the story, not a slow machine.
RETRY_PATIENCE_SECONDS = 10.0
SHOP_PAGE = "the shop's own page"


def desk_settings(database_url: str, **changes: Any) -> helpdesk.Settings:
    """Settings built in code: a fixed key (so no key file is written), the database migrated
    on open, and cheap password hashing (a development value the checks accept)."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "secret_keys": (TEST_SECRET,),
        "auto_migrate": True,
        "argon2_memory_kib": 1024,
        "argon2_time_cost": 1,
        "argon2_parallelism": 1,
        **changes,
    }
    return helpdesk.Settings(**values)


@attrs.define
class Shop:
    """The embedding program and what the story has established so far."""

    data_folder: Path
    opened: list[helpdesk.Helpdesk] = attrs.Factory(list)  # every helpdesk, closed at the end
    settings: helpdesk.Settings | None = None  # what the current helpdesk was opened with
    accounts: dict[str, helpdesk.User | helpdesk.StaffProfile] = attrs.Factory(dict)  # shop id
    shop_ids: dict[str, str] = attrs.Factory(dict)  # display name -> shop id
    ensured: list[tuple[str, uuid.UUID]] = attrs.Factory(list)  # (shop id, account id) per call
    departments: dict[str, uuid.UUID] = attrs.Factory(dict)  # name -> id
    tickets: dict[str, uuid.UUID] = attrs.Factory(dict)  # subject -> id
    received: dict[str, list[helpdesk.Event]] = attrs.Factory(dict)  # subscriber -> events
    mended: set[str] = attrs.Factory(set)  # subscribers that no longer raise
    refusal: BaseException | None = None  # what the last call the story tried raised
    looked_up_by: str | None = None  # who tried to look a ticket up last
    client: falcon.testing.TestClient | None = None  # the shop's web app, API mounted
    api_root: str = ""  # where the mounted API's own paths start: /support/api/v1
    header: str = ""  # the request header the shop's front end names its user in
    answer: falcon.testing.Result | None = None

    @property
    def desk(self) -> helpdesk.Helpdesk:
        assert self.opened, "the story opened no helpdesk"
        return self.opened[-1]

    def open(self, settings: helpdesk.Settings) -> helpdesk.Helpdesk:
        desk = helpdesk.open(settings)
        self.opened.append(desk)
        self.settings = settings
        return desk

    def user(self, name: str) -> helpdesk.User | helpdesk.StaffProfile:
        return self.accounts[self.shop_ids[name]]

    def acting(self, name: str) -> helpdesk.Acting:
        return self.desk.as_user(self.user(name))

    def remember(self, shop_id: str, account: helpdesk.User | helpdesk.StaffProfile) -> None:
        """What an ``ensure_*`` call gave the shop for its user ``shop_id``."""
        user = account if isinstance(account, helpdesk.User) else account.user
        self.accounts[shop_id] = account
        self.shop_ids[user.display_name] = shop_id
        self.ensured.append((shop_id, user.id))

    def last_answer(self) -> falcon.testing.Result:
        assert self.answer is not None, "no browser has called yet"
        return self.answer


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[Shop]:
    """The shop, with a data folder of its own; every helpdesk it opened is closed after."""
    the_shop = Shop(tmp_path)
    yield the_shop
    for desk in the_shop.opened:
        desk.close()


def _quoted(text: str) -> list[str]:
    """``"A", "B" and "C"`` -> ``["A", "B", "C"]``."""
    return re.findall(r'"([^"]+)"', text)


def _ensure(
    shop: Shop, shop_id: str, name: str, email: str, role: str, department: str | None
) -> None:
    """The shop's find-or-make call for its user, as it makes it whenever the user shows up."""
    desk = shop.desk
    if role == "customer":
        shop.remember(shop_id, desk.ensure_customer(shop_id, email, name))
        return
    place = shop.departments[department] if department else None
    shop.remember(shop_id, desk.ensure_staff(shop_id, email, name, helpdesk.StaffRole(role), place))


# ------------------------------------------------------------------ opening


@given("the shop has opened a helpdesk in memory")
def opened_in_memory(shop: Shop) -> None:
    shop.open(desk_settings("memory://"))


@given(
    parsers.parse(
        "the shop has opened a helpdesk in memory that retries a failed delivery "
        "after {seconds:g} seconds"
    )
)
def opened_retrying_soon(shop: Shop, seconds: float) -> None:
    shop.open(desk_settings("memory://", retry_base_seconds=seconds))


@given(parsers.parse('the shop\'s data folder has no "{file}" yet'))
def no_database_yet(shop: Shop, file: str) -> None:
    assert not (shop.data_folder / file).exists()


@when(parsers.parse('the shop opens a helpdesk on the SQLite file "{file}" in its data folder'))
def opens_sqlite_file(shop: Shop, file: str) -> None:
    shop.open(desk_settings(f"sqlite:///{shop.data_folder / file}"))


@then(parsers.parse('"{file}" holds the helpdesk\'s tables, at a recorded schema revision'))
def holds_tables(shop: Shop, file: str) -> None:
    connection = sqlite3.connect(shop.data_folder / file)
    try:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
        revisions = connection.execute("SELECT version_num FROM alembic_version").fetchall()
    finally:
        connection.close()
    assert {"users", "tickets", "departments"} <= tables, sorted(tables)
    assert len(revisions) == 1
    assert revisions[0][0]


@when("the shop closes the helpdesk and opens it again on the same file")
def reopens(shop: Shop) -> None:
    assert shop.settings is not None
    shop.desk.close()
    shop.open(shop.settings)


@when(parsers.parse("the shop opens a helpdesk with helpdesk.Settings({settings})"))
def opens_with_settings(shop: Shop, settings: str) -> None:
    try:
        shop.open(desk_settings(**{"database_url": "memory://", **_keywords(settings)}))
    except helpdesk.ConfigError as refused:
        shop.refusal = refused


def _keywords(text: str) -> dict[str, Any]:
    """``workers=0, env="prod"`` as the keyword arguments of a call written so in Python."""
    call = ast.parse(f"Settings({text})", mode="eval").body
    assert isinstance(call, ast.Call)
    assert not call.args
    keywords = {}
    for keyword in call.keywords:
        assert keyword.arg is not None
        keywords[keyword.arg] = ast.literal_eval(keyword.value)
    return keywords


@then(parsers.parse("opening fails with a ConfigError naming {variable}"))
def config_error(shop: Shop, variable: str) -> None:
    assert isinstance(shop.refusal, helpdesk.ConfigError), f"opened: {shop.opened}"
    assert shop.refusal.variable == variable
    assert str(shop.refusal).startswith(f"{variable}="), str(shop.refusal)


# ------------------------------------------------------------------ the shop's own users


@given(parsers.re(r'the shop has set up the departments? (?P<names>".+")'))
def departments(shop: Shop, names: str) -> None:
    for name in _quoted(names):
        made = shop.desk.system.create_department(helpdesk.CreateDepartment(name))
        shop.departments[name] = made.id


@given("the shop has made its users known to the helpdesk:")
def users_known(shop: Shop, datatable: list[list[str]]) -> None:
    header, *rows = datatable
    for row in rows:
        user = dict(zip(header, row, strict=True))
        department = user["department"] or None
        _ensure(shop, user["shop id"], user["name"], user["email"], user["role"], department)


@when(
    parsers.re(
        r'the shop ensures its (?P<role>customer|agent|lead|admin) "(?P<shop_id>[^"]+)", '
        r'(?P<name>[^,]+), with the email "(?P<email>[^"]+)"(?:, in "(?P<department>[^"]+)")?'
    )
)
def ensures(
    shop: Shop, role: str, shop_id: str, name: str, email: str, department: str | None
) -> None:
    _ensure(shop, shop_id, name, email, role, department)


@then("both calls gave the shop the same account")
def same_account(shop: Shop) -> None:
    assert len(shop.ensured) >= 2
    (first_id, first), (second_id, second) = shop.ensured[-2:]
    assert first_id == second_id
    assert first == second


@then("the helpdesk has exactly one customer")
def one_customer(shop: Shop) -> None:
    customers = shop.desk.system.list_customers().items
    assert len(customers) == 1, customers


@then(parsers.parse('the shop\'s customer "{shop_id}" is now {name} <{email}>'))
def customer_now(shop: Shop, shop_id: str, name: str, email: str) -> None:
    account = shop.accounts[shop_id]
    assert isinstance(account, helpdesk.User)
    customer = shop.desk.system.get_customer(account.id)
    assert (customer.display_name, customer.email) == (name, email)
    assert customer.external_id == shop_id


@then(
    parsers.re(
        r'the shop\'s staff member "(?P<shop_id>[^"]+)" is now (?P<name>[^<]+) <(?P<email>[^>]+)>, '
        r'an? (?P<role>\w+) in "(?P<department>[^"]+)"'
    )
)
def staff_now(shop: Shop, shop_id: str, name: str, email: str, role: str, department: str) -> None:
    account = shop.accounts[shop_id]
    assert isinstance(account, helpdesk.StaffProfile)
    staff = shop.desk.system.get_staff(account.user.id)
    assert (staff.user.display_name, staff.user.email) == (name, email)
    assert staff.staff.role.value == role
    assert staff.staff.department_id == shop.departments[department]


@when(parsers.re(r'somebody tries the password "(?P<password>[^"]*)" for "(?P<email>[^"]+)"'))
def tries_password(shop: Shop, password: str, email: str) -> None:
    try:
        shop.desk.login(helpdesk.Login(email, password))
    except helpdesk.DomainError as refused:
        shop.refusal = refused


@then("the login is refused exactly as for an email nobody uses")
def login_refused(shop: Shop) -> None:
    assert isinstance(shop.refusal, helpdesk.AuthenticationFailed), shop.refusal
    with pytest.raises(helpdesk.AuthenticationFailed) as nobody:
        shop.desk.login(helpdesk.Login("nobody@example.com", "CANARY anything at all"))
    assert shop.refusal.detail == nobody.value.detail


# ------------------------------------------------------------------ acting as them


def _open_ticket(shop: Shop, name: str, subject: str, department: str | None) -> None:
    command = helpdesk.OpenTicket(
        subject,
        f"{subject}: order 1234, placed two weeks ago.",
        department_id=shop.departments[department] if department else None,
    )
    shop.tickets[subject] = shop.acting(name).open_ticket(command).ticket.id


OPENS = r'"(?P<subject>[^"]+)"(?: in "(?P<department>[^"]+)")?'


@when(parsers.re(r"the shop, acting as (?P<name>\w+), opens the ticket " + OPENS))
def opens_ticket(shop: Shop, name: str, subject: str, department: str | None) -> None:
    _open_ticket(shop, name, subject, department)


@given(parsers.re(r"the shop, acting as (?P<name>\w+), has opened the ticket " + OPENS))
def has_opened_ticket(shop: Shop, name: str, subject: str, department: str | None) -> None:
    _open_ticket(shop, name, subject, department)


@when(parsers.parse('the shop, acting as {name}, answers "{subject}" with "{text}"'))
def answers(shop: Shop, name: str, subject: str, text: str) -> None:
    shop.acting(name).post_message(shop.tickets[subject], helpdesk.PostMessage(text))


@then(
    parsers.parse(
        'the shop, acting as {name}, sees "{subject}" {status:w}, with this conversation:'
    )
)
def sees_conversation(
    shop: Shop, name: str, subject: str, status: str, datatable: list[list[str]]
) -> None:
    detail = shop.acting(name).get_ticket(shop.tickets[subject])
    assert detail.ticket.status.value == status
    conversation = [[view.author_name or "", view.message.body] for view in detail.messages]
    assert conversation == datatable[1:]


@then(parsers.parse("the shop, acting as {name}, lists the tickets {subjects}"))
def lists_tickets(shop: Shop, name: str, subjects: str) -> None:
    page = shop.acting(name).list_tickets()
    assert sorted(view.ticket.subject for view in page.items) == sorted(_quoted(subjects))


@when(parsers.parse('the shop, acting as {name}, looks up "{subject}"'))
def looks_up(shop: Shop, name: str, subject: str) -> None:
    shop.looked_up_by = name
    try:
        shop.acting(name).get_ticket(shop.tickets[subject])
    except helpdesk.DomainError as refused:
        shop.refusal = refused


@then("the helpdesk answers that there is no such ticket, as it does for a made-up id")
def no_such_ticket(shop: Shop) -> None:
    assert isinstance(shop.refusal, helpdesk.NotFound), shop.refusal
    assert shop.looked_up_by is not None
    with pytest.raises(helpdesk.NotFound) as made_up:
        shop.acting(shop.looked_up_by).get_ticket(uuid.uuid4())
    assert shop.refusal.detail == made_up.value.detail


@then(parsers.parse('the shop, acting as {name}, finds "{subject}"'))
def finds(shop: Shop, name: str, subject: str) -> None:
    found = shop.acting(name).get_ticket(shop.tickets[subject])
    assert found.ticket.subject == subject


ADMINISTRATORS_TASKS: dict[str, Callable[[helpdesk.Acting], object]] = {
    "list the departments": lambda acting: acting.list_departments(),
    "create a department": lambda acting: acting.create_department(
        helpdesk.CreateDepartment("My own department")
    ),
    "list the customers": lambda acting: acting.list_customers(),
    "list the staff": lambda acting: acting.list_staff(),
    "list the webhooks": lambda acting: acting.list_webhooks(),
    "make another customer": lambda acting: acting.ensure_customer(
        helpdesk.EnsureCustomer("user-99", "zoe@example.com", "Zoe")
    ),
}


@then(
    parsers.parse(
        "the shop, acting as {name}, is refused every one of these administrator's tasks:"
    )
)
def refused_tasks(shop: Shop, name: str, datatable: list[list[str]]) -> None:
    acting = shop.acting(name)
    for (task,) in datatable[1:]:
        with pytest.raises(helpdesk.PermissionDenied):
            ADMINISTRATORS_TASKS[task](acting)
    assert {d.name for d in shop.desk.system.list_departments()} == set(shop.departments)


# ------------------------------------------------------------------ events


def _subscribe(shop: Shop, name: str, events: str, raises: str | None = None) -> None:
    received = shop.received.setdefault(name, [])

    def handler(event: helpdesk.Event) -> None:
        if raises is not None and name not in shop.mended:
            raise RuntimeError(raises)
        received.append(event)

    shop.desk.subscribe(_quoted(events), handler, name=name)


@given(parsers.re(r'the shop has subscribed its function "(?P<name>[^"]+)" to (?P<events>".+")'))
def subscribed(shop: Shop, name: str, events: str) -> None:
    _subscribe(shop, name, events)


@given(
    parsers.re(
        r'the shop has subscribed its function "(?P<name>[^"]+)", which raises "(?P<error>[^"]+)" '
        r'until it is mended, to (?P<events>".+")'
    )
)
def subscribed_raising(shop: Shop, name: str, error: str, events: str) -> None:
    _subscribe(shop, name, events, raises=error)


@when("the shop processes the events")
def processes(shop: Shop) -> None:
    shop.desk.process_events()


def _received(shop: Shop, subscriber: str) -> list[list[str]]:
    return [[event.type, event.data["ticket"]["subject"]] for event in shop.received[subscriber]]


@then(parsers.parse('"{subscriber}" has received nothing yet'))
def received_nothing(shop: Shop, subscriber: str) -> None:
    assert _received(shop, subscriber) == []


@then(parsers.parse('"{subscriber}" has received, in this order:'))
def received_in_order(shop: Shop, subscriber: str, datatable: list[list[str]]) -> None:
    assert _received(shop, subscriber) == datatable[1:]


@then(parsers.parse('processing the events again hands "{subscriber}" nothing more'))
def nothing_more(shop: Shop, subscriber: str) -> None:
    before = _received(shop, subscriber)
    shop.desk.process_events()
    assert _received(shop, subscriber) == before


def _deliveries(shop: Shop, subscriber: str) -> list[helpdesk.WebhookDelivery]:
    """What the helpdesk records of its deliveries to the function (an endpoint whose address
    is ``python:`` and the subscription's name), oldest first."""
    system = shop.desk.system
    (endpoint,) = [hook for hook in system.list_webhooks() if hook.url == f"python:{subscriber}"]
    return sorted(system.webhook_deliveries(endpoint.id), key=lambda d: d.event_seq)


@then(
    parsers.parse(
        'the helpdesk has recorded that "{subscriber}" raised "{error}" and will try again'
    )
)
def recorded_raise(shop: Shop, subscriber: str, error: str) -> None:
    first, *_ = _deliveries(shop, subscriber)
    assert first.attempt_log, "no attempt was recorded"
    assert first.attempt_log[0].outcome.value == "raised"
    assert first.attempt_log[0].error == error
    assert first.state.value == "pending"
    assert first.next_attempt_at > first.attempt_log[-1].created_at


@when(parsers.parse('the shop mends "{subscriber}" and processes the events once the retry is due'))
def mends(shop: Shop, subscriber: str) -> None:
    shop.mended.add(subscriber)
    deadline = time.monotonic() + RETRY_PATIENCE_SECONDS
    while not all(d.state.value == "delivered" for d in _deliveries(shop, subscriber)):
        assert time.monotonic() < deadline, "the retry never came"
        time.sleep(0.02)
        shop.desk.process_events()


# ------------------------------------------------------------------ the API in the shop's app


def shop_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    """The shop's own web app: every page it has is this one."""
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [SHOP_PAGE.encode()]


@given(
    parsers.parse(
        'the shop serves the helpdesk\'s API under "{prefix}", '
        'knowing who calls by the header "{header}"'
    )
)
def serves_api(shop: Shop, prefix: str, header: str) -> None:
    key = "HTTP_" + header.upper().replace("-", "_")

    def identify(environ: dict[str, Any]) -> helpdesk.UserRef | None:
        """The shop's sign-in: its front end names the shop's user in the header."""
        return shop.accounts.get(environ.get(key, ""))

    api = shop.desk.wsgi_app(identify=identify)
    shop.client = falcon.testing.TestClient(helpdesk.mount(shop_app, prefix, api))
    shop.api_root = f"{prefix}/api/v1"
    shop.header = header


def _browser(shop: Shop, method: str, path: str, name: str | None = None, body: Any = None) -> None:
    assert shop.client is not None, "the shop serves no API"
    headers = {shop.header: shop.shop_ids[name]} if name else {}
    shop.answer = shop.client.simulate_request(method, path, headers=headers, json=body)


@when(parsers.parse('a browser asks the shop for "{path}"'))
def asks_shop(shop: Shop, path: str) -> None:
    _browser(shop, "GET", path)


@then("the shop's own app answers")
def shop_answers(shop: Shop) -> None:
    answer = shop.last_answer()
    assert (answer.status_code, answer.text) == (200, SHOP_PAGE)


@when(parsers.parse('a browser without the shop\'s header asks for "{path}"'))
def asks_unidentified(shop: Shop, path: str) -> None:
    _browser(shop, "GET", path)


@when(parsers.parse('{name}\'s browser asks the API for the ticket "{subject}"'))
def asks_for_ticket(shop: Shop, name: str, subject: str) -> None:
    _browser(shop, "GET", f"{shop.api_root}/tickets/{shop.tickets[subject]}", name)


@when(parsers.parse('{name}\'s browser opens the ticket "{subject}" through the API'))
def opens_through_api(shop: Shop, name: str, subject: str) -> None:
    body = {"subject": subject, "description": f"{subject}: order 1234."}
    _browser(shop, "POST", f"{shop.api_root}/tickets", name, body)
    if shop.last_answer().status_code == 201:
        shop.tickets[subject] = uuid.UUID(shop.last_answer().json["id"])


@when(parsers.parse('a browser sends an email and a password to "{path}"'))
def sends_password(shop: Shop, path: str) -> None:
    body = {"email": "ann@example.com", "password": "CANARY Ann's guessable secret"}
    _browser(shop, "POST", path, body=body)


@then(parsers.parse("the API answers {status:d}"))
def api_answers(shop: Shop, status: int) -> None:
    answer = shop.last_answer()
    assert answer.status_code == status, answer.text


@then(parsers.parse('the API answers {status:d} with the ticket "{subject}"'))
def api_answers_ticket(shop: Shop, status: int, subject: str) -> None:
    answer = shop.last_answer()
    assert answer.status_code == status, answer.text
    assert answer.json["subject"] == subject
    assert answer.json["id"] == str(shop.tickets[subject])


@then(parsers.parse('the API answers {status:d}, saying "{detail}"'))
def api_answers_saying(shop: Shop, status: int, detail: str) -> None:
    answer = shop.last_answer()
    assert answer.status_code == status, answer.text
    assert answer.json["detail"] == detail
