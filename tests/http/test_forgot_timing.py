"""Forgot-password takes the same time whether or not the address is registered.

Issue 20, finding 8: a registered address took about twice as long (10.4 vs 5.1 ms median,
slower in 87% of pairs), so the time told who has an account. On the in-process app (real,
cheap hashing; the in-memory store) the old code took 40% longer for a registered address
(0.27 vs 0.19 ms median, slower in 97% of 200 pairs); the same work either way now leaves a
few per cent, which is noise next to a network.

Made for a loaded machine: requests alternate known/unknown and which goes first, so drift
and bursts of load fall on both; the statistic is the median of the paired differences (a
burst moves a few pairs, not the median), measured against what an unloaded request costs
(a low percentile), not against the loaded average, which would hide any difference. A round
that load spoils is run again (up to three); a real difference fails every round.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Iterator

import pytest

from helpdesk_core.usecases.auth import Register
from tests.http.conftest import PASSWORD, Helpdesk, make_helpdesk

FORGOT = "/api/v1/auth/password/forgot"
PAIRS = 200
ROUNDS = 3
TOLERANCE = 0.20  # of an unloaded request's time; the old code was at 0.40 and more


@pytest.fixture
def desk() -> Iterator[Helpdesk]:
    desk, services = make_helpdesk(
        forgot_password_rate_limit=100_000, forgot_password_address_rate_limit=100_000
    )
    services.auth.register(Register("known@example.com", PASSWORD, "Known"))
    yield desk
    services.close()


def _time(desk: Helpdesk, email: str) -> int:
    started = time.perf_counter_ns()
    result = desk.client.simulate_post(FORGOT, json={"email": email})
    elapsed = time.perf_counter_ns() - started
    assert result.status_code == 202, result.text
    return elapsed


def _round(desk: Helpdesk) -> tuple[float, float]:
    """(median of known - unknown over the pairs, 10th percentile of an unknown's time)."""
    differences, unknown_times = [], []
    for n in range(PAIRS):
        unknown_email = f"nobody{n}-{time.monotonic_ns()}@example.com"
        if n % 2:
            known = _time(desk, "known@example.com")
            unknown = _time(desk, unknown_email)
        else:
            unknown = _time(desk, unknown_email)
            known = _time(desk, "known@example.com")
        differences.append(known - unknown)
        unknown_times.append(unknown)
    floor = statistics.quantiles(unknown_times, n=10)[0]
    return statistics.median(differences), floor


def test_a_registered_address_takes_no_longer_than_an_unknown_one(desk: Helpdesk) -> None:
    for n in range(20):  # warm up: imports, caches, first-use costs
        _time(desk, "known@example.com")
        _time(desk, f"warm{n}@example.com")
    seen = []
    gc.disable()
    try:
        for _ in range(ROUNDS):
            difference, floor = _round(desk)
            seen.append(f"{difference / 1e3:+.1f} us of {floor / 1e3:.1f} us")
            if abs(difference) <= TOLERANCE * floor:
                return
    finally:
        gc.enable()
    pytest.fail(f"known - unknown, median over {PAIRS} pairs, in each round: {seen}")
