"""Paywalls and registration walls: detect them, and keep only real article text."""

from __future__ import annotations

from lxml import etree

from sectorwatch.extract.text import squash

# Strong generic phrases: said by walls, rarely by articles. Sources add their own markers.
GENERIC_WALLS = (
    "register now to continue reading", "register to continue reading",
    "subscribe to continue reading", "subscribe to read the full article",
    "sign in to continue reading", "log in to continue reading",
    "to continue reading this article", "to read the full article",
    "want full article access", "this article is for subscribers only",
    "this content is only available to subscribers", "become a subscriber to read",
    "create a free account to continue reading", "you have reached your article limit",
)
_MAX_WALL_WORDS = 80  # a wall panel is short; a paragraph longer than this is article text


def walled(tree: etree._Element, markers: tuple[str, ...], ld: dict | None) -> bool:
    """True when the page says (in markup or in visible words) that it is cut short."""
    if ld is not None and str(ld.get("isAccessibleForFree", "true")).lower() in ("false", "0"):
        return True
    text = squash(visible_text(tree))
    if any(squash(m) in text for m in markers if squash(m)):
        return True
    return any(squash(p) in text for p in GENERIC_WALLS)


def cut(paragraphs: list[str], markers: tuple[str, ...]) -> list[str]:
    """Paragraphs before the first one that belongs to a wall (a marker or generic phrase)."""
    phrases = [squash(p) for p in (*markers, *GENERIC_WALLS) if squash(p)]
    for i, para in enumerate(paragraphs):
        flat = squash(para)
        if len(flat.split()) <= _MAX_WALL_WORDS and any(p in flat for p in phrases):
            return paragraphs[:i]
    return paragraphs


def visible_text(tree: etree._Element, sep: str = " ") -> str:
    """The page's words a reader could see (no scripts, styles, templates or comments)."""
    parts: list[str] = []
    for el in tree.iter():
        if isinstance(el.tag, str) and el.tag not in _HIDDEN and el.text:
            parts.append(el.text)
        if el.tail:  # a tail belongs to the parent, which is visible
            parts.append(el.tail)
    return sep.join(parts)


_HIDDEN = frozenset({"script", "style", "noscript", "template", "head", "title"})
