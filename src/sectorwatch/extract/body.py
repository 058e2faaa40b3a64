"""The article body: per-source rules and the learned template first, then trafilatura,
then generic filters for what main-content extractors are known to let through."""

from __future__ import annotations

import copy
import re

import trafilatura
from bs4 import BeautifulSoup
from lxml import etree
from lxml import html as lxml_html
from trafilatura.utils import load_html

from sectorwatch.extract import template as tpl
from sectorwatch.extract.text import squash
from sectorwatch.sources.base import ExtractRules

# Lines that promote other content or count comments: generic, in no site's particular
# wording. They are dropped only when short, so an article sentence that starts the same
# way survives.
_PROMO = re.compile(
    r"^(related( post| articles?| stories| content| reading)?\s*[:|]|also on [\w.]+\b|"
    r"see more\s*:|see also\s*:|don'?t miss\b|read more\s*:|more\s*:\s*$|"
    r"you (may|might) also like\b|recommended( for you)?\s*:|\d*\s*comments?$|"
    r"like this story\?|follow (us|\w+) on (facebook|twitter|instagram)\b|share (this|on)\b|"
    r"sign up (for|to) (our|the)\b.*newsletter|advertisement$|©|copyright\b)",
    re.IGNORECASE,
)
_PROMO_MAX_WORDS = 25
# Where only the wide reading keeps a paragraph, it is kept if at least this many words
# long: at the top (before anything the strict reading kept), in the middle, at the end.
_KEEP_WORDS = {"top": 40, "middle": 10, "end": 40}


def paragraphs(tree: etree._Element, rules: ExtractRules, template: tpl.Template | None,
               url: str) -> list[str]:
    """The body as a list of paragraphs (raw: hygiene comes later). ``tree`` is changed:
    the learned template is stripped from it."""
    if template:
        tpl.strip(tree, template)
    lean = _apply_selectors(_lean(tree), rules)
    if lean is None:
        return []
    wide = _trafilatura(copy.deepcopy(lean), url, fast=True)  # trafilatura edits its input
    strict = _trafilatura(lean, url, favor_precision=True)
    lines = [line for line in agree(wide, strict) if not _is_promo(line)]
    if rules.drop_paragraphs:
        patterns = [re.compile(p) for p in rules.drop_paragraphs]
        lines = [line for line in lines if not any(p.search(line) for p in patterns)]
    return lines


def split_standfirst(lines: list[str], tree: etree._Element,
                     description: str | None) -> tuple[str | None, list[str]]:
    """(standfirst, body lines without it).

    A standfirst (dek) is the publisher's summary under the headline. It is recognised
    generically as a visible block repeating the page's meta description that sits outside
    the body's own container; a first body paragraph that merely doubles as the meta
    description stays in the body. It is kept apart from the body, as readers and the
    benchmark's annotators both treat it.
    """
    target = squash(description or "")
    if len(target.split()) < 8:
        return None, lines
    size = len(description or "")
    for el in tree.iter("p", "div", "h2", "span"):
        if len(el) > 8:
            continue  # a container, not a paragraph
        raw = el.text_content()
        if abs(len(raw) - size) > size * 0.3 + 20:  # cheap test before the exact one
            continue
        if squash(raw) != target or el.xpath("ancestor::figure"):
            continue
        parent = el.getparent()
        rest = [squash(line)[:60] for line in lines if squash(line) != target][:2]
        flow = squash(parent.text_content()) if parent is not None else ""
        if rest and all(r in flow for r in rest):
            return None, lines  # it is the body's own first paragraph
        standfirst = " ".join(raw.split())
        return standfirst, [line for line in lines if squash(line) != target]
    return None, lines


def agree(wide: list[str], strict: list[str]) -> list[str]:
    """Merge two readings of one page: the wide one (trafilatura's default) finds more of
    the article, the strict one (favor_precision) less boilerplate.

    Paragraphs both keep stay. Where only the wide reading keeps one, its place decides:
    boilerplate gathers at the edges (menus and decks on top, related links, sign-ups and
    comments at the end) and is short in the middle (promos, "Also:" lines), while article
    text the strict reading lost is long. Measured on the DEV set, see benchmarks/.
    """
    kept = {squash(line) for line in strict}
    both = [squash(line) in kept for line in wide]
    if not any(both):
        return strict or wide
    first, last = both.index(True), len(both) - 1 - both[::-1].index(True)
    out = []
    for i, line in enumerate(wide):
        where = "top" if i < first else "end" if i > last else "middle"
        if both[i] or len(line.split()) >= _KEEP_WORDS[where]:
            out.append(line)
    return out


def _trafilatura(tree: etree._Element, url: str, **options) -> list[str]:
    text = trafilatura.extract(
        tree, url=url, include_comments=False, include_tables=True, output_format="txt",
        deduplicate=False,  # its cache is process-wide: it would cut one article by another
        with_metadata=False, **options,
    ) or ""
    return [line.strip() for line in text.split("\n") if line.strip()]


def without_headline(lines: list[str], headlines: list[str]) -> list[str]:
    """Drop leading lines that repeat the headline: the body starts after it."""
    heads = {squash(h) for h in headlines if squash(h)}
    while lines and squash(lines[0]) in heads:
        lines = lines[1:]
    return lines


_INERT = ("script", "style", "noscript", "template", "svg", "iframe", "object", "embed",
          "canvas", "link", "meta", "head")


_CHROME = etree.XPath(  # not <form>: some sites (ASP.NET) wrap the whole page in one
    "//nav | //footer | //aside | //select | //button"
    " | //*[@role='navigation' or @role='contentinfo' or @role='complementary'"
    " or @role='search' or @role='banner' or @aria-hidden='true' or @hidden]")


def _lean(tree: etree._Element) -> etree._Element:
    """A copy of the page without what no extractor keeps: scripts, styles and SVG, and
    page chrome (navigation, footers, asides, controls, hidden parts). Each reading walks the
    whole tree, so the smaller it is the faster both run."""
    lean = copy.deepcopy(tree)
    etree.strip_elements(lean, *_INERT, etree.Comment, with_tail=False)
    for el in _CHROME(lean):
        if el.getparent() is not None and el.tag not in ("html", "body"):
            el.drop_tree()
    return lean


def _is_promo(line: str) -> bool:
    return len(line.split()) <= _PROMO_MAX_WORDS and bool(_PROMO.match(line.lstrip("-–•* ")))


def _apply_selectors(tree: etree._Element, rules: ExtractRules) -> etree._Element | None:
    """Per-source rules: dropped elements gone, scoped to the body selector.

    Selectors use soupsieve (the engine config validation checks them with); this slower
    path runs only for sources that have selector rules.
    """
    if not (rules.drop_selectors or rules.body_selector):
        return tree
    soup = BeautifulSoup(lxml_html.tostring(tree, encoding="unicode"), "lxml")
    for selector in rules.drop_selectors:
        for element in soup.select(selector):
            element.decompose()
    if rules.body_selector and (found := soup.select(rules.body_selector)):
        inner = "".join(str(el) for el in found)
        return load_html(f"<html><body><article>{inner}</article></body></html>")
    return load_html(str(soup))
