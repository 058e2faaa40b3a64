"""What one subscriber's digest holds: the week's stories that match their filters, in
sections (by topic or by region), with the week's Ofsted judgements in an Authority watch
block. Pure functions.

A story matches when it is about a followed place (an authority they follow, or one in a
region they follow) and, if they follow topics, about one of those topics; no filters at
all means everything. Within a section, stories with a judgement come first, then those
about a named authority, then the newest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from sectorwatch import gazetteer
from sectorwatch.digest.stories import Story
from sectorwatch.models import Filters

LONDON = ZoneInfo("Europe/London")
OTHER = "other"  # the section for stories with no topic
NATIONAL = "national"  # the section, by region, for stories about no one place
LABELS = {OTHER: "Other news", NATIONAL: "National and sector-wide"}


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

    @property
    def signature(self) -> tuple:
        """Equal for two selections that render the same (so one rendering serves both)."""
        return (tuple((s.key, tuple(e.story.lead.id for e in s.stories), s.more)
                      for s in self.sections),
                tuple((j.get("authority"), j.get("grade"), j.get("scope"), j.get("kind"),
                       j.get("date")) for j in self.watch))


def week_before(send_at: datetime, days: int = 7, zone: tzinfo = LONDON
                ) -> tuple[datetime, datetime]:
    """The window a digest sent at ``send_at`` covers: the ``days`` before it, counted in
    the schedule's wall-clock time (so a Monday 08:00 issue starts at the previous Monday
    08:00, across a clock change too)."""
    local = send_at.astimezone(zone)
    start = (local.replace(tzinfo=None) - timedelta(days=days)).replace(tzinfo=zone)
    return start, local


def matches(entry: Tagged, filters: Filters) -> bool:
    places = bool(filters.authorities or filters.regions)
    if places and not (entry.authorities & set(filters.authorities)
                       or entry.regions & set(filters.regions)):
        return False
    return not filters.topics or bool(set(entry.topics) & set(filters.topics))


def section_order(by: str, topics: Sequence[tuple[str, str]],
                  first: Sequence[str] = ()) -> list[tuple[str, str]]:
    """(key, label) of every section in display order: those named in ``first``, then the
    rest (topics in taxonomy order, regions alphabetically), then the catch-all."""
    if by == "region":
        pairs = [(r, r) for r in gazetteer.region_names()] + [(NATIONAL, LABELS[NATIONAL])]
    else:
        pairs = [*topics, (OTHER, LABELS[OTHER])]
    rank = {key: k for k, key in enumerate(first)}
    return sorted(pairs, key=lambda p: rank.get(p[0], len(rank)))


def select(entries: Sequence[Tagged], filters: Filters, start: datetime, end: datetime,
           sections: Sequence[tuple[str, str]], cap: int = 8, by: str = "topic"
           ) -> Selection:
    """The stories that match, in ``sections`` ((key, label) pairs in display order; see
    section_order). By topic, each story sits in its strongest topic the subscriber
    follows (or its strongest topic); by region, in the region of the authority it is
    about that the subscriber follows (or its first), or in National when about none."""
    chosen = [e for e in entries if start <= e.story.lead.published < end and matches(e, filters)]
    labels = dict(sections)
    fallback = NATIONAL if by == "region" else OTHER
    buckets: dict[str, list[Tagged]] = {}
    for entry in chosen:
        key = _region_key(entry, filters) if by == "region" else _topic_key(entry, filters)
        buckets.setdefault(key if key in labels else fallback, []).append(entry)
    out = []
    for key, label in sections:
        items = sorted(buckets.get(key, []), key=_rank)
        if items:
            out.append(Section(key, label, tuple(items[:cap]), max(0, len(items) - cap)))
    return Selection(start, end, tuple(out), _watch(chosen, filters))


def _topic_key(entry: Tagged, filters: Filters) -> str:
    followed = [t for t in entry.topics if not filters.topics or t in filters.topics]
    return followed[0] if followed else (entry.topics[0] if entry.topics else OTHER)


def _region_key(entry: Tagged, filters: Filters) -> str:
    about = [(code, region) for code in sorted(entry.primary) or sorted(entry.authorities)
             if (region := gazetteer.region_of(code))]
    followed = [r for code, r in about if r in filters.regions or code in filters.authorities]
    return (followed or [r for _, r in about] or [NATIONAL])[0]


def _watch(chosen: Sequence[Tagged], filters: Filters) -> tuple[dict, ...]:
    """Each judgement event once, on followed places only (all of them with no filters)."""
    everywhere = not (filters.authorities or filters.regions)
    seen: dict[tuple, dict] = {}
    for entry in chosen:
        for event in entry.judgements:
            code = event.get("authority")
            if not code:  # a national or thematic report: no authority's judgement
                continue
            region = gazetteer.region_of(code)
            if everywhere or code in filters.authorities or region in filters.regions:
                seen.setdefault((code, event.get("grade"), event.get("scope"),
                                 event.get("kind")), event)
    return tuple(seen.values())


def _rank(entry: Tagged) -> tuple:
    return (not entry.judgements, not entry.primary, -entry.story.lead.published.timestamp())
