"""The HTTP connection handling `sectorwatch serve` runs: uvicorn's, with two limits a
slow client cannot get round.

- A request's head (request line and headers) must arrive within ``header_timeout`` of its
  first byte, or of the connection opening: a client that sends a header line every few
  seconds ("slowloris") is cut off instead of holding the connection for ever.
- One client address may hold at most ``per_client`` connections at once; more are
  closed as they open, so a few clients cannot take every slot (uvicorn's
  ``limit_concurrency``) and leave the rest with 503s. Addresses of trusted proxies are
  exempt: every reader arrives through them.

A reverse proxy in front (the README says so) is still the first line of defence.
"""

from __future__ import annotations

import asyncio
from collections import Counter

from uvicorn.protocols.http.h11_impl import H11Protocol

HEADER_TIMEOUT = 10.0
PER_CLIENT = 20


def guarded(header_timeout: float = HEADER_TIMEOUT, per_client: int = PER_CLIENT,
            exempt: tuple[str, ...] = ()) -> type[H11Protocol]:
    """An H11Protocol class with these limits (one count of connections per class)."""
    open_by_client: Counter[str] = Counter()

    class Guarded(H11Protocol):
        _counted = ""
        _deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            address = self.client[0] if self.client else ""
            if address not in exempt and "*" not in exempt:
                if open_by_client[address] >= per_client:
                    transport.close()  # this client holds enough connections already
                    return
                open_by_client[address] += 1
                self._counted = address
            self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            if self._counted:
                open_by_client[self._counted] -= 1
                if open_by_client[self._counted] <= 0:
                    del open_by_client[self._counted]
                self._counted = ""
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.cycle is not None and not self.cycle.response_complete:
                self._disarm()  # the head is in: the request is being answered

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._arm()  # the next request's head has the same time to arrive

        def _arm(self) -> None:
            self._disarm()
            self._deadline = self.loop.call_later(header_timeout, self._too_slow)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _too_slow(self) -> None:
            self._deadline = None
            if not self.transport.is_closing():
                self.transport.close()

    return Guarded
