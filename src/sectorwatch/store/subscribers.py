"""Stored subscribers (table subscribers)."""

from __future__ import annotations

import dataclasses
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from sectorwatch.models import Filters, SubscriberSpec
from sectorwatch.store import schema as t
from sectorwatch.store.base import StoreBase
from sectorwatch.store.rows import insert_new


def _now() -> datetime:
    return datetime.now(UTC)


LEAVERS = ("unsubscribed", "bounced")
"""Statuses only the address's owner can undo (by confirming on the web), or an admin who
says so explicitly (``resubscribe``, recorded)."""


@dataclass(frozen=True)
class SubscriberState:
    """Where an address stands, and the last change that put it there."""

    status: str
    since: datetime | None
    via: str
    detail: str


class SubscriberStore(StoreBase):
    """Mixed into Store: subscribers by address, with an opaque token each. Every change
    of status is recorded in subscriber_events with how it came about."""

    def save_subscriber(self, spec: SubscriberSpec, *, via: str = "cli",
                        resubscribe: bool = False) -> str:
        """Add or update by address: 'added', 'updated', or 'refused' when the address
        unsubscribed or bounced and ``spec`` would make it pending or active again without
        ``resubscribe``. The token never changes."""
        c = t.subscribers.c
        values = {"name": spec.name, "status": spec.status, "format": spec.format,
                  "filters": json.dumps(dataclasses.asdict(spec.filters)),
                  "updated_at": _now()}
        with self._write() as conn:
            row = _locked(conn, c.email == spec.email)
            if row is None:
                new_id = _insert(conn, spec.email, dict(
                    token=secrets.token_urlsafe(24), created_at=_now(), **values,
                    **_stamp(spec.status)))
                if new_id is not None:
                    _event(conn, new_id, spec.status, via)
                    return "added"
                row = _locked(conn, c.email == spec.email)  # added meanwhile by another
                assert row is not None
            returning = row.status in LEAVERS and spec.status not in LEAVERS
            if returning and not resubscribe:
                return "refused"
            if row.status != spec.status:
                values |= _stamp(spec.status)
                _event(conn, row.id, spec.status, via,
                       f"brought back from {row.status} by an admin (--resubscribe)"
                       if returning else "")
            conn.execute(sa.update(t.subscribers).where(c.id == row.id).values(**values))
            return "updated"

    def set_subscriber_status(self, email: str, status: str, *, via: str = "cli",
                              detail: str = "") -> bool:
        c = t.subscribers.c
        with self._write() as conn:
            found = _locked(conn, c.email == email)
            if found is None:
                return False
            if found.status != status:
                conn.execute(sa.update(t.subscribers).where(c.id == found.id).values(
                    status=status, updated_at=_now(), **_stamp(status)))
                _event(conn, found.id, status, via, detail)
            return True

    def subscriber_state(self, email: str) -> SubscriberState | None:
        """The address's status and the last recorded change to it (None: unknown)."""
        c, e = t.subscribers.c, t.subscriber_events.c
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(c.id, c.status, c.updated_at, c.unsubscribed_at)
                               .where(c.email == email)).first()
            if row is None:
                return None
            last = conn.execute(sa.select(e.at, e.via, e.detail).where(
                e.subscriber_id == row.id, e.event == row.status)
                .order_by(e.id.desc()).limit(1)).first()
        if last is not None:
            return SubscriberState(row.status, last.at, last.via, last.detail)
        since = row.unsubscribed_at if row.status == "unsubscribed" else row.updated_at
        return SubscriberState(row.status, since, "", "")  # changed before records began

    def subscriber_history(self, email: str) -> list[sa.Row]:
        """Every recorded change of the address's status, oldest first."""
        c, e = t.subscribers.c, t.subscriber_events.c
        with self.engine.connect() as conn:
            return list(conn.execute(
                sa.select(e.at, e.event, e.via, e.detail)
                .join(t.subscribers, c.id == e.subscriber_id)
                .where(c.email == email).order_by(e.id)))

    def record_hard_failure(self, subscriber_id: int, error: str, limit: int) -> bool:
        """Count a permanent refusal of the address; True once it reached ``limit`` in a
        row and the subscriber was marked 'bounced' (never mailed again)."""
        c = t.subscribers.c
        with self._write() as conn:
            row = _locked(conn, c.id == subscriber_id)
            if row is None:
                return False
            count = row.hard_bounces + 1
            values: dict = {"hard_bounces": count}
            bounced = count >= limit and row.status == "active"
            if bounced:
                values |= {"status": "bounced", "updated_at": _now()}
                _event(conn, subscriber_id, "bounced", "send",
                       f"{count} hard failure{'s' * (count != 1)} in a row; last: {error}"[:500])
            conn.execute(sa.update(t.subscribers).where(c.id == subscriber_id).values(**values))
            return bounced

    def bouncing(self) -> set[int]:
        """Subscribers with hard failures not yet cleared by a delivery."""
        c = t.subscribers.c
        with self.engine.connect() as conn:
            return set(conn.execute(sa.select(c.id).where(c.hard_bounces > 0)).scalars())

    def clear_hard_failures(self, subscriber_id: int) -> None:
        """A message to the address was accepted: earlier refusals no longer count."""
        with self._write() as conn:
            conn.execute(sa.update(t.subscribers).where(t.subscribers.c.id == subscriber_id)
                         .values(hard_bounces=0))

    def request_subscription(self, spec: SubscriberSpec) -> tuple[str, str]:
        """A subscribe form was sent for ``spec.email``: (what the address was, its key).

        'new' and 'returning' (unsubscribed or bounced before) become pending with the
        filters given; 'pending' takes the new filters too (nothing is sent to a pending
        address). An 'active' subscriber is left exactly as they were: only their own link
        changes them.
        """
        c = t.subscribers.c
        values = {"name": spec.name, "format": spec.format, "updated_at": _now(),
                  "filters": json.dumps(dataclasses.asdict(spec.filters))}
        with self._write() as conn:
            row = _locked(conn, c.email == spec.email)
            if row is None:
                key = secrets.token_urlsafe(24)
                new_id = _insert(conn, spec.email, dict(
                    token=key, created_at=_now(), status="pending", **values))
                if new_id is not None:
                    _event(conn, new_id, "pending", "web")
                    return "new", key
                row = _locked(conn, c.email == spec.email)  # sent twice at once
                assert row is not None
            if row.status == "active":
                return "active", row.token
            conn.execute(sa.update(t.subscribers).where(c.id == row.id).values(
                status="pending", **values))
            if row.status != "pending":
                _event(conn, row.id, "pending", "web")
            return ("returning" if row.status in LEAVERS else "pending"), row.token

    def subscriber(self, email: str) -> tuple[SubscriberSpec, str] | None:
        """(subscriber, token) of an address, whatever its status."""
        return self._one(t.subscribers.c.email == email)

    def active_subscriber(self, subscriber_id: int) -> tuple[SubscriberSpec, str] | None:
        """(subscriber, token) if the subscriber is active."""
        c = t.subscribers.c
        return self._one(sa.and_(c.id == subscriber_id, c.status == "active"))

    def _one(self, where: sa.ColumnElement[bool]) -> tuple[SubscriberSpec, str] | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(t.subscribers).where(where)).first()
        return (_spec(row), row.token) if row is not None else None

    def subscriber_by_key(self, key: str) -> tuple[int, SubscriberSpec] | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(t.subscribers).where(
                t.subscribers.c.token == key)).first()
        return None if row is None else (row.id, _spec(row))

    def set_status_by_key(self, key: str, status: str, *,
                          only_from: str | tuple[str, ...] | None = None, via: str = "web",
                          detail: str = "") -> bool:
        """Set the status of the subscriber with this key (if it is one of ``only_from``
        now, when given); True if a row changed."""
        c = t.subscribers.c
        allowed = (only_from,) if isinstance(only_from, str) else only_from
        with self._write() as conn:
            row = _locked(conn, c.token == key)
            if row is None or row.status == status or (allowed and row.status not in allowed):
                return False
            conn.execute(sa.update(t.subscribers).where(c.id == row.id).values(
                status=status, updated_at=_now(), **_stamp(status)))
            _event(conn, row.id, status, via, detail)
            return True

    def set_preferences(self, key: str, filters: Filters, fmt: str) -> bool:
        with self._write() as conn:
            return conn.execute(sa.update(t.subscribers).where(
                t.subscribers.c.token == key).values(
                filters=json.dumps(dataclasses.asdict(filters)), format=fmt,
                updated_at=_now())).rowcount > 0

    def subscriber_rows(self, status: str | None = None
                        ) -> list[tuple[int, SubscriberSpec, str]]:
        """(id, subscriber, token), by address."""
        query = sa.select(t.subscribers).order_by(t.subscribers.c.email)
        if status:
            query = query.where(t.subscribers.c.status == status)
        with self.engine.connect() as conn:
            rows = list(conn.execute(query))
        return [(r.id, _spec(r), r.token) for r in rows]

    def subscribers(self, status: str | None = None) -> list[tuple[SubscriberSpec, str]]:
        """(subscriber, token), by address."""
        return [(spec, token) for _, spec, token in self.subscriber_rows(status)]


def _locked(conn: sa.Connection, where: sa.ColumnElement[bool]) -> sa.Row | None:
    """The subscriber row, locked until the transaction ends (on PostgreSQL: a second
    writer waits, then reads what the first wrote; a SQLite write transaction holds the
    whole database already)."""
    return conn.execute(sa.select(t.subscribers).where(where).with_for_update()).first()


def _insert(conn: sa.Connection, email: str, values: dict) -> int | None:
    """Add the address; its id, or None when another writer has just added it."""
    if not insert_new(conn, t.subscribers, {"email": email}, values):
        return None
    return conn.execute(sa.select(t.subscribers.c.id).where(
        t.subscribers.c.email == email)).scalar_one()


def _spec(row: sa.Row) -> SubscriberSpec:
    return SubscriberSpec(row.email, row.name, row.status, row.format, Filters(
        **{k: tuple(v) for k, v in json.loads(row.filters).items()}))


def _stamp(status: str) -> dict[str, object]:
    """What a change to ``status`` sets besides it: when they confirmed or left; an address
    made active again starts with no hard failures counted."""
    if status == "active":
        return {"confirmed_at": _now(), "hard_bounces": 0}
    if status == "unsubscribed":
        return {"unsubscribed_at": _now()}
    return {}


def _event(conn: sa.Connection, subscriber_id: int, event: str, via: str,
           detail: str = "") -> None:
    conn.execute(sa.insert(t.subscriber_events).values(
        subscriber_id=subscriber_id, at=_now(), event=event, via=via, detail=detail))
