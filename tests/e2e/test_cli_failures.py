"""The real ``helpdesk`` CLI against databases it cannot use: one line naming the cause.

Every command here runs as a subprocess of the installed console script, so what is checked is
what an operator sees: exit status 1, exactly one ``error: database: <cause>: ...`` line on
stderr, no traceback and never the password of the URL. The causes: a port nobody listens on,
a database that does not exist, a role that does not exist, a wrong password, no answer in
time, and a driver that is not installed.

The shared PostgreSQL trusts every connection from 127.0.0.1 (pg_hba ``trust``), so a wrong
password cannot fail there; the wrong-password case gets a private cluster (``pgcluster``) with
``scram-sha-256`` for one role. An unknown role is the same class of error (SQLSTATE 28000,
"authentication failed") and is checked on the shared server too. The missing driver is
simulated without uninstalling anything: a folder first on PYTHONPATH holds a ``psycopg``
package whose import raises ``ModuleNotFoundError``, as on an install without the extra.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.e2e.pgcluster import PostgresCluster, free_port, running_cluster
from tests.e2e.servers import helpdesk_executable
from tests.support.services import postgres_url

pytestmark = [pytest.mark.slow]

SECRET = "Pw-" + secrets.token_hex(8)  # in every URL: must never be printed
COMMANDS = {
    "db upgrade": ("db", "upgrade"),
    "db check": ("db", "check"),
    "staff list": ("staff", "list"),
    "serve": ("serve", "--wait", "0"),
    "worker": ("worker", "--wait", "0"),
}
COMMAND_IDS = list(COMMANDS)


def helpdesk(
    tmp_path: Path, database_url: str, *args: str, **env_vars: str
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELPDESK_")}
    env.update(
        {
            "HELPDESK_DATABASE_URL": database_url,
            "HELPDESK_SECRET_KEYS": secrets.token_hex(32),
            "HELPDESK_SECRET_FILE": str(tmp_path / "secret"),
            "HELPDESK_METRICS_DIR": str(tmp_path / "metrics"),
            "HELPDESK_BIND": f"127.0.0.1:{free_port()}",
            "HELPDESK_DB_CONNECT_TIMEOUT": "2",
            **env_vars,
        }
    )
    return subprocess.run(
        [helpdesk_executable(), "--env-file", str(tmp_path / "none.env"), *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def assert_one_line(done: subprocess.CompletedProcess[str], expected_start: str) -> str:
    """Exit 1, one ``error: ...`` line starting so, no traceback, no password."""
    everything = done.stdout + done.stderr
    assert done.returncode == 1, everything
    assert "Traceback" not in everything, everything
    assert SECRET not in everything, everything
    lines = done.stderr.splitlines()
    assert len(lines) == 1, everything
    assert lines[0].startswith(expected_start), everything
    return lines[0]


def url_on(base: str, *, user: str | None = None, database: str | None = None) -> str:
    url = make_url(base).set(password=SECRET)
    if user is not None:
        url = url.set(username=user)
    if database is not None:
        url = url.set(database=database)
    return url.render_as_string(hide_password=False)


# ---------------------------------------------------------------- no server, no PostgreSQL needed


@pytest.mark.parametrize("command", COMMAND_IDS)
def test_a_refused_connection_is_named(tmp_path: Path, command: str) -> None:
    url = f"postgresql+psycopg://helpdesk:{SECRET}@127.0.0.1:{free_port()}/helpdesk"
    line = assert_one_line(
        helpdesk(tmp_path, url, *COMMANDS[command]), "error: database: connection refused: "
    )
    assert "127.0.0.1:" in line


@pytest.fixture
def missing_psycopg(tmp_path: Path) -> str:
    """A PYTHONPATH on which ``import psycopg`` fails as on an install without the extra."""
    shim = tmp_path / "shim" / "psycopg"
    shim.mkdir(parents=True)
    (shim / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'psycopg'\", name='psycopg')\n"
    )
    return str(shim.parent)


@pytest.mark.parametrize("command", COMMAND_IDS)
def test_a_missing_driver_names_the_extra(
    tmp_path: Path, missing_psycopg: str, command: str
) -> None:
    url = f"postgresql+psycopg://helpdesk:{SECRET}@127.0.0.1:{free_port()}/helpdesk"
    line = assert_one_line(
        helpdesk(tmp_path, url, *COMMANDS[command], PYTHONPATH=missing_psycopg),
        "error: database: missing driver: ",
    )
    assert "pip install 'helpdesk[postgres]'" in line


def test_a_missing_redis_driver_stops_serve_before_it_starts(tmp_path: Path) -> None:
    shim = tmp_path / "shim" / "redis"
    shim.mkdir(parents=True)
    (shim / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'redis'\", name='redis')\n"
    )
    for args in (COMMANDS["serve"], COMMANDS["worker"], COMMANDS["staff list"]):
        done = helpdesk(
            tmp_path,
            f"sqlite:///{tmp_path / 'hd.db'}",
            *args,
            PYTHONPATH=str(shim.parent),
            HELPDESK_REDIS_URL=f"redis://:{SECRET}@127.0.0.1:{free_port()}/0",
        )
        line = assert_one_line(done, "error: redis: missing driver: ")
        assert "pip install 'helpdesk[redis]'" in line
        assert "serving on" not in done.stdout + done.stderr


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections (the kernel's backlog) and never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        yield sock.getsockname()[1]


@pytest.mark.parametrize("command", ["db upgrade", "worker"])
def test_no_answer_is_a_timeout(tmp_path: Path, silent_port: int, command: str) -> None:
    url = f"postgresql+psycopg://helpdesk:{SECRET}@127.0.0.1:{silent_port}/helpdesk"
    assert_one_line(helpdesk(tmp_path, url, *COMMANDS[command]), "error: database: timeout: ")


# ---------------------------------------------------------------- the shared PostgreSQL


@pytest.mark.postgres
@pytest.mark.parametrize("command", COMMAND_IDS)
def test_a_missing_database_is_named(tmp_path: Path, command: str) -> None:
    name = f"helpdesk_missing_{uuid.uuid4().hex[:12]}"
    line = assert_one_line(
        helpdesk(tmp_path, url_on(postgres_url(), database=name), *COMMANDS[command]),
        "error: database: unknown database: ",
    )
    assert f'database "{name}" does not exist' in line


@pytest.mark.postgres
@pytest.mark.parametrize("command", COMMAND_IDS)
def test_an_unknown_role_is_an_authentication_failure(tmp_path: Path, command: str) -> None:
    role = f"helpdesk_nobody_{uuid.uuid4().hex[:12]}"
    line = assert_one_line(
        helpdesk(tmp_path, url_on(postgres_url(), user=role), *COMMANDS[command]),
        "error: database: authentication failed: ",
    )
    assert f'role "{role}" does not exist' in line


# ---------------------------------------------------------------- a private cluster with passwords

ROLE = "helpdesk_pw"


@pytest.fixture(scope="module")
def password_cluster() -> Iterator[PostgresCluster]:
    """A private cluster where ``helpdesk_pw`` must give its password (scram-sha-256)."""
    import psycopg

    with running_cluster() as cluster:
        with psycopg.connect(cluster.url.replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute(f"CREATE ROLE {ROLE} LOGIN PASSWORD 'the-right-one'")
            hba = Path(conn.execute("SHOW hba_file").fetchone()[0])  # type: ignore[index]
            hba.write_text(
                f"host all {ROLE} 127.0.0.1/32 scram-sha-256\n" + hba.read_text()
            )  # first match wins: this line before the cluster's trust lines
            conn.execute("SELECT pg_reload_conf()")
        wrong = make_url(cluster.url).set(drivername="postgresql", username=ROLE, password="x")
        deadline = time.monotonic() + 10
        while True:  # the postmaster rereads pg_hba.conf a moment after the signal
            try:
                psycopg.connect(wrong.render_as_string(hide_password=False)).close()
            except psycopg.OperationalError:
                break
            assert time.monotonic() < deadline, "pg_hba.conf was not reloaded"
            time.sleep(0.05)
        yield cluster


@pytest.mark.postgres
@pytest.mark.parametrize("command", COMMAND_IDS)
def test_a_wrong_password_is_an_authentication_failure(
    tmp_path: Path, password_cluster: PostgresCluster, command: str
) -> None:
    url = url_on(password_cluster.url, user=ROLE)
    line = assert_one_line(
        helpdesk(tmp_path, url, *COMMANDS[command]), "error: database: authentication failed: "
    )
    assert f'password authentication failed for user "{ROLE}"' in line


@pytest.mark.postgres
def test_the_right_password_gets_through(tmp_path: Path, password_cluster: PostgresCluster) -> None:
    """The same role and cluster with its password: the failures above are the password's."""
    url = make_url(password_cluster.url).set(username=ROLE, password="the-right-one")
    done = helpdesk(tmp_path, url.render_as_string(hide_password=False), "db", "current")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("base"), done.stdout
