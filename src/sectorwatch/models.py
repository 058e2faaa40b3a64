"""Small frozen records passed between pipeline stages."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sectorwatch import gazetteer
from sectorwatch.decode import decode

_BINARY = (b"\x1f\x8b", b"%PDF-")  # gzip, PDF: bytes no charset can make text of


@dataclass(frozen=True)
class Link:
    """A candidate article found while polling a source."""

    url: str
    """Canonicalised URL (see sectorwatch.urls.canonicalize)."""
    title: str | None = None
    published: datetime | None = None
    summary: str | None = None
    guid: str | None = None
    """The feed's own id, if any: kept for reference, never used as identity."""


@dataclass(frozen=True)
class Page:
    """One HTTP response, decoded as far as its kind allows."""

    url: str
    """The URL that was asked for."""
    final_url: str
    """Where redirects ended."""
    status: int
    content_type: str
    body: bytes
    fetched_at: datetime
    text: str | None = None
    """The body decoded to str (None for binary types such as PDF)."""
    encoding: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    redirects: tuple[tuple[int, str], ...] = ()
    """(status, location) for each redirect followed."""
    headers: dict[str, str] = field(default_factory=dict, compare=False)

    @classmethod
    def from_bytes(cls, url: str, body: bytes, content_type: str, *,
                   final_url: str | None = None, status: int = 200,
                   fetched_at: datetime | None = None, **more) -> Page:
        """A page from its bytes, decoded to text as every page is (the HTTP charset, the
        document's own, then detection), or left as bytes when it is binary (a PDF)."""
        binary = body.startswith(_BINARY) or "pdf" in content_type.lower()
        text, encoding = (None, None) if binary else decode(body, content_type)
        return cls(url=url, final_url=final_url or url, status=status,
                   content_type=content_type, body=body,
                   fetched_at=fetched_at or datetime.now(UTC), text=text, encoding=encoding,
                   **more)

    @property
    def pdf(self) -> bool:
        return "pdf" in self.content_type.lower() or self.body[:5] == b"%PDF-"


@dataclass(frozen=True)
class Article:
    """An article as extracted from its page, ready to store."""

    url: str
    """Canonical URL: the page's same-site rel=canonical, else the canonicalised final URL."""
    title: str
    text: str
    fingerprint: str
    published: datetime
    published_signal: str
    """Which signal gave ``published``, most trusted first: feed, api, jsonld, meta, time,
    dateline, url, first_seen (then ``published`` is when the page was first fetched)."""
    updated: datetime | None = None
    updated_signal: str | None = None
    author: str | None = None
    language: str | None = None
    truncated: bool = False
    """A paywall or registration wall cut the article short: ``text`` holds only what
    was really article text, never the wall's own words."""
    word_count: int = 0
    standfirst: str | None = None
    """The publisher's summary under the headline, kept apart from ``text`` (the body)."""
    lead: str = ""
    """The first 1–3 sentences (at most 60 words) of the standfirst, else of the body:
    what the digest shows."""
    warnings: tuple[str, ...] = field(default=(), compare=False)
    """What extraction doubted but worked around (e.g. a learned template it did not
    trust): recorded against the source, never stored with the article."""


@dataclass(frozen=True)
class Filters:
    """What a subscriber follows; empty means everything."""

    authorities: tuple[str, ...] = ()
    """GSS codes."""
    regions: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # sorted and without repeats, so equal filters compare (and are stored) equal
        for name in ("authorities", "regions", "topics"):
            object.__setattr__(self, name, tuple(sorted(set(getattr(self, name)))))

    def describe(self) -> str:
        parts = [", ".join(gazetteer.name(c) for c in self.authorities), ", ".join(self.regions),
                 ", ".join(self.topics)]
        return "; ".join(p for p in parts if p) or "everything"


@dataclass(frozen=True)
class SubscriberSpec:
    email: str
    name: str = ""
    status: str = "active"
    format: str = "html"
    filters: Filters = field(default_factory=Filters)
