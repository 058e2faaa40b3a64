"""SQLite shared by several processes (fetches, the scheduler, `serve`): WAL, a busy
timeout, and write transactions that take the write lock when they begin.

A deferred transaction that reads and then writes must upgrade its read snapshot to a
write lock. If another connection has committed since the read, SQLite refuses that
upgrade at once ("database is locked"), without waiting: the busy timeout cannot help a
stale snapshot. So every write transaction begins IMMEDIATE, taking the lock before its
first read and waiting for it up to the busy timeout. Reads stay deferred: in WAL mode
they never wait for a writer.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

BUSY_TIMEOUT = 30.0
"""Seconds a statement waits for another connection's lock before it fails."""
WRITE = "sectorwatch_write"
"""Execution option of the connections whose transactions write (begun IMMEDIATE)."""
_BUSY, _LOCKED = 5, 6  # SQLITE_BUSY, SQLITE_LOCKED (primary result codes)


def configure(engine: Engine) -> None:
    """Set up every connection ``engine`` makes, and how its transactions begin."""
    sa.event.listen(engine, "connect", _pragmas)
    sa.event.listen(engine, "begin", _begin)


def is_busy(exc: BaseException) -> bool:
    """Whether ``exc`` (a DBAPI error, or SQLAlchemy's wrapper of one) is SQLite's
    'database is locked': another connection held a lock for too long."""
    orig = getattr(exc, "orig", exc)
    code = getattr(orig, "sqlite_errorcode", None)
    return isinstance(orig, sqlite3.OperationalError) and code is not None and \
        (code & 0xFF) in (_BUSY, _LOCKED)


def retry_busy(action: Callable[[], object]) -> None:
    """Run ``action`` again while it fails busy, for up to the busy timeout."""
    deadline, pause = time.monotonic() + BUSY_TIMEOUT, 0.005
    while True:
        try:
            action()
            return
        except sqlite3.OperationalError as exc:
            if not is_busy(exc) or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.25)


def _pragmas(dbapi_conn: sqlite3.Connection, _record) -> None:
    # pysqlite's own transaction handling issues BEGIN only before DML, so DDL (migrations)
    # would run outside the transaction; switch it off and begin explicitly (_begin).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    try:
        # The timeout first, so that every statement after it waits for a lock.
        cur.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT * 1000)}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        # Persistent, so a no-op once set. Switching needs the file to itself: on a new
        # database opened by several processes at once it can be refused without a wait.
        retry_busy(lambda: cur.execute("PRAGMA journal_mode=WAL"))
    finally:
        cur.close()


def _begin(conn: Connection) -> None:
    immediate = conn.get_execution_options().get(WRITE, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
