"""Reading a mailbox's folder over IMAP (the ``MailFetcherFactory`` port), with imap-tools.

imap-tools gives the connection classes for the three kinds of security, LOGIN with its
quoting (and AUTHENTICATE PLAIN for a non-ASCII name or password), folder names in IMAP's
modified UTF-7, and its error classes; the few commands the poller needs are sent through its
imaplib client as they are (``UID SEARCH``, ``UID FETCH``, ``UID STORE``/``MOVE``), because
imap-tools' own ``fetch`` parses every message (the helpdesk wants the bytes as they were
sent) and its ``flag`` runs EXPUNGE after every STORE (which would remove messages someone
else flagged ``\\Deleted``).

What this adapter guarantees:

- **A timeout on every connection**: the socket's, for connecting and for every read and
  write after it (imaplib keeps the timeout the socket was made with, TLS included).
- **TLS verified**: imaplib's default context checks no certificate (``ssl._create_stdlib_
  context``); every TLS and STARTTLS connection here gets ``ssl.create_default_context()``
  instead (certificate chain and host name).
- **UIDs, not sequence numbers**, and only those above the one asked: ``UID SEARCH UID n:*``
  answers the folder's last message even when its UID is below n (RFC 3501 6.4.8: ``*`` is
  the largest UID in use), so the answer is filtered.
- **Nothing read changes the server**: ``BODY.PEEK[]`` leaves ``\\Seen`` alone; only
  :meth:`ImapSession.done` marks or moves, and the poller calls it once the messages are
  stored. A message over the size allowed is never downloaded (its size is asked first).
- **One message in memory at a time**: ``fetch`` is a generator.
- **No password in an error**: every failure becomes ``MailFetchFailed`` naming the step and
  the server's words, the password masked should they ever repeat it.
"""

from __future__ import annotations

import contextlib
import imaplib
import logging
import re
import ssl
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from imap_tools import BaseMailBox, MailBox, MailBoxStartTls, MailBoxUnencrypted
from imap_tools.errors import ImapToolsError, UnexpectedCommandStatusError
from imap_tools.utils import encode_folder

from helpdesk_core.domain.mail_fetch import ImapSecurity, MailboxImap, error_text
from helpdesk_core.ports.mail_fetch import FetchedMail, MailFetchFailed

log = logging.getLogger("helpdesk.mail.imap")

DEFAULT_TIMEOUT = 15.0
_UIDS_PER_COMMAND = 200  # a UID set per STORE/MOVE stays well under any server's line limit
_UID = re.compile(rb"\bUID (\d+)")
_SIZE = re.compile(rb"\bRFC822\.SIZE (\d+)")
# What the network, TLS, imaplib and imap-tools raise: each becomes MailFetchFailed.
_FAILURES = (OSError, EOFError, imaplib.IMAP4.error, ImapToolsError, UnicodeError, ValueError)


def _reason(exc: BaseException, timeout: float) -> str:
    if isinstance(exc, TimeoutError):
        return f"no answer within {timeout:g} s"
    if isinstance(exc, UnexpectedCommandStatusError):
        typ, data = exc.command_result[0], exc.command_result[1]
        words = b" ".join(d for d in data if isinstance(d, bytes)) if data else b""
        return f"{typ} {words.decode('utf-8', 'replace')}".strip()
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"the server's certificate is not trusted ({exc.verify_message})"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


class ImapFetchers:
    """Opens IMAP sessions; ``timeout`` (seconds) bounds connecting and every read and write,
    ``tls_context`` makes the context of each TLS connection (verifying by default)."""

    def __init__(
        self,
        timeout: float = DEFAULT_TIMEOUT,
        tls_context: Callable[[], ssl.SSLContext] = ssl.create_default_context,
    ) -> None:
        self._timeout = timeout
        self._tls_context = tls_context

    def open(self, config: MailboxImap, password: str) -> ImapSession:
        where = f"{config.host}:{config.port}"
        with self._failing(f"connecting to {where} ({config.security.value})", password):
            box = self._connect(config)
        try:
            with self._failing(f"logging in to {where} as {config.username}", password):
                if config.username.isascii() and password.isascii():
                    box.login(config.username, password, initial_folder=None)
                else:
                    box.login_utf8(config.username, password, initial_folder=None)
                _refresh_capabilities(box.client)
            with self._failing(f"selecting the folder {config.folder!r} on {where}", password):
                box.folder.set(config.folder)
                uidvalidity = _uidvalidity(box, config.folder)
            if config.move_to is not None:
                with self._failing(f"making the folder {config.move_to!r} on {where}", password):
                    if not box.folder.exists(config.move_to):
                        box.folder.create(config.move_to)
        except BaseException:
            _close(box)
            raise
        return ImapSession(box, config, uidvalidity, self._timeout, password)

    def _connect(self, config: MailboxImap) -> BaseMailBox:
        if config.security == ImapSecurity.TLS:
            return MailBox(
                config.host, config.port, timeout=self._timeout, ssl_context=self._tls_context()
            )
        if config.security == ImapSecurity.STARTTLS:
            return MailBoxStartTls(
                config.host, config.port, timeout=self._timeout, ssl_context=self._tls_context()
            )
        return MailBoxUnencrypted(config.host, config.port, timeout=self._timeout)

    @contextlib.contextmanager
    def _failing(self, what: str, password: str) -> Iterator[None]:
        try:
            yield
        except _FAILURES as exc:
            message = error_text(f"{what}: {_reason(exc, self._timeout)}", password)
            raise MailFetchFailed(message) from exc


class ImapSession:
    """A logged-in session with its folder selected (read-write: ``done`` changes flags)."""

    def __init__(
        self,
        box: BaseMailBox,
        config: MailboxImap,
        uidvalidity: int,
        timeout: float,
        password: str,
    ) -> None:
        self._box = box
        self._client = box.client
        self._config = config
        self._uidvalidity = uidvalidity
        self._timeout = timeout
        self._password = password

    def uidvalidity(self) -> int:
        return self._uidvalidity

    def fetch(self, after_uid: int, limit: int, max_bytes: int) -> Iterator[FetchedMail]:
        with self._failing("searching the folder"):
            typ, data = self._client.uid("SEARCH", f"UID {after_uid + 1}:*")
            _ok(typ, data)
        found = sorted({int(uid) for uid in (data[0] or b"").split()})
        wanted = [uid for uid in found if uid > after_uid][: max(limit, 0)]
        if not wanted:
            return
        sizes = self._sizes(wanted)
        for uid in wanted:
            size = sizes.get(uid)
            if size is None:
                continue  # expunged since the search: nothing to take
            if size > max_bytes:
                yield FetchedMail(uid, None, size)
                continue
            raw = self._body(uid)
            if raw is not None:
                yield FetchedMail(uid, raw, len(raw))

    def _sizes(self, uids: list[int]) -> dict[int, int]:
        sizes: dict[int, int] = {}
        with self._failing("reading message sizes"):
            typ, data = self._client.uid("FETCH", _uid_set(uids), "(RFC822.SIZE)")
            _ok(typ, data)
        for item in data:
            line = item[0] if isinstance(item, tuple) else item
            if not isinstance(line, bytes):
                continue
            uid, size = _UID.search(line), _SIZE.search(line)
            if uid and size:
                sizes[int(uid.group(1))] = int(size.group(1))
        return sizes

    def _body(self, uid: int) -> bytes | None:
        with self._failing(f"reading the message with UID {uid}"):
            typ, data = self._client.uid("FETCH", str(uid), "(BODY.PEEK[])")
            _ok(typ, data)
        for item in data:
            if isinstance(item, tuple) and len(item) == 2:
                found = _UID.search(item[0])
                if found and int(found.group(1)) == uid and isinstance(item[1], bytes):
                    return item[1]
        return None

    def done(self, uids: Iterable[int]) -> None:
        ordered = sorted(set(uids))
        move_to = self._config.move_to
        for start in range(0, len(ordered), _UIDS_PER_COMMAND):
            chunk = _uid_set(ordered[start : start + _UIDS_PER_COMMAND])
            if move_to is None:
                with self._failing("flagging messages \\Seen"):
                    _ok(*self._client.uid("STORE", chunk, "+FLAGS.SILENT", r"(\Seen)"))
            else:
                with self._failing(f"moving messages to {move_to!r}"):
                    self._move(chunk, move_to)

    def _move(self, chunk: str, move_to: str) -> None:
        # imaplib sends a bytes argument as it is (typeshed says str): the quoted UTF-7 name.
        folder: Any = encode_folder(move_to)
        capabilities = self._client.capabilities
        if "MOVE" in capabilities:
            _ok(*self._client.uid("MOVE", chunk, folder))
            return
        # RFC 6851's fallback: copy, flag \Deleted, expunge (only these UIDs with UIDPLUS).
        _ok(*self._client.uid("COPY", chunk, folder))
        _ok(*self._client.uid("STORE", chunk, "+FLAGS.SILENT", r"(\Deleted)"))
        if "UIDPLUS" in capabilities:
            _ok(*self._client.uid("EXPUNGE", chunk))
        else:
            _ok(*self._client.expunge())

    def close(self) -> None:
        _close(self._box)

    @contextlib.contextmanager
    def _failing(self, what: str) -> Iterator[None]:
        try:
            yield
        except _FAILURES as exc:
            where = f"{self._config.host}:{self._config.port} {self._config.folder!r}"
            message = f"{what} on {where}: {_reason(exc, self._timeout)}"
            raise MailFetchFailed(error_text(message, self._password)) from exc


def _ok(typ: str, data: Any) -> None:
    if typ != "OK":
        raise imaplib.IMAP4.error(
            " ".join(d.decode("utf-8", "replace") for d in data or () if isinstance(d, bytes))
            or typ
        )


def _uid_set(uids: Iterable[int]) -> str:
    return ",".join(str(uid) for uid in uids)


def _refresh_capabilities(client: imaplib.IMAP4) -> None:
    """What the server offers once logged in (MOVE, UIDPLUS): imaplib keeps only what it
    offered before, to an anonymous client."""
    typ, data = client.capability()
    if typ == "OK" and data and isinstance(data[-1], bytes):
        client.capabilities = tuple(data[-1].decode("ascii", "replace").upper().split())


def _uidvalidity(box: BaseMailBox, folder: str) -> int:
    """The UIDVALIDITY the SELECT answered (RFC 3501 requires it there), else STATUS's."""
    _code, values = box.client.response("UIDVALIDITY")
    for value in values or ():
        if isinstance(value, bytes) and value.strip().isdigit():
            return int(value)
    status = box.folder.status(folder, ["UIDVALIDITY"])
    if "UIDVALIDITY" not in status:
        raise imaplib.IMAP4.error("the server names no UIDVALIDITY for the folder")
    return int(status["UIDVALIDITY"])


def _close(box: BaseMailBox) -> None:
    """Log out politely; whatever happens, the socket is closed."""
    try:
        box.client.logout()
    except Exception:  # logging out is best effort: the session is over either way
        log.debug("IMAP logout failed", exc_info=True)
    with contextlib.suppress(Exception):
        box.client.shutdown()
