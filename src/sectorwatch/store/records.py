"""What the store gives back: frozen, typed records, never database rows.

Callers read attributes of these, so a column renamed or added changes this module and
the queries, not every reader of the store.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import sqlalchemy as sa

from sectorwatch.tag import Tags

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

R = TypeVar("R", bound="DataclassInstance")


@dataclass(frozen=True)
class StoredArticle:
    """An article as stored (without its raw page)."""

    id: int
    url: str
    source_id: str
    title: str
    text: str
    fingerprint: str
    published_at: datetime | None
    published_signal: str
    first_seen_at: datetime
    updated_at: datetime | None = None
    updated_signal: str | None = None
    author: str | None = None
    language: str | None = None
    word_count: int = 0
    truncated: bool = False
    lead: str = ""
    standfirst: str | None = None
    feed_title: str | None = None
    feed_summary: str | None = None
    feed_published_at: datetime | None = None
    raw_url: str = ""
    raw_content_type: str = ""
    tags: Tags | None = None
    """Its tags, when they were asked for with the article (``Store.articles(with_tags=True)``)."""

    @property
    def when(self) -> datetime:
        """When it was published, else when it was first seen."""
        return self.published_at or self.first_seen_at


@dataclass(frozen=True)
class ArticleRef:
    """Enough of an article to cite it: the report behind a judgement on a timeline."""

    id: int
    title: str
    url: str
    source_id: str
    published_at: datetime | None
    first_seen_at: datetime


@dataclass(frozen=True)
class ArticleText:
    """What re-tagging reads of an article."""

    id: int
    title: str
    text: str
    published_at: datetime | None


@dataclass(frozen=True)
class SearchHit:
    """One article a search found: ``rank`` is higher for a better match, ``snippet`` the
    passage with matched words between highlight.START and STOP (scraped text: escape it,
    as highlight.to_html does), ``authorities`` the GSS codes it is mainly about."""

    id: int
    title: str
    url: str
    source_id: str
    published_at: datetime | None
    first_seen_at: datetime
    rank: float
    snippet: str
    authorities: tuple[str, ...] = ()

    @property
    def when(self) -> datetime:
        return self.published_at or self.first_seen_at


@dataclass(frozen=True)
class SearchResults:
    """A page of hits, best first, and how many matched in all (``total``). ``more``: more
    than ``total`` matched, and only the ``total`` most recently stored were ranked."""

    hits: tuple[SearchHit, ...]
    total: int
    more: bool = False
    offset: int = 0


@dataclass(frozen=True)
class StoredIssue:
    """One frozen issue of the digest; ``stories`` is its JSON snapshot ("" when listed
    without it), ``sent`` how many readers it has reached."""

    key: str
    send_at: datetime
    starts_at: datetime
    ends_at: datetime
    created_at: datetime
    story_count: int
    stories: str = ""
    sent: int = 0


def record(kind: type[R], row: sa.Row, **more: Any) -> R:
    """A record of ``kind`` from a result row holding (at least) its required fields."""
    data = row._mapping
    names = {f.name for f in dataclasses.fields(kind)}
    return kind(**{k: v for k, v in data.items() if k in names}, **more)
