"""Deliver one issue of the digest: one message per subscriber, exactly once per
(issue, subscriber) through the delivery log.

An issue is frozen at its first send, so a run that is cut off and run again sends the
same stories; rows already sent are never sent again, and one reader's failure fails
only that reader's row.
"""

from __future__ import annotations

import logging
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
from sectorwatch.digest.message import Composer, message_id
from sectorwatch.digest.select import Tagged, week_before
from sectorwatch.digest.transport import SendError, Transport
from sectorwatch.store import Store
from sectorwatch.store.deliveries import sending
from sectorwatch.tokens import Signer, signer_from_env

log = logging.getLogger("sectorwatch.digest")

CLAIM_BATCH = 50  # delivery rows claimed per transaction


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
    store.open_deliveries(issue, [(sid, message_id(settings)) for sid in subscribers])
    renderer = IssueRenderer(config, frozen, send_at, signer)
    composer = Composer(settings)
    log.info("issue %s: %d stories; sending to %d subscribers", issue, len(frozen),
             len(subscribers))
    with sending() as me:  # this run's name on the rows it claims (their lease)
        while batch := store.claim_deliveries(issue, CLAIM_BATCH, holder=me):
            for sid, _, _ in batch:  # opened by another sender after we read the list
                if sid not in subscribers and (found := store.active_subscriber(sid)):
                    subscribers[sid] = found
            batch.sort(key=lambda row: (_filters_of(subscribers.get(row[0])), row[0]))
            for k, (sid, msg_id, attempts) in enumerate(batch):
                if stop.is_set():
                    store.release_deliveries(issue, [b[0] for b in batch[k:]], holder=me)
                    report.stopped = True
                    break
                try:
                    _deliver(store, transport, renderer, composer, report, issue,
                             subscribers.get(sid), sid, msg_id, attempts, bouncing)
                except SendError:
                    store.release_deliveries(issue, [b[0] for b in batch[k:]], holder=me)
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
    if not worth_sending(chosen, renderer.config):
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
