"""Stored tags: an article's authorities, topics and judgements (table article_tags)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sectorwatch.store import schema as t
from sectorwatch.tag import Tags


class TagStore:
    """Mixed into Store: tag storage, reading and replacing."""

    def tags(self, article_id: int) -> dict[str, list[dict]]:
        """An article's stored tags: {"authority": [...], "topic": [...], "judgement": [...]}."""
        out: dict[str, list[dict]] = {"authority": [], "topic": [], "judgement": []}
        with self.engine.connect() as conn:
            for row in conn.execute(sa.select(t.article_tags).where(
                    t.article_tags.c.article_id == article_id)):
                out[row.kind].append(json.loads(row.detail))
        return out

    def tags_for(self, article_ids: list[int]) -> dict[int, dict[str, list[dict]]]:
        """``tags`` for many articles in one query."""
        out = {i: {"authority": [], "topic": [], "judgement": []} for i in article_ids}
        with self.engine.connect() as conn:
            for row in conn.execute(sa.select(t.article_tags).where(
                    t.article_tags.c.article_id.in_(article_ids))):
                out[row.article_id][row.kind].append(json.loads(row.detail))
        return out

    def authority_counts(self) -> dict[str, int]:
        """Stored articles per authority code (primary or mentioned)."""
        g = t.article_tags.c
        query = (sa.select(g.key, sa.func.count(sa.distinct(g.article_id)))
                 .where(g.kind == "authority").group_by(g.key))
        with self.engine.connect() as conn:
            return dict(conn.execute(query).all())

    def judgements(self, code: str) -> list[tuple[sa.Row, dict]]:
        """Every judgement event stored for an authority, with the article that reported
        it (id, title, url, source_id, published_at, first_seen_at), oldest article first."""
        a, g = t.articles.c, t.article_tags.c
        query = (sa.select(a.id, a.title, a.url, a.source_id, a.published_at,
                           a.first_seen_at, g.detail)
                 .join(t.article_tags, g.article_id == a.id)
                 .where(g.kind == "judgement", g.key == code)
                 .order_by(sa.func.coalesce(a.published_at, a.first_seen_at), a.id))
        with self.engine.connect() as conn:
            return [(row, json.loads(row.detail)) for row in conn.execute(query)]

    def texts(self, source_id: str | None = None) -> Iterator[sa.Row]:
        """(id, title, text, published_at) of stored articles, for re-tagging."""
        query = sa.select(t.articles.c.id, t.articles.c.title, t.articles.c.text,
                          t.articles.c.published_at).order_by(t.articles.c.id)
        if source_id:
            query = query.where(t.articles.c.source_id == source_id)
        with self.engine.connect() as conn:
            rows = list(conn.execute(query))
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
            for article_id, detail in conn.execute(
                    sa.select(g.article_id, g.detail).where(g.article_id.in_(list(new)))):
                old[article_id].append(detail)
            changed = [article_id for article_id, rows in new.items()
                       if sorted(r["detail"] for r in rows) != sorted(old[article_id])]
            if changed:
                conn.execute(sa.delete(t.article_tags).where(g.article_id.in_(changed)))
                rows = [{"article_id": article_id, **row}
                        for article_id in changed for row in new[article_id]]
                if rows:
                    conn.execute(sa.insert(t.article_tags), rows)
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


def write_tags(conn: Connection, article_id: int, tags: Tags) -> None:
    rows = [{"article_id": article_id, **row} for row in tag_rows(tags)]
    if rows:
        conn.execute(sa.insert(t.article_tags), rows)
