"""Stored articles: adding one (once, however many writers reach it), listing them
newest first (by authority or topic from the tags' dated index), their raw pages, and
re-extraction's updates."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator, Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sectorwatch.decode import decode
from sectorwatch.models import Article, Link, Page
from sectorwatch.store import schema as t
from sectorwatch.store.records import StoredArticle, record
from sectorwatch.store.rows import exists, insert_new, inserted_id, take_turns
from sectorwatch.store.tags import TagStore, write_tags
from sectorwatch.tag import Tags


class ArticleStore(TagStore):
    """Mixed into Store (with the tags, which it reads with the articles)."""

    def known_urls(self, urls: Sequence[str]) -> set[str]:
        with self.engine.connect() as conn:
            return set(conn.execute(sa.select(t.article_urls.c.url)
                                    .where(t.article_urls.c.url.in_(urls))).scalars())

    def add_article(self, article: Article, source_id: str, link: Link, page: Page,
                    tags: Tags | None = None) -> str:
        """Store one article in one transaction; returns 'new' or 'known'.

        Known means the canonical URL or the text fingerprint is already stored: the
        article is then recorded under the extra URLs it was reached by, nothing more.
        """
        urls = {link.url, article.url}
        with self._write() as conn:
            # No unique key holds the text: writers of the same text take turns.
            take_turns(conn, zlib.crc32(article.fingerprint.encode()))
            existing = _find_article(conn, article, urls)
            status = "known" if existing is not None else "new"
            if existing is None:
                existing = _insert_article(conn, article, source_id, link, page, tags)
            if existing is None:  # another writer stored it between our look and our insert
                status, existing = "known", _find_article(conn, article, urls)
            known: set[str] = set(conn.execute(sa.select(t.article_urls.c.url)
                                     .where(t.article_urls.c.url.in_(urls))).scalars())
            for url in sorted(urls - known):
                insert_new(conn, t.article_urls, {"url": url},
                           {"article_id": existing, "source_id": source_id})
            return status

    def articles(self, *, since: datetime | None = None, until: datetime | None = None,
                 source_id: str | None = None, limit: int | None = 50,
                 authorities: Sequence[str] = (), topics: Sequence[str] = (),
                 with_tags: bool = False) -> list[StoredArticle]:
        """Newest first (by published date, else first seen, from ``since`` and before
        ``until``), without raw pages.

        ``authorities`` (GSS codes) and ``topics`` (slugs) keep articles with any of them;
        ``with_tags`` reads every article's tags too, in one more query for them all.
        """
        a, g = t.articles.c, t.article_tags.c
        cols = [c for c in t.articles.c if c.name != "raw_gzip"]
        when = sa.func.coalesce(a.published_at, a.first_seen_at)
        filters = [(kind, keys) for kind, keys in (("authority", authorities),
                                                   ("topic", topics)) if keys]
        with self.engine.connect() as conn:
            if not filters:
                query = sa.select(*cols).order_by(when.desc(), a.id.desc())
                if since is not None:
                    query = query.where(when >= since)
                if until is not None:
                    query = query.where(when < until)
                if source_id:
                    query = query.where(a.source_id == source_id)
                rows = list(conn.execute(query.limit(limit)))
            else:
                # The newest tagged with the first filter, in its index's order; the
                # other filter and the source are checked on those alone.
                (kind, keys), *others = filters
                pick = (sa.select(g.article_id, g.at).distinct()
                        .where(g.kind == kind, g.key.in_(list(keys)))
                        .order_by(g.at.desc(), g.article_id.desc()))
                if since is not None:
                    pick = pick.where(g.at >= since)
                if until is not None:
                    pick = pick.where(g.at < until)
                for other_kind, other_keys in others:
                    o = t.article_tags.alias("o")
                    pick = pick.where(sa.exists().where(
                        o.c.article_id == g.article_id, o.c.kind == other_kind,
                        o.c.key.in_(list(other_keys))))
                if source_id:
                    pick = pick.where(sa.exists().where(a.id == g.article_id,
                                                        a.source_id == source_id))
                ids = [row.article_id for row in conn.execute(pick.limit(limit))]
                found = {r.id: r for r in conn.execute(sa.select(*cols).where(a.id.in_(ids)))}
                rows = [found[i] for i in ids if i in found]
        tags = self.tags_for([r.id for r in rows]) if with_tags else {}
        return [record(StoredArticle, r, tags=tags.get(r.id)) for r in rows]

    def article(self, article_id: int) -> StoredArticle | None:
        """One article with its tags (without its raw page); None if there is none."""
        cols = [c for c in t.articles.c if c.name != "raw_gzip"]
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(*cols).where(t.articles.c.id == article_id)).first()
        if row is None:
            return None
        return record(StoredArticle, row, tags=self.tags_for([article_id]).get(article_id))

    def raw_page(self, article_id: int) -> bytes:
        with self.engine.connect() as conn:
            blob: bytes = conn.execute(sa.select(t.articles.c.raw_gzip)
                                .where(t.articles.c.id == article_id)).scalar_one()
        return gzip.decompress(blob)

    def raw_samples(self, source_id: str, limit: int = 20) -> list[str]:
        """The newest stored HTML pages of a source, decoded: material for template learning."""
        query = (sa.select(t.articles.c.raw_gzip, t.articles.c.raw_content_type)
                 .where(t.articles.c.source_id == source_id)
                 .order_by(t.articles.c.first_seen_at.desc()).limit(limit))
        with self.engine.connect() as conn:
            rows = list(conn.execute(query))
        return [decode(gzip.decompress(r.raw_gzip), r.raw_content_type)[0] for r in rows
                if "html" in r.raw_content_type]

    def stored_pages(self, source_id: str | None = None) -> Iterator[tuple[int, str, Link, Page]]:
        """(article id, source id, the link as first seen, the raw page) for re-extraction."""
        query = sa.select(t.articles.c.id, t.articles.c.source_id, t.articles.c.url,
                          t.articles.c.feed_title, t.articles.c.feed_summary,
                          t.articles.c.feed_published_at, t.articles.c.raw_url,
                          t.articles.c.raw_content_type, t.articles.c.first_seen_at,
                          ).order_by(t.articles.c.id)
        if source_id:
            query = query.where(t.articles.c.source_id == source_id)
        with self.engine.connect() as conn:
            rows = list(conn.execute(query))
        for r in rows:
            body = self.raw_page(r.id)
            page = Page.from_bytes(r.raw_url, body, r.raw_content_type,
                                   fetched_at=r.first_seen_at)
            yield r.id, r.source_id, Link(r.url, r.feed_title, r.feed_published_at,
                                          r.feed_summary), page

    def update_article(self, article_id: int, article: Article) -> bool:
        """Replace an article's extracted fields (not its identity or raw page); True if
        anything changed."""
        values = dict(title=article.title, text=article.text, fingerprint=article.fingerprint,
                      published_at=article.published, published_signal=article.published_signal,
                      updated_at=article.updated, updated_signal=article.updated_signal,
                      author=article.author, language=article.language,
                      word_count=article.word_count, truncated=article.truncated,
                      lead=article.lead, standfirst=article.standfirst)
        with self._write() as conn:
            row = conn.execute(sa.select(*(t.articles.c[k] for k in values))
                               .where(t.articles.c.id == article_id)).first()
            if row is None or dict(row._mapping) == values:
                return False
            conn.execute(sa.update(t.articles).where(t.articles.c.id == article_id)
                         .values(**values))
            if row.published_at != values["published_at"]:  # its tags carry its date
                first_seen: datetime = conn.execute(sa.select(t.articles.c.first_seen_at).where(
                    t.articles.c.id == article_id)).scalar_one()
                conn.execute(sa.update(t.article_tags)
                             .where(t.article_tags.c.article_id == article_id)
                             .values(at=article.published or first_seen))
            return True

    def count_articles(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(t.articles)).scalar_one()

    # -- sources' health ----------------------------------------------------------------------


def _find_article(conn: Connection, article: Article, urls: set[str]) -> int | None:
    """The stored article with this canonical URL or text, or reached by one of ``urls``."""
    found = conn.execute(sa.select(t.articles.c.id).where(sa.or_(
        t.articles.c.url == article.url,
        t.articles.c.fingerprint == article.fingerprint))).scalar()
    if found is None:
        found = conn.execute(sa.select(t.article_urls.c.article_id)
                             .where(t.article_urls.c.url.in_(urls))).scalar()
    return found


def _insert_article(conn: Connection, article: Article, source_id: str, link: Link,
                    page: Page, tags: Tags | None) -> int | None:
    """The new article's id, or None if another writer has just stored its URL."""
    try:
        with conn.begin_nested():  # on PostgreSQL a failed statement spoils the transaction
            article_id = inserted_id(conn.execute(sa.insert(t.articles).values(
                url=article.url, source_id=source_id, title=article.title, text=article.text,
                fingerprint=article.fingerprint, published_at=article.published,
                published_signal=article.published_signal, updated_at=article.updated,
                author=article.author, language=article.language,
                word_count=article.word_count, truncated=article.truncated,
                first_seen_at=page.fetched_at, feed_title=link.title,
                feed_summary=link.summary, feed_published_at=link.published,
                updated_signal=article.updated_signal, lead=article.lead,
                standfirst=article.standfirst, raw_url=page.final_url,
                raw_content_type=page.content_type,
                raw_gzip=gzip.compress(page.body, compresslevel=6),
            )))
            if tags is not None:
                write_tags(conn, article_id, article.published or page.fetched_at, tags)
            return article_id
    except sa.exc.IntegrityError:
        if exists(conn, t.articles, {"url": article.url}):
            return None
        raise
