"""Build the committee-paper PDFs served by the demo ModernGov site.

Run from the repository root:  python scripts/demo_pdfs.py

Writes two papers of Worcestershire's Children and Families Overview and Scrutiny Panel into
src/sectorwatch/demo/sites/worcestershire.moderngov.co.uk/documents/:

* seed 003 (../shared/seeds/003_*.txt), the slide deck "Ofsted Monitoring Visit Feedback:
  January 2018" for the panel of 22 March 2018, one slide per page, markdown marks removed
  and long lines wrapped as a PDF would;
* a quarterly performance report for the panel of 14 November 2018, whose text is below.

The PDFs are committed; run this again only to change them (the output is deterministic).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.pdfs import make_pdf  # noqa: E402

SEEDS = ROOT.parent / "shared" / "seeds"
SITE = ROOT / "src" / "sectorwatch" / "demo" / "sites" / "worcestershire.moderngov.co.uk"
WIDTH = 95  # characters on a line of the page


def wrap(text: str, indent: str = "") -> list[str]:
    """Break a long line at spaces, as it would be laid out on the page."""
    lines = []
    while len(text) > WIDTH:
        cut = text.rfind(" ", 0, WIDTH)
        lines.append(text[:cut])
        text = indent + text[cut + 1:]
    return [*lines, text]


def seed_slides() -> list[list[str]]:
    """Seed 003 split into its slides: a new slide after a run of blank lines, or where a
    heading follows a slide's bullets."""
    [path] = SEEDS.glob("003_*.txt")
    slides: list[list[str]] = []
    current: list[str] = []
    blanks = 0
    last_bullet = False
    for raw in path.read_text(encoding="utf-8").splitlines():
        text = re.sub(r"\*+", "", raw).strip()
        if text in ("", "-"):
            blanks += text == ""
            continue
        bullet = text.startswith("- ")
        if current and ((blanks >= 2) or (last_bullet and not bullet)):
            slides.append(current)
            current = []
        blanks = 0
        last_bullet = bullet
        if bullet:
            current.extend(wrap("• " + text[2:], indent="  "))
        else:
            current.extend(wrap(text))
    if current:
        slides.append(current)
    return slides


def with_running_text(pages: list[list[str]], header: str) -> list[list[str]]:
    return [[header, "", *page, "", f"Page {i} of {len(pages)}"]
            for i, page in enumerate(pages, 1)]


PERFORMANCE_REPORT = [
    [
        "AGENDA ITEM 6",
        "CHILDREN AND FAMILIES OVERVIEW AND SCRUTINY PANEL",
        "14 NOVEMBER 2018",
        "CHILDREN'S SOCIAL CARE PERFORMANCE REPORT: QUARTER 2 2018/19",
        "Summary",
        "1. The Panel is asked to consider performance information for children's social care in "
        "Worcestershire for Quarter 2 of 2018/19 (July to September 2018) and to agree any areas "
        "it wishes to scrutinise further.",
        "2. The report will be presented by the Cabinet Member with Responsibility for Children "
        "and Families and the Assistant Director for Safeguarding Services.",
        "Background",
        "3. The Panel receives a report on children's social care performance each quarter. The "
        "measures are taken from the Children's Social Care Performance Scorecard and compare the "
        "position at 30 September 2018 with 30 June 2018 (Quarter 1) and, where available, with "
        "the latest published figures for statistical neighbours.",
        "4. Performance is monitored monthly by the Children's Services Leadership Team and the "
        "Performance Board, which agree actions where a measure is below target.",
        "Contacts, referrals and assessments",
        "• 6,214 contacts were received by the Family Front Door in Quarter 2 (Quarter 1: 6,580), "
        "of which 1,847 led to a referral to children's social care.",
        "• The rate of re-referrals within 12 months was 21.4%, slightly above the target of 20%.",
        "• 87% of assessments were completed within 45 working days (Quarter 1: 82%).",
        "• 462 children were subject to a child protection plan at 30 September 2018, a rate of "
        "40.4 per 10,000 children (statistical neighbours: 43.1).",
    ],
    [
        "Children in care",
        "• 816 children were in care in Worcestershire at 30 September 2018, a rate of 67.5 per "
        "10,000 children, compared with 801 at 30 June 2018.",
        "• 71% of children in care were living with foster carers, including 14% placed with "
        "family and friends carers.",
        "• 10% of children in care had three or more placements in the last 12 months, in line "
        "with the target of 10%.",
        "• 94% of children in care had an up-to-date health assessment, and 89% had a Personal "
        "Education Plan reviewed during the summer term.",
        "• 46 children were placed in residential care, 38 of them with independent providers.",
        "Care leavers",
        "• 94% of care leavers aged 17 to 21 were in touch with the Leaving Care Service "
        "(target 95%).",
        "• 87% of care leavers were living in suitable accommodation.",
        "• 52% of care leavers aged 19 to 21 were in education, employment or training, below "
        "the target of 60%. A traineeship scheme with the council's own services will start in "
        "January 2019.",
        "Workforce",
        "• The average caseload of social workers in the Family Front Door and Safeguarding "
        "teams was 18.2 children (Quarter 1: 19.6), against a target of 18.",
        "• Agency social workers made up 24% of the qualified social work workforce, down from "
        "29% at 30 June 2018.",
        "• The social worker vacancy rate was 19%, and staff turnover over the last 12 months "
        "was 16%.",
        "• 17 newly qualified social workers began their Assessed and Supported Year in "
        "Employment (ASYE) in September 2018.",
    ],
    [
        "Areas of focus for Quarter 3",
        "5. The service will focus on the timeliness of initial child protection conferences, "
        "the proportion of care leavers in education, employment or training, and the "
        "recruitment of permanent social workers to reduce reliance on agency staff further.",
        "6. A recruitment campaign for experienced social workers was launched in October 2018, "
        "alongside a review of the market supplement paid to hard-to-fill posts.",
        "Recommendation",
        "7. The Children and Families Overview and Scrutiny Panel is asked to:",
        "a) consider the Quarter 2 2018/19 performance information; and",
        "b) determine whether any further information or scrutiny is required.",
        "Contact Points",
        "County Council Contact Points: County Council: 01905 763763",
        "Specific Contact Points for this report: Overview and Scrutiny Officer, Tel: 01905 "
        "844964, Email: scrutiny@worcestershire.gov.uk",
        "Background Papers",
        "In the opinion of the proper officer (in this case the Assistant Director for Legal and "
        "Governance) there are no background papers relating to the subject matter of this "
        "report.",
    ],
]


def performance_pages() -> list[list[str]]:
    pages = []
    for page in PERFORMANCE_REPORT:
        lines: list[str] = []
        for line in page:
            lines.extend(wrap(line, indent="  " if line.startswith("• ") else ""))
        pages.append(lines)
    return pages


DOCUMENTS = {
    "documents/s18862/Ofsted_Monitoring_Visit_Feedback_January_2018.pdf": (
        lambda: with_running_text(
            seed_slides(), "Worcestershire County Council | Children's Services Improvement"),
        "Ofsted Monitoring Visit Feedback: January 2018", "D:20180314100000Z"),
    "documents/s21450/Childrens_Social_Care_Performance_Report_Q2_2018-19.pdf": (
        lambda: with_running_text(
            performance_pages(), "Worcestershire County Council – Children and Families "
                                 "Overview and Scrutiny Panel – 14 November 2018"),
        "Children's Social Care Performance Report: Quarter 2 2018/19", "D:20181112150000Z"),
}


def main() -> None:
    for name, (pages, title, created) in DOCUMENTS.items():
        out = SITE / name
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(make_pdf(pages(), title=title, created=created))
        print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
