"""`sectorwatch run`: the long-running scheduler. Fetches due sources at an interval and
sends the digest on its cron slot (Monday 08:00 Europe/London by default).

One process per database (an flock beside it). On start, and at every heartbeat, a digest
slot that was missed (the process was down, the mail server refused, a message was
deferred) is sent or finished, judged from the delivery log; sending is idempotent, so a
double trigger costs nothing. SIGTERM or SIGINT ends the article or message in hand, leaves
the rest pending, and exits 0.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.engine import make_url

from sectorwatch.config import Config
from sectorwatch.digest.delivery import send_issue, unfinished
from sectorwatch.digest.issue import digest_trigger, issue_key
from sectorwatch.digest.mailbox import MailboxError, poll
from sectorwatch.digest.transport import SendError, Transport, transport_for
from sectorwatch.lock import Busy
from sectorwatch.logs import event
from sectorwatch.pipeline import run_all
from sectorwatch.store import Store
from sectorwatch.tokens import signer_from_env

log = logging.getLogger("sectorwatch.scheduler")
SINCE_KEY = "scheduler_since"  # meta: when a scheduler first ran on this database


def latest_slot(trigger: CronTrigger, now: datetime, window: float) -> datetime | None:
    """The trigger's last fire time in (now - window, now], or None."""
    span = 1.0
    while True:
        span = min(span, window)
        first = trigger.get_next_fire_time(None, now - timedelta(seconds=span))
        if first is not None and first <= now:
            slot = first
            while (after := trigger.get_next_fire_time(slot, slot + timedelta(seconds=1))) \
                    and after <= now:
                slot = after
            return slot if now - slot < timedelta(seconds=window) else None
        if span >= window:
            return None
        span *= 2


class Scheduler:
    """The jobs of `sectorwatch run` over one store. ``run()`` blocks until stopped."""

    def __init__(self, config: Config,
                 transport_factory: Callable[[Config], Transport] | None = None):
        self.config = config
        self.settings = config.schedule
        self.zone = ZoneInfo(self.settings.timezone)
        self.trigger = digest_trigger(self.settings)
        self.transport_factory = transport_factory or (lambda c: transport_for(c.digest))
        # read now: a missing secret stops the start, not Monday's send
        self.signer = signer_from_env(config.web.secret_env, config.web.previous_secret_env)
        self.stop = threading.Event()
        self._sending = threading.Lock()
        self._fetching = threading.Lock()  # the startup fetch and the interval's never overlap
        self._busy = threading.Condition()
        self._running = 0
        self._since: datetime | None = None
        self.store: Store | None = None
        self.scheduler: BlockingScheduler | None = None

    # -- the process ---------------------------------------------------------------------

    def run(self) -> int:
        """Take the lock, start the jobs, block until SIGTERM/SIGINT; 0 on a clean stop."""
        with Store.open(self.config.database_url) as store, \
                store.exclusive("scheduler", "running the scheduler"):
            self.store = store
            now = datetime.now(UTC)
            self._since = datetime.fromisoformat(
                store.set_meta(SINCE_KEY, now.isoformat(), keep=True))
            self.scheduler = self._build(now)
            previous = {sig: signal.signal(sig, self._on_signal)
                        for sig in (signal.SIGTERM, signal.SIGINT)}
            try:
                event(log, "scheduler.started", "scheduler started", pid=os.getpid(),
                      database=_safe_url(self.config.database_url),
                      transport=self.config.digest.transport,
                      sources=sum(1 for s in self.config.sources if s.enabled),
                      fetch_every=self.settings.fetch_every,
                      next_digest=_next_run(self.trigger, now))
                self.scheduler.start()  # returns once a signal has shut it down
                with self._busy:
                    self._busy.wait_for(lambda: self._running == 0)
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)
            event(log, "scheduler.stopped", "scheduler stopped cleanly")
        return 0

    def _build(self, now: datetime) -> BlockingScheduler:
        s = self.settings
        sched = BlockingScheduler(
            timezone=self.zone,
            # fetch, digest, heartbeat and mailbox each get a thread: none waits behind another
            executors={"default": ThreadPoolExecutor(max_workers=4)},
            job_defaults={"coalesce": True, "max_instances": 1,
                          "misfire_grace_time": int(s.misfire_grace)})
        # Fetch first, then catch up on a missed digest with what that fetch found.
        sched.add_job(self._job(self.startup), id="startup", name="startup", next_run_time=now)
        sched.add_job(self._job(self.fetch), IntervalTrigger(seconds=s.fetch_every,
                                                             timezone=self.zone),
                      id="fetch", name="fetch")
        sched.add_job(self._job(self.digest), self.trigger, id="digest", name="digest")
        sched.add_job(self._job(self.heartbeat), IntervalTrigger(seconds=s.heartbeat,
                                                                 timezone=self.zone),
                      id="heartbeat", name="heartbeat", misfire_grace_time=int(s.heartbeat))
        box = self.config.digest.unsubscribe_mailbox
        if box.type != "none":  # the mailto digests advertise is read only while this runs
            sched.add_job(self._job(self.mailbox), IntervalTrigger(seconds=box.poll_every,
                                                                   timezone=self.zone),
                          id="mailbox", name="mailbox", next_run_time=now,
                          misfire_grace_time=int(box.poll_every))
        sched.add_listener(self._on_problem, EVENT_JOB_ERROR | EVENT_JOB_MISSED)
        return sched

    def _on_signal(self, signum: int, _frame) -> None:
        name = signal.Signals(signum).name
        if self.stop.is_set():
            event(log, "scheduler.killed", f"second {name}: exiting without finishing",
                  level=logging.WARNING, signal=name)
            os._exit(128 + signum)  # rows in hand stay 'sending'; the next start recovers them
        self.stop.set()
        event(log, "scheduler.stopping", f"{name}: finishing the article or message in hand",
              signal=name)
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    def _on_problem(self, ev: JobExecutionEvent) -> None:
        if ev.code == EVENT_JOB_MISSED:
            event(log, "job.missed", f"{ev.job_id} missed its slot (later than misfire_grace)",
                  level=logging.ERROR, job=ev.job_id, slot=ev.scheduled_run_time)
        else:
            event(log, "job.error", f"{ev.job_id} failed: {ev.exception!r}",
                  level=logging.ERROR, job=ev.job_id)

    def _job(self, fn: Callable[[], None]) -> Callable[[], None]:
        """``fn`` counted as running (a stop waits for it) and skipped once stopping."""
        def job() -> None:
            with self._busy:
                if self.stop.is_set():
                    return
                self._running += 1
            try:
                fn()
            finally:
                with self._busy:
                    self._running -= 1
                    self._busy.notify_all()
        job.__name__ = fn.__name__
        return job

    # -- the jobs ------------------------------------------------------------------------

    def startup(self) -> None:
        self.fetch()
        self.catch_up()

    def fetch(self) -> None:
        assert self.store is not None
        if not self._fetching.acquire(blocking=False):
            event(log, "fetch.busy", "a fetch is already running")
            return
        try:
            report = run_all(self.config, self.store, stop=self.stop)
        finally:
            self._fetching.release()
        polled = [r for r in report.sources if r.status not in ("skipped", "disabled")]
        for r in polled:
            event(log, "source.polled", f"{r.source_id}: {r.status}",
                  level=logging.WARNING if r.status in ("failed", "partial") else logging.INFO,
                  run=report.run_id, source=r.source_id, status=r.status, new=r.new,
                  known=r.known, failed=r.failed, requests=r.requests,
                  seconds=round(r.seconds, 2), error=r.error)
        event(log, "fetch.done", f"fetched {len(polled)} due sources", run=report.run_id,
              polled=len(polled), new=report.total("new"), failed=report.total("failed"),
              stopped=self.stop.is_set())

    def digest(self) -> None:
        now = datetime.now(UTC)
        slot = latest_slot(self.trigger, now, self.settings.misfire_grace) or now
        self.send(slot, "schedule")

    def heartbeat(self) -> None:
        now = datetime.now(UTC)
        if self.settings.heartbeat_file:
            path = Path(self.settings.heartbeat_file)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()
        event(log, "heartbeat", "alive", next_digest=_next_run(self.trigger, now))
        self.catch_up()

    def mailbox(self) -> None:
        """Read the unsubscribe mailbox; a failure is logged and the next poll tries again
        (its messages wait there)."""
        assert self.store is not None
        try:
            poll(self.config, self.store, self.signer, stop=self.stop)
        except MailboxError as exc:
            event(log, "mailbox.failed", f"unsubscribe mailbox not read: {exc.message}",
                  level=logging.ERROR, error=exc.message, hint=exc.hint)

    def catch_up(self) -> None:
        """Send (or finish) the latest slot's issue if it was missed since this database's
        first scheduler started; a slot before that is history, not a miss."""
        assert self.store is not None and self._since is not None
        now = datetime.now(UTC)
        slot = latest_slot(self.trigger, now, self.settings.catch_up)
        if slot is None or slot < self._since:
            return
        key = issue_key(slot, self.zone)
        if unfinished(self.store, key, now):
            self.send(slot, "catch-up")

    def send(self, slot: datetime, why: str) -> None:
        """Send the issue of ``slot``; one send at a time in this process."""
        assert self.store is not None
        key = issue_key(slot, self.zone)
        if not self._sending.acquire(blocking=False):
            event(log, "digest.busy", f"issue {key}: a send is already running", issue=key)
            return
        transport = None
        try:
            transport = self.transport_factory(self.config)
            report = send_issue(self.config, self.store, transport, slot, stop=self.stop,
                                signer=self.signer)
            event(log, "digest.sent", f"issue {key}: sent {report.sent}", why=why, issue=key,
                  slot=slot, stories=report.stories, sent=report.sent, skipped=report.skipped,
                  deferred=report.deferred, failed=report.failed, bounced=report.bounced,
                  stopped=report.stopped,
                  seconds=round(report.seconds, 2))
        except Busy as exc:
            event(log, "digest.busy", str(exc), level=logging.WARNING, issue=key)
        except SendError as exc:
            # Nobody is lost: unsent rows stay pending, and the heartbeat tries again.
            event(log, "digest.failed", f"issue {key}: {exc.message}", level=logging.ERROR,
                  issue=key, error=exc.message, hint=exc.hint)
        finally:
            if transport is not None:
                transport.close()
            self._sending.release()


def _next_run(trigger: CronTrigger, now: datetime) -> datetime | None:
    return trigger.get_next_fire_time(None, now)


def _safe_url(url: str) -> str:
    """A database URL without its password, for logs."""
    return make_url(url).render_as_string(hide_password=True)
