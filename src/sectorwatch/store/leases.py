"""Leases on hosts (table host_leases): one fetch worker at a time polls a host, whichever
machine it runs on.

A lease is taken by one statement (INSERT … ON CONFLICT DO UPDATE … WHERE it is ours or
has run out), so two workers can never both hold it. It is renewed while
the work goes on and given back at the end; a worker that dies without giving it back
holds it until it runs out, or, on this host, until its process is seen to be gone.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from sectorwatch.store import holders
from sectorwatch.store import schema as t
from sectorwatch.store.base import StoreBase
from sectorwatch.store.rows import upsert_if

HOST_LEASE = 900.0
"""Seconds a host stays a worker's without renewal: longer than one source takes."""


class LeaseStore(StoreBase):
    """Mixed into Store."""

    def take_host(self, host: str, holder: str, seconds: float = HOST_LEASE) -> bool:
        """Hold ``host`` for ``seconds`` (or renew our hold); False if another worker
        holds it."""
        now = datetime.now(UTC)
        until = now + timedelta(seconds=seconds)
        h = t.host_leases
        with self._write() as conn:
            row = conn.execute(sa.select(h.c.holder, h.c.until).where(h.c.host == host)).first()
            if row is not None and row.holder != holder and row.until > now and \
                    holders.gone(row.holder, row.until - timedelta(seconds=seconds)):
                conn.execute(sa.update(h).where(h.c.host == host, h.c.holder == row.holder)
                             .values(until=now))  # its worker is gone: run it out now
            # One statement decides: insert it, or take it if it is ours or has run out.
            taken = upsert_if(conn, h, {"host": host}, {"holder": holder, "until": until},
                              sa.or_(h.c.holder == holder, h.c.until <= now))
            return taken

    def release_host(self, host: str, holder: str) -> None:
        """Give ``host`` back, if we hold it."""
        h = t.host_leases
        with self._write() as conn:
            conn.execute(sa.delete(h).where(h.c.host == host, h.c.holder == holder))

