"""Atom feeds (RFC 4287) of digest issues and of an authority's stories. Pure.

Built with ElementTree, so every value is escaped as XML; every text and attribute is
first cleaned of the characters XML 1.0 cannot carry at all, and titles and summaries are
bounded.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sectorwatch.digest.render import clean_header_text

ATOM = "http://www.w3.org/2005/Atom"
# characters XML 1.0 cannot carry, even escaped
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff\ud800-\udfff]")


def xml_safe(text: str) -> str:
    return _NOT_XML.sub("", text)


@dataclass(frozen=True)
class Entry:
    id: str
    title: str
    link: str | None
    updated: datetime
    summary: str = ""
    author: str = ""


def _stamp(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def atom(*, feed_id: str, title: str, self_url: str, page_url: str, entries: Sequence[Entry],
         author: str = "Sectorwatch", updated: datetime | None = None) -> bytes:
    """The feed as UTF-8 XML. ``updated`` defaults to the newest entry's time."""
    ET.register_namespace("", ATOM)
    root = ET.Element(f"{{{ATOM}}}feed")

    def add(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        el = ET.SubElement(parent, f"{{{ATOM}}}{tag}",
                           {k: xml_safe(v) for k, v in attrs.items()})
        if text is not None:
            el.text = xml_safe(text)
        return el

    newest = max((e.updated for e in entries), default=None)
    add(root, "id", feed_id)
    add(root, "title", clean_header_text(title, 200))
    add(root, "updated", _stamp(updated or newest or datetime(1970, 1, 1, tzinfo=UTC)))
    add(root, "link", rel="self", type="application/atom+xml", href=self_url)
    add(root, "link", rel="alternate", type="text/html", href=page_url)
    add(add(root, "author"), "name", author)
    add(root, "generator", "sectorwatch")
    for e in entries:
        item = add(root, "entry")
        add(item, "id", e.id)
        add(item, "title", clean_header_text(e.title, 300) or "(untitled)")
        add(item, "updated", _stamp(e.updated))
        if e.link:
            add(item, "link", rel="alternate", type="text/html", href=e.link)
        if e.author:
            add(add(item, "author"), "name", clean_header_text(e.author, 80))
        if e.summary:
            add(item, "summary", clean_header_text(e.summary, 1000), type="text")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
