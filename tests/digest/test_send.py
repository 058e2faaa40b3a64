"""Sending against a real SMTP server on 127.0.0.1 (aiosmtpd), and the outbox."""

from __future__ import annotations

import email
import socket
from datetime import datetime, timedelta
from email import policy

import pytest
from aiosmtpd.controller import Controller

from sectorwatch.config import parse_config
from sectorwatch.digest.select import LONDON, Tagged
from sectorwatch.digest.send import issue_key, send_issue
from sectorwatch.digest.stories import Item, Story
from sectorwatch.digest.subscribers import Filters, SubscriberSpec
from sectorwatch.digest.transport import OutboxTransport, SendError, SmtpTransport

SEND = datetime(2026, 11, 23, 8, tzinfo=LONDON)
WORCS, KENT = "E10000034", "E10000016"


class Inbox:
    def __init__(self, refuse: dict[str, str] | None = None):
        self.messages: list[email.message.EmailMessage] = []
        self.refuse = refuse or {}

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.original_content,
                                                      policy=policy.default))
        return "250 Message accepted"


@pytest.fixture
def smtp():
    def start(refuse=None):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        inbox = Inbox(refuse)
        controller = Controller(inbox, hostname="127.0.0.1", port=port)
        controller.start()
        started.append(controller)
        return inbox, port

    started: list[Controller] = []
    yield start
    for c in started:
        c.stop()


def config_for(port: int, db_url: str):
    return parse_config(f"""database_url: "{db_url}"
digest:
  transport: smtp
  smtp: {{host: 127.0.0.1, port: {port}, security: none, rate: 1000}}
sources: []
""", "test.yaml")


def story(n: int, code: str, title: str) -> Tagged:
    item = Item(n, "cc", title, "text", SEND - timedelta(days=1, hours=n),
                frozenset({code}), url=f"https://news.example/{n}",
                lead=f"{title}. Inspectors reported.", source_name="Community Care")
    return Tagged(Story(item), frozenset({code}), frozenset({code}),
                  frozenset({"West Midlands" if code == WORCS else "South East"}),
                  ("inspection",), ())


ENTRIES = [story(1, WORCS, "Worcestershire improves"), story(2, KENT, "Kent fostering drive")]


def subscribe(store, *people: tuple[str, Filters]) -> None:
    for address, filters in people:
        store.save_subscriber(SubscriberSpec(address, address.split("@")[0].title(),
                                             filters=filters))


def test_messages_arrive_with_the_right_headers_and_parts(smtp, store, db_url):
    inbox, port = smtp()
    subscribe(store, ("jo@example.org", Filters((WORCS,))))
    config = config_for(port, db_url)
    report = send_issue(config, store, SmtpTransport(config.digest.smtp), SEND, entries=ENTRIES)
    assert (report.issue, report.sent) == ("2026-W48", 1)
    [msg] = inbox.messages
    assert msg["To"] == "Jo <jo@example.org>" and msg["List-Unsubscribe-Post"] == \
        "List-Unsubscribe=One-Click"
    assert msg["List-Unsubscribe"].strip().startswith("<https://sectorwatch.example.org/u/")
    assert "mailto:unsubscribe@" in msg["List-Unsubscribe"] and msg["List-Id"]
    assert msg["Message-ID"].endswith("@sectorwatch.example.org>") and msg["Date"]
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    html = msg.get_body(("html",)).get_content()
    assert "Worcestershire improves" in html and "Kent fostering drive" not in html
    assert "/u/" in html  # the visible unsubscribe link


def test_a_crash_between_two_sends_then_a_rerun_delivers_exactly_once(smtp, store, db_url):
    inbox, port = smtp()
    subscribe(store, *((f"p{i}@example.org", Filters()) for i in range(4)))
    config = config_for(port, db_url)

    class Crashing(SmtpTransport):
        calls = 0

        def send(self, msg, key):
            Crashing.calls += 1
            if Crashing.calls == 3:
                raise KeyboardInterrupt  # the process dies between the 2nd and 3rd send
            super().send(msg, key)

    with pytest.raises(KeyboardInterrupt):
        send_issue(config, store, Crashing(config.digest.smtp), SEND, entries=ENTRIES)
    assert len(inbox.messages) == 2
    first_ids = {m["Message-ID"] for m in inbox.messages}
    report = send_issue(config, store, SmtpTransport(config.digest.smtp), SEND,
                        entries=ENTRIES)
    assert report.sent == 2
    recipients = sorted(str(m["To"].addresses[0].addr_spec) for m in inbox.messages)
    assert recipients == [f"p{i}@example.org" for i in range(4)]
    again = send_issue(config, store, SmtpTransport(config.digest.smtp), SEND, entries=ENTRIES)
    assert again.sent == 0 and len(inbox.messages) == 4
    assert first_ids <= {m["Message-ID"] for m in inbox.messages}
    assert store.delivery_counts()["2026-W48"]["sent"] == 4


def test_refusals_defer_or_fail_one_recipient_and_the_rest_go(smtp, store, db_url):
    _inbox, port = smtp({"busy@example.org": "451 4.7.1 try later",
                        "gone@example.org": "550 5.1.1 no such user"})
    subscribe(store, ("busy@example.org", Filters()), ("gone@example.org", Filters()),
              ("ok@example.org", Filters()))
    config = config_for(port, db_url)
    report = send_issue(config, store, SmtpTransport(config.digest.smtp), SEND, entries=ENTRIES)
    assert (report.sent, report.deferred, report.failed) == (1, 1, 1)
    counts = store.delivery_counts()["2026-W48"]
    assert counts == {"sent": 1, "deferred": 1, "failed": 1}


def test_a_policy_rejection_stops_the_run(smtp, store, db_url):
    inbox, port = smtp({"a@example.org": "550 5.7.26 unauthenticated sender"})
    subscribe(store, ("a@example.org", Filters()), ("b@example.org", Filters()))
    config = config_for(port, db_url)
    with pytest.raises(SendError) as info:
        send_issue(config, store, SmtpTransport(config.digest.smtp), SEND, entries=ENTRIES)
    assert info.value.fatal and inbox.messages == []


def test_nobody_gets_an_empty_digest_unless_asked(tmp_path, store, db_url):
    subscribe(store, ("send@example.org", Filters(topics=("send",))))
    config = parse_config(f'database_url: "{db_url}"\nsources: []\n', "t.yaml")
    outbox = tmp_path / "outbox"
    report = send_issue(config, store, OutboxTransport(outbox), SEND, entries=ENTRIES)
    assert (report.sent, report.skipped) == (0, 1) and list(outbox.iterdir()) == []


def test_the_outbox_writes_eml_and_html(tmp_path, store, db_url):
    subscribe(store, ("jo@example.org", Filters()))
    config = parse_config(f'database_url: "{db_url}"\nsources: []\n', "t.yaml")
    outbox = tmp_path / "outbox"
    send_issue(config, store, OutboxTransport(outbox), SEND, entries=ENTRIES)
    names = sorted(p.name for p in outbox.iterdir())
    assert [n.rsplit(".", 1)[1] for n in names] == ["eml", "html"]
    parsed = email.message_from_bytes((outbox / names[0]).read_bytes(), policy=policy.default)
    assert parsed["Subject"] == "Children's services this week: 23 November 2026"


def test_issue_keys_are_london_iso_weeks():
    assert issue_key(SEND) == "2026-W48"
    assert issue_key(datetime(2027, 1, 1, 8, tzinfo=LONDON)) == "2026-W53"


def test_shared_renderings_are_personalised(tmp_path, store, db_url):
    store.save_subscriber(SubscriberSpec("a@example.org", "Ann <b>", filters=Filters()))
    store.save_subscriber(SubscriberSpec("b@example.org", "", filters=Filters()))
    config = parse_config(f'database_url: "{db_url}"\nsources: []\n', "t.yaml")
    outbox = tmp_path / "outbox"
    send_issue(config, store, OutboxTransport(outbox), SEND, entries=ENTRIES)
    tokens = {spec.email: token for spec, token in store.subscribers()}
    pages = {p.name: p.read_text() for p in outbox.glob("*.html")}
    ann, bea = (pages[k] for k in sorted(pages))
    assert "for Ann &lt;b&gt;" in ann and tokens["a@example.org"] in ann
    assert tokens["b@example.org"] in bea and tokens["a@example.org"] not in bea
    assert "for " not in bea.split("<h1")[1].split("</p>")[0]
    assert "SWx" not in ann + bea  # no placeholder left behind
