"""Stored subscribers (table subscribers)."""

from __future__ import annotations

import dataclasses
import json
import secrets
from datetime import UTC, datetime

import sqlalchemy as sa

from sectorwatch.digest.subscribers import Filters, SubscriberSpec
from sectorwatch.store import schema as t


def _now() -> datetime:
    return datetime.now(UTC)


class SubscriberStore:
    """Mixed into Store: subscribers by address, with an opaque token each."""

    def save_subscriber(self, spec: SubscriberSpec) -> str:
        """Add or update by address; returns 'added' or 'updated'. The token never changes."""
        values = {"name": spec.name, "status": spec.status, "format": spec.format,
                  "filters": json.dumps(dataclasses.asdict(spec.filters)),
                  "updated_at": _now()}
        with self._write() as conn:
            found = conn.execute(sa.select(t.subscribers.c.id).where(
                t.subscribers.c.email == spec.email)).scalar()
            if found is None:
                conn.execute(sa.insert(t.subscribers).values(
                    email=spec.email, token=secrets.token_urlsafe(24), created_at=_now(),
                    **values))
                return "added"
            conn.execute(sa.update(t.subscribers).where(t.subscribers.c.id == found)
                         .values(**values))
            return "updated"

    def set_subscriber_status(self, email: str, status: str) -> bool:
        with self._write() as conn:
            return conn.execute(sa.update(t.subscribers).where(
                t.subscribers.c.email == email).values(status=status, updated_at=_now(),
                                                       **_stamp(status))
            ).rowcount > 0

    def request_subscription(self, spec: SubscriberSpec) -> tuple[str, str]:
        """A subscribe form was sent for ``spec.email``: (what the address was, its key).

        'new' and 'returning' (unsubscribed before) become pending with the filters given;
        'pending' takes the new filters too (nothing is sent to a pending address). An
        'active' subscriber is left exactly as they were: only their own link changes them.
        """
        c = t.subscribers.c
        values = {"name": spec.name, "format": spec.format, "updated_at": _now(),
                  "filters": json.dumps(dataclasses.asdict(spec.filters))}
        with self._write() as conn:
            row = conn.execute(sa.select(c.id, c.status, c.token).where(
                c.email == spec.email)).first()
            if row is None:
                key = secrets.token_urlsafe(24)
                conn.execute(sa.insert(t.subscribers).values(
                    email=spec.email, token=key, created_at=_now(), status="pending",
                    **values))
                return "new", key
            if row.status == "active":
                return "active", row.token
            conn.execute(sa.update(t.subscribers).where(c.id == row.id).values(
                status="pending", **values))
            return ("returning" if row.status == "unsubscribed" else "pending"), row.token

    def subscriber_by_key(self, key: str) -> tuple[int, SubscriberSpec] | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(t.subscribers).where(
                t.subscribers.c.token == key)).first()
        return None if row is None else (row.id, _spec(row))

    def set_status_by_key(self, key: str, status: str, *, only_from: str | None = None
                          ) -> bool:
        """Set the status of the subscriber with this key (if it is ``only_from`` now, when
        given); True if a row changed."""
        c = t.subscribers.c
        query = sa.update(t.subscribers).where(c.token == key, c.status != status)
        if only_from:
            query = query.where(c.status == only_from)
        with self._write() as conn:
            return conn.execute(query.values(status=status, updated_at=_now(),
                                             **_stamp(status))).rowcount > 0

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


def _spec(row: sa.Row) -> SubscriberSpec:
    return SubscriberSpec(row.email, row.name, row.status, row.format, Filters(
        **{k: tuple(v) for k, v in json.loads(row.filters).items()}))


def _stamp(status: str) -> dict[str, datetime]:
    """The consent record a status change leaves."""
    if status == "active":
        return {"confirmed_at": _now()}
    if status == "unsubscribed":
        return {"unsubscribed_at": _now()}
    return {}
