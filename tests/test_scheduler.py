"""`sectorwatch run`: slots, catch-up, and the real process against a local site and a
real SMTP server (aiosmtpd), stopped with SIGTERM mid-send and started again."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from sectorwatch.config import ConfigError, ScheduleSettings, parse_config
from sectorwatch.digest import snapshot
from sectorwatch.digest.delivery import unfinished
from sectorwatch.digest.issue import issue_key
from sectorwatch.digest.subscribers import Filters, SubscriberSpec
from sectorwatch.scheduler import SINCE_KEY, Scheduler, digest_trigger, latest_slot
from sectorwatch.store import Store
from tests.conftest import FAST_FETCH, LOREM, article_html

LONDON = ZoneInfo("Europe/London")
SECTORWATCH = str(Path(sys.executable).parent / "sectorwatch")


def weekly() -> ScheduleSettings:
    return ScheduleSettings()


def test_the_default_slot_is_monday_0800_london_in_winter_and_summer():
    trigger = digest_trigger(weekly())
    assert trigger.get_next_fire_time(None, datetime(2027, 3, 23, tzinfo=UTC)) == \
        datetime(2027, 3, 29, 8, tzinfo=LONDON)
    assert trigger.get_next_fire_time(None, datetime(2027, 3, 23, tzinfo=UTC)).astimezone(
        UTC).hour == 7  # 08:00 BST
    assert trigger.get_next_fire_time(None, datetime(2027, 1, 5, tzinfo=UTC)).astimezone(
        UTC).hour == 8  # 08:00 GMT


def test_latest_slot_looks_back_only_within_its_window():
    trigger = digest_trigger(weekly())
    wednesday = datetime(2027, 3, 31, 12, tzinfo=UTC)
    assert latest_slot(trigger, wednesday, 3 * 86400) == datetime(2027, 3, 29, 7, tzinfo=UTC)
    assert latest_slot(trigger, wednesday, 2 * 86400) is None
    monday = datetime(2027, 3, 29, 7, tzinfo=UTC)  # the slot itself counts
    assert latest_slot(trigger, monday, 60) == monday
    minutely = digest_trigger(ScheduleSettings(digest={"minute": "*", "second": 5}))
    assert latest_slot(minutely, datetime(2026, 11, 24, 10, 0, 30, tzinfo=UTC), 86400) == \
        datetime(2026, 11, 24, 10, 0, 5, tzinfo=UTC)


@pytest.mark.parametrize(("digest", "says"), [
    ('{day_of_week: 0, hour: 8}', "use day names"),
    ('{day_of_week: "mon-5"}', "use day names"),
    ('{weekday: mon}', "unknown cron field 'weekday'"),
    ('{day_of_week: mon, hour: 25}', "not a valid schedule"),
])
def test_a_bad_digest_schedule_is_a_config_error(digest, says):
    with pytest.raises(ConfigError) as err:
        parse_config(f"schedule:\n  digest: {digest}\n", "sched.yaml")
    [problem] = err.value.problems
    assert problem.path.startswith("schedule.digest") and says in problem.message
    assert problem.file == "sched.yaml" and problem.line == 2


def test_an_unknown_time_zone_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown time zone 'Europe/Londn'"):
        parse_config("schedule:\n  timezone: Europe/Londn\n", "sched.yaml")


def outbox_config(db_url: str, tmp_path: Path):
    return parse_config(f"""database_url: "{db_url}"
sources: []
schedule:
  digest: {{minute: "*"}}
digest:
  outbox_dir: "{tmp_path / 'outbox'}"
  send_empty: true
""", "test.yaml")


def test_catch_up_sends_a_missed_slot_once_and_never_one_before_the_first_start(
        store, db_url, tmp_path):
    store.save_subscriber(SubscriberSpec("jo@example.org", "Jo"))
    config = outbox_config(db_url, tmp_path)
    sched = Scheduler(config)
    sched.store = store
    sched._since = datetime.now(UTC) + timedelta(seconds=1)  # started after the last slot
    sched.catch_up()
    assert not (tmp_path / "outbox").exists()  # history, not a miss

    sched._since = datetime.now(UTC) - timedelta(hours=1)  # was running: the slot was missed
    sched.catch_up()
    sched.catch_up()
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1
    assert not unfinished(store, issue_key(datetime.now(UTC)), datetime.now(UTC))


def test_unfinished_reads_the_delivery_log(store):
    now = datetime.now(UTC)
    assert unfinished(store, "2026-W48", now)  # never opened
    store.freeze_issue("2026-W48", now, now - timedelta(days=7), now, "[]", 0)
    assert not unfinished(store, "2026-W48", now)  # nobody to send to
    store.save_subscriber(SubscriberSpec("jo@example.org", "Jo"))
    assert unfinished(store, "2026-W48", now)  # opened, but no row written for Jo
    [(sid, _, _)] = store.subscriber_rows("active")
    store.open_deliveries("2026-W48", [(sid, "<m@x>")])
    assert unfinished(store, "2026-W48", now)
    store.claim_deliveries("2026-W48")
    store.mark_delivery("2026-W48", sid, "deferred", "451", now + timedelta(minutes=5))
    assert not unfinished(store, "2026-W48", now)
    assert unfinished(store, "2026-W48", now + timedelta(minutes=6))  # its retry is due
    store.open_deliveries("2026-W48", [])
    store.claim_deliveries("2026-W48")
    store.mark_delivery("2026-W48", sid, "sent")
    assert not unfinished(store, "2026-W48", now + timedelta(days=1))


# -- the real process ------------------------------------------------------------------------

def news_site(make_site):
    site = make_site("news")
    day = datetime.now(UTC) - timedelta(days=1)
    titles = ["Ofsted rates Kent children's services good",
              "Norfolk recruits sixty new foster carers",
              "Leeds opens three more family hubs"]
    items = "".join(
        f"<item><title>{t}</title><link>{site.base}/news/{i}</link><guid>{i}</guid>"
        f"<pubDate>{format_datetime(day - timedelta(hours=i))}</pubDate></item>"
        for i, t in enumerate(titles))
    site.route("/feed", f"<?xml version='1.0'?><rss version='2.0'><channel><title>News"
               f"</title><link>{site.base}/</link>{items}</channel></rss>",
               "application/rss+xml")
    for i, t in enumerate(titles):  # each page its own words: shared ones are boilerplate
        words = [f"{t}, the council said on {d}." for d in ("Monday", "Tuesday", "Friday")]
        site.route(f"/news/{i}", article_html(t, [*words, LOREM[i]]))
    return site, titles


def start(config_file: Path, log: Path) -> subprocess.Popen:
    return subprocess.Popen([SECTORWATCH, "--config", str(config_file), "run",
                             "--log-format", "json"],
                            stdout=subprocess.DEVNULL, stderr=log.open("a"))


def events(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.mark.timeout(200)
def test_run_fetches_and_sends_on_the_tick_and_a_sigterm_loses_and_doubles_nobody(
        make_site, smtp, tmp_path, db_url):
    inbox, port = smtp(delay=0.3)  # slow enough to stop it mid-send
    site, titles = news_site(make_site)
    people = [f"reader{i:02d}@example.org" for i in range(12)]
    with Store.open(db_url) as store:
        for address in people:
            store.save_subscriber(SubscriberSpec(address, "", filters=Filters()))
    tick = (datetime.now(UTC).second + 12) % 60  # a one-minute schedule, first tick soon
    config_file = tmp_path / "config.yaml"
    config_file.write_text(f"""database_url: "{db_url}"
{FAST_FETCH}
schedule:
  digest: {{minute: "*", second: {tick}}}
  fetch_every: 1m
  heartbeat: 1h
digest:
  transport: smtp
  smtp: {{host: 127.0.0.1, port: {port}, security: none, rate: 1000}}
sources:
  - {{id: news, type: feed, url: "{site.base}/feed"}}
""")
    log = tmp_path / "run.log"

    first = start(config_file, log)
    try:
        wait_for(lambda: len(inbox.messages) >= 3, 90, "the first messages")
        first.send_signal(signal.SIGTERM)
        assert first.wait(30) == 0
    finally:
        first.kill()
    got_first = len(inbox.messages)
    assert 3 <= got_first < len(people), "the stop should land mid-send"
    seen = events(log)
    fetched = next(e for e in seen if e["event"] == "fetch.done")
    assert fetched["new"] == 3 and fetched["failed"] == 0
    sent = next(e for e in seen if e["event"] == "digest.sent")
    assert sent["why"] == "schedule" and sent["stopped"] is True and sent["stories"] == 3
    assert datetime.fromisoformat(sent["slot"]).second == tick
    assert seen[-1]["event"] == "scheduler.stopped"

    second = start(config_file, log)
    try:
        wait_for(lambda: len(inbox.messages) == len(people), 60, "the rest of the issue")
        twin = subprocess.run([SECTORWATCH, "--config", str(config_file), "run"],
                              capture_output=True, text=True, timeout=30)
        assert twin.returncode != 0
        assert "already running the scheduler" in twin.stderr
        second.send_signal(signal.SIGINT)
        assert second.wait(30) == 0
    finally:
        second.kill()

    time.sleep(0.5)  # anything sent twice would have arrived by now
    received = Counter(m["To"].addresses[0].addr_spec for m in inbox.messages)
    assert sorted(received) == people and set(received.values()) == {1}
    resumed = [e for e in events(log) if e["event"] == "digest.sent"][-1]
    assert resumed["why"] == "catch-up" and resumed["sent"] == len(people) - got_first
    html = inbox.messages[0].get_body(("html",)).get_content()
    assert all(t.replace("'", "&#39;") in html or t in html for t in titles)
    with Store.open(db_url) as store:
        key = sent["issue"]
        assert store.delivery_counts(key)[key] == {"sent": len(people)}
        assert store.get_meta(SINCE_KEY)
    assert site.count("/feed") == 1  # the restart found the source not yet due


def test_the_heartbeat_touches_its_file_and_finishes_a_due_retry(store, db_url, tmp_path):
    beat = tmp_path / "run" / "heartbeat"
    config = parse_config(f"""database_url: "{db_url}"
sources: []
schedule:
  digest: {{minute: "*"}}
  heartbeat_file: "{beat}"
digest:
  outbox_dir: "{tmp_path / 'outbox'}"
  send_empty: true
""", "test.yaml")
    store.save_subscriber(SubscriberSpec("jo@example.org", "Jo"))
    sched = Scheduler(config)
    sched.store, sched._since = store, datetime.now(UTC) - timedelta(hours=1)
    key = issue_key(datetime.now(UTC))
    store.freeze_issue(key, datetime.now(UTC), datetime.now(UTC) - timedelta(days=7),
                       datetime.now(UTC), snapshot.dumps([]), 0)
    [(sid, _, _)] = store.subscriber_rows("active")
    store.open_deliveries(key, [(sid, "<m@x>")])
    store.claim_deliveries(key)
    store.mark_delivery(key, sid, "deferred", "451 busy", datetime.now(UTC) - timedelta(1))
    sched.heartbeat()
    assert beat.exists()
    assert store.delivery_counts(key)[key] == {"sent": 1}


def test_a_fetch_never_overlaps_another(make_site, store, db_url):
    site, _ = news_site(make_site)
    config = parse_config(f"""database_url: "{db_url}"
{FAST_FETCH}
sources:
  - {{id: news, type: feed, url: "{site.base}/feed"}}
""", "test.yaml")
    sched = Scheduler(config)
    sched.store = store
    with sched._fetching:  # the startup fetch still running when the interval's comes
        sched.fetch()
    assert site.count("/feed") == 0
    sched.fetch()
    assert site.count("/feed") == 1 and store.count_articles() == 3


@pytest.mark.timeout(60)
def test_run_reads_the_unsubscribe_mailbox_from_the_start(tmp_path, db_url):
    from tests.digest.test_mailbox import deliver, make_maildir, request, status, subscribe

    box = make_maildir(tmp_path / "Maildir")
    with Store.open(db_url) as store:
        tokens = subscribe(store, "jo@example.org", "sam@example.org")
    deliver(box, request(f"Re: {tokens['jo@example.org']}"))
    config_file = tmp_path / "config.yaml"
    config_file.write_text(f"""database_url: "{db_url}"
sources: []
schedule: {{heartbeat: 1h}}
digest:
  outbox_dir: "{tmp_path / 'outbox'}"
  unsubscribe_mailbox: {{type: maildir, maildir: "{box}", poll_every: 1h}}
""")
    log = tmp_path / "run.log"
    proc = start(config_file, log)
    try:
        wait_for(lambda: any(e["event"] == "mailbox.polled" for e in events(log)), 30,
                 "the first poll of the mailbox")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        proc.kill()
    polled = next(e for e in events(log) if e["event"] == "mailbox.polled")
    assert (polled["read"], polled["unsubscribed"]) == (1, 1)
    assert "jo@example.org" not in log.read_text()  # addresses are never logged
    with Store.open(db_url) as store:
        assert status(store) == {"jo@example.org": "unsubscribed", "sam@example.org": "active"}
