"""The article body: per-source rules and the learned template first, then trafilatura,
then generic filters for what main-content extractors are known to let through."""

from __future__ import annotations

import re

import trafilatura
from bs4 import BeautifulSoup
from lxml import etree
from lxml import html as lxml_html

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


def paragraphs(html: str, tree: etree._Element, rules: ExtractRules,
               template: tpl.Template | None, url: str) -> list[str]:
    """The body as a list of paragraphs (raw: hygiene comes later)."""
    if template:
        tpl.strip(tree, template)
        html = lxml_html.tostring(tree, encoding="unicode")
    html = _apply_selectors(html, rules)
    text = trafilatura.extract(
        html, url=url, favor_precision=True, include_comments=False, include_tables=True,
        deduplicate=False,  # its cache is process-wide: it would cut one article by another
        output_format="txt", with_metadata=False,
    ) or ""
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    lines = [line for line in lines if not _is_promo(line)]
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
    for el in tree.iter("p", "div", "h2", "span"):
        if squash(el.text_content()) != target or el.xpath("ancestor::figure"):
            continue
        parent = el.getparent()
        rest = [squash(line)[:60] for line in lines if squash(line) != target][:2]
        flow = squash(parent.text_content()) if parent is not None else ""
        if rest and all(r in flow for r in rest):
            return None, lines  # it is the body's own first paragraph
        standfirst = " ".join(el.text_content().split())
        return standfirst, [line for line in lines if squash(line) != target]
    return None, lines


def without_headline(lines: list[str], headlines: list[str]) -> list[str]:
    """Drop leading lines that repeat the headline: the body starts after it."""
    heads = {squash(h) for h in headlines if squash(h)}
    while lines and squash(lines[0]) in heads:
        lines = lines[1:]
    return lines


def _is_promo(line: str) -> bool:
    return len(line.split()) <= _PROMO_MAX_WORDS and bool(_PROMO.match(line.lstrip("-–•* ")))


def _apply_selectors(html: str, rules: ExtractRules) -> str:
    """Per-source rules: dropped elements gone, scoped to the body selector.

    Selectors use soupsieve (the engine config validation checks them with); this slower
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
