"""Table definitions (the current schema) and the migrations that reach it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sectorwatch.store import fulltext


class UTCDateTime(sa.types.TypeDecorator):
    """Aware UTC datetimes in, aware UTC datetimes out, on every backend."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use UTC-aware datetimes")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect):
        return value.replace(tzinfo=UTC) if value is not None else None


metadata = sa.MetaData()

meta = sa.Table(
    "meta", metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

sources = sa.Table(
    "sources", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("last_attempt_at", UTCDateTime),
    sa.Column("last_success_at", UTCDateTime),
    sa.Column("last_error", sa.Text),
    sa.Column("last_error_at", UTCDateTime),
    sa.Column("failing_since", UTCDateTime),
    sa.Column("consecutive_failures", sa.Integer, nullable=False, default=0),
    sa.Column("next_poll_at", UTCDateTime),
)

fetch_state = sa.Table(
    "fetch_state", metadata,
    sa.Column("url", sa.Text, primary_key=True),
    sa.Column("etag", sa.Text),
    sa.Column("last_modified", sa.Text),
    sa.Column("validated_at", UTCDateTime),
    sa.Column("failures", sa.Integer, nullable=False, default=0),
    sa.Column("last_error", sa.Text),
    sa.Column("last_error_at", UTCDateTime),
    sa.Column("gave_up", sa.Boolean, nullable=False, default=False),
)

robots = sa.Table(
    "robots", metadata,
    sa.Column("origin", sa.Text, primary_key=True),
    sa.Column("status", sa.Integer, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("fetched_at", UTCDateTime, nullable=False),
)

articles = sa.Table(
    "articles", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("url", sa.Text, nullable=False, unique=True),
    sa.Column("source_id", sa.String(64), nullable=False, index=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=False, index=True),
    sa.Column("published_at", UTCDateTime, index=True),
    sa.Column("published_signal", sa.String(16), nullable=False),
    sa.Column("updated_at", UTCDateTime),
    sa.Column("author", sa.Text),
    sa.Column("language", sa.String(16)),
    sa.Column("word_count", sa.Integer, nullable=False, default=0),
    sa.Column("truncated", sa.Boolean, nullable=False, default=False),
    sa.Column("first_seen_at", UTCDateTime, nullable=False, index=True),
    sa.Column("feed_title", sa.Text),
    sa.Column("feed_summary", sa.Text),
    sa.Column("feed_published_at", UTCDateTime),
    sa.Column("updated_signal", sa.String(16)),
    sa.Column("lead", sa.Text, nullable=False, default="", server_default=""),
    sa.Column("standfirst", sa.Text),
    sa.Column("raw_url", sa.Text, nullable=False),
    sa.Column("raw_content_type", sa.Text, nullable=False),
    sa.Column("raw_gzip", sa.LargeBinary, nullable=False),
)

# Articles are listed newest first by this date (published, else first seen).
sa.Index("ix_articles_when",
         sa.func.coalesce(articles.c.published_at, articles.c.first_seen_at), articles.c.id)
NEW_INDEXES = {"ix_deliveries_claim", "ix_articles_when", "ix_article_tags_kind_key_at"}
# The full-text index over titles and texts (FTS5 or a tsvector column: store/fulltext.py).
sa.event.listen(articles, "after_create",
                lambda target, connection, **kw: fulltext.create_index(connection))

article_urls = sa.Table(
    "article_urls", metadata,
    sa.Column("url", sa.Text, primary_key=True),
    sa.Column("article_id", sa.Integer, sa.ForeignKey("articles.id", ondelete="CASCADE"),
              nullable=False, index=True),
    sa.Column("source_id", sa.String(64), nullable=False),
)

article_tags = sa.Table(
    "article_tags", metadata,
    sa.Column("article_id", sa.Integer, sa.ForeignKey("articles.id", ondelete="CASCADE"),
              nullable=False, index=True),
    sa.Column("kind", sa.String(16), nullable=False),  # authority, topic, judgement
    sa.Column("key", sa.String(64), nullable=False),  # GSS code or topic slug
    sa.Column("role", sa.String(32)),  # primary / mentioned; a judgement's grade
    sa.Column("detail", sa.Text, nullable=False, default="{}"),  # the tag as JSON
    # the article's date (published, else first seen), so that an authority's or a
    # topic's newest articles come from this table's index in order, however many it has
    sa.Column("at", UTCDateTime),
    sa.Index("ix_article_tags_kind_key", "kind", "key"),
    sa.Index("ix_article_tags_kind_key_at", "kind", "key", "at", "article_id"),
)

# Articles per authority and per topic, kept as tags are written (not counted per view).
tag_counts = sa.Table(
    "tag_counts", metadata,
    sa.Column("kind", sa.String(16), primary_key=True),
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("articles", sa.Integer, nullable=False),
)

subscribers = sa.Table(
    "subscribers", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("email", sa.String(320), nullable=False, unique=True),
    sa.Column("name", sa.Text, nullable=False, default=""),
    # pending, active, unsubscribed, bounced
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("format", sa.String(8), nullable=False, default="html"),
    sa.Column("filters", sa.Text, nullable=False, default="{}"),  # JSON: codes, regions, topics
    sa.Column("token", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("confirmed_at", UTCDateTime),  # when the address owner confirmed (web)
    sa.Column("unsubscribed_at", UTCDateTime),
    # hard (5xx) refusals in a row; at digest.bounce_limit the status becomes 'bounced'
    sa.Column("hard_bounces", sa.Integer, nullable=False, default=0, server_default="0"),
)

# The consent record: every change of a subscriber's status, and how it came about
# (subscribed on the CLI, confirmed on the web, unsubscribed by a link or by email,
# bounced, brought back by an admin's --resubscribe).
subscriber_events = sa.Table(
    "subscriber_events", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("subscriber_id", sa.Integer, sa.ForeignKey("subscribers.id", ondelete="CASCADE"),
              nullable=False, index=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("event", sa.String(32), nullable=False),  # the new status, or 'bounce'
    sa.Column("via", sa.String(32), nullable=False),  # cli, import, web, link, mailbox, send
    sa.Column("detail", sa.Text, nullable=False, default="", server_default=""),
)

deliveries = sa.Table(
    "deliveries", metadata,
    sa.Column("issue", sa.String(16), primary_key=True),  # e.g. 2026-W48
    sa.Column("subscriber_id", sa.Integer, sa.ForeignKey("subscribers.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("message_id", sa.Text, nullable=False),  # fixed at the claim: retries reuse it
    # pending, sending, sent, deferred (a 4xx: next run), skipped (nothing matched), failed
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("last_error", sa.Text),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("next_attempt_at", UTCDateTime),  # a deferred row is not retried before this
    # who claimed a 'sending' row (host:pid) and until when: only an expired lease, or one
    # whose process on this host is gone, is taken back by another sender
    sa.Column("claimed_by", sa.String(300)),
    sa.Column("lease_until", UTCDateTime),
    # readers with the same filters get the same digest: claimed one after another, one
    # rendering serves them all
    sa.Column("same_as", sa.String(32)),
    sa.Index("ix_deliveries_claim", "issue", "status", "same_as", "subscriber_id"),
)

# One fetch worker at a time polls a host, whichever machine it runs on.
host_leases = sa.Table(
    "host_leases", metadata,
    sa.Column("host", sa.String(255), primary_key=True),
    sa.Column("holder", sa.String(300), nullable=False),
    sa.Column("until", UTCDateTime, nullable=False),
)

issues = sa.Table(
    "issues", metadata,
    sa.Column("key", sa.String(16), primary_key=True),  # e.g. 2026-W48
    sa.Column("send_at", UTCDateTime, nullable=False),
    sa.Column("starts_at", UTCDateTime, nullable=False),
    sa.Column("ends_at", UTCDateTime, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("story_count", sa.Integer, nullable=False),
    sa.Column("stories", sa.Text, nullable=False),  # JSON: the week's stories, frozen
    # readers it reached, kept with the issue as each message is sent (not counted per view)
    sa.Column("sent", sa.Integer, nullable=False, default=0, server_default="0"),
)

runs = sa.Table(
    "runs", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("finished_at", UTCDateTime),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("dry_run", sa.Boolean, nullable=False, default=False),
    sa.Column("sources", sa.Integer, nullable=False, default=0),
    sa.Column("new", sa.Integer, nullable=False, default=0),
    sa.Column("known", sa.Integer, nullable=False, default=0),
    sa.Column("failed", sa.Integer, nullable=False, default=0),
    sa.Column("requests", sa.Integer, nullable=False, default=0),
    # who runs it: only a run whose process is gone may be called interrupted
    sa.Column("host", sa.String(255)),
    sa.Column("pid", sa.Integer),
)

run_errors = sa.Table(
    "run_errors", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False,
              index=True),
    sa.Column("source_id", sa.String(64), nullable=False, index=True),
    sa.Column("url", sa.Text),
    sa.Column("stage", sa.String(16), nullable=False),
    sa.Column("kind", sa.String(32)),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
)

Migration = Callable[[Connection], None]

# Append-only. MIGRATIONS[i] takes a database from version i + 1 to i + 2. A new database
# is created from the tables above and stamped with the latest version, so every step added
# here must also be reflected in the table definitions (tests/store checks both paths agree).
def add_column(conn: Connection, table: str, name: str, type_: sa.types.TypeEngine,
               extra: str = "") -> None:
    """ALTER TABLE … ADD COLUMN, with the type spelled as this database spells it."""
    spelled = type_.compile(dialect=conn.dialect)
    conn.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN {name} {spelled} {extra}".rstrip())


def _v2_extraction_fields(conn: Connection) -> None:
    """Extraction keeps the standfirst, the lead, the updated date's signal and the feed's
    own date (so re-extraction can rank dates as the first extraction did)."""
    add_column(conn, "articles", "feed_published_at", UTCDateTime())
    add_column(conn, "articles", "updated_signal", sa.String(16))
    add_column(conn, "articles", "lead", sa.Text(), "DEFAULT '' NOT NULL")
    add_column(conn, "articles", "standfirst", sa.Text())


def _v3_tags(conn: Connection) -> None:
    """Tags (authorities, topics, judgements) per article, as the table stood then."""
    sa.Table("article_tags", sa.MetaData(), *(c._copy() for c in article_tags.columns
                                              if c.name != "at"),
             sa.Index("ix_article_tags_kind_key", "kind", "key")).create(conn)


def _v4_subscribers(conn: Connection) -> None:
    """Digest subscribers, as the table stood at version 4."""
    sa.Table("subscribers", sa.MetaData(), *(
        c._copy() for c in subscribers.columns
        if c.name not in ("confirmed_at", "unsubscribed_at", "hard_bounces"))).create(conn)


def _v5_deliveries(conn: Connection) -> None:
    """The delivery log: one row per (issue, subscriber), claimed before sending. Created
    as it stood at version 5 (later steps add to it), not from today's definition."""
    sa.Table("deliveries", sa.MetaData(), *(
        c._copy() for c in deliveries.columns
        if c.name not in ("next_attempt_at", "claimed_by", "lease_until", "same_as"))
    ).create(conn)


def _v6_issues(conn: Connection) -> None:
    """Issues frozen at their first send (a rerun sends the same digest; the archive shows
    it), and a retry time for deferred deliveries."""
    sa.Table("issues", sa.MetaData(), *(c._copy() for c in issues.columns
                                        if c.name != "sent")).create(conn)
    add_column(conn, "deliveries", "next_attempt_at", UTCDateTime())


def _v7_consent(conn: Connection) -> None:
    """When a subscriber confirmed (double opt-in on the web) and when they left."""
    add_column(conn, "subscribers", "confirmed_at", UTCDateTime())
    add_column(conn, "subscribers", "unsubscribed_at", UTCDateTime())


def _v8_bounces_events_runners(conn: Connection) -> None:
    """Hard bounces counted per subscriber, a record of every status change, and the
    host and process of each run (two fetches at once must not call each other cut off)."""
    add_column(conn, "subscribers", "hard_bounces", sa.Integer(), "DEFAULT 0 NOT NULL")
    subscriber_events.create(conn)
    add_column(conn, "runs", "host", sa.String(255))
    add_column(conn, "runs", "pid", sa.Integer())


def _v9_wider_tag_role(conn: Connection) -> None:
    """A judgement's role is its grade, and "requires improvement" is longer than the 16
    characters the column had: PostgreSQL refused it (SQLite does not enforce lengths)."""
    if conn.dialect.name != "sqlite":
        conn.execute(sa.text("ALTER TABLE article_tags ALTER COLUMN role TYPE VARCHAR(32)"))


def _v10_leases_and_indexes(conn: Connection) -> None:
    """Several senders and fetch workers on several hosts: leases on deliveries and hosts.
    Queries bounded by what they return: the claim's index, the date articles are listed
    by, tags by kind and key with their article, and each issue's readers kept with it."""
    add_column(conn, "deliveries", "claimed_by", sa.String(300))
    add_column(conn, "deliveries", "lease_until", UTCDateTime())
    add_column(conn, "deliveries", "same_as", sa.String(32))
    add_column(conn, "issues", "sent", sa.Integer(), "DEFAULT 0 NOT NULL")
    conn.execute(sa.update(issues).values(sent=sa.select(sa.func.count()).where(
        deliveries.c.issue == issues.c.key, deliveries.c.status == "sent")
        .scalar_subquery()))
    host_leases.create(conn)
    add_column(conn, "article_tags", "at", UTCDateTime())
    a = articles.c
    conn.execute(sa.update(article_tags).values(at=sa.select(
        sa.func.coalesce(a.published_at, a.first_seen_at))
        .where(a.id == article_tags.c.article_id).scalar_subquery()))
    tag_counts.create(conn)
    g = article_tags.c
    conn.execute(sa.insert(tag_counts).from_select(
        ["kind", "key", "articles"],
        sa.select(g.kind, g.key, sa.func.count(sa.distinct(g.article_id)))
        .where(g.kind.in_(("authority", "topic"))).group_by(g.kind, g.key)))
    for index in (*deliveries.indexes, *articles.indexes, *article_tags.indexes):
        if index.name in NEW_INDEXES:
            index.create(conn)


def _v11_full_text_search(conn: Connection) -> None:
    """Search: the full-text index over articles' titles and texts, filled from the
    articles stored (an FTS5 table kept by triggers, or a generated tsvector column)."""
    fulltext.create_index(conn)


MIGRATIONS: list[Migration] = [_v2_extraction_fields, _v3_tags, _v4_subscribers,
                               _v5_deliveries, _v6_issues, _v7_consent,
                               _v8_bounces_events_runners, _v9_wider_tag_role,
                               _v10_leases_and_indexes, _v11_full_text_search]


def schema_version() -> int:
    """The version a database reaches once every migration has run."""
    return 1 + len(MIGRATIONS)
