"""A listing page (and its next pages) whose links, picked by a CSS selector, are articles."""

from __future__ import annotations

from typing import Literal

from bs4 import BeautifulSoup, Tag
from pydantic import Field

from sectorwatch.errors import ParseError
from sectorwatch.models import Link
from sectorwatch.sources.base import (
    Discovery,
    Fetcher,
    Selector,
    SourceBase,
    SourceType,
    html_article_request,
)
from sectorwatch.sources.links import keep_links
from sectorwatch.urls import canonicalize, same_site


class HtmlListingSource(SourceBase):
    """An HTML page listing articles."""

    type: Literal["html_listing"]
    link_selector: Selector = Field(
        description="CSS selector for article links (an <a>, or an element holding one)."
    )
    next_selector: Selector | None = Field(
        None, description="CSS selector of the 'next page' link, if the listing has pages."
    )
    max_pages: int = Field(1, ge=1, le=50, description="Listing pages read per poll.")
    allow_other_sites: bool = Field(
        False, description="Follow article links that point to another site."
    )


def parse_listing(html: str, url: str, link_selector: str,
                  next_selector: str | None = None) -> tuple[list[Link], str | None]:
    """(article links, next page URL) from one listing page."""
    soup = BeautifulSoup(html, "lxml")
    base_tag = soup.find("base", href=True)
    base = canonicalize(_href(base_tag), url) if base_tag else url
    links = []
    for element in soup.select(link_selector):
        anchor = element if element.name == "a" and element.has_attr("href") else (
            element.find("a", href=True))
        if anchor is None:
            continue
        href = _href(anchor).strip()
        if not href or href.startswith(("#", "mailto:", "javascript:", "tel:")):
            continue
        title = " ".join(anchor.get_text(" ", strip=True).split()) or None
        links.append(Link(url=canonicalize(href, base), title=title))
    next_url = None
    if next_selector and (nxt := soup.select_one(next_selector)):
        anchor = nxt if nxt.has_attr("href") else nxt.find("a", href=True)
        if anchor is not None and anchor.get("href"):
            next_url = canonicalize(_href(anchor), base)
    return links, next_url


def _href(tag: Tag) -> str:
    """A tag's href: one value (bs4 splits only attributes such as class into lists)."""
    value = tag["href"]
    return value if isinstance(value, str) else " ".join(value)


def discover(source: HtmlListingSource, fetcher: Fetcher) -> Discovery:
    page = fetcher.get_conditional(source.url, accept="html")
    if page is None:
        return Discovery((), not_modified=True)
    first, pages = page, 1
    found: list[Link] = []
    visited = {canonicalize(source.url)}
    while True:
        links, next_url = parse_listing(page.text or "", page.final_url,
                                        source.link_selector, source.next_selector)
        found.extend(link for link in links
                     if source.allow_other_sites or same_site(link.url, source.url))
        if not next_url or next_url in visited or pages >= source.max_pages:
            break
        visited.add(next_url)
        page = fetcher.get(next_url, accept="html")
        pages += 1
    if not found:
        raise ParseError(
            f"no links matched {source.link_selector!r} on the listing page", url=source.url,
            hint="the site's layout may have changed: check link_selector with `sectorwatch fetch "
                 "--dry-run`",
        )
    return Discovery(tuple(keep_links(found, source)), validated=(first,))


TYPE = SourceType("html_listing", HtmlListingSource, discover, html_article_request)
