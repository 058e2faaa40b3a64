"""GOV.UK Content API items (JSON): the body is trusted HTML in ``details.body``."""

from __future__ import annotations

import json

from bs4 import BeautifulSoup

from sectorwatch.errors import ExtractError
from sectorwatch.extract.metadata import parse_date
from sectorwatch.extract.text import clean, fingerprint, lead, word_count
from sectorwatch.models import Article, Link, Page
from sectorwatch.urls import canonicalize

MAX_TEXT = 200_000
_BLOCKS = ["p", "h2", "h3", "h4", "li", "td", "th", "blockquote", "pre"]


def extract_govuk(page: Page, link: Link) -> Article:
    try:
        item = json.loads(page.text or page.body)
    except ValueError as exc:
        raise ExtractError(f"Content API answer is not JSON: {exc}", url=page.final_url) from None
    if not isinstance(item, dict):
        raise ExtractError("Content API answer is not a content item", url=page.final_url)
    details = item.get("details") or {}
    body = details.get("body") or ""
    if isinstance(body, list):  # multi-part content types give [{content_type, content}]
        body = next((b.get("content", "") for b in body if b.get("content_type") == "text/html"),
                    "")
    # The description is GOV.UK's standfirst: the article's own first words.
    text = clean("\n\n".join(filter(None, [item.get("description") or "", html_text(body)])))
    text = text[:MAX_TEXT]
    if not text:
        raise ExtractError("the Content API item has no body", url=page.final_url)
    base_path = item.get("base_path")
    published = parse_date(item.get("first_published_at"))
    updated = parse_date(item.get("public_updated_at"))
    # The API's first_published_at is GOV.UK's own record; the finder feed only has the
    # entry's last update, so here the API outranks the feed.
    if published:
        when, signal = published, "api"
    elif link.published:
        when, signal = link.published, "feed"
    else:
        when, signal = page.fetched_at, "first_seen"
    return Article(
        url=canonicalize(base_path, link.url) if base_path else link.url,
        title=clean(item.get("title") or link.title or "(untitled)"),
        text=text, fingerprint=fingerprint(text), published=when, published_signal=signal,
        updated=updated, updated_signal="api" if updated else None,
        language=item.get("locale"), word_count=word_count(text), lead=lead(text),
    )


def html_text(html: str) -> str:
    """Govspeak HTML → paragraphs: one per block element, nested blocks not repeated."""
    if not html:
        return ""
    root = BeautifulSoup(html, "lxml")
    blocks = [" ".join(el.get_text(" ").split()) for el in root.find_all(_BLOCKS)
              if not el.find_parent(_BLOCKS)]
    return "\n\n".join(b for b in blocks if b)
