"""Which local authorities an article is about: a packaged gazetteer and one token trie.

Matching runs on the title and main text only. Text and aliases are normalised the same
way (straight apostrophes, '&' as 'and', 'St.' as 'St', hyphens as spaces), then every
position tries the longest alias first, so "Newcastle-under-Lyme", "Sutton Coldfield" and
"New York" win over "Newcastle", "Sutton" and "York". Negative rows (New York, Durham
University, police forces, regions) match like any alias but tag nothing, which is how
they shield the shorter names inside them.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from sectorwatch import gazetteer as places
from sectorwatch.tag.trie import trie_pattern

_TOKEN = re.compile(r"\w+(?:'\w+)*|\+", re.UNICODE)
_CUES = re.compile(
    r"\b(council|councils|children'?s services|social care|social workers?|ofsted|"
    r"local authorit(?:y|ies)|borough|safeguarding|dcs|director of children'?s services|"
    r"looked[- ]after|care leavers?|send|children in care|fostering|adoption|"
    r"cabinet member|lead member|corporate parenting|children'?s trust|unitary|"
    r"authorities|residential|placements?|children'?s homes?|family hubs?|"
    r"children'?s centres?|services for (?:vulnerable )?children)\b",
    re.IGNORECASE,
)
_POLITICS = re.compile(r"\b(minister|ministers|parliament|mps|commons|lords|whitehall|"
                       r"government|bill|politicians)\b", re.IGNORECASE)
_EXPLICIT = re.compile(r"\b(council|borough|trust|authority)\b", re.IGNORECASE)
_STREET = re.compile(r"\s+(road|street|lane|avenue|way|drive|square|park|close|place|"
                     r"crescent|hill|rugby|city|united|town|warriors|athletic|rovers|spa|"
                     r"university|college|fc)\b", re.IGNORECASE)
_HYPHENATED = re.compile(r"-[a-z]")
_NAME_BEFORE = re.compile(r"\b([A-Z][a-z]+)\s+$")
_NOT_A_FIRST_NAME = frozenset({
    "In", "At", "Of", "For", "From", "To", "The", "And", "By", "On", "With", "North", "South",
    "East", "West", "Central", "Greater", "Royal", "City", "County", "Borough", "Council",
    "Where", "When", "While", "Both", "Across", "Near", "Around", "Including", "Like", "As",
    "Neighbouring", "Nearby", "Rural", "Urban", "Inner", "Outer", "Said", "Says", "Than"})


@dataclass(frozen=True)
class Alias:
    text: str
    targets: tuple[str, ...]
    valid_from: str | None
    valid_to: str | None
    case_sensitive: bool
    needs_context: bool
    action: str
    kind: str

    def valid_on(self, day: str) -> bool:
        return (self.valid_from or "0000") <= day <= (self.valid_to or "9999")


@dataclass(frozen=True)
class Mention:
    """One place in the text where a name was found."""

    phrase: str
    start: int
    in_title: bool
    alias: Alias


@dataclass(frozen=True)
class AuthorityTag:
    code: str
    name: str
    region: str
    role: str
    """primary (what the article is about) or mentioned."""
    mentions: int
    first_position: int
    """Character offset of the first mention in 'title + "\\n\\n" + text'."""
    in_title: bool
    district_level: bool = False
    """Named only through a district or town inside it (districts do not run children's
    services; their councils' news may not be about them)."""
    evidence: tuple[tuple[str, int], ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class Gazetteer:
    """The gazetteer's authorities with every alias in a token trie."""

    authorities: dict[str, places.Authority]
    trie: dict[str, list[tuple[tuple[str, ...], list[Alias]]]]
    credits: str
    starts: re.Pattern
    """Finds where any alias could begin (its first word), in one pass."""

    def name(self, code: str) -> str:
        return self.authorities[code].name


@functools.cache
def gazetteer() -> Gazetteer:
    """The packaged gazetteer (built by scripts/build_gazetteer.py) ready to match, built
    once."""
    raw = places.raw()
    grouped: dict[tuple[str, ...], list[Alias]] = defaultdict(list)
    for row in raw["aliases"]:
        alias = Alias(row[0], tuple(row[1]), row[2], row[3], row[4], row[5], row[6], row[7])
        grouped[key_tokens(alias.text)].append(alias)
    trie: dict[str, list[tuple[tuple[str, ...], list[Alias]]]] = defaultdict(list)
    for tokens, aliases in grouped.items():
        if tokens:
            trie[tokens[0]].append((tokens, aliases))
    for candidates in trie.values():
        candidates.sort(key=lambda c: -len(c[0]))  # longest first
    starts = re.compile(rf"(?<![\w'])(?:{trie_pattern(trie)})(?![\w])", re.IGNORECASE)
    return Gazetteer(places.authorities(), dict(trie), raw["credits"], starts)


@functools.cache
def place_words() -> frozenset[str]:
    """Every word of every authority, district, town and trust name (casefolded): the words
    that say where a story is, not which story it is."""
    gaz = gazetteer()
    return frozenset(token for candidates in gaz.trie.values()
                     for tokens, _ in candidates for token in tokens)


def normalise(text: str) -> str:
    """The form both text and aliases are matched in (offsets are kept: same length)."""
    text = text.replace("’", "'").replace("‘", "'").replace("&", "+")
    return re.sub(r"\bSt\.", "St ", text)


def key_tokens(text: str) -> tuple[str, ...]:
    return tuple(t.casefold() for t, _, _ in _tokens(normalise(text)))


def _tokens(text: str, pos: int = 0, limit: int | None = None) -> list[tuple[str, int, int]]:
    """(token, start, end) from ``pos``, at most ``limit`` of them; '+' (from '&') is the
    word 'and'; a possessive 's is dropped."""
    out: list[tuple[str, int, int]] = []
    for m in _TOKEN.finditer(text, pos):
        if limit is not None and len(out) >= limit:
            break
        token = m.group()
        if token == "+":
            token = "and"
        elif token.endswith(("'s", "'S")):
            token = token[:-2]
        out.append((token, m.start(), m.end()))
    return out


def find_mentions(title: str, text: str, gaz: Gazetteer | None = None) -> list[Mention]:
    """Every alias occurrence, longest match first, in title then text."""
    gaz = gaz or gazetteer()
    whole = f"{title}\n\n{text}" if title else text
    title_end = len(title) if title else -1
    normal = normalise(whole)
    found: list[Mention] = []
    done = 0  # text before this offset is already part of a match
    for start_match in gaz.starts.finditer(normal):
        at = start_match.start()
        if at < done:
            continue
        first = _tokens(normal, at, 1)
        candidates = gaz.trie.get(first[0][0].casefold(), ()) if first else ()
        if not candidates:
            continue
        tokens = _tokens(normal, at, len(candidates[0][0]))  # the longest alias's length
        lowered = [t.casefold() for t, _, _ in tokens]
        for cand, aliases in candidates:
            n = len(cand)
            if tuple(lowered[:n]) != cand:
                continue
            exact = [t for t, _, _ in tokens[:n]]
            usable = [a for a in aliases
                      if not a.case_sensitive
                      or exact == [t for t, _, _ in _tokens(normalise(a.text))]]
            if not usable:
                continue
            end = tokens[n - 1][2]
            for alias in usable:
                found.append(Mention(whole[at:end], at, at < title_end, alias))
            done = end
            break
    return found


def tag_authorities(title: str, text: str, day: date | str | None = None,
                    gaz: Gazetteer | None = None) -> list[AuthorityTag]:
    """Authorities named in an article, each with its role and the evidence for it.

    ``day`` is the publication date; without one, the date is estimated from the text (a
    former council's own name, the latest year named) to decide which councils existed.
    """
    gaz = gaz or gazetteer()
    whole = normalise(f"{title}\n\n{text}" if title else text)  # "children’s" as "children's"
    mentions = find_mentions(title, text, gaz)
    iso = day.isoformat() if isinstance(day, date) else day
    by_place: dict[int, list[Mention]] = defaultdict(list)
    contact = [(c.start(), c.end()) for c in _CONTACT_LINE.finditer(whole)]
    for m in mentions:
        if m.phrase[:1].isupper() or m.phrase[:1].isdigit():  # places are proper nouns
            if contact and any(lo <= m.start < hi for lo, hi in contact):
                continue  # "Bedford Office +44 (0)1234 400000": an address, not the news
            by_place[m.start].append(m)
    iso = iso or estimate_day(whole, by_place.values())
    found_cues = list(_CUES.finditer(whole))
    cue_at = [c.start() for c in found_cues]
    breaks = [b.start() for b in re.finditer("\n\n", whole)]  # paragraph ends
    sector = bool(found_cues)
    article_cued = len({c.group().lower() for c in found_cues}) >= 2  # not a passing word
    resolved: list[tuple[Mention, tuple[str, ...]]] = []
    for group in by_place.values():
        if any(m.alias.action == "do_not_tag" for m in group):
            continue  # a negative: it shields the names inside it
        taggable = [m for m in group if m.alias.action in ("tag", "tag_upper_tier")]
        if not taggable:
            continue  # an area, a region, a police force: not an authority
        if len(taggable) < len(group) and iso and not any(m.alias.valid_on(iso)
                                                           for m in taggable):
            continue  # once the council is gone, the name means the area
        if not sector and not _EXPLICIT.search(taggable[0].phrase) and \
                "trust" not in taggable[0].alias.kind:
            continue  # no sector words at all: a bare county name is a team or a place
        if _part_of_another_name(whole, taggable[0]):
            continue  # an NHS trust, a police force, a court, a constituency, a newspaper
        if (taggable[0].alias.action == "tag_upper_tier" or taggable[0].alias.needs_context
                or "town" in taggable[0].alias.kind) and _after_first_name(whole, taggable[0]):
            continue  # "leader John Hart": a surname, not the district
        if taggable[0].alias.kind == "ambiguous town" and _a_person(whole, taggable[0]):
            continue  # "said Stanley", "Sandy Bear": a person
        codes = _resolve([m.alias for m in taggable], iso, gaz)
        if codes:
            resolved.append((taggable[0], codes))
    strong = {c for m, codes in resolved if not m.alias.needs_context for c in codes}
    accepted: list[tuple[Mention, tuple[str, ...]]] = []
    rejected: list[tuple[Mention, tuple[str, ...]]] = []
    for m, codes in resolved:
        ok = not m.alias.needs_context or set(codes) & strong or \
            _cued(whole, m, cue_at, breaks, article_cued)
        (accepted if ok else rejected).append((m, codes))
    accepted += _listed_with(whole, accepted, rejected)
    accepted = _without_employers(whole, accepted)
    accepted = _without_locators(whole, accepted)
    accepted = _short_forms(accepted)
    if len({c for _, codes in accepted for c in codes}) > 1:  # "the former Cumbria County
        accepted = [(m, codes) for m, codes in accepted  # Council": the past, not the news
                    if not _FORMER.search(whole, max(0, m.start - 12), m.start)]
    hits: dict[str, list[Mention]] = defaultdict(list)
    district_only: dict[str, bool] = defaultdict(lambda: True)
    for m, codes in sorted(accepted, key=lambda r: r[0].start):
        for code in codes:
            hits[code].append(m)
            district_only[code] &= m.alias.action == "tag_upper_tier"
    return _roles(hits, district_only, gaz, len(whole))


_CONTACT_LINE = re.compile(r"^[^\n]{0,120}(?:\+44\s?\(0\)\s?\d|\b0\d{2,4}\s\d{3,4}\s?\d{3,4}\b)"
                           r"[^\n]{0,60}$", re.MULTILINE)
"""A line with a UK telephone number: a contact block or an office list."""
_YEARS = re.compile(r"\b(?:19[89]\d|20\d\d)\b")
_ORG_AFTER = re.compile(
    r"(?:\s+(?:and|\+)\s+[A-Z][\w']+(?:\s+[A-Z][\w']+){0,2})?\s+(?:[A-Z][\w']+\s+){0,3}?"
    r"(?:NHS|Foundation Trust|Police|Constabulary|University|College|School|Academy|Hospitals?|"
    r"Safeguarding (?:Children )?(?:Board|Partnership)|LSCB|LSCP|CCG|ICB|Integrated Care|"
    r"Clinical Commissioning|Fire|Healthcare|Crown Court|Magistrates|Family Court|"
    r"Youth Court|Coroner|MP|Evening Post|Echo|Gazette|Advertiser|Herald|Chronicle|"
    r"Observer|Telegraph|Argus|Mercury|Live|Evening Standard|Times|Express|Star)\b")
_ORG_BEFORE = re.compile(
    r"(?:\bMP for|\bMember of Parliament for|\b(?:court|hearing|tribunal|inquest|trial|"
    r"sentenced|jailed)\b[^.\n]{0,40}\b(?:in|at)|\bUniversity of)\s+$", re.IGNORECASE)
_EMPLOYER_BEFORE = re.compile(
    r"\b(?:chief executive|director|head|chair(?:man|woman)?|manager|executive|officer|"
    r"president|employee|adviser|former \w+)(?: of [\w' ]{1,40}?)?\s+(?:of|at|from|for|in)\s+"
    r"(?:the\s+)?$", re.IGNORECASE)
_EMPLOYER_AFTER = re.compile(r"^(?:'s)?(?:\s+[A-Z]{2,3})?(?:'s)?\s+(?:chief executive|"
                             r"director|head|chair|leader|boss)\b", re.IGNORECASE)
_LIST_GAP = re.compile(r"\s*(?:,|;|\band\b|\+|\bor\b|, and\b|, or\b)\s*(?:the\s+)?",
                       re.IGNORECASE)
WORDLIKE = frozenset({
    "bath", "bury", "reading", "slough", "brent", "highland", "westminster", "richmond",
    "kingston", "newcastle", "newport", "durham", "harrow", "greenwich", "hackney", "camden",
    "york", "stoke", "sutton", "merton", "wigan", "poole", "kent", "fife", "angus", "moray",
    "shetland", "dudley", "bolton", "telford"})
"""Names that are also words, surnames or other places: the sector cue must be in their
own paragraph (or they must be listed with other authorities), not just in the article."""


def _after_first_name(whole: str, m: Mention) -> bool:
    before = _NAME_BEFORE.search(whole, max(0, m.start - 20), m.start)
    return bool(before and before.group(1) not in _NOT_A_FIRST_NAME)


_THE_COUNTY = re.compile(r"\bthe county council\b", re.IGNORECASE)
def _a_person(whole: str, m: Mention) -> bool:
    end = m.start + len(m.phrase)
    return bool(re.search(r"\b(?:said|says|told|added|asked)\s+$", whole[max(0, m.start - 8):
                                                                        m.start])
                or re.match(r" [A-Z][a-z]+\b(?<!Council)(?<!Road)(?<!Street)", whole[end:end + 20]))


_FORMER = re.compile(r"\b(?:former|old|defunct|abolished)\s+$", re.IGNORECASE)


def estimate_day(whole: str, groups) -> str | None:
    """A date for an undated article: before the end of any former council it names by
    that council's own name ("Somerset County Council") or a county since made unitary
    as "the county council", else in the latest year it names."""
    latest = max((int(y) for y in _YEARS.findall(whole)), default=None)
    groups = [g for g in groups if g]
    ends = [min(a.valid_to for a in (m.alias for m in g) if a.valid_to)
            for g in groups if all(m.alias.valid_to for m in g)
            and any(m.alias.kind == "former_authority" for m in g)
            and any(_EXPLICIT.search(m.phrase) for m in g)]
    if _THE_COUNTY.search(whole):  # "the county council" of a county since made unitary
        ends += [a.valid_to for g in groups for a in (m.alias for m in g)
                 if a.kind == "former_authority" and a.valid_to and a.action == "tag"
                 and all(t.startswith("E10") for t in a.targets)]
    starts = [max(a.valid_from for a in (m.alias for m in g) if a.valid_from)
              for g in groups if g and all(m.alias.valid_from for m in g)
              and all(m.alias.valid_from > "2009" for m in g)
              and any(_EXPLICIT.search(m.phrase) for m in g)]
    day = f"{latest}-07-01" if latest else None
    if starts and (day is None or day < max(starts)):
        return max(starts)  # "Cumberland Council": it exists, whatever else is named
    if ends and (day is None or day > min(ends)):
        day = min(ends)
    return day


def _part_of_another_name(whole: str, m: Mention) -> bool:
    """The place is part of another body's name or a place of another kind: "Torbay and
    South Devon NHS Foundation Trust", "MP for Reading East", "appeared at Cardiff Crown
    Court"."""
    end = m.start + len(m.phrase)
    if _EXPLICIT.search(m.phrase):
        return False
    if _ORG_AFTER.match(whole, end):
        return True
    return bool(_ORG_BEFORE.search(whole, max(0, m.start - 60), m.start))


def _listed_with(whole: str, accepted: list, rejected: list) -> list:
    """Names rejected for want of context that stand in one list with accepted ones
    ("Plymouth, Torbay and Devon"): a list of authorities is its own context. One sweep
    each way carries it along the list."""
    found: list = []
    starts = {m.start for m, _ in accepted}
    ends = {m.start + len(m.phrase) for m, _ in accepted}
    rejected = sorted(rejected, key=lambda r: r[0].start)
    for sweep in (rejected, rejected[::-1]):
        for item in sweep:
            m, _ = item
            end = m.start + len(m.phrase)
            if m.start in starts:
                continue  # already taken
            after = _LIST_GAP.match(whole, end)
            if (after and after.end() in starts) or any(
                    e in ends and _LIST_GAP.fullmatch(whole, e, m.start)
                    for e in range(max(0, m.start - 12), m.start)):
                found.append(item)
                starts.add(m.start)
                ends.add(end)
    return found


def _without_employers(whole: str, accepted: list) -> list:
    """Drop an authority named only as where someone works ("Hampshire's chief executive
    John Coughlan", "chief executive of Achieving for Children, the company that runs
    children's services in Kingston and Richmond") when the article is about another."""
    spans: list[tuple[int, int]] = []  # disjoint, in order (mentions come in order)
    for m, _ in sorted(accepted, key=lambda r: r[0].start):
        end = m.start + len(m.phrase)
        if _EMPLOYER_BEFORE.search(whole, max(0, m.start - 70), m.start) or \
                _EMPLOYER_AFTER.match(whole[end:end + 40]):
            first = whole.find(",", end)  # to the end of the apposition, or the sentence
            stop = whole.find(",", first + 1) if first >= 0 else -1
            dot = whole.find(". ", end)
            limit = min(x for x in (stop, dot, len(whole)) if x >= end)
            if spans and m.start <= spans[-1][1]:
                spans[-1] = (spans[-1][0], max(limit, spans[-1][1]))
            else:
                spans.append((m.start, limit))
    if not spans:
        return accepted
    span_starts = [lo for lo, _ in spans]
    by_code: dict[str, list[bool]] = defaultdict(list)
    for m, codes in accepted:
        at = bisect.bisect_right(span_starts, m.start) - 1
        inside = at >= 0 and m.start < spans[at][1]
        for code in codes:
            by_code[code].append(inside)
    only = {code for code, flags in by_code.items() if all(flags)}
    if len(only) == len(by_code):
        return accepted  # nobody else is named: the employer is what there is
    return [(m, codes) for m, codes in accepted if not set(codes) <= only]


_LOCATOR = re.compile(r",?\s+in\s+(?:the\s+)?$")
_OUTSKIRTS = re.compile(r"\b(?:outskirts of|on the edge of|on the border with)\s+$", re.I)


def _without_locators(whole: str, accepted: list) -> list:
    """Drop a place named only to say where another council is ("St Helens in Lancashire",
    "Hull City Council, in East Yorkshire")."""
    ends = {m.start + len(m.phrase): set(codes) for m, codes in accepted}
    every = {c for _, codes in accepted for c in codes}
    out = []
    for m, codes in accepted:
        at = _LOCATOR.search(whole, max(0, m.start - 12), m.start)
        located = ends.get(at.start()) if at else None
        if located is not None and not located & set(codes):
            continue
        if _OUTSKIRTS.search(whole, max(0, m.start - 20), m.start) and every - set(codes):
            continue  # "a home on the outskirts of Wolverhampton", run by another council
        out.append((m, codes))
    return out


def _short_forms(accepted: list) -> list:
    """A bare name that begins a longer place named in the same article is its short form:
    "Sutton" after "Sutton Coldfield" is Birmingham's town, not the London borough."""
    longer: dict[str, tuple[str, ...]] = {}
    for m, codes in accepted:
        words = m.phrase.casefold().split()
        for n in range(1, len(words)):
            longer.setdefault(" ".join(words[:n]), tuple(codes))
    out = []
    for m, codes in accepted:
        key = m.phrase.casefold().removesuffix("'s")
        if key in longer and set(longer[key]) != set(codes) and m.alias.needs_context:
            codes = longer[key]
        out.append((m, codes))
    return out


def _resolve(aliases: list[Alias], day: str | None, gaz: Gazetteer) -> tuple[str, ...]:
    """The authorities an alias means on the article's date."""
    if day:
        current = [a for a in aliases if a.valid_on(day)]
    else:
        current = [a for a in aliases if not a.valid_to] or aliases
    # Every row ended before the article: the name now means the successors.
    rows = current or [max(aliases, key=lambda a: a.valid_to or "")]
    return tuple(dict.fromkeys(c for a in rows for target in a.targets
                               for c in _alive(target, day, gaz)))


def _alive(code: str, day: str | None, gaz: Gazetteer, depth: int = 0) -> list[str]:
    """The authority that ``code`` is on ``day``: itself, its successors once it was
    abolished, the one council it replaced before it existed, or nothing."""
    info = gaz.authorities.get(code)
    if info is None or not day or depth > 3:
        return [code]
    if info.start and day < info.start:
        # Before it existed: the one council it replaced ("Richmondshire" in 2019 is North
        # Yorkshire County Council), else nothing (a trust's name, BCP's three councils).
        before = [c for c, i in gaz.authorities.items() if code in i.replaced_by]
        return _alive(before[0], day, gaz, depth + 1) if len(before) == 1 else []
    if info.end and day > info.end:
        return [c for s in info.replaced_by for c in _alive(s, day, gaz, depth + 1)]
    return [code]


def _cued(whole: str, m: Mention, cue_at: list[int], breaks: list[int],
          article_cued: bool = False) -> bool:
    """A name that is also a word or a surname counts only as the place: with a sector cue
    in its paragraph, and not as part of a street, a team, a hyphenated word or a name."""
    end = m.start + len(m.phrase)
    after = whole[end: end + 16]
    if _STREET.match(after) or _HYPHENATED.match(after):
        return False
    before = _NAME_BEFORE.search(whole, max(0, m.start - 20), m.start)
    if before and before.group(1) not in _NOT_A_FIRST_NAME:
        return False
    near = max(0, m.start - 300)  # a sentence, or 300 characters of a run without stops
    s_lo = max(whole.rfind(". ", near, m.start), whole.rfind("\n", near, m.start), near)
    s_hi = whole.find(". ", end, end + 300)
    sentence = whole[s_lo: s_hi if s_hi >= 0 else end + 300]
    if _POLITICS.search(sentence) and not _EXPLICIT.search(sentence):
        return False  # Westminster the Parliament, not the council
    if article_cued and m.phrase.casefold() not in WORDLIKE and not m.phrase.isupper() \
            and m.alias.kind != "ambiguous town":
        return True  # a children's-services article: the cue need not share the paragraph
    i = bisect.bisect_left(breaks, m.start)  # the cue must be in the same paragraph
    lo = breaks[i - 1] if i else 0
    hi = breaks[i] if i < len(breaks) else len(whole)
    at = bisect.bisect_left(cue_at, lo)
    return at < len(cue_at) and cue_at[at] < hi


def round_up(in_title: list[bool]) -> bool:
    """Three or more authorities (each: named in the headline?) and none in the headline:
    a round-up or a national story, not one council's news."""
    return len(in_title) >= 3 and not any(in_title)


def _roles(hits: dict[str, list[Mention]], district_only: dict[str, bool], gaz: Gazetteer,
           length: int) -> list[AuthorityTag]:
    if not hits:
        return []
    counts = {code: len(ms) for code, ms in hits.items()}
    top = max(counts.values())
    firsts = {code: min(m.start for m in ms) for code, ms in hits.items()}
    if round_up([any(m.in_title for m in ms) for ms in hits.values()]):
        # "the latest focused visits": a primary must dominate the round-up
        total = sum(counts.values())
        primaries = {code for code in hits if counts[code] >= max(3, total * 0.5)}
    else:
        primaries = {code for code, ms in hits.items()
                     if any(m.in_title for m in ms) or counts[code] >= max(2, top * 0.5)}
    if not primaries and len(hits) == 1:  # one council named once is what it is about
        primaries = set(hits)
    tags = []
    for code, ms in hits.items():
        in_title = any(m.in_title for m in ms)
        first = firsts[code]
        primary = code in primaries
        info = gaz.authorities[code]
        tags.append(AuthorityTag(
            code=code, name=info.name, region=info.region,
            role="primary" if primary else "mentioned", mentions=counts[code],
            first_position=first, in_title=in_title, district_level=district_only[code],
            evidence=tuple((m.phrase, m.start) for m in sorted(ms, key=lambda m: m.start)),
        ))
    tags.sort(key=lambda t: (t.role != "primary", -t.mentions, t.first_position))
    return tags
