"""Issues of the digest (table issues), frozen when first sent: a rerun sends the same
stories, and the archive shows what went out."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from sectorwatch.store import schema as t
from sectorwatch.store.base import StoreBase
from sectorwatch.store.records import StoredIssue, record
from sectorwatch.store.rows import insert_new


class IssueStore(StoreBase):
    """Mixed into Store."""

    def freeze_issue(self, key: str, send_at: datetime, starts_at: datetime,
                     ends_at: datetime, stories: str, story_count: int) -> str:
        """Store the issue's stories (JSON) unless it is frozen already; returns the stored
        JSON, which is the earlier one if there was one."""
        i = t.issues
        frozen = sa.select(i.c.stories).where(i.c.key == key)
        with self._write() as conn:
            found = conn.execute(frozen).scalar()
            if found is not None:
                return found
            if insert_new(conn, i, {"key": key}, dict(
                    send_at=send_at, starts_at=starts_at, ends_at=ends_at,
                    created_at=datetime.now(UTC), story_count=story_count, stories=stories)):
                return stories
            return conn.execute(frozen).scalar_one()  # frozen meanwhile by another sender

    def issue(self, key: str) -> StoredIssue | None:
        """The issue with its stories, if it was frozen."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(t.issues).where(t.issues.c.key == key)).first()
        return record(StoredIssue, row) if row is not None else None

    def sent_issues(self, limit: int | None = None) -> list[StoredIssue]:
        """Issues that reached at least one reader, newest first, with ``sent`` (how many
        readers, kept with the issue as they are sent), without their stories."""
        i = t.issues
        cols = [c for c in i.c if c.name != "stories"]
        query = sa.select(*cols).where(i.c.sent > 0).order_by(i.c.send_at.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [record(StoredIssue, row) for row in conn.execute(query)]

    def issue_list(self) -> list[StoredIssue]:
        """Every frozen issue without its stories, newest first."""
        i = t.issues
        cols = [c for c in i.c if c.name != "stories"]
        with self.engine.connect() as conn:
            return [record(StoredIssue, row)
                    for row in conn.execute(sa.select(*cols).order_by(i.c.send_at.desc()))]
