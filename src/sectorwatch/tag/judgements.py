"""Ofsted (and Care Inspectorate) judgements of children's services, as events.

An event is (authority, grade, scope, kind, date). A sentence yields one when it ties a
grade to a judgement word ("rated", "judged", "found to be") or names a visit; a grade in
a sentence that looks back ("since it was judged inadequate in 2016") is history, not news,
once the article is about a later visit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sectorwatch.tag.authorities import AuthorityTag

_GRADE = re.compile(r"\b(outstanding|good|requires? improvement(?: to be good)?|inadequate)\b",
                    re.IGNORECASE)
_JUDGED = re.compile(
    r"\b(rated|rating|ratings|judged|judgements?|judgments?|graded|grade|verdict|"
    r"found to be|deemed|moved (?:up )?to|improved to|upgraded|downgraded|remains?|"
    r"effectiveness|ofsted|inspectors?|inspection)\b", re.IGNORECASE)
_KINDS = (
    (re.compile(r"\bmonitoring visits?\b", re.I), "monitoring visit"),
    (re.compile(r"\bfocused visits?\b", re.I), "focused visit"),
    (re.compile(r"\b(joint targeted area inspections?|JTAI)\b", re.I),
     "joint targeted area inspection"),
)
_SCOPES = (
    (re.compile(r"\badoption\b", re.I), "adoption"),
    (re.compile(r"\bcare leavers?\b|\bleaving care\b", re.I), "care leavers"),
    (re.compile(r"\bhelp and protection\b", re.I), "help and protection"),
    (re.compile(r"\b(children (?:in|looked after)|looked[- ]after children)\b", re.I),
     "children in care"),
    (re.compile(r"\b(leadership|leaders|management and governance)\b", re.I), "leadership"),
    (re.compile(r"\bfostering\b", re.I), "fostering"),
)
_OVERALL = re.compile(r"\boverall\b|\boverall effectiveness\b", re.I)
_HISTORY = re.compile(r"\b(since|previous(?:ly)?|last (?:full )?inspection|was (?:judged|rated)|"
                      r"were (?:judged|rated)|had been|years? ago|in 20\d\d)\b", re.I)
_NOT_LA = re.compile(r"\b(school|nursery|academy|college|children's home|care home|"
                     r"childminder|pre-school|hospital|prison)\b", re.I)
_MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august",
           "september", "october", "november", "december"]
_WHEN = re.compile(r"\b(" + "|".join(_MONTHS) + r")(?:\s+(\d{4}))?\b", re.I)
_TRIGGER = re.compile(r"\b(outstanding|good|requires? improvement|inadequate|monitoring visit|"
                      r"focused visit|joint targeted area inspection|JTAI)", re.I)
_SENTENCE = re.compile(r"(?<=[.!?])[\"'”’)]*\s+|\n+")


@dataclass(frozen=True)
class Judgement:
    authority: str | None
    grade: str | None
    scope: str
    kind: str
    date: str | None
    evidence: tuple[str, int] = ("", 0)

    @property
    def key(self) -> tuple:
        return (self.authority, self.grade, self.scope, self.kind)


def tag_judgements(title: str, text: str, authorities: list[AuthorityTag],
                   day: date | str | None = None) -> list[Judgement]:
    whole = f"{title}\n\n{text}" if title else text
    primary = next((a.code for a in authorities if a.role == "primary"), None)
    visit_kinds = {kind for pattern, kind in _KINDS if pattern.search(whole)}
    events: dict[tuple, Judgement] = {}
    triggers = [m.start() for m in _TRIGGER.finditer(whole)]
    if not triggers:
        return []
    for start, sentence in _sentences(whole):
        if not any(start <= t < start + len(sentence) for t in triggers):
            continue  # no grade and no visit named here
        kind = next((k for p, k in _KINDS if p.search(sentence)), None)
        who = _authority_in(start, len(sentence), authorities) or primary
        grades = list(_GRADE.finditer(sentence))
        graded = [g for g in grades if _JUDGED.search(sentence)
                  and not _NOT_LA.search(_around(sentence, g))]
        if graded and visit_kinds and _HISTORY.search(sentence) and kind is None:
            graded = []  # looking back at an earlier judgement, in a story about a visit
        for g in graded:
            grade = _grade(g.group())
            if grade == "good" and not _tied(sentence, g):
                continue  # "good" is also an ordinary word
            scope = _scope(sentence, g)
            event = Judgement(who, grade, scope, kind or "full inspection",
                              _when(sentence, day), (g.group(), start + g.start()))
            events.setdefault(event.key, event)
        if kind and not graded and not _NOT_LA.search(sentence):
            event = Judgement(who, None, "overall", kind, _when(sentence, day), (kind, start))
            if not any(e.kind == kind and e.authority == who for e in events.values()):
                events.setdefault(event.key, event)
    return _merged(list(events.values()))


def _merged(events: list[Judgement]) -> list[Judgement]:
    """An event without an authority is the same event as one with it."""
    known = {(e.grade, e.scope, e.kind) for e in events if e.authority}
    return [e for e in events if e.authority or (e.grade, e.scope, e.kind) not in known]


def _sentences(text: str) -> list[tuple[int, str]]:
    out, pos = [], 0
    for m in _SENTENCE.finditer(text):
        if m.start() > pos:
            out.append((pos, text[pos:m.start()]))
        pos = m.end()
    if pos < len(text):
        out.append((pos, text[pos:]))
    return out


def _authority_in(start: int, length: int, authorities: list[AuthorityTag]) -> str | None:
    for tag in authorities:
        if any(start <= pos < start + length for _, pos in tag.evidence):
            return tag.code
    return None


def _grade(word: str) -> str:
    word = word.lower()
    return "requires improvement" if word.startswith("require") else word


def _tied(sentence: str, g: re.Match) -> bool:
    """'good' counts only next to a judgement word or in quotes ('rated "good"')."""
    window = sentence[max(0, g.start() - 40): g.end() + 25].lower()
    return bool(re.search(r"rated|judged|graded|rating|judgement|judgment|to be|moved|"
                          r"improved to|as good|overall|['\"‘“]good", window))


def _scope(sentence: str, g: re.Match) -> str:
    """A sub-judgement named right next to the grade, else overall."""
    near = sentence[max(0, g.start() - 70): g.end() + 50]
    if _OVERALL.search(near):
        return "overall"
    for pattern, scope in _SCOPES:
        if pattern.search(near):
            return scope
    return "overall"


def _around(sentence: str, g: re.Match) -> str:
    return sentence[max(0, g.start() - 80): g.end() + 60]


def _when(sentence: str, day: date | str | None) -> str | None:
    """The month the sentence names for the event, else the article's own month; a month
    in a sentence that looks back dates the past, not this event."""
    stated = str(day)[:7] if day else None
    m = _WHEN.search(sentence)
    if not m or _HISTORY.search(sentence):
        return stated
    month = _MONTHS.index(m.group(1).lower()) + 1
    year = m.group(2) or (stated[:4] if stated else None)
    return f"{year}-{month:02d}" if year else stated
