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
                t.subscribers.c.email == email).values(status=status, updated_at=_now())
            ).rowcount > 0

    def subscriber_rows(self, status: str | None = None
                        ) -> list[tuple[int, SubscriberSpec, str]]:
        """(id, subscriber, token), by address."""
        query = sa.select(t.subscribers).order_by(t.subscribers.c.email)
        if status:
            query = query.where(t.subscribers.c.status == status)
        with self.engine.connect() as conn:
            rows = list(conn.execute(query))
        return [(r.id, SubscriberSpec(r.email, r.name, r.status, r.format, Filters(
            **{k: tuple(v) for k, v in json.loads(r.filters).items()})), r.token) for r in rows]

    def subscribers(self, status: str | None = None) -> list[tuple[SubscriberSpec, str]]:
        """(subscriber, token), by address."""
        return [(spec, token) for _, spec, token in self.subscriber_rows(status)]
