"""Building readers' messages for an issue: in the sending process for a small list, or in
a worker process of its own for a large one, so that building (selection, rendering,
MIME) and the SMTP exchange run side by side instead of taking turns for one interpreter
lock.

Building is pure: frozen stories, a reader's filters, name, address and token in; a
message, or the reason there is none, out. The caller alone talks to the store.
"""

from __future__ import annotations

import multiprocessing
import signal
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sectorwatch.config import Config
from sectorwatch.digest import snapshot
from sectorwatch.digest.issue import IssueRenderer, worth_sending
from sectorwatch.digest.message import Composer, Outgoing
from sectorwatch.models import SubscriberSpec
from sectorwatch.tokens import Signer

PROCESS_FROM = 1000
"""Readers from which a worker process builds the messages (below, starting one costs
more than it saves)."""


@dataclass(frozen=True)
class Row:
    """One claimed delivery to build a message for."""

    sid: int
    msg_id: str
    attempts: int
    subscriber: tuple[SubscriberSpec, str] | None
    """(the reader, their stored token); None when they unsubscribed since the issue
    opened."""


@dataclass(frozen=True)
class Built:
    """One row's message, or why there is none: ``skipped`` (settled, nothing to send) or
    ``failed`` (no message can carry this reader's address or name)."""

    sid: int
    attempts: int
    email: str
    msg: Outgoing | None = None
    skipped: str | None = None
    failed: str | None = None


class Builder:
    """Builds one issue's messages, sharing selections and renderings among readers."""

    def __init__(self, config: Config, stories: str, send_at: datetime, issue: str,
                 signer: Signer):
        self.renderer = IssueRenderer(config, snapshot.loads(stories), send_at, signer)
        self.composer = Composer(config.digest)
        self.issue = issue

    def build(self, rows: Sequence[Row]) -> list[Built]:
        return [self._one(row) for row in rows]

    def _one(self, row: Row) -> Built:
        if row.subscriber is None:
            return Built(row.sid, row.attempts, "", skipped="no longer subscribed")
        spec, token = row.subscriber
        chosen = self.renderer.selection(spec.filters)
        if not worth_sending(chosen, self.renderer.config):
            return Built(row.sid, row.attempts, spec.email, skipped="nothing matched")
        links = self.renderer.links(token)
        rendered = self.renderer.render(chosen, spec.name, token, links)
        try:
            msg = self.composer.digest(rendered, key=f"{self.issue}-{row.sid}", to=spec.email,
                                       name=spec.name, token=links.unsubscribe,
                                       msg_id=row.msg_id, fmt=spec.format)
        except Exception as exc:  # an address or name no message can carry
            return Built(row.sid, row.attempts, spec.email,
                         failed=f"message not built: {exc}")
        return Built(row.sid, row.attempts, spec.email, msg)


class Inline:
    """Builds in this process, when asked."""

    def __init__(self, builder: Builder):
        self._builder = builder

    def submit(self, rows: Sequence[Row]) -> Future[list[Built]]:
        done: Future[list[Built]] = Future()
        try:
            done.set_result(self._builder.build(rows))
        except Exception as exc:  # a bug: raised where the result is read, as a worker's
            done.set_exception(exc)
        return done


class Worker:
    """Builds in a worker process (spawned, so nothing of this process's threads or
    connections is inherited); a batch is submitted ahead and read when its turn comes."""

    def __init__(self, executor: ProcessPoolExecutor):
        self._executor = executor

    def submit(self, rows: Sequence[Row]) -> Future[list[Built]]:
        return self._executor.submit(_build, list(rows))


@contextmanager
def builders(config: Config, stories: str, send_at: datetime, issue: str, signer: Signer,
             *, process: bool) -> Iterator[Inline | Worker]:
    """Where this send's messages are built: a worker process if ``process``."""
    if not process:
        yield Inline(Builder(config, stories, send_at, issue, signer))
        return
    executor = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_start,
                                   initargs=(config, stories, send_at, issue, signer))
    try:
        yield Worker(executor)
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


_builder: Builder | None = None  # the worker process's own


def _start(config: Config, stories: str, send_at: datetime, issue: str,
           signer: Signer) -> None:
    """A worker's start. It ignores SIGINT and SIGTERM: a stop is the sender's to make
    (between two messages), and the sender ends the worker when it ends."""
    global _builder
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _builder = Builder(config, stories, send_at, issue, signer)


def _build(rows: list[Row]) -> list[Built]:
    assert _builder is not None, "the worker was not started"
    return _builder.build(rows)
