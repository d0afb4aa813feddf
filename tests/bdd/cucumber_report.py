"""Makes pytest-bdd's cucumber JSON (``--cucumberjson``) say what happened to every step.

pytest-bdd records a step when the step starts. A step without a definition never starts,
so the JSON showed the steps before it as passed and nothing after (and left out a scenario
whose first step has no definition); a step that skips (``pytest.skip``, a service that is
not configured) left the JSON saying it passed. Both are recorded here the way pytest-bdd
records a step that raised: that step and those after it failed, which the JSON reports as
``failed``, or as ``skipped`` when the test skipped. scripts/render_features.py reads the
JSON; tests/bdd/test_cucumber_report.py checks this against the installed pytest-bdd.
"""

from __future__ import annotations

from typing import Any

import pytest
from pytest_bdd.parser import Step
from pytest_bdd.reporting import StepReport, scenario_reports_registry


def pytest_bdd_step_func_lookup_error(request: pytest.FixtureRequest, step: Step) -> None:
    """The undefined step is where the scenario failed."""
    report = scenario_reports_registry.get(request.node)
    if report is not None:
        report.add_step_report(StepReport(step=step))
        report.fail()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> None:
    """A step that skipped is where the scenario stopped (before pytest-bdd, which runs
    after every other implementation, copies the steps into the report)."""
    if call.when != "call" or call.excinfo is None:
        return
    if not call.excinfo.errisinstance(pytest.skip.Exception):
        return
    report = scenario_reports_registry.get(item)
    if report is not None and report.step_reports and report.current_step_report.stopped is None:
        report.fail()
