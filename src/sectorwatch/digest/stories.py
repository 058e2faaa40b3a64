"""Stories: the same event told by several outlets, grouped so a reader sees it once.

Outlets paraphrase each other, so verbatim overlap is too strict a test. Two articles are
one story when, within a time window, their wording is close (TF-IDF cosine over content
words and word pairs, weighted by how rare each is in the week's articles) and they do not
disagree about which authority the story is about. Candidate pairs come from an index of
each article's most telling terms, so a week of thousands of articles is not compared
pair by pair.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_STOPWORDS = """
a about above after again against all also am an and any are as at be because been before
being below between both but by can could did do does doing down during each few for from
further had has have having he her here hers him his how i if in into is it its itself just
me more most my no nor not now of off on once only or other our out over own said same says
she should so some such than that the their them then there these they this those through
to too under until up very was we were what when where which while who whom why will with
would you your year years new one two three also week weeks month months told last first
"""
_STOP = frozenset(_STOPWORDS.split())
SIMILAR = 0.15  # cosine at or above which two articles tell one story (see tests/digest)
WINDOW = timedelta(days=10)  # outlets report an event within days of each other
TOP_TERMS = 25  # terms per article in the candidate index
SHARED_TERMS = 4  # top terms two articles must share to be compared at all
COMPARE_ALL = 300  # up to this many articles, every pair is compared


@dataclass(frozen=True)
class Item:
    """An article as story grouping sees it."""

    id: int
    source_id: str
    title: str
    text: str
    published: datetime
    primary: frozenset[str] = frozenset()
    """GSS codes of the authorities the article is about."""
    truncated: bool = False
    official: bool = False
    """From the body that made the news (GOV.UK for Ofsted and DfE announcements)."""
    word_count: int = 0
    url: str = ""
    lead: str = ""
    """The first sentences, as the digest shows them."""
    source_name: str = ""


@dataclass(frozen=True)
class Story:
    lead: Item
    others: tuple[Item, ...] = ()
    score: float = field(default=1.0, compare=False)
    """Lowest similarity that joined the story (1.0 for a story told once)."""

    @property
    def items(self) -> tuple[Item, ...]:
        return (self.lead, *self.others)


def group_stories(items: Sequence[Item], similar: float = SIMILAR,
                  window: timedelta = WINDOW, background: Sequence[str] = ()) -> list[Story]:
    """Group items into stories; stories come in the order of their leads' dates, newest
    first. Each article belongs to exactly one story.

    ``background``: other articles' texts, so how rare a word is is judged on more than
    one week (in a quiet week every shared word looks rare).
    """
    if not items:
        return []
    vectors = _tfidf([f"{i.title} {i.title} {i.text}" for i in items], background)
    parent = list(range(len(items)))
    joined_at: dict[int, float] = {}

    def root(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for a, b in _candidates(vectors):
        first, second = items[a], items[b]
        if abs(first.published - second.published) > window:
            continue
        if first.primary and second.primary and not first.primary & second.primary:
            continue  # about different authorities: different stories, however alike
        score = _cosine(vectors[a], vectors[b])
        if score >= similar:
            ra, rb = root(a), root(b)
            if ra != rb:
                parent[rb] = ra
                joined_at[ra] = min(joined_at.get(ra, 1.0), joined_at.get(rb, 1.0), score)
    groups: dict[int, list[Item]] = defaultdict(list)
    for k, item in enumerate(items):
        groups[root(k)].append(item)
    stories = []
    for key, members in groups.items():
        lead = min(members, key=lead_rank)
        others = tuple(sorted((m for m in members if m is not lead),
                              key=lambda m: m.published))
        stories.append(Story(lead, others, joined_at.get(key, 1.0)))
    return sorted(stories, key=lambda s: s.lead.published, reverse=True)


def lead_rank(item: Item) -> tuple:
    """Which telling leads a story, in order: the whole article over one cut short by a
    wall; the body that made the news (GOV.UK) over reports of it; the fullest text; the
    earliest."""
    return (item.truncated, not item.official, -item.word_count, item.published, item.id)


def _terms(text: str) -> Counter:
    words = [w for w in _WORD.findall(text.lower().replace("’", "'")) if w not in _STOP
             and len(w) > 2 and not w.isdigit()]
    terms = Counter(words)
    terms.update(f"{a} {b}" for a, b in itertools.pairwise(words))
    return terms


def _tfidf(texts: list[str], background: Sequence[str] = ()) -> list[dict[str, float]]:
    counts = [_terms(t) for t in texts]
    df = Counter(term for c in counts for term in c)
    for text in background:
        df.update(_terms(text).keys())
    n = len(texts) + len(background)
    vectors = []
    for c in counts:
        vec = {t: (1 + math.log(tf)) * math.log((1 + n) / (1 + df[t])) for t, tf in c.items()}
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        vectors.append({t: v / norm for t, v in vec.items() if v > 0})
    return vectors


def _candidates(vectors: list[dict[str, float]]) -> set[tuple[int, int]]:
    """Pairs that share enough of their most telling terms to be worth comparing (every
    pair, when there are few enough to compare them all)."""
    if len(vectors) <= COMPARE_ALL:
        return {(a, b) for a in range(len(vectors)) for b in range(a + 1, len(vectors))}
    index: dict[str, list[int]] = defaultdict(list)
    for k, vec in enumerate(vectors):
        for term in sorted(vec, key=vec.__getitem__, reverse=True)[:TOP_TERMS]:
            index[term].append(k)
    shared: Counter[tuple[int, int]] = Counter()
    for members in index.values():
        if len(members) > 50:
            continue  # a term this common tells nothing about which story
        for i, a in enumerate(members):
            for b in members[i + 1:]:
                shared[(a, b)] += 1
    return {pair for pair, n in shared.items() if n >= SHARED_TERMS}


def _cosine(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(v * b.get(t, 0.0) for t, v in a.items())
