"""Sending against a real SMTP server on 127.0.0.1 (aiosmtpd), and the outbox."""

from __future__ import annotations

import email
import os
import socket
import threading
from datetime import datetime, timedelta
from email import policy

import pytest

from sectorwatch.config import parse_config
from sectorwatch.digest.delivery import send_issue
from sectorwatch.digest.issue import issue_key, week_entries
from sectorwatch.digest.select import LONDON, Tagged
from sectorwatch.digest.stories import Item, Story
from sectorwatch.digest.subscribers import Filters, SubscriberSpec
from sectorwatch.digest.transport import OutboxTransport, SendError, SmtpTransport
from sectorwatch.lock import Busy, exclusive, lock_path

SEND = datetime(2026, 11, 23, 8, tzinfo=LONDON)
WORCS, KENT = "E10000034", "E10000016"


def config_for(port: int, db_url: str, digest: str = "", smtp: str = ""):
    return parse_config(f"""database_url: "{db_url}"
digest:
  transport: smtp
  smtp: {{host: 127.0.0.1, port: {port}, security: none, rate: 1000{smtp}}}
{digest}
sources: []
""", "test.yaml")


def story(n: int, code: str, title: str, send: datetime = SEND) -> Tagged:
    item = Item(n, "cc", title, "text", send - timedelta(days=1, hours=n),
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
    assert "mailto:" not in msg["List-Unsubscribe"] and msg["List-Id"]  # no mailbox is read
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

        def send(self, msg):
            Crashing.calls += 1
            if Crashing.calls == 3:
                raise KeyboardInterrupt  # the process dies between the 2nd and 3rd send
            super().send(msg)

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


def test_a_deferred_message_is_retried_after_its_wait_then_given_up(smtp, store, db_url):
    inbox, port = smtp({"busy@example.org": "451 4.7.1 try later"})
    subscribe(store, ("busy@example.org", Filters()), ("ok@example.org", Filters()))
    config = config_for(port, db_url, "  retry_delays: [0s, 1h]")
    first = send_issue(config, store, SmtpTransport(config.digest.smtp), SEND, entries=ENTRIES)
    assert (first.sent, first.deferred) == (1, 1)
    # due at once (a 0s wait): retried, deferred again, now for an hour
    second = send_issue(config, store, SmtpTransport(config.digest.smtp), SEND)
    assert (second.sent, second.deferred) == (0, 1)
    assert store.next_retry("2026-W48") > datetime.now(LONDON) + timedelta(minutes=50)
    third = send_issue(config, store, SmtpTransport(config.digest.smtp), SEND)
    assert (third.sent, third.deferred, third.failed) == (0, 0, 0)  # not due yet
    with store.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE deliveries SET next_attempt_at = NULL")
    fourth = send_issue(config, store, SmtpTransport(config.digest.smtp), SEND)
    assert fourth.failed == 1 and store.next_retry("2026-W48") is None  # out of waits
    assert len(inbox.messages) == 1


def test_an_issue_is_frozen_at_its_first_send(smtp, store, db_url):
    inbox, port = smtp()
    subscribe(store, ("a@example.org", Filters()))
    config = config_for(port, db_url)
    send_issue(config, store, SmtpTransport(config.digest.smtp), SEND, entries=ENTRIES[:1])
    subscribe(store, ("b@example.org", Filters()))  # joins later the same week
    later = [*ENTRIES, story(3, KENT, "A story stored after the first send")]
    report = send_issue(config, store, SmtpTransport(config.digest.smtp), SEND, entries=later)
    assert report.sent == 1 and report.stories == 1
    texts = [m.get_body(("plain",)).get_content() for m in inbox.messages]
    assert all("Worcestershire improves" in t and "Kent" not in t for t in texts)
    [row] = store.issue_list()
    assert (row.key, row.story_count) == ("2026-W48", 1)


def test_a_stop_request_ends_the_run_between_messages(smtp, store, db_url):
    inbox, port = smtp()
    subscribe(store, *((f"p{i}@example.org", Filters()) for i in range(5)))
    config = config_for(port, db_url)
    stop = threading.Event()

    class StopAfterTwo(SmtpTransport):
        def send(self, msg):
            super().send(msg)
            if len(inbox.messages) == 2:
                stop.set()  # as SIGTERM does, while a message is in flight

    report = send_issue(config, store, StopAfterTwo(config.digest.smtp), SEND,
                        entries=ENTRIES, stop=stop)
    assert report.stopped and report.sent == 2
    assert store.delivery_counts()["2026-W48"] == {"sent": 2, "pending": 3}
    rest = send_issue(config, store, SmtpTransport(config.digest.smtp), SEND)
    assert rest.sent == 3 and len({m["To"] for m in inbox.messages}) == 5 == len(inbox.messages)


@pytest.mark.sqlite_only  # on PostgreSQL senders share an issue (test_two_senders_…)
def test_a_second_sender_is_refused_while_one_runs(smtp, store, db_url):
    _inbox, port = smtp()
    subscribe(store, ("a@example.org", Filters()))
    config = config_for(port, db_url)
    with exclusive(lock_path(db_url, "send"), "sending the digest"), \
            pytest.raises(Busy) as info:
        send_issue(config, store, SmtpTransport(config.digest.smtp), SEND, entries=ENTRIES)
    assert str(os.getpid()) in info.value.message
    assert store.delivery_counts() == {}


def test_connections_are_renewed_every_n_messages(smtp, store, db_url):
    inbox, port = smtp()
    subscribe(store, *((f"p{i}@example.org", Filters()) for i in range(5)))
    config = config_for(port, db_url, smtp=", messages_per_connection: 2")
    transport = SmtpTransport(config.digest.smtp)
    send_issue(config, store, transport, SEND, entries=ENTRIES)
    transport.close()
    assert len(inbox.messages) == 5 and len(inbox.sessions) == 3


def test_an_injection_in_a_subscriber_name_reaches_nobody_else(smtp, store, db_url):
    inbox, port = smtp()
    for payload in ("Jo\r\nBcc: evil@example.com", "=?UTF-8?Q?=0A?=Bcc: injected@example.com",
                    "Jo\u2028Bcc: evil@example.com"):
        store.save_subscriber(SubscriberSpec(f"{len(payload)}@example.org", payload,
                                             filters=Filters()))
    config = config_for(port, db_url)
    report = send_issue(config, store, SmtpTransport(config.digest.smtp), SEND, entries=ENTRIES)
    assert report.sent == 3
    assert all(len(rcpts) == 1 and rcpts[0].endswith("@example.org") and "evil" not in rcpts[0]
               for rcpts in inbox.envelopes)
    assert all(m["Bcc"] is None and len(m.get_all("To")) == 1 for m in inbox.messages)


def test_a_server_that_is_down_stops_the_run_and_loses_no_one(store, db_url):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here
    subscribe(store, ("a@example.org", Filters()), ("b@example.org", Filters()))
    config = config_for(port, db_url)
    with pytest.raises(SendError) as info:
        send_issue(config, store, SmtpTransport(config.digest.smtp), SEND, entries=ENTRIES)
    assert info.value.fatal and "cannot reach" in info.value.message
    assert store.delivery_counts()["2026-W48"] == {"pending": 2}


def test_an_address_no_message_can_carry_fails_alone_and_the_run_goes_on(smtp, store, db_url):
    # Stored before addresses were checked for this: a non-ASCII local part (no message
    # can carry it without SMTPUTF8) and a non-ASCII domain left in Unicode.
    inbox, port = smtp()
    subscribe(store, ("ann@example.org", Filters()), ("jörg@exämple.de", Filters()),
              ("jo@exämple.de", Filters()), ("zoe@example.org", Filters()))
    config = config_for(port, db_url)
    transport = SmtpTransport(config.digest.smtp)
    report = send_issue(config, store, transport, SEND, entries=ENTRIES)
    assert (report.sent, report.failed) == (2, 2)
    assert sorted(r for m in inbox.envelopes for r in m) == ["ann@example.org",
                                                              "zoe@example.org"]
    assert store.delivery_counts()["2026-W48"] == {"sent": 2, "failed": 2}
    assert all("jö" in e or "exämple" in e for e in report.errors)
    again = send_issue(config, store, transport, SEND, entries=ENTRIES)
    assert (again.sent, again.failed) == (0, 0) and len(inbox.messages) == 2
    transport.close()


def test_an_address_refused_for_good_twice_in_a_row_is_marked_bounced(smtp, store, db_url):
    inbox, port = smtp({"gone@example.org": "550 5.1.1 no such user"})
    subscribe(store, ("gone@example.org", Filters()), ("ok@example.org", Filters()))
    assert inbox.messages == []
    config = config_for(port, db_url)  # bounce_limit: 2 by default

    def send(week: int):
        at = SEND + timedelta(weeks=week)
        return send_issue(config, store, SmtpTransport(config.digest.smtp), at,
                          entries=[story(1, WORCS, "Worcestershire improves", at)])

    first = send(0)
    assert (first.failed, first.bounced) == (1, 0)
    assert [s.email for s, _ in store.subscribers("active")] == ["gone@example.org",
                                                                 "ok@example.org"]
    second = send(1)
    assert (second.failed, second.bounced) == (1, 1)
    assert [s.email for s, _ in store.subscribers("bounced")] == ["gone@example.org"]
    third = send(2)
    assert (third.sent, third.failed) == (1, 0)  # not tried again
    assert [m["To"] for m in inbox.messages] == ["Ok <ok@example.org>"] * 3
    state = store.subscriber_state("gone@example.org")
    assert (state.status, state.via) == ("bounced", "send") and "5.1.1" in state.detail


def test_a_delivery_between_hard_failures_starts_the_count_again(smtp, store, db_url):
    refuse = {"flaky@example.org": "550 5.1.1 no such user"}
    inbox, port = smtp(refuse)
    subscribe(store, ("flaky@example.org", Filters()))
    config = config_for(port, db_url)

    def send(week: int):
        at = SEND + timedelta(weeks=week)
        return send_issue(config, store, SmtpTransport(config.digest.smtp), at,
                          entries=[story(1, WORCS, "Worcestershire improves", at)])

    assert send(0).failed == 1
    inbox.refuse = {}
    assert send(1).sent == 1
    inbox.refuse = refuse
    assert (send(2).failed, store.subscriber_state("flaky@example.org").status) == \
        (1, "active")


def test_a_grade_the_article_only_recalls_is_not_the_weeks_news(store, db_url):
    from sectorwatch.extract.text import fingerprint
    from sectorwatch.models import Article, Link, Page
    from sectorwatch.tag import Tagger

    config = config_for(1, db_url)
    text = ("Worcestershire County Council's children's services have been judged good by "
            "Ofsted inspectors. The council was rated inadequate in 2016.")
    when = SEND - timedelta(days=2)
    url = "https://news.example/worcs-good"
    tags = Tagger.from_config(config).tag("Council judged good", text, when.date())
    assert {(j.grade, j.past) for j in tags.judgements} == {("good", False),
                                                            ("inadequate", True)}
    store.add_article(Article(url=url, title="Council judged good", text=text,
                              fingerprint=fingerprint(text), published=when,
                              published_signal="feed"), "cc", Link(url),
                      Page(url=url, final_url=url, status=200, content_type="text/html",
                           body=b"", fetched_at=when, text=""), tags)
    [entry] = week_entries(config, store, SEND - timedelta(days=7), SEND)
    assert [(j["authority"], j["grade"]) for j in entry.judgements] == [(WORCS, "good")]


def test_two_senders_on_two_hosts_mail_everyone_exactly_once(smtp, store, db_url, tmp_path):
    """Two `digest send` processes at once, each with its own temporary folder (so no
    file lock is shared, as on two machines): on PostgreSQL they share the issue through
    leases; on SQLite the second finds the first sending. Either way, one message each."""
    import subprocess
    import sys
    from collections import Counter

    inbox, port = smtp(delay=0.01)
    people = [f"p{i:03d}@example.org" for i in range(120)]
    subscribe(store, *((p, Filters()) for p in people))
    config = tmp_path / "config.yaml"
    config.write_text(f'database_url: "{db_url}"\ndigest:\n  send_empty: true\n'
                      f'  transport: smtp\n  smtp: {{host: 127.0.0.1, port: {port}, '
                      f'security: none, rate: 1000}}\nsources: []\n')
    procs = []
    for host in ("a", "b"):
        tmp = tmp_path / f"host-{host}"
        tmp.mkdir()
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "sectorwatch.cli", "--config", str(config), "digest", "send",
             "--week", "2026-W48"], env={**os.environ, "TMPDIR": str(tmp)},
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    codes = [p.returncode for p in procs]
    counts = Counter(to for envelope in inbox.envelopes for to in envelope)
    assert counts == Counter(people), outputs  # nobody twice, nobody missed
    if store.engine.dialect.name == "postgresql":
        assert codes == [0, 0], outputs
        assert all("sent" in out for out in outputs)
    else:  # the loser is told another sender holds the lock
        assert sorted(codes)[0] == 0 and ("already sending" in "".join(outputs)
                                          or codes == [0, 0]), outputs
    assert store.delivery_counts()["2026-W48"] == {"sent": len(people)}


def test_a_relay_that_refuses_us_mid_run_stops_it_with_nothing_sent_after(smtp, store,
                                                                          db_url):
    """Messages are built ahead while one is sent: when the relay refuses us for good at
    the third, the ones built behind it never go, and come back pending."""
    inbox, port = smtp()
    subscribe(store, *((f"p{i}@example.org", Filters()) for i in range(8)))
    config = config_for(port, db_url)

    class RefusesAtThird(SmtpTransport):
        calls = 0

        def send(self, msg):
            RefusesAtThird.calls += 1
            if RefusesAtThird.calls == 3:
                raise SendError("530 authentication required", fatal=True)
            super().send(msg)

    with pytest.raises(SendError) as info:
        send_issue(config, store, RefusesAtThird(config.digest.smtp), SEND, entries=ENTRIES)
    assert info.value.fatal and RefusesAtThird.calls == 3 and len(inbox.messages) == 2
    assert store.delivery_counts()["2026-W48"] == {"sent": 2, "pending": 6}
    rest = send_issue(config, store, SmtpTransport(config.digest.smtp), SEND)
    assert rest.sent == 6 and len({m["To"] for m in inbox.messages}) == 8 == len(inbox.messages)


def test_a_worker_process_builds_a_long_list_and_a_refusal_mid_run_loses_no_one(
        smtp, store, db_url):
    """Messages built in a worker process, three batches claimed, a batch built ahead
    when the relay refuses us: nothing after the refusal goes, every row not sent comes
    back pending, and a second run sends each of the rest once."""
    inbox, port = smtp()
    subscribe(store, *((f"p{i:03}@example.org", Filters((WORCS,)) if i % 2 else Filters())
                       for i in range(120)),
              ("nobody@example.org", Filters(topics=("send",))))  # nothing matches
    config = config_for(port, db_url)

    class RefusesAt70(SmtpTransport):
        calls = 0

        def send(self, msg):
            RefusesAt70.calls += 1
            if RefusesAt70.calls == 70:
                raise SendError("530 authentication required", fatal=True)
            super().send(msg)

    with pytest.raises(SendError):
        send_issue(config, store, RefusesAt70(config.digest.smtp), SEND, entries=ENTRIES,
                   build_process=True)
    assert len(inbox.messages) == 69
    counts = store.delivery_counts()["2026-W48"]
    assert counts["sent"] == 69 and counts["pending"] + counts.get("skipped", 0) == 52
    rest = send_issue(config, store, SmtpTransport(config.digest.smtp), SEND,
                      build_process=True)
    assert (rest.sent, len(inbox.messages)) == (120 - 69, 120)
    assert store.delivery_counts()["2026-W48"] == {"sent": 120, "skipped": 1}
    assert len({m["To"] for m in inbox.messages}) == 120
    odd = next(m for m in inbox.messages if m["To"].addresses[0].username == "p001")
    html = odd.get_body(("html",)).get_content()
    assert "Worcestershire improves" in html and "Kent fostering drive" not in html
    assert odd["List-Unsubscribe"].strip().startswith("<https://sectorwatch.example.org/u/")
