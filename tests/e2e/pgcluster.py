"""A throwaway PostgreSQL cluster that a test owns: created, started, stopped and deleted by it.

Outage tests must stop (or freeze) a database server, and the shared one on 127.0.0.1:5432
must never be touched. ``PostgresCluster`` runs ``initdb`` into a fresh folder under the temp
directory and serves it on a free port of its own (127.0.0.1 only, trust auth, fsync off):

    with running_cluster() as cluster:   # skips the test when no PostgreSQL binaries exist
        url = cluster.url                # postgresql+psycopg://postgres@127.0.0.1:PORT/postgres
        cluster.stop("fast")             # or "immediate"
        cluster.start()                  # same port, same data
        cluster.send_signal(signal.SIGSTOP)   # freeze postmaster and backends (SIGCONT: thaw)

PostgreSQL refuses to run as root; when the tests run as root, every PostgreSQL command runs as
the ``postgres`` OS user (``runuser``), which owns the folder.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from tests.support.services import skip_or_fail

SHARED_PORT = 5432  # the shared server's port: this helper never serves on it


def find_bindir() -> Path | None:
    """The folder holding initdb/pg_ctl/postgres (highest installed version), or None."""
    candidates = [Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/pg_ctl")]
    candidates.sort(key=lambda p: _version_key(p.parent.name), reverse=True)
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    for folder in candidates:
        if all((folder / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres")):
            return folder
    return None


def _version_key(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".") if part.isdigit())


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
    return port


def port_open(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    """Whether something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


class ClusterError(RuntimeError):
    """A PostgreSQL command failed; the message carries its output and the server log."""


class PostgresCluster:
    """One private PostgreSQL cluster: ``create()``, ``start()``, ``stop()``, ``destroy()``."""

    def __init__(self, bindir: Path, port: int | None = None, host: str = "127.0.0.1") -> None:
        self._user = _run_as_user()  # may skip: before anything is made on disk
        self.bindir = bindir
        self.host = host
        self.port = port if port is not None else free_port(host)
        if self.port == SHARED_PORT:
            raise ValueError(f"port {SHARED_PORT} belongs to the shared server")
        self.base = Path(tempfile.mkdtemp(prefix="helpdesk-pg-"))
        self.data_dir = self.base / "data"
        self.socket_dir = self.base / "sock"
        self.log_file = self.base / "postgres.log"
        self._created = False

    # ------------------------------------------------------------ addresses

    @property
    def url(self) -> str:
        """The SQLAlchemy URL of the ``postgres`` database (trust auth, no password)."""
        return f"postgresql+psycopg://postgres@{self.host}:{self.port}/postgres"

    @property
    def postmaster_pid(self) -> int | None:
        """The running postmaster's PID (first line of postmaster.pid), or None when stopped."""
        try:
            first = (self.data_dir / "postmaster.pid").read_text().splitlines()[0]
        except (OSError, IndexError):
            return None
        return int(first) if first.strip().isdigit() else None

    def is_running(self) -> bool:
        pid = self.postmaster_pid
        if pid is None:
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def pids(self) -> list[int]:
        """The postmaster and its children (backends, checkpointer, ...), postmaster first.

        Each backend calls setsid(), so they are not in the postmaster's process group:
        signalling them all (e.g. SIGSTOP to freeze the server) needs this list.
        """
        master = self.postmaster_pid
        if master is None:
            return []
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, IndexError, ValueError):
                # "pid (comm) state ppid ...": comm may hold spaces; split after the last ')'.
                if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == master:
                    children.append(int(stat.parent.name))
        return [master, *sorted(children)]

    def send_signal(self, signum: int) -> list[int]:
        """Send ``signum`` to the postmaster and every child; the PIDs signalled.

        A backend the postmaster forks between the listing and its own signal would escape it
        (seen: a SIGSTOP that left a new backend answering). The children are listed again
        until a listing finds none not yet signalled: a stopped or killed postmaster forks no
        more, so that takes one more round."""
        sent: list[int] = []
        for _ in range(10):
            new = [pid for pid in self.pids() if pid not in sent]
            if not new:
                break
            for pid in new:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signum)
                    sent.append(pid)
        return sent

    def server_log(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")
        except OSError:
            return ""

    # ------------------------------------------------------------ lifecycle

    def create(self) -> None:
        """``initdb`` a fresh cluster (superuser ``postgres``, trust auth, UTF8)."""
        self.socket_dir.mkdir()
        if self._user is not None:
            for path in (self.base, self.socket_dir):
                os.chown(path, self._user.pw_uid, self._user.pw_gid)
        self._run(
            "initdb",
            "-D",
            str(self.data_dir),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
            timeout=120,
        )
        self._created = True

    def start(self, timeout: float = 30) -> None:
        """Start the server and wait until it accepts connections on its port."""
        if not self._created:
            raise ClusterError("create() the cluster before starting it")
        if port_open(self.port, self.host):
            raise ClusterError(f"port {self.port} is already taken; cannot start there")
        options = (
            f"-p {self.port} -k {self.socket_dir} -c listen_addresses={self.host} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            "pg_ctl",
            "start",
            "-D",
            str(self.data_dir),
            "-l",
            str(self.log_file),
            "-o",
            options,
            "-w",
            "-t",
            str(int(timeout)),
            timeout=timeout + 10,
        )
        deadline = time.monotonic() + timeout
        while not port_open(self.port, self.host):
            if time.monotonic() > deadline:
                raise ClusterError(
                    f"PostgreSQL is not listening on {self.port}\n{self.server_log()}"
                )
            time.sleep(0.05)

    def stop(self, mode: str = "fast", timeout: float = 30) -> None:
        """``pg_ctl stop -m fast|immediate|smart`` and wait until the postmaster is gone."""
        if mode not in {"smart", "fast", "immediate"}:
            raise ValueError(f"unknown stop mode {mode!r}")
        if not self.is_running():
            return
        self._run(
            "pg_ctl",
            "stop",
            "-D",
            str(self.data_dir),
            "-m",
            mode,
            "-w",
            "-t",
            str(int(timeout)),
            timeout=timeout + 10,
        )

    def destroy(self) -> None:
        """Stop whatever still runs (by its own PIDs, never by name) and delete the folder.

        A cluster left frozen by SIGSTOP is woken with SIGCONT first, then shut down.
        """
        try:
            if self.is_running():
                with contextlib.suppress(PermissionError):
                    self.send_signal(signal.SIGCONT)
                with contextlib.suppress(ClusterError, subprocess.TimeoutExpired):
                    self.stop("immediate", timeout=15)
                if self.is_running():
                    with contextlib.suppress(PermissionError):
                        self.send_signal(signal.SIGKILL)
        finally:
            shutil.rmtree(self.base, ignore_errors=True)

    # ------------------------------------------------------------ helpers

    def _run(self, tool: str, *args: str, timeout: float) -> str:
        command = [str(self.bindir / tool), *args]
        if self._user is not None:
            command = ["runuser", "-u", self._user.pw_name, "--", *command]
        try:
            done = subprocess.run(
                command,
                capture_output=True,
                text=True,
                timeout=timeout,
                cwd=self.base,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise ClusterError(f"{tool} timed out after {timeout}s\n{self.server_log()}") from exc
        if done.returncode != 0:
            raise ClusterError(
                f"{' '.join(command)} exited {done.returncode}\n"
                f"{done.stdout}{done.stderr}\n--- server log ---\n{self.server_log()}"
            )
        return done.stdout


def _run_as_user() -> pwd.struct_passwd | None:
    """The OS user PostgreSQL must run as: ``postgres`` when we are root, else ourselves."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        skip_or_fail("running as root and there is no 'postgres' OS user to run PostgreSQL as")


@contextlib.contextmanager
def running_cluster(port: int | None = None) -> Iterator[PostgresCluster]:
    """A created and started private cluster; stopped and deleted on exit, even on failure.

    Skips the calling test when no PostgreSQL server binaries are installed.
    """
    bindir = find_bindir()
    if bindir is None:
        skip_or_fail(
            "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found "
            "in /usr/lib/postgresql/*/bin or on PATH"
        )
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        skip_or_fail("running as root and 'runuser' is missing: cannot run PostgreSQL")
    cluster = PostgresCluster(bindir, port=port)
    try:
        cluster.create()
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()
