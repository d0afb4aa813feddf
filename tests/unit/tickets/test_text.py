"""The text of a ticket: its subject is one line of visible text of at most 200 characters;
its description and every message's body are prose of at most 20,000 characters (line
breaks, tabs and formatting characters allowed, other control characters not). The length
counts the text as sent, and what is kept is trimmed. A refused text changes nothing."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from helpdesk_core.domain.errors import ValidationFailed
from helpdesk_core.domain.values import MessageVisibility
from helpdesk_core.usecases.tickets import BODY_MAX, SUBJECT_MAX, OpenTicket
from tests.unit.tickets.support import Desk

Send = Callable[[str], str]  # sends the text in its field; returns what was kept


def sender(desk: Desk, field: str) -> Send:
    """The use case that takes ``field``: opening (subject, description), a customer's reply
    (body) and a staff member's internal note (note)."""
    ticket = desk.open(department=desk.billing)

    def send(text: str) -> str:
        if field == "subject":
            return desk.open(subject=text).subject
        if field == "description":
            command = OpenTicket("Printer", text)
            return desk.tickets.open_ticket(desk.ann, command).ticket.description
        if field == "body":
            return desk.reply(desk.ann, ticket, text).body
        return desk.reply(desk.agent, ticket, text, MessageVisibility.INTERNAL).body

    return send


PROSE = ["description", "body", "note"]
EVERY_FIELD = ["subject", *PROSE]


def _refused(desk: Desk, field: str, text: str, message: str) -> None:
    send = sender(desk, field)
    named = "body" if field == "note" else field
    with desk.refuses(ValidationFailed, named, match=message):
        send(text)


# ---------------------------------------------------------------- every field


@pytest.mark.parametrize("field", EVERY_FIELD)
@pytest.mark.parametrize("text", ["", "   ", "\t\n "], ids=["empty", "spaces", "white-space"])
def test_no_text_is_refused(desk: Desk, field: str, text: str) -> None:
    _refused(desk, field, text, "must not be empty")


@pytest.mark.parametrize("field", EVERY_FIELD)
def test_text_is_kept_trimmed(desk: Desk, field: str) -> None:
    assert sender(desk, field)("  Printer on fire \n") == "Printer on fire"


@pytest.mark.parametrize("field", EVERY_FIELD)
@pytest.mark.parametrize("text", ["a\x00b", "a\x1bb", "a\x7fb", "a\x9bb"], ids=repr)
def test_control_characters_are_refused(desk: Desk, field: str, text: str) -> None:
    _refused(desk, field, text, "control characters")


@pytest.mark.parametrize("field", EVERY_FIELD)
def test_text_that_is_not_valid_unicode_is_refused(desk: Desk, field: str) -> None:
    _refused(desk, field, "bad \udce9 half", "valid Unicode")


@pytest.mark.parametrize("field", EVERY_FIELD)
@pytest.mark.parametrize(
    "text",
    [
        "Müller 渡辺 Ελένη",
        "Zoë 🙂",
        "👨\u200d👩\u200d👧",  # a family: ZWJ sequences
        "\u0645\u0647\u0631\u200c\u062f\u0627\u062f",  # Mehrdad: ZWNJ is Persian spelling
    ],
)
def test_every_script_emoji_and_joiner_is_kept(desk: Desk, field: str, text: str) -> None:
    assert sender(desk, field)(text) == text


# ---------------------------------------------------------------- lengths


def test_a_subject_is_at_most_200_characters_as_sent(desk: Desk) -> None:
    send = sender(desk, "subject")
    assert send("x" * SUBJECT_MAX) == "x" * SUBJECT_MAX
    for text in ("x" * (SUBJECT_MAX + 1), " " + "x" * SUBJECT_MAX):
        with desk.refuses(ValidationFailed, "subject", match="at most 200 characters"):
            send(text)


@pytest.mark.parametrize("field", PROSE)
def test_prose_is_at_most_20000_characters_as_sent(desk: Desk, field: str) -> None:
    send = sender(desk, field)
    assert send("x" * BODY_MAX) == "x" * BODY_MAX
    named = "body" if field == "note" else field
    for text in ("x" * (BODY_MAX + 1), "\n" + "x" * BODY_MAX):
        with desk.refuses(ValidationFailed, named, match="at most 20000 characters"):
            send(text)


# ---------------------------------------------------------------- a subject is one line


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Printer\non fire", "single line"),
        ("Printer\r\nBcc: all@example.com", "single line"),
        ("Printer\u2028on fire", "single line"),  # LINE SEPARATOR
        ("Printer\u2029on fire", "single line"),  # PARAGRAPH SEPARATOR
        ("Printer\x85on fire", "single line"),  # NEXT LINE (C1)
        ("Printer\x0bon fire", "single line"),  # vertical tab
        ("Printer\ton fire", "control characters"),
        ("Printer\u202eerif no", "U+202E RIGHT-TO-LEFT OVERRIDE"),
        ("Printer \u2066on fire\u2069", "U+2066"),  # a bidi isolate
        ("Prin\u200bter", "U+200B ZERO WIDTH SPACE"),
        ("\ufeffPrinter", "U+FEFF"),  # byte order mark
        ("Printer\u200e", "U+200E"),  # left-to-right mark
    ],
    ids=repr,
)
def test_a_subject_is_one_line_of_visible_text(desk: Desk, text: str, message: str) -> None:
    _refused(desk, "subject", text, message)


# ---------------------------------------------------------------- prose keeps its lines


@pytest.mark.parametrize("field", PROSE)
def test_prose_keeps_its_lines_tabs_and_formatting(desk: Desk, field: str) -> None:
    text = "Hello,\r\n\tthe printer\u2028is on fire \u200f\u202eok\n\nThanks"
    assert sender(desk, field)(text) == text


@pytest.mark.parametrize("field", PROSE)
@pytest.mark.parametrize("text", ["It \x9b2J jams.", "Tha\x85nks", "a\x0cb"], ids=repr)
def test_prose_refuses_c1_controls_and_the_form_feed(desk: Desk, field: str, text: str) -> None:
    _refused(desk, field, text, "control characters")
