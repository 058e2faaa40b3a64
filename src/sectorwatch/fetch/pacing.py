"""One request at a time per host, with a pause between them, and host-wide back-off."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class _Host:
    lock: threading.Lock = field(default_factory=threading.Lock)
    next_at: float = 0.0
    blocked_until: float = 0.0
    block_reason: str = ""


class HostPacer:
    """Serialises requests per origin and spaces them by ``delay`` seconds (plus jitter).

    ``sleep`` may raise to give up a wait (the client's does once a stop is asked for):
    the slot is then not taken, and the host's next turn is left as it was.
    """

    def __init__(self, delay: float, jitter: float = 0.2, clock=time.monotonic, sleep=time.sleep):
        self.delay = delay
        self.jitter = jitter
        self._clock = clock
        self._sleep = sleep
        self._hosts: dict[str, _Host] = {}
        self._guard = threading.Lock()
        self._min_delay: dict[str, float] = {}

    def _host(self, origin: str) -> _Host:
        with self._guard:
            return self._hosts.setdefault(origin, _Host())

    def set_min_delay(self, origin: str, seconds: float) -> None:
        """A robots.txt Crawl-delay: honoured as a floor under the configured delay."""
        self._min_delay[origin] = seconds

    @contextmanager
    def slot(self, origin: str) -> Iterator[None]:
        """Hold the host's only request slot, after waiting out its pause."""
        host = self._host(origin)
        with host.lock:
            wait = host.next_at - self._clock()
            if wait > 0:
                self._sleep(wait)
            try:
                yield
            finally:
                delay = max(self.delay, self._min_delay.get(origin, 0.0))
                host.next_at = self._clock() + delay * (1 + random.uniform(0, self.jitter))

    def block(self, origin: str, seconds: float, reason: str) -> None:
        """Stop asking this host anything for a while (it said 429 / Retry-After)."""
        host = self._host(origin)
        host.blocked_until = max(host.blocked_until, self._clock() + seconds)
        host.block_reason = reason

    def blocked(self, origin: str) -> tuple[float, str] | None:
        """(seconds left, reason) while the host is in back-off, else None."""
        host = self._host(origin)
        left = host.blocked_until - self._clock()
        return (left, host.block_reason) if left > 0 else None
