"""Host leases: one fetch worker at a time per host, on any number of machines."""

from __future__ import annotations

import subprocess
import sys
import threading

from sectorwatch.store import Store, holders


def test_a_host_is_held_by_one_worker_until_given_back_or_run_out(store):
    assert store.take_host("news.example", "elsewhere:1")
    assert not store.take_host("news.example", "elsewhere:2")  # another machine's worker
    assert store.take_host("news.example", "elsewhere:1")  # renewed by its holder
    store.release_host("news.example", "elsewhere:2")  # not theirs to give back
    assert not store.take_host("news.example", "elsewhere:2")
    store.release_host("news.example", "elsewhere:1")
    assert store.take_host("news.example", "elsewhere:2")
    assert store.take_host("other.example", "elsewhere:1")  # hosts are apart
    assert store.take_host("short.example", "elsewhere:3", seconds=-1)  # already run out
    assert store.take_host("short.example", "elsewhere:4")


def test_a_worker_that_died_on_this_machine_frees_its_host_at_once(store):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    assert store.take_host("news.example", f"{holders.this_host()}{dead}:-")
    assert store.take_host("news.example", holders.PROCESS)  # its process is gone


def test_many_workers_at_once_one_holds_it(db_url):
    won: list[str] = []
    barrier = threading.Barrier(6)

    def worker(n: int) -> None:
        with Store.open(db_url) as own:
            barrier.wait()
            if own.take_host("news.example", f"elsewhere:{n}"):
                won.append(str(n))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(won) == 1
