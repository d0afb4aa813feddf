"""Mentions (``domain/mentions.py``): which ``@tokens`` a note holds, and whom they name."""

from __future__ import annotations

import uuid

import pytest

from helpdesk_core.domain.mentions import mention_tokens, mentioned

ANN, ANN_SALES, BOB, DOT = (uuid.UUID(int=n) for n in range(1, 5))
STAFF = [
    (ANN, "ann@support.example.com"),
    (ANN_SALES, "ann@sales.example.com"),
    (BOB, "Bob.Stone@support.example.com"),
    (DOT, "d.o-t_s@support.example.com"),
]


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("@bob, please look", ("bob",)),
        ("Ask @Bob.Stone about it", ("bob.stone",)),
        ("thanks, @bob.", ("bob",)),  # the sentence's full stop is not the token's
        ("thanks, @bob-", ("bob",)),
        ("(@bob)", ("bob",)),
        ("@bob and @BOB and @bob", ("bob",)),  # once each, lower-cased
        ("@ann@support.example.com.", ("ann@support.example.com",)),
        ("@d.o-t_s: yours", ("d.o-t_s",)),
        ("@bob\n@ann", ("bob", "ann")),  # in the order they first appear
        ("mail ann@support.example.com about it", ()),  # an address in prose names nobody
        ("a@b @ @. @- @@bob", ()),
        ("no mention here", ()),
        ("@Ünal", ("ünal",)),  # letters are any script's
    ],
)
def test_the_tokens_of_a_text(text: str, tokens: tuple[str, ...]) -> None:
    assert mention_tokens(text) == tokens


def test_a_token_names_the_person_whose_email_it_is() -> None:
    assert mentioned(["ann@sales.example.com"], STAFF) == (ANN_SALES,)
    assert mentioned(["bob.stone@support.example.com"], STAFF) == (BOB,)  # any case


def test_a_local_part_names_the_one_person_who_has_it() -> None:
    assert mentioned(["bob.stone"], STAFF) == (BOB,)
    assert mentioned(["d.o-t_s"], STAFF) == (DOT,)


def test_a_local_part_two_people_share_names_neither() -> None:
    assert mentioned(["ann"], STAFF) == ()
    assert mentioned(["ann", "ann@support.example.com"], STAFF) == (ANN,)


def test_unknown_tokens_name_nobody_and_each_person_is_named_once() -> None:
    assert mentioned(["nobody", "bob", "bob.stone", "bob.stone@support.example.com"], STAFF) == (
        BOB,
    )
    assert mentioned(["bob.stone@elsewhere.example.com", "stone"], STAFF) == ()
    assert mentioned(["bob.stone"], []) == ()


def test_names_come_in_the_order_of_the_tokens() -> None:
    tokens = mention_tokens("@d.o-t_s and @bob.stone, with @ann@sales.example.com")
    assert mentioned(tokens, STAFF) == (DOT, BOB, ANN_SALES)
