"""One loopback server that misbehaves on demand: a path per misbehaviour, shared by the
fetch tests (instead of a server written out in each test).

    hostile.url("drip-headers")   # http://127.0.0.1:PORT/hostile/drip-headers
    hostile.count("drop")         # how many times that misbehaviour was asked for
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

from sectorwatch.demo.server import Handler, Response, Site, dripping

FEED = b"<?xml version='1.0'?><rss version='2.0'><channel><title>t</title></channel></rss>"
PREFIX = "/hostile/"


def drop(handler) -> None:
    handler.close_connection = True
    handler.connection.shutdown(socket.SHUT_RDWR)


def _slow(handler) -> Response:
    time.sleep(1.0)  # longer than the tests' read_timeout (0.5 s)
    return Response(200, FEED)


def _drip_body(handler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "text/html")
    handler.end_headers()
    for _ in range(40):  # 4 s of a paragraph every 0.1 s
        handler.wfile.write(b"<p>x</p>" * 10)
        handler.wfile.flush()
        time.sleep(0.1)
    handler.close_connection = True


def big(handler, size: int = 10_000_000, declare: bool = False) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "text/html")
    if declare:
        handler.send_header("Content-Length", str(size))
    handler.end_headers()
    handler.close_connection = True
    chunk = b"<p>" + b"x" * 65_000 + b"</p>"
    try:
        for _ in range(size // len(chunk)):
            handler.wfile.write(chunk)
    except OSError:
        pass  # the client hung up, as it should


def _first_then(first: Response) -> Handler:
    """``first`` to the first request, a feed to every later one."""
    lock, calls = threading.Lock(), []

    def handler(_h) -> Response:
        with lock:
            calls.append(time.monotonic())
            n = len(calls)
        return first if n == 1 else Response(200, FEED, (("Content-Type",
                                                          "application/rss+xml"),))

    handler.calls = calls  # type: ignore[attr-defined]
    return handler


MODES: dict[str, Callable[[], Handler]] = {
    "500": lambda: lambda h: Response(500, b"no"),
    "500-then-ok": lambda: _first_then(Response(500, b"oops", (("Content-Type",
                                                               "text/plain"),))),
    "429-then-ok": lambda: _first_then(Response(429, b"slow down", (("Retry-After", "1"),))),
    "429-long": lambda: lambda h: Response(429, b"no", (("Retry-After", "3600"),)),
    "drop": lambda: drop,
    "slow": lambda: _slow,
    "drip-body": lambda: _drip_body,
    "drip-headers": lambda: dripping(Response(200, FEED, (("Content-Type", "text/xml"),
                                                          ("X-Padding", "x" * 2000)))),
    "big": lambda: big,
    "big-declared": lambda: lambda h: big(h, declare=True),
    "challenge": lambda: lambda h: Response(403, b"<title>Just a moment...</title>",
                                            (("Content-Type", "text/html"),)),
    "loop-a": lambda: lambda h: Response(302, b"", (("Location", f"{PREFIX}loop-b"),)),
    "loop-b": lambda: lambda h: Response(302, b"", (("Location", f"{PREFIX}loop-a"),)),
    **{f"chain{i}": (lambda i=i: lambda h: Response(301, b"", (
        ("Location", f"{PREFIX}chain{i + 1}"),))) for i in range(7)},
}


class HostileSite:
    """A Site answering every misbehaviour of MODES at /hostile/<mode>."""

    def __init__(self) -> None:
        self.site = Site("hostile")
        self.handlers = {mode: make() for mode, make in MODES.items()}
        for mode, handler in self.handlers.items():
            self.site.handle(PREFIX + mode, handler)

    def start(self) -> HostileSite:
        self.site.start()
        return self

    def stop(self) -> None:
        self.site.stop()

    def url(self, mode: str) -> str:
        assert mode in MODES, f"no such misbehaviour: {mode}"
        return f"{self.site.base}{PREFIX}{mode}"

    def count(self, mode: str) -> int:
        return self.site.count(PREFIX + mode)

    def calls(self, mode: str) -> list[float]:
        """When each request of a first-then-feed mode arrived (monotonic seconds)."""
        return self.handlers[mode].calls  # type: ignore[attr-defined]
