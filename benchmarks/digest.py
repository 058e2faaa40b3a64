"""Digest throughput: 2,000 articles, 10,000 subscribers with varied filters, every message
rendered and sent to an SMTP server (aiosmtpd) on 127.0.0.1. Prints messages/s, peak RSS
and, as the reference measured in the same run, bare smtplib sending one ready-made message
to the same server as fast as it can.

    python benchmarks/digest.py [--articles 2000] [--subscribers 10000]

The SMTP server runs in its own process (as a relay would), and the store is filled in
another, so the peak RSS printed is the sending process's alone (from 1,000 readers the
messages are built in a worker process of their own, not counted).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import resource
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import yaml

from sectorwatch.config import Config, parse_config
from sectorwatch.digest.delivery import send_issue
from sectorwatch.digest.select import LONDON
from sectorwatch.digest.subscribers import Filters, SubscriberSpec
from sectorwatch.digest.transport import SmtpTransport
from sectorwatch.extract.text import fingerprint, lead, word_count
from sectorwatch.models import Article, Link, Page
from sectorwatch.store import Store
from sectorwatch.tag import Tagger
from sectorwatch.tokens import ephemeral_signer

CASES = Path(__file__).resolve().parents[1] / "tests" / "data" / "tagging"
SEND = datetime(2026, 11, 23, 8, tzinfo=LONDON)
_LOWER = re.compile(r"\b[a-z]{4,}\b")


def sink(port: int) -> None:
    """An SMTP server that accepts and counts messages per recipient; prints the counts
    as JSON when terminated."""
    from collections import Counter

    from aiosmtpd.controller import Controller

    received: Counter[str] = Counter()

    class Counting:
        async def handle_DATA(self, server, session, envelope):
            received.update(envelope.rcpt_tos)
            return "250 OK"

    controller = Controller(Counting(), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)

    def finish(*_):
        controller.stop()
        print(json.dumps(received), flush=True)
        sys.exit(0)

    signal.signal(signal.SIGTERM, finish)
    signal.pause()


def vary(text: str, rng: random.Random, vocabulary: list[str]) -> str:
    """Another article on the same pattern: a third of the lower-case words swapped, so
    names, places and most sector phrases stay but no two articles tell one story."""
    return _LOWER.sub(lambda m: rng.choice(vocabulary) if rng.random() < 0.35 else m.group(),
                      text)


def fill(config: Config, n_articles: int, n_subscribers: int) -> None:
    rng = random.Random(7)
    cases = [yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted(CASES.glob("*.yaml"))]
    vocabulary = sorted({w for c in cases for w in _LOWER.findall(c["text"])})
    tagger = Tagger.from_config(config)
    with Store.open(config.database_url) as store:
        for k in range(n_articles):
            case = cases[k % len(cases)]
            text = vary(case["text"], rng, vocabulary)
            title = vary(case["title"], rng, vocabulary)
            when = SEND - timedelta(hours=rng.uniform(1, 160))
            article = Article(url=f"https://news.example/{k}", title=title, text=text,
                              fingerprint=fingerprint(text), published=when,
                              published_signal="feed", word_count=word_count(text),
                              lead=lead(text))
            page = Page(url=article.url, final_url=article.url, status=200,
                        content_type="text/html", body=b"<html></html>", fetched_at=when)
            store.add_article(article, "paper", Link(article.url), page,
                              tagger.tag(article.title, text, when.date()))
        places = ["E10000034", "E10000016", "E08000025", "E06000021", "E10000020", "E08000028"]
        regions = ["West Midlands", "South East", "London", "North West"]
        topics = [t.slug for t in config.topics]
        for k in range(n_subscribers):
            kind = k % 4
            filters = Filters(
                authorities=tuple(rng.sample(places, 2)) if kind == 0 else (),
                regions=(rng.choice(regions),) if kind == 1 else (),
                topics=tuple(rng.sample(topics, 3)) if kind in (2, 3) else ())
            store.save_subscriber(SubscriberSpec(f"reader{k}@example.org", f"Reader {k}",
                                                 filters=filters,
                                                 format="text" if k % 10 == 9 else "html"))


def bare_smtplib(port: int, messages: list[bytes], n: int) -> float:
    """Messages/s of smtplib alone: one connection, ready-made messages sent n times in all
    (100 a connection, as sectorwatch's default)."""
    t0 = time.perf_counter()
    for start in range(0, n, 100):
        with smtplib.SMTP("127.0.0.1", port) as conn:
            for k in range(start, min(n, start + 100)):
                conn.sendmail("digest@example.org", [f"ref{k}@example.org"],
                              messages[k % len(messages)])
    return n / (time.perf_counter() - t0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--subscribers", type=int, default=10000)
    parser.add_argument("--sink", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--fill", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sink:
        sink(args.sink)
        return 0
    if args.fill:
        text = args.fill.read_text(encoding="utf-8")
        fill(parse_config(text, str(args.fill)), args.articles, args.subscribers)
        return 0
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    tmp = Path(tempfile.mkdtemp(prefix="sectorwatch-digest-bench-"))
    config_file = tmp / "bench.yaml"
    config_file.write_text(f"""database_url: "sqlite:///{tmp}/bench.db"
digest:
  transport: smtp
  smtp: {{host: 127.0.0.1, port: {port}, security: none, rate: 100000}}
sources:
  - {{id: paper, type: feed, url: "https://news.example/feed"}}
""", encoding="utf-8")
    config = parse_config(config_file.read_text(encoding="utf-8"), str(config_file))
    t0 = time.perf_counter()
    subprocess.run([sys.executable, __file__, "--fill", str(config_file), "--articles",
                    str(args.articles), "--subscribers", str(args.subscribers)], check=True)
    print(f"{args.articles} articles and {args.subscribers} subscribers stored in "
          f"{time.perf_counter() - t0:.1f}s (in a child process)")
    server = subprocess.Popen([sys.executable, __file__, "--sink", str(port)],
                              stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None and server.stdout.readline().strip() == "ready"
    n_reference = min(args.subscribers, 3000)
    try:
        with Store.open(config.database_url) as store:
            transport = SmtpTransport(config.digest.smtp)
            t0 = time.perf_counter()
            report = send_issue(config, store, transport, SEND, signer=ephemeral_signer())
            seconds = time.perf_counter() - t0
            transport.close()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        reference = bare_smtplib(port, _sample_messages(config), n_reference)
    finally:
        server.terminate()
        received = sum(json.loads(server.communicate()[0].strip() or "{}").values())
    rate = report.sent / seconds
    print(f"issue {report.issue}: {report.stories} stories from {args.articles} articles; "
          f"sent {report.sent}, skipped {report.skipped}")
    print(f"sectorwatch: {report.sent} messages in {seconds:.1f}s = {rate:.0f} messages/s "
          f"(group, select, render, compose, send, delivery log); peak RSS {peak:.0f} MB")
    print(f"reference, bare smtplib sending 200 of those messages ready-made: "
          f"{reference:.0f} messages/s; sectorwatch runs at {rate / reference:.2f}x that")
    expected = report.sent + n_reference
    print(f"the server received {received} messages (expected {expected})")
    return 0 if received == expected else 1


def _sample_messages(config: Config, n: int = 200) -> list[bytes]:
    """The digests of n subscribers, spread over the list, built before timing the
    reference."""
    from sectorwatch.digest.issue import IssueRenderer, issue_entries
    from sectorwatch.digest.message import Composer

    with Store.open(config.database_url) as store:
        entries = issue_entries(config, store, SEND)
        rows = store.subscriber_rows("active")
    renderer = IssueRenderer(config, entries, SEND, ephemeral_signer())
    composer = Composer(config.digest)
    out = []
    for _, spec, token in rows[:: max(1, len(rows) // n)][:n]:
        rendered = renderer.render(renderer.selection(spec.filters), spec.name, token)
        out.append(composer.digest(rendered, key="ref", to=spec.email, name=spec.name,
                                   token=token, msg_id="<ref@example.org>",
                                   fmt=spec.format).data)
    return out


if __name__ == "__main__":
    sys.exit(main())
