"""robots.txt per host (RFC 9309), parsed with protego and cached for at most 24 hours."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from protego import Protego

from sectorwatch.errors import FetchError
from sectorwatch.urls import origin

MAX_ROBOTS_BYTES = 512_000  # RFC 9309: parse at least 500 KiB


class RobotsStore(Protocol):
    def load_robots(self, origin: str) -> tuple[datetime, int, str] | None: ...
    def save_robots(self, origin: str, status: int, body: str, fetched_at: datetime) -> None: ...


@dataclass(frozen=True)
class RobotsAnswer:
    """How a robots.txt request went: ``status`` 0 means unreachable."""

    status: int
    body: str
    reason: str = ""
    kind: str = ""
    """For status 0: the fetch error's kind ("connection", "timeout", "blocked")."""


@dataclass(frozen=True)
class _Rules:
    expires: datetime
    parser: Protego | None
    allow_all: bool
    reason: str
    unreachable: str = ""
    """The error kind when the host gave no answer at all: "unreachable" (refused, timed
    out; not retried at once, the next poll tries again) or "blocked" (a private address)."""


class RobotsCache:
    """Answers 'may we fetch this URL?' for one user agent."""

    def __init__(self, agent: str, fetch: Callable[[str], RobotsAnswer],
                 store: RobotsStore | None, ttl: float, on_crawl_delay=None):
        self.token = agent.split("/", 1)[0].strip() or agent
        self.agent = agent
        self._fetch = fetch
        self._store = store
        self._ttl = timedelta(seconds=ttl)
        self._rules: dict[str, _Rules] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self._on_crawl_delay = on_crawl_delay

    def check(self, url: str) -> None:
        """Raise FetchError(kind='robots') when robots.txt forbids ``url``."""
        site = origin(url)
        rules = self._rules_for(site)
        if rules.allow_all:
            return
        if rules.parser is None and rules.unreachable:
            # No answer at all: say so, rather than blame robots.txt for it.
            raise FetchError(f"{site} gave no answer ({rules.reason}), so not even its "
                             "robots.txt could be read", kind=rules.unreachable, url=url,
                             hint="it is tried again on the next poll")
        if rules.parser is None:
            raise FetchError(f"robots.txt unavailable ({rules.reason}): the host is treated as "
                             "disallowed (RFC 9309)", kind="robots", url=url,
                             hint="it is retried on the next poll")
        if not rules.parser.can_fetch(url, self.token):
            raise FetchError(f"disallowed by {site}/robots.txt", kind="robots", url=url,
                             hint="ask the publisher, or remove the source")

    def _rules_for(self, site: str) -> _Rules:
        with self._guard:
            lock = self._locks.setdefault(site, threading.Lock())
        with lock:
            now = datetime.now(UTC)
            cached = self._rules.get(site)
            if cached and cached.expires > now:
                return cached
            stored = self._store.load_robots(site) if self._store else None
            if stored and stored[0] + self._ttl > now:
                fetched_at, status, body = stored
                rules = self._make(RobotsAnswer(status, body), fetched_at + self._ttl, site)
            else:
                answer = self._fetch(f"{site}/robots.txt")
                rules = self._make(answer, now + self._ttl, site)
                if self._store and 200 <= answer.status < 500:
                    self._store.save_robots(site, answer.status, answer.body, now)
            self._rules[site] = rules
            return rules

    def _make(self, answer: RobotsAnswer, expires: datetime, site: str) -> _Rules:
        if 200 <= answer.status < 300:
            parser = Protego.parse(answer.body[:MAX_ROBOTS_BYTES])
            delay = parser.crawl_delay(self.token)
            if delay and self._on_crawl_delay:
                self._on_crawl_delay(site, float(delay))
            return _Rules(expires, parser, False, "")
        if 400 <= answer.status < 500:
            return _Rules(expires, None, True, f"HTTP {answer.status}")
        reason = f"HTTP {answer.status}" if answer.status else (answer.reason or "unreachable")
        unreachable = "" if answer.status else (
            "blocked" if answer.kind == "blocked" else "unreachable")
        return _Rules(expires, None, False, reason, unreachable)
