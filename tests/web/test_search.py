"""The search page and the header's search box, over real HTTP."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import requests

from sectorwatch.extract.text import fingerprint
from sectorwatch.models import Article, Link, Page
from sectorwatch.tag import Tagger
from sectorwatch.web.security import CSP
from tests.web.conftest import HOSTILE, Served

KINSHIP = 25  # more than a page of results


def add_kinship_stories(served: Served, count: int = KINSHIP) -> None:
    """``count`` stored stories about kinship carers in Norfolk, tagged as fetched ones are."""
    tagger = Tagger.from_config(served.config)
    start = datetime(2026, 11, 20, 9, tzinfo=UTC)
    for n in range(count):
        url = f"https://news.example/kinship-{n}"
        title = f"Kinship carers in Norfolk, report {n}"
        text = (f"Norfolk County Council said kinship carers would get allowances matching "
                f"those of foster carers, in report number {n} of the series.")
        article = Article(url=url, title=title, text=text, fingerprint=fingerprint(text),
                          published=start - timedelta(hours=n), published_signal="feed")
        page = Page(url=url, final_url=url, status=200, content_type="text/html",
                    body=b"<p></p>", fetched_at=start, text="")
        served.store.add_article(article, "news", Link(url), page,
                                 tagger.tag(title, text, article.published.date()))


def hits(html: str) -> list[str]:
    return re.findall(r'<article class="story hit">\s*<h3><a href="([^"]+)"', html)


def test_every_page_has_a_search_box_that_needs_no_script(served):
    for path in ("/", "/archive", "/authorities", "/authorities/worcestershire", "/nowhere"):
        html = requests.get(served.url + path).text
        form = re.search(r'<form class="site-search" role="search" action="/search" '
                         r'method="get">(.*?)</form>', html, re.S)
        assert form, path
        assert '<label class="visually-hidden" for="site-search-q">Search articles</label>' \
            in form.group(1)
        assert 'id="site-search-q" name="q" type="search"' in form.group(1)


def test_results_are_ranked_with_marked_snippets_and_authority_chips(served):
    answer = requests.get(served.url + "/search", params={"q": "inspection"})
    assert answer.status_code == 200
    assert answer.headers["content-security-policy"] == CSP
    html = answer.text
    assert hits(html)[0].endswith("/news/worcs-inadequate")
    assert "<mark>inspection</mark>" in html
    assert '<a class="chip" href="/authorities/worcestershire">Worcestershire</a>' in html
    assert '<meta name="robots" content="noindex">' in html
    assert re.search(r"Results 1–\d of \d", html)
    assert 'value="inspection"' in html  # the box keeps what was asked
    assert "<script" not in html and "style=" not in html  # CSP: nothing inline


def test_scraped_titles_and_snippets_are_escaped(served):
    html = requests.get(served.url + "/search", params={"q": "director"}).text
    assert hits(html) and hits(html)[0].endswith("/news/worcs-hostile")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script" not in html
    assert HOSTILE not in html


def test_filters_narrow_the_results(served):
    def found(**params) -> list[str]:
        answer = requests.get(served.url + "/search", params={"q": "council", **params})
        assert answer.status_code == 200, answer.text
        return sorted(u.rsplit("/", 1)[1] for u in hits(answer.text))

    assert found() == ["leeds-fostering", "worcs-hostile", "worcs-inadequate"]
    assert found(authority="leeds") == ["leeds-fostering"]
    assert found(authority="E08000035") == ["leeds-fostering"]  # a code does too
    assert found(region="West Midlands") == ["worcs-hostile", "worcs-inadequate"]
    assert found(topic="fostering") == ["leeds-fostering"]
    assert found(region="West Midlands", topic="fostering") == []
    selected = requests.get(served.url + "/search", params={"q": "council",
                                                            "authority": "leeds"}).text
    assert '<option value="leeds" selected>Leeds</option>' in selected


def test_bad_searches_get_a_friendly_400(served):
    for params, message in [({"q": '"care leavers'}, "A quote is not closed."),
                            ({"q": "-kent"}, "not only words to leave out"),
                            ({"q": "the of"}, "too common to search for"),
                            ({"q": "x" * 301}, "The search is too long"),
                            ({"q": "kent", "authority": "atlantis"},
                             "There is no authority called “atlantis”."),
                            ({"q": "kent", "topic": "knitting"}, "no topic called"),
                            ({"q": "kent", "region": "Narnia"}, "no region called"),
                            ({"q": "kent", "page": "x"}, "The page number should be"),
                            ({"q": "kent", "page": "0"}, "The page number should be")]:
        answer = requests.get(served.url + "/search", params=params)
        assert answer.status_code == 400, params
        assert message in answer.text, params
        assert 'role="alert"' in answer.text and "Traceback" not in answer.text
        assert answer.headers["content-security-policy"] == CSP


def test_an_empty_search_shows_how_to_search(served):
    for params in ({}, {"q": "   "}):
        answer = requests.get(served.url + "/search", params=params)
        assert answer.status_code == 200
        assert "<code>\"care leavers\"</code> finds the phrase" in answer.text
        assert "results-heading" not in answer.text and 'role="alert"' not in answer.text


def test_results_come_in_pages(served):
    add_kinship_stories(served)
    first = requests.get(served.url + "/search", params={"q": "kinship carers"}).text
    assert len(hits(first)) == 20 and "Results 1–20 of 25" in first
    assert "Page 1 of 2" in first and 'rel="prev"' not in first
    following = re.search(r'<a class="button" rel="next" href="([^"]+)">Next</a>', first)
    assert following
    second = requests.get(served.url + following.group(1).replace("&amp;", "&")).text
    assert len(hits(second)) == 5 and "Results 21–25 of 25" in second
    assert 'rel="prev"' in second and 'rel="next"' not in second
    assert not set(hits(first)) & set(hits(second))
    assert '<a class="chip" href="/authorities/norfolk">Norfolk</a>' in second
    beyond = requests.get(served.url + "/search", params={"q": "kinship", "page": "3"})
    assert beyond.status_code == 200 and "No more results" in beyond.text
    none = requests.get(served.url + "/search", params={"q": "zebras"})
    assert none.status_code == 200 and "No results" in none.text
