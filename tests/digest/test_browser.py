"""The digest as a reader's mail client shows it: headless Chromium (Debian's), at the
600 px the layout is built for and at a 375 px phone, in light and dark mode."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from sectorwatch.digest.render import render
from sectorwatch.digest.select import LONDON, Section, Selection, Tagged
from sectorwatch.digest.stories import Item, Story

END = datetime(2026, 11, 23, 8, tzinfo=LONDON)
LONG_WORD = "Supercalifragilisticexpialidocious" * 4  # no break opportunity at all
JUDGEMENT = {"authority": "E10000034", "grade": "requires improvement to be good",
             "scope": "overall", "kind": "full inspection", "date": "2026-11"}


def week() -> Selection:
    """A heavy week: long titles, an unbreakable word, long links, many chips."""
    def entry(n: int) -> Tagged:
        other = Item(100 + n, "wn", "t", "", END - timedelta(days=1),
                     url=f"https://www.worcesternews.co.uk/news/{n}" + "x" * 120,
                     source_name="Worcester News and Evening Standard Group")
        lead = Item(n, "cc", f"Story {n}: {LONG_WORD} children's services inspection finds "
                    "improvement but weaknesses remain in help for care leavers", "",
                    END - timedelta(hours=n + 1), url=f"https://e.org/{n}/{LONG_WORD}",
                    lead="Ofsted inspectors said leaders had a clear understanding of "
                    f"practice. {LONG_WORD} appeared in the report. " * 2,
                    source_name="Children and Young People Now")
        codes = frozenset({"E10000034", "E08000028", "E06000051", "E10000016", "E08000025"})
        return Tagged(Story(lead, (other,)), codes, codes, frozenset({"West Midlands"}),
                      ("inspection",), (JUDGEMENT,))

    entries = tuple(entry(n) for n in range(12))
    return Selection(END - timedelta(days=7), END,
                     (Section("inspection", "Ofsted & inspection", entries[:8], 4),
                      Section("other", "Other news", entries[8:])), (JUDGEMENT,) * 3)


@pytest.fixture(scope="module")
def digest_html() -> str:
    return render(week(), name="Jo Bloggs", issue_date=END,
                  manage_url="https://sectorwatch.example.org/m/TOKEN",
                  unsubscribe_url="https://sectorwatch.example.org/u/TOKEN").html


@pytest.mark.parametrize("width", [600, 375])
def test_no_horizontal_scrolling(browser, digest_html, screenshots, width):
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.set_content(digest_html)
    scroll = page.evaluate("document.documentElement.scrollWidth")
    inner = page.evaluate("window.innerWidth")
    page.screenshot(path=str(screenshots / f"digest-{width}.png"), full_page=True)
    page.close()
    assert scroll <= inner, f"{scroll}px of content in a {inner}px window"


def test_dark_mode_keeps_text_readable(browser, digest_html, screenshots):
    page = browser.new_page(viewport={"width": 600, "height": 900}, color_scheme="dark")
    page.set_content(digest_html)
    colours = page.evaluate("""() => {
        const rgb = (el, prop) => getComputedStyle(el)[prop].match(/\\d+/g).map(Number);
        const card = document.querySelector('.card');
        return {card: rgb(card, 'backgroundColor'),
                link: rgb(document.querySelector('h3 a'), 'color'),
                text: rgb(document.querySelector('.lead'), 'color')};
    }""")
    page.screenshot(path=str(screenshots / "digest-600-dark.png"), full_page=True)
    page.close()
    for name in ("link", "text"):
        assert _contrast(colours[name], colours["card"]) >= 4.5, name


def _contrast(a: list[int], b: list[int]) -> float:
    def luminance(rgb: list[int]) -> float:
        def channel(c: int) -> float:
            c = c / 255
            return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
        r, g, b_ = (channel(c) for c in rgb[:3])
        return 0.2126 * r + 0.7152 * g + 0.0722 * b_

    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)
