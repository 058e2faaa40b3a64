"""Paywalls and registration walls: detect them, and keep only real article text."""

from __future__ import annotations

import functools

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
    phrases = _phrases(markers)
    raw = etree.tostring(tree, method="text", encoding="unicode").casefold()
    if not any(word in raw for word in _keywords(phrases)):
        return False  # none of the phrases' rarest words is anywhere on the page
    text = squash(visible_text(tree))
    return any(phrase in text for phrase in phrases)


def cut(paragraphs: list[str], markers: tuple[str, ...]) -> list[str]:
    """Paragraphs before the first one that belongs to a wall (a marker or generic phrase)."""
    phrases = _phrases(markers)
    for i, para in enumerate(paragraphs):
        if len(para.split()) > _MAX_WALL_WORDS:
            continue
        flat = squash(para)
        if any(p in flat for p in phrases):
            return paragraphs[:i]
    return paragraphs


@functools.lru_cache(maxsize=256)
def _keywords(phrases: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(max(p.split(), key=len) for p in phrases)


@functools.lru_cache(maxsize=256)
def _phrases(markers: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(flat for p in (*markers, *GENERIC_WALLS) if (flat := squash(p)))


_VISIBLE = etree.XPath(
    "descendant-or-self::text()[not(ancestor::script or ancestor::style or ancestor::noscript"
    " or ancestor::template or ancestor::head)]", smart_strings=False)


def visible_text(tree: etree._Element, sep: str = " ") -> str:
    """The page's words a reader could see (no scripts, styles, templates or comments)."""
    return sep.join(_VISIBLE(tree))
