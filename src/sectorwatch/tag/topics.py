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
    min_share: float = 0.0


def compile_topics(topics: Sequence[TopicSettings], threshold: float,
                   min_share: float = 0.0) -> TopicMatcher:
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
                        {t.slug: t.label for t in topics}, threshold, min_share)


def tag_topics(title: str, text: str, matcher: TopicMatcher) -> list[TopicTag]:
    scores: dict[str, float] = defaultdict(float)
    evidence: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for part, weight, offset in ((title, TITLE_WEIGHT, 0), (text, 1.0, len(title) + 2)):
        for m in matcher.pattern.finditer(_norm(part)):
            for slug, w in matcher.phrases.get(_key(m.group(), matcher.phrases), ()):
                if w:
                    scores[slug] += w * weight
                    evidence[slug].append((part[m.start():m.end()], offset + m.start()))
    floor = max(matcher.threshold, matcher.min_share * max(scores.values(), default=0.0))
    tags = [TopicTag(slug, matcher.labels[slug], round(score, 2), tuple(evidence[slug]))
            for slug, score in scores.items() if score >= floor]
    return sorted(tags, key=lambda t: -t.score)


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
