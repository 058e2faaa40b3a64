"""Shared fixtures: real servers on 127.0.0.1, a fresh SQLite file per test, fast settings."""

from __future__ import annotations

import asyncio
import email
import socket
from collections.abc import Callable, Iterator
from email import policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from sectorwatch.config import Config, parse_config
from sectorwatch.demo.server import Site
from sectorwatch.store import Store

FAST_FETCH = """
fetch:
  user_agent: "sectorwatch-test/1.0 (+http://127.0.0.1/about)"
  connect_timeout: 2s
  read_timeout: 0.5s
  total_timeout: 5s
  per_host_delay: 0
  backoff: 0.01
  retry_after_max_wait: 2s
  max_attempts: 3
"""


TEST_SECRET = "test-secret-" + "x" * 40


@pytest.fixture(autouse=True)
def signing_secret(monkeypatch):
    """Every test (and the processes tests start) signs links with a known secret."""
    monkeypatch.setenv("SECTORWATCH_SECRET", TEST_SECRET)
    monkeypatch.delenv("SECTORWATCH_SECRET_PREVIOUS", raising=False)
    return TEST_SECRET


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch):
    """Tests never leave 127.0.0.1: any other connection fails loudly."""
    import ipaddress
    import socket

    real_connect = socket.socket.connect

    def guarded(sock, address):
        host = address[0] if isinstance(address, tuple) else None
        if host is not None and not ipaddress.ip_address(host).is_loopback:
            raise AssertionError(f"test tried to reach {address}; only loopback is allowed")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture
def make_site() -> Iterator[Callable[[str], Site]]:
    """Start fixture sites (each on its own port); all stopped after the test."""
    started: list[Site] = []

    def factory(name: str = "site") -> Site:
        site = Site(name).start()
        started.append(site)
        return site

    yield factory
    for site in started:
        site.stop()


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = Store.open(db_url)
    yield s
    s.close()


@pytest.fixture
def make_config(db_url: str) -> Callable[[str], Config]:
    """Config from a YAML ``sources:`` block, with fast fetch settings and the test DB."""

    def factory(sources_yaml: str, extra: str = "") -> Config:
        text = f'database_url: "{db_url}"\n{FAST_FETCH}\n{extra}\nsources:\n{sources_yaml}'
        return parse_config(text, "test-config.yaml")

    return factory


def rss(base: str, items: list[tuple[str, str]], title: str = "Test feed") -> str:
    """A small RSS 2.0 feed: items are (path, title)."""
    entries = "".join(
        f"<item><title>{t}</title><link>{base}{p}</link><guid isPermaLink='false'>{p}</guid>"
        f"<pubDate>Mon, 2{i} Nov 2026 09:00:00 +0000</pubDate>"
        f"<description>About {t}</description></item>"
        for i, (p, t) in enumerate(items)
    )
    return (f"<?xml version='1.0' encoding='UTF-8'?><rss version='2.0'><channel>"
            f"<title>{title}</title><link>{base}/</link>{entries}</channel></rss>")


def article_html(title: str, paragraphs: list[str], canonical: str | None = None) -> str:
    """A plain article page with a little boilerplate around it."""
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    link = f'<link rel="canonical" href="{canonical}">' if canonical else ""
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{title} | Site"
            f"</title>{link}</head><body><nav><a href='/'>Home</a> <a href='/about'>About</a>"
            f"</nav><main><article><h1>{title}</h1>{body}</article></main>"
            f"<footer>© Example Ltd. All rights reserved.</footer></body></html>")


LOREM = [
    "Ofsted inspectors found that children in care were seen regularly by their social "
    "workers, and that plans were reviewed on time in most cases across the county.",
    "The council's director of children's services said the authority had invested in "
    "recruitment and that caseloads had fallen from an average of twenty-four to seventeen.",
    "However, the report said management oversight of children missing from home remained "
    "inconsistent and that return home interviews were not always completed promptly.",
]


class Inbox:
    """What a real SMTP server on 127.0.0.1 (aiosmtpd) received; ``delay`` slows each
    message down (seconds), ``refuse`` answers RCPT for some addresses."""

    def __init__(self, refuse: dict[str, str] | None = None, delay: float = 0.0):
        self.delay = delay
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[list[str]] = []
        self.sessions: set[int] = set()
        self.refuse = refuse or {}

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        self.messages.append(email.message_from_bytes(envelope.original_content,
                                                      policy=policy.default))
        self.envelopes.append(list(envelope.rcpt_tos))
        self.sessions.add(id(session))
        return "250 Message accepted"


@pytest.fixture
def smtp():
    """start(refuse=None, delay=0.0) → (Inbox, port) of a server stopped after the test."""

    def start(refuse=None, delay=0.0):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        inbox = Inbox(refuse, delay)
        controller = Controller(inbox, hostname="127.0.0.1", port=port)
        controller.start()
        started.append(controller)
        return inbox, port

    started: list[Controller] = []
    yield start
    for c in started:
        c.stop()


CHROMIUM = Path("/usr/bin/chromium")  # Debian's; never a downloaded browser
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic", "--disable-dev-shm-usage"]


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium driven by Playwright. Skipped where Debian's chromium is not
    installed, unless SECTORWATCH_REQUIRE_BROWSER is set (CI sets it after installing)."""
    import os

    if not CHROMIUM.exists():
        if os.environ.get("SECTORWATCH_REQUIRE_BROWSER"):
            pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                              args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    """Where a test saves what it rendered: $SECTORWATCH_SCREENSHOTS, or the test's tmp."""
    import os

    folder = Path(os.environ.get("SECTORWATCH_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def wait_for_http(url: str, proc=None, timeout: float = 120.0):
    """The first answer from ``url`` once a server (``proc``, if given) is listening."""
    import time

    import requests

    deadline = time.monotonic() + timeout
    while True:
        assert time.monotonic() < deadline, f"nothing answered at {url}"
        assert proc is None or proc.poll() is None, "the server exited"
        try:
            return requests.get(url, timeout=2)
        except requests.ConnectionError:
            time.sleep(0.1)
