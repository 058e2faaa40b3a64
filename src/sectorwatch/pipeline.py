"""The one orchestrator: due sources → discover → skip known → fetch → extract → store.

Used by the CLI and (later) the scheduler alike. A failing source or article is recorded
with its error and the run goes on; sources are never disabled behind the user's back.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sectorwatch.config import Config
from sectorwatch.errors import FetchError, SectorwatchError
from sectorwatch.extract import extract_article
from sectorwatch.extract.template import Template
from sectorwatch.extract.template import learn as template_learn
from sectorwatch.fetch.http import FetchStopped, HttpClient, SourceFetcher
from sectorwatch.models import Link, Page
from sectorwatch.sources import REGISTRY
from sectorwatch.sources.base import ExtractRules, SourceBase
from sectorwatch.store import Store, holders
from sectorwatch.tag import Tagger, Tags
from sectorwatch.urls import origin

log = logging.getLogger(__name__)
TEMPLATE_SAMPLE = 20  # stored pages a source's template is learned from
RETAG_BATCH = 200  # articles whose new tags are written in one transaction


@dataclass
class SourceReport:
    """What one source's poll did."""

    source_id: str
    status: str = "ok"
    """ok, not_modified, partial (some articles failed), failed, skipped (not due), disabled,
    stopped (a stop was asked for; the source stays due) or busy (another worker is polling
    its host; the source stays due)."""
    new: int = 0
    known: int = 0
    failed: int = 0
    requests: int = 0
    seconds: float = 0.0
    error: str | None = None
    outcomes: dict[str, int] = field(default_factory=dict)
    """Requests by outcome: an HTTP status ("200", "304") or an error kind."""
    links: list[Link] = field(default_factory=list)
    """Links that would be fetched (filled on dry runs)."""
    next_poll_at: datetime | None = None


@dataclass
class RunReport:
    run_id: int
    sources: list[SourceReport]

    @property
    def ok(self) -> bool:
        return not any(r.status in ("failed", "partial") for r in self.sources)

    def total(self, name: str) -> int:
        return sum(getattr(r, name) for r in self.sources)


class Progress(Protocol):
    """What the pipeline tells a progress display. All methods may be called from threads."""

    def source_started(self, source: SourceBase) -> None: ...
    def links_found(self, source: SourceBase, count: int) -> None: ...
    def article_done(self, source: SourceBase) -> None: ...
    def source_finished(self, source: SourceBase, report: SourceReport) -> None: ...


class _Quiet:
    def source_started(self, source): pass
    def links_found(self, source, count): pass
    def article_done(self, source): pass
    def source_finished(self, source, report): pass


def select_sources(config: Config, store: Store, source_ids: Sequence[str] = (),
                   force: bool = False, now: datetime | None = None
                   ) -> tuple[list[SourceBase], list[SourceReport]]:
    """(sources to poll now, reports for those skipped). Naming a source forces it."""
    now = now or datetime.now(UTC)
    wanted = set(source_ids)
    unknown = wanted - {s.id for s in config.sources}
    if unknown:
        raise SectorwatchError(f"no such source: {', '.join(sorted(unknown))}",
                               hint="`sectorwatch sources` lists them")
    due, skipped = [], []
    for source in config.sources:
        if wanted and source.id not in wanted:
            continue
        if not source.enabled and not wanted:
            skipped.append(SourceReport(source.id, status="disabled"))
            continue
        next_at = store.next_poll_at(source.id)
        if not (force or wanted) and next_at and next_at > now:
            skipped.append(SourceReport(source.id, status="skipped", next_poll_at=next_at))
            continue
        due.append(source)
    return due, skipped


def run_all(config: Config, store: Store, *, source_ids: Sequence[str] = (), force: bool = False,
            dry_run: bool = False, client: HttpClient | None = None,
            progress: Progress | None = None, tagger: Tagger | None = None,
            stop: threading.Event | None = None) -> RunReport:
    """Poll every due source (several hosts at once, one request at a time per host).

    The sources of one host are polled one after another by one worker, which holds the
    host's lease in the store meanwhile: a fetch in another process, on this machine or
    another, leaves that host alone (its sources are reported 'busy' and stay due).

    ``stop``, once set, ends each source after the article in hand (a request still in
    flight a moment later is abandoned, and the client's waits end); what was fetched is
    stored, and sources cut short or not begun are reported 'stopped' and stay due.
    """
    progress = progress or _Quiet()
    due, skipped = select_sources(config, store, source_ids, force)
    own_client = client is None
    client = client or HttpClient(config.fetch, store, stop=stop)
    tagger = tagger or Tagger.from_config(config)
    report = RunReport(store.start_run(dry_run), [])
    status = "crashed"
    try:
        hosts: dict[str, list[SourceBase]] = {}
        for source in due:
            hosts.setdefault(origin(source.url), []).append(source)  # as the pacer keys it
        workers = max(1, min(config.fetch.concurrency, len(hosts)))

        def poll_host(host: str, sources: list[SourceBase]) -> list[SourceReport]:
            out: list[SourceReport] = []
            me = holders.PROCESS
            try:
                for source in sources:
                    if not store.take_host(host, me):  # taken, or renewed for this source
                        out.append(SourceReport(source.id, status="busy"))
                        continue
                    out.append(run_source(source, config, store, client, run_id=report.run_id,
                                          dry_run=dry_run, progress=progress, tagger=tagger,
                                          stop=stop))
            finally:
                store.release_host(host, me)
            return out

        with ThreadPoolExecutor(workers, thread_name_prefix="host") as pool:
            futures = [pool.submit(poll_host, host, group) for host, group in hosts.items()]
            by_id = {r.source_id: r for f in futures for r in f.result()}
        report.sources = [by_id[s.id] for s in due]
        status = ("stopped" if any(r.status == "stopped" for r in report.sources)
                  else "ok" if report.ok else "partial")
    finally:
        store.finish_run(report.run_id, status, sources=len(report.sources),
                         new=report.total("new"), known=report.total("known"),
                         failed=report.total("failed"), requests=report.total("requests"))
        if own_client:
            client.close()
    report.sources += skipped
    return report


def run_source(source: SourceBase, config: Config, store: Store, client: HttpClient, *,
               run_id: int, dry_run: bool = False, progress: Progress | None = None,
               tagger: Tagger | None = None, stop: threading.Event | None = None
               ) -> SourceReport:
    """Poll one source; never raises for the source's own failures."""
    progress = progress or _Quiet()
    tagger = tagger or Tagger.from_config(config)
    report = SourceReport(source.id)
    stop = stop or threading.Event()
    if stop.is_set():
        report.status = "stopped"
        return report
    fetcher = SourceFetcher(client, store, source.url)
    started, t0 = datetime.now(UTC), time.monotonic()
    progress.source_started(source)
    kind = REGISTRY[source.type]
    interval = source.interval if source.interval is not None else config.fetch.default_interval
    try:
        discovery = kind.discover(source, fetcher)
    except FetchStopped:
        report.status = "stopped"  # nothing learned: no failure recorded, the source stays due
        return _finish(report, fetcher, t0, progress, source)
    except SectorwatchError as exc:
        report.status, report.error = "failed", _describe(exc)
        report.failed = 1
        _record(store, run_id, source.id, exc)
        if not dry_run:
            wait = max(interval, getattr(exc, "retry_after", None) or 0)
            report.next_poll_at = started + timedelta(seconds=wait)
            store.source_failed(source.id, started, report.error, report.next_poll_at)
        return _finish(report, fetcher, t0, progress, source)

    if discovery.not_modified:
        report.status = "not_modified"
    links = list(discovery.links)
    known = store.known_urls([link.url for link in links]) if links else set()
    gave_up = store.given_up([link.url for link in links]) if links else set()
    fresh = [link for link in links if link.url not in known and link.url not in gave_up]
    report.known = len(links) - len(fresh)
    fresh = fresh[: source.max_new_articles]
    progress.links_found(source, len(fresh))

    if dry_run:
        report.links = fresh
        return _finish(report, fetcher, t0, progress, source)

    last_error = None
    retry_later = False  # a link failed but is still worth another try

    def failed(exc: SectorwatchError, link: Link) -> None:
        nonlocal last_error, retry_later
        report.failed += 1
        last_error = _describe(exc)
        permanent = not (isinstance(exc, FetchError) and exc.transient)
        _record(store, run_id, source.id, exc, link.url)
        gave_up = store.record_url_failure(link.url, last_error,
                                           config.fetch.max_article_failures, permanent)
        retry_later = retry_later or not gave_up
        progress.article_done(source)

    fetched: list[tuple[Link, Page]] = []
    reached = 0
    for link in fresh:
        if stop.is_set():
            break
        try:
            url, accept = kind.article_request(source, link)
            page = fetcher.get(url, accept=accept)
            fetched.append((link, page))
        except FetchStopped:
            break  # abandoned in flight: the link is left for the next poll, not failed
        except SectorwatchError as exc:
            failed(exc, link)
        reached += 1

    template = learn_template(store, source.id, [p for _, p in fetched],
                              discovery.validated) if fetched else None
    for link, page in fetched:
        try:
            article = extract_article(page, source.extract, link=link, template=template)
            for warning in article.warnings:
                log.warning("%s: %s (%s)", source.id, warning, link.url)
                store.add_run_error(run_id, source.id, "extract", warning, link.url, "warning")
            tags = tagger.tag(article.title, article.text, article.published.date())
            outcome = store.add_article(article, source.id, link, page, tags)
            report.new += outcome == "new"
            report.known += outcome == "known"
            progress.article_done(source)
        except SectorwatchError as exc:
            failed(exc, link)

    if reached < len(fresh):
        # Cut short: what was fetched is stored; the source stays due, validators unsaved,
        # so the next poll sees the links not reached yet.
        report.status = "stopped"
        return _finish(report, fetcher, t0, progress, source)
    # Validators are kept only once every link they cover was stored or given up; otherwise
    # the next poll's 304 would hide links whose articles still deserve another try.
    if not retry_later:
        store.save_validators(discovery.validated)
    if report.failed:
        report.status, report.error = "partial", last_error  # the last article's failure
    report.next_poll_at = started + timedelta(seconds=interval)
    store.source_succeeded(source.id, started, report.next_poll_at, last_error)
    return _finish(report, fetcher, t0, progress, source)


@dataclass
class ReextractReport:
    """What re-extracting stored articles did."""

    total: int = 0
    changed: int = 0
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def reextract(config: Config, store: Store, source_id: str | None = None,
              progress: Callable[[int], None] | None = None) -> ReextractReport:
    """Extract every stored article again from its kept raw page, with the current rules
    and each source's template learned from its stored pages; no network."""
    report = ReextractReport()
    tagger = Tagger.from_config(config)
    templates: dict[str, Template] = {}
    rules = {s.id: s.extract for s in config.sources}
    for article_id, sid, link, page in store.stored_pages(source_id):
        report.total += 1
        if sid not in templates:
            templates[sid] = learn_template(store, sid)
        try:
            article = extract_article(page, rules.get(sid, ExtractRules()), link=link,
                                      template=templates[sid])
            report.warnings += [f"{sid}: {w} ({link.url})" for w in article.warnings]
            changed = store.update_article(article_id, article)
            tags = tagger.tag(article.title, article.text, article.published.date())
            report.changed += store.replace_tags(article_id, tags) or changed
        except SectorwatchError as exc:
            report.errors.append(f"{sid}: {_describe(exc)}")
        if progress is not None:
            progress(report.total)
    return report


def retag(config: Config, store: Store, source_id: str | None = None) -> tuple[int, int]:
    """Tag stored articles again (after a taxonomy or gazetteer change): (total, changed)."""
    tagger = Tagger.from_config(config)
    total = changed = 0
    batch: list[tuple[int, Tags]] = []
    for row in store.texts(source_id):
        day = row.published_at.date() if row.published_at else None
        batch.append((row.id, tagger.tag(row.title, row.text, day)))
        total += 1
        if len(batch) >= RETAG_BATCH:
            changed += store.replace_many_tags(batch)
            batch = []
    return total, changed + store.replace_many_tags(batch)


def learn_template(store: Store | None, source_id: str, fresh: Sequence[Page] = (),
                   extra: Sequence[Page] = ()) -> Template:
    """What this source's pages share: learned from its stored pages, this run's new pages
    and its HTML listing pages (which carry the same header, footer and banners). Fetching,
    re-extraction and `sectorwatch extract --source` all learn it here, alike."""
    samples = store.raw_samples(source_id, TEMPLATE_SAMPLE) if store is not None else []
    samples += [p.text for p in (*fresh, *extra) if p.text and "html" in p.content_type]
    unique = list(dict.fromkeys(samples))  # a page stored and fetched again counts once
    return template_learn(unique[: TEMPLATE_SAMPLE * 2])


def _finish(report: SourceReport, fetcher: SourceFetcher, t0: float, progress: Progress,
            source: SourceBase) -> SourceReport:
    report.requests = fetcher.requests
    report.outcomes = dict(fetcher.outcomes)
    report.seconds = time.monotonic() - t0
    progress.source_finished(source, report)
    return report


def _describe(exc: SectorwatchError) -> str:
    where = f" ({exc.url})" if exc.url else ""
    return f"{exc.stage}: {exc.message}{where}"


def _record(store: Store, run_id: int, source_id: str, exc: SectorwatchError,
            url: str | None = None) -> None:
    log.warning("%s: %s", source_id, _describe(exc))
    store.add_run_error(run_id, source_id, exc.stage, exc.message, url or exc.url,
                        getattr(exc, "kind", None))
