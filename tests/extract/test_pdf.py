"""PDF documents: the title, page furniture and paragraphs, on PDFs laid out as the real
ones are (council reports, Ofsted letters, web pages printed from a browser)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sectorwatch.extract import extract_article
from sectorwatch.extract.pdf import Line, paragraphs, without_furniture
from sectorwatch.models import Article, Link, Page
from sectorwatch.sources.base import ExtractRules
from tests.pdfs import make_pdf

URL = "http://127.0.0.1:8000/documents/s1/paper.pdf"

FINDINGS = [
    "Inspectors found that leaders have a clear understanding of the strengths and weaknesses",
    "of practice across the service. Caseloads have fallen in the assessment teams. Managers",
    "now review plans for children in need every month.",
]
PROGRESS = [
    "Progress since the last monitoring visit has been steady, and the local authority has",
    "recruited permanent team managers in three of its four localities.",
]
WEAKNESS = [
    "The quality of supervision remains variable, and some plans for children do not say",
    "who will do what by when.",
]


def extract(pdf: bytes, title: str | None = None) -> Article:
    page = Page(url=URL, final_url=URL, status=200, content_type="application/pdf", body=pdf,
                fetched_at=datetime(2018, 3, 22, tzinfo=UTC))
    return extract_article(page, ExtractRules(), link=Link(URL, title=title))


def paras(article: Article) -> list[str]:
    return article.text.split("\n\n")


def joined(lines: list[str]) -> str:
    return " ".join(lines)


def printed_page() -> bytes:
    """A news page printed from a browser: a headline in large type, the print date and
    page title above each page, the file's address and page count below."""
    pages = [
        [("Ofsted finds progress in Worcestershire", 20), ("children's services", 20),
         *FINDINGS, "", *PROGRESS],
        [*WEAKNESS, "", "Every child deserves a safe and loving home."],
    ]
    return make_pdf(pages, title="pdfsrc.html",
                    headers=["30/11/2026, 06:29 pdfsrc.html"] * 2,
                    footers=[f"file:///home/editor/pdfsrc.html {k}/2" for k in (1, 2)])


# Titles


def test_the_feed_title_beats_a_file_name_in_the_metadata():
    article = extract(printed_page(), title="Worcestershire children's services improving")
    assert article.title == "Worcestershire children's services improving"


def test_without_a_feed_title_the_first_heading_is_the_title():
    article = extract(printed_page())
    assert article.title == "Ofsted finds progress in Worcestershire children's services"


@pytest.mark.parametrize("meta", [
    "pdfsrc.html", "report.docx", "Microsoft Word - CYP report Q2.doc", "untitled",
    "C:\\Users\\jsmith\\Documents\\report", "https://example.org/papers/s1.pdf", "20180322",
    "Doc1", "/tmp/print/page"])
def test_a_metadata_title_that_is_no_title_is_passed_over(meta):
    pdf = make_pdf([["Monitoring visit to Worcestershire children's services", *FINDINGS]],
                   title=meta)
    assert extract(pdf).title == "Monitoring visit to Worcestershire children's services"


def test_a_letters_bold_subject_line_is_its_title_not_its_address():
    letter = ["Ofsted", "Agora", "6 Cumberland Place", "Nottingham", "NG1 6HJ", "",
              "2 February 2018", "", "Director of Children's Services",
              "Worcestershire County Council", "", "Dear Director", "",
              ("Monitoring visit of Worcestershire children's services", 11, True), "",
              *FINDINGS, "", *PROGRESS]
    pdf = make_pdf([letter], title="Microsoft Word - 50012345 Worcestershire MV letter.docx")
    assert extract(pdf).title == "Monitoring visit of Worcestershire children's services"


def test_a_metadata_title_that_reads_as_a_title_names_a_paper_without_headings():
    pdf = make_pdf([["AGENDA ITEM 6", *FINDINGS]], title="Ofsted Monitoring Visit Feedback")
    assert extract(pdf).title == "Ofsted Monitoring Visit Feedback"


# Running headers, footers and page numbers


def test_a_printed_pages_header_and_footer_are_dropped():
    article = extract(printed_page())
    assert "file:" not in article.text and "06:29" not in article.text
    assert "pdfsrc" not in article.text
    assert article.text.endswith("Every child deserves a safe and loving home.")


def test_a_line_repeated_mid_page_stays_while_the_running_header_goes():
    pages = [["Worcestershire County Council | Children's Services Improvement",
              f"Visit {k}: findings", *FINDINGS, "",
              "Every child deserves a safe and loving home.", "", *PROGRESS, "",
              f"Performance report to the Panel {k}"]
             for k in range(1, 5)]
    article = extract(make_pdf(pages))
    assert paras(article).count("Every child deserves a safe and loving home.") == 4
    assert "Children's Services Improvement" not in article.text
    assert "Performance report" not in article.text
    assert f"Visit 3: findings\n\n{joined(FINDINGS)}" in article.text


def test_without_positions_lines_still_make_paragraphs_and_lose_page_numbers():
    # What is left when pypdf's visitor does not match its text: lines alone.
    lines = [Line(t) for t in ["Summary", *FINDINGS, *PROGRESS, "Children in care", "816",
                               *WEAKNESS, "2"]]
    assert [p.text for p in paragraphs(without_furniture([lines]))] == [
        "Summary", joined(FINDINGS), joined(PROGRESS), "Children in care", "816",
        joined(WEAKNESS)]


def test_a_number_mid_page_is_not_a_page_number():
    pdf = make_pdf([["Children in care", *FINDINGS, "", "Children in care at 30 September:",
                     "816", "", *PROGRESS, "3"]])
    found = paras(extract(pdf))
    assert "816" in found and not found[-1].endswith("3")


# Paragraphs


def test_paragraphs_follow_the_space_between_them_and_headings_stand_alone():
    pages = [[("Summary of findings", 14), *FINDINGS, "", *PROGRESS, "",
              ("Areas for improvement", 14), *WEAKNESS,
              "• Supervision is recorded in every child's file.",
              "• Plans are reviewed with families."]]
    assert paras(extract(make_pdf(pages))) == [
        "Summary of findings", joined(FINDINGS), joined(PROGRESS), "Areas for improvement",
        joined(WEAKNESS), "• Supervision is recorded in every child's file.",
        "• Plans are reviewed with families."]


def test_without_space_between_paragraphs_a_short_line_ends_one():
    # Lines on one pitch throughout, as a slide deck or a plain report is often set.
    pages = [["From A to D", *FINDINGS, "Strategic commitment and leadership",
              "• Leaders recognise that a strong infrastructure needs to be in place to support",
              "  effective social work practice",
              "Our areas of continued weakness", *WEAKNESS[:1],
              "who will do what by when, and the service has yet to agree its new threshold.",
              "Working with partners", *PROGRESS]]
    assert paras(extract(make_pdf(pages))) == [
        "From A to D", joined(FINDINGS), "Strategic commitment and leadership",
        "• Leaders recognise that a strong infrastructure needs to be in place to support "
        "effective social work practice",
        "Our areas of continued weakness",
        f"{WEAKNESS[0]} who will do what by when, and the service has yet to agree its new "
        "threshold.", "Working with partners", joined(PROGRESS)]


def test_a_paragraph_runs_on_across_a_page_break():
    pages = [[*PROGRESS, "", *FINDINGS[:2]], [FINDINGS[2], "", *WEAKNESS]]
    assert paras(extract(make_pdf(pages))) == [joined(PROGRESS), joined(FINDINGS),
                                               joined(WEAKNESS)]
