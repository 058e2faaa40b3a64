"""A deadline over each whole HTTP exchange, connect to last byte, and a stop that cuts
exchanges short.

urllib3's timeouts bound each socket operation, so a server that drips its status line a
byte a second never trips them. Here an exchange runs under a Watch: every socket it opens
or reuses is registered with it, and one watchdog thread per client shuts those sockets
down at the exchange's deadline, or shortly after a stop is asked for. A shutdown wakes
whatever is blocked on the socket (a connect, a TLS handshake, a read), in any thread.

requests hands nothing per request down to its connections, and a connection is only ever
used by the thread that asked for it, so the Watch in force is found per thread.
"""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.util.connection import allowed_gai_family

from sectorwatch.fetch.addresses import AddressRefused, reserved

STOP_GRACE = 0.5
"""Seconds an exchange in flight may still finish once a stop is asked for: a page that is
arriving is kept, one that hangs is abandoned."""
_STOP_POLL = 0.1  # how often a stop is looked for while exchanges are in flight

_local = threading.local()


class Cut(ConnectionAbortedError):
    """Raised where a socket would be used by an exchange that was already cut off."""


class Watch:
    """One exchange: its deadline, its sockets, and why it was cut off, if it was."""

    def __init__(self, deadline: float):
        self.deadline = deadline
        self.stop_at = float("inf")
        self.reason: str | None = None  # once cut off: "deadline" or "stop"
        self._socks: list[socket.socket] = []
        self._lock = threading.Lock()

    def attach(self, sock: socket.socket) -> None:
        """Watch ``sock`` through a duplicate of its descriptor: shutting the duplicate
        down ends the connection even after TLS wrapping has detached the original socket
        object, and it can never reach a descriptor that urllib3 closed and the system
        gave to someone else."""
        dup = socket.fromfd(sock.fileno(), sock.family, sock.type)
        with self._lock:
            if self.reason is None:
                self._socks.append(dup)
                return
        _shutdown(dup)
        dup.close()
        raise Cut(f"cut off ({self.reason})")

    def cut(self, reason: str) -> None:
        with self._lock:
            if self.reason is not None:
                return
            self.reason = reason
            for dup in self._socks:
                _shutdown(dup)

    def release(self) -> None:
        """The exchange is over: let go of the duplicates (the connection stays open)."""
        with self._lock:
            socks, self._socks = self._socks, []
        for dup in socks:
            dup.close()


def current() -> Watch | None:
    """The Watch of the exchange running in this thread."""
    return getattr(_local, "watch", None)


@contextmanager
def public_only(on: bool) -> Iterator[None]:
    """In this block, in this thread, connect only to public addresses (if ``on``)."""
    outer, _local.public_only = getattr(_local, "public_only", False), on
    try:
        yield
    finally:
        _local.public_only = outer


def _refusal(host: str, ip: str) -> AddressRefused | None:
    """Why connecting to ``ip`` (for ``host``) is refused here, if it is."""
    if not getattr(_local, "public_only", False) or not (kind := reserved(ip)):
        return None
    return AddressRefused(f"{host} is at {ip}, a {kind} address, which a source on a public "
                          "address may not lead to")


resolve = socket.getaddrinfo
"""How names are resolved (a test can stand a stub in)."""


class Watchdog:
    """Cuts watched exchanges off at their deadline, or STOP_GRACE after ``stop`` is set.
    Its thread starts with the first exchange and idles while none is in flight."""

    def __init__(self, stop: threading.Event | None = None, grace: float = STOP_GRACE):
        self.stop = stop
        self.grace = grace
        self._watches: set[Watch] = set()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False

    @contextmanager
    def watch(self, seconds: float) -> Iterator[Watch]:
        """Run the exchange in this block, in this thread, under a ``seconds`` deadline."""
        watch = Watch(time.monotonic() + seconds)
        with self._cond:
            self._watches.add(watch)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="http-watchdog",
                                                daemon=True)
                self._thread.start()
            self._cond.notify()
        outer, _local.watch = current(), watch
        try:
            yield watch
        finally:
            _local.watch = outer
            with self._cond:
                self._watches.discard(watch)
            watch.release()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def _run(self) -> None:
        with self._cond:
            while not self._closed:
                self._cond.wait(self._check(time.monotonic()))

    def _check(self, now: float) -> float | None:
        """Cut off what is due; seconds until the next look (None: nothing to watch)."""
        stopping = self.stop is not None and self.stop.is_set()
        wait = None
        for watch in self._watches:
            if watch.reason is not None:
                continue
            if stopping:
                watch.stop_at = min(watch.stop_at, now + self.grace)
            left = min(watch.deadline, watch.stop_at) - now
            if left <= 0:
                watch.cut("stop" if watch.stop_at <= watch.deadline else "deadline")
            else:
                wait = left if wait is None else min(wait, left)
        if wait is not None and self.stop is not None and not stopping:
            wait = min(wait, _STOP_POLL)
        return wait


class _Connection(HTTPConnection):
    """urllib3's connection, registering each socket it uses with the Watch in force."""

    def _new_conn(self) -> socket.socket:
        watch = current()
        if watch is None:
            return super()._new_conn()
        try:
            sock = _connect(watch, (self._dns_host, self.port), self.timeout,
                            self.source_address, self.socket_options)
        except TimeoutError as exc:
            raise ConnectTimeoutError(self, f"Connection to {self.host} timed out. "
                                      f"(connect timeout={self.timeout})") from exc
        except OSError as exc:
            raise NewConnectionError(self, f"Failed to establish a new connection: {exc}") \
                from exc
        sys.audit("http.client.connect", self, self.host, self.port)
        return sock

    def request(self, *args, **kwargs) -> None:
        if self.sock is not None:  # a kept-alive connection, used again
            refused = None
            with suppress(OSError):  # not connected any more: it will reconnect, checked
                refused = _refusal(self.host, self.sock.getpeername()[0])
            if refused is not None:
                self.close()
                raise refused
            if (watch := current()) is not None:
                watch.attach(self.sock)
        super().request(*args, **kwargs)


def _connect(watch: Watch, address: tuple[str, int], timeout, source_address,
             options) -> socket.socket:
    """urllib3's create_connection, except that each socket is watched before it
    connects: a host that never answers is cut off like one that drips."""
    host, port = address
    error: OSError | None = None
    for family, kind, proto, _name, addr in resolve(
            host.strip("[]"), port, allowed_gai_family(), socket.SOCK_STREAM):
        # the address connected to is the one checked (an IPv4 or IPv6 one: a string)
        if refused := _refusal(host, str(addr[0])):
            error = error or refused
            continue
        sock = socket.socket(family, kind, proto)
        try:
            for option in options or ():
                sock.setsockopt(*option)
            if timeout is None or isinstance(timeout, int | float):
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            watch.attach(sock)
            sock.connect(addr)
            if watch.reason is not None:  # cut off just before connect() began
                raise Cut(f"cut off ({watch.reason})")
            return sock
        except OSError as exc:
            error = exc
            sock.close()
            if watch.reason is not None:
                break  # every other address would be cut off too
    raise error or OSError(f"no address found for {host}")


class _TLSConnection(_Connection, HTTPSConnection):
    pass


class _Pool(HTTPConnectionPool):
    ConnectionCls = _Connection


class _TLSPool(HTTPSConnectionPool):
    ConnectionCls = _TLSConnection


class WatchedAdapter(HTTPAdapter):
    """requests' adapter, with connections that register their sockets with the Watch."""

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _Pool, "https": _TLSPool}


def _shutdown(sock: socket.socket) -> None:
    with suppress(OSError):  # not connected yet, or already gone
        sock.shutdown(socket.SHUT_RDWR)
