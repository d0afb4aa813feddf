"""Mentions in an internal note: ``@token`` names a member of the staff.

A token is letters, digits, ``.``, ``_`` and ``-`` (any case), optionally followed by ``@`` and
a domain, so that ``@ann``, ``@ann.lee`` and ``@ann.lee@example.com`` are all mentions. An
``@`` glued to the word before it is part of an address written in the text
(``write to ann@example.com``), not a mention; a dot or hyphen that ends a token ends the
sentence (``thanks, @ann.``).

A token names a person when it is their whole email address, or the part of it before the
``@`` when exactly one of the people it is matched against has that part: ``@ann`` names
nobody when ``ann@sales.example.com`` and ``ann@support.example.com`` both work here (the
note then has to write the address out). Pure functions: the use case decides who the
people are (the active staff) and who of them may see the ticket.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable

# Not after a letter, digit or address character: "ann@example.com" in prose is no mention.
_MENTION = re.compile(r"(?<![\w.@+-])@([\w.-]+(?:@[\w-]+(?:\.[\w-]+)*)?)")
_TRAILING = ".-"


def mention_tokens(text: str) -> tuple[str, ...]:
    """The tokens ``text`` mentions, lower-cased, each once, in the order they first appear."""
    found: dict[str, None] = {}
    for match in _MENTION.finditer(text):
        token = match.group(1)
        if "@" not in token:
            token = token.rstrip(_TRAILING)
        if token and not token.startswith("@"):
            found.setdefault(token.lower(), None)
    return tuple(found)


def mentioned(
    tokens: Iterable[str], people: Iterable[tuple[uuid.UUID, str]]
) -> tuple[uuid.UUID, ...]:
    """Who ``tokens`` name among ``people`` (id and email): a token equal to an email, or to
    its local part when that local part is exactly one person's. Each person once, in the
    order of the tokens that first name them."""
    by_email: dict[str, uuid.UUID] = {}
    by_local: dict[str, list[uuid.UUID]] = {}
    for person_id, email in people:
        address = email.strip().lower()
        by_email[address] = person_id
        by_local.setdefault(address.partition("@")[0], []).append(person_id)
    named: dict[uuid.UUID, None] = {}
    for token in tokens:
        key = token.lower()
        if key in by_email:
            named.setdefault(by_email[key], None)
        elif "@" not in key and len(holders := by_local.get(key, [])) == 1:
            named.setdefault(holders[0], None)
    return tuple(named)
