"""A fetch never hangs on a server that drips: the source fails on total_timeout while the
run goes on, and SIGINT or SIGTERM end the real `sectorwatch fetch` within a second or so,
keeping what was stored."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sectorwatch.cli.fetching import describe_health
from sectorwatch.config import parse_config
from sectorwatch.demo.server import Response, Site, dripping
from sectorwatch.pipeline import run_all
from sectorwatch.store import Store
from tests.conftest import FAST_FETCH, LOREM, article_html, rss

SECTORWATCH = str(Path(sys.executable).parent / "sectorwatch")


def news(site: Site, n: int, drip: set[int] = frozenset()) -> None:
    """A feed of ``n`` articles; those numbered in ``drip`` send status line and headers
    (and then the page) a byte every 0.1 s."""
    items = [(f"/news/{i}", f"{site.name.title()} story {i}") for i in range(n)]
    site.route("/feed", rss(site.base, items), "application/rss+xml")
    for i, (path, title) in enumerate(items):
        page = article_html(title, [f"{title}: {p}" for p in LOREM])
        site.route(path, page)
        if i in drip:
            site.handle(path, dripping(Response(200, page.encode(), (
                ("Content-Type", "text/html; charset=utf-8"),))))


def config_text(db_url: str, sources: str, **fetch: str) -> str:
    """The tests' fast fetch settings, some of them changed."""
    settings = FAST_FETCH
    for key, value in fetch.items():
        settings = re.sub(rf"^  {key}: .*$", f"  {key}: {value}", settings, flags=re.M)
    return f'database_url: "{db_url}"\n{settings}\nsources:\n{sources}'


@pytest.mark.timeout(30)
def test_a_source_whose_server_drips_its_headers_fails_on_total_timeout_and_the_run_goes_on(
        make_site, db_url, store):
    slow, good = make_site("slow"), make_site("good")
    slow.handle("/feed", dripping(Response(200, rss(slow.base, []).encode(), (
        ("Content-Type", "application/rss+xml"),))))
    news(good, 2)
    config = parse_config(config_text(
        db_url, f"  - {{id: slow, type: feed, url: '{slow.base}/feed'}}\n"
                f"  - {{id: good, type: feed, url: '{good.base}/feed'}}\n",
        total_timeout="1s", max_attempts="1"), "test-config.yaml")
    t0 = time.monotonic()
    report = run_all(config, store)
    assert time.monotonic() - t0 < 5
    by_id = {r.source_id: r for r in report.sources}
    assert (by_id["good"].status, by_id["good"].new) == ("ok", 2)
    assert by_id["slow"].status == "failed"
    assert "response not complete within 1s (total_timeout)" in by_id["slow"].error
    [error] = store.run_errors(report.run_id)
    assert (error.source_id, error.kind) == ("slow", "timeout")
    assert describe_health(store.health()["slow"]).startswith("failing since")
    assert store.runs()[0].status == "partial"


def start_fetch(tmp_path: Path, db_url: str, site: Site) -> subprocess.Popen:
    config = tmp_path / "config.yaml"
    source = f"  - {{id: news, type: feed, url: '{site.base}/feed'}}\n"
    config.write_text(config_text(db_url, source, total_timeout="60s"))
    return subprocess.Popen([SECTORWATCH, "--config", str(config), "fetch"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


@pytest.mark.timeout(90)
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_ends_a_fetch_stuck_on_dripping_headers_and_keeps_what_was_fetched(
        make_site, tmp_path, db_url, sig):
    site = make_site("news")
    news(site, 4, drip={2})
    proc = start_fetch(tmp_path, db_url, site)
    try:
        wait_for(lambda: site.count("/news/2") == 1, 60, "the dripping article to be asked for")
        t0 = time.monotonic()
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=10)
        took = time.monotonic() - t0
    finally:
        proc.kill()
    assert took < 5, f"the fetch took {took:.1f}s to stop"
    assert proc.returncode == -sig, err  # ended by the signal: a shell sees 128 + signum
    assert f"stopped by {sig.name}" in err
    assert "Run 1" in out and "stopped" in out  # the summary is still printed
    assert site.count("/news/3") == 0
    with Store.open(db_url) as store:
        assert store.count_articles() == 2  # the two read before the stop are stored
        [run] = store.runs()
        assert (run.status, run.new) == ("stopped", 2)
        assert store.run_errors(run.id) == []  # an abandoned request is not a failure
        assert store.next_poll_at("news") is None  # still due
        assert describe_health(store.health().get("news")) == "never polled"


@pytest.mark.timeout(90)
def test_a_second_sigint_exits_at_once(make_site, tmp_path, db_url):
    site = make_site("news")
    news(site, 2, drip={0})
    proc = start_fetch(tmp_path, db_url, site)
    try:
        wait_for(lambda: site.count("/news/0") == 1, 60, "the dripping article to be asked for")
        proc.send_signal(signal.SIGINT)
        time.sleep(0.1)  # the first is handled (a stop is asked for) before the second comes
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "second SIGINT" in err


@pytest.mark.timeout(90)
def test_the_scheduler_stops_within_seconds_while_its_fetch_waits_on_dripping_headers(
        make_site, tmp_path, db_url):
    site = make_site("news")
    site.handle("/feed", dripping(Response(200, rss(site.base, []).encode(), (
        ("Content-Type", "application/rss+xml"), ("X-Padding", "x" * 2000)))))
    config = tmp_path / "config.yaml"
    config.write_text(config_text(
        db_url, f"  - {{id: news, type: feed, url: '{site.base}/feed'}}\n",
        total_timeout="60s") + f"""
schedule: {{fetch_every: 1h, heartbeat: 1h}}
digest: {{transport: outbox, outbox_dir: "{tmp_path / 'outbox'}"}}
""")
    proc = subprocess.Popen([SECTORWATCH, "--config", str(config), "run", "--log-format", "json"],
                            cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    try:
        wait_for(lambda: site.count("/feed") == 1, 60, "the startup fetch to ask for the feed")
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=10)
        took = time.monotonic() - t0
    finally:
        proc.kill()
    assert took < 5, f"the scheduler took {took:.1f}s to stop"
    assert proc.returncode == 0, err
    polled = [json.loads(line) for line in err.splitlines()
              if line.startswith("{") and '"source.polled"' in line]
    assert [(e["source"], e["status"]) for e in polled] == [("news", "stopped")]
    with Store.open(db_url) as store:
        assert store.runs()[0].status == "stopped" and store.next_poll_at("news") is None
