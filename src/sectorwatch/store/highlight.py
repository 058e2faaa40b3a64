"""Snippets with the matched words marked. The database marks them with two private-use
characters (never HTML), so the scraped text around them can be escaped first and the
marks turned into ``<mark>`` after: nothing in an article's text becomes markup."""

from __future__ import annotations

import html
import unicodedata

START, STOP = "\ue000", "\ue001"
"""What the database puts around each matched word in a snippet."""


def segments(snippet: str) -> list[tuple[str, bool]]:
    """The snippet as (text, matched) pieces, in order, on one line. A marker the article
    carried itself, or one out of turn, is dropped: marks never nest or stay open."""
    pieces: list[tuple[str, bool]] = []
    current: list[str] = []
    inside = False
    for char in snippet:
        if char in (START, STOP):
            if (char == START) != inside:  # START opens a mark, STOP closes one
                pieces.append(("".join(current), inside))
                current, inside = [], not inside
            continue
        # control and format characters (bidi overrides among them) become spaces
        current.append(" " if unicodedata.category(char) in ("Cc", "Cf") else char)
    pieces.append(("".join(current), inside))
    tidy = [(_one_line(text), matched) for text, matched in pieces]
    return [(text, matched) for text, matched in tidy if text]


def _one_line(text: str) -> str:
    """Runs of whitespace as one space, keeping a space at either end (it parts words)."""
    inner = " ".join(text.split())
    if not inner:
        return " " if text else ""
    return (" " if text[0].isspace() else "") + inner + (" " if text[-1].isspace() else "")


def to_html(snippet: str) -> str:
    """The snippet as HTML: its text escaped, each matched word in ``<mark>``."""
    return "".join(f"<mark>{html.escape(text)}</mark>" if matched else html.escape(text)
                   for text, matched in segments(snippet)).strip()


def to_text(snippet: str) -> str:
    """The snippet as plain text, without marks."""
    return "".join(text for text, _ in segments(snippet)).strip()
