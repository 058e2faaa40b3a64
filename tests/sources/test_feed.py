from datetime import UTC, datetime

import pytest

from sectorwatch.errors import ParseError
from sectorwatch.sources.feed import parse_feed

BASE = "https://www.communitycare.co.uk"


def test_rss_items_become_canonical_links():
    body = f"""<?xml version="1.0"?><rss version="2.0"><channel><title>CC</title>
    <link>{BASE}/</link>
    <item><title>  Council  improves </title>
      <link>{BASE}/2026/11/02/council-improves/?utm_source=rss&amp;utm_medium=rss#comments</link>
      <guid isPermaLink="false">{BASE}/?p=1</guid>
      <pubDate>Mon, 02 Nov 2026 09:30:00 +0000</pubDate>
      <description><![CDATA[<p>Short <b>excerpt</b></p>]]></description></item>
    </channel></rss>""".encode()
    [link] = parse_feed(body, f"{BASE}/feed/", "application/rss+xml")
    assert link.url == f"{BASE}/2026/11/02/council-improves/"
    assert link.title == "Council improves"
    assert link.published == datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
    assert link.summary == "Short excerpt"
    assert link.guid == f"{BASE}/?p=1"


def test_atom_entries_and_relative_links():
    body = b"""<?xml version="1.0" encoding="utf-8"?>
    <feed xmlns="http://www.w3.org/2005/Atom"><title>Ofsted</title>
      <link rel="self" href="https://www.gov.uk/search/news.atom"/>
      <entry><id>tag:gov.uk,1:/government/news/a</id>
        <updated>2026-11-20T10:00:00+00:00</updated>
        <link rel="alternate" type="text/html" href="/government/news/a"/>
        <title>Ofsted news</title>
        <summary type="html">A &lt;b&gt;summary&lt;/b&gt;</summary></entry>
    </feed>"""
    [link] = parse_feed(body, "https://www.gov.uk/search/news.atom", "application/atom+xml")
    assert link.url == "https://www.gov.uk/government/news/a"
    assert link.summary == "A summary"


def test_items_without_link_use_a_permalink_guid_or_are_skipped():
    body = b"""<rss version="2.0"><channel><title>x</title>
      <item><title>a</title><guid>https://example.org/a</guid></item>
      <item><title>b</title><guid isPermaLink="false">b-123</guid></item>
    </channel></rss>"""
    links = parse_feed(body, "https://example.org/feed", "text/xml")
    assert [link.url for link in links] == ["https://example.org/a"]


def test_malformed_feed_raises():
    with pytest.raises(ParseError) as info:
        parse_feed(b"<rss><channel><item><title>broken", "https://e.org/f", "text/xml")
    assert "malformed feed" in info.value.message


def test_slightly_broken_feed_with_entries_is_accepted():
    body = (b"<rss version='2.0'><channel><title>x</title><item><title>a &amp; b</title>"
            b"<link>https://e.org/a</link></item><item><title>c & d</title>"
            b"<link>https://e.org/c</link></item></channel></rss>")
    assert [lk.url for lk in parse_feed(body, "https://e.org/f", "text/xml")] == [
        "https://e.org/a", "https://e.org/c"]
