"""Who holds a lease (a delivery row being sent, a host being polled): this process's
runs, named host:pid:run, and whether a holder has gone without giving its lease back.

A holder on another machine is gone only when its lease runs out. On this machine a
holder whose process has ended is gone at once, and so is a run of this very process
that is no longer going (it ended by an exception).
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sectorwatch.store.runs import process_alive


def _name(run: str) -> str:
    return f"{socket.gethostname()[:255]}:{os.getpid()}:{run}"


PROCESS = _name("-")
"""This process, as a holder, outside any particular run."""
_LIVE: set[str] = {PROCESS}
"""The holders of this process now going."""


def this_host() -> str:
    """The prefix every holder on this machine starts with."""
    return f"{socket.gethostname()[:255]}:"


@contextmanager
def run() -> Iterator[str]:
    """A holder name for one run (host:pid:run), live while the block runs."""
    me = _name(secrets.token_hex(4))
    _LIVE.add(me)
    try:
        yield me
    finally:
        _LIVE.discard(me)


def gone(holder: str, since: datetime) -> bool:
    """Whether ``holder`` (holding since ``since``) has ended without giving back what it
    holds; only ever true for a holder on this machine."""
    parts = holder.rsplit(":", 2)
    if len(parts) != 3 or not holder.startswith(this_host()) or not parts[1].isdigit():
        return False  # another machine's: only its lease running out frees it
    if int(parts[1]) == os.getpid():
        return holder not in _LIVE
    return not process_alive(int(parts[1]), since)
