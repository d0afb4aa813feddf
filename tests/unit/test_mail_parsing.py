"""The mail parser (``adapters/mail/parsing.py``, issue 24) on the corpus of real-shaped
messages in ``tests/mail_corpus/`` and on hostile input.

Each corpus file is parsed to the values ingestion relies on: the ids that thread it, who
sent it to whom, the text with and without quoted history, sanitized HTML, attachments,
delivery reports and the headers that mark automatic mail. Mail from the world is often
broken, so no bytes at all may make ``parse`` raise (hypothesis)."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.mail.parsing import EmailParser, new_text
from helpdesk_core.domain.mail import (
    DeliveryReport,
    InboundMail,
    MailAddress,
    automatic_reason,
    reply_tokens_in,
)

CORPUS = Path(__file__).resolve().parents[1] / "mail_corpus"
SUPPORT = "support@support.example.com"
HELPDESK_ID = "ticket-1001.e4b7c1d2a9f0@support.example.com"
ANN_FIRST = "8f2d6c1e-4b3a-4e7f-9d2c-1a5b6c7d8e9f@customer.example"
THREAD = (ANN_FIRST, HELPDESK_ID)
TOKEN_ADDRESS = "support+t1001-3f9a2c7d1e5b@support.example.com"
ANN = MailAddress("ann@customer.example", "Ann Example")
HELPDESK = MailAddress(SUPPORT, "Example Support")
QUOTED = "thank you for your message. Could you please switch the printer off and on"

parser = EmailParser()


def corpus(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def parse(name: str) -> InboundMail:
    return parser.parse(corpus(name))


def cet(day: int, hour: int, minute: int, second: int) -> datetime:
    """A time of March 2025 in Central European (winter) Time."""
    return datetime(2025, 3, day, hour, minute, second, tzinfo=timezone(timedelta(hours=1)))


PDF_SHA256 = "20af7c1cafdb8a668ec2fe771b58056471e5577ad6e2f52d25f84c4d3b3aa9af"
PNG_SHA256 = "6050e8eb04ba7dd4884462e2ce039e3a4f48f0b342f0f1abe84c4f626b31e7b5"

CORPUS_FILES = sorted(path.name for path in CORPUS.glob("*.eml"))


# ---------------------------------------------------------------- the corpus as a whole


def test_the_readme_lists_every_corpus_file() -> None:
    listed = set(re.findall(r"^\| `([\w.]+\.eml)` \|", (CORPUS / "README.md").read_text(), re.M))
    assert len(CORPUS_FILES) >= 14
    assert listed == set(CORPUS_FILES)


@pytest.mark.parametrize("name", CORPUS_FILES)
def test_identify_agrees_with_parse_and_crlf_reads_as_lf(name: str) -> None:
    """On the wire every line ends in CR LF; the corpus is stored with LF."""
    raw, crlf_raw = corpus(name), corpus(name).replace(b"\n", b"\r\n")
    lf, crlf = parser.parse(raw), parser.parse(crlf_raw)
    assert parser.identify(raw) == parser.identify(crlf_raw) == lf.message_id
    assert attrs.evolve(crlf, attachments=()) == attrs.evolve(lf, attachments=())
    assert [a.filename for a in crlf.attachments] == [a.filename for a in lf.attachments]


@pytest.mark.parametrize("name", CORPUS_FILES)
def test_every_text_is_storable(name: str) -> None:
    """No NUL, no lone surrogate, no control character but tab and line feed."""
    mail = parse(name)
    for text in (mail.text, mail.new_text, mail.html or "", mail.subject):
        assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]", text)


# ---------------------------------------------------------------- one file each


def test_outlook_reply() -> None:
    mail = parse("outlook_reply.eml")
    assert mail.message_id == (
        "AM0PR07MB4531C2D0E5F1A2B3C4D5E6F7A8B9C@AM0PR07MB4531.eurprd07.prod.outlook.com"
    )
    assert (mail.in_reply_to, mail.references) == ((HELPDESK_ID,), THREAD)
    assert (mail.sender, mail.to, mail.cc) == (ANN, (HELPDESK,), ())
    assert mail.subject == "RE: [#1001] Printer on floor 3 is offline"
    assert mail.date == datetime(2025, 3, 4, 9, 47, 8, tzinfo=UTC)
    assert mail.new_text == (
        "Hi,\n\nI restarted the printer as you suggested, but the display now shows "
        '"Error 0x7F" and it still does not appear in the print dialog.\n\n'
        "Could someone from IT come by this afternoon?"
    )
    assert "Kind regards\nAnn\n\nFrom: Example Support" in mail.text  # the quote is kept
    assert "Sent: Tuesday, March 4, 2025 10:12 AM" in mail.text
    assert QUOTED in mail.text
    assert mail.html is not None
    assert "\u201cError 0x7F\u201d" in mail.html  # &#8220; ... &#8221;
    for word in ("<style", "font-family", "<o:p", "mso", "<html", "<head"):
        assert word not in mail.html
    assert (mail.attachments, mail.report, mail.headers) == ((), None, {})
    assert automatic_reason(mail) is None


def test_gmail_reply() -> None:
    mail = parse("gmail_reply.eml")
    assert mail.message_id == "CAH4x8dN0q1Yq+7zW3vT2kLpQm9r6s5u4v=3w2x1y0z9A8B7c6D@mail.gmail.com"
    assert (mail.in_reply_to, mail.references) == ((HELPDESK_ID,), THREAD)
    assert mail.thread_ids() == (HELPDESK_ID, ANN_FIRST)
    assert mail.date == cet(4, 11, 25, 23)
    assert (mail.sender, mail.to) == (ANN, (HELPDESK,))
    assert mail.new_text == (
        "Hi,\n\nthe printer is back online after the restart. One more thing: the paper jam "
        "light on tray 2 is still blinking \u2013 is that expected?\n\nAnn"
    )
    assert "support@support.example.com>\nwrote:\n\n> Hello Ann," in mail.text
    assert f"> {QUOTED}\n> again" in mail.text
    assert mail.html is not None
    assert "<blockquote>" in mail.html
    assert "blinking \u2013 is that expected?" in mail.html
    assert mail.recipients == (SUPPORT,)
    assert mail.return_path == "ann@customer.example"


def test_apple_mail_reply_with_flowed_text() -> None:
    mail = parse("apple_mail_reply.eml")
    assert mail.message_id == "3F1A2B4C-5D6E-4F70-8192-A3B4C5D6E7F8@customer.example"
    assert (mail.in_reply_to, mail.references) == ((HELPDESK_ID,), THREAD)
    assert mail.sender == ANN
    assert mail.date == cet(4, 12, 30, 41)
    paragraph = (
        "The technician was here and replaced the fuser unit. The printer works again, but it "
        "prints a faint grey line along the left edge of every page. Should I open a new "
        "ticket for that?"
    )
    assert mail.new_text == f"Hi,\n\n{paragraph}\n\nAnn"  # soft line breaks undone
    assert (
        "> On 4 Mar 2025, at 10:12, Example Support <support@support.example.com> wrote:\n>\n"
        "> Hello Ann," in mail.text
    )
    assert f"> {QUOTED} again and tell us what the display shows?" in mail.text
    assert mail.html is None


def test_html_only_message_is_sanitized_and_read_as_text() -> None:
    mail = parse("html_only.eml")
    assert mail.message_id == "3b9f-67c6e2c0-5-4d3a8e00@21474836"
    assert (mail.in_reply_to, mail.references) == ((HELPDESK_ID,), THREAD)
    assert mail.sender == ANN
    assert mail.html is not None
    for word in ("<script", "document.cookie", "evil.example", "<style", "onload", "onclick",
                 "onerror", "javascript:", "font-family"):  # fmt: skip
        assert word not in mail.html
    assert '<a href="https://intranet.customer.example/it/printers"' in mail.html
    assert "<blockquote>" in mail.html
    assert "<li>Asset tag: PR\u20110342</li>" in mail.html
    assert mail.new_text == (
        "Good morning,\n\n"
        "the printer works again \u2013 thank you! The grey line is gone too & the tray 2 "
        "light is off.\n\n"
        "You can close the ticket. The details are on our printer page "
        "<https://intranet.customer.example/it/printers>.\n\n"
        "Printer status\n\n"
        "- Model: HP LaserJet M607\n- Asset tag: PR\u20110342\n\n"
        "Ann"
    )
    assert mail.text.startswith(mail.new_text)
    assert mail.text.endswith(
        "On 04/03/2025 10:12, Example Support wrote:\n\n> Hello Ann,\n>\n"
        f"> {QUOTED} again and tell us what the display shows?\n>\n"
        "> Best regards,\n> Example Support"
    )


def test_latin1_body_and_encoded_words() -> None:
    mail = parse("latin1.eml")
    assert mail.message_id == "000001db8e9a$5c1f2b30$145d8190$@customer.example"
    assert mail.subject == "R\u00fcckfrage zur Rechnung f\u00fcr M\u00e4rz"
    assert mail.sender == MailAddress("juergen.mueller@customer.example", "J\u00fcrgen M\u00fcller")
    assert mail.to == (MailAddress(SUPPORT),)
    assert "in der Rechnung f\u00fcr M\u00e4rz (Nr. 2025-0315)" in mail.text
    assert mail.text.endswith(
        "Mit freundlichen Gr\u00fc\u00dfen\nJ\u00fcrgen M\u00fcller\n"
        "M\u00fcller & S\u00f6hne GmbH \u00b7 Stra\u00dfe des 17. Juni 12 \u00b7 10623 Berlin"
    )
    assert mail.new_text == (
        "Guten Tag,\n\n"
        'in der Rechnung f\u00fcr M\u00e4rz (Nr. 2025-0315) ist die Position "Wartung Drucker" '
        "doppelt aufgef\u00fchrt.\n"
        "K\u00f6nnen Sie das bitte pr\u00fcfen und mir eine korrigierte Rechnung schicken?"
    )
    assert (mail.in_reply_to, mail.references) == ((), ())


def test_no_message_id() -> None:
    raw = corpus("no_message_id.eml")
    mail = parser.parse(raw)
    assert mail.message_id is None
    assert parser.identify(raw) is None
    assert mail.sender == MailAddress("portal@customer.example", "Customer Portal")
    assert mail.reply_to == (MailAddress("frank.lee@customer.example", "Frank Lee"),)
    assert mail.subject == "Contact form: cannot log in to the customer portal"
    assert mail.text.startswith("Name: Frank Lee\nE-mail: frank.lee@customer.example\n")
    assert mail.new_text == mail.text


def test_rewritten_message_id_still_names_the_reply_address() -> None:
    mail = parse("rewritten_message_id.eml")
    ses = "0102019561f2a3b4-5c6d7e8f-9a0b-4c1d-8e2f-3a4b5c6d7e8f-000000@eu-west-1.amazonses.com"
    assert (mail.in_reply_to, mail.references) == ((ses,), (ses,))
    assert HELPDESK_ID not in mail.thread_ids()
    assert mail.to == (MailAddress(TOKEN_ADDRESS, "Example Support"),)
    assert mail.recipients == (TOKEN_ADDRESS,)
    [token] = reply_tokens_in(mail.addressed_to(), SUPPORT)
    assert (token.number, token.signature) == (1001, "3f9a2c7d1e5b")
    assert mail.new_text == "Yes, Thursday 9:00 works for me. I will be at my desk on floor 3."
    assert "Sent from my iPhone\n\n> On 5 Mar 2025, at 16:40," in mail.text


def test_reply_all_with_cc() -> None:
    mail = parse("reply_all_cc.eml")
    assert mail.in_reply_to == (HELPDESK_ID,)
    assert mail.to == (MailAddress("ida.novak@customer.example", "Ida Novak"),)
    assert mail.cc == (
        MailAddress("greg.miller@customer.example", "Miller, Greg"),
        HELPDESK,
    )
    assert mail.addressed_to() == (SUPPORT, "ida.novak@customer.example",
                                   "greg.miller@customer.example")  # fmt: skip
    assert mail.new_text == (
        "Ida, for your information: the printer on floor 3 is being looked at by IT,\n"
        "see below. Greg, please print on floor 2 until it is fixed.\n\nAnn"
    )


def test_out_of_office_reply() -> None:
    mail = parse("out_of_office.eml")
    assert mail.subject == "Out of Office: [#1001] Printer on floor 3 is offline"
    assert mail.headers == {"auto-submitted": "auto-replied", "x-auto-response-suppress": "All"}
    assert automatic_reason(mail) == "Auto-Submitted: auto-replied"
    assert mail.in_reply_to == (HELPDESK_ID,)
    assert mail.text.startswith("I am out of the office until Monday, 10 March 2025,")  # base64
    assert mail.date == datetime(2025, 3, 5, 16, 41, 2, tzinfo=UTC)


def test_delivery_report() -> None:
    mail = parse("delivery_report.eml")
    assert mail.return_path == ""
    assert mail.sender == MailAddress("mailer-daemon@mx.customer.example")
    assert mail.report == DeliveryReport(
        recipients=("old.user@customer.example",),
        action="failed",
        status="5.1.1",
        diagnostic="550 5.1.1 <old.user@customer.example>: Recipient address rejected: "
        "User unknown in virtual mailbox table",
        original_message_id="ticket-1002.b5c6d7e8f9a0@support.example.com",
    )
    assert mail.report.permanent
    # the bounced message's id comes first: it finds the ticket the failed mail was about
    assert mail.thread_ids()[0] == "ticket-1002.b5c6d7e8f9a0@support.example.com"
    assert mail.headers == {"auto-submitted": "auto-replied"}
    assert mail.text.startswith("This is the mail system at host mx.customer.example.")
    assert "Reporting-MTA" not in mail.text  # the status part is the report, not text
    assert "we have received your request" not in mail.text  # nor the bounced message
    [bounced] = mail.attachments
    assert bounced.filename == "[#1002] VPN access for the new colleague.eml"
    assert bounced.content_type == "message/rfc822"
    assert not bounced.inline
    assert parser.identify(bounced.data) == "ticket-1002.b5c6d7e8f9a0@support.example.com"
    assert parser.parse(bounced.data).headers == {"x-helpdesk-loop": SUPPORT}


def test_sent_by_the_helpdesk() -> None:
    mail = parse("sent_by_helpdesk.eml")
    assert mail.message_id == HELPDESK_ID
    assert mail.headers == {"x-helpdesk-loop": SUPPORT}
    assert mail.sender == HELPDESK
    assert mail.reply_to == (MailAddress(TOKEN_ADDRESS),)
    assert (mail.in_reply_to, mail.references) == ((ANN_FIRST,), (ANN_FIRST,))


def test_stranger_guessing_a_ticket_number() -> None:
    mail = parse("stranger_guess.eml")
    assert mail.subject == "Re: [#1234] refund"
    assert mail.sender == MailAddress("m.allory@elsewhere.example", "M. Allory")
    assert (mail.in_reply_to, mail.references, mail.thread_ids()) == ((), (), ())
    assert "IBAN: DE89 3704 0044 0532 0130 00" in mail.new_text


def test_new_ticket() -> None:
    mail = parse("new_ticket.eml")
    assert mail.message_id == ANN_FIRST
    assert (mail.sender, mail.to) == (ANN, (MailAddress(SUPPORT),))
    assert mail.subject == "Printer on floor 3 is offline"
    assert (mail.in_reply_to, mail.references, mail.return_path) == ((), (), ANN.address)
    assert mail.recipients == (SUPPORT,)
    assert mail.new_text == (
        "Hello,\n\nthe printer on floor 3 (HP LaserJet, asset tag PR-0342) has been offline\n"
        "since this morning. Nobody on our floor can print.\n\nCould you please have a look?"
    )
    assert mail.text.endswith("Thanks,\nAnn\n\n-- \nAnn Example\nAccounting, "
                              "Customer Example Ltd.\n+44 20 7946 0321")  # fmt: skip


def test_attachments_and_inline_image() -> None:
    mail = parse("attachments.eml")
    assert mail.subject == "Rechnung M\u00e4rz - Position doppelt"
    image, pdf = mail.attachments
    assert (pdf.filename, pdf.content_type, pdf.inline, pdf.content_id) == (
        "Rechnung M\u00e4rz.pdf",
        "application/pdf",
        False,
        None,
    )
    assert pdf.data.startswith(b"%PDF-1.4\n")
    assert len(pdf.data) == 593
    assert hashlib.sha256(pdf.data).hexdigest() == PDF_SHA256
    assert (image.filename, image.content_type, image.inline) == ("image001.png", "image/png", True)
    assert image.content_id == "image001.png@01DB8E9A.5C1F2B30"
    assert image.data.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(image.data) == 73
    assert hashlib.sha256(image.data).hexdigest() == PNG_SHA256
    assert mail.html is not None
    assert f'src="cid:{image.content_id}"' in mail.html
    assert mail.new_text == (
        "Guten Tag,\n\nanbei die Rechnung f\u00fcr M\u00e4rz, in der die Position "
        '"Wartung Drucker" doppelt aufgef\u00fchrt ist.'
    )


# ---------------------------------------------------------------- what is new in a reply


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "Please see below.\n\n-----Original Message-----\nFrom: Example Support <x@y.example>"
            "\nSent: Tuesday, March 4, 2025 10:12 AM\nTo: Ann\nSubject: s\n\nHello",
            "Please see below.",
            id="outlook-original-message",
        ),
        pytest.param(
            "Works now.\n\n________________________________\nFrom: X <x@y.example>\n"
            "Sent: Tuesday, March 4, 2025 10:12\nTo: Ann\nSubject: s\n\nHello",
            "Works now.",
            id="outlook-web",
        ),
        pytest.param(
            "Sure.\n\nGet Outlook for iOS<https://aka.ms/o0ukef>\n"
            "________________________________\nFrom: X <x@y.example>\nSent: Tuesday\n"
            "To: Ann\nSubject: s\n\nHello",
            "Sure.",
            id="outlook-mobile",
        ),
        pytest.param(
            "Geht wieder.\n\nVon: Example Support <x@y.example>\n"
            "Gesendet: Dienstag, 4. M\u00e4rz 2025 10:12\nAn: Ann\nBetreff: s\n\nHallo",
            "Geht wieder.",
            id="outlook-german",
        ),
        pytest.param(
            "Geht wieder.\n\nAm 04.03.2025 um 10:12 schrieb Example Support <x@y.example>:\n"
            "> Hallo",
            "Geht wieder.",
            id="german",
        ),
        pytest.param(
            "C'est r\u00e9par\u00e9.\n\nLe mar. 4 mars 2025 \u00e0 10:12, Example Support "
            "<x@y.example> a\n\u00e9crit\u00a0:\n\n> Bonjour",
            "C'est r\u00e9par\u00e9.",
            id="french-by-the-fallback",
        ),
        pytest.param(
            "Ya funciona.\n\nEl mar, 4 mar 2025 a las 10:12, Example Support (<x@y.example>) "
            "escribi\u00f3:\n> Hola",
            "Ya funciona.",
            id="spanish-by-the-fallback",
        ),
        pytest.param(
            "Steps:\n- open the app\n- click print\n\nThanks, that fixed the first issue! But "
            "the second one is still there.\nAnn\n\nOn Tue, 4 Mar 2025 at 10:12, X <x@y.example>"
            " wrote:\n> Hello",
            "Steps:\n- open the app\n- click print\n\nThanks, that fixed the first issue! But "
            "the second one is still there.\nAnn",
            id="a-list-and-thanks-in-a-sentence-stay",
        ),
        pytest.param(
            "Here is the log:\n\n    ERROR 1\n      at line 2\n\nOn Tue, 4 Mar 2025 at 10:12, "
            "X <x@y.example> wrote:\n> Hello",
            "Here is the log:\n\n    ERROR 1\n      at line 2",
            id="indentation-kept",
        ),
        pytest.param(
            "The printer says:\n> Offline", "The printer says:\n> Offline", id="a-quote-of-ones-own"
        ),
        pytest.param(
            "> question 1\nanswer 1\n> question 2\nanswer 2",
            "> question 1\nanswer 1\n> question 2\nanswer 2",
            id="answers-between-quotes",
        ),
        pytest.param(
            "On Tue, 4 Mar 2025 at 10:12, X <x@y.example> wrote:\n> Hello",
            "On Tue, 4 Mar 2025 at 10:12, X <x@y.example> wrote:\n> Hello",
            id="only-a-quote",
        ),
    ],
)
def test_new_text(text: str, expected: str) -> None:
    assert new_text(text) == expected


# ---------------------------------------------------------------- hostile input


def message(header: str, body: bytes = b"", content_type: str = "text/plain") -> bytes:
    head = ["From: Ann <ann@customer.example>", "Message-ID: <m@x.example>", header]
    head.append(f"Content-Type: {content_type}")
    return "\n".join(line for line in head if line).encode() + b"\n\n" + body


def test_empty_bytes() -> None:
    assert parser.parse(b"") == InboundMail(
        message_id=None, sender=None, subject="", text="", new_text=""
    )
    assert parser.identify(b"") is None


def test_garbage_bytes() -> None:
    raw = bytes(range(256)) * 8 + b"\r\n\r\n\x00\xff" * 50
    mail = parser.parse(raw)
    assert mail.message_id is None
    assert parser.identify(raw) is None
    assert "\x00" not in mail.text
    assert isinstance(mail.new_text, str)


def test_headers_with_invalid_encodings() -> None:
    raw = (
        b"From: =?utf-8?q?J=FCrgen?= <j@customer.example>, junk@@, <>\n"
        b"To: \xff\xfe <ann@customer.example>\n"
        b"Subject: =?utf-8?b?!!!?= =?x-unknown?q?M=E4rz?= raw \xe4 \xc3\xa4 \x00 end\n"
        b"Message-ID: junk with spaces\n"
        b"References: <a@x.example> junk <b@x.example> <> <a@x.example>\n"
        b"Date: Tue, 99 Foo 2025 99:99:99 +9999\n"
        b"Content-Type: text/plain; charset=utf-8\n\nhello\n"
    )
    mail = parser.parse(raw)
    assert mail.sender is not None
    assert mail.sender.address == "j@customer.example"
    assert mail.to == (MailAddress("ann@customer.example", "\ufffd\ufffd"),)
    assert mail.subject.endswith("end")
    assert "\x00" not in mail.subject
    assert not re.search(r"[\ud800-\udfff]", mail.subject + mail.sender.name)
    assert mail.message_id is None
    assert parser.identify(raw) is None
    assert mail.references == ("a@x.example", "b@x.example")
    assert mail.date is None
    assert mail.text == "hello"


def test_a_date_of_unknown_zone_is_utc() -> None:
    mail = parser.parse(message("Date: Tue, 4 Mar 2025 10:12:00 -0000"))
    assert mail.date == datetime(2025, 3, 4, 10, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("charset", "body", "expected"),
    [
        ("x-bogus", "M\u00e4rz".encode(), "M\u00e4rz"),  # unknown: UTF-8 when it is
        ("x-bogus", "M\u00e4rz".encode("latin-1"), "M\u00e4rz"),  # else Windows-1252
        ("us-ascii", "M\u00e4rz".encode(), "M\u00e4rz"),  # declared ASCII, sent 8-bit
        ("base64", b"M\xe4rz", "M\u00e4rz"),  # a codec, but not one of text
        ("punycode", b"M\xe4rz", "M\u00e4rz"),
        ("utf-8", b"M\xe4rz", "M\ufffdrz"),  # a known charset decodes with replacement
    ],
)
def test_unknown_or_wrong_charset(charset: str, body: bytes, expected: str) -> None:
    mail = parser.parse(message("", body, f'text/plain; charset="{charset}"'))
    assert mail.text == expected


def test_broken_multipart_boundary() -> None:
    body = b"--other\nContent-Type: text/plain\n\nthe words\n--other--\n"
    mail = parser.parse(message("MIME-Version: 1.0", body, 'multipart/mixed; boundary="abc"'))
    assert "the words" in mail.text
    assert mail.message_id == "m@x.example"
    mail = parser.parse(message("MIME-Version: 1.0", body, "multipart/mixed"))  # no boundary
    assert "the words" in mail.text


def test_a_bad_part_costs_only_itself() -> None:
    body = (
        b"--b\nContent-Type: text/plain\n\nkept\n"
        b"--b\nContent-Type: message/rfc822\n\n"  # an attached message with nothing in it
        b"--b\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n"
        b"Content-Disposition: attachment; filename*=x-bogus''%FF%FE/../evil\x00.pdf\n\n!!!!\n"
        b"--b--\n"
    )
    mail = parser.parse(message("", body, 'multipart/mixed; boundary="b"'))
    assert mail.text == "kept"
    eml, pdf = mail.attachments
    assert (eml.filename, eml.content_type) == ("message.eml", "message/rfc822")
    assert pdf.filename
    assert not re.search(r"[/\\\x00]|\.\.", pdf.filename)


@pytest.mark.parametrize(
    ("disposition", "content_type", "expected"),
    [
        ('attachment; filename="../../etc/passwd"', "application/pdf", "passwd"),
        ('attachment; filename="C:\\\\Users\\\\ann\\\\evil.pdf"', "application/pdf", "evil.pdf"),
        ("attachment", "application/pdf", "attachment.pdf"),
        ("inline", "image/png", "attachment.png"),
        ('attachment; filename="=?utf-8?b?QmlsZCDDpC5wbmc=?="', "image/png", "Bild \u00e4.png"),
        ('attachment; filename=".hidden"', "text/plain", "hidden"),
        ('attachment; filename="invoice\u202efdp.exe"', "application/pdf", "invoicefdp.exe"),
    ],
)
def test_attachment_names(disposition: str, content_type: str, expected: str) -> None:
    part = f"Content-Type: {content_type}\nContent-Disposition: {disposition}\n\ndata\n"
    body = f"--b\nContent-Type: text/plain\n\ntext\n--b\n{part}--b--\n".encode()
    mail = parser.parse(message("", body, 'multipart/mixed; boundary="b"'))
    [attachment] = mail.attachments
    assert (attachment.filename, attachment.data) == (expected, b"data")


def test_thousands_of_nested_parts_keep_their_headers() -> None:
    nested = b"".join(
        b'Content-Type: multipart/mixed; boundary="b%d"\n\n--b%d\n' % (i, i) for i in range(3000)
    )
    mail = parser.parse(b"Message-ID: <deep@x.example>\nSubject: deep\n" + nested)
    assert (mail.message_id, mail.subject) == ("deep@x.example", "deep")


def test_deeply_nested_html_is_read_as_text_only() -> None:
    html = ("<div>" * 5000 + "deep words").encode()
    mail = parser.parse(message("", html, "text/html; charset=utf-8"))
    assert mail.html is None
    assert mail.text == "deep words"


def test_a_two_megabyte_body() -> None:
    line = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod.\n"
    body = (line * (2_000_000 // len(line))).encode() + b"\nOn Tue, 4 Mar 2025, X wrote:\n> q\n"
    raw = message("", body, "text/plain; charset=utf-8")
    mail = parser.parse(raw)
    assert parser.identify(raw) == mail.message_id == "m@x.example"
    assert len(mail.text) > 1_990_000
    assert mail.text.endswith("> q")
    assert mail.new_text == mail.text  # the reply header lies beyond what is read for it


def test_a_two_megabyte_html_body() -> None:
    html = ("<p>" + "word &amp; <b>bold</b> " * 100 + "</p>\n") * 900
    mail = parser.parse(message("", html.encode(), "text/html; charset=utf-8"))
    assert mail.html is not None
    assert mail.html.count("<p>") == 900
    assert mail.text.count("word & bold") == 90_000


HEADER_NAMES = [
    "From", "To", "Cc", "Reply-To", "Sender", "Subject", "Date", "Message-ID", "In-Reply-To",
    "References", "Return-Path", "Delivered-To", "Content-Type", "Content-Transfer-Encoding",
    "Content-Disposition", "Auto-Submitted", "X-Helpdesk-Loop", "MIME-Version",
]  # fmt: skip
HEADER_VALUES = st.binary(max_size=80) | st.sampled_from([
    b"multipart/mixed; boundary=b", b"multipart/report; report-type=delivery-status; boundary=b",
    b"message/rfc822", b"text/html", b"base64", b"<a@b> <c@d>", b"<>", b"=?utf-8?q?=FF?=",
])  # fmt: skip
HEADER = st.tuples(st.sampled_from(HEADER_NAMES), HEADER_VALUES).map(
    lambda header: header[0].encode() + b": " + header[1] + b"\r\n"
)
BODY = st.binary(max_size=600).map(lambda body: body.replace(b"X", b"\r\n--b\r\n"))
MAIL_SHAPED = st.builds(lambda head, body: b"".join(head) + b"\r\n" + body, st.lists(HEADER), BODY)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=2000), MAIL_SHAPED))
def test_parse_never_raises(raw: bytes) -> None:
    mail = parser.parse(raw)
    assert isinstance(mail, InboundMail)
    assert parser.identify(raw) == mail.message_id
    assert mail.date is None or mail.date.utcoffset() is not None
    assert "\x00" not in mail.text + mail.new_text + mail.subject
