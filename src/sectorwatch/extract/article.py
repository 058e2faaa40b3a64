"""Page → Article: the one entry point of extraction. Pure: no I/O, no clock."""

from __future__ import annotations

import copy

from lxml import etree
from trafilatura.utils import load_html

from sectorwatch.errors import ExtractError
from sectorwatch.extract import body, metadata, walls
from sectorwatch.extract.govuk import extract_govuk
from sectorwatch.extract.template import Template
from sectorwatch.extract.text import clean, fingerprint, lead, squash, word_count
from sectorwatch.models import Article, Link, Page
from sectorwatch.sources.base import ExtractRules
from sectorwatch.urls import canonicalize, same_site

MAX_TEXT = 200_000  # characters kept of one article: scraped content is bounded
MIN_WORDS = 15  # fewer words than this is a menu or an error page, not an article
# A learned template that leaves fewer words than this is checked against the page read
# without it; one that keeps less than a quarter of that reading is not trusted.
_CHECK_BELOW_WORDS = 200
_MIN_KEPT_SHARE = 0.25


def extract_article(page: Page, rules: ExtractRules, *, link: Link | None = None,
                    template: Template | None = None) -> Article:
    """Turn a fetched page into an Article, or raise ExtractError.

    ``link`` carries what the source said about the page (its feed date wins over every
    date on the page); ``template`` is what the source's other pages share (see
    extract.template), stripped before the body is found.
    """
    link = link or Link(page.url)
    if page.pdf:
        from sectorwatch.extract.pdf import extract_pdf  # pypdf loads only for a PDF

        return extract_pdf(page, link)
    if "json" in page.content_type:
        return extract_govuk(page, link)
    if page.text is None:
        raise ExtractError(f"cannot extract text from {page.content_type or 'this page'}",
                           url=page.final_url)
    tree = _parse(page.text, page.final_url)
    canonical = _canonical(tree, page.final_url)
    ld = metadata.article_ld(metadata.json_ld(tree))
    title = metadata.title(tree, fallback=link.title)
    h1 = next(iter(tree.iter("h1")), None)
    truncated = walls.walled(tree, rules.paywall_markers, ld)
    text_head = _text_head(tree)

    lines, tree, warning = _body(tree, rules, template, page.final_url)
    lines = body.without_headline(lines, [title] + ([h1.text_content()] if h1 is not None else []))
    standfirst, lines = body.split_standfirst(
        lines, tree, metadata.meta(tree, "og:description", "description"))
    lines = walls.cut(lines, rules.paywall_markers)
    text = clean("\n\n".join(lines))[:MAX_TEXT]
    words = word_count(text)
    if words < MIN_WORDS and not truncated:
        raise ExtractError(f"no article text found ({words} words)", url=page.final_url,
                           hint="check the source's extract rules with `sectorwatch extract`")
    published = metadata.published(tree, canonical, ld, text_head, link.published,
                                   page.fetched_at)
    updated = metadata.updated(tree, ld, text_head)
    # A walled page may show little or no text: its identity must not be the (shared)
    # fingerprint of a near-empty body, or every walled article would look like one.
    identity = text if words >= MIN_WORDS else f"{canonical}\n{title}\n{text}"
    return Article(
        url=canonical, title=clean(title), text=text, fingerprint=fingerprint(identity),
        published=published.when, published_signal=published.signal,
        updated=updated.when if updated else None,
        updated_signal=updated.signal if updated else None,
        author=metadata.author(tree, ld), language=metadata.language(tree),
        truncated=truncated, word_count=words, standfirst=clean(standfirst or "") or None,
        lead=lead(standfirst or text), warnings=(warning,) if warning else (),
    )


def _body(tree: etree._Element, rules: ExtractRules, template: Template | None, url: str
          ) -> tuple[list[str], etree._Element, str | None]:
    """(body lines, the tree they came from, a warning): stripping the learned template
    never takes a page from many words to few; then the page is read without it."""
    pristine = copy.deepcopy(tree) if template else None
    lines = body.paragraphs(tree, rules, template, url)
    if pristine is None:
        return lines, tree, None
    words = word_count(" ".join(lines))
    if words >= _CHECK_BELOW_WORDS:
        return lines, tree, None
    plain = body.paragraphs(pristine, rules, None, url)  # without a template: unchanged
    plain_words = word_count(" ".join(plain))
    if plain_words < MIN_WORDS or words >= max(MIN_WORDS, plain_words * _MIN_KEPT_SHARE):
        return lines, tree, None
    return plain, pristine, (f"the source's learned template would leave {words} of "
                             f"{plain_words} words; the page was read without it")


def _parse(text: str, url: str) -> etree._Element:
    """Parsed once, the way trafilatura parses (it gets a copy of this tree)."""
    tree = load_html(text)
    if tree is None:
        raise ExtractError("unparseable or empty HTML", url=url)
    return tree


def _canonical(tree: etree._Element, final_url: str) -> str:
    """The page's rel=canonical wins when it is on the same site; otherwise the final URL."""
    for el in tree.iter("link"):
        rel = (el.get("rel") or "").lower().split()
        if "canonical" in rel and el.get("href"):
            candidate = canonicalize(el.get("href"), final_url)
            if candidate.startswith(("http://", "https://")) and same_site(candidate, final_url):
                return candidate
    return canonicalize(final_url)


def _text_head(tree: etree._Element, lines: int = 40) -> str:
    """The first lines of visible text after the headline: where datelines and 'last
    updated' notes sit."""
    h1 = next(iter(tree.iter("h1")), None)
    scope = h1.getparent() if h1 is not None and h1.getparent() is not None else tree
    for _ in range(2):  # widen to the headline's container's container
        if scope.getparent() is not None and len(squash(scope.text_content())) < 400:
            scope = scope.getparent()
    text = "\n".join(t.strip() for t in walls.visible_text(scope, "\n").splitlines()
                      if t.strip())
    return "\n".join(text.splitlines()[:lines])
