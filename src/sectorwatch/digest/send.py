"""Send one issue of the digest: the week's stories, one message per subscriber, exactly
once per (issue, subscriber) through the delivery log.

An issue is named by its ISO week and frozen at its first send, so a run that is cut off
and run again sends the same stories. Renderings are shared: subscribers whose filters
select the same stories get one rendering, personalised with their name and token.
"""

from __future__ import annotations

import html
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sectorwatch import gazetteer
from sectorwatch.config import Config
from sectorwatch.digest import snapshot
from sectorwatch.digest.message import Composer, manage_url, message_id, unsubscribe_url
from sectorwatch.digest.render import Rendered, clean_header_text, environment, render
from sectorwatch.digest.select import LONDON, Selection, Tagged, section_order, select, week_before
from sectorwatch.digest.stories import Item, events_of, group_stories
from sectorwatch.digest.transport import SendError, Transport
from sectorwatch.lock import exclusive, lock_path
from sectorwatch.models import Filters
from sectorwatch.store import Store
from sectorwatch.tokens import Signer, signer_from_env

log = logging.getLogger("sectorwatch.digest")

BACKGROUND = 1000  # stored articles outside the week that calibrate how rare a word is
CLAIM_BATCH = 50  # delivery rows claimed per transaction
SELECTION_CACHE = 4096  # selections kept, per distinct filters
RENDER_CACHE = 256  # renderings kept, per distinct selection
# placeholders: plain ASCII, survive escaping
NAME, MANAGE, UNSUBSCRIBE = "SWxNAMEx9q", "SWxMANAGEx9q", "SWxUNSUBx9q"


@dataclass
class SendReport:
    issue: str
    stories: int = 0
    sent: int = 0
    skipped: int = 0
    deferred: int = 0
    failed: int = 0
    bounced: int = 0
    """Subscribers marked bounced by this run (their hard failures reached the limit)."""
    bounce_limit: int = 2
    stopped: bool = False
    """A stop was asked for; what was not sent stays pending for the next run."""
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)


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


def issue_key(send_at: datetime) -> str:
    """An issue is named by its ISO week in London: 2026-W48."""
    year, week, _ = send_at.astimezone(LONDON).isocalendar()
    return f"{year}-W{week:02d}"


def issue_send_at(week: str) -> datetime:
    """Monday 08:00 London of an ISO week such as 2026-W48 (ValueError if it is not one)."""
    if not re.fullmatch(r"\d{4}-W\d{2}", week):
        raise ValueError(f"not an ISO week: {week!r} (e.g. 2026-W48)")
    return datetime.strptime(f"{week}-1", "%G-W%V-%u").replace(hour=8, tzinfo=LONDON)


def week_entries(config: Config, store: Store, start: datetime, end: datetime
                 ) -> list[Tagged]:
    """The week's articles as stories, each with the union of its tellings' tags."""
    sources = {s.id: s for s in config.sources}
    regions = {code: a.region for code, a in gazetteer.authorities().items()}
    items: list[Item] = []
    tags: dict[int, dict] = {}
    for row in store.articles(since=start, limit=None):
        when = row.published_at or row.first_seen_at
        if not start <= when < end:
            continue
        t = store.tags(row.id)
        source = sources.get(row.source_id)
        if source is not None and source.relevance_filter and not t["topic"]:
            continue  # a general outlet's story with no sector topic: roadworks, cricket
        tags[row.id] = t
        items.append(Item(
            row.id, row.source_id, row.title, row.text, when,
            frozenset(a["code"] for a in t["authority"] if a["role"] == "primary"),
            truncated=bool(row.truncated), official=bool(source and source.type == "govuk"),
            word_count=row.word_count, url=row.url, lead=row.lead or "",
            source_name=source.label if source else row.source_id,
            events=events_of(t["judgement"]),
            authorities=frozenset(a["code"] for a in t["authority"])))
    background = [f"{r.title} {r.title} {r.text}" for r in store.articles(limit=BACKGROUND)
                  if not start <= (r.published_at or r.first_seen_at) < end]
    entries = []
    for story in group_stories(items, background=background):
        all_tags = [tags[i.id] for i in story.items]
        codes = frozenset(a["code"] for t in all_tags for a in t["authority"])
        scores: dict[str, float] = {}
        for t in all_tags:
            for topic in t["topic"]:
                scores[topic["slug"]] = max(scores.get(topic["slug"], 0), topic["score"])
        judgements = {(j["authority"], j["grade"], j["scope"], j["kind"]): j
                      for t in all_tags for j in t["judgement"]
                      if not j.get("past")}  # an earlier grade recalled is not the week's news
        entries.append(Tagged(
            story, codes, frozenset(c for i in story.items for c in i.primary),
            frozenset(regions[c] for c in codes if c in regions),
            tuple(sorted(scores, key=scores.__getitem__, reverse=True)),
            tuple(judgements.values())))
    return entries


def issue_entries(config: Config, store: Store, send_at: datetime) -> list[Tagged]:
    """The issue's stories: as frozen when it was first sent, else the week's as they
    stand (a preview or a dry run freezes nothing)."""
    row = store.issue(issue_key(send_at))
    if row is not None:
        return snapshot.loads(row.stories)
    return week_entries(config, store, *week_before(send_at))


class IssueRenderer:
    """Selects and renders one issue for many subscribers, sharing the work: a selection
    per distinct set of filters, a rendering per distinct selection."""

    def __init__(self, config: Config, entries: Sequence[Tagged], send_at: datetime,
                 signer: Signer):
        settings = config.digest
        self.signer = signer
        self.settings = settings
        self.entries = entries
        self.send_at = send_at
        self.start, self.end = week_before(send_at)
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

    def render(self, selection: Selection, name: str, token: str) -> Rendered:
        """The digest for one reader (their name and signed links in place); ``token`` is
        the subscriber's stored key, signed here."""
        key = (selection.signature, bool(name))
        shared = _lru_get(self._renders, key)
        if shared is None:
            shared = render(selection, name=NAME if name else "", issue_date=self.send_at,
                            manage_url=manage_url(self.settings, MANAGE),
                            unsubscribe_url=unsubscribe_url(self.settings, UNSUBSCRIBE),
                            env=self.env, views=self.views)
            _lru_put(self._renders, key, shared, RENDER_CACHE)
        return personalise(shared, name, self.links(token))


def _lru_get(cache: OrderedDict, key):
    found = cache.get(key)
    if found is not None:
        cache.move_to_end(key)
    return found


def _lru_put(cache: OrderedDict, key, value, limit: int) -> None:
    cache[key] = value
    if len(cache) > limit:
        cache.popitem(last=False)


def send_issue(config: Config, store: Store, transport: Transport, send_at: datetime, *,
               entries: Sequence[Tagged] | None = None,
               stop: threading.Event | None = None, signer: Signer | None = None
               ) -> SendReport:
    """Send (or finish sending) the issue for ``send_at``. Safe to run again: rows already
    sent are never sent twice, and a run that was cut off picks up where it stopped.

    ``entries`` freezes these stories instead of the week's stored ones (if the issue is
    not frozen yet). ``stop``, once set, ends the run after the message in hand. ``signer``
    signs the readers' links (default: the secret named by ``web.secret_env``).
    """
    signer = signer or signer_from_env(config.web.secret_env, config.web.previous_secret_env)
    with exclusive(lock_path(config.database_url, "send"), "sending the digest"):
        return _send(config, store, transport, send_at, entries, stop or threading.Event(),
                     signer)


def _send(config: Config, store: Store, transport: Transport, send_at: datetime,
          entries: Sequence[Tagged] | None, stop: threading.Event, signer: Signer
          ) -> SendReport:
    began = time.monotonic()
    settings = config.digest
    issue = issue_key(send_at)
    start, end = week_before(send_at)
    row = store.issue(issue)
    if row is not None:
        stored = row.stories
    else:
        fresh = list(entries) if entries is not None else week_entries(config, store, start,
                                                                        end)
        stored = store.freeze_issue(issue, send_at, start, end, snapshot.dumps(fresh),
                                    len(fresh))  # another sender's, if it froze first
    frozen = snapshot.loads(stored)
    report = SendReport(issue, stories=len(frozen), bounce_limit=settings.bounce_limit)
    bouncing = store.bouncing()
    subscribers = {sid: (spec, token) for sid, spec, token in store.subscriber_rows("active")}
    store.open_deliveries(issue, [(sid, message_id(settings)) for sid in subscribers])
    renderer = IssueRenderer(config, frozen, send_at, signer)
    composer = Composer(settings)
    log.info("issue %s: %d stories; sending to %d subscribers", issue, len(frozen),
             len(subscribers))
    while batch := store.claim_deliveries(issue, CLAIM_BATCH):
        batch.sort(key=lambda row: (_filters_of(subscribers.get(row[0])), row[0]))
        for k, (sid, msg_id, attempts) in enumerate(batch):
            if stop.is_set():
                store.release_deliveries(issue, [b[0] for b in batch[k:]])
                report.stopped = True
                break
            try:
                _deliver(store, transport, renderer, composer, report, issue,
                         subscribers.get(sid), sid, msg_id, attempts, bouncing)
            except SendError:
                store.release_deliveries(issue, [b[0] for b in batch[k:]])
                raise
        if report.stopped:
            break
    report.seconds = time.monotonic() - began
    log.info("issue %s: sent %d, skipped %d, deferred %d, failed %d (%d bounced) in %.1fs%s",
             issue, report.sent, report.skipped, report.deferred, report.failed,
             report.bounced, report.seconds,
             " (stopped; the rest stay pending)" if report.stopped else "")
    return report


def _filters_of(subscriber) -> tuple:
    if subscriber is None:
        return ()
    f = subscriber[0].filters
    return (f.authorities, f.regions, f.topics)


def _deliver(store: Store, transport: Transport, renderer: IssueRenderer,
             composer: Composer, report: SendReport, issue: str, subscriber, sid: int,
             msg_id: str, attempts: int, bouncing: set[int]) -> None:
    """One claimed row: skip it, or send its message and mark how that went. Whatever one
    reader's message does, only that row fails: the run goes on with the rest."""
    if subscriber is None:  # unsubscribed since the issue opened
        store.mark_delivery(issue, sid, "skipped", "no longer subscribed")
        report.skipped += 1
        return
    spec, token = subscriber
    chosen = renderer.selection(spec.filters)
    if chosen.empty and not renderer.settings.send_empty:
        store.mark_delivery(issue, sid, "skipped", "nothing matched")
        report.skipped += 1
        return
    rendered = renderer.render(chosen, spec.name, token)
    try:
        msg = composer.digest(rendered, key=f"{issue}-{sid}", to=spec.email, name=spec.name,
                              token=renderer.links(token).unsubscribe, msg_id=msg_id,
                              fmt=spec.format)
    except Exception as exc:  # an address or name no message can carry
        _failed(store, report, issue, sid, spec.email, f"message not built: {exc}",
                hard=True)
        return
    try:
        transport.send(msg)
    except SendError as exc:
        if exc.fatal:
            raise
        delays = renderer.settings.retry_delays
        if exc.permanent or attempts > len(delays):
            _failed(store, report, issue, sid, spec.email, exc.message, hard=exc.permanent)
            return
        retry_at = datetime.now(UTC) + timedelta(seconds=delays[attempts - 1])
        store.mark_delivery(issue, sid, "deferred", exc.message, retry_at)
        report.deferred += 1
        report.errors.append(f"{spec.email}: {exc.message}")
        return
    store.mark_delivery(issue, sid, "sent")
    report.sent += 1
    if sid in bouncing:
        store.clear_hard_failures(sid)
        bouncing.discard(sid)


def _failed(store: Store, report: SendReport, issue: str, sid: int, email: str,
            reason: str, *, hard: bool) -> None:
    """Mark one delivery failed; a hard failure (the address refused for good) counts
    towards marking the subscriber bounced."""
    store.mark_delivery(issue, sid, "failed", reason)
    report.failed += 1
    report.errors.append(f"{email}: {reason}")
    if hard and store.record_hard_failure(sid, reason, report.bounce_limit):
        report.bounced += 1
        log.warning("subscriber %d marked bounced after %d hard failures: %s", sid,
                    report.bounce_limit, reason)
