"""XML sitemaps (and Google news sitemaps, and sitemap indexes, plain or gzipped)."""

from __future__ import annotations

import gzip
import zlib
from datetime import UTC, datetime, timedelta
from typing import Literal

from lxml import etree
from pydantic import Field

from sectorwatch.errors import ParseError
from sectorwatch.models import Link
from sectorwatch.sources.base import (
    Discovery,
    Duration,
    Fetcher,
    SourceBase,
    SourceType,
    html_article_request,
)
from sectorwatch.sources.links import keep_links
from sectorwatch.urls import canonicalize

MAX_UNZIPPED = 50_000_000  # the sitemap protocol's own limit per file
_NS = {
    "sm": "http://www.sitemaps.org/schemas/sitemap/0.9",
    "news": "http://www.google.com/schemas/sitemap-news/0.9",
}


class SitemapSource(SourceBase):
    """A sitemap or news sitemap; an index is followed to its newest child sitemaps."""

    type: Literal["sitemap"]
    max_age: Duration = Field(
        7 * 86_400.0, gt=0, description="Ignore entries dated older than this."
    )
    max_child_sitemaps: int = Field(
        3, ge=1, le=50, description="Child sitemaps read from an index, newest first."
    )


def parse_sitemap(body: bytes, url: str) -> tuple[list[Link], list[tuple[str, datetime | None]]]:
    """(links from a urlset, (url, lastmod) of children from a sitemapindex)."""
    root = _xml_root(_gunzip(body, url), url)
    tag = etree.QName(root).localname
    if tag == "sitemapindex":
        children = [
            (canonicalize(loc.strip(), url), _date(sm.findtext("sm:lastmod", None, _NS)))
            for sm in root.findall("sm:sitemap", _NS)
            if (loc := sm.findtext("sm:loc", None, _NS))
        ]
        return [], children
    if tag != "urlset":
        raise ParseError(f"not a sitemap: root element is <{tag}>", url=url)
    links = []
    for entry in root.findall("sm:url", _NS):
        loc = entry.findtext("sm:loc", None, _NS)
        if not loc:
            continue
        news_date = entry.findtext("news:news/news:publication_date", None, _NS)
        title = entry.findtext("news:news/news:title", None, _NS)
        links.append(Link(
            url=canonicalize(loc.strip(), url),
            title=" ".join(title.split()) if title else None,
            published=_date(news_date) or _date(entry.findtext("sm:lastmod", None, _NS)),
        ))
    return links, []


def discover(source: SitemapSource, fetcher: Fetcher) -> Discovery:
    page = fetcher.get_conditional(source.url, accept="sitemap")
    if page is None:
        return Discovery((), not_modified=True)
    links, children = parse_sitemap(page.body, page.final_url)
    newest = sorted(children, key=lambda c: c[1] or datetime.min.replace(tzinfo=UTC),
                    reverse=True)
    for child_url, _ in newest[: source.max_child_sitemaps]:
        child = fetcher.get(child_url, accept="sitemap")
        assert child is not None
        links.extend(parse_sitemap(child.body, child.final_url)[0])
    cutoff = datetime.now(UTC) - timedelta(seconds=source.max_age)
    fresh = [link for link in links if link.published is None or link.published >= cutoff]
    fresh.sort(key=lambda link: link.published or cutoff, reverse=True)
    return Discovery(tuple(keep_links(fresh, source)), validated=(page,))


def _gunzip(body: bytes, url: str) -> bytes:
    if not body.startswith(b"\x1f\x8b"):
        return body
    reader = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = reader.decompress(body, MAX_UNZIPPED + 1)
    except (zlib.error, gzip.BadGzipFile) as exc:
        raise ParseError(f"broken gzip sitemap: {exc}", url=url) from None
    if len(out) > MAX_UNZIPPED:
        raise ParseError("gzipped sitemap unpacks to more than 50 MB", url=url)
    return out


def _xml_root(body: bytes, url: str) -> etree._Element:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, recover=False)
    try:
        root = etree.fromstring(body, parser)
    except etree.XMLSyntaxError as exc:
        raise ParseError(f"malformed sitemap XML: {exc}", url=url) from None
    if root is None:
        raise ParseError("empty sitemap", url=url)
    return root


def _date(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


TYPE = SourceType("sitemap", SitemapSource, discover, html_article_request)
