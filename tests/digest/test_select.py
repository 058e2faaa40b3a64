from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sectorwatch.digest.select import (
    LONDON,
    NATIONAL,
    Tagged,
    matches,
    section_order,
    select,
    week_before,
)
from sectorwatch.digest.stories import Item, Story
from sectorwatch.digest.subscribers import Filters

SEND = datetime(2026, 11, 23, 8, tzinfo=LONDON)  # a Monday, 08:00 London
TAXONOMY = [("inspection", "Ofsted & inspection"), ("fostering", "Fostering"),
            ("funding", "Funding & spending")]
TOPICS = section_order("topic", TAXONOMY)
WORCS, KENT, SANDWELL = "E10000034", "E10000016", "E08000028"
REGIONS = {WORCS: "West Midlands", KENT: "South East", SANDWELL: "West Midlands"}


def entry(n: int, hours_ago: float, authorities=(), topics=(), judgements=(),
          primary=True) -> Tagged:
    item = Item(n, "src", f"Story {n}", "text", SEND - timedelta(hours=hours_ago))
    codes = frozenset(authorities)
    return Tagged(Story(item), codes, codes if primary else frozenset(),
                  frozenset(REGIONS[c] for c in codes), tuple(topics), tuple(judgements))


def test_the_window_is_the_week_before_in_london_time():
    start, end = week_before(SEND)
    assert (start.isoformat(), end.isoformat()) == ("2026-11-16T08:00:00+00:00",
                                                    "2026-11-23T08:00:00+00:00")
    # across the clock change (BST ends 25 October 2026): still 08:00 wall-clock time
    start, end = week_before(datetime(2026, 10, 26, 8, tzinfo=LONDON))
    assert start.hour == end.hour == 8 and start.utcoffset() != end.utcoffset()
    start, _ = week_before(datetime(2026, 11, 23, 8, tzinfo=UTC))  # any zone in, London out
    assert start.tzinfo == LONDON


def test_filters_are_exact():
    worcs = entry(1, 5, [WORCS], ["inspection"])
    kent = entry(2, 5, [KENT], ["fostering"])
    national = entry(3, 5, [], ["funding"])
    assert [matches(e, Filters((WORCS,))) for e in (worcs, kent, national)] == [
        True, False, False]
    assert [matches(e, Filters(regions=("West Midlands",))) for e in (worcs, kent)] == [
        True, False]
    assert [matches(e, Filters(topics=("fostering",))) for e in (worcs, kent, national)] == [
        False, True, False]
    assert matches(worcs, Filters((WORCS,), topics=("fostering",))) is False  # place AND topic
    assert all(matches(e, Filters()) for e in (worcs, kent, national))  # nothing = everything


def test_sections_order_rank_and_cap():
    entries = [entry(1, 10, [WORCS], ["inspection"]),
               entry(2, 2, [], ["inspection"]),  # newest, but no authority
               entry(3, 30, [SANDWELL], ["inspection"],
                     [{"authority": SANDWELL, "grade": "good", "scope": "overall",
                       "kind": "full inspection", "date": "2026-11"}]),
               entry(4, 5, [KENT], ["fostering", "funding"]),
               entry(5, 5, [], []),
               entry(6, 200, [WORCS], ["inspection"])]  # older than the week
    start, end = week_before(SEND)
    chosen = select(entries, Filters(), start, end, TOPICS, cap=2)
    assert [s.key for s in chosen.sections] == ["inspection", "fostering", "other"]
    inspection = chosen.sections[0]
    assert [e.story.lead.id for e in inspection.stories] == [3, 1]  # judgement, then named
    assert inspection.more == 1 and chosen.count == 5
    assert [j["authority"] for j in chosen.watch] == [SANDWELL]
    assert chosen.sections[2].title == "Other news"


def test_a_national_report_is_no_authority_judgement_in_the_watch():
    thematic = entry(1, 10, [], ["exploitation", "inspection"],
                     [{"authority": None, "grade": None, "scope": "overall",
                       "kind": "joint targeted area inspection", "date": "2018-05"}])
    start, end = week_before(SEND)
    chosen = select([thematic], Filters(), start, end, TOPICS)
    assert chosen.count == 1 and chosen.watch == ()


def test_a_subscriber_gets_only_their_places_and_their_watch():
    entries = [entry(1, 10, [WORCS], ["inspection"],
                     [{"authority": WORCS, "grade": None, "scope": "overall",
                       "kind": "monitoring visit", "date": None}]),
               entry(2, 10, [KENT], ["inspection"],
                     [{"authority": KENT, "grade": "good", "scope": "overall",
                       "kind": "full inspection", "date": None}])]
    start, end = week_before(SEND)
    chosen = select(entries, Filters((WORCS,)), start, end, TOPICS)
    assert [e.story.lead.id for s in chosen.sections for e in s.stories] == [1]
    assert [j["authority"] for j in chosen.watch] == [WORCS]
    assert select(entries, Filters(topics=("send",)), start, end, TOPICS).empty


def test_sections_can_come_in_a_configured_order():
    order = section_order("topic", TAXONOMY, ["funding", "other"])
    assert [k for k, _ in order] == ["funding", "other", "inspection", "fostering"]
    regions = section_order("region", TAXONOMY, ["West Midlands"])
    assert regions[0] == ("West Midlands", "West Midlands") and regions[-1][0] == NATIONAL
    assert len(regions) == 13  # twelve regions and nations, then national news


def test_sections_by_region_put_a_story_where_the_reader_follows():
    both = entry(1, 5, [KENT, WORCS], ["inspection"])
    national = entry(2, 5, [], ["funding"])
    kent = entry(3, 6, [KENT], ["fostering"])
    start, end = week_before(SEND)
    regions = section_order("region", TAXONOMY)
    chosen = select([both, national, kent], Filters(), start, end, regions, by="region")
    assert [(s.key, [e.story.lead.id for e in s.stories]) for s in chosen.sections] == [
        ("South East", [1, 3]), (NATIONAL, [2])]  # Kent sorts before Worcestershire
    follows_worcs = select([both, national, kent], Filters(regions=("West Midlands",)),
                           start, end, regions, by="region")
    assert [(s.key, len(s.stories)) for s in follows_worcs.sections] == [("West Midlands", 1)]


def test_equal_selections_have_equal_signatures():
    entries = [entry(1, 5, [WORCS], ["inspection"]), entry(2, 5, [KENT], ["fostering"])]
    start, end = week_before(SEND)
    one = select(entries, Filters((WORCS,)), start, end, TOPICS)
    two = select(entries, Filters(regions=("West Midlands",)), start, end, TOPICS)
    everything = select(entries, Filters(), start, end, TOPICS)
    assert one.signature == two.signature != everything.signature
