"""Deliver one issue of the digest: one message per subscriber, exactly once per
(issue, subscriber) through the delivery log.

An issue is frozen at its first send, so a run that is cut off and run again sends the
same stories; rows already sent are never sent again, and one reader's failure fails
only that reader's row. Rows are claimed fifty at a time; the next fifty are built (in a
worker process for a long list) while these are sent, and outcomes are written ten at a
time: a process killed outright leaves at most those few messages unmarked, and they are
sent again with the same Message-ID.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Sequence
from concurrent.futures import Future
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sectorwatch.config import Config, DigestSettings
from sectorwatch.digest import snapshot
from sectorwatch.digest.build import PROCESS_FROM, Built, Row, builders
from sectorwatch.digest.issue import issue_key, week_entries, zone_of
from sectorwatch.digest.message import message_id
from sectorwatch.digest.select import Tagged, week_before
from sectorwatch.digest.transport import SendError, Transport
from sectorwatch.store import Store, holders
from sectorwatch.tokens import Signer, signer_from_env

log = logging.getLogger("sectorwatch.digest")

CLAIM_BATCH = 50  # delivery rows claimed per transaction
AHEAD = 2  # batches claimed at once: the next is built while one is sent
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
               stop: threading.Event | None = None, signer: Signer | None = None,
               build_process: bool | None = None) -> SendReport:
    """Send (or finish sending) the issue for ``send_at``. Safe to run again: rows already
    sent are never sent twice, and a run that was cut off picks up where it stopped.

    ``entries`` freezes these stories instead of the week's stored ones (if the issue is
    not frozen yet). ``stop``, once set, ends the run after the message in hand. ``signer``
    signs the readers' links (default: the secret named by ``web.secret_env``).
    ``build_process`` builds the messages in a worker process (default: from
    PROCESS_FROM readers).
    """
    signer = signer or signer_from_env(config.web.secret_env, config.web.previous_secret_env)
    # On SQLite one sender at a time (one writer at a time anyway). On PostgreSQL any
    # number share an issue, on any number of hosts: each row is leased to one of them.
    one_at_a_time = store.engine.dialect.name == "sqlite"
    with store.exclusive("send", "sending the digest") if one_at_a_time else nullcontext():
        return _send(config, store, transport, send_at, entries, stop or threading.Event(),
                     signer, build_process)


def _send(config: Config, store: Store, transport: Transport, send_at: datetime,
          entries: Sequence[Tagged] | None, stop: threading.Event, signer: Signer,
          build_process: bool | None) -> SendReport:
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
    log.info("issue %s: %d stories; sending to %d subscribers", issue, len(frozen),
             len(subscribers))
    in_process = len(subscribers) >= PROCESS_FROM if build_process is None else build_process
    ahead: deque[tuple[list[int], Future[list[Built]]]] = deque()
    with holders.run() as me, builders(config, stored, send_at, issue, signer,
                                       process=in_process) as builder:
        def claim() -> None:  # me: this run's name on its rows
            batch = store.claim_deliveries(issue, CLAIM_BATCH, holder=me)
            if not batch:
                return
            for sid, _, _ in batch:  # opened by another sender after we read the list
                if sid not in subscribers and (found := store.active_subscriber(sid)):
                    subscribers[sid] = found
            batch.sort(key=lambda row: (_filters_of(subscribers.get(row[0])), row[0]))
            ahead.append(([sid for sid, _, _ in batch], builder.submit(
                [Row(sid, msg_id, attempts, subscribers.get(sid))
                 for sid, msg_id, attempts in batch])))

        claim()
        try:
            while ahead:
                if len(ahead) < AHEAD:
                    claim()  # the next batch is built while this one is sent
                ids, building = ahead.popleft()
                try:
                    built = building.result()
                except BaseException:  # nothing of this batch was sent: it goes back too
                    store.release_deliveries(issue, ids, holder=me)
                    raise
                settled, fatal = _deliver(store, transport, settings, report, issue, built,
                                          bouncing, stop)
                if settled < len(ids):  # a stop, or the relay refused us: the rest wait
                    store.release_deliveries(issue, ids[settled:], holder=me)
                    if fatal is not None:
                        raise fatal
                    report.stopped = True
                    break
        finally:  # whatever ends the run, rows claimed ahead and not sent go back
            for ids, building in ahead:
                building.cancel()
                store.release_deliveries(issue, ids, holder=me)
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


def _deliver(store: Store, transport: Transport, settings: DigestSettings,
             report: SendReport, issue: str, built: list[Built], bouncing: set[int],
             stop: threading.Event) -> tuple[int, SendError | None]:
    """Send one batch's messages in order, writing outcomes a few at a time. Returns how
    many rows were settled (sent, skipped, failed or deferred): fewer than the batch when
    a stop was asked for, or when the relay refused us (that error comes back too)."""
    marks: list[tuple[int, str, str | None, datetime | None]] = []
    try:
        for k, job in enumerate(built):
            if stop.is_set():  # between two messages, never during one
                return k, None
            if job.skipped is not None:
                marks.append((job.sid, "skipped", job.skipped, None))
                report.skipped += 1
                continue
            if job.failed is not None or job.msg is None:
                _failed(store, report, issue, job.sid, job.email, job.failed or "no message",
                        hard=True)
                continue
            try:
                transport.send(job.msg)
            except SendError as exc:
                if exc.fatal:
                    return k, exc
                _refused(store, settings, report, issue, job, exc, marks)
            else:
                marks.append((job.sid, "sent", None, None))
                report.sent += 1
                if job.sid in bouncing:
                    store.clear_hard_failures(job.sid)
                    bouncing.discard(job.sid)
            if len(marks) >= MARK_EVERY:
                store.mark_deliveries(issue, marks)
                marks.clear()
        return len(built), None
    finally:  # whatever ends the batch, what was sent is marked sent
        store.mark_deliveries(issue, marks)


def _refused(store: Store, settings: DigestSettings, report: SendReport, issue: str,
             job: Built, exc: SendError,
             marks: list[tuple[int, str, str | None, datetime | None]]) -> None:
    """A message the server would not take: deferred for a retry while retries are left
    (added to ``marks``), else failed (written now, with the address's hard failures)."""
    delays = settings.retry_delays
    if exc.permanent or job.attempts > len(delays):
        _failed(store, report, issue, job.sid, job.email, exc.message, hard=exc.permanent)
        return
    retry_at = datetime.now(UTC) + timedelta(seconds=delays[job.attempts - 1])
    marks.append((job.sid, "deferred", exc.message, retry_at))
    report.deferred += 1
    report.errors.append(f"{job.email}: {exc.message}")


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
