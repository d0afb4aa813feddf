"""A real IMAP server for tests: Dovecot, started by the test as a process of its own.

Nothing of the host's Dovecot configuration is used or needed (``apt-get install
dovecot-imapd`` is enough; its system service may stay stopped): the server runs from a
minimal ``dovecot.conf`` written into a folder of the test's own, listens on a free loopback
port without TLS, and keeps its mail as Maildir folders there. Any user name logs in with the
server's one password (``password``, a ``static`` passdb): each test takes a name of its own
and has its own folders, with no user file to update while the server runs. It runs
rootless: as the test's own user, or, when the tests run as root (a CI container), as
``nobody`` (Dovecot refuses mail access as root).
The configuration is Dovecot 2.3's (Debian 12).

Messages are put into folders with IMAP APPEND (``imaplib``), as a mail server would deliver
them; what the helpdesk did to them (flags, moves) is read back the same way.
"""

from __future__ import annotations

import contextlib
import imaplib
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from tests.support.services import skip_or_fail

_START_SECONDS = 20.0  # a bound on waiting, never an assertion


def dovecot_binary() -> str:
    """The path of ``dovecot``, or skip (fail under HELPDESK_TEST_REQUIRE_SERVICES)."""
    found = shutil.which("dovecot") or next(
        (p for p in ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot") if os.path.exists(p)), None
    )
    if found is None:
        skip_or_fail("the IMAP tests need Dovecot (apt-get install dovecot-imapd)")
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Dovecot:
    """One Dovecot server; ``start``/``stop`` may be repeated (it keeps its port and mail)."""

    def __init__(self, port: int | None = None) -> None:
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self._binary = dovecot_binary()
        # Not under pytest's tmp_path: that is private to the test's user, and the server
        # may run as nobody.
        self.root = Path(tempfile.mkdtemp(prefix="helpdesk-dovecot-"))
        self._as_root = os.geteuid() == 0
        account = pwd.getpwnam("nobody") if self._as_root else pwd.getpwuid(os.getuid())
        self._user, self._uid, self._gid = account.pw_name, account.pw_uid, account.pw_gid
        # Every user name is an account (its own mail), all with this one password.
        self.password = f"pw-CANARY-{uuid.uuid4().hex[:12]}"
        self._process: subprocess.Popen[bytes] | None = None
        for folder in ("run", "state", "mail", "home"):
            (self.root / folder).mkdir()
        self._write_config()

    # ------------------------------------------------------------ the server

    def _write_config(self) -> None:
        root = self.root
        (root / "dovecot.conf").write_text(
            f"""# Written by tests/support/dovecot.py
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
instance_name = helpdesk-test-{self.port}
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
mail_location = maildir:{root}/mail/%u
default_internal_user = {self._user}
default_login_user = {self._user}
default_internal_group = {_group_name(self._gid)}
passdb {{
  driver = static
  args = password={self.password}
}}
userdb {{
  driver = static
  args = uid={self._uid} gid={self._gid} home={root}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
  # No growing delays after failed logins (the tests fail some on purpose): auth finds no
  # penalty socket it may use.
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"""
        )

    def start(self) -> Dovecot:
        """Start the server and wait until it greets on its port."""
        if self._as_root:
            for path in (self.root, *self.root.rglob("*")):
                os.chown(path, self._uid, self._gid)
        command = [self._binary, "-F", "-c", str(self.root / "dovecot.conf")]
        self._process = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            user=self._uid if self._as_root else None,
            group=self._gid if self._as_root else None,
        )
        deadline = time.monotonic() + _START_SECONDS
        while True:
            if self._process.poll() is not None:
                raise RuntimeError(f"dovecot exited at start:\n{self.log()}")
            try:
                with socket.create_connection((self.host, self.port), timeout=1) as probe:
                    if probe.recv(64).startswith(b"* OK"):
                        return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"dovecot did not answer on {self.port}:\n{self.log()}")
            time.sleep(0.02)

    def stop(self) -> None:
        """Kill the server (and its children, its process group's) and wait for it."""
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        # The master's children (imap, imap-login, auth) end with it; wait until the port
        # is free, so that a restart can listen on it again.
        deadline = time.monotonic() + _START_SECONDS
        while time.monotonic() < deadline:
            try:
                socket.create_connection((self.host, self.port), timeout=0.2).close()
            except OSError:
                return
            time.sleep(0.02)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else "(no log)"

    # ------------------------------------------------------------ accounts and mail

    @contextlib.contextmanager
    def session(self, user: str) -> Iterator[imaplib.IMAP4]:
        """A logged-in imaplib client for ``user``."""
        client = imaplib.IMAP4(self.host, self.port, timeout=10)
        try:
            client.login(user, self.password)
            yield client
        finally:
            with contextlib.suppress(Exception):
                client.logout()

    def append(self, user: str, *messages: bytes, folder: str = "INBOX") -> list[int]:
        """Deliver ``messages`` into ``folder`` (made when missing); their UIDs."""
        uids = []
        with self.session(user) as client:
            client.create(_quoted(folder))  # NO when it exists: fine
            for raw in messages:
                typ, data = client.append(_quoted(folder), None, None, raw)
                assert typ == "OK", data
                found = re.search(rb"APPENDUID \d+ (\d+)", data[0] or b"")
                assert found, data
                uids.append(int(found.group(1)))
        return uids

    def recreate(self, user: str, folder: str) -> None:
        """Delete ``folder`` and make it again: a new UIDVALIDITY, UIDs from 1 again."""
        with self.session(user) as client:
            typ, data = client.delete(_quoted(folder))
            assert typ == "OK", data
            typ, data = client.create(_quoted(folder))
            assert typ == "OK", data

    def uidvalidity(self, user: str, folder: str = "INBOX") -> int:
        with self.session(user) as client:
            typ, data = client.status(_quoted(folder), "(UIDVALIDITY)")
            assert typ == "OK", data
            found = re.search(rb"UIDVALIDITY (\d+)", data[0] or b"")
            assert found, data
            return int(found.group(1))

    def flags(self, user: str, folder: str = "INBOX") -> dict[int, set[str]]:
        """The flags of every message of ``folder`` by UID ({} when it holds none), but
        ``\\Recent`` (the server's, set by delivery)."""
        with self.session(user) as client:
            typ, data = client.select(_quoted(folder), readonly=True)
            assert typ == "OK", data
            if int(data[0] or b"0") == 0:
                return {}
            typ, data = client.uid("FETCH", "1:*", "(FLAGS)")
            assert typ == "OK", data
        found = {}
        for line in data:
            if not isinstance(line, bytes):
                continue
            uid = re.search(rb"UID (\d+)", line)
            flags = re.search(rb"FLAGS \(([^)]*)\)", line)
            if uid and flags:
                found[int(uid.group(1))] = set(flags.group(1).decode().split()) - {"\\Recent"}
        return found


def _quoted(folder: str) -> str:
    """An ASCII folder name as an IMAP quoted string (imaplib sends arguments as they are)."""
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _group_name(gid: int) -> str:
    import grp

    return grp.getgrgid(gid).gr_name
