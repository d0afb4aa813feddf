"""The text rules of the core (``helpdesk_core.domain.values``): one line for names, subjects
and short descriptions, prose for bodies, file names, URLs as they go on the wire, and text
made safe for a mail header or a log whatever it holds (issue 20, findings 2, 3 and 9)."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpdesk_core.domain.errors import ValidationFailed
from helpdesk_core.domain.values import (
    JOINERS,
    clean_body,
    clean_filename,
    clean_text,
    one_line,
    storable,
    web_url,
)

NOT_IN_A_LINE = {"Cc", "Cf", "Zl", "Zp", "Cs"}


# ---------------------------------------------------------------- one line: names, subjects


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("Printer\r\nBcc: all@example.com", "single line"),
        ("Printer\non fire", "single line"),
        ("Printer\u2028on fire", "single line"),  # LINE SEPARATOR
        ("Printer\u2029on fire", "single line"),  # PARAGRAPH SEPARATOR
        ("Printer\x85on fire", "single line"),  # NEXT LINE (C1)
        ("Printer\x0bon fire", "single line"),  # vertical tab
        ("Printer\ton fire", "control"),
        ("Printer\x9bon fire", "control"),  # a C1 control (CSI)
        ("Printer\x7fon fire", "control"),
        ("Ann\u202eeviL", "U+202E RIGHT-TO-LEFT OVERRIDE"),
        ("Ann\u2066x\u2069", "U+2066"),  # a bidi isolate
        ("Ann\u200b", "U+200B"),  # zero width space
        ("\ufeffAnn", "U+FEFF"),  # byte order mark
        ("Ann\u200eB", "U+200E"),  # left-to-right mark
        ("Ann\udce9", "Unicode"),
    ],
)
def test_one_line_fields_refuse_breaks_controls_and_invisible_formatting(
    raw: str, message: str
) -> None:
    with pytest.raises(ValidationFailed, match=re.escape(message)) as caught:
        clean_text(raw, "display_name", max_length=200)
    assert [e.field for e in caught.value.errors] == ["display_name"]


@pytest.mark.parametrize("text", ["Müller", "渡辺", "Ελένη", "O'Brien-Smith", "Zoë 🙂", "ت ن"])
def test_one_line_fields_keep_every_script(text: str) -> None:
    assert clean_text(f"  {text} ", "name", max_length=50) == text


@pytest.mark.parametrize(
    "text",
    [
        "مهر‌داد",  # Mehrdad: ZWNJ is Persian spelling
        "👨‍👩‍👧",  # a family emoji: ZWJ sequences
    ],
)
def test_the_joiners_are_spelling_not_spoofing(text: str) -> None:
    assert clean_text(text, "name", max_length=50) == text
    assert one_line(text) == text
    assert clean_filename(f"{text}.pdf", "filename", max_length=50) == f"{text}.pdf"


@given(
    st.text(
        alphabet=st.one_of(
            st.characters(max_codepoint=0xA0),  # C0, DEL, C1, white space
            st.sampled_from("\u00ad\u061c\u200b\u200d\u200e\u202e\u2066\u2069\ufeff"),
            st.sampled_from("\u2028\u2029\u0085"),
            st.characters(min_codepoint=0xD7FE, max_codepoint=0xE001, exclude_categories=()),
            st.characters(),
        ),
        max_size=30,
    )
)
def test_one_line_refuses_exactly_controls_formatting_and_separators(raw: str) -> None:
    """Reference: the Unicode category of each character (Cc, Cf, Zl, Zp, Cs refused)."""
    text = raw.strip()
    if text:
        if {unicodedata.category(ch) for ch in text if ch not in JOINERS} & NOT_IN_A_LINE:
            with pytest.raises(ValidationFailed):
                clean_text(raw, "name", max_length=100)
        else:
            assert clean_text(raw, "name", max_length=100) == text
            assert one_line(text) == " ".join(text.split())
    cleaned = one_line(raw)  # whatever it held: one line of storable text
    assert cleaned == cleaned.strip()
    assert len(cleaned.splitlines()) <= 1
    assert storable(cleaned)
    assert not {unicodedata.category(ch) for ch in cleaned if ch not in JOINERS} & NOT_IN_A_LINE


def test_one_line_keeps_what_the_text_says() -> None:
    assert one_line("Printer\r\nBcc: x@example.com\u2028now\u202e!\x00") == (
        "Printer Bcc: x@example.com now !"
    )
    assert one_line("bad \udce9 half") == "bad \ufffd half"


# ---------------------------------------------------------------- prose: bodies


def test_a_body_keeps_its_lines_and_formatting_but_no_controls() -> None:
    text = "Hello,\r\n\tthe printer\u2028is on fire \u200f\U0001f468\u200d\U0001f469"
    assert clean_body(text, "body", max_length=100) == text
    for raw in ("a\x00b", "a\x1bb", "a\x85b", "a\x9bb"):
        with pytest.raises(ValidationFailed, match="control"):
            clean_body(raw, "body", max_length=100)


# ---------------------------------------------------------------- file names


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        ("invoice.pdf", "invoice.pdf"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\ann\\report.pdf", "report.pdf"),
        ("a\uff0fb.pdf", "b.pdf"),  # FULLWIDTH SOLIDUS
        ("a\uff3cb.pdf", "b.pdf"),  # FULLWIDTH REVERSE SOLIDUS
        ("a\u2215b.pdf", "b.pdf"),  # DIVISION SLASH
        ("a\u2044b.pdf", "b.pdf"),  # FRACTION SLASH
        ("a\u29f8b.pdf", "b.pdf"),  # BIG SOLIDUS
        ("a\ufe68b.pdf", "b.pdf"),  # SMALL REVERSE SOLIDUS
        ("invoice\u202efdp.exe", "invoicefdp.exe"),  # the override is dropped, not obeyed
        ("re\u200bport\u2066.pdf\u2069", "report.pdf"),
        ("line\r\nbreak.txt", "linebreak.txt"),
        ("\uff49\uff4e\uff56\uff4f\uff49\uff43\uff45.pdf", "invoice.pdf"),  # NFKC
        ("e\u0301te\u0301.txt", "\u00e9t\u00e9.txt"),  # NFKC composes
        ("  many   spaces .txt ", "many spaces .txt"),
        (".hidden", "hidden"),
    ],
)
def test_file_names_are_reduced_to_a_safe_last_segment(raw: str, kept: str) -> None:
    assert clean_filename(raw, "filename", max_length=255) == kept


@pytest.mark.parametrize("raw", [".", "..", "../..", "\u2215..", "\u200b", "\u202e..", "/", ""])
def test_a_file_name_with_nothing_left_is_refused(raw: str) -> None:
    with pytest.raises(ValidationFailed, match="must name a file"):
        clean_filename(raw, "attachments.0.filename", max_length=255)


@given(st.text(max_size=40))
def test_a_kept_file_name_has_no_separator_no_invisible_character_and_is_stable(raw: str) -> None:
    try:
        name = clean_filename(raw, "filename", max_length=255)
    except ValidationFailed:
        return
    assert name == unicodedata.normalize("NFKC", name)
    assert not any(sep in name for sep in "/\\\u2215\u2044\u29f8\u2216")
    assert not name.startswith(".")  # nor "." nor ".."
    assert not {unicodedata.category(ch) for ch in name} & NOT_IN_A_LINE
    assert clean_filename(name, "filename", max_length=255) == name


# ---------------------------------------------------------------- URLs on the wire


@pytest.mark.parametrize(
    ("raw", "wire"),
    [
        ("https://hooks.example.com/in", "https://hooks.example.com/in"),
        ("http://93.184.215.14/\u00e9", "http://93.184.215.14/%C3%A9"),
        (
            "https://B\u00fccher.Example:8443/a?x=\u00e9&y=%zz#f",
            ("https://xn--bcher-kva.example:8443/a?x=%C3%A9&y=%25zz#f"),
        ),
        ("HTTP://H.EXAMPLE.COM/Path", "http://h.example.com/Path"),
        ("http://h.example.com/%C3%A9?a=%20", "http://h.example.com/%C3%A9?a=%20"),
        ("http://[2001:db8::1]:8080/x", "http://[2001:db8::1]:8080/x"),
        ("http://h.example.com/a\u202eb", "http://h.example.com/a%E2%80%AEb"),
    ],
)
def test_urls_are_encoded_as_they_go_on_the_wire(raw: str, wire: str) -> None:
    assert web_url(raw) == wire
    assert web_url(wire) == wire  # stable
    assert wire.isascii()


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("ftp://h.example.com/", "absolute http"),
        ("/relative", "absolute http"),
        ("http://h.example.com/a b", "absolute http"),
        ("http://xn--\u00e9.example/", "IDNA"),
        ("http://" + "\u00e9" * 64 + ".example/", "IDNA"),
        ("http://a..example/", "IDNA"),
        ("http://h.example.com/\udce9", "Unicode"),
        ("http://user:pw@h.example.com/", "credentials"),
        ("http://h.example.com:99999/", "not valid"),
    ],
)
def test_urls_no_encoding_reaches_are_refused_saying_why(raw: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        web_url(raw)
