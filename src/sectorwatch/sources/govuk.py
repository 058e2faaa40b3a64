"""GOV.UK: discovery from a search Atom feed, bodies from the Content API (JSON), not HTML."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field

from sectorwatch.models import Link
from sectorwatch.sources import feed
from sectorwatch.sources.base import Discovery, Fetcher, HttpUrl, SourceBase, SourceType


class GovukSource(SourceBase):
    """A GOV.UK finder Atom feed (any gov.uk/search/… URL with .atom)."""

    type: Literal["govuk"]
    content_api: HttpUrl | None = Field(
        None, description="Content API root; defaults to <feed origin>/api/content."
    )


def content_api_url(link_url: str, api_root: str | None = None) -> str:
    """``https://www.gov.uk/government/news/x`` → ``https://www.gov.uk/api/content/government/news/x``."""
    parts = urlsplit(link_url)
    root = (api_root or f"{parts.scheme}://{parts.netloc}/api/content").rstrip("/")
    return f"{root}{parts.path}"


def discover(source: GovukSource, fetcher: Fetcher) -> Discovery:
    return feed.discover(source, fetcher)  # the same Atom reading; only bodies differ


def article_request(source: GovukSource, link: Link) -> tuple[str, str]:
    return content_api_url(link.url, source.content_api), "json"


TYPE = SourceType("govuk", GovukSource, discover, article_request)
