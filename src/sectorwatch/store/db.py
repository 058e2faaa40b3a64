"""The store: every SQL statement sectorwatch runs lives in this package."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url

from sectorwatch.errors import SectorwatchError
from sectorwatch.fetch.decode import decode
from sectorwatch.models import Article, Link, Page
from sectorwatch.store import schema as t
from sectorwatch.store.deliveries import DeliveryStore
from sectorwatch.store.issues import IssueStore
from sectorwatch.store.subscribers import SubscriberStore
from sectorwatch.store.tags import TagStore, write_tags
from sectorwatch.tag import Tags


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


class Store(TagStore, SubscriberStore, DeliveryStore, IssueStore):
    """A database reached by SQLAlchemy URL (SQLite by default, in WAL mode)."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self._write_lock = threading.Lock()

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """One write transaction at a time from this process, so a read-then-write
        (add_article) never meets another thread's write half-way."""
        with self._write_lock, self.engine.begin() as conn:
            yield conn

    @classmethod
    def open(cls, url: str) -> Store:
        """Open (creating and migrating as needed) the database at ``url``."""
        hint = "check database_url in the config"
        try:
            parsed = make_url(url)
            if parsed.get_backend_name() == "sqlite" and parsed.database not in (
                    None, "", ":memory:"):
                Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            engine = sa.create_engine(url)
        except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError, OSError) as exc:
            raise StoreError(f"cannot use database {url!r}: {exc}", hint=hint) from None
        if engine.dialect.name == "sqlite":
            sa.event.listen(engine, "connect", _sqlite_pragmas)
            sa.event.listen(engine, "begin", _sqlite_begin)
        store = cls(engine)
        try:
            store.migrate()
        except sa.exc.OperationalError as exc:
            engine.dispose()
            raise StoreError(f"cannot open database {url!r}: {exc.orig}", hint=hint) from None
        return store

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- schema ---------------------------------------------------------------------------

    def migrate(self) -> int:
        """Bring the schema to the latest version; returns the version."""
        with self._write() as conn:
            inspector = sa.inspect(conn)
            latest = t.schema_version()
            if not inspector.has_table("meta"):
                t.metadata.create_all(conn)
                conn.execute(sa.insert(t.meta).values(key="schema_version", value=str(latest)))
                return latest
            version = int(conn.execute(sa.select(t.meta.c.value).where(
                t.meta.c.key == "schema_version")).scalar_one())
            if version > latest:
                raise StoreError(f"the database is at schema version {version}, newer than this "
                                 f"sectorwatch ({latest})", hint="upgrade sectorwatch")
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
            _upsert(conn, t.meta, {"key": key}, {"value": value})
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
                    _upsert(conn, t.fetch_state, {"url": page.url}, {
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
            _upsert(conn, t.fetch_state, {"url": url}, {
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
            _upsert(conn, t.robots, {"origin": origin},
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
            existing = conn.execute(
                sa.select(t.articles.c.id).where(sa.or_(
                    t.articles.c.url == article.url,
                    t.articles.c.fingerprint == article.fingerprint,
                ))).scalar()
            if existing is None:
                existing = conn.execute(sa.select(t.article_urls.c.article_id)
                                        .where(t.article_urls.c.url.in_(urls))).scalar()
            status = "known" if existing is not None else "new"
            if existing is None:
                existing = conn.execute(sa.insert(t.articles).values(
                    url=article.url, source_id=source_id, title=article.title, text=article.text,
                    fingerprint=article.fingerprint, published_at=article.published,
                    published_signal=article.published_signal, updated_at=article.updated,
                    author=article.author, language=article.language,
                    word_count=article.word_count, truncated=article.truncated,
                    first_seen_at=page.fetched_at, feed_title=link.title,
                    feed_summary=link.summary, feed_published_at=link.published,
                    updated_signal=article.updated_signal, lead=article.lead,
                    standfirst=article.standfirst,
                    raw_url=page.final_url,
                    raw_content_type=page.content_type,
                    raw_gzip=gzip.compress(page.body, compresslevel=6),
                )).inserted_primary_key[0]
                if tags is not None:
                    write_tags(conn, existing, tags)
            known = set(conn.execute(sa.select(t.article_urls.c.url)
                                     .where(t.article_urls.c.url.in_(urls))).scalars())
            for url in sorted(urls - known):
                conn.execute(sa.insert(t.article_urls).values(url=url, article_id=existing,
                                                              source_id=source_id))
            return status

    def articles(self, *, since: datetime | None = None, source_id: str | None = None,
                 limit: int | None = 50, authorities: Sequence[str] = (),
                 topics: Sequence[str] = ()) -> list[sa.Row]:
        """Newest first (by published date, else first seen), without raw pages.

        ``authorities`` (GSS codes) and ``topics`` (slugs) keep articles with any of them.
        """
        cols = [c for c in t.articles.c if c.name != "raw_gzip"]
        when = sa.func.coalesce(t.articles.c.published_at, t.articles.c.first_seen_at)
        query = sa.select(*cols).order_by(when.desc(), t.articles.c.id.desc())
        if since is not None:
            query = query.where(when >= since)
        if source_id:
            query = query.where(t.articles.c.source_id == source_id)
        for kind, keys in (("authority", authorities), ("topic", topics)):
            if keys:
                query = query.where(t.articles.c.id.in_(sa.select(t.article_tags.c.article_id)
                                    .where(t.article_tags.c.kind == kind,
                                           t.article_tags.c.key.in_(keys))))
        if limit:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return list(conn.execute(query))

    def raw_page(self, article_id: int) -> bytes:
        with self.engine.connect() as conn:
            blob = conn.execute(sa.select(t.articles.c.raw_gzip)
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
            binary = "pdf" in r.raw_content_type or body[:5] == b"%PDF-"
            text = None if binary else decode(body, r.raw_content_type)[0]
            page = Page(url=r.raw_url, final_url=r.raw_url, status=200,
                        content_type=r.raw_content_type, body=body, fetched_at=r.first_seen_at,
                        text=text)
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
        values = {"last_attempt_at": at, "last_success_at": at, "failing_since": None,
                  "consecutive_failures": 0, "next_poll_at": next_poll_at}
        if error:
            values |= {"last_error": error, "last_error_at": at}
        with self._write() as conn:
            _upsert(conn, t.sources, {"id": source_id}, values)

    def source_failed(self, source_id: str, at: datetime, error: str,
                      next_poll_at: datetime) -> None:
        with self._write() as conn:
            row = conn.execute(sa.select(t.sources).where(t.sources.c.id == source_id)).first()
            failures = (row.consecutive_failures if row else 0) + 1
            since = row.failing_since if row and row.failing_since else at
            _upsert(conn, t.sources, {"id": source_id}, {
                "last_attempt_at": at, "last_error": error, "last_error_at": at,
                "failing_since": since, "consecutive_failures": failures,
                "next_poll_at": next_poll_at})

    def health(self) -> dict[str, SourceHealth]:
        with self.engine.connect() as conn:
            return {row.id: SourceHealth(**row._mapping) for row in conn.execute(
                sa.select(t.sources))}

    # -- runs -------------------------------------------------------------------------------

    def start_run(self, dry_run: bool) -> int:
        with self._write() as conn:
            # A run still marked running was cut off (crash, kill): say so, don't pretend.
            conn.execute(sa.update(t.runs).where(t.runs.c.status == "running")
                         .values(status="interrupted"))
            return conn.execute(sa.insert(t.runs).values(
                started_at=_now(), status="running", dry_run=dry_run)).inserted_primary_key[0]

    def finish_run(self, run_id: int, status: str, *, sources: int, new: int, known: int,
                   failed: int, requests: int) -> None:
        with self._write() as conn:
            conn.execute(sa.update(t.runs).where(t.runs.c.id == run_id).values(
                finished_at=_now(), status=status, sources=sources, new=new, known=known,
                failed=failed, requests=requests))

    def add_run_error(self, run_id: int, source_id: str, stage: str, message: str,
                      url: str | None = None, kind: str | None = None) -> None:
        with self._write() as conn:
            conn.execute(sa.insert(t.run_errors).values(
                run_id=run_id, source_id=source_id, url=url, stage=stage, kind=kind,
                message=message, at=_now()))

    def run_errors(self, run_id: int | None = None) -> list[sa.Row]:
        query = sa.select(t.run_errors).order_by(t.run_errors.c.id)
        if run_id is not None:
            query = query.where(t.run_errors.c.run_id == run_id)
        with self.engine.connect() as conn:
            return list(conn.execute(query))

    def runs(self, limit: int = 20) -> list[sa.Row]:
        with self.engine.connect() as conn:
            return list(conn.execute(sa.select(t.runs).order_by(t.runs.c.id.desc()).limit(limit)))


def _upsert(conn: Connection, table: sa.Table, key: dict, values: dict) -> None:
    """Update the row with ``key``, or insert it: portable across SQLite and PostgreSQL."""
    where = [table.c[k] == v for k, v in key.items()]
    if conn.execute(sa.update(table).where(*where).values(**values)).rowcount == 0:
        conn.execute(sa.insert(table).values(**key, **values))


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    # pysqlite's own transaction handling issues BEGIN only before DML, so DDL (migrations)
    # would run outside the transaction; switch it off and begin explicitly (_sqlite_begin).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _sqlite_begin(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN")
