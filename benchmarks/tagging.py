"""Tagging quality on real labelled articles, and retag speed on a 10k-article store.

Labels: ../shared/data/real-articles/tagging-labels.jsonl (third-party pages, labelled by
someone who did not write the tagger). Texts: the git-ignored cache .cache/real-articles/
(<id>.txt), read from stored copies of the pages and never committed; the benchmark says
how many labelled articles it found there. benchmarks/tagging-test-ids.txt is the frozen
test part (a random third, drawn before any tuning); the rest is the development part.

Scores, micro over (article, item) pairs:
- authorities: GSS codes; primary: the codes of the article's primary authorities
- topics: taxonomy slugs
- judgements: (GSS code, grade, scope) for graded Ofsted judgements on the four-point
  scale, scope normalised (``overall`` or one named sub-judgement, see SCOPES)

    python benchmarks/tagging.py [--part dev|test|both] [--mistakes] [--written]
                                 [--speed] [--articles N] [--hostile]
                                 [--labels FILE [--cache DIR] [--test-ids FILE]]

--mistakes lists each wrong or missed tag (development part only, unless --part test is
given explicitly). --written scores the texts written for the unit tests instead
(tests/data/tagging). --speed builds a SQLite store of N articles (default 10,000) from
those texts and times ``retag`` on it, one core. --hostile times texts built to be slow
(long lists, runs without full stops) against real articles of the same length.
--labels scores another set labelled the same way, such as the sets labelled for this
project in benchmarks/labels/ (see its README): texts in .cache/<set name>/<id>.txt, a
frozen test part in <set name>-test-ids.txt beside the labels.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import yaml

from sectorwatch import gazetteer
from sectorwatch.config import load_config
from sectorwatch.tag import Tagger

ROOT = Path(__file__).resolve().parents[1]
LABELS = ROOT.parent / "shared" / "data" / "real-articles" / "tagging-labels.jsonl"
CACHE = ROOT / ".cache" / "real-articles"
TEST_IDS = Path(__file__).with_name("tagging-test-ids.txt")
WRITTEN = ROOT / "tests" / "data" / "tagging"

# Sub-judgements as labellers word them, to the tagger's scope names.
SCOPES = (
    (r"overall", "overall"),
    (r"children in care and care leavers|looked.after children and care leavers",
     "children in care and care leavers"),
    (r"help and protection|child protection|need of protection|safeguarding|"
     r"protecting children",
     "help and protection"),
    (r"care leavers?|leaving care", "care leavers"),
    (r"adoption", "adoption"),
    (r"fostering|carers", "fostering"),
    (r"children in care|looked.after|children looked after|permanence", "children in care"),
    (r"leader|leadership|management|governance", "leadership"),
    (r"keeping children safe|staying safe", "staying safe"),
)


def scope_of(text: str) -> str:
    text = text.lower()
    return next((name for pattern, name in SCOPES if re.search(pattern, text)), text)


def cached(labels: Path, cache: Path) -> tuple[list[tuple[dict, str]], int]:
    """(label row, its stored text trimmed) for every labelled article whose text is in
    the cache, and how many are labelled."""
    found, total = [], 0
    for line in labels.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        total += 1
        path = cache / f"{row['id']}.txt"
        if path.exists():
            found.append((row, trimmed(path.read_text(encoding="utf-8"))))
    return found, total


def load_real(labels: Path = LABELS, cache: Path = CACHE) -> tuple[list[dict], int]:
    """Labelled articles whose text is in the cache, and how many are labelled."""
    cases = []
    found, total = cached(labels, cache)
    for row, text in found:
        judgements = {(j["gss_code"], j["judgement"], scope_of(j["scope"]))
                      for j in row["ofsted_judgements"] if j.get("gss_code")}
        cases.append({
            "id": row["id"], "title": row["title"] or "", "date": row["published"],
            "text": text,
            "authorities": set(row["authority_gss_codes"]),
            "primary": set(row["primary_authority_gss_codes"]),
            "topics": set(row["topics"]), "judgements": judgements, "notes": row["notes"],
        })
    return cases, total


_END = re.compile(r"[.!?:][\"'”’)]*\s|\n")


def trimmed(text: str) -> str:
    """The stored copy without a last sentence cut off mid-way, as the labeller removed it
    (the copies end at a fixed length)."""
    text = text.rstrip()
    if not text or text[-1] in ".!?\"'”’)":
        return text
    ends = [m.end() for m in _END.finditer(text)]
    return text[: ends[-1]].rstrip() if ends else text


def load_written(folder: Path = WRITTEN) -> list[dict]:
    cases = []
    for path in sorted(folder.glob("*.yaml")):
        case = yaml.safe_load(path.read_text(encoding="utf-8"))
        expect = case.get("expect") or {}
        authorities = expect.get("authorities") or []
        cases.append({
            "id": path.stem, "title": case.get("title") or "",
            "date": str(case["date"]) if case.get("date") else None, "text": case["text"],
            "authorities": {a["code"] for a in authorities},
            "primary": {a["code"] for a in authorities if a.get("role") == "primary"},
            "topics": set(expect.get("topics") or []),
            "judgements": {(j["authority"], j["grade"], scope_of(j["scope"]))
                           for j in expect.get("judgements") or [] if j.get("grade")},
            "notes": "",
        })
    return cases


def predict(case: dict, tagger: Tagger, past: bool = True) -> dict:
    """The tagger's answer; ``past``: count the earlier grades an article recalls (the
    real labels hold every grade stated; the written cases only the news)."""
    tags = tagger.tag(case["title"], case["text"], case["date"])
    return {
        "authorities": {a.code for a in tags.authorities},
        "primary": {a.code for a in tags.authorities if a.role == "primary"},
        "topics": {t.slug for t in tags.topics},
        "judgements": {(j.authority, j.grade, scope_of(j.scope)) for j in tags.judgements
                       if j.grade and j.authority and (past or not j.past)},
    }


KINDS = ("authorities", "primary", "topics", "judgements")


def changed_council(code: str) -> bool:
    """An authority that was abolished, or created to replace one."""
    info = gazetteer.authorities().get(code)
    return info is not None and bool(info.end or (info.start or "0000") > "2009-04-01")


def evaluate(cases: list[dict], tagger: Tagger, past: bool = True) -> dict:
    counts = {k: Counter() for k in KINDS}
    classes: dict[str, Counter] = {}
    per_topic: dict[str, Counter] = {}
    mistakes: list[str] = []
    for case in cases:
        got = predict(case, tagger, past)
        for kind in KINDS:
            want, have = case[kind], got[kind]
            counts[kind].update(tp=len(want & have), fp=len(have - want), fn=len(want - have))
            for item in sorted(have - want, key=str):
                mistakes.append(f"{case['id']}: extra {kind} {item}")
            for item in sorted(want - have, key=str):
                mistakes.append(f"{case['id']}: missed {kind} {item}")
        for slug in case["topics"] | got["topics"]:
            want, have = slug in case["topics"], slug in got["topics"]
            per_topic.setdefault(slug, Counter()).update(
                tp=int(want and have), fp=int(have and not want), fn=int(want and not have))
        # The failure classes of the real set, roughly: which articles, which codes.
        want, have = case["authorities"], got["authorities"]
        for code in want | have:
            if changed_council(code):
                label = "councils that changed"
            elif len(want) >= 3:
                label = "lists of councils (3+ labelled)"
            else:
                label = "other authority mentions"
            classes.setdefault(label, Counter()).update(
                tp=int(code in want & have), fp=int(code in have - want),
                fn=int(code in want - have))
    return {"counts": counts, "classes": classes, "per_topic": per_topic,
            "mistakes": mistakes, "n": len(cases)}


def prf(c: Counter) -> tuple[float, float, float]:
    p = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 1.0
    r = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def fmt(c: Counter) -> str:
    p, r, f = prf(c)
    return f"{p:.3f} / {r:.3f} / {f:.3f} ({c['tp']}/{c['fp']}/{c['fn']})"


def report(results: dict[str, dict]) -> None:
    names = list(results)
    width = 34
    print(f"{'':44}" + "".join(f"{n + ' (' + str(results[n]['n']) + ')':>{width}}"
                               for n in names))
    print(f"{'P / R / F1 (tp/fp/fn)':44}" + "".join(f"{'':>{width}}" for _ in names))
    rows = [(k, lambda r, k=k: r["counts"][k]) for k in KINDS]
    labels = sorted({c for r in results.values() for c in r["classes"]})
    rows += [(f"  authorities: {c}", lambda r, c=c: r["classes"].get(c, Counter()))
             for c in labels]
    slugs = sorted({s for r in results.values() for s in r["per_topic"]})
    rows += [(f"  topic {s}", lambda r, s=s: r["per_topic"].get(s, Counter())) for s in slugs]
    for label, get in rows:
        print(f"{label:44}" + "".join(f"{fmt(get(results[n])):>{width}}" for n in names))


def speed(cases: list[dict], n: int) -> None:
    """Time ``retag`` over a fresh SQLite store of ``n`` articles (CPU time, one core),
    and tagging alone over the same texts, as its reference."""
    from sectorwatch.pipeline import retag
    from sectorwatch.store import Store

    config = load_config(None)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(f"sqlite:///{Path(tmp) / 'bench.db'}")
        store.migrate()
        seed_articles(store, cases, n)
        cpu, wall = time.process_time(), time.perf_counter()
        total, _ = retag(config, store, None)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        store.engine.dispose()
    words = sum(len(c["text"].split()) for c in cases) / len(cases)
    print(f"retag: {total} stored articles ({words:.0f} words on average) in {wall:.1f} s "
          f"wall, {cpu:.1f} s CPU: {total / cpu:.0f} articles/s per core")
    tagger = Tagger.from_config(config)
    rounds = max(1, 2000 // len(cases))
    cpu = time.process_time()
    for case in cases * rounds:
        tagger.tag(case["title"], case["text"], case["date"])
    print(f"tagging alone (reference): "
          f"{len(cases) * rounds / (time.process_time() - cpu):.0f} articles/s per core")


HOSTILE = {
    "a 150 KB list of needs-context names": "Ofsted children's services council. "
    + ", ".join(["Kent", "Slough", "Reading", "Durham"] * 5000),
    "3,000 job titles naming employers": "Ofsted children's services. Surrey council. "
    + " ".join(["The director of Kent, said, and chief executive of Medway."] * 3000),
    "a 240 KB sentence of grades and scopes": "Ofsted rated Kent council " + " ".join(
        ["inadequate for overall effectiveness, children in care, care leavers, adoption "
         "and help and protection and leadership,"] * 2000),
    "50,000 years": "Somerset County Council " + " 2019" * 50000,
}


def hostile(cases: list[dict]) -> None:
    """Seconds to tag texts built to be slow, against real articles of the same total
    length (the reference, measured in the same run)."""
    tagger = Tagger.from_config(load_config(None))
    for name, text in HOSTILE.items():
        start = time.process_time()
        tagger.tag("", text, None)
        took = time.process_time() - start
        real, size = [], 0
        while size < len(text):
            case = cases[len(real) % len(cases)]
            real.append(case)
            size += len(case["text"])
        start = time.process_time()
        for case in real:
            tagger.tag(case["title"], case["text"], case["date"])
        reference = time.process_time() - start
        print(f"{name} ({len(text) // 1000} KB): {took:.2f} s; the same length of real "
              f"articles: {reference:.2f} s ({took / reference:.1f}×)")


def seed_articles(store, cases: list[dict], n: int) -> None:
    """Store ``n`` distinct articles (one source) cycling through the texts."""
    from datetime import UTC, datetime, timedelta

    from sectorwatch.extract.text import fingerprint
    from sectorwatch.models import Article, Link, Page

    base = datetime(2025, 1, 1, tzinfo=UTC)
    for i in range(n):
        case = cases[i % len(cases)]
        url = f"http://127.0.0.1/bench/{i}"
        text = f"{case['text']}\n\n({i})"  # distinct texts: none is a duplicate
        day = base + timedelta(minutes=i)
        article = Article(url=url, title=case["title"] or "Untitled", text=text,
                          fingerprint=fingerprint(text), published=day,
                          published_signal="feed")
        page = Page(url=url, final_url=url, status=200, content_type="text/html",
                    body=b"", fetched_at=day, text="")
        store.add_article(article, "bench", Link(url), page)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["dev", "test", "both"], default="dev",
                        help="which part to score (the test part only to report)")
    parser.add_argument("--mistakes", action="store_true", help="list every wrong tag")
    parser.add_argument("--written", action="store_true",
                        help="score the texts written for the unit tests instead")
    parser.add_argument("--speed", action="store_true", help="time retag on a large store")
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--hostile", action="store_true",
                        help="time texts built to be slow against real ones")
    parser.add_argument("--labels", type=Path, default=LABELS,
                        help="another labelled set in the same format")
    parser.add_argument("--cache", type=Path, default=None,
                        help="its texts (default: .cache/<the labels file's name>/)")
    parser.add_argument("--test-ids", type=Path, default=None,
                        help="its frozen test part (default: <name>-test-ids.txt beside "
                             "the labels, if there is one)")
    args = parser.parse_args()
    labels = args.labels
    other = labels != LABELS
    cache = args.cache or (ROOT / ".cache" / labels.stem if other else CACHE)
    ids_file = args.test_ids or (labels.with_name(f"{labels.stem}-test-ids.txt") if other
                                 else TEST_IDS)
    tagger = Tagger.from_config(load_config(None))
    if args.written:
        cases = load_written()
        result = evaluate(cases, tagger, past=False)
        print(f"written set: {len(cases)} texts (tests/data/tagging)\n")
        report({"written": result})
        if args.mistakes:
            print("\n".join(["", "mistakes:", *result["mistakes"]]))
        if args.speed:
            speed(cases, args.articles)
        return 0
    if not labels.exists():
        print(f"no labels at {labels}", file=sys.stderr)
        return 2
    cases, total = load_real(labels, cache)
    test_ids = {line.strip() for line in ids_file.read_text().splitlines()
                if line.strip() and not line.startswith("#")} if ids_file.exists() else set()
    parts = {"dev": [c for c in cases if c["id"] not in test_ids],
             "test": [c for c in cases if c["id"] in test_ids]}
    print(f"real set: {len(cases)} of {total} labelled articles found in {cache} "
          f"(dev {len(parts['dev'])}, test {len(parts['test'])}); "
          f"{sum(len(c['text'].split()) for c in cases) // max(len(cases), 1)} words on average\n")
    if not cases:
        print("fetch the texts into the cache first (see the README's Benchmarks section)",
              file=sys.stderr)
        return 2
    shown = ["dev", "test"] if args.part == "both" else [args.part]
    results = {name: evaluate(parts[name], tagger) for name in shown}
    report(results)
    if args.mistakes:
        part = "test" if args.part == "test" else "dev"
        result = results.get(part) or evaluate(parts[part], tagger)
        print("\n".join(["", f"mistakes ({part} part):", *result["mistakes"]]))
    if args.speed:
        print()
        speed(cases, args.articles)
    if args.hostile:
        print()
        hostile(cases)
    return 0


if __name__ == "__main__":
    sys.exit(main())
