"""Request rate limits held in this process (a sliding window per key)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque


class RateLimit:
    """At most ``limit`` hits per ``window`` seconds for each key. Memory is bounded:
    beyond ``max_keys`` the least recently seen keys are forgotten."""

    def __init__(self, limit: int, window: float, max_keys: int = 50_000, clock=time.monotonic):
        self.limit, self.window, self.max_keys, self.clock = limit, window, max_keys, clock
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        """Count a hit for ``key``; False (and not counted) once the key is over its limit."""
        now = self.clock()
        with self._lock:
            hits = self._hits.get(key)
            if hits is None:
                hits = self._hits[key] = deque()
            self._hits.move_to_end(key)
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return False
            hits.append(now)
            while len(self._hits) > self.max_keys:
                self._hits.popitem(last=False)
            return True

    def retry_after(self, key: str) -> int:
        """Seconds until ``key`` may try again (at least 1)."""
        with self._lock:
            hits = self._hits.get(key)
            if not hits:
                return 1
            return max(1, int(hits[0] + self.window - self.clock()) + 1)
