"""Deliver one issue of the digest: one message per subscriber, exactly once per
(issue, subscriber) through the delivery log.

An issue is frozen at its first send, so a run that is cut off and run again sends the
same stories; rows already sent are never sent again, and one reader's failure fails
only that reader's row. Messages go out on a thread of their own while the next few are
built, and outcomes are written ten at a time: a process killed outright leaves at most
those few messages unmarked, and they are sent again with the same Message-ID.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sectorwatch.config import Config
from sectorwatch.digest import snapshot
from sectorwatch.digest.issue import (
    IssueRenderer,
    issue_key,
    week_entries,
    worth_sending,
    zone_of,
)
from sectorwatch.digest.message import Composer, Outgoing, message_id
from sectorwatch.digest.select import Tagged, week_before
from sectorwatch.digest.transport import SendError, Transport
from sectorwatch.store import Store, holders
from sectorwatch.tokens import Signer, signer_from_env

log = logging.getLogger("sectorwatch.digest")

CLAIM_BATCH = 50  # delivery rows claimed per transaction
DEPTH = 4  # messages built ahead of the one being sent
MARK_EVERY = 10  # outcomes written to the delivery log together


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
    # On SQLite one sender at a time (one writer at a time anyway). On PostgreSQL any
    # number share an issue, on any number of hosts: each row is leased to one of them.
    one_at_a_time = store.engine.dialect.name == "sqlite"
    with store.exclusive("send", "sending the digest") if one_at_a_time else nullcontext():
        return _send(config, store, transport, send_at, entries, stop or threading.Event(),
                     signer)


def _send(config: Config, store: Store, transport: Transport, send_at: datetime,
          entries: Sequence[Tagged] | None, stop: threading.Event, signer: Signer
          ) -> SendReport:
    began = time.monotonic()
    settings = config.digest
    zone = zone_of(config)
    issue = issue_key(send_at, zone)
    start, end = week_before(send_at, zone=zone)
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
    store.open_deliveries(issue, [(sid, message_id(settings)) for sid in subscribers],
                          {sid: _same_as(sub) for sid, sub in subscribers.items()})
    renderer = IssueRenderer(config, frozen, send_at, signer)
    composer = Composer(settings)
    log.info("issue %s: %d stories; sending to %d subscribers", issue, len(frozen),
             len(subscribers))
    with holders.run() as me, _Pipeline(transport, stop) as pipe:  # me: this run's name on its rows
        while batch := store.claim_deliveries(issue, CLAIM_BATCH, holder=me):
            for sid, _, _ in batch:  # opened by another sender after we read the list
                if sid not in subscribers and (found := store.active_subscriber(sid)):
                    subscribers[sid] = found
            batch.sort(key=lambda row: (_filters_of(subscribers.get(row[0])), row[0]))
            unsent: list[int] = []
            marks: list[tuple[int, str, str | None, datetime | None]] = []
            try:
                for k, (sid, msg_id, attempts) in enumerate(batch):
                    if stop.is_set() or pipe.fatal is not None:
                        unsent = [b[0] for b in batch[k:]]
                        break
                    job = _prepare(store, renderer, composer, report, issue,
                                   subscribers.get(sid), sid, msg_id, attempts)
                    if job is not None:
                        pipe.put(job)
                    for done, exc in pipe.results():
                        _outcome(store, renderer, report, issue, done, exc, bouncing, marks)
                    if len(marks) >= MARK_EVERY:
                        store.mark_deliveries(issue, marks)
                        marks.clear()
                for done, exc in pipe.finish():  # the batch's messages in flight end first
                    _outcome(store, renderer, report, issue, done, exc, bouncing, marks)
            finally:  # whatever ends the batch, what was sent is marked sent
                for done, exc in pipe.results():
                    _outcome(store, renderer, report, issue, done, exc, bouncing, marks)
                store.mark_deliveries(issue, marks)
            pipe.raise_crash()
            unsent += [job.sid for job in pipe.never_sent()]
            if pipe.fatal is not None:
                store.release_deliveries(issue, unsent, holder=me)
                raise pipe.fatal
            if unsent:
                store.release_deliveries(issue, unsent, holder=me)
                report.stopped = True
                break
    report.seconds = time.monotonic() - began
    log.info("issue %s: sent %d, skipped %d, deferred %d, failed %d (%d bounced) in %.1fs%s",
             issue, report.sent, report.skipped, report.deferred, report.failed,
             report.bounced, report.seconds,
             " (stopped; the rest stay pending)" if report.stopped else "")
    return report


def _same_as(subscriber) -> str:
    """What a reader's digest is made of, as a short key: readers with the same filters
    get the same digest."""
    return hashlib.sha1(repr(_filters_of(subscriber)).encode()).hexdigest()[:16]


def _filters_of(subscriber) -> tuple:
    if subscriber is None:
        return ()
    f = subscriber[0].filters
    return (f.authorities, f.regions, f.topics)


@dataclass(frozen=True)
class _Job:
    """One reader's message, built and waiting to go."""

    sid: int
    email: str
    attempts: int
    msg: Outgoing


def _prepare(store: Store, renderer: IssueRenderer, composer: Composer, report: SendReport,
             issue: str, subscriber, sid: int, msg_id: str, attempts: int) -> _Job | None:
    """One claimed row: its message to send, or None when the row is settled already
    (skipped, or no message can be built for it: only that row fails)."""
    if subscriber is None:  # unsubscribed since the issue opened
        store.mark_delivery(issue, sid, "skipped", "no longer subscribed")
        report.skipped += 1
        return None
    spec, token = subscriber
    chosen = renderer.selection(spec.filters)
    if not worth_sending(chosen, renderer.config):
        store.mark_delivery(issue, sid, "skipped", "nothing matched")
        report.skipped += 1
        return None
    rendered = renderer.render(chosen, spec.name, token)
    try:
        msg = composer.digest(rendered, key=f"{issue}-{sid}", to=spec.email, name=spec.name,
                              token=renderer.links(token).unsubscribe, msg_id=msg_id,
                              fmt=spec.format)
    except Exception as exc:  # an address or name no message can carry
        _failed(store, report, issue, sid, spec.email, f"message not built: {exc}",
                hard=True)
        return None
    return _Job(sid, spec.email, attempts, msg)


def _outcome(store: Store, renderer: IssueRenderer, report: SendReport, issue: str,
             job: _Job, exc: SendError | None, bouncing: set[int],
             marks: list[tuple[int, str, str | None, datetime | None]]) -> None:
    """How one message went: sent or deferred for a retry (added to ``marks``, written a
    few at a time), or failed (written now, with the address's hard failures)."""
    sid = job.sid
    if exc is not None:
        delays = renderer.settings.retry_delays
        if exc.permanent or job.attempts > len(delays):
            _failed(store, report, issue, sid, job.email, exc.message, hard=exc.permanent)
            return
        retry_at = datetime.now(UTC) + timedelta(seconds=delays[job.attempts - 1])
        marks.append((sid, "deferred", exc.message, retry_at))
        report.deferred += 1
        report.errors.append(f"{job.email}: {exc.message}")
        return
    marks.append((sid, "sent", None, None))
    report.sent += 1
    if sid in bouncing:
        store.clear_hard_failures(sid)
        bouncing.discard(sid)


class _Pipeline:
    """Sends on a thread of its own while the next messages are rendered and built, so the
    SMTP exchange and sectorwatch's own work overlap. At most DEPTH messages wait; each
    outcome comes back to the caller's thread, which alone writes to the store. A fatal
    error (the relay refuses us) stops it: what waits behind it is never sent."""

    def __init__(self, transport: Transport, stop: threading.Event):
        self.transport, self.stop = transport, stop
        self.fatal: SendError | None = None
        self._jobs: queue.Queue[_Job | None] = queue.Queue(maxsize=DEPTH)
        self._done: queue.SimpleQueue[tuple[_Job, SendError | None]] = queue.SimpleQueue()
        self._skipped: list[_Job] = []
        self._crash: BaseException | None = None
        self._abandon = False
        self._thread = threading.Thread(target=self._run, name="sectorwatch-send",
                                        daemon=True)

    def __enter__(self) -> _Pipeline:
        self._thread.start()
        return self

    def __exit__(self, kind, *exc) -> None:
        if kind is not None:  # the caller failed: what waits is not sent unmarked
            self._abandon = True
        self._jobs.put(None)
        self._thread.join()

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            try:
                if self.fatal is not None or self._crash is not None or self._abandon or \
                        self.stop.is_set():  # a stop ends the run after the message in hand
                    self._skipped.append(job)
                    continue
                try:
                    self.transport.send(job.msg)
                except SendError as exc:
                    if exc.fatal:
                        self.fatal = exc
                        self._skipped.append(job)
                        continue
                    self._done.put((job, exc))
                    continue
                except BaseException as exc:  # a bug: raised in the caller's thread
                    self._crash = exc
                    self._skipped.append(job)
                    continue
                self._done.put((job, None))
            finally:
                self._jobs.task_done()

    def put(self, job: _Job) -> None:
        self._jobs.put(job)

    def results(self) -> list[tuple[_Job, SendError | None]]:
        """Outcomes that have come back so far."""
        out = []
        while True:
            try:
                out.append(self._done.get_nowait())
            except queue.Empty:
                return out

    def finish(self) -> list[tuple[_Job, SendError | None]]:
        """Wait for every message handed over so far; their outcomes."""
        self._jobs.join()
        return self.results()

    def raise_crash(self) -> None:
        """Raise, in the caller's thread, what broke the sending thread (not a SendError:
        a bug, an interrupt), once the outcomes before it are marked."""
        if self._crash is not None:
            raise self._crash

    def never_sent(self) -> list[_Job]:
        """Messages a fatal error or a stop kept from going (their rows are still ours)."""
        skipped, self._skipped = self._skipped, []
        return skipped


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


def unfinished(store: Store, key: str, now: datetime) -> bool:
    """Whether the issue ``key`` still has sending to do: never opened, rows pending or
    left mid-send, a deferred retry that is due, or opened but no row ever written."""
    if store.issue(key) is None:
        return True
    counts = store.delivery_counts(key).get(key, Counter())
    if counts.get("pending") or counts.get("sending"):
        return True
    retry = store.next_retry(key)
    if retry is not None and retry.replace(tzinfo=retry.tzinfo or UTC) <= now:
        return True
    return not counts and bool(store.subscriber_rows("active"))
