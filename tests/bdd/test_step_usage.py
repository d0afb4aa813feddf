"""Every step definition is used by a feature, and every feature step has one meaning.

pytest-bdd already fails a scenario whose step has no definition, when it runs. The other
drift, a definition that no feature step uses any more, passes silently: the definition
rots, and the next feature that happens to match its words gets stale behaviour. This
module reads every feature under ``features/`` (examples filled in, as pytest-bdd runs them)
and every definition of the step modules in ``tests/bdd``, and fails naming each definition
no feature step uses, and each feature step that several definitions would match (which one
runs then depends on the order the step modules were loaded in).
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from pytest_bdd import parsers
from pytest_bdd.parser import FeatureParser, Step
from pytest_bdd.parsers import StepParser
from pytest_bdd.steps import StepFunctionContext, step_function_context_registry

ROOT = Path(__file__).resolve().parents[2]
FEATURES = ROOT / "features"
STEP_MODULES = ROOT / "tests" / "bdd"


@dataclass(frozen=True)
class StepDefinition:
    """A step definition as a feature author sees it: its kind, its words, where it is."""

    kind: str | None  # given, when, then; None for @step, which matches every kind
    parser: StepParser
    where: str  # tests/bdd/steps_x.py:42

    def matches(self, step: Step) -> bool:
        return (self.kind is None or self.kind == step.type) and self.parser.is_matching(step.name)

    def __str__(self) -> str:
        return f"{self.where}: @{self.kind or 'step'}({self.parser.name!r})"


@dataclass(frozen=True)
class FeatureStep:
    """One step of one scenario, as run: examples filled in, background steps included."""

    step: Step
    where: str  # features/x/y.feature:12

    def __str__(self) -> str:
        return f"{self.where}: {self.step.keyword.strip()} {self.step.name}"


def step_definitions(folder: Path = STEP_MODULES) -> list[StepDefinition]:
    """Every definition in ``folder``'s step modules (``steps_*.py``) and its conftest.py."""
    names = {_module_name(path) for path in sorted(folder.glob("steps_*.py"))}
    names.add(_module_name(folder / "conftest.py"))
    for name in sorted(names):
        importlib.import_module(name)
    return [
        _definition(context)
        for context in list(step_function_context_registry.values())
        if context.step_func.__module__ in names
    ]


def feature_steps(folder: Path = FEATURES) -> list[FeatureStep]:
    """Every step of every scenario of every feature under ``folder``."""
    found = []
    for path in sorted(folder.rglob("*.feature")):
        feature = FeatureParser(str(folder), str(path.relative_to(folder))).parse()
        where = path.relative_to(ROOT).as_posix()
        for template in feature.scenarios.values():
            contexts = [c for e in template.examples for c in e.as_contexts()] or [{}]
            for context in contexts:
                for step in template.render(context).steps:
                    found.append(FeatureStep(step, f"{where}:{step.line_number}"))
    return found


def unused(definitions: Iterable[StepDefinition], steps: list[FeatureStep]) -> list[str]:
    """The definitions no step in ``steps`` matches."""
    return [str(d) for d in definitions if not any(d.matches(s.step) for s in steps)]


def ambiguous(definitions: list[StepDefinition], steps: Iterable[FeatureStep]) -> list[str]:
    """The feature steps that more than one definition matches, with those definitions."""
    found = []
    for step in _distinct(steps):
        matching = [str(d) for d in definitions if d.matches(step.step)]
        if len(matching) > 1:
            found.append(f"{step}\n    " + "\n    ".join(matching))
    return found


def _distinct(steps: Iterable[FeatureStep]) -> Iterator[FeatureStep]:
    """One step per wording: a background runs in every scenario, an outline per example."""
    seen: set[tuple[str, str]] = set()
    for step in steps:
        if (step.step.type, step.step.name) not in seen:
            seen.add((step.step.type, step.step.name))
            yield step


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def _definition(context: StepFunctionContext) -> StepDefinition:
    function = inspect.unwrap(context.step_func)
    path = Path(inspect.getsourcefile(function) or "?")
    line = inspect.getsourcelines(function)[1]
    where = f"{path.relative_to(ROOT).as_posix() if path.is_absolute() else path}:{line}"
    return StepDefinition(context.type, context.parser, where)


# ---------------------------------------------------------------- the checks


def test_every_step_definition_is_used_by_a_feature() -> None:
    definitions = step_definitions()
    assert definitions, "no step definitions found: is STEP_MODULES right?"
    left = unused(definitions, feature_steps())
    assert not left, f"{len(left)} step definition(s) no feature uses:\n" + "\n".join(left)


def test_no_feature_step_matches_two_definitions() -> None:
    found = ambiguous(step_definitions(), feature_steps())
    assert not found, f"{len(found)} feature step(s) with several definitions:\n" + "\n".join(found)


# ---------------------------------------------------------------- the checks can fail


def test_a_definition_no_feature_uses_is_named() -> None:
    steps = feature_steps()
    stray = StepDefinition(
        "given", parsers.parse("a helpdesk on the moon with {count:d} desks"), "here:1"
    )
    used = StepDefinition(
        "then", parsers.parse('the command fails with one line that says "{cause}"'), "here:2"
    )
    assert unused([stray, used], steps) == [
        "here:1: @given('a helpdesk on the moon with {count:d} desks')"
    ]


def test_a_definition_matches_only_steps_of_its_kind() -> None:
    steps = feature_steps()
    # Used as a Then by the features; as a Given, nowhere.
    given = StepDefinition(
        "given", parsers.parse('the command fails with one line that says "{cause}"'), "here:3"
    )
    assert unused([given], steps) == [str(given)]


def test_a_step_two_definitions_match_is_named_with_both() -> None:
    steps = [step for step in feature_steps() if step.step.name == "no traceback is printed"]
    first = StepDefinition("then", parsers.parse("no {what} is printed"), "here:4")
    second = StepDefinition("then", parsers.string("no traceback is printed"), "here:5")
    (found,) = ambiguous([first, second], steps)
    assert found.splitlines()[0].endswith(" no traceback is printed")
    assert "here:4" in found
    assert "here:5" in found
