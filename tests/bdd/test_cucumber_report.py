"""The cucumber JSON says what happened to every step, against the installed pytest-bdd.

A small suite of its own runs in a separate pytest (as scripts/features.sh runs tests/bdd):
a scenario that passes, one whose step fails, one whose middle step and one whose first step
no definition matches, and one whose step skips. pytest-bdd fails a scenario with an undefined
step (a failure, not a skip); tests/bdd/cucumber_report.py makes the JSON say so too, and
say which steps a skip left out. scripts/render_features.py then shows each as it went.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.bdd.test_render_features import render

ROOT = Path(__file__).resolve().parents[2]

FEATURE = """\
Feature: Sample
  Background:
    Given a helpdesk

  Scenario: It passes
    When the operator looks
    Then all is well

  Scenario: It fails
    When the operator looks
    Then it breaks

  Scenario: A step in the middle has no definition
    When the operator looks
    And the operator does something nobody wrote a step for
    Then all is well

  Scenario: It skips
    When the operator looks for a server that is not configured
    Then all is well
"""

FIRST_UNDEFINED = """\
Feature: Nothing defined
  Scenario: The first step has no definition
    Given a step nobody wrote
    Then all is well
"""

STEPS = """\
import pytest
from pytest_bdd import given, scenarios, then, when

scenarios("")

@given("a helpdesk")
def helpdesk(): pass

@when("the operator looks")
def looks(): pass

@when("the operator looks for a server that is not configured")
def not_configured(): pytest.skip("no server configured")

@then("all is well")
def well(): pass

@then("it breaks")
def breaks(): assert "open" == "closed"
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, list[dict[str, Any]], Path]:
    """The sample suite's exit status, its cucumber JSON, and where it is."""
    folder = tmp_path_factory.mktemp("sample")
    (folder / "features" / "a").mkdir(parents=True)
    (folder / "features" / "a" / "sample.feature").write_text(FEATURE)
    (folder / "features" / "first.feature").write_text(FIRST_UNDEFINED)
    (folder / "test_sample.py").write_text(STEPS)
    (folder / "pytest.ini").write_text("[pytest]\nbdd_features_base_dir = features/\n")
    results = folder / "cucumber.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    plugins = ["-p", "no:cacheprovider", "-p", "no:xdist", "-p", "tests.bdd.cucumber_report"]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", *plugins, f"--cucumberjson={results}"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "generated json file" in done.stdout, done.stdout + done.stderr
    return done.returncode, json.loads(results.read_text()), folder


def _scenarios(run: tuple[int, list[dict[str, Any]], Path]) -> dict[str, list[tuple[str, str]]]:
    """Each scenario's steps as (step, status)."""
    return {
        element["name"]: [(s["name"], s["result"]["status"]) for s in element["steps"]]
        for feature in run[1]
        for element in feature["elements"]
    }


def test_a_scenario_with_an_undefined_step_fails_the_run(
    run: tuple[int, list[dict[str, Any]], Path],
) -> None:
    assert run[0] == 1  # pytest's "tests failed", not 0 as a skip would leave it


def test_an_undefined_step_is_where_the_scenario_failed(
    run: tuple[int, list[dict[str, Any]], Path],
) -> None:
    scenarios = _scenarios(run)
    assert scenarios["A step in the middle has no definition"] == [
        ("a helpdesk", "passed"),
        ("the operator looks", "passed"),
        ("the operator does something nobody wrote a step for", "failed"),
        ("all is well", "failed"),
    ]
    assert scenarios["The first step has no definition"] == [
        ("a step nobody wrote", "failed"),
        ("all is well", "failed"),
    ]
    (element,) = [
        e for f in run[1] for e in f["elements"] if e["name"].startswith("The first step")
    ]
    assert "Step definition is not found" in element["steps"][0]["result"]["error_message"]


def test_a_step_that_skips_and_those_after_it_are_skipped(
    run: tuple[int, list[dict[str, Any]], Path],
) -> None:
    assert _scenarios(run)["It skips"] == [
        ("a helpdesk", "passed"),
        ("the operator looks for a server that is not configured", "skipped"),
        ("all is well", "skipped"),
    ]


def test_passing_and_failing_scenarios_read_as_pytest_bdd_writes_them(
    run: tuple[int, list[dict[str, Any]], Path],
) -> None:
    scenarios = _scenarios(run)
    assert {status for _, status in scenarios["It passes"]} == {"passed"}
    assert scenarios["It fails"][-1] == ("it breaks", "failed")


def test_the_page_shows_each_scenario_as_it_went(
    run: tuple[int, list[dict[str, Any]], Path], tmp_path: Path
) -> None:
    folder = run[2]
    report = render.render_features(
        folder / "cucumber.json", tmp_path / "index.html", folder / "features"
    )
    statuses = {scenario.name: scenario.status for scenario in report.scenarios}
    assert statuses == {
        "It passes": "passed",
        "It fails": "failed",
        "A step in the middle has no definition": "failed",
        "It skips": "skipped",
        "The first step has no definition": "failed",
    }
    assert not report.ok
    html = (tmp_path / "index.html").read_text()
    assert "Step definition is not found" in html
