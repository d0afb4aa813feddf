"""Fixtures every test layer shares: cheap settings, real databases, real Redis, and the log
hygiene guard that every test runs under."""

from __future__ import annotations

import logging
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters.security.tokens import ItsdangerousSigner
from entrypoints.config import Settings
from entrypoints.observability.logging import JsonFormatter
from tests.support.databases import PostgresDatabases, SqliteDatabases
from tests.support.services import postgres_url

pytest_plugins = [
    "tests.bdd.steps_identity",
    "tests.bdd.steps_tickets",
    "tests.bdd.steps_events",
    "tests.bdd.steps_customers",
    "tests.bdd.steps_webhook_secrets",
    "tests.bdd.steps_cli_failures",
    "tests.bdd.steps_cli",
    "tests.bdd.steps_text_rules",
    "tests.bdd.steps_account_safety",
    "tests.bdd.steps_sla",
    "tests.bdd.steps_canned",
    "tests.bdd.steps_tags",
    "tests.bdd.steps_macros",
    "tests.bdd.steps_mail",
    "tests.bdd.steps_slow_clients",
    "tests.bdd.steps_library",
    "tests.bdd.steps_followers",
    "tests.bdd.cucumber_report",  # truthful --cucumberjson: scripts/features.sh
]
TEST_SECRET = "test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"


_TEST_BLOBS = tempfile.mkdtemp(prefix="helpdesk-test-blobs-")


def make_settings(**changes: object) -> Settings:
    """Settings for tests: cheap password hashing, a fixed key, an in-memory store."""
    values: dict[str, object] = {
        "database_url": "memory://",
        "secret_keys": (TEST_SECRET,),
        "argon2_memory_kib": 1024,
        "argon2_time_cost": 1,
        "argon2_parallelism": 1,
        "log_level": "WARNING",
        # Never the working directory's ./blobs: a folder of the test run's own.
        "blob_dir": _TEST_BLOBS,
    }
    values.update(changes)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def postgres_databases() -> Iterator[PostgresDatabases]:
    databases = PostgresDatabases(postgres_url())
    yield databases
    databases.drop_all()


@pytest.fixture(scope="session")
def sqlite_databases(tmp_path_factory: pytest.TempPathFactory) -> SqliteDatabases:
    return SqliteDatabases(tmp_path_factory.mktemp("sqlite"))


@pytest.fixture
def sqlite_url(sqlite_databases: SqliteDatabases) -> str:
    """A fresh SQLite file migrated to head."""
    return sqlite_databases.fresh()


@pytest.fixture
def postgres_db_url(postgres_databases: PostgresDatabases) -> str:
    """A fresh PostgreSQL database migrated to head."""
    return postgres_databases.fresh()


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parents[1]


BACKENDS = [
    pytest.param("memory", id="memory"),
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(params=BACKENDS)
def backend_url(request: pytest.FixtureRequest) -> str:
    """A fresh, migrated store of each kind: memory://, SQLite, PostgreSQL."""
    if request.param == "memory":
        return "memory://"
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("postgres_db_url"))


# ---------------------------------------------------------------- log hygiene guard

# Every password the HTTP, BDD and e2e suites send holds this word (tests/http/conftest.py
# PASSWORD, tests/bdd/steps_identity.py): no log line written during any test may contain it.
CANARY = "CANARY"
_WEBHOOK_SECRET = re.compile(r"whsec_[A-Za-z0-9+/]{16,}")
_HASH_MARKERS = ("$argon2", "$2b$", "$bcrypt")
# Without SMTP the mail (the reset link, by design) is written to this logger.
_MAIL_LOGGER = "helpdesk.mail"
# Our own loggers are opened down to DEBUG while a test runs, so the guard sees every line the
# most talkative configuration would write, not only warnings.
_OUR_LOGGERS = ("helpdesk", "helpdesk_core", "adapters", "entrypoints")


class LogGuard(logging.Handler):
    """Keeps every log record as the JSON line production would write, and the secrets the
    signer made meanwhile (access tokens, reset tokens), to search the lines for them."""

    def __init__(self) -> None:
        super().__init__(logging.NOTSET)
        self.lines: list[tuple[str, str]] = []  # (logger, formatted line)
        self.tokens: list[str] = []  # signed tokens: access tokens
        self.derived: list[str] = []  # derived secrets: password reset tokens
        self._json = JsonFormatter()
        self._saved: list[tuple[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append((record.name, self._json.format(record)))
        except Exception:  # a broken record must not break the test it was written in
            self.handleError(record)

    def attach(self) -> None:
        logging.getLogger().addHandler(self)
        for name in _OUR_LOGGERS:
            logger = logging.getLogger(name)
            self._saved.append((name, logger.level))
            if logger.level == logging.NOTSET:
                logger.setLevel(logging.DEBUG)
        guard = self
        sign, derive = ItsdangerousSigner.sign, ItsdangerousSigner.derive

        def spy_sign(signer: ItsdangerousSigner, purpose: str, payload: str) -> str:
            token = sign(signer, purpose, payload)
            guard.tokens.append(token)
            return token

        def spy_derive(signer: ItsdangerousSigner, purpose: str, value: str) -> tuple[str, ...]:
            derived = derive(signer, purpose, value)
            guard.derived.extend(derived)
            return derived

        self._saved.append(("sign", sign))
        self._saved.append(("derive", derive))
        ItsdangerousSigner.sign = spy_sign  # type: ignore[method-assign]
        ItsdangerousSigner.derive = spy_derive  # type: ignore[method-assign]

    def detach(self) -> None:
        logging.getLogger().removeHandler(self)
        for name, saved in reversed(self._saved):
            if name == "sign":
                ItsdangerousSigner.sign = saved  # type: ignore[method-assign]
            elif name == "derive":
                ItsdangerousSigner.derive = saved  # type: ignore[method-assign]
            else:
                logging.getLogger(name).setLevel(saved)
        self._saved.clear()

    def leaks(self) -> list[str]:
        """``logger: what`` and the line (secret masked) for every secret found in a line."""
        found = []
        for logger, line in self.lines:
            needles: dict[str, list[str]] = {
                "a canary password": [CANARY],
                "an access token": self.tokens,
                "a webhook secret": _WEBHOOK_SECRET.findall(line),
                "a password hash": list(_HASH_MARKERS),
            }
            if logger != _MAIL_LOGGER:
                needles["a reset token"] = self.derived
            for what, values in needles.items():
                hits = [value for value in values if value and value in line]
                if hits:
                    shown = line
                    for hit in hits:
                        shown = shown.replace(hit, "<" + what.upper().replace(" ", "-") + ">")
                    found.append(f"{logger}: {what} in {shown[:300]}")
        return found


@pytest.fixture(autouse=True)
def no_secret_in_logs() -> Iterator[LogGuard]:
    """Every test: no log line may carry a canary password, an access or reset token the test
    issued, a webhook secret or a password hash. A leak fails the test (at teardown)."""
    guard = LogGuard()
    guard.attach()
    try:
        yield guard
    finally:
        guard.detach()
    leaks = guard.leaks()
    if leaks:
        pytest.fail(f"{len(leaks)} secret(s) in the log:\n" + "\n".join(leaks[:10]))
