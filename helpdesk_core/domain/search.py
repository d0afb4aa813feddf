"""Text search rules: what a search word is and what a ticket's search document holds.

A ticket's search document is the words of its subject, description and messages, lower-cased
and separated by single spaces (``search_text``), up to ``SEARCH_DOCUMENT_MAX`` characters.
Every store keeps and matches the same document (the SQL adapter indexes it per dialect, the
memory store splits it), so these rules live here rather than in one adapter.
"""

from __future__ import annotations

import re

from helpdesk_core.domain.entities import Ticket

# A word: a run of letters and digits ("_" separates, as in both engines' tokenizers).
_WORD = re.compile(r"[^\W_]+")

# Characters of a search document; later words are not searchable. A tsvector takes at most
# about 6 bytes per character (distinct one-letter words), so PostgreSQL's 1 MB limit, which
# would otherwise refuse a message of a long conversation, is never reached.
SEARCH_DOCUMENT_MAX = 150_000


def search_words(text: str) -> list[str]:
    """The words of ``text`` as the search sees them: lower-cased runs of letters and digits."""
    return _WORD.findall(text.lower())


def search_text(text: str) -> str:
    """``text`` as a search document holds it: its words, separated by single spaces."""
    return " ".join(search_words(text))


def new_search_document(ticket: Ticket) -> str:
    """The search document of a ticket that has no messages yet."""
    return f"{search_text(ticket.subject)} {search_text(ticket.description)}"[:SEARCH_DOCUMENT_MAX]
