"""The store: every SQL statement sectorwatch runs lives in this package. This module
opens the database, migrates it, holds its write transaction and its locks, and keeps
per-source state; the rest is in mixins by what they own (articles, tags, search,
subscribers, deliveries, issues, runs, leases)."""

from __future__ import annotations

import hashlib
import random
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url

from sectorwatch.errors import SectorwatchError
from sectorwatch.lock import Busy, exclusive, lock_path
from sectorwatch.models import Page
from sectorwatch.store import schema as t
from sectorwatch.store import sqlite
from sectorwatch.store.articles import ArticleStore
from sectorwatch.store.deliveries import DeliveryStore
from sectorwatch.store.issues import IssueStore
from sectorwatch.store.leases import LeaseStore
from sectorwatch.store.rows import take_turns, upsert
from sectorwatch.store.runs import RunStore
from sectorwatch.store.search import SearchStore
from sectorwatch.store.subscribers import SubscriberStore
from sectorwatch.store.tags import TagStore

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


DRIVER_HINTS = {"postgresql": "pip install 'sectorwatch[postgres]' (psycopg 3); the URL "
                               "starts postgresql+psycopg://"}


def url_problem(url: str) -> tuple[str, str] | None:
    """Why ``url`` cannot open a store, without connecting: (the problem, a hint), or None.
    A URL SQLAlchemy cannot read, a database it does not know, a driver not installed."""
    try:
        parsed = make_url(url)
        dialect = parsed.get_dialect()
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ValueError) as exc:
        return str(exc), "see https://docs.sqlalchemy.org/en/20/core/engines.html"
    try:
        dialect.import_dbapi()
    except ImportError as exc:
        backend = parsed.get_backend_name()
        return (f"the {parsed.drivername} driver is not installed ({exc})",
                DRIVER_HINTS.get(backend, f"install the Python driver for {backend}"))
    return None


def new_file(url: str) -> Path | None:
    """The SQLite file ``url`` names if it does not exist yet (opening it creates it)."""
    try:
        parsed = make_url(url)
    except sa.exc.ArgumentError:
        return None
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    path = Path(database).expanduser()
    return None if path.exists() else path


def _now() -> datetime:
    return datetime.now(UTC)


class Store(ArticleStore, TagStore, SearchStore, SubscriberStore, DeliveryStore, IssueStore,
            RunStore, LeaseStore):
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
