"""Cross-page template learning, on pages where a generic extractor keeps the teasers."""

from __future__ import annotations

from datetime import UTC, datetime

from lxml import html as lxml_html

from sectorwatch.extract import extract_article
from sectorwatch.extract.template import learn, strip
from sectorwatch.models import Page
from sectorwatch.sources.base import ExtractRules

BANNERS = ["COVID-19 guidance from the practice: how we are working safely with families.",
           "LOCKDOWN 3: call 01206 878178 to discuss your requirements with our team.",
           "We launch our Children's Charter to support vulnerable children this spring.",
           "Support the #Respect4SocialWork campaign and celebrate the profession today."]
TEASERS = [("Cafcass changes arrangements", "Cafcass areas covering Birmingham and Shropshire "
            "courts face unsustainable pressures on the family justice system this winter."),
           ("Spending on early help halves", "Councils in Staffordshire and elsewhere cut "
            "early intervention spending from £3.6bn to £1.8bn over the decade, charities say."),
           ("Review in Oldham", "An independent review in Oldham found procedures were not "
            "followed when children were at risk of exploitation by organised networks."),
           ("Interview", "Our administrator on coffee, Room 101 and a favourite city, New York.")]


def page(n: int, paragraphs: int) -> str:
    teasers = "".join(
        f"<div class='teaser'><h3>{t}</h3><p>{x}</p><a href='/t/{i}'>Read Full Story</a></div>"
        for i, (t, x) in enumerate(TEASERS[n % 2: n % 2 + 3]))
    body = "".join(f"<p>Paragraph {i} of story {n}: Worcestershire's social workers saw "
                   f"children regularly and plans number {i * n} were reviewed on time by "
                   f"managers across the county this autumn.</p>" for i in range(paragraphs))
    return (f"<html><body><article><div class='promo-banner'><p>{BANNERS[n % 4]}</p>"
            f"<a href='/enquiry'>Read more</a></div><h1>Story {n}</h1>{body}"
            f"<section class='knowledge'><h2>Knowledge &amp; Resources</h2><p>Keep abreast of "
            f"the latest news.</p>{teasers}</section></article></body></html>")


PAGES = [page(n, 4 + n) for n in range(6)]


def extract(html: str, template=None) -> str:
    p = Page(url="http://127.0.0.1/x", final_url="http://127.0.0.1/x", status=200,
             content_type="text/html", body=html.encode(), fetched_at=datetime.now(UTC),
             text=html)
    return extract_article(p, ExtractRules(), template=template).text


def test_generic_extraction_alone_keeps_template_text():
    assert "Knowledge & Resources" in extract(PAGES[0])
    assert "Keep abreast" in extract(PAGES[0])


def test_learned_template_strips_banners_and_teasers_but_keeps_the_body():
    template = learn(PAGES[1:])
    text = extract(PAGES[0], template)
    for word in ("Birmingham", "Shropshire", "Staffordshire", "Oldham", "Read Full Story",
                 "Knowledge", "Keep abreast", "COVID-19", "Read more"):
        assert word not in text
    assert all(f"Paragraph {i} of story 0" in text for i in range(4))


def test_a_banner_with_new_wording_still_goes():
    template = learn(PAGES[:5])
    fresh = page(9, 3).replace(BANNERS[1], "Brand new wording that no page has used before.")
    tree = lxml_html.document_fromstring(fresh)
    strip(tree, template)
    assert "Brand new wording" not in tree.text_content()
    assert "Paragraph 2 of story 9" in tree.text_content()


def test_too_few_pages_teach_nothing():
    assert not learn(PAGES[:2])
    assert learn(PAGES[:3]).pages == 3


def test_repeated_article_text_on_few_pages_is_not_template():
    quote = "<p>“We are determined to improve services for every child,” the director said.</p>"
    pages = [p.replace("</h1>", "</h1>" + quote) if i < 2 else p for i, p in enumerate(PAGES)]
    text = extract(pages[0], learn(pages[1:]))
    assert "determined to improve services" in text


def test_a_template_that_would_empty_a_page_is_not_trusted():
    # A short story the site printed three times (a correction, a reprint): every block of
    # it repeats, so the template learned from those pages holds the whole body.
    story = page(1, 4)
    template = learn([story, story, story])
    p = Page(url="http://127.0.0.1/x", final_url="http://127.0.0.1/x", status=200,
             content_type="text/html", body=story.encode(), fetched_at=datetime.now(UTC),
             text=story)
    article = extract_article(p, ExtractRules(), template=template)
    assert all(f"Paragraph {i} of story 1" in article.text for i in range(4))
    assert article.warnings and "learned template would leave 0 of" in article.warnings[0]
    assert not extract_article(p, ExtractRules(), template=learn(PAGES[1:])).warnings
