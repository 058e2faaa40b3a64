"""Atom feeds: valid XML whatever the scraped text holds."""

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta, timezone

import feedparser

from sectorwatch.web.feeds import Entry, atom

NS = {"a": "http://www.w3.org/2005/Atom"}
HOSTILE = '<script>alert(1)</script> & "quotes"'
CONTROL = "A\x00B\x0bC\x1bD\x7fE"


def feed(entries, **kw):
    return atom(feed_id="https://sw.example/archive", title=kw.pop("title", "Weekly"),
                self_url="https://sw.example/archive.atom", page_url="https://sw.example/",
                entries=entries, **kw)


def parse(body):
    root = ET.fromstring(body)
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.get("bozo_exception")
    return root, parsed


def test_hostile_text_is_escaped_and_control_characters_dropped():
    when = datetime(2024, 6, 1, tzinfo=UTC)
    body = feed([Entry(id="urn:e:1", title=HOSTILE, link="https://n.example/a?x=1&y=2",
                       updated=when, summary=HOSTILE + CONTROL, author=CONTROL)],
                title=HOSTILE + CONTROL)
    assert b"<script>" not in body
    root, parsed = parse(body)
    texts = [el.text or "" for el in root.iter()]
    assert not any(ord(c) < 32 or c == "\x7f" for t in texts for c in t)
    assert root.findtext("a:title", namespaces=NS).startswith(HOSTILE)
    entry = parsed.entries[0]
    assert entry.title == HOSTILE
    assert entry.summary == HOSTILE + "A B C D E"
    assert entry.author == "A B C D E"
    assert parsed.feed.title == HOSTILE + "A B C D E"
    assert entry.link == "https://n.example/a?x=1&y=2"


def test_entries_carry_id_link_and_rfc3339_updated():
    bst = timezone(timedelta(hours=1))
    body = feed([
        Entry(id="urn:e:1", title="One", link="https://n.example/1",
              updated=datetime(2024, 6, 1, 10, 0, 5, tzinfo=bst)),
        Entry(id="urn:e:2", title="", link=None, updated=datetime(2024, 7, 1, tzinfo=UTC)),
    ])
    root, parsed = parse(body)
    entries = root.findall("a:entry", NS)
    assert [e.findtext("a:id", namespaces=NS) for e in entries] == ["urn:e:1", "urn:e:2"]
    assert [e.findtext("a:updated", namespaces=NS) for e in entries] == [
        "2024-06-01T09:00:05Z", "2024-07-01T00:00:00Z"]
    assert entries[0].find("a:link", NS).get("href") == "https://n.example/1"
    assert entries[1].find("a:link", NS) is None
    assert entries[1].findtext("a:title", namespaces=NS) == "(untitled)"
    assert root.findtext("a:updated", namespaces=NS) == "2024-07-01T00:00:00Z"  # newest
    assert parsed.entries[0].updated_parsed[:5] == (2024, 6, 1, 9, 0)


def test_explicit_updated_wins():
    entry = Entry(id="urn:e:1", title="t", link=None, updated=datetime(2024, 7, 1, tzinfo=UTC))
    root, _ = parse(feed([entry], updated=datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)))
    assert root.findtext("a:updated", namespaces=NS) == "2025-01-02T03:04:05Z"


def test_empty_feed_is_valid():
    root, parsed = parse(feed([]))
    assert root.tag == "{http://www.w3.org/2005/Atom}feed"
    assert root.findall("a:entry", NS) == [] and parsed.entries == []
    assert root.findtext("a:id", namespaces=NS) == "https://sw.example/archive"
    assert root.findtext("a:updated", namespaces=NS) == "1970-01-01T00:00:00Z"
    links = {el.get("rel"): el.get("href") for el in root.findall("a:link", NS)}
    assert links == {"self": "https://sw.example/archive.atom",
                     "alternate": "https://sw.example/"}


def test_control_characters_in_link_and_id_still_give_valid_xml():
    url = "https://n.example/a\x01b"
    parse(feed([Entry(id=url, title="t", link=url, updated=datetime(2024, 6, 1, tzinfo=UTC))]))
