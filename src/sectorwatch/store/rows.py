"""Writes that stay right when another process writes the same rows at once.

On SQLite a write transaction holds the database from its first read (store/sqlite.py),
so a row looked for and not found is still missing at the insert. PostgreSQL locks only
rows that exist: another process may insert the same key in between, and the insert
then fails on the unique key. Each insert here runs in a savepoint (on PostgreSQL a
failed statement would spoil the whole transaction) and that case is told apart from
any other refusal.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, CursorResult


def insert_new(conn: Connection, table: sa.Table, key: dict, values: dict) -> bool:
    """Insert the row with ``key``; False if another writer has just inserted it. Any
    other refusal (a constraint, a trigger) is raised."""
    try:
        with conn.begin_nested():
            conn.execute(sa.insert(table).values(**key, **values))
        return True
    except sa.exc.IntegrityError:
        if exists(conn, table, key):
            return False
        raise


def _insert_on_conflict(conn: Connection, table: sa.Table) -> Any:
    """The database's own INSERT, which has ON CONFLICT (PostgreSQL and SQLite alike)."""
    dialects = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
    if conn.dialect.name not in dialects:
        raise NotImplementedError(f"no ON CONFLICT insert for {conn.dialect.name}")
    return dialects[conn.dialect.name](table)


def insert_ignoring(conn: Connection, table: sa.Table, rows: list[dict]) -> None:
    """Insert the rows whose keys are not there yet (another writer may be adding the same
    ones at this moment): INSERT … ON CONFLICT DO NOTHING."""
    if not rows:
        return
    statement = _insert_on_conflict(conn, table).on_conflict_do_nothing()
    for k in range(0, len(rows), 1000):
        conn.execute(statement, rows[k:k + 1000])


def upsert_if(conn: Connection, table: sa.Table, key: dict, values: dict,
              when: sa.ColumnElement[bool]) -> bool:
    """Insert the row, or update the one with its key if ``when`` holds for it, in one
    statement (INSERT … ON CONFLICT DO UPDATE … WHERE): True if the row is now ours."""
    statement = (_insert_on_conflict(conn, table).values(**key, **values)
                 .on_conflict_do_update(index_elements=list(key), set_=values, where=when))
    return conn.execute(statement.returning(*(table.c[k] for k in key))).first() is not None


def add_to(conn: Connection, table: sa.Table, key: dict, column: str, n: int) -> None:
    """Add ``n`` to the row's ``column`` (inserting the row with ``n`` if it is not there),
    in one statement."""
    conn.execute(_insert_on_conflict(conn, table).values(**key, **{column: n})
                 .on_conflict_do_update(index_elements=list(key),
                                        set_={column: table.c[column] + n}))


def inserted_id(result: CursorResult[Any]) -> int:
    """The primary key of the one row a single-row INSERT has just added."""
    key = result.inserted_primary_key
    if key is None:  # only an INSERT … RETURNING that returned no row, never a row added
        raise sa.exc.InvalidRequestError("the INSERT returned no primary key")
    return key[0]


def exists(conn: Connection, table: sa.Table, key: dict) -> bool:
    return conn.execute(sa.select(sa.literal(1)).select_from(table).where(
        *(table.c[k] == v for k, v in key.items()))).first() is not None


def upsert(conn: Connection, table: sa.Table, key: dict, values: dict) -> None:
    """Update the row with ``key``, or insert it."""
    update = sa.update(table).where(*(table.c[k] == v for k, v in key.items())).values(**values)
    if conn.execute(update).rowcount == 0 and not insert_new(conn, table, key, values):
        conn.execute(update)  # inserted meanwhile by another writer: ours is the later word


def take_turns(conn: Connection, key: int) -> None:
    """On PostgreSQL, wait for and hold the advisory lock ``key`` until the transaction
    ends: a lock where no row exists yet to be locked. Elsewhere nothing is needed, as
    a SQLite write transaction holds the whole database."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(key)))
