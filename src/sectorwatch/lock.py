"""Exclusive locks beside the database: one scheduler per database, one digest sender.

``flock`` locks are released by the kernel when their process dies, so a crash never
leaves a stale lock behind. They hold on one machine only (not across hosts or NFS).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy.engine import make_url

from sectorwatch.errors import SectorwatchError


class Busy(SectorwatchError):
    """Another process holds the lock."""

    stage = "lock"


def lock_path(database_url: str, name: str) -> Path:
    """``<database file>.<name>.lock`` for SQLite; a file in the temp folder otherwise."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        db = Path(url.database).expanduser().resolve()
        return db.with_name(f"{db.name}.{name}.lock")
    digest = hashlib.sha256(database_url.encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"sectorwatch-{digest}.{name}.lock"


@contextlib.contextmanager
def exclusive(path: Path, what: str) -> Iterator[None]:
    """Hold ``path`` locked for the block, or raise Busy naming the holder's pid."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            raise Busy(f"another sectorwatch process (pid {holder}) is already {what}",
                       hint=f"it holds {path}; wait for it or stop it") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing releases the lock
