"""An authority's Ofsted timeline built from judgement-tagged articles."""

from dataclasses import replace
from datetime import UTC, datetime
from types import SimpleNamespace

from sectorwatch.tag.judgements import Judgement
from sectorwatch.web.timeline import build_timeline, latest_grade

NAMES = {"cyp": "CYP Now", "lgc": "LGC"}
MONITORING, FULL = "monitoring visit", "full inspection"


def row(url, published=(2024, 3, 5), source="cyp", title="Ofsted visit", first_seen=None):
    when = datetime(*published, tzinfo=UTC) if published else None
    return SimpleNamespace(title=title, url=url, source_id=source, published_at=when,
                           first_seen_at=datetime(*first_seen, tzinfo=UTC) if first_seen
                           else when)


def judged(kind=FULL, date=None, grade=None, scope="overall"):
    return Judgement("E10000034", grade, scope, kind, date)


def test_two_outlets_on_one_undated_visit_make_one_event():
    events = build_timeline([
        (row("https://cyp.example/a", (2024, 3, 5)), judged(MONITORING)),
        (row("https://lgc.example/b", (2024, 3, 28), source="lgc"), judged(MONITORING)),
        (row("https://lgc.example/c", (2024, 4, 2), source="lgc"), judged(MONITORING)),
    ], NAMES)
    assert [(e.month, e.kind, e.dated) for e in events] == [
        ("2024-04", MONITORING, False), ("2024-03", MONITORING, False)]
    assert [(r.url, r.source) for r in events[1].reports] == [
        ("https://cyp.example/a", "CYP Now"), ("https://lgc.example/b", "LGC")]


def test_undated_month_is_the_london_month_reported_or_first_seen():
    events = build_timeline([
        (row("https://a.example/1", (2024, 6, 30, 23, 30)), judged(MONITORING)),  # 00:30 BST
        (row("https://a.example/2", None, first_seen=(2023, 1, 9)), judged(FULL)),
        (row("https://a.example/3", None), judged(FULL)),  # no date at all: left out
    ], NAMES)
    assert [e.month for e in events] == ["2024-07", "2023-01"]


def test_judgements_own_month_wins_over_article_date():
    events = build_timeline([
        (row("https://a.example/1", (2017, 1, 20)), judged(grade="inadequate")),
        (row("https://a.example/2", (2017, 3, 2)), judged(date="2017-01", grade="inadequate")),
    ], NAMES)
    assert len(events) == 1
    assert (events[0].month, events[0].dated, events[0].label) == (
        "2017-01", True, "January 2017")
    assert len(events[0].reports) == 2


def test_grades_by_scope_gather_in_one_event():
    url = "https://a.example/report"
    events = build_timeline([
        (row(url), judged(date="2017-01", grade="inadequate")),
        (row(url), judged(date="2017-01", grade="requires improvement", scope="care leavers")),
        (row("https://b.example/x"), judged(date="2017-01", grade=None, scope="adoption")),
    ], NAMES)
    (event,) = events
    assert event.overall == "inadequate"
    assert event.other_grades == [("care leavers", "requires improvement")]
    assert [r.url for r in event.reports] == [url, "https://b.example/x"]


def test_newest_first_and_latest_grade():
    events = build_timeline([
        (row("https://a.example/1"), judged(date="2015-05", grade="good")),
        (row("https://a.example/2"), judged(date="2019-06", grade="inadequate")),
        (row("https://a.example/3"), judged(MONITORING, date="2020-02")),
        (row("https://a.example/4"), judged(date="2021-09", grade="good", scope="adoption")),
        (row("https://a.example/5"), judged(MONITORING, date="2017-11")),
    ], NAMES)
    assert [e.month for e in events] == ["2021-09", "2020-02", "2019-06", "2017-11", "2015-05"]
    latest = latest_grade(events)
    assert latest is not None and (latest.month, latest.overall) == ("2019-06", "inadequate")
    assert latest_grade(events[:2]) is None
    assert latest_grade([]) is None


def test_scraped_text_is_cleaned_and_bounded():
    title = "Bad\x00news\x1b[31m \u202eevil\n" + "x" * 1000
    (event,) = build_timeline([
        (row("javascript:alert(1)", title=title, source="odd\x07id"), judged(MONITORING)),
    ], NAMES)
    (report,) = event.reports
    assert report.url is None
    assert len(report.title) <= 300 and report.title.startswith("Bad news [31m evil x")
    assert not any(ord(c) < 32 or c == "\u202e" for c in report.title + report.source)
    assert report.source == "odd id"


def test_unsafe_url_is_not_listed_twice():
    bad = row("javascript:alert(1)")
    (event,) = build_timeline([(bad, judged(MONITORING)), (bad, judged(MONITORING))], NAMES)
    assert len(event.reports) == 1


def test_an_earlier_grade_recalled_goes_in_only_with_its_own_month():
    recalled = replace(judged(grade="inadequate"), past=True)
    events = build_timeline([
        (row("https://a.example/1", (2024, 3, 5)), judged(MONITORING)),
        (row("https://a.example/1", (2024, 3, 5)), recalled),  # "judged inadequate in 2022"
        (row("https://a.example/2", (2024, 3, 9)), replace(recalled, date="2022-11")),
    ], NAMES)
    assert [(e.month, e.kind, e.grades) for e in events] == [
        ("2024-03", MONITORING, {}), ("2022-11", FULL, {"overall": "inadequate"})]
