"""Several processes on one SQLite file at once: fetches, the web app and new databases.

Real processes and real HTTP on 127.0.0.1. Each test repeats its rounds because a lost
race shows only sometimes: enough rounds make a broken store fail every time.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from sectorwatch.models import Link
from sectorwatch.store import Store, schema
from sectorwatch.tokens import signer_from_env
from tests.conftest import LOREM, article_html, rss, wait_for_http
from tests.store.test_db import article, page
from tests.web.conftest import csrf_of, free_port

SECTORWATCH = str(Path(sys.executable).parent / "sectorwatch")
ARTICLES = 40
# Patient timeouts: three busy processes share two cores, and a slow page is not the point.
FETCH = """
fetch:
  user_agent: "sectorwatch-test/1.0 (+http://127.0.0.1/about)"
  connect_timeout: 5s
  read_timeout: 10s
  total_timeout: 20s
  per_host_delay: 0
  backoff: 0.01
  max_attempts: 3
"""


def news_site(make_site):
    """A feed of ARTICLES stories, each with words of its own."""
    site = make_site("news")
    items = []
    for i in range(ARTICLES):
        path, title = f"/news/story-{i}", f"Story {i} on children's services in Worcestershire"
        site.route(path, article_html(title, [f"Story {i} opens with words of its own: "
                                              f"{' '.join(['case'] * (i + 1))}.", *LOREM]))
        items.append((path, title))
    site.route("/feed.xml", rss(site.base, items), "application/rss+xml")
    return site


def write_config(folder: Path, feed: str, port: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.yaml"
    path.write_text(
        f'database_url: "sqlite:///{folder / "sw.db"}"\n{FETCH}'
        f"digest:\n  base_url: 'http://127.0.0.1:{port}'\n  outbox_dir: '{folder / 'outbox'}'\n"
        f"web:\n  port: {port}\n  subscribe_rate: 100000\n"
        f"sources:\n  - {{id: news, type: feed, url: '{feed}', name: News}}\n",
        encoding="utf-8")
    return path


class WebWrites:
    """Subscribe-form posts and one-click unsubscribes against a running `serve`, from
    two client threads, until stopped: every answer is kept."""

    def __init__(self, base: str, db_url: str):
        self.base, self.db_url = base, db_url
        self.answers: list[tuple[str, int]] = []
        self.errors: list[BaseException] = []
        self.stop = threading.Event()
        self.signer = signer_from_env("SECTORWATCH_SECRET")
        self.threads = [threading.Thread(target=self.client, args=(n,)) for n in range(2)]

    def __enter__(self) -> WebWrites:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(30)

    def client(self, n: int) -> None:
        try:
            self.writes(n)
        except Exception as exc:  # kept for the test to show, not lost with the thread
            self.errors.append(exc)

    def writes(self, n: int) -> None:
        with requests.Session() as http, Store.open(self.db_url) as store:
            csrf = csrf_of(http.get(self.base + "/", timeout=30).text)
            i = 0
            while not self.stop.is_set():
                address = f"reader-{n}-{i % 10}@example.org"  # new, then returning
                i += 1
                answer = http.post(self.base + "/subscribe", allow_redirects=False,
                                   data={"csrf": csrf, "email": address, "name": "R"},
                                   timeout=30)
                self.answers.append(("subscribe", answer.status_code))
                key = {spec.email: k for spec, k in store.subscribers()}[address]
                token = self.signer.sign("unsubscribe", key)
                answer = requests.post(f"{self.base}/u/{token}", timeout=30,
                                       data={"List-Unsubscribe": "One-Click"})
                self.answers.append(("unsubscribe", answer.status_code))


def test_two_fetches_and_web_writes_at_once_store_each_article_once(tmp_path, make_site):
    """Two `fetch` processes started together while a `serve` process takes a burst of
    subscribes and unsubscribes: nobody fails, every article is stored once, the news
    site never answers two requests at once (one worker holds its host), and both runs
    are ok: one stores the articles, the other found the host busy or them known."""
    site = news_site(make_site)
    env = {**os.environ, "COLUMNS": "200"}
    for round_ in range(2):
        port = free_port()
        folder = tmp_path / f"round-{round_}"
        config = write_config(folder, f"{site.base}/feed.xml", port)
        db_url = f"sqlite:///{folder / 'sw.db'}"
        serve_log = folder / "serve.log"  # a file: it logs every request, a pipe would fill
        with serve_log.open("w") as log:
            serve = subprocess.Popen([SECTORWATCH, "--config", str(config), "serve"], env=env,
                                     stdout=subprocess.DEVNULL, stderr=log)
        fetches: list[subprocess.Popen] = []
        try:
            wait_for_http(f"http://127.0.0.1:{port}/healthz", serve, timeout=30)
            with WebWrites(f"http://127.0.0.1:{port}", db_url) as web:
                fetches = [subprocess.Popen(
                    [SECTORWATCH, "--config", str(config), "fetch", "--force"], env=env,
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                    for _ in range(2)]
                outputs = [f.communicate(timeout=60) for f in fetches]
        finally:
            for proc in (*fetches, serve):
                if proc.poll() is None:
                    proc.terminate()
            for proc in (*fetches, serve):
                proc.wait(20)

        serve_err = serve_log.read_text()
        assert "Traceback" not in serve_err and "locked" not in serve_err, serve_err
        for fetch, (out, err) in zip(fetches, outputs, strict=True):
            assert fetch.returncode == 0, out + err
            assert "locked" not in err and "Traceback" not in err, err
        assert not web.errors, web.errors
        assert len(web.answers) >= 20, "the web writes did not overlap the fetches"
        assert {(what, code) for what, code in web.answers} <= {("subscribe", 303),
                                                                 ("unsubscribe", 200)}
        with Store.open(db_url) as store:
            stored = [row.url for row in store.articles(limit=None)]
            runs = store.runs()
            assert store.known_urls([f"{site.base}/news/story-{i}"
                                     for i in range(ARTICLES)]) == {
                f"{site.base}/news/story-{i}" for i in range(ARTICLES)}
        assert len(stored) == len(set(stored)) == ARTICLES
        assert [r.status for r in runs] == ["ok", "ok"]
        assert all(r.new + r.known in (0, ARTICLES) and r.finished_at for r in runs)
        assert sum(r.new for r in runs) == ARTICLES
        assert site.most_at_once == 1
        site.most_at_once = 0


OPEN_AT_ONCE = """
import sys, time
from sectorwatch.store import Store
start, me, urls = float(sys.argv[1]), sys.argv[2], sys.argv[3:]
for i, url in enumerate(urls):
    time.sleep(max(0.0, start + i * 0.2 - time.time()))
    with Store.open(url) as store:
        print(store.set_meta("first-opener", me, keep=True))
"""


def test_processes_opening_a_new_database_at_once_all_succeed(tmp_path):
    """Three processes create and migrate a new database at the same instant, one
    database after another."""
    urls = [f"sqlite:///{tmp_path / f'new-{n}.db'}" for n in range(10)]
    start = time.time() + 1.0  # every process has imported the store by then
    procs = [subprocess.Popen([sys.executable, "-c", OPEN_AT_ONCE, str(start), str(n), *urls],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for n in range(3)]
    outputs = [p.communicate(timeout=60) for p in procs]
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
    assert len({out for out, _ in outputs}) == 1  # all agree on who opened each first
    for url in urls:
        with Store.open(url) as store, store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert store.get_meta("schema_version") == str(schema.schema_version())


@contextmanager
def stored_meanwhile(store: Store, table: str, sql: str, params: tuple) -> Iterator[None]:
    """``sql`` is written in the same transaction just before the store inserts into
    ``table`` (or opens the savepoint that guards that insert): where another process's
    commit lands on PostgreSQL, whose reads do not lock what they found missing."""
    armed = [True]

    def other_writer(conn, cursor, statement, *_):
        if armed[0] and statement.startswith(("SAVEPOINT", f"INSERT INTO {table} ")):
            armed[0] = False
            conn.connection.dbapi_connection.execute(sql, params)

    sa.event.listen(store.engine, "before_cursor_execute", other_writer)
    try:
        yield
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", other_writer)
    assert not armed[0], f"nothing was inserted into {table}"


@pytest.mark.sqlite_only
def test_an_article_another_writer_stores_first_is_known(store):
    a = article("https://e.org/raced")
    other = article(a.url, "The same story as another process extracted it.")
    insert = ("INSERT INTO articles (url, source_id, title, text, fingerprint, "
              "published_signal, word_count, truncated, first_seen_at, lead, raw_url, "
              "raw_content_type, raw_gzip) VALUES (?, 's', 'T', ?, ?, 'feed', 9, 0, "
              "'2026-11-23 09:00:00', '', ?, 'text/html', x'00')")
    with stored_meanwhile(store, "articles", insert,
                          (a.url, other.text, other.fingerprint, a.url)):
        assert store.add_article(a, "s", Link(a.url), page(a.url)) == "known"
    assert [row.text for row in store.articles()] == [other.text]


@pytest.mark.sqlite_only
def test_a_url_another_writer_records_first_is_not_an_error(store):
    a = article("https://e.org/a")
    assert store.add_article(a, "s", Link(a.url), page(a.url)) == "new"
    [row] = store.articles()
    moved = "https://e.org/moved"
    with stored_meanwhile(store, "article_urls", "INSERT INTO article_urls "
                          "(url, article_id, source_id) VALUES (?, ?, 's')", (moved, row.id)):
        assert store.add_article(a, "s", Link(moved), page(moved)) == "known"
    assert store.known_urls([a.url, moved]) == {a.url, moved}


HOLD_THE_WRITE_LOCK = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("holding", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("COMMIT")
"""


def test_a_write_outlasting_the_busy_timeout_is_waited_out(tmp_path, monkeypatch):
    """Another process keeps the write lock longer than the busy timeout: the write
    begins again after a pause rather than failing."""
    monkeypatch.setattr("sectorwatch.store.sqlite.BUSY_TIMEOUT", 0.2)
    path = tmp_path / "held.db"
    with Store.open(f"sqlite:///{path}") as store:
        holder = subprocess.Popen([sys.executable, "-c", HOLD_THE_WRITE_LOCK, str(path), "0.6"],
                                  stdout=subprocess.PIPE, text=True)
        assert holder.stdout.readline() == "holding\n"
        began = time.monotonic()
        store.set_meta("waited", "yes")
        waited = time.monotonic() - began
        holder.wait(10)
        assert store.get_meta("waited") == "yes" and waited > 0.2
