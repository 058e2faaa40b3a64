"""The delivery log (table deliveries): each (issue, subscriber) claimed, then marked.

Rows are claimed ('sending') before their messages go out and each is marked as soon as its
message is accepted. A run cut off leaves at most the messages in flight ambiguous: the
next run sends them again with the same Message-ID (at least once for those; nobody is
ever skipped), and never touches rows already 'sent'. A claim is one UPDATE … RETURNING,
so two processes can never claim the same row.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

import sqlalchemy as sa

from sectorwatch.store import schema as t
from sectorwatch.store.base import StoreBase

# pending → sending → sent | deferred (a 4xx: retried at next_attempt_at) | failed | skipped


def _now() -> datetime:
    return datetime.now(UTC)


class DeliveryStore(StoreBase):
    """Mixed into Store."""

    def open_deliveries(self, issue: str, rows: Iterable[tuple[int, str]]) -> int:
        """Add (subscriber id, message id) rows not there yet; returns how many were new.

        Recovers the run before (call it only under the send lock): rows left 'sending' by a
        run that died become 'pending', and so do deferred rows whose retry time has come.
        """
        now = _now()
        d = t.deliveries
        with self._write() as conn:
            have: set[int] = set(conn.execute(sa.select(d.c.subscriber_id).where(d.c.issue == issue))
                       .scalars())
            new = [{"issue": issue, "subscriber_id": sid, "message_id": msg_id,
                    "status": "pending", "attempts": 0, "updated_at": now}
                   for sid, msg_id in rows if sid not in have]
            if new:
                conn.execute(sa.insert(d), new)
            conn.execute(sa.update(d).where(d.c.issue == issue, d.c.status == "sending")
                         .values(status="pending", updated_at=now))
            conn.execute(sa.update(d).where(
                d.c.issue == issue, d.c.status == "deferred",
                sa.or_(d.c.next_attempt_at.is_(None), d.c.next_attempt_at <= now))
                .values(status="pending", updated_at=now))
        return len(new)

    def claim_deliveries(self, issue: str, limit: int = 1) -> list[tuple[int, str, int]]:
        """Up to ``limit`` pending rows as (subscriber id, message id, attempts so far), now
        marked 'sending'. Claimed in order of the subscribers' filters, so readers who get
        the same digest come one after another (one rendering serves them all)."""
        d, s = t.deliveries, t.subscribers
        batch = (sa.select(d.c.subscriber_id)
                 .join(s, s.c.id == d.c.subscriber_id, isouter=True)
                 .where(d.c.issue == issue, d.c.status == "pending")
                 .order_by(s.c.filters, d.c.subscriber_id).limit(limit).scalar_subquery())
        with self._write() as conn:
            rows = conn.execute(
                sa.update(d).where(d.c.issue == issue, d.c.status == "pending",
                                   d.c.subscriber_id.in_(batch))
                .values(status="sending", attempts=d.c.attempts + 1, updated_at=_now())
                .returning(d.c.subscriber_id, d.c.message_id, d.c.attempts)).all()
        return sorted((r.subscriber_id, r.message_id, r.attempts) for r in rows)

    def mark_delivery(self, issue: str, subscriber_id: int, status: str,
                      error: str | None = None, retry_at: datetime | None = None) -> None:
        d = t.deliveries
        with self._write() as conn:
            conn.execute(sa.update(d).where(d.c.issue == issue,
                                            d.c.subscriber_id == subscriber_id)
                         .values(status=status, last_error=error, next_attempt_at=retry_at,
                                 updated_at=_now()))

    def release_deliveries(self, issue: str, subscriber_ids: Sequence[int]) -> None:
        """Claimed rows whose messages never left go back to 'pending' (a clean stop)."""
        if not subscriber_ids:
            return
        d = t.deliveries
        with self._write() as conn:
            conn.execute(sa.update(d).where(d.c.issue == issue, d.c.status == "sending",
                                            d.c.subscriber_id.in_(subscriber_ids))
                         .values(status="pending", attempts=d.c.attempts - 1,
                                 updated_at=_now()))

    def next_retry(self, issue: str) -> datetime | None:
        """When the issue's earliest deferred delivery is due again (None: nothing waits)."""
        d = t.deliveries
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.min(d.c.next_attempt_at)).where(
                d.c.issue == issue, d.c.status == "deferred")).scalar()

    def delivery_statuses(self, issue: str) -> dict[int, str]:
        """{subscriber id: status} of the issue's deliveries."""
        d = t.deliveries
        with self.engine.connect() as conn:
            return dict(conn.execute(sa.select(d.c.subscriber_id, d.c.status)
                                     .where(d.c.issue == issue)).all())

    def delivery_counts(self, issue: str | None = None) -> dict[str, Counter]:
        """{issue: Counter(status → rows)}, newest issue first."""
        d = t.deliveries
        query = sa.select(d.c.issue, d.c.status, sa.func.count()).group_by(d.c.issue,
                                                                            d.c.status)
        if issue:
            query = query.where(d.c.issue == issue)
        out: dict[str, Counter] = {}
        with self.engine.connect() as conn:
            for row in conn.execute(query):
                out.setdefault(row[0], Counter())[row[1]] = row[2]
        return dict(sorted(out.items(), reverse=True))
