"""The only HTTP client: identified, paced, robots-aware, bounded in time and size."""

from __future__ import annotations

import email.utils
import logging
import random
import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol
from urllib.parse import urljoin

import requests
import urllib3

from sectorwatch.config import FetchSettings
from sectorwatch.decode import decode, strip_controls
from sectorwatch.errors import FetchError
from sectorwatch.fetch.addresses import AddressRefused, internal_source
from sectorwatch.fetch.pacing import HostPacer
from sectorwatch.fetch.robots import RobotsAnswer, RobotsCache, RobotsStore
from sectorwatch.fetch.watchdog import Watch, Watchdog, WatchedAdapter
from sectorwatch.fetch.watchdog import public_only as public_only_in
from sectorwatch.models import Page
from sectorwatch.urls import canonicalize, origin

MAX_RETRY_AFTER = 86_400.0
DEFAULT_RETRY_AFTER = 3_600.0
_REDIRECTS = (301, 302, 303, 307, 308)
_CHUNK = 65_536
_KEEP_HEADERS = ("content-type", "cache-control", "expires", "retry-after", "server", "age")

ACCEPT_HEADERS = {
    "feed": "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, "
            "*/*;q=0.1",
    "sitemap": "application/xml, text/xml;q=0.9, */*;q=0.1",
    "html": "text/html, application/xhtml+xml;q=0.9, */*;q=0.1",
    "article": "text/html, application/xhtml+xml;q=0.9, application/pdf;q=0.8, */*;q=0.1",
    "json": "application/json, */*;q=0.1",
    "robots": "text/plain, */*;q=0.1",
}
_TYPES = {
    "feed": ("xml", "rss", "atom", "rdf"),
    "sitemap": ("xml", "gzip", "octet-stream"),
    "html": ("text/html", "xhtml"),
    "article": ("text/html", "xhtml", "pdf"),
    "json": ("json",),
    "robots": ("",),
}
_SNIFF = {
    "feed": (b"<?xml", b"<rss", b"<feed", b"<rdf:rdf"),
    "sitemap": (b"<?xml", b"<urlset", b"<sitemapindex", b"\x1f\x8b"),
    "html": (b"<!doctype html", b"<html"),
    "article": (b"<!doctype html", b"<html", b"%pdf-"),
    "json": (b"{", b"["),
}
_CHALLENGE = (b"Just a moment...", b"Attention Required! | Cloudflare", b"Verifying your browser",
              b"Please enable JS", b"cf-browser-verification")

log = logging.getLogger(__name__)

RequestHook = Callable[[str, str], None]
"""Called with (url, outcome) for every HTTP exchange: outcome is a status or an error kind."""


class FetchStopped(FetchError):
    """A stop was asked for: the request was not sent, or was abandoned in flight."""

    def __init__(self, message: str, url: str | None = None):
        super().__init__(message, kind="stopped", url=url)


class ValidatorStore(Protocol):
    def load_validators(self, url: str) -> tuple[str | None, str | None] | None: ...


class HttpClient:
    """Shared by all sources of a run; safe to use from several threads.

    Each exchange, connect to last byte, is cut off after ``total_timeout``. Once ``stop``
    is set, no request starts, waits (pacing, Retry-After, backoff) end, and a request in
    flight is abandoned unless it completes within a moment; each raises FetchStopped.
    """

    def __init__(self, settings: FetchSettings, store: RobotsStore | None = None,
                 stop: threading.Event | None = None):
        self.settings = settings
        self._stop = stop or threading.Event()
        self._watchdog = Watchdog(self._stop)
        self._session = requests.Session()
        self._session.headers.update({"User-Agent": settings.user_agent,
                                      "Accept-Encoding": "gzip, deflate"})
        self._session.trust_env = False  # no proxies or .netrc picked up behind the user's back
        adapter = WatchedAdapter()
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self.pacer = HostPacer(settings.per_host_delay, sleep=self._pause)
        self.robots = RobotsCache(
            settings.user_agent, self._fetch_robots, store, settings.robots_cache,
            on_crawl_delay=self.pacer.set_min_delay,
        ) if settings.respect_robots else None

    def close(self) -> None:
        self._session.close()
        self._watchdog.close()

    def _pause(self, seconds: float) -> None:
        """Sleep; a stop ends the wait with FetchStopped."""
        if self._stop.wait(seconds):
            raise FetchStopped("stopped while waiting to send a request")

    def get(self, url: str, *, accept: str, hook: RequestHook | None = None,
            public_only: bool = False) -> Page:
        """Fetch ``url``.

        Transient failures are retried with exponential backoff; every other failure
        raises FetchError with a ``kind`` the caller can record. ``public_only``: connect
        to public addresses only, at every hop (see fetch.addresses).
        """
        with public_only_in(public_only):
            page = self._get(url, accept, None, hook)
        assert page is not None  # only a conditional request can be answered 304
        return page

    def get_conditional(self, url: str, *, accept: str,
                        validators: tuple[str | None, str | None] | None,
                        hook: RequestHook | None = None, public_only: bool = False
                        ) -> Page | None:
        """As ``get``, sending ``validators`` (ETag, Last-Modified) when there are any;
        None means 304 Not Modified: nothing changed since they were stored."""
        with public_only_in(public_only):
            return self._get(url, accept, validators, hook)

    def _get(self, url: str, accept: str, validators, hook) -> Page | None:
        attempt = 1
        while True:
            try:
                return self._get_once(url, accept, validators, hook)
            except FetchStopped:
                raise
            except FetchError as exc:
                wait = self._retry_wait(exc, attempt)
                if wait is None:
                    raise
                self._pause(wait)
                attempt += 1

    def _retry_wait(self, exc: FetchError, attempt: int) -> float | None:
        if attempt >= self.settings.max_attempts or exc.kind == "unreachable":
            return None  # no answer even to robots.txt: the next poll tries again
        if exc.kind == "rate_limited":
            wait = exc.retry_after
            return wait if wait is not None and wait <= self.settings.retry_after_max_wait else None
        if exc.transient or (exc.kind == "http" and exc.status == 408):
            base = self.settings.backoff * 2 ** (attempt - 1)
            return base * random.uniform(0.5, 1.5)
        return None

    def _get_once(self, url: str, accept: str, validators, hook) -> Page | None:
        current = url
        redirects: list[tuple[int, str]] = []
        seen = {canonicalize(url)}
        while True:
            if self.robots is not None:
                self.robots.check(current)
            headers = {"Accept": ACCEPT_HEADERS[accept]}
            if validators and not redirects:
                etag, modified = validators
                if etag:
                    headers["If-None-Match"] = etag
                if modified:
                    headers["If-Modified-Since"] = modified
            status, resp_headers, body = self._exchange(current, headers, hook)
            if status in _REDIRECTS:
                location = resp_headers.get("location")
                if not location:
                    raise FetchError(f"HTTP {status} without a Location", kind="http",
                                     status=status, url=current)
                # Follow the Location as given; its canonical form only detects loops.
                target = urljoin(current, location.strip())
                if canonicalize(target) in seen:
                    raise FetchError(f"redirect loop at {target}", kind="redirects", url=url,
                                     hint="the site's redirects go round in a circle")
                if len(redirects) >= self.settings.max_redirects:
                    raise FetchError(f"more than {self.settings.max_redirects} redirects",
                                     kind="redirects", url=url)
                seen.add(canonicalize(target))
                redirects.append((status, target))
                current = target
                continue
            if status == 304 and validators and not redirects:
                return None
            self._check_status(status, resp_headers, body, current)
            return self._page(url, current, status, resp_headers, body, accept, redirects)

    def _exchange(self, url: str, headers: dict[str, str],
                  hook: RequestHook | None) -> tuple[int, dict[str, str], bytes]:
        """One request/response, paced per host, bounded in time (connect to last byte)
        and with the body read under the caps."""
        site = origin(url)
        if blocked := self.pacer.blocked(site):
            left, reason = blocked
            raise FetchError(f"not asked: the host said to wait {left:.0f}s more ({reason})",
                             kind="rate_limited", url=url, retry_after=left)
        with self.pacer.slot(site):
            if self._stop.is_set():
                raise FetchStopped("stopped before the request was sent", url=url)
            with self._watchdog.watch(self.settings.total_timeout) as watch:
                return self._request(url, headers, hook, watch)

    def _request(self, url: str, headers: dict[str, str], hook: RequestHook | None,
                 watch: Watch) -> tuple[int, dict[str, str], bytes]:
        s = self.settings
        try:
            resp = self._session.get(url, headers=headers, stream=True, allow_redirects=False,
                                     timeout=(s.connect_timeout, s.read_timeout))
        except requests.RequestException as exc:
            error = self._cut_error(watch, url) or _request_error(exc, url, s)
            self._note(hook, url, error.kind)
            raise error from None
        try:
            self._note(hook, url, str(resp.status_code))
            resp_headers = {k.lower(): v for k, v in resp.headers.items()}
            body = b""
            if resp.status_code not in _REDIRECTS and resp.status_code != 304:
                body = self._read(resp, url, resp.status_code)
        except FetchError as exc:
            raise (self._cut_error(watch, url) or exc) from None
        finally:
            resp.close()
        # A socket shut down by the watchdog reads as the end of a body: never take it for one.
        if cut := self._cut_error(watch, url):
            raise cut
        return resp.status_code, resp_headers, body

    def _cut_error(self, watch: Watch, url: str) -> FetchError | None:
        """Why the watchdog cut this exchange off, as the error to raise; None if it did not."""
        if watch.reason == "stop":
            return FetchStopped("stopped: the request in flight was abandoned", url=url)
        if watch.reason == "deadline":
            return FetchError(f"timed out: response not complete within "
                              f"{self.settings.total_timeout:g}s (total_timeout)",
                              kind="timeout", url=url)
        return None

    def _read(self, resp: requests.Response, url: str, status: int) -> bytes:
        limit = self.settings.max_bytes if status < 400 else 65_536  # error pages: a peek is enough
        declared = resp.headers.get("content-length", "")
        if status < 400 and declared.isdigit() and int(declared) > limit:
            raise FetchError(f"response too large: {int(declared):,} bytes declared "
                             f"(limit {limit:,})", kind="too_large", url=url,
                             hint="raise fetch.max_bytes if this page is wanted")
        chunks, size = [], 0
        try:
            # read1 returns whatever has arrived, so the size cap applies as bytes come in
            # (iter_content would wait for a full chunk).
            while chunk := resp.raw.read1(_CHUNK, decode_content=True):
                size += len(chunk)
                if size > limit:
                    if status >= 400:
                        break
                    raise FetchError(f"response too large: over {limit:,} bytes", kind="too_large",
                                     url=url, hint="raise fetch.max_bytes if this page is wanted")
                chunks.append(chunk)
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            timed_out = isinstance(exc, requests.Timeout | urllib3.exceptions.TimeoutError)
            raise FetchError(f"connection broke while reading: {_reason(exc)}",
                             kind="timeout" if timed_out else "connection", url=url) from None
        return b"".join(chunks)

    def _check_status(self, status: int, headers: dict[str, str], body: bytes, url: str) -> None:
        if status in (429, 503) and (status == 429 or "retry-after" in headers):
            wait = retry_after_seconds(headers.get("retry-after"))
            if wait > self.settings.retry_after_max_wait:
                self.pacer.block(origin(url), wait, f"HTTP {status} to {url}")
            raise FetchError(f"HTTP {status}: asked to retry after {wait:.0f}s",
                             kind="rate_limited", status=status, url=url, retry_after=wait,
                             hint="the host is rate limiting; it is retried on a later poll")
        if status in (401, 403) or (status >= 400 and any(m in body for m in _CHALLENGE)):
            raise FetchError(f"HTTP {status}: blocked by the site", kind="blocked", status=status,
                             url=url, hint="the publisher refuses automated fetching; ask them, "
                             "or use headlines from another source")
        if status >= 400 or status < 200:
            raise FetchError(f"HTTP {status}", kind="http", status=status, url=url)

    def _page(self, url: str, final: str, status: int, headers: dict[str, str], body: bytes,
              accept: str, redirects: list[tuple[int, str]]) -> Page:
        ctype = headers.get("content-type", "").strip()
        if not _type_ok(accept, ctype, body):
            expected = {"feed": "a feed", "sitemap": "a sitemap", "json": "JSON"}.get(accept,
                                                                                      "a web page")
            moved = " (has the feed moved?)" if accept == "feed" and "html" in ctype else ""
            raise FetchError(f"expected {expected} but got {ctype or 'no content type'}{moved}",
                             kind="content_type", url=final)
        if accept in ("html", "article") and any(m in body[:20_000] for m in _CHALLENGE[:3]):
            raise FetchError("a bot-protection challenge page came back", kind="blocked",
                             status=status, url=final)
        if accept in ("feed", "sitemap"):
            body = strip_controls(body)
        return Page.from_bytes(
            url, body, ctype, final_url=final, status=status,
            etag=headers.get("etag"), last_modified=headers.get("last-modified"),
            redirects=tuple(redirects),
            headers={k: headers[k] for k in _KEEP_HEADERS if k in headers},
        )

    def _fetch_robots(self, url: str) -> RobotsAnswer:
        """robots.txt is fetched without a robots check, following up to 5 redirects."""
        current = url
        for _ in range(6):
            try:
                status, headers, body = self._exchange(current, {"Accept": "text/plain"}, None)
            except FetchStopped:
                raise  # nothing was learned: no verdict on the host
            except FetchError as exc:
                return RobotsAnswer(0, "", exc.message, exc.kind)
            if status in _REDIRECTS and headers.get("location"):
                current = urljoin(current, headers["location"].strip())
                continue
            text = decode(body, headers.get("content-type", ""))[0] if status < 300 else ""
            return RobotsAnswer(status, text)
        return RobotsAnswer(0, "", "too many redirects")

    @staticmethod
    def _note(hook: RequestHook | None, url: str, outcome: str) -> None:
        log.info("GET %s -> %s", url, outcome)
        if hook is not None:
            hook(url, outcome)


class SourceFetcher:
    """The client as one source sees it: conditional requests from stored validators,
    and a count of every request made on the source's behalf."""

    def __init__(self, client: HttpClient, validators: ValidatorStore | None,
                 home: str | None = None):
        self._client = client
        self._validators = validators
        self.outcomes: Counter[str] = Counter()
        # A source on a public address is never led to a private one (fetch.addresses).
        self.public_only = home is not None and not internal_source(home)

    @property
    def requests(self) -> int:
        return sum(self.outcomes.values())

    def get(self, url: str, *, accept: str) -> Page:
        return self._client.get(url, accept=accept, hook=self._hook,
                                public_only=self.public_only)

    def get_conditional(self, url: str, *, accept: str) -> Page | None:
        """The page, or None when it has not changed since the validators stored for it."""
        validators = (self._validators.load_validators(url) if self._validators is not None
                      else None)
        return self._client.get_conditional(url, accept=accept, validators=validators,
                                            hook=self._hook, public_only=self.public_only)

    def _hook(self, url: str, outcome: str) -> None:
        self.outcomes[outcome] += 1


def retry_after_seconds(value: str | None) -> float:
    """Retry-After as seconds: delta-seconds or an HTTP date; 1 h if absent, at most 24 h."""
    if not value:
        return DEFAULT_RETRY_AFTER
    value = value.strip()
    if value.isdigit():
        seconds = float(value)
    else:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return DEFAULT_RETRY_AFTER
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _request_error(exc: requests.RequestException, url: str, s: FetchSettings) -> FetchError:
    if refused := _cause(exc, AddressRefused):
        return FetchError(f"not fetched: {refused}", kind="blocked", url=url,
                          hint="a redirect or link on a public site pointed inside a private "
                               "network; configure such a source by its own address")
    if isinstance(exc, requests.Timeout):
        what = (f"no connection within {s.connect_timeout:g}s"
                if isinstance(exc, requests.ConnectTimeout)
                else f"no answer within {s.read_timeout:g}s")
        return FetchError(f"timed out: {what}", kind="timeout", url=url)
    return FetchError(f"connection failed: {_reason(exc)}", kind="connection", url=url)


def _type_ok(accept: str, ctype: str, body: bytes) -> bool:
    lowered = ctype.lower()
    if any(t in lowered for t in _TYPES[accept]):
        return True
    sniff = _SNIFF.get(accept, ())
    head = body[:512].lstrip().lower()
    generic = not lowered or lowered.startswith(("text/plain", "application/octet-stream"))
    # Feeds are often served as text/html by misconfigured servers; trust the bytes then.
    return (generic or accept in ("feed", "sitemap")) and head.startswith(sniff)


def _cause(exc: BaseException, kind: type[BaseException]) -> BaseException | None:
    """The first exception of ``kind`` in ``exc``'s chain of causes."""
    seen: set[int] = set()
    stack = [exc]
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, kind):
            return item
        stack += [x for x in (getattr(item, "reason", None), item.__cause__, item.__context__,
                              *getattr(item, "args", ())) if isinstance(x, BaseException)]
    return None


def _reason(exc: BaseException) -> str:
    """The root cause in plain words ("connection refused"), not urllib3's wrapper reprs."""
    import http.client
    import socket

    chain, seen = exc, set()
    while id(chain) not in seen:
        seen.add(id(chain))
        inner = getattr(chain, "reason", None)
        if not isinstance(inner, BaseException):
            inner = next((a for a in getattr(chain, "args", ()) if isinstance(a, BaseException)),
                         None) or chain.__cause__ or chain.__context__
        if inner is None:
            break
        chain = inner
    if isinstance(chain, socket.gaierror):
        return "host name not found"
    if isinstance(chain, http.client.RemoteDisconnected):
        return "the server closed the connection without answering"
    if isinstance(chain, OSError) and chain.strerror:
        return chain.strerror[0].lower() + chain.strerror[1:]
    text = str(chain) or type(chain).__name__
    return text if len(text) < 160 else text[:160] + "…"
