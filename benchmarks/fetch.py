"""Fetch throughput and politeness: 200 articles from sources on 127.0.0.1, fetched twice.

Prints, for each run, articles/s and requests per source (with their HTTP outcomes); the
second run must make at most one conditional request per source and store nothing.
Reference, measured in the same run: plain sequential requests.get of the same URLs
(no robots, no pacing, no extraction, no store), to show what the pipeline costs.

    python benchmarks/fetch.py [--articles 200] [--delay 0]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import requests

from sectorwatch.config import parse_config
from sectorwatch.demo.server import Site
from sectorwatch.pipeline import run_all
from sectorwatch.store import Store

SEEDS = Path(__file__).resolve().parents[1].parent / "shared" / "seeds"
COUNCILS = ["Worcestershire", "Sandwell", "Kent", "Bradford", "Norfolk", "Herefordshire",
            "Stoke-on-Trent", "Tower Hamlets", "Shropshire", "Oldham"]
BOILERPLATE = "".join(f"<li><a href='/section/{i}'>Section {i}</a></li>" for i in range(120))


def paragraphs(n: int) -> list[str]:
    """Article paragraphs: the seed texts when present, else sector-shaped sentences."""
    seeds = sorted(SEEDS.glob("0*.txt")) if SEEDS.is_dir() else []
    if seeds:
        text = seeds[n % len(seeds)].read_text(encoding="utf-8")
        paras = [p.strip() for p in text.split("\n\n") if len(p.split()) > 12][:12]
    else:
        paras = [f"Inspectors found that services for children in care had improved in "
                 f"several areas, with {i} recommendations set out for leaders." for i in range(8)]
    council = COUNCILS[n % len(COUNCILS)]
    return [f"Story {n}: {council} children's services were visited by Ofsted this month.",
            *paras]


def article(n: int) -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs(n))
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Story {n}"
            f"</title></head><body><header><nav><ul>{BOILERPLATE}</ul></nav></header><main>"
            f"<article><h1>Story {n}</h1>{body}</article></main><footer><p>© Publisher</p>"
            f"</footer></body></html>")


def build_sites(total: int) -> tuple[list[Site], str]:
    """Four sources on four hosts: two RSS feeds, a paged listing and a sitemap."""
    per = total // 4
    sites = [Site(f"host{i}").start() for i in range(4)]
    feed_a, feed_b, listing, smap = sites
    n = 0
    for site in (feed_a, feed_b):
        items = ""
        for _ in range(per):
            site.route(f"/news/{n}", article(n))
            items += (f"<item><title>Story {n}</title><link>{{{{base}}}}/news/{n}</link>"
                      f"<pubDate>Mon, 23 Nov 2026 09:00:00 +0000</pubDate></item>")
            n += 1
        site.route("/feed", f"<?xml version='1.0'?><rss version='2.0'><channel><title>f"
                   f"</title>{items}</channel></rss>", "application/rss+xml")
    pages = 5
    for page in range(1, pages + 1):
        links = ""
        for _ in range(per // pages):
            listing.route(f"/story/{n}", article(n))
            links += f"<h2><a href='/story/{n}'>Story {n}</a></h2>"
            n += 1
        nxt = f"<a rel='next' href='/list?page={page + 1}'>Next</a>" if page < pages else ""
        listing.route(f"/list?page={page}", f"<html><body>{links}{nxt}</body></html>")
    urls = ""
    for _ in range(total - n):
        smap.route(f"/a/{n}", article(n))
        urls += f"<url><loc>{{{{base}}}}/a/{n}</loc></url>"
        n += 1
    smap.route("/sitemap.xml", "<?xml version='1.0'?><urlset xmlns="
               f"'http://www.sitemaps.org/schemas/sitemap/0.9'>{urls}</urlset>",
               "application/xml")
    sources = (
        f"  - {{id: feed-a, type: feed, url: '{feed_a.base}/feed', max_new_articles: 1000}}\n"
        f"  - {{id: feed-b, type: feed, url: '{feed_b.base}/feed', max_new_articles: 1000}}\n"
        f"  - {{id: listing, type: html_listing, url: '{listing.base}/list?page=1', "
        f"link_selector: 'h2 a', next_selector: 'a[rel=next]', max_pages: {pages}, "
        f"max_new_articles: 1000}}\n"
        f"  - {{id: sitemap, type: sitemap, url: '{smap.base}/sitemap.xml', "
        f"max_new_articles: 1000}}\n")
    return sites, sources


def reference(sites: list[Site]) -> tuple[int, float]:
    """Plain sequential GETs of every route the sites serve: (pages, seconds)."""
    session = requests.Session()
    urls = [site.base + path for site in sites for path in site.static]
    start = time.perf_counter()
    for url in urls:
        session.get(url, timeout=10).raise_for_status()
    return len(urls), time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=200)
    parser.add_argument("--delay", default="0", help="fetch.per_host_delay (default 0)")
    args = parser.parse_args()
    sites, sources = build_sites(args.articles)
    tmp = Path(tempfile.mkdtemp(prefix="sectorwatch-bench-"))
    config = parse_config(
        f'database_url: "sqlite:///{tmp}/bench.db"\nfetch:\n  per_host_delay: {args.delay}\n'
        f'  user_agent: "sectorwatch-bench/1 (+http://127.0.0.1/)"\nsources:\n{sources}',
        "bench.yaml")
    store = Store.open(config.database_url)
    ok = True
    try:
        ref_pages, ref_seconds = reference(sites)
        for site in sites:
            site.requests.clear()
        print(f"{args.articles} articles on {len(sites)} hosts; per_host_delay={args.delay}s; "
              f"concurrency={config.fetch.concurrency}")
        print(f"reference: plain sequential GETs, {ref_pages} pages in {ref_seconds:.2f}s "
              f"= {ref_pages / ref_seconds:.1f} pages/s")
        for label in ("first fetch", "second fetch"):
            start = time.perf_counter()
            report = run_all(config, store, force=True)
            seconds = time.perf_counter() - start
            new = report.total("new")
            print(f"\n{label}: {new} new articles in {seconds:.2f}s = {new / seconds:.1f} "
                  f"articles/s; {report.total('requests')} requests"
                  + (f"; {(new / seconds) / (ref_pages / ref_seconds):.2f}x the reference "
                     "page rate" if new else ""))
            for r in report.sources:
                outcomes = ", ".join(f"{k}×{v}" for k, v in sorted(r.outcomes.items()))
                print(f"  {r.source_id:10} {r.status:13} new={r.new:4} requests={r.requests:4}"
                      f"  ({outcomes})")
            seen = sum(len(site.requests) for site in sites)
            robots = sum(site.count("/robots.txt") for site in sites)
            print(f"  servers received {seen} requests ({robots} for robots.txt)")
            for site in sites:
                site.requests.clear()
            if label == "second fetch":
                ok = new == 0 and all(r.requests <= 1 for r in report.sources)
        stored = store.count_articles()
        print(f"\nstored articles: {stored} (expected {args.articles}); second fetch "
              f"{'made ≤ 1 conditional request per source' if ok else 'FAILED the ≤ 1 rule'}")
        ok = ok and stored == args.articles
    finally:
        store.close()
        for site in sites:
            site.stop()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
