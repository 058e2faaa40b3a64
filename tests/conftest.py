"""Shared fixtures: real servers on 127.0.0.1, a fresh SQLite file per test, fast settings."""

from __future__ import annotations

import asyncio
import email
import os
import socket
from collections.abc import Callable, Iterator
from email import policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from sectorwatch.config import Config, parse_config
from sectorwatch.demo.server import Site
from sectorwatch.store import Store
from tests import pg
from tests.hostile import HostileSite

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
def hostile() -> Iterator[HostileSite]:
    """One server that misbehaves on demand (tests/hostile.py), stopped after the test."""
    site = HostileSite().start()
    yield site
    site.stop()


ON_POSTGRES = os.environ.get("SECTORWATCH_TEST_STORE", "sqlite") == "postgres"


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """The PostgreSQL server the tests make their databases on (see tests/pg.py)."""
    url, cluster = pg.server_url()
    yield url
    if cluster is not None:
        cluster.stop()


@pytest.fixture
def db_url(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh, empty store per test: a SQLite file, or with SECTORWATCH_TEST_STORE=postgres
    a database of its own on PostgreSQL (tests marked sqlite_only keep SQLite)."""
    if not ON_POSTGRES or request.node.get_closest_marker("sqlite_only"):
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    server = request.getfixturevalue("pg_server")
    url = pg.create_database(server)
    yield url
    pg.drop_database(server, url)


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
        self.raw: list[bytes] = []  # each message exactly as it came off the wire
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
        self.raw.append(envelope.original_content)
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


DOVECOT = Path("/usr/sbin/dovecot")  # Debian's dovecot-core; IMAP from dovecot-imapd


class Dovecot:
    """A throwaway dovecot on 127.0.0.1: STARTTLS on ``port``, implicit TLS on
    ``tls_port``, its certificate in ``ca_file``; plain-text login allowed (loopback)."""

    USERS = 50

    def __init__(self, root: Path, port: int, tls_port: int, ca_file: Path):
        import secrets

        self.root, self.port, self.tls_port, self.ca_file = root, port, tls_port, ca_file
        # all written before dovecot starts: it re-reads the file only when its time or
        # size changes, and two additions within a second can look like none
        self._users = [(f"unsub{i}", secrets.token_urlsafe(12)) for i in range(self.USERS)]
        (root / "passwd").write_text("".join(f"{name}:{{PLAIN}}{password}::::::\n"
                                             for name, password in self._users))

    def user(self) -> tuple[str, str]:
        """A mailbox of its own: (login name, password)."""
        return self._users.pop()

    def connect(self, name: str, password: str):
        """An IMAP session as ``name`` (STARTTLS, verified), INBOX selected."""
        import imaplib
        import ssl

        conn = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        conn.starttls(ssl_context=ssl.create_default_context(cafile=str(self.ca_file)))
        conn.login(name, password)
        conn.select("INBOX")
        return conn

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def dovecot():
    """A real IMAP server (Debian's dovecot) for the session, with its own config, users
    and maildirs in a temporary folder. Runs as root (logins as dovenull, mail as dovecot)
    or as an ordinary user (everything as that user). Skipped where dovecot is not
    installed, unless SECTORWATCH_REQUIRE_DOVECOT is set (CI sets it after installing)."""
    import grp
    import os
    import pwd
    import shutil
    import signal
    import subprocess
    import tempfile
    import time

    if not DOVECOT.exists() or not Path("/usr/lib/dovecot/imap").exists():
        if os.environ.get("SECTORWATCH_REQUIRE_DOVECOT"):
            pytest.fail(f"{DOVECOT} is missing: apt-get install dovecot-imapd")
        pytest.skip("dovecot is not installed (apt-get install dovecot-imapd)")
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    # not under pytest's tmp: that is private to its owner, and dovecot's login processes
    # (another user when we are root) must reach the sockets in base_dir
    root = Path(tempfile.mkdtemp(prefix="sw-dovecot-"))
    root.chmod(0o755)
    cert, key = root / "cert.pem", root / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    me = pwd.getpwuid(os.getuid()).pw_name
    group = grp.getgrgid(os.getgid()).gr_name
    if os.getuid() == 0:  # dovecot runs neither logins nor mail as root
        internal, internal_group, login, mail_user = "dovecot", "dovecot", "dovenull", "dovecot"
    else:
        internal, internal_group, login, mail_user = me, group, me, me
    mail = root / "mail"
    mail.mkdir()
    shutil.chown(mail, pwd.getpwnam(mail_user).pw_uid, pwd.getpwnam(mail_user).pw_gid)
    port, tls_port = free_port(), free_port()
    server = Dovecot(root, port, tls_port, cert)
    conf = root / "dovecot.conf"
    conf.write_text(f"""instance_name = sectorwatch-test-{port}
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
disable_plaintext_auth = no
first_valid_uid = 1
first_valid_gid = 1
auth_mechanisms = plain login
auth_failure_delay = 0
default_internal_user = {internal}
default_internal_group = {internal_group}
default_login_user = {login}
mail_location = maildir:{mail}/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={mail_user} gid={pwd.getpwnam(mail_user).pw_gid} home={mail}/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
""")
    proc = subprocess.Popen([str(DOVECOT), "-F", "-c", str(conf)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    try:
        while True:
            if proc.poll() is not None:
                pytest.fail(f"dovecot exited: {proc.stderr.read().decode(errors='replace')}"
                            f"\n{server.log()}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                    if s.recv(100).startswith(b"* OK"):
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"dovecot did not answer on 127.0.0.1:{port}\n{server.log()}")
            time.sleep(0.1)
        yield server
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stderr.close()
        shutil.rmtree(root, ignore_errors=True)
