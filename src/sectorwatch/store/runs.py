"""Fetch runs (tables runs and run_errors), and which runs left 'running' are cut off.

Each run records the host and process that run it. A run still 'running' is called
'interrupted' only once that process is gone: a second fetch, or the scheduler's, may be
running it right now. Runs of another host cannot be checked from here and are left be.
"""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from sectorwatch.store import schema as t
from sectorwatch.store.base import StoreBase
from sectorwatch.store.rows import inserted_id

CLOCK_SLACK = 2.0
"""Seconds a process's start time (read from /proc, whole seconds since boot) may seem to
follow the start of the run it began."""


def _now() -> datetime:
    return datetime.now(UTC)


class RunStore(StoreBase):
    """Mixed into Store."""

    def start_run(self, dry_run: bool) -> int:
        """Record a run of this process; first mark runs cut off (killed, crashed, the
        machine restarted) as 'interrupted'."""
        host, pid = socket.gethostname()[:255], os.getpid()
        r = t.runs
        with self._write() as conn:
            running = conn.execute(sa.select(r.c.id, r.c.host, r.c.pid, r.c.started_at)
                                   .where(r.c.status == "running")).all()
            gone = [run.id for run in running if not _may_be_running(run, host)]
            if gone:
                conn.execute(sa.update(r).where(r.c.id.in_(gone), r.c.status == "running")
                             .values(status="interrupted"))
            return inserted_id(conn.execute(sa.insert(r).values(
                started_at=_now(), status="running", dry_run=dry_run, host=host, pid=pid,
            )))

    def finish_run(self, run_id: int, status: str, *, sources: int, new: int, known: int,
                   failed: int, requests: int) -> None:
        """Whatever the row says meanwhile (an older sectorwatch may have called it
        interrupted), the run's own outcome and counts are what is kept."""
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


def _may_be_running(run: sa.Row, host: str) -> bool:
    if run.pid is None:
        return False  # from before runs named their process: cut off, as it always was
    if run.host != host:
        return True
    return process_alive(run.pid, run.started_at)


def process_alive(pid: int, since: datetime) -> bool:
    """Whether process ``pid`` of this machine exists and began by ``since``; one that
    began later has only been given the number of a process that is gone (after a
    restart, say)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: it exists
    began = _process_began(pid)
    return began is None or began <= since.timestamp() + CLOCK_SLACK


def _process_began(pid: int) -> float | None:
    """When process ``pid`` began (seconds since the epoch), where /proc tells (Linux)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot = next(float(line.split()[1]) for line in
                    Path("/proc/stat").read_text().splitlines() if line.startswith("btime "))
        ticks = int(stat.rpartition(")")[2].split()[19])  # field 22, starttime
        return boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, StopIteration, ValueError, IndexError):
        return None
