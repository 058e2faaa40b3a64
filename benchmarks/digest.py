"""Digest throughput: 2,000 articles, 10,000 subscribers with varied filters, every message
rendered and sent to an SMTP server (aiosmtpd) on 127.0.0.1. Prints messages/s and peak RSS.

    python benchmarks/digest.py [--articles 2000] [--subscribers 10000]
"""

from __future__ import annotations

import argparse
import random
import resource
import socket
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import yaml
from aiosmtpd.controller import Controller

from sectorwatch.config import parse_config
from sectorwatch.digest.select import LONDON
from sectorwatch.digest.send import send_issue
from sectorwatch.digest.subscribers import Filters, SubscriberSpec
from sectorwatch.digest.transport import SmtpTransport
from sectorwatch.extract.text import fingerprint, lead, word_count
from sectorwatch.models import Article, Link, Page
from sectorwatch.store import Store
from sectorwatch.tag import Tagger

CASES = Path(__file__).resolve().parents[1] / "tests" / "data" / "tagging"
SEND = datetime(2026, 11, 23, 8, tzinfo=LONDON)


class Counting:
    def __init__(self) -> None:
        self.received = 0

    async def handle_DATA(self, server, session, envelope):
        self.received += 1
        return "250 OK"


def fill(store: Store, config, n_articles: int, n_subscribers: int) -> None:
    rng = random.Random(7)
    cases = [yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted(CASES.glob("*.yaml"))]
    tagger = Tagger.from_config(config)
    for k in range(n_articles):
        case = cases[k % len(cases)]
        text = f"{case['text']}\n\nReport {k}: {rng.random()}."
        when = SEND - timedelta(hours=rng.uniform(1, 160))
        article = Article(url=f"https://news.example/{k}", title=f"{case['title']} ({k})",
                          text=text, fingerprint=fingerprint(text), published=when,
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
                                             filters=filters))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--subscribers", type=int, default=10000)
    args = parser.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    handler = Counting()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    tmp = Path(tempfile.mkdtemp(prefix="sectorwatch-digest-bench-"))
    config = parse_config(f"""database_url: "sqlite:///{tmp}/bench.db"
digest:
  transport: smtp
  smtp: {{host: 127.0.0.1, port: {port}, security: none, rate: 100000}}
sources:
  - {{id: paper, type: feed, url: "https://news.example/feed"}}
""", "bench.yaml")
    store = Store.open(config.database_url)
    try:
        t0 = time.perf_counter()
        fill(store, config, args.articles, args.subscribers)
        print(f"{args.articles} articles and {args.subscribers} subscribers stored in "
              f"{time.perf_counter() - t0:.1f}s")
        transport = SmtpTransport(config.digest.smtp)
        t0 = time.perf_counter()
        report = send_issue(config, store, transport, SEND)
        seconds = time.perf_counter() - t0
        transport.close()
    finally:
        store.close()
        controller.stop()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"issue {report.issue}: {report.stories} stories; sent {report.sent}, skipped "
          f"{report.skipped}; the server received {handler.received}")
    print(f"{report.sent} messages in {seconds:.1f}s = {report.sent / seconds:.0f} messages/s; "
          f"peak RSS {peak:.0f} MB")
    return 0 if handler.received == report.sent else 1


if __name__ == "__main__":
    sys.exit(main())
