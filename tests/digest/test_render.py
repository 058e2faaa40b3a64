from __future__ import annotations

import html
import re
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.policy import default

import pytest

from sectorwatch.digest.render import HTML_BUDGET, clean_header_text, render, safe_url
from sectorwatch.digest.select import LONDON, Section, Selection, Tagged
from sectorwatch.digest.stories import Item, Story

END = datetime(2026, 11, 23, 8, tzinfo=LONDON)
BEGIN = END - timedelta(days=7)


def tagged(n: int, title: str = "Worcestershire improves", url: str = "https://e.org/a",
           others: tuple[Item, ...] = ()) -> Tagged:
    lead = Item(n, "cc", title, "text", END - timedelta(hours=n + 1), url=url,
                lead="Ofsted found services had improved. Care proceedings were timely.",
                source_name="Community Care")
    return Tagged(Story(lead, others), frozenset({"E10000034"}), frozenset({"E10000034"}),
                  frozenset({"West Midlands"}), ("inspection",),
                  ({"authority": "E10000034", "grade": None, "scope": "overall",
                    "kind": "monitoring visit", "date": "2018-10"},))


def selection(*entries: Tagged, more: int = 0) -> Selection:
    return Selection(BEGIN, END, (Section("inspection", "Ofsted & inspection", entries, more),),
                     tuple(j for e in entries for j in e.judgements)[:1])


def rendered(sel: Selection):
    return render(sel, name="Jo", issue_date=END, manage_url="https://sw.example/m/TOKEN",
                  unsubscribe_url="https://sw.example/u/TOKEN")


@pytest.mark.parametrize("payload", [
    "A\r\nBcc: evil@example.com", "A\u2028Bcc: evil@example.com", "A\x85B", "A\x0cB\x0bC",
    "A subject=?UTF-8?Q?=0A?=Bcc: injected@example.com", "A\x00B", "\u202eevil",
])
def test_header_payloads_are_neutralised(payload):
    clean = clean_header_text(payload)
    assert "\n" not in clean and "\r" not in clean and "=?" not in clean
    msg = EmailMessage(policy=default)
    msg["Subject"] = clean
    msg["To"] = "jo@example.org"
    msg.set_content("x")
    wire = msg.as_bytes().decode("ascii", "replace")
    lines = wire.split("\n\n", 1)[0].splitlines()
    assert sum(line.startswith("Subject:") for line in lines) == 1
    assert not any(line.lower().startswith("bcc:") for line in lines)  # text, not a header


def test_headers_are_bounded():
    assert len(clean_header_text("x" * 500)) == 150


def test_only_web_links_survive():
    assert safe_url("https://e.org/a?b=1") and safe_url("http://e.org/")
    for bad in ("javascript:alert(1)", "data:text/html,x", "https://e.org/\"onmouseover=x",
                "//e.org/x", ""):
        assert safe_url(bad) is None


def test_html_and_text_carry_the_story_once_with_its_other_outlets():
    other = Item(9, "wn", "Worcester News version", "t", END - timedelta(days=1),
                 url="https://wn.example/x", source_name="Worcester News")
    out = rendered(selection(tagged(1, others=(other,))))
    assert 'lang="en"' in out.html and "Ofsted found services had improved" in out.html
    assert "Also reported by" in out.html and "https://wn.example/x" in out.html
    assert "@media (prefers-color-scheme: dark)" in out.html  # kept by the inliner
    assert 'style="' in out.html and "Worcestershire</span>" in out.html  # the chip
    assert out.html.index(html.escape(out.preheader, quote=False)) < out.html.index("<h1")
    assert "Authority watch" in out.html and "monitoring visit" in out.text
    assert "https://sw.example/u/TOKEN" in out.html and "Unsubscribe: https://sw.example/u/TOKEN" \
        in out.text
    assert "Also reported by:\n     Worcester News: https://wn.example/x" in out.text
    assert "https://e.org/a" in out.text
    assert "<" not in out.text and "&amp;" not in out.text
    assert out.subject == "Children's services this week: 23 November 2026"


def test_scraped_text_is_escaped_and_bad_links_dropped():
    out = rendered(selection(tagged(1, title="<script>alert(1)</script> & co",
                                    url="javascript:alert(1)")))
    assert "<script>alert(1)" not in out.html and "&lt;script&gt;" in out.html
    assert "javascript:" not in out.html
    assert "<script>alert(1)</script> & co" in out.text  # plain text needs no escaping


def test_a_full_week_stays_under_the_clipping_limit():
    entries = tuple(tagged(n, title=f"Story number {n} about children's services " * 3)
                    for n in range(40))
    out = rendered(selection(*entries, more=25))
    assert len(out.html.encode()) < HTML_BUDGET
    assert "25 more" in out.html and "25 more" in out.text


def test_an_empty_week_says_so_in_a_short_email():
    out = rendered(Selection(BEGIN, END, ()))
    assert "Nothing this week matched" in out.html and "Nothing this week matched" in out.text
    assert "nothing new" in out.subject and out.preheader.startswith("Nothing this week")
    assert len(out.text.splitlines()) < 15


def test_text_lines_fit_78_columns_except_links():
    entries = tuple(tagged(n, title="A long headline about children's services " * 4)
                    for n in range(3))
    out = rendered(selection(*entries))
    long = [line for line in out.text.splitlines()
            if len(line) > 78 and not line.strip().startswith("http")]
    assert long == []
    assert "1. A long headline" in out.text and "\n   children's services" in out.text


def test_the_text_part_has_every_link_the_html_has():
    other = Item(9, "wn", "t", "t", END - timedelta(days=1), url="https://wn.example/x?a=1&b=2",
                 source_name="Worcester News")
    out = rendered(selection(tagged(1, others=(other,)), tagged(2, url="https://e.org/b")))
    links = {html.unescape(h) for h in re.findall(r'href="([^"]+)"', out.html)}
    assert links and all(link in out.text for link in links)


def test_a_week_reads_as_one_range():
    from sectorwatch.digest.render import span

    def at(y, m, d):
        return datetime(y, m, d, 8, tzinfo=LONDON)

    assert span(at(2018, 11, 12), at(2018, 11, 19)) == "12–19 November 2018"
    assert span(at(2018, 10, 29), at(2018, 11, 5)) == "29 October – 5 November 2018"
    assert span(at(2025, 12, 29), at(2026, 1, 5)) == "29 December 2025 – 5 January 2026"
