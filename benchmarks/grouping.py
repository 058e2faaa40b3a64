"""Story grouping on real outlets: pairwise precision, recall and F1, and speed.

Labels: ../shared/data/real-articles/grouping-labels.jsonl (64 third-party articles; a
`story` names one news event, shared by every article telling it; near misses have a story
of their own). Texts: the git-ignored cache .cache/grouping-articles/<id>.txt, read from
stored copies of the pages and never committed; the benchmark says how many it found.
benchmarks/grouping-test-stories.txt is the frozen test part (a third of the stories,
drawn before any tuning); the rest is the development part.

Each part is grouped on its own, through the package's own reading of the articles
(sectorwatch.digest.records: tagged as the pipeline tags them) and ``group_stories``, in
two settings: "dated" (each article at its labelled date; one without is dated by the
text, else undated) and "one week" (every article on the same day, as in a digest week).
Scores are over every pair of the part's articles: a pair is positive when both tell one
story.

    python benchmarks/grouping.py [--part dev|test|both] [--pairs] [--speed] [--articles N]
                                  [--labels FILE [--cache DIR]]

--pairs lists the wrong pairs (development part unless --part test is given) with the
score that joined or failed to join them. --speed times ``group_stories`` on a week of N
articles (default 5,000, made up from a long-tailed vocabulary, one in five a retelling),
against the reference measured in the same run: grouping by TF-IDF cosine of words
alone (``stories.group_by_words``). --labels scores another set labelled the same way
(benchmarks/labels/grouping-*.jsonl, texts in .cache/<name>/), whole, as a test part.
"""

from __future__ import annotations

import argparse
import itertools
import random
import re
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sectorwatch.config import load_config
from sectorwatch.digest import stories
from sectorwatch.digest.records import Record, items_for, parse_published
from sectorwatch.tag import Tagger
from tagging import cached  # stored copies read as the tagging benchmark reads them

ROOT = Path(__file__).resolve().parents[1]
LABELS = ROOT.parent / "shared" / "data" / "real-articles" / "grouping-labels.jsonl"
CACHE = ROOT / ".cache" / "grouping-articles"
TEST_STORIES = Path(__file__).with_name("grouping-test-stories.txt")
WEEK = datetime(2026, 11, 23, 9, tzinfo=UTC)


def load(labels: Path = LABELS, cache: Path = CACHE) -> tuple[list[dict], int]:
    """Labelled articles whose text is cached, and how many are labelled."""
    found, total = cached(labels, cache)
    return [{**row, "text": text} for row, text in found], total


def records(rows: list[dict]) -> list[Record]:
    return [Record(r["id"], r["title"] or "", r["text"], r["url"], r["source"],
                   parse_published(r["published"])) for r in rows]


def evaluate(rows: list[dict], tagger: Tagger, one_week: bool) -> dict:
    items = items_for(records(rows), tagger, WEEK if one_week else None)
    found = stories.group_stories(items)
    story_of = {}
    for n, story in enumerate(found):
        for item in story.items:
            story_of[item.id] = n
    tp = fp = fn = 0
    wrong = []
    for a, b in itertools.combinations(range(len(rows)), 2):
        want = rows[a]["story"] == rows[b]["story"]
        have = story_of[a] == story_of[b]
        tp += want and have
        fp += have and not want
        fn += want and not have
        if want != have:
            why = stories.explain(items[a], items[b], items)
            wrong.append(f"{'joined' if have else 'apart '} {rows[a]['id']} {rows[b]['id']} "
                          f"({rows[a]['story']} / {rows[b]['story']}): {why}")
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return {"p": p, "r": r, "f1": 2 * p * r / (p + r) if p + r else 0.0, "tp": tp, "fp": fp,
            "fn": fn, "wrong": wrong, "n": len(rows), "stories": len(found)}


def speed(rows: list[dict], tagger: Tagger, n: int) -> None:
    """Group a week of ``n`` articles: words drawn from a long-tailed vocabulary (the
    cached texts' words and made-up ones), one in five a retelling of another (half its
    words kept), authorities and events from the real articles."""
    rng = random.Random(7)
    vocabulary = sorted({w for r in rows for w in re.findall(r"[a-z]{3,}", r["text"].lower())})
    vocabulary += [f"w{k}" for k in range(30_000 - len(vocabulary))]
    weights = [1 / (rank + 1) for rank in range(len(vocabulary))]
    rng.shuffle(vocabulary)
    base = items_for(records(rows), tagger, WEEK)
    items: list[stories.Item] = []
    for k in range(n):
        template = base[k % len(base)]
        if k % 5 == 4:  # a retelling of the article before
            words = items[-1].text.split()
            words = [w if rng.random() < 0.5 else rng.choices(vocabulary, weights)[0]
                     for w in words]
        else:
            words = rng.choices(vocabulary, weights, k=250)
        text = " ".join(words)
        items.append(stories.Item(
            k, template.source_id, " ".join(words[:8]), text,
            WEEK - timedelta(minutes=rng.randrange(7 * 24 * 60)), template.primary,
            word_count=len(words), events=template.events, authorities=template.authorities))
    for name, fn in (("group_stories", stories.group_stories),
                     ("reference: words alone", stories.group_by_words)):
        best = float("inf")
        for _ in range(3):
            start = time.process_time()
            fn(items)
            best = min(best, time.process_time() - start)
        print(f"{name}: {n} articles in {best:.2f} s CPU ({best / n * 1000:.2f} s per 1,000)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["dev", "test", "both"], default="dev")
    parser.add_argument("--pairs", action="store_true", help="list the wrong pairs")
    parser.add_argument("--speed", action="store_true", help="time a week of articles")
    parser.add_argument("--articles", type=int, default=5000)
    parser.add_argument("--labels", type=Path, default=LABELS,
                        help="another set labelled the same way, scored whole as a test part")
    parser.add_argument("--cache", type=Path, default=None,
                        help="its texts (default: .cache/<the labels file's name>/)")
    args = parser.parse_args()
    if not args.labels.exists():
        print(f"no labels at {args.labels}", file=sys.stderr)
        return 2
    other = args.labels != LABELS
    cache = args.cache or (ROOT / ".cache" / args.labels.stem if other else CACHE)
    rows, total = load(args.labels, cache)
    test = {r["story"] for r in rows} if other else {
        line.strip() for line in TEST_STORIES.read_text().splitlines()
        if line.strip() and not line.startswith("#")}
    parts = {"dev": [r for r in rows if r["story"] not in test],
             "test": [r for r in rows if r["story"] in test]}
    print(f"grouping set: {len(rows)} of {total} labelled articles found in {cache} "
          f"(dev {len(parts['dev'])}, test {len(parts['test'])})\n")
    if not rows:
        print("fetch the texts into the cache first (see the README's Benchmarks section)",
              file=sys.stderr)
        return 2
    tagger = Tagger.from_config(load_config(None))
    shown = ["dev", "test"] if args.part == "both" else [args.part]
    for name in shown:
        for one_week in (False, True):
            result = evaluate(parts[name], tagger, one_week)
            setting = "one week" if one_week else "dated"
            print(f"{name:4} {setting:8}  P {result['p']:.3f}  R {result['r']:.3f}  "
                  f"F1 {result['f1']:.3f}  (pairs tp {result['tp']} fp {result['fp']} "
                  f"fn {result['fn']}; {result['n']} articles in {result['stories']} stories)")
            if args.pairs and name == ("test" if args.part == "test" else "dev"):
                print("\n".join(f"    {w}" for w in result["wrong"]) or "    (none)")
    if args.speed:
        print()
        speed(rows, tagger, args.articles)
    return 0


if __name__ == "__main__":
    sys.exit(main())
