"""Seed-shaped goldens: the five pages sectorwatch was specified from.

For each seed, every paragraph of the article (as a reader copied it) must be in the
extracted article, and none of the page's boilerplate lines. The seed texts are read from
../shared/seeds; the pages are the bundled fixtures built around them (seed 003, a
council's slide deck, is rendered as a real multi-page PDF here).
"""

from __future__ import annotations

import csv
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sectorwatch.extract import extract_article
from sectorwatch.extract.text import squash
from sectorwatch.models import Link, Page
from sectorwatch.sources.base import ExtractRules
from tests.golden.test_sites import BASE, SOURCES, serve, template_for
from tests.pdfs import make_pdf

SHARED = Path(__file__).resolve().parents[3] / "shared"
SEEDS = SHARED / "seeds"
pytestmark = pytest.mark.skipif(not SEEDS.is_dir(), reason="../shared/seeds is not beside the repo")


# seed → (site, path, headline, last article paragraph starts, lines in the span that are
# not article text: bylines, datelines, picture captions)
SEED_PAGES = {
    "000": ("www.willispalmer.com",
            "/support-to-children-in-care-at-worcestershire-is-improved-says-ofsted/",
            "Support to children in care at Worcestershire is improved, says Ofsted",
            '"Managers try to ensure', ()),
    "001": ("www.willispalmer.com",
            "/weaknesses-remain-in-children-who-go-missing-from-care-in-worcestershire/",
            "Weaknesses remain in children who go missing from care in Worcestershire",
            "A new template for recording home visits", ()),
    "002": ("www.worcesternews.co.uk",
            "/news/17219873.worcestershire-childrens-services-improving-issues-remain-says-"
            "ofsted/", None, "“This means that children are increasingly listened", ()),
    "004": ("www.cypnow.co.uk",
            "/content/news/ofsted-judges-council-inadequate-for-leaving-children-at-risk",
            "Ofsted judges council 'inadequate' for leaving children at risk",
            "Worcestershire County Council has been contacted for comment.",
            ("Joe Lepper", "Tuesday, January 24, 2017", "Picture: Worcestershire County Council")),
}


def seed_lines(number: str) -> list[str]:
    [path] = SEEDS.glob(f"{number}_*.txt")
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]


def split_seed(number: str) -> tuple[list[str], list[str]]:
    """(article paragraphs, boilerplate lines) of a seed page."""
    _, _, headline, last, not_article = SEED_PAGES[number]
    lines = seed_lines(number)
    start = lines.index(headline) + 1 if headline else 0
    end = next(i for i, line in enumerate(lines) if line.startswith(last)) + 1
    inside = [line for line in lines[start:end] if line]
    article = [line for line in inside if not any(m in line for m in not_article)]
    outside = [line for line in lines[:start - 1 if headline else 0] + lines[end:] if line]
    boilerplate = [line for line in outside + [x for x in inside if x not in article]
                   if len(line.split()) >= 2]
    return article, boilerplate


def own_words(article) -> str:
    return squash(f"{article.standfirst or ''} {article.text}")


@pytest.mark.parametrize("number", sorted(SEED_PAGES))
def test_seed_page_keeps_every_article_paragraph_and_no_boilerplate(number):
    import yaml

    from sectorwatch.demo.server import SITES_DIR

    site, path, *_ = SEED_PAGES[number]
    folder = SITES_DIR / site
    routes = yaml.safe_load((folder / "site.yaml").read_text(encoding="utf-8"))["routes"]
    article = extract_article(serve(folder, routes, path), SOURCES[site].extract,
                              link=Link(BASE + path), template=template_for(folder, routes))
    paragraphs, boilerplate = split_seed(number)
    words = own_words(article)
    missing = [p for p in paragraphs if squash(p.lstrip("-• ")) not in words]
    assert not missing, f"article paragraphs lost: {missing}"
    leaked = [b for b in boilerplate if squash(b) in words]
    assert not leaked, f"boilerplate kept: {leaked}"


def english_authorities() -> set[str]:
    with (SHARED / "data" / "authorities.csv").open(encoding="utf-8") as f:
        return {row["name"] for row in csv.DictReader(f) if row["nation"] == "England"}


def test_seed_000_names_no_authority_but_worcestershire():
    import yaml

    from sectorwatch.demo.server import SITES_DIR

    site, path, *_ = SEED_PAGES["000"]
    folder = SITES_DIR / site
    routes = yaml.safe_load((folder / "site.yaml").read_text(encoding="utf-8"))["routes"]
    article = extract_article(serve(folder, routes, path), SOURCES[site].extract,
                              link=Link(BASE + path), template=template_for(folder, routes))
    text = f"{article.standfirst or ''}\n{article.text}"
    named = {name for name in english_authorities()
             if re.search(rf"\b{re.escape(name)}\b", text)}
    assert named == {"Worcestershire"}


def council_paper_pages() -> list[list[str]]:
    """Seed 003 as a slide deck: markdown marks gone, long lines wrapped as a PDF would,
    a running header and page numbers on every slide."""
    slides, current = [], []
    for line in seed_lines("003"):
        text = re.sub(r"\*+", "", line).strip()
        if text in ("-", ""):
            if current and len(current) >= 14:
                slides.append(current)
                current = []
            continue
        while len(text) > 95:
            cut = text.rfind(" ", 0, 95)
            current.append(text[:cut])
            text = text[cut + 1:]
        current.append(text)
    if current:
        slides.append(current)
    return [["Worcestershire County Council | Children's Services Improvement", *slide,
             f"Page {i} of {len(slides)}"] for i, slide in enumerate(slides, 1)]


def test_council_paper_pdf_keeps_all_its_text_and_drops_running_headers():
    pages = council_paper_pages()
    assert len(pages) >= 3
    pdf = make_pdf(pages, title="Ofsted Monitoring Visit Feedback: January 2018",
                   created="D:20180322090000Z")
    url = f"{BASE}/documents/s12345/ofsted-feedback.pdf"
    page = Page(url=url, final_url=url, status=200, content_type="application/pdf", body=pdf,
                fetched_at=datetime(2026, 11, 23, tzinfo=UTC))
    article = extract_article(page, ExtractRules(), link=Link(url))
    words = squash(article.text)
    content = [re.sub(r"\*+", "", line).strip().lstrip("- ") for line in seed_lines("003")]
    missing = [c for c in content if len(c.split()) >= 2 and squash(c) not in words]
    assert not missing, f"lost from the PDF: {missing}"
    assert "Children's Services Improvement" not in article.text
    assert not re.search(r"Page \d+ of \d+", article.text)
    assert article.title == "Ofsted Monitoring Visit Feedback: January 2018"
    assert (article.published.date().isoformat(), article.published_signal) == (
        "2018-03-22", "meta")


def test_a_council_paper_leads_with_its_first_sentences_not_its_cover():
    pages = [["Working Together", "Ofsted Monitoring Visit Feedback: January 2018",
              "Children and Families Overview and Scrutiny Panel", "22 March 2018"],
             ["AGENDA ITEM 6", "CHILDREN AND FAMILIES OVERVIEW AND SCRUTINY PANEL",
              "1. The Panel is asked to consider the findings of the third monitoring",
              "visit and the progress made since the inspection of November 2016."]]
    pdf = make_pdf(pages, title="Ofsted Monitoring Visit Feedback: January 2018")
    url = f"{BASE}/documents/s1/feedback.pdf"
    page = Page(url=url, final_url=url, status=200, content_type="application/pdf", body=pdf,
                fetched_at=datetime(2018, 3, 22, tzinfo=UTC), text=None)
    article = extract_article(page, ExtractRules(), link=Link(url))
    assert article.lead.startswith("The Panel is asked to consider the findings")
    assert "Working Together" in article.text  # the cover stays in the text
