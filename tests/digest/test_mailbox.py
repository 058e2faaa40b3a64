"""Unsubscribing by email: the mailto: a digest advertises, read from a real maildir and
from a real IMAP server (dovecot on 127.0.0.1), with real signed tokens."""

from __future__ import annotations

import email
import os
import re
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from email import policy
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from sectorwatch.config import ConfigError, parse_config
from sectorwatch.digest.delivery import send_issue
from sectorwatch.digest.mailbox import MailboxError, find_key, poll
from sectorwatch.digest.subscribers import SubscriberSpec
from sectorwatch.digest.transport import SmtpTransport
from sectorwatch.store import Store
from sectorwatch.tokens import Signer, signer_from_env

SEND_AT = datetime(2026, 11, 23, 8, tzinfo=UTC)
MAILTO = "unsubscribe@news.example.org"
SECTORWATCH = str(Path(sys.executable).parent / "sectorwatch")


def signer() -> Signer:
    return signer_from_env("SECTORWATCH_SECRET")


def make_maildir(path: Path) -> Path:
    for sub in ("cur", "new", "tmp"):
        (path / sub).mkdir(parents=True, exist_ok=True)
    return path


def deliver(maildir: Path, data: bytes) -> Path:
    """Into new/ as a mail server delivers: written in tmp/, then renamed."""
    name = f"{time.time_ns()}.{os.getpid()}_{threading.get_ident()}.test"
    (maildir / "tmp" / name).write_bytes(data)
    os.rename(maildir / "tmp" / name, maildir / "new" / name)
    return maildir / "new" / name


def request(subject: str, body: str = "", *, sender: str = "jo@example.org",
            headers: str = "") -> bytes:
    """The email a mail client writes for <mailto:…?subject=…>."""
    return (f"From: {sender}\r\nTo: {MAILTO}\r\nSubject: {subject}\r\n"
            f"Date: Mon, 23 Nov 2026 09:00:00 +0000\r\nMessage-ID: <{time.time_ns()}@ex>\r\n"
            f"{headers}MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            f"{body}\r\n").encode()


def config_for(db_url: str, box: str, extra: str = ""):
    return parse_config(f"""database_url: "{db_url}"
sources: []
digest:
  unsubscribe_mailto: "{MAILTO}"
  unsubscribe_mailbox: {box}
{extra}
""", "test.yaml")


def subscribe(store: Store, *addresses: str) -> dict[str, str]:
    """{address: its signed unsubscribe token}."""
    for address in addresses:
        store.save_subscriber(SubscriberSpec(address, address.split("@")[0].title()))
    return {spec.email: signer().sign("unsubscribe", key) for spec, key in store.subscribers()}


def status(store: Store) -> dict[str, str]:
    return {spec.email: spec.status for spec, _ in store.subscribers()}


# -- the whole path, through a maildir ---------------------------------------------------

def test_an_emailed_unsubscribe_in_a_maildir_unsubscribes_its_reader_and_replies_nothing(
        smtp, store, db_url, tmp_path):
    inbox, port = smtp()
    box = make_maildir(tmp_path / "Maildir")
    config = config_for(db_url, f'{{type: maildir, maildir: "{box}"}}', f"""  transport: smtp
  send_empty: true
  smtp: {{host: 127.0.0.1, port: {port}, security: none, rate: 1000}}""")
    subscribe(store, "jo@example.org", "sam@example.org")
    assert send_issue(config, store, SmtpTransport(config.digest.smtp), SEND_AT,
                      entries=[]).sent == 2
    jos = next(m for m in inbox.messages if m["To"].addresses[0].addr_spec == "jo@example.org")
    mailto = re.search(r"<(mailto:[^>]+)>", jos["List-Unsubscribe"])[1]
    parts = urlsplit(mailto)
    assert parts.path == MAILTO
    [subject] = parse_qs(parts.query)["subject"]
    deliver(box, request(f"Re: {subject}"))  # what the reader's mail client sent
    deliver(box, request("please take me off your list"))  # a person wrote: left for one

    report = poll(config, store, signer())

    assert (report.read, report.unsubscribed, report.ignored) == (2, 1, 1)
    assert status(store) == {"jo@example.org": "unsubscribed", "sam@example.org": "active"}
    state = store.subscriber_state("jo@example.org")
    assert state.via == "mailbox"
    assert len(inbox.raw) == 2  # nothing was sent back, to anyone
    assert list((box / "new").iterdir()) == []
    [left] = (box / "cur").iterdir()  # the handled request is gone; the other is seen
    assert left.name.endswith(":2,S") and b"take me off" in left.read_bytes()
    again = poll(config, store, signer())
    assert (again.read, again.unsubscribed, again.ignored) == (0, 0, 0)


@pytest.mark.parametrize("subject", [
    "{t}", "Re: {t}", "RE:  Fwd:   {t}  ", '"{t}"', "'{t}'", "<{t}>", "unsubscribe {t}.",
    "=?utf-8?q?Re=3A_{q}?=", "{t}\r\n (folded)",
])
def test_the_token_is_found_through_what_mail_clients_add_to_the_subject(subject):
    key = "k" * 32
    token = signer().sign("unsubscribe", key)
    encoded = token.replace("_", "=5F")  # as an encoded word: '_' would be a space
    assert find_key(request(subject.format(t=token, q=encoded)), signer()) == (key, "subject")


def test_only_a_valid_unsubscribe_token_counts():
    key = "k" * 32
    real = signer().sign("unsubscribe", key)
    others = [
        signer().sign("manage", key),  # the manage link, quoted in a reply
        signer().sign("confirm", key, ttl=3600),
        real[:-1] + ("A" if real[-1] != "A" else "B"),  # altered
        Signer((b"another-secret-" + b"y" * 40,)).sign("unsubscribe", key),  # forged
        "x" + real,  # part of a longer word
    ]
    for token in others:
        assert find_key(request(token, f"body {token}"), signer()) is None, token


def test_a_token_in_the_body_counts_but_not_in_an_automatic_reply_or_a_report():
    key = "b" * 32
    token = signer().sign("unsubscribe", key)
    body = f"Please unsubscribe me.\r\n\r\n> https://news.example.org/u/{token}\r\n"
    assert find_key(request("unsubscribe", body), signer()) == (key, "body")
    assert find_key(request("Out of office", body, headers="Auto-Submitted: auto-replied\r\n"),
                    signer()) is None
    report = (f"From: MAILER-DAEMON@example.org\r\nTo: {MAILTO}\r\nSubject: Undelivered\r\n"
              "MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type="
              'delivery-status; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n'
              f"Could not deliver.\r\n{body}\r\n--b--\r\n").encode()
    assert find_key(report, signer()) is None


def test_a_poll_reads_at_most_max_messages_and_only_the_start_of_each(store, db_url,
                                                                     tmp_path):
    box = make_maildir(tmp_path / "Maildir")
    config = config_for(db_url, f'{{type: maildir, maildir: "{box}", max_messages: 3, '
                                f'max_bytes: 20kB}}')
    tokens = subscribe(store, "a@example.org", "b@example.org", "c@example.org")
    padding = "x" * 70 + "\r\n"
    # a 2 MB request whose token is in the Subject: read, acted on
    deliver(box, request(tokens["a@example.org"], padding * 30_000))
    # the token only after the bytes a poll reads: never seen, so not acted on
    deliver(box, request("unsubscribe", padding * 400 + tokens["b@example.org"]))
    for _ in range(3):
        deliver(box, request("hello"))
    first = poll(config, store, signer())
    assert (first.read, first.unsubscribed, first.ignored, first.waiting) == (3, 1, 2, 2)
    second = poll(config, store, signer())
    assert (second.read, second.ignored, second.waiting) == (2, 2, 0)
    assert status(store) == {"a@example.org": "unsubscribed", "b@example.org": "active",
                             "c@example.org": "active"}


def test_a_message_the_parser_chokes_on_is_left_seen_and_does_not_block_the_rest(
        store, db_url, tmp_path):
    box = make_maildir(tmp_path / "Maildir")
    config = config_for(db_url, f'{{type: maildir, maildir: "{box}"}}')
    tokens = subscribe(store, "jo@example.org")
    nested = "".join(f"--b{i}\r\nContent-Type: multipart/mixed; boundary=b{i + 1}\r\n\r\n"
                     for i in range(1500))  # deeper than the parser's recursion limit
    deliver(box, ("Subject: hi\r\nContent-Type: multipart/mixed; boundary=b0\r\n\r\n"
                  + nested).encode())
    deliver(box, request(tokens["jo@example.org"]))
    report = poll(config, store, signer())
    assert (report.read, report.unsubscribed, report.ignored) == (2, 1, 1)
    assert status(store) == {"jo@example.org": "unsubscribed"}


def test_two_pollers_at_once_unsubscribe_each_reader_once_and_fail_nowhere(db_url, tmp_path):
    box = make_maildir(tmp_path / "Maildir")
    config = config_for(db_url, f'{{type: maildir, maildir: "{box}"}}')
    people = [f"p{i:02d}@example.org" for i in range(30)]
    with Store.open(db_url) as store:
        tokens = subscribe(store, *people)
    for address in people:
        deliver(box, request(f"Re: {tokens[address]}"))
        deliver(box, request(tokens[address]))  # the client sent it twice
    reports, failures = [], []

    def run() -> None:
        try:
            with Store.open(db_url) as own:
                reports.append(poll(config, own, signer()))
        except Exception as exc:  # any failure at all fails the test below
            failures.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not failures
    assert sum(r.unsubscribed for r in reports) == len(people)
    assert sum(r.ignored for r in reports) == 0
    with Store.open(db_url) as store:
        assert set(status(store).values()) == {"unsubscribed"}
        assert all(len([h for h in store.subscriber_history(a) if h.event == "unsubscribed"])
                   == 1 for a in people)
    assert list((box / "new").iterdir()) == [] and list((box / "cur").iterdir()) == []


def test_a_folder_that_is_not_a_maildir_is_an_error_that_loses_nothing(store, db_url,
                                                                       tmp_path):
    config = config_for(db_url, f'{{type: maildir, maildir: "{tmp_path / "nowhere"}"}}')
    with pytest.raises(MailboxError, match="not a maildir"):
        poll(config, store, signer())


# -- IMAP: dovecot on 127.0.0.1 ----------------------------------------------------------

def imap_config(db_url: str, dovecot, user: str, security: str = "starttls",
                ca: bool = True):
    port = dovecot.port if security == "starttls" else dovecot.tls_port
    ca_file = f'"{dovecot.ca_file}"' if ca else "null"
    return config_for(db_url, f"""
    type: imap
    host: 127.0.0.1
    port: {port}
    security: {security}
    ca_file: {ca_file}
    username: {user}
    password_env: TEST_IMAP_PASSWORD
    timeout: 10s""")


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_an_emailed_unsubscribe_read_over_imap_unsubscribes_its_reader(
        dovecot, store, db_url, monkeypatch, security):
    user, password = dovecot.user()
    monkeypatch.setenv("TEST_IMAP_PASSWORD", password)
    config = imap_config(db_url, dovecot, user, security)
    tokens = subscribe(store, "jo@example.org", "sam@example.org")
    conn = dovecot.connect(user, password)
    try:
        conn.append("INBOX", None, None, request(f"Re: {tokens['jo@example.org']}"))
        conn.append("INBOX", None, None, request("what is this list?"))
        report = poll(config, store, signer())
        assert (report.read, report.unsubscribed, report.ignored) == (2, 1, 1)
        assert status(store) == {"jo@example.org": "unsubscribed",
                                 "sam@example.org": "active"}
        conn.noop()
        _, data = conn.uid("SEARCH", "ALL")
        [uid] = data[0].split()  # the request is gone; the question stays, seen
        _, data = conn.uid("FETCH", uid, "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        answer = b" ".join(b" ".join(d) if isinstance(d, tuple) else d for d in data)
        assert b"\\Seen" in answer and b"what is this list?" in answer
    finally:
        conn.logout()
    again = poll(config, store, signer())
    assert (again.read, again.unsubscribed) == (0, 0)


def test_imap_refuses_a_certificate_it_cannot_verify(dovecot, store, db_url, monkeypatch):
    user, password = dovecot.user()
    monkeypatch.setenv("TEST_IMAP_PASSWORD", password)
    with pytest.raises(MailboxError, match="certificate was not trusted") as err:
        poll(imap_config(db_url, dovecot, user, ca=False), store, signer())
    assert "ca_file" in err.value.hint


def test_a_wrong_imap_password_is_an_error_naming_no_secret(dovecot, store, db_url,
                                                            monkeypatch):
    user, _ = dovecot.user()
    monkeypatch.setenv("TEST_IMAP_PASSWORD", "not-the-password")
    with pytest.raises(MailboxError, match=r"login .* refused") as err:
        poll(imap_config(db_url, dovecot, user), store, signer())
    assert "not-the-password" not in str(err.value)


# -- settings, the command line, the scheduler ------------------------------------------

@pytest.mark.parametrize(("box", "path", "says"), [
    ("{type: imap, username: u}", "host", "needs host"),
    ("{type: imap, host: mail.example.org}", "username", "needs username"),
    ("{type: maildir}", "maildir", "needs maildir"),
    ("{type: imap, host: mail.example.org, username: u, security: none}", "security",
     "only allowed to this machine"),
    ("{type: pop3}", "type", "'none', 'imap' or 'maildir'"),
    ("{type: maildir, maildir: /x, poll_evry: 5m}", "poll_evry", "did you mean 'poll_every'"),
])
def test_a_half_configured_mailbox_is_a_config_error(box, path, says):
    with pytest.raises(ConfigError) as err:
        parse_config(f"digest:\n  unsubscribe_mailbox: {box}\n", "box.yaml")
    [problem] = err.value.problems
    assert problem.path == f"digest.unsubscribe_mailbox.{path}" and problem.line == 2
    assert says in str(problem)


def test_a_mailto_that_cannot_go_in_a_link_is_a_config_error_once_it_is_offered():
    text = 'digest:\n  unsubscribe_mailto: "a b@x.org"\n'
    parse_config(text, "box.yaml")  # not offered: not checked
    with pytest.raises(ConfigError, match=r"digest\.unsubscribe_mailto"):
        parse_config(text + "  unsubscribe_mailbox: {type: maildir, maildir: /x}\n", "box.yaml")


def test_every_mailbox_setting_is_documented_in_the_shipped_config():
    from sectorwatch.config import UnsubscribeMailboxSettings, default_config_text

    block = default_config_text().split("unsubscribe_mailbox:", 1)[1].split("\n\n", 1)[0]
    missing = [name for name in UnsubscribeMailboxSettings.model_fields
               if not re.search(rf"^\s+{name}:", block, re.MULTILINE)]
    assert not missing


def sw(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "SECTORWATCH_CONFIG"}
    env["COLUMNS"] = "200"
    return subprocess.run([SECTORWATCH, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=60)


def test_config_check_says_which_unsubscribe_methods_are_in_force(tmp_path):
    plain = tmp_path / "plain.yaml"
    plain.write_text("sources: []\n")
    result = sw("--config", str(plain), "config", "check", cwd=tmp_path)
    assert "unsubscribe: one-click https only (no mailbox configured)" in result.stdout
    imap = tmp_path / "imap.yaml"
    imap.write_text(f"""sources: []
digest:
  unsubscribe_mailto: {MAILTO}
  unsubscribe_mailbox: {{type: imap, host: mail.example.org, username: u, poll_every: 5m}}
""")
    result = sw("--config", str(imap), "config", "check", cwd=tmp_path)
    assert (f"unsubscribe: https and mailto:{MAILTO} (read from "
            "imaps://mail.example.org:993/INBOX every 5m)") in result.stdout


def test_mailbox_poll_from_the_command_line(tmp_path, db_url):
    box = make_maildir(tmp_path / "Maildir")
    config_file = tmp_path / "config.yaml"
    config_file.write_text(f"""database_url: "{db_url}"
sources: []
digest:
  unsubscribe_mailbox: {{type: maildir, maildir: "{box}"}}
""")
    with Store.open(db_url) as store:
        tokens = subscribe(store, "jo@example.org")
    deliver(box, request(tokens["jo@example.org"]))
    deliver(box, request("hello"))
    result = sw("--config", str(config_file), "mailbox", "poll", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "read 2; 1 unsubscribed, 0 already unsubscribed, 1 without a valid token" in \
        result.stdout
    assert "jo@example.org" not in result.stdout + result.stderr
    with Store.open(db_url) as store:
        assert status(store) == {"jo@example.org": "unsubscribed"}
    config_file.write_text(f'database_url: "{db_url}"\nsources: []\n')
    result = sw("--config", str(config_file), "mailbox", "poll", cwd=tmp_path)
    assert result.returncode == 2 and "no unsubscribe mailbox is configured" in result.stderr


def test_the_scheduler_reads_the_mailbox_only_when_one_is_configured(store, db_url,
                                                                     tmp_path):
    from sectorwatch.scheduler import Scheduler

    box = make_maildir(tmp_path / "Maildir")
    config = config_for(db_url, f'{{type: maildir, maildir: "{box}", poll_every: 2m}}')
    now = datetime.now(UTC)
    plain = Scheduler(parse_config(f'database_url: "{db_url}"\nsources: []\n', "t.yaml"))
    assert "mailbox" not in {j.id for j in plain._build(now).get_jobs()}
    sched = Scheduler(config)
    job = sched._build(now).get_job("mailbox")
    assert job.trigger.interval.total_seconds() == 120 and job.next_run_time == now
    tokens = subscribe(store, "jo@example.org")
    deliver(box, request(tokens["jo@example.org"]))
    sched.store = store
    sched.mailbox()
    assert status(store) == {"jo@example.org": "unsubscribed"}
    sched.config = config_for(db_url, f'{{type: maildir, maildir: "{tmp_path / "gone"}"}}')
    sched.mailbox()  # a mailbox it cannot read is logged, and the scheduler carries on


def test_a_request_is_parsed_by_the_standard_parser():
    """The requests these tests make are well-formed mail (a guard on the helpers)."""
    msg = email.message_from_bytes(request("x", "y"), policy=policy.default)
    assert msg["To"] == MAILTO and msg.get_content().strip() == "y"
