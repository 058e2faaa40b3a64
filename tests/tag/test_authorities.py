"""Authority tagging on the traps in the gazetteer notes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sectorwatch.config import load_config
from sectorwatch.gazetteer import codes_for
from sectorwatch.tag import Tagger
from sectorwatch.tag.authorities import gazetteer, tag_authorities

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


def names(text: str, day: str | None = "2024-06-01", title: str = "") -> dict[str, str]:
    return {t.name: t.role for t in tag_authorities(title, text, day)}


@pytest.mark.parametrize(("text", "expected"), [
    ("Newcastle-under-Lyme Borough Council has a new leader.", {"Staffordshire"}),
    ("Newcastle City Council's children's services were praised.", {"Newcastle upon Tyne"}),
    ("A family from Sutton Coldfield spoke to the council.", {"Birmingham"}),
    ("The Sutton Trust published research on social mobility.", set()),
    ("She flew to New York to meet the Duke of York.", set()),
    ("Children's services in York were rated good by Ofsted.", {"York"}),
    ("Thames Valley Police and West Midlands Police made arrests.", set()),
    ("Durham University and Durham Constabulary held a joint event.", set()),
    ("Durham County Council's children's services improved.", {"County Durham"}),
    ("Lincolnshire and North East Lincolnshire councils signed a deal.",
     {"Lincolnshire", "North East Lincolnshire"}),
    ("Derby City Council and Derbyshire County Council.", {"Derby", "Derbyshire"}),
    ("Worcestershire Children First said. Children First is a newsletter.", {"Worcestershire"}),
    ("Worcester City Council approved the plan.", {"Worcestershire"}),
    ("The Birmingham Children's Hospital team treated her.", set()),
    ("Birmingham Children's Trust was inspected by Ofsted.", {"Birmingham"}),
])
def test_traps(text, expected):
    assert set(names(text)) == expected


def test_words_that_are_also_places_need_a_sector_cue():
    assert names("I was reading a book in the bath.") == {}
    assert "Reading" in names("Reading Borough Council's children's services improved.")
    assert "Reading" in names("In Reading, the council's children's services were inspected.")
    assert names("Clark Kent wrote the story.") == {}


def test_initialisms_are_case_sensitive():
    assert "Kent" in names("KCC children's services were rated good.")
    assert names("kcc children's services were rated good.") == {}


def test_abolished_authorities_follow_the_article_date():
    assert set(names("Dorset County Council's children's services.", "2017-05-01")) == {"Dorset"}
    codes = {t.code for t in tag_authorities("", "Dorset children's services.", "2017-05-01")}
    assert codes == {"E10000009"}  # the county council, then
    codes = {t.code for t in tag_authorities("", "Dorset children's services.", "2022-05-01")}
    assert codes == {"E06000059"}  # Dorset Council, now
    later = {t.name for t in tag_authorities(
        "", "Northamptonshire County Council's children's services.", "2023-01-01")}
    assert later == {"North Northamptonshire", "West Northamptonshire"}


def test_trust_names_map_to_every_authority_they_serve():
    assert set(names("Achieving for Children runs children's services.")) == {
        "Kingston upon Thames", "Richmond upon Thames", "Windsor and Maidenhead"}


def test_roles_title_and_counts():
    tags = tag_authorities("Kent council rated good",
                           "Kent County Council's children's services were rated good. "
                           "Medway Council was mentioned once. Kent leaders welcomed it.",
                           "2024-01-01")
    roles = {t.name: t.role for t in tags}
    assert roles == {"Kent": "primary", "Medway": "mentioned"}
    kent = tags[0]
    assert kent.in_title and kent.mentions == 3 and kent.first_position == 0
    assert [p for p, _ in kent.evidence][:2] == ["Kent council", "Kent County Council's"]


def test_districts_are_flagged_as_district_level():
    [tag] = tag_authorities("", "Harrogate council's plans for children's services.",
                            "2024-01-01")
    assert tag.name == "North Yorkshire" and tag.district_level


def test_codes_for_names_and_regions():
    assert codes_for(["Worcestershire", "E06000019"]) == ["E10000034", "E06000019"]
    assert "E10000034" in codes_for(regions=["west midlands"])
    with pytest.raises(KeyError):
        codes_for(["Atlantis"])
    with pytest.raises(KeyError):
        codes_for(regions=["Narnia"])


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="the shared facts are not beside the repo")
def test_packaged_gazetteer_matches_a_fresh_build():
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
    from importlib import resources

    from build_gazetteer import build
    packaged = json.loads(resources.files("sectorwatch").joinpath("data", "gazetteer.json")
                          .read_text(encoding="utf-8"))
    assert packaged == json.loads(json.dumps(build(SHARED_DATA)))
    assert "mySociety" in gazetteer().credits


SECTOR = "Ofsted inspectors looked at the council's children's services and care leavers."


def test_a_list_of_authorities_is_its_own_context():
    text = ("Four councils will form the new regional adoption agency: Hampshire, "
            "Portsmouth, Kent and Medway. " + SECTOR)
    assert set(names(text)) == {"Hampshire", "Portsmouth", "Kent", "Medway"}


def test_names_inside_other_bodies_names_are_not_authorities():
    text = ("Torbay Council's children's services were inspected by Ofsted. The work is shared "
            "with the Torbay and South Devon NHS Foundation Trust, and a case was heard at "
            "Plymouth Crown Court. The MP for Reading East asked a question. "
            "The Bristol Evening Post covered it. A choir from The Westminster School sang.")
    assert names(text) == {"Torbay": "primary"}


def test_an_employer_named_only_in_a_job_title_is_not_the_story():
    text = ("Wiltshire Council's children's services have a commissioner. Jane Roe, chief "
            "executive of Achieving for Children, the company that runs children's services "
            "in Kingston upon Thames and Richmond, will lead the review of Wiltshire. "
            "Hampshire's chief executive also advised Wiltshire council.")
    assert set(names(text)) == {"Wiltshire"}
    alone = "Achieving for Children, which runs children's services in Kingston, hired staff."
    assert "Kingston upon Thames" in names(alone)  # nobody else named: it is the story
    chair = ("Lancashire County Council's improvement board is chaired by a former director "
             "of children's services for Cheshire East Council. The review was written by "
             "Alan Wood, the director of children's services in Hackney.")
    assert set(names(chair)) == {"Lancashire"}


def test_the_former_council_beside_its_successor_is_history():
    text = ("Cumberland Council's children's services were judged good by Ofsted, a turning "
            "point after the struggles of the former Cumbria County Council.")
    assert names(text, day=None) == {"Cumberland": "primary"}


def test_an_undated_article_is_dated_by_the_council_it_names_and_its_years():
    old = "Somerset County Council's children's services were inspected. Somerset improved."
    assert {t.code for t in tag_authorities("", old, None)} == {"E10000027"}
    later = ("Ofsted inspected children's services in Somerset in 2024 and the council "
             "responded.")
    assert {t.code for t in tag_authorities("", later, None)} == {"E06000066"}
    county = ("Ofsted found that the county council is not supporting vulnerable children "
              "in Somerset well enough.")
    assert {t.code for t in tag_authorities("", county, None)} == {"E10000027"}
    assert {t.code for t in tag_authorities("", county, "2024-05-01")} == {"E06000066"}


def test_a_surname_is_not_a_district():
    text = "Devon County Council's leader John Hart welcomed the Ofsted report."
    assert set(names(text)) == {"Devon"}


def test_a_long_list_is_taken_whole_in_either_direction():
    names_ = ["Slough", "Reading", "Kent", "Medway", "Bromley", "Surrey"] * 200
    text = ("The council's children's services and Ofsted. Members: "
            + ", ".join(names_) + " and Hampshire County Council.")
    assert set(names(text)) == {"Slough", "Reading", "Kent", "Medway", "Bromley", "Surrey",
                                "Hampshire"}


def test_a_round_up_of_councils_has_no_primary_unless_one_dominates():
    roundup = ("Ofsted published focused visit letters this week. Inspectors found that "
               "Wokingham council's children's services had improved. Wokingham has a new "
               "director. Central Bedfordshire council and Knowsley council were also visited.")
    assert names(roundup) == {"Wokingham": "mentioned", "Central Bedfordshire": "mentioned",
                              "Knowsley": "mentioned"}
    one = roundup + " Wokingham council said it welcomed the letter. Wokingham will act."
    assert names(one)["Wokingham"] == "primary"
    tagged = Tagger.from_config(load_config(None)).tag("Latest focused visits", roundup,
                                                       "2024-04-10")
    assert {a.role for a in tagged.authorities} == {"mentioned"}


def test_a_district_named_before_its_unitary_existed_means_the_county_it_replaced():
    text = "Richmondshire's youth clubs will close, the council's children's services said."
    assert {t.code for t in tag_authorities("", text, "2019-05-01")} == {"E10000023"}
    assert {t.code for t in tag_authorities("", text, "2024-05-01")} == {"E06000065"}


def test_a_place_named_to_locate_another_council_is_not_tagged():
    text = ("Two councils, Waltham Forest in London and St Helens in Lancashire, received "
            "'requires improvement' from Ofsted for children's services.")
    assert set(names(text, "2015-01-23")) == {"Waltham Forest", "St Helens"}


def test_a_short_form_and_a_place_on_the_outskirts():
    text = ("Children's centres in Sutton Coldfield face closure, Birmingham City Council "
            "said. Parents in Sutton are worried about the council's plans.")
    assert set(names(text, "2017-07-13")) == {"Birmingham"}
    home = ("A children's home is planned on the outskirts of Wolverhampton. Staffordshire "
            "County Council said it needs more places for children in care.")
    assert set(names(home, "2023-08-13")) == {"Staffordshire"}


def test_towns_map_to_the_council_that_serves_them_and_people_are_not_towns():
    text = "Ofsted's monitoring visit to Hereford's children's services found slow progress."
    assert set(names(text, "2024-03-01")) == {"Herefordshire"}
    old = "Northallerton's children's social care teams moved offices, the council said."
    assert {t.code for t in tag_authorities("", old, "2019-06-01")} == {"E10000023"}
    assert {t.code for t in tag_authorities("", old, "2024-06-01")} == {"E06000065"}
    people = ("Cardiff council's children's services were praised in March. Deborah Driffield, "
              "director of children's services, thanked staff, said Stanley. Sandy Bear "
              "opened the family hub.")
    assert set(names(people, "2023-03-01")) == {"Cardiff"}


def test_an_initialism_with_an_ampersand_matches():
    text = "Chris Wilford, interim DCS, B&NES, reported on the Ofsted inspection."
    assert set(names(text, "2025-07-03")) == {"Bath and North East Somerset"}


def test_an_office_list_with_telephone_numbers_is_not_the_news():
    text = ("- Bedford Office +44 (0)1234 400000\n- Wigan Office 01942 244294\n"
            "Ofsted found SEND tribunal appeals rose. Harrow council's children's services "
            "said demand is rising.")
    assert set(names(text)) == {"Harrow"}
