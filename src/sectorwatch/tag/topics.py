"""Topics from the configured taxonomy: weighted phrases, one compiled matcher.

A topic applies only when it is a substantive subject: its phrases' weights, summed over
every occurrence (title occurrences count double), must reach the threshold, so a passing
word does not tag. Exclusions are phrases matched like any other but scoring nothing for
that topic, and because longer phrases win ("education, health and care plan" over
"education"), they also shield the shorter phrases inside them.
"""

from __future__ import annotations

import json
import math
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources

from sectorwatch.config import TopicSettings
from sectorwatch.tag.trie import trie_pattern

TITLE_WEIGHT = 2.0


@dataclass(frozen=True)
class TopicTag:
    slug: str
    label: str
    score: float
    evidence: tuple[tuple[str, int], ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class TopicMatcher:
    pattern: re.Pattern
    phrases: dict[str, list[tuple[str, float]]]
    """normalised phrase → [(topic slug, weight)] (weight 0 for an exclusion)."""
    labels: dict[str, str]
    threshold: float
    min_share: float = 0.0
    model: TopicModel | None = None
    """Decides the topics it was trained on; the threshold decides the rest."""


def compile_topics(topics: Sequence[TopicSettings], threshold: float,
                   min_share: float = 0.0, model: TopicModel | None = None) -> TopicMatcher:
    """One regex over every topic's phrases, longest first."""
    phrases: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for topic in topics:
        for phrase, weight in topic.phrases.items():
            phrases[_phrase_key(phrase)].append((topic.slug, float(weight)))
        for phrase in topic.exclude:
            phrases[_phrase_key(phrase)].append((topic.slug, 0.0))
    forms = [form for p in phrases for form in (p, p + "s", p + "es")]  # optional plural
    # A space in a phrase matches any run of spaces: normalising keeps the text's length
    # (so evidence offsets stay true), which leaves runs where there was punctuation.
    body = trie_pattern(forms).replace("\\ ", "[ ]+")
    return TopicMatcher(re.compile(rf"\b(?:{body})\b"), dict(phrases),
                        {t.slug: t.label for t in topics}, threshold, min_share, model)


def tag_topics(title: str, text: str, matcher: TopicMatcher) -> list[TopicTag]:
    """Topics that are a substantive subject: by the packaged model for the topics it
    knows (see ``features``), by threshold and share for the others."""
    scores, evidence, in_title = score_topics(title, text, matcher)
    top = max(scores.values(), default=0.0)
    floor = max(matcher.threshold, matcher.min_share * top)
    model = matcher.model
    tags = []
    for slug, score in scores.items():
        if model is not None and slug in model.bias:
            keep = model.probability(slug, features(score, top, evidence[slug],
                                                    in_title[slug], len(text))) >= 0.5
        else:
            keep = score >= floor
        if keep:
            tags.append(TopicTag(slug, matcher.labels[slug], round(score, 2),
                                 tuple(evidence[slug])))
    return sorted(tags, key=lambda t: -t.score)


def score_topics(title: str, text: str, matcher: TopicMatcher
                 ) -> tuple[dict[str, float], dict[str, list[tuple[str, int]]], dict[str, bool]]:
    """Each topic's summed phrase weights (title counting double), its evidence, and
    whether the title holds any of it."""
    scores: dict[str, float] = defaultdict(float)
    evidence: dict[str, list[tuple[str, int]]] = defaultdict(list)
    in_title: dict[str, bool] = defaultdict(bool)
    for part, weight, offset in ((title, TITLE_WEIGHT, 0), (text, 1.0, len(title) + 2)):
        for m in matcher.pattern.finditer(_norm(part)):
            for slug, w in matcher.phrases.get(_key(m.group(), matcher.phrases), ()):
                if w:
                    scores[slug] += w * weight
                    evidence[slug].append((part[m.start():m.end()], offset + m.start()))
                    in_title[slug] |= weight == TITLE_WEIGHT
    return scores, evidence, in_title


FEATURES = ("log score", "share of top", "distinct phrases", "title", "spread", "log length")


def features(score: float, top: float, evidence: Sequence[tuple[str, int]], in_title: bool,
             length: int) -> list[float]:
    """What the model weighs for one topic of one article (names in FEATURES): how much,
    relative to the article's main topic, how varied, in the headline, how far through
    the text the evidence runs, and the article's length."""
    positions = [pos for _, pos in evidence]
    spread = (max(positions) - min(positions)) / max(length, 1) if positions else 0.0
    distinct = len({phrase.lower() for phrase, _ in evidence})
    return [math.log1p(score), score / top if top else 0.0, math.log1p(distinct),
            float(in_title), min(spread, 1.0), math.log1p(length / 1000)]


@dataclass(frozen=True)
class TopicModel:
    """Logistic regression over ``features``: shared weights and one bias per topic."""

    weights: tuple[float, ...]
    bias: dict[str, float]
    mean: tuple[float, ...]
    scale: tuple[float, ...]

    def probability(self, slug: str, values: Sequence[float]) -> float:
        z = self.bias[slug] + sum(w * (v - m) / s for w, v, m, s in
                                  zip(self.weights, values, self.mean, self.scale, strict=True))
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    @classmethod
    def from_json(cls, data: dict) -> TopicModel:
        return cls(tuple(data["weights"]), dict(data["bias"]), tuple(data["mean"]),
                   tuple(data["scale"]))


def packaged_model() -> TopicModel | None:
    """The model shipped in sectorwatch/data/topic_model.json (scripts/train_topic_model.py),
    or None if there is none."""
    path = resources.files("sectorwatch").joinpath("data", "topic_model.json")
    if not path.is_file():
        return None
    return TopicModel.from_json(json.loads(path.read_text(encoding="utf-8")))


def _norm(text: str) -> str:
    """Lower case; apostrophes, hyphens, slashes, punctuation and white space as spaces.

    Every change keeps the length, so a match's offsets are offsets in the original text
    ("children's" reads "children s", so a possessive never hides the word before it).
    """
    return text.lower().translate(_SPACES) if len(text.lower()) == len(text) else \
        text.translate(_SPACES)


_SPACES = str.maketrans({c: " " for c in "'’‘-–—/,.;:()\"“”\t\n\r\u00a0"})


def _phrase_key(phrase: str) -> str:
    """A phrase in the form the text is normalised to."""
    return " ".join(_norm(phrase).split())


def _key(found: str, phrases: dict) -> str:
    """The phrase a match came from (undoing the optional plural)."""
    found = " ".join(found.split())
    for cut in (0, 1, 2):
        key = found[: len(found) - cut] if cut else found
        if key in phrases:
            return key
    return found
