"""Stored tags: an article's authorities, topics and judgements (table article_tags)."""

from __future__ import annotations

import json
from collections.abc import Iterator

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
        with self._write() as conn:
            old = sorted(conn.execute(sa.select(t.article_tags.c.detail).where(
                t.article_tags.c.article_id == article_id)).scalars())
            conn.execute(sa.delete(t.article_tags).where(
                t.article_tags.c.article_id == article_id))
            write_tags(conn, article_id, tags)
            new = sorted(conn.execute(sa.select(t.article_tags.c.detail).where(
                t.article_tags.c.article_id == article_id)).scalars())
            return old != new


def write_tags(conn: Connection, article_id: int, tags: Tags) -> None:
    data = tags.as_dict()
    rows = [{"kind": "authority", "key": a["code"], "role": a["role"], "detail": a}
            for a in data["authorities"]]
    rows += [{"kind": "topic", "key": x["slug"], "role": None, "detail": x}
             for x in data["topics"]]
    rows += [{"kind": "judgement", "key": j["authority"] or "", "role": j["grade"],
              "detail": j} for j in data["judgements"]]
    for row in rows:
        row["detail"] = json.dumps(row["detail"], sort_keys=True, ensure_ascii=False)
        conn.execute(sa.insert(t.article_tags).values(article_id=article_id, **row))
