"""Runs left 'running': cut off only once the process that ran them is gone."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import UTC, datetime

import sqlalchemy as sa

from sectorwatch.store import schema

HOLD_A_RUN = """
import sys
from sectorwatch.store import Store
with Store.open(sys.argv[1]) as store:
    run = store.start_run(dry_run=False)
    print(run, flush=True)
    sys.stdin.readline()  # running until told to finish
    store.finish_run(run, "ok", sources=1, new=2, known=3, failed=0, requests=4)
"""


def hold_a_run(db_url: str) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen([sys.executable, "-c", HOLD_A_RUN, db_url], text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    return proc, int(proc.stdout.readline())


def statuses(store) -> dict[int, str]:
    return {r.id: r.status for r in store.runs()}


def test_a_run_is_interrupted_only_once_its_process_is_gone(db_url, store):
    live, live_run = hold_a_run(db_url)
    killed, killed_run = hold_a_run(db_url)
    killed.kill()
    killed.wait()
    try:
        ours = store.start_run(dry_run=False)
        assert statuses(store) == {live_run: "running", killed_run: "interrupted",
                                   ours: "running"}
        store.start_run(dry_run=False)  # ours is still going: this process is alive
        assert statuses(store)[ours] == "running"
        live.communicate("finish\n", timeout=30)
    finally:
        if live.poll() is None:
            live.kill()
    assert live.returncode == 0
    [row] = [r for r in store.runs() if r.id == live_run]
    assert (row.status, row.new, row.known, row.requests) == ("ok", 2, 3, 4)
    assert (row.host, row.pid) == (socket.gethostname(), live.pid)


def test_runs_nobody_can_vouch_for(store):
    """A row from before runs named their process is cut off; another host's run is
    left alone; a run whose number now belongs to a later process (pid 1 began at boot)
    is cut off; a run called interrupted by mistake still records how it ended."""
    long_ago = datetime(2000, 1, 1, tzinfo=UTC)
    rows = {"old": (None, None), "elsewhere": ("another-host", 1),
            "reused": (socket.gethostname(), 1), "mistaken": (socket.gethostname(), os.getpid())}
    ids = {}
    with store.engine.begin() as conn:
        for name, (host, pid) in rows.items():
            ids[name] = conn.execute(sa.insert(schema.runs).values(
                started_at=datetime.now(UTC) if name == "mistaken" else long_ago,
                status="interrupted" if name == "mistaken" else "running",
                host=host, pid=pid)).inserted_primary_key[0]
    store.start_run(dry_run=False)
    found = statuses(store)
    assert {name: found[i] for name, i in ids.items()} == {
        "old": "interrupted", "elsewhere": "running", "reused": "interrupted",
        "mistaken": "interrupted"}
    store.finish_run(ids["mistaken"], "ok", sources=1, new=5, known=0, failed=0, requests=6)
    [row] = [r for r in store.runs() if r.id == ids["mistaken"]]
    assert (row.status, row.new, row.requests) == ("ok", 5, 6)
