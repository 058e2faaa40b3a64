"""Stored tags: an article's authorities, topics and judgements (table article_tags)."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sectorwatch.store import schema as t
from sectorwatch.store.base import StoreBase
from sectorwatch.store.records import ArticleRef, ArticleText, record
from sectorwatch.store.rows import add_to
from sectorwatch.tag import Tags
from sectorwatch.tag.judgements import Judgement

KINDS = {"authority": "authorities", "topic": "topics", "judgement": "judgements"}


class TagStore(StoreBase):
    """Mixed into Store: tag storage, reading and replacing."""

    def tags(self, article_id: int) -> Tags:
        """An article's stored tags."""
        return self.tags_for([article_id])[article_id]

    def tags_for(self, article_ids: Sequence[int]) -> dict[int, Tags]:
        """The stored tags of many articles, in one query per thousand."""
        found: dict[int, dict[str, list[dict]]] = defaultdict(
            lambda: {kind: [] for kind in KINDS.values()})
        ids = list(dict.fromkeys(article_ids))
        with self.engine.connect() as conn:
            for k in range(0, len(ids), 1000):  # bound the IN list
                query = sa.select(t.article_tags).where(
                    t.article_tags.c.article_id.in_(ids[k:k + 1000]))
                for row in conn.execute(query):
                    found[row.article_id][KINDS[row.kind]].append(json.loads(row.detail))
        return {i: Tags.from_dict(found[i]) for i in ids}

    def authority_counts(self) -> dict[str, int]:
        """Stored articles per authority code (primary or mentioned), as kept."""
        c = t.tag_counts.c
        query = sa.select(c.key, c.articles).where(c.kind == "authority", c.articles > 0)
        with self.engine.connect() as conn:
            return {row.key: row.articles for row in conn.execute(query)}

    def judgements(self, code: str) -> list[tuple[ArticleRef, Judgement]]:
        """Every judgement event stored for an authority, with the article that reported
        it, oldest article first."""
        a, g = t.articles.c, t.article_tags.c
        query = (sa.select(a.id, a.title, a.url, a.source_id, a.published_at,
                           a.first_seen_at, g.detail)
                 .join(t.article_tags, g.article_id == a.id)
                 .where(g.kind == "judgement", g.key == code)
                 .order_by(sa.func.coalesce(a.published_at, a.first_seen_at), a.id))
        with self.engine.connect() as conn:
            return [(record(ArticleRef, row),
                     Tags.from_dict({"judgements": [json.loads(row.detail)]}).judgements[0])
                    for row in conn.execute(query)]

    def texts(self, source_id: str | None = None) -> Iterator[ArticleText]:
        """What re-tagging reads of the stored articles, oldest first."""
        query = sa.select(t.articles.c.id, t.articles.c.title, t.articles.c.text,
                          t.articles.c.published_at).order_by(t.articles.c.id)
        if source_id:
            query = query.where(t.articles.c.source_id == source_id)
        with self.engine.connect() as conn:
            rows = [record(ArticleText, row) for row in conn.execute(query)]
        yield from rows

    def replace_tags(self, article_id: int, tags: Tags) -> bool:
        """Store an article's tags in place of the old ones; True if they changed."""
        return bool(self.replace_many_tags([(article_id, tags)]))

    def replace_many_tags(self, items: Sequence[tuple[int, Tags]]) -> int:
        """``replace_tags`` for many articles in one transaction; how many changed.

        Only articles whose tags differ are rewritten, so a retag that changes little
        writes little.
        """
        new = {article_id: tag_rows(tags) for article_id, tags in items}
        if not new:
            return 0
        g = t.article_tags.c
        with self._write() as conn:
            # Two retags at once take turns per article (PostgreSQL row locks, in id order;
            # SQLite's write transaction holds the whole file): the second then finds the
            # first's tags and rewrites nothing, where both would have deleted and inserted.
            conn.execute(sa.select(t.articles.c.id).where(t.articles.c.id.in_(sorted(new)))
                         .order_by(t.articles.c.id).with_for_update())
            old: dict[int, list[str]] = {article_id: [] for article_id in new}
            old_keys: dict[int, set[tuple[str, str]]] = {article_id: set() for article_id in new}
            for row in conn.execute(sa.select(g.article_id, g.detail, g.kind, g.key)
                                    .where(g.article_id.in_(list(new)))):
                old[row.article_id].append(row.detail)
                old_keys[row.article_id].add((row.kind, row.key))
            changed = [article_id for article_id, rows in new.items()
                       if sorted(r["detail"] for r in rows) != sorted(old[article_id])]
            if changed:
                a = t.articles.c
                dates: dict[int, datetime] = {row[0]: row[1] for row in conn.execute(
                    sa.select(a.id, sa.func.coalesce(a.published_at, a.first_seen_at))
                    .where(a.id.in_(changed)))}
                conn.execute(sa.delete(t.article_tags).where(g.article_id.in_(changed)))
                rows = [{"article_id": article_id, "at": dates.get(article_id), **row}
                        for article_id in changed for row in new[article_id]]
                if rows:
                    conn.execute(sa.insert(t.article_tags), rows)
                deltas: Counter[tuple[str, str]] = Counter()
                for article_id in changed:
                    deltas.subtract(old_keys[article_id])
                    deltas.update({(r["kind"], r["key"]) for r in new[article_id]})
                count_tags(conn, deltas)
            return len(changed)


def tag_rows(tags: Tags) -> list[dict]:
    """An article's tags as article_tags rows (without the article id)."""
    data = tags.as_dict()
    rows = [{"kind": "authority", "key": a["code"], "role": a["role"], "detail": a}
            for a in data["authorities"]]
    rows += [{"kind": "topic", "key": x["slug"], "role": None, "detail": x}
             for x in data["topics"]]
    rows += [{"kind": "judgement", "key": j["authority"] or "", "role": j["grade"],
              "detail": j} for j in data["judgements"]]
    for row in rows:
        row["detail"] = json.dumps(row["detail"], sort_keys=True, ensure_ascii=False)
    return rows


def write_tags(conn: Connection, article_id: int, at: datetime, tags: Tags) -> None:
    """A new article's tags, dated ``at`` (its published, else first-seen date)."""
    rows = [{"article_id": article_id, "at": at, **row} for row in tag_rows(tags)]
    if rows:
        conn.execute(sa.insert(t.article_tags), rows)
        count_tags(conn, Counter({(r["kind"], r["key"]) for r in rows}))


def count_tags(conn: Connection, deltas: Counter[tuple[str, str]]) -> None:
    """Add ``deltas`` to the kept article counts per authority and topic (one statement
    per key: INSERT … ON CONFLICT DO UPDATE adds, so writers at once never lose one)."""
    for (kind, key), n in sorted(deltas.items()):
        if n and kind in ("authority", "topic"):
            add_to(conn, t.tag_counts, {"kind": kind, "key": key}, "articles", n)
