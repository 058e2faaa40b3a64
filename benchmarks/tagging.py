"""Tagging quality and speed on the labelled dev set in tests/data/tagging/.

Prints precision / recall / F1 for authorities (micro, over (text, GSS code) pairs),
primary-authority accuracy (the set of primaries exactly right), topics (micro and per
topic), judgements (over (text, authority, grade, scope, kind); dates reported apart), and
articles per second on one core. --mistakes lists every wrong or missed tag.

    python benchmarks/tagging.py [--cases DIR] [--mistakes]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

import yaml

from sectorwatch.config import load_config
from sectorwatch.tag import Tagger

CASES = Path(__file__).resolve().parents[1] / "tests" / "data" / "tagging"


def load_cases(folder: Path) -> list[dict]:
    cases = []
    for path in sorted(folder.glob("*.yaml")):
        case = yaml.safe_load(path.read_text(encoding="utf-8"))
        case["id"] = path.stem
        cases.append(case)
    return cases


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def judgement_key(j: dict) -> tuple:
    return (j.get("authority"), j.get("grade"), j.get("scope"), j.get("kind"))


def evaluate(cases: list[dict], tagger: Tagger) -> dict:
    counts: dict[str, Counter] = {k: Counter() for k in ("authority", "topic", "judgement")}
    per_topic: dict[str, Counter] = {}
    primary_right = primary_cases = dates_right = dates_total = roles_right = roles_total = 0
    mistakes: list[str] = []
    for case in cases:
        got = tagger.tag(case.get("title") or "", case["text"], str(case.get("date") or "")
                         or None).as_dict()
        expect = case.get("expect") or {}
        pairs = {
            "authority": ({a["code"] for a in expect.get("authorities") or []},
                          {a["code"] for a in got["authorities"]}),
            "topic": (set(expect.get("topics") or []), {t["slug"] for t in got["topics"]}),
            "judgement": ({judgement_key(j) for j in expect.get("judgements") or []},
                          {judgement_key(j) for j in got["judgements"]}),
        }
        for kind, (want, have) in pairs.items():
            counts[kind].update(tp=len(want & have), fp=len(have - want), fn=len(want - have))
            for item in sorted(have - want, key=str):
                mistakes.append(f"{case['id']}: extra {kind} {item}")
            for item in sorted(want - have, key=str):
                mistakes.append(f"{case['id']}: missed {kind} {item}")
        want_t, have_t = pairs["topic"]
        for slug in want_t | have_t:
            per_topic.setdefault(slug, Counter()).update(
                tp=slug in want_t and slug in have_t, fp=slug in have_t - want_t,
                fn=slug in want_t - have_t)
        want_primary = {a["code"] for a in expect.get("authorities") or []
                        if a.get("role") == "primary"}
        if want_primary:
            primary_cases += 1
            have_primary = {a["code"] for a in got["authorities"] if a["role"] == "primary"}
            primary_right += have_primary == want_primary
            if have_primary != want_primary:
                mistakes.append(f"{case['id']}: primary {sorted(have_primary)} "
                                f"!= {sorted(want_primary)}")
        got_roles = {a["code"]: a["role"] for a in got["authorities"]}
        for a in expect.get("authorities") or []:
            if a["code"] in got_roles:
                roles_total += 1
                roles_right += got_roles[a["code"]] == a.get("role")
        got_dates = {judgement_key(j): j.get("date") for j in got["judgements"]}
        for j in expect.get("judgements") or []:
            if judgement_key(j) in got_dates:
                dates_total += 1
                dates_right += str(got_dates[judgement_key(j)]) == str(j.get("date"))
    return {"counts": counts, "per_topic": per_topic, "mistakes": mistakes,
            "primary": (primary_right, primary_cases), "dates": (dates_right, dates_total),
            "roles": (roles_right, roles_total)}


def speed(cases: list[dict], tagger: Tagger, seconds: float = 3.0) -> float:
    """Articles per second, one core, over the whole set repeated for ``seconds``."""
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for case in cases:
            tagger.tag(case.get("title") or "", case["text"], str(case.get("date") or "") or None)
        done += len(cases)
    return done / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=Path, default=CASES)
    parser.add_argument("--mistakes", action="store_true", help="list every wrong tag")
    args = parser.parse_args()
    cases = load_cases(args.cases)
    if not cases:
        print(f"no cases in {args.cases}", file=sys.stderr)
        return 2
    tagger = Tagger.from_config(load_config(None))
    result = evaluate(cases, tagger)
    words = sum(len(c["text"].split()) for c in cases) / len(cases)
    print(f"tagging dev set: {len(cases)} texts ({words:.0f} words on average)\n")
    print(f"{'':14} {'precision':>9} {'recall':>7} {'F1':>6}   tp  fp  fn")
    for kind, label in (("authority", "authorities"), ("topic", "topics (micro)"),
                        ("judgement", "judgements")):
        c = result["counts"][kind]
        p, r, f = prf(c["tp"], c["fp"], c["fn"])
        print(f"{label:14} {p:9.3f} {r:7.3f} {f:6.3f}  {c['tp']:3} {c['fp']:3} {c['fn']:3}")
    right, total = result["primary"]
    print(f"\nprimary authority accuracy: {right}/{total} = {right / max(total, 1):.3f}")
    right, total = result["roles"]
    print(f"authority roles right (primary/mentioned, of authorities found): {right}/{total}")
    right, total = result["dates"]
    print(f"judgement dates right (of judgements found): {right}/{total}")
    print("\nper topic:")
    for slug, c in sorted(result["per_topic"].items()):
        p, r, f = prf(c["tp"], c["fp"], c["fn"])
        print(f"  {slug:18} P {p:.2f}  R {r:.2f}  F1 {f:.2f}  (tp {c['tp']}, fp {c['fp']}, "
              f"fn {c['fn']})")
    print(f"\nspeed: {speed(cases, tagger):.0f} articles/s on one core")
    if args.mistakes:
        print("\nmistakes:")
        for line in result["mistakes"]:
            print("  " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
