"""Received mail's HTML: sanitized for showing (nh3), and read as text when a message has no
text part. Split from ``parsing.py``; the same rules apply (nothing raises, hostile input is
bounded)."""

from __future__ import annotations

import re
from html import unescape

import nh3

HTML_URL_SCHEMES = frozenset({"http", "https", "mailto", "cid"})  # cid: inline images
HTML_DROPPED_WITH_CONTENT = frozenset({"script", "style", "title"})
# An HTML parser's time grows with the depth of the open elements at each tag: thousands
# of nested elements (no mail has them) would cost minutes, so such HTML is read as text.
HTML_DEPTH_MAX = 500
_WHITE_SPACE = re.compile(r"\s+")
_BLANK_RUN = re.compile(r"\n(?:[ \t]*\n){2,}")


def sanitized_html(html: str) -> str:
    """``html`` with nh3's (ammonia's) default safe tags and attributes only: no script,
    style or title (content and all), no event handlers, links and images only to http(s),
    mailto and ``cid:`` (the message's inline images)."""
    return nh3.clean(
        html,
        clean_content_tags=set(HTML_DROPPED_WITH_CONTENT),
        url_schemes=set(HTML_URL_SCHEMES),
    )


_TAG = re.compile(r"<(/?)([A-Za-z][^\s/>]*)")
_TAGS_OF_NO_DEPTH = frozenset({  # void, or closed by their next sibling
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr", "p", "li", "dd", "dt", "tr", "td", "th", "option", "optgroup", "thead",
    "tbody", "tfoot", "colgroup", "caption", "rb", "rt", "rp", "rtc"})  # fmt: skip
_FORMATTING = frozenset({"a", "b", "big", "code", "em", "font", "i", "nobr", "s", "small",
                         "strike", "strong", "tt", "u"})  # fmt: skip


def nested_within(html: str, depth: int) -> bool:
    """Whether no element of ``html`` is nested deeper than ``depth``, as far as a linear
    scan of its tags tells: an end tag closes the elements opened after its own, but for a
    formatting element's, which leaves them open (as the HTML parsing algorithm does)."""
    stack: list[str] = []
    open_count: dict[str, int] = {}
    for match in _TAG.finditer(html):
        name = match[2].lower()
        if name in _TAGS_OF_NO_DEPTH:
            continue
        if not match[1]:
            stack.append(name)
            open_count[name] = open_count.get(name, 0) + 1
            if len(stack) > depth:
                return False
        elif open_count.get(name):
            open_count[name] -= 1
            if name in _FORMATTING:
                del stack[len(stack) - 1 - stack[::-1].index(name)]
                continue
            while (top := stack.pop()) != name:
                open_count[top] -= 1
    return True


_ATTRIBUTES = r'(?:[^>"]|"[^"]*")*'  # sanitized HTML quotes every attribute value with "
_PARAGRAPH_TAG = re.compile(rf"</?(?:h[1-6]|hr|ol|p|pre|table|ul)\b{_ATTRIBUTES}>")
_BLOCK_TAG = re.compile(
    rf"</?(?:address|article|aside|caption|center|dd|details|div|dl|dt|figcaption|figure"
    rf"|footer|header|nav|section|summary|tr)\b{_ATTRIBUTES}>"
)
_LINK = re.compile(rf'<a (?:[\w-]+="[^"]*" )*href="(https?://[^"]+)"{_ATTRIBUTES}>([^<]*)</a>')
_QUOTE_TAG = re.compile(rf"<(/?)blockquote\b{_ATTRIBUTES}>")
_ANY_TAG = re.compile(rf"<{_ATTRIBUTES}>")
# What the tags become, then lines: a line break (<br>), the end of a block's line, the end
# of a paragraph, into and out of a quote; a link's address, between two more.
_BR, _BLOCK, _PARAGRAPH, _INTO, _OUT_OF, _URL, _URL_END = "\n\x05\x06\x01\x02\x03\x04"
_MARKS = re.compile("([\n\x05\x06\x01\x02])")


def html_to_text(html: str) -> str:
    """The text of sanitized HTML (as :func:`sanitized_html` writes it), for a message that
    has no text part: paragraphs leave a blank line, other blocks and ``<br>`` break the
    line, list items start with ``- ``, blockquotes are quoted with ``>``, a link's address
    follows its words when they do not show it; entities are decoded."""
    text = _LINK.sub(
        lambda m: m[2] if unescape(m[1]) in unescape(m[2]) else f"{m[2]} {_URL}{m[1]}{_URL_END}",
        _WHITE_SPACE.sub(" ", html),
    )
    text = _QUOTE_TAG.sub(lambda m: _OUT_OF + _PARAGRAPH if m[1] else _PARAGRAPH + _INTO, text)
    text = re.sub(rf"<li\b{_ATTRIBUTES}>", _BLOCK + "- ", text)
    text = re.sub(rf"<br\b{_ATTRIBUTES}>", _BR, re.sub(r"</t[dh]>", "  ", text))
    text = _ANY_TAG.sub("", _BLOCK_TAG.sub(_BLOCK, _PARAGRAPH_TAG.sub(_PARAGRAPH, text)))
    lines: list[str] = []
    depth, words = 0, ""
    for token in _MARKS.split(text):
        if not _MARKS.fullmatch(token):
            words += token
            continue
        words = " ".join(unescape(words).split())
        if words or token == _BR:
            lines.append(quoted(depth, words))
        words = ""
        depth = max(0, depth + (token == _INTO) - (token == _OUT_OF))
        if token == _PARAGRAPH and lines and lines[-1].strip("> "):
            lines.append(">" * depth)
    lines.append(quoted(depth, " ".join(unescape(words).split())))
    while lines and not lines[-1].replace(">", "").strip():  # no blank or empty quote at the end
        lines.pop()
    text = _BLANK_RUN.sub("\n\n", "\n".join(lines)).strip()
    return text.replace(_URL, "<").replace(_URL_END, ">")


def quoted(depth: int, text: str) -> str:
    """``text`` as a line quoted ``depth`` deep (``> > text``'s mail form: ``>> text``)."""
    return f"{'>' * depth} {text}" if depth and text else ">" * depth + text
