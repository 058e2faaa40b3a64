"""Local copies of sector sites, served on 127.0.0.1 for the demo, tests and benchmarks.

Each site is a folder named for its real host, holding ``site.yaml`` (path → file and
content type) and the files; ``{{base}}`` in a file becomes the local origin. Static routes
answer conditional GETs (ETag / Last-Modified → 304) like a well-behaved server. Tests add
programmable routes for misbehaving endpoints (slow, dropped, oversized, looping…).
"""

from __future__ import annotations

import hashlib
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path

import yaml

SITES_DIR = Path(str(resources.files("sectorwatch").joinpath("demo", "sites")))
_FIXED_DATE = formatdate(1_763_900_000, usegmt=True)  # a stable Last-Modified for static files


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # a client hanging up is expected


@dataclass(frozen=True)
class Response:
    status: int = 200
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()


Handler = Callable[["RequestHandler"], Response | None]
"""A programmable route: return a Response, or None after writing to the socket itself."""


@dataclass
class Site:
    """One server on 127.0.0.1 with its own port (so its own robots.txt and pacing)."""

    name: str
    static: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    handlers: dict[str, Handler] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    base: str = ""
    stopping: threading.Event = field(default_factory=threading.Event)
    """Set by stop(): routes that take their time (a drip) end early."""
    host: str = "127.0.0.1"
    """A loopback address (127.0.0.2 stands in for another machine)."""
    most_at_once: int = 0
    """The most requests it was answering at one moment (a polite crawler keeps it at 1)."""
    _in_flight: int = 0
    _count_lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    def route(self, path: str, body: bytes | str, content_type: str = "text/html; charset=utf-8"
              ) -> None:
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.static[path] = (data, content_type)

    def handle(self, path: str, handler: Handler) -> None:
        self.handlers[path] = handler

    def count(self, path: str) -> int:
        return sum(1 for p, _ in self.requests if p == path)

    def start(self) -> Site:
        server = _Server((self.host, 0), RequestHandler)
        server.site = self  # type: ignore[attr-defined]
        self._server = server
        self.base = f"http://{self.host}:{server.server_address[1]}"
        threading.Thread(target=server.serve_forever, args=(0.05,), name=f"site-{self.name}",
                         daemon=True).start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


class RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "sectorwatch-fixture/1"
    # Headers and body go out in separate writes; with Nagle on, each keep-alive response
    # would wait ~40 ms for a delayed ACK.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args) -> None:
        pass  # tests read Site.requests instead of stderr noise

    @property
    def site(self) -> Site:
        return self.server.site  # type: ignore[attr-defined]

    def do_GET(self) -> None:
        site = self.site
        with site._count_lock:
            site._in_flight += 1
            site.most_at_once = max(site.most_at_once, site._in_flight)
        try:
            self._answer(site)
        finally:
            with site._count_lock:
                site._in_flight -= 1

    def _answer(self, site: Site) -> None:
        site.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
        if handler := site.handlers.get(self.path):
            response = handler(self)
            if response is not None:
                self.send(response)
            return
        if self.path in site.static:
            body, ctype = site.static[self.path]
            body = body.replace(b"{{base}}", site.base.encode())
            etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
            if self.headers.get("If-None-Match") == etag or (
                    "If-None-Match" not in self.headers
                    and self.headers.get("If-Modified-Since") == _FIXED_DATE):
                self.send(Response(304, b"", (("ETag", etag),)))
                return
            self.send(Response(200, body, (("Content-Type", ctype), ("ETag", etag),
                                           ("Last-Modified", _FIXED_DATE))))
            return
        if self.path == "/robots.txt":
            self.send(Response(404, b"not found", (("Content-Type", "text/plain"),)))
            return
        self.send(Response(404, b"<h1>Not found</h1>", (("Content-Type", "text/html"),)))

    def send(self, response: Response) -> None:
        self.send_response(response.status)
        names = {k.lower() for k, _ in response.headers}
        for key, value in response.headers:
            self.send_header(key, value)
        if "content-length" not in names:
            self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if response.body:
            self.wfile.write(response.body)


def dripping(response: Response, every: float = 0.1) -> Handler:
    """A route that sends ``response`` whole (status line and headers too) one byte every
    ``every`` seconds: each read gets a byte long before any read timeout, so only a
    deadline over the whole exchange ends it. It ends when the client hangs up."""

    def handler(h: RequestHandler) -> None:
        h.close_connection = True
        reason = h.responses.get(response.status, ("",))[0]
        headers = dict(response.headers)
        if not any(k.lower() == "content-length" for k in headers):
            headers["Content-Length"] = str(len(response.body))
        lines = [f"HTTP/1.1 {response.status} {reason}",
                 *(f"{k}: {v}" for k, v in headers.items()), "", ""]
        _drip(h.connection, "\r\n".join(lines).encode("latin-1") + response.body, every,
              h.site.stopping)

    return handler


@contextmanager
def trickle_server(data: bytes, every: float = 0.1) -> Iterator[int]:
    """A bare TCP server on 127.0.0.1 that answers every connection by dripping ``data``
    whatever was sent (a TLS handshake that never completes, say); yields its port."""
    listener = socket.create_server(("127.0.0.1", 0))
    done = threading.Event()

    def serve() -> None:
        while not done.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return  # closed
            threading.Thread(target=_drip_and_close, args=(conn, data, every, done),
                             daemon=True).start()

    threading.Thread(target=serve, name="trickle", daemon=True).start()
    try:
        yield listener.getsockname()[1]
    finally:
        done.set()
        listener.close()


@contextmanager
def unanswered_port() -> Iterator[int]:
    """A port whose connects hang, as on a host that drops packets: its listener's accept
    queue (backlog 0) is kept full, so the kernel ignores every further SYN."""
    with socket.create_server(("127.0.0.1", 0), backlog=0) as listener:
        port = listener.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            yield port


def _drip_and_close(conn: socket.socket, data: bytes, every: float,
                    done: threading.Event) -> None:
    with conn:
        _drip(conn, data, every, done)


def _drip(conn: socket.socket, data: bytes, every: float, done: threading.Event) -> None:
    try:
        for i in range(len(data)):
            conn.sendall(data[i:i + 1])
            if done.wait(every):
                return
    except OSError:
        pass  # the client gave up, as it should


def load_site(folder: Path) -> Site:
    """A Site from a fixture folder's ``site.yaml``."""
    manifest = yaml.safe_load((folder / "site.yaml").read_text(encoding="utf-8"))
    site = Site(folder.name)
    for path, spec in (manifest.get("routes") or {}).items():
        site.route(path, (folder / spec["file"]).read_bytes(), spec["type"])
    return site


def site_folders(root: Path = SITES_DIR) -> list[Path]:
    return sorted(p for p in root.iterdir() if (p / "site.yaml").is_file())


@contextmanager
def serve_sites(root: Path = SITES_DIR) -> Iterator[dict[str, Site]]:
    """Serve every fixture site, each on its own port: {real hostname: Site}."""
    sites = {folder.name: load_site(folder).start() for folder in site_folders(root)}
    try:
        yield sites
    finally:
        for site in sites.values():
            site.stop()


def localise(config_text: str, sites: dict[str, Site]) -> str:
    """Point a config's real URLs at the local copies (``https://host`` → ``http://127…``)."""
    for host, site in sites.items():
        for scheme in ("https://", "http://"):
            config_text = config_text.replace(f"{scheme}{host}", site.base)
    return config_text
