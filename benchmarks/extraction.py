"""Main-content extraction quality and speed on the article-extraction DEV set.

Scores sectorwatch's extractor against plain trafilatura (default and favor_precision)
and readability-lxml in the same run, with the benchmark's own metric: word-token
4-shingles, per-page precision/recall macro-averaged, F1 from the averages, accuracy as
exact token-sequence match, ± as bootstrap standard deviations (1,000 resamples).
Speed is timed page by page with the systems taking turns, best of three per page, so
load on the machine falls on every system alike.

    python benchmarks/extraction.py [--data DIR] [--only NAME ...] [--worst N] [--save DIR]

DIR defaults to ../shared/benchmarks/article-extraction beside the repository. The pages
are read from there and never copied into the repository.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / \
    "article-extraction"
_TOKEN = re.compile(r"\w+")

Extractor = Callable[[str, str], str]


# -- the metric ------------------------------------------------------------------------------

def shingles(text: str | None) -> Counter:
    tokens = _TOKEN.findall(text or "")
    if not tokens:
        return Counter()
    if len(tokens) < 4:
        return Counter([tuple(tokens)])
    return Counter(tuple(tokens[i:i + 4]) for i in range(len(tokens) - 3))


def page_scores(truth: str, pred: str | None) -> tuple[float | None, float | None, bool]:
    """(precision or None when the prediction is empty, recall, exact token match)."""
    t, p = shingles(truth), shingles(pred)
    tp = sum(min(t[s], p[s]) for s in t.keys() | p.keys())
    fp = sum(max(0, p[s] - t[s]) for s in p)
    fn = sum(max(0, t[s] - p[s]) for s in t)
    exact = _TOKEN.findall(truth) == _TOKEN.findall(pred or "")
    if fp == fn == 0:
        prec = rec = 1.0
    else:
        prec = 0.0 if tp == fp == 0 else tp / (tp + fp)
        rec = 0.0 if tp == fn == 0 else tp / (tp + fn)
    return (prec if p else None), (rec if t else None), exact


def corpus(scores: list[tuple[float | None, float | None, bool]]) -> dict[str, float]:
    precs = [s[0] for s in scores if s[0] is not None]
    recs = [s[1] for s in scores if s[1] is not None]
    p = statistics.fmean(precs) if precs else 0.0
    r = statistics.fmean(recs) if recs else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    acc = sum(s[2] for s in scores) / len(scores) if scores else 0.0
    return {"f1": f1, "precision": p, "recall": r, "accuracy": acc}


def bootstrap(scores, repeats: int = 1000, seed: int = 0) -> dict[str, float]:
    rng = random.Random(seed)
    samples = [corpus([rng.choice(scores) for _ in scores]) for _ in range(repeats)]
    return {k: statistics.stdev(s[k] for s in samples) for k in samples[0]}


def _self_check() -> None:
    """The README's worked example."""
    assert page_scores("one two three four five", "One two three four")[:2] == (0.0, 0.0)
    assert page_scores("one two three four five", "one two three four") == (1.0, 0.5, False)


# -- the extractors --------------------------------------------------------------------------

def sectorwatch_extractor() -> Extractor:
    from sectorwatch.errors import ExtractError
    from sectorwatch.extract import extract_article
    from sectorwatch.models import Page
    from sectorwatch.sources.base import ExtractRules

    rules = ExtractRules()

    def run(html: str, url: str) -> str:
        page = Page(url=url, final_url=url, status=200, content_type="text/html",
                    body=html.encode("utf-8"), fetched_at=datetime.now(UTC), text=html)
        try:
            return extract_article(page, rules).text
        except ExtractError:
            return ""

    return run


def trafilatura_extractor(**options) -> Extractor:
    import trafilatura

    def run(html: str, url: str) -> str:
        return trafilatura.extract(html, url=url, include_comments=False, **options) or ""

    return run


def readability_extractor() -> Extractor:
    import html_text
    from readability import Document

    def run(html: str, url: str) -> str:
        try:
            return html_text.extract_text(Document(html, url=url).summary(html_partial=True))
        except Exception:  # readability raises on some degenerate pages
            return ""

    return run


SYSTEMS: dict[str, Callable[[], Extractor]] = {
    "sectorwatch": sectorwatch_extractor,
    "trafilatura": trafilatura_extractor,
    "trafilatura precision": lambda: trafilatura_extractor(favor_precision=True),
    "readability-lxml": readability_extractor,
}


# -- running ---------------------------------------------------------------------------------

def load(data: Path) -> tuple[dict[str, dict], dict[str, str]]:
    truth = json.loads((data / "ground-truth.json").read_text(encoding="utf-8"))
    pages = {pid: gzip.decompress((data / "html" / f"{pid}.html.gz").read_bytes())
             .decode("utf-8") for pid in truth}
    return truth, pages


def evaluate(extract: Extractor, truth: dict, pages: dict) -> tuple[dict, dict]:
    preds = {pid: extract(html, truth[pid]["url"]) for pid, html in pages.items()}
    return preds, {pid: page_scores(truth[pid]["articleBody"], preds[pid]) for pid in truth}


def speeds(extractors: dict[str, Extractor], truth: dict, pages: dict,
           rounds: int = 3) -> dict[str, float]:
    """Pages per second for each system, timed page by page in turn (so a busy moment of
    the machine lands on every system alike), best of ``rounds`` per page."""
    best: dict[str, dict[str, float]] = {name: {} for name in extractors}
    for _ in range(rounds):
        for pid, html in pages.items():
            for name, extract in extractors.items():
                start = time.perf_counter()
                extract(html, truth[pid]["url"])
                elapsed = time.perf_counter() - start
                best[name][pid] = min(elapsed, best[name].get(pid, elapsed))
    return {name: len(pages) / sum(times.values()) for name, times in best.items()}


def main() -> int:
    _self_check()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--only", nargs="*", choices=list(SYSTEMS), help="systems to score")
    parser.add_argument("--worst", type=int, default=0,
                        help="list sectorwatch's N worst pages by F1")
    parser.add_argument("--save", type=Path, help="write each system's predictions here")
    parser.add_argument("--rounds", type=int, default=3,
                        help="timing rounds (best per page is kept)")
    args = parser.parse_args()
    if not (args.data / "ground-truth.json").is_file():
        print(f"no benchmark data at {args.data} (use --data)", file=sys.stderr)
        return 2
    truth, pages = load(args.data)
    names = args.only or list(SYSTEMS)
    extractors = {name: SYSTEMS[name]() for name in names}
    rates = speeds(extractors, truth, pages, args.rounds)
    results = {}
    for name, extract in extractors.items():
        preds, scores = evaluate(extract, truth, pages)
        results[name] = (corpus(list(scores.values())), bootstrap(list(scores.values())),
                         rates[name], scores)
        if args.save:
            args.save.mkdir(parents=True, exist_ok=True)
            out = {pid: {"articleBody": text} for pid, text in preds.items()}
            (args.save / f"{name.replace(' ', '-')}.json").write_text(
                json.dumps(out, ensure_ascii=False, indent=1), encoding="utf-8")

    print(f"article-extraction DEV set: {len(truth)} pages ({args.data})\n")
    print(f"{'system':24} {'F1':>13} {'precision':>13} {'recall':>13} {'accuracy':>13} "
          f"{'pages/s':>8}")
    for name, (m, err, rate, _) in results.items():
        cells = " ".join(f"{m[k]:.3f} ±{err[k]:.3f}" for k in
                         ("f1", "precision", "recall", "accuracy"))
        print(f"{name:24} {cells} {rate:8.1f}")
    if "sectorwatch" in results and "trafilatura" in results:
        sw, tf = results["sectorwatch"], results["trafilatura"]
        print(f"\nsectorwatch speed: {sw[2] / tf[2]:.2f}x plain trafilatura's pages/s; "
              f"F1 {sw[0]['f1'] - tf[0]['f1']:+.3f} against it")
    if args.worst and "sectorwatch" in results:
        scores = results["sectorwatch"][3]

        def f1(s):
            p, r = s[0] or 0.0, s[1] or 0.0
            return 2 * p * r / (p + r) if p + r else 0.0

        print(f"\nsectorwatch's {args.worst} worst pages (F1, precision, recall):")
        for pid in sorted(scores, key=lambda k: f1(scores[k]))[: args.worst]:
            p, r, _ = scores[pid]
            print(f"  {f1(scores[pid]):.3f} {p if p is not None else float('nan'):.3f} "
                  f"{r:.3f}  {pid[:12]}  {truth[pid]['url'][:80]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
