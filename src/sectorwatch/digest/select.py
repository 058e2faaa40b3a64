"""What one subscriber's digest holds: the week's stories that match their filters, in
sections, with the week's Ofsted judgements in an Authority watch block. Pure functions.

A story matches when it is about a followed place (an authority they follow, or one in a
region they follow) and, if they follow topics, about one of those topics; no filters at
all means everything. Within a section, stories with a judgement come first, then those
about a named authority, then the newest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sectorwatch.digest.stories import Story
from sectorwatch.digest.subscribers import Filters
from sectorwatch.tag.authorities import gazetteer

LONDON = ZoneInfo("Europe/London")
OTHER = "other"  # the section for stories with no topic


@dataclass(frozen=True)
class Tagged:
    """A story with what its articles were tagged with (the union over its tellings)."""

    story: Story
    authorities: frozenset[str] = frozenset()
    primary: frozenset[str] = frozenset()
    regions: frozenset[str] = frozenset()
    topics: tuple[str, ...] = ()
    """Topic slugs, strongest first."""
    judgements: tuple[dict, ...] = ()


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    stories: tuple[Tagged, ...]
    more: int = 0
    """Matching stories left out by the section's cap ("and N more")."""


@dataclass(frozen=True)
class Selection:
    start: datetime
    end: datetime
    sections: tuple[Section, ...]
    watch: tuple[dict, ...] = field(default=())
    """The week's judgement events on followed places, for the Authority watch block."""

    @property
    def empty(self) -> bool:
        return not any(s.stories for s in self.sections) and not self.watch

    @property
    def count(self) -> int:
        return sum(len(s.stories) + s.more for s in self.sections)


def week_before(send_at: datetime, days: int = 7) -> tuple[datetime, datetime]:
    """The window a digest sent at ``send_at`` covers: the ``days`` before it, counted in
    London wall-clock time (so a Monday 08:00 issue starts at the previous Monday 08:00,
    across a clock change too)."""
    local = send_at.astimezone(LONDON)
    start = (local.replace(tzinfo=None) - timedelta(days=days)).replace(tzinfo=LONDON)
    return start, local


def matches(entry: Tagged, filters: Filters) -> bool:
    places = bool(filters.authorities or filters.regions)
    if places and not (entry.authorities & set(filters.authorities)
                       or entry.regions & set(filters.regions)):
        return False
    return not filters.topics or bool(set(entry.topics) & set(filters.topics))


def select(entries: Sequence[Tagged], filters: Filters, start: datetime, end: datetime,
           topic_order: Sequence[tuple[str, str]], cap: int = 8) -> Selection:
    """Sections in ``topic_order`` ((slug, label) pairs), each story in the section of its
    strongest topic the subscriber follows (or its strongest topic)."""
    chosen = [e for e in entries if start <= e.story.lead.published < end and matches(e, filters)]
    labels = dict(topic_order)
    buckets: dict[str, list[Tagged]] = {}
    for entry in chosen:
        followed = [t for t in entry.topics if not filters.topics or t in filters.topics]
        key = followed[0] if followed else (entry.topics[0] if entry.topics else OTHER)
        buckets.setdefault(key if key in labels else OTHER, []).append(entry)
    sections = []
    for key in [*labels, OTHER]:
        items = sorted(buckets.get(key, []), key=_rank)
        if items:
            sections.append(Section(key, labels.get(key, "Other news"), tuple(items[:cap]),
                                    max(0, len(items) - cap)))
    return Selection(start, end, tuple(sections), _watch(chosen, filters))


def _watch(chosen: Sequence[Tagged], filters: Filters) -> tuple[dict, ...]:
    """Each judgement event once, on followed places only (all of them with no filters)."""
    authorities = gazetteer().authorities
    everywhere = not (filters.authorities or filters.regions)
    seen: dict[tuple, dict] = {}
    for entry in chosen:
        for event in entry.judgements:
            code = event.get("authority")
            region = authorities.get(code, {}).get("region")
            if everywhere or code in filters.authorities or region in filters.regions:
                seen.setdefault((code, event.get("grade"), event.get("scope"),
                                 event.get("kind")), event)
    return tuple(seen.values())


def _rank(entry: Tagged) -> tuple:
    return (not entry.judgements, not entry.primary, -entry.story.lead.published.timestamp())
