"""The search query language (parsed in Python, spelled for FTS5 and to_tsquery) and the
marking of snippets: pure functions, no database."""

from __future__ import annotations

import pytest

from sectorwatch.errors import SectorwatchError
from sectorwatch.store.highlight import START, STOP, segments, to_html, to_text
from sectorwatch.store.query import MAX_LENGTH, Query, QueryError, Term, parse, to_fts5, to_tsquery


def spelled(text: str) -> tuple[str, str]:
    query = parse(text)
    return to_fts5(query), to_tsquery(query)


def test_words_must_all_match():
    query = parse("Fostering  Allowances")
    assert query == Query(((Term(("fostering",)),), (Term(("allowances",)),)), (),
                          "Fostering Allowances")
    assert spelled("fostering allowances") == ('"fostering" AND "allowances"',
                                               "'fostering' & 'allowances'")


def test_phrases_or_exclusions_and_prefixes():
    assert spelled('"care leavers" adoption OR fostering -kent safeguard*') == (
        '("care leavers" AND ("adoption" OR "fostering") AND "safeguard"*) NOT "kent"',
        "('care' <-> 'leavers') & ('adoption' | 'fostering') & 'safeguard':* & !'kent'")
    # OR chains; an excluded phrase; a prefix at a phrase's end
    assert spelled('ofsted OR dfe OR lga -"local paper" "step dow"*') == (
        '(("ofsted" OR "dfe" OR "lga") AND "step dow"*) NOT "local paper"',
        "('ofsted' | 'dfe' | 'lga') & ('step' <-> 'dow':*) & !('local' <-> 'paper')")


def test_words_with_inner_punctuation_are_phrases_of_their_parts():
    query = parse("children's step-down e-mail_list")
    assert [t.words for t in query.terms] == [("children", "s"), ("step", "down"),
                                              ("e", "mail", "list")]
    assert to_tsquery(parse("step-down")) == "('step' <-> 'down')"


def test_lowercase_or_is_a_word_and_common_words_are_left_out():
    assert [t.words for t in parse("the council or the board").terms] == [
        ("council",), ("board",)]
    assert parse("kent OR the").clauses == ((Term(("kent",)),),)
    assert parse("fostering -the").excluded == ()
    # a phrase keeps its common words (FTS5 needs them in place; PostgreSQL skips them)
    assert parse('"care of children"').terms == (Term(("care", "of", "children")),)


def test_what_the_databases_would_read_as_operators_is_quoted():
    for text, words in [('NEAR(kent leeds)', [("near", "kent"), ("leeds",)]),
                        ("title:kent", [("title", "kent")]),
                        ("^kent AND leeds", [("kent",), ("leeds",)]),
                        ("kent's & leeds | !wigan <-> 'x'", [("kent", "s"), ("leeds",),
                                                             ("wigan",), ("x",)]),
                        ('kent"leeds"', [("kent",), ("leeds",)]),
                        ("\\'kent' -- 1=1", [("kent",), ("1", "1")])]:
        query = parse(text)
        assert [t.words for t in query.terms] == words, text
        fts5, tsquery = to_fts5(query), to_tsquery(query)
        assert "NEAR" not in fts5 and ":" not in fts5 and "^" not in fts5
        assert "\\" not in tsquery and "!" not in tsquery


@pytest.mark.parametrize("text, message, hint", [
    ('fostering "care leavers', "a quote is not closed", '"care leavers"'),
    ("-kent", "not only words to leave out", "fostering -kent"),
    ('-kent -"care leavers"', "not only words to leave out", "fostering -kent"),
    ("", "nothing to search for", '"quoted phrase"'),
    ("   ", "nothing to search for", '"quoted phrase"'),
    ('!!! "" ...', "nothing to search for", '"quoted phrase"'),
    ("the and of", '"the", "and" and "of" are too common', '"quoted phrase"'),
    ("OR kent", "OR needs a word or phrase on each side", "adoption OR fostering"),
    ("kent OR", "OR needs a word or phrase on each side", "adoption OR fostering"),
    ("kent OR OR leeds", "OR needs a word or phrase on each side", "adoption OR fostering"),
    ("kent OR -leeds", "cannot be one side of OR", "adoption OR fostering -kent"),
    ("fo*", "too short a prefix", "safeguard*"),
    ("x" * (MAX_LENGTH + 1), "too long (301 characters; at most 300)", "a few"),
])
def test_what_cannot_run_is_refused_with_a_hint(text, message, hint):
    with pytest.raises(QueryError) as info:
        parse(text)
    assert isinstance(info.value, SectorwatchError) and info.value.stage == "search"
    assert message in info.value.message and hint in (info.value.hint or "")


def test_the_longest_query_allowed_runs_and_whitespace_does_not_count():
    assert parse("x" * MAX_LENGTH).terms == (Term(("x" * MAX_LENGTH,)),)
    assert parse("kent" + " " * 500 + "leeds").text == "kent leeds"


def test_snippets_are_escaped_then_marked():
    raw = (f"The council said <script>alert(1)</script> {START}fostering{STOP} & "
           f"{START}allowances{STOP} would\n\nrise.")
    html = to_html(raw)
    assert html == ("The council said &lt;script&gt;alert(1)&lt;/script&gt; "
                    "<mark>fostering</mark> &amp; <mark>allowances</mark> would rise.")
    assert to_text(raw) == "The council said <script>alert(1)</script> fostering & " \
                           "allowances would rise."


def test_markers_out_of_turn_never_nest_or_stay_open():
    # the article carried the private characters itself: stray ones are dropped
    raw = f"{STOP}a {START}b {START}c{STOP} d{STOP} {START}e"
    assert segments(raw) == [("a ", False), ("b c", True), (" d ", False), ("e", True)]
    html = to_html(raw)
    assert html.count("<mark>") == html.count("</mark>") == 2
    assert to_html(f"x\u202e{START}y{STOP}\x00z") == "x <mark>y</mark> z"  # bidi, NUL
    assert to_html("") == "" and to_text(f"{START}{STOP}") == ""
