"""The generic extractor: trafilatura's main text, steered by per-source rules (as data)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import trafilatura
from bs4 import BeautifulSoup
from lxml import etree
from lxml import html as lxml_html

from sectorwatch.errors import ExtractError
from sectorwatch.extract.text import fingerprint, normalise, word_count
from sectorwatch.models import Article, Link, Page
from sectorwatch.sources.base import ExtractRules
from sectorwatch.urls import canonicalize, same_site

MAX_TEXT = 200_000  # characters kept of one article: scraped content is bounded
MIN_WORDS = 15  # fewer words than this is a menu or an error page, not an article
_URL_DATE = re.compile(r"/(20\d{2})/(0[1-9]|1[0-2])/([0-2]\d|3[01])/")


def extract_article(page: Page, link: Link, rules: ExtractRules) -> Article:
    """Turn a fetched page into an Article, or raise ExtractError."""
    if "json" in page.content_type:
        return _from_govuk_json(page, link)
    if page.text is None:
        raise ExtractError(f"cannot extract text from {page.content_type}", url=page.final_url)
    tree = _parse(page.text, page.final_url)
    canonical = _canonical(tree, page.final_url)
    # deduplicate stays off: trafilatura's duplicate cache is process-wide, so it would
    # strip paragraphs from one article because another article quoted them.
    found = trafilatura.bare_extraction(
        _apply_selectors(page.text, rules), url=page.final_url,
        with_metadata=True, include_comments=False, include_tables=True,
        favor_precision=True, deduplicate=False,
    )
    doc = found.as_dict() if found is not None else {}
    body = normalise(doc.get("text") or "")
    body = _drop_paragraphs(body, rules.drop_paragraphs)
    truncated = False
    for marker in rules.paywall_markers:
        if marker.casefold() in page.text.casefold():
            truncated = True
            body = re.split(re.escape(marker), body, maxsplit=1, flags=re.IGNORECASE)[0].strip()
    title = _title(doc.get("title"), link, tree)
    body = _without_headline(body, title, tree)[:MAX_TEXT]
    words = word_count(body)
    if words < MIN_WORDS and not truncated:
        raise ExtractError(f"no article text found ({words} words)", url=page.final_url,
                           hint="check the source's extract.body_selector")
    # A walled page may show little or no text: its identity must not be the (shared)
    # fingerprint of a near-empty body, or every walled article would look like one.
    identity = body if words >= MIN_WORDS else f"{canonical}\n{title}\n{body}"
    published, signal = _published(link, doc.get("date"), canonical)
    return Article(
        url=canonical, title=title, text=body, fingerprint=fingerprint(identity),
        published=published, published_signal=signal, author=doc.get("author") or None,
        language=doc.get("language") or _lang(tree), truncated=truncated, word_count=words,
    )


def _parse(text: str, url: str) -> etree._Element:
    try:
        return lxml_html.document_fromstring(text)
    except (etree.ParserError, ValueError) as exc:
        raise ExtractError(f"unparseable HTML: {exc}", url=url) from None


def _canonical(tree: etree._Element, final_url: str) -> str:
    """The page's rel=canonical wins when it is on the same site; otherwise the final URL."""
    for link in tree.iter("link"):
        rel = (link.get("rel") or "").lower().split()
        if "canonical" in rel and link.get("href"):
            candidate = canonicalize(link.get("href"), final_url)
            if candidate.startswith(("http://", "https://")) and same_site(candidate, final_url):
                return candidate
    return canonicalize(final_url)


def _apply_selectors(html: str, rules: ExtractRules) -> str:
    """The HTML trafilatura should see: dropped elements gone, scoped to the body selector.

    Selectors use soupsieve (the engine config validation checks them with), so this slower
    path runs only for sources that have selector rules.
    """
    if not (rules.drop_selectors or rules.body_selector):
        return html
    soup = BeautifulSoup(html, "lxml")
    for selector in rules.drop_selectors:
        for element in soup.select(selector):
            element.decompose()
    if rules.body_selector and (found := soup.select(rules.body_selector)):
        inner = "".join(str(el) for el in found)
        return f"<html><body><article>{inner}</article></body></html>"
    return str(soup)


def _without_headline(text: str, title: str, tree: etree._Element) -> str:
    """The body starts after the headline: a leading paragraph repeating the title or the
    page's h1 goes, so a publisher's title edit does not change the article's identity."""
    first, _, rest = text.partition("\n\n")
    h1 = next(tree.iter("h1"), None)
    heads = {_squash(title), _squash(h1.text_content()) if h1 is not None else ""}
    return rest if _squash(first) in heads else text


def _squash(text: str) -> str:
    return " ".join(text.split()).casefold()


def _drop_paragraphs(text: str, patterns: tuple[str, ...]) -> str:
    if not patterns:
        return text
    compiled = [re.compile(p) for p in patterns]
    kept = [p for p in text.split("\n\n") if not any(c.search(p) for c in compiled)]
    return "\n\n".join(kept)


def _title(found: str | None, link: Link, tree: etree._Element) -> str:
    title = found or link.title or tree.findtext(".//title") or ""
    return " ".join(title.split())[:500] or "(untitled)"


def _published(link: Link, page_date: str | None, url: str) -> tuple[datetime | None, str]:
    """Most trusted first: the feed's date, the page's own, the URL's, else first seen."""
    if link.published:
        return link.published, "feed"
    m = _URL_DATE.search(url)
    from_url = datetime(int(m[1]), int(m[2]), int(m[3]), tzinfo=UTC) if m else None
    if page_date:
        try:
            found = datetime.fromisoformat(page_date).replace(tzinfo=UTC)
        except ValueError:
            found = None
        if found is not None:
            # trafilatura's date finder reads the URL too: name the signal truthfully
            return found, "url" if found == from_url else "page"
    return (from_url, "url") if from_url else (None, "first_seen")


def _lang(tree: etree._Element) -> str | None:
    lang = tree.get("lang")
    return lang.split("-")[0].lower() if lang else None


def _from_govuk_json(page: Page, link: Link) -> Article:
    """A GOV.UK Content API item: the body is trusted HTML in details.body."""
    try:
        item = json.loads(page.text or page.body)
    except ValueError as exc:
        raise ExtractError(f"Content API answer is not JSON: {exc}", url=page.final_url) from None
    if not isinstance(item, dict):
        raise ExtractError("Content API answer is not a content item", url=page.final_url)
    details = item.get("details") or {}
    lead = item.get("description") or ""
    body = details.get("body") or ""
    if isinstance(body, list):  # multi-part content types give [{content_type, content}]
        body = next((b.get("content", "") for b in body if b.get("content_type") == "text/html"),
                    "")
    text = normalise("\n\n".join(filter(None, [lead, _html_text(body) if body else ""])))
    text = text[:MAX_TEXT]
    if not text:
        raise ExtractError("the Content API item has no body", url=page.final_url)
    base_path = item.get("base_path")
    url = canonicalize(base_path, link.url) if base_path else link.url
    published = _iso(item.get("first_published_at"))
    return Article(
        url=url, title=" ".join((item.get("title") or link.title or "(untitled)").split()),
        text=text, fingerprint=fingerprint(text),
        published=published or link.published,
        published_signal="api" if published else ("feed" if link.published else "first_seen"),
        updated=_iso(item.get("public_updated_at")), language=item.get("locale"),
        word_count=word_count(text),
    )


def _html_text(html: str) -> str:
    """Govspeak HTML → paragraphs: one per block element, nested blocks not repeated."""
    root = BeautifulSoup(html, "lxml")
    blocks = []
    for el in root.find_all(_BLOCKS):
        if el.find_parent(_BLOCKS):
            continue
        blocks.append(" ".join(el.get_text(" ").split()))
    return "\n\n".join(b for b in blocks if b)


_BLOCKS = ["p", "h2", "h3", "h4", "li", "td", "th", "blockquote", "pre"]


def _iso(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
