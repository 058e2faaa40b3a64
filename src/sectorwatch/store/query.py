"""The search query language, one for both stores: parsed here, by pure functions, then
spelled as an FTS5 MATCH expression (SQLite) or a ``to_tsquery`` string (PostgreSQL).
Either string is passed to the database as a bound parameter, never pasted into SQL.

    fostering allowances       both words (in any order, anywhere in title or text)
    "care leavers"             the words together, in this order
    adoption OR fostering      either; OR joins the terms either side of it
    ofsted -ofqual             leave out articles with the word after the minus
    safeguard*                 words starting with it (at least three letters)

Words are matched by their stem (fostering finds foster, fosters), so a prefix matches
the start of a stem. The commonest English words (the, and, of…) are left out, as
PostgreSQL leaves them out of its index; SQLite then finds what PostgreSQL finds.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from sectorwatch.errors import SectorwatchError

MAX_LENGTH = 300
"""Characters in a query: a longer one is refused (a search box, not a document)."""
MIN_PREFIX = 3
"""Letters before a ``*``: a shorter prefix would match much of the vocabulary."""
EXAMPLE = 'fostering allowances, "care leavers", adoption OR fostering, ofsted -ofqual, safeguard*'

# PostgreSQL's `english` stop words (tests check that the list matches the server's).
_STOPWORDS = """
a about above after again against all am an and any are as at be because been before
being below between both but by can did do does doing don down during each few for from
further had has have having he her here hers herself him himself his how i if in into is
it its itself just me more most my myself no nor not now of off on once only or other our
ours ourselves out over own same she should so some such t than that the their theirs
them themselves then there these they this those through to too under until up very was
we were what when where which while who whom why will with you your yours yourself
yourselves s
"""
STOPWORDS = frozenset(_STOPWORDS.split())

_WORD = re.compile(r"[^\W_]+")
_TOKEN = re.compile(r'\s+|"|[^\s"]+')


class QueryError(SectorwatchError):
    """A search that cannot be run as typed; ``hint`` says how to write it."""

    stage = "search"


@dataclass(frozen=True)
class Term:
    """One word, or a phrase's words in order; ``prefix``: the last word is a prefix."""

    words: tuple[str, ...]
    prefix: bool = False


@dataclass(frozen=True)
class Query:
    """All of ``clauses`` must match (each is one term, or alternatives joined by OR) and
    none of ``excluded``."""

    clauses: tuple[tuple[Term, ...], ...]
    excluded: tuple[Term, ...] = ()
    text: str = ""
    """The query as typed (tidied)."""

    @property
    def terms(self) -> tuple[Term, ...]:
        """The terms that find articles (not the excluded ones)."""
        return tuple(term for clause in self.clauses for term in clause)


@dataclass(frozen=True)
class _Atom:
    words: tuple[str, ...]
    prefix: bool
    excluded: bool
    spelled: str


def parse(text: str) -> Query:
    """The query ``text``, checked; raises QueryError with a hint for what cannot run."""
    text = " ".join(unicodedata.normalize("NFKC", text).split())
    if len(text) > MAX_LENGTH:
        raise QueryError(f"the search is too long ({len(text)} characters; at most "
                         f"{MAX_LENGTH})", hint="search for a few distinctive words")
    items = _atoms(text)
    clauses: list[list[_Atom]] = []
    excluded: list[_Atom] = []
    joining = False
    for k, item in enumerate(items):
        if item == "OR":
            before = items[k - 1] if k else None
            after = items[k + 1] if k + 1 < len(items) else None
            if not isinstance(before, _Atom) or not isinstance(after, _Atom):
                raise QueryError("OR needs a word or phrase on each side",
                                 hint="for example: adoption OR fostering")
            if before.excluded or after.excluded:
                raise QueryError("an excluded word cannot be one side of OR",
                                 hint="exclude it on its own: adoption OR fostering -kent")
            joining = True
            continue
        assert isinstance(item, _Atom)
        if item.excluded:
            excluded.append(item)
        elif joining:
            clauses[-1].append(item)
        else:
            clauses.append([item])
        joining = False
    kept = [kept for clause in clauses if (kept := tuple(_term(a) for a in clause
                                                         if _searchable(a)))]
    if not kept:
        if excluded:
            raise QueryError("a search needs something to find, not only words to leave out",
                             hint="add a word to find: fostering -kent")
        common = [f'"{a.spelled.strip(chr(34))}"' for clause in clauses for a in clause]
        listed = ", ".join(common[:-1]) + " and " + common[-1] if len(common) > 1 else \
            "".join(common)
        raise QueryError("nothing to search for" + (
            f": {listed} {'is' if len(common) == 1 else 'are'} too common to search for"
            if common else ""), hint=f"type a word or a \"quoted phrase\", e.g. {EXAMPLE}")
    return Query(tuple(kept), tuple(_term(a) for a in excluded if _searchable(a)), text)


def _atoms(text: str) -> list[_Atom | str]:
    """Words, phrases and ORs, in order; punctuation on its own is dropped."""
    out: list[_Atom | str] = []
    tokens = [m.group() for m in _TOKEN.finditer(text)]
    k, minus = 0, False
    while k < len(tokens):
        token = tokens[k]
        k += 1
        if token.isspace():
            minus = False
            continue
        if token == '"':
            try:
                end = tokens.index('"', k)
            except ValueError:
                raise QueryError("a quote is not closed", hint='close the phrase with a '
                                 'second quote: "care leavers"') from None
            inner = "".join(tokens[k:end])
            k = end + 1
            prefix = k < len(tokens) and tokens[k] == "*"  # "foster car"*
            k += prefix
            words = tuple(w.casefold() for w in _WORD.findall(inner))
            if words:
                out.append(_atom(words, prefix, minus, f'"{inner}"'))
            minus = False
            continue
        if token == "OR" and not minus:
            out.append("OR")
            continue
        if token.startswith("-"):
            minus = True  # "-word" or "-"phrase"": what follows is left out
            token = token.lstrip("-")
            if not token:
                continue
        words = tuple(w.casefold() for w in _WORD.findall(token))
        if words:
            out.append(_atom(words, token.endswith("*"), minus, token))
        minus = False
    return out


def _atom(words: tuple[str, ...], prefix: bool, excluded: bool, spelled: str) -> _Atom:
    if prefix and len(words[-1]) < MIN_PREFIX:
        raise QueryError(f"{spelled} is too short a prefix (at least {MIN_PREFIX} letters "
                         "before the *)", hint="for example: safeguard*")
    return _Atom(words, prefix, excluded, spelled)


def _searchable(atom: _Atom) -> bool:
    """False for a word (or phrase) made only of stop words: PostgreSQL drops those."""
    return not all(w in STOPWORDS for w in atom.words)


def _term(atom: _Atom) -> Term:
    return Term(atom.words, atom.prefix)


# -- spelled for each database ---------------------------------------------------------------


def to_fts5(query: Query) -> str:
    """An FTS5 MATCH expression: every word quoted (so none is read as an operator)."""

    def term(t: Term) -> str:
        return '"' + " ".join(w.replace('"', '""') for w in t.words) + '"' + \
            ("*" if t.prefix else "")

    def clause(alternatives: tuple[Term, ...]) -> str:
        spelled = [term(t) for t in alternatives]
        return spelled[0] if len(spelled) == 1 else "(" + " OR ".join(spelled) + ")"

    expression = " AND ".join(clause(c) for c in query.clauses)
    for t in query.excluded:
        expression = f"({expression}) NOT {term(t)}"
    return expression


def to_tsquery(query: Query) -> str:
    """A ``to_tsquery`` string: lexemes quoted, phrases with ``<->``, prefixes ``:*``."""

    def lexeme(word: str, prefix: bool) -> str:
        quoted = word.replace("\\", "\\\\").replace("'", "''")
        return f"'{quoted}'" + (":*" if prefix else "")

    def term(t: Term) -> str:
        last = len(t.words) - 1
        spelled = [lexeme(w, t.prefix and k == last) for k, w in enumerate(t.words)]
        return spelled[0] if len(spelled) == 1 else "(" + " <-> ".join(spelled) + ")"

    def clause(alternatives: tuple[Term, ...]) -> str:
        spelled = [term(t) for t in alternatives]
        return spelled[0] if len(spelled) == 1 else "(" + " | ".join(spelled) + ")"

    return " & ".join([*(clause(c) for c in query.clauses),
                       *(f"!{term(t)}" for t in query.excluded)])
