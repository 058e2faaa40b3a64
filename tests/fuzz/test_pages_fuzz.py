"""Feeds and pages as hostile sites send them: malformed XML and HTML, odd encodings,
deep nesting. Parsing gives links or an article, or a sectorwatch error: never a crash."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from sectorwatch.decode import decode
from sectorwatch.errors import SectorwatchError
from sectorwatch.extract.article import extract_article
from sectorwatch.models import Page
from sectorwatch.sources.base import ExtractRules
from sectorwatch.sources.feed import parse_feed

PIECES = st.sampled_from([
    "<rss version='2.0'><channel>", "<item><title>", "</title><link>", "http://127.0.0.1/a",
    "</link></item>", "</channel></rss>", "<feed xmlns='http://www.w3.org/2005/Atom'>",
    "<entry><link href='/x'/></entry>", "<!DOCTYPE x [<!ENTITY a 'aaaa'>]>", "&a;&a;",
    "<html><body><article><p>", "Ofsted rated the council inadequate. ", "</p></article>",
    "<script>alert(1)</script>", "<div>" * 50, "\x00", "\u202e", "=?UTF-8?Q?=0A?=",
    "<meta charset='utf-16'>", "\ufeff", "<![CDATA[", "]]>", "<p>" + "x " * 200])


def page(body: bytes, ctype: str) -> Page:
    text, encoding = decode(body, ctype)
    return Page("http://127.0.0.1/p", "http://127.0.0.1/p", 200, ctype, body,
                datetime(2026, 11, 23, tzinfo=UTC), text=text, encoding=encoding)


@given(st.lists(PIECES, max_size=25).map("".join), st.sampled_from(
    ["utf-8", "utf-16", "latin-1"]))
def test_feeds_of_pieces(text, encoding):
    body = text.encode(encoding, errors="replace")
    try:
        links = parse_feed(body, "http://127.0.0.1/feed", "application/rss+xml")
    except SectorwatchError:
        return
    assert all(link.url.startswith("http") for link in links)


@given(st.binary(max_size=2_000))
def test_feeds_of_bytes(body):
    with contextlib.suppress(SectorwatchError):
        parse_feed(body, "http://127.0.0.1/feed", "application/xml")


@given(st.lists(PIECES, max_size=25).map("".join) | st.text(max_size=500),
       st.sampled_from(["text/html; charset=utf-8", "text/html", "application/xhtml+xml"]))
def test_pages(text, ctype):
    try:
        article = extract_article(page(text.encode("utf-8", "surrogatepass"), ctype),
                                  ExtractRules())
    except SectorwatchError:
        return
    assert isinstance(article.text, str)
