"""Render the living documentation: every feature under features/ with the last result of
each of its scenarios, as one HTML page readable without JavaScript.

The results are the cucumber JSON pytest-bdd writes (``pytest tests/bdd -p no:xdist
--cucumberjson=build/features/cucumber.json``: xdist's workers do not pass pytest-bdd's step
records on, so their JSON is empty). tests/bdd/cucumber_report.py makes it record undefined
and skipped steps too. The feature files give what the JSON leaves out: the tables and
docstrings of the steps, the examples of an outline, and the scenarios that did not run.
scripts/features.sh runs both steps.

    python scripts/render_features.py [--results JSON] [--features DIR] [--output HTML]
                                      [--junit XML]

With ``--junit`` (pytest's ``--junitxml`` of the same run) the page also names the other tests
of the run that failed, such as tests/bdd/test_step_usage.py's check that every step
definition is used. Exits 1 when a scenario or such a test failed, or when the JSON holds no
result at all.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import jinja2
from markupsafe import Markup, escape
from pytest_bdd.parser import Feature, FeatureParser, ScenarioTemplate
from pytest_bdd.parser import Step as ParsedStep

STATUSES = ("passed", "failed", "skipped", "not run")


@dataclass(frozen=True)
class StepResult:
    keyword: str
    name: str
    line: int
    status: str
    error: str = ""  # pytest's whole report of the failure
    table: Sequence[Sequence[str]] = ()
    docstring: str | None = None
    background: bool = False  # a step of the feature's Background, shown once above

    @property
    def message(self) -> str:
        """The lines of the failure that say what went wrong (pytest's ``E`` lines)."""
        said = [line[1:].strip() for line in self.error.splitlines() if line.startswith("E ")]
        if said:
            return "\n".join(said[:20])
        lines = [line for line in self.error.splitlines() if line.strip()]
        return lines[-1] if lines else ""


@dataclass(frozen=True)
class ScenarioResult:
    keyword: str
    name: str
    line: int
    steps: Sequence[StepResult]
    example: Mapping[str, str] = field(default_factory=dict)  # an outline's example row
    anchor: str = ""

    @property
    def status(self) -> str:
        statuses = {step.status for step in self.steps}
        for status in ("failed", "skipped", "not run"):
            if status in statuses:
                return status
        return "passed"

    @property
    def failure(self) -> StepResult | None:
        return next((step for step in self.steps if step.status == "failed"), None)


@dataclass(frozen=True)
class FeatureResult:
    path: str  # as shown: features/cli/database.feature
    folder: str  # the folder it is grouped under: cli
    keyword: str
    name: str
    description: str
    scenarios: Sequence[ScenarioResult]
    background: Sequence[StepResult] = ()  # the steps every scenario starts with

    @property
    def counts(self) -> Counter[str]:
        return Counter(scenario.status for scenario in self.scenarios)


@dataclass(frozen=True)
class Report:
    features: Sequence[FeatureResult]
    source: str = ""  # where the results came from, and when
    ran: int = 0  # scenarios the JSON reports
    other_failures: Sequence[tuple[str, str]] = ()  # (test, message): the checks of the steps

    @property
    def folders(self) -> dict[str, list[FeatureResult]]:
        grouped: dict[str, list[FeatureResult]] = {}
        for feature in sorted(self.features, key=lambda f: (f.folder, f.path)):
            grouped.setdefault(feature.folder, []).append(feature)
        return grouped

    @property
    def scenarios(self) -> list[ScenarioResult]:
        return [scenario for feature in self.features for scenario in feature.scenarios]

    @property
    def counts(self) -> Counter[str]:
        return Counter(scenario.status for scenario in self.scenarios)

    @property
    def failed(self) -> list[tuple[FeatureResult, ScenarioResult]]:
        return [(f, s) for f in self.features for s in f.scenarios if s.status == "failed"]

    @property
    def ok(self) -> bool:
        """Some scenario ran, none failed, and neither did another test of the run."""
        return self.ran > 0 and not self.failed and not self.other_failures


# ---------------------------------------------------------------- reading the results


def read_report(results: list[dict[str, Any]], features_dir: Path | None = None) -> Report:
    """The report of ``results`` (pytest-bdd's cucumber JSON, parsed), completed from the
    feature files under ``features_dir`` when given."""
    by_uri = {feature["uri"]: feature for feature in results}
    files = _feature_files(features_dir) if features_dir is not None else {}
    features = [
        _feature(uri, by_uri.get(uri), files.get(uri))
        for uri in sorted(by_uri.keys() | files.keys())
    ]
    ran = sum(len(feature.get("elements", [])) for feature in results)
    return Report(features, ran=ran)


@dataclass(frozen=True)
class FeatureFile:
    path: str
    folder: str
    feature: Feature


def _feature_files(folder: Path) -> dict[str, FeatureFile]:
    """Every feature file under ``folder``, by the ``uri`` the JSON gives it: pytest-bdd
    names a feature by its folder's name and its file's (``cli/database.feature``)."""
    files = {}
    for path in sorted(folder.rglob("*.feature")):
        relative = path.relative_to(folder)
        parsed = FeatureParser(str(folder), str(relative)).parse()
        grouped_under = relative.parent.as_posix() if relative.parent.parts else folder.name
        shown = f"{folder.name}/{relative.as_posix()}"
        files[f"{path.parent.name}/{path.name}"] = FeatureFile(shown, grouped_under, parsed)
    return files


def _feature(uri: str, result: dict[str, Any] | None, file: FeatureFile | None) -> FeatureResult:
    elements: list[dict[str, Any]] = result.get("elements", []) if result is not None else []
    if file is not None:
        parsed = file.feature
        path, folder = file.path, file.folder
        keyword, name, description = parsed.keyword, parsed.name, parsed.description
        background = (
            [_step(step, "") for step in parsed.background.steps] if parsed.background else []
        )
        scenarios = []
        for template in parsed.scenarios.values():
            runs = [e for e in elements if e["line"] == template.line_number]
            scenarios += _template_results(template, runs)
    else:  # no feature file: the JSON alone
        assert result is not None
        path, folder = uri, uri.rpartition("/")[0] or "."
        keyword, name = result.get("keyword", "Feature"), result.get("name", "")
        description = result.get("description", "")
        background = []
        scenarios = [_scenario(element, {}, {}) for element in elements]
    anchored = [_with_anchor(s, f"{path}-{index}") for index, s in enumerate(scenarios, 1)]
    name = name or path
    return FeatureResult(path, folder, keyword, name, description.strip(), anchored, background)


def _template_results(
    template: ScenarioTemplate, runs: list[dict[str, Any]]
) -> list[ScenarioResult]:
    """One result per example of the scenario (one for a plain scenario), from its run, or
    "not run" when the JSON has none for it."""
    contexts = [c for examples in template.examples for c in examples.as_contexts()] or [{}]
    unmatched = list(runs)
    results = []
    for context in contexts:
        run = _run_of(context, unmatched)
        steps = {step.line_number: step for step in template.render(context).steps}
        background = {step.line_number for step in template.all_background_steps}
        if run is not None:
            unmatched.remove(run)
            results.append(_scenario(run, steps, context, background))
        else:
            results.append(_not_run(template, context))
    results += [_scenario(run, {}, {}) for run in unmatched]  # the feature changed since
    return results


def _run_of(context: Mapping[str, str], runs: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The run of one example: pytest names its test ``test_x[value-value-...]``."""
    if not context:
        return runs[0] if runs else None
    suffix = "[" + "-".join(context.values()) + "]"
    return next((run for run in runs if run.get("id", "").endswith(suffix)), None)


def _scenario(
    element: dict[str, Any],
    parsed: Mapping[int, ParsedStep],
    context: Mapping[str, str],
    background: Collection[int] = (),
) -> ScenarioResult:
    """A scenario as it ran; ``parsed`` gives its steps' tables and the steps the results do
    not mention (pytest-bdd records a step only once it starts), ``background`` the lines of
    the steps of the feature's Background."""
    steps = []
    for step in element.get("steps", []):
        result = step.get("result", {})
        source = parsed.get(step["line"])
        steps.append(
            StepResult(
                keyword=step["keyword"].strip(),
                name=step["name"],
                line=step["line"],
                status=result.get("status", "not run"),
                error=result.get("error_message", ""),
                table=_table(source),
                docstring=source.docstring if source is not None else None,
                background=step["line"] in background,
            )
        )
    reported = {step.line for step in steps}
    steps += [
        _step(step, "not run", step.line_number in background)
        for step in parsed.values()
        if step.line_number not in reported
    ]
    return ScenarioResult(
        element.get("keyword", "Scenario"), element["name"], element["line"], steps, context
    )


def _not_run(template: ScenarioTemplate, context: Mapping[str, str]) -> ScenarioResult:
    background = {step.line_number for step in template.all_background_steps}
    scenario = template.render(context)
    steps = [_step(step, "not run", step.line_number in background) for step in scenario.steps]
    return ScenarioResult(template.keyword, scenario.name, template.line_number, steps, context)


def _step(step: ParsedStep, status: str, background: bool = False) -> StepResult:
    """A step as the feature file writes it, with ``status``."""
    return StepResult(
        step.keyword.strip(),
        step.name,
        step.line_number,
        status,
        table=_table(step),
        docstring=step.docstring,
        background=background,
    )


def _table(step: ParsedStep | None) -> list[list[str]]:
    if step is None or step.datatable is None:
        return []
    return [[str(cell) for cell in row] for row in step.datatable.raw()]


def _with_anchor(scenario: ScenarioResult, anchor: str) -> ScenarioResult:
    slug = re.sub(r"[^a-z0-9]+", "-", anchor.lower()).strip("-")
    return ScenarioResult(
        scenario.keyword, scenario.name, scenario.line, scenario.steps, scenario.example, slug
    )


def other_failures(junit: Path, scenarios: Iterable[str]) -> list[tuple[str, str]]:
    """The tests of the run that failed and are not scenarios (tests/bdd/test_step_usage.py:
    a step definition no feature uses), from pytest's ``--junitxml`` report."""
    tree = ElementTree.parse(junit)  # noqa: S314 (our own pytest's report, not input)
    found = []
    for case in tree.iter("testcase"):
        name = case.get("name", "")
        if name in scenarios:
            continue
        for outcome in (*case.iter("failure"), *case.iter("error")):
            test = f"{case.get('classname', '')}::{name}"
            found.append((test, outcome.get("message") or outcome.text or ""))
    return found


# ---------------------------------------------------------------- the page


def _prose(text: str) -> Markup:
    """A feature's description: paragraphs at blank lines, `code` as code."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    html = []
    for paragraph in paragraphs:
        escaped = str(escape(" ".join(paragraph.split())))
        html.append("<p>" + re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped) + "</p>")
    return Markup("\n".join(html))  # noqa: S704 (escaped above; only <p> and <code> added)


# The page's template sits beside this script (HTML escaped by default).
PAGE = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).resolve().parent),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
PAGE.filters["prose"] = _prose
TEMPLATE = "render_features.html.j2"


def render_html(report: Report) -> str:
    """The page of ``report``."""

    def count(features: Iterable[FeatureResult], status: str) -> int:
        return sum(feature.counts[status] for feature in features)

    page = PAGE.get_template(TEMPLATE)
    return page.render(report=report, statuses=STATUSES, counts=report.counts, count=count)


# ---------------------------------------------------------------- the command


def render_features(
    results: Path, output: Path, features_dir: Path | None = None, junit: Path | None = None
) -> Report:
    """Read ``results`` (cucumber JSON), and ``junit`` (pytest's JUnit XML of the same run)
    for the failures of other tests; write the page to ``output``, return the report."""
    document = json.loads(results.read_text(encoding="utf-8"))
    written = datetime.fromtimestamp(results.stat().st_mtime, UTC)
    report = replace(
        read_report(document, features_dir), source=f"{results}, {written:%Y-%m-%d %H:%M} UTC"
    )
    if junit is not None:
        ids = {element.get("id", "") for feature in document for element in feature["elements"]}
        report = replace(report, other_failures=other_failures(junit, ids))
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render_html(report), encoding="utf-8")
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--results", type=Path, default=Path("build/features/cucumber.json"))
    parser.add_argument("--features", type=Path, default=Path("features"))
    parser.add_argument("--output", type=Path, default=Path("build/features/index.html"))
    parser.add_argument("--junit", type=Path, help="pytest's --junitxml of the same run")
    args = parser.parse_args(argv)
    if not args.results.is_file():
        print(
            f"error: {args.results}: no such file (run pytest with --cucumberjson)", file=sys.stderr
        )
        return 1
    features_dir = args.features if args.features.is_dir() else None
    report = render_features(args.results, args.output, features_dir, args.junit)
    counts = report.counts
    shown = ", ".join(f"{counts[status]} {status}" for status in STATUSES if counts[status])
    print(f"{len(report.features)} features, {shown or 'no scenarios'} -> {args.output}")
    if not report.ran:
        print("error: the results hold no scenario (pytest with xdist workers?)", file=sys.stderr)
    for feature, scenario in report.failed:
        print(f"failed: {feature.path}:{scenario.line}: {scenario.name}", file=sys.stderr)
    for test, _ in report.other_failures:
        print(f"failed: {test}", file=sys.stderr)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
