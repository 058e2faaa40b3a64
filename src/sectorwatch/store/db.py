"""The store: every SQL statement sectorwatch runs lives in this package."""

from __future__ import annotations

import gzip
import hashlib
import random
import threading
import time
import zlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url

from sectorwatch.decode import decode
from sectorwatch.errors import SectorwatchError
from sectorwatch.lock import Busy, exclusive, lock_path
from sectorwatch.models import Article, Link, Page
from sectorwatch.store import schema as t
from sectorwatch.store import sqlite
from sectorwatch.store.deliveries import DeliveryStore
from sectorwatch.store.issues import IssueStore
from sectorwatch.store.leases import LeaseStore
from sectorwatch.store.records import StoredArticle, record
from sectorwatch.store.rows import exists, insert_new, inserted_id, take_turns, upsert
from sectorwatch.store.runs import RunStore
from sectorwatch.store.subscribers import SubscriberStore
from sectorwatch.store.tags import TagStore, write_tags
from sectorwatch.tag import Tags

WRITE_ATTEMPTS = 3
"""Tries to begin a write, each waiting up to the busy timeout for another process."""
MIGRATION_LOCK = 0x5EC7_0A7C
"""Processes migrating one PostgreSQL database take turns on this key (rows.take_turns)."""


class StoreError(SectorwatchError):
    stage = "store"


@dataclass(frozen=True)
class SourceHealth:
    id: str
    last_attempt_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    failing_since: datetime | None
    consecutive_failures: int
    next_poll_at: datetime | None


def _now() -> datetime:
    return datetime.now(UTC)


class Store(TagStore, SubscriberStore, DeliveryStore, IssueStore, RunStore, LeaseStore):
    """A database reached by SQLAlchemy URL (SQLite by default, in WAL mode)."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self._writer = engine.execution_options(**{sqlite.WRITE: True})
        self._write_lock = threading.Lock()

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """One write transaction. On SQLite it holds the write lock from its first read
        (see store/sqlite.py), so a read-then-write never meets another process's write
        half-way; the lock in the process hands the turn from thread to thread without
        SQLite's polling."""
        with self._write_lock:
            conn, transaction = self._begin_write()
            with conn, transaction:
                yield conn

    def _begin_write(self) -> tuple[Connection, sa.RootTransaction]:
        attempt = 0
        while True:
            attempt += 1
            conn = self._writer.connect()
            try:
                return conn, conn.begin()
            except sa.exc.OperationalError as exc:
                conn.close()
                if attempt == WRITE_ATTEMPTS or not sqlite.is_busy(exc):
                    raise
            # Nothing has run yet, so beginning again is safe. The busy timeout expires only
            # under a long write elsewhere; a pause lets that write end.
            time.sleep(random.uniform(0.1, 0.5) * attempt)

    @classmethod
    def open(cls, url: str) -> Store:
        """Open (creating and migrating as needed) the database at ``url``."""
        hint = "check database_url in the config"
        try:
            parsed = make_url(url)
            if parsed.get_backend_name() == "sqlite" and parsed.database and \
                    parsed.database != ":memory:":
                Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            engine = sa.create_engine(url)
        except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError, OSError) as exc:
            raise StoreError(f"cannot use database {url!r}: {exc}", hint=hint) from None
        if engine.dialect.name == "sqlite":
            sqlite.configure(engine)
        store = cls(engine)
        try:
            store.migrate()
        except sa.exc.OperationalError as exc:
            engine.dispose()
            raise StoreError(f"cannot open database {url!r}: {exc.orig}", hint=hint) from None
        return store

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def exclusive(self, name: str, what: str) -> Iterator[None]:
        """Hold the database's lock ``name`` for the block, or raise Busy: on PostgreSQL a
        session advisory lock, which holds across hosts and ends with its connection (a
        process that dies frees it); on SQLite a file lock beside the database file."""
        if self.engine.dialect.name != "postgresql":
            with exclusive(lock_path(self.engine.url.render_as_string(hide_password=False),
                                     name), what):
                yield
            return
        key = int.from_bytes(hashlib.sha256(f"sectorwatch:{name}".encode()).digest()[:8],
                             "big", signed=True)
        with self.engine.connect() as conn:
            if not conn.execute(sa.select(sa.func.pg_try_advisory_lock(key))).scalar():
                raise Busy(f"another sectorwatch process is already {what} on this database",
                           hint="it holds PostgreSQL advisory lock "
                                f"{key} (see pg_locks); wait for it or stop it")
            conn.commit()
            try:
                yield
            finally:
                conn.execute(sa.select(sa.func.pg_advisory_unlock(key)))
                conn.commit()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- schema ---------------------------------------------------------------------------

    def migrate(self) -> int:
        """Bring the schema to the latest version; returns the version."""
        latest = t.schema_version()
        with self.engine.connect() as conn:  # mostly it is current: then no write at all
            if _schema_version(conn, latest) == latest:
                return latest
        with self._write() as conn:
            take_turns(conn, MIGRATION_LOCK)  # no lock covers tables not made yet
            # Again under the write lock: another process may have migrated meanwhile.
            version = _schema_version(conn, latest)
            if version is None:
                t.metadata.create_all(conn)
                conn.execute(sa.insert(t.meta).values(key="schema_version", value=str(latest)))
                return latest
            for step in t.MIGRATIONS[version - 1:]:
                step(conn)  # all steps in one transaction: a failed upgrade changes nothing
            conn.execute(sa.update(t.meta).where(t.meta.c.key == "schema_version")
                         .values(value=str(latest)))
            return latest

    def get_meta(self, key: str) -> str | None:
        """A small named value kept with the data (e.g. when the scheduler first ran)."""
        with self.engine.connect() as conn:
            return conn.execute(sa.select(t.meta.c.value).where(t.meta.c.key == key)).scalar()

    def set_meta(self, key: str, value: str, *, keep: bool = False) -> str:
        """Store ``value`` under ``key`` (``keep``: only if it has none); returns what is kept."""
        with self._write() as conn:
            old = conn.execute(sa.select(t.meta.c.value).where(t.meta.c.key == key)).scalar()
            if keep and old is not None:
                return old
            upsert(conn, t.meta, {"key": key}, {"value": value})
            return value

    # -- per-URL fetch state ------------------------------------------------------------------

    def load_validators(self, url: str) -> tuple[str | None, str | None] | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(t.fetch_state.c.etag, t.fetch_state.c.last_modified)
                               .where(t.fetch_state.c.url == url)).first()
        return (row.etag, row.last_modified) if row and (row.etag or row.last_modified) else None

    def save_validators(self, pages: Iterable[Page]) -> None:
        """Remember ETag/Last-Modified; called only once what they cover was parsed."""
        with self._write() as conn:
            for page in pages:
                if page.etag or page.last_modified:
                    upsert(conn, t.fetch_state, {"url": page.url}, {
                        "etag": page.etag, "last_modified": page.last_modified,
                        "validated_at": page.fetched_at})

    def record_url_failure(self, url: str, message: str, give_up_after: int,
                           permanent: bool) -> bool:
        """Count a failure; True once the URL is given up (refused ``give_up_after`` times)."""
        with self._write() as conn:
            failures = conn.execute(sa.select(t.fetch_state.c.failures)
                                    .where(t.fetch_state.c.url == url)).scalar() or 0
            failures += 1
            gave_up = permanent and failures >= give_up_after
            upsert(conn, t.fetch_state, {"url": url}, {
                "failures": failures, "last_error": message, "last_error_at": _now(),
                "gave_up": gave_up})
            return gave_up

    def given_up(self, urls: Sequence[str]) -> set[str]:
        """URLs that failed for good too often to be asked for again."""
        with self.engine.connect() as conn:
            return set(conn.execute(sa.select(t.fetch_state.c.url).where(
                t.fetch_state.c.url.in_(urls), t.fetch_state.c.gave_up.is_(True))).scalars())

    # -- robots.txt ---------------------------------------------------------------------------

    def load_robots(self, origin: str) -> tuple[datetime, int, str] | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(t.robots).where(t.robots.c.origin == origin)).first()
        return (row.fetched_at, row.status, row.body) if row else None

    def save_robots(self, origin: str, status: int, body: str, fetched_at: datetime) -> None:
        with self._write() as conn:
            upsert(conn, t.robots, {"origin": origin},
                    {"status": status, "body": body, "fetched_at": fetched_at})

    # -- articles -----------------------------------------------------------------------------

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

    def next_poll_at(self, source_id: str) -> datetime | None:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(t.sources.c.next_poll_at)
                                .where(t.sources.c.id == source_id)).scalar()

    def source_succeeded(self, source_id: str, at: datetime, next_poll_at: datetime,
                         error: str | None = None) -> None:
        """A poll worked (``error`` names a failed article, if any)."""
        values: dict[str, object] = {
            "last_attempt_at": at, "last_success_at": at, "failing_since": None,
            "consecutive_failures": 0, "next_poll_at": next_poll_at}
        if error:
            values |= {"last_error": error, "last_error_at": at}
        with self._write() as conn:
            upsert(conn, t.sources, {"id": source_id}, values)

    def source_failed(self, source_id: str, at: datetime, error: str,
                      next_poll_at: datetime) -> None:
        with self._write() as conn:
            row = conn.execute(sa.select(t.sources).where(t.sources.c.id == source_id)).first()
            failures = (row.consecutive_failures if row else 0) + 1
            since = row.failing_since if row and row.failing_since else at
            upsert(conn, t.sources, {"id": source_id}, {
                "last_attempt_at": at, "last_error": error, "last_error_at": at,
                "failing_since": since, "consecutive_failures": failures,
                "next_poll_at": next_poll_at})

    def health(self) -> dict[str, SourceHealth]:
        with self.engine.connect() as conn:
            return {row.id: SourceHealth(**row._mapping) for row in conn.execute(
                sa.select(t.sources))}


def _schema_version(conn: Connection, latest: int) -> int | None:
    """The database's schema version (None: a new database); a newer one is refused."""
    if not sa.inspect(conn).has_table("meta"):
        return None
    version = int(conn.execute(sa.select(t.meta.c.value).where(
        t.meta.c.key == "schema_version")).scalar_one())
    if version > latest:
        raise StoreError(f"the database is at schema version {version}, newer than this "
                         f"sectorwatch ({latest})", hint="upgrade sectorwatch")
    return version


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
