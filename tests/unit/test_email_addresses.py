"""One rule for e-mail addresses (``values.normalize_email``): one plain mailbox, nothing else.

Issue 20, finding 6: ``a,b@cust.example.com`` and ``<x>@cust.example.com`` registered, and the
mail to them went to ``a``, ``b@cust.example.com`` and ``x``. Whatever the rule accepts is
exactly one address to ``email.utils`` (which smtplib uses) as well.
"""

from __future__ import annotations

from email.utils import getaddresses, parseaddr

import pytest

from helpdesk_core.domain.errors import ValidationFailed
from helpdesk_core.domain.values import normalize_email

REFUSED = [
    "a,b@cust.example.com",  # a list
    "<x>@cust.example.com",  # angle brackets
    "Ann <ann@example.com>",  # a display name
    "ann@example.com, eve@evil.example",
    "ann@example.com;eve@evil.example",  # a semicolon list
    "a;b@example.com",
    '"ann smith"@example.com',  # a quoted local part
    '"a,b"@example.com',
    "ann(comment)@example.com",  # a comment
    "ann@example.com (Ann)",
    "group: ann@example.com;",  # a group
    "a:b@example.com",
    "ann smith@example.com",  # white space
    "ann\t@example.com",
    "ann\r\n@example.com",
    "ann@[192.0.2.1]",  # an address literal
    "ann\\b@example.com",
    "ann@example",  # one label
    "ann@@example.com",
    "@example.com",
    ".ann@example.com",
    "ann.@example.com",
    "a..b@example.com",
    "ann@-example.com",
    "ann@example-.com",
    "ann@ex_ample.com",
    "ann@example..com",
    "ann\u202e@example.com",  # a bidi override
    "ann\u200b@example.com",  # a zero-width space
    "ann\u0000@example.com",
    "ann\ufeff@example.com",
    "a\uff0cb@example.com",  # a fullwidth comma
    "a" * 65 + "@example.com",  # a local part over 64
    "a@" + "b" * 250 + ".com",  # over 254 in all
]

ACCEPTED = [
    ("ann@example.com", "ann@example.com"),
    ("  Ann@Example.COM ", "ann@example.com"),
    ("o'brien+tag@mail.example.co.uk", "o'brien+tag@mail.example.co.uk"),
    ("first.last@sub-domain.example.com", "first.last@sub-domain.example.com"),
    ("a/b=c?d!e#f$g%h&i*j^k_l`m{n|o}p~q-r@example.com", None),
    ("josé@exämple.de", "josé@exämple.de"),
    ("x@xn--bcher-kva.example", "x@xn--bcher-kva.example"),
]


@pytest.mark.parametrize("address", REFUSED)
def test_anything_but_one_plain_mailbox_is_refused(address: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        normalize_email(address)
    assert caught.value.errors[0].field == "email"


@pytest.mark.parametrize(("address", "normalized"), ACCEPTED)
def test_a_plain_mailbox_is_accepted_and_is_one_address_to_the_mail_library(
    address: str, normalized: str | None
) -> None:
    email = normalize_email(address)
    if normalized is not None:
        assert email == normalized
    assert getaddresses([email]) == [("", email)]
    assert parseaddr(email) == ("", email)


def test_the_field_is_named_as_asked() -> None:
    with pytest.raises(ValidationFailed) as caught:
        normalize_email("a,b@example.com", "requester_email")
    assert caught.value.errors[0].field == "requester_email"
