"""Scale: a store filled to 1k, 10k and 100k articles (and 200, 2k and 20k subscribers),
on SQLite and on PostgreSQL, with every page and query that grows with history timed at
each size; then several processes at once (two senders, three fetch workers) with every
message and article counted.

    python benchmarks/scale.py [--sizes 1000,10000,100000] [--stores sqlite,postgresql]
                               [--repeat 60] [--pg URL]

PostgreSQL is a throwaway cluster from Debian's `postgresql` binaries (as the tests use),
or the server at --pg. The data is synthetic but shaped like the real thing: two years of
articles from 300 sources, authorities named in proportion to their size (a few very
often), one article in twenty reporting an Ofsted judgement, subscribers following an
authority, a region or topics, a frozen issue every week.

Targets (issue "Scale out on PostgreSQL"): at 100k articles every page p95 ≤ 100 ms, the
`articles` queries ≤ 20 ms, a claim of 50 deliveries ≤ 5 ms with 100k pending, and no
figure growing more than ×2 from 10k to 100k.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
import sqlalchemy as sa
import uvicorn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import pg  # noqa: E402

from sectorwatch import gazetteer  # noqa: E402
from sectorwatch.config import Config, parse_config  # noqa: E402
from sectorwatch.digest import snapshot  # noqa: E402
from sectorwatch.store import Store  # noqa: E402
from sectorwatch.store import schema as t  # noqa: E402
from sectorwatch.tokens import Signer  # noqa: E402
from sectorwatch.web import create_app  # noqa: E402

NOW = datetime(2026, 11, 30, 9, tzinfo=UTC)
EVERY = timedelta(days=365) / 50_000  # 50k articles a year, the newest now
TOPICS = ["inspection", "send", "fostering", "adoption", "child-protection", "care-leavers",
          "workforce", "finance", "youth-justice", "early-help", "residential-care",
          "leadership"]
GRADES = ["outstanding", "good", "requires improvement", "inadequate"]
WORDS = (
    "council", "children", "services", "ofsted", "inspection", "report", "social", "workers",
    "care", "leavers", "foster", "carers", "placements", "budget", "overspend", "improvement",
    "board", "director", "families", "young", "people", "support", "plans", "safeguarding",
    "partnership", "review", "court", "adoption", "residential", "homes", "commissioning",
    "sufficiency", "waiting", "lists", "assessments", "school", "education", "health", "plans",
    "tribunal", "appeals", "funding", "government", "minister",
)
WORCESTERSHIRE = "E10000034"


def authorities(rng: random.Random) -> tuple[list[str], list[float]]:
    """Current authorities with weights: a long tail, a few named very often."""
    codes = sorted(a.code for a in gazetteer.authorities().values() if a.current)
    rng.shuffle(codes)
    codes.remove(WORCESTERSHIRE)
    codes.insert(3, WORCESTERSHIRE)  # among the most reported: the page to time
    return codes, [1.0 / (k + 1) ** 0.8 for k in range(len(codes))]


class Filler:
    """Fills an empty store with synthetic rows, in bulk: ``articles`` ending now."""

    def __init__(self, store: Store, rng: random.Random, articles: int):
        self.store, self.rng, self.total = store, rng, articles
        self.codes, self.weights = authorities(rng)
        self.articles = self.subscribers = 0
        self.names = {a.code: a for a in gazetteer.authorities().values()}

    def fill(self, articles: int, subscribers: int) -> None:
        while self.articles < articles:
            self._articles(min(2000, articles - self.articles))
        while self.subscribers < subscribers:
            self._subscribers(min(2000, subscribers - self.subscribers))
        self._issues_and_deliveries(subscribers)
        g = t.article_tags.c
        with self.store.engine.begin() as conn:  # the counts the store keeps as it tags
            conn.execute(sa.delete(t.tag_counts))
            conn.execute(sa.insert(t.tag_counts).from_select(
                ["kind", "key", "articles"],
                sa.select(g.kind, g.key, sa.func.count(sa.distinct(g.article_id)))
                .where(g.kind.in_(("authority", "topic"))).group_by(g.kind, g.key)))
        if self.store.engine.dialect.name == "postgresql":  # rows came with their ids
            with self.store.engine.begin() as conn:
                for table in ("articles", "subscribers"):
                    conn.exec_driver_sql(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))")

    def _text(self, n: int) -> str:
        return " ".join(self.rng.choices(WORDS, k=n)).capitalize() + "."

    def _articles(self, n: int) -> None:
        rng = self.rng
        articles, urls, tags = [], [], []
        raw = gzip.compress(b"<html><body><p>page</p></body></html>")
        for k in range(self.articles + 1, self.articles + n + 1):
            when = NOW - EVERY * (self.total - k) - timedelta(minutes=rng.randrange(60))
            url = f"https://source{k % 300}.example/news/{k}"
            title = self._text(8)
            text = self._text(250)
            urls.append(dict(url=url, article_id=k, source_id=f"source-{k % 300}"))
            articles.append(dict(
                id=k, url=url, source_id=f"source-{k % 300}", title=title, text=text,
                fingerprint=f"{k:064x}", published_at=when, published_signal="feed",
                first_seen_at=when, word_count=250, truncated=False, lead=text[:200],
                raw_url=url, raw_content_type="text/html", raw_gzip=raw))
            named = set(rng.choices(self.codes, self.weights, k=rng.choice((1, 1, 2, 3))))
            for n_, code in enumerate(sorted(named)):
                a = self.names[code]
                role = "primary" if n_ == 0 else "mentioned"
                detail = dict(code=code, name=a.name, region=a.region, role=role, mentions=2,
                              first_position=10, in_title=n_ == 0, district_level=False)
                tags.append(dict(article_id=k, at=when, kind="authority", key=code, role=role,
                                 detail=json.dumps(detail)))
            topics = set(rng.choices(TOPICS, k=2))
            self.words(articles[-1], sorted(named), sorted(topics))
            for slug in topics:
                tags.append(dict(article_id=k, at=when, kind="topic", key=slug, role=None,
                                 detail=json.dumps(dict(slug=slug, label=slug, score=0.5))))
            if rng.random() < 0.05:
                code = sorted(named)[0]
                grade = rng.choice(GRADES)
                tags.append(dict(article_id=k, at=when, kind="judgement", key=code, role=grade,
                                 detail=json.dumps(dict(
                                     authority=code, grade=grade, scope="overall",
                                     kind="full inspection", date=f"{when:%Y-%m}",
                                     past=False))))
        with self.store.engine.begin() as conn:
            conn.execute(sa.insert(t.articles), articles)
            conn.execute(sa.insert(t.article_urls), urls)
            conn.execute(sa.insert(t.article_tags), tags)
        self.articles += n

    def words(self, article: dict, codes: list[str], topics: list[str]) -> None:
        """Give ``article`` (a row about to be inserted) its title and text; here they
        stay the random words drawn (benchmarks/search.py writes sentences)."""

    def _subscribers(self, n: int) -> None:
        rng = self.rng
        rows = []
        regions = gazetteer.region_names()
        for k in range(self.subscribers + 1, self.subscribers + n + 1):
            kind = rng.random()
            filters = {"authorities": [], "regions": [], "topics": []}
            if kind < 0.5:
                filters["authorities"] = sorted(set(rng.choices(self.codes, self.weights,
                                                                k=rng.randint(1, 3))))
            elif kind < 0.8:
                filters["regions"] = [rng.choice(regions)]
            else:
                filters["topics"] = sorted(set(rng.choices(TOPICS, k=2)))
            rows.append(dict(id=k, email=f"reader{k}@example.org", name=f"Reader {k}",
                             token=f"reader-token-{k:012d}", status="active", format="html",
                             filters=json.dumps(filters), created_at=NOW, updated_at=NOW,
                             hard_bounces=0))
        with self.store.engine.begin() as conn:
            conn.execute(sa.insert(t.subscribers), rows)
        self.subscribers += n

    def _issues_and_deliveries(self, subscribers: int) -> None:
        """A sent issue for every week of the span, and the current issue's deliveries
        pending for every subscriber, plus four unsent issues' worth more (100k pending at
        20k subscribers)."""
        with self.store.engine.begin() as conn:
            conn.execute(sa.delete(t.deliveries))
            conn.execute(sa.delete(t.issues))
            weeks = []
            for w in range(104):
                send_at = NOW - timedelta(weeks=w)
                year, week, _ = send_at.isocalendar()
                weeks.append(dict(key=f"{year}-W{week:02d}", send_at=send_at,
                                  starts_at=send_at - timedelta(days=7), ends_at=send_at,
                                  created_at=send_at, story_count=0,
                                  stories=snapshot.dumps([]), sent=subscribers if w else 0))
            conn.execute(sa.insert(t.issues), weeks)
            pending = [dict(issue=weeks[w]["key"], subscriber_id=s, message_id=f"<{w}.{s}@x>",
                            status="pending", attempts=0, updated_at=NOW)
                       for w in range(5) for s in range(1, subscribers + 1)]
            for k in range(0, len(pending), 5000):
                conn.execute(sa.insert(t.deliveries), pending[k:k + 5000])
        self.current_issue = weeks[0]["key"]


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    fn()  # warm
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 2 else values[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def config_for(url: str, port: int = 8080) -> Config:
    return parse_config(f'database_url: "{url}"\ndigest:\n  base_url: "http://127.0.0.1:{port}"'
                        "\nsources: []\n", "scale.yaml")


class Web:
    """`sectorwatch serve`'s app over the store, on 127.0.0.1 in a thread."""

    def __init__(self, url: str, store: Store):
        self.port = free_port()
        app = create_app(config_for(url, self.port), store, Signer([b"x" * 32]))
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port,
                                                    log_level="error", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Web:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def measure(url: str, store: Store, filler: Filler, repeat: int) -> dict[str, float]:
    """p95 milliseconds of each page and query at the store's present size."""
    out: dict[str, float] = {}
    session = requests.Session()
    a = gazetteer.authorities()[WORCESTERSHIRE]
    with Web(url, store) as web:
        base = f"http://127.0.0.1:{web.port}"
        for name, path in (("/", "/"), ("/archive", "/archive"),
                           ("/authorities", "/authorities"),
                           ("/authorities/worcestershire", f"/authorities/{a.slug}"),
                           ("/authorities/….atom", f"/authorities/{a.slug}.atom"),
                           ("/archive.atom", "/archive.atom")):
            def get(path: str = path) -> None:
                response = session.get(base + path, timeout=30)
                response.raise_for_status()
            out[name] = p95(timed(get, repeat))
    week_ago = NOW - timedelta(days=7)
    out["articles --since 7d"] = p95(timed(lambda: store.articles(since=week_ago), repeat))
    out["articles --authority"] = p95(timed(
        lambda: store.articles(authorities=[WORCESTERSHIRE]), repeat))
    out["preview --subscriber"] = p95(timed(
        lambda: store.subscriber(f"reader{filler.subscribers}@example.org"), repeat))
    issue = filler.current_issue

    claims = []
    for _ in range(repeat + 1):  # timed alone; given back after, so each finds 100k pending
        t0 = time.perf_counter()
        got = store.claim_deliveries(issue, 50)
        claims.append((time.perf_counter() - t0) * 1000)
        store.release_deliveries(issue, [sid for sid, _, _ in got])
    out["claim 50 deliveries"] = p95(claims[1:])
    return out


def sizes_table(results: dict[tuple[str, int], dict[str, float]], sizes: list[int]) -> None:
    stores = sorted({s for s, _ in results})
    names = list(next(iter(results.values())))
    for store in stores:
        print(f"\n{store}: p95 in ms by articles stored (subscribers: a fifth as many)")
        head = "".join(f"{n:>10,}" for n in sizes)
        print(f"  {'':28}{head}   10k→100k")
        for name in names:
            row = [results[(store, n)][name] for n in sizes if (store, n) in results]
            growth = ""
            if (store, 10_000) in results and (store, 100_000) in results:
                ratio = results[(store, 100_000)][name] / results[(store, 10_000)][name]
                growth = f"   ×{ratio:.1f}"
            print(f"  {name:28}" + "".join(f"{v:10.1f}" for v in row) + growth)


# -- several processes at once ---------------------------------------------------------------

SENDER_CONFIG = """database_url: "{url}"
digest:
  send_empty: true
  transport: smtp
  smtp: {{host: 127.0.0.1, port: {port}, security: none, rate: 100000}}
sources: []
"""


def together(url: str, subscribers: int = 2000) -> None:
    """Two senders (each with its own temporary folder, as on two hosts) and three fetch
    workers against three news sites, all at once on one store."""
    from sectorwatch.demo.server import Site

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        port = free_port()
        server = subprocess.Popen([sys.executable, __file__, "--sink", str(port)],
                                  stdout=subprocess.PIPE, text=True)
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        with Store.open(url) as store:
            rows = [dict(email=f"p{k}@example.org", name="", token=f"send-token-{k:012d}",
                         status="active",
                         format="text", filters='{"authorities": [], "regions": [], '
                         '"topics": []}', created_at=NOW, updated_at=NOW, hard_bounces=0)
                    for k in range(subscribers)]
            with store.engine.begin() as conn:
                conn.execute(sa.delete(t.deliveries))
                conn.execute(sa.delete(t.issues))
                conn.execute(sa.delete(t.subscribers))
                conn.execute(sa.insert(t.subscribers), rows)
        sites = [Site(f"news{k}").start() for k in range(3)]
        for site in sites:
            items = "".join(f"<item><title>Story {i}</title><link>{site.base}/news/{i}</link>"
                            f"<pubDate>Mon, 23 Nov 2026 09:00:00 +0000</pubDate></item>"
                            for i in range(40))
            site.route("/feed.xml", f"<rss version='2.0'><channel><title>n</title>{items}"
                       "</channel></rss>", "application/rss+xml")
            for i in range(40):
                rng = random.Random(f"{site.name}-{i}")
                paragraphs = "".join(f"<p>{' '.join(rng.choices(WORDS, k=30)).capitalize()}."
                                     "</p>" for _ in range(8))
                site.route(f"/news/{i}", f"<html><body><article><h1>Story {i} from "
                           f"{site.name}</h1>{paragraphs}</article></body></html>")
        sources = "".join(f"  - {{id: news{k}, type: feed, url: \"{s.base}/feed.xml\", "
                          "max_new_articles: 100}\n" for k, s in enumerate(sites))
        fetch_config = folder / "fetch.yaml"
        fetch_config.write_text(f'database_url: "{url}"\nfetch:\n  per_host_delay: 0\n'
                                f"  concurrency: 3\nsources:\n{sources}")
        send_config = folder / "send.yaml"
        send_config.write_text(SENDER_CONFIG.format(url=url, port=port))
        procs = []
        t0 = time.monotonic()
        for k in range(2):
            tmpdir = folder / f"host-{k}"
            tmpdir.mkdir()
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "sectorwatch.cli", "--config", str(send_config),
                 "digest", "send", "--week", "2026-W48"],
                env={**os.environ, "TMPDIR": str(tmpdir), "SECTORWATCH_SECRET": "s" * 40},
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
        for _ in range(3):
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "sectorwatch.cli", "--config", str(fetch_config),
                 "fetch", "--force"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                text=True))
        outputs = [p.communicate(timeout=600)[0] for p in procs]
        seconds = time.monotonic() - t0
        server.terminate()
        per_address = Counter(json.loads(server.communicate(timeout=30)[0] or "{}"))
        received = sum(per_address.values())
        for site in sites:
            site.stop()
        with Store.open(url) as store:
            counts = store.delivery_counts().get("2026-W48", Counter())
            stored = [r.url for r in store.articles(limit=None)
                      if any(r.url.startswith(site.base) for site in sites)]
            runs = store.runs()
        per_url = Counter(stored)
        crashed = [r.status for r in runs if r.status not in ("ok", "partial")]
        twice = sum(1 for n in per_address.values() if n > 1)
        print(f"  2 senders + 3 fetch workers at once: {seconds:.1f}s; "
              f"messages received {received} for {subscribers} subscribers, "
              f"{len(per_address)} addresses reached, {twice} reached twice or more "
              f"(sent rows {counts.get('sent', 0)}); exit codes "
              f"{[p.returncode for p in procs]}")
        print(f"  articles stored {len(stored)} of {3 * 40}, most copies of one URL "
              f"{max(per_url.values(), default=0)}; runs not ok: {crashed or 'none'}; "
              f"most requests at once to one site: {max(s.most_at_once for s in sites)}")
        if twice or len(per_address) != subscribers or counts.get("sent", 0) != subscribers:
            print("  FAILED: not exactly one message per subscriber")
        for proc, out in zip(procs, outputs, strict=True):
            busy = proc.returncode == 2 and "already sending" in out
            if proc.returncode and not busy:
                print(f"  process {' '.join(proc.args[-4:])} exited {proc.returncode}:")
                print("   ", out.strip()[-1500:])


def main() -> None:
    if sys.argv[1:2] == ["--sink"]:
        from digest import sink  # the digest benchmark's counting SMTP server

        sink(int(sys.argv[2]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--stores", default="sqlite,postgresql")
    parser.add_argument("--repeat", type=int, default=60)
    parser.add_argument("--pg", help="a PostgreSQL URL whose user may create databases")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    results: dict[tuple[str, int], dict[str, float]] = {}
    cluster = None
    admin = args.pg
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.stores.split(","):
            if kind == "postgresql" and admin is None:
                if pg.binaries() is None:
                    print("postgresql: no binaries here (apt-get install postgresql); skipped")
                    continue
                admin, cluster = pg.server_url()
            for n in sizes:  # a fresh store of each size, its newest article now
                sized = (f"sqlite:///{tmp}/scale-{n}.db" if kind == "sqlite"
                         else pg.create_database(admin))
                with Store.open(sized) as store:
                    t0 = time.monotonic()
                    filler = Filler(store, random.Random(7), n)
                    filler.fill(n, n // 5)
                    with store.engine.connect() as conn:  # statistics, as autovacuum would
                        conn.exec_driver_sql("ANALYZE")
                        conn.commit()
                    print(f"{kind}: filled to {n:,} articles, {n // 5:,} subscribers in "
                          f"{time.monotonic() - t0:.1f}s", flush=True)
                    results[(kind, n)] = measure(sized, store, filler, args.repeat)
                url = sized
            print(f"\n{kind}: several processes at once (on the {sizes[-1]:,}-article store)")
            together(url)
        if cluster is not None:
            cluster.stop()
    sizes_table(results, sizes)


if __name__ == "__main__":
    main()
