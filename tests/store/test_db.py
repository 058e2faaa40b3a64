from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from sectorwatch.models import Article, Link, Page
from sectorwatch.store import Store, StoreError, schema

NOW = datetime(2026, 11, 23, 9, tzinfo=UTC)


def page(url: str, body: bytes = b"<html>raw</html>") -> Page:
    return Page(url=url, final_url=url, status=200, content_type="text/html", body=body,
                fetched_at=NOW, text=body.decode())


def article(url: str, text: str = "Some article text about Worcestershire.") -> Article:
    from sectorwatch.extract.text import fingerprint

    return Article(url=url, title="T", text=text, fingerprint=fingerprint(text), published=NOW,
                   published_signal="feed")


@pytest.mark.sqlite_only
def test_new_database_is_at_latest_version_in_wal_mode(db_url, store):
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("SELECT value FROM meta").scalar() == \
            str(schema.schema_version())
    assert Store.open(db_url).migrate() == schema.schema_version()  # reopening is harmless


@pytest.mark.sqlite_only
def test_appended_migrations_run_once_in_order(db_url, store, monkeypatch):
    ran = []

    def add_note(conn):
        ran.append("add_note")
        conn.exec_driver_sql("ALTER TABLE articles ADD COLUMN note TEXT")

    def fail(conn):
        conn.exec_driver_sql("ALTER TABLE articles ADD COLUMN other TEXT")
        raise RuntimeError("migration bug")

    before = schema.schema_version()
    monkeypatch.setattr(schema, "MIGRATIONS", [*schema.MIGRATIONS, add_note])
    assert store.migrate() == before + 1
    assert store.migrate() == before + 1 and ran == ["add_note"]
    monkeypatch.setattr(schema, "MIGRATIONS", [*schema.MIGRATIONS, fail])
    with pytest.raises(RuntimeError):
        store.migrate()
    with store.engine.connect() as conn:  # the failed step left no trace
        columns = [r[1] for r in conn.exec_driver_sql("PRAGMA table_info(articles)")]
        assert "note" in columns and "other" not in columns
        assert conn.exec_driver_sql("SELECT value FROM meta").scalar() == str(before + 1)


def test_a_newer_database_is_refused(db_url, store):
    with store.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE meta SET value = '999'")
    with pytest.raises(StoreError):
        Store.open(db_url)


def test_article_identity_is_url_and_fingerprint(store):
    link = Link("https://e.org/a?from=feed")
    assert store.add_article(article("https://e.org/a"), "s", link, page(link.url)) == "new"
    assert store.add_article(article("https://e.org/a"), "s", link, page(link.url)) == "known"
    # same words under another URL (a feed that changed its links): known, URL remembered
    moved = Link("https://e.org/moved")
    assert store.add_article(article("https://e.org/moved", "SOME article text, about "
                                     "Worcestershire!"), "s", moved, page(moved.url)) == "known"
    assert store.count_articles() == 1
    assert store.known_urls(["https://e.org/a?from=feed", "https://e.org/moved", "x"]) == {
        "https://e.org/a?from=feed", "https://e.org/moved"}


def test_raw_page_is_kept_compressed(store):
    body = b"<html>" + b"<p>words</p>" * 1000 + b"</html>"
    store.add_article(article("https://e.org/a"), "s", Link("https://e.org/a"),
                      page("https://e.org/a", body))
    [row] = store.articles()
    assert store.raw_page(row.id) == body
    with store.engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT length(raw_gzip) FROM articles").scalar()
    assert stored < len(body) / 10


@pytest.mark.sqlite_only
def test_a_failure_mid_article_leaves_no_half_rows(store):
    with store.engine.begin() as conn:
        conn.exec_driver_sql("CREATE TRIGGER boom BEFORE INSERT ON article_urls "
                             "BEGIN SELECT RAISE(ABORT, 'disk on fire'); END")
    with pytest.raises(sa.exc.IntegrityError):
        store.add_article(article("https://e.org/a"), "s", Link("https://e.org/a"),
                          page("https://e.org/a"))
    assert store.count_articles() == 0


def test_validators_round_trip(store):
    p = Page(url="https://e.org/feed", final_url="https://e.org/feed", status=200,
             content_type="text/xml", body=b"", fetched_at=NOW, etag='"v1"',
             last_modified="Mon, 23 Nov 2026 09:00:00 GMT")
    assert store.load_validators(p.url) is None
    store.save_validators([p])
    assert store.load_validators(p.url) == ('"v1"', "Mon, 23 Nov 2026 09:00:00 GMT")


def test_url_given_up_only_after_repeated_permanent_failures(store):
    for _ in range(3):
        store.record_url_failure("https://e.org/t", "timed out", 3, permanent=False)
    assert store.given_up(["https://e.org/t"]) == set()
    for _ in range(2):
        store.record_url_failure("https://e.org/p", "HTTP 404", 2, permanent=True)
    assert store.given_up(["https://e.org/p", "https://e.org/t"]) == {"https://e.org/p"}


def test_source_health_counts_consecutive_failures(store):
    later = NOW + timedelta(hours=6)
    store.source_failed("s", NOW, "fetch: HTTP 403", later)
    store.source_failed("s", NOW + timedelta(days=1), "fetch: HTTP 403", later)
    h = store.health()["s"]
    assert (h.failing_since, h.consecutive_failures, h.last_error) == (NOW, 2, "fetch: HTTP 403")
    store.source_succeeded("s", NOW + timedelta(days=2), later)
    h = store.health()["s"]
    assert (h.failing_since, h.consecutive_failures) == (None, 0)
    assert store.next_poll_at("s") == later


def test_naive_datetimes_are_refused(store):
    with pytest.raises(sa.exc.StatementError):
        store.source_succeeded("s", datetime(2026, 1, 1), datetime(2026, 1, 2))


@pytest.mark.parametrize("url", ["not a url", "nosuchdb://x/y", "sqlite:////proc/nope/x.db"])
def test_unusable_database_url_is_a_clear_error(url):
    with pytest.raises(StoreError) as info:
        Store.open(url)
    assert "database" in info.value.message and info.value.hint


def test_a_version_1_database_is_migrated_to_the_fresh_schema(tmp_path):
    """Both ways to the latest schema (create new, or migrate old) give the same tables."""
    fresh = Store.open(f"sqlite:///{tmp_path / 'fresh.db'}")
    old = Store.open(f"sqlite:///{tmp_path / 'old.db'}")
    with old.engine.begin() as conn:  # back to version 1: what v2 and v3 added goes
        for column in ("feed_published_at", "updated_signal", "lead", "standfirst"):
            conn.exec_driver_sql(f"ALTER TABLE articles DROP COLUMN {column}")
        for column in ("host", "pid"):
            conn.exec_driver_sql(f"ALTER TABLE runs DROP COLUMN {column}")
        conn.exec_driver_sql("DROP TABLE article_tags")
        conn.exec_driver_sql("DROP TABLE subscriber_events")
        conn.exec_driver_sql("DROP TABLE issues")
        conn.exec_driver_sql("DROP TABLE deliveries")
        conn.exec_driver_sql("DROP TABLE subscribers")
        conn.exec_driver_sql("DROP TABLE host_leases")
        conn.exec_driver_sql("DROP TABLE tag_counts")
        conn.exec_driver_sql("DROP INDEX ix_articles_when")
        for trigger in ("insert", "update", "delete"):
            conn.exec_driver_sql(f"DROP TRIGGER articles_fts_{trigger}")
        conn.exec_driver_sql("DROP TABLE articles_fts")
        conn.exec_driver_sql("UPDATE meta SET value = '1'")
        # an article stored before search existed: the migration indexes it
        conn.exec_driver_sql(
            "INSERT INTO articles (url, source_id, title, text, fingerprint, published_signal, "
            "word_count, truncated, first_seen_at, raw_url, raw_content_type, raw_gzip) VALUES "
            "('https://e.org/old', 's', 'Old news', 'Fostering allowances in Kent.', 'f', "
            "'feed', 4, 0, '2020-01-01 00:00:00', 'https://e.org/old', 'text/html', x'00')")
    old.close()
    migrated = Store.open(f"sqlite:///{tmp_path / 'old.db'}")

    def columns(store):
        with store.engine.connect() as conn:
            tables = conn.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE type = 'table'").scalars().all()
            return {table: {r[1]: (r[2], r[3]) for r in conn.exec_driver_sql(
                f"PRAGMA table_info({table})")} for table in sorted(tables)}

    def indexes(store, kind="index"):
        with store.engine.connect() as conn:
            return sorted(conn.exec_driver_sql(
                f"SELECT tbl_name, name FROM sqlite_master WHERE type = '{kind}'").all())

    assert columns(migrated) == columns(fresh)
    assert indexes(migrated) == indexes(fresh)
    assert indexes(migrated, "trigger") == indexes(fresh, "trigger")
    assert [h.url for h in migrated.search("fostering").hits] == ["https://e.org/old"]
    with migrated.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM article_tags").scalar() == 0
    with migrated.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT value FROM meta").scalar() == \
            str(schema.schema_version())


def test_tags_are_stored_with_the_article_and_replaced_whole(store):
    from sectorwatch.config import load_config
    from sectorwatch.tag import Tagger

    tagger = Tagger.from_config(load_config(None))
    text = "Kent County Council's children's services were rated inadequate by Ofsted."
    a = article("https://e.org/k", text + " Inspectors found the front door slow.")
    store.add_article(a, "s", Link(a.url), page(a.url), tagger.tag("", a.text, "2024-01-01"))
    [row] = store.articles()
    tags = store.tags(row.id)
    assert [t.code for t in tags.authorities] == ["E10000016"]
    assert tags.judgements[0].grade == "inadequate"
    assert store.articles(authorities=["E10000016"]) and not store.articles(topics=["send"])
    assert store.replace_tags(row.id, tagger.tag("", a.text, "2024-01-01")) is False
    assert store.replace_tags(row.id, tagger.tag("", "Medway council.", "2024-01-01")) is True
    assert [t.code for t in store.tags(row.id).authorities] == ["E06000035"]


@pytest.mark.sqlite_only
def test_retag_rewrites_only_what_changed_in_batches(store, monkeypatch):
    from sectorwatch import pipeline
    from sectorwatch.config import load_config
    from sectorwatch.tag import Tagger

    config = load_config(None)
    tagger = Tagger.from_config(config)
    texts = ["Kent County Council's children's services were rated inadequate by Ofsted.",
             "Medway Council's foster carers met.", "Surrey County Council's budget.",
             "Slough Borough Council's care leavers.", "Luton Borough Council's schools."]
    for n, text in enumerate(texts):
        a = article(f"https://e.org/{n}", text)
        stale = tagger.tag("T", "Bromley Council." if n % 2 else text, NOW.date())
        store.add_article(a, "s", Link(a.url), page(a.url), stale)

    def rowids():
        with store.engine.connect() as conn:
            return dict(conn.exec_driver_sql(
                "SELECT rowid, article_id FROM article_tags").fetchall())

    before = rowids()
    monkeypatch.setattr(pipeline, "RETAG_BATCH", 2)  # five articles: three transactions
    assert pipeline.retag(config, store) == (5, 2)  # the two stale ones
    after = rowids()
    kept = {r: a for r, a in before.items() if r in after}
    assert sorted(set(kept.values())) == [1, 3, 5]  # untouched rows stay as they were
    assert [t.code for t in store.tags(2).authorities] == ["E06000035"]
    assert pipeline.retag(config, store) == (5, 0) and rowids() == after


def test_a_store_closes_when_its_block_ends_even_on_error(db_url):
    with pytest.raises(RuntimeError), Store.open(db_url) as store:
        store.start_run(dry_run=False)
        raise RuntimeError("boom")
    assert store.engine.pool.checkedout() == 0


def test_every_tag_role_fits_its_column():
    # A judgement's role is its grade; PostgreSQL enforces the length SQLite ignores.
    longest = max(["primary", "mentioned", "outstanding", "good", "requires improvement",
                   "inadequate"], key=len)
    assert schema.article_tags.c.role.type.length >= len(longest)


def test_articles_come_back_typed_with_their_tags_in_one_read(store):
    from sectorwatch.config import load_config
    from sectorwatch.store.records import StoredArticle
    from sectorwatch.tag import Tagger

    tagger = Tagger.from_config(load_config(None))
    for n, text in enumerate(["Kent County Council's children's services were rated "
                              "inadequate by Ofsted.", "Medway Council's foster carers met."]):
        a = article(f"https://e.org/{n}", text)
        store.add_article(a, "s", Link(a.url), page(a.url), tagger.tag("", a.text, "2024-01-01"))
    rows = store.articles(with_tags=True)
    assert all(isinstance(r, StoredArticle) for r in rows)
    assert {r.url: [t.code for t in r.tags.authorities] for r in rows} == {
        "https://e.org/0": ["E10000016"], "https://e.org/1": ["E06000035"]}
    assert all(r.tags is None for r in store.articles())  # not asked for: not read
    [(ref, judgement)] = store.judgements("E10000016")
    assert (ref.url, judgement.grade) == ("https://e.org/0", "inadequate")


def test_kept_counts_and_filtered_lists_agree_with_the_tags(store):
    """Counts per authority kept as tags are written (and retagged) equal what counting
    the tags gives; an authority's newest articles come in date order, with the topic and
    source filters and the date bounds applied."""
    import sqlalchemy as sa

    from sectorwatch.config import load_config
    from sectorwatch.store import schema as t
    from sectorwatch.tag import Tagger

    tagger = Tagger.from_config(load_config(None))
    texts = ["Kent County Council's foster carers were praised by Ofsted inspectors.",
             "Medway Council and Kent County Council share an adoption agency.",
             "Kent County Council's SEND transport budget overspent again.",
             "Surrey County Council's care leavers get council tax relief."]
    for n, text in enumerate(texts):
        a = article(f"https://e.org/{n}", text)
        a = dataclasses.replace(a, published=NOW - timedelta(days=n))
        store.add_article(a, f"s{n % 2}", Link(a.url), page(a.url),
                          tagger.tag("", a.text, "2024-01-01"))
    store.replace_tags(4, tagger.tag("", "Medway Council's social workers.", "2024-01-01"))

    def counted() -> dict[str, int]:
        g = t.article_tags.c
        with store.engine.connect() as conn:
            return dict(conn.execute(sa.select(g.key, sa.func.count(sa.distinct(g.article_id)))
                                     .where(g.kind == "authority").group_by(g.key)).all())

    assert store.authority_counts() == counted() == {"E10000016": 3, "E06000035": 2}
    kent = store.articles(authorities=["E10000016"])
    assert [r.url for r in kent] == ["https://e.org/0", "https://e.org/1", "https://e.org/2"]
    assert [r.url for r in store.articles(authorities=["E10000016"], source_id="s1")] == \
        ["https://e.org/1"]
    assert [r.url for r in store.articles(authorities=["E10000016"],
                                          since=NOW - timedelta(days=1, hours=1))] == \
        ["https://e.org/0", "https://e.org/1"]
    assert [r.url for r in store.articles(authorities=["E10000016", "E06000035"],
                                          limit=2)] == ["https://e.org/0", "https://e.org/1"]
    fostering = {r.url for r in store.articles(topics=["fostering"])}
    assert {r.url for r in store.articles(authorities=["E10000016"],
                                          topics=["fostering"])} == fostering & {
        r.url for r in kent}
