"""The full-text index over articles' titles and texts, as each database keeps it.

SQLite: an FTS5 table with the articles table as its external content (the words are
indexed, the text is not stored twice), kept in step by triggers on insert, update of
the title or text, and delete; ranked by bm25 with the title weighted above the body.

PostgreSQL: a stored generated ``tsvector`` column (title weight A, text weight B, the
``english`` configuration) with a GIN index, which the database keeps in step itself;
ranked by ``ts_rank_cd`` with A weighted above B. The vector is stored in the row (not
out of line, as a value of its size would be), so checking an article's words costs no
TOAST lookup. Only the first ``PG_INDEXED`` characters of a text are indexed (a tsvector
holds at most 1 MB; a long council paper is far past any position PostgreSQL records).

Neither appears in schema.py's table definitions, as neither database can spell the
other's: ``create_index`` makes it, after the articles table or in a migration.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.engine import Connection

from sectorwatch.store.highlight import START, STOP

FTS_TABLE = "articles_fts"
PG_COLUMN = "search"
PG_INDEXED = 200_000
PG_HEADLINE = 20_000
"""Characters of a text ts_headline reads for a snippet: it parses all it is given, and a
long council paper would cost a page of results many times an article's time."""
TITLE_WEIGHT, TEXT_WEIGHT = 10.0, 1.0
SNIPPET_WORDS = 28

_SQLITE = [
    f"""CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(title, text, content='articles',
        content_rowid='id', tokenize='porter unicode61 remove_diacritics 2')""",
    f"""CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN
        INSERT INTO {FTS_TABLE}(rowid, title, text) VALUES (new.id, new.title, new.text);
        END""",
    f"""CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN
        INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, title, text)
        VALUES ('delete', old.id, old.title, old.text);
        END""",
    f"""CREATE TRIGGER articles_fts_update AFTER UPDATE OF title, text ON articles BEGIN
        INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, title, text)
        VALUES ('delete', old.id, old.title, old.text);
        INSERT INTO {FTS_TABLE}(rowid, title, text) VALUES (new.id, new.title, new.text);
        END""",
]
_POSTGRESQL = [
    # MAIN: kept in the row, where the text goes out of line first (a search reads
    # thousands of vectors and twenty texts); in one statement, so the table is
    # written once, already so
    f"""ALTER TABLE articles ADD COLUMN {PG_COLUMN} tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english'::regconfig, title), 'A') ||
        setweight(to_tsvector('english'::regconfig, left(text, {PG_INDEXED})), 'B')) STORED,
        ALTER COLUMN {PG_COLUMN} SET STORAGE MAIN""",
    f"CREATE INDEX ix_articles_search ON articles USING gin ({PG_COLUMN})",
]


def create_index(conn: Connection) -> None:
    """Make the index and fill it from the stored articles (none, on a new database)."""
    if conn.dialect.name == "sqlite":
        for statement in _SQLITE:
            conn.exec_driver_sql(statement)
        conn.exec_driver_sql(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')")
    elif conn.dialect.name == "postgresql":
        for statement in _POSTGRESQL:  # adding the column computes it for every row
            conn.exec_driver_sql(statement)
        # the planner's word frequencies, which decide how each search reads the index
        conn.exec_driver_sql("ANALYZE articles")


# -- SQLite -----------------------------------------------------------------------------------

fts = sa.table(FTS_TABLE, sa.column("rowid", sa.Integer))
_fts_name: sa.ColumnClause[object] = sa.literal_column(FTS_TABLE)


def fts_match(expression: str) -> sa.ColumnElement[bool]:
    """``articles_fts MATCH :expression``."""
    return _fts_name.op("MATCH")(sa.bindparam("fts_query", expression, sa.Text))


def fts_rank() -> sa.ColumnElement[float]:
    """Higher is better (bm25 is lower for better matches)."""
    return -sa.func.bm25(_fts_name, TITLE_WEIGHT, TEXT_WEIGHT)


def fts_snippet() -> sa.ColumnElement[str]:
    """The best passage of the text, matched words between START and STOP."""
    return sa.func.snippet(_fts_name, 1, START, STOP, "…", SNIPPET_WORDS)


# -- PostgreSQL -------------------------------------------------------------------------------

_ENGLISH: sa.ColumnClause[object] = sa.literal_column("'english'::regconfig")
# weights of D, C, B (the text) and A (the title)
_WEIGHTS: sa.ColumnClause[object] = sa.literal_column("'{0.1, 0.1, 0.1, 1.0}'::float4[]")
_HEADLINE = (f'StartSel="{START}", StopSel="{STOP}", MaxWords={SNIPPET_WORDS}, '
             f'MinWords={SNIPPET_WORDS // 2}, MaxFragments=2, FragmentDelimiter=" … "')


def pg_vector(articles: sa.Table) -> sa.ColumnElement:
    return sa.literal_column(f"{articles.name}.{PG_COLUMN}", TSVECTOR)


def pg_query(expression: str) -> sa.ColumnElement:
    """``to_tsquery('english', :expression)``."""
    return sa.func.to_tsquery(_ENGLISH, sa.bindparam("ts_query", expression, sa.Text))


def pg_match(articles: sa.Table, expression: str) -> sa.ColumnElement[bool]:
    return pg_vector(articles).op("@@")(pg_query(expression))


def pg_rank(articles: sa.Table, expression: str) -> sa.ColumnElement[float]:
    """Higher is better; divided by 1 + log(length), so a long text does not win by length."""
    return sa.func.ts_rank_cd(_WEIGHTS, pg_vector(articles), pg_query(expression), 1)


def pg_snippet(articles: sa.Table, expression: str) -> sa.ColumnElement[str]:
    return sa.func.ts_headline(_ENGLISH, sa.func.left(articles.c.text, PG_HEADLINE),
                               pg_query(expression), sa.literal(_HEADLINE, sa.Text))
