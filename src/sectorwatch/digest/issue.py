"""What goes in one issue of the digest: its name and slot, the week's stories, each
reader's selection and rendering, and a dry run of who would get what.

An issue is named by its ISO week in the schedule's zone and goes out on the schedule's
digest slot in that week (Monday 08:00 Europe/London by default). Renderings are shared:
subscribers whose filters select the same stories get one rendering, personalised with
their name and token.
"""

from __future__ import annotations

import html
import re
from collections import Counter, OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from sectorwatch import gazetteer
from sectorwatch.config import Config, ScheduleSettings
from sectorwatch.digest import snapshot
from sectorwatch.digest.message import manage_url, unsubscribe_url
from sectorwatch.digest.render import Rendered, clean_header_text, environment, render
from sectorwatch.digest.select import LONDON, Selection, Tagged, section_order, select, week_before
from sectorwatch.digest.stories import Item, events_of, group_stories
from sectorwatch.models import Filters
from sectorwatch.store import Store
from sectorwatch.tag import Tags
from sectorwatch.tokens import Signer

BACKGROUND = 1000  # stored articles outside the week that calibrate how rare a word is
SELECTION_CACHE = 4096  # selections kept, per distinct filters
RENDER_CACHE = 256  # renderings kept, per distinct selection
# placeholders: plain ASCII, survive escaping
NAME, MANAGE, UNSUBSCRIBE = "SWxNAMEx9q", "SWxMANAGEx9q", "SWxUNSUBx9q"


def digest_trigger(settings: ScheduleSettings) -> CronTrigger:
    """The digest's cron trigger, with the zone on the trigger itself (a bare CronTrigger
    would use the host's zone, whatever the scheduler's)."""
    return CronTrigger(**settings.digest, timezone=ZoneInfo(settings.timezone))


def zone_of(config: Config) -> tzinfo:
    """The zone the digest's weeks and slot are read in."""
    return ZoneInfo(config.schedule.timezone)


def issue_key(send_at: datetime, zone: tzinfo = LONDON) -> str:
    """An issue is named by its ISO week in the schedule's zone: 2026-W48."""
    year, week, _ = send_at.astimezone(zone).isocalendar()
    return f"{year}-W{week:02d}"


def issue_send_at(week: str, schedule: ScheduleSettings | None = None) -> datetime:
    """When the issue of an ISO week such as 2026-W48 goes out: the schedule's first
    digest slot in that week (Monday 08:00 London by default). ValueError if ``week`` is
    not an ISO week, or the schedule has no slot in it."""
    if not re.fullmatch(r"\d{4}-W\d{2}", week):
        raise ValueError(f"not an ISO week: {week!r} (e.g. 2026-W48)")
    schedule = schedule or ScheduleSettings()
    zone = ZoneInfo(schedule.timezone)
    try:
        monday = datetime.strptime(f"{week}-1", "%G-W%V-%u").replace(tzinfo=zone)
    except ValueError:
        raise ValueError(f"not an ISO week: {week!r} (e.g. 2026-W48)") from None
    slot = digest_trigger(schedule).get_next_fire_time(None, monday)
    if slot is None or issue_key(slot, zone) != week:
        raise ValueError(f"the digest schedule ({schedule.digest}) has no slot in {week}")
    return slot.astimezone(zone)


@dataclass(frozen=True)
class Links:
    """One reader's signed link tokens."""

    manage: str
    unsubscribe: str

    @classmethod
    def for_key(cls, signer: Signer, key: str) -> Links:
        return cls(signer.sign("manage", key), signer.sign("unsubscribe", key))


def personalise(rendered: Rendered, name: str, links: Links) -> Rendered:
    """A shared rendering made one reader's: their name (escaped for HTML) and links."""
    safe_name = clean_header_text(name, 80)

    def fill(body: str, shown_name: str) -> str:
        return (body.replace(NAME, shown_name).replace(MANAGE, links.manage)
                .replace(UNSUBSCRIBE, links.unsubscribe))

    return replace(rendered, html=fill(rendered.html, html.escape(safe_name)),
                   text=fill(rendered.text, safe_name))


def week_entries(config: Config, store: Store, start: datetime, end: datetime
                 ) -> list[Tagged]:
    """The week's articles as stories, each with the union of its tellings' tags."""
    sources = {s.id: s for s in config.sources}
    regions = {code: a.region for code, a in gazetteer.authorities().items()}
    items: list[Item] = []
    tags: dict[int, Tags] = {}
    for row in store.articles(since=start, until=end, limit=None, with_tags=True):
        t = row.tags or Tags()
        if not start <= row.when < end:
            continue
        source = sources.get(row.source_id)
        if source is not None and source.relevance_filter and not t.topics:
            continue  # a general outlet's story with no sector topic: roadworks, cricket
        tags[row.id] = t
        items.append(Item(
            row.id, row.source_id, row.title, row.text, row.when,
            frozenset(a.code for a in t.authorities if a.role == "primary"),
            truncated=bool(row.truncated), official=bool(source and source.type == "govuk"),
            word_count=row.word_count, url=row.url, lead=row.lead or "",
            source_name=source.label if source else row.source_id,
            events=events_of(t.judgements),
            authorities=frozenset(a.code for a in t.authorities)))
    background = [f"{r.title} {r.title} {r.text}" for r in store.articles(limit=BACKGROUND)
                  if not start <= r.when < end]
    entries = []
    for story in group_stories(items, background=background):
        all_tags = [tags[i.id] for i in story.items]
        codes = frozenset(a.code for t in all_tags for a in t.authorities)
        scores: dict[str, float] = {}
        for t in all_tags:
            for topic in t.topics:
                scores[topic.slug] = max(scores.get(topic.slug, 0), topic.score)
        # an earlier grade recalled is not the week's news
        judgements = {j.key: j for t in all_tags for j in t.judgements if not j.past}
        entries.append(Tagged(
            story, codes, frozenset(c for i in story.items for c in i.primary),
            frozenset(regions[c] for c in codes if c in regions),
            tuple(sorted(scores, key=scores.__getitem__, reverse=True)),
            tuple(j.as_dict() for j in judgements.values())))
    return entries


def issue_entries(config: Config, store: Store, send_at: datetime) -> list[Tagged]:
    """The issue's stories: as frozen when it was first sent, else the week's as they
    stand (a preview or a dry run freezes nothing)."""
    zone = zone_of(config)
    row = store.issue(issue_key(send_at, zone))
    if row is not None:
        return snapshot.loads(row.stories)
    return week_entries(config, store, *week_before(send_at, zone=zone))


class IssueRenderer:
    """Selects and renders one issue for many subscribers, sharing the work: a selection
    per distinct set of filters, a rendering per distinct selection."""

    def __init__(self, config: Config, entries: Sequence[Tagged], send_at: datetime,
                 signer: Signer):
        settings = config.digest
        self.config = config
        self.signer = signer
        self.settings = settings
        self.entries = entries
        self.send_at = send_at
        self.start, self.end = week_before(send_at, zone=zone_of(config))
        self.sections = section_order(settings.sections,
                                      [(t.slug, t.label) for t in config.topics],
                                      settings.section_order)
        self.env = environment(Path(settings.templates_dir) if settings.templates_dir
                               else None)
        self.views: dict[int, dict] = {}
        self._selections: OrderedDict[Filters, Selection] = OrderedDict()
        self._renders: OrderedDict[tuple, Rendered] = OrderedDict()

    def selection(self, filters: Filters) -> Selection:
        found = _lru_get(self._selections, filters)
        if found is None:
            found = select(self.entries, filters, self.start, self.end, self.sections,
                           self.settings.section_cap, self.settings.sections)
            _lru_put(self._selections, filters, found, SELECTION_CACHE)
        return found

    def links(self, key: str) -> Links:
        return Links.for_key(self.signer, key)

    def render(self, selection: Selection, name: str, token: str,
               links: Links | None = None) -> Rendered:
        """The digest for one reader (their name and signed links in place); ``token`` is
        the subscriber's stored key, signed here unless ``links`` are given."""
        key = (selection.signature, bool(name))
        shared = _lru_get(self._renders, key)
        if shared is None:
            shared = render(selection, name=NAME if name else "", issue_date=self.send_at,
                            manage_url=manage_url(self.settings, MANAGE),
                            unsubscribe_url=unsubscribe_url(self.settings, UNSUBSCRIBE),
                            env=self.env, views=self.views)
            _lru_put(self._renders, key, shared, RENDER_CACHE)
        return personalise(shared, name, links or self.links(token))


def _lru_get(cache: OrderedDict, key):
    found = cache.get(key)
    if found is not None:
        cache.move_to_end(key)
    return found


def _lru_put(cache: OrderedDict, key, value, limit: int) -> None:
    cache[key] = value
    if len(cache) > limit:
        cache.popitem(last=False)


def worth_sending(chosen: Selection, config: Config) -> bool:
    """A reader gets the issue unless nothing matched and empty issues are not sent."""
    return not chosen.empty or config.digest.send_empty


@dataclass(frozen=True)
class Reader:
    """What one active subscriber would get from an issue."""

    email: str
    stories: int
    """Stories their filters select (0 when nothing matched)."""
    sent: bool
    """False when nothing matched and empty issues are not sent."""


@dataclass(frozen=True)
class DryRun:
    """Who would get what from an issue, sending nothing."""

    issue: str
    stories: int
    """Stories in the issue, for everyone."""
    already_sent: int
    readers: tuple[Reader, ...]


def dry_run(config: Config, store: Store, send_at: datetime, signer: Signer) -> DryRun:
    """The issue of ``send_at`` as the sender would select it for every active subscriber,
    by the same rules (frozen stories if it was frozen; each reader's filters)."""
    key = issue_key(send_at, zone_of(config))
    renderer = IssueRenderer(config, issue_entries(config, store, send_at), send_at, signer)
    readers = []
    for _, spec, _ in store.subscriber_rows("active"):
        chosen = renderer.selection(spec.filters)
        readers.append(Reader(spec.email, 0 if chosen.empty else chosen.count,
                              worth_sending(chosen, config)))
    sent = store.delivery_counts(key).get(key, Counter())["sent"]
    return DryRun(key, len(renderer.entries), sent, tuple(readers))
