"""Send one issue of the digest: the week's stories, one message per subscriber, exactly
once per (issue, subscriber) through the delivery log."""

from __future__ import annotations

import html
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from sectorwatch.config import Config
from sectorwatch.digest.message import build_message, manage_url, message_id, unsubscribe_url
from sectorwatch.digest.render import Rendered, clean_header_text, environment, render
from sectorwatch.digest.select import LONDON, Tagged, select, week_before
from sectorwatch.digest.stories import Item, group_stories
from sectorwatch.digest.transport import SendError, Transport
from sectorwatch.store import Store
from sectorwatch.tag.authorities import gazetteer


@dataclass
class SendReport:
    issue: str
    stories: int = 0
    sent: int = 0
    skipped: int = 0
    deferred: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


BACKGROUND = 1000  # stored articles outside the week that calibrate how rare a word is
RENDER_CACHE = 256  # renderings kept for subscribers who share filters
NAME, TOKEN = "SWxNAMEx9q", "SWxTOKENx9q"  # placeholders: plain ASCII, survive escaping


def personalise(rendered: Rendered, name: str, token: str) -> Rendered:
    """A shared rendering made one reader's: their name (escaped for HTML) and token."""
    safe_name = clean_header_text(name, 80)
    return replace(rendered,
                   html=rendered.html.replace(NAME, html.escape(safe_name)).replace(TOKEN, token),
                   text=rendered.text.replace(NAME, safe_name).replace(TOKEN, token))


def issue_key(send_at: datetime) -> str:
    """An issue is named by its ISO week in London: 2026-W48."""
    year, week, _ = send_at.astimezone(LONDON).isocalendar()
    return f"{year}-W{week:02d}"


def week_entries(config: Config, store: Store, start: datetime, end: datetime
                 ) -> list[Tagged]:
    """The week's articles as stories, each with the union of its tellings' tags."""
    sources = {s.id: s for s in config.sources}
    regions = {code: info["region"] for code, info in gazetteer().authorities.items()}
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
            source_name=source.label if source else row.source_id))
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
                      for t in all_tags for j in t["judgement"]}
        entries.append(Tagged(
            story, codes, frozenset(c for i in story.items for c in i.primary),
            frozenset(regions[c] for c in codes if c in regions),
            tuple(sorted(scores, key=scores.__getitem__, reverse=True)),
            tuple(judgements.values())))
    return entries


def send_issue(config: Config, store: Store, transport: Transport, send_at: datetime,
               *, entries: Sequence[Tagged] | None = None) -> SendReport:
    """Send (or finish sending) the issue for ``send_at``. Safe to run again: rows already
    sent are never sent twice, and a run that was cut off picks up where it stopped."""
    settings = config.digest
    start, end = week_before(send_at)
    issue = issue_key(send_at)
    entries = list(entries) if entries is not None else week_entries(config, store, start, end)
    report = SendReport(issue, stories=len(entries))
    subscribers = {sid: (spec, token) for sid, spec, token in store.subscriber_rows("active")}
    store.open_deliveries(issue, [(sid, message_id(settings)) for sid in subscribers])
    env = environment(Path(settings.templates_dir) if settings.templates_dir else None)
    topics = [(t.slug, t.label) for t in config.topics]
    cache: OrderedDict[tuple, Rendered | None] = OrderedDict()  # per filters, LRU-bounded
    while (claimed := store.claim_delivery(issue)) is not None:
        sid, msg_id = claimed
        if sid not in subscribers:  # unsubscribed since the issue opened
            store.mark_delivery(issue, sid, "skipped", "no longer subscribed")
            report.skipped += 1
            continue
        spec, token = subscribers[sid]
        key = (spec.filters, bool(spec.name))
        if key not in cache:
            chosen = select(entries, spec.filters, start, end, topics, settings.section_cap)
            cache[key] = None if chosen.empty and not settings.send_empty else render(
                chosen, name=NAME if spec.name else "", issue_date=send_at,
                manage_url=manage_url(settings, TOKEN),
                unsubscribe_url=unsubscribe_url(settings, TOKEN), env=env)
            if len(cache) > RENDER_CACHE:
                cache.popitem(last=False)
        cache.move_to_end(key)
        template = cache[key]
        if template is None:
            store.mark_delivery(issue, sid, "skipped", "nothing matched")
            report.skipped += 1
            continue
        rendered = personalise(template, spec.name, token)
        msg = build_message(rendered, to=spec.email, name=spec.name, token=token,
                            msg_id=msg_id, settings=settings, fmt=spec.format)
        try:
            transport.send(msg, f"{issue}-{sid}")
        except SendError as exc:
            if exc.fatal:
                store.mark_delivery(issue, sid, "pending", exc.message)
                raise
            status = "failed" if exc.permanent else "deferred"
            store.mark_delivery(issue, sid, status, exc.message)
            report.failed += status == "failed"
            report.deferred += status == "deferred"
            report.errors.append(f"{spec.email}: {exc.message}")
            continue
        store.mark_delivery(issue, sid, "sent")
        report.sent += 1
    return report
