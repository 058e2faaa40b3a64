"""Search: a store of 100k articles written in the sector's own sentences, on SQLite
(FTS5) and on PostgreSQL (tsvector), and twenty searches a reader would type, each timed
as the query (``Store.search``: a page of 20 hits with snippets and authorities) and as
the ``/search`` page over 127.0.0.1.

    python benchmarks/search.py [--size 100000] [--stores sqlite,postgresql] [--repeat 30]
                                [--pg URL]

The store is filled by the scale benchmark's Filler (its dates, sources, authorities and
topic tags), with titles and texts made of sentences from the 64 articles under
tests/data/tagging: each authority named there is replaced by one of the article's own,
and each article's topics add a sentence or two in their words. So an authority's name
is as common as its articles, "children" is in nearly every article and "fostering
allowances" in a few hundred.

Target: p95 ≤ 50 ms per search at 100k articles, on both stores.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

import requests
import yaml

from scale import NOW, WORCESTERSHIRE, Filler, Web, timed

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import pg  # noqa: E402

from sectorwatch import gazetteer  # noqa: E402
from sectorwatch.store import Store  # noqa: E402

KENT = "E10000016"
# (class, query, filters): what a reader would type, with and without an authority
SEARCHES: list[tuple[str, str, dict]] = [
    ("authority", "Worcestershire", {}),
    ("authority", "Kent", {}),
    ("authority", "Stoke-on-Trent", {}),
    ("topic", "fostering allowances", {}),
    ("topic", "care leavers", {}),
    ("topic", "unaccompanied children", {}),
    ("topic", "special educational needs", {}),
    ("phrase", '"social workers"', {}),
    ("phrase", '"children\'s homes"', {}),
    ("phrase", '"monitoring visit"', {}),
    ("or", "adoption OR fostering", {}),
    ("or", 'inadequate OR "requires improvement"', {}),
    ("prefix", "safeguard*", {}),
    ("prefix", "commission*", {}),
    ("exclusion", "ofsted -inadequate", {}),
    ("common", "children", {}),
    ("common", "council services", {}),
    ("filtered", "fostering allowances", {"authorities": [WORCESTERSHIRE]}),
    ("filtered", "children", {"authorities": [WORCESTERSHIRE]}),
    ("filtered", "care leavers", {"authorities": [KENT], "topics": ["care-leavers"]}),
    ("dated", "children", {"since": NOW - timedelta(days=7)}),  # articles --since 7d
]
TOPIC_WORDS = {
    "inspection": ("rated inadequate by Ofsted", "Ofsted inspectors found",
                   "an Ofsted monitoring visit", "the inspection of local authority "
                   "children's services"),
    "send": ("special educational needs and disabilities", "education, health and care plans",
             "the high needs block", "SEND tribunal appeals"),
    "fostering": ("fostering allowances", "foster carers", "independent fostering agencies",
                  "the fostering service"),
    "adoption": ("the regional adoption agency", "adopters approved", "adoption support",
                 "children waiting to be adopted"),
    "child-protection": ("child protection plans", "the multi-agency safeguarding hub",
                         "section 47 enquiries", "a child safeguarding practice review"),
    "care-leavers": ("care leavers", "personal advisers", "staying close support",
                     "the local offer for care leavers"),
    "workforce": ("agency social workers", "caseloads", "the vacancy rate",
                  "newly qualified social workers"),
    "finance": ("an overspend on placements", "the high-cost placements budget",
                "the dedicated schools grant", "savings in children's services"),
    "youth-justice": ("the youth offending team", "child criminal exploitation",
                      "county lines", "the youth justice board"),
    "early-help": ("family hubs", "early help services", "the Supporting Families programme",
                   "children's centres"),
    "residential-care": ("children's homes", "unregulated placements",
                         "residential placements out of area", "secure children's homes"),
    "leadership": ("the director of children's services", "an improvement board",
                   "a commissioner appointed by the DfE", "the lead member for children"),
}
HEADLINES = ("{name} {phrase} under review", "{phrase} in {name} criticised",
             "{name} council sets out plans for {phrase}", "New figures on {phrase} in {name}",
             "{phrase}: what {name} has changed", "{name} to spend more on {phrase}")


def sentences() -> list[list[tuple[str, bool]]]:
    """The tagging set's sentences, each split where an authority is named: (text, named)."""
    names = sorted({a.name for a in gazetteer.authorities().values()}, key=len, reverse=True)
    named = re.compile(r"\b(" + "|".join(re.escape(n) for n in names) + r")\b")
    out = []
    for path in sorted((ROOT / "tests" / "data" / "tagging").glob("*.yaml")):
        text = yaml.safe_load(path.read_text(encoding="utf-8")).get("text") or ""
        for sentence in re.split(r"(?<=[.!?”])\s+", " ".join(text.split())):
            if 6 <= len(sentence.split()) <= 60:
                parts = named.split(sentence)  # odd positions hold the names
                out.append([(p, k % 2 == 1) for k, p in enumerate(parts) if p])
    return out


class SearchFiller(Filler):
    """The scale benchmark's filler, writing titles and texts from real sentences."""

    def __init__(self, store: Store, rng: random.Random, articles: int):
        super().__init__(store, rng, articles)
        self.pool = sentences()
        self.text_rng = random.Random(11)  # the Filler's own draws stay as in scale.py

    def words(self, article: dict, codes: list[str], topics: list[str]) -> None:
        rng = self.text_rng
        names = [self.names[c].name for c in codes]
        phrases = [rng.choice(TOPIC_WORDS[t]) for t in topics]
        headline = rng.choice(HEADLINES).format(name=names[0], phrase=phrases[0])
        title = headline[0].upper() + headline[1:]
        paragraphs = []
        for _ in range(rng.randint(4, 6)):
            chosen = rng.sample(self.pool, rng.randint(2, 4))
            paragraphs.append(" ".join("".join(rng.choice(names) if is_name else part
                                               for part, is_name in s) for s in chosen))
        for phrase in phrases:
            where = rng.randrange(len(paragraphs))
            paragraphs[where] += f" {rng.choice(names)} said {phrase} would be reviewed."
        article["title"] = title
        article["text"] = "\n\n".join(paragraphs)
        article["lead"] = paragraphs[0][:200]
        article["word_count"] = len(article["text"].split())


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


def measure(url: str, store: Store, repeat: int) -> dict[str, dict]:
    """Per search: the matches, and its timings (ms) as a query and as the web page."""
    out: dict[str, dict] = {}
    session = requests.Session()
    slugs = {a.code: a.slug for a in gazetteer.authorities().values()}
    with Web(url, store) as web:
        for kind, text, filters in SEARCHES:
            name = text + "".join(f" [{slugs.get(c, c)}]" for c in filters.get("authorities", ()))
            name += "".join(f" [{t}]" for t in filters.get("topics", ()))
            name += " [7d]" if "since" in filters else ""
            first = store.search(text, **filters)
            query = timed(lambda text=text, filters=filters: store.search(text, **filters),
                          repeat)
            params = [("q", text), *(("authority", slugs[c]) for c in
                                     filters.get("authorities", ())),
                      *(("topic", t) for t in filters.get("topics", ()))]
            address = f"http://127.0.0.1:{web.port}/search?{urlencode(params)}"

            def page(address: str = address) -> None:
                session.get(address, timeout=30).raise_for_status()

            out[name] = {"kind": kind, "total": first.total, "more": first.more,
                         "query": query,  # the page has no date filter: the CLI's alone
                         "page": timed(page, repeat) if "since" not in filters else []}
    return out


def report(results: dict[str, dict[str, dict]]) -> None:
    stores = list(results)
    print("\nms per search (p50 / p95), a page of 20 hits with snippets (>1,000: more match;"
          " the newest 1,000 are ranked):")
    head = "".join(f"{s + ' query':>20}{s + ' page':>20}" for s in stores)
    print(f"  {'search':46}{'matches':>9}{head}")
    for name, row in results[stores[0]].items():
        matches = f"{'>' if row['more'] else ''}{row['total']:,}"
        cells = ""
        for s in stores:
            r = results[s][name]
            cells += "".join(f"{percentile(r[k], 50):9.1f} /{percentile(r[k], 95):7.1f}  "
                             if r[k] else f"{'–':>18}  " for k in ("query", "page"))
        print(f"  {name:46}{matches:>9}  {cells}")
    for s in stores:
        by_kind: dict[str, list[float]] = defaultdict(list)
        everything: list[float] = []
        pages: list[float] = []
        for row in results[s].values():
            by_kind[row["kind"]] += row["query"]
            everything += row["query"]
            pages += row["page"]
        kinds = ", ".join(f"{k} {percentile(v, 95):.1f}" for k, v in by_kind.items())
        print(f"\n{s}: every search p50 {percentile(everything, 50):.1f} ms, "
              f"p95 {percentile(everything, 95):.1f} ms (the page: p50 "
              f"{percentile(pages, 50):.1f}, p95 {percentile(pages, 95):.1f}); "
              f"p95 by kind: {kinds}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--stores", default="sqlite,postgresql")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--pg", help="a PostgreSQL URL whose user may create databases")
    args = parser.parse_args()
    results: dict[str, dict[str, dict]] = {}
    cluster = None
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.stores.split(","):
            if kind == "postgresql":
                admin = args.pg
                if admin is None:
                    if pg.binaries() is None:
                        print("postgresql: no binaries (apt-get install postgresql); skipped")
                        continue
                    admin, cluster = pg.server_url()
                url = pg.create_database(admin)
            else:
                url = f"sqlite:///{tmp}/search.db"
            with Store.open(url) as store:
                t0 = time.monotonic()
                SearchFiller(store, random.Random(7), args.size).fill(args.size, 0)
                with store.engine.connect() as conn:  # statistics, as autovacuum would
                    if kind == "postgresql":  # and the visibility map, as it would too
                        conn.execution_options(isolation_level="AUTOCOMMIT")
                        conn.exec_driver_sql("VACUUM ANALYZE")
                    else:
                        conn.exec_driver_sql("ANALYZE")
                        conn.commit()
                print(f"{kind}: filled to {args.size:,} articles in "
                      f"{time.monotonic() - t0:.0f}s (newest {NOW:%Y-%m-%d})", flush=True)
                results[kind] = measure(url, store, args.repeat)
        if cluster is not None:
            cluster.stop()
    report(results)


if __name__ == "__main__":
    main()
