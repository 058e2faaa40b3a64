"""Stories: the same event told by several outlets, grouped so a reader sees it once.

Outlets paraphrase each other, so verbatim overlap is too strict a test. Two articles are
one story when their wording is close (TF-IDF cosine over content words and word pairs,
weighted by how rare each is in the week's articles) or, dated close together, they share
rare names the story is about (a child's, an inquiry's chair); and nothing keeps them
apart: different primary authorities, different news of one council, dates outside the
window. Pairs join strongest first, never across a pair kept apart, so a chain of loose
links cannot merge two events. Candidate pairs come from an index of each article's most
telling terms and names, so a week of thousands of articles is not compared pair by pair.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sectorwatch.tag.authorities import place_words
from sectorwatch.tag.judgements import Judgement

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
SAME_NEWS_WORDS = 0.10  # wording two reports of one council's same grade need to be one story
SHARED_NAMES = 2  # rare names two articles must share to be one story on names alone
RARE_NAME = 0.1  # a name in more than this share of the articles is not rare
OPENING = 600  # characters of headline and text where a name once is what the story is about
MAX_TEXT = 20_000  # characters of a text that grouping reads (a long paper is known by its start)
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
    dated: bool = True
    """False for an article whose date is not known: no time window holds it."""
    events: tuple[str, ...] = ()
    """The news it reports, as "authority|grade|kind" (see ``events_of``)."""
    authorities: frozenset[str] = frozenset()
    """GSS codes of every authority it names."""


def events_of(judgements: Iterable[Judgement]) -> tuple[str, ...]:
    """An article's news, from its tagged judgements (grades it only recalls are left
    out): "E10000034|inadequate|full inspection", "E10000034||monitoring visit"."""
    return tuple(sorted({f"{j.authority}|{j.grade or ''}|{j.kind}" for j in judgements
                         if j.authority and not j.past}))


@dataclass(frozen=True)
class Join:
    """Why two tellings were put in one story."""

    a: int
    b: int
    """The two items' ids."""
    words: float
    """Cosine of their words."""
    shared_words: tuple[str, ...] = ()
    shared_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class Story:
    lead: Item
    others: tuple[Item, ...] = ()
    score: float = field(default=1.0, compare=False)
    """Lowest similarity that joined the story (1.0 for a story told once)."""
    joins: tuple[Join, ...] = field(default=(), compare=False)
    """The links that joined it, strongest first."""

    @property
    def items(self) -> tuple[Item, ...]:
        return (self.lead, *self.others)


def group_stories(items: Sequence[Item], similar: float = SIMILAR,
                  window: timedelta = WINDOW, background: Sequence[str] = ()) -> list[Story]:
    """Group items into stories; stories come in the order of their leads' dates, newest
    first. Each article belongs to exactly one story.

    Two articles tell one story when they are close enough (``_strength``: their wording,
    or the rare names they share) and nothing keeps them apart (``_apart``: different
    subjects, different news about the same council, dates further apart than
    ``window``). Pairs join strongest first, and two groups never join across a pair that
    is kept apart, so one loose link cannot chain two events together.

    ``background``: other articles' texts, so how rare a word is is judged on more than
    one week (in a quiet week every shared word looks rare).
    """
    if not items:
        return []
    view = _View.of(items, background)
    apart: set[tuple[int, int]] = set()
    joins: list[tuple[float, int, int]] = []
    for a, b in view.candidates():
        reason = _apart(items[a], items[b], window)
        if reason:
            apart.add((a, b))
            continue
        strength = view.strength(a, b, similar)
        if strength < 1.0 and _same_news(items[a], items[b]) and \
                view.cosine(a, b) >= SAME_NEWS_WORDS:
            strength = 1.0  # one council's one grade, told in some of the same words
        if strength >= 1.0:
            joins.append((strength, a, b))
    parent = list(range(len(items)))
    members: dict[int, list[int]] = {k: [k] for k in range(len(items))}
    joined_at: dict[int, float] = {}
    links: dict[int, list[Join]] = {}

    def root(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for _, a, b in sorted(joins, reverse=True):
        ra, rb = root(a), root(b)
        if ra == rb or any((min(x, y), max(x, y)) in apart
                           for x in members[ra] for y in members[rb]):
            continue
        parent[rb] = ra
        members[ra] += members.pop(rb)
        score = view.cosine(a, b)
        joined_at[ra] = min(joined_at.get(ra, 1.0), joined_at.pop(rb, 1.0), score)
        links[ra] = links.pop(ra, []) + links.pop(rb, []) + [view.join(items, a, b)]
    groups: dict[int, list[Item]] = defaultdict(list)
    for k, item in enumerate(items):
        groups[root(k)].append(item)
    stories = []
    for key, group in groups.items():
        lead = min(group, key=lead_rank)
        others = tuple(sorted((m for m in group if m is not lead), key=lambda m: m.published))
        stories.append(Story(lead, others, joined_at.get(key, 1.0), tuple(links.get(key, ()))))
    return sorted(stories, key=lambda s: s.lead.published, reverse=True)


def _apart(a: Item, b: Item, window: timedelta) -> str:
    """Why two articles cannot tell one story, or "" if nothing keeps them apart."""
    if a.dated and b.dated and abs(a.published - b.published) > window:
        return "dates apart"
    if a.primary and b.primary and not a.primary & b.primary:
        return "about different authorities"
    kinds_a, kinds_b = _kinds(a.events), _kinds(b.events)
    for code in kinds_a.keys() & kinds_b.keys():
        if not kinds_a[code] & kinds_b[code]:
            return f"different news of {code}"  # a full inspection, a monitoring visit
    return ""


def _same_news(a: Item, b: Item) -> bool:
    """Both are about one council and report the same grade or visit of it (Ofsted
    publishes one report per inspection, so within the window this is one event)."""
    shared = a.primary & b.primary
    return any(e.split("|", 1)[0] in shared for e in set(a.events) & set(b.events))


def _kinds(events: tuple[str, ...]) -> dict[str, set[str]]:
    """authority → the kinds of news reported of it (full inspection, monitoring visit…)."""
    out: dict[str, set[str]] = defaultdict(set)
    for event in events:
        code, _, kind = event.split("|")
        out[code].add(kind)
    return out


def lead_rank(item: Item) -> tuple:
    """Which telling leads a story, in order: the whole article over one cut short by a
    wall; the body that made the news (GOV.UK) over reports of it; the fullest text; the
    earliest."""
    return (item.truncated, not item.official, -item.word_count, item.published, item.id)


def _terms(text: str) -> Counter:
    """Content words (three letters or more, not stop words or numbers) and word pairs."""
    words = [w for w in _WORD.findall(text.lower().replace("’", "'")) if w not in _STOP
             and len(w) > 2 and not w.isdigit()]
    terms = Counter(words)
    terms.update(map(" ".join, itertools.pairwise(words)))
    return terms


def _tfidf(texts: list[str], background: Sequence[str] = ()
           ) -> tuple[list[dict[str, float]], list[float]]:
    """TF-IDF vectors of the texts' terms (rarity judged over ``texts`` and
    ``background``), and each vector's length."""
    counts = [_terms(t[:MAX_TEXT]) for t in texts]
    df: Counter = Counter()
    for c in counts:
        df.update(c.keys())
    for text in background:
        df.update(_terms(text[:MAX_TEXT]).keys())
    top = math.log(1 + len(counts) + len(background))
    idf = {t: top - math.log(1 + k) for t, k in df.items()}
    vectors, norms = [], []
    for c in counts:
        vec = {t: idf[t] if tf == 1 else (1 + math.log(tf)) * idf[t] for t, tf in c.items()}
        vectors.append(vec)
        norms.append(math.sqrt(sum(v * v for v in vec.values())) or 1.0)
    return vectors, norms


_NAME = re.compile(r"\b[A-Z][a-z]+(?:['’][a-z]+)?\b")
_OFFICE = re.compile(r"\b(?:cllr|councillor|council leader|leader|mayor|director|executive|"
                     r"member|chair(?:man|woman)?|mp|minister|secretary)\.?(?:\s+[A-Z][\w'’]+)?\s+$",
                     re.I)
_LOWER_WORD = re.compile(r"(?<![\w'’])[a-z]{3,}\b")
_STARTS = re.compile(r"(?:^|[.!?:;\n]|[.!?:][\"'”’]|[\"“‘(\-–—•])\s*$")
_NOT_NAME_WORDS = """
the a an in on at for and but of to it its this that these those he she they we his her
their our mr mrs ms dr cllr councillor sir dame lord lady prof professor minister secretary
january february march april may june july august september october november december
monday tuesday wednesday thursday friday saturday sunday ofsted council councils county
borough city children child services service social care department education government
report review inspection inspectors local authority authorities director chief executive
cabinet member members mp labour conservative liberal party national england english
british uk wales welsh scotland scottish northern ireland london news photo picture image
read more related after before when while during since however but also new said says
"""
_NOT_NAMES = frozenset(_NOT_NAME_WORDS.split())


def _names(text: str) -> Counter[str]:
    """The rare proper names of a text (people, reports, programmes), casefolded; place
    names and the sector's common capitalised words are left out, since they say where
    and what kind of story, not which. A word capitalised only where a sentence or a
    heading starts is not a name. Only names the story is about count: named twice, or
    in the headline or the opening (a case recalled once, further down, is history)."""
    places = place_words()
    found: Counter[str] = Counter()
    first: dict[str, int] = {}
    inside: set[str] = set()
    text = text[:MAX_TEXT]
    for m in _NAME.finditer(text):
        word = m.group().lower().replace("’", "'").removesuffix("'s")
        if word in _NOT_NAMES or word in places or len(word) < 3:
            continue
        if _OFFICE.search(text, max(0, m.start() - 40), m.start()):
            continue  # "Cllr Shaun Davies": an office holder, named in all the council's news
        found[word] += 1
        first.setdefault(word, m.start())
        if not _STARTS.search(text, max(0, m.start() - 3), m.start()):
            inside.add(word)
    return Counter({w: n for w, n in found.items()
                    if w in inside and (n >= 2 or first[w] < OPENING)})


@dataclass
class _View:
    """The week's articles as grouping compares them: TF-IDF vectors of their words and
    of their rare names."""

    words: list[dict[str, float]]
    norms: list[float]
    names: list[frozenset[str]]
    """Each article's rare names: in at most RARE_NAME of all the articles (or two)."""
    dated: list[bool]

    @classmethod
    def of(cls, items: Sequence[Item], background: Sequence[str] = ()) -> _View:
        texts = [f"{i.title} {i.title} {i.text}" for i in items]
        named = [_names(f"{i.title}. {i.text}") for i in items]
        known = [_names(t) for t in background]
        words: set[str] = set()  # a capitalised word written in lower case anywhere is a word
        for text in (*texts, *background):
            words.update(_LOWER_WORD.findall(text[:MAX_TEXT]))
        names = [{w for w in c if w not in words} for c in named]
        df = Counter(w for c in (*names, *known) for w in c)
        most = max(2, RARE_NAME * (len(names) + len(known)))
        rare = [frozenset(w for w in c if df[w] <= most) for c in names]
        vectors, norms = _tfidf(texts, background)
        return cls(vectors, norms, rare, [bool(i.dated) for i in items])

    def cosine(self, a: int, b: int) -> float:
        return _dot(self.words[a], self.words[b]) / (self.norms[a] * self.norms[b])

    def join(self, items: Sequence[Item], a: int, b: int) -> Join:
        words = sorted(set(self.words[a]) & set(self.words[b]),
                       key=lambda t: -self.words[a][t] * self.words[b][t])[:6]
        return Join(items[a].id, items[b].id, round(self.cosine(a, b), 3), tuple(words),
                    tuple(sorted(self.shared_names(a, b))))

    def shared_names(self, a: int, b: int) -> frozenset[str]:
        return self.names[a] & self.names[b]

    def strength(self, a: int, b: int, similar: float = SIMILAR) -> float:
        """How strongly two articles look like one telling: 1.0 or more joins them. Close
        wording does; so do SHARED_NAMES rare names (a child's, an inquiry's chair's)
        between dated articles, or with wording at least half as close."""
        words = self.cosine(a, b) / similar
        names = len(self.shared_names(a, b)) / SHARED_NAMES
        if not (self.dated[a] and self.dated[b]) and words < 0.5:
            names = 0.0  # an undated article may recall an old case by name
        return max(words, names)

    def candidates(self) -> set[tuple[int, int]]:
        """Pairs worth comparing: every pair when there are few enough, else those that
        share enough of their most telling words, or any of their rarest names."""
        n = len(self.words)
        if n <= COMPARE_ALL:
            return {(a, b) for a in range(n) for b in range(a + 1, n)}
        return _sharing(self.words, TOP_TERMS, SHARED_TERMS) | _sharing(
            [dict.fromkeys(c, 1.0) for c in self.names], 1_000, SHARED_NAMES)


def _sharing(vectors: list[dict[str, float]], top: int, shared_at_least: int
             ) -> set[tuple[int, int]]:
    index: dict[str, list[int]] = defaultdict(list)
    for k, vec in enumerate(vectors):
        for term in sorted(vec, key=vec.__getitem__, reverse=True)[:top]:
            index[term].append(k)
    shared: Counter[tuple[int, int]] = Counter()
    for members in index.values():
        if len(members) > 50:
            continue  # a term this common tells nothing about which story
        for i, a in enumerate(members):
            for b in members[i + 1:]:
                shared[(a, b)] += 1
    return {pair for pair, n in shared.items() if n >= shared_at_least}


def _dot(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(v * b[t] for t, v in a.items() if t in b)


def group_by_words(items: Sequence[Item], similar: float = SIMILAR,
                   window: timedelta = WINDOW) -> list[set[int]]:
    """Grouping by wording alone (TF-IDF cosine within the window, joined transitively):
    the reference the grouping benchmark times against. Returns groups of item ids."""
    vectors, norms = _tfidf([f"{i.title} {i.title} {i.text}" for i in items])
    parent = list(range(len(items)))

    def root(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    n = len(items)
    pairs = ({(a, b) for a in range(n) for b in range(a + 1, n)} if n <= COMPARE_ALL
             else _sharing(vectors, TOP_TERMS, SHARED_TERMS))
    for a, b in pairs:
        if abs(items[a].published - items[b].published) <= window and \
                _dot(vectors[a], vectors[b]) / (norms[a] * norms[b]) >= similar:
            parent[root(b)] = root(a)
    groups: dict[int, set[int]] = defaultdict(set)
    for k, item in enumerate(items):
        groups[root(k)].add(item.id)
    return list(groups.values())


def explain(a: Item, b: Item, items: Sequence[Item], window: timedelta = WINDOW,
            background: Sequence[str] = ()) -> str:
    """Why two of ``items`` are, or are not, one story: what keeps them apart, else their
    word and name similarity and what they share."""
    view = _View.of(items, background)
    join = view.join(items, items.index(a), items.index(b))
    reason = _apart(a, b, window)
    return (f"{'kept apart: ' + reason + '; ' if reason else ''}"
            f"words {join.words:.2f} ({', '.join(join.shared_words[:5]) or '-'}), "
            f"rare names shared: {', '.join(join.shared_names) or '-'}")
