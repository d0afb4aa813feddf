"""Whatever a client puts in ``cursor``, no paged route answers 5xx (issue 20, finding 5).

Before: a cursor holding deeply nested JSON answered 500 (RecursionError) on every paged route,
``GET /api/v1/departments`` unauthenticated included; a 400-digit number answered 500
(OverflowError) on the ticket search; ``NaN`` was taken as a position. A cursor is now read
as a flat JSON array of scalars, bounded in size, with finite numbers and 64-bit integers,
each part of the kind its list issues (``entrypoints/http/pagination.py``); anything else is a
422 naming ``cursor``.

The routes come from the OpenAPI document: every operation with a ``cursor`` parameter, GET and
HEAD, so a paged route added later is covered without touching this file. Each runs on every
store, because a cursor's values reach SQL there (memory, SQLite, PostgreSQL).
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from entrypoints.http.app import openapi_document
from entrypoints.http.pagination import CURSOR_MAX_CHARS, decode_cursor, encode_cursor
from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from helpdesk_core.domain.values import name_key
from helpdesk_core.usecases.calendars import CreateCalendar
from helpdesk_core.usecases.mail.mailboxes import CreateMailbox
from helpdesk_core.usecases.sla import SlaPolicyInput
from helpdesk_core.usecases.webhooks import CreateWebhook
from tests.http.conftest import Helpdesk, Person, make_helpdesk
from tests.support.databases import PostgresDatabases

HOOK_URL = "https://93.184.215.14/helpdesk-events"
SORTS = ("created", "-created", "updated", "-updated", "priority", "-priority", "relevance")


def _resolve(node: Any, document: dict[str, Any]) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def paged_operations() -> list[tuple[str, str]]:
    """(METHOD, path) of every documented operation that takes a ``cursor`` in the query."""
    document = openapi_document()
    found = []
    for path, item in document["paths"].items():
        shared = item.get("parameters", [])
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            parameters = [_resolve(p, document) for p in shared + operation.get("parameters", [])]
            if any(p["name"] == "cursor" and p["in"] == "query" for p in parameters):
                found.append((method.upper(), path))
    return found


PAGED = paged_operations()


@attrs.frozen
class Stage:
    """A helpdesk with something in every list, and who calls which route."""

    desk: Helpdesk
    callers: dict[str, Person | None]
    ids: dict[str, str]

    def call(self, method: str, path: str, params: dict[str, str]) -> Any:
        if path.startswith("/api/v1/tickets"):
            who = self.callers["customer"]
        elif path.startswith("/api/v1/staff/"):
            who = self.callers["agent"]
        elif path.startswith("/api/v1/admin/"):
            who = self.callers["admin"]
        else:
            who = None
        concrete = path.format(**self.ids)
        headers = who.headers if who else None
        return self.desk.client.simulate_request(method, concrete, params=params, headers=headers)


def _stage(database_url: str) -> tuple[Stage, Any]:
    desk, services = make_helpdesk(database_url=database_url)
    billing = desk.department("Billing")
    desk.department("Stra\u00dfe \u0149 \u0390")  # a name whose key casefolds longer
    desk.team(billing, "Tier 1")
    admin = desk.staff("admin")
    agent = desk.staff("agent", billing)
    desk.staff("lead", billing)
    customer = desk.customer()
    for n, priority in enumerate(["low", "high", "urgent", "normal"]):
        body = {
            "subject": f"Printer {n}",
            "description": "It is on fire.",
            "department_id": billing,
            "priority": priority,
        }
        opened = desk.post("/api/v1/tickets", customer, json=body)
        assert opened.status_code == 201, opened.text
    webhook = services.webhooks.create(SYSTEM_OPERATOR, CreateWebhook(url=HOOK_URL, events=("*",)))
    for name in ("Office", "Stra\u00dfe"):
        services.calendars.create(
            SYSTEM_OPERATOR, CreateCalendar(name, "UTC", (("mon", "09:00", "17:00"),))
        )
    for position, name in ((0, "Standard"), (0, "Stra\u00dfe"), (5, "Urgent")):
        services.sla.create(
            SYSTEM_OPERATOR,
            SlaPolicyInput(name, position, targets={"urgent": {"first_response": 30}}),
        )
    for name, address in (
        ("Support", "support@example.com"),
        ("Stra\u00dfe", "strasse@example.com"),
    ):
        services.mailboxes.create(SYSTEM_OPERATOR, CreateMailbox(name, address))
    ids = {"webhook_id": str(webhook.webhook.id)}
    callers: dict[str, Person | None] = {"customer": customer, "agent": agent, "admin": admin}
    return Stage(desk, callers, ids), services


@pytest.fixture(
    scope="module",
    params=[
        pytest.param("memory", id="memory"),
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ],
)
def stage(request: pytest.FixtureRequest) -> Iterator[Stage]:
    if request.param == "memory":
        url = "memory://"
    elif request.param == "sqlite":
        url = request.getfixturevalue("sqlite_databases").fresh()
    else:
        databases: PostgresDatabases = request.getfixturevalue("postgres_databases")
        url = databases.fresh()
    opened, services = _stage(url)
    yield opened
    services.close()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _b64_text(text: str) -> str:
    return _b64(text.encode("utf-8", "surrogatepass"))


UUID = str(uuid.UUID(int=7))
TIME = "2024-01-01T00:00:00+00:00"
# What the probe sent (finding 5), and their near relatives: each a 422 naming ``cursor``.
HOSTILE = {
    "nested-5000": _b64_text("[" * 5000 + "]" * 5000),
    "nested-objects": _b64_text('{"a":' * 3000 + "1" + "}" * 3000),
    "nested-unterminated": _b64_text("[" * 100_000),
    "nested-inside-a-list": _b64_text(f'["{TIME}", [[["{UUID}"]]]]'),
    "400-digit-number": _b64_text(f'[{"9" * 400}, "{UUID}"]'),
    "5000-digit-number": _b64_text(f"[{'9' * 5000}]"),
    "beyond-64-bits": _b64_text(f'[{2**63}, "{TIME}", "{UUID}"]'),
    "nan": _b64_text(f'[NaN, "{UUID}"]'),
    "infinity": _b64_text(f'[Infinity, "{UUID}"]'),
    "overflowing-float": _b64_text(f'[1e400, "{UUID}"]'),
    "too-long": _b64_text(json.dumps(["x" * 3000, UUID])),
    "not-base64": "%%%***",
    "not-utf8": _b64(b"\xff\xfe["),
    "empty-list": _b64_text("[]"),
    "an-object": _b64_text('{"a": 1}'),
}


@pytest.mark.parametrize("cursor", HOSTILE.values(), ids=HOSTILE)
@pytest.mark.parametrize(("method", "path"), PAGED, ids=[f"{m} {p}" for m, p in PAGED])
def test_a_hostile_cursor_is_a_422_naming_the_cursor(
    stage: Stage, method: str, path: str, cursor: str
) -> None:
    for sort in ("relevance", "priority", "created"):  # every shape of ticket cursor
        result = stage.call(method, path, {"cursor": cursor, "sort": sort, "q": "printer"})
        assert result.status_code == 422, (sort, result.text)
        if method == "GET":
            assert [e["field"] for e in result.json["errors"]] == ["cursor"], result.text
        if "tickets" not in path:
            break  # only the ticket lists take a sort


# Lists by name (policies: position, then name; canned responses: title).
BY_NAME = (
    "departments",
    "teams",
    "calendars",
    "sla-policies",
    "mailboxes",
    "canned-responses",
    "macros",
    "staff/tags",
)
TIME_KEYED = [(m, p) for m, p in PAGED if not any(name in p for name in BY_NAME)]


@pytest.mark.parametrize(("method", "path"), TIME_KEYED, ids=[f"{m} {p}" for m, p in TIME_KEYED])
def test_a_time_no_store_holds_is_a_422(stage: Stage, method: str, path: str) -> None:
    """Lists keyed by a time: one whose UTC lies before the year 1 is refused, not sent to SQL."""
    cursor = encode_cursor(["0001-01-01T00:00:00+14:00", UUID])
    result = stage.call(method, path, {"cursor": cursor})
    assert result.status_code == 422, result.text


def _json_scalars() -> st.SearchStrategy[Any]:
    zones = st.sampled_from([UTC, timezone(timedelta(hours=14)), timezone(timedelta(hours=-14))])
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.integers(min_value=-(10**400), max_value=10**400),
        st.floats(),  # NaN and infinities included: json.dumps writes them as NaN, Infinity
        st.text(max_size=30),
        st.uuids().map(str),
        st.datetimes(timezones=zones).map(lambda d: d.isoformat()),
        st.datetimes().map(lambda d: d.isoformat()),  # without an offset
    )


JSON_VALUES = st.recursive(
    _json_scalars(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=12,
)
NO_SURROGATES = st.characters(exclude_categories=["Cs"])
CURSORS = st.one_of(
    st.text(NO_SURROGATES, max_size=80),  # anything at all, as typed
    st.binary(max_size=300).map(_b64),  # arbitrary bytes, as base64url
    JSON_VALUES.map(lambda v: _b64_text(json.dumps(v))),  # arbitrary JSON
    st.lists(_json_scalars(), min_size=1, max_size=4).map(lambda v: _b64_text(json.dumps(v))),
    st.integers(1, 20_000).map(lambda n: _b64_text("[" * n + "]" * n)),  # deep nesting
    st.integers(20, 6000).map(lambda n: _b64_text(f'[{"7" * n}, "{UUID}"]')),  # huge numbers
    st.integers(CURSOR_MAX_CHARS - 8, CURSOR_MAX_CHARS + 8).map(lambda n: "A" * n),
)


@pytest.mark.parametrize(("method", "path"), PAGED, ids=[f"{m} {p}" for m, p in PAGED])
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(cursor=CURSORS, sort=st.sampled_from(SORTS), search=st.booleans())
@example(cursor=HOSTILE["nested-5000"], sort="created", search=False)
@example(cursor=HOSTILE["400-digit-number"], sort="relevance", search=True)
def test_no_cursor_makes_a_paged_route_fail(
    stage: Stage, method: str, path: str, cursor: str, sort: str, search: bool
) -> None:
    params = {"cursor": cursor, "sort": sort} | ({"q": "printer"} if search else {})
    result = stage.call(method, path, params)
    assert result.status_code in {200, 422}, result.text
    if result.status_code == 422 and method == "GET":
        assert {e["field"] for e in result.json["errors"]} == {"cursor"}, result.text


GETS = [(m, p) for m, p in PAGED if m == "GET"]  # HEAD answers carry no next_cursor


@pytest.mark.parametrize(("method", "path"), GETS, ids=[f"{m} {p}" for m, p in GETS])
def test_the_cursor_a_list_issues_is_taken_back(stage: Stage, method: str, path: str) -> None:
    """The bounds refuse nothing the lists issue: page through every list one at a time."""
    sorts = SORTS if "tickets" in path else ("created",)
    for sort in sorts:
        params = {"limit": "1", "sort": sort} | ({"q": "printer"} if sort == "relevance" else {})
        seen = 0
        while True:
            result = stage.call(method, path, params)
            assert result.status_code == 200, (sort, result.text)
            seen += len(result.json["items"])
            if result.json["next_cursor"] is None:
                break
            params["cursor"] = result.json["next_cursor"]
        assert seen == len(stage.call(method, path, {"limit": "100", "sort": sort}).json["items"])


def test_the_longest_name_key_fits_in_a_cursor() -> None:
    """A list sorted by name issues (name key, id): 100 characters whose casefolded UTF-8 is
    as long as any character's makes a cursor under the bound, and it decodes."""
    widest = max(map(chr, range(0x110000)), key=_key_bytes)
    name = widest * 100  # NAME_MAX (helpdesk_core/usecases/org.py)
    cursor = encode_cursor((str(uuid.uuid4()), name_key(name), str(uuid.uuid4())))
    assert len(cursor) <= CURSOR_MAX_CHARS
    assert decode_cursor(cursor)[1] == name_key(name)


def _key_bytes(char: str) -> int:
    if 0xD800 <= ord(char) <= 0xDFFF:
        return 0
    return len(name_key(char).encode())


def test_an_issued_time_cursor_keeps_its_meaning() -> None:
    key = (datetime(2024, 5, 1, 9, 30, tzinfo=UTC).isoformat(), str(uuid.UUID(int=1)))
    assert decode_cursor(encode_cursor(key)) == key
