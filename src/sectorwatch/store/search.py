"""Full-text search over the stored articles, on SQLite (FTS5) or PostgreSQL (tsvector):
the same query language (query.py), filters and paging on both.

A search ranks at most ``CANDIDATES`` matches: the most recently stored, read newest
first from the index and stopping there. Below that many matches all are ranked. A word
in nearly every article (``children``) would otherwise have the whole history scored
for each page (188 ms on SQLite, 807 ms on PostgreSQL at 100k articles, against 11 and
20); its count then reads "more than 1,000", best first among the newest thousand.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sectorwatch.errors import SectorwatchError
from sectorwatch.store import fulltext
from sectorwatch.store import schema as t
from sectorwatch.store.base import StoreBase
from sectorwatch.store.query import Query, QueryError, parse, to_fts5, to_tsquery
from sectorwatch.store.records import SearchHit, SearchResults

CANDIDATES = 1000
"""Matches ranked per search at most: the most recently stored."""
MAX_LIMIT = CANDIDATES
"""Hits on one page at most: the page cannot reach past the ranked matches anyway."""


class SearchStore(StoreBase):
    """Mixed into Store: ``search``."""

    def search(self, query: str | Query, *, authorities: Sequence[str] = (),
               topics: Sequence[str] = (), since: datetime | None = None,
               until: datetime | None = None, source_id: str | None = None,
               limit: int = 20, offset: int = 0) -> SearchResults:
        """Articles matching ``query`` (text, or parsed), best first: ``limit`` of them
        from ``offset``. ``authorities`` (GSS codes) and ``topics`` (slugs) keep articles
        with any of them, as ``articles()`` does; dates bound when it was published (else
        first seen), from ``since`` and before ``until``.

        Raises QueryError (with a hint) for a query that cannot run."""
        parsed = query if isinstance(query, Query) else parse(query)
        limit, offset = max(1, min(limit, MAX_LIMIT)), max(0, offset)
        dialect = self.engine.dialect.name
        if dialect not in ("sqlite", "postgresql"):
            raise SectorwatchError(f"search needs SQLite or PostgreSQL, not {dialect}")
        expression = to_fts5(parsed) if dialect == "sqlite" else to_tsquery(parsed)
        with self.engine.connect() as conn:
            window = _id_window(conn, since, until) if dialect == "sqlite" else (None, None)
            if window is None:  # no article from those dates
                return SearchResults((), 0, False, offset)
            candidates = _candidates(dialect, expression, window, authorities=authorities,
                                     topics=topics, since=since, until=until,
                                     source_id=source_id).subquery("candidates")
            try:
                rows = conn.execute(_page(dialect, candidates, expression, limit, offset)).all()
                matched = rows[0].matched if rows else conn.execute(
                    sa.select(sa.func.count()).select_from(candidates)).scalar_one()
                hits = _hits(conn, [(r.id, r.rank) for r in rows], expression)
            except sa.exc.OperationalError as exc:  # never expected: the parser spells it
                if "fts5" not in str(exc.orig):
                    raise
                raise QueryError(f"the search could not be read: {exc.orig}",
                                 hint="write it as words, \"phrases\", OR, -word, "
                                      "word*") from None
        return SearchResults(hits, min(matched, CANDIDATES), matched > CANDIDATES, offset)


def _candidates(dialect: str, expression: str, window: tuple[int | None, int | None], *,
                authorities: Sequence[str], topics: Sequence[str], since: datetime | None,
                until: datetime | None, source_id: str | None) -> sa.Select:
    """The newest ``CANDIDATES + 1`` matches that pass the filters: (id, rank) on SQLite,
    (id) on PostgreSQL, which ranks only what this returns."""
    a, g = t.articles, t.article_tags.c
    key: sa.ColumnElement[int]
    if dialect == "sqlite":
        key = fulltext.fts.c.rowid
        ids = (sa.select(key.label("id"), fulltext.fts_rank().label("rank"))
               .select_from(fulltext.fts).where(fulltext.fts_match(expression)))
        lowest, highest = window  # a stretch of the index FTS5 reads, not every match
        if lowest is not None:
            ids = ids.where(key >= lowest)
        if highest is not None:
            ids = ids.where(key <= highest)
    else:
        key = a.c.id
        ids = sa.select(key.label("id")).where(fulltext.pg_match(a, expression))
    # SQLite reads its index newest first and checks each match against the filters:
    # handed to FTS5 as rowids, each would run the whole MATCH again (`+ 0` keeps them
    # from it), and a join could turn the loop round the same way.
    checked = key + 0 if dialect == "sqlite" else key
    for kind, keys in (("authority", authorities), ("topic", topics)):
        if keys:
            ids = ids.where(checked.in_(sa.select(g.article_id).where(
                g.kind == kind, g.key.in_(list(keys)))))
    if source_id:
        ids = ids.where(checked.in_(sa.select(a.c.id).where(a.c.source_id == source_id)))
    when = sa.func.coalesce(a.c.published_at, a.c.first_seen_at)
    bounds = [c for c in ((when >= since) if since is not None else None,
                          (when < until) if until is not None else None) if c is not None]
    if bounds and dialect == "sqlite":
        ids = ids.where(sa.exists().where(a.c.id == key, *bounds))
    elif bounds:
        ids = ids.where(*bounds)
    return ids.order_by(key.desc()).limit(CANDIDATES + 1)


def _page(dialect: str, candidates: sa.Subquery, expression: str, limit: int,
          offset: int) -> sa.Select:
    """The page's (id, rank, matched): the newest CANDIDATES ranked, best first (the
    newest first among equals), with how many candidates there were."""
    c = candidates.c
    if dialect == "sqlite":
        scored = sa.select(c.id, c.rank)
    else:
        a = t.articles
        scored = sa.select(c.id, fulltext.pg_rank(a, expression).label("rank")
                           ).join(a, a.c.id == c.id)
    counted = scored.add_columns(
        sa.func.row_number().over(order_by=c.id.desc()).label("newest"),
        sa.func.count().over().label("matched")).subquery("counted")
    return (sa.select(counted.c.id, counted.c.rank, counted.c.matched)
            .where(counted.c.newest <= CANDIDATES)
            .order_by(counted.c.rank.desc(), counted.c.id.desc())
            .limit(limit).offset(offset))


def _id_window(conn: Connection, since: datetime | None, until: datetime | None
               ) -> tuple[int | None, int | None] | None:
    """The lowest and highest ids of the articles dated from ``since`` and before
    ``until`` (None: there are none). Ids grow as articles are stored, so on SQLite FTS5
    then reads only that stretch of its index: a week's search of a word in every article
    does not pass through the years before it. Dates are still checked one by one."""
    a = t.articles.c
    when = sa.func.coalesce(a.published_at, a.first_seen_at)
    some_id = a.id + 0  # read from the dates' index: min(id) would walk the table by id
    lowest = highest = None
    if since is not None:
        lowest = conn.execute(sa.select(sa.func.min(some_id)).where(when >= since)).scalar()
        if lowest is None:
            return None
    if until is not None:
        highest = conn.execute(sa.select(sa.func.max(some_id)).where(when < until)).scalar()
        if highest is None:
            return None
    return lowest, highest


def _hits(conn: Connection, ranked: list[tuple[int, float]], expression: str
          ) -> tuple[SearchHit, ...]:
    """The page's articles, snippets and primary authorities, in ``ranked``'s order: only
    the page's rows have snippets made."""
    if not ranked:
        return ()
    ids = [article_id for article_id, _ in ranked]
    a = t.articles
    cols = (a.c.id, a.c.title, a.c.url, a.c.source_id, a.c.published_at, a.c.first_seen_at)
    if conn.dialect.name == "sqlite":
        query = (sa.select(*cols, fulltext.fts_snippet().label("snippet"))
                 .select_from(fulltext.fts).join(a, a.c.id == fulltext.fts.c.rowid)
                 .where(fulltext.fts_match(expression), fulltext.fts.c.rowid.in_(ids)))
    else:
        query = sa.select(*cols, fulltext.pg_snippet(a, expression).label("snippet")
                          ).where(a.c.id.in_(ids))
    found = {row.id: row for row in conn.execute(query)}
    g = t.article_tags.c
    primary: dict[int, list[str]] = defaultdict(list)
    # every tag of the page's articles, by their article_id index: asked for only the
    # primary authorities, SQLite without statistics reads all authorities' tags instead
    for row in conn.execute(sa.select(g.article_id, g.kind, g.role, g.key)
                            .where(g.article_id.in_(ids)).order_by(g.key)):
        if row.kind == "authority" and row.role == "primary":
            primary[row.article_id].append(row.key)
    return tuple(
        SearchHit(id=r.id, title=r.title, url=r.url, source_id=r.source_id,
                  published_at=r.published_at, first_seen_at=r.first_seen_at, rank=rank,
                  snippet=r.snippet or "", authorities=tuple(primary[r.id]))
        for article_id, rank in ranked if (r := found.get(article_id)) is not None)
