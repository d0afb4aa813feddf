"""Where the real PostgreSQL and Redis for tests are, and what to do when they are absent.

Outside CI the PostgreSQL and Redis suites skip when HELPDESK_TEST_DATABASE_URL or
HELPDESK_TEST_REDIS_URL is unset. With HELPDESK_TEST_REQUIRE_SERVICES=1 (set by .ci/run) a
missing service fails the test instead: in CI they must run, never skip.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

PG_ENV = "HELPDESK_TEST_DATABASE_URL"
REDIS_ENV = "HELPDESK_TEST_REDIS_URL"


def _required() -> bool:
    return os.environ.get("HELPDESK_TEST_REQUIRE_SERVICES", "").lower() in {"1", "true", "yes"}


def skip_or_fail(message: str) -> NoReturn:
    """Skip, or fail when HELPDESK_TEST_REQUIRE_SERVICES=1 (CI): a needed service is missing."""
    if _required():
        pytest.fail(f"{message}; HELPDESK_TEST_REQUIRE_SERVICES=1 forbids skipping")
    pytest.skip(message)


def service_url(variable: str, what: str) -> str:
    """The URL in ``variable``, or skip (fail under HELPDESK_TEST_REQUIRE_SERVICES)."""
    url = os.environ.get(variable, "").strip()
    if not url:
        skip_or_fail(f"{what} tests need {variable} (e.g. scripts/test.sh sets it)")
    return url


def postgres_url() -> str:
    return service_url(PG_ENV, "PostgreSQL")


def redis_url() -> str:
    return service_url(REDIS_ENV, "Redis")
