"""Articles read from JSON lines for `sectorwatch group`: checked line by line, dated or
not, tagged as the pipeline tags them."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from sectorwatch.config import load_config
from sectorwatch.digest.records import (
    MAX_TEXT,
    RecordError,
    items_for,
    parse_published,
    read_records,
)
from sectorwatch.tag import Tagger

GOOD = {"id": "a1", "title": "Sandwell rated good", "text": "Ofsted rated Sandwell council's "
        "children's services good.", "published": "2024-06-03"}


def line(**fields) -> str:
    return json.dumps({**GOOD, **fields})


@pytest.mark.parametrize(("text", "message"), [
    ("{not json", "line 2: not JSON"),
    ("[1, 2]", "line 2: expected a JSON object"),
    (json.dumps({"id": "b", "title": "t"}), "line 2: missing 'text'"),
    (line(id="b", text=5), "line 2: 'text' must be a string"),
    (line(id=True), "line 2: 'id' must be a string or a number"),
    (line(), "line 2: id 'a1' appears twice"),
    (line(id="b", published="last Tuesday"), "line 2: 'published': not a date"),
])
def test_a_bad_line_is_named_with_what_is_wrong(text, message):
    with pytest.raises(RecordError) as info:
        read_records([line(), text])
    assert str(info.value).startswith(message)
    assert info.value.line == 2


def test_blank_lines_are_skipped_and_giant_texts_cut():
    records = read_records(["", line(text="x" * (MAX_TEXT + 10)), "   ", line(id=7)])
    assert [r.id for r in records] == ["a1", "7"]
    assert len(records[0].text) == MAX_TEXT


def test_dates_of_every_precision():
    assert parse_published(None) is None
    assert parse_published("2024-06-03") == datetime(2024, 6, 3, tzinfo=UTC)
    assert parse_published("2024-06") == datetime(2024, 6, 15, tzinfo=UTC)
    assert parse_published("2024") == datetime(2024, 7, 1, tzinfo=UTC)
    assert parse_published("2024-06-03T10:00:00+01:00").utcoffset().seconds == 3600


def test_items_are_tagged_dated_or_undated_or_all_on_one_day():
    tagger = Tagger.from_config(load_config(None))
    records = read_records([line(), line(id="b", published=None)])
    dated, undated = items_for(records, tagger)
    assert dated.dated and not undated.dated
    assert dated.primary == frozenset({"E08000028"})
    assert dated.events == ("E08000028|good|full inspection",)
    week = datetime(2026, 11, 23, tzinfo=UTC)
    assert {i.published for i in items_for(records, tagger, week)} == {week}
