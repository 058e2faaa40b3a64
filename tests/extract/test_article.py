"""The interim extractor and per-source rules, on the bundled real-shaped pages."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from sectorwatch.config import load_config
from sectorwatch.demo.server import SITES_DIR
from sectorwatch.errors import ExtractError
from sectorwatch.extract import extract_article
from sectorwatch.extract.text import clean, fingerprint
from sectorwatch.models import Link, Page
from sectorwatch.sources.base import ExtractRules

BASE = "http://127.0.0.1:8000"


def page(host: str, path: str, file: str, ctype: str = "text/html; charset=utf-8") -> Page:
    body = (SITES_DIR / host / file).read_bytes().replace(b"{{base}}", BASE.encode())
    return Page(url=BASE + path, final_url=BASE + path, status=200, content_type=ctype,
                body=body, fetched_at=datetime.now(UTC), text=body.decode("utf-8"))


def rules(source_id: str) -> ExtractRules:
    return load_config(None).source(source_id).extract


def test_worcester_news_rules_drop_read_more_and_promos():
    path = "/news/17219873.worcestershire-childrens-services-improving-issues-remain-says-ofsted/"
    p = page("www.worcesternews.co.uk", path, f"news{path.removeprefix('/news')[:-1]}.html")
    article = extract_article(p, rules("worcester-news"), link=Link(p.url))
    assert "READ MORE" not in article.text
    assert "Get more Worcester news" not in article.text
    assert article.text.startswith("CHILDREN’S services at Worcestershire County Council")
    assert article.url == BASE + path
    without_rules = extract_article(p, ExtractRules(), link=Link(p.url))
    assert "Get more Worcester news" in without_rules.text  # the rule, not luck, removed it


def test_registration_wall_marks_truncated_and_keeps_only_article_text():
    slug = "norfolk-extends-staying-close-support-for-care-leavers-to-age-25"
    p = page("www.cypnow.co.uk", f"/content/news/{slug}", f"content/news/{slug}.html")
    article = extract_article(p, rules("cypnow-news"), link=Link(p.url))
    assert article.truncated
    assert "Register Now" not in article.text and "Sign in here" not in article.text


def test_headline_is_not_part_of_the_body():
    slug = "support-to-children-in-care-at-worcestershire-is-improved-says-ofsted"
    p = page("www.willispalmer.com", f"/{slug}/", f"posts/{slug}.html")
    article = extract_article(p, rules("willispalmer-children-first"), link=Link(p.url))
    assert article.title == "Support to children in care at Worcestershire is improved, says Ofsted"
    assert not article.text.startswith(article.title)


def test_govuk_content_api_item():
    slug = "sandwell-childrens-services-judged-good-for-the-first-time"
    p = page("www.gov.uk", f"/api/content/government/news/{slug}", f"api/{slug}.json",
             "application/json; charset=utf-8")
    item = json.loads(p.text)
    article = extract_article(p, ExtractRules(), link=Link(f"{BASE}/government/news/{slug}"))
    assert article.url == f"{BASE}/government/news/{slug}"
    assert article.title == item["title"]
    assert article.text.startswith(item["description"])
    assert article.published_signal == "api"
    assert article.published == datetime.fromisoformat(item["first_published_at"])
    assert "<p>" not in article.text


def test_dates_fall_back_to_the_url_then_first_seen():
    html = "<html><body><article><h1>T</h1><p>" + "Words about children. " * 30 + \
        "</p></article></body></html>"
    for url, signal in ((f"{BASE}/2026/11/02/story/", "url"), (f"{BASE}/story", "first_seen")):
        p = Page(url=url, final_url=url, status=200, content_type="text/html",
                 body=html.encode(), fetched_at=datetime.now(UTC), text=html)
        assert extract_article(p, ExtractRules(), link=Link(url)).published_signal == signal
    fed = Link(url, published=datetime(2026, 1, 1, tzinfo=UTC))
    assert extract_article(p, ExtractRules(), link=fed).published_signal == "feed"


def test_a_page_without_text_is_an_extract_error():
    html = "<html><body><nav><a href='/'>Home</a></nav></body></html>"
    p = Page(url=BASE, final_url=BASE, status=200, content_type="text/html", body=html.encode(),
             fetched_at=datetime.now(UTC), text=html)
    with pytest.raises(ExtractError):
        extract_article(p, ExtractRules(), link=Link(BASE))


def test_text_hygiene_and_fingerprint():
    assert clean("  One\u00a0 two \r\n\n\n three  ") == "One two\n\nthree"
    assert clean("Cafe\u0301") == "Café"
    assert fingerprint("The Council’s plan!") == fingerprint("the council’s   PLAN")
    assert fingerprint("The council’s plan") != fingerprint("The council’s plans")


def test_walled_pages_with_no_text_keep_distinct_identities():
    walled = ExtractRules(paywall_markers=("register now to continue reading",))
    articles = []
    for slug in ("a", "b"):
        html = (f"<html><body><article><h1>Story {slug}</h1><div class='wall'>Register Now to "
                "Continue Reading. Thank you for visiting.</div></article></body></html>")
        url = f"{BASE}/content/news/{slug}"
        p = Page(url=url, final_url=url, status=200, content_type="text/html",
                 body=html.encode(), fetched_at=datetime.now(UTC), text=html)
        articles.append(extract_article(p, walled, link=Link(url)))
    assert all(a.truncated and "Register" not in a.text for a in articles)
    assert articles[0].fingerprint != articles[1].fingerprint


def test_mojibake_and_repeated_captions_are_cleaned():
    caption = "Children's services were rated inadequate. Picture: Worcestershire County Council"
    assert clean("The councilâ€™s plan") == "The council’s plan"
    assert clean(f"{caption}\n{caption}\nBody.") == f"{caption}\n\nBody."
    assert clean("zero\u200bwidth soft\u00adhyphen") == "zerowidth softhyphen"
    assert clean("Plain “curly” quotes stay") == "Plain “curly” quotes stay"


def test_lead_is_one_to_three_sentences_within_sixty_words():
    from sectorwatch.extract.text import lead

    text = "First sentence here. Second one follows. Third is short. Fourth is dropped."
    assert lead(text) == "First sentence here. Second one follows. Third is short."
    long_first = "word " * 70 + "end."
    assert lead(long_first).endswith("…") and len(lead(long_first).split()) == 60
    assert lead("Only paragraph one. Really.\n\nParagraph two.") == "Only paragraph one. Really."
