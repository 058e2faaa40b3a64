"""The delivery log (table deliveries): each (issue, subscriber) claimed, then marked.

Rows are claimed ('sending') under a lease before their messages go out, and each is
marked as soon as its message is accepted. Several senders (on several hosts) share an
issue: a claim takes only pending rows and rows whose lease is over, so no row is sent by
two live senders. A sender cut off leaves at most the messages in flight ambiguous: they
are sent again with the same Message-ID once its lease ends (at once, if it ran on this
host and its process is gone); rows already 'sent' are never touched.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sectorwatch.store import holders
from sectorwatch.store import schema as t
from sectorwatch.store.base import StoreBase
from sectorwatch.store.rows import insert_ignoring

LEASE = 600.0
"""Seconds a claimed row is the claimer's: far longer than a batch takes to send, and how
long rows of a sender that died on another host wait before another sender takes them."""

ANALYZE_FROM = 1000
"""Rows added at once after which the planner's statistics are renewed. Without them
SQLite reads "this issue's pending rows" by the claim index to update fifty rows by id,
a scan that grows with the list; with them it goes by the primary key."""

# pending → sending → sent | deferred (a 4xx: retried at next_attempt_at) | failed | skipped


def _now() -> datetime:
    return datetime.now(UTC)


class DeliveryStore(StoreBase):
    """Mixed into Store."""

    def open_deliveries(self, issue: str, rows: Iterable[tuple[int, str]],
                        same_as: dict[int, str] | None = None) -> int:
        """Add (subscriber id, message id) rows not there yet; returns how many it added.
        Safe beside other senders: a row another sender added first is left as it is, and
        rows another sender is sending are not touched (their lease says whose they are).
        Deferred rows whose retry time has come are pending again. ``same_as`` names,
        per subscriber, what their digest is made of (their filters): rows are claimed in
        its order, so readers of one digest come one after another."""
        now = _now()
        d = t.deliveries
        with self._write() as conn:
            have: set[int] = set(conn.execute(sa.select(d.c.subscriber_id)
                                              .where(d.c.issue == issue)).scalars())
            keys = same_as or {}
            new = [{"issue": issue, "subscriber_id": sid, "message_id": msg_id,
                    "status": "pending", "attempts": 0, "updated_at": now,
                    "same_as": keys.get(sid)}
                   for sid, msg_id in rows if sid not in have]
            insert_ignoring(conn, d, new)
            if len(new) >= ANALYZE_FROM:  # see ANALYZE_FROM
                conn.exec_driver_sql("ANALYZE deliveries")
            conn.execute(sa.update(d).where(
                d.c.issue == issue, d.c.status == "deferred",
                sa.or_(d.c.next_attempt_at.is_(None), d.c.next_attempt_at <= now))
                .values(status="pending", updated_at=now))
        return len(new)

    def claim_deliveries(self, issue: str, limit: int = 1, lease: float = LEASE,
                         holder: str = holders.PROCESS) -> list[tuple[int, str, int]]:
        """Up to ``limit`` rows to send, as (subscriber id, message id, attempts so far),
        now 'sending' under this process's lease for ``lease`` seconds: pending rows, and
        rows whose sender's lease ran out or whose process on this host is gone.

        One query by the claim index, bounded by ``limit`` whatever the issue's size; on
        PostgreSQL rows another sender is claiming are skipped (FOR UPDATE SKIP LOCKED),
        so senders on several hosts share the work and never take the same row."""
        d = t.deliveries
        now = _now()
        pending = d.c.status == "pending"
        pick = (sa.select(d.c.subscriber_id).where(d.c.issue == issue, pending)
                .order_by(d.c.same_as, d.c.subscriber_id).limit(limit))
        with self._write() as conn:
            if conn.dialect.name == "postgresql":
                pick = pick.with_for_update(skip_locked=True)
            ids: list[int] = list(conn.execute(pick).scalars())
            if len(ids) < limit:  # near the end: what dead or late senders left comes back
                self._take_back_from_the_dead(conn, issue)
                conn.execute(sa.update(d).where(
                    d.c.issue == issue, d.c.status == "sending", d.c.lease_until < now)
                    .values(status="pending", claimed_by=None, lease_until=None))
                ids = list(conn.execute(pick).scalars())
            if not ids:
                return []
            rows = conn.execute(
                sa.update(d).where(d.c.issue == issue, d.c.subscriber_id.in_(ids), pending)
                .values(status="sending", attempts=d.c.attempts + 1, updated_at=now,
                        claimed_by=holder, lease_until=now + timedelta(seconds=lease))
                .returning(d.c.subscriber_id, d.c.message_id, d.c.attempts)).all()
        return sorted((r.subscriber_id, r.message_id, r.attempts) for r in rows)

    def _take_back_from_the_dead(self, conn: Connection, issue: str) -> None:
        """Rows a sender on this host left 'sending' when it died (or, in this process,
        when its run ended by an exception) go back to 'pending' now, not when their lease
        ends; another host's rows wait for their lease."""
        d = t.deliveries
        held = conn.execute(sa.select(d.c.claimed_by, sa.func.min(d.c.updated_at))
                            .where(d.c.issue == issue, d.c.status == "sending",
                                   d.c.claimed_by.startswith(holders.this_host(), autoescape=True))
                            .group_by(d.c.claimed_by)).all()
        dead = [row[0] for row in held if holders.gone(row[0], row[1])]
        if dead:
            conn.execute(sa.update(d).where(d.c.issue == issue, d.c.status == "sending",
                                            d.c.claimed_by.in_(dead))
                         .values(status="pending", claimed_by=None, lease_until=None))

    def mark_delivery(self, issue: str, subscriber_id: int, status: str,
                      error: str | None = None, retry_at: datetime | None = None) -> None:
        """Record how one delivery went; a message sent counts towards the issue's readers
        in the same transaction."""
        self.mark_deliveries(issue, [(subscriber_id, status, error, retry_at)])

    def mark_deliveries(self, issue: str,
                        marks: Sequence[tuple[int, str, str | None, datetime | None]]) -> None:
        """``mark_delivery`` for several rows, (subscriber id, status, error, retry at), in
        one transaction."""
        if not marks:
            return
        d = t.deliveries
        now = _now()
        alike: dict[tuple[str, str | None, datetime | None], list[int]] = {}
        for subscriber_id, status, error, retry_at in marks:
            alike.setdefault((status, error, retry_at), []).append(subscriber_id)
        sent = 0
        with self._write() as conn:  # one statement per outcome, not per row
            for (status, error, retry_at), ids in alike.items():
                changed = conn.execute(
                    sa.update(d).where(d.c.issue == issue, d.c.subscriber_id.in_(ids),
                                       d.c.status != "sent")
                    .values(status=status, last_error=error, next_attempt_at=retry_at,
                            updated_at=now, claimed_by=None, lease_until=None)).rowcount
                sent += changed if status == "sent" else 0
            if sent:
                conn.execute(sa.update(t.issues).where(t.issues.c.key == issue)
                             .values(sent=t.issues.c.sent + sent))

    def release_deliveries(self, issue: str, subscriber_ids: Sequence[int],
                           holder: str = holders.PROCESS) -> None:
        """Claimed rows whose messages never left go back to 'pending' (a clean stop)."""
        if not subscriber_ids:
            return
        d = t.deliveries
        with self._write() as conn:
            conn.execute(sa.update(d).where(d.c.issue == issue, d.c.status == "sending",
                                            d.c.claimed_by == holder,
                                            d.c.subscriber_id.in_(subscriber_ids))
                         .values(status="pending", attempts=d.c.attempts - 1,
                                 updated_at=_now(), claimed_by=None, lease_until=None))

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
