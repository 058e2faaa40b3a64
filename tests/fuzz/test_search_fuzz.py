"""Search queries made of the operators of both databases' own languages: each is refused
with a hint or spelled so that SQLite's FTS5 runs it (never a database error); a snippet
of any text, with the markers anywhere, becomes balanced, escaped HTML."""

from __future__ import annotations

import re
import sqlite3

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sectorwatch.store.highlight import START, STOP, to_html
from sectorwatch.store.query import QueryError, parse, to_fts5, to_tsquery

PIECES = st.lists(st.sampled_from(
    [*"ab \"-*()':^&|!<>\\+{}.,", "OR", "or", "AND", "NOT", "NEAR", "the", "kent", "care",
     "fostering", "<->", "title:", "é", "ß", "١", "_", "\u202e", "\x00", START, STOP]),
    max_size=30).map("".join)


@pytest.fixture(scope="module")
def fts():
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE f USING fts5(title, text, "
                 "tokenize='porter unicode61 remove_diacritics 2')")
    conn.execute("INSERT INTO f VALUES ('Kent care', 'fostering in Kent ab')")
    yield conn
    conn.close()


@given(PIECES)
def test_a_query_is_refused_with_a_hint_or_runs(fts, text):
    try:
        query = parse(text)
    except QueryError as exc:
        assert exc.hint
        return
    fts.execute("SELECT rowid FROM f WHERE f MATCH ?", (to_fts5(query),)).fetchall()
    # every lexeme quoted, joined only by the operators spelled here
    spelled = re.sub(r"'(?:[^']|'')*'(:\*)?", "x", to_tsquery(query))
    assert set(spelled) <= set("x&|!()<-> ")


@given(PIECES)
def test_a_snippet_is_escaped_and_its_marks_balanced(text):
    html = to_html(text)
    bare = html.replace("<mark>", "").replace("</mark>", "")
    assert "<" not in bare and ">" not in bare and "\x00" not in bare
    assert re.fullmatch(r"([^<]|<mark>[^<]*</mark>)*", html)
