from __future__ import annotations

from datetime import UTC, datetime

import pytest
from lxml import html as lxml_html

from sectorwatch.extract import metadata as m

SEEN = datetime(2026, 11, 23, 8, tzinfo=UTC)
FEED = datetime(2026, 11, 20, 9, tzinfo=UTC)

LAYERS = {
    "jsonld": '<script type="application/ld+json">{"@context": "https://schema.org", "@graph": '
              '[{"@type": "NewsArticle", "headline": "H", "datePublished": '
              '"2026-11-19T10:00:00+00:00", "dateModified": "2026-11-21T12:00:00Z", '
              '"author": [{"@type": "Person", "name": "Katherine Purvis"}]}]}</script>',
    "meta": '<meta property="article:published_time" content="2026-11-18T07:30:00+00:00">',
    "time": '<time datetime="2026-11-17">17 November 2026</time>',
    "dateline": "<p>By Joe Lepper | Tuesday, November 16, 2026</p>",
}


def tree(*parts: str):
    return lxml_html.document_fromstring(
        f"<html lang='en-GB'><head><title>T</title></head><body><h1>Headline</h1>"
        f"{''.join(parts)}<p>Body text.</p></body></html>")


@pytest.mark.parametrize(("present", "expected"), [
    (("jsonld", "meta", "time", "dateline"), ("2026-11-19", "jsonld")),
    (("meta", "time", "dateline"), ("2026-11-18", "meta")),
    (("time", "dateline"), ("2026-11-17", "time")),
    (("dateline",), ("2026-11-16", "dateline")),
])
def test_dates_follow_the_order_of_trust(present, expected):
    t = tree(*(LAYERS[k] for k in present))
    ld = m.article_ld(m.json_ld(t))
    head = "\n".join(x.strip() for x in t.itertext() if x.strip())
    got = m.published(t, "https://e.org/story", ld, head, None, SEEN)
    assert (got.when.date().isoformat(), got.signal) == expected
    assert m.published(t, "https://e.org/x", ld, head, FEED, SEEN).signal == "feed"


def test_url_date_then_first_seen():
    t = tree()
    assert m.published(t, "https://e.org/2026/11/02/x/", None, "", None, SEEN).signal == "url"
    # a year and month alone are not a date (the "2023/12 read as 2023-12-10" bug)
    got = m.published(t, "https://e.org/2023/12/x/", None, "", None, SEEN)
    assert (got.when, got.signal) == (SEEN, "first_seen")


def test_updated_date_and_its_signal():
    t = tree(LAYERS["jsonld"])
    got = m.updated(t, m.article_ld(m.json_ld(t)), "")
    assert (got.when.day, got.signal) == (21, "jsonld")
    line = "This page was last updated on 10 April 2024"
    assert m.updated(tree(), None, line) == m.Dated(datetime(2024, 4, 10, tzinfo=UTC),
                                                     "dateline")


def test_a_last_updated_line_is_not_the_publication_date():
    head = "This page was last updated on 10 April 2024\nPublished 2 March 2023"
    got = m.published(tree(), "https://e.org/x", None, head, None, SEEN)
    assert got.when.date().isoformat() == "2023-03-02"


def test_datelines_in_both_orders():
    assert m.dateline("Tuesday, January 24, 2017").date().isoformat() == "2017-01-24"
    assert m.dateline("By Joe Lepper | 20 December 2018").date().isoformat() == "2018-12-20"
    assert m.dateline("31 February 2018") is None
    assert m.dateline("no date here") is None


@pytest.mark.parametrize(("head", "expected"), [
    ('<meta property="og:title" content="Council rated good | Community Care">'
     '<meta property="og:site_name" content="Community Care">', "Council rated good"),
    ("<title>Council rated good - GOV.UK</title>", "Headline"),  # h1 beats <title>
])
def test_titles_lose_the_site_name(head, expected):
    t = lxml_html.document_fromstring(f"<html><head>{head}</head><body>"
                                      f"{'<h1>Headline</h1>' if 'GOV' in head else ''}"
                                      f"</body></html>")
    assert m.title(t) == expected


def test_title_from_title_tag_without_suffix():
    t = lxml_html.document_fromstring("<html><head><title>Councils warn of overspend | Local "
                                      "Government Association</title></head><body></body></html>")
    assert m.title(t) == "Councils warn of overspend"


def test_authors():
    t = tree(LAYERS["jsonld"])
    assert m.author(t, m.article_ld(m.json_ld(t))) == "Katherine Purvis"
    assert m.author(tree('<p class="article-header__author"><a href="/a/jl">Joe Lepper</a></p>'),
                    None) == "Joe Lepper"
    assert m.author(tree('<span class="byline">By Tom Edwards | 13 November 2018</span>'),
                    None) == "Tom Edwards"
    assert m.author(tree('<meta name="author" content="https://facebook.com/x">'), None) is None


def test_language():
    assert m.language(tree()) == "en"


def test_broken_json_ld_is_ignored():
    t = tree('<script type="application/ld+json">{not json</script>')
    assert m.json_ld(t) == []
