"""Rough edges a new user met (issue 19): wording, prompts, warnings, packaging metadata.

- "a agent needs a department", naming the API's ``department_id`` in the CLI;
- getpass's ``GetPassWarning`` (with a path into the standard library) when a password is
  piped without ``--password-stdin``;
- the SMTP warning printed by every command in production, though only serve and worker send
  mail;
- ``project.license`` as a TOML table, which setuptools 77 and later deprecate (about 60 lines
  of warnings on the first install).
"""

from __future__ import annotations

import os
import secrets
import subprocess
import tomllib
from pathlib import Path

import pytest

from entrypoints.bootstrap import bootstrap
from helpdesk_core.domain.errors import ValidationFailed
from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from helpdesk_core.domain.values import StaffRole
from helpdesk_core.usecases.org import CreateStaff
from tests.conftest import make_settings
from tests.e2e.servers import helpdesk_executable
from tests.unit.test_cli_admin import PASSWORD, Run, env, ok, outputs, refused, run

__all__ = ["env", "outputs", "run"]  # the fixtures of test_cli_admin, used here

ROOT = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------- wording


@pytest.mark.parametrize(
    ("role", "message"),
    [
        (StaffRole.AGENT, "an agent needs a department"),
        (StaffRole.LEAD, "a lead needs a department"),
    ],
)
def test_a_staff_member_without_department_is_refused_in_good_english(
    role: StaffRole, message: str
) -> None:
    services = bootstrap(make_settings())
    try:
        with pytest.raises(ValidationFailed) as refusal:
            services.org.create_staff(
                SYSTEM_OPERATOR,
                CreateStaff(
                    email=f"{role.value}@example.com",
                    display_name="Someone",
                    password=PASSWORD,
                    role=role,
                ),
            )
    finally:
        services.close()
    assert refusal.value.detail == f"department_id: {message}"


def test_set_role_without_department_says_how_to_give_one(run: Run) -> None:
    for email in ("root@example.com", "second@example.com"):
        ok(
            run(
                "admin",
                "create",
                "--email",
                email,
                "--display-name",
                "Admin",
                "--password-stdin",
                input=f"{PASSWORD}\n",
            )
        )
    refused(
        run("staff", "set-role", "second@example.com", "agent"),
        "error: department (give one with `helpdesk staff move` first): "
        "an agent needs a department",
    )


# ---------------------------------------------------------------- processes of the real CLI


def cli_env(tmp_path: Path, **variables: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELPDESK_")}
    env.update(
        {
            "HELPDESK_DATABASE_URL": f"sqlite:///{tmp_path / 'hd.db'}",
            "HELPDESK_SECRET_KEYS": secrets.token_hex(32),
            "HELPDESK_SECRET_FILE": str(tmp_path / "secret"),
            **variables,
        }
    )
    return env


def helpdesk(
    tmp_path: Path, *args: str, stdin: str = "", **variables: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [helpdesk_executable(), "--env-file", str(tmp_path / "none.env"), *args],
        env=cli_env(tmp_path, **variables),
        cwd=tmp_path,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        start_new_session=True,  # no controlling terminal: getpass cannot open /dev/tty
    )


@pytest.mark.slow
def test_a_piped_password_needs_no_flag_and_draws_no_warning(tmp_path: Path) -> None:
    cheap = {
        "HELPDESK_ARGON2_MEMORY_KIB": "1024",
        "HELPDESK_ARGON2_TIME_COST": "1",
        "HELPDESK_ARGON2_PARALLELISM": "1",
    }
    assert helpdesk(tmp_path, "db", "upgrade").returncode == 0
    args = ("admin", "create", "--email", "root@example.com", "--display-name", "Root")
    done = helpdesk(tmp_path, *args, stdin=f"{PASSWORD}\n{PASSWORD}\n", **cheap)
    assert done.returncode == 0, done.stderr
    assert "created administrator root@example.com" in done.stdout
    assert "Warning" not in done.stderr, done.stderr
    assert "getpass" not in done.stderr, done.stderr
    assert PASSWORD not in done.stdout + done.stderr

    short = helpdesk(tmp_path, *args, stdin=f"{PASSWORD}\n", **cheap)
    assert short.returncode == 2
    assert short.stderr.splitlines()[-1].startswith(
        "error: standard input ended before the password was confirmed"
    )


@pytest.mark.slow
def test_only_commands_that_send_mail_warn_that_smtp_is_missing(tmp_path: Path) -> None:
    production = {"HELPDESK_ENV": "production"}
    assert helpdesk(tmp_path, "db", "upgrade", **production).returncode == 0
    listed = helpdesk(tmp_path, "staff", "list", **production)
    assert listed.returncode == 0, listed.stderr
    assert listed.stderr == ""

    worked = helpdesk(tmp_path, "worker", "--until-idle", **production)
    assert worked.returncode == 0, worked.stderr
    assert "HELPDESK_SMTP_URL is not set" in worked.stderr


# ---------------------------------------------------------------- packaging


def test_the_license_is_an_spdx_expression() -> None:
    """setuptools 77 reads ``license = "MIT"``; the table form warns at every build."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["license"] == "MIT"
    (setuptools,) = [r for r in pyproject["build-system"]["requires"] if "setuptools" in r]
    assert int(setuptools.split(">=")[1].split(".")[0]) >= 77
