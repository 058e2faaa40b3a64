"""Articles from JSON lines, for grouping outside the store (``sectorwatch group``, the
grouping benchmark): read and checked here, tagged as the pipeline tags them, turned into
the items story grouping works on.

One JSON object per line: ``id``, ``title``, ``text`` (required, strings), ``url``,
``source`` and ``published`` (optional; ``YYYY-MM-DD``, an ISO datetime, ``YYYY-MM`` or
``YYYY``). An article without a date is undated: grouping holds it to no time window.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sectorwatch.digest.stories import Item, events_of
from sectorwatch.tag import Tagger

MAX_TEXT = 200_000
"""Characters of an article's text kept: a giant page is cut, not refused."""


class RecordError(ValueError):
    """A line that is not an article: its number and what is wrong."""

    def __init__(self, line: int, message: str):
        super().__init__(f"line {line}: {message}")
        self.line = line


@dataclass(frozen=True)
class Record:
    id: str
    title: str
    text: str
    url: str = ""
    source: str = ""
    published: datetime | None = None


def read_records(lines: Iterable[str]) -> list[Record]:
    """Records from JSON lines; blank lines are skipped. Raises RecordError for the first
    bad line (not JSON, not an object, a missing or mistyped field, a repeated id)."""
    out: list[Record] = []
    seen: set[str] = set()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as e:
            raise RecordError(number, f"not JSON ({e.msg} at column {e.colno})") from None
        if not isinstance(data, dict):
            raise RecordError(number, "expected a JSON object with id, title and text")
        for key in ("id", "title", "text"):
            if key not in data:
                raise RecordError(number, f"missing {key!r}")
        ident = data["id"]
        if isinstance(ident, bool) or not isinstance(ident, (str, int)):
            raise RecordError(number, "'id' must be a string or a number")
        for key in ("title", "text", "url", "source"):
            if data.get(key) is not None and not isinstance(data[key], str):
                raise RecordError(number, f"{key!r} must be a string")
        ident = str(ident)
        if ident in seen:
            raise RecordError(number, f"id {ident!r} appears twice")
        seen.add(ident)
        try:
            published = parse_published(data.get("published"))
        except ValueError as e:
            raise RecordError(number, f"'published': {e}") from None
        out.append(Record(ident, data["title"] or "", (data["text"] or "")[:MAX_TEXT],
                          data.get("url") or "", data.get("source") or "", published))
    return out


def parse_published(value) -> datetime | None:
    """A date as JSON gives it: None, or an ISO date/datetime, YYYY-MM or YYYY (taken at
    the middle of that month or year); naive times are UTC."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"expected a date string such as 2024-06-01, not {value!r}")
    text = value.strip()
    try:
        if re.fullmatch(r"\d{4}", text):
            day = datetime(int(text), 7, 1)
        elif re.fullmatch(r"\d{4}-\d{2}", text):
            day = datetime.strptime(text, "%Y-%m") + timedelta(days=14)
        else:
            day = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"not a date: {value!r} (use YYYY-MM-DD, YYYY-MM or YYYY)") from None
    return day if day.tzinfo else day.replace(tzinfo=UTC)


def items_for(records: list[Record], tagger: Tagger,
              same_day: datetime | None = None) -> list[Item]:
    """Items to group, tagged as the pipeline tags articles. ``same_day`` dates every
    article that day (as if all arrived in one week), whatever its own date."""
    latest = max((r.published for r in records if r.published), default=None)
    items = []
    for k, record in enumerate(records):
        when, has_date = same_day, True
        if when is None:
            when = record.published
            has_date = when is not None
            when = when or latest or datetime(2000, 1, 1, tzinfo=UTC)
        day = when.date().isoformat() if has_date else None
        tags = tagger.tag(record.title, record.text, day)
        words = len(record.text.split())
        items.append(Item(
            k, record.source, record.title, record.text, when,
            frozenset(a.code for a in tags.authorities if a.role == "primary"),
            word_count=words, url=record.url, source_name=record.source,
            dated=has_date, events=events_of(tags.judgements),
            authorities=frozenset(a.code for a in tags.authorities)))
    return items
