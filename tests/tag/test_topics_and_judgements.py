from __future__ import annotations

from sectorwatch.config import TopicSettings, load_config
from sectorwatch.tag import Tagger
from sectorwatch.tag.authorities import tag_authorities
from sectorwatch.tag.judgements import tag_judgements
from sectorwatch.tag.topics import compile_topics, tag_topics

TOPICS = [TopicSettings(slug="fostering", label="Fostering",
                        phrases={"foster carer": 3, "fostering": 3},
                        exclude=("fostering for adoption",)),
          TopicSettings(slug="send", label="SEND",
                        phrases={"send": 2, "education, health and care plan": 3}),
          TopicSettings(slug="education", label="Education", phrases={"education": 2},
                        exclude=("education, health and care plan",))]
MATCHER = compile_topics(TOPICS, 4.0)


def slugs(title: str, text: str) -> set[str]:
    return {t.slug for t in tag_topics(title, text, MATCHER)}


def test_a_passing_word_does_not_tag_but_a_subject_does():
    assert slugs("", "The council also mentioned fostering once.") == set()
    assert slugs("", "Foster carers are leaving; fostering agencies warn.") == {"fostering"}
    assert slugs("Fostering crisis", "Councils warned.") == {"fostering"}  # title counts double


def test_exclusions_score_nothing_and_shield_shorter_phrases():
    assert slugs("", "Fostering for adoption, and fostering for adoption again.") == set()
    text = "Each education, health and care plan was late; education, health and care plans."
    assert slugs("", text) == {"send"}


def test_plurals_and_apostrophes():
    tags = tag_topics("", "Two foster carers and three foster carer’s homes.", MATCHER)
    assert [(t.slug, t.score) for t in tags] == [("fostering", 6.0)]
    assert [p for p, _ in tags[0].evidence] == ["foster carers", "foster carer"]


def judgements(text: str, title: str = "", day: str = "2024-03-15"):
    return [(j.grade, j.scope, j.kind, j.date)
            for j in tag_judgements(title, text, tag_authorities(title, text, day), day)]


def test_grades_scopes_and_kinds():
    text = ("Sandwell's children's services have been rated good overall by Ofsted, with "
            "leadership judged outstanding. Care leavers' services require improvement.")
    assert judgements(text) == [("good", "overall", "full inspection", None),
                                ("outstanding", "leadership", "full inspection", None),
                                ("requires improvement", "care leavers", "full inspection",
                                 None)]
    dated = text + " Inspectors visited in January."
    assert {j[3] for j in judgements(dated)} == {"2024-01"}
    assert {j[3] for j in judgements(text + " The inspection was in November.")} == {"2023-11"}


def test_a_visit_without_a_grade_and_history_is_not_news():
    text = ("Ofsted's sixth monitoring visit to Worcestershire found improvement since the "
            "council was judged inadequate in November 2016.")
    events = tag_judgements("", text, tag_authorities("", text, "2024-03-15"), "2024-03-15")
    assert [(j.grade, j.kind, j.past) for j in events] == [
        ("inadequate", "full inspection", True),  # every grade stated is known...
        (None, "monitoring visit", False)]  # ...but only the visit is news


def test_a_focused_visit_in_a_named_month():
    assert judgements("Ofsted carried out a focused visit to Kent County Council's children's "
                      "services in May 2023.") == [(None, "overall", "focused visit", "2023-05")]


def test_schools_and_nurseries_are_not_la_judgements():
    assert judgements("A Worcester nursery was rated inadequate by Ofsted.") == []
    assert judgements("The school was judged good by inspectors in Kent.") == []


def test_the_word_good_alone_is_not_a_grade():
    assert judgements("Ofsted said it was good to see progress in Kent's children's services.") \
        == []


def test_tagger_makes_an_inspected_authority_primary():
    tagger = Tagger.from_config(load_config(None))
    tags = tagger.tag("", "Medway and Kent councils met. Medway's children's services were "
                          "rated inadequate by Ofsted. Inspectors found the front door was "
                          "slow and the inspection report criticised leaders. Kent was "
                          "mentioned. Kent said more.", "2024-01-01")
    roles = {a.name: a.role for a in tags.authorities}
    assert roles["Medway"] == "primary"
    assert {t.slug for t in tags.topics} >= {"inspection"}
    data = tags.as_dict(explain=True)
    assert data["authorities"][0]["evidence"] and "evidence" not in tags.as_dict()["topics"][0]


def test_a_grade_aimed_at_is_not_a_grade_given():
    text = ("Ofsted rated Sandwell's children's services inadequate. The council's target is "
            "to move to good by next year, and its ambition is to be rated outstanding.")
    assert judgements(text) == [("inadequate", "overall", "full inspection", None)]


def test_other_inspectorates_and_settings_give_no_judgement():
    text = ("HMI Probation rated Sandwell's youth justice service good. A children's home in "
            "Sandwell was judged outstanding by Ofsted.")
    assert judgements(text) == []


def test_scopes_listed_after_the_grade_share_it():
    text = ("Ofsted gave Sandwell council 'requires improvement' ratings for overall "
            "effectiveness, the experiences of children in care and care leavers, and help "
            "and protection.")
    assert {(g, s) for g, s, _, _ in judgements(text)} == {
        ("requires improvement", "overall"),
        ("requires improvement", "children in care and care leavers"),
        ("requires improvement", "help and protection")}
    reason = ("Ofsted rated Sandwell's children's services inadequate for failing to support "
              "care leavers.")
    assert [s for _, s, _, _ in judgements(reason)] == ["overall"]


def test_a_run_without_full_stops_is_read_in_bounded_pieces():
    from sectorwatch.tag.judgements import MAX_SENTENCE, _sentences

    text = "Ofsted rated Sandwell council " + "inadequate and good, " * 2000
    pieces = _sentences(text)
    assert max(len(p) for _, p in pieces) <= MAX_SENTENCE
    assert "".join(p for _, p in pieces) == text  # nothing lost, offsets true
    assert all(text[at:at + len(p)] == p for at, p in pieces)


LEAVERS = ("Young people leaving the council's care will each keep a personal adviser until "
           "they are 25, under plans agreed by the cabinet on Tuesday. The council's "
           "children's services also promised more help with housing. Ofsted inspectors had "
           "said in March that the council's care leavers waited too long for support, and "
           "the director said the new offer answered that.")


def test_the_packaged_model_decides_default_topics_and_can_be_switched_off():
    from sectorwatch.config import parse_config

    title = "Council sets out plan for young people leaving its care"
    on = Tagger.from_config(parse_config("sources: []\n", "t.yaml"))
    off = Tagger.from_config(parse_config("sources: []\ntagging: {topic_model: false}\n",
                                          "t.yaml"))
    # The subject of the story, though its phrases sum to less than the threshold.
    assert [(t.slug, t.score) for t in on.tag(title, LEAVERS, "2024-05").topics] == [
        ("care-leavers", 6.0)]
    assert off.tag(title, LEAVERS, "2024-05").topics == ()


def test_a_topic_the_model_does_not_know_is_decided_by_the_threshold():
    from sectorwatch.config import parse_config

    config = parse_config("""sources: []
topics:
  - {slug: housing, label: Housing, phrases: {housing: 3, personal adviser: 2}}
  - {slug: care-leavers, label: Care leavers, phrases: {care leavers: 2, leaving: 1}}
""", "t.yaml")
    tagger = Tagger.from_config(config)
    assert tagger.topics.model is not None and "housing" not in tagger.topics.model.bias
    assert "housing" not in {t.slug for t in tagger.tag("", LEAVERS).topics}  # 5 < 7
    assert "housing" in {t.slug for t in tagger.tag("Housing", LEAVERS).topics}  # 5 + 6


def test_a_top_grade_and_a_move_between_grades_keep_their_scope():
    top = ("Ofsted gave Sandwell council's children's services its top grade for leadership "
           "and for overall effectiveness.")
    assert {(g, s) for g, s, _, _ in judgements(top)} == {("outstanding", "leadership"),
                                                          ("outstanding", "overall")}
    moved = ("Sandwell council was downgraded by Ofsted from outstanding to good in the "
             "judgement on the impact of leaders.")
    assert {(g, s) for g, s, _, _ in judgements(moved)} == {("outstanding", "leadership"),
                                                            ("good", "leadership")}


def test_a_reason_after_a_list_of_scopes_is_not_one_of_them():
    text = ("Ofsted judged Sandwell council's services inadequate for overall effectiveness "
            "and adoption because of weaknesses in safeguarding.")
    assert {(g, s) for g, s, _, _ in judgements(text)} == {("inadequate", "overall"),
                                                           ("inadequate", "adoption")}


def test_a_judgement_table_gives_each_row_its_grade():
    text = ("Ofsted inspected Sandwell council's children's services in May.\n"
            "Area judged\tGrade\n"
            "Overall effectiveness\tRequires improvement to be good\n"
            "The experiences and progress of children in care\tGood\n"
            "Good work by the team was noted\tGood\n"
            "We want every family to have a good experience.")
    assert {(g, s) for g, s, _, _ in judgements(text)} == {
        ("requires improvement", "overall"), ("good", "children in care")}


def test_curly_apostrophes_read_as_straight_ones():
    tagger = Tagger.from_config(load_config(None))
    found = tagger.tag("", "Children’s services in Kent were found to be good by inspectors.")
    assert [(j.authority, j.grade) for j in found.judgements] == [("E10000016", "good")]
    homes = tagger.tag("", "Ofsted said Kent’s children’s homes were inadequate.")
    assert homes.judgements == ()  # a setting's grade, however the apostrophe is typed


def test_services_that_are_good_and_children_in_a_place():
    assert {(g, s) for g, s, _, _ in judgements(
        "Sandwell council's children's services are now good, inspectors have said.")} == {
        ("good", "overall")}
    assert judgements("Sandwell council's children's services are good at listening to "
                      "children, Ofsted said.") == []
    assert {(g, s) for g, s, _, _ in judgements(
        "Ofsted found that services for vulnerable children in Sandwell are inadequate.")} == {
        ("inadequate", "overall")}  # children in a place are not children in care


def test_each_grade_keeps_the_scope_it_was_given_for():
    text = ("Sandwell council was judged to be 'Good' overall by Ofsted, with 'Outstanding' "
            "for the impact of leaders, and good for care leavers.")
    assert {(g, s) for g, s, _, _ in judgements(text)} == {
        ("good", "overall"), ("outstanding", "leadership"), ("good", "care leavers")}


def codes_and_grades(text: str, day: str = "2021-10-27") -> set[tuple]:
    return {(j.authority, j.grade, j.scope)
            for j in tag_judgements("", text, tag_authorities("", text, day), day)}


def test_a_grade_put_before_councils_is_theirs_and_overall():
    text = ("Ofsted praised good-rated Gateshead council and found progress at 'inadequate' "
            "Surrey, Newham and Medway councils. It visited five 'inadequate' local "
            "authorities in all.")
    assert codes_and_grades(text) == {
        ("E08000037", "good", "overall"), ("E10000030", "inadequate", "overall"),
        ("E09000025", "inadequate", "overall"), ("E06000035", "inadequate", "overall")}
    leavers = "Support for care leavers at the inadequate council of Surrey earns Ofsted praise."
    assert codes_and_grades(leavers) == {("E10000030", "inadequate", "overall")}


def test_the_councils_a_grade_follows_and_ratings_received_for_scopes():
    text = ("Ofsted has rated West Berkshire council's children's services inadequate. It is "
            "the third council to be rated inadequate in a week, following Lambeth and "
            "Cumbria.")
    assert {c for c, _, _ in codes_and_grades(text, "2015-06-01")} == {
        "E06000037", "E09000022", "E10000006"}
    scopes = ("Ofsted inspected Darlington council: Good ratings were received for the impact "
              "of leaders and overall effectiveness; and an Outstanding rating for the "
              "experiences and progress of children in care and care leavers.")
    assert {(g, s) for _, g, s in codes_and_grades(scopes)} == {
        ("good", "leadership"), ("good", "overall"),
        ("outstanding", "children in care and care leavers")}


def test_a_list_of_the_frameworks_long_judgement_names_shares_its_grade():
    text = ("Ofsted inspected Darlington council. Good ratings were received for the impact of "
            "leaders on social work practice with children and families, the experiences and "
            "progress of children who need help and protection and overall effectiveness.")
    assert {(g, s) for _, g, s in codes_and_grades(text)} == {
        ("good", "leadership"), ("good", "help and protection"), ("good", "overall")}


def test_a_count_of_councils_is_the_councils_the_article_names():
    text = ("Ofsted inspectors have rated children's services at three councils as 'good'. "
            "Stockport council, Merton council and Central Bedfordshire council were visited "
            "in June.")
    assert {c for c, _, _ in codes_and_grades(text)} == {"E08000007", "E09000024",
                                                         "E06000056"}
    two = text.replace("three councils", "two councils")
    assert codes_and_grades(two) == set()  # which two? not the first by default


def test_the_name_of_an_old_inspection_is_not_a_scope():
    text = ("A notice followed an Ofsted inspection of safeguarding and looked-after "
            "children's services at Cumbria County Council, which judged the service to be "
            "inadequate.")
    assert codes_and_grades(text, "2012-09-01") == {("E10000006", "inadequate", "overall")}


def test_a_headlines_second_grade_is_not_a_second_overall_grade():
    title = "Ofsted finds Trafford's services are 'inadequate' and 'require improvement'"
    text = ("Ofsted has rated Trafford Council's children's services 'inadequate' for "
            "overall effectiveness. The services 'require improvement to be good' for "
            "children who need help and protection.")
    found = {(j.grade, j.scope) for j in tag_judgements(
        title, text, tag_authorities(title, text, "2019-05-08"), "2019-05-08")}
    assert found == {("inadequate", "overall"), ("requires improvement", "help and protection")}


def test_a_named_judgement_that_is_good_and_a_count_of_categories():
    text = ("Ofsted said Hull council's capacity to improve is good. Seven of 22 categories "
            "were rated good.")
    assert codes_and_grades(text, "2011-01-01") == {("E06000010", "good", "capacity to improve")}


def test_grades_of_unnamed_councils_are_nobodys_and_a_trusts_name_gives_way():
    text = ("Ofsted judged children's services in Doncaster council inadequate. Children's "
            "services in four local authority areas have been judged to be inadequate. Of the "
            "41 councils inspected, 10 have been rated 'good' or 'outstanding'.")
    assert codes_and_grades(text, "2008-12-18") == {("E08000017", "inadequate", "overall")}
    trio = ("Ofsted rated Westminster council's children's services outstanding. The third "
            "member of the Tri-borough, Hammersmith and Fulham, was rated good.")
    assert codes_and_grades(trio, "2016-03-29") == {("E09000033", "outstanding", "overall"),
                                                    ("E09000013", "good", "overall")}


def test_scopes_worded_at_length_and_overall_beside_the_grade():
    text = ("Ofsted rated Doncaster council as requiring improvement in three out of five "
            "inspected areas – children being looked after and achieving permanence, the "
            "experiences of care leavers and leadership, management and governance.")
    assert {(g, s) for _, g, s in codes_and_grades(text)} == {
        ("requires improvement", "children in care"), ("requires improvement", "care leavers"),
        ("requires improvement", "leadership")}
    overall = ("Inspectors rated Cambridgeshire County Council as 'overall good' for its "
               "arrangements for children in care.")
    assert {(g, s) for _, g, s in codes_and_grades(overall)} == {("good", "overall")}


def test_features_boards_and_other_councils_are_not_the_councils_grades():
    text = ("Cheshire West and Chester Council's service has been rated 'good' with "
            "'outstanding' features by Ofsted. It was judged 'good' overall, 'good' for "
            "children who need help and protection. The Council is one of three to be judged "
            "'good', with only one other council achieving two 'outstanding' judgements. No "
            "authority has been judged 'outstanding' overall since 2013. Ofsted also rated the "
            "Local Safeguarding Children Board as 'good'.")
    assert codes_and_grades(text, "2016-02-22") == {
        ("E06000050", "good", "overall"), ("E06000050", "good", "help and protection")}


def test_welsh_grades_future_grades_and_outstanding_issues_are_not_ofsteds():
    wales = ("Inspectors still rate Wrexham Council's children's social services as "
             "inadequate.")
    assert codes_and_grades(wales) == set()
    text = ("Ofsted rated Slough council's children's services 'requires improvement', with "
            "recommendations to help it become 'good' in the future. Some outstanding issues "
            "remain, inspectors said.")
    assert codes_and_grades(text) == {("E06000039", "requires improvement", "overall")}


def test_a_grade_word_before_a_noun_describes_and_lists_join_by_semicolon_and_joins():
    text = ("Ofsted rated Lambeth council 'requires improvement'. The front door was found to "
            "be effective, backed by good oversight by managers.")
    assert codes_and_grades(text) == {("E09000022", "requires improvement", "overall")}
    listed = ("The councils judged 'inadequate' in this latest report are: Birmingham; "
              "Coventry; Slough.")
    assert {c for c, _, _ in codes_and_grades(listed, "2015-03-01")} == {
        "E08000025", "E08000026", "E06000039"}
    joins = ("Warwickshire council joins Newcastle council in moving from 'requires "
             "improvement' to 'good', Ofsted said.")
    assert {(c, g) for c, g, _ in codes_and_grades(joins, "2022-02-04")} == {
        ("E10000031", "requires improvement"), ("E10000031", "good"),
        ("E08000021", "requires improvement"), ("E08000021", "good")}


def test_the_service_is_the_articles_council_and_unnamed_areas_give_no_scope():
    text = ("Somerset County Council's children's services get more staff. In March, Ofsted "
            "rated the service as inadequate and the county council was told to work with "
            "Essex County Council to improve.")
    assert codes_and_grades(text, "2015-05-01") == {("E10000027", "inadequate", "overall")}
    areas = "Ofsted found Somerset County Council's services inadequate in two specific areas."
    assert codes_and_grades(areas, "2015-05-01") == set()
    before = ("In two specific areas Ofsted found Somerset County Council's services to be "
              "'inadequate'.")
    assert codes_and_grades(before, "2015-05-01") == set()
    worded = "Ofsted found services protecting children in Doncaster council remained inadequate."
    assert codes_and_grades(worded) == {("E08000017", "inadequate", "help and protection")}


def test_settings_in_the_plural_are_settings():
    text = ("Ofsted inspected 39 settings in Somerset: a fifth of schools inspected were "
            "judged requires improvement and two children's homes were judged inadequate.")
    assert codes_and_grades(text, "2014-11-01") == set()


def test_tags_read_back_from_their_stored_form():
    from sectorwatch.config import load_config
    from sectorwatch.tag import Tagger, Tags

    tags = Tagger.from_config(load_config(None)).tag(
        "Kent rated inadequate", "Ofsted rated Kent County Council's children's services "
        "inadequate. Foster carers and social workers were interviewed.", "2024-01-01")
    assert tags.judgements and tags.topics and tags.authorities
    assert Tags.from_dict(tags.as_dict(explain=True)) == tags
    stored = Tags.from_dict(tags.as_dict())  # as the store keeps them: no evidence
    assert [j.key for j in stored.judgements] == [j.key for j in tags.judgements]
    old = {"authorities": [{k: v for k, v in a.items() if k != "district_level"}
                           for a in tags.as_dict()["authorities"]],
           "judgements": [{"authority": "E10000016", "grade": "good", "scope": "overall",
                           "kind": "full inspection", "date": None, "later": 1}]}
    read = Tags.from_dict(old)  # a row from an older version: missing and unknown fields
    assert read.authorities[0].district_level is False and read.topics == ()
    assert read.judgements[0].past is False
