"""Reading received mail: RFC 5322 bytes into an :class:`InboundMail` (the ``MailParser`` port).

The standard library's ``email`` (``BytesParser``, ``email.policy.default``) reads the
structure and decodes headers (RFC 2047) and parameters (RFC 2231); nh3 sanitizes the HTML;
mail-parser-reply finds where quoted history and the signature begin. Mail from the world is
often broken, so nothing here raises: each header and each part is read on its own, and what
cannot be read is left out (a part's text decodes with replacement characters, a header that
does not parse is absent).
"""

from __future__ import annotations

import codecs
import logging
import mimetypes
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email import policy
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesHeaderParser, BytesParser, HeaderParser
from email.utils import parseaddr, parsedate_to_datetime
from html import unescape
from typing import Any, TypeVar, cast

import attrs
from mailparser_reply import EmailMessage as ReplyText

from adapters.mail.html import (
    HTML_DEPTH_MAX,
    html_to_text,
    nested_within,
    quoted,
    sanitized_html,
)
from helpdesk_core.domain.errors import ValidationFailed
from helpdesk_core.domain.mail import (
    AUTOMATIC_HEADERS,
    LOOP_HEADER,
    DeliveryReport,
    InboundMail,
    MailAddress,
    MailAttachment,
)
from helpdesk_core.domain.values import PATH_SEPARATORS, clean_filename, normalize_email, one_line

logger = logging.getLogger("helpdesk.mail.parsing")

_T = TypeVar("_T")

ID_MAX = 998  # a Message-ID longer than a header line is not one
FILENAME_MAX = 255  # as an attachment's name in a ticket (usecases.tickets.FILENAME_MAX)
# The languages whose reply headers ("On ... wrote:", "Am ... schrieb", "From: ... Sent: ...")
# and closings are recognised. Left out on purpose: da (its closings "Tak" and "Kh" match
# the start of "Take ..." and cut the rest), sv (any line starting "/word", a path, is a
# closing), pl (one "Data:" or "Do:" line is a reply header).
REPLY_LANGUAGES = ("en", "de", "fr", "es", "nl", "it", "cs", "ja", "ko", "zh")
# mail-parser-reply's expressions take super-linear time on some text (blank-line runs, long
# lines starting "On "): it reads at most this much, in lines of at most _WRAP.
REPLY_SCAN_MAX = 100_000
_WRAP = 200
_SOFT, _HARD = "\ue000", "\ue001"  # where a long line was wrapped: at a space, inside a word
_CLOSING_MAX = 50  # a closing ("Kind regards,") is a short line; a sentence is not one

_BRACKETED = re.compile(r"<([^<>]*)>")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # all but tab and line breaks
_WHITE_SPACE = re.compile(r"\s+")
_BLANK_RUN = re.compile(r"\n(?:[ \t]*\n){2,}")
_SEPARATORS = re.compile(f"[{re.escape(PATH_SEPARATORS)}]")
_NOT_DECODERS = frozenset({"punycode", "idna", "undefined", "unicode-escape", "raw-unicode-escape"})
_TYPES = mimetypes.MimeTypes()  # the built-in table only: the same names on every host


class EmailParser:
    """The ``MailParser`` port over the standard library's ``email``, nh3 and
    mail-parser-reply. Stateless: one instance serves every thread."""

    def identify(self, raw: bytes) -> str | None:
        """The Message-ID, from the headers only (``BytesHeaderParser``)."""
        headers = BytesHeaderParser(policy=policy.default)
        return _guarded(lambda: _message_id(headers.parsebytes(raw)), None, "message headers")

    def parse(self, raw: bytes) -> InboundMail:
        """Everything the helpdesk uses of the message; never raises."""
        body = _Body()  # what the parts hold
        try:
            message: Message = BytesParser(policy=policy.default).parsebytes(raw)
        except Exception:  # RecursionError for thousands of nested parts: the headers alone
            logger.debug("unreadable message structure", exc_info=True)
            headers = BytesHeaderParser(policy=policy.default)
            message = _guarded(lambda: headers.parsebytes(raw), Message(), "message headers")
            return _mail(message, body)
        for part in _guarded(lambda: list(_leaves(message)), list[Message](), "structure"):
            try:
                body.take(part)
            except Exception as exc:  # this part is left out, the others are read
                logger.debug("unreadable part: %s", type(exc).__name__)
        return _mail(message, body)


def _guarded(compute: Callable[[], _T], default: _T, what: str) -> _T:
    """``compute()``, or ``default`` when it raises: one bad header or part costs itself."""
    try:
        return compute()
    except Exception as exc:
        logger.debug("unreadable %s: %s", what, type(exc).__name__)
        return default


def _mail(message: Message, body: _Body) -> InboundMail:
    no_body: tuple[str, str | None] = ("", None)
    text, html = _guarded(body.text_and_html, no_body, "body")
    return InboundMail(
        message_id=_guarded(lambda: _message_id(message), None, "Message-ID"),
        sender=next(iter(_addresses(message, "from") + _addresses(message, "sender")), None),
        subject=one_line(_header(message, "subject") or ""),
        text=text,
        new_text=_guarded(lambda: new_text(text), text, "reply text") if text else "",
        html=html,
        in_reply_to=_ids(_header(message, "in-reply-to")),
        references=_ids(_header(message, "references")),
        to=_addresses(message, "to"),
        cc=_addresses(message, "cc"),
        reply_to=_addresses(message, "reply-to"),
        recipients=_guarded(lambda: _recipients(message), (), "recipients"),
        return_path=_guarded(lambda: _return_path(message), None, "Return-Path"),
        date=_guarded(lambda: _date(message), None, "Date"),
        headers=_flag_headers(message),
        attachments=tuple(body.attachments),
        report=_guarded(
            lambda: _delivery_report(body.statuses, body.originals), None, "delivery report"
        ),
    )


# ---------------------------------------------------------------- headers


def _header(message: Message, name: str) -> str | None:
    """The first ``name`` header's value, decoded and unfolded; None when absent or when it
    does not parse."""
    value = _guarded(lambda: message.get(name), None, f"{name} header")
    return None if value is None else str(value)


def _all(message: Message, name: str) -> list[Any]:
    return _guarded(lambda: list(message.get_all(name) or ()), [], f"{name} header")


def _message_id(message: Message) -> str | None:
    return next(iter(_ids(_header(message, "message-id"))), None)


def _ids(value: str | None) -> tuple[str, ...]:
    """The ids in a Message-ID, In-Reply-To or References value, without angle brackets and
    white space; a bare id when the value is one token. Junk yields nothing."""
    if not value:
        return ()
    found = _BRACKETED.findall(value)
    if not found and "<" not in value and ">" not in value and len(value.split()) == 1:
        found = [value]
    ids: dict[str, None] = {}
    for candidate in found:
        mid = "".join(candidate.split())
        if mid and len(mid) <= ID_MAX and mid.isprintable():
            ids.setdefault(mid, None)
    return tuple(ids)


def _address(value: str) -> str | None:
    try:
        return normalize_email(value)
    except ValidationFailed:
        return None


def _addresses(message: Message, name: str) -> tuple[MailAddress, ...]:
    """The usable addresses of every ``name`` header, each once, with its display name."""
    found: dict[str, MailAddress] = {}
    for header in _all(message, name):
        try:
            items = tuple(header.addresses)
        except Exception as exc:  # not an address header, or one the policy cannot read
            logger.debug("unreadable %s header: %s", name, type(exc).__name__)
            continue
        for item in items:
            address = _address(item.addr_spec)
            if address is not None and address not in found:
                found[address] = MailAddress(address, one_line(item.display_name or ""))
    return tuple(found.values())


def _recipients(message: Message) -> tuple[str, ...]:
    headers = [*_all(message, "delivered-to"), *_all(message, "x-original-to")]
    found = (_address(parseaddr(str(header))[1]) for header in headers)
    return tuple(dict.fromkeys(address for address in found if address is not None))


def _return_path(message: Message) -> str | None:
    value = _header(message, "return-path")
    bare = None if value is None else one_line(value).strip("<> ")
    if not bare:
        return bare  # None: no header; "": the null sender (a bounce, an automatic reply)
    return _address(parseaddr(bare)[1]) or bare.lower()


def _date(message: Message) -> datetime | None:
    value = _header(message, "date")
    if not value:
        return None
    moment = parsedate_to_datetime(value)
    return moment.replace(tzinfo=UTC) if moment.utcoffset() is None else moment  # -0000


def _flag_headers(message: Message) -> dict[str, str]:
    found = {name: _header(message, name) for name in (*AUTOMATIC_HEADERS, LOOP_HEADER)}
    return {name: one_line(value) for name, value in found.items() if value is not None}


# ---------------------------------------------------------------- the parts


def _leaves(message: Message) -> Iterator[Message]:
    """Every part that is not a multipart, depth first and in order, without recursion and
    without entering attached messages (their parts are theirs, not this message's)."""
    stack = [message]
    while stack:
        part = stack.pop()
        children = part.get_payload() if part.get_content_maintype() == "multipart" else None
        if isinstance(children, list):
            stack.extend(child for child in reversed(children) if isinstance(child, Message))
        else:
            yield part


@attrs.define
class _Body:
    """What the parts of one message hold, gathered part by part."""

    texts: list[str] = attrs.field(factory=list)
    htmls: list[str] = attrs.field(factory=list)
    attachments: list[MailAttachment] = attrs.field(factory=list)
    statuses: list[Message] = attrs.field(factory=list)
    originals: list[str] = attrs.field(factory=list)  # Message-IDs of attached messages

    def take(self, part: Message) -> None:
        kind = part.get_content_type()
        maintype = part.get_content_maintype()
        if kind in {"message/rfc822", "message/global"}:
            self.attachments.append(_attached_message(part))
            inner = part.get_payload(0)
            if isinstance(inner, Message) and (mid := _message_id(inner)) is not None:
                self.originals.append(mid)
        elif kind in {"text/rfc822-headers", "message/global-headers"}:
            headers = HeaderParser(policy=policy.default).parsestr(_text_of(part))
            if (mid := _message_id(headers)) is not None:
                self.originals.append(mid)
        elif kind in {"message/delivery-status", "message/global-delivery-status"}:
            self.statuses.append(part)
        elif part.get_content_disposition() == "attachment":
            self.attachments.append(_attachment(part))
        elif kind == "text/plain" or maintype == "multipart":  # a multipart without its parts
            self.texts.append(_text_of(part))
        elif kind == "text/html":
            self.htmls.append(_text_of(part))
        elif maintype not in {"text", "message"} or part.get_filename():
            self.attachments.append(_attachment(part))  # images, documents, text as a file

    def text_and_html(self) -> tuple[str, str | None]:
        text = "\n\n".join(text.strip("\n") for text in self.texts if text.strip())
        if not self.htmls:
            return text.strip(), None
        raw = "\n".join(self.htmls)
        if not nested_within(raw, HTML_DEPTH_MAX):
            logger.debug("HTML nested deeper than %d elements: read as text only", HTML_DEPTH_MAX)
            return (text or unescape(re.sub(r"<[^<>]*>", " ", raw))).strip(), None
        html = _guarded(lambda: sanitized_html(raw).strip(), "", "HTML")
        if not text and html:
            text = _guarded(lambda: html_to_text(html), "", "HTML text")
        return text.strip(), html


def _text_of(part: Message) -> str:
    """A text part's payload decoded: its charset, else UTF-8, else Windows-1252 (what
    undeclared 8-bit text mostly is), with replacement characters, never an error; line
    breaks as LF, control characters but tab removed, format=flowed lines joined."""
    data = cast(bytes, part.get_payload(decode=True))  # a leaf, or a multipart without parts
    text = _decoded(data, part.get_content_charset())
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    if str(part.get_param("format", "")).lower() == "flowed":
        text = unflowed(text, delsp=str(part.get_param("delsp", "")).lower() == "yes")
    return text


def _decoded(data: bytes, charset: str | None) -> str:
    if charset and charset not in {"us-ascii", "ascii"}:
        try:
            if codecs.lookup(charset).name not in _NOT_DECODERS:
                return data.decode(charset, "replace")
        except (LookupError, ValueError, TypeError):
            pass  # an unknown charset, or a codec that does not decode bytes to text
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("windows-1252", "replace")


def unflowed(text: str, *, delsp: bool = False) -> str:
    """``text`` of a ``format=flowed`` part (RFC 3676) with its soft line breaks undone: a
    line ending in a space continues on the next one of the same quote depth. Space-stuffing
    is removed; quoted lines come out as ``> `` (one ``>`` per level) and the text."""
    lines: list[str] = []
    joined, joined_depth = None, 0  # a paragraph still being joined, and its quote depth
    for line in text.split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        content = line[depth + (line[depth : depth + 1] == " ") :]  # without space-stuffing
        flowed = content.endswith(" ") and content != "-- "
        if joined is not None and depth != joined_depth:
            lines.append(quoted(joined_depth, joined))
            joined = None
        joined = (joined or "") + (content[:-1] if flowed and delsp else content)
        joined_depth = depth
        if not flowed:
            lines.append(quoted(depth, joined))
            joined = None
    return "\n".join(lines if joined is None else [*lines, quoted(joined_depth, joined)])


def _attachment(part: Message) -> MailAttachment:
    kind = part.get_content_type()
    content_id = "".join((_header(part, "content-id") or "").split()).strip("<>") or None
    return MailAttachment(
        filename=_filename(part, kind),
        content_type=kind,
        data=cast(bytes, part.get_payload(decode=True)) or b"",
        inline=content_id is not None and part.get_content_disposition() != "attachment",
        content_id=content_id,
    )


def _filename(part: Message, kind: str) -> str:
    """The part's file name (RFC 2231, or RFC 2047 as many clients send it), its last path
    segment only; ``attachment`` and the type's extension when it has none usable."""
    name = _guarded(part.get_filename, None, "file name")
    if name and "=?" in name:
        name = _guarded(lambda: str(make_header(decode_header(name or ""))), name, "file name")
    return _fitted_name(name or "") or "attachment" + (_TYPES.guess_extension(kind) or "")


def _fitted_name(name: str) -> str | None:
    name = _guarded(
        lambda: clean_filename(name, "filename", max_length=len(name) + 1), "", "file name"
    )
    if len(name) > FILENAME_MAX:  # keep the extension: it says what the file is
        stem, dot, extension = name.rpartition(".")
        kept = dot + extension if stem and len(extension) < 16 else ""
        name = name[: FILENAME_MAX - len(kept)].rstrip() + kept
    return name or None


def _attached_message(part: Message) -> MailAttachment:
    """An attached message as a file ``<its subject>.eml`` holding its bytes."""
    kind = part.get_content_type()
    inner = cast(Message, part.get_payload(0))  # the parser reads an attached message as one
    try:
        data = inner.as_bytes()
    except Exception:  # the default policy refolds headers; compat32 writes them as read
        data = inner.as_bytes(policy=policy.compat32)
    subject = _SEPARATORS.sub("_", one_line(_header(inner, "subject") or ""))
    name = _fitted_name(subject + ".eml") if subject else None
    return MailAttachment(name or "message.eml", kind, data)


# ---------------------------------------------------------------- delivery reports


def _delivery_report(statuses: list[Message], originals: list[str]) -> DeliveryReport | None:
    """What the delivery-status parts (RFC 3464) say of their recipients: the failed ones
    (all, when none failed), with the action, status and diagnostic of the first."""
    blocks: list[dict[str, str]] = []
    for part in statuses:
        fields = part.get_payload()
        for block in fields if isinstance(fields, list) else ():
            if isinstance(block, Message):
                names = {name.lower() for name in block}
                if names & {"final-recipient", "original-recipient", "action"}:
                    blocks.append({name: one_line(_header(block, name) or "") for name in names})
    if not blocks:
        return None
    failed = [b for b in blocks if _word(b, "action") == "failed" or _word(b, "status")[:1] == "5"]
    chosen = failed or blocks
    recipients: dict[str, None] = {}
    for block in chosen:
        for name in ("final-recipient", "original-recipient"):
            address = _address(block.get(name, "").rpartition(";")[2].strip().strip("<>"))
            if address is not None:
                recipients.setdefault(address, None)
                break
    diagnostic = chosen[0].get("diagnostic-code", "")
    kind, semicolon, words = diagnostic.partition(";")
    if semicolon and len(kind.split()) == 1:  # "smtp; 550 5.1.1 ..."
        diagnostic = words.strip()
    action, status = _word(chosen[0], "action"), _word(chosen[0], "status")
    original = originals[0] if originals else None
    return DeliveryReport(tuple(recipients), action, status, diagnostic, original)


def _word(block: dict[str, str], name: str) -> str:
    """The first word of a field: ``failed``, ``5.1.1`` (without a comment after it)."""
    return (block.get(name, "").split() or [""])[0].lower()


# ---------------------------------------------------------------- what is new in a reply


def new_text(text: str) -> str:
    """What the sender wrote this time: ``text`` up to the first reply header of another
    message ("On ... wrote:", "From: ... Sent: ...", "-----Original Message-----", in the
    :data:`REPLY_LANGUAGES`), without the signature and disclaimers mail-parser-reply finds
    there (see :func:`_without_signature`); ``text`` itself when that leaves nothing. Only
    the first :data:`REPLY_SCAN_MAX` characters are read: a longer text is all new unless a
    reply header is found in them."""
    probe, partial = _probe(text)
    message = ReplyText(text=probe, languages=list(REPLY_LANGUAGES), keep_hyphen_lists=True)
    replies = message.read().replies
    first = replies[0] if replies else None
    if first is None or first.headers or (partial and len(replies) < 2):
        return text  # nothing written above the first header: a forward, or only a quote
    content = first.content
    for disclaimer in first.disclaimers:
        content = content.replace(disclaimer, "") if disclaimer else content
    content = _without_signature(content, message.SIGNATURE_REGEX)
    if len(replies) == 1 and content == first.content:
        return _without_quote_at_end(text)  # no header, no signature: as it was written
    content = content.replace(_SOFT + "\n", " ").replace(_HARD + "\n", "")
    content = _BLANK_RUN.sub("\n\n", content.replace(_SOFT, " ").replace(_HARD, "")).strip()
    return _without_quote_at_end(_restored(content, text) if content else text)


def _probe(text: str) -> tuple[str, bool]:
    """``text`` as mail-parser-reply may read it in bounded time: at most
    :data:`REPLY_SCAN_MAX` characters (True when cut), blank-line runs as one blank line,
    lines over :data:`_WRAP` characters wrapped with a mark that is undone afterwards."""
    partial = len(text) > REPLY_SCAN_MAX
    head = text[:REPLY_SCAN_MAX].rpartition("\n")[0] if partial else text
    head = _BLANK_RUN.sub("\n\n", head.replace(_SOFT, "\ufffd").replace(_HARD, "\ufffd"))
    lines = []
    for line in head.split("\n"):
        while len(line) > _WRAP:
            cut = line.rfind(" ", _WRAP // 2, _WRAP)
            at_space = cut >= 0
            cut = cut if at_space else _WRAP
            lines.append(line[:cut] + (_SOFT if at_space else _HARD))
            line = line[cut + at_space :]  # the space where it was cut is the mark's
        lines.append(line)
    return "\n".join(lines), partial


def _without_signature(content: str, signature: re.Pattern[str]) -> str:
    """``content`` up to the first signature that is one: a ``--`` line, a line of dashes
    or underscores, "Sent from my ...", or a closing on a short line of its own."""
    position = 0
    for _ in range(5):
        match = signature.search(content, position)
        if match is None:
            return content
        start = match.start() + len(match.group()) - len(match.group().lstrip())
        block = content[start:]
        first_line = block.partition("\n")[0].lstrip("> ").strip()
        if (
            "\n" not in block.strip()  # the last line: "Get Outlook for iOS<https://...>"
            or not first_line.strip("-_")  # "--", a line of dashes or underscores
            or (len(first_line) <= _CLOSING_MAX and not first_line.endswith(_SOFT))
        ):
            return content[:start].rstrip()
        position = content.find("\n", start) + 1 or len(content)
    return content


def _restored(result: str, text: str) -> str:
    """``result`` (the library's text: lines stripped, blank runs as one) as the lines of
    ``text`` it was cut from, so indented lines (a log, a listing) keep their indentation;
    ``result`` itself when it is not ``text``'s first lines (a disclaimer was taken out)."""
    wanted = result.split("\n")
    kept: list[str] = []
    for line in text.split("\n"):
        if len(kept) == len(wanted):
            break
        if line.strip() == wanted[len(kept)]:
            kept.append(line.rstrip())
        elif line.strip():
            return result
    return "\n".join(kept) if len(kept) == len(wanted) else result


def _without_quote_at_end(text: str) -> str:
    """``text`` without the quoted message at its end (``>`` lines) when a line with a date
    ending in a colon introduces it ("Le 4 mars 2025 à 10:12, X a écrit :"): the cut for
    the languages the library does not know, or whose expressions never match (es, fr)."""
    lines = text.split("\n")
    end = len(lines)
    while end and (not lines[end - 1].strip() or lines[end - 1].startswith(">")):
        end -= 1
    first = max(0, end - 1 - (end > 1 and len(lines[end - 1].strip()) < 20))  # "wrote:" alone
    attribution = " ".join(lines[first:end]).rstrip()
    quoted = any(line.startswith(">") for line in lines[end:])
    if quoted and attribution.endswith(":") and re.search(r"\d", attribution):
        return "\n".join(lines[:first]).rstrip() or text
    return text
