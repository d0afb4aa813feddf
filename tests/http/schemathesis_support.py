"""A seeded helpdesk for the schemathesis runs, and what the in-process and live runs share.

The in-process run (tests/http/test_schemathesis.py) seeds its helpdesk once into a migrated
SQLite file; each stage is a fresh copy of it (one for the module, one per stateful scenario,
so every scenario starts from the same store and Hypothesis sees the same answers for the same
steps). The live run (tests/e2e/test_schemathesis_live.py) seeds a fresh PostgreSQL database
the same way, beside the server that serves it (same database, Redis and signing keys: one more
host of the deployment). Each role keeps its token
while it still speaks for the account as seeded; when the run logged it out, ended its
sessions, or (through ids it found in lists) deactivated, moved or demoted the account, the
stage puts the account back and logs in again, so a request never fails only because an
earlier one used up the caller. Webhook URLs are checked by the product's own guard with a
stand-in resolver: a few names resolve to public addresses, every other name does not
resolve, and nothing ever asks DNS. Every answer the app gives is recorded, so a test can look
for secrets in all of them afterwards.
"""

from __future__ import annotations

import os
import re
import socket
import sqlite3
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import falcon
import falcon.testing
import hypothesis.strategies as st
import schemathesis
import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, settings
from hypothesis.errors import Flaky
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.generation.stateful import run_state_machine_as_test
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
    use_after_free,
)

from adapters.security.secretbox import FernetSecretBox
from adapters.security.tokens import ItsdangerousSigner
from adapters.sql.tables import metadata
from adapters.webhooks.guard import NetworkUrlGuard
from entrypoints.bootstrap import WEBHOOK_SECRET_PURPOSE, Services, bootstrap, password_hasher
from entrypoints.http.app import create_app
from helpdesk_core.domain.errors import AuthenticationFailed
from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from helpdesk_core.domain.values import StaffRole
from helpdesk_core.ports.events import UrlGuard
from helpdesk_core.usecases.auth import Login, reset_token
from helpdesk_core.usecases.customers import ERASED_HASH, is_erased
from helpdesk_core.usecases.events import signing_secret
from helpdesk_core.usecases.org import (
    UpdateDepartment,
    UpdateStaff,
    UpdateTeam,
)
from tests.conftest import make_settings

# ------------------------------------------------------------------ how both runs fuzz

# Every answer of both runs must pass exactly these checks.
CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
    negative_data_rejection,
    ignored_auth,
    use_after_free,
]

# Received mail POSTed whole (POST /api/v1/inbound/email, message/rfc822): any bytes, now and
# then a real-shaped message of the corpus. Unsigned, every one must be the same 401.
schemathesis.openapi.media_type(
    "message/rfc822",
    st.one_of(
        st.binary(max_size=2048),
        st.sampled_from(
            sorted(
                p.read_bytes() for p in (Path(__file__).parents[1] / "mail_corpus").glob("*.eml")
            )
        ),
    ),
)


def accept_uri_too_long(schema: Any) -> Any:
    """``schema``, whose negative-data check also takes gunicorn's 414 as a refusal: a live
    server refuses a request line over 4,094 bytes (long text in a query string, percent-encoded)
    before the application sees it, as the document says of every operation."""
    rejection = schema.config.checks.negative_data_rejection
    if "414" not in rejection.expected_statuses:
        rejection.expected_statuses = [*rejection.expected_statuses, "414"]
    return schema


# Examples per operation and role (fuzzing phase; the coverage phase adds its own fixed set).
# CI runs the default; HELPDESK_TEST_FUZZ_EXAMPLES=100 explores deeper, off CI.
EXAMPLES = int(os.environ.get("HELPDESK_TEST_FUZZ_EXAMPLES", "5"))
BOUNDED = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
STATEFUL = settings(
    BOUNDED,
    max_examples=2 * EXAMPLES,
    stateful_step_count=6,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
)
# The stateful workflows: everything, and the one resource with a DELETE (create ->
# read/change/ping -> delete -> read again), by the paths they include (None: all).
WORKFLOWS: dict[str, str | None] = {
    "everything": None,
    "webhook-lifecycle": "^/api/v1/admin/webhooks",
}
HTTP_METHODS = frozenset({"get", "put", "post", "patch", "delete", "head", "options", "trace"})


def documented_operations(document: Mapping[str, Any]) -> set[str]:
    """Every operation of an OpenAPI document, labelled as schemathesis labels them."""
    return {
        f"{method.upper()} {path}"
        for path, item in document["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }


def parametrized_operations(schema: Any) -> set[str]:
    """The operations ``schema.parametrize()`` makes a test for, labelled like the document's."""
    return {f"{op.ok().method.upper()} {op.ok().path}" for op in schema.get_all_operations()}


def assert_sent(request: Any, exercised: Mapping[str, set[str]]) -> None:
    """The item ``test[OPERATION][ROLE]`` that just ran sent OPERATION as ROLE at least once.

    Checked per item, so it holds however pytest-xdist spreads the items over workers."""
    match = re.fullmatch(r".+\[(.+)\]\[(.+)\]", request.node.name)
    assert match, request.node.name
    operation, role = match.groups()
    assert operation in exercised.get(role, ()), f"{request.node.name} sent no request"


def _is_uuid(value: Any) -> bool:
    try:
        return isinstance(value, str) and bool(uuid.UUID(value))
    except ValueError:
        return False


@attrs.define
class Aim:
    """Values of the seeded helpdesk that generated requests now and then aim at.

    Path, query and body ids are swapped now and then for ids of the seeded helpdesk (``ids``,
    by parameter name), and a few body texts for values the stage accepts (``text``, by field
    name), so requests reach real tickets, departments, teams, staff and webhooks, not only
    404s. Only well-formed ids are swapped, so a deliberately invalid value stays invalid.
    """

    text: Mapping[str, Sequence[str]]
    ids: dict[str, list[str]] = attrs.Factory(dict)

    def values(self, values: Any) -> st.SearchStrategy[Any]:
        """``values`` as generated, or with one generated id (or text) swapped for a known one."""
        if not isinstance(values, dict):
            return st.just(values)
        choices = [values]
        for name, value in values.items():
            if _is_uuid(value):
                choices += [{**values, name: known} for known in self.ids.get(name, ())]
            elif isinstance(value, str):
                choices += [{**values, name: known} for known in self.text.get(name, ())]
        return st.sampled_from(choices)

    def install(self, schema: Any) -> Any:
        """Register the swaps as ``schema``'s hooks (on its path parameters, query and body)."""
        for place in ("path_parameters", "query", "body"):
            schema.hook(f"flatmap_{place}")(lambda context, values: self.values(values))
        return schema


def credentials(case: Any, role: str, stage: Stage) -> dict[str, str]:
    """The role's bearer header, unless the case deliberately goes without one (then none:
    the header would undo the case's point, and the answer must be a 401)."""
    if case.operation.schema.is_security_param_negated(case):
        return {}
    return stage.headers(role)


def run_linked_workflows(
    schema: Any,
    headers: Callable[[Any], dict[str, str]],
    *,
    setup: Callable[[], None] | None = None,
    teardown: Callable[[], None] | None = None,
    **call_options: Any,
) -> list[BaseException]:
    """Follow ``schema``'s links (explicit and inferred) in STATEFUL scenarios, each answer
    checked with CHECKS; the failures seen. ``setup`` and ``teardown`` run around every
    scenario, ``headers(case)`` gives each request its credentials."""
    base: Any = schema.as_state_machine()
    failures: list[BaseException] = []

    class Workflow(base):
        def setup(self) -> None:
            if setup is not None:
                setup()

        def teardown(self) -> None:
            if teardown is not None:
                teardown()

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": headers(case), **call_options}

        def validate_response(
            self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any
        ) -> None:
            try:
                case.validate_response(
                    response,
                    checks=CHECKS,
                    headers=kwargs.get("headers"),
                    transport_kwargs=kwargs,
                    recorder=self.recorder,
                )
            except FailureGroup as exc:
                failures.append(exc)
                raise

    try:
        run_state_machine_as_test(Workflow, settings=STATEFUL)
    except Flaky:
        if not failures:
            raise
        # A failing scenario Hypothesis could not replay: report the failure it saw.
    return failures


# ------------------------------------------------------------------ the seeded helpdesk

PASSWORD = "correct horse battery"
ROLES = ("anonymous", "customer", "agent", "lead", "admin")
STAGE_ADDRESS = "schemathesis-stage"  # the client address of the stage's own logins
# Names the stand-in resolver knows, resolving to public addresses; any other name fails.
PUBLIC_NAMES: Mapping[str, Sequence[str]] = {
    "hooks.example.com": ["93.184.215.14"],
    "example.com": ["93.184.215.14"],
}


def offline_resolver(table: Mapping[str, Sequence[str]]) -> Any:
    """A getaddrinfo stand-in: answers from ``table``, every other name does not resolve."""

    def resolve(host: str, port: int, family: int = 0, kind: int = 0) -> list[tuple[Any, ...]]:
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in table[host]]

    return resolve


@attrs.frozen
class Answer:
    """One response of the app, as it left it."""

    method: str
    path: str
    status: int
    content_type: str
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class RecordingApp:
    """A WSGI app that hands every request to ``target`` and keeps every answer.

    schemathesis loads the schema through it at import time (from an in-memory helpdesk) and
    the stage fixture points it at the seeded helpdesk for the run.
    """

    def __init__(self, target: falcon.App | None) -> None:
        self.target = target
        self.answers: list[Answer] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        seen: dict[str, Any] = {}
        assert self.target is not None, "a live stage has no app to call in process"

        def recording_start_response(status: str, headers: list[Any], *exc: Any) -> Any:
            seen["status"], seen["headers"] = status, headers
            return start_response(status, headers, *exc)

        chunks = list(self.target(environ, recording_start_response))
        body = b"".join(chunks)
        content_type = next(
            (v for k, v in seen.get("headers", []) if k.lower() == "content-type"), ""
        )
        self.answers.append(
            Answer(
                environ["REQUEST_METHOD"],
                environ.get("PATH_INFO", ""),
                int(str(seen.get("status", "0")).split(" ", 1)[0]),
                content_type,
                body,
            )
        )
        return iter([body])


def schema_app() -> RecordingApp:
    """The app the schema is loaded from: a helpdesk on the in-memory store (nothing kept)."""
    return RecordingApp(create_app(bootstrap(make_settings())))


def served_document() -> dict[str, Any]:
    """The OpenAPI document the app serves at /openapi.json (from an in-memory helpdesk)."""
    services = bootstrap(make_settings())
    try:
        answer = falcon.testing.TestClient(create_app(services)).simulate_get("/openapi.json")
    finally:
        services.close()
    assert answer.status_code == 200, answer.text
    document: dict[str, Any] = answer.json
    return document


@attrs.frozen
class Seeded:
    """A role account as seeded: what the stage restores when the run changed it."""

    email: str
    user_id: uuid.UUID
    role: StaffRole | None  # None: a customer
    department_id: uuid.UUID | None
    team_id: uuid.UUID | None


@attrs.frozen
class Seed:
    """A seeded helpdesk kept as a SQLite file, to open as many fresh copies as needed."""

    template: Path | None  # None: seeded straight into a live server's database
    accounts: dict[str, Seeded]
    ids: dict[str, list[str]]
    org_ids: tuple[uuid.UUID, uuid.UUID]  # the department and team the role accounts live in

    def open(self, folder: Path) -> Stage:
        """A helpdesk over a new copy of the seeded store."""
        assert self.template is not None, "only a seeded SQLite file has copies"
        target = folder / f"stage-{uuid.uuid4().hex}.db"
        source, copy = sqlite3.connect(self.template), sqlite3.connect(target)
        try:
            source.backup(copy)
        finally:
            source.close()
            copy.close()
        services = open_services(f"sqlite:///{target}")
        return Stage(services, create_app(services), self, target)


@attrs.define
class Stage:
    """The app under test, its services, the role accounts and the ids worth aiming at."""

    services: Services
    app: falcon.App | None  # None: the app is a live server, reached over HTTP
    seed: Seed
    path: Path | None  # its copy of the seeded store, removed by close()
    tokens: dict[str, str] = attrs.Factory(dict)

    @property
    def accounts(self) -> dict[str, Seeded]:
        return self.seed.accounts

    @property
    def ids(self) -> dict[str, list[str]]:
        return self.seed.ids

    def headers(self, role: str) -> dict[str, str]:
        """A bearer header that speaks for ``role`` as seeded (none for anonymous)."""
        if role == "anonymous":
            return {}
        token = self.tokens.get(role)
        if token is None or not self._speaks_as_seeded(role, token):
            self._restore(role)
            token = self.services.auth.login(
                Login(self.accounts[role].email, PASSWORD, client_address=STAGE_ADDRESS)
            ).access_token
            self.tokens[role] = token
        return {"Authorization": f"Bearer {token}"}

    def issued_tokens(self) -> set[str]:
        return set(self.tokens.values())

    def _speaks_as_seeded(self, role: str, token: str) -> bool:
        try:
            principal = self.services.auth.authenticate(token)
        except AuthenticationFailed:
            return False
        seeded = self.accounts[role]
        return principal.role.value == role and (
            seeded.role is None
            or (principal.department_id, principal.team_id)
            == (seeded.department_id, seeded.team_id)
        )

    def _restore(self, role: str) -> None:
        seeded = self.accounts[role]
        if seeded.role is None:  # an administrator may have deactivated or erased the customer
            self._restore_customer(seeded)
            return
        org, op = self.services.org, SYSTEM_OPERATOR
        department, team = self.seed.org_ids
        if not org.get_department(op, department).is_active:
            org.update_department(op, department, UpdateDepartment(active=True))
        if not org.get_team(op, team).is_active:
            org.update_team(op, team, UpdateTeam(active=True))
        org.update_staff(
            op,
            seeded.user_id,
            UpdateStaff(
                role=seeded.role,
                department_id=seeded.department_id,
                team_id=seeded.team_id,
                active=True,
                change_department=True,
                change_team=True,
            ),
        )

    def _restore_customer(self, seeded: Seeded) -> None:
        customers, op = self.services.customers, SYSTEM_OPERATOR
        user = customers.get(op, seeded.user_id)
        if is_erased(user):  # no route undoes an erasure: put the account back in the store
            restored = attrs.evolve(
                user,
                email=seeded.email,
                display_name="Cus",
                password_hash=password_hasher(self.services.settings).hash(PASSWORD),
                is_active=True,
                version=user.version + 1,
            )
            with self.services.uow.begin() as tx:
                tx.users.update(restored)
                tx.commit()
        elif not user.is_active:
            customers.set_active(op, user.id, True)
        customers.unlock(op, user.id)

    def rows(self, table: str) -> list[dict[str, Any]]:
        """Every row of ``table`` as it is now (read straight from the database)."""
        engine = sa.create_engine(self.services.settings.database_url, poolclass=sa.pool.NullPool)
        try:
            with engine.connect() as connection:
                result = connection.execute(sa.select(metadata.tables[table]))
                return [dict(row._mapping) for row in result]
        finally:
            engine.dispose()

    def photo(self, leave_out: Iterable[str] = ()) -> dict[str, list[str]]:
        """Every table's rows, comparable with ``==`` (to prove a refusal changed nothing)."""
        skip = set(leave_out)
        return {
            table: sorted(repr(sorted(row.items())) for row in self.rows(table))
            for table in metadata.tables
            if table not in skip
        }

    def close(self) -> None:
        self.services.close()
        if self.path is None:
            return
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)


@attrs.frozen
class Secrets:
    """What no answer may carry, read from a stage's store."""

    password_hashes: frozenset[str]
    sessions: frozenset[str]  # the server-side handle of every bearer token, in both spellings
    reset_tokens: frozenset[str]  # the tokens (derived again, as the worker does), their hashes
    fingerprints: frozenset[str]  # idempotency fingerprints
    webhook_secrets: frozenset[str]

    @classmethod
    def of(cls, stage: Stage) -> Secrets:
        signer = ItsdangerousSigner(stage.services.settings.secret_keys)
        resets = stage.rows("password_reset_tokens")
        sessions = [row["id"] for row in stage.rows("sessions")]
        return cls(
            # An erased account's "hash" is a public constant no password matches, not a secret
            # (fuzzed text may well contain it).
            frozenset(r["password_hash"] for r in stage.rows("users")) - {ERASED_HASH},
            frozenset([str(s) for s in sessions] + [s.hex for s in sessions]),
            frozenset(
                [reset_token(signer, r["id"]) for r in resets] + [r["token_hash"] for r in resets]
            ),
            frozenset(r["fingerprint"] for r in stage.rows("idempotency_keys")),
            frozenset(webhook_secrets(stage).values()),
        )

    def __or__(self, other: Secrets) -> Secrets:
        return Secrets(
            *(getattr(self, f.name) | getattr(other, f.name) for f in attrs.fields(Secrets))
        )


def webhook_secrets(stage: Stage) -> dict[str, str]:
    """Every endpoint's signing secret by id, as the worker reads it (the store holds them
    encrypted: looking for the stored value in answers would look for the wrong thing)."""
    box = FernetSecretBox(stage.services.settings.secret_keys, WEBHOOK_SECRET_PURPOSE)
    return {str(r["id"]): signing_secret(box, r["secret"]) for r in stage.rows("webhooks")}


def open_services(database_url: str, **changes: Any) -> Services:
    """The helpdesk's services over ``database_url`` (test settings with ``changes``), with
    the offline URL guard."""
    guard = NetworkUrlGuard((), resolver=offline_resolver(PUBLIC_NAMES))
    return bootstrap(make_settings(database_url=database_url, **changes), {UrlGuard: guard})
