"""Topics from the configured taxonomy: weighted phrases, one compiled matcher.

A topic applies only when it is a substantive subject: its phrases' weights, summed over
every occurrence (title occurrences count double), must reach the threshold, so a passing
word does not tag. Exclusions are phrases matched like any other but scoring nothing for
that topic, and because longer phrases win ("education, health and care plan" over
"education"), they also shield the shorter phrases inside them.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

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


def compile_topics(topics: Sequence[TopicSettings], threshold: float) -> TopicMatcher:
    """One regex over every topic's phrases, longest first."""
    phrases: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for topic in topics:
        for phrase, weight in topic.phrases.items():
            phrases[_norm(phrase)].append((topic.slug, float(weight)))
        for phrase in topic.exclude:
            phrases[_norm(phrase)].append((topic.slug, 0.0))
    forms = [form for p in phrases for form in (p, p + "s", p + "es")]  # optional plural
    return TopicMatcher(re.compile(rf"\b(?:{trie_pattern(forms)})\b"), dict(phrases),
                        {t.slug: t.label for t in topics}, threshold)


def tag_topics(title: str, text: str, matcher: TopicMatcher) -> list[TopicTag]:
    scores: dict[str, float] = defaultdict(float)
    evidence: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for part, weight, offset in ((title, TITLE_WEIGHT, 0), (text, 1.0, len(title) + 2)):
        for m in matcher.pattern.finditer(_norm(part)):
            for slug, w in matcher.phrases.get(_key(m.group(), matcher.phrases), ()):
                if w:
                    scores[slug] += w * weight
                    evidence[slug].append((part[m.start():m.end()], offset + m.start()))
    tags = [TopicTag(slug, matcher.labels[slug], round(score, 2), tuple(evidence[slug]))
            for slug, score in scores.items() if score >= matcher.threshold]
    return sorted(tags, key=lambda t: -t.score)


def _norm(text: str) -> str:
    """Lower case, straight apostrophes, '&' as 'and', no possessive apostrophe, spaces
    for hyphens and runs of white space (same rules for phrases and text)."""
    text = text.casefold().replace("’", "'").replace("‘", "'").replace("&", " and ")
    text = re.sub(r"'s\b", "s", text).replace("'", "")
    return re.sub(r"[\s\-–—/]+", " ", text)


def _key(found: str, phrases: dict) -> str:
    """The phrase a match came from (undoing the optional plural)."""
    for cut in (0, 1, 2):
        key = found[: len(found) - cut] if cut else found
        if key in phrases:
            return key
    return found
