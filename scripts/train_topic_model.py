"""Train the topic model shipped in src/sectorwatch/data/topic_model.json.

A logistic regression over a few features of each topic the phrase matcher finds in an
article (sectorwatch.tag.topics.features): shared weights, one bias per topic, L2
penalty. Trained on the development part of the real labelled articles only (never on
benchmarks/tagging-test-ids.txt), read from the git-ignored cache as the tagging
benchmark reads them. Prints a 5-fold cross-validated micro-F1 on that part, then fits on
all of it and writes the weights.

    python scripts/train_topic_model.py [--check]   # --check: cross-validate, write nothing
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from sectorwatch.config import load_config  # noqa: E402
from sectorwatch.tag.topics import (  # noqa: E402
    FEATURES,
    TopicModel,
    compile_topics,
    features,
    score_topics,
)
from tagging import TEST_IDS, load_real  # noqa: E402

OUT = ROOT / "src" / "sectorwatch" / "data" / "topic_model.json"
L2 = 0.3
STEPS = 1500
RATE = 0.3


def samples(cases: list[dict]) -> list[tuple[str, list[float], int, str]]:
    """(slug, features, label, article id) for every topic the matcher scores."""
    config = load_config(None)
    matcher = compile_topics(config.topics, config.tagging.topic_threshold)
    out = []
    for case in cases:
        scores, evidence, in_title = score_topics(case["title"], case["text"], matcher)
        top = max(scores.values(), default=0.0)
        for slug, score in scores.items():
            out.append((slug, features(score, top, evidence[slug], in_title[slug],
                                       len(case["text"])), int(slug in case["topics"]),
                        case["id"]))
    return out


def fit(data: list[tuple[str, list[float], int, str]], slugs: list[str]) -> TopicModel:
    n_features = len(FEATURES)
    mean = [sum(x[1][i] for x in data) / len(data) for i in range(n_features)]
    scale = [max(1e-6, math.sqrt(sum((x[1][i] - mean[i]) ** 2 for x in data) / len(data)))
             for i in range(n_features)]
    rows = [(slug, [(v - m) / s for v, m, s in zip(x, mean, scale, strict=True)], y)
            for slug, x, y, _ in data]
    weights = [0.0] * n_features
    bias = dict.fromkeys(slugs, 0.0)
    counts = {slug: sum(1 for r in rows if r[0] == slug) for slug in slugs}
    for _ in range(STEPS):
        grad_w = [0.0] * n_features
        grad_b = dict.fromkeys(slugs, 0.0)
        for slug, x, y in rows:
            z = bias[slug] + sum(w * v for w, v in zip(weights, x, strict=True))
            err = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z)))) - y
            for i, v in enumerate(x):
                grad_w[i] += err * v
            grad_b[slug] += err
        for i in range(n_features):
            weights[i] -= RATE * (grad_w[i] / len(rows) + L2 * weights[i] / len(rows))
        for slug in slugs:  # a topic's bias leans on the shared mean when it is rare
            if counts[slug]:
                bias[slug] -= RATE * (grad_b[slug] + L2 * bias[slug]) / counts[slug]
    return TopicModel(tuple(round(w, 4) for w in weights),
                      {s: round(b, 4) for s, b in bias.items()},
                      tuple(round(m, 4) for m in mean),
                      tuple(round(max(s, 1e-3), 4) for s in scale))


def score(model: TopicModel, data, cases: list[dict]) -> tuple[float, float, float]:
    have = {(i, slug) for slug, x, _, i in data if model.probability(slug, x) >= 0.5}
    want = {(c["id"], slug) for c in cases for slug in c["topics"]}
    tp = len(have & want)
    p = tp / len(have) if have else 1.0
    r = tp / len(want) if want else 1.0
    return p, r, 2 * p * r / (p + r) if p + r else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="cross-validate only")
    args = parser.parse_args()
    test_ids = {line.strip() for line in TEST_IDS.read_text().splitlines()
                if line.strip() and not line.startswith("#")}
    cases, total = load_real()
    dev = [c for c in cases if c["id"] not in test_ids]
    if not dev:
        print("no cached texts: see the README's Tagging section", file=sys.stderr)
        return 2
    slugs = [t.slug for t in load_config(None).topics]
    print(f"training on the development part: {len(dev)} articles "
          f"({len(cases)} of {total} labelled are cached)")
    random.Random(7).shuffle(dev)
    folds = [dev[i::5] for i in range(5)]
    totals = [0.0, 0.0, 0.0]
    for k, held in enumerate(folds):
        rest = [c for j, f in enumerate(folds) if j != k for c in f]
        model = fit(samples(rest), slugs)
        for i, v in enumerate(score(model, samples(held), held)):
            totals[i] += v / len(folds)
    p, r, f = totals
    print(f"5-fold cross-validated on the development part: P {p:.3f} R {r:.3f} F1 {f:.3f}")
    if args.check:
        return 0
    model = fit(samples(dev), slugs)
    OUT.write_text(json.dumps({
        "about": "Topic model for sectorwatch.tag.topics: logistic regression over "
                 "FEATURES, trained by scripts/train_topic_model.py on the development "
                 "part of the real labelled articles.",
        "features": list(FEATURES), "weights": list(model.weights), "bias": model.bias,
        "mean": list(model.mean), "scale": list(model.scale)}, indent=1) + "\n",
        encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}: weights "
          + ", ".join(f"{n} {w:+.2f}" for n, w in zip(FEATURES, model.weights, strict=True)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
