"""The orchestrator end to end: real HTTP on 127.0.0.1, a real SQLite file.

Each misbehaving endpoint sits on its own host beside a healthy source; the run must
complete, the healthy source must be stored, and the error recorded against the bad one.
"""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime, timedelta

import pytest

from sectorwatch.demo.server import Response, Site
from sectorwatch.pipeline import run_all
from tests.conftest import LOREM, article_html, rss
from tests.hostile import big, drop


def healthy(site: Site, n: int = 3) -> None:
    """A well-behaved feed with ``n`` articles (their words differ from other sites')."""
    items = [(f"/news/good-{i}", f"{site.name.title()} story {i}") for i in range(n)]
    site.route("/feed", rss(site.base, items), "application/rss+xml")
    for path, title in items:
        site.route(path, article_html(title, [f"{title}: {p}" for p in LOREM]))


def sources_yaml(good: Site, bad: Site, bad_path: str = "/feed") -> str:
    return (f"  - {{id: good, type: feed, url: '{good.base}/feed'}}\n"
            f"  - {{id: bad, type: feed, url: '{bad.base}{bad_path}'}}\n")


@pytest.fixture
def pair(make_site):
    good, bad = make_site("good"), make_site("bad")
    healthy(good)
    return good, bad


def run(make_config, store, good, bad, **kw):
    config = make_config(sources_yaml(good, bad))
    return run_all(config, store, **kw), config


def errors_for(store, source_id):
    return [(e.stage, e.kind) for e in store.run_errors() if e.source_id == source_id]


def by_id(report):
    return {r.source_id: r for r in report.sources}


def assert_good_unharmed(store, report):
    assert by_id(report)["good"].status == "ok"
    assert by_id(report)["good"].new == 3
    assert errors_for(store, "good") == []


def bad_feed_with_article(bad: Site, handler=None, body=None, ctype="text/html") -> None:
    """The bad host's feed is fine; its one article misbehaves."""
    bad.route("/feed", rss(bad.base, [("/news/bad", "Bad story")]), "application/rss+xml")
    if handler:
        bad.handle("/news/bad", handler)
    else:
        bad.route("/news/bad", body, ctype)


def slow(handler):
    time.sleep(1.0)
    return Response(200, b"late")


def test_first_fetch_stores_every_article_once_then_second_is_304(pair, make_config, store):
    good, bad = pair
    healthy(bad, 2)
    report, _config = run(make_config, store, good, bad)
    assert report.ok and report.total("new") == 5 and store.count_articles() == 5
    again, _ = run(make_config, store, good, bad, force=True)
    for r in again.sources:
        assert (r.status, r.new, r.requests, r.outcomes) == ("not_modified", 0, 1, {"304": 1})
    assert store.count_articles() == 5


def test_not_due_sources_are_skipped_unless_forced_or_named(pair, make_config, store):
    good, bad = pair
    healthy(bad, 1)
    run(make_config, store, good, bad)
    report, _ = run(make_config, store, good, bad)
    assert {r.status for r in report.sources} == {"skipped"}
    assert good.count("/feed") == 1
    report, _ = run(make_config, store, good, bad, source_ids=["bad"])
    assert [r.source_id for r in report.sources] == ["bad"]


def test_slow_feed_times_out(pair, make_config, store):
    good, bad = pair
    bad.handle("/feed", slow)
    report, _ = run(make_config, store, good, bad)
    assert_good_unharmed(store, report)
    assert by_id(report)["bad"].status == "failed"
    assert errors_for(store, "bad") == [("fetch", "timeout")]
    assert store.health()["bad"].consecutive_failures == 1


def test_500_then_200_succeeds_after_a_retry(pair, make_config, store):
    good, bad = pair
    calls = []
    items = [("/news/b", "B")]
    bad.route("/news/b", article_html("B", LOREM))

    def flaky(handler):
        calls.append(1)
        if len(calls) == 1:
            return Response(500, b"oops")
        return Response(200, rss(bad.base, items).encode(),
                        (("Content-Type", "application/rss+xml"),))

    bad.handle("/feed", flaky)
    report, _ = run(make_config, store, good, bad)
    assert report.ok and by_id(report)["bad"].new == 1
    assert by_id(report)["bad"].outcomes == {"500": 1, "200": 2}


def test_dropped_connection_on_an_article(pair, make_config, store):
    good, bad = pair
    bad_feed_with_article(bad, handler=drop)
    report, _ = run(make_config, store, good, bad)
    assert_good_unharmed(store, report)
    assert by_id(report)["bad"].status == "partial"
    assert errors_for(store, "bad") == [("fetch", "connection")]
    # transient: the feed's validators are not saved, so the article is retried next poll
    assert store.load_validators(f"{bad.base}/feed") is None


def test_429_with_long_retry_after_postpones_the_source(pair, make_config, store):
    good, bad = pair
    bad.handle("/feed", lambda h: Response(429, b"slow down", (("Retry-After", "3600"),)))
    report, _ = run(make_config, store, good, bad)
    assert_good_unharmed(store, report)
    assert errors_for(store, "bad") == [("fetch", "rate_limited")]
    next_poll = store.next_poll_at("bad")
    assert next_poll > datetime.now(UTC) + timedelta(minutes=59)


def test_429_with_short_retry_after_is_waited_out(pair, make_config, store):
    good, bad = pair
    calls = []
    bad.route("/news/b", article_html("B", LOREM))

    def limited(handler):
        calls.append(1)
        if len(calls) == 1:
            return Response(429, b"", (("Retry-After", "1"),))
        return Response(200, rss(bad.base, [("/news/b", "B")]).encode(),
                        (("Content-Type", "application/rss+xml"),))

    bad.handle("/feed", limited)
    report, _ = run(make_config, store, good, bad)
    assert report.ok and by_id(report)["bad"].new == 1


def test_redirect_loop(pair, make_config, store):
    good, bad = pair
    bad_feed_with_article(bad, handler=lambda h: Response(302, b"", (("Location", "/loop"),)))
    bad.handle("/loop", lambda h: Response(302, b"", (("Location", "/news/bad"),)))
    report, _ = run(make_config, store, good, bad)
    assert_good_unharmed(store, report)
    assert errors_for(store, "bad") == [("fetch", "redirects")]


def test_ten_megabyte_article_is_abandoned(pair, make_config, store):
    good, bad = pair
    bad_feed_with_article(bad, handler=big)
    report, _ = run(make_config, store, good, bad)
    assert_good_unharmed(store, report)
    assert errors_for(store, "bad") == [("fetch", "too_large")]


def test_wrong_content_type(pair, make_config, store):
    good, bad = pair
    bad_feed_with_article(bad, body=b"\x89PNG\r\n\x1a\n binary", ctype="image/png")
    report, _ = run(make_config, store, good, bad)
    assert_good_unharmed(store, report)
    assert errors_for(store, "bad") == [("fetch", "content_type")]


def test_cp1252_article_without_charset_is_stored_correctly(pair, make_config, store):
    good, bad = pair
    html = article_html("Council’s £3.5m plan", ["The council’s £3.5m “recovery plan” was "
                        "approved on Tuesday by the cabinet. " + LOREM[0], *LOREM[1:]])
    bad_feed_with_article(bad, body=html.encode("cp1252"), ctype="text/html")
    report, _ = run(make_config, store, good, bad)
    assert report.ok
    [row] = store.articles(source_id="bad")
    assert "council’s £3.5m “recovery plan”" in row.text


def test_malformed_feed(pair, make_config, store):
    good, bad = pair
    bad.route("/feed", b"<?xml version='1.0'?><rss><channel><item><title>half",
              "application/rss+xml")
    report, _ = run(make_config, store, good, bad)
    assert_good_unharmed(store, report)
    assert errors_for(store, "bad") == [("parse", None)]
    assert "malformed feed" in store.health()["bad"].last_error


def test_robots_disallow(pair, make_config, store):
    good, bad = pair
    healthy(bad, 1)
    bad.route("/robots.txt", "User-agent: *\nDisallow: /feed\n", "text/plain")
    report, _ = run(make_config, store, good, bad)
    assert_good_unharmed(store, report)
    assert errors_for(store, "bad") == [("fetch", "robots")]
    assert bad.count("/feed") == 0


def test_robots_answering_500(pair, make_config, store):
    good, bad = pair
    healthy(bad, 1)
    bad.handle("/robots.txt", lambda h: Response(500, b"down"))
    report, _ = run(make_config, store, good, bad)
    assert_good_unharmed(store, report)
    assert errors_for(store, "bad") == [("fetch", "robots")]
    assert bad.count("/feed") == 0


def test_unreachable_host(make_site, make_config, store):
    good = make_site("good")
    healthy(good)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    config = make_config(f"  - {{id: good, type: feed, url: '{good.base}/feed'}}\n"
                         f"  - {{id: bad, type: feed, url: 'http://127.0.0.1:{dead}/feed'}}\n")
    report = run_all(config, store)
    assert_good_unharmed(store, report)
    # RFC 9309: unreachable means disallowed, but the error says what happened
    assert errors_for(store, "bad") == [("fetch", "unreachable")]
    [error] = [e for e in store.run_errors() if e.source_id == "bad"]
    assert "gave no answer (connection failed: connection refused)" in error.message
    assert "robots.txt unavailable" not in error.message


def test_404_article_is_given_up_after_repeated_failures(pair, make_config, store):
    good, bad = pair
    bad.route("/feed", rss(bad.base, [("/news/gone", "Gone")]), "application/rss+xml")
    for _ in range(3):
        run(make_config, store, good, bad, force=True)
    assert bad.count("/news/gone") == 3
    report, _ = run(make_config, store, good, bad, force=True)
    assert bad.count("/news/gone") == 3
    assert by_id(report)["bad"].status == "not_modified"  # given up, so validators kept


def test_same_story_under_a_new_feed_url_is_known(make_site, make_config, store):
    site = make_site()
    site.route("/feed", rss(site.base, [("/news/a", "A")]), "application/rss+xml")
    site.route("/news/a", article_html("A", LOREM))
    config = make_config(f"  - {{id: s, type: feed, url: '{site.base}/feed'}}\n")
    run_all(config, store)
    site.route("/feed", rss(site.base, [("/news/a-renamed", "A (updated title)")]),
               "application/rss+xml")
    site.route("/news/a-renamed", article_html("A (updated title)", LOREM))
    report = run_all(config, store, force=True)
    assert (report.sources[0].new, report.sources[0].known) == (0, 1)
    assert store.count_articles() == 1


def test_rel_canonical_on_the_same_site_is_the_identity(make_site, make_config, store):
    site = make_site()
    site.route("/feed", rss(site.base, [("/news/a?ref=rss", "A"), ("/amp/news/a", "A amp")]),
               "application/rss+xml")
    for path in ("/news/a?ref=rss", "/amp/news/a"):
        site.route(path, article_html("A", LOREM, canonical=f"{site.base}/news/a"))
    run_all(make_config(f"  - {{id: s, type: feed, url: '{site.base}/feed'}}\n"), store)
    [row] = store.articles()
    assert row.url == f"{site.base}/news/a"


def test_dry_run_stores_nothing(pair, make_config, store):
    good, bad = pair
    healthy(bad, 1)
    report, _ = run(make_config, store, good, bad, dry_run=True)
    assert store.count_articles() == 0
    assert len(by_id(report)["good"].links) == 3
    assert store.load_validators(f"{good.base}/feed") is None
    assert good.count("/news/good-0") == 0


def test_a_new_source_loses_its_template_without_rules(make_site, make_config, store):
    from tests.extract.test_template import PAGES

    site = make_site()
    items = [(f"/story/{n}", f"Story {n}") for n in range(len(PAGES))]
    site.route("/feed", rss(site.base, items), "application/rss+xml")
    for (path, _), html in zip(items, PAGES, strict=True):
        site.route(path, html)
    report = run_all(make_config(f"  - {{id: s, type: feed, url: '{site.base}/feed'}}\n"),
                     store)
    assert report.ok and report.total("new") == len(PAGES)
    for row in store.articles(limit=None):
        assert "Knowledge" not in row.text and "Keep abreast" not in row.text, row.title
        assert "Paragraph 3 of story" in row.text


def test_a_source_may_point_at_pdfs(make_site, make_config, store):
    from tests.pdfs import make_pdf

    site = make_site()
    site.route("/feed", rss(site.base, [("/papers/feedback.pdf", "Ofsted feedback")]),
               "application/rss+xml")
    site.route("/papers/feedback.pdf", make_pdf([["Ofsted Monitoring Visit Feedback", *LOREM]],
                                                title="Ofsted Monitoring Visit Feedback"),
               "application/pdf")
    report = run_all(make_config(f"  - {{id: s, type: feed, url: '{site.base}/feed'}}\n"),
                     store)
    assert report.ok
    [row] = store.articles()
    assert row.title == "Ofsted feedback"  # the feed's title comes before the PDF's own
    assert "Ofsted inspectors found" in row.text and row.raw_content_type == "application/pdf"


def test_a_stop_ends_the_source_after_the_article_in_hand_and_it_stays_due(
        make_site, make_config, store):
    import threading

    site = make_site("news")
    healthy(site, 4)
    config = make_config(f"  - {{id: news, type: feed, url: '{site.base}/feed'}}\n")
    stop = threading.Event()
    site.handle("/news/good-1", lambda h: (stop.set(), None)[1] or Response(
        200, article_html("News story 1", [f"News story 1: {p}" for p in LOREM]).encode(),
        (("Content-Type", "text/html; charset=utf-8"),)))
    report = run_all(config, store, stop=stop)
    [r] = report.sources
    assert (r.status, r.new) == ("stopped", 2)  # the page in hand was finished
    assert site.count("/news/good-2") == 0 and store.next_poll_at("news") is None
    again = run_all(config, store)  # still due; its feed is read afresh, not a 304
    assert (again.sources[0].status, again.sources[0].new) == ("ok", 2)
    assert store.count_articles() == 4
    feeds = site.count("/feed")
    assert run_all(config, store, stop=stop, force=True).sources[0].status == "stopped"
    assert site.count("/feed") == feeds  # stopping before a source begins polls nothing


SHORT_STORIES = [
    ("Kent opens two children's homes", [
        "Kent County Council has opened two small children's homes in Maidstone and Ashford, "
        "each with room for three young people who would otherwise be placed out of county.",
        "The council said the homes would cut its spending on private placements, which rose "
        "by a fifth last year as the number of children in care in the county grew.",
        "Inspectors will visit both homes within their first six months of operation, and "
        "the council plans a third home in Dover if recruitment of staff goes well.",
        "Staff at the homes have been recruited from the council's own residential team and "
        "from local foster carers who wanted to work with older children and teenagers."]),
    ("Leeds expands family hubs", [
        "Leeds City Council is to open four more family hubs next spring, bringing midwives, "
        "health visitors and early help workers together under one roof in each district.",
        "Funding comes from the national family hubs programme, with the council adding its "
        "own money to keep two of the hubs open on Saturday mornings for working parents.",
        "Parents who took part in a pilot in Armley said they valued seeing the same worker "
        "each visit, and that advice on infant feeding was easier to find than before.",
        "The council will publish an evaluation of the first year in the autumn, including "
        "how many families were referred on to children's social care from the hubs."]),
    ("Norfolk recruits social workers", [
        "Norfolk County Council has recruited thirty newly qualified social workers this "
        "year through its own academy, which pairs each of them with an experienced mentor.",
        "Agency staff now make up less than one in ten of the county's children's social "
        "workers, down from nearly a quarter three years ago, the council told a committee.",
        "Caseloads have fallen to an average of sixteen children per worker, and the council "
        "says staff turnover in its assessment teams is the lowest since records began.",
        "The academy will take a second group in September, with places reserved for staff "
        "already working for the council as family support workers who want to qualify."]),
    ("Bristol reviews adoption support", [
        "Bristol City Council has started a review of the support it gives adoptive families "
        "after a survey found many waited months for therapy funded by the national scheme.",
        "The review will look at how quickly assessments are completed and whether families "
        "are told clearly what help is available once an adoption order has been made.",
        "Adoptive parents will sit on the review's steering group, alongside staff from the "
        "regional adoption agency that the council runs jointly with its neighbours.",
        "Findings are due to go to the council's cabinet in the new year, with any changes "
        "to the adoption support offer to be in place before the next financial year."]),
]
RELATED = ("<div class='related-stories'><h3>Related stories</h3><ul>"
           "<li><a href='/news/r1'>Council budget gap widens</a></li>"
           "<li><a href='/news/r2'>New director of children's services appointed</a></li>"
           "<li><a href='/news/r3'>Ofsted publishes annual report</a></li></ul></div>")


def short_article(title: str, paragraphs: list[str]) -> str:
    """A short story with the site's 'Related stories' box inside its body container."""
    body = "".join(f"<p>{p}</p>" for p in paragraphs[:2]) + RELATED + "".join(
        f"<p>{p}</p>" for p in paragraphs[2:])
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{title} | "
            f"Local News</title></head><body><header><a href='/'>Local News</a></header>"
            f"<main><h1>{title}</h1><div class='article-body'>{body}</div></main>"
            f"<footer>© Local News Ltd.</footer></body></html>")


def test_a_box_shared_inside_short_articles_never_takes_their_bodies(make_site, make_config,
                                                                     store):
    site = make_site("local")
    items = [(f"/news/{i}", title) for i, (title, _) in enumerate(SHORT_STORIES)]
    site.route("/feed", rss(site.base, items), "application/rss+xml")
    for (path, _), (title, paragraphs) in zip(items, SHORT_STORIES, strict=True):
        site.route(path, short_article(title, paragraphs))
    config = make_config(f"  - {{id: local, type: feed, url: '{site.base}/feed'}}\n")
    report = run_all(config, store)
    assert (report.total("new"), report.total("failed")) == (4, 0), store.run_errors()
    for row in store.articles():
        title, paragraphs = next(s for s in SHORT_STORIES if s[0] == row.title)
        assert all(p in row.text for p in paragraphs)
        assert "Related stories" not in row.text and "budget gap" not in row.text
