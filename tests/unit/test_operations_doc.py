"""docs/operations.md cannot silently rot.

Every ``helpdesk ...`` command in its shell blocks and inline code must exist (its ``--help``
answers through Click's CliRunner) and take the options written after it; every ``HELPDESK_*``
variable it names must be a setting; every metric it names must be one the service exports,
and every exported metric must be described; every health state must be explained.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from entrypoints.cli.main import register_commands
from entrypoints.config import VARIABLES, load_settings
from helpdesk_core.usecases.health import HealthStatus

REPO_ROOT = Path(__file__).resolve().parents[2]
DOC = REPO_ROOT / "docs" / "operations.md"
METRIC_SOURCES = (
    REPO_ROOT / "entrypoints" / "observability" / "metrics.py",
    REPO_ROOT / "entrypoints" / "http" / "app.py",
)
OPERATORS = {"|", "||", "&&", ";", "&", "(", ")"}


def doc_text() -> str:
    return DOC.read_text(encoding="utf-8")


def shell_lines(text: str) -> list[str]:
    """The commands of the ```sh blocks, backslash continuations joined."""
    lines: list[str] = []
    for block in re.findall(r"```(?:sh|bash|shell)\n(.*?)```", text, flags=re.DOTALL):
        joined = re.sub(r"\s*\\\n\s*", " ", block)
        lines.extend(line.strip() for line in joined.splitlines() if line.strip())
    return lines


def inline_commands(text: str) -> list[str]:
    """`helpdesk ...` written in the prose."""
    return re.findall(r"`(helpdesk(?: [^`]*)?)`", text)


def helpdesk_invocations(line: str) -> list[list[str]]:
    """The argument lists following ``helpdesk`` in each simple command of ``line``."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    tokens = list(lexer)
    found: list[list[str]] = []
    segment: list[str] = []
    for token in [*tokens, ";"]:
        if token not in OPERATORS:
            segment.append(token)
            continue
        words = [w for w in segment if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", w)]
        if words and Path(words[0]).name == "helpdesk":
            found.append(words[1:])
        segment = []
    return found


def all_invocations() -> list[list[str]]:
    """Each distinct ``helpdesk`` argument list of the doc, from its blocks and its prose."""
    text = doc_text()
    lines = shell_lines(text) + inline_commands(text)
    distinct = {tuple(args) for line in lines for args in helpdesk_invocations(line)}
    return [list(args) for args in sorted(distinct)]


def resolve(args: list[str]) -> tuple[list[str], click.Command, list[str]]:
    """(the sub-command path, its command, the rest), skipping the group's own options."""
    group = register_commands()
    command: click.Command = group
    path: list[str] = []
    rest = list(args)
    while rest:
        word = rest[0]
        if word.startswith("-"):
            if isinstance(command, click.Group) and command is group and word == "--env-file":
                rest = rest[2:]  # the group's option and its value come before the sub-command
                continue
            break
        if not isinstance(command, click.Group):
            break
        sub = command.get_command(click.Context(command), word)
        assert sub is not None, f"`helpdesk {' '.join(args)}`: no command {word!r}"
        command = sub
        path.append(word)
        rest = rest[1:]
    return path, command, rest


def test_the_doc_names_helpdesk_commands_at_all() -> None:
    paths = {" ".join(resolve(args)[0]) for args in all_invocations()}
    assert {"db upgrade", "serve", "worker", "admin create", "outbox status"} <= paths, paths


@pytest.mark.parametrize(
    "args", [pytest.param(a, id=" ".join(a) or "helpdesk") for a in all_invocations()]
)
def test_every_command_exists_and_takes_its_options(args: list[str]) -> None:
    path, command, rest = resolve(args)
    result = CliRunner().invoke(register_commands(), [*path, "--help"])
    assert result.exit_code == 0, result.output
    if isinstance(command, click.Group) and path:
        pytest.fail(f"`helpdesk {' '.join(args)}` names a group, not a command")
    assert not unknown_options(command, rest), f"`helpdesk {' '.join(args)}`: unknown options"


def unknown_options(command: click.Command, words: list[str]) -> list[str]:
    """The ``--options`` among ``words`` that ``command`` does not take."""
    known = {opt for param in command.params for opt in [*param.opts, *param.secondary_opts]}
    known |= {"--help", "-h"}
    options = [word.split("=", 1)[0] for word in words if word.startswith("--")]
    return [option for option in options if option not in known]


def test_every_variable_named_is_a_setting() -> None:
    settings = {var.name for var in VARIABLES}
    named = set(re.findall(r"\bHELPDESK_[A-Z0-9_]*[A-Z0-9]\b", doc_text()))
    assert named, "the doc names no variable"
    assert named <= settings, f"not settings: {sorted(named - settings)}"


def test_the_example_configuration_loads_in_production(tmp_path: Path) -> None:
    """The ```dotenv example is a valid production configuration once its key is filled in."""
    (block,) = re.findall(r"```dotenv\n(.*?)```", doc_text(), flags=re.DOTALL)
    env_file = tmp_path / "helpdesk.env"
    env_file.write_text(block.replace("<the generated key>", "k" * 64), encoding="utf-8")
    settings = load_settings(environ={}, env_file=env_file)
    assert settings.is_production
    assert settings.secret_keys == ("k" * 64,)
    assert not settings.embedded_worker


def test_metrics_named_are_exported_and_every_exported_one_is_described() -> None:
    exported = {
        name
        for source in METRIC_SOURCES
        for name in re.findall(r'"(helpdesk_[a-z0-9_]+)"', source.read_text(encoding="utf-8"))
    }
    assert len(exported) >= 10, exported
    described = set(re.findall(r"`(helpdesk_[a-z0-9_]+)", doc_text()))
    assert described <= exported, f"not exported: {sorted(described - exported)}"
    assert exported <= described, f"not described: {sorted(exported - described)}"


def test_every_health_state_is_explained() -> None:
    text = doc_text()
    for state in HealthStatus:
        assert f"`{state.value}`" in text, f"health state {state.value} is not explained"
    assert "/health/live" in text
    assert "/health/ready" in text


def test_the_readme_links_the_doc() -> None:
    assert "docs/operations.md" in (REPO_ROOT / "README.md").read_text(encoding="utf-8")


def test_the_extraction_sees_through_shell_syntax() -> None:
    """The checks above would pass vacuously if the parser missed commands."""
    line = "X=1 helpdesk db check && echo ok | /opt/hd/bin/helpdesk worker --name a  # hi"
    assert helpdesk_invocations(line) == [["db", "check"], ["worker", "--name", "a"]]
    assert resolve(["--env-file", "f.env", "config", "show", "--json"])[0] == ["config", "show"]
    with pytest.raises(AssertionError, match="no command 'nope'"):
        resolve(["db", "nope"])
    _, serve, rest = resolve(["serve", "--workers", "4", "--wrokers=2"])
    assert unknown_options(serve, rest) == ["--wrokers"]
    text = "```sh\nhelpdesk serve \\\n    --workers 4\n```\n"
    assert shell_lines(text) == ["helpdesk serve --workers 4"]
    assert shlex.split("a 'b c'") == ["a", "b c"]
