"""Story grouping on the dev-set texts: the fixture stories told by several outlets are
grouped; different events about one authority, even in the same week, are not."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from sectorwatch.config import load_config
from sectorwatch.digest.stories import Item, group_stories, lead_rank
from sectorwatch.tag import Tagger

CASES = Path(__file__).resolve().parents[1] / "data" / "tagging"


@pytest.fixture(scope="module")
def items() -> dict[str, Item]:
    tagger = Tagger.from_config(load_config(None))
    out = {}
    for k, path in enumerate(sorted(CASES.glob("0[0-2]*.yaml"))):
        case = yaml.safe_load(path.read_text(encoding="utf-8"))
        tags = tagger.tag(case["title"], case["text"], str(case["date"]))
        out[path.name[:3]] = Item(
            k, path.name[:3], case["title"], case["text"],
            datetime.fromisoformat(str(case["date"])).replace(tzinfo=UTC),
            frozenset(a.code for a in tags.authorities if a.role == "primary"),
            official="govuk" in path.name, word_count=len(case["text"].split()))
    return out


def groups(stories) -> set[frozenset[str]]:
    return {frozenset(i.source_id for i in s.items) for s in stories if s.others}


def test_stories_told_by_several_outlets_are_one_story(items):
    assert groups(group_stories(list(items.values()))) == {
        frozenset({"001", "003"}),  # seeds 000 and 002: Worcestershire's sixth monitoring visit
        frozenset({"013", "018"}),  # Stoke-on-Trent commissioner: CYP Now and GOV.UK
        frozenset({"017", "020", "023"}),  # family hubs: GOV.UK, the LGA's response, WillisPalmer
        frozenset({"008", "021"}),  # the £1.4bn overspend: Community Care and the LGA
        frozenset({"014", "019"}),  # children's homes statistics: Ofsted and the LGA
    }


def test_different_events_about_one_authority_stay_apart_even_in_one_week(items):
    week = datetime(2018, 11, 12, tzinfo=UTC)
    worcestershire = [replace(items[k], published=week + timedelta(days=n))
                      for n, k in enumerate(("001", "002", "004", "005", "026"))]
    assert groups(group_stories(worcestershire)) == set()


def test_every_article_is_in_exactly_one_story(items):
    stories = group_stories(list(items.values()))
    seen = [i.id for s in stories for i in s.items]
    assert sorted(seen) == sorted(i.id for i in items.values())


def test_the_lead_is_whole_then_official_then_fullest(items):
    stories = {frozenset(i.source_id for i in s.items): s for s in
               group_stories(list(items.values()))}
    assert stories[frozenset({"013", "018"})].lead.source_id == "018"  # GOV.UK made the news
    assert stories[frozenset({"001", "003"})].lead.source_id == "001"  # the fuller telling
    walled = replace(items["001"], truncated=True)
    assert min([walled, items["003"]], key=lead_rank) is items["003"]


def test_a_time_window_separates_repeats_of_old_news(items):
    late = replace(items["003"], published=items["001"].published + timedelta(days=30))
    assert groups(group_stories([items["001"], late])) == set()


def test_authorities_that_disagree_keep_alike_stories_apart(items):
    other = replace(items["003"], primary=frozenset({"E10000016"}))  # 'about Kent'
    assert groups(group_stories([items["001"], other])) == set()
    assert group_stories([]) == []


def told(text: str, title: str, day: int = 1, primary: str = "E06000057", ident: int = 0,
         dated: bool = True, events: tuple[str, ...] = ()) -> Item:
    return Item(ident, f"outlet{ident}", title, text, datetime(2022, 11, day, tzinfo=UTC),
                frozenset({primary}) if primary else frozenset(), dated=dated,
                events=events)


FILLER = ("The council said lessons would be learned and that work with partners had "
          "changed since. Campaigners called for a national inquiry into the service. ")


def test_two_outlets_naming_the_same_child_tell_one_story_in_different_words():
    first = told("A review into the death of Logan Mwangi found agencies missed chances "
                 "to protect him. Logan Mwangi was five. " + FILLER, "Review published")
    second = told("Social workers had little contact with Logan during lockdown, says the "
                  "practice review into the boy's murder. The Mwangi family spoke out. "
                  "Officials apologised for the failings identified.", "Lockdown failings",
                  day=2, ident=1)
    assert groups(group_stories([first, second])) == {frozenset({"outlet0", "outlet1"})}
    story = group_stories([first, second])[0]
    assert story.joins[0].shared_names == ("logan", "mwangi")


def test_a_case_recalled_by_name_or_an_office_holder_does_not_join_stories():
    case = told("A review into the death of Logan Mwangi found agencies missed chances. "
                "Logan Mwangi was five. " + FILLER, "Review published")
    undated = told("The council launched its new family hubs programme this week with "
                   "funding for parenting support. " + FILLER + "Years ago the case of "
                   "Logan Mwangi shocked the country.", "Family hubs open", ident=1,
                   dated=False)
    leader = told("Council leader Cllr Shaun Davies welcomed the Ofsted report on adoption. "
                  + FILLER, "Adoption praised", ident=2)
    budget = told("Cllr Shaun Davies said the budget would protect children's services. "
                  + FILLER, "Budget set", ident=3, day=3)
    assert groups(group_stories([case, undated, leader, budget])) == set()


def test_different_news_of_one_council_stays_apart_and_does_not_chain():
    inadequate = told("Ofsted rated the council's children's services inadequate. " + FILLER,
                      "Services inadequate", events=("E06000057|inadequate|full inspection",))
    visit = told("Ofsted's monitoring visit found the council's children's services "
                 "improving. " + FILLER, "Monitoring visit", ident=1, day=2,
                 events=("E06000057||monitoring visit",))
    bridge = told("Ofsted rated the council's children's services inadequate and a "
                  "monitoring visit found them improving. " + FILLER, "Both", ident=2, day=3)
    stories = group_stories([inadequate, visit, bridge])
    assert frozenset({"outlet0", "outlet1"}) not in {
        frozenset(i.source_id for i in s.items) for s in stories}
    assert any(s.others for s in stories)  # the bridge joins one of them, not both


def test_one_councils_one_grade_told_in_some_of_the_same_words_is_one_event():
    grade = ("E06000057|inadequate|full inspection",)
    first = told("Ofsted rated Northumberland's children's services inadequate. Inspectors "
                 "found children waited too long for help in the county. " + FILLER,
                 "County services failing", events=grade)
    second = told("Northumberland's children's services are inadequate, a damning Ofsted "
                  "report says: children waited for help. Managers did not know their "
                  "frontline well.", "Damning report", day=3, ident=1, events=grade)
    week = ["Fostering allowances rise in Kent.", "A new secure children's home opens.",
            "Ofsted publishes its annual report on social care."]  # rarity is judged on more
    assert groups(group_stories([first, second], background=week)) == {
        frozenset({"outlet0", "outlet1"})}
    later = replace(second, published=second.published + timedelta(days=30))
    unlike = replace(second, text="Parking charges rise in the town centre, say traders.")
    other = replace(second, primary=frozenset({"E10000016"}))  # another council's grade
    for apart in (later, unlike, other):
        assert groups(group_stories([first, apart], background=week)) == set()
