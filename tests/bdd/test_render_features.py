"""scripts/render_features.py: the features and their last results as one HTML page.

The renderer reads pytest-bdd's cucumber JSON; these samples are written as pytest-bdd writes
it (tests/bdd/test_cucumber_report.py checks the real thing), with a feature file beside them
for what the JSON leaves out.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from html.parser import HTMLParser
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load_renderer() -> ModuleType:
    """scripts/ is not a package: load the script as a module of its own."""
    spec = importlib.util.spec_from_file_location(
        "render_features", ROOT / "scripts" / "render_features.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being made
    spec.loader.exec_module(module)
    return module


render = _load_renderer()

FAILURE = """\
terminal = Terminal(...)

    def is_closed(terminal):
>       assert ticket["status"] == "closed"
E       AssertionError: assert 'open' == 'closed'
E         - closed
E         + open

tests/bdd/steps_x.py:42: AssertionError"""

FEATURE = """\
Feature: Refunds
  A customer who paid twice gets the `second` payment back.

  Scenario: A double payment is refunded
    Given a customer who paid twice
    When the operator refunds the second payment
    Then the ticket is closed

  Scenario: A refund is recorded
    Given a customer who paid twice
    Then the refunds read:
      | amount | currency |
      | 12.50  | EUR      |

  Scenario: A refund nobody ran
    Given a customer who paid twice
"""


def _step(keyword: str, name: str, line: int, status: str, error: str = "") -> dict[str, Any]:
    result: dict[str, Any] = {"status": status, "duration": 1000}
    if error:
        result["error_message"] = error
    return {
        "keyword": keyword,
        "name": name,
        "line": line,
        "match": {"location": ""},
        "result": result,
    }


def _scenario(test: str, name: str, line: int, steps: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "keyword": "Scenario",
        "id": test,
        "name": name,
        "line": line,
        "description": "",
        "tags": [],
        "type": "scenario",
        "steps": steps,
    }


SAMPLE: list[dict[str, Any]] = [
    {
        "keyword": "Feature",
        "uri": "billing/refunds.feature",
        "name": "Refunds",
        "id": "billing/refunds.feature",
        "line": 1,
        "description": "A customer who paid twice gets the `second` payment back.",
        "language": "en",
        "tags": [],
        "elements": [
            _scenario(
                "test_a_double_payment_is_refunded",
                "A double payment is refunded",
                4,
                [
                    _step("Given", "a customer who paid twice", 5, "passed"),
                    _step("When", "the operator refunds the second payment", 6, "passed"),
                    _step("Then", "the ticket is closed", 7, "failed", FAILURE),
                ],
            ),
            _scenario(
                "test_a_refund_is_recorded",
                "A refund is recorded",
                9,
                [
                    _step("Given", "a customer who paid twice", 10, "passed"),
                    _step("Then", "the refunds read:", 11, "passed"),
                ],
            ),
        ],
    }
]


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    results = tmp_path / "cucumber.json"
    results.write_text(json.dumps(SAMPLE), encoding="utf-8")
    return results


@pytest.fixture
def features(tmp_path: Path) -> Path:
    folder = tmp_path / "features"
    (folder / "billing").mkdir(parents=True)
    (folder / "billing" / "refunds.feature").write_text(FEATURE, encoding="utf-8")
    return folder


class _Text(HTMLParser):
    """The text of a page, as a reader sees it: one line per run of text."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.text.append(" ".join(data.split()))


def _text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return "\n".join(parser.text)


def test_the_page_names_each_scenario_with_its_result(sample: Path, tmp_path: Path) -> None:
    page = tmp_path / "out" / "index.html"
    report = render.render_features(sample, page)
    html = page.read_text(encoding="utf-8")
    text = _text(html)

    assert [s.status for s in report.scenarios] == ["failed", "passed"]
    assert "failed\nScenario: A double payment is refunded" in text
    assert "passed\nScenario: A refund is recorded" in text
    assert "1 passed" in text
    assert "1 failed" in text
    # What went wrong, in the summary and at the failed step; pytest's whole report folded.
    message = '<pre class="message">AssertionError: assert &#39;open&#39; == &#39;closed&#39;'
    assert html.count(message) == 2
    assert '<li class="failed">' in html
    assert "<details><summary>pytest's report</summary><pre>terminal = Terminal" in html
    assert "<script" not in html


def test_features_are_grouped_by_folder_with_their_descriptions(
    sample: Path, tmp_path: Path
) -> None:
    page = tmp_path / "index.html"
    render.render_features(sample, page)
    html = page.read_text(encoding="utf-8")
    assert '<h2 id="folder-billing">billing</h2>' in html
    assert "<p>A customer who paid twice gets the <code>second</code> payment back.</p>" in html


def test_the_feature_files_add_tables_and_the_scenarios_that_did_not_run(
    sample: Path, features: Path, tmp_path: Path
) -> None:
    page = tmp_path / "index.html"
    report = render.render_features(sample, page, features)
    text = _text(page.read_text(encoding="utf-8"))
    assert [s.status for s in report.scenarios] == ["failed", "passed", "not run"]
    assert "not run\nScenario: A refund nobody ran" in text
    assert "the refunds read:\namount\ncurrency\n12.50\nEUR" in text


def test_text_from_the_features_is_escaped(tmp_path: Path) -> None:
    sample = json.loads(json.dumps(SAMPLE))
    sample[0]["elements"][1]["name"] = "A <script>alert(1)</script> refund"
    results = tmp_path / "cucumber.json"
    results.write_text(json.dumps(sample), encoding="utf-8")
    page = tmp_path / "index.html"
    render.render_features(results, page)
    html = page.read_text(encoding="utf-8")
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


@pytest.mark.parametrize(
    ("elements", "status"),
    [
        pytest.param(SAMPLE[0]["elements"], 1, id="a-scenario-failed"),
        pytest.param(SAMPLE[0]["elements"][1:], 0, id="every-scenario-passed"),
        pytest.param([], 1, id="no-scenario-ran"),
    ],
)
def test_the_command_fails_when_a_scenario_failed_or_none_ran(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], elements: list[Any], status: int
) -> None:
    results = tmp_path / "cucumber.json"
    results.write_text(json.dumps([{**SAMPLE[0], "elements": elements}]), encoding="utf-8")
    page = tmp_path / "index.html"
    args = ["--results", str(results), "--output", str(page), "--features", str(tmp_path / "no")]
    assert render.main(args) == status
    assert page.is_file()
    err = capsys.readouterr().err
    if status and elements:
        assert "failed: billing/refunds.feature:4: A double payment is refunded" in err
    if not elements:
        assert "the results hold no scenario" in err


JUNIT = """\
<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" tests="3" failures="2">
<testcase classname="tests.bdd.test_features" name="test_a_double_payment_is_refunded">
<failure message="AssertionError: assert 'open' == 'closed'">...</failure></testcase>
<testcase classname="tests.bdd.test_features" name="test_a_refund_is_recorded"/>
<testcase classname="tests.bdd.test_step_usage"
          name="test_every_step_definition_is_used_by_a_feature">
<failure message="AssertionError: 1 step definition(s) no feature uses:
  tests/bdd/steps_x.py:9: @then('the refund is late')">...</failure></testcase>
</testsuite></testsuites>
"""


def test_a_failed_test_that_is_no_scenario_is_named_on_the_page(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results, junit = tmp_path / "cucumber.json", tmp_path / "junit.xml"
    results.write_text(json.dumps(SAMPLE), encoding="utf-8")
    junit.write_text(JUNIT, encoding="utf-8")
    page = tmp_path / "index.html"
    args = ["--results", str(results), "--junit", str(junit), "--output", str(page)]
    assert render.main([*args, "--features", str(tmp_path / "no")]) == 1

    # The scenario's own failure is the JSON's to tell; the unused step is named once.
    test = "tests.bdd.test_step_usage::test_every_step_definition_is_used_by_a_feature"
    assert capsys.readouterr().err.splitlines() == [
        "failed: billing/refunds.feature:4: A double payment is refunded",
        f"failed: {test}",
    ]
    text = _text(page.read_text(encoding="utf-8"))
    assert f"Other checks that failed\n{test}\nAssertionError: 1 step definition(s)" in text
    assert "tests/bdd/steps_x.py:9: @then('the refund is late')" in text


BACKGROUND_FEATURE = """\
Feature: Refunds
  Background:
    Given a customer who paid twice

  Scenario: A double payment is refunded
    Then the ticket is closed

  Scenario: The payments cannot be read
    Then the ticket is closed
"""


def test_a_background_is_shown_once_unless_it_failed(tmp_path: Path) -> None:
    folder = tmp_path / "features" / "billing"
    folder.mkdir(parents=True)
    (folder / "refunds.feature").write_text(BACKGROUND_FEATURE, encoding="utf-8")
    given = "a customer who paid twice"
    passed = [
        _step("Given", given, 3, "passed"),
        _step("Then", "the ticket is closed", 6, "passed"),
    ]
    failed = [
        _step("Given", given, 3, "failed", "E   OSError: the bank is down"),
        _step("Then", "the ticket is closed", 9, "failed"),
    ]
    results = tmp_path / "cucumber.json"
    elements = [
        _scenario("test_a_double_payment_is_refunded", "A double payment is refunded", 5, passed),
        _scenario("test_the_payments_cannot_be_read", "The payments cannot be read", 8, failed),
    ]
    results.write_text(json.dumps([{**SAMPLE[0], "elements": elements}]), encoding="utf-8")
    page = tmp_path / "index.html"
    render.render_features(results, page, tmp_path / "features")
    text = _text(page.read_text(encoding="utf-8"))

    assert "Background:\nevery scenario below starts with\nGiven\na customer who paid twice" in text
    refunded = text.index("Scenario: A double payment is refunded")
    unreadable = text.index("Scenario: The payments cannot be read")
    assert given not in text[refunded:unreadable]
    assert f"Given\n{given}\n(failed)\nOSError: the bank is down" in text[unreadable:]
