"""The delivery log (table deliveries): each (issue, subscriber) claimed, then marked.

A row is claimed ('sending') before its message goes out and marked after. A run cut off
leaves at most the row it was sending in 'sending'; the next run sends it again with the
same Message-ID (at least once for that one message; nobody is ever skipped), and never
touches rows already 'sent'.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime

import sqlalchemy as sa

from sectorwatch.store import schema as t


def _now() -> datetime:
    return datetime.now(UTC)


class DeliveryStore:
    """Mixed into Store."""

    def open_deliveries(self, issue: str, rows: Iterable[tuple[int, str]]) -> int:
        """Add (subscriber id, message id) rows not there yet; returns how many were new.
        Recovers the run before: rows left 'sending' or 'deferred' become 'pending'."""
        added = 0
        d = t.deliveries
        with self._write() as conn:
            have = set(conn.execute(sa.select(d.c.subscriber_id).where(d.c.issue == issue))
                       .scalars())
            for subscriber_id, msg_id in rows:
                if subscriber_id not in have:
                    conn.execute(sa.insert(d).values(
                        issue=issue, subscriber_id=subscriber_id, message_id=msg_id,
                        status="pending", attempts=0, updated_at=_now()))
                    added += 1
            conn.execute(sa.update(d).where(d.c.issue == issue,
                                            d.c.status.in_(("sending", "deferred")))
                         .values(status="pending", updated_at=_now()))
        return added

    def claim_delivery(self, issue: str) -> tuple[int, str] | None:
        """(subscriber id, message id) of the next pending row, now marked 'sending'."""
        d = t.deliveries
        with self._write() as conn:
            row = conn.execute(sa.select(d.c.subscriber_id, d.c.message_id).where(
                d.c.issue == issue, d.c.status == "pending").order_by(d.c.subscriber_id)
                .limit(1)).first()
            if row is None:
                return None
            conn.execute(sa.update(d).where(d.c.issue == issue,
                                            d.c.subscriber_id == row.subscriber_id)
                         .values(status="sending", attempts=d.c.attempts + 1,
                                 updated_at=_now()))
            return row.subscriber_id, row.message_id

    def mark_delivery(self, issue: str, subscriber_id: int, status: str,
                      error: str | None = None) -> None:
        d = t.deliveries
        with self._write() as conn:
            conn.execute(sa.update(d).where(d.c.issue == issue,
                                            d.c.subscriber_id == subscriber_id)
                         .values(status=status, last_error=error, updated_at=_now()))

    def delivery_counts(self, issue: str | None = None) -> dict[str, Counter]:
        """{issue: Counter(status → rows)}, newest issue first."""
        d = t.deliveries
        query = sa.select(d.c.issue, d.c.status, sa.func.count()).group_by(d.c.issue,
                                                                            d.c.status)
        if issue:
            query = query.where(d.c.issue == issue)
        out: dict[str, Counter] = {}
        with self.engine.connect() as conn:
            for key, status, n in conn.execute(query):
                out.setdefault(key, Counter())[status] = n
        return dict(sorted(out.items(), reverse=True))
