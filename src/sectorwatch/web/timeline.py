"""An authority's Ofsted timeline from the judgement tags of the articles that reported
it. Pure.

Several articles often report one event (a judgement, then the follow-up coverage; two
outlets on the same monitoring visit), so events are merged by kind and month: the month
the article gives for the event, else the month it was reported. Grades by scope are
gathered into the one event; each event keeps the articles it was read from.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sectorwatch.digest.render import clean_header_text, month_name, safe_url
from sectorwatch.digest.select import LONDON
from sectorwatch.store.records import ArticleRef
from sectorwatch.tag.judgements import Judgement

GRADE_ORDER = ("outstanding", "good", "requires improvement", "inadequate")


@dataclass(frozen=True)
class Reported:
    title: str
    url: str | None
    source: str
    on: datetime


@dataclass
class Event:
    month: str
    """YYYY-MM."""
    kind: str
    dated: bool
    """True when an article gave the event's month; False when it is the month reported."""
    grades: dict[str, str] = field(default_factory=dict)
    """scope → grade ('overall', 'care leavers', …)."""
    reports: list[Reported] = field(default_factory=list)

    @property
    def label(self) -> str:
        return month_name(self.month) or self.month

    @property
    def overall(self) -> str | None:
        return self.grades.get("overall")

    @property
    def other_grades(self) -> list[tuple[str, str]]:
        return [(scope, grade) for scope, grade in self.grades.items() if scope != "overall"]


def build_timeline(rows: Iterable[tuple[ArticleRef, Judgement]], source_names: dict[str, str]
                   ) -> list[Event]:
    """Events newest first from (article row, judgement) pairs as ``Store.judgements``
    gives them. A judgement with neither its own month nor an article date is left out."""
    events: dict[tuple[str, str], Event] = {}
    seen: set[tuple[str, str, str | None, str]] = set()  # (kind, month, url, title) reported
    for row, judgement in rows:
        reported_on = row.published_at or row.first_seen_at
        month = judgement.date
        dated = bool(month)
        if judgement.past and not dated:
            continue  # an earlier grade recalled without its month: when is unknown
        if not month:
            if reported_on is None:
                continue
            month = reported_on.astimezone(LONDON).strftime("%Y-%m")
        kind = judgement.kind or "inspection"
        event = events.get((kind, month))
        if event is None:
            event = events[(kind, month)] = Event(month, kind, dated)
        event.dated = event.dated or dated
        scope, grade = judgement.scope or "overall", judgement.grade
        if grade and scope not in event.grades:
            event.grades[scope] = grade
        title, url = clean_header_text(row.title, 300), safe_url(row.url)
        if (kind, month, url, title) not in seen:  # one report per article and event
            seen.add((kind, month, url, title))
            event.reports.append(Reported(
                title, url,
                clean_header_text(source_names.get(row.source_id, row.source_id), 80),
                reported_on))
    return sorted(events.values(), key=lambda e: (e.month, e.kind), reverse=True)


def latest_grade(events: list[Event]) -> Event | None:
    """The newest event with an overall grade (a full inspection's judgement)."""
    return next((e for e in events if e.overall), None)
