"""`sectorwatch demo` end to end: the sites, the pipeline, two readers and their digests."""

from __future__ import annotations

import email
import os
import subprocess
import sys
from email import policy
from html import escape
from pathlib import Path

from sectorwatch.cli.demo_run import DEMO_WEEK, READERS
from sectorwatch.digest import snapshot
from sectorwatch.digest.issue import IssueRenderer, issue_send_at
from sectorwatch.store import Store
from sectorwatch.tokens import ephemeral_signer

WORCS = "E10000034"
SECTORWATCH = str(Path(sys.executable).parent / "sectorwatch")
ROOT = Path(__file__).resolve().parents[2]
SEED_000 = "/support-to-children-in-care-at-worcestershire-is-improved-says-ofsted/"
SEED_002 = "/news/17219873.worcestershire-childrens-services-improving-issues-remain-says-ofsted/"


def test_the_demo_writes_each_reader_their_digest(tmp_path):
    """What `make demo` runs, as a process: offline, exit 0, two digests."""
    done = subprocess.run([SECTORWATCH, "demo", "--workdir", str(tmp_path)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "COLUMNS": "200"})
    assert done.returncode == 0, done.stdout + done.stderr
    printed = done.stdout
    assert "39 articles stored" in printed
    outbox = tmp_path / "outbox"
    emls = sorted(outbox.glob(f"{DEMO_WEEK}-*.eml"))
    htmls = sorted(outbox.glob(f"{DEMO_WEEK}-*.html"))
    assert len(emls) == len(htmls) == len(READERS)
    for html in htmls:
        assert str(html) in printed  # the paths a newcomer opens

    send_at = issue_send_at(DEMO_WEEK)
    with Store.open(f"sqlite:///{tmp_path / 'sectorwatch.db'}") as store:
        entries = snapshot.loads(store.issue(DEMO_WEEK).stories)
        readers = {spec.email: (sid, spec) for sid, spec, _ in store.subscriber_rows("active")}
        fetched = store.count_articles()
    renderer = IssueRenderer(store_config(tmp_path), entries, send_at, ephemeral_signer())

    everything = renderer.selection(readers["everything@example.org"][1].filters)
    assert everything.count == len(entries) >= 6
    told_twice = [e for e in entries if len(e.story.items) >= 2]
    assert len(told_twice) >= 3  # the seeds' story and at least two more

    sid, worcs = readers["worcestershire@example.org"]
    chosen = renderer.selection(worcs.filters)
    stories = [e for section in chosen.sections for e in section.stories]
    assert stories and all(WORCS in e.primary for e in stories)
    [seeds] = [e for e in stories if any(i.url.endswith(SEED_000) for i in e.story.items)]
    assert sorted(i.url.rsplit(":", 1)[1].split("/", 1)[1] for i in seeds.story.items) == \
        sorted(p.lstrip("/") for p in (SEED_002, SEED_000))
    assert seeds.primary == {WORCS} and seeds.topics[0] == "inspection"

    message = email.message_from_bytes((outbox / f"{DEMO_WEEK}-{sid}.eml").read_bytes(),
                                       policy=policy.default)
    assert message["To"].addresses[0].addr_spec == "worcestershire@example.org"
    html = message.get_body(("html",)).get_content()
    assert "Worcester News" in html and "Children First" in html
    covered = "12–19 November 2018"  # the week as the digest and the README say it
    assert covered in html and covered in (ROOT / "README.md").read_text(encoding="utf-8")
    others = {i.title for e in entries if WORCS not in e.primary for i in e.story.items}
    assert others and not any(escape(t) in html or t in html for t in others)
    assert fetched >= 30  # every source answered (run_demo returns 1 if one failed)


def store_config(workdir):
    from sectorwatch.config import load_config

    return load_config(workdir / "config.yaml")


def test_the_demo_serves_worcestershire_timeline_from_the_seed_articles(tmp_path):
    """`sectorwatch demo --serve`: the authority page shows the timeline the council drew
    by hand in seed 003 (inadequate, then monitoring visits), read from the seeds, and the
    links in the demo's own digests work against it (signed by the same run)."""
    import re
    import signal
    import socket

    import requests

    from tests.conftest import wait_for_http

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k != "SECTORWATCH_SECRET"}
    proc = subprocess.Popen([SECTORWATCH, "demo", "--workdir", str(tmp_path), "--serve",
                             str(port)], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env={**env, "COLUMNS": "200"})
    try:
        base = f"http://127.0.0.1:{port}"
        page = wait_for_http(f"{base}/authorities/worcestershire", proc)
        assert page.status_code == 200
        timeline = page.text.split('id="timeline"')[1].split('id="recent"')[0]
        whens = re.findall(r'<p class="when">([^<]+)', timeline)
        assert [w.strip() for w in whens] == [
            "November 2018", "January 2018", "May 2017", "January 2017",
            "November 2016"]  # the inspection later articles recall, by its own month
        assert "inadequate" in timeline.rsplit("January 2017", 1)[1]  # the judgement (seed 004)
        assert timeline.count("Monitoring visit") == 3
        assert "Worcester News" in timeline and "Children First" in timeline  # 000 + 002
        assert "Latest judgement reported" in timeline
        # the manage link in the Worcestershire reader's digest opens their page
        eml = (tmp_path / "outbox" / f"{DEMO_WEEK}-2.eml").read_bytes()
        message = email.message_from_bytes(eml, policy=policy.default)
        manage = re.search(rf"{base}/m/[\w.-]+", message.get_body(("plain",)).get_content())
        assert manage, "no manage link pointing at the demo's server"
        mine = requests.get(manage.group(0), timeout=5)
        assert mine.status_code == 200 and "worcestershire@example.org" in mine.text
    finally:
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=20)[0]
    assert proc.returncode == 0, output
