"""A real `sectorwatch serve` app (uvicorn on 127.0.0.1) over a store filled by a real
fetch of a local news site, mailing through aiosmtpd on 127.0.0.1."""

from __future__ import annotations

import re
import socket
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from html import escape

import pytest
import requests

from sectorwatch.cli.serve import server
from sectorwatch.config import Config
from sectorwatch.digest.delivery import send_issue
from sectorwatch.digest.select import LONDON
from sectorwatch.digest.subscribers import Filters, SubscriberSpec
from sectorwatch.digest.transport import SmtpTransport
from sectorwatch.pipeline import run_all
from sectorwatch.store import Store
from sectorwatch.tokens import signer_from_env
from sectorwatch.web import create_app
from tests.conftest import Inbox, article_html, rss

SEND = datetime(2026, 11, 23, 8, tzinfo=LONDON)  # issue 2026-W48: articles of 16–22 Nov
WORCS, LEEDS = "E10000034", "E08000035"
HOSTILE = "Worcestershire <script>alert(1)</script> & \"friends\""

ARTICLES = {
    "/news/worcs-inadequate": (
        "Ofsted rates Worcestershire children's services inadequate", [
            "Ofsted has rated children's services at Worcestershire County Council "
            "inadequate overall following an inspection in October 2026.",
            "Inspectors found that too many children in Worcestershire were left at risk of "
            "harm for too long, and that the council's leaders had not understood the scale "
            "of the problems in its social work teams.",
            "Worcestershire County Council said it accepted the findings of the Ofsted "
            "inspection in full and would publish an improvement plan within weeks."]),
    "/news/worcs-hostile": (
        HOSTILE, [
            "Worcestershire County Council has appointed a new director of children's "
            "services, who starts in January and will lead the improvement programme.",
            "The council said the appointment followed the Ofsted inspection and a review "
            "of its social work teams in Worcestershire."]),
    "/news/leeds-fostering": (
        "Leeds launches drive to recruit foster carers", [
            "Leeds City Council has launched a campaign to recruit more foster carers for "
            "older children and sibling groups in Leeds.",
            "The council said fostering households in Leeds had fallen for three years, and "
            "more children were being placed with independent fostering agencies."]),
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Served:
    url: str
    config: Config
    store: Store
    inbox: Inbox

    def mails_to(self, address: str, count: int = 1, timeout: float = 10.0) -> list:
        """The messages for ``address`` once ``count`` have arrived (the app mails from a
        background thread)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [m for m in self.inbox.messages if address in m["To"]]
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(f"{count} message(s) for {address} did not arrive")

    def status(self, address: str) -> str:
        return {s.email: s.status for s, _ in self.store.subscribers()}[address]

    def filters(self, address: str) -> Filters:
        return {s.email: s.filters for s, _ in self.store.subscribers()}[address]

    def key(self, address: str) -> str:
        return {s.email: k for s, k in self.store.subscribers()}[address]


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def link_in(message, prefix: str) -> str:
    text = message.get_body(("plain",)).get_content()
    found = re.search(rf"(http://127\.0\.0\.1:\d+{prefix}[A-Za-z0-9._-]+)", text)
    assert found, f"no {prefix} link in the message"
    return found.group(1)


@pytest.fixture
def serve_web(make_site, make_config, smtp, tmp_path):
    """start(extra_web_yaml="") → Served: news fetched, issue 2026-W48 sent to one reader
    (so the archive has it), the app listening."""
    running: list = []

    def start(web_yaml: str = "") -> Served:
        site = make_site("news")
        site.route("/feed.xml", rss(site.base, [(p, escape(t)) for p, (t, _) in
                                                ARTICLES.items()]), "application/rss+xml")
        for path, (title, paragraphs) in ARTICLES.items():  # titles as a page escapes them
            site.route(path, article_html(escape(title), paragraphs))
        inbox, smtp_port = smtp()
        port = free_port()
        config = make_config(
            f"  - {{id: news, type: feed, url: '{site.base}/feed.xml', name: Local News}}\n",
            f"digest:\n  base_url: 'http://127.0.0.1:{port}'\n  transport: smtp\n"
            f"  smtp: {{host: 127.0.0.1, port: {smtp_port}, security: none, rate: 1000}}\n"
            "web:\n" + (web_yaml or "  subscribe_rate: 50\n"))
        store = Store.open(config.database_url)
        assert run_all(config, store, force=True).ok
        store.save_subscriber(SubscriberSpec("reader@example.org", "Reader"))
        send_issue(config, store, SmtpTransport(config.digest.smtp), SEND)
        inbox.messages.clear()
        app = create_app(config, store, signer_from_env("SECTORWATCH_SECRET"))
        uv = server(app, "127.0.0.1", port, ())
        thread = threading.Thread(target=uv.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not uv.started:
            assert time.monotonic() < deadline, "the web server did not start"
            time.sleep(0.02)
        running.append((uv, thread, store))
        return Served(f"http://127.0.0.1:{port}", config, store, inbox)

    yield start
    for uv, thread, store in running:
        uv.should_exit = True
        thread.join(10)
        store.close()


@pytest.fixture
def served(serve_web) -> Served:
    return serve_web()


@pytest.fixture
def http() -> requests.Session:
    """A client that keeps cookies, as a browser does."""
    with requests.Session() as session:
        yield session
