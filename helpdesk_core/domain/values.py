"""Enumerations and small value objects shared by the entities."""

from __future__ import annotations

import enum
import re
import unicodedata
from urllib.parse import quote, urlsplit, urlunsplit

from helpdesk_core.domain.errors import ValidationFailed


class TicketStatus(enum.StrEnum):
    """Where a ticket stands; the transition table lives in ``domain.tickets``."""

    NEW = "new"
    OPEN = "open"
    PENDING = "pending"  # waiting on the customer
    RESOLVED = "resolved"
    CLOSED = "closed"


# The statuses of a ticket still being worked on (the queue counts count these).
OPEN_STATUSES = (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING)


class TicketPriority(enum.StrEnum):
    """How urgent a ticket is, in ascending order."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"

    @property
    def rank(self) -> int:
        """0 for low up to 3 for urgent, for sorting."""
        return list(TicketPriority).index(self)


class StaffRole(enum.StrEnum):
    """The role of a staff member; customers have no staff profile."""

    AGENT = "agent"
    LEAD = "lead"
    ADMIN = "admin"


class Role(enum.StrEnum):
    """The role an acting principal has: a customer or one of the staff roles."""

    CUSTOMER = "customer"
    AGENT = "agent"
    LEAD = "lead"
    ADMIN = "admin"


class Channel(enum.StrEnum):
    """How a ticket or a message came in: through the API (the web apps, the library, the
    CLI) or by mail."""

    WEB = "web"
    EMAIL = "email"


class MessageVisibility(enum.StrEnum):
    """Public replies reach the customer; internal notes never do."""

    PUBLIC = "public"
    INTERNAL = "internal"


# One mailbox and nothing else: a dot-atom local part (letters and digits of any script and
# RFC 5322's atext: ! # $ % & ' * + - / = ? ^ _ ` { | } ~, dots between them) and a domain of
# at least two labels (letters and digits of any script, inner hyphens). Everything an address
# *header* may also hold is refused: display names, angle brackets, lists (commas,
# semicolons), comments (parentheses), quoted local parts, groups (colons), address literals
# ([...]), white space, control and invisible formatting characters: ``email.utils`` and
# ``smtplib`` would read any of them as another recipient or none (PITFALLS 13).
_ATOM = r"[\w!#$%&'*+/=?^`{|}~-]+"
_LABEL = r"[^\W_](?:(?:[^\W_]|-){0,61}[^\W_])?"
_EMAIL = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})+")
EMAIL_MAX_LENGTH = 254
EMAIL_LOCAL_MAX_LENGTH = 64


def normalize_email(value: str, field: str = "email") -> str:
    """One plain mailbox (``local@domain``) trimmed and lower-cased, or ValidationFailed naming
    ``field``: the one rule every address the helpdesk stores or mails to passes."""
    email = value.strip().lower()
    if (
        len(value) > EMAIL_MAX_LENGTH
        or not email.isprintable()
        or _EMAIL.fullmatch(email) is None
        or len(email.partition("@")[0]) > EMAIL_LOCAL_MAX_LENGTH
    ):
        raise ValidationFailed.field(field, "must be a valid e-mail address")
    return email


def clean_text(value: str, field: str, *, max_length: int, min_length: int = 1) -> str:
    """Single-line text (a name, a subject, a short description) trimmed of surrounding white
    space and checked for length and for characters that do not belong in one line of text:
    control characters (C0, DEL, C1, tab and line breaks included), U+2028/U+2029 and
    invisible formatting characters (Unicode category Cf: bidi overrides and isolates,
    zero-width spaces, the byte order mark, ...; but for the two joiners, see ``JOINERS``),
    which would let a name or subject pose as something else or break a mail header or a log
    line.

    ``max_length`` counts the text as sent (the API documents it so), ``min_length`` what is
    left once trimmed."""
    text = _checked_length(value, field, max_length, min_length)
    reason = line_problem(text)
    if reason is not None:
        raise ValidationFailed.field(field, reason)
    return text


def clean_body(value: str, field: str, *, max_length: int, min_length: int = 1) -> str:
    """Multi-line text (a ticket's description, a message's body): like :func:`clean_text`,
    but line breaks (LF, CR, U+2028, U+2029), tabs and formatting characters (a right-to-left
    mark, a zero-width joiner in an emoji) belong in prose; other control characters do not."""
    text = _checked_length(value, field, max_length, min_length)
    if _CONTROL.search(text):
        raise ValidationFailed.field(field, "must not contain control characters")
    if _SURROGATE.search(text):
        raise ValidationFailed.field(field, "must be valid Unicode text")
    return text


def prose_of(value: str, max_length: int, shortened: str = "") -> str:
    """``value`` made acceptable to :func:`clean_body`: its control characters (other than
    line breaks and tabs) and lone surrogates removed, and cut to ``max_length`` characters,
    ``shortened`` standing at the end when it was cut. For text from outside (a received
    mail) that must be stored rather than refused."""
    text = _SURROGATE.sub("", _CONTROL.sub("", value))
    if len(text) > max_length:
        text = text[: max(0, max_length - len(shortened))] + shortened
    return text


def _checked_length(value: str, field: str, max_length: int, min_length: int) -> str:
    text = value.strip()
    if len(text) < min_length:
        raise ValidationFailed.field(
            field,
            "must not be empty" if min_length == 1 else f"must be at least {min_length} characters",
        )
    if len(value) > max_length:
        raise ValidationFailed.field(field, f"must be at most {max_length} characters")
    return text


def line_problem(text: str) -> str | None:
    """Why ``text`` is not one clean line of text (a field error's message), or None."""
    if _SURROGATE.search(text):
        return "must be valid Unicode text"
    if _LINE_BREAK.search(text):
        return "must be a single line (no line breaks)"
    if _LINE_CONTROL.search(text):
        return "must not contain control characters"
    if not text.isascii():  # every character below is outside ASCII
        for ch in text:
            if unicodedata.category(ch) == "Cf" and ch not in JOINERS:
                return (
                    "must not contain invisible formatting characters "
                    f"(U+{ord(ch):04X} {unicodedata.name(ch, 'FORMAT CHARACTER')})"
                )
    return None


def one_line(text: str) -> str:
    """``text`` made safe for one line of a mail header or a log: every line break, control
    and invisible formatting character becomes a space, runs of white space one space, and a
    lone surrogate U+FFFD. For text stored before the rules of :func:`clean_text` (or that
    never passed them): what it says stays readable, and nothing in it can start a new line."""
    if _SURROGATE.search(text):
        text = _SURROGATE.sub("\ufffd", text)
    text = _LINE_CONTROL.sub(" ", text)
    if not text.isascii():
        text = "".join(" " if _not_in_a_line(ch) else ch for ch in text)
    return " ".join(text.split())


# The separators of a path, in any script, once NFKC has mapped the compatibility forms
# (U+FF0F FULLWIDTH SOLIDUS is "/", U+FE68 SMALL REVERSE SOLIDUS is "\\"): the slashes and
# backslashes a reader cannot tell from the real ones.
PATH_SEPARATORS = "/\\\u2044\u2215\u2216\u29f5\u29f8\u29f9\u2571\u2572"
_PATH_SEPARATOR = re.compile(f"[{re.escape(PATH_SEPARATORS)}]")


def clean_filename(value: str, field: str, *, max_length: int) -> str:
    """A file name reduced to one the helpdesk can show and a client can save safely:
    NFKC-normalized, its last path segment only (a separator of any script counts:
    ``a`` U+FF0F ``b.pdf`` and ``a`` U+2215 ``b.pdf`` are ``b.pdf``), without control,
    line-break or invisible formatting characters (U+202E RIGHT-TO-LEFT OVERRIDE made
    ``invoice`` U+202E ``fdp.exe`` read as a PDF), spaces collapsed and no leading dots (no
    ``.`` or ``..``, no hidden file). ValidationFailed naming ``field`` when nothing is left,
    when it is too long, or when it is not valid Unicode."""
    if _SURROGATE.search(value):
        raise ValidationFailed.field(field, "must be valid Unicode text")
    name = _PATH_SEPARATOR.split(unicodedata.normalize("NFKC", value))[-1]
    name = _LINE_CONTROL.sub("", name)
    if not name.isascii():
        name = "".join(ch for ch in name if not _not_in_a_line(ch))
    name = " ".join(name.split()).lstrip(".").strip()
    if not name:
        raise ValidationFailed.field(field, "must name a file")
    if len(name) > max_length:
        raise ValidationFailed.field(field, f"must be at most {max_length} characters")
    return name


# C0 controls but tab, line feed and carriage return, DEL and the C1 controls; a lone
# surrogate (only a str decoded with "surrogatepass" or built in Python holds one). One
# regular expression each, not a loop over the characters: every text of every request is
# checked, and the expression scans in C (docs/performance.md, "Measurements behind the code").
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
# What ends a line somewhere (str.splitlines' list), and every control character of a line.
_LINE_BREAK = re.compile(r"[\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
_LINE_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# Unicode categories one line of text never shows: controls, format, line and paragraph
# separators (surrogates are replaced first).
_NOT_IN_A_LINE = frozenset({"Cc", "Cf", "Zl", "Zp"})
# ... but for the two joiners: ZERO WIDTH NON-JOINER is spelling in Persian and several Indic
# scripts (a name written without it is misspelt), ZERO WIDTH JOINER builds emoji and Indic
# conjuncts; neither reorders or hides text the way a bidi override or a zero-width space can.
JOINERS = frozenset("\u200c\u200d")


def _not_in_a_line(ch: str) -> bool:
    return unicodedata.category(ch) in _NOT_IN_A_LINE and ch not in JOINERS


def unstorable(text: str) -> str | None:
    """Why no store can hold ``text`` (a field error's message), or None when every one can.

    SQLite stores any string; PostgreSQL ``text`` refuses U+0000, and no UTF-8 encoder takes a
    lone surrogate (JSON can carry ``"\\ud800"``). Input is held to the strictest store before
    any store sees it, so it is accepted or refused alike on every backend.
    """
    if "\x00" in text:
        return "must not contain NUL characters (U+0000)"
    if _SURROGATE.search(text):
        return "must be valid Unicode text (no lone surrogates)"
    return None


def storable(text: str) -> bool:
    """True when every store can hold ``text``."""
    return unstorable(text) is None


def name_key(name: str) -> str:
    """The case- and space-insensitive key that makes names unique (``Billing`` == ``billing``)."""
    return " ".join(name.split()).casefold()


URL_MAX = 2048


def is_web_url(url: str) -> bool:
    """An absolute http(s) URL of sane length with no white space or control characters."""
    if not url or len(url) > URL_MAX or any(ord(ch) <= 0x20 or ord(ch) == 0x7F for ch in url):
        return False
    try:
        parts = urlsplit(url)
        return parts.scheme in {"http", "https"} and bool(parts.hostname)
    except ValueError:  # e.g. an unbalanced IPv6 bracket
        return False


# What may stay as it is in a path, a query and a fragment (RFC 3986's unreserved and
# sub-delims, ":" and "@", and "%" of an existing escape); everything else is percent-encoded
# as UTF-8. A "%" that starts no escape is encoded itself.
_PATH_SAFE = "/:@!$&'()*+,;=-._~%"
_QUERY_SAFE = _PATH_SAFE + "?"
_BARE_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


def _percent_encoded(text: str, safe: str) -> str:
    return quote(_BARE_PERCENT.sub("%25", text), safe=safe)


def web_url(url: str) -> str:
    """``url`` as it goes on the wire: an absolute http(s) URL in ASCII, its host name in
    IDNA (``bücher.example`` is ``xn--bcher-kva.example``) and lower case, its path, query and
    fragment percent-encoded (``/é`` is ``/%C3%A9``); the same URL again for one already so.

    ValueError, saying why, when no such URL exists: not an absolute http(s) URL, user
    information in it, a host name IDNA cannot encode (an empty or over-long label), a port
    out of range, text that is not valid Unicode. Applied when a webhook's URL is saved and
    again before every attempt, for URLs stored before this rule existed.
    """
    if not is_web_url(url):
        raise ValueError("must be an absolute http(s) URL")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"the URL is not valid ({exc})") from None
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not carry credentials (user:password@host)")
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 literal, checked by urlsplit
        if not host.isascii():
            raise ValueError("the IPv6 address is not valid")
        netloc = f"[{host}]"
    else:
        try:
            netloc = host.encode("idna").decode("ascii").lower()
        except UnicodeError as exc:
            why = str(exc).rpartition("UnicodeError: ")[2].rstrip(")") or "invalid"
            raise ValueError(f"the host name cannot be encoded in IDNA ({why})") from None
    if port is not None:
        netloc += f":{port}"
    try:
        path = _percent_encoded(parts.path, _PATH_SAFE)
        query = _percent_encoded(parts.query, _QUERY_SAFE)
        fragment = _percent_encoded(parts.fragment, _QUERY_SAFE)
    except UnicodeError:  # a lone surrogate: no bytes stand for it
        raise ValueError("the URL is not valid Unicode text") from None
    return urlunsplit((parts.scheme.lower(), netloc, path, query, fragment))
