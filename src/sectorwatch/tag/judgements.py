"""Ofsted judgements of English councils' children's services, as events.

An event is (authority, grade, scope, kind, date). A sentence yields one when it ties a
grade to a judgement word ("rated", "judged", "found to be") or names a visit; a grade in
a sentence that looks back ("since it was judged inadequate in 2016") is history, not news,
once the article is about a later visit.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date

from sectorwatch.tag.authorities import AuthorityTag, normalise

_GRADE = re.compile(r"\b(outstanding|good|requir(?:es?|ing|ed) improvement(?: to be good)?|"
                    r"inadequate|(?:top|highest|lowest|bottom) (?:possible )?(?:grade|rating))\b",
                    re.IGNORECASE)
_JUDGED = re.compile(
    r"\b(rated|rating|ratings|judged|judgements?|judgments?|graded|grade|verdict|"
    r"found to be|deemed|moved|improved|upgraded|downgraded|slipped|dropped|remains?|"
    r"jumped|rose|risen|climbed|gone|went|leap|fell|fallen|raised|lifted|"
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
    (re.compile(r"\bhelp and protection\b|\bchild protection\b|\bneed of protection\b|"
                r"\bsafeguarding\b|\bprotecting children\b", re.I), "help and protection"),
    (re.compile(r"\b(children in (?:our )?care|children (?:being )?looked after|"
                r"looked[- ]after children)\b", re.I), "children in care"),
    (re.compile(r"\bcapacity to improve\b", re.I), "capacity to improve"),
    (re.compile(r"\b(keeping children safe|staying safe)\b", re.I), "staying safe"),  # 2008
    (re.compile(r"\b(leadership|leaders|management and governance)\b", re.I), "leadership"),
    (re.compile(r"\bfostering\b", re.I), "fostering"),
)
_NUMBERS = ("two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
_BODIES = r"(?:councils|local authorit(?:ies|y areas)|authorities|boroughs|departments)"
_SEVERAL = re.compile(r"\b(" + "|".join(_NUMBERS) + r"|\d{1,2}|both)\s+(?:\w+\s+)?"
                      + _BODIES + r"\b", re.I)
_NO_ONE = re.compile(r"\b(?:no|any|every|each|none of the)\s+(?:other\s+)?(?:local\s+)?"
                     r"(?:authority|council)\b", re.I)
_ANOTHER = re.compile(r"\b(?:an)?other\s+(?:local\s+)?(?:authorit|council)", re.I)
_SOME_AREAS = re.compile(r"['\"’”]?\s+(?:in|for|across)\s+(?:two|three|four|five|\d+|some|"
                         r"several|a number of|many)\s+(?:\w+\s+){0,2}?(?:areas|categories|"
                         r"aspects|judgements)\b", re.I)
_IN_SOME_AREAS = re.compile(r"\bin\s+(?:two|three|four|five|\d+|some|several|a number of|"
                            r"many)\s+(?:\w+\s+)?(?:areas|categories|aspects)\b", re.I)
_PLURAL = re.compile(r"\b" + _BODIES + r"\b", re.I)
_FRAMEWORK_NAME = re.compile(r"\b(?:inspections?|reviews?) of safeguarding and looked[- ]after "
                             r"children(?:'s)?(?: services)?\b", re.I)
_OVERALL = re.compile(r"\boverall\b|\boverall effectiveness\b", re.I)
_BEFORE_HISTORY = re.compile(r"\b(since|from)\W+$|\bsince\b", re.I)
_ANY_HISTORY = re.compile(r"\b(previous(?:ly)?|last (?:full )?inspection|last year|had been|"
                          r"in the past|"
                          r"former(?:ly)?|at the time|years? ago|years? after|"
                          r"years? (?:since|earlier))\b", re.I)
_YEAR = re.compile(r"\b(19|20)\d\d\b")
_LA_WORK = re.compile(r"\b(children's services|children's social care|local authority|"
                      r"children's trust|help and protection)\b", re.I)
_STATISTIC = re.compile(r"\b(?:good|outstanding|inadequate|improvement)['\"’”]?\s+or\s+\w|"
                        r"\bor\s+['\"‘“]?(?:good|outstanding|inadequate)\b|%|per cent|"
                        r"\b(?:councils|local authorities|authorities|children's homes)\b"
                        r"[^.]{0,25}\b(?:are|were|was)\b|"
                        r"\b(?:\d+|two|three|four|five|six|seven|eight|nine|ten) of (?:the )?"
                        r"(?:\d+|two|three|four|five|six|seven|eight|nine|ten)\b", re.I)
_AUTHORITATIVE = re.compile(r"\b(ofsted|inspection|inspectors?|care inspectorate)\b", re.I)
_FEATURES = re.compile(r"['\"’”]?\s+(?:features?|elements?|aspects?|practice|issues?|"
                       r"concerns?|actions?|recommendations?|matters?|cases?|debts?)\b", re.I)
_NOT_LA = re.compile(r"\b(schools?|nurser(?:y|ies)|academ(?:y|ies)|colleges?|children's homes?|"
                     r"care homes?|safeguarding (?:children )?board|LSCB|childminders?|"
                     r"pre-schools?|hospitals?|prisons?|settings?|childcare|early years)\b",
                     re.I)
_MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august",
           "september", "october", "november", "december"]
_WHEN = re.compile(r"\b(" + "|".join(_MONTHS) + r")(?:\s+(\d{4}))?\b", re.I)
_TRIGGER = re.compile(r"\b(outstanding|good|requir(?:es?|ing|ed) improvement|inadequate|"
                      r"(?:top|highest|lowest|bottom) (?:possible )?(?:grade|rating)|"
                      r"monitoring visit|"
                      r"focused visit|joint targeted area inspection|JTAI)", re.I)
_INSPECTED_NEAR = re.compile(r"\b(inspect\w*|visit\w*|published|judgement|report)\b", re.I)
_SENTENCE = re.compile(r"(?<=[.!?])[\"'”’)]*\s+|\n+")


@dataclass(frozen=True)
class Judgement:
    authority: str | None
    grade: str | None
    scope: str
    kind: str
    date: str | None
    evidence: tuple[str, int] = ("", 0)
    past: bool = False
    """An earlier grade the article looks back on ("rated inadequate in 2015"), not the
    news it reports: kept, so that every grade the text states is known, but not news."""

    @property
    def key(self) -> tuple:
        return (self.authority, self.grade, self.scope, self.kind)

    def as_dict(self) -> dict:
        """As the store and an issue's snapshot keep it: every field but the evidence."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "evidence"}


def tag_judgements(title: str, text: str, authorities: list[AuthorityTag],
                   day: date | str | None = None) -> list[Judgement]:
    whole = normalise(f"{title}\n\n{text}" if title else text)  # one apostrophe, same offsets
    # Whose grades, when a sentence names nobody: the subject, else the most named.
    ranked = sorted(authorities, key=lambda a: (a.role != "primary", -a.mentions,
                                                a.first_position))
    primary = ranked[0].code if ranked else None
    primaries = [a.code for a in ranked if a.role == "primary"]
    inspected = bool(_AUTHORITATIVE.search(whole))
    if _NOT_LA.search(title) and not _LA_WORK.search(whole):
        return []  # a school's or nursery's inspection, not a council's
    events: dict[tuple, Judgement] = {}
    triggers = [m.start() for m in _TRIGGER.finditer(whole)]
    if not triggers:
        return []
    months = _article_months(whole, day)
    implicit: set[tuple] = set()  # overall only because no scope was named beside the grade
    stated: set[tuple] = set()  # its scope named
    for start, sentence in _sentences(whole):
        at = bisect.bisect_left(triggers, start)
        if at == len(triggers) or triggers[at] >= start + len(sentence):
            continue  # no grade and no visit named here
        kind = next((k for p, k in _KINDS if p.search(sentence)), None)
        judged = bool(_JUDGED.search(sentence))
        other = bool(_OTHER_INSPECTORATE.search(sentence))  # HMI Probation's, CIW's…
        graded = []
        for g in _GRADE.finditer(sentence):
            grade = _grade(g.group())
            row = inspected and (_table_row(sentence, g) or bool(_SCOPE_IS.search(
                sentence, max(0, g.start() - 50), g.start())))  # "capacity to improve is good"
            if other or _NOT_LA.search(sentence[: g.end() + 60]) or _hoped_for(sentence, g) \
                    or _FEATURES.match(sentence, g.end()):
                continue  # another inspectorate's finding, a setting's grade, an ambition,
                # "good with outstanding features"
            if grade in ("good", "outstanding") and _describes(sentence, g):
                continue  # "backed by good oversight", "receiving good services"
            if grade == "good" and not (row or (judged and _tied(sentence, g))):
                continue  # "good" is also an ordinary word
            if grade != "good" and not (judged or inspected):
                continue
            if _STATISTIC.search(sentence[max(0, g.start() - 45): g.end() + 15]):
                continue  # "64% of councils are good or outstanding": a statistic
            graded.append((g, grade))
        news = False  # a grade in this sentence that is not looked back on
        for g, grade in graded:
            epithet = _EPITHET.match(sentence, g.end())  # "'inadequate' Surrey", "good councils"
            who: Sequence[str | None] = _subjects(start, sentence, g, authorities,
                                                  epithet.end() if epithet else None)
            if not who and epithet and epithet.group(1):
                continue  # "five 'inadequate' local authorities": a count, not one council
            if not who:  # "children's services at three councils rated 'good'": those named
                who = _counted(sentence, [[a.code for a in ranked], primaries])
                if not who and (_PLURAL.search(sentence) or _NO_ONE.search(sentence) or
                                _ANOTHER.search(sentence, max(0, g.start() - 60), g.start())):
                    continue  # "four local authority areas judged inadequate", "no council
                    # has been judged outstanding", "one other council's": not one named
            who = who or [primary]
            past = _historic(sentence, g, day)
            news = news or not past
            scopes = (["overall"] if epithet else
                      _scopes(sentence, g, [o for o, _ in graded if o is not g]))
            explicit = epithet or scopes != ["overall"] or _OVERALL.search(_around(sentence, g))
            if not explicit and (_SOME_AREAS.match(sentence, g.end()) or _IN_SOME_AREAS.search(
                    sentence, max(0, g.start() - 120), g.start())):
                continue  # "inadequate in two specific areas": which, it does not say
            for scope in scopes:
                for code in who:
                    event = Judgement(code, grade, scope,
                                      "full inspection" if past else kind or "full inspection",
                                      _past_when(sentence, g) if past else
                                      _when(sentence, day, months), (g.group(), start + g.start()),
                                      past)
                    if event.key not in events or events[event.key].past > past:
                        events[event.key] = event
                    (stated if explicit else implicit).add(event.key)
        if kind and not news and not _NOT_LA.search(sentence):
            codes: Sequence[str | None] = (_authorities_in(start, len(sentence), authorities)
                                           or [primary])
            for code in codes:
                event = Judgement(code, None, "overall", kind, _when(sentence, day, months),
                                  (kind, start))
                if not any(e.kind == kind and e.authority == code for e in events.values()):
                    events.setdefault(event.key, event)
    return _merged(_one_overall([e for e in events.values() if _ofsted_inspects(e.authority)],
                                implicit - stated))


def _ofsted_inspects(code: str | None) -> bool:
    """Ofsted inspects English councils only; a Welsh, Scottish or Northern Irish
    council's grade is another inspectorate's."""
    return code is None or code.startswith("E")


def _one_overall(events: list[Judgement], implicit: set[tuple]) -> list[Judgement]:
    """One inspection has one overall grade: where an authority has two, drop one that is
    overall only by default and that the article also gives to a named sub-judgement (a
    headline's "'inadequate' and 'requires improvement'" over a body that says which)."""
    out = []
    for e in events:
        rivals = [o for o in events if o.authority == e.authority and o.scope == "overall"
                  and not o.past and o.kind == e.kind and o.grade and o.grade != e.grade
                  and o.key not in implicit]
        scoped = any(o.authority == e.authority and o.grade == e.grade and o.scope != "overall"
                     for o in events)
        if e.scope == "overall" and not e.past and e.key in implicit and rivals and scoped:
            continue
        out.append(e)
    return out


def _counted(sentence: str, choices: list[list[str]]) -> list[str]:
    """The authorities a count of councils means ("three councils"): the first of
    ``choices`` that has that many."""
    m = _SEVERAL.search(sentence)
    if not m:
        return []
    word = m.group(1).lower()
    n = 2 if word == "both" else int(word) if word.isdigit() else _NUMBERS.index(word) + 2
    return next((codes for codes in choices if len(codes) == n), [])


def _merged(events: list[Judgement]) -> list[Judgement]:
    """An event without an authority is the same event as one with it."""
    known = {(e.grade, e.scope, e.kind) for e in events if e.authority}
    return [e for e in events if e.authority or (e.grade, e.scope, e.kind) not in known]


def _sentences(text: str) -> list[tuple[int, str]]:
    """(offset, sentence); a run longer than MAX_SENTENCE (a list, a page without stops)
    is cut at spaces, so that no check reads more than that much at once."""
    out, pos = [], 0
    for m in _SENTENCE.finditer(text):
        if m.start() > pos:
            out += _pieces(text, pos, m.start())
        pos = m.end()
    if pos < len(text):
        out += _pieces(text, pos, len(text))
    return out


MAX_SENTENCE = 600


def _pieces(text: str, lo: int, hi: int) -> list[tuple[int, str]]:
    out = []
    while hi - lo > MAX_SENTENCE:
        cut = text.rfind(" ", lo + MAX_SENTENCE // 2, lo + MAX_SENTENCE)
        cut = cut if cut > lo else lo + MAX_SENTENCE
        out.append((lo, text[lo:cut]))
        lo = cut
    out.append((lo, text[lo:hi]))
    return out


_EPITHET = re.compile(r"[\"'’”]?(?:-rated|\s+rated)?\s+(?:((?i:councils|local authorities|"
                      r"authorities))\b|(?i:council|local authority|authority)\b|(?=[A-Z]))")
"""A grade used of a council ("the 'inadequate' council", "good-rated Gateshead"): the
council's standing grade, overall; group 1 is a plural ("inadequate councils")."""


_THE_SERVICE = re.compile(r"\b(?:the|its)\s+(?:children's\s+)?(?:service|services|council|"
                          r"authority|county council|department|local authority)\b", re.I)


def _subjects(start: int, sentence: str, g: re.Match,
              authorities: list[AuthorityTag], epithet_end: int | None = None) -> list[str]:
    """Whose grade this is: the authorities it is put before ("at 'inadequate' Surrey,
    Newham and Medway"), else the one named nearest before it in the sentence (with any
    joined to it by 'and' — "Sandwell and Herefordshire both moved to good"), else the
    first named after it."""
    named: dict[int, list[str]] = {}
    for tag in authorities:
        for _, pos in tag.evidence:
            if start <= pos < start + len(sentence):
                named.setdefault(pos - start, []).append(tag.code)
                named[pos - start] = list(dict.fromkeys(named[pos - start]))
    if any(len(codes) == 1 for codes in named.values()):  # a shared service's or trust's
        named = {p: codes for p, codes in named.items() if len(codes) == 1}  # name gives way
    before = sorted(p for p in named if p < g.start())
    after = sorted(p for p in named if p > g.end())
    if epithet_end is not None:
        if after and after[0] <= epithet_end + 1:
            before = []  # the grade stands before the names it describes
        elif re.search(r"[A-Z]", sentence[epithet_end:epithet_end + 1]):
            return []  # before a name that is not an authority's
    if not before and _THE_SERVICE.search(sentence, 0, g.start()):
        return []  # "Ofsted rated the service inadequate and told it to work with Essex":
        # the article's own council, not the one named after
    if not before:  # "rated inadequate, following Lambeth and Cumbria": all that list
        group = after[:1]
        for p in after[1:]:
            if not _joined_names(sentence[group[-1]: p]):
                break
            group.append(p)
        return list(dict.fromkeys(code for p in group for code in named[p]))
    if re.search(r"\b(its|their)\b", sentence[before[-1]: g.start()]) and not re.search(
            r"\b(?:while|whereas|but)\b|;", sentence[before[0]: before[-1]]):
        return named[before[0]]  # "…after Ofsted judged its services": the subject's
    group = [before[-1]]
    for p in reversed(before[:-1]):
        if not _joined_names(sentence[p: group[0]]):
            break
        group.insert(0, p)
    return list(dict.fromkeys(code for p in group for code in named[p]))


def _joined_names(gap: str) -> bool:
    """The text from one name to the next joins them: "Sandwell and Herefordshire",
    "Birmingham; Coventry", "Warwickshire joins Newcastle in moving to good"."""
    return bool(re.fullmatch(r"[^.;]{0,40}?(,|;|\band\b|\bjoin(?:s|ed)\b)\s*",
                             re.sub(r"^[\w'’-]+", "", gap)))


def _authorities_in(start: int, length: int, authorities: list[AuthorityTag]) -> list[str]:
    """The authorities of the sentence's first named body (a trust names several)."""
    places = {pos: tag.code for tag in authorities for _, pos in tag.evidence
              if start <= pos < start + length}
    if not places:
        return []
    first = min(places)
    return [tag.code for tag in authorities
            if any(pos == first for _, pos in tag.evidence)]


def _historic(sentence: str, g: re.Match, day: date | str | None) -> bool:
    """A grade the sentence looks back on ("since it was judged inadequate in 2016")."""
    before = sentence[max(0, g.start() - 60): g.start()]
    if _BEFORE_HISTORY.search(before) or _ANY_HISTORY.search(sentence):
        return True
    year = int(str(day)[:4]) if day else None
    return year is not None and any(int(y.group()) < year
                                    for y in _YEAR.finditer(sentence, g.end(), g.end() + 40))


_HOPED = re.compile(
    r"\b(?:target\w*|ambitions?|ambitious|aims?|aiming|aspir\w+|wants?|hopes?|hoping|"
    r"strive|striving|goal|on track|working towards|determined|plans? to|intends?|"
    r"not just|ultimately|to (?:move|become|get|achieve|reach)|"
    r"(?:needs?|had|has|have) to be|could be|would be|will be)\b[^.;]{0,90}$",
    re.IGNORECASE)
_OTHER_INSPECTORATE = re.compile(
    r"\b(HMI Probation|Probation|HMICFRS|Care Inspectorate|CIW|Estyn|Education Scotland|"
    r"CQC|Care Quality Commission|RQIA)\b")


_NOUN_AFTER = re.compile(r"\s+([a-z]+)\b")
_GRADE_NOUNS = frozenset({
    "rating", "ratings", "rated", "judgement", "judgements", "judgment", "judgments", "grade",
    "grades", "grading", "verdict", "overall", "for", "in", "by", "and", "or", "to", "at",
    "with", "from", "across", "as", "on", "since", "after", "following", "before", "but",
    "while", "when", "last", "this", "of", "status", "category", "categories",
    "label", "score", "mark", "level", "result", "outcome", "authority", "authorities",
    "council", "councils", "local", "children", "services", "is", "was", "were", "are",
    "the", "its", "their", "under", "until", "again", "once", "now", "both", "then",
    "inspection", "inspections", "report", "ofsted", "areas", "area", "judged", "said"})


def _describes(sentence: str, g: re.Match) -> bool:
    """'good' or 'outstanding' used as an adjective before a noun ("good oversight",
    "outstanding issues") rather than as a grade: unquoted, and followed by a word that
    is not a grade's ("good rating", "good for", "good overall")."""
    if sentence[g.end():g.end() + 1] in "'\"’”-" or sentence[max(0, g.start() - 1):g.start()] in \
            ("'", '"', "‘", "“"):
        return False
    m = _NOUN_AFTER.match(sentence, g.end())
    return m is not None and m.group(1) not in _GRADE_NOUNS


def _hoped_for(sentence: str, g: re.Match) -> bool:
    """A grade someone aims at ("the target of moving to 'good'"), not one given; the grade
    moved from ("to move it from 'requires improvement' to 'good'") and one the council
    holds ("hopes its inadequate rating will go") are given."""
    if re.match(r"['\"’”]?\s+(?:in (?:the )?future|next time|at (?:the|its) next)\b",
                sentence[g.end():g.end() + 30], re.I):
        return True  # "to help it become 'good' in the future"
    before = sentence[max(0, g.start() - 110): g.start()]
    if re.search(r"\b(?:from|its|their|our|current|existing)\s+['\"‘“]?$", before):
        return False
    return bool(_HOPED.search(before))


def _grade(word: str) -> str:
    word = word.lower()
    if word.startswith(("top", "highest")):
        return "outstanding"  # "its top grade"
    if word.startswith(("lowest", "bottom")):
        return "inadequate"
    return "requires improvement" if word.startswith("requir") else word


_ROW_SCOPE = re.compile(r"\b(overall effectiveness|impact of leaders|help and protection|"
                        r"children in care|care leavers|leadership|adoption|fostering|"
                        r"capacity to improve)\b", re.I)
_SCOPE_IS = re.compile(_ROW_SCOPE.pattern + r"(?:\s+services)?\s+(?:is|are|was|were)\s+"
                       r"(?:now\s+|also\s+)?['\"‘“]?$", re.I)


def _table_row(sentence: str, g: re.Match) -> bool:
    """A line of a judgement table: a scope, then the grade ending the line ("The
    experiences and progress of children in care   Good")."""
    return len(sentence) <= 200 and not sentence[g.end():].strip(" \t.") and \
        bool(_ROW_SCOPE.search(sentence, 0, g.start()))


_SERVICES_ARE = re.compile(r"\b(?:children's services|children's social care|social care services|"
                           r"services for (?:vulnerable )?children)\b(?:\s+[\w']+){0,3}?\s+"
                           r"(?:is|are|was|were|remains?)\s+(?:now\s+|still\s+|also\s+)?$",
                           re.I)


_GOOD_FOR = re.compile(r"\W*(?:for|in)\s+(?:the\s+)?(?:experiences and progress of\s+)?"
                       r"(?:children who need help and protection|help and protection|"
                       r"children in care|care leavers|overall effectiveness|"
                       r"(?:the )?impact of leaders|leadership|adoption|fostering)\b", re.I)


def _tied(sentence: str, g: re.Match) -> bool:
    """'good' counts only next to a judgement word or in quotes ('rated "good"')."""
    if _SERVICES_ARE.search(sentence[max(0, g.start() - 60): g.start()]) and \
            re.match(r"\W*(?:$|[,.;:!)'\"’”]|overall\b|by\b|according\b|in all\b)",
                     sentence[g.end():]):
        return True  # "children's services in Wigan are now good" (not "good at …")
    if _GOOD_FOR.match(sentence, g.end()):
        return True  # "and good for care leavers"
    window = sentence[max(0, g.start() - 40): g.end() + 25].lower()
    return bool(re.search(r"\b(rated|judged|graded|ratings?|judgements?|judgments?|to be|moved|"
                          r"improved to|as good|overall)\b|['\"‘“]good|\bto\s+['\"‘“]?good\b",
                          window))


def _scopes(sentence: str, g: re.Match, others: Sequence[re.Match] = ()) -> list[str]:
    """The sub-judgement (or 'overall') named nearest the grade, else overall; several when
    they share it ("help and protection and leadership were both judged inadequate",
    "rated 'requires improvement' for overall effectiveness, children in care and care
    leavers, and help and protection")."""
    lo, hi = max(0, g.start() - 90), min(len(sentence), g.end() + 200)
    found: list[tuple[int, int, str]] = []
    named = [(n.start(), n.end()) for n in _FRAMEWORK_NAME.finditer(sentence)]
    for pattern, scope in ((_OVERALL, "overall"), *_SCOPES):
        for m in pattern.finditer(sentence, lo, hi):
            if any(a <= m.start() < b for a, b in named):
                continue  # "an inspection of safeguarding and looked-after children's
                # services" names the inspection (2009-2012), not a sub-judgement
            between = (sentence[m.end():g.start()] if m.end() <= g.start()
                       else sentence[g.end():m.start()])
            other = _GRADE.search(between)
            if other and not (m.start() > g.end() and re.search(r"\bfrom\W+$", sentence[
                    max(0, g.start() - 10):g.start()])) and not (
                    m.end() <= g.start() and re.search(r"\bfrom\W*$", between[:other.start()])):
                continue  # another grade stands between them: it is that grade's scope
            distance = g.start() - m.end() if m.end() <= g.start() else m.start() - g.end()
            if any(_owns(sentence, o, m, distance) for o in others
                   if not re.fullmatch(r"\W*(?:to|into)\W*", sentence[g.end():o.start()])):
                continue  # "'Good' overall, with 'Outstanding' for leadership"; but a move
                # "from outstanding to good in leadership" shares its scope
            found.append((distance, m.start(), scope))
    if re.search(r"\boverall\s+['\"‘“]?$", sentence[max(0, g.start() - 12):g.start()], re.I) or \
            re.match(r"['\"’”]?\s+overall\b", sentence[g.end():g.end() + 12], re.I):
        return ["overall"]  # "rated 'overall good' for its work with children in care"
    found = _joined(_listed_after(sentence, g, found))
    if not found:
        return ["overall"]
    found.sort()
    nearest = found[0]
    for side in ([f for f in found if f[1] < g.start()], [f for f in found if f[1] > g.end()]):
        if len(side) < 2 or nearest not in side:
            continue
        side.sort(key=lambda f: f[1])
        at = side.index(nearest)  # the run of listed scopes that holds the nearest
        lo = hi = at
        while lo > 0 and _list_gap(sentence[side[lo - 1][1]:side[lo][1]]):
            lo -= 1
        while hi < len(side) - 1 and _list_gap(sentence[side[hi][1]:side[hi + 1][1]]):
            hi += 1
        if hi > lo:
            return list(dict.fromkeys(f[2] for f in side[lo:hi + 1]))
    return [nearest[2]]


def _owns(sentence: str, other: re.Match, m: re.Match, distance: int) -> bool:
    """Another grade of the sentence holds this scope: it stands next to it, or the scope
    follows it as what it was given for ("inadequate for leadership")."""
    if other.end() <= m.start():
        gap = sentence[other.end():m.start()]
        if _FOR_SCOPE.fullmatch(gap) and not _GRADE.search(gap):
            return True
        return m.start() - other.end() <= 2 < distance  # "'Good' overall"
    return other.start() - m.end() <= 2 < distance  # "overall 'Good'"


_FORMAL = re.compile(r"\b(?:on social work practice with children and families|"
                     r"(?:the )?experiences and progress of(?: children(?: who need)?)?)\b", re.I)
"""The framework's long names for its judgements, which a list of them repeats."""


def _list_gap(gap: str) -> bool:
    """Text between two scopes of one list: short, joined by a comma or 'and'."""
    gap = _FORMAL.sub("", gap)
    for pattern, _ in _SCOPES:  # the scope's own words ("looked after") are not the gap's
        gap = pattern.sub("", gap)
    return len(gap) <= 100 and bool(re.search(r",|\band\b|\balso\b", gap)) and \
        not re.search(r"\b(?:rated|rating|judged|graded|found|deemed|was|were|is|are|with|"
                      r"ofsted|inspectors?|because|due|after|when|since|but|while|although)\b"
                      r"|\d", gap, re.I)


_FOR_SCOPE = re.compile(r"\W*(?:to\W+(?:outstanding|good|requires improvement|inadequate)\W*)?"
                        r"(?:ratings?|judge?ments?|grades?)?\W*"
                        r"(?:(?:were|was)\s+(?:received|given|awarded)\s+)?(?:both\s+|also\s+)?"
                        r"(?:for|in|around|across)\b[^.;]{0,60}", re.I)


def _listed_after(sentence: str, g: re.Match,
                  found: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Scopes after the grade count only as what it was given for ("rated 'inadequate' for
    overall effectiveness and for ...") and the list that continues it; "rated inadequate
    for failing care leavers" is a reason, not a scope."""
    before = [f for f in found if f[1] < g.start()]
    after = sorted((f for f in found if f[1] > g.end()), key=lambda f: f[1])
    kept: list[tuple[int, int, str]] = []
    end = g.end()
    for f in after:
        gap = re.sub(r"^\w*", "", sentence[end:f[1]])  # from past the previous scope's word
        if (not kept and _FOR_SCOPE.fullmatch(gap) and not re.search(r"\bfor\s+\w+ing\b", gap)) \
                or (kept and _list_gap(sentence[kept[-1][1]:f[1]])):  # "inadequate for
            # failing care leavers": a reason why, not a scope
            kept.append(f)
        elif kept:
            break
        end = f[1] + 1
    return kept or before  # "an Outstanding rating for care leavers": its own scope


def _joined(found: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """'children in care and care leavers' is one judgement (2018-2023), not two."""
    care = [f for f in found if f[2] == "children in care"]
    leavers = [f for f in found if f[2] == "care leavers"]
    for c in care:
        for lv in leavers:
            if 0 < lv[1] - c[1] <= 30:
                found = [f for f in found if f not in (c, lv)] + \
                    [(min(c[0], lv[0]), c[1], "children in care and care leavers")]
                return _joined(found)
    return found


def _around(sentence: str, g: re.Match) -> str:
    return sentence[max(0, g.start() - 80): g.end() + 60]


def _when(sentence: str, day: date | str | None, months: list[str]) -> str | None:
    """The month of the event: one the sentence names, else the latest the article names
    next to an inspection word (``_article_months``); a month without a year is the
    latest before publication; a month in a sentence that looks back dates the past. None
    when the article states none."""
    stated = str(day)[:7] if day and len(str(day)) >= 7 else None
    m = _WHEN.search(sentence)
    if m and not _BEFORE_HISTORY.search(sentence) and not _ANY_HISTORY.search(sentence):
        return _month(m, stated)
    return max(months) if months else None


def _article_months(whole: str, day: date | str | None) -> list[str]:
    """Months the article names next to an inspection word, not looking back, up to its
    publication: read once per article."""
    stated = str(day)[:7] if day and len(str(day)) >= 7 else None
    months = [_month(m, stated) for m in _WHEN.finditer(whole)
              if _INSPECTED_NEAR.search(whole, max(0, m.start() - 60), m.end() + 40)
              and not _ANY_HISTORY.search(whole, max(0, m.start() - 60), m.end() + 20)]
    return [x for x in months if x and (not stated or x <= stated)]


def _past_when(sentence: str, g: re.Match) -> str | None:
    """An earlier grade's month only as stated beside it ("judged inadequate in November
    2016"), never the month of the visit the article reports."""
    m = re.search(r"^\W*(?:\w+\W+){0,3}?(?:in\s+)?(" + "|".join(_MONTHS) + r")\s+(\d{4})\b",
                  sentence[g.end(): g.end() + 40], re.I)
    return f"{m.group(2)}-{_MONTHS.index(m.group(1).lower()) + 1:02d}" if m else None


def _month(m: re.Match, stated: str | None) -> str | None:
    month = _MONTHS.index(m.group(1).lower()) + 1
    if m.group(2):
        return f"{m.group(2)}-{month:02d}"
    if not stated:
        return None
    year = int(stated[:4]) - (month > int(stated[5:7]))  # the latest such month so far
    return f"{year}-{month:02d}"
