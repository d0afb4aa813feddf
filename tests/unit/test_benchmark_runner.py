"""The benchmark runner's pieces that decide what wrk sends (Lua data files, ticket pools),
and the profiler's refusal of bad arguments."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from benchmarks import profile
from benchmarks.run import lua, split_pools


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
