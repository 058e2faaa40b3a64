"""What every source type shares: its settings model and the interface the pipeline calls."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Protocol

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from sectorwatch.models import Link, Page

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")
_UNITS = {None: 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


MAX_DURATION = 366 * 86400.0
"""The longest duration any setting takes: a year (a longer one is a typo, or an attack on
the date arithmetic)."""
MAX_SIZE = 1_000_000_000
"""The largest size any setting takes: 1 GB."""


def parse_duration(value: Any) -> float:
    """Seconds from ``90``, ``"90s"``, ``"5m"``, ``"6h"`` or ``"1d"``, at most a year."""
    seconds = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str) and (m := _DURATION.match(value)):
        seconds = float(m.group(1)) * _UNITS[m.group(2)]
    if seconds is None or math.isnan(seconds):
        raise ValueError("expected a duration such as 30s, 5m, 6h or 1d")
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    if seconds > MAX_DURATION:
        raise ValueError("at most 366d")
    return seconds


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {None: 1, "b": 1, "kb": 1_000, "mb": 1_000_000, "gb": 1_000_000_000}


def parse_size(value: Any) -> int:
    """Bytes from ``5000000`` or ``"5MB"`` / ``"500kB"``, at most 1 GB."""
    size: float | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        size = value
    elif isinstance(value, str) and (m := _SIZE.match(value)):
        size = float(m.group(1)) * _SIZE_UNITS[(m.group(2) or "b").lower()]
    if size is None or size <= 0 or math.isnan(size):
        raise ValueError("expected a positive size such as 5MB, 500kB or 1000000")
    if size > MAX_SIZE:
        raise ValueError("at most 1GB")
    return int(size)


def _check_http_url(value: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an absolute http(s) URL: {value!r}")
    return value


def _check_regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression ({exc})") from None
    return value


def _check_selector(value: str) -> str:
    import soupsieve

    try:
        soupsieve.compile(value)
    except Exception as exc:  # soupsieve raises several types for bad syntax
        raise ValueError(f"not a valid CSS selector ({exc})") from None
    return value


Duration = Annotated[float, BeforeValidator(parse_duration)]
Size = Annotated[int, BeforeValidator(parse_size)]
HttpUrl = Annotated[str, AfterValidator(_check_http_url)]
Regex = Annotated[str, AfterValidator(_check_regex)]
Selector = Annotated[str, AfterValidator(_check_selector)]
SourceId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=64)]


class Settings(BaseModel):
    """Frozen, strict settings: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


class ExtractRules(Settings):
    """Per-source extraction rules; they override the generic extractor for that source only."""

    body_selector: Selector | None = Field(
        None, description="CSS selector of the element that holds the article body."
    )
    drop_selectors: tuple[Selector, ...] = Field(
        (), description="CSS selectors of elements removed before extraction."
    )
    drop_paragraphs: tuple[Regex, ...] = Field(
        (), description="Regular expressions; a paragraph matching one is removed."
    )
    paywall_markers: tuple[str, ...] = Field(
        (), description="Phrases that show the page is cut short by a paywall or sign-up wall."
    )


class SourceBase(Settings):
    """Settings every source has, whatever its type."""

    id: SourceId = Field(description="Stable identifier (lower-case letters, digits, - and _).")
    type: str = Field(description="Source type; picks the module that reads it.")
    url: HttpUrl = Field(description="Where the source is polled.")
    name: str | None = Field(None, description="Display name; defaults to the id.")
    enabled: bool = Field(True, description="A disabled source is listed but never polled.")
    interval: Duration | None = Field(
        None, description="Poll at most this often; defaults to fetch.default_interval."
    )
    article_url_pattern: Regex | None = Field(
        None, description="Only links whose URL matches this regular expression are followed."
    )
    relevance_filter: bool = Field(
        False, description="A general outlet: keep only articles tagged as sector news."
    )
    max_new_articles: int = Field(
        50, ge=1, le=1000, description="At most this many new article pages are fetched a run."
    )
    extract: ExtractRules = Field(
        default_factory=ExtractRules, description="Extraction rules for this source's pages."
    )

    @property
    def label(self) -> str:
        return self.name or self.id


class Fetcher(Protocol):
    """The slice of the HTTP client a source type may use (see fetch.http.SourceFetcher)."""

    def get(self, url: str, *, accept: str) -> Page: ...

    def get_conditional(self, url: str, *, accept: str) -> Page | None:
        """None when the page has not changed since it was last read (HTTP 304)."""
        ...


@dataclass(frozen=True)
class Discovery:
    """What polling a source found: its links, or ``not_modified`` when the server said 304."""

    links: tuple[Link, ...]
    not_modified: bool = False
    validated: tuple[Page, ...] = ()
    """Responses to conditional requests: their validators are saved once the links are
    handled, so the next poll can be answered 304."""


@dataclass(frozen=True)
class SourceType:
    """One entry of the source-type registry."""

    name: str
    settings: type[SourceBase]
    discover: Callable[[Any, Fetcher], Discovery]
    article_request: Callable[[Any, Link], tuple[str, str]]
    """(url to fetch, accept kind) for one link's article body."""


def html_article_request(source: SourceBase, link: Link) -> tuple[str, str]:
    """Most sources: the article is the linked HTML page (or a PDF document)."""
    return link.url, "article"
