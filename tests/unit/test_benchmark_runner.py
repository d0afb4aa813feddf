"""The benchmark runner's pieces that decide what wrk sends (Lua data files, ticket pools),
its verdicts on issue 6's bars, and the profiler's refusal of bad arguments."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from benchmarks import profile
from benchmarks.run import BY_NAME, Run, bars_summary, lua, scale_bars_summary, split_pools


def test_lua_data_files_hold_any_text() -> None:
    source = lua({"items": [{"token": 'a"b\\c', "id": "x", "n": 3, "ok": True}, {"w": "café\n"}]})
    assert source.startswith("{items={")
    assert '"a\\"b\\\\c"' in source
    assert '"caf\\195\\169\\010"' in source  # bytes as decimal escapes: any Lua reads them
    with pytest.raises(ValueError, match="identifier"):
        lua({"not an identifier": 1})


def test_the_write_pools_never_share_a_ticket() -> None:
    ids = [str(uuid.uuid4()) for _ in range(100)]
    pools = split_pools({"d1": ids[:60], "d2": ids[60:]})
    seen = [t for pool in pools.values() for tickets in pool.values() for t in tickets]
    assert sorted(seen) == sorted(ids)  # every reserved ticket in exactly one pool
    assert all(len(pool["d1"]) == 20 for pool in pools.values())


def test_the_profiler_refuses_a_baseline_route_the_baseline_does_not_serve(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as refused:  # before the seed file is even read
        profile.main(["reply", "--baseline", "--seed-info", str(tmp_path / "absent.json")])
    assert refused.value.code == 2
    assert "the baseline serves detail, staff_list, search, create only" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("option", "value", "said"),
    [
        ("--rounds", "0", "0 is less than 1"),
        ("--requests", "-3", "-3 is less than 1"),
        ("--rounds", "five", "'five' is not a whole number"),
    ],
)
def test_the_profiler_refuses_counts_below_one(
    option: str, value: str, said: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as refused:  # before the seed file is even read
        profile.main(["detail", option, value, "--seed-info", str(tmp_path / "absent.json")])
    assert refused.value.code == 2
    assert said in capsys.readouterr().err


def _run(operation: str, server: str, rps: float, p99: float, **extra: object) -> Run:
    run = Run(operation, server, 16, 2, 8, False, requests_per_s=rps, p99_ms=p99)
    for name, value in extra.items():
        setattr(run, name, value)
    return run


def test_the_bars_say_which_holds_and_by_how_much() -> None:
    runs = [
        # no p99 bar for login: its cost is the hash, by design
        _run("login", "product", 10, 1800, rss_before={"workers_kib": 100_000}),
        _run("create", "product", 420, 88),
        _run("create", "baseline", 760, 41),
        _run("staff_list", "product", 1100, 32),
        _run("staff_list", "baseline", 2000, 19),  # 0.55: under 0.6
        _run("detail", "product", 1600, 24),
        _run("detail", "baseline", 2300, 18),
        _run("detail", "product", 3000, 400, warmup=True),  # warm-ups are not measured
        Run("detail", "product", 64, 2, 8, False, requests_per_s=1.0, p99_ms=900),  # not 16
        _run("search", "product", 500, 49.9, rss_after={"workers_kib": 109_000}),
    ]
    bars = bars_summary(runs).splitlines()
    assert bars == [
        "Bars (issue 6), at 16 clients:",
        f"  {BY_NAME['create'].title} >= 0.5x the baseline: 0.55 yes",
        f"  {BY_NAME['staff_list'].title} >= 0.6x the baseline: 0.55 NO",
        f"  {BY_NAME['detail'].title} >= 0.6x the baseline: 0.70 yes",
        f"  {BY_NAME['create'].title} p99 < 50 ms: 88.0 ms NO",
        f"  {BY_NAME['staff_list'].title} p99 < 50 ms: 32.0 ms yes",
        f"  {BY_NAME['detail'].title} p99 < 50 ms: 24.0 ms yes",
        f"  {BY_NAME['search'].title} p99 < 50 ms: 49.9 ms yes",
        "  no error responses in any run: 0 yes",
        "  the product's memory flat (within 10%): +9.0% yes",
    ]
    runs[1].errors = 2
    runs[-1].rss_after = {"workers_kib": 111_000}
    bars = bars_summary(runs).splitlines()
    assert bars[-2:] == [
        "  no error responses in any run: 2 NO",
        "  the product's memory flat (within 10%): +11.0% NO",
    ]


def test_the_scale_bar_holds_when_rate_and_p99_stay_within_twice() -> None:
    def at(size: int, rps: float, p99: float) -> Run:
        return _run(f"{name}@{size}", "product", rps, p99)

    name = "staff_list"
    runs = [at(10_000, 1000, 30), at(100_000, 900, 35), at(1_000_000, 510, 59)]
    name = "search"
    runs += [at(10_000, 800, 40), at(1_000_000, 390, 60)]  # rate 0.49x: too slow
    bars = scale_bars_summary(runs, [BY_NAME["staff_list"], BY_NAME["search"]]).splitlines()
    assert bars == [
        "Bars (issue 6): 1,000,000 tickets within 2x of 10,000:",
        f"  {BY_NAME['staff_list'].title}: rate 0.51x, p99 1.97x yes",
        f"  {BY_NAME['search'].title}: rate 0.49x, p99 1.50x NO",
    ]
