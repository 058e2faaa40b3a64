"""RSS and Atom feeds, read with feedparser."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime
from typing import Literal

import feedparser
from bs4 import BeautifulSoup

from sectorwatch.errors import ParseError
from sectorwatch.models import Link
from sectorwatch.sources.base import (
    Discovery,
    Fetcher,
    SourceBase,
    SourceType,
    html_article_request,
)
from sectorwatch.sources.links import keep_links
from sectorwatch.urls import canonicalize

SUMMARY_LIMIT = 2_000


class FeedSource(SourceBase):
    """An RSS or Atom feed; each item's link is an article page."""

    type: Literal["feed"]


def parse_feed(body: bytes, url: str, content_type: str = "") -> list[Link]:
    """Links from feed bytes; raise ParseError when nothing usable is there."""
    parsed = feedparser.parse(body, response_headers={"content-type": content_type or "text/xml"},
                              sanitize_html=False, resolve_relative_uris=False)
    if not parsed.get("version") and not parsed.get("entries"):  # an empty body has neither
        raise ParseError("not an RSS or Atom feed", url=url, hint="check the feed URL")
    base = parsed.feed.get("link") or url
    links = []
    for entry in parsed.entries:
        href = entry.get("link") or _permalink_guid(entry)
        if not href:
            continue
        links.append(Link(
            url=canonicalize(href, base if not href.startswith("http") else None),
            title=_clean(entry.get("title")),
            published=_entry_date(entry),
            summary=_plain(entry.get("summary")),
            guid=entry.get("id"),
        ))
    if parsed.bozo and not links:
        # Broken XML is tolerated while it still yields links; a feed that yields none is
        # an error, never a silent "nothing new".
        reason = getattr(parsed, "bozo_exception", None) or "no usable entries"
        raise ParseError(f"malformed feed: {reason}", url=url,
                         hint="open the URL in a browser; has the feed moved or broken?")
    return links


def discover(source: SourceBase, fetcher: Fetcher) -> Discovery:
    """Links from the feed at ``source.url`` (any source type polled as a feed)."""
    page = fetcher.get_conditional(source.url, accept="feed")
    if page is None:
        return Discovery((), not_modified=True)
    links = parse_feed(page.body, page.final_url, page.content_type)
    return Discovery(tuple(keep_links(links, source)), validated=(page,))


def _permalink_guid(entry) -> str | None:
    guid = entry.get("id") or ""
    return guid if guid.startswith(("http://", "https://")) and entry.get("guidislink") else None


def _entry_date(entry) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        if value := entry.get(key):
            return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
    return None


def _clean(text: str | None) -> str | None:
    return " ".join(text.split())[:500] if text else None


def _plain(html: str | None) -> str | None:
    if not html:
        return None
    text = BeautifulSoup(html, "lxml").get_text(" ", strip=True)
    return " ".join(text.split())[:SUMMARY_LIMIT] or None


TYPE = SourceType("feed", FeedSource, discover, html_article_request)
