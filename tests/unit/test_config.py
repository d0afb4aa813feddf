"""entrypoints/config/: defaults, validation, .env handling, secrets and ``config show``."""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from entrypoints.config import (
    VARIABLES,
    ConfigError,
    Settings,
    check_settings,
    ensure_secret_keys,
    load_settings,
)
from entrypoints.config.rendering import as_text

REPO_ROOT = Path(__file__).resolve().parents[2]
ENV_EXAMPLE = REPO_ROOT / ".env.example"
CONFIG_DOC = REPO_ROOT / "docs" / "configuration.md"
NAMES = [var.name for var in VARIABLES]
KEY = "k" * 40
OLD_KEY = "o" * 40


def load(**environ: str) -> Settings:
    """Settings from exactly ``environ``: no process environment, no .env file."""
    return load_settings(environ=environ, env_file=None)


# ---------------------------------------------------------------- the table itself


def test_variable_names_are_unique_and_prefixed() -> None:
    assert len(set(NAMES)) == len(NAMES)
    assert all(name.startswith("HELPDESK_") for name in NAMES)


def test_every_default_is_written_once_and_documented_as_rendered() -> None:
    """A default is written once, on its Settings field; its text (``Variable.default``) reads
    back to the value, and is what .env.example and docs/configuration.md write."""
    env_example = ENV_EXAMPLE.read_text()
    doc = CONFIG_DOC.read_text()
    for var in VARIABLES:
        assert var.parse(var.default) == var.value, var.name
        assert re.search(rf"^{var.name}={re.escape(var.default)}$", env_example, re.MULTILINE), (
            f".env.example should say {var.name}={var.default}"
        )
        row = re.search(rf"^\|\s*`{var.name}`\s*\|([^|]*)\|", doc, flags=re.MULTILINE)
        assert row is not None, var.name
        cell = row.group(1).strip()
        if not var.default:
            assert cell.startswith("(empty"), f"{var.name}: the doc's default should be (empty)"
        elif cell != f"`{var.default}`":  # too long for the table: written out below it
            assert "see below" in cell, f"{var.name}: the doc's default should be {var.default}"
            assert f"`{var.default}`" in doc, f"{var.name}: the doc should spell out its default"


# ---------------------------------------------------------------- defaults


def test_defaults_load_from_an_empty_environment() -> None:
    settings = load()
    assert settings == Settings()
    assert settings.env == "development"
    assert settings.bind == "127.0.0.1:8000"
    assert settings.workers == 2
    assert settings.database_url == "sqlite:///./helpdesk.db"
    assert settings.redis_url is None
    assert settings.secret_keys == ()
    assert settings.auto_migrate is False
    assert settings.smtp_url is None
    assert settings.webhook_allowlist == ()
    assert settings.is_production is False
    assert settings.json_logs is False


def test_values_are_parsed_to_their_types() -> None:
    settings = load(
        HELPDESK_WORKERS=" 8 ",
        HELPDESK_DB_POOL_TIMEOUT="2.5",
        HELPDESK_AUTO_MIGRATE="yes",
        HELPDESK_LOG_LEVEL="debug",
        HELPDESK_SECRET_KEYS=f" {KEY} , {OLD_KEY} ",
        HELPDESK_ATTACHMENT_MIME_TYPES="Image/PNG, text/plain",
        HELPDESK_WEBHOOK_ALLOWLIST="hooks.internal, 10.0.0.0/8",
        HELPDESK_REDIS_URL="redis://localhost:6379/0",
    )
    assert settings.workers == 8
    assert settings.db_pool_timeout == 2.5
    assert settings.auto_migrate is True
    assert settings.log_level == "DEBUG"
    assert settings.secret_keys == (KEY, OLD_KEY)  # order kept: newest first
    assert settings.attachment_mime_types == ("image/png", "text/plain")
    assert settings.webhook_allowlist == ("hooks.internal", "10.0.0.0/8")
    assert settings.redis_url == "redis://localhost:6379/0"


def test_production_logs_json_by_default() -> None:
    assert load(HELPDESK_ENV="production", HELPDESK_SECRET_KEYS=KEY).json_logs is True
    assert load(HELPDESK_LOG_FORMAT="json").json_logs is True


# ---------------------------------------------------------------- documentation


def test_env_example_lists_every_variable_once() -> None:
    text = ENV_EXAMPLE.read_text()
    for name in NAMES:
        found = re.findall(rf"^{name}=", text, flags=re.MULTILINE)
        assert len(found) == 1, f"{name} should appear once as `{name}=` in .env.example"
    listed = re.findall(r"^(HELPDESK_[A-Z0-9_]+)=", text, flags=re.MULTILINE)
    assert sorted(set(listed) - set(NAMES)) == [], "unknown variables in .env.example"


def test_env_example_loads_to_the_defaults() -> None:
    """Copying .env.example to .env changes nothing: every value written is the default."""
    assert load_settings(environ={}, env_file=ENV_EXAMPLE) == Settings()


def test_env_example_explains_how_to_generate_secret_keys() -> None:
    text = ENV_EXAMPLE.read_text()
    assert 'python -c "import secrets; print(secrets.token_urlsafe(48))"' in text
    assert re.search(r"^HELPDESK_SECRET_KEYS=$", text, flags=re.MULTILINE)


def test_configuration_doc_has_a_row_for_every_variable() -> None:
    text = CONFIG_DOC.read_text()
    for name in NAMES:
        assert re.search(rf"^\|\s*`?{name}`?\s*\|", text, flags=re.MULTILINE), (
            f"{name} is missing from the table in docs/configuration.md"
        )


# ---------------------------------------------------------------- bad values


BAD_VALUES = [
    ("HELPDESK_ENV", "staging"),
    ("HELPDESK_WORKERS", "zero"),
    ("HELPDESK_WORKERS", "0"),
    ("HELPDESK_WORKERS", "65"),
    ("HELPDESK_WORKERS", "2.5"),
    ("HELPDESK_WORKERS", ""),
    ("HELPDESK_BIND", "nonsense"),
    ("HELPDESK_BIND", "127.0.0.1:99999"),
    ("HELPDESK_BIND", ":8000"),
    ("HELPDESK_DATABASE_URL", "mysql://x"),
    ("HELPDESK_DB_POOL_TIMEOUT", "nan"),
    ("HELPDESK_REDIS_URL", "http://x"),
    ("HELPDESK_AUTO_MIGRATE", "maybe"),
    ("HELPDESK_LOG_LEVEL", "LOUD"),
    ("HELPDESK_LOG_FORMAT", "xml"),
    ("HELPDESK_SECRET_KEYS", "short"),
    ("HELPDESK_PASSWORD_SCHEME", "md5"),
    ("HELPDESK_ATTACHMENT_MIME_TYPES", "not a type"),
    ("HELPDESK_ATTACHMENT_MIME_TYPES", "image/png,text"),
    ("HELPDESK_SMTP_URL", "http://mail.example.com"),
    ("HELPDESK_WEBHOOK_ALLOWLIST", "not valid!"),
    ("HELPDESK_TRUSTED_PROXIES", "10.0.0.0/33"),
    ("HELPDESK_TRUSTED_PROXIES", "lb.internal"),
    ("HELPDESK_CORS_ORIGINS", "https://app.example.com/path"),
    ("HELPDESK_BLOB_URL", "/var/lib/helpdesk/blobs"),
    ("HELPDESK_BLOB_URL", "s3://Upper_Case/prefix"),
    ("HELPDESK_BLOB_URL", "gs://bucket"),
    ("HELPDESK_S3_ENDPOINT_URL", "minio:9000"),
    ("HELPDESK_S3_REGION", "eu west 1"),
    ("HELPDESK_WORKERS", "1\nHELPDESK_OTHER=2"),
]


@pytest.mark.parametrize(("name", "value"), BAD_VALUES)
def test_a_bad_value_names_variable_value_and_expectation(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(**{name: value})
    message = str(caught.value)
    assert caught.value.variable == name
    assert message.startswith(f"{name}=")
    secret = next(v for v in VARIABLES if v.name == name).secret
    if secret and not name.endswith("_URL"):  # a rejected key is named, never echoed
        assert value not in message
        assert "'***'" in message
    else:  # a URL is shown with any password in it masked
        assert repr(value) in message
    assert "expected" in message
    assert "\n" not in message
    assert "\r" not in message


def test_a_long_bad_value_is_shortened_in_one_line() -> None:
    value = "x" * 500
    with pytest.raises(ConfigError) as caught:
        load(HELPDESK_BIND=value)
    message = str(caught.value)
    assert "HELPDESK_BIND" in message
    assert "xxxx" in message
    assert len(message) < 200


def test_every_expectation_is_spelled_out() -> None:
    """Parsers that can reject a value tell what they accept (no generic 'a valid value')."""
    for var in VARIABLES:
        try:
            var.parse("%% not valid %%")
        except ValueError:
            assert var.expected != "a valid value", var.name


def test_a_default_page_size_above_the_maximum_is_refused() -> None:
    with pytest.raises(ConfigError, match="HELPDESK_PAGE_SIZE_DEFAULT"):
        load(HELPDESK_PAGE_SIZE_DEFAULT="200", HELPDESK_PAGE_SIZE_MAX="100")


def test_production_without_secret_keys_is_refused() -> None:
    with pytest.raises(ConfigError, match="HELPDESK_SECRET_KEYS") as caught:
        load(HELPDESK_ENV="production")
    assert caught.value.variable == "HELPDESK_SECRET_KEYS"
    assert "production" in str(caught.value)
    with pytest.raises(ConfigError, match="HELPDESK_SECRET_KEYS"):
        load(HELPDESK_ENV="production", HELPDESK_SECRET_KEYS=" , ")


def test_production_with_secret_keys_loads() -> None:
    settings = load(HELPDESK_ENV="production", HELPDESK_SECRET_KEYS=f"{KEY},{OLD_KEY}")
    assert settings.is_production
    assert settings.secret_keys == (KEY, OLD_KEY)


def test_unknown_helpdesk_variables_are_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="entrypoints.config"):
        load(HELPDESK_WOKRERS="3", HELPDESK_TEST_DATABASE_URL="sqlite://", OTHER_THING="1")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("HELPDESK_WOKRERS" in message for message in warnings)
    assert not any("HELPDESK_TEST_DATABASE_URL" in message for message in warnings)
    assert not any("OTHER_THING" in message for message in warnings)


# ---------------------------------------------------------------- .env file


def test_the_env_file_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "# a comment\n"
        "HELPDESK_WORKERS=7\n"
        "HELPDESK_BIND=0.0.0.0:9000\n"
        'HELPDESK_LOG_LEVEL="WARNING"\n'
    )
    settings = load_settings(environ={"HELPDESK_BIND": "127.0.0.1:9100"}, env_file=env_file)
    assert settings.workers == 7  # from the file
    assert settings.log_level == "WARNING"  # quoted in the file
    assert settings.bind == "127.0.0.1:9100"  # the environment wins


def test_a_bad_value_in_the_env_file_is_reported(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("HELPDESK_WORKERS=many\n")
    with pytest.raises(ConfigError, match=r"HELPDESK_WORKERS='many'"):
        load_settings(environ={}, env_file=env_file)
    # ... unless the environment overrides it
    assert load_settings(environ={"HELPDESK_WORKERS": "3"}, env_file=env_file).workers == 3


def test_a_missing_env_file_is_not_an_error(tmp_path: Path) -> None:
    assert load_settings(environ={}, env_file=tmp_path / "absent.env") == Settings()


def test_the_process_environment_is_the_default_source(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELPDESK_WORKERS", "5")
    assert load_settings(env_file=None).workers == 5


# ---------------------------------------------------------------- secret keys


def test_configured_keys_are_kept(tmp_path: Path) -> None:
    settings = Settings(secret_keys=(KEY,), secret_file=str(tmp_path / "secret"))
    assert ensure_secret_keys(settings) is settings
    assert not (tmp_path / "secret").exists()


def test_development_generates_a_key_once_and_reuses_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    secret_file = tmp_path / "sub" / "secret"
    settings = Settings(secret_file=str(secret_file))
    with caplog.at_level(logging.WARNING, logger="entrypoints.config"):
        first = ensure_secret_keys(settings)
    assert secret_file.is_file()
    (key,) = first.secret_keys
    assert len(key) >= 32
    assert secret_file.read_text().strip() == key
    assert any("HELPDESK_SECRET_KEYS" in r.getMessage() for r in caplog.records)
    if os.name == "posix":
        assert secret_file.stat().st_mode & 0o077 == 0  # readable by the owner only

    second = ensure_secret_keys(settings)
    assert second.secret_keys == (key,)
    assert [p.name for p in secret_file.parent.iterdir()] == ["secret"]  # no temp files left


def test_concurrent_generation_agrees_on_one_key(tmp_path: Path) -> None:
    secret_file = tmp_path / "secret"
    settings = Settings(secret_file=str(secret_file))
    count = 16
    barrier = threading.Barrier(count)
    keys: list[tuple[str, ...]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def start() -> None:
        try:
            barrier.wait()
            result = ensure_secret_keys(settings).secret_keys
            with lock:
                keys.append(result)
        except BaseException as exc:  # reported below
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert len(keys) == count
    assert len(set(keys)) == 1
    assert keys[0] == (secret_file.read_text().strip(),)
    assert [p.name for p in tmp_path.iterdir()] == ["secret"]


def test_production_never_generates_a_key(tmp_path: Path) -> None:
    settings = Settings(env="production", secret_file=str(tmp_path / "secret"))
    with pytest.raises(ConfigError, match="HELPDESK_SECRET_KEYS"):
        ensure_secret_keys(settings)
    assert not (tmp_path / "secret").exists()


def test_an_unusable_secret_file_is_a_config_error(tmp_path: Path) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text("too short\n")
    with pytest.raises(ConfigError, match="HELPDESK_SECRET_FILE"):
        ensure_secret_keys(Settings(secret_file=str(secret_file)))


# ---------------------------------------------------------------- redaction


SECRET_SETTINGS = {
    "HELPDESK_SECRET_KEYS": f"{KEY},{OLD_KEY}",
    "HELPDESK_DATABASE_URL": "postgresql+psycopg://u:s3cr3tpw@h/db",
    "HELPDESK_REDIS_URL": "redis://:r3d1spw@cache:6379/0",
    "HELPDESK_SMTP_URL": "smtp://mailer:sm7ppw@mail.example.com:587",
}
SECRET_VALUES = (KEY, OLD_KEY, "s3cr3tpw", "r3d1spw", "sm7ppw")


def test_redacted_lists_every_variable() -> None:
    assert list(load().redacted()) == NAMES
    assert list(load(**SECRET_SETTINGS).redacted()) == NAMES


def test_redacted_hides_secret_keys_and_passwords() -> None:
    shown = load(**SECRET_SETTINGS).redacted()
    for value in shown.values():
        for secret in SECRET_VALUES:
            assert secret not in value
    assert shown["HELPDESK_SECRET_KEYS"] == "***"
    assert shown["HELPDESK_DATABASE_URL"] == "postgresql+psycopg://u:***@h/db"
    assert shown["HELPDESK_REDIS_URL"] == "redis://:***@cache:6379/0"
    assert shown["HELPDESK_SMTP_URL"] == "smtp://mailer:***@mail.example.com:587"


def test_redacted_shows_plain_values_as_configured() -> None:
    shown = load().redacted()
    assert shown["HELPDESK_WORKERS"] == "2"
    assert shown["HELPDESK_AUTO_MIGRATE"] == "false"
    assert shown["HELPDESK_REDIS_URL"] == ""
    assert shown["HELPDESK_SECRET_KEYS"] == ""
    assert shown["HELPDESK_DATABASE_URL"] == "sqlite:///./helpdesk.db"


def test_repr_of_settings_hides_secrets() -> None:
    text = repr(load(**SECRET_SETTINGS))
    for secret in SECRET_VALUES:
        assert secret not in text


# ---------------------------------------------------------------- helpdesk config show


@pytest.fixture
def run_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Invoke ``helpdesk`` with only the given HELPDESK_* variables and no .env file."""
    from entrypoints.cli import config_cmd
    from entrypoints.cli.main import cli

    if "config" not in cli.commands:
        cli.add_command(config_cmd.config)
    for name in list(os.environ):
        if name.startswith("HELPDESK_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def invoke(*args: str, **env: str):  # type: ignore[no-untyped-def]
        return runner.invoke(cli, ["--env-file", str(tmp_path / "none.env"), *args], env=env)

    return invoke


def test_config_show_json_lists_every_variable(run_cli) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("config", "show", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [row["variable"] for row in rows] == NAMES
    values = {row["variable"]: row["value"] for row in rows}
    assert values["HELPDESK_WORKERS"] == "2"
    assert all(row["meaning"] for row in rows)


def test_config_show_never_prints_a_secret(run_cli) -> None:  # type: ignore[no-untyped-def]
    canary = "CANARY-" + "c" * 33
    env = {**SECRET_SETTINGS, "HELPDESK_SECRET_KEYS": canary, "HELPDESK_ENV": "production"}
    for args in (("config", "show", "--json"), ("config", "show")):
        result = run_cli(*args, **env)
        assert result.exit_code == 0, result.output
        assert canary not in result.output
        assert "s3cr3tpw" not in result.output
        assert "r3d1spw" not in result.output
        assert "sm7ppw" not in result.output
    rows = json.loads(run_cli("config", "show", "--json", **env).stdout)
    assert {row["variable"]: row["value"] for row in rows}["HELPDESK_SECRET_KEYS"] == "***"


def test_config_show_reads_the_env_file(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env_file = tmp_path / "custom.env"
    env_file.write_text("HELPDESK_WORKERS=9\nHELPDESK_THREADS=3\n")
    result = run_cli("--env-file", str(env_file), "config", "show", "--json", HELPDESK_THREADS="5")
    assert result.exit_code == 0, result.output
    values = {row["variable"]: row["value"] for row in json.loads(result.stdout)}
    assert values["HELPDESK_WORKERS"] == "9"
    assert values["HELPDESK_THREADS"] == "5"  # the environment wins


def test_a_bad_value_exits_2_with_one_line(run_cli) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("config", "show", HELPDESK_WORKERS="abc")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("error: ")
    assert result.stderr.count("\n") == 1
    assert "HELPDESK_WORKERS" in result.stderr
    assert "'abc'" in result.stderr
    assert "Traceback" not in result.output


def test_production_without_keys_exits_2(run_cli) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("config", "show", HELPDESK_ENV="production")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: HELPDESK_SECRET_KEYS")
    assert result.stderr.count("\n") == 1


def test_a_rejected_url_never_echoes_its_password() -> None:
    with pytest.raises(ConfigError) as caught:
        load(HELPDESK_DATABASE_URL="mysql://user:hunter2-canary@db/helpdesk")
    assert "hunter2-canary" not in str(caught.value)
    assert "mysql://user:***@db/helpdesk" in str(caught.value)


def test_a_rejected_s3_endpoint_never_echoes_its_password() -> None:
    """Credentials are the AWS variables' business: one in the endpoint is refused, masked."""
    with pytest.raises(ConfigError) as caught:
        load(HELPDESK_S3_ENDPOINT_URL="http://key:s3-canary@minio.internal:9000")
    assert caught.value.variable == "HELPDESK_S3_ENDPOINT_URL"
    assert "s3-canary" not in str(caught.value)
    assert (
        load(HELPDESK_S3_ENDPOINT_URL="http://minio.internal:9000").redacted()[
            "HELPDESK_S3_ENDPOINT_URL"
        ]
        == "http://minio.internal:9000"
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [("HELPDESK_ARGON2_MEMORY_KIB", "1024"), ("HELPDESK_ARGON2_TIME_COST", "1")],
)
def test_production_refuses_password_hashing_below_the_owasp_floor(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        load(HELPDESK_ENV="production", HELPDESK_SECRET_KEYS="k" * 40, **{name: value})
    assert load(**{name: value}).env == "development"  # tests and development may go lower


def test_production_refuses_cheap_bcrypt() -> None:
    with pytest.raises(ConfigError, match="HELPDESK_BCRYPT_ROUNDS"):
        load(
            HELPDESK_ENV="production",
            HELPDESK_SECRET_KEYS="k" * 40,
            HELPDESK_PASSWORD_SCHEME="bcrypt",
            HELPDESK_BCRYPT_ROUNDS="4",
        )


def test_test_and_ci_variables_are_not_reported_as_unknown(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level("WARNING", logger="entrypoints.config"):
        load(HELPDESK_TEST_REDIS_URL="redis://x", HELPDESK_CI_BOUNDED="1", HELPDESK_VENV=".v")
        assert caplog.records == []
        load(HELPDESK_TYPO_HERE="1")
    assert "HELPDESK_TYPO_HERE" in caplog.text


# ---------------------------------------------------------------- settings built in code


def test_settings_built_in_code_are_checked_like_the_environment() -> None:
    """A value the environment would refuse is refused in code too, naming the variable."""
    assert check_settings(Settings()) == Settings()
    cases = {
        "HELPDESK_WORKERS": Settings(workers=0),
        "HELPDESK_ENV": Settings(env="prod"),
        "HELPDESK_DATABASE_URL": Settings(database_url="ftp://x"),
        "HELPDESK_SECRET_KEYS": Settings(env="production"),
        "HELPDESK_PAGE_SIZE_DEFAULT": Settings(page_size_default=500),
    }
    for variable, settings in cases.items():
        with pytest.raises(ConfigError) as refused:
            check_settings(settings)
        assert refused.value.variable == variable
        environ = {
            var.name: as_text(getattr(settings, var.field))
            for var in VARIABLES
            if getattr(settings, var.field) != var.value
        }
        with pytest.raises(ConfigError) as from_environment:
            load_settings(environ, env_file=None)
        assert str(from_environment.value) == str(refused.value)


def test_settings_built_in_code_are_normalized_like_the_environment() -> None:
    checked = check_settings(Settings(env="Production", secret_keys=("k" * 40,)))
    assert checked.env == "production"
    assert checked == load_settings(
        {"HELPDESK_ENV": "Production", "HELPDESK_SECRET_KEYS": "k" * 40}, env_file=None
    )
